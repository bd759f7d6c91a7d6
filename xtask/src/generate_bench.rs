//! `cargo xtask generate-bench`: how fast generation is, and how fast the generated server
//! is next to hand-written axum.
//!
//! (a) Generation: the release `contractor generate` (client and server) on the biggest
//! corpus documents, `--runs` times each into a fresh directory (one untimed warm-up first),
//! median and min wall time. The goal is Stripe under a second.
//!
//! (b) Server throughput over loopback, with the two bench binaries of `examples/shop`:
//! `bench_server --generated|--handwritten` serves the shop's `createOrder` (`POST /orders`,
//! a JSON `NewOrder`) and `getOrder` (`GET /orders/{id}`), either through the generated
//! `server::router` (routing, validation, idempotency, timeouts, correlation ids) or through
//! hand-written axum handlers (`Json<NewOrder>`, `Path<Uuid>`) that call the same handler
//! functions; `bench_load` drives it with `--connections` keep-alive HTTP/1.1 connections
//! (1 s warm-up, then `--seconds` measured). Process layout: one server process (a
//! multi-thread tokio runtime, one worker per core) and one load process (a current-thread
//! runtime) per run, nothing pinned; on a 2-core machine they share the cores, so the load
//! generator's own cost dilutes the difference in requests/s. The server's CPU time per
//! request (from /proc, Linux only) is reported next to it, undiluted. Each createOrder request
//! carries a fresh `Idempotency-Key` (the contract requires one) and an `Authorization` header.
//! Generated and hand-written runs alternate, `--rounds` times each; the table shows medians
//! and the ratio generated / hand-written (goal ≥ 0.9). A third side, the generated server
//! with an idempotency store that keeps nothing (`--null-store`), tells the store's share of
//! the createOrder cost.
//!
//! (c) The same requests sent straight into each router in one thread (`bench_server
//! --inproc`, a process per run): the routers' own CPU time per request, which the loopback
//! figures dilute with the load generator's and the kernel's work, and which other processes
//! on the machine barely disturb.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use serde_json::Value;

use crate::generate::{generate, short_name};
use crate::openapi::openapi_dir;
use crate::tools::{Contractor, Paths};

pub struct Options {
    /// Generation runs per document.
    pub runs: usize,
    /// Measured seconds per server run.
    pub seconds: u64,
    /// Runs per (operation, side).
    pub rounds: usize,
    /// Concurrent connections of the load generator.
    pub connections: usize,
    pub only_generation: bool,
    pub only_server: bool,
}

/// The documents timed in (a), under `openapi/`.
const BIG: [&str; 4] = [
    "production/stripe-2023-09-12.yaml",
    "production/github-2021-10-10.json",
    "production/openai-2026-08-21.yaml",
    "digitalocean/DigitalOcean-public.v2.yaml",
];

/// The generation goal for Stripe.
const GENERATION_GOAL: Duration = Duration::from_secs(1);

/// The throughput goal, generated / hand-written.
const RATIO_GOAL: f64 = 0.9;

pub fn run(paths: &Paths, options: &Options) -> Result<u8> {
    if !options.only_server {
        generation(paths, options.runs)?;
    }
    if !options.only_generation {
        server(paths, options)?;
    }
    Ok(0)
}

pub(crate) fn median(sorted: &[f64]) -> f64 {
    match sorted.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

pub(crate) fn sorted(mut v: Vec<f64>) -> Vec<f64> {
    v.sort_by(f64::total_cmp);
    v
}

fn generation(paths: &Paths, runs: usize) -> Result<()> {
    let contractor = Contractor::build(paths)?;
    let dir = openapi_dir(paths);
    let scratch = crate::fsutil::TempDir::new("generate-bench")?;
    println!(
        "\n## contractor generate (client + server), {runs} runs each\n\n\
         | document | operations | types | lines | median | min |\n|---|---:|---:|---:|---:|---:|"
    );
    let mut stripe = None;
    for doc in BIG {
        let path = dir.join(doc);
        let name = short_name(&path);
        let out = scratch.path().join(&name);
        let crate_name = format!("gen-{name}");
        eprintln!("[generate-bench] {doc}: 1 warm-up + {runs} runs…");
        let mut times = Vec::new();
        let mut last = None;
        for run in 0..=runs {
            // A fresh directory each time, so every run writes every file.
            let _ = std::fs::remove_dir_all(&out);
            let g = generate(&contractor, paths, &path, &out, &crate_name, &[])?
                .map_err(|why| anyhow!("contractor generate {doc} failed: {why}"))?;
            if run > 0 {
                times.push(g.elapsed.as_secs_f64() * 1000.0);
            }
            last = Some(g);
        }
        let times = sorted(times);
        let g = last.context("no run")?;
        let show = |n: Option<u64>| n.map_or("?".to_string(), |n| n.to_string());
        println!(
            "| {doc} | {} | {} | {} | {:.0} ms | {:.0} ms |",
            show(g.operations),
            show(g.types),
            g.lines,
            median(&times),
            times[0]
        );
        if doc.contains("stripe") {
            stripe = Some(median(&times));
        }
    }
    if let Some(ms) = stripe {
        let goal = GENERATION_GOAL.as_secs_f64() * 1000.0;
        println!(
            "\nStripe: median {ms:.0} ms, goal < {goal:.0} ms: {}",
            if ms < goal { "met" } else { "MISSED" }
        );
    }
    Ok(())
}

/// Builds `bins` of `package` in release mode; their executables, in order.
pub(crate) fn build_bins(paths: &Paths, package: &str, bins: &[&str]) -> Result<Vec<PathBuf>> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    eprintln!("building {package} ({}) in release mode…", bins.join(", "));
    let mut cmd = Command::new(cargo);
    cmd.current_dir(&paths.root)
        .args(["build", "--release", "-p", package])
        .arg("--message-format=json-render-diagnostics");
    for bin in bins {
        cmd.args(["--bin", bin]);
    }
    let out = cmd
        .stderr(Stdio::inherit())
        .output()
        .context("cannot run cargo")?;
    if !out.status.success() {
        bail!("cargo build --release -p {package} failed");
    }
    let messages: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect();
    bins.iter()
        .map(|bin| {
            messages
                .iter()
                .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == *bin)
                .find_map(|m| m["executable"].as_str().map(PathBuf::from))
                .ok_or_else(|| anyhow!("cargo did not report the {bin} executable"))
        })
        .collect()
}

/// A server side of the comparison.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    Generated,
    /// The generated server with an idempotency store that keeps nothing.
    GeneratedNullStore,
    Handwritten,
}

impl Side {
    fn args(self) -> &'static [&'static str] {
        match self {
            Side::Generated => &["--generated"],
            Side::GeneratedNullStore => &["--generated", "--null-store"],
            Side::Handwritten => &["--handwritten"],
        }
    }

    fn label(self) -> &'static str {
        match self {
            Side::Generated => "generated",
            Side::GeneratedNullStore => "generated, null idempotency store",
            Side::Handwritten => "hand-written axum",
        }
    }
}

/// One measured run.
pub(crate) struct Sample {
    pub(crate) rps: f64,
    pub(crate) p50_us: f64,
    pub(crate) p99_us: f64,
    /// Server CPU time (user + system) per request, µs.
    pub(crate) cpu_us: Option<f64>,
}

/// A running `bench_server`, killed when dropped.
pub(crate) struct ServerProcess {
    child: Child,
    pub(crate) addr: String,
}

impl ServerProcess {
    /// Starts `exe args…`, which prints `listening on ADDR` first.
    pub(crate) fn start(exe: &Path, args: &[&str]) -> Result<Self> {
        let mut child = Command::new(exe)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("cannot start {}", exe.display()))?;
        let stdout = child.stdout.take().context("no stdout")?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        let addr = line
            .trim()
            .strip_prefix("listening on ")
            .map(str::to_owned)
            .ok_or_else(|| anyhow!("{} said `{}`", exe.display(), line.trim()))?;
        Ok(Self { child, addr })
    }

    /// User + system CPU time so far (Linux /proc; `None` elsewhere).
    pub(crate) fn cpu_time(&self, ticks_per_second: f64) -> Option<Duration> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).ok()?;
        // Fields after the parenthesised command name; utime and stime are 14th and 15th.
        let rest = &stat[stat.rfind(')')? + 2..];
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let ticks: f64 =
            fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
        Some(Duration::from_secs_f64(ticks / ticks_per_second))
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Clock ticks per second of /proc's CPU times.
pub(crate) fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

fn measure(
    server_exe: &Path,
    load_exe: &Path,
    side: Side,
    op: &str,
    options: &Options,
    ticks: f64,
) -> Result<Sample> {
    let server = ServerProcess::start(server_exe, side.args())?;
    let mut load = Command::new(load_exe);
    load.args(["--addr", &server.addr, "--op", op])
        .args(["--connections", &options.connections.to_string()])
        .args(["--seconds", &options.seconds.to_string()]);
    run_load(server, load, ticks)
        .with_context(|| format!("{op} against the {} server", side.label()))
}

/// Runs the load generator `load` (given `--warmup 1` here) against `server` and reads its
/// JSON report (`requests`, `rps`, `p50_us`, `p99_us`, `errors`), adding the server's CPU time
/// per request. The server is stopped afterwards.
pub(crate) fn run_load(server: ServerProcess, mut load: Command, ticks: f64) -> Result<Sample> {
    let warmup = Duration::from_secs(1);
    let load = load
        .args(["--warmup", &warmup.as_secs().to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .context("cannot start the load generator")?;
    // The CPU time is sampled from the end of the warm-up until the load generator exits
    // (the server idles once the load stops), so it covers the measured requests plus a few
    // milliseconds of warm-up: under 0.1% of a 5 s window.
    std::thread::sleep(warmup);
    let cpu_before = server.cpu_time(ticks);
    let out = load.wait_with_output()?;
    let cpu_after = server.cpu_time(ticks);
    drop(server);
    if !out.status.success() {
        bail!("the load generator failed ({})", out.status);
    }
    let report: Value = serde_json::from_slice(&out.stdout).with_context(|| {
        format!(
            "the load generator printed `{}`",
            String::from_utf8_lossy(&out.stdout)
        )
    })?;
    let number = |k: &str| report[k].as_f64().unwrap_or(f64::NAN);
    if number("errors") > 0.0 {
        bail!("{} unexpected answers", number("errors"));
    }
    let requests = number("requests");
    let cpu_us = match (cpu_before, cpu_after) {
        (Some(a), Some(b)) if requests > 0.0 => Some((b - a).as_secs_f64() * 1e6 / requests),
        _ => None,
    };
    Ok(Sample {
        rps: number("rps"),
        p50_us: number("p50_us"),
        p99_us: number("p99_us"),
        cpu_us,
    })
}

fn server(paths: &Paths, options: &Options) -> Result<()> {
    let exes = build_bins(
        paths,
        "contractor-example-shop",
        &["bench_server", "bench_load"],
    )?;
    let (server_exe, load_exe) = (&exes[0], &exes[1]);
    let ticks = clock_ticks();
    warn_if_busy();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!(
        "\n## Server throughput over loopback: generated vs hand-written axum\n\n\
         {} connections, 1 s warm-up + {} s measured, {} alternating runs per side; \
         server: its own process, {cores} tokio workers; load: its own process, 1 thread; \
         {cores} cores shared, nothing pinned.\n",
        options.connections, options.seconds, options.rounds
    );
    let ops = [
        (
            "create",
            "createOrder POST /orders",
            &[Side::Generated, Side::Handwritten, Side::GeneratedNullStore][..],
        ),
        (
            "get",
            "getOrder GET /orders/{id}",
            &[Side::Generated, Side::Handwritten][..],
        ),
    ];
    println!(
        "| operation | server | req/s (median) | runs | p50 / p99 latency | server CPU per request | vs hand-written |\n\
         |---|---|---:|---|---:|---:|---:|"
    );
    let mut verdicts = Vec::new();
    for (op, label, sides) in ops {
        let mut samples: Vec<(Side, Vec<Sample>)> =
            sides.iter().map(|&s| (s, Vec::new())).collect();
        for round in 0..options.rounds {
            // Alternate who goes first, so drift (thermal, page cache) spreads evenly.
            let mut order: Vec<usize> = (0..samples.len()).collect();
            if round % 2 == 1 {
                order.reverse();
            }
            for i in order {
                let side = samples[i].0;
                eprintln!(
                    "[generate-bench] {op} round {}: {}…",
                    round + 1,
                    side.label()
                );
                let s = measure(server_exe, load_exe, side, op, options, ticks)?;
                samples[i].1.push(s);
            }
        }
        let med = |list: &[Sample], f: fn(&Sample) -> Option<f64>| {
            let v: Vec<f64> = list.iter().filter_map(f).collect();
            (!v.is_empty()).then(|| median(&sorted(v)))
        };
        let hand = samples
            .iter()
            .find(|(s, _)| *s == Side::Handwritten)
            .and_then(|(_, l)| med(l, |s| Some(s.rps)))
            .unwrap_or(f64::NAN);
        let hand_cpu = samples
            .iter()
            .find(|(s, _)| *s == Side::Handwritten)
            .and_then(|(_, l)| med(l, |s| s.cpu_us));
        for (side, list) in &samples {
            let rps = med(list, |s| Some(s.rps)).unwrap_or(f64::NAN);
            let runs: Vec<String> = list.iter().map(|s| format!("{:.0}", s.rps)).collect();
            let cpu = med(list, |s| s.cpu_us);
            let ratio = rps / hand;
            let vs = if *side == Side::Handwritten {
                "1".to_string()
            } else {
                let cpu_ratio = match (cpu, hand_cpu) {
                    (Some(c), Some(h)) => format!(", CPU/req ×{:.2}", c / h),
                    _ => String::new(),
                };
                format!("{ratio:.3}{cpu_ratio}")
            };
            println!(
                "| {label} | {} | {rps:.0} | {} | {:.0} / {:.0} µs | {} | {vs} |",
                side.label(),
                runs.join(", "),
                med(list, |s| Some(s.p50_us)).unwrap_or(f64::NAN),
                med(list, |s| Some(s.p99_us)).unwrap_or(f64::NAN),
                cpu.map_or("?".to_string(), |c| format!("{c:.1} µs")),
            );
            if *side == Side::Generated {
                verdicts.push(format!(
                    "{label}: generated/hand-written {ratio:.3} ({})",
                    if ratio >= RATIO_GOAL {
                        "goal ≥ 0.9 met"
                    } else {
                        "goal ≥ 0.9 MISSED"
                    }
                ));
            }
        }
    }
    in_process(server_exe, options.rounds)?;
    println!();
    for v in verdicts {
        println!("{v}");
    }
    Ok(())
}

/// The routers' own CPU time per request: `bench_server --inproc`, one process per run,
/// sides alternating.
fn in_process(server_exe: &Path, rounds: usize) -> Result<()> {
    println!(
        "\n## The routers alone, in process (no sockets, no HTTP parsing; thread CPU time)\n\n\
         200,000 requests after 100,000 warm-up (createOrder: the idempotency store is full, \
         as on a busy server), {rounds} alternating runs per side.\n\n\
         | operation | server | CPU per request (median) | runs | vs hand-written |\n\
         |---|---|---:|---|---:|"
    );
    let cases: [(&str, &str, &[Side]); 2] = [
        (
            "create",
            "createOrder",
            &[Side::Generated, Side::GeneratedNullStore, Side::Handwritten],
        ),
        ("get", "getOrder", &[Side::Generated, Side::Handwritten]),
    ];
    for (op, label, sides) in cases {
        let mut runs: Vec<Vec<f64>> = vec![Vec::new(); sides.len()];
        for round in 0..rounds {
            let mut order: Vec<usize> = (0..sides.len()).collect();
            if round % 2 == 1 {
                order.reverse();
            }
            for i in order {
                eprintln!(
                    "[generate-bench] in process {op} round {}: {}…",
                    round + 1,
                    sides[i].label()
                );
                let out = Command::new(server_exe)
                    .args(sides[i].args())
                    .args(["--inproc", op])
                    .stderr(Stdio::inherit())
                    .output()
                    .context("cannot run bench_server --inproc")?;
                if !out.status.success() {
                    bail!("bench_server --inproc {op} failed ({})", out.status);
                }
                let v: Value = serde_json::from_slice(&out.stdout).with_context(|| {
                    format!(
                        "bench_server printed `{}`",
                        String::from_utf8_lossy(&out.stdout)
                    )
                })?;
                // Thread CPU time where /proc has it, else wall time.
                let us = v["cpu_us"]
                    .as_f64()
                    .or(v["wall_us"].as_f64())
                    .unwrap_or(f64::NAN);
                runs[i].push(us);
            }
        }
        let hand = sides
            .iter()
            .position(|s| *s == Side::Handwritten)
            .map_or(f64::NAN, |i| median(&sorted(runs[i].clone())));
        for (side, list) in sides.iter().zip(&runs) {
            let m = median(&sorted(list.clone()));
            let shown: Vec<String> = list.iter().map(|u| format!("{u:.2}")).collect();
            println!(
                "| {label} | {} | {m:.2} µs | {} | {} |",
                side.label(),
                shown.join(", "),
                if *side == Side::Handwritten {
                    "1".to_string()
                } else {
                    format!("{:.2}× the time ({:+.2} µs)", m / hand, m - hand)
                }
            );
        }
    }
    Ok(())
}

/// A warning when other processes keep the machine busy (Linux load average).
pub(crate) fn warn_if_busy() {
    let load = std::fs::read_to_string("/proc/loadavg").ok().and_then(|l| {
        l.split_whitespace()
            .next()
            .and_then(|v| v.parse::<f64>().ok())
    });
    if let Some(load) = load.filter(|&l| l > 0.5) {
        println!(
            "\nnote: load average {load:.2} before the runs: other processes are busy, \
             so requests/s are noisy (the CPU-per-request columns much less so)."
        );
    }
}
