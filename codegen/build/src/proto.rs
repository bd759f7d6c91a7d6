//! `.proto` files → generated gRPC code: compile with protox (no `protoc`), then hand the
//! descriptor set to `contractor_rust::proto`.
//!
//! Requested files are named by path; each must lie under one of the include directories
//! (its import name is its path relative to the first such directory, as `protoc -I` does).
//! Imports resolve against the include directories in order, except the well-known types
//! (`google/protobuf/*.proto`), which always come from protox's built-in copies, as in
//! `contractor diff`: a newer `descriptor.proto` on an include path can never break
//! generation, and the generated code maps those types to `pbjson_types` anyway.

use std::collections::{BTreeMap, HashSet};
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex};

use contractor_core::{InputError, SourceText};
use contractor_rust::{ProtoGenerated, ProtoOptions};
use miette::Diagnostic;
use protox::file::{File, FileResolver, GoogleFileResolver};

use crate::Error;

/// The result of one generation, with the files it read whether it succeeded or not (so that
/// a build script can still ask Cargo to rerun once a broken file is fixed).
pub struct ProtoOutput {
    pub result: Result<ProtoGenerated, Error>,
    /// Every file read from disk, dependencies first (on failure: in the order opened), each
    /// once, as the include directory joined with the import name. Built-in well-known types
    /// are not files and never listed.
    pub files_read: Vec<PathBuf>,
}

/// Compiles `files` with `includes` as import roots and generates the tree rooted at `root`.
pub fn generate_proto(
    files: &[PathBuf],
    includes: &[PathBuf],
    root: &str,
    options: ProtoOptions,
) -> ProtoOutput {
    let opened = Arc::new(Mutex::new(OpenedFiles::default()));
    let result = compile_and_generate(files, includes, root, options, &opened);
    let files_read = match &result {
        Ok((_, read)) => read.clone(),
        Err(_) => opened
            .lock()
            .map(|o| o.in_order.clone())
            .unwrap_or_default(),
    };
    ProtoOutput {
        result: result.map(|(generated, _)| generated),
        files_read,
    }
}

fn compile_and_generate(
    files: &[PathBuf],
    includes: &[PathBuf],
    root: &str,
    options: ProtoOptions,
    opened: &Arc<Mutex<OpenedFiles>>,
) -> Result<(ProtoGenerated, Vec<PathBuf>), Error> {
    if files.is_empty() {
        return Err(InputError::new("no .proto files given").into());
    }
    let mut names = Vec::with_capacity(files.len());
    for file in files {
        names.push(import_name(file, includes)?);
    }
    let resolver = DiskResolver {
        includes: includes.to_vec(),
        google: GoogleFileResolver::new(),
        opened: opened.clone(),
    };
    let mut compiler = protox::Compiler::with_file_resolver(resolver);
    // Source info carries the comments that become rustdoc.
    compiler.include_imports(true).include_source_info(true);
    for (name, file) in names.iter().zip(files) {
        if let Err(error) = compiler.open_file(name) {
            let opened = opened.lock().map(|o| o.by_name.clone()).unwrap_or_default();
            return Err(to_input_error(&error, &opened, file).into());
        }
    }

    let mut files_read = Vec::new();
    let mut seen = HashSet::new();
    for metadata in compiler.files() {
        if let Some(path) = metadata.path()
            && path.is_file()
            && seen.insert(crate::normalized(path))
        {
            files_read.push(path.to_path_buf());
        }
    }
    // The name may have been found in an earlier include directory than the one holding the
    // file the user named: generating from another file silently would be worse than failing.
    for (name, file) in names.iter().zip(files) {
        let found = compiler
            .files()
            .find(|m| m.name() == name)
            .and_then(|m| m.path());
        if let Some(found) = found
            && crate::normalized(found) != crate::normalized(file)
        {
            return Err(InputError::in_file(
                file.display().to_string(),
                format!(
                    "its import name {name} is shadowed by {} (an earlier include directory)",
                    found.display()
                ),
            )
            .into());
        }
    }

    let set = compiler.file_descriptor_set();
    for descriptor in &set.file {
        let well_known = descriptor.name().starts_with("google/protobuf/");
        if !well_known && descriptor.package().is_empty() {
            let display = compiler
                .files()
                .find(|m| m.name() == descriptor.name())
                .and_then(|m| m.path())
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| descriptor.name().to_string());
            return Err(InputError::in_file(
                display,
                "generation needs a `package` declaration: its types need a Rust module",
            )
            .into());
        }
    }
    let mut generated = contractor_rust::proto(&set, &names, root, options)?;
    // protox's own encoding keeps extension options (google.api.http, field_behavior, ...),
    // which prost-types' model drops; reflection clients get the schema as written.
    generated.descriptor_set = compiler.encode_file_descriptor_set();
    Ok((generated, files_read))
}

/// The import name of `file`: its path relative to the first include directory holding it.
fn import_name(file: &Path, includes: &[PathBuf]) -> Result<String, Error> {
    let display = file.display().to_string();
    if !file.is_file() {
        return Err(InputError::in_file(display, "no such file").into());
    }
    let absolute = crate::normalized(file);
    for include in includes {
        let Ok(relative) = absolute.strip_prefix(crate::normalized(include)) else {
            continue;
        };
        let parts: Option<Vec<&str>> = relative
            .components()
            .map(|c| match c {
                Component::Normal(part) => part.to_str(),
                _ => None,
            })
            .collect();
        match parts {
            Some(parts) if !parts.is_empty() => return Ok(parts.join("/")),
            _ => {
                return Err(InputError::in_file(
                    display,
                    "the path relative to its include directory is not valid UTF-8",
                )
                .into());
            }
        }
    }
    let listed = includes
        .iter()
        .map(|i| i.display().to_string())
        .collect::<Vec<_>>()
        .join(", ");
    Err(InputError::in_file(
        display,
        if includes.is_empty() {
            "not under any include directory (none given)".to_string()
        } else {
            format!("not under any include directory ({listed})")
        },
    )
    .into())
}

/// What the resolver opened from disk: for `rerun-if-changed` after a failure, and for turning
/// protox errors into `file:line:column` with the path the user knows.
#[derive(Default)]
struct OpenedFiles {
    by_name: BTreeMap<String, PathBuf>,
    in_order: Vec<PathBuf>,
}

struct DiskResolver {
    includes: Vec<PathBuf>,
    google: GoogleFileResolver,
    opened: Arc<Mutex<OpenedFiles>>,
}

impl FileResolver for DiskResolver {
    // Files are always opened by import name (see `import_name`), never by path.
    fn resolve_path(&self, _path: &Path) -> Option<String> {
        None
    }

    fn open_file(&self, name: &str) -> Result<File, protox::Error> {
        if name.starts_with("google/protobuf/")
            && let Ok(file) = self.google.open_file(name)
        {
            return Ok(file);
        }
        // An import is a relative name: `..`, empty segments and absolute names never reach
        // outside the include directories.
        let escapes = name.starts_with('/')
            || name
                .split('/')
                .any(|segment| segment.is_empty() || segment == "." || segment == "..");
        if !escapes {
            for include in &self.includes {
                // `./x.proto` is shown (and watched) as `x.proto`, as the user would write it.
                let path: PathBuf = include
                    .join(name)
                    .components()
                    .filter(|c| *c != Component::CurDir)
                    .collect();
                if path.is_file() {
                    if let Ok(mut opened) = self.opened.lock()
                        && !opened.by_name.contains_key(name)
                    {
                        opened.by_name.insert(name.to_string(), path.clone());
                        opened.in_order.push(path.clone());
                    }
                    return File::open(name, &path);
                }
            }
        }
        Err(protox::Error::file_not_found(name))
    }
}

/// A protox error as `file:line:column: reason`, the file as found on disk.
fn to_input_error(
    error: &protox::Error,
    opened: &BTreeMap<String, PathBuf>,
    requested: &Path,
) -> InputError {
    let mut message = error.to_string();
    if message.ends_with("but found 'edition'") {
        message = "protobuf editions (`edition = ...`) are not supported: contractor compiles proto2 and proto3 files".into();
    }
    let path = match error.file() {
        Some(name) => opened.get(name).cloned(),
        None => Some(requested.to_path_buf()),
    };
    let display = match (&path, error.file()) {
        (Some(path), _) => path.display().to_string(),
        (None, Some(name)) => name.to_string(),
        (None, None) => requested.display().to_string(),
    };
    let offset = error
        .labels()
        .and_then(|mut labels| labels.next())
        .map(|label| label.offset());
    let text = path.and_then(|p| std::fs::read(p).ok());
    match (text, offset) {
        (Some(bytes), Some(offset)) => {
            let text = String::from_utf8_lossy(&bytes);
            InputError::at(
                display,
                SourceText::new(text.as_ref()).position(offset),
                message,
            )
        }
        _ => InputError::in_file(display, message),
    }
}
