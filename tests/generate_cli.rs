//! `contractor generate` end to end: the crate it writes, re-runs, `--check`,
//! bad input, and a `cargo check` of the crate exactly as written.

mod common;

use std::path::Path;
use std::process::Command;

use common::{contractor, repo_root, stderr, stdout};

const SHOP: &str = "schemas/shop/v1/shop.yaml";

fn generate_into(dir: &Path, extra: &[&str]) -> std::process::Output {
    let out = dir.to_str().expect("utf-8 temp path");
    let mut args = vec!["generate", SHOP, "--out", out];
    args.extend_from_slice(extra);
    contractor(&args)
}

#[test]
fn writes_a_complete_crate_and_rewrites_nothing_on_rerun() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = generate_into(dir.path(), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("5 operations"), "{}", stderr(&out));
    let manifest = std::fs::read_to_string(dir.path().join("Cargo.toml")).expect("Cargo.toml");
    assert!(manifest.contains("name = \"shop\""), "{manifest}");
    assert!(
        manifest.contains("contractor-runtime = { path = "),
        "{manifest}"
    );
    let lib = std::fs::read_to_string(dir.path().join("src/lib.rs")).expect("lib.rs");
    for module in [
        "pub mod types",
        "pub mod spec",
        "pub mod client",
        "pub mod server",
    ] {
        assert!(lib.contains(module), "{module} missing");
    }
    assert!(dir.path().join("README.md").is_file());

    let again = generate_into(dir.path(), &[]);
    assert_eq!(again.status.code(), Some(0));
    assert!(
        stderr(&again).contains("(0 files changed)"),
        "{}",
        stderr(&again)
    );
    let lib_again = std::fs::read_to_string(dir.path().join("src/lib.rs")).expect("lib.rs");
    assert_eq!(lib, lib_again, "byte-identical on re-run");
}

#[test]
fn check_reports_drift_with_a_diff_and_exit_1() {
    let dir = tempfile::tempdir().expect("temp dir");
    assert_eq!(generate_into(dir.path(), &[]).status.code(), Some(0));
    let clean = generate_into(dir.path(), &["--check"]);
    assert_eq!(clean.status.code(), Some(0), "{}", stderr(&clean));
    assert!(stdout(&clean).is_empty());

    let lib = dir.path().join("src/lib.rs");
    let text = std::fs::read_to_string(&lib).expect("lib.rs");
    std::fs::write(
        &lib,
        text.replace("pub struct Order {", "pub struct Order { // edited"),
    )
    .expect("edit");
    let drift = generate_into(dir.path(), &["--check"]);
    assert_eq!(drift.status.code(), Some(1), "{}", stderr(&drift));
    assert!(
        stdout(&drift).contains("-    pub struct Order { // edited"),
        "{}",
        stdout(&drift)
    );
    assert!(stderr(&drift).contains("out of date"), "{}", stderr(&drift));
    // --check never writes.
    assert!(
        std::fs::read_to_string(&lib)
            .expect("lib.rs")
            .contains("// edited")
    );
}

#[test]
fn client_or_server_alone() {
    let dir = tempfile::tempdir().expect("temp dir");
    assert_eq!(
        generate_into(dir.path(), &["--client"]).status.code(),
        Some(0)
    );
    let lib = std::fs::read_to_string(dir.path().join("src/lib.rs")).expect("lib.rs");
    assert!(lib.contains("pub mod client") && !lib.contains("pub mod server"));
    assert_eq!(
        generate_into(dir.path(), &["--server"]).status.code(),
        Some(0)
    );
    let lib = std::fs::read_to_string(dir.path().join("src/lib.rs")).expect("lib.rs");
    assert!(lib.contains("pub mod server") && !lib.contains("pub mod client"));
}

#[test]
fn bad_input_is_a_positioned_error_and_exit_2() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().to_str().expect("utf-8");
    let broken = contractor(&[
        "generate",
        "tests/fixtures/openapi/broken.yaml",
        "--out",
        out,
    ]);
    assert_eq!(broken.status.code(), Some(2));
    let message = stderr(&broken);
    assert!(
        message.contains("tests/fixtures/openapi/broken.yaml:"),
        "file:line:column expected: {message}"
    );
    let missing = contractor(&["generate", "nope.yaml", "--out", out]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(stderr(&missing).contains("nope.yaml"));
    let proto = contractor(&["generate", "schemas/orders/v1/nope.proto", "--out", out]);
    assert_eq!(proto.status.code(), Some(2));
    let name = contractor(&["generate", SHOP, "--out", out, "--crate-name", "9 lives"]);
    assert_eq!(name.status.code(), Some(2));
    assert!(
        std::fs::read_dir(dir.path()).expect("dir").next().is_none(),
        "nothing written"
    );
}

/// The crate as written passes `cargo check` with warnings denied. It gets
/// this workspace's lock file (so no network is needed) and a target
/// directory under `target/`, warm after the first run.
#[test]
fn the_generated_crate_passes_cargo_check_as_it_stands() {
    let target = repo_root().join("target/generated-check");
    let temp = tempfile::tempdir().expect("temp dir");
    let dir = temp.path().join("shop");
    let out = generate_into(&dir, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    std::fs::copy(repo_root().join("Cargo.lock"), dir.join("Cargo.lock")).expect("lock file");
    let manifest = dir.join("Cargo.toml");
    let check = Command::new(env!("CARGO"))
        .args(["check", "--quiet", "--offline", "--manifest-path"])
        .arg(&manifest)
        .env("CARGO_TARGET_DIR", target.join("target"))
        .env("RUSTFLAGS", "-D warnings")
        .output()
        .expect("run cargo");
    assert!(
        check.status.success(),
        "cargo check failed:\n{}",
        String::from_utf8_lossy(&check.stderr)
    );
}
