//! Every fixture under `tests/fixtures/<case>/`: `old.yaml` and `new.yaml` (or `old/asyncapi.yaml`
//! and `new/asyncapi.yaml` for multi-file contracts) are compared, and the findings, one per line
//! as `severity rule file:line:column`, must equal `expected.txt`. `BLESS=1` rewrites them.
//! Each structural rule of the registry has a fixture named after it.

use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn side(dir: &Path, name: &str) -> PathBuf {
    let file = dir.join(format!("{name}.yaml"));
    if file.is_file() {
        file
    } else {
        dir.join(name).join("asyncapi.yaml")
    }
}

fn render(dir: &Path) -> String {
    let old = contractor_asyncapi::load(side(dir, "old")).expect("old side loads");
    let new = contractor_asyncapi::load(side(dir, "new")).expect("new side loads");
    let findings = contractor_asyncapi::diff(&old.api, &new.api, "new.yaml");
    let mut out = String::new();
    for f in findings {
        let file = Path::new(&f.location.path)
            .strip_prefix(dir)
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| f.location.path.clone());
        out.push_str(&format!(
            "{} {} {file}:{}:{}\n",
            f.severity.as_str(),
            f.rule,
            f.location.start.line,
            f.location.start.column
        ));
    }
    out
}

#[test]
fn fixtures_match_their_expectations() {
    let bless = std::env::var_os("BLESS").is_some();
    let mut failures = Vec::new();
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(fixtures())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    assert!(dirs.len() >= 20);
    for dir in dirs {
        let got = render(&dir);
        let expected_path = dir.join("expected.txt");
        if bless {
            std::fs::write(&expected_path, &got).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
        if got != expected {
            failures.push(format!(
                "{}:\n--- expected\n{expected}--- got\n{got}",
                dir.display()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_structural_rule_has_a_fixture_that_reports_it() {
    if std::env::var_os("BLESS").is_some() {
        return; // the expectations are being rewritten next door
    }
    for info in contractor_asyncapi::registry() {
        if info.id.starts_with("payload-") || info.id.starts_with("headers-") {
            continue;
        }
        let dir = fixtures().join(info.id);
        let expected = std::fs::read_to_string(dir.join("expected.txt"))
            .unwrap_or_else(|_| panic!("no fixture for {}", info.id));
        assert!(
            expected
                .lines()
                .any(|l| l.split(' ').nth(1) == Some(info.id)),
            "the fixture of {} does not report it",
            info.id
        );
    }
}

#[test]
fn rule_ids_are_unique_and_stable() {
    let registry = contractor_asyncapi::registry();
    let mut ids: Vec<&str> = registry.iter().map(|r| r.id).collect();
    ids.sort();
    let before = ids.len();
    ids.dedup();
    assert_eq!(before, ids.len());
    for id in [
        "channel-removed",
        "operation-removed",
        "message-removed",
        "payload-type-changed",
        "headers-type-changed",
        "payload-avro-reader-field-missing-default-value",
    ] {
        assert!(ids.contains(&id), "{id}");
    }
}
