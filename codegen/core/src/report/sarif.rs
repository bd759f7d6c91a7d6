//! SARIF 2.1.0, the format GitHub code scanning uploads.

use serde_json::{Value, json};

use super::Report;
use crate::finding::Severity;
use crate::source::Location;

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

pub fn render(report: &Report<'_>) -> String {
    let rules: Vec<Value> = report
        .rules
        .iter()
        .map(|r| {
            json!({
                "id": r.id,
                "name": r.id,
                "shortDescription": { "text": r.purpose },
                "defaultConfiguration": { "level": "error" },
                "properties": { "tags": r.categories },
            })
        })
        .collect();
    let results: Vec<Value> = report
        .findings
        .iter()
        .map(|f| {
            let mut result = json!({
                "ruleId": f.rule,
                "level": level(f.severity),
                "message": { "text": f.message },
                "locations": [ physical(&f.location) ],
            });
            if let Some(index) = report.rules.iter().position(|r| r.id == f.rule) {
                result["ruleIndex"] = json!(index);
            }
            if let Some(old) = &f.old_location {
                let mut related = physical(old);
                related["id"] = json!(0);
                related["message"] = json!({ "text": "the element in the old contract" });
                result["relatedLocations"] = json!([related]);
            }
            result
        })
        .collect();
    let doc = json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "contractor",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://github.com/contractor-dev/contractor",
                "rules": rules,
            }},
            "results": results,
        }],
    });
    let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
    text.push('\n');
    text
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

fn physical(loc: &Location) -> Value {
    json!({
        "physicalLocation": {
            "artifactLocation": { "uri": uri(&loc.path) },
            "region": {
                "startLine": loc.start.line,
                "startColumn": loc.start.column,
                "endLine": loc.end.line,
                "endColumn": loc.end.column,
            }
        }
    })
}

/// SARIF wants a URI reference: forward slashes, no leading `./`, and
/// percent-encoding for the characters URIs reserve.
fn uri(path: &str) -> String {
    let path = path.replace('\\', "/");
    let path = path.strip_prefix("./").unwrap_or(&path);
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        match b {
            b'A'..=b'Z'
            | b'a'..=b'z'
            | b'0'..=b'9'
            | b'-'
            | b'.'
            | b'_'
            | b'~'
            | b'/'
            | b':'
            | b'@' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::tests::with_sample;
    use super::*;

    #[test]
    fn sarif_has_rules_results_and_regions() {
        let v: Value = serde_json::from_str(&with_sample(render)).unwrap();
        assert_eq!(v["version"], "2.1.0");
        let run = &v["runs"][0];
        assert_eq!(run["tool"]["driver"]["rules"][0]["id"], "FIELD_NO_DELETE");
        let result = &run["results"][0];
        assert_eq!(result["ruleId"], "FIELD_NO_DELETE");
        assert_eq!(result["ruleIndex"], 0);
        assert_eq!(result["level"], "error");
        let region = &result["locations"][0]["physicalLocation"]["region"];
        assert_eq!(region["startLine"], 2);
        assert_eq!(region["endColumn"], 2);
        assert_eq!(
            result["relatedLocations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            "old/a.proto"
        );
    }

    #[test]
    fn uris_are_encoded() {
        assert_eq!(uri("./a b/c#.proto"), "a%20b/c%23.proto");
    }
}
