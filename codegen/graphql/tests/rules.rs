//! One fixture per rule: `tests/fixtures/<RULE_ID>/{old,new}.graphql` and
//! `expected.txt`, the exact findings (`RULE_ID severity`, one a line) the
//! diff must produce under the default options.

use std::path::{Path, PathBuf};

use contractor_graphql::{Options, diff, load, registry};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The findings of one fixture as sorted `RULE_ID severity` lines.
fn run(dir: &Path) -> Result<Vec<String>, String> {
    let load_side = |name: &str| {
        let path = dir.join(name);
        load(&path.display().to_string(), &read(&path)).map_err(|e| e.to_string())
    };
    let (old, new) = (load_side("old.graphql")?, load_side("new.graphql")?);
    let mut got: Vec<String> = diff(&old, &new, &Options::default())
        .iter()
        .map(|f| format!("{} {}", f.rule, f.severity.as_str()))
        .collect();
    got.sort();
    Ok(got)
}

#[test]
fn every_fixture_produces_exactly_its_expected_findings() {
    let mut failures = Vec::new();
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(fixtures())
        .expect("fixtures directory")
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    for dir in &dirs {
        let mut expected: Vec<String> = read(&dir.join("expected.txt"))
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(str::to_string)
            .collect();
        expected.sort();
        match run(dir) {
            Ok(got) if got == expected => {}
            Ok(got) => failures.push(format!(
                "{}:\n  expected {expected:?}\n  got      {got:?}",
                dir.display()
            )),
            Err(e) => failures.push(format!("{}: {e}", dir.display())),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_registered_rule_has_a_fixture_that_fires_it() {
    let missing: Vec<&str> = registry()
        .iter()
        .map(|r| r.id)
        .filter(|id| {
            let expected = fixtures().join(id).join("expected.txt");
            !expected.is_file()
                || !read(&expected)
                    .lines()
                    .any(|l| l.split_whitespace().next() == Some(id))
        })
        .collect();
    assert!(missing.is_empty(), "rules without a fixture: {missing:?}");
}

#[test]
fn rule_ids_are_unique() {
    let mut ids: Vec<&str> = registry().iter().map(|r| r.id).collect();
    let count = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), count);
}
