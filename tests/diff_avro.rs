//! End-to-end tests of `contractor diff` on Avro schemas (`.avsc`): the real binary on small
//! schemas written to a temporary directory; exit codes, positions with JSON pointers,
//! compatibility modes from the flag and the configuration, transitive checks over three
//! versions, malformed input and JSON output.

mod common;

use common::*;
use serde_json::Value;

const V1: &str = r#"{
  "type": "record",
  "name": "Payment",
  "namespace": "shop",
  "fields": [
    {"name": "id", "type": "string"},
    {"name": "amount", "type": "int"}
  ]
}
"#;

/// Adds a field with a default and widens `amount`: backward compatible, not forward.
const V2: &str = r#"{
  "type": "record",
  "name": "Payment",
  "namespace": "shop",
  "fields": [
    {"name": "id", "type": "string"},
    {"name": "amount", "type": "long"},
    {"name": "currency", "type": "string", "default": "EUR"}
  ]
}
"#;

/// Drops the default of `currency`: fine against V2, not against V1.
const V3: &str = r#"{
  "type": "record",
  "name": "Payment",
  "namespace": "shop",
  "fields": [
    {"name": "id", "type": "string"},
    {"name": "amount", "type": "long"},
    {"name": "currency", "type": "string"}
  ]
}
"#;

/// A new field without a default: not backward compatible.
const NO_DEFAULT: &str = r#"{
  "type": "record",
  "name": "Payment",
  "namespace": "shop",
  "fields": [
    {"name": "id", "type": "string"},
    {"name": "amount", "type": "int"},
    {"name": "region", "type": "string"}
  ]
}
"#;

fn dir_with(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    write_tree(dir.path(), files);
    dir
}

fn run(dir: &tempfile::TempDir, args: &[&str]) -> std::process::Output {
    contractor_in(dir.path(), args)
}

#[test]
fn breaking_change_exits_one_with_position_and_pointer() {
    let dir = dir_with(&[("v1.avsc", V1), ("new.avsc", NO_DEFAULT)]);
    let out = run(&dir, &["diff", "v1.avsc", "new.avsc", "--color", "never"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("new.avsc:8:14: error[READER_FIELD_MISSING_DEFAULT_VALUE] BACKWARD"),
        "{text}"
    );
    assert!(text.contains("new `/fields/2`"), "{text}");
    assert!(text.contains("field `region`"), "{text}");
}

#[test]
fn compatible_change_exits_zero() {
    let dir = dir_with(&[("v1.avsc", V1), ("v2.avsc", V2)]);
    let out = run(&dir, &["diff", "v1.avsc", "v2.avsc"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(stdout(&out).contains("no breaking changes"));
}

#[test]
fn compat_forward_and_full_change_the_verdict() {
    let dir = dir_with(&[("v1.avsc", V1), ("v2.avsc", V2)]);
    // V1 cannot read V2's long amount.
    for mode in ["forward", "FULL", "Forward_Transitive"] {
        let out = run(
            &dir,
            &[
                "diff", "v1.avsc", "v2.avsc", "--compat", mode, "--color", "never",
            ],
        );
        assert_eq!(out.status.code(), Some(1), "{mode}: {}", stdout(&out));
        let text = stdout(&out);
        assert!(text.contains("error[TYPE_MISMATCH]"), "{text}");
        // Located in the new file, at the writer's type; the old reader's node is "was at".
        assert!(text.contains("v2.avsc:7:32:"), "{text}");
    }
    let out = run(&dir, &["diff", "v1.avsc", "v2.avsc", "--compat", "none"]);
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn transitive_modes_check_every_earlier_version() {
    let dir = dir_with(&[("v1.avsc", V1), ("v2.avsc", V2), ("v3.avsc", V3)]);
    let args = |mode: &str| {
        vec![
            "diff".to_string(),
            "v1.avsc".into(),
            "v2.avsc".into(),
            "v3.avsc".into(),
            "--compat".into(),
            mode.into(),
            "--format".into(),
            "json".into(),
        ]
    };
    let argv = args("backward");
    let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
    let out = run(&dir, &argv);
    assert_eq!(
        out.status.code(),
        Some(0),
        "only v2 -> v3: {}",
        stdout(&out)
    );

    let argv = args("backward_transitive");
    let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
    let out = run(&dir, &argv);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let report: Value = serde_json::from_str(&stdout(&out)).expect("json");
    let findings = report["findings"].as_array().expect("findings");
    assert_eq!(findings.len(), 1, "{report:#}");
    assert_eq!(findings[0]["rule"], "READER_FIELD_MISSING_DEFAULT_VALUE");
    assert_eq!(findings[0]["location"]["path"], "v3.avsc");
    assert!(
        findings[0]["message"]
            .as_str()
            .unwrap_or("")
            .contains("v1.avsc")
    );
}

#[test]
fn more_than_two_files_is_an_error_for_other_formats() {
    let dir = dir_with(&[
        ("a.proto", "syntax = \"proto3\";\n"),
        ("b.proto", "syntax = \"proto3\";\n"),
        ("c.proto", "syntax = \"proto3\";\n"),
    ]);
    let out = run(&dir, &["diff", "a.proto", "b.proto", "c.proto"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("only be given for Avro"),
        "{}",
        stderr(&out)
    );
    let out = run(&dir, &["diff", "a.proto", "b.proto", "--compat", "full"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("--compat applies to Avro"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn config_sets_the_mode_and_the_flag_wins() {
    let dir = dir_with(&[
        ("v1.avsc", V1),
        ("v2.avsc", V2),
        ("contractor.toml", "[avro]\ncompatibility = \"forward\"\n"),
    ]);
    let out = run(&dir, &["diff", "v1.avsc", "v2.avsc"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let out = run(
        &dir,
        &["diff", "v1.avsc", "v2.avsc", "--compat", "backward"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));

    let bad = dir_with(&[
        ("v1.avsc", V1),
        ("contractor.toml", "[avro]\ncompatibility = \"sideways\"\n"),
    ]);
    let out = run(&bad, &["diff", "v1.avsc", "v1.avsc"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("unknown compatibility mode `sideways`"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn malformed_schema_exits_two_with_position() {
    let dir = dir_with(&[
        ("v1.avsc", V1),
        (
            "broken.avsc",
            "{\n  \"type\": \"record\",\n  \"name\": \"Payment\",\n  \"fields\": [{\"name\": \"id\", \"type\": \"strin\"}]\n}\n",
        ),
        (
            "syntax.avsc",
            "{\n  \"type\": \"record\",\n  \"name\": \"Payment\"\n  \"fields\": []\n}\n",
        ),
    ]);
    let out = run(&dir, &["diff", "v1.avsc", "broken.avsc"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("broken.avsc:4:37: unknown type `strin`"),
        "{}",
        stderr(&out)
    );
    // A malformed old side fails too.
    let out = run(&dir, &["diff", "syntax.avsc", "v1.avsc"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("syntax.avsc:4:3:"),
        "{}",
        stderr(&out)
    );
    let out = run(
        &dir,
        &["diff", "v1.avsc", "v1.avsc", "--compat", "sideways"],
    );
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn json_report_has_rule_location_and_old_location() {
    let dir = dir_with(&[("v1.avsc", V1), ("new.avsc", NO_DEFAULT)]);
    let out = run(&dir, &["diff", "v1.avsc", "new.avsc", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_str(&stdout(&out)).expect("json");
    assert_eq!(report["breaking"], true);
    let finding = &report["findings"][0];
    assert_eq!(finding["rule"], "READER_FIELD_MISSING_DEFAULT_VALUE");
    assert_eq!(finding["categories"][0], "AVRO");
    assert_eq!(finding["location"]["path"], "new.avsc");
    assert_eq!(finding["location"]["start_line"], 8);
    assert_eq!(finding["old_location"]["path"], "v1.avsc");
    // Other formats render too.
    for format in ["github", "sarif", "junit", "markdown"] {
        let out = run(&dir, &["diff", "v1.avsc", "new.avsc", "--format", format]);
        assert_eq!(out.status.code(), Some(1), "{format}");
        assert!(
            stdout(&out).contains("READER_FIELD_MISSING_DEFAULT_VALUE"),
            "{format}"
        );
    }
}

#[test]
fn rules_lists_the_avro_ids() {
    let out = contractor(&["rules", "--lang", "avro"]);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    for id in [
        "NAME_MISMATCH",
        "FIXED_SIZE_MISMATCH",
        "MISSING_ENUM_SYMBOLS",
        "READER_FIELD_MISSING_DEFAULT_VALUE",
        "TYPE_MISMATCH",
        "MISSING_UNION_BRANCH",
        "DECIMAL_MISMATCH",
    ] {
        assert!(text.contains(id), "{id}: {text}");
    }
}

#[test]
fn named_types_from_sibling_files_are_imported() {
    let id = r#"{"type": "fixed", "name": "Id", "namespace": "shop", "size": 16}"#;
    let event = |extra: &str| {
        format!(
            r#"{{"type": "record", "name": "Event", "namespace": "shop", "fields": [{{"name": "id", "type": "shop.Id"}}{extra}]}}"#
        )
    };
    let dir = dir_with(&[
        ("old/id.avsc", id),
        ("old/event.avsc", &event("")),
        ("new/id.avsc", id),
        (
            "new/event.avsc",
            &event(r#", {"name": "n", "type": "int"}"#),
        ),
    ]);
    let out = run(
        &dir,
        &[
            "diff",
            "old/event.avsc",
            "new/event.avsc",
            "--color",
            "never",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(stdout(&out).contains("field `n`"), "{}", stdout(&out));
}

#[test]
fn against_a_git_revision() {
    let dir = dir_with(&[("schema.avsc", V1)]);
    git(dir.path(), &["init", "-q"]);
    git(dir.path(), &["add", "."]);
    git(dir.path(), &["commit", "-q", "-m", "v1"]);
    std::fs::write(dir.path().join("schema.avsc"), NO_DEFAULT).expect("write");
    let out = run(
        &dir,
        &[
            "diff",
            "schema.avsc",
            "--against",
            "HEAD",
            "--color",
            "never",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(
        stdout(&out).contains("schema.avsc:8:14:"),
        "{}",
        stdout(&out)
    );
}
