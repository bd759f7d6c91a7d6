//! JUnit XML, which most CI systems show as a test report: one failed test case
//! per breaking finding, and one passing case when there is nothing to report.

use std::fmt::Write;

use super::Report;
use crate::finding::Severity;

pub fn render(report: &Report<'_>) -> String {
    let failures = report.count(Severity::Error);
    let cases = report.findings.len().max(1);
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"contractor\" tests=\"{cases}\" failures=\"{failures}\">"
    );
    let _ = writeln!(
        out,
        "  <testsuite name=\"{}\" tests=\"{cases}\" failures=\"{failures}\" errors=\"0\" skipped=\"0\">",
        escape(report.subject)
    );
    if report.findings.is_empty() {
        let _ = writeln!(
            out,
            "    <testcase classname=\"contractor.diff\" name=\"no breaking changes\"/>"
        );
    }
    for f in report.findings {
        let name = format!("{} {}", f.rule, f.location);
        let _ = write!(
            out,
            "    <testcase classname=\"{}\" name=\"{}\"",
            escape(f.rule),
            escape(&name)
        );
        if f.severity == Severity::Error {
            let _ = writeln!(out, ">");
            let _ = writeln!(
                out,
                "      <failure message=\"{}\" type=\"{}\">{}: {}</failure>",
                escape(&f.message),
                escape(f.rule),
                escape(&f.location.to_string()),
                escape(&f.message)
            );
            let _ = writeln!(out, "    </testcase>");
        } else {
            let _ = writeln!(out, ">");
            let _ = writeln!(
                out,
                "      <system-out>{}: {}</system-out>",
                f.severity.as_str(),
                escape(&f.message)
            );
            let _ = writeln!(out, "    </testcase>");
        }
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

/// XML attribute and text escaping; control characters XML 1.0 forbids are dropped.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::tests::with_sample;
    use super::*;

    #[test]
    fn junit_has_one_failure_per_breaking_finding_and_escapes() {
        let xml = with_sample(render);
        assert!(
            xml.contains("<testsuite name=\"proto: old -&gt; new\" tests=\"1\" failures=\"1\"")
        );
        assert!(xml.contains(
            "<testcase classname=\"FIELD_NO_DELETE\" name=\"FIELD_NO_DELETE new/a.proto:2:1\">"
        ));
        assert!(
            xml.contains(
                "message=\"field `M.b` (2) was deleted &lt;&amp; &quot;quoted&quot;&gt;\""
            )
        );
        assert_eq!(xml.matches("<failure").count(), 1);
    }

    #[test]
    fn control_characters_are_dropped() {
        assert_eq!(escape("a\u{1}b"), "ab");
    }
}
