//! `cargo xtask mutate`: a parity stress test against `buf breaking`.
//!
//! Each trial applies one random schema edit ([`ops`]) to a real corpus file,
//! runs both tools on original -> mutant at each category, and compares the
//! multisets of (rule, file, line). Mutants that buf cannot compile are
//! skipped. Mutants on which the tools disagree are saved under
//! `target/mutants/` with both tools' findings.
//!
//! Speed: each target gets one pair of buf workspaces, built once; a trial only
//! rewrites the mutated files and puts the originals back afterwards. By
//! default buf runs once per mutant with all four categories and its findings
//! are split by buf's own rule -> categories table (`buf config
//! ls-breaking-rules`): a buf rule's findings do not depend on which other
//! rules run, and this cuts buf's share of the run time by four.
//! `--buf-per-category` runs buf once per category instead, to check that.
//! contractor always runs once per category, so its category selection is
//! tested too.

mod ops;
mod syntax;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};

use crate::fsutil;
use crate::tools::{
    self, Buf, BufOutcome, CATEGORIES, Comparison, Contractor, ContractorOutcome, Finding, Paths,
};
use crate::workspace::{Deps, Workspace};

pub struct Options {
    pub seed: u64,
    /// How many mutants to compare (mutants buf cannot compile do not count).
    pub count: usize,
    pub buf_per_category: bool,
}

/// xorshift64: small, fast, and the same sequence on every platform, so that a
/// seed reproduces a run.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        // splitmix64 of the seed, so that small seeds (and 0) give good states.
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        Self((z ^ (z >> 31)) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A number in `0..n` (`n` > 0). The modulo bias is irrelevant here.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

/// Packages to mutate: (label, source root under the corpus, package directory).
/// The pubsub copy from `versions/` is the only one with `reserved` statements.
const TARGETS: &[(&str, &str, &str)] = &[
    ("storage", "googleapis", "google/storage/v2"),
    (
        "pubsub",
        "versions/pubsub-v1-2023-01-09",
        "google/pubsub/v1",
    ),
    ("tasks", "googleapis", "google/cloud/tasks/v2"),
    (
        "secretmanager",
        "googleapis",
        "google/cloud/secretmanager/v1",
    ),
];

struct Target {
    label: &'static str,
    model: ops::Model,
    ws: Workspace,
}

impl Target {
    /// `None` (with a note) when the corpus lacks the package.
    fn load(paths: &Paths, (label, root, dir): (&'static str, &str, &str)) -> Result<Option<Self>> {
        let package_dir = paths.corpus.join(root).join(dir);
        if !package_dir.is_dir() {
            eprintln!(
                "note: skipping target {label}: no {}",
                package_dir.display()
            );
            return Ok(None);
        }
        let files: BTreeMap<String, PathBuf> = fsutil::proto_files(&package_dir)?
            .into_iter()
            .map(|(name, path)| (format!("{dir}/{name}"), path))
            .collect();
        anyhow::ensure!(
            !files.is_empty(),
            "no .proto files in {}",
            package_dir.display()
        );
        let model = ops::Model {
            files: files
                .iter()
                .map(|(name, path)| Ok((name.clone(), syntax::Proto::parse(&fsutil::read(path)?))))
                .collect::<Result<_>>()?,
        };
        let ws = Workspace::create(label, &files, &files, &paths.googleapis(), Deps::Imports)?;
        Ok(Some(Self { label, model, ws }))
    }

    /// Writes the mutant into the new workspace.
    fn apply(&self, mutant: &ops::Mutant) -> Result<()> {
        for (name, text) in &mutant.changes {
            let path = self.ws.new_main().join(name);
            match text {
                Some(text) => fsutil::write(&path, text)?,
                None => std::fs::remove_file(&path)
                    .with_context(|| format!("cannot delete {}", path.display()))?,
            }
        }
        Ok(())
    }

    /// Puts the original files back.
    fn restore(&self, mutant: &ops::Mutant) -> Result<()> {
        for name in mutant.changes.keys() {
            fsutil::write(&self.ws.new_main().join(name), &self.model.files[name].src)?;
        }
        Ok(())
    }
}

/// Both tools' findings on one mutant at one category.
struct CategoryResult {
    category: &'static str,
    contractor: Result<Vec<Finding>, String>,
    buf: Vec<Finding>,
    comparison: Comparison,
}

impl CategoryResult {
    fn agrees(&self) -> bool {
        self.contractor.is_ok() && self.comparison.agrees()
    }
}

struct Trial {
    number: usize,
    target: &'static str,
    kind: &'static str,
    description: String,
    results: Vec<CategoryResult>,
    /// Where the mutant and both reports were saved.
    saved: PathBuf,
}

#[derive(Default)]
struct KindStats {
    generated: usize,
    skipped: usize,
    disagreeing: usize,
}

pub fn run(paths: &Paths, options: &Options) -> Result<u8> {
    let Some(buf) = Buf::find()? else {
        println!(
            "skipped: buf not found (set CONTRACTOR_BUF or put buf on PATH); mutate compares with buf"
        );
        return Ok(0);
    };
    // Mutants change which googleapis files are imported; contractor never
    // checks imported files, so neither may buf.
    let buf = buf.excluding_imports();
    let contractor = Contractor::build(paths)?;
    let buf_rules: HashMap<String, Vec<String>> = buf.rule_categories()?.into_iter().collect();
    let out_dir = paths.target.join("mutants");
    let _ = std::fs::remove_dir_all(&out_dir);

    let mut targets = Vec::new();
    for &spec in TARGETS {
        targets.extend(Target::load(paths, spec)?);
    }
    anyhow::ensure!(
        !targets.is_empty(),
        "none of the mutation targets is in the corpus"
    );
    if !options.buf_per_category {
        for t in &targets {
            t.ws.set_categories(&CATEGORIES)?;
        }
    }
    println!(
        "mutate: seed {}, {} mutants to compare, buf {} ({}), {} mutations over {}",
        options.seed,
        options.count,
        buf.version,
        if options.buf_per_category {
            "one run per category"
        } else {
            "one run per mutant"
        },
        ops::OPS.len(),
        targets
            .iter()
            .map(|t| t.label)
            .collect::<Vec<_>>()
            .join(", ")
    );

    let started = Instant::now();
    let mut rng = Rng::new(options.seed);
    let mut stats: BTreeMap<&str, KindStats> = BTreeMap::new();
    let mut disagreements = Vec::new();
    let (mut compared, mut skipped, mut attempts) = (0, 0, 0);
    let (mut matched, mut only_contractor, mut only_buf, mut contractor_errors) = (0, 0, 0, 0);
    let mut matched_not_breaking = 0;
    // Bounded, in case nearly every mutant fails to compile.
    while compared < options.count && attempts < options.count * 4 {
        attempts += 1;
        let target = &targets[rng.below(targets.len())];
        let Some(mutant) = ops::generate(&target.model, &mut rng) else {
            continue;
        };
        let kind_stats = stats.entry(mutant.kind).or_default();
        kind_stats.generated += 1;
        target.apply(&mutant)?;
        let outcome = evaluate(
            target,
            &contractor,
            &buf,
            &buf_rules,
            options.buf_per_category,
        );
        let saved = match &outcome {
            Ok(Some(results)) if !results.iter().all(CategoryResult::agrees) => {
                Some(save(&out_dir, attempts, target, &mutant, results, options))
            }
            _ => None,
        };
        target.restore(&mutant)?;
        let Some(results) = outcome? else {
            skipped += 1;
            kind_stats.skipped += 1;
            continue;
        };
        compared += 1;
        for r in &results {
            matched += r.comparison.matched;
            matched_not_breaking += r.comparison.matched_not_breaking;
            only_contractor += r.comparison.only_contractor.len();
            only_buf += r.comparison.only_buf.len();
            contractor_errors += usize::from(r.contractor.is_err());
        }
        if let Some(saved) = saved {
            let saved = saved?;
            kind_stats.disagreeing += 1;
            disagreements.push(Trial {
                number: attempts,
                target: target.label,
                kind: mutant.kind,
                description: mutant.description,
                results,
                saved,
            });
        }
        if compared % 25 == 0 {
            eprintln!(
                "  {compared} compared, {skipped} skipped, {} disagreeing…",
                disagreements.len()
            );
        }
    }

    report(&Summary {
        options,
        elapsed: started.elapsed().as_secs_f64(),
        attempts,
        compared,
        skipped,
        matched,
        matched_not_breaking,
        only_contractor,
        only_buf,
        contractor_errors,
        stats: &stats,
        disagreements: &disagreements,
        out_dir: &out_dir,
    });
    Ok(if disagreements.is_empty() { 0 } else { 1 })
}

/// Runs both tools on the mutant now in `target`'s workspace; `None` if buf
/// cannot compile it.
fn evaluate(
    target: &Target,
    contractor: &Contractor,
    buf: &Buf,
    buf_rules: &HashMap<String, Vec<String>>,
    per_category: bool,
) -> Result<Option<Vec<CategoryResult>>> {
    let ws = &target.ws;
    let mut buf_findings: BTreeMap<&str, Vec<Finding>> = BTreeMap::new();
    if per_category {
        for category in CATEGORIES {
            ws.set_categories(&[category])?;
            match buf.breaking(&ws.new, &ws.old)? {
                BufOutcome::Findings(f) => buf_findings.insert(category, f),
                BufOutcome::DoesNotCompile(_) => return Ok(None),
            };
        }
    } else {
        let all = match buf.breaking(&ws.new, &ws.old)? {
            BufOutcome::Findings(f) => f,
            BufOutcome::DoesNotCompile(_) => return Ok(None),
        };
        for category in CATEGORIES {
            let in_category = |f: &&Finding| {
                buf_rules
                    .get(&f.rule)
                    .is_some_and(|cs| cs.iter().any(|c| c == category))
            };
            buf_findings.insert(category, all.iter().filter(in_category).cloned().collect());
        }
    }
    let (old_main, new_main, deps) = (ws.old_main(), ws.new_main(), ws.deps());
    let mut results = Vec::new();
    for category in CATEGORIES {
        let buf = buf_findings.remove(category).unwrap_or_default();
        let contractor = match contractor.diff(&old_main, &new_main, &[&deps], Some(category))? {
            ContractorOutcome::Findings(f) => Ok(f),
            ContractorOutcome::BadInput(e) => Err(e),
        };
        let comparison = match &contractor {
            Ok(ours) => tools::compare(ours, &buf),
            Err(_) => tools::compare(&[], &buf),
        };
        results.push(CategoryResult {
            category,
            contractor,
            buf,
            comparison,
        });
    }
    Ok(Some(results))
}

/// Saves a disagreeing mutant: the original and mutated package as `old/` and
/// `new/`, and `report.txt` with both tools' findings.
fn save(
    out_dir: &Path,
    number: usize,
    target: &Target,
    mutant: &ops::Mutant,
    results: &[CategoryResult],
    options: &Options,
) -> Result<PathBuf> {
    let dir = out_dir.join(format!("{number:04}-{}-{}", target.label, mutant.kind));
    let _ = std::fs::remove_dir_all(&dir);
    fsutil::copy_files(
        &fsutil::proto_files(&target.ws.old_main())?,
        &dir.join("old"),
    )?;
    fsutil::copy_files(
        &fsutil::proto_files(&target.ws.new_main())?,
        &dir.join("new"),
    )?;
    let mut text = String::new();
    let _ = writeln!(text, "mutation: {} ({})", mutant.description, mutant.kind);
    let _ = writeln!(
        text,
        "found by: cargo xtask mutate --seed {} --count {} (trial {number}, target {})",
        options.seed, options.count, target.label
    );
    let _ = writeln!(
        text,
        "reproduce: contractor diff old new -I <corpus>/proto/googleapis --category CAT\n"
    );
    for r in results {
        let _ = writeln!(text, "== {} ==", r.category);
        match &r.contractor {
            Ok(findings) => {
                let _ = writeln!(text, "contractor ({}):", findings.len());
                for f in findings {
                    let _ = writeln!(text, "  {f}");
                }
            }
            Err(e) => {
                let _ = writeln!(text, "contractor failed: {e}");
            }
        }
        let _ = writeln!(text, "buf ({}):", r.buf.len());
        for f in &r.buf {
            let _ = writeln!(text, "  {f}");
        }
        for f in &r.comparison.only_contractor {
            let _ = writeln!(text, "ONLY CONTRACTOR: {f}");
        }
        for f in &r.comparison.only_buf {
            let _ = writeln!(text, "ONLY BUF:        {f}");
        }
        text.push('\n');
    }
    fsutil::write(&dir.join("report.txt"), &text)?;
    Ok(dir)
}

struct Summary<'a> {
    options: &'a Options,
    elapsed: f64,
    attempts: usize,
    compared: usize,
    skipped: usize,
    matched: usize,
    matched_not_breaking: usize,
    only_contractor: usize,
    only_buf: usize,
    contractor_errors: usize,
    stats: &'a BTreeMap<&'a str, KindStats>,
    disagreements: &'a [Trial],
    out_dir: &'a Path,
}

fn percent(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        100.0
    } else {
        100.0 * part as f64 / whole as f64
    }
}

fn report(s: &Summary<'_>) {
    // Per mutant and category; report.txt in the saved directory has them all.
    const MAX_SHOWN: usize = 6;
    println!("\n## Disagreements\n");
    if s.disagreements.is_empty() {
        println!("none");
    }
    // A class is the set of (which side, rule) pairs that differ, whatever the category.
    let mut classes: BTreeMap<BTreeSet<String>, Vec<usize>> = BTreeMap::new();
    for t in s.disagreements {
        println!("#{} [{}] {}: {}", t.number, t.target, t.kind, t.description);
        let mut class = BTreeSet::new();
        for r in &t.results {
            if let Err(e) = &r.contractor {
                println!(
                    "    {:9} contractor failed: {}",
                    r.category,
                    e.lines().next().unwrap_or("")
                );
                class.insert("contractor failed to compile".to_string());
            }
            let differences = r
                .comparison
                .only_contractor
                .iter()
                .map(|f| ("only contractor:", f))
                .chain(
                    r.comparison
                        .only_buf
                        .iter()
                        .map(|f| ("only buf:       ", f)),
                );
            let mut shown = 0;
            for (side, f) in differences {
                class.insert(format!("{} {}", side.trim_end(), f.rule));
                if shown < MAX_SHOWN {
                    println!("    {:9} {side} {f}", r.category);
                }
                shown += 1;
            }
            if shown > MAX_SHOWN {
                println!("    {:9} … {} more", r.category, shown - MAX_SHOWN);
            }
        }
        println!("    saved: {}", t.saved.display());
        classes.entry(class).or_default().push(t.number);
    }

    println!("\n## Disagreement classes\n");
    for (class, trials) in &classes {
        let list: Vec<String> = trials.iter().map(|n| format!("#{n}")).collect();
        println!(
            "- {} × {}: {}",
            trials.len(),
            class.iter().cloned().collect::<Vec<_>>().join(", "),
            list.join(" ")
        );
    }

    println!("\n## Mutations\n");
    println!("| mutation | generated | not compiling (skipped) | compared | disagreeing |");
    println!("|---|---:|---:|---:|---:|");
    for (kind, k) in s.stats {
        println!(
            "| {kind} | {} | {} | {} | {} |",
            k.generated,
            k.skipped,
            k.generated - k.skipped,
            k.disagreeing
        );
    }

    let differing = s.only_contractor + s.only_buf;
    let agreeing_mutants = s.compared - s.disagreements.len();
    println!("\n## Summary\n");
    println!("seed:                {}", s.options.seed);
    println!(
        "trials:              {} ({} compared, {} skipped: buf could not compile them)",
        s.attempts, s.compared, s.skipped
    );
    println!(
        "compared findings:   {} matched, {} only in contractor, {} only in buf (over {} categories)",
        s.matched,
        s.only_contractor,
        s.only_buf,
        CATEGORIES.len()
    );
    if s.matched_not_breaking > 0 {
        println!(
            "of those matched:    {} reported by contractor as info, not breaking (documented deviation: same-shape message renames)",
            s.matched_not_breaking
        );
    }
    if s.contractor_errors > 0 {
        println!(
            "contractor errors:   {} category runs failed on mutants buf compiles",
            s.contractor_errors
        );
    }
    println!(
        "agreement (findings): {:.2}% ({} of {})",
        percent(s.matched, s.matched + differing),
        s.matched,
        s.matched + differing
    );
    println!(
        "agreement (mutants):  {:.2}% ({} of {} mutants identical at all categories)",
        percent(agreeing_mutants, s.compared),
        agreeing_mutants,
        s.compared
    );
    if !s.disagreements.is_empty() {
        println!("disagreeing mutants saved under {}", s.out_dir.display());
    }
    println!("time:                {:.0} s", s.elapsed);
}
