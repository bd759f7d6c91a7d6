//! End-to-end tests of `contractor diff` on OpenAPI contracts.

mod common;

use common::*;
use serde_json::Value;

const OLD: &str = "tests/fixtures/openapi/old.yaml";
const NEW: &str = "tests/fixtures/openapi/new.yaml";

fn findings(out: &std::process::Output) -> Vec<Value> {
    let v: Value =
        serde_json::from_str(&stdout(out)).unwrap_or_else(|e| panic!("{e}: {}", stdout(out)));
    v["findings"].as_array().unwrap().clone()
}

fn breaking_rules(out: &std::process::Output) -> Vec<String> {
    findings(out)
        .iter()
        .filter(|f| f["severity"] == "error")
        .map(|f| f["rule"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_30_to_31_change_is_classified_by_direction() {
    let out = contractor(&["diff", OLD, NEW, "--format", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let mut rules = breaking_rules(&out);
    rules.sort();
    assert_eq!(
        rules,
        [
            "request-parameter-became-required",
            "request-parameter-max-decreased",
            "request-property-became-required",
            "response-property-became-nullable",
            "response-property-became-optional",
            "response-property-enum-value-added",
        ]
    );
    let all = findings(&out);
    // A deprecated operation may go; a renamed path parameter is no change.
    assert!(
        all.iter()
            .any(|f| f["rule"] == "api-removed-after-deprecation" && f["severity"] == "info")
    );
    assert!(
        !all.iter()
            .any(|f| f["message"].as_str().unwrap().contains("petId")
                && f["rule"].as_str().unwrap().contains("removed"))
    );
    let nullable = all
        .iter()
        .find(|f| f["rule"] == "response-property-became-nullable")
        .unwrap();
    assert_eq!(nullable["location"]["path"], NEW);
    assert_eq!(nullable["location"]["start_line"], 59);
    assert_eq!(nullable["old_location"]["start_line"], 69);
}

#[test]
fn identical_documents_exit_zero() {
    let out = contractor(&["diff", OLD, OLD]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
}

#[test]
fn malformed_document_exits_two_with_position() {
    let out = contractor(&["diff", OLD, "tests/fixtures/openapi/broken.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.starts_with("error: tests/fixtures/openapi/broken.yaml:"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn multi_file_refs_are_followed_and_located() {
    let out = contractor(&[
        "diff",
        "tests/fixtures/openapi/multi/old/api.yaml",
        "tests/fixtures/openapi/multi/new/api.yaml",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let all = findings(&out);
    let f = all
        .iter()
        .find(|f| f["rule"] == "response-property-became-optional")
        .expect("total became optional");
    assert_eq!(
        f["location"]["path"],
        "tests/fixtures/openapi/multi/new/schemas/order.yaml"
    );
    assert_eq!(f["location"]["start_line"], 5);
}

#[test]
fn markdown_changelog_groups_by_operation() {
    let out = contractor(&["diff", OLD, NEW, "--format", "markdown"]);
    assert_eq!(out.status.code(), Some(1));
    let md = stdout(&out);
    assert!(md.contains("**6 breaking**"), "{md}");
    assert!(md.contains("### `GET /pets`"), "{md}");
    assert!(md.contains("### `#/components/schemas/Pet`"), "{md}");
}

#[test]
fn config_changes_severity_ignores_and_excludes() {
    let dir = tempfile::tempdir().unwrap();
    let old = std::fs::read_to_string(repo_root().join(OLD)).unwrap();
    let new = std::fs::read_to_string(repo_root().join(NEW)).unwrap();
    let config = "[openapi]\nexcept = [\"response-body\"]\nignore = [\"GET /pets\"]\n\n[openapi.severity]\n\"request-property-became-required\" = \"warning\"\n";
    write_tree(
        dir.path(),
        &[
            ("old.yaml", &old),
            ("new.yaml", &new),
            ("contractor.toml", config),
        ],
    );
    let out = contractor_in(
        dir.path(),
        &["diff", "old.yaml", "new.yaml", "--format", "json"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let all = findings(&out);
    assert!(
        all.iter()
            .any(|f| f["rule"] == "request-property-became-required" && f["severity"] == "warning")
    );
    assert!(!all.iter().any(|f| f["categories"][0] == "response-body"));

    write_tree(
        dir.path(),
        &[(
            "contractor.toml",
            "[openapi]\nexcept = [\"no-such-rule\"]\n",
        )],
    );
    let out = contractor_in(dir.path(), &["diff", "old.yaml", "new.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no-such-rule"));
}

#[test]
fn against_a_git_ref() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    git(root, &["init", "-q", "-b", "main"]);
    write_tree(
        root,
        &[(
            "api.yaml",
            &std::fs::read_to_string(repo_root().join(OLD)).unwrap(),
        )],
    );
    git(root, &["add", "."]);
    git(root, &["commit", "-q", "-m", "v1"]);
    std::fs::copy(repo_root().join(NEW), root.join("api.yaml")).unwrap();
    let out = contractor_in(
        root,
        &["diff", "api.yaml", "--against", "main", "--format", "json"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(breaking_rules(&out).len(), 6);
}

#[test]
fn openapi_rules_are_listed() {
    let out = contractor(&["rules", "--lang", "openapi"]);
    assert_eq!(out.status.code(), Some(0));
    let lines = stdout(&out).lines().count() - 1;
    assert!(lines >= 150, "{lines} rules");
}
