//! `contractor diff` for AsyncAPI 2.x and 3.0 documents: load both sides with
//! `contractor-asyncapi` (the old one from disk or from git), compare, and hand the findings to
//! the shared report renderers.

use std::io::Write;
use std::path::Path;

use contractor_core::config::Config;
use contractor_core::{InputError, Sources};

use crate::{DiffArgs, diff_subject, emit_with_registry, git};

/// Whether a YAML or JSON file is an AsyncAPI document: a top-level `asyncapi` key, looked for
/// in the first 64 KiB (a top-level YAML key starts its line; in JSON the key is quoted).
pub(crate) fn is_asyncapi(path: &Path) -> bool {
    use std::io::Read;
    let mut head = Vec::new();
    let Ok(file) = std::fs::File::open(path) else {
        return false;
    };
    if file.take(64 * 1024).read_to_end(&mut head).is_err() {
        return false;
    }
    let text = String::from_utf8_lossy(&head);
    let text = text.trim_start_matches('\u{FEFF}');
    if text.trim_start().starts_with('{') {
        let json_key = |key: &str| {
            text.match_indices(key)
                .any(|(i, _)| text[i + key.len()..].trim_start().starts_with(':'))
        };
        return json_key("\"asyncapi\"") && !json_key("\"openapi\"");
    }
    text.lines().any(|line| {
        ["asyncapi:", "\"asyncapi\":", "'asyncapi':"]
            .iter()
            .any(|k| line.starts_with(k))
    })
}

/// Compares the old and new AsyncAPI documents; returns the exit code.
pub(crate) fn diff_asyncapi(
    args: &DiffArgs,
    new_path: &Path,
    config: &Config,
    stdout: &mut dyn Write,
) -> Result<i32, InputError> {
    if new_path.is_dir() || (args.against.is_none() && args.first.is_dir()) {
        return Err(InputError::new(
            "an AsyncAPI contract is a file: give the root document, not a directory",
        ));
    }
    let old_text = match &args.against {
        Some(rev) => {
            let snap = git::snapshot(new_path, rev, |_| true)?;
            Some(snap.files.into_values().next().ok_or_else(|| {
                InputError::in_file(
                    new_path.display().to_string(),
                    format!("not present at {rev}"),
                )
            })?)
        }
        None => None,
    };
    let load_old = || match &old_text {
        Some(text) => contractor_asyncapi::load_text(new_path, text),
        None => contractor_asyncapi::load(&args.first),
    };
    // The two sides load independently: do them at once.
    let (old, new) = std::thread::scope(|s| {
        let old = s.spawn(load_old);
        let new = contractor_asyncapi::load(new_path);
        (
            old.join().unwrap_or_else(|_| {
                Err(InputError::new("internal error while reading the old side"))
            }),
            new,
        )
    });
    let (old, new) = (old?, new?);

    let registry = contractor_asyncapi::registry();
    let scope = new_path.display().to_string();
    let mut findings = contractor_asyncapi::diff(&old.api, &new.api, &scope);
    findings.retain(|f| {
        registry
            .iter()
            .find(|r| r.id == f.rule)
            .is_none_or(|info| !config.is_ignored(info, new_path))
    });

    let mut sources = Sources::default();
    for docs in [&old.docs, &new.docs] {
        for (_, file) in docs.files() {
            sources.insert(file.display().to_string(), file.source().clone());
        }
    }
    let subject = diff_subject(args, "asyncapi", new_path);
    emit_with_registry(args, &findings, registry, &sources, &subject, stdout)
}
