//! Project chores, run as `cargo xtask <command>` (see .cargo/config.toml).
//!
//! All three commands check contractor's protobuf breaking-change detector
//! against the shared corpus in `../shared/corpus/proto` and, when it is
//! installed, against `buf breaking`, whose rules contractor re-implements.
//!
//!   corpus                         compile every module; diff the version pairs; compare with buf
//!   mutate [--seed N] [--count N]  random single edits to real files; compare with buf
//!   bench [--runs N]               time contractor and buf on the version pairs

mod bench;
mod corpus;
mod fsutil;
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
  openapi-bench [--runs N]        time contractor's OpenAPI diff next to optic and openapi-diff";

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
        other => bail!("unknown command `{other}`\n\n{USAGE}"),
    };
    Ok(code)
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
