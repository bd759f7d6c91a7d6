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
//! `.proto` files the same way, compiled by protox (no `protoc` anywhere):
//!
//! ```no_run
//! contractor_build::Builder::new()
//!     .proto(&["../../schemas/orders/v1/orders.proto"], &["../../schemas/orders"])
//!     .compile()
//!     .unwrap_or_else(|e| panic!("{e}"));
//! ```
//!
//! writes `orders.rs` (a module per protobuf package, `GRPC_METHODS`,
//! `FILE_DESCRIPTOR_SET`), `orders.bin` and `orders/<package>.rs` files, and
//! the crate does `include!(concat!(env!("OUT_DIR"), "/orders.rs"));`. That
//! code names `tonic`, `tonic_prost`, `prost`, `pbjson`, `pbjson_types` and
//! `serde` directly, so the crate depends on them, and on `contractor-runtime`
//! with its `grpc` feature.
//!
//! [`Builder::compile`] prints one `cargo:rerun-if-changed` line for every
//! file the loader actually read (the root document and every file reached
//! through `$ref`; for protobuf every file protox read, imports included,
//! but not its built-in well-known types), never a directory or a path that
//! does not exist, so
//! Cargo reruns the step exactly when a contract changes. Output files are
//! only rewritten when their contents change, so a no-op build stays a
//! no-op for everything downstream.

mod proto;

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

use contractor_core::InputError;
use contractor_rust::{Generated, Options, ProtoOptions};

pub use proto::{ProtoOutput, generate_proto};

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
    write_bytes_if_changed(path, contents.as_bytes())
}

/// [`write_if_changed`] for binary contents (the encoded descriptor set).
pub fn write_bytes_if_changed(path: &Path, contents: &[u8]) -> Result<bool, Error> {
    if std::fs::read(path).is_ok_and(|old| old == contents) {
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

struct ProtoJob {
    files: Vec<PathBuf>,
    includes: Vec<PathBuf>,
    module: Option<String>,
}

/// Generates code from contracts in a build script.
///
/// Reads like the sentence it stands for:
/// `Builder::new().openapi("schemas/shop.yaml").server(false).compile()`.
#[must_use]
pub struct Builder {
    openapi: Vec<OpenApiJob>,
    proto: Vec<ProtoJob>,
    options: Options,
    proto_serde: bool,
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
            proto: Vec::new(),
            options: Options::default(),
            proto_serde: true,
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

    /// Adds `.proto` files, compiled together with `includes` as import roots (each file
    /// must lie under one of them; well-known types are built in). The output is
    /// `<stem of the first file>.rs`, next to `<stem>.bin` and a `<stem>/` directory.
    pub fn proto(self, files: &[impl AsRef<Path>], includes: &[impl AsRef<Path>]) -> Self {
        self.proto_job(files, includes, None)
    }

    /// Adds `.proto` files written to `<module>.rs` (and `<module>.bin`, `<module>/`).
    pub fn proto_as(
        self,
        files: &[impl AsRef<Path>],
        includes: &[impl AsRef<Path>],
        module: &str,
    ) -> Self {
        self.proto_job(files, includes, Some(module.to_string()))
    }

    fn proto_job(
        mut self,
        files: &[impl AsRef<Path>],
        includes: &[impl AsRef<Path>],
        module: Option<String>,
    ) -> Self {
        self.proto.push(ProtoJob {
            files: files.iter().map(|f| f.as_ref().to_path_buf()).collect(),
            includes: includes.iter().map(|i| i.as_ref().to_path_buf()).collect(),
            module,
        });
        self
    }

    /// For `.proto` input: serde impls following the proto3 JSON mapping, with the
    /// well-known types from `pbjson-types` (default: yes). Without them, messages use
    /// `prost-types` and the crate needs neither pbjson nor serde.
    pub fn serde(mut self, yes: bool) -> Self {
        self.proto_serde = yes;
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
        for job in &self.proto {
            written.extend(self.compile_proto(job, &out_dir, cargo)?);
        }
        Ok(written)
    }

    fn compile_proto(
        &self,
        job: &ProtoJob,
        out_dir: &Path,
        cargo: &mut dyn Write,
    ) -> Result<Vec<PathBuf>, Error> {
        let module = match (&job.module, job.files.first()) {
            (Some(module), _) => module.clone(),
            (None, Some(first)) => module_name(first),
            (None, None) => {
                return Err(InputError::new("Builder::proto was given no .proto files").into());
            }
        };
        let options = ProtoOptions {
            client: self.options.client,
            server: self.options.server,
            serde: self.proto_serde,
        };
        let output = generate_proto(&job.files, &job.includes, &module, options);
        if self.emit_rerun {
            let mut watched = output.files_read.clone();
            if output.result.is_err() {
                // A file that failed before protox opened it (outside the include
                // directories, say) is still the one whose fix should rerun the build.
                watched.extend(job.files.iter().cloned());
            }
            let mut seen = std::collections::HashSet::new();
            for file in &watched {
                if file.is_file() && seen.insert(normalized(file)) {
                    rerun(cargo, file);
                }
            }
        }
        let generated = output.result?;
        let sources = job
            .files
            .iter()
            .map(|f| display_name(f))
            .collect::<Vec<_>>()
            .join(", ");
        let header = format!("// @generated by contractor from {sources}. Do not edit.\n\n");
        let mut written = Vec::new();
        let root = out_dir.join(format!("{module}.rs"));
        write_if_changed(&root, &(header.clone() + &generated.root))?;
        written.push(root);
        let descriptor_set = out_dir.join(&generated.descriptor_set_path);
        write_bytes_if_changed(&descriptor_set, &generated.descriptor_set)?;
        written.push(descriptor_set);
        for (relative, code) in &generated.files {
            let path = out_dir.join(relative);
            write_if_changed(&path, &(header.clone() + code))?;
            written.push(path);
        }
        Ok(written)
    }
}

/// `path` absolute and without `.`/`..`, for comparing paths written differently.
pub(crate) fn normalized(path: &Path) -> PathBuf {
    contractor_core::config::absolute(path)
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
