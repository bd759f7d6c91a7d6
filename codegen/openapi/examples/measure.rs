//! Load time and peak RSS of `contractor_openapi::load` on each file given:
//! `cargo run --release -p contractor-openapi --example measure -- FILE...`
//!
//! Peak RSS is the process's high-water mark (Linux `VmHWM`), reset before each file through
//! `/proc/self/clear_refs`; each file is loaded `RUNS` times and the fastest run is shown.

use std::time::{Duration, Instant};

const RUNS: usize = 5;

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn reset_peak() {
    // "5" resets the peak RSS counter (Linux >= 4.0); harmless where unsupported.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn main() {
    for path in std::env::args().skip(1) {
        reset_peak();
        let before = peak_rss_kib().unwrap_or(0);
        let mut best = Duration::MAX;
        let mut summary = String::new();
        for _ in 0..RUNS {
            let start = Instant::now();
            let result = contractor_openapi::load(&path);
            best = best.min(start.elapsed());
            summary = match &result {
                Ok(set) => format!(
                    "{} files, {} nodes",
                    set.files().count(),
                    set.files().map(|(_, f)| f.tree().len()).sum::<usize>()
                ),
                Err(e) => format!("error: {e}"),
            };
        }
        let peak = peak_rss_kib().unwrap_or(0);
        println!(
            "{path}: {:.1} ms (best of {RUNS}), peak RSS {:.1} MiB (process baseline {:.1} MiB), {summary}",
            best.as_secs_f64() * 1e3,
            peak as f64 / 1024.0,
            before as f64 / 1024.0,
        );
    }
}
