//! The build.rs entry point of contractor, and the generation pipeline the
//! CLI shares with it.
//!
//! ```no_run
//! // in build.rs's main:
//! contractor_build::Builder::new()
//!     .openapi("schemas/shop/v1/shop.yaml")
//!     .compile()
//!     .unwrap_or_else(|e| panic!("{e}"));
//! ```
//!
//! and in the crate, `include!(concat!(env!("OUT_DIR"), "/shop.rs"));`.
//! The crate depends on `contractor-runtime` only.
//!
//! [`Builder::compile`] prints one `cargo:rerun-if-changed` line for every
//! file the loader actually read (the root document and every file reached
//! through `$ref`), never a directory or a path that does not exist, so
//! Cargo reruns the step exactly when a contract changes. Output files are
//! only rewritten when their contents change, so a no-op build stays a
//! no-op for everything downstream.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

use contractor_core::InputError;
use contractor_rust::{Generated, Options};

/// A failed generation: bad input (with file:line:column) or a write error.
#[derive(Debug)]
pub enum Error {
    Input(InputError),
    Generate(contractor_rust::GenerateError),
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    NoOutDir,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Input(e) => write!(f, "{e}"),
            Error::Generate(e) => write!(f, "{e}"),
            Error::Io { path, source } => write!(f, "{}: {source}", path.display()),
            Error::NoOutDir => write!(
                f,
                "OUT_DIR is not set: run from a build script, or call Builder::out_dir"
            ),
        }
    }
}

impl std::error::Error for Error {}

impl From<InputError> for Error {
    fn from(e: InputError) -> Self {
        Error::Input(e)
    }
}

impl From<contractor_rust::GenerateError> for Error {
    fn from(e: contractor_rust::GenerateError) -> Self {
        Error::Generate(e)
    }
}

/// One OpenAPI document, generated.
pub struct OpenApiOutput {
    pub api: contractor_openapi::model::Api,
    pub generated: Generated,
    /// Every file read to produce it, in the order they were loaded.
    pub files_read: Vec<PathBuf>,
}

/// Loads, checks and lowers an OpenAPI document, then generates its items.
pub fn generate_openapi(path: &Path, options: Options) -> Result<OpenApiOutput, Error> {
    let mut docs = contractor_openapi::load(path)?;
    let files_read = docs.files().map(|(_, f)| f.path().to_path_buf()).collect();
    let api = contractor_openapi::lower::lower(&mut docs)?;
    let generated = contractor_rust::openapi(&api, options)?;
    Ok(OpenApiOutput {
        api,
        generated,
        files_read,
    })
}

/// Writes `contents` to `path` unless it already holds exactly that, so
/// that an unchanged output keeps its modification time.
pub fn write_if_changed(path: &Path, contents: &str) -> Result<bool, Error> {
    if std::fs::read(path).is_ok_and(|old| old == contents.as_bytes()) {
        return Ok(false);
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|source| Error::Io {
            path: dir.to_path_buf(),
            source,
        })?;
    }
    std::fs::write(path, contents).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(true)
}

struct OpenApiJob {
    path: PathBuf,
    module: Option<String>,
}

/// Generates code from contracts in a build script.
///
/// Reads like the sentence it stands for:
/// `Builder::new().openapi("schemas/shop.yaml").server(false).compile()`.
#[must_use]
pub struct Builder {
    openapi: Vec<OpenApiJob>,
    options: Options,
    out_dir: Option<PathBuf>,
    emit_rerun: bool,
}

impl Default for Builder {
    fn default() -> Self {
        Self::new()
    }
}

impl Builder {
    pub fn new() -> Self {
        Builder {
            openapi: Vec::new(),
            options: Options::default(),
            out_dir: None,
            emit_rerun: true,
        }
    }

    /// Adds an OpenAPI 3.0/3.1 document; the output is `<file stem>.rs`.
    pub fn openapi(mut self, path: impl AsRef<Path>) -> Self {
        self.openapi.push(OpenApiJob {
            path: path.as_ref().to_path_buf(),
            module: None,
        });
        self
    }

    /// Adds an OpenAPI document written to `<module>.rs`.
    pub fn openapi_as(mut self, path: impl AsRef<Path>, module: &str) -> Self {
        self.openapi.push(OpenApiJob {
            path: path.as_ref().to_path_buf(),
            module: Some(module.to_string()),
        });
        self
    }

    /// Generate the client (default: yes).
    pub fn client(mut self, yes: bool) -> Self {
        self.options.client = yes;
        self
    }

    /// Generate the server (default: yes).
    pub fn server(mut self, yes: bool) -> Self {
        self.options.server = yes;
        self
    }

    /// Write here instead of `OUT_DIR`.
    pub fn out_dir(mut self, dir: impl AsRef<Path>) -> Self {
        self.out_dir = Some(dir.as_ref().to_path_buf());
        self
    }

    /// Print `cargo:rerun-if-changed` lines (default: yes).
    pub fn emit_rerun_if_changed(mut self, yes: bool) -> Self {
        self.emit_rerun = yes;
        self
    }

    /// Generates every contract; returns the files written or kept.
    pub fn compile(self) -> Result<Vec<PathBuf>, Error> {
        let stdout = std::io::stdout();
        let mut out = stdout.lock();
        self.compile_to(&mut out)
    }

    /// [`compile`](Self::compile), with Cargo's instructions written to `cargo`.
    pub fn compile_to(self, cargo: &mut dyn Write) -> Result<Vec<PathBuf>, Error> {
        let out_dir = match &self.out_dir {
            Some(dir) => dir.clone(),
            None => std::env::var_os("OUT_DIR")
                .map(PathBuf::from)
                .ok_or(Error::NoOutDir)?,
        };
        let mut written = Vec::new();
        for job in &self.openapi {
            let output = match generate_openapi(&job.path, self.options) {
                Ok(output) => output,
                Err(error) => {
                    // Even a failed load must tell Cargo which file to watch.
                    if self.emit_rerun && job.path.is_file() {
                        rerun(cargo, &job.path);
                    }
                    return Err(error);
                }
            };
            if self.emit_rerun {
                let mut seen = std::collections::HashSet::new();
                for file in &output.files_read {
                    let key = file.canonicalize().unwrap_or_else(|_| file.clone());
                    if file.is_file() && seen.insert(key) {
                        rerun(cargo, file);
                    }
                }
            }
            let module = match &job.module {
                Some(m) => m.clone(),
                None => module_name(&job.path),
            };
            let path = out_dir.join(format!("{module}.rs"));
            let header = format!(
                "// @generated by contractor from {}. Do not edit.\n\n",
                display_name(&job.path)
            );
            write_if_changed(&path, &(header + &output.generated.code))?;
            written.push(path);
        }
        Ok(written)
    }
}

fn rerun(cargo: &mut dyn Write, path: &Path) {
    let _ = writeln!(cargo, "cargo:rerun-if-changed={}", path.display());
}

/// A module name from a file name: `shop.v1.yaml` → `shop_v1`.
pub fn module_name(path: &Path) -> String {
    let stem = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("contract");
    contractor_rust::names::snake(stem)
}

fn display_name(path: &Path) -> String {
    path.file_name()
        .and_then(|s| s.to_str())
        .unwrap_or("contract")
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}
