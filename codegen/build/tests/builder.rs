//! `Builder` as a build script uses it: files in OUT_DIR and exactly one
//! `cargo:rerun-if-changed` line per file read.

use std::path::{Path, PathBuf};

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

fn rerun_lines(output: &[u8]) -> Vec<PathBuf> {
    String::from_utf8_lossy(output)
        .lines()
        .filter_map(|l| l.strip_prefix("cargo:rerun-if-changed="))
        .map(PathBuf::from)
        .collect()
}

#[test]
fn one_rerun_line_per_file_read_and_no_rewrite_when_unchanged() {
    let out = tempfile::tempdir().expect("temp dir");
    let root = repo("tests/fixtures/openapi/multi/new/api.yaml");
    let mut cargo = Vec::new();
    let written = contractor_build::Builder::new()
        .openapi(&root)
        .out_dir(out.path())
        .compile_to(&mut cargo)
        .expect("compiles");
    assert_eq!(written, vec![out.path().join("api.rs")]);

    let lines = rerun_lines(&cargo);
    let mut expected: Vec<PathBuf> = walk(&repo("tests/fixtures/openapi/multi/new"));
    expected.sort();
    let mut seen: Vec<PathBuf> = lines
        .iter()
        .map(|p| p.canonicalize().expect("exists"))
        .collect();
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), lines.len(), "no path twice: {lines:?}");
    assert_eq!(
        seen, expected,
        "every file of the multi-file contract, nothing else"
    );
    assert!(
        lines.iter().all(|p| p.is_file()),
        "never a directory or a missing path"
    );

    let modified = std::fs::metadata(&written[0])
        .and_then(|m| m.modified())
        .expect("mtime");
    std::thread::sleep(std::time::Duration::from_millis(20));
    contractor_build::Builder::new()
        .openapi(&root)
        .out_dir(out.path())
        .compile_to(&mut Vec::new())
        .expect("compiles again");
    let again = std::fs::metadata(&written[0])
        .and_then(|m| m.modified())
        .expect("mtime");
    assert_eq!(modified, again, "an unchanged output is not rewritten");
}

#[test]
fn a_broken_contract_is_a_positioned_error_and_still_watched() {
    let out = tempfile::tempdir().expect("temp dir");
    let broken = repo("tests/fixtures/openapi/broken.yaml");
    let mut cargo = Vec::new();
    let error = contractor_build::Builder::new()
        .openapi(&broken)
        .out_dir(out.path())
        .compile_to(&mut cargo)
        .expect_err("fails");
    assert!(error.to_string().contains("broken.yaml:"), "{error}");
    assert_eq!(
        rerun_lines(&cargo),
        vec![broken],
        "fixing the file reruns the build"
    );

    let mut cargo = Vec::new();
    let missing = contractor_build::Builder::new()
        .openapi("no/such/contract.yaml")
        .out_dir(out.path())
        .compile_to(&mut cargo);
    assert!(missing.is_err());
    assert!(
        rerun_lines(&cargo).is_empty(),
        "a missing path is never watched"
    );
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path.canonicalize().expect("exists"));
        }
    }
    out
}
