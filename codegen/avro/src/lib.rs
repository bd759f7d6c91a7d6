//! The Avro frontend of contractor: `.avsc` schemas read with positions, and a reader/writer
//! compatibility checker that lists every incompatibility with a JSON pointer, in Confluent's
//! vocabulary, under the schema registry's compatibility modes.
//!
//! - [`json`]: a strict JSON reader that keeps byte ranges (so pointers map to line:column).
//! - [`schema`]: [`Schema`], the type arena with named types by full name, checked again by
//!   apache-avro.
//! - [`check()`]: can a reader schema read what a writer schema wrote? Every reason why not.
//! - [`Compatibility`] and [`check_versions`]: BACKWARD, FORWARD, FULL, their transitive forms
//!   and NONE over an ordered list of versions.
//!
//! ```
//! use contractor_avro::{Schema, check};
//! let old = Schema::parse_str("old.avsc", r#"{"type":"record","name":"R","fields":[]}"#).unwrap();
//! let new = Schema::parse_str(
//!     "new.avsc",
//!     r#"{"type":"record","name":"R","fields":[{"name":"id","type":"long"}]}"#,
//! ).unwrap();
//! // BACKWARD: the new schema reads old data; `id` has no default.
//! let found = check(&new, &old);
//! assert_eq!(found[0].kind.id(), "READER_FIELD_MISSING_DEFAULT_VALUE");
//! assert_eq!(found[0].reader.pointer, "/fields/0");
//! ```

pub mod check;
pub mod json;
pub mod schema;

use std::fmt;
use std::str::FromStr;

use contractor_core::RuleInfo;

pub use check::{Incompatibility, IncompatibilityKind, MAX_CHECK_DEPTH, check};
pub use schema::{Origin, Schema, TypeId, TypeKind};

/// The schema registry's compatibility modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Compatibility {
    /// The new schema reads data written with the previous one (consumers upgrade first).
    #[default]
    Backward,
    /// [`Compatibility::Backward`] against every earlier version.
    BackwardTransitive,
    /// The previous schema reads data written with the new one (producers upgrade first).
    Forward,
    /// [`Compatibility::Forward`] against every earlier version.
    ForwardTransitive,
    /// Both backward and forward with the previous version.
    Full,
    /// Both, against every earlier version.
    FullTransitive,
    /// Nothing is checked.
    None,
}

impl Compatibility {
    pub const ALL: [Compatibility; 7] = [
        Compatibility::Backward,
        Compatibility::BackwardTransitive,
        Compatibility::Forward,
        Compatibility::ForwardTransitive,
        Compatibility::Full,
        Compatibility::FullTransitive,
        Compatibility::None,
    ];

    /// The registry's name: `BACKWARD_TRANSITIVE`.
    pub fn as_str(self) -> &'static str {
        match self {
            Compatibility::Backward => "BACKWARD",
            Compatibility::BackwardTransitive => "BACKWARD_TRANSITIVE",
            Compatibility::Forward => "FORWARD",
            Compatibility::ForwardTransitive => "FORWARD_TRANSITIVE",
            Compatibility::Full => "FULL",
            Compatibility::FullTransitive => "FULL_TRANSITIVE",
            Compatibility::None => "NONE",
        }
    }

    /// Whether every earlier version is checked, not only the latest one before the new.
    pub fn is_transitive(self) -> bool {
        matches!(
            self,
            Compatibility::BackwardTransitive
                | Compatibility::ForwardTransitive
                | Compatibility::FullTransitive
        )
    }

    fn backward(self) -> bool {
        matches!(
            self,
            Compatibility::Backward
                | Compatibility::BackwardTransitive
                | Compatibility::Full
                | Compatibility::FullTransitive
        )
    }

    fn forward(self) -> bool {
        matches!(
            self,
            Compatibility::Forward
                | Compatibility::ForwardTransitive
                | Compatibility::Full
                | Compatibility::FullTransitive
        )
    }
}

impl fmt::Display for Compatibility {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Compatibility {
    type Err = String;

    /// Case-insensitive; `-` may stand for `_` (`forward-transitive`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().replace('-', "_");
        Compatibility::ALL
            .into_iter()
            .find(|c| c.as_str().eq_ignore_ascii_case(&wanted))
            .ok_or_else(|| {
                let names: Vec<String> = Compatibility::ALL
                    .iter()
                    .map(|c| c.as_str().to_ascii_lowercase())
                    .collect();
                format!(
                    "unknown compatibility mode `{s}`; expected one of {}",
                    names.join(", ")
                )
            })
    }
}

/// Which way one check went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Direction {
    /// The new schema is the reader, the earlier version the writer.
    NewReadsOld,
    /// The earlier version is the reader, the new schema the writer.
    OldReadsNew,
}

/// An incompatibility between the new schema and one earlier version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionIncompatibility {
    /// Index of the earlier version in the list given to [`check_versions`].
    pub version: usize,
    pub direction: Direction,
    pub incompatibility: Incompatibility,
}

/// Checks the last schema of `versions` (ordered oldest → newest) against the earlier ones as
/// `mode` asks: the one before it, or every one for the transitive modes. Fewer than two
/// versions, or [`Compatibility::None`], check nothing.
pub fn check_versions(mode: Compatibility, versions: &[Schema]) -> Vec<VersionIncompatibility> {
    let Some((new, earlier)) = versions.split_last() else {
        return Vec::new();
    };
    if mode == Compatibility::None || earlier.is_empty() {
        return Vec::new();
    }
    let first = if mode.is_transitive() {
        0
    } else {
        earlier.len() - 1
    };
    let mut found = Vec::new();
    for (version, old) in earlier.iter().enumerate().skip(first) {
        if mode.backward() {
            found.extend(check(new, old).into_iter().map(|i| VersionIncompatibility {
                version,
                direction: Direction::NewReadsOld,
                incompatibility: i,
            }));
        }
        if mode.forward() {
            found.extend(check(old, new).into_iter().map(|i| VersionIncompatibility {
                version,
                direction: Direction::OldReadsNew,
                incompatibility: i,
            }));
        }
    }
    found
}

/// The category every Avro rule is in.
pub const CATEGORY: &str = "AVRO";

/// One [`RuleInfo`] per incompatibility kind, for `contractor rules --lang avro`.
pub fn registry() -> &'static [RuleInfo] {
    static RULES: std::sync::OnceLock<Vec<RuleInfo>> = std::sync::OnceLock::new();
    RULES.get_or_init(|| {
        IncompatibilityKind::ALL
            .iter()
            .map(|kind| RuleInfo {
                id: kind.id(),
                categories: &[CATEGORY],
                default: true,
                deprecated: false,
                purpose: kind.purpose(),
            })
            .collect()
    })
}
