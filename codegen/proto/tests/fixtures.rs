//! Every rule against its fixtures: `tests/fixtures/breaking/<RULE_ID>/<case>/`
//! holds `old/` and `new/` module roots and `expected.txt`, the findings buf
//! 1.75 reports for that rule alone (`RULE path:line:col:end_line:end_col`).
//! An empty path in `expected.txt` is buf's "no file" (a deleted file or
//! package); contractor points at the old file there, at 1:1.
//! Where contractor deliberately differs from buf, the case holds
//! `expected.contractor.txt` and a `DEVIATION.md` saying why.

use std::path::{Path, PathBuf};

use contractor_proto::{Input, load, registry};

fn fixture_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/breaking")
}

fn sorted_dirs(dir: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

fn uses_editions(dir: &Path) -> bool {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .any(|e| {
            let p = e.path();
            if p.is_dir() {
                uses_editions(&p)
            } else {
                std::fs::read_to_string(&p)
                    .is_ok_and(|t| t.lines().any(|l| l.trim_start().starts_with("edition")))
            }
        })
}

/// Runs one case; returns a description of the mismatch, if any.
fn run_case(rule_id: &str, case: &Path) -> Result<(), String> {
    let rule = registry()
        .iter()
        .find(|r| r.info.id == rule_id)
        .ok_or_else(|| format!("no rule {rule_id}"))?;
    let old_dir = case.join("old");
    let new_dir = case.join("new");
    if uses_editions(case) {
        // protox has no editions support: the input must be refused with a clear error.
        let err = load(&Input::Dir(old_dir.clone()), &[])
            .err()
            .or_else(|| load(&Input::Dir(new_dir.clone()), &[]).err());
        return match err {
            Some(e) if e.position.is_some() && e.message.contains("editions") => Ok(()),
            Some(e) => Err(format!("editions input refused without a position: {e}")),
            None => Err("editions input was accepted".into()),
        };
    }
    let old = load(&Input::Dir(old_dir.clone()), &[])
        .map_err(|e| format!("old side does not compile: {e}"))?;
    let new = load(&Input::Dir(new_dir.clone()), &[])
        .map_err(|e| format!("new side does not compile: {e}"))?;
    let findings = contractor_proto::diff(&old, &new, &[rule]);
    let mut actual: Vec<String> = findings
        .iter()
        .map(|f| {
            let l = &f.location;
            // `report_gone` findings stand for buf's path-less ones.
            let path = if f
                .location
                .path
                .starts_with(&format!("{}/", old_dir.display()))
            {
                ""
            } else {
                f.scope.as_str()
            };
            let line = format!(
                "{} {path}:{}:{}:{}:{}",
                f.rule, l.start.line, l.start.column, l.end.line, l.end.column
            );
            // Findings that break nobody carry their severity.
            match f.severity {
                contractor_core::Severity::Error => line,
                other => format!("{line} {}", other.as_str()),
            }
        })
        .collect();
    actual.sort();
    let expected_file = if case.join("expected.contractor.txt").exists() {
        case.join("expected.contractor.txt")
    } else {
        case.join("expected.txt")
    };
    let mut expected: Vec<String> = std::fs::read_to_string(&expected_file)
        .unwrap()
        .lines()
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect();
    expected.sort();
    if actual == expected {
        Ok(())
    } else {
        Err(format!(
            "expected:\n    {}\n  actual:\n    {}",
            expected.join("\n    "),
            actual.join("\n    ")
        ))
    }
}

#[test]
fn every_rule_matches_its_fixtures() {
    let root = fixture_root();
    let mut failures = Vec::new();
    let mut cases = 0;
    let mut rules_with_fixtures = Vec::new();
    for rule_dir in sorted_dirs(&root) {
        let rule_id = rule_dir.file_name().unwrap().to_str().unwrap().to_string();
        for case in sorted_dirs(&rule_dir) {
            cases += 1;
            if let Err(why) = run_case(&rule_id, &case) {
                failures.push(format!(
                    "{rule_id}/{}:\n  {why}",
                    case.file_name().unwrap().to_str().unwrap()
                ));
            }
        }
        rules_with_fixtures.push(rule_id);
    }
    assert!(cases > 300, "only {cases} fixture cases found");
    assert!(
        failures.is_empty(),
        "{} of {cases} fixture cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn every_rule_has_fixtures() {
    let root = fixture_root();
    let missing: Vec<&str> = registry()
        .iter()
        .map(|r| r.info.id)
        // buf 1.75 cannot run this deprecated rule at all; its unit test lives beside the rule.
        .filter(|id| *id != "MESSAGE_SAME_MESSAGE_SET_WIRE_FORMAT")
        .filter(|id| !root.join(id).join("breaks").is_dir())
        .collect();
    assert!(
        missing.is_empty(),
        "rules without a `breaks` fixture: {missing:?}"
    );
}

#[test]
fn rule_ids_and_categories_match_buf_v2() {
    let listed = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/buf-v2-rules.txt"),
    )
    .unwrap();
    let mut expected: Vec<String> = listed
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(String::from)
        .collect();
    let mut actual: Vec<String> = registry()
        .iter()
        .map(|r| {
            let mut categories = r.info.categories.to_vec();
            categories.sort_unstable();
            let line = format!("{} {}", r.info.id, categories.join(","));
            if r.info.deprecated {
                format!("{line} deprecated")
            } else {
                line
            }
        })
        .collect();
    expected.sort();
    actual.sort();
    assert_eq!(actual, expected);
}
