//! Bad and hostile input: positioned errors, never a panic or a stack overflow.

use contractor_avro::{Schema, check};
use proptest::prelude::*;

fn error_of(text: &str) -> String {
    match Schema::parse_str("bad.avsc", text) {
        Ok(_) => panic!("accepted: {text}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn malformed_schemas_fail_with_file_line_column() {
    let cases = [
        (
            "{\n  \"type\": \"record\",\n  \"name\": \"R\"\n  \"fields\": []\n}",
            "bad.avsc:4:3:",
        ),
        (
            "{\"type\":\"record\",\"name\":\"R\",\"fields\":[\n {\"name\":\"a\",\"type\":\"Nope\"}]}",
            "bad.avsc:2:21: unknown type `Nope`",
        ),
        (
            "{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"A\",\"A\"]}",
            "bad.avsc:1:42: duplicate enum symbol",
        ),
        (
            "{\"type\":\"fixed\",\"name\":\"F\"}",
            "bad.avsc:1:1: a fixed needs",
        ),
        (
            "[\"null\",\"null\"]",
            "bad.avsc:1:9: the union already has a `null` branch",
        ),
        (
            "{\"type\":\"record\",\"name\":\"1R\",\"fields\":[]}",
            "bad.avsc:1:25: `1R` is not a valid Avro name",
        ),
        (
            "{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"A\"],\"default\":\"B\"}",
            "bad.avsc:1:53: the enum `default` must be one of its symbols",
        ),
        ("// only a comment", "bad.avsc:1:18:"),
        (
            "{\"type\":\"record\",\"name\":\"R\",\"fields\":[\n{\"name\":\"a\",\"type\":\"int\",\"default\":\"x\"}]}",
            "bad.avsc:2:36: the default of field `a` is a string",
        ),
    ];
    for (text, expected) in cases {
        let got = error_of(text);
        assert!(got.starts_with(expected), "{got}\nexpected {expected}");
    }
}

#[test]
fn comments_are_accepted_as_avro_tools_do() {
    let text = "// a schema\n/* with comments */ {\"type\": \"record\", \"name\": \"R\", // here\n \"fields\": []}";
    assert!(Schema::parse_str("c.avsc", text).is_ok());
}

#[test]
fn imports_supply_named_types_from_other_files() {
    let main = r#"{"type":"record","name":"Event","namespace":"x","fields":[{"name":"id","type":"x.Id"}]}"#;
    let import = r#"[{"type":"fixed","name":"Id","namespace":"x","size":16}]"#;
    assert!(Schema::parse_str("main.avsc", main).is_err());
    let schema = Schema::parse_with_imports(("main.avsc", main), &[("id.avsc", import)])
        .expect("resolves through the import");
    assert!(check(&schema, &schema).is_empty());
}

#[test]
fn nesting_at_the_limit_is_checked_without_overflow() {
    // 40 nested records: 120 JSON levels, under the reader's 128.
    let mut text = String::from("\"int\"");
    for i in 0..40 {
        text =
            format!(r#"{{"type":"record","name":"R{i}","fields":[{{"name":"f","type":{text}}}]}}"#);
    }
    let schema = Schema::parse_str("deep.avsc", &text).expect("valid");
    assert!(check(&schema, &schema).is_empty());
    // One more level of array nesting per record is too deep for the reader: an error, no crash.
    let too_deep = "[".repeat(200);
    assert!(error_of(&too_deep).contains("nesting"));
}

#[test]
fn long_reference_chains_stop_at_the_depth_bound() {
    // A flat union of records, each holding the previous one by name, with the last one first:
    // the walk follows the chain down, so it is deep without any deep JSON. (Forward references
    // are fine for our reader; `from_json` skips apache-avro, which would refuse them.)
    let n = 3000;
    let mut branches = vec![format!(
        r#"{{"type":"record","name":"Start","fields":[{{"name":"p","type":"T{}"}}]}}"#,
        n - 1
    )];
    branches.push(r#"{"type":"record","name":"T0","fields":[]}"#.to_string());
    for i in 1..n {
        branches.push(format!(
            r#"{{"type":"record","name":"T{i}","fields":[{{"name":"p","type":"T{}"}}]}}"#,
            i - 1
        ));
    }
    let text = format!("[{}]", branches.join(","));
    let value: serde_json::Value = serde_json::from_str(&text).expect("json");
    let schema = Schema::from_json("chain.avsc", &value).expect("valid");
    // Run on a thread with a default-sized (2 MiB) stack, as library users would.
    let found = std::thread::spawn(move || check(&schema, &schema))
        .join()
        .expect("no stack overflow");
    assert!(found.iter().any(|i| i.kind.id() == "CHECK_TOO_DEEP"));
    // The branches that could not be checked count as unreadable, nothing else is reported.
    assert!(
        found
            .iter()
            .all(|i| matches!(i.kind.id(), "CHECK_TOO_DEEP" | "MISSING_UNION_BRANCH")),
        "{found:?}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
        let _ = Schema::parse_str("p.avsc", &text);
    }

    #[test]
    fn edited_schemas_never_panic(cut in 0usize..400, insert in "[\\[\\]{}\",:a-z0-9 ]{0,4}") {
        let base = r#"{"type":"record","name":"R","namespace":"n","fields":[{"name":"a","type":["null",{"type":"enum","name":"E","symbols":["X","Y"],"default":"X"}],"default":null},{"name":"b","type":{"type":"map","values":{"type":"fixed","name":"F","size":4}}},{"name":"c","type":{"type":"array","items":"R"}}]}"#;
        let at = cut.min(base.len());
        let edited = format!("{}{}{}", &base[..at], insert, &base[at..]);
        let original = Schema::parse_str("a.avsc", base).expect("base is valid");
        if let Ok(schema) = Schema::parse_str("b.avsc", &edited) {
            let _ = check(&schema, &original);
            let _ = check(&original, &schema);
        }
    }
}
