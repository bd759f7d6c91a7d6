//! A finding: one change a rule reports.

use serde::Serialize;

use crate::source::Location;

/// How bad a finding is. Only `Error` findings make `contractor diff` exit 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Info,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

/// One change reported by one rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The rule's stable id, e.g. `FIELD_NO_DELETE`.
    pub rule: &'static str,
    pub categories: &'static [&'static str],
    pub severity: Severity,
    /// Names the element and shows the old and new values.
    pub message: String,
    /// Where the change is: in the new contract, or in the old one when the
    /// element and everything around it is gone (a deleted file).
    pub location: Location,
    /// For deletions: where the deleted element stood in the old contract.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old_location: Option<Location>,
    /// What `ignore` entries in the configuration are matched against: for
    /// protobuf the file's name inside its module
    /// (`google/pubsub/v1/pubsub.proto`), for OpenAPI the operation
    /// (`GET /pets/{id}`) or, for document-wide findings, the file.
    #[serde(skip)]
    pub scope: String,
}

impl Finding {
    /// Sort key for stable output: by file, position, then rule.
    pub fn sort_key(&self) -> (&str, u32, u32, &str, &str) {
        (
            &self.location.path,
            self.location.start.line,
            self.location.start.column,
            self.rule,
            &self.message,
        )
    }
}

/// Sorts findings into the order every report uses and drops exact duplicates.
pub fn normalize(findings: &mut Vec<Finding>) {
    findings.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    findings.dedup();
}
