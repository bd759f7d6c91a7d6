//! `cargo xtask graphql-corpus`: contractor's GraphQL diff on the corpus version pairs next to
//! graphql-inspector (when installed under `~/.cache/contractor-peers/graphql-inspector`, see
//! `../shared/notes/peers.md`), in the same run: the breaking sets compared change by change,
//! then wall times (`--runs`, median) of `contractor diff` and `graphql-inspector diff`.
//!
//! The breaking sets are compared as (change type, schema path): contractor's rule ids are
//! graphql-inspector's change types, and its messages name the path in backticks
//! (`` `Type.field` ``); graphql-inspector's are read through its core library's `diff` (a few
//! lines of node), the same engine its CLI prints from.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::generate_bench::{median, sorted};
use crate::tools::{Contractor, Paths, peer_dir};

/// The corpus pairs, under `corpus/graphql`.
const PAIRS: [(&str, &str, &str); 2] = [
    (
        "GitHub",
        "github-2024-02-23.graphql",
        "github-2024-07-08.graphql",
    ),
    ("Saleor", "saleor-3-20-0.graphql", "saleor-3-21-0.graphql"),
];

/// The wall-time goal: contractor ≤ this share of graphql-inspector's.
const TIME_GOAL: f64 = 0.2;

/// graphql-inspector's changes between two files, as JSON (type, level, path).
const INSPECTOR_SCRIPT: &str = r#"
const path = require('path');
const fs = require('fs');
const root = process.argv[2];
const { diff } = require(path.join(root, 'node_modules/@graphql-inspector/core'));
const { buildSchema } = require(path.join(root, 'node_modules/graphql'));
const load = (f) => buildSchema(fs.readFileSync(f, 'utf8'), { assumeValidSDL: true });
Promise.resolve(diff(load(process.argv[3]), load(process.argv[4]))).then((changes) => {
  console.log(JSON.stringify(changes.map((c) => ({ type: c.type, level: c.criticality.level, path: c.path || '' }))));
}).catch((e) => { console.error(String(e)); process.exit(2); });
"#;

/// (change type, path) of contractor's breaking findings.
fn contractor_breaking(
    contractor: &Contractor,
    old: &Path,
    new: &Path,
) -> Result<BTreeSet<(String, String)>> {
    let (_, report) = contractor
        .diff_report(old, new, &[])?
        .map_err(|why| anyhow::anyhow!("contractor diff failed: {why}"))?;
    let mut set = BTreeSet::new();
    for f in report["findings"].as_array().into_iter().flatten() {
        if f["severity"] != "error" {
            continue;
        }
        let message = f["message"].as_str().unwrap_or_default();
        let path = message.split('`').nth(1).unwrap_or_default();
        set.insert((
            f["rule"].as_str().unwrap_or_default().to_owned(),
            path.to_owned(),
        ));
    }
    Ok(set)
}

/// (change type, path) of graphql-inspector's BREAKING changes.
fn inspector_breaking(
    dir: &Path,
    script: &Path,
    old: &Path,
    new: &Path,
) -> Result<BTreeSet<(String, String)>> {
    let out = Command::new("node")
        .arg(script)
        .arg(dir)
        .arg(old)
        .arg(new)
        .output()
        .context("cannot run node")?;
    if !out.status.success() {
        bail!(
            "graphql-inspector's diff failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let changes: Value =
        serde_json::from_slice(&out.stdout).context("graphql-inspector's changes")?;
    Ok(changes
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["level"] == "BREAKING")
        .map(|c| {
            (
                c["type"].as_str().unwrap_or_default().to_owned(),
                c["path"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect())
}

/// Median wall time of `command` over `runs` runs (one untimed warm-up first).
fn time(runs: usize, mut command: impl FnMut() -> Command) -> Result<Duration> {
    let mut times = Vec::new();
    for run in 0..=runs {
        let started = Instant::now();
        let out = command().output().context("cannot run the timed command")?;
        if !matches!(out.status.code(), Some(0 | 1)) {
            bail!(
                "timed command failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        if run > 0 {
            times.push(started.elapsed().as_secs_f64());
        }
    }
    Ok(Duration::from_secs_f64(median(&sorted(times))))
}

pub fn corpus(paths: &Paths, runs: usize) -> Result<u8> {
    let contractor = Contractor::build(paths)?;
    let dir = paths
        .corpus
        .parent()
        .map(|c| c.join("graphql"))
        .context("corpus path")?;
    let inspector = peer_dir("graphql-inspector", "node_modules/.bin/graphql-inspector");
    let scratch = crate::fsutil::TempDir::new("graphql-corpus")?;
    let script = scratch.path().join("inspector-diff.js");
    std::fs::write(&script, INSPECTOR_SCRIPT)?;
    if inspector.is_none() {
        println!(
            "note: graphql-inspector is not installed under ~/.cache/contractor-peers/graphql-inspector \
             (npm install --prefix it @graphql-inspector/cli@6.0.8 graphql@16.11.0): contractor alone"
        );
    }
    println!(
        "\n## GraphQL diff on the corpus pairs, next to graphql-inspector ({runs} timed runs, median)\n\n\
         | pair | contractor breaking | graphql-inspector breaking | same set | contractor | graphql-inspector | ratio |\n\
         |---|---:|---:|---|---:|---:|---:|"
    );
    let mut failed = false;
    for (name, old, new) in PAIRS {
        let (old, new) = (dir.join(old), dir.join(new));
        let ours = contractor_breaking(&contractor, &old, &new)?;
        let ours_time = time(runs, || {
            let mut c = Command::new(&contractor.exe);
            c.arg("diff").arg(&old).arg(&new);
            c
        })?;
        let Some(inspector) = &inspector else {
            println!(
                "| {name} | {} | - | - | {:.0} ms | - | - |",
                ours.len(),
                ours_time.as_secs_f64() * 1000.0
            );
            continue;
        };
        let theirs = inspector_breaking(inspector, &script, &old, &new)?;
        let bin = inspector.join("node_modules/.bin/graphql-inspector");
        let theirs_time = time(runs, || {
            let mut c = Command::new(&bin);
            c.arg("diff").arg(&old).arg(&new);
            c
        })?;
        let ratio = ours_time.as_secs_f64() / theirs_time.as_secs_f64();
        let same = ours == theirs;
        failed |= !same || ratio > TIME_GOAL;
        println!(
            "| {name} | {} | {} | {} | {:.0} ms | {:.0} ms | {ratio:.3} |",
            ours.len(),
            theirs.len(),
            if same { "yes" } else { "NO" },
            ours_time.as_secs_f64() * 1000.0,
            theirs_time.as_secs_f64() * 1000.0,
        );
        for (who, only) in [
            (
                "contractor only",
                ours.difference(&theirs).collect::<Vec<_>>(),
            ),
            ("graphql-inspector only", theirs.difference(&ours).collect()),
        ] {
            for (rule, path) in only {
                println!("  {who}: {rule} {path}");
            }
        }
    }
    if inspector.is_some() {
        println!(
            "\ngoal: the same breaking sets, and contractor ≤ {TIME_GOAL}× graphql-inspector's wall time: {}",
            if failed { "MISSED" } else { "met" }
        );
    }
    Ok(u8::from(failed))
}
