//! The format-independent spine of contractor: source text and locations, the
//! [`Finding`] every diff rule produces, rule metadata, report renderers and
//! configuration. No code here knows any one contract format.

pub mod config;
pub mod error;
pub mod finding;
pub mod report;
pub mod rule;
pub mod schema;
pub mod source;

pub use error::InputError;
pub use finding::{Finding, Severity};
pub use rule::RuleInfo;
pub use source::{Location, Position, SourceText, Sources};
