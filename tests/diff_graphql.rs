//! End-to-end tests of `contractor diff` on GraphQL SDL.

mod common;

use common::*;
use serde_json::Value;

const DIR: &str = "tests/fixtures/graphql";

fn fixture(name: &str) -> String {
    format!("{DIR}/{name}")
}

fn findings(out: &std::process::Output) -> Vec<Value> {
    let v: Value =
        serde_json::from_str(&stdout(out)).unwrap_or_else(|e| panic!("{e}: {}", stdout(out)));
    v["findings"].as_array().cloned().unwrap_or_default()
}

fn rules_with(out: &std::process::Output, severity: &str) -> Vec<String> {
    let mut rules: Vec<String> = findings(out)
        .iter()
        .filter(|f| f["severity"] == severity)
        .map(|f| f["rule"].as_str().unwrap_or_default().to_string())
        .collect();
    rules.sort();
    rules
}

#[test]
fn breaking_changes_exit_1_with_file_line_column() {
    let (old, new) = (fixture("old.graphql"), fixture("new.graphql"));
    let out = contractor(&["diff", &old, &new, "--color", "never"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains(&format!(
            "{new}:10:3: error[FIELD_TYPE_CHANGED] field `Product.name` changed type from `String!` to `String`"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!("{new}:3:20: error[FIELD_ARGUMENT_ADDED]")),
        "{text}"
    );
    // Removals point into the old document.
    assert!(
        text.contains(&format!("{old}:16:3: error[ENUM_VALUE_REMOVED]")),
        "{text}"
    );
}

#[test]
fn json_report_lists_every_breaking_change() {
    let out = contractor(&[
        "diff",
        &fixture("old.graphql"),
        &fixture("new.graphql"),
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(
        rules_with(&out, "error"),
        [
            "ENUM_VALUE_REMOVED",
            "FIELD_ARGUMENT_ADDED",
            "FIELD_REMOVED",
            "FIELD_TYPE_CHANGED"
        ]
    );
    let all = findings(&out);
    let removed = all
        .iter()
        .find(|f| f["rule"] == "FIELD_REMOVED")
        .expect("FIELD_REMOVED");
    assert_eq!(removed["location"]["path"], fixture("old.graphql"));
    assert_eq!(removed["location"]["start_line"], 5);
    assert!(
        removed["message"]
            .as_str()
            .unwrap_or_default()
            .contains("Query.legacy")
    );
}

#[test]
fn compatible_changes_exit_0() {
    let out = contractor(&[
        "diff",
        &fixture("old.graphql"),
        &fixture("safe.graphql"),
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(rules_with(&out, "error").is_empty());
    // Output narrowing to non-null and input widening to nullable are reported, as safe.
    let info = rules_with(&out, "info");
    assert!(info.contains(&"FIELD_TYPE_CHANGED".to_string()), "{info:?}");
    assert!(
        info.contains(&"INPUT_FIELD_TYPE_CHANGED".to_string()),
        "{info:?}"
    );
}

#[test]
fn every_report_format_renders() {
    for format in ["text", "json", "github", "sarif", "junit", "markdown"] {
        let out = contractor(&[
            "diff",
            &fixture("old.graphql"),
            &fixture("new.graphql"),
            "--format",
            format,
        ]);
        assert_eq!(out.status.code(), Some(1), "{format}: {}", stderr(&out));
        assert!(stdout(&out).contains("FIELD_TYPE_CHANGED"), "{format}");
    }
}

#[test]
fn malformed_sdl_exits_2_with_its_position() {
    let out = contractor(&[
        "diff",
        &fixture("old.graphql"),
        &fixture("malformed.graphql"),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains(&format!("{}:3:6:", fixture("malformed.graphql"))),
        "{err}"
    );
}

#[test]
fn unknown_types_are_bad_input() {
    let dir = tempfile::tempdir().expect("temp dir");
    write_tree(
        dir.path(),
        &[
            ("old.graphql", "type Query {\n  a: Int\n}\n"),
            ("new.graphql", "type Query {\n  a: Int\n  b: Missing\n}\n"),
        ],
    );
    let out = contractor_in(dir.path(), &["diff", "old.graphql", "new.graphql"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("new.graphql:3:3: unknown type `Missing`"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn federation_and_appsync_schemas_parse_and_diff() {
    for name in ["federation.graphql", "appsync.graphql"] {
        let path = fixture(name);
        let out = contractor(&["diff", &path, &path, "--format", "json"]);
        assert_eq!(out.status.code(), Some(0), "{name}: {}", stderr(&out));
        assert!(findings(&out).is_empty(), "{name}: {}", stdout(&out));
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let federation = std::fs::read_to_string(fixture("federation.graphql")).expect("fixture");
    let changed = federation.replace("  weight: Int @external\n", "");
    write_tree(
        dir.path(),
        &[("old.graphqls", &federation), ("new.graphqls", &changed)],
    );
    let out = contractor_in(
        dir.path(),
        &["diff", "old.graphqls", "new.graphqls", "--format", "json"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(rules_with(&out, "error"), ["FIELD_REMOVED"]);
}

#[test]
fn rules_lists_the_graphql_change_types() {
    let out = contractor(&["rules", "--lang", "graphql"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    for id in [
        "FIELD_REMOVED",
        "ENUM_VALUE_ADDED",
        "SCHEMA_QUERY_TYPE_CHANGED",
    ] {
        assert!(text.contains(id), "{id} missing from\n{text}");
    }
    let out = contractor(&[
        "rules",
        "--lang",
        "graphql",
        "--category",
        "union",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(stdout(&out).lines().count(), 2);
}

#[test]
fn graphql_table_in_contractor_toml_changes_verdicts() {
    let dir = tempfile::tempdir().expect("temp dir");
    let old = "type Query {\n  a: Int @deprecated\n  e: E\n}\n\nenum E {\n  X\n}\n";
    let new = "type Query {\n  e: E\n}\n\nenum E {\n  X\n  Y\n}\n";
    write_tree(dir.path(), &[("old.graphql", old), ("new.graphql", new)]);
    let run = |dir: &std::path::Path| {
        contractor_in(
            dir,
            &["diff", "old.graphql", "new.graphql", "--format", "json"],
        )
    };

    let out = run(dir.path());
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(rules_with(&out, "error"), ["FIELD_REMOVED"]);
    assert_eq!(rules_with(&out, "warning"), ["ENUM_VALUE_ADDED"]);

    write_tree(
        dir.path(),
        &[(
            "contractor.toml",
            "[graphql]\ndeprecated_removal_is_dangerous = true\n",
        )],
    );
    let out = run(dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert_eq!(
        rules_with(&out, "warning"),
        ["ENUM_VALUE_ADDED", "FIELD_REMOVED"]
    );

    write_tree(
        dir.path(),
        &[(
            "contractor.toml",
            "[graphql]\ndeprecated_removal_is_dangerous = true\ndangerous_is_breaking = true\n",
        )],
    );
    let out = run(dir.path());
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        rules_with(&out, "error"),
        ["ENUM_VALUE_ADDED", "FIELD_REMOVED"]
    );
}

#[test]
fn against_a_git_ref_quotes_the_old_text_for_removals() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    git(root, &["init", "-q", "-b", "main"]);
    let old = std::fs::read_to_string(repo_root().join(fixture("old.graphql"))).expect("old");
    write_tree(root, &[("schema.graphql", &old)]);
    git(root, &["add", "."]);
    git(root, &["commit", "-q", "-m", "v1"]);
    let new = std::fs::read_to_string(repo_root().join(fixture("new.graphql"))).expect("new");
    write_tree(root, &[("schema.graphql", &new)]);
    let out = contractor_in(
        root,
        &[
            "diff",
            "schema.graphql",
            "--against",
            "main",
            "--color",
            "never",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("main:schema.graphql:16:3: error[ENUM_VALUE_REMOVED]"),
        "{text}"
    );
    // The snippet under a removal is the old document's line.
    assert!(text.contains("16 |   USD"), "{text}");
}
