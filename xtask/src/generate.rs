//! `cargo xtask generate-corpus`: `contractor generate` on every OpenAPI root document of
//! the shared corpus and on every gRPC service module of `corpus/proto` ([`PROTO_MODULES`]),
//! and one `cargo clippy -D warnings` over all the generated crates.
//!
//! Layout, all under `target/generate-corpus/` (cargo's target dir, so CARGO_TARGET_DIR moves
//! it): `crates/<name>/` the generated crates (client and server, crate `gen-<name>`, runtime
//! by path from `codegen/runtime`); `Cargo.toml` a workspace with all of them as members (the
//! generated manifests' own `[workspace]` table is removed, the runtime stays a path dependency
//! outside the workspace); `Cargo.lock` seeded from the repository's lock so versions match;
//! `target/` the build directory, kept between runs so the runtime and its dependencies
//! compile once. The directory sits inside the repository, so `/work/main/.cargo/config.toml`
//! applies to the clippy run too; it only defines the `xtask` alias.
//!
//! One clippy run for all crates lets cargo build the shared dependencies once and check two
//! crates at a time. Its JSON messages are split by package: lints denied by `-D warnings`
//! count as warnings, everything else at level error (type errors…) as errors.
//!
//! `--stripe-compile-time` instead generates only the Stripe 2023-09-12 client (its own
//! standalone crate) and times a debug `cargo build` from an empty target directory, then the
//! rebuild of the crate alone once its dependencies are built.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::openapi::{documents, openapi_dir};
use crate::tools::{Contractor, Paths};

/// The corpus's gRPC services (directory under `corpus/proto`, include root): every
/// `.proto` file of the directory is generated, imports resolve from the include root.
const PROTO_MODULES: [(&str, &str); 9] = [
    ("googleapis/google/pubsub/v1", "googleapis"),
    ("googleapis/google/storage/v2", "googleapis"),
    ("googleapis/google/cloud/secretmanager/v1", "googleapis"),
    ("googleapis/google/cloud/tasks/v2", "googleapis"),
    ("googleapis/google/iam/v1", "googleapis"),
    ("googleapis/google/longrunning", "googleapis"),
    ("grpc/grpc/health/v1", "grpc"),
    ("grpc/grpc/reflection/v1", "grpc"),
    ("grpc/grpc/reflection/v1alpha", "grpc"),
];

/// Messages shown in full per failing crate.
const SHOWN_MESSAGES: usize = 3;

/// What one `contractor generate` run produced.
pub struct Generated {
    pub operations: Option<u64>,
    pub types: Option<u64>,
    /// Lines of the written Rust sources.
    pub lines: usize,
    pub elapsed: Duration,
}

/// A crate name's suffix from a document's file name: `DigitalOcean-public.v2.yaml` →
/// `digitalocean-public-v2`.
pub fn short_name(doc: &Path) -> String {
    let stem = doc.file_stem().unwrap_or_default().to_string_lossy();
    let mut out = String::new();
    for c in stem.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_string()
}

/// Runs `contractor generate DOC --out OUT --crate-name NAME --runtime-path codegen/runtime`
/// plus `extra` and times it. `Err` holds what contractor said when it failed.
pub fn generate(
    contractor: &Contractor,
    paths: &Paths,
    doc: &Path,
    out: &Path,
    crate_name: &str,
    extra: &[&str],
) -> Result<std::result::Result<Generated, String>> {
    let started = Instant::now();
    let output = Command::new(&contractor.exe)
        .arg("generate")
        .arg(doc)
        .arg("--out")
        .arg(out)
        .args(["--crate-name", crate_name, "--runtime-path"])
        .arg(paths.root.join("codegen/runtime"))
        .args(extra)
        .output()
        .context("cannot run contractor")?;
    let elapsed = started.elapsed();
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        return Ok(Err(format!("exit {}: {}", output.status, stderr.trim())));
    }
    // "generated NAME in DIR: 468 operations, 5769 types, 298851 lines (3 files changed)"
    let count = |what: &str| {
        let (before, _) = stderr.split_once(&format!(" {what},"))?;
        before.rsplit([' ', ':']).next()?.parse().ok()
    };
    Ok(Ok(Generated {
        operations: count("operations"),
        types: count("types"),
        lines: rust_lines(&out.join("src"))?,
        elapsed,
    }))
}

/// Lines of the `.rs` files under `dir`.
fn rust_lines(dir: &Path) -> Result<usize> {
    let mut lines = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).with_context(|| format!("{}", dir.display()))? {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                lines += std::fs::read_to_string(&path)?.lines().count();
            }
        }
    }
    Ok(lines)
}

/// Drops the `[workspace]` table of a generated manifest (generated crates are their own
/// workspace roots; here they are members of the corpus workspace).
fn strip_workspace_table(manifest: &Path) -> Result<()> {
    let text = std::fs::read_to_string(manifest)
        .with_context(|| format!("cannot read {}", manifest.display()))?;
    let mut out = String::with_capacity(text.len());
    let mut skipping = false;
    for line in text.lines() {
        let header = line.trim_start().starts_with('[');
        if header {
            skipping = line.trim() == "[workspace]";
        }
        if !skipping {
            out.push_str(line);
            out.push('\n');
        }
    }
    if out != text {
        std::fs::write(manifest, out)?;
    }
    Ok(())
}

/// Diagnostics of one package.
#[derive(Default)]
struct Diagnostics {
    /// Lints denied by `-D warnings` (and plain warnings).
    warnings: usize,
    /// Everything else at level error.
    errors: usize,
    /// Count per lint or error code.
    by_code: BTreeMap<String, usize>,
    /// The first rendered messages (errors first).
    shown_errors: Vec<String>,
    shown_warnings: Vec<String>,
    /// A library artifact was produced (the crate type-checked).
    built: bool,
    /// Seconds since the clippy run started when the crate was done.
    done_at: Option<Duration>,
}

impl Diagnostics {
    fn outcome(&self) -> String {
        let mut parts = Vec::new();
        if self.errors > 0 {
            parts.push(format!("{} errors", self.errors));
        }
        if self.warnings > 0 {
            parts.push(format!("{} warnings", self.warnings));
        }
        if parts.is_empty() && self.built {
            return "ok".to_string();
        }
        if !self.built {
            parts.push("not built".to_string());
        }
        parts.join(", ")
    }

    fn passed(&self) -> bool {
        self.built && self.errors == 0 && self.warnings == 0
    }
}

/// rustc's closing summaries ("aborting due to 3 previous errors", "12 warnings emitted").
fn is_summary(message: &str) -> bool {
    message.starts_with("aborting due to")
        || (message.ends_with(" emitted") && message.contains("warning"))
        || message.starts_with("For more information about")
}

/// A hard error code (`E0308`), as opposed to a lint name.
fn is_error_code(code: &str) -> bool {
    code.len() == 5 && code.starts_with('E') && code[1..].bytes().all(|b| b.is_ascii_digit())
}

/// The outcome of one `cargo clippy --message-format=json` run, by manifest directory.
struct ClippyRun {
    by_dir: BTreeMap<PathBuf, Diagnostics>,
    success: bool,
    elapsed: Duration,
}

/// Runs `cargo clippy --workspace --message-format=json -- -D warnings` in `dir` and sorts
/// the messages by package (by the directory of their manifest).
fn clippy(dir: &Path, target: &Path) -> Result<ClippyRun> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let started = Instant::now();
    let mut child = Command::new(cargo)
        .current_dir(dir)
        .args([
            "clippy",
            "--workspace",
            // One crate's failure must not keep the others from being checked.
            "--keep-going",
            "--message-format=json",
            "--",
            "-D",
            "warnings",
        ])
        .env("CARGO_TARGET_DIR", target)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .context("cannot run cargo clippy")?;
    let stdout = child.stdout.take().context("no stdout")?;
    let mut by_dir: BTreeMap<PathBuf, Diagnostics> = BTreeMap::new();
    let mut success = false;
    for line in BufReader::new(stdout).lines() {
        let line = line?;
        let Ok(msg) = serde_json::from_str::<Value>(&line) else {
            continue;
        };
        let package_dir = || {
            msg["manifest_path"]
                .as_str()
                .and_then(|p| Path::new(p).parent())
                .map(Path::to_path_buf)
                .unwrap_or_default()
        };
        match msg["reason"].as_str() {
            Some("compiler-message") => {
                let m = &msg["message"];
                let text = m["message"].as_str().unwrap_or("");
                let level = m["level"].as_str().unwrap_or("");
                if is_summary(text) || !matches!(level, "error" | "warning") {
                    continue;
                }
                let code = m["code"]["code"].as_str();
                let hard = level == "error" && code.is_none_or(is_error_code);
                let d = by_dir.entry(package_dir()).or_default();
                *d.by_code
                    .entry(code.unwrap_or("(no code)").to_string())
                    .or_default() += 1;
                let rendered = m["rendered"]
                    .as_str()
                    .unwrap_or(text)
                    .trim_end()
                    .to_string();
                if hard {
                    d.errors += 1;
                    if d.shown_errors.len() < SHOWN_MESSAGES {
                        d.shown_errors.push(rendered);
                    }
                } else {
                    d.warnings += 1;
                    if d.shown_warnings.len() < SHOWN_MESSAGES {
                        d.shown_warnings.push(rendered);
                    }
                }
            }
            Some("compiler-artifact") => {
                let lib = msg["target"]["kind"].as_array().is_some_and(|k| {
                    k.iter()
                        .any(|k| k.as_str().is_some_and(|k| k.contains("lib")))
                });
                if lib {
                    let dir = package_dir();
                    let d = by_dir.entry(dir.clone()).or_default();
                    d.built = true;
                    d.done_at = Some(started.elapsed());
                    if let Some(name) = dir.file_name()
                        && dir.parent().is_some_and(|p| p.ends_with("crates"))
                    {
                        eprintln!(
                            "[generate-corpus] checked {} at {:.0} s",
                            name.to_string_lossy(),
                            started.elapsed().as_secs_f64()
                        );
                    }
                }
            }
            Some("build-finished") => success = msg["success"].as_bool().unwrap_or(false),
            _ => {}
        }
    }
    let status = child.wait()?;
    Ok(ClippyRun {
        by_dir,
        success: success && status.success(),
        elapsed: started.elapsed(),
    })
}

/// One corpus document's row.
struct Row {
    shown: String,
    dir: PathBuf,
    generated: std::result::Result<Generated, String>,
}

pub fn corpus(paths: &Paths) -> Result<u8> {
    let contractor = Contractor::build(paths)?;
    let openapi = openapi_dir(paths);
    let root = paths.target.join("generate-corpus");
    let crates = root.join("crates");
    std::fs::create_dir_all(&crates)?;

    // (what the table shows, the input, the crate's name, extra arguments)
    let mut jobs: Vec<(String, PathBuf, String, Vec<String>)> = documents(&openapi)
        .into_iter()
        .map(|doc| {
            let shown = doc
                .strip_prefix(&openapi)
                .unwrap_or(&doc)
                .display()
                .to_string();
            let name = short_name(&doc);
            (shown, doc, name, Vec::new())
        })
        .collect();
    // The gRPC services: each module's directory, with its tree's root as include path.
    for (module, include) in PROTO_MODULES {
        let name = format!("proto-{}", short_name(Path::new(&module.replace('/', "-"))));
        let include = paths.corpus.join(include).to_string_lossy().into_owned();
        jobs.push((
            format!("proto/{module}"),
            paths.corpus.join(module),
            name,
            vec!["-I".to_owned(), include],
        ));
    }
    let mut rows = Vec::new();
    for (shown, input, name, extra) in jobs {
        let dir = crates.join(&name);
        eprintln!("[generate-corpus] generating {shown}…");
        let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
        let generated = generate(
            &contractor,
            paths,
            &input,
            &dir,
            &format!("gen-{name}"),
            &extra,
        )?;
        if generated.is_ok() {
            strip_workspace_table(&dir.join("Cargo.toml"))?;
        }
        rows.push(Row {
            shown,
            dir,
            generated,
        });
    }
    // Crates of documents no longer in the corpus would break the workspace's build.
    let keep: Vec<&Path> = rows.iter().map(|r| r.dir.as_path()).collect();
    for entry in std::fs::read_dir(&crates)? {
        let path = entry?.path();
        if !keep.contains(&path.as_path()) {
            std::fs::remove_dir_all(&path)?;
        }
    }

    let members: Vec<String> = rows
        .iter()
        .filter(|r| r.generated.is_ok())
        .filter_map(|r| r.dir.file_name())
        .map(|n| format!("    \"crates/{}\",\n", n.to_string_lossy()))
        .collect();
    std::fs::write(
        root.join("Cargo.toml"),
        format!(
            "# Written by `cargo xtask generate-corpus`: every corpus document's generated crate.\n\
             [workspace]\nresolver = \"3\"\nmembers = [\n{}]\n",
            members.concat()
        ),
    )?;
    let lock = root.join("Cargo.lock");
    if !lock.exists() {
        // The repository's versions: the runtime is tested with them, and resolution is offline.
        std::fs::copy(paths.root.join("Cargo.lock"), &lock)?;
    }
    eprintln!(
        "[generate-corpus] cargo clippy over {} crates in {} (this takes minutes)…",
        members.len(),
        root.display()
    );
    let run = clippy(&root, &root.join("target"))?;

    println!(
        "\n## contractor generate on the corpus, then cargo clippy -D warnings\n\n\
         | document | operations | types | lines | generate | checked at | result |\n\
         |---|---:|---:|---:|---:|---:|---|"
    );
    let none = Diagnostics::default();
    let mut passed = 0;
    let mut details = String::new();
    for row in &rows {
        let show = |n: Option<u64>| n.map_or("?".to_string(), |n| n.to_string());
        match &row.generated {
            Ok(g) => {
                let d = run.by_dir.get(&row.dir).unwrap_or(&none);
                if d.passed() {
                    passed += 1;
                } else {
                    let _ = writeln!(details, "\n### {} ({})\n", row.shown, d.outcome());
                    let codes: Vec<String> = d
                        .by_code
                        .iter()
                        .map(|(code, n)| format!("{code} ×{n}"))
                        .collect();
                    if !codes.is_empty() {
                        let _ = writeln!(details, "by code: {}\n", codes.join(", "));
                    }
                    for m in d
                        .shown_errors
                        .iter()
                        .chain(&d.shown_warnings)
                        .take(SHOWN_MESSAGES)
                    {
                        let _ = writeln!(details, "```\n{m}\n```");
                    }
                    if d.by_code.is_empty() {
                        let _ = writeln!(
                            details,
                            "no messages of its own: a dependency failed (see cargo's output above)"
                        );
                    }
                }
                println!(
                    "| {} | {} | {} | {} | {} ms | {} | {} |",
                    row.shown,
                    show(g.operations),
                    show(g.types),
                    g.lines,
                    g.elapsed.as_millis(),
                    d.done_at
                        .map_or("-".to_string(), |t| format!("{:.0} s", t.as_secs_f64())),
                    d.outcome()
                );
            }
            Err(why) => {
                println!("| {} | | | | | | generation failed |", row.shown);
                let _ = writeln!(
                    details,
                    "\n### {} (generation failed)\n\n```\n{why}\n```",
                    row.shown
                );
            }
        }
    }
    // Messages from outside the generated crates (the runtime as a path dependency).
    for (dir, d) in &run.by_dir {
        if !dir.starts_with(&crates) && (d.errors > 0 || d.warnings > 0) {
            let _ = writeln!(
                details,
                "\n### outside the generated crates: {} ({})\n",
                dir.display(),
                d.outcome()
            );
            for m in d
                .shown_errors
                .iter()
                .chain(&d.shown_warnings)
                .take(SHOWN_MESSAGES)
            {
                let _ = writeln!(details, "```\n{m}\n```");
            }
        }
    }
    print!("{details}");
    println!(
        "\ncargo clippy: {:.0} s, {}",
        run.elapsed.as_secs_f64(),
        if run.success { "succeeded" } else { "FAILED" }
    );
    println!(
        "generate-corpus: {passed}/{} documents generate and pass clippy -D warnings ({:.0}%)",
        rows.len(),
        100.0 * passed as f64 / rows.len().max(1) as f64
    );
    Ok(u8::from(passed != rows.len() || !run.success))
}

/// Wall time and peak RSS (KiB, with GNU time) of a cargo command in `dir`.
fn timed_cargo(dir: &Path, target: &Path, args: &[&str]) -> Result<(Duration, Option<u64>)> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let time = Path::new("/usr/bin/time");
    let rss_file = target.with_extension("rss");
    let mut cmd = if time.exists() {
        let mut c = Command::new(time);
        c.arg("-f").arg("%M").arg("-o").arg(&rss_file).arg(&cargo);
        c
    } else {
        Command::new(&cargo)
    };
    cmd.current_dir(dir)
        .args(args)
        .env("CARGO_TARGET_DIR", target)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    let started = Instant::now();
    let status = cmd.status().context("cannot run cargo")?;
    let elapsed = started.elapsed();
    if !status.success() {
        bail!("cargo {} failed in {}", args.join(" "), dir.display());
    }
    let rss = std::fs::read_to_string(&rss_file)
        .ok()
        .and_then(|t| t.lines().last().and_then(|l| l.trim().parse().ok()));
    let _ = std::fs::remove_file(&rss_file);
    Ok((elapsed, rss))
}

/// `--stripe-compile-time`: the debug build of the generated Stripe client, cold and warm.
pub fn stripe_compile_time(paths: &Paths) -> Result<u8> {
    let contractor = Contractor::build(paths)?;
    let doc = openapi_dir(paths).join("production/stripe-2023-09-12.yaml");
    let root = paths.target.join("generate-corpus");
    let dir = root.join("stripe-client");
    let target = root.join("stripe-client-target");
    let crate_name = "gen-stripe-client";
    eprintln!("[stripe-compile-time] generating the Stripe 2023-09-12 client…");
    let g = match generate(&contractor, paths, &doc, &dir, crate_name, &["--client"])? {
        Ok(g) => g,
        Err(why) => bail!("contractor generate failed on {}: {why}", doc.display()),
    };
    // A workspace of its own: the directory sits under the corpus workspace (and the
    // repository's), which must not claim it.
    let manifest = dir.join("Cargo.toml");
    let mut text = std::fs::read_to_string(&manifest)?;
    text.push_str("\n[workspace]\n");
    std::fs::write(&manifest, text)?;
    let lock = dir.join("Cargo.lock");
    if !lock.exists() {
        std::fs::copy(paths.root.join("Cargo.lock"), &lock)?;
    }
    // Downloads are not part of the compile time.
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(&cargo)
        .current_dir(&dir)
        .arg("fetch")
        .status()
        .context("cannot run cargo fetch")?;
    if !status.success() {
        bail!("cargo fetch failed in {}", dir.display());
    }
    if target.exists() {
        std::fs::remove_dir_all(&target)?;
    }
    eprintln!("[stripe-compile-time] (a) cargo build, empty target dir…");
    let (cold, cold_rss) = timed_cargo(&dir, &target, &["build"])?;
    eprintln!("[stripe-compile-time] (b) touch src/lib.rs; cargo build…");
    std::fs::File::options()
        .write(true)
        .open(dir.join("src/lib.rs"))?
        .set_modified(SystemTime::now())?;
    let (warm, warm_rss) = timed_cargo(&dir, &target, &["build"])?;
    let _ = std::fs::remove_dir_all(&target);
    let rss = |r: Option<u64>| r.map_or("?".to_string(), |kb| format!("{} MB", kb / 1024));
    println!(
        "\n## Debug build of the generated Stripe 2023-09-12 client ({} operations, {} types, {} lines)\n\n\
         | build | wall | peak RSS (largest process) |\n|---|---:|---:|\n\
         | (a) cold: empty target dir, every dependency from scratch | {:.1} s | {} |\n\
         | (b) the crate alone, dependencies built (touch src/lib.rs) | {:.1} s | {} |",
        g.operations.unwrap_or(0),
        g.types.unwrap_or(0),
        g.lines,
        cold.as_secs_f64(),
        rss(cold_rss),
        warm.as_secs_f64(),
        rss(warm_rss),
    );
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names() {
        let n = |p: &str| short_name(Path::new(p));
        assert_eq!(n("a/DigitalOcean-public.v2.yaml"), "digitalocean-public-v2");
        assert_eq!(n("stripe-2023-09-12.yaml"), "stripe-2023-09-12");
        assert_eq!(
            n("swagger-petstore-3-1-code-first.yaml"),
            "swagger-petstore-3-1-code-first"
        );
    }

    #[test]
    fn summaries_and_codes() {
        assert!(is_summary("aborting due to 3 previous errors"));
        assert!(is_summary("12 warnings emitted"));
        assert!(!is_summary("unused variable: `x`"));
        assert!(is_error_code("E0308"));
        assert!(!is_error_code("clippy::large_enum_variant"));
        assert!(!is_error_code("dead_code"));
    }
}
