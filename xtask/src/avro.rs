//! `cargo xtask avro-corpus`: contractor's Avro verdicts on the corpus pairs
//! (`corpus/avro/pairs/<name>/<version>/*.avsc`: the first version in name order against each
//! later one, file by file) under BACKWARD, FORWARD and FULL, and every corpus schema
//! (`corpus/avro/schemas`) against itself, which must be compatible. Exit 1 when a schema is
//! refused or a self-comparison is not clean; the pair verdicts are data, not pass/fail.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::tools::{Contractor, Paths};

const MODES: [&str; 3] = ["backward", "forward", "full"];

/// contractor's exit code (0 or 1) and its findings' rule ids with counts, or what it said
/// when it refused the input (exit 2).
type Verdict = std::result::Result<(i32, BTreeMap<String, usize>), String>;

/// Sorted entries of `dir` that satisfy `keep`.
fn entries(dir: &Path, keep: impl Fn(&Path) -> bool) -> Result<Vec<PathBuf>> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| keep(p))
        .collect();
    out.sort();
    Ok(out)
}

fn is_avsc(p: &Path) -> bool {
    p.extension().is_some_and(|e| e == "avsc")
}

/// `contractor diff OLD NEW --compat MODE --format json`: the exit code and the findings'
/// rule ids with their counts; `Err` when contractor refused the input (exit 2).
fn verdict(contractor: &Contractor, old: &Path, new: &Path, mode: &str) -> Result<Verdict> {
    let (code, report) = match contractor.diff_report(old, new, &["--compat", mode])? {
        Ok(outcome) => outcome,
        Err(why) => return Ok(Err(why)),
    };
    let mut by_rule = BTreeMap::new();
    for f in report["findings"].as_array().into_iter().flatten() {
        *by_rule
            .entry(f["rule"].as_str().unwrap_or_default().to_owned())
            .or_insert(0) += 1;
    }
    Ok(Ok((code, by_rule)))
}

fn show(v: &Verdict) -> String {
    match v {
        Err(_) => "REFUSED".to_owned(),
        Ok((0, _)) => "compatible".to_owned(),
        Ok((_, rules)) => {
            let list: Vec<String> = rules.iter().map(|(r, n)| format!("{r} ×{n}")).collect();
            format!("incompatible: {}", list.join(", "))
        }
    }
}

pub fn corpus(paths: &Paths) -> Result<u8> {
    let contractor = Contractor::build(paths)?;
    let root = paths
        .corpus
        .parent()
        .map(|c| c.join("avro"))
        .context("corpus path")?;
    let mut failed = false;
    println!(
        "\n## Avro pairs: contractor's verdicts\n\n| pair | file | BACKWARD | FORWARD | FULL |\n|---|---|---|---|---|"
    );
    for pair in entries(&root.join("pairs"), |p| p.is_dir())? {
        let versions = entries(&pair, |p| p.is_dir())?;
        let Some((base, later)) = versions.split_first() else {
            continue;
        };
        for version in later {
            for old in entries(base, is_avsc)? {
                let Some(name) = old.file_name() else {
                    continue;
                };
                let new = version.join(name);
                if !new.exists() {
                    continue;
                }
                let mut cells = Vec::new();
                for mode in MODES {
                    let v = verdict(&contractor, &old, &new, mode)?;
                    if let Err(why) = &v {
                        failed = true;
                        eprintln!("{} ({mode}): {why}", new.display());
                    }
                    cells.push(show(&v));
                }
                println!(
                    "| {} {} → {} | {} | {} |",
                    pair.file_name().unwrap_or_default().to_string_lossy(),
                    base.file_name().unwrap_or_default().to_string_lossy(),
                    version.file_name().unwrap_or_default().to_string_lossy(),
                    name.to_string_lossy(),
                    cells.join(" | ")
                );
            }
        }
    }
    let schemas = entries(&root.join("schemas"), is_avsc).unwrap_or_default();
    let mut clean = 0;
    for schema in &schemas {
        match verdict(&contractor, schema, schema, "full")? {
            Ok((0, _)) => clean += 1,
            other => {
                failed = true;
                println!(
                    "self-comparison of {} not clean: {}",
                    schema.display(),
                    show(&other)
                );
            }
        }
    }
    println!(
        "\nschemas compatible with themselves under FULL: {clean}/{}",
        schemas.len()
    );
    Ok(u8::from(failed))
}
