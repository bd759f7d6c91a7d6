//! `cargo xtask bench`: wall time of `contractor diff` against `buf breaking`
//! (FILE category) on the corpus version pairs.

use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::corpus::PAIRS;
use crate::fsutil;
use crate::tools::{Buf, Contractor, Paths};
use crate::workspace::{Deps, Workspace};

/// The ratio contractor/buf (median wall time) we aim for.
const GOAL: f64 = 0.5;

struct Row {
    pair: String,
    contractor: Vec<Duration>,
    buf: Vec<Duration>,
}

pub fn run(paths: &Paths, runs: usize) -> Result<u8> {
    let contractor = Contractor::build(paths)?;
    let buf = Buf::find()?;
    match &buf {
        Some(buf) => eprintln!("buf {} at {}", buf.version, buf.exe.display()),
        None => eprintln!("buf not found: timing contractor only"),
    }
    let googleapis = paths.googleapis();
    let mut rows = Vec::new();
    for (old_name, new_name) in PAIRS {
        let (old, new) = (paths.version(old_name), paths.version(new_name));
        if !old.is_dir() || !new.is_dir() {
            eprintln!("skipping {old_name} → {new_name}: missing");
            continue;
        }
        // Both tools read the very same files: buf's workspaces, with contractor
        // pointed at their `main/` directories and `deps/` as its include path.
        let ws = Workspace::create(
            old_name,
            &fsutil::proto_files(&old)?,
            &fsutil::proto_files(&new)?,
            &googleapis,
            Deps::All,
        )?;
        let deps = ws.deps();
        let ours =
            || contractor.diff_command(&ws.old_main(), &ws.new_main(), &[&deps], Some("FILE"));
        let theirs = || buf.as_ref().map(|b| b.breaking_command(&ws.new, &ws.old));
        eprintln!("timing {new_name}: 1 warm-up + {runs} runs per tool, interleaved…");
        // Warm-up: page cache, and buf's first-run setup of its cache directory.
        time(ours(), &[0, 1])?;
        if let Some(cmd) = theirs() {
            time(cmd, &[0, 100])?;
        }
        let mut row = Row {
            pair: format!("{old_name} → {new_name}"),
            contractor: Vec::new(),
            buf: Vec::new(),
        };
        for _ in 0..runs {
            row.contractor.push(time(ours(), &[0, 1])?);
            if let Some(cmd) = theirs() {
                row.buf.push(time(cmd, &[0, 100])?);
            }
        }
        rows.push(row);
    }
    print_table(&rows, runs);
    Ok(0)
}

/// Runs `cmd` once (output captured, as a CI job would) and returns its wall time.
fn time(mut cmd: Command, ok_codes: &[i32]) -> Result<Duration> {
    let start = Instant::now();
    let out = cmd
        .output()
        .with_context(|| format!("cannot run {:?}", cmd.get_program()))?;
    let elapsed = start.elapsed();
    if !out.status.code().is_some_and(|c| ok_codes.contains(&c)) {
        bail!(
            "{:?} exited with {}: {}",
            cmd.get_program(),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(elapsed)
}

fn min_median(samples: &[Duration]) -> Option<(Duration, Duration)> {
    let mut sorted = samples.to_vec();
    sorted.sort();
    let n = sorted.len();
    let median = match n {
        0 => return None,
        _ if n % 2 == 1 => sorted[n / 2],
        _ => (sorted[n / 2 - 1] + sorted[n / 2]) / 2,
    };
    Some((sorted[0], median))
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn print_table(rows: &[Row], runs: usize) {
    println!("\nWall time over {runs} runs per tool (FILE category), min / median:\n");
    println!(
        "| pair | contractor min | contractor median | buf min | buf median | contractor/buf (median) |"
    );
    println!("|---|---:|---:|---:|---:|---:|");
    let mut verdicts = Vec::new();
    for row in rows {
        let Some((c_min, c_med)) = min_median(&row.contractor) else {
            continue;
        };
        let (b_min, b_med, ratio) = match min_median(&row.buf) {
            Some((b_min, b_med)) => {
                let ratio = c_med.as_secs_f64() / b_med.as_secs_f64();
                verdicts.push(ratio <= GOAL);
                (ms(b_min), ms(b_med), format!("{ratio:.3}"))
            }
            None => ("–".into(), "–".into(), "–".into()),
        };
        println!(
            "| {} | {} | {} | {b_min} | {b_med} | {ratio} |",
            row.pair,
            ms(c_min),
            ms(c_med)
        );
    }
    if !verdicts.is_empty() {
        let met = verdicts.iter().filter(|&&ok| ok).count();
        println!(
            "\ngoal contractor/buf ≤ {GOAL}: met on {met} of {} pairs",
            verdicts.len()
        );
    }
}
