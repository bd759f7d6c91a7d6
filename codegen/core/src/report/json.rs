//! The machine-readable report. Its shape is documented in ARCHITECTURE.md
//! ("JSON report") and only grows: fields are added, never renamed or removed.

use serde_json::{Value, json};

use super::Report;
use crate::finding::Severity;

pub const JSON_REPORT_VERSION: u32 = 1;

pub fn render(report: &Report<'_>) -> String {
    let findings: Vec<Value> = report
        .findings
        .iter()
        .map(|f| {
            let mut v = json!({
                "rule": f.rule,
                "categories": f.categories,
                "severity": f.severity,
                "message": f.message,
                "location": location(&f.location),
            });
            if let Some(old) = &f.old_location {
                v["old_location"] = location(old);
            }
            v
        })
        .collect();
    let doc = json!({
        "version": JSON_REPORT_VERSION,
        "subject": report.subject,
        "breaking": report.is_breaking(),
        "summary": {
            "error": report.count(Severity::Error),
            "warning": report.count(Severity::Warning),
            "info": report.count(Severity::Info),
        },
        "findings": findings,
    });
    let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
    text.push('\n');
    text
}

fn location(loc: &crate::source::Location) -> Value {
    json!({
        "path": loc.path,
        "start_line": loc.start.line,
        "start_column": loc.start.column,
        "end_line": loc.end.line,
        "end_column": loc.end.column,
    })
}

#[cfg(test)]
mod tests {
    use super::super::tests::with_sample;
    use super::*;

    #[test]
    fn json_report_has_the_documented_fields() {
        let text = with_sample(render);
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["version"], 1);
        assert_eq!(v["breaking"], true);
        assert_eq!(v["summary"]["error"], 1);
        let f = &v["findings"][0];
        assert_eq!(f["rule"], "FIELD_NO_DELETE");
        assert_eq!(f["severity"], "error");
        assert_eq!(f["categories"], json!(["FILE", "PACKAGE"]));
        assert_eq!(f["location"]["path"], "new/a.proto");
        assert_eq!(f["location"]["start_line"], 2);
        assert_eq!(f["location"]["end_column"], 2);
        assert_eq!(f["old_location"]["start_line"], 4);
    }
}
