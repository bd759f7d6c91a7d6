//! `contractor diff` for Avro schemas (`.avsc`): reads the versions given (oldest → newest, the
//! last is the new one), checks the new one against the earlier ones under the compatibility
//! mode (`--compat`, else `[avro] compatibility` in the configuration, else BACKWARD) and turns
//! each incompatibility into a finding located in the new file, with the old file's node as
//! `old_location`.

use std::io::Write;
use std::path::{Path, PathBuf};

use contractor_avro::{Compatibility, Direction, Schema, check_versions};
use contractor_core::config::Config;
use contractor_core::{Finding, InputError, Severity, Sources};

use super::{DiffArgs, emit_with_registry, git};

/// Stack for the threads that read schemas (ours and apache-avro's readers recurse on nesting,
/// which [`contractor_avro::json::MAX_DEPTH`] bounds).
const LOAD_STACK_BYTES: usize = 16 << 20;

/// One version of the schema: what to call it in messages and the parsed schema.
struct Version {
    display: String,
    schema: Schema,
}

pub(crate) fn diff_avro(
    args: &DiffArgs,
    new_path: &Path,
    config: &Config,
    stdout: &mut dyn Write,
) -> Result<i32, InputError> {
    let mode = compatibility_mode(args, config)?;
    let versions = match &args.against {
        Some(rev) => {
            let snap = git::snapshot(new_path, rev, |name| name.ends_with(".avsc"))?;
            let Some(old_text) = snap.files.into_values().next() else {
                return Err(InputError::in_file(
                    new_path.display().to_string(),
                    format!("not found at {rev}"),
                ));
            };
            let old_display = format!("{rev}:{}", new_path.display());
            let old = Schema::parse_str(&old_display, &old_text)?;
            vec![
                Version {
                    display: old_display,
                    schema: old,
                },
                load(new_path)?,
            ]
        }
        None => {
            let mut paths: Vec<&PathBuf> = vec![&args.first];
            paths.extend(args.second.iter());
            paths.extend(args.more.iter());
            // The sides are independent: read them at once (a version is typically small, but
            // apache-avro's second reading costs as much as ours).
            // Each on a thread with room for apache-avro's recursive reading of deep schemas.
            std::thread::scope(|s| {
                let handles: Vec<_> = paths
                    .iter()
                    .map(|p| {
                        std::thread::Builder::new()
                            .stack_size(LOAD_STACK_BYTES)
                            .spawn_scoped(s, || load(p))
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| match h.map(|h| h.join()) {
                        Ok(Ok(result)) => result,
                        _ => Err(InputError::new("internal error while reading a schema")),
                    })
                    .collect::<Result<Vec<_>, _>>()
            })?
        }
    };

    let schemas: Vec<Schema> = versions.iter().map(|v| v.schema.clone()).collect();
    let found = check_versions(mode, &schemas);
    let registry = contractor_avro::registry();
    let Some(new) = versions.last() else {
        return Err(InputError::new("no schema to check"));
    };
    let mut findings: Vec<Finding> = Vec::new();
    for item in found {
        let Some(old) = versions.get(item.version) else {
            continue;
        };
        let i = &item.incompatibility;
        let (new_origin, old_origin, direction) = match item.direction {
            Direction::NewReadsOld => (
                &i.reader,
                &i.writer,
                "the new schema reading data written with",
            ),
            Direction::OldReadsNew => (
                &i.writer,
                &i.reader,
                "data written with the new schema, read by",
            ),
        };
        let Some(info) = registry.iter().find(|r| r.id == i.kind.id()) else {
            continue;
        };
        if config.is_ignored(info, new_path) {
            continue;
        }
        findings.push(Finding {
            rule: info.id,
            categories: info.categories,
            severity: Severity::Error,
            message: format!(
                "{}: {} (new `{}`, old `{}`; {direction} {})",
                mode,
                i.message,
                display_pointer(&new_origin.pointer),
                display_pointer(&old_origin.pointer),
                old.display
            ),
            location: new.schema.location(new_origin),
            old_location: Some(old.schema.location(old_origin)),
            scope: new.display.clone(),
        });
    }
    contractor_core::finding::normalize(&mut findings);

    let mut sources = Sources::default();
    for version in &versions {
        for file in version.schema.files() {
            sources.insert(file.display.clone(), file.source.clone());
        }
    }
    let names: Vec<&str> = versions.iter().map(|v| v.display.as_str()).collect();
    let subject = format!("avro ({mode}): {}", names.join(" -> "));
    emit_with_registry(args, &findings, registry, &sources, &subject, stdout)
}

/// `--compat` wins over `[avro] compatibility`; BACKWARD is the registry's default.
fn compatibility_mode(args: &DiffArgs, config: &Config) -> Result<Compatibility, InputError> {
    if let Some(word) = &args.compat {
        return word
            .parse()
            .map_err(|e: String| InputError::new(format!("--compat: {e}")));
    }
    match &config.avro.compatibility {
        Some(word) => word.parse().map_err(|e: String| {
            let origin = config
                .path
                .as_ref()
                .map(|p| format!("{}: ", p.display()))
                .unwrap_or_default();
            InputError::new(format!("{origin}[avro] compatibility: {e}"))
        }),
        None => Ok(Compatibility::default()),
    }
}

/// Reads one `.avsc` file. A schema that uses named types it does not define is read again with
/// the other `.avsc` files of its directory as imports (as Avro's build tools do).
fn load(path: &Path) -> Result<Version, InputError> {
    let display = path.display().to_string();
    if path.is_dir() {
        return Err(InputError::in_file(
            display,
            "an Avro schema is a file: give the .avsc file, not a directory",
        ));
    }
    let text = read(path)?;
    let alone = Schema::parse_str(&display, &text);
    let error = match alone {
        Ok(schema) => return Ok(Version { display, schema }),
        Err(e) => e,
    };
    let siblings = sibling_schemas(path);
    if siblings.is_empty() {
        return Err(error);
    }
    let imports: Vec<(String, String)> = siblings
        .iter()
        .filter_map(|p| Some((p.display().to_string(), read(p).ok()?)))
        .collect();
    let borrowed: Vec<(&str, &str)> = imports
        .iter()
        .map(|(d, t)| (d.as_str(), t.as_str()))
        .collect();
    match Schema::parse_with_imports((&display, &text), &borrowed) {
        Ok(schema) => Ok(Version { display, schema }),
        // The schema's own error is the one to show: the imports were only a second try.
        Err(_) => Err(error),
    }
}

fn read(path: &Path) -> Result<String, InputError> {
    std::fs::read_to_string(path).map_err(|e| {
        InputError::in_file(
            path.display().to_string(),
            format!("cannot read the file: {e}"),
        )
    })
}

/// The other `.avsc` files next to `path`, sorted by name.
fn sibling_schemas(path: &Path) -> Vec<PathBuf> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.extension().is_some_and(|x| x == "avsc")
                && p.file_name() != path.file_name()
                && p.is_file()
        })
        .collect();
    found.sort();
    found
}

/// The root's pointer is the empty string, which would read as nothing in a message (and `/`
/// would name the key ""), so it is shown as `(root)`.
fn display_pointer(pointer: &str) -> &str {
    if pointer.is_empty() {
        "(root)"
    } else {
        pointer
    }
}
