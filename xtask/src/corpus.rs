//! `cargo xtask corpus`: compile every proto module of the shared corpus, diff
//! the version pairs at each category, and compare with `buf breaking`.

use std::path::Path;

use anyhow::Result;

use crate::fsutil;
use crate::tools::{self, Buf, BufOutcome, CATEGORIES, Contractor, ContractorOutcome, Paths};
use crate::workspace::{Deps, Workspace};

/// The old -> new version pairs under `versions/`.
pub const PAIRS: [(&str, &str); 2] = [
    ("pubsub-v1-2022-02-04", "pubsub-v1-2023-01-09"),
    ("storage-v2-2024-10-15", "storage-v2-2024-10-18"),
];

/// Returns the process exit code: 0 if everything compiled and agreed.
pub fn run(paths: &Paths) -> Result<u8> {
    let contractor = Contractor::build(paths)?;
    let googleapis = paths.googleapis();
    let mut problems = 0;

    println!("## Compiling every module (a tree diffed against itself must be clean)\n");
    let mut modules = Vec::new();
    let versions = paths.corpus.join("versions");
    match std::fs::read_dir(&versions) {
        Ok(entries) => {
            let mut dirs: Vec<_> = entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.is_dir())
                .collect();
            dirs.sort();
            // Not `-I protobuf`: the corpus descriptor.proto uses syntax protox cannot
            // parse, and contractor has the well-known types built in anyway.
            modules.extend(dirs.into_iter().map(|d| (d, true)));
        }
        Err(e) => {
            println!("FAIL {}: {e}", versions.display());
            problems += 1;
        }
    }
    modules.push((googleapis.clone(), false));
    modules.push((paths.corpus.join("grpc"), false));
    for (dir, with_googleapis) in &modules {
        let includes: Vec<&Path> = if *with_googleapis {
            vec![googleapis.as_path()]
        } else {
            vec![]
        };
        let shown = dir.strip_prefix(&paths.corpus).unwrap_or(dir).display();
        if !dir.is_dir() {
            println!("FAIL {shown}: missing");
            problems += 1;
            continue;
        }
        let files = fsutil::proto_files(dir)?.len();
        match contractor.diff(dir, dir, &includes, None)? {
            ContractorOutcome::Findings(f) if f.is_empty() => {
                println!("ok   {shown} ({files} files)");
            }
            ContractorOutcome::Findings(f) => {
                println!("FAIL {shown}: {} findings against itself", f.len());
                for finding in f.iter().take(10) {
                    println!("       {finding}");
                }
                problems += 1;
            }
            ContractorOutcome::BadInput(e) => {
                println!("FAIL {shown}: {e}");
                problems += 1;
            }
        }
    }

    let buf = Buf::find()?;
    match &buf {
        Some(buf) => println!(
            "\n## Version pairs (buf {} at {})\n",
            buf.version,
            buf.exe.display()
        ),
        None => println!("\n## Version pairs (buf not found: contractor only)\n"),
    }
    println!("| pair | category | contractor | buf | result |");
    println!("|---|---|---:|---:|---|");
    let mut details = Vec::new();
    for (old_name, new_name) in PAIRS {
        let (old, new) = (paths.version(old_name), paths.version(new_name));
        if !old.is_dir() || !new.is_dir() {
            println!("| {old_name} → {new_name} | | | | missing |");
            problems += 1;
            continue;
        }
        let ws = match &buf {
            Some(_) => Some(Workspace::create(
                old_name,
                &fsutil::proto_files(&old)?,
                &fsutil::proto_files(&new)?,
                &googleapis,
                Deps::All,
            )?),
            None => None,
        };
        for category in CATEGORIES {
            let ours = match contractor.diff(&old, &new, &[&googleapis], Some(category))? {
                ContractorOutcome::Findings(f) => f,
                ContractorOutcome::BadInput(e) => {
                    println!("| {old_name} → {new_name} | {category} | error | | {e} |");
                    problems += 1;
                    continue;
                }
            };
            let (Some(buf), Some(ws)) = (&buf, &ws) else {
                println!(
                    "| {old_name} → {new_name} | {category} | {} | – | |",
                    ours.len()
                );
                continue;
            };
            ws.set_categories(&[category])?;
            let theirs = match buf.breaking(&ws.new, &ws.old)? {
                BufOutcome::Findings(f) => f,
                BufOutcome::DoesNotCompile(e) => {
                    println!(
                        "| {old_name} → {new_name} | {category} | {} | error | {e} |",
                        ours.len()
                    );
                    problems += 1;
                    continue;
                }
            };
            let cmp = tools::compare(&ours, &theirs);
            let result = if cmp.agrees() {
                "same".to_string()
            } else {
                problems += 1;
                details.push((
                    format!("{new_name} {category}"),
                    cmp.only_contractor.clone(),
                    cmp.only_buf.clone(),
                ));
                format!(
                    "**{} only in contractor, {} only in buf**",
                    cmp.only_contractor.len(),
                    cmp.only_buf.len()
                )
            };
            println!(
                "| {old_name} → {new_name} | {category} | {} | {} | {result} |",
                ours.len(),
                theirs.len()
            );
        }
    }
    for (what, only_contractor, only_buf) in &details {
        println!("\n{what}:");
        for f in only_contractor {
            println!("  only contractor: {f}");
        }
        for f in only_buf {
            println!("  only buf:        {f}");
        }
    }
    println!();
    if problems == 0 {
        println!("corpus: all modules compile; all pairs agree");
        Ok(0)
    } else {
        println!("corpus: {problems} problem(s)");
        Ok(1)
    }
}
