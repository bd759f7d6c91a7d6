//! What a user can know about a rule without running it.

use serde::Serialize;

/// The metadata of one diff rule: its stable id, the categories it belongs to,
/// whether it is on by default, and a one-line purpose for `contractor rules`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RuleInfo {
    pub id: &'static str,
    pub categories: &'static [&'static str],
    pub default: bool,
    pub deprecated: bool,
    pub purpose: &'static str,
}

impl RuleInfo {
    pub fn in_category(&self, category: &str) -> bool {
        self.categories
            .iter()
            .any(|c| c.eq_ignore_ascii_case(category))
    }
}
