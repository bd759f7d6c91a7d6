//! End-to-end tests of `contractor diff` on .proto contracts: the real binary,
//! real files, every exit code and every output format.

mod common;

use common::*;
use serde_json::Value;

const OLD: &str = "tests/fixtures/proto/old.proto";
const NEW: &str = "tests/fixtures/proto/new.proto";
const BROKEN: &str = "tests/fixtures/proto/broken.proto";

#[test]
fn identical_contracts_exit_zero() {
    let out = contractor(&["diff", OLD, OLD]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("no breaking changes"));
}

#[test]
fn breaking_change_exits_one_with_located_findings() {
    let out = contractor(&["diff", OLD, NEW, "--color", "never"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    // The headline: number 2 came back with another name and type, no reservation.
    assert!(
        text.contains("tests/fixtures/proto/new.proto:7:3: error[FIELD_SAME_TYPE]"),
        "{text}"
    );
    assert!(text.contains("from \"int32\" to \"int64\""), "{text}");
    assert!(
        text.contains("tests/fixtures/proto/new.proto:7:9: error[FIELD_SAME_NAME]"),
        "{text}"
    );
    assert!(text.contains("7 |   int64 count = 2;"), "{text}");
    assert!(text.contains("  |         ^^^^^"), "{text}");
    assert!(!text.contains('\x1b'), "no colour when not asked");
}

#[test]
fn syntax_error_on_either_side_exits_two_with_position() {
    for args in [["diff", BROKEN, NEW], ["diff", OLD, BROKEN]] {
        let out = contractor(&args);
        assert_eq!(out.status.code(), Some(2));
        let err = stderr(&out);
        assert!(
            err.starts_with("error: tests/fixtures/proto/broken.proto:7:3: "),
            "{err}"
        );
        assert_eq!(err.lines().count(), 1, "one line: {err}");
    }
}

#[test]
fn type_error_exits_two_with_position() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(
        dir.path(),
        &[(
            "bad.proto",
            "syntax = \"proto3\";\nmessage M {\n  Missing field = 1;\n}\n",
        )],
    );
    let out = contractor_in(dir.path(), &["diff", "bad.proto", "bad.proto"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).starts_with("error: bad.proto:3:3: "),
        "{}",
        stderr(&out)
    );
}

#[test]
fn usage_errors_exit_two() {
    for args in [
        &["diff"][..],
        &["diff", OLD, NEW, "--format", "xml"],
        &["frobnicate"],
        &["diff", OLD, "tests"],
    ] {
        let out = contractor(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
    }
    let out = contractor(&["diff", "does/not/exist.proto", NEW]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("does/not/exist.proto: no such file or directory"));
    let out = contractor(&["diff", OLD, NEW, "--category", "NOPE"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("unknown category `NOPE`"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn json_format() {
    let out = contractor(&["diff", OLD, NEW, "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["version"], 1);
    assert_eq!(v["breaking"], true);
    let rules: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert_eq!(
        rules,
        ["FIELD_SAME_JSON_NAME", "FIELD_SAME_TYPE", "FIELD_SAME_NAME"]
    );
    let f = &v["findings"][1];
    assert_eq!(f["location"]["path"], NEW);
    assert_eq!(f["location"]["start_line"], 7);
    assert_eq!(f["location"]["start_column"], 3);
    assert_eq!(f["location"]["end_column"], 8);
    assert_eq!(f["categories"][0], "CSR");
}

#[test]
fn github_format() {
    let out = contractor(&["diff", OLD, NEW, "--format", "github"]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert_eq!(text.lines().count(), 3);
    assert!(text.contains("::error file=tests/fixtures/proto/new.proto,line=7,col=3,endLine=7,endColumn=8,title=FIELD_SAME_TYPE::"), "{text}");
}

#[test]
fn sarif_format() {
    let out = contractor(&["diff", OLD, NEW, "--format", "sarif"]);
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["version"], "2.1.0");
    let run = &v["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), 3);
    for r in results {
        let index = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(
            rules[index]["id"], r["ruleId"],
            "ruleIndex points at the rule"
        );
        assert_eq!(
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            NEW
        );
    }
}

#[test]
fn junit_format() {
    let out = contractor(&["diff", OLD, NEW, "--format", "junit"]);
    assert_eq!(out.status.code(), Some(1));
    let xml = stdout(&out);
    assert!(xml.starts_with("<?xml"));
    assert_eq!(xml.matches("<failure ").count(), 3);
    let clean = contractor(&["diff", OLD, OLD, "--format", "junit"]);
    assert_eq!(clean.status.code(), Some(0));
    assert!(stdout(&clean).contains("failures=\"0\""));
}

#[test]
fn colour_follows_the_flag_and_no_color() {
    let out = contractor(&["diff", OLD, NEW, "--color", "always"]);
    assert!(stdout(&out).contains('\x1b'));
    // `auto` never colours a pipe, whatever NO_COLOR says.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_contractor"))
        .args(["diff", OLD, NEW])
        .current_dir(repo_root())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(!stdout(&out).contains('\x1b'));
}

#[test]
fn categories_change_what_breaks() {
    // int32 -> int64 is wire compatible; the rename is not JSON compatible.
    let wire = contractor(&["diff", OLD, NEW, "--category", "WIRE", "--format", "json"]);
    assert_eq!(wire.status.code(), Some(0), "{}", stdout(&wire));
    let json = contractor(&[
        "diff",
        OLD,
        NEW,
        "--category",
        "WIRE_JSON",
        "--format",
        "json",
    ]);
    assert_eq!(json.status.code(), Some(1));
    let v: Value = serde_json::from_str(&stdout(&json)).unwrap();
    let rules: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert_eq!(
        rules,
        [
            "FIELD_SAME_JSON_NAME",
            "FIELD_WIRE_JSON_COMPATIBLE_TYPE",
            "FIELD_SAME_NAME"
        ]
    );
}

#[test]
fn directories_compare_files_by_name_and_report_deleted_files() {
    let dir = tempfile::tempdir().unwrap();
    let a = "syntax = \"proto3\";\npackage p;\nmessage A { string x = 1; }\n";
    let b = "syntax = \"proto3\";\npackage p;\nimport \"p/a.proto\";\nmessage B { A a = 1; }\n";
    write_tree(
        dir.path(),
        &[
            ("old/p/a.proto", a),
            ("old/p/b.proto", b),
            ("new/p/a.proto", a),
        ],
    );
    let out = contractor_in(dir.path(), &["diff", "old", "new", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let f = &v["findings"][0];
    assert_eq!(f["rule"], "FILE_NO_DELETE");
    assert_eq!(f["location"]["path"], "old/p/b.proto");
}

#[test]
fn includes_resolve_imports_outside_the_module() {
    let dir = tempfile::tempdir().unwrap();
    let common = "syntax = \"proto3\";\npackage common;\nmessage Money { int64 units = 1; }\n";
    let svc = "syntax = \"proto3\";\npackage svc;\nimport \"common/money.proto\";\nmessage Price { common.Money money = 1; }\n";
    write_tree(
        dir.path(),
        &[
            ("vendor/common/money.proto", common),
            ("old/svc.proto", svc),
            ("new/svc.proto", svc),
        ],
    );
    let out = contractor_in(dir.path(), &["diff", "old", "new"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "import cannot resolve without -I"
    );
    assert!(
        stderr(&out).contains("common/money.proto"),
        "{}",
        stderr(&out)
    );
    let out = contractor_in(dir.path(), &["diff", "old", "new", "-I", "vendor"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn against_a_git_ref_reads_objects_not_the_checkout() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    git(root, &["init", "-q", "-b", "main"]);
    write_tree(
        root,
        &[(
            "proto/shop/v1/item.proto",
            &std::fs::read_to_string(repo_root().join(OLD)).unwrap(),
        )],
    );
    git(root, &["add", "."]);
    git(root, &["commit", "-q", "-m", "v1"]);
    git(root, &["tag", "v1"]);
    std::fs::copy(repo_root().join(NEW), root.join("proto/shop/v1/item.proto")).unwrap();

    let out = contractor_in(
        root,
        &["diff", "proto", "--against", "v1", "--format", "json"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["findings"].as_array().unwrap().len(), 3);
    assert_eq!(
        v["findings"][0]["location"]["path"],
        "proto/shop/v1/item.proto"
    );

    // A single file works the same way, and the work tree is left as it was.
    let out = contractor_in(
        root,
        &["diff", "proto/shop/v1/item.proto", "--against", "main"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        std::fs::read_to_string(root.join("proto/shop/v1/item.proto"))
            .unwrap()
            .contains("int64 count")
    );

    let out = contractor_in(root, &["diff", "proto", "--against", "no-such-ref"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("unknown git revision `no-such-ref`"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn contractor_toml_selects_and_ignores() {
    let dir = tempfile::tempdir().unwrap();
    let old = std::fs::read_to_string(repo_root().join(OLD)).unwrap();
    let new = std::fs::read_to_string(repo_root().join(NEW)).unwrap();
    write_tree(
        dir.path(),
        &[
            ("old/a.proto", &old),
            ("new/a.proto", &new),
            ("old/b.proto", "syntax = \"proto3\";\n"),
        ],
    );

    let config = "[breaking]\nuse = [\"WIRE\"]\n";
    write_tree(dir.path(), &[("new/contractor.toml", config)]);
    let out = contractor_in(dir.path(), &["diff", "old", "new", "--format", "json"]);
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(
        v["findings"].as_array().unwrap().len(),
        0,
        "WIRE tolerates int32 -> int64 and deleted files"
    );

    let config = "[breaking]\nuse = [\"FILE\"]\nexcept = [\"FIELD_SAME_JSON_NAME\"]\nignore = [\"b.proto\"]\n[breaking.ignore_only]\nFIELD_SAME_NAME = [\"a.proto\"]\n";
    write_tree(dir.path(), &[("new/contractor.toml", config)]);
    let out = contractor_in(dir.path(), &["diff", "old", "new", "--format", "json"]);
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let rules: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert_eq!(rules, ["FIELD_SAME_TYPE"]);

    write_tree(
        dir.path(),
        &[("new/contractor.toml", "[breaking]\nuse = \"FILE\"\n")],
    );
    let out = contractor_in(dir.path(), &["diff", "old", "new"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("contractor.toml:2:7:"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn buf_yaml_is_honoured_without_contractor_toml() {
    let dir = tempfile::tempdir().unwrap();
    let old = std::fs::read_to_string(repo_root().join(OLD)).unwrap();
    let new = std::fs::read_to_string(repo_root().join(NEW)).unwrap();
    let buf_v2 = "version: v2\nmodules:\n  - path: new\nbreaking:\n  use:\n    - WIRE_JSON\n  except:\n    - FIELD_SAME_NAME\n";
    write_tree(
        dir.path(),
        &[
            ("old/a.proto", &old),
            ("new/a.proto", &new),
            ("buf.yaml", buf_v2),
        ],
    );
    let out = contractor_in(dir.path(), &["diff", "old", "new", "--format", "json"]);
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let rules: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert_eq!(
        rules,
        ["FIELD_SAME_JSON_NAME", "FIELD_WIRE_JSON_COMPATIBLE_TYPE"]
    );

    let buf_v1 = "version: v1\nbreaking:\n  use:\n    - WIRE\n";
    write_tree(dir.path(), &[("new/buf.yaml", buf_v1)]);
    let out = contractor_in(dir.path(), &["diff", "old", "new"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "nearest buf.yaml (v1, WIRE) wins: {}",
        stdout(&out)
    );
}

#[test]
fn rules_lists_all_65_with_categories() {
    let out = contractor(&["rules"]);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    assert_eq!(text.lines().count(), 66, "header + 65 rules");
    assert!(text.contains("FIELD_WIRE_JSON_COMPATIBLE_TYPE"));
    let out = contractor(&["rules", "--category", "WIRE", "--json"]);
    let rules: Vec<Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(rules.iter().all(|r| {
        r["categories"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c == "WIRE")
    }));
    assert_eq!(rules.len(), 15);
}

#[test]
fn the_readme_example_reports_its_breaking_changes() {
    let out = contractor(&[
        "diff",
        "schemas/orders/v1/orders.proto",
        "examples/proto-diff/orders.proto",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["summary"]["error"], 12);
}
