//! The protobuf frontend: compile with protox, compare two compiled modules with
//! buf-compatible breaking-change rules.

pub mod index;
pub mod load;
pub mod rules;

use contractor_core::Finding;

pub use load::{Input, Module, ModuleFile, load};
pub use rules::{DEFAULT_CATEGORY, Rule, registry};

/// Compares two compiled modules with the given rules; findings come sorted.
pub fn diff(old: &Module, new: &Module, rules: &[&'static Rule]) -> Vec<Finding> {
    let old_index = index::Index::new(old);
    let new_index = index::Index::new(new);
    rules::run(rules, &old_index, &new_index)
}
