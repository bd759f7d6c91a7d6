//! Project chores, run as `cargo xtask <command>` (see .cargo/config.toml).
//!
//! The first three commands check contractor's protobuf breaking-change detector
//! against the shared corpus in `../shared/corpus/proto` and, when it is
//! installed, against `buf breaking`, whose rules contractor re-implements.
//! The `openapi-*` commands do the same for the OpenAPI diff; the `generate-*`
//! commands check and time code generation (`contractor generate`) and the
//! generated server.
//!
//!   corpus                         compile every module; diff the version pairs; compare with buf
//!   mutate [--seed N] [--count N]  random single edits to real files; compare with buf
//!   bench [--runs N]               time contractor and buf on the version pairs
//!   openapi-corpus                 diff every OpenAPI document with itself, and the version pairs
//!   openapi-bench [--runs N]       time the OpenAPI diff next to optic and openapi-diff
//!   generate-corpus                generate a crate from every OpenAPI document; clippy them all
//!     [--stripe-compile-time]      instead: cold and warm debug build of the Stripe client
//!   generate-bench [--runs N]      generation time on big contracts; generated server vs axum
//!   grpc-bench                     unary gRPC calls/s: generated + runtime vs plain tonic; no-op build
//!   graphql-corpus [--runs N]      GraphQL version pairs next to graphql-inspector: breaking sets, time
//!   avro-corpus                    Avro pairs under BACKWARD, FORWARD and FULL; schemas vs themselves
//!   asyncapi-corpus                AsyncAPI pairs next to @asyncapi/diff; spec examples vs themselves
//!
//! Without `../shared/corpus` every command prints "skipped" and succeeds, except
//! `generate-bench`, which then runs its server benchmark only (it needs just `examples/shop`).

mod asyncapi;
mod avro;
mod bench;
mod corpus;
mod fsutil;
mod generate;
mod generate_bench;
mod graphql;
mod grpc_bench;
mod mutate;
mod openapi;
mod tools;
mod workspace;

use std::process::ExitCode;

use anyhow::{Context, Result, bail};

const USAGE: &str = "usage: cargo xtask <command>

commands:
  corpus                          compile the proto corpus, diff its version pairs, compare with buf
  mutate [--seed N] [--count N]   parity stress test against buf on random mutants (default 200)
         [--buf-per-category]     run buf once per category instead of once per mutant
  bench [--runs N]                time contractor against buf on the version pairs (default 15)
  openapi-corpus                  diff every corpus OpenAPI document with itself and the version pairs
  openapi-bench [--runs N]        time contractor's OpenAPI diff next to optic and openapi-diff
  generate-corpus                 `contractor generate` every corpus OpenAPI document into
                                  target/generate-corpus, then one `cargo clippy -D warnings` over
                                  all the crates; exit 1 on any failure, warning or error
    [--stripe-compile-time]       instead: debug build time of the generated Stripe client, from
                                  an empty target dir and with its dependencies built
  generate-bench                  (a) generation time of the biggest contracts, (b) requests/s of
                                  the shop's generated server against hand-written axum
    [--runs N]                    generation runs per contract (default 10)
    [--rounds N] [--seconds N]    server runs per side (default 3) and seconds each (default 5)
    [--connections N]             concurrent keep-alive connections (default 32)
    [--only-generation | --only-server]
  grpc-bench                      unary gRPC calls/s through contractor's generated code and runtime
                                  next to plain tonic-prost-build code (same contract, same run), then
                                  the time of a no-op `cargo build` of examples/orders
    [--rounds N] [--seconds N]    runs per side (default 3) and seconds each (default 5)
    [--connections N] [--concurrency N]  HTTP/2 connections (default 4) and callers (default 32)
  graphql-corpus [--runs N]       the GraphQL corpus pairs next to graphql-inspector (when installed):
                                  the same breaking set, and wall time (default 10 runs)
  avro-corpus                     the Avro corpus pairs' verdicts under BACKWARD, FORWARD and FULL,
                                  and every corpus schema against itself
  asyncapi-corpus                 the AsyncAPI corpus pairs next to @asyncapi/diff (when installed),
                                  and every spec example against itself";

fn main() -> ExitCode {
    match run() {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<u8> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((command, rest)) = args.split_first() else {
        println!("{USAGE}");
        return Ok(2);
    };
    if matches!(command.as_str(), "-h" | "--help" | "help") {
        println!("{USAGE}");
        return Ok(0);
    }
    let mut flags = Flags(rest.to_vec());
    if command == "grpc-bench" {
        // Needs only the repository (schemas/orders), never the corpus.
        let options = grpc_bench::Options {
            seconds: flags.number("--seconds")?.unwrap_or(5).max(1),
            rounds: flags.number("--rounds")?.unwrap_or(3).max(1) as usize,
            connections: flags.number("--connections")?.unwrap_or(4).max(1) as usize,
            concurrency: flags.number("--concurrency")?.unwrap_or(32).max(1) as usize,
        };
        flags.finish()?;
        return grpc_bench::run(&tools::Paths::workspace(), &options);
    }
    if command == "generate-bench" && tools::Paths::find().is_none() {
        // The server benchmark needs only the shop example.
        println!("no ../shared/corpus: skipping the generation timings");
        let options = generate_bench_options(&mut flags, true)?;
        flags.finish()?;
        return generate_bench::run(&tools::Paths::workspace(), &options);
    }
    let Some(paths) = tools::Paths::find() else {
        println!("skipped: no ../shared/corpus");
        return Ok(0);
    };
    let code = match command.as_str() {
        "corpus" => {
            flags.finish()?;
            corpus::run(&paths)?
        }
        "mutate" => {
            let options = mutate::Options {
                seed: flags.number("--seed")?.unwrap_or(1),
                count: flags.number("--count")?.unwrap_or(200) as usize,
                buf_per_category: flags.switch("--buf-per-category"),
            };
            flags.finish()?;
            mutate::run(&paths, &options)?
        }
        "bench" => {
            let runs = flags.number("--runs")?.unwrap_or(15) as usize;
            flags.finish()?;
            bench::run(&paths, runs.max(1))?
        }
        "openapi-corpus" => {
            flags.finish()?;
            openapi::corpus(&paths)?
        }
        "openapi-bench" => {
            let runs = flags.number("--runs")?.unwrap_or(5) as usize;
            flags.finish()?;
            openapi::bench(&paths, runs.max(1))?
        }
        "generate-corpus" => {
            let stripe = flags.switch("--stripe-compile-time");
            flags.finish()?;
            if stripe {
                generate::stripe_compile_time(&paths)?
            } else {
                generate::corpus(&paths)?
            }
        }
        "asyncapi-corpus" => {
            flags.finish()?;
            asyncapi::corpus(&paths)?
        }
        "avro-corpus" => {
            flags.finish()?;
            avro::corpus(&paths)?
        }
        "graphql-corpus" => {
            let runs = flags.number("--runs")?.unwrap_or(10).max(1) as usize;
            flags.finish()?;
            graphql::corpus(&paths, runs)?
        }
        "generate-bench" => {
            let options = generate_bench_options(&mut flags, false)?;
            flags.finish()?;
            generate_bench::run(&paths, &options)?
        }
        other => bail!("unknown command `{other}`\n\n{USAGE}"),
    };
    Ok(code)
}

fn generate_bench_options(flags: &mut Flags, only_server: bool) -> Result<generate_bench::Options> {
    Ok(generate_bench::Options {
        runs: flags.number("--runs")?.unwrap_or(10).max(1) as usize,
        seconds: flags.number("--seconds")?.unwrap_or(5).max(1),
        rounds: flags.number("--rounds")?.unwrap_or(3).max(1) as usize,
        connections: flags.number("--connections")?.unwrap_or(32).max(1) as usize,
        only_generation: flags.switch("--only-generation"),
        only_server: flags.switch("--only-server") || only_server,
    })
}

/// A tiny flag parser: `--name value` options and bare `--name` switches.
struct Flags(Vec<String>);

impl Flags {
    fn number(&mut self, name: &str) -> Result<Option<u64>> {
        let Some(i) = self.0.iter().position(|a| a == name) else {
            return Ok(None);
        };
        let value = self
            .0
            .get(i + 1)
            .with_context(|| format!("{name} needs a value"))?;
        let n = value
            .parse()
            .with_context(|| format!("{name} wants a number, not `{value}`"))?;
        self.0.drain(i..=i + 1);
        Ok(Some(n))
    }

    fn switch(&mut self, name: &str) -> bool {
        let before = self.0.len();
        self.0.retain(|a| a != name);
        self.0.len() != before
    }

    /// Rejects whatever was not consumed.
    fn finish(self) -> Result<()> {
        match self.0.first() {
            Some(arg) => bail!("unexpected argument `{arg}`\n\n{USAGE}"),
            None => Ok(()),
        }
    }
}
