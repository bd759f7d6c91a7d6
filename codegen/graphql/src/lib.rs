//! GraphQL SDL frontend and breaking-change rules for contractor.
//!
//! [`load`] turns one SDL document into a [`model::Schema`] (extensions
//! merged, built-ins and the Federation/AppSync preludes merged in where the
//! document uses them, every element with its `line:column`); [`rules::diff`]
//! compares two schemas under graphql-inspector's change types and
//! criticality. Like the other frontends, this crate never prints and never
//! reads files: the CLI hands it text and renders the findings.

mod load;
pub mod model;
pub mod prelude;
pub mod rules;

pub use load::{MAX_NESTING, load};
pub use rules::{Options, diff, registry};
