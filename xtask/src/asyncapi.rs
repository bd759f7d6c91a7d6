//! `cargo xtask asyncapi-corpus`: contractor's AsyncAPI diff on the corpus version pairs next
//! to `@asyncapi/diff` (when installed under `~/.cache/contractor-peers/asyncapi-diff`, see
//! `../shared/notes/peers.md`), in the same run. `@asyncapi/diff` classifies structural changes
//! but leaves payload changes "unclassified"; the table shows how many of those there are and
//! how contractor classifies the payload and header changes (`payload-*`, `headers-*` rules,
//! by severity). Every spec example is also diffed against itself and must be clean. Exit 1
//! when contractor refuses a corpus file or a self-comparison is not clean.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result};
use serde_json::Value;

use crate::tools::{Contractor, Paths, peer_dir};

/// The corpus pairs, under `corpus/asyncapi/real-world`.
const PAIRS: [(&str, &str); 4] = [
    ("blueapi-2024-03-15.yaml", "blueapi-2024-11-15.yaml"),
    ("deepgram-2025-10-10.yml", "deepgram-2026-03-17.yml"),
    ("deepgram-2026-03-17.yml", "deepgram-2026-04-12.yml"),
    ("deepgram-2026-04-12.yml", "deepgram-2026-07-22.yml"),
];

/// `@asyncapi/diff` between two files: counts of breaking, non-breaking and unclassified
/// changes, and how many unclassified ones are under a payload or headers. Remote `$ref`s are
/// resolved to an empty schema (offline; contractor does not fetch them either).
const ASYNCAPI_DIFF_SCRIPT: &str = r#"
const path = require('path');
const fs = require('fs');
const root = process.argv[2];
const { Parser } = require(path.join(root, 'node_modules/@asyncapi/parser'));
const { diff } = require(path.join(root, 'node_modules/@asyncapi/diff'));
(async () => {
  const stub = (schema) => ({ schema, order: 1, canRead: true, read: async () => '{}' });
  const parser = new Parser({ __unstable: { resolver: { resolvers: [stub('http'), stub('https')] } } });
  const parse = async (f) => {
    const { document, diagnostics } = await parser.parse(fs.readFileSync(f, 'utf8'), { source: f });
    if (!document) {
      const first = diagnostics.find((d) => d.severity === 0);
      throw new Error(path.basename(f) + ': ' + (first ? first.message : 'not parsed'));
    }
    return document.json();
  };
  const out = diff(await parse(process.argv[3]), await parse(process.argv[4]), { outputType: 'json' });
  const list = (x) => (Array.isArray(x) ? x : []);
  const unclassified = list(out.unclassified());
  console.log(JSON.stringify({
    breaking: list(out.breaking()).length,
    non_breaking: list(out.nonBreaking()).length,
    unclassified: unclassified.length,
    unclassified_payload: unclassified.filter((c) => /payload|headers/.test(c.path)).length,
  }));
})().catch((e) => { console.error(String((e && e.message) || e)); process.exit(2); });
"#;

/// contractor's finding counts by (payload or headers rule, severity).
type Counts = BTreeMap<(bool, String), usize>;

/// contractor's findings between two files by (payload or structural, severity), or what it
/// said when it refused them.
fn contractor_counts(
    contractor: &Contractor,
    old: &Path,
    new: &Path,
) -> Result<std::result::Result<Counts, String>> {
    let report = match contractor.diff_report(old, new, &[])? {
        Ok((_, report)) => report,
        Err(why) => return Ok(Err(why)),
    };
    let mut counts = BTreeMap::new();
    for f in report["findings"].as_array().into_iter().flatten() {
        let rule = f["rule"].as_str().unwrap_or_default();
        let payload = rule.starts_with("payload-") || rule.starts_with("headers-");
        let severity = f["severity"].as_str().unwrap_or_default().to_owned();
        *counts.entry((payload, severity)).or_insert(0) += 1;
    }
    Ok(Ok(counts))
}

fn by_severity(counts: &Counts, payload: bool) -> String {
    let n = |s: &str| counts.get(&(payload, s.to_owned())).copied().unwrap_or(0);
    format!("{} / {} / {}", n("error"), n("warning"), n("info"))
}

/// A root document (not a file that only holds `$ref`'d parts).
fn is_asyncapi_root(path: &Path) -> bool {
    std::fs::read_to_string(path).is_ok_and(|text| {
        text.lines()
            .any(|l| l.starts_with("asyncapi:") || l.trim_start().starts_with("\"asyncapi\""))
    })
}

pub fn corpus(paths: &Paths) -> Result<u8> {
    let contractor = Contractor::build(paths)?;
    let root = paths
        .corpus
        .parent()
        .map(|c| c.join("asyncapi"))
        .context("corpus path")?;
    let peer = peer_dir("asyncapi-diff", "node_modules/@asyncapi/diff");
    let scratch = crate::fsutil::TempDir::new("asyncapi-corpus")?;
    let script = scratch.path().join("asyncapi-diff.js");
    std::fs::write(&script, ASYNCAPI_DIFF_SCRIPT)?;
    if peer.is_none() {
        println!(
            "note: @asyncapi/diff is not installed under ~/.cache/contractor-peers/asyncapi-diff \
             (npm install --prefix it @asyncapi/diff@0.5.0 @asyncapi/parser@3.6.3): contractor alone"
        );
    }
    println!(
        "\n## AsyncAPI pairs: contractor next to @asyncapi/diff\n\n\
         contractor: error / warning / info, structural rules and payload/header rules apart; \
         @asyncapi/diff: breaking / non-breaking / unclassified (of which under a payload or headers).\n\n\
         | pair | contractor structural | contractor payload + headers | @asyncapi/diff |\n|---|---|---|---|"
    );
    let mut failed = false;
    for (old, new) in PAIRS {
        let (old_path, new_path) = (
            root.join("real-world").join(old),
            root.join("real-world").join(new),
        );
        let ours = contractor_counts(&contractor, &old_path, &new_path)?;
        let (structural, payload) = match &ours {
            Ok(counts) => (by_severity(counts, false), by_severity(counts, true)),
            Err(why) => {
                failed = true;
                (format!("REFUSED: {why}"), "-".to_owned())
            }
        };
        let theirs = match &peer {
            None => "-".to_owned(),
            Some(dir) => {
                let out = Command::new("node")
                    .arg(&script)
                    .arg(dir)
                    .arg(&old_path)
                    .arg(&new_path)
                    .output()
                    .context("cannot run node")?;
                match serde_json::from_slice::<Value>(&out.stdout) {
                    Ok(v) if out.status.success() => format!(
                        "{} / {} / {} ({})",
                        v["breaking"],
                        v["non_breaking"],
                        v["unclassified"],
                        v["unclassified_payload"]
                    ),
                    _ => format!(
                        "refused: {}",
                        String::from_utf8_lossy(&out.stderr)
                            .trim()
                            .replace('|', "\\|")
                    ),
                }
            }
        };
        println!("| {old} → {new} | {structural} | {payload} | {theirs} |");
    }
    let mut examples = Vec::new();
    let mut dirs = vec![root.join("spec-examples")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).with_context(|| format!("{}", dir.display()))? {
            let path = entry?.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path
                .extension()
                .is_some_and(|e| e == "yaml" || e == "yml" || e == "json")
                && is_asyncapi_root(&path)
            {
                examples.push(path);
            }
        }
    }
    examples.sort();
    let mut clean = 0;
    for example in &examples {
        match contractor_counts(&contractor, example, example)? {
            Ok(counts) if counts.is_empty() => clean += 1,
            other => {
                failed = true;
                println!(
                    "self-comparison of {} not clean: {other:?}",
                    example.display()
                );
            }
        }
    }
    println!(
        "\nspec examples with no finding against themselves: {clean}/{}",
        examples.len()
    );
    Ok(u8::from(failed))
}
