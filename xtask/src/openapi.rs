//! `cargo xtask openapi-corpus` and `cargo xtask openapi-bench`: contractor's
//! OpenAPI diff on the shared corpus, and its speed next to the peers
//! (optic, openapi-diff) when they are installed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde_json::Value;

use crate::tools::{Contractor, Paths};

/// The old -> new pairs under `openapi/production/`.
pub const PAIRS: [(&str, &str, &str); 3] = [
    ("github", "github-2021-01-06.json", "github-2021-10-10.json"),
    ("stripe", "stripe-2023-03-17.yaml", "stripe-2023-09-12.yaml"),
    ("openai", "openai-2026-07-22.yaml", "openai-2026-08-21.yaml"),
];

/// `../shared/corpus/openapi`.
pub fn openapi_dir(paths: &Paths) -> PathBuf {
    paths
        .corpus
        .parent()
        .map_or_else(|| paths.corpus.clone(), Path::to_path_buf)
        .join("openapi")
}

/// Every root document of the corpus (the DigitalOcean tree by its root).
pub fn documents(dir: &Path) -> Vec<PathBuf> {
    let mut docs = Vec::new();
    for sub in ["petstore", "oai-examples", "production"] {
        if let Ok(entries) = std::fs::read_dir(dir.join(sub)) {
            docs.extend(entries.filter_map(Result::ok).map(|e| e.path()));
        }
    }
    docs.push(dir.join("digitalocean/DigitalOcean-public.v2.yaml"));
    docs.sort();
    docs
}

/// Severity counts of a JSON report, and the exit code.
fn run_diff(
    contractor: &Contractor,
    old: &Path,
    new: &Path,
) -> Result<(i32, BTreeMap<String, u64>, Duration)> {
    let started = Instant::now();
    let out = Command::new(&contractor.exe)
        .args(["diff", "--format", "json", "--color", "never"])
        .arg(old)
        .arg(new)
        .output()
        .context("cannot run contractor")?;
    let elapsed = started.elapsed();
    let code = out.status.code().unwrap_or(-1);
    let mut counts = BTreeMap::new();
    if let Ok(report) = serde_json::from_slice::<Value>(&out.stdout) {
        for key in ["error", "warning", "info"] {
            counts.insert(
                key.to_string(),
                report["summary"][key].as_u64().unwrap_or(0),
            );
        }
    } else {
        counts.insert(
            format!(
                "exit {code}: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ),
            0,
        );
    }
    Ok((code, counts, elapsed))
}

pub fn corpus(paths: &Paths) -> Result<u8> {
    let contractor = Contractor::build(paths)?;
    let dir = openapi_dir(paths);
    let mut problems = 0;
    println!("## Every document against itself (must load, lower and show no change)\n");
    for doc in documents(&dir) {
        let (code, counts, elapsed) = run_diff(&contractor, &doc, &doc)?;
        let total: u64 = counts.values().sum();
        let shown = doc.strip_prefix(&dir).unwrap_or(&doc).display();
        if code == 0 && total == 0 {
            println!("ok   {shown} ({} ms)", elapsed.as_millis());
        } else {
            println!("FAIL {shown}: exit {code}, {counts:?}");
            problems += 1;
        }
    }
    println!(
        "\n## Version pairs\n\n| pair | exit | breaking | warning | info | wall |\n|---|---:|---:|---:|---:|---:|"
    );
    for (name, old, new) in PAIRS {
        let (old, new) = (
            dir.join("production").join(old),
            dir.join("production").join(new),
        );
        let (code, counts, elapsed) = run_diff(&contractor, &old, &new)?;
        let get = |k: &str| counts.get(k).copied().unwrap_or(0);
        println!(
            "| {name} | {code} | {} | {} | {} | {} ms |",
            get("error"),
            get("warning"),
            get("info"),
            elapsed.as_millis()
        );
        if code != 1 {
            problems += 1;
        }
    }
    println!(
        "\nopenapi corpus: {}",
        if problems == 0 {
            "all documents load; every pair diffs"
        } else {
            "PROBLEMS above"
        }
    );
    Ok(u8::from(problems > 0))
}

/// Builds the command line that runs a peer on (old, new).
type PeerCommand = Box<dyn Fn(&Path, &Path) -> Command>;

/// A peer tool: name and how to run it on a pair.
struct Peer {
    name: &'static str,
    command: PeerCommand,
}

fn peers() -> Vec<Peer> {
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    let cache = home.join(".cache/contractor-peers");
    let mut peers = Vec::new();
    let optic = cache.join("optic/node_modules/.bin/optic");
    if optic.exists() {
        peers.push(Peer {
            name: "optic diff --check",
            command: Box::new(move |old, new| {
                let mut c = Command::new(&optic);
                c.arg("diff").arg(old).arg(new).arg("--check");
                c.env("OPTIC_TELEMETRY_LEVEL", "off")
                    .env("NO_UPDATE_NOTIFIER", "1");
                c
            }),
        });
    }
    let openapi_diff = cache.join("openapi-diff/node_modules/.bin/openapi-diff");
    if openapi_diff.exists() {
        peers.push(Peer {
            name: "openapi-diff",
            command: Box::new(move |old, new| {
                let mut c = Command::new(&openapi_diff);
                c.arg(old).arg(new);
                c
            }),
        });
    }
    peers
}

/// One timed run.
struct Measurement {
    elapsed: Duration,
    /// Peak resident set, KiB (with GNU time).
    rss: Option<u64>,
    /// `None` when cut off.
    code: Option<i32>,
    /// What the tool said when it failed rather than answered.
    failure: Option<String>,
}

/// Wall time and peak RSS (KiB, from GNU time when installed) of one run,
/// cut off after `limit`.
fn measure(mut cmd: Command, limit: Duration) -> Result<Measurement> {
    let time = Path::new("/usr/bin/time");
    let rss_file =
        std::env::temp_dir().join(format!("contractor-bench-rss-{}", std::process::id()));
    let mut run = if time.exists() {
        let mut t = Command::new(time);
        t.arg("-f")
            .arg("%M")
            .arg("-o")
            .arg(&rss_file)
            .arg(cmd.get_program())
            .args(cmd.get_args());
        for (k, v) in cmd.get_envs() {
            if let Some(v) = v {
                t.env(k, v);
            }
        }
        t
    } else {
        std::mem::replace(&mut cmd, Command::new("true"))
    };
    let log = std::env::temp_dir().join(format!("contractor-bench-log-{}", std::process::id()));
    let log_file = std::fs::File::create(&log)?;
    let started = Instant::now();
    let mut child = run
        .stdout(Stdio::from(log_file.try_clone()?))
        .stderr(Stdio::from(log_file))
        .spawn()
        .context("cannot start")?;
    let code = loop {
        if let Some(status) = child.try_wait()? {
            break status.code();
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let elapsed = started.elapsed();
    let rss = std::fs::read_to_string(&rss_file)
        .ok()
        .and_then(|t| t.lines().last().and_then(|l| l.trim().parse().ok()));
    let _ = std::fs::remove_file(&rss_file);
    // Exit 1 means "breaking" to the peers, and "failed" too: read what they said.
    let output = std::fs::read_to_string(&log).unwrap_or_default();
    let _ = std::fs::remove_file(&log);
    const FAILURES: [&str; 6] = [
        "OpenApiDiffErrorImpl",
        "invalid openapi",
        "Error downloading",
        "Set maximum size exceeded",
        "heap out of memory",
        "Unsupported OpenAPI version",
    ];
    let failure = FAILURES
        .iter()
        .find(|m| output.contains(**m))
        .map(|m| m.to_string());
    Ok(Measurement {
        elapsed,
        rss,
        code,
        failure,
    })
}

/// A copy of `path` in which `$ref`s to http(s) URLs are renamed. The corpus
/// (GitHub's SCIM examples) holds such refs inside example values; both peers
/// try to download them and fail on a machine without network, and
/// contractor never follows them anyway. Returns the copy's path.
fn sanitized(path: &Path, dir: &Path) -> Result<PathBuf> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let rewritten = [
            "\"$ref\": \"http",
            "\"$ref\":\"http",
            "$ref: http",
            "$ref: 'http",
            "$ref: \"http",
        ]
        .iter()
        .find(|pattern| line.contains(**pattern))
        .map(|pattern| line.replacen(pattern, &pattern.replace("$ref", "x-example-ref"), 1));
        out.push_str(rewritten.as_deref().unwrap_or(line));
    }
    let copy = dir.join(path.file_name().unwrap_or_default());
    std::fs::write(&copy, out)?;
    Ok(copy)
}

pub fn bench(paths: &Paths, runs: usize) -> Result<u8> {
    let contractor = Contractor::build(paths)?;
    let dir = openapi_dir(paths).join("production");
    let scratch = crate::fsutil::TempDir::new("openapi-bench")?;
    let peers = peers();
    if peers.is_empty() {
        println!(
            "note: no peers under ~/.cache/contractor-peers (optic, openapi-diff); timing contractor only"
        );
    }
    println!("\n| pair | tool | median wall | peak RSS | exit |\n|---|---|---:|---:|---:|");
    for (name, old, new) in PAIRS {
        let (old, new) = (dir.join(old), dir.join(new));
        let mut times = Vec::new();
        let mut rss = None;
        let mut code = None;
        for _ in 0..runs {
            let mut cmd = Command::new(&contractor.exe);
            cmd.arg("diff")
                .arg(&old)
                .arg(&new)
                .args(["--format", "json"]);
            let Measurement {
                elapsed: t,
                rss: r,
                code: c,
                ..
            } = measure(cmd, Duration::from_secs(120))?;
            times.push(t);
            rss = rss.max(r);
            code = c;
        }
        times.sort();
        let median = times[times.len() / 2];
        let show_rss = |r: Option<u64>| r.map_or("?".to_string(), |kb| format!("{} MB", kb / 1024));
        let show_code = |c: Option<i32>| c.map_or("timeout".to_string(), |c| c.to_string());
        println!(
            "| {name} | contractor | {} ms | {} | {} |",
            median.as_millis(),
            show_rss(rss),
            show_code(code)
        );
        // Peers take seconds to minutes: one run each, cut off at 5 minutes,
        // on copies whose http `$ref`s they would try to download are renamed.
        let side = |name: &str| -> Result<PathBuf> {
            let d = scratch.path().join(name);
            std::fs::create_dir_all(&d)?;
            Ok(d)
        };
        let (old_copy, new_copy) = (
            sanitized(&old, &side("old")?)?,
            sanitized(&new, &side("new")?)?,
        );
        for peer in &peers {
            let Measurement {
                elapsed: t,
                rss: r,
                code: c,
                failure,
            } = measure(
                (peer.command)(&old_copy, &new_copy),
                Duration::from_secs(300),
            )?;
            let ratio = median.as_secs_f64() / t.as_secs_f64();
            let outcome = match failure {
                Some(why) => format!("failed: {why}"),
                None => show_code(c),
            };
            println!(
                "| {name} | {} | {} ms (contractor/peer {ratio:.3}) | {} | {outcome} |",
                peer.name,
                t.as_millis(),
                show_rss(r),
            );
        }
    }
    Ok(0)
}
