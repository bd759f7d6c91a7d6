//! GitHub Actions workflow commands: one `::error` line per finding, which
//! GitHub shows as an annotation on the pull request's diff.

use std::fmt::Write;

use super::Report;
use crate::finding::Severity;

pub fn render(report: &Report<'_>) -> String {
    let mut out = String::new();
    for f in report.findings {
        let level = match f.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "notice",
        };
        let loc = &f.location;
        let _ = writeln!(
            out,
            "::{level} file={},line={},col={},endLine={},endColumn={},title={}::{}",
            property(&loc.path),
            loc.start.line,
            loc.start.column,
            loc.end.line,
            loc.end.column,
            property(f.rule),
            data(&f.message)
        );
    }
    out
}

/// Escaping for the message part of a workflow command.
fn data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escaping for a property value, which additionally may not hold `:` or `,`.
fn property(s: &str) -> String {
    data(s).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::super::tests::with_sample;
    use super::*;

    #[test]
    fn one_annotation_per_finding() {
        let text = with_sample(render);
        assert_eq!(
            text,
            "::error file=new/a.proto,line=2,col=1,endLine=4,endColumn=2,title=FIELD_NO_DELETE::field `M.b` (2) was deleted <& \"quoted\">\n"
        );
    }

    #[test]
    fn escapes_workflow_command_syntax() {
        assert_eq!(data("50%\nnext"), "50%25%0Anext");
        assert_eq!(property("a:b,c"), "a%3Ab%2Cc");
    }
}
