//! `contractor diff` for GraphQL SDL: read both documents (the old one from
//! disk or from git), load them with `contractor-graphql`, compare, and hand
//! the findings to the shared report renderers.

use std::io::Write;
use std::path::Path;

use contractor_core::config::Config;
use contractor_core::{InputError, SourceText, Sources};

use crate::{DiffArgs, diff_subject, emit_with_registry, git};

/// The file extensions read as GraphQL SDL.
pub(crate) const EXTENSIONS: [&str; 3] = ["graphql", "graphqls", "gql"];

/// Compares the old and new SDL documents; returns the exit code.
pub(crate) fn diff_graphql(
    args: &DiffArgs,
    new_path: &Path,
    config: &Config,
    stdout: &mut dyn Write,
) -> Result<i32, InputError> {
    if new_path.is_dir() || (args.against.is_none() && args.first.is_dir()) {
        return Err(InputError::new(
            "a GraphQL schema is one file: give the .graphql document, not a directory",
        ));
    }
    let new_display = new_path.display().to_string();
    let new_text = read(new_path)?;
    let (old_display, old_text) = match &args.against {
        Some(rev) => {
            let snap = git::snapshot(new_path, rev, |_| true)?;
            let text = snap.files.into_values().next().ok_or_else(|| {
                InputError::in_file(&new_display, format!("not present at {rev}"))
            })?;
            // A display path of its own, so that reports quote the old text
            // for findings in the old document.
            (format!("{rev}:{new_display}"), text)
        }
        None => (args.first.display().to_string(), read(&args.first)?),
    };

    // The two documents load independently: do them at once.
    let (old, new) = std::thread::scope(|s| {
        let old = s.spawn(|| contractor_graphql::load(&old_display, &old_text));
        let new = contractor_graphql::load(&new_display, &new_text);
        (
            old.join().unwrap_or_else(|_| {
                Err(InputError::new("internal error while reading the old side"))
            }),
            new,
        )
    });
    let (old, new) = (old?, new?);

    let options = options(config);
    let findings = contractor_graphql::diff(&old, &new, &options);

    let mut sources = Sources::default();
    sources.insert(old_display, SourceText::new(old_text));
    sources.insert(new_display, SourceText::new(new_text));
    let subject = diff_subject(args, "graphql", new_path);
    emit_with_registry(
        args,
        &findings,
        contractor_graphql::registry(),
        &sources,
        &subject,
        stdout,
    )
}

/// The verdict options, from the configuration's `[graphql]` table.
fn options(config: &Config) -> contractor_graphql::Options {
    contractor_graphql::Options {
        dangerous_is_breaking: config.graphql.dangerous_is_breaking,
        deprecated_removal_is_dangerous: config.graphql.deprecated_removal_is_dangerous,
        unreachable_is_safe: config.graphql.unreachable_is_safe,
    }
}

fn read(path: &Path) -> Result<String, InputError> {
    let display = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| InputError::in_file(&display, e.to_string()))?;
    String::from_utf8(bytes).map_err(|e| {
        InputError::in_file(
            &display,
            format!("not UTF-8 (byte {})", e.utf8_error().valid_up_to()),
        )
    })
}
