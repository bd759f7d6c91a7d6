//! Report renderers. Every format renders the same [`Report`]; none of them
//! decides what is breaking.

mod github;
mod json;
mod junit;
mod markdown;
mod sarif;
mod text;

use std::fmt;
use std::str::FromStr;

use crate::finding::{Finding, Severity};
use crate::rule::RuleInfo;
use crate::source::Sources;

/// The output formats of `contractor diff --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
    Github,
    Sarif,
    Junit,
    Markdown,
}

impl Format {
    pub const ALL: [Format; 6] = [
        Format::Text,
        Format::Json,
        Format::Github,
        Format::Sarif,
        Format::Junit,
        Format::Markdown,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Format::Text => "text",
            Format::Json => "json",
            Format::Github => "github",
            Format::Sarif => "sarif",
            Format::Junit => "junit",
            Format::Markdown => "markdown",
        }
    }
}

impl FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Format::ALL
            .into_iter()
            .find(|f| f.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                format!("unknown format `{s}`; expected one of text, json, github, sarif, junit, markdown")
            })
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Everything a renderer needs: the findings (already filtered and sorted), the
/// rules that ran (SARIF lists them), and the source texts for snippets.
pub struct Report<'a> {
    pub findings: &'a [Finding],
    pub rules: &'a [RuleInfo],
    pub sources: &'a Sources,
    /// What was compared, for report headers: e.g. `proto: old/ -> new/`.
    pub subject: &'a str,
}

impl Report<'_> {
    pub fn count(&self, severity: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == severity)
            .count()
    }

    pub fn is_breaking(&self) -> bool {
        self.count(Severity::Error) > 0
    }
}

/// Options that only the text renderer looks at.
#[derive(Debug, Clone, Copy, Default)]
pub struct TextStyle {
    pub color: bool,
}

pub fn render(format: Format, report: &Report<'_>, style: TextStyle) -> String {
    match format {
        Format::Text => text::render(report, style),
        Format::Json => json::render(report),
        Format::Github => github::render(report),
        Format::Sarif => sarif::render(report),
        Format::Junit => junit::render(report),
        Format::Markdown => markdown::render(report),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::source::{Location, Position, SourceText};

    pub const RULES: &[RuleInfo] = &[RuleInfo {
        id: "FIELD_NO_DELETE",
        categories: &["FILE", "PACKAGE"],
        default: true,
        deprecated: false,
        purpose: "Checks that fields are not deleted from a given message.",
    }];

    pub fn sample() -> (Vec<Finding>, Sources) {
        let mut sources = Sources::default();
        sources.insert(
            "new/a.proto",
            SourceText::new("syntax = \"proto3\";\nmessage M {\n  string a = 1;\n}\n"),
        );
        let finding = Finding {
            rule: "FIELD_NO_DELETE",
            categories: RULES[0].categories,
            severity: Severity::Error,
            message: "field `M.b` (2) was deleted <& \"quoted\">".into(),
            location: Location::new("new/a.proto", Position::new(2, 1), Position::new(4, 2)),
            old_location: Some(Location::new(
                "old/a.proto",
                Position::new(4, 3),
                Position::new(4, 16),
            )),
            scope: "a.proto".into(),
        };
        (vec![finding], sources)
    }

    pub fn with_sample<T>(f: impl FnOnce(&Report<'_>) -> T) -> T {
        let (findings, sources) = sample();
        let report = Report {
            findings: &findings,
            rules: RULES,
            sources: &sources,
            subject: "proto: old -> new",
        };
        f(&report)
    }

    #[test]
    fn formats_parse_case_insensitively() {
        assert_eq!("SARIF".parse::<Format>(), Ok(Format::Sarif));
        assert!("xml".parse::<Format>().is_err());
    }
}
