//! A changelog for pull requests: every change, grouped by operation (or
//! file), breaking ones first, ready to paste.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::Report;
use crate::finding::{Finding, Severity};

pub fn render(report: &Report<'_>) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "## Contract changes: {}\n", escape(report.subject));
    let (errors, warnings, infos) = (
        report.count(Severity::Error),
        report.count(Severity::Warning),
        report.count(Severity::Info),
    );
    if report.findings.is_empty() {
        out.push_str("No changes found.\n");
        return out;
    }
    let _ = writeln!(
        out,
        "**{errors} breaking**, {warnings} warning{}, {infos} info\n",
        if warnings == 1 { "" } else { "s" }
    );
    let mut groups: BTreeMap<&str, Vec<&Finding>> = BTreeMap::new();
    for f in report.findings {
        groups.entry(f.scope.as_str()).or_default().push(f);
    }
    // Groups with breaking changes come first, then by name.
    let mut groups: Vec<(&str, Vec<&Finding>)> = groups.into_iter().collect();
    groups.sort_by_key(|(scope, findings)| (findings.iter().map(|f| f.severity).min(), *scope));
    for (scope, mut findings) in groups {
        findings.sort_by_key(|f| (f.severity, f.rule, f.location.start.line));
        let _ = writeln!(out, "### `{}`\n", scope.replace('`', "'"));
        out.push_str("| severity | rule | change | where |\n|---|---|---|---|\n");
        for f in findings {
            let _ = writeln!(
                out,
                "| {} | `{}` | {} | `{}` |",
                label(f.severity),
                f.rule,
                escape(&f.message),
                escape(&f.location.to_string())
            );
        }
        out.push('\n');
    }
    out
}

fn label(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "**breaking**",
        Severity::Warning => "warning",
        Severity::Info => "info",
    }
}

/// Keeps table cells in one piece: pipes and newlines would end them.
fn escape(text: &str) -> String {
    text.replace('|', "\\|").replace(['\n', '\r'], " ")
}

#[cfg(test)]
mod tests {
    use super::super::tests::with_sample;
    use super::*;

    #[test]
    fn groups_by_scope_with_a_summary() {
        let md = with_sample(render);
        assert!(
            md.starts_with("## Contract changes: proto: old -> new\n"),
            "{md}"
        );
        assert!(md.contains("**1 breaking**, 0 warnings, 0 info"));
        assert!(md.contains("### `a.proto`"));
        assert!(md.contains("| **breaking** | `FIELD_NO_DELETE` |"));
    }

    #[test]
    fn cells_stay_in_one_piece() {
        assert_eq!(escape("a|b\nc"), "a\\|b c");
    }
}
