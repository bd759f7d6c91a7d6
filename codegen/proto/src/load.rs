//! Compiling a protobuf module with protox: no `protoc`, ever.
//!
//! A module is the set of `.proto` files under a root directory (or one file).
//! Imports resolve against the module itself, then the `-I` include
//! directories, then the well-known types built into protox.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use contractor_core::{InputError, Position, SourceText, Sources};
use miette::Diagnostic;
use prost_types::FileDescriptorProto;
use protox::file::{File, FileResolver, GoogleFileResolver};

/// Where a module's files come from.
#[derive(Debug, Clone)]
pub enum Input {
    /// Every `.proto` file under this directory; names are relative to it.
    Dir(PathBuf),
    /// One file. Compared with the other side's one file whatever the names.
    File(PathBuf),
    /// Files already in memory (e.g. read from git objects), name -> text.
    /// `display_prefix` is prepended to names in messages (e.g. `main:proto/`),
    /// `fs_root` is where the files would be on disk (for `ignore` paths).
    Memory {
        files: BTreeMap<String, String>,
        display_prefix: String,
        fs_root: PathBuf,
        single_file: bool,
    },
}

/// One file of the module, with its descriptor and a span index.
#[derive(Debug)]
pub struct ModuleFile {
    /// The name imports use, e.g. `google/pubsub/v1/pubsub.proto`.
    pub name: String,
    /// The path shown to the user.
    pub display: String,
    /// Where the file is (or would be) on disk, for `ignore` matching.
    pub fs_path: PathBuf,
    pub proto: FileDescriptorProto,
    pub text: SourceText,
    spans: HashMap<Vec<i32>, [u32; 4]>,
}

impl ModuleFile {
    /// The 1-based span of the element at descriptor `path`, if the source has one.
    pub fn span(&self, path: &[i32]) -> Option<(Position, Position)> {
        // The file as a whole has no single place to point at; buf uses 1:1 too.
        if path.is_empty() {
            return None;
        }
        self.spans.get(path).map(|s| {
            (
                Position::new(s[0] + 1, s[1] + 1),
                Position::new(s[2] + 1, s[3] + 1),
            )
        })
    }
}

/// A compiled module: its own files plus every file they import (for type lookups).
#[derive(Debug)]
pub struct Module {
    pub files: Vec<ModuleFile>,
    /// Every compiled file by name, imports included.
    pub all_files: HashMap<String, FileDescriptorProto>,
    pub single_file: bool,
    pub sources: Sources,
    /// The fs directory a deleted file would have lived in.
    pub fs_root: PathBuf,
    pub display_prefix: String,
}

impl Module {
    pub fn file(&self, name: &str) -> Option<&ModuleFile> {
        self.files.iter().find(|f| f.name == name)
    }
}

/// What the resolver found while compiling: text and display path by name, for
/// turning protox errors into `file:line:column`.
#[derive(Default)]
struct Opened {
    files: HashMap<String, (String, Arc<str>)>,
}

struct Resolver {
    /// Module files: name -> (display path, text).
    module: BTreeMap<String, (String, Arc<str>)>,
    includes: Vec<PathBuf>,
    google: GoogleFileResolver,
    opened: Arc<Mutex<Opened>>,
}

impl FileResolver for Resolver {
    fn resolve_path(&self, path: &Path) -> Option<String> {
        let name = path.to_str()?;
        self.module.contains_key(name).then(|| name.to_string())
    }

    fn open_file(&self, name: &str) -> Result<File, protox::Error> {
        let (display, text) = if let Some((display, text)) = self.module.get(name) {
            (display.clone(), text.clone())
        } else if name.starts_with("google/protobuf/")
            && let Ok(file) = self.google.open_file(name)
        {
            // The well-known types are built in, as in buf: a copy on an include
            // path (often a newer descriptor.proto using editions) never shadows them.
            return Ok(file);
        } else if let Some((display, text)) = self.read_include(name)? {
            (display, text)
        } else {
            return self.google.open_file(name);
        };
        self.opened
            .lock()
            .map_err(|_| protox::Error::new("resolver poisoned"))?
            .files
            .insert(name.to_string(), (display, text.clone()));
        File::from_source(name, &text)
    }
}

impl Resolver {
    fn read_include(&self, name: &str) -> Result<Option<(String, Arc<str>)>, protox::Error> {
        if name.split('/').any(|c| c == ".." || c.is_empty()) {
            return Ok(None);
        }
        for dir in &self.includes {
            let path = dir.join(name);
            match std::fs::read(&path) {
                Ok(bytes) => {
                    let text = String::from_utf8(bytes).map_err(|_| {
                        protox::Error::new(format!("{}: file is not valid UTF-8", path.display()))
                    })?;
                    return Ok(Some((path.display().to_string(), text.into())));
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) if path.is_dir() => {
                    let _ = e;
                }
                Err(e) => return Err(protox::Error::new(format!("{}: {e}", path.display()))),
            }
        }
        Ok(None)
    }
}

/// Compiles `input` with `includes` as extra import roots.
pub fn load(input: &Input, includes: &[PathBuf]) -> Result<Module, InputError> {
    let mut includes = includes.to_vec();
    let (module_files, single_file, fs_root, display_prefix) = match input {
        Input::Dir(root) => {
            let mut names = Vec::new();
            collect_protos(root, root, &mut names)?;
            if names.is_empty() {
                return Err(InputError::in_file(
                    root.display().to_string(),
                    "no .proto files in this directory",
                ));
            }
            let prefix = display_dir(root);
            let mut files = BTreeMap::new();
            for name in names {
                let path = root.join(&name);
                let text = read_text(&path)?;
                files.insert(name.clone(), (format!("{prefix}{name}"), text));
            }
            (files, false, root.clone(), prefix)
        }
        Input::File(path) => {
            let text = read_text(path)?;
            let (name, root) = single_file_name(path, &includes);
            if !includes.contains(&root) {
                includes.insert(0, root.clone());
            }
            let mut files = BTreeMap::new();
            files.insert(name, (path.display().to_string(), text));
            (files, true, root, String::new())
        }
        Input::Memory {
            files,
            display_prefix,
            fs_root,
            single_file,
        } => {
            let files = files
                .iter()
                .map(|(name, text)| {
                    (
                        name.clone(),
                        (
                            format!("{display_prefix}{name}"),
                            Arc::<str>::from(text.as_str()),
                        ),
                    )
                })
                .collect();
            (files, *single_file, fs_root.clone(), display_prefix.clone())
        }
    };

    let opened = Arc::new(Mutex::new(Opened::default()));
    let names: Vec<String> = module_files.keys().cloned().collect();
    let resolver = Resolver {
        module: module_files.clone(),
        includes,
        google: GoogleFileResolver::new(),
        opened: opened.clone(),
    };
    let mut compiler = protox::Compiler::with_file_resolver(resolver);
    compiler.include_imports(true).include_source_info(true);
    for name in &names {
        if let Err(err) = compiler.open_file(name) {
            let opened = opened.lock().map(|o| o.files.clone()).unwrap_or_default();
            return Err(to_input_error(&err, &opened, &module_files, name));
        }
    }

    let mut all_files = HashMap::new();
    for file in compiler.file_descriptor_set().file {
        all_files.insert(file.name().to_string(), file);
    }
    let mut sources = Sources::default();
    let mut files = Vec::with_capacity(names.len());
    for name in names {
        let (display, text) = &module_files[&name];
        sources.insert(display.clone(), SourceText::new(&**text));
        let proto = all_files.get(&name).cloned().unwrap_or_default();
        let spans = proto
            .source_code_info
            .as_ref()
            .map(|info| {
                info.location
                    .iter()
                    .filter_map(|l| {
                        let s = &l.span;
                        let span = match *s.as_slice() {
                            [line, col, end_col] => [line, col, line, end_col],
                            [line, col, end_line, end_col] => [line, col, end_line, end_col],
                            _ => return None,
                        };
                        // The first location for a path is the declaration itself.
                        Some((l.path.clone(), span.map(|v| v.max(0) as u32)))
                    })
                    .fold(HashMap::new(), |mut map, (path, span)| {
                        map.entry(path).or_insert(span);
                        map
                    })
            })
            .unwrap_or_default();
        let fs_path = if single_file {
            match input {
                Input::File(path) => path.clone(),
                _ => fs_root.join(&name),
            }
        } else {
            fs_root.join(&name)
        };
        files.push(ModuleFile {
            name,
            display: display.clone(),
            fs_path,
            proto,
            text: SourceText::new(&**text),
            spans,
        });
    }
    Ok(Module {
        files,
        all_files,
        single_file,
        sources,
        fs_root,
        display_prefix,
    })
}

fn read_text(path: &Path) -> Result<Arc<str>, InputError> {
    let display = path.display().to_string();
    let bytes = std::fs::read(path)
        .map_err(|e| InputError::in_file(&display, format!("cannot read: {e}")))?;
    String::from_utf8(bytes).map(Arc::from).map_err(|e| {
        let offset = e.utf8_error().valid_up_to();
        let text = String::from_utf8_lossy(e.as_bytes());
        InputError::at(
            &display,
            SourceText::new(text.as_ref()).position(offset),
            "file is not valid UTF-8",
        )
    })
}

/// `dir/` as the user typed it (`./` dropped), so display paths stay clickable.
fn display_dir(root: &Path) -> String {
    let s = root.display().to_string();
    let s = s.trim_end_matches('/');
    if s.is_empty() || s == "." {
        String::new()
    } else {
        format!("{s}/")
    }
}

/// A single file's import name: relative to the include directory that holds
/// it, or its bare file name (with its directory as an import root).
fn single_file_name(path: &Path, includes: &[PathBuf]) -> (String, PathBuf) {
    let abs = contractor_core::config::absolute(path);
    for dir in includes {
        if let Ok(rel) = abs.strip_prefix(contractor_core::config::absolute(dir))
            && let Some(name) = rel.to_str()
        {
            return (name.replace('\\', "/"), dir.clone());
        }
    }
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("input.proto")
        .to_string();
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf();
    (name, parent)
}

fn collect_protos(root: &Path, dir: &Path, out: &mut Vec<String>) -> Result<(), InputError> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        InputError::in_file(
            dir.display().to_string(),
            format!("cannot read directory: {e}"),
        )
    })?;
    let mut entries: Vec<_> = entries.filter_map(Result::ok).collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            collect_protos(root, &path, out)?;
        } else if path.extension().is_some_and(|e| e == "proto")
            && let Ok(rel) = path.strip_prefix(root)
            && let Some(name) = rel.to_str()
        {
            out.push(name.replace('\\', "/"));
        }
    }
    Ok(())
}

/// Turns a protox error into `file:line:column: reason`.
fn to_input_error(
    err: &protox::Error,
    opened: &HashMap<String, (String, Arc<str>)>,
    module: &BTreeMap<String, (String, Arc<str>)>,
    compiling: &str,
) -> InputError {
    let mut message = err.to_string();
    if message.ends_with("but found 'edition'") {
        message = "protobuf editions (`edition = ...`) are not supported: contractor compiles proto2 and proto3 files".into();
    }
    let name = err.file().unwrap_or(compiling).to_string();
    let found = opened.get(&name).or_else(|| module.get(&name));
    let display = found
        .map(|(d, _)| d.clone())
        .unwrap_or_else(|| name.clone());
    let offset = err
        .labels()
        .and_then(|mut labels| labels.next())
        .map(|l| l.offset());
    match (found, offset) {
        (Some((_, text)), Some(offset)) => {
            InputError::at(display, SourceText::new(&**text).position(offset), message)
        }
        _ => InputError::in_file(display, message),
    }
}
