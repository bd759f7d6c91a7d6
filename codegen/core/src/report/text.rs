//! Human-readable output: one block per finding with a caret snippet.

use std::fmt::Write;

use super::{Report, TextStyle};
use crate::finding::Severity;
use crate::source::Location;

const RED: &str = "\x1b[1;31m";
const YELLOW: &str = "\x1b[1;33m";
const BLUE: &str = "\x1b[1;34m";
const BOLD: &str = "\x1b[1m";
const DIM: &str = "\x1b[2m";
const RESET: &str = "\x1b[0m";

pub fn render(report: &Report<'_>, style: TextStyle) -> String {
    let paint = |code: &'static str| if style.color { code } else { "" };
    let mut out = String::new();
    for finding in report.findings {
        let colour = match finding.severity {
            Severity::Error => RED,
            Severity::Warning => YELLOW,
            Severity::Info => BLUE,
        };
        let _ = writeln!(
            out,
            "{}{}{}: {}{}[{}]{} {}",
            paint(BOLD),
            finding.location,
            paint(RESET),
            paint(colour),
            finding.severity.as_str(),
            finding.rule,
            paint(RESET),
            finding.message
        );
        snippet(&mut out, report, &finding.location, style);
        if let Some(old) = &finding.old_location {
            let _ = writeln!(out, "  {}was at {old}{}", paint(DIM), paint(RESET));
        }
        out.push('\n');
    }
    let errors = report.count(Severity::Error);
    let warnings = report.count(Severity::Warning);
    let infos = report.count(Severity::Info);
    if report.findings.is_empty() {
        let _ = writeln!(out, "{}: no breaking changes", report.subject);
    } else {
        let _ = writeln!(
            out,
            "{}: {errors} breaking, {warnings} warning{}, {infos} info",
            report.subject,
            if warnings == 1 { "" } else { "s" }
        );
    }
    out
}

/// Quotes the first line of the span with a caret line under it.
fn snippet(out: &mut String, report: &Report<'_>, location: &Location, style: TextStyle) {
    let Some(line) = report
        .sources
        .get(&location.path)
        .and_then(|s| s.line(location.start.line))
    else {
        return;
    };
    let number = location.start.line.to_string();
    let gutter = " ".repeat(number.len());
    let start = location.start.column.max(1) as usize - 1;
    let line_chars = line.chars().count();
    let end = if location.end.line == location.start.line
        && location.end.column > location.start.column
    {
        location.end.column as usize - 1
    } else {
        line_chars.max(start + 1)
    };
    // Tabs keep their width in the caret line so the carets stay aligned.
    let pad: String = line
        .chars()
        .take(start)
        .map(|c| if c == '\t' { '\t' } else { ' ' })
        .collect();
    let carets = "^".repeat(end.saturating_sub(start).max(1));
    let (on, off) = if style.color { (RED, RESET) } else { ("", "") };
    let _ = writeln!(out, "{gutter} |");
    let _ = writeln!(out, "{number} | {line}");
    let _ = writeln!(out, "{gutter} | {pad}{on}{carets}{off}");
}

#[cfg(test)]
mod tests {
    use super::super::tests::with_sample;
    use super::*;

    #[test]
    fn plain_text_has_location_rule_snippet_and_summary() {
        let text = with_sample(|r| render(r, TextStyle { color: false }));
        assert_eq!(
            text,
            "new/a.proto:2:1: error[FIELD_NO_DELETE] field `M.b` (2) was deleted <& \"quoted\">\n  |\n2 | message M {\n  | ^^^^^^^^^^^\n  was at old/a.proto:4:3\n\nproto: old -> new: 1 breaking, 0 warnings, 0 info\n"
        );
        assert!(!text.contains('\x1b'));
    }

    #[test]
    fn colour_only_when_asked() {
        let text = with_sample(|r| render(r, TextStyle { color: true }));
        assert!(text.contains(RED));
    }
}
