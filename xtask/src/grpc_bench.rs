//! `cargo xtask grpc-bench`: unary gRPC round trips per second through contractor's generated
//! code and runtime, next to plain tonic-prost-build code for the same contract, in one run;
//! then the time of a no-op `cargo build` of the orders example once its build.rs has run.
//!
//! Throughput uses `xtask/grpc-bench` (its build.rs generates `schemas/orders/v1/orders.proto`
//! both ways): one server process (`serve --contractor|--plain`, a multi-thread tokio runtime)
//! and one load process (`load …`, one thread, `--connections` HTTP/2 connections shared by
//! `--concurrency` callers), 1 s warm-up then `--seconds` measured, sides alternating for
//! `--rounds`. GetOrder is NO_SIDE_EFFECTS (no idempotency key). CreateOrder is not idempotent:
//! by default contractor's client sends a fresh idempotency key and contractor's server stores
//! every answer (work the plain side does not do), so it runs twice, with the key and with
//! `--no-keys` (the generated code's own cost on a write). The goal is contractor ≥ 0.95× plain.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::generate_bench::{
    Sample, ServerProcess, build_bins, clock_ticks, median, run_load, sorted, warn_if_busy,
};
use crate::tools::Paths;

pub struct Options {
    pub seconds: u64,
    pub rounds: usize,
    pub connections: usize,
    pub concurrency: usize,
}

const RATIO_GOAL: f64 = 0.95;

/// One side of a comparison: its label, the server flag, the load generator's extra flags.
type BenchSide = (&'static str, &'static str, &'static [&'static str]);

/// `side`: `--contractor` or `--plain`; `extra`: load flags (`--no-keys`).
fn measure(
    exe: &Path,
    side: &str,
    extra: &[&str],
    op: &str,
    options: &Options,
    ticks: f64,
) -> Result<Sample> {
    let server = ServerProcess::start(exe, &["serve", side])?;
    let mut load = Command::new(exe);
    load.args(["load", side, "--addr", &server.addr, "--op", op])
        .args(extra)
        .args(["--connections", &options.connections.to_string()])
        .args(["--concurrency", &options.concurrency.to_string()])
        .args(["--seconds", &options.seconds.to_string()]);
    run_load(server, load, ticks).with_context(|| format!("{op} {side} {}", extra.join(" ")))
}

pub fn run(paths: &Paths, options: &Options) -> Result<u8> {
    let exe = build_bins(paths, "contractor-grpc-bench", &["contractor-grpc-bench"])?.remove(0);
    let ticks = clock_ticks();
    warn_if_busy();
    println!(
        "\n## Unary gRPC round trips: contractor (generated code + runtime) vs plain tonic-prost-build\n\n\
         {} HTTP/2 connections, {} concurrent callers, 1 s warm-up + {} s measured, {} alternating \
         runs per side; server and load in separate processes sharing the machine's cores.\n\n\
         | call | side | calls/s (median) | runs | p50 / p99 latency | server CPU per call | vs plain |\n\
         |---|---|---:|---|---:|---:|---:|",
        options.connections, options.concurrency, options.seconds, options.rounds
    );
    let mut verdicts = Vec::new();
    // (operation, label, sides: (label, server flag, load flags)); plain is always last.
    let cases: [(&str, &str, Vec<BenchSide>); 2] = [
        (
            "get",
            "GetOrder (NO_SIDE_EFFECTS)",
            vec![
                ("contractor", "--contractor", &[]),
                ("plain tonic", "--plain", &[]),
            ],
        ),
        (
            "create",
            "CreateOrder (not idempotent)",
            vec![
                ("contractor, key sent and stored", "--contractor", &[]),
                ("contractor, no key", "--contractor", &["--no-keys"]),
                ("plain tonic", "--plain", &[]),
            ],
        ),
    ];
    for (op, label, sides) in cases {
        let mut samples: Vec<Vec<Sample>> = sides.iter().map(|_| Vec::new()).collect();
        for round in 0..options.rounds {
            let mut order: Vec<usize> = (0..sides.len()).collect();
            if round % 2 == 1 {
                order.reverse();
            }
            for i in order {
                let (name, side, extra) = sides[i];
                eprintln!("[grpc-bench] {op} round {}: {name}…", round + 1);
                samples[i].push(measure(&exe, side, extra, op, options, ticks)?);
            }
        }
        let med = |list: &[Sample], f: fn(&Sample) -> Option<f64>| {
            let v: Vec<f64> = list.iter().filter_map(f).collect();
            (!v.is_empty()).then(|| median(&sorted(v)))
        };
        let plain = samples.len() - 1;
        let plain_rps = med(&samples[plain], |s| Some(s.rps)).unwrap_or(f64::NAN);
        let plain_cpu = med(&samples[plain], |s| s.cpu_us);
        for (i, (name, _, _)) in sides.iter().enumerate() {
            let list = &samples[i];
            let rps = med(list, |s| Some(s.rps)).unwrap_or(f64::NAN);
            let cpu = med(list, |s| s.cpu_us);
            let runs: Vec<String> = list.iter().map(|s| format!("{:.0}", s.rps)).collect();
            let vs = if i == plain {
                "1".to_string()
            } else {
                let cpu_ratio = match (cpu, plain_cpu) {
                    (Some(c), Some(p)) => format!(", CPU/call ×{:.2}", c / p),
                    _ => String::new(),
                };
                format!("{:.3}{cpu_ratio}", rps / plain_rps)
            };
            println!(
                "| {label} | {name} | {rps:.0} | {} | {:.0} / {:.0} µs | {} | {vs} |",
                runs.join(", "),
                med(list, |s| Some(s.p50_us)).unwrap_or(f64::NAN),
                med(list, |s| Some(s.p99_us)).unwrap_or(f64::NAN),
                cpu.map_or("?".to_string(), |c| format!("{c:.1} µs")),
            );
            if i != plain {
                let ratio = rps / plain_rps;
                verdicts.push(format!(
                    "{label}, {name}: contractor/plain {ratio:.3} (goal ≥ {RATIO_GOAL}: {})",
                    if ratio >= RATIO_GOAL { "met" } else { "MISSED" }
                ));
            }
        }
    }
    println!();
    for v in verdicts {
        println!("{v}");
    }
    no_op_build(paths)?;
    Ok(0)
}

/// Wall time of `cargo build -p contractor-example-orders` after one build has run (the
/// build script must not run again, nothing must be recompiled).
fn no_op_build(paths: &Paths) -> Result<()> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let build = || -> Result<(Duration, String)> {
        let started = Instant::now();
        let out = Command::new(&cargo)
            .current_dir(&paths.root)
            .args(["build", "-p", "contractor-example-orders"])
            .output()
            .context("cannot run cargo build")?;
        if !out.status.success() {
            bail!(
                "cargo build -p contractor-example-orders failed:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok((
            started.elapsed(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        ))
    };
    eprintln!("[grpc-bench] cargo build -p contractor-example-orders (first)…");
    build()?;
    let mut times = Vec::new();
    let mut recompiled = false;
    for _ in 0..5 {
        let (t, stderr) = build()?;
        recompiled |= stderr.contains("Compiling");
        times.push(t.as_secs_f64() * 1000.0);
    }
    let times = sorted(times);
    println!(
        "\nNo-op `cargo build -p contractor-example-orders` after one build (5 runs): median {:.0} ms, \
         min {:.0} ms; {}",
        median(&times),
        times[0],
        if recompiled {
            "something was RECOMPILED"
        } else {
            "nothing recompiled, build script not rerun"
        }
    );
    Ok(())
}
