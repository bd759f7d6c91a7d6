//! The clap front of contractor: argument parsing, format detection, wiring
//! frontends to reports, and exit codes (0 clean, 1 breaking, 2 bad input or
//! usage). No format logic lives here.

mod asyncapi;
mod avro;
mod git;
mod graphql;

use std::ffi::OsString;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand, ValueEnum};
use contractor_core::config::Config;
use contractor_core::report::{self, Format, Report, TextStyle};
use contractor_core::{Finding, InputError, RuleInfo, Sources};

pub const EXIT_OK: i32 = 0;
pub const EXIT_BREAKING: i32 = 1;
pub const EXIT_BAD_INPUT: i32 = 2;

#[derive(Parser, Debug)]
#[command(
    name = "contractor",
    version,
    about = "Contract-first code generation and breaking-change detection"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Compare two versions of a contract; exit 1 if the change is breaking.
    ///
    /// `contractor diff OLD NEW` compares two files or two module directories.
    /// `contractor diff PATH --against REF` compares PATH with itself at git REF.
    Diff(DiffArgs),
    /// List the breaking-change rules with their categories.
    Rules(RulesArgs),
    /// Generate a typed Rust client and server crate from an OpenAPI document or .proto files.
    ///
    /// Writes Cargo.toml, README.md and src/lib.rs into --out (for .proto input also the
    /// prost/tonic/pbjson files and the encoded descriptor set under src/). With --check,
    /// writes nothing and exits 1 (printing a diff) if the directory differs from what would
    /// be generated.
    Generate(GenerateArgs),
}

#[derive(clap::Args, Debug)]
struct GenerateArgs {
    /// The contract: an OpenAPI 3.0 or 3.1 document (YAML or JSON), a .proto file, or a
    /// directory (every .proto file under it).
    #[arg(value_name = "FILE_OR_DIR")]
    spec: PathBuf,
    /// Import root for .proto files (repeatable). Default: the directory given, or the
    /// .proto file's own directory. Well-known types are built in.
    #[arg(short = 'I', long = "include", value_name = "DIR")]
    includes: Vec<PathBuf>,
    /// The directory of the generated crate.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Generate the client (both sides when neither --client nor --server is given).
    #[arg(long)]
    client: bool,
    /// Generate the server (both sides when neither --client nor --server is given).
    #[arg(long)]
    server: bool,
    /// The crate's name (default: from the file name).
    #[arg(long, value_name = "NAME")]
    crate_name: Option<String>,
    /// Depend on contractor-runtime at this path (default: this contractor's own
    /// source tree when it exists, else the crates.io version).
    #[arg(long, value_name = "PATH", conflicts_with = "runtime_version")]
    runtime_path: Option<PathBuf>,
    /// Depend on this contractor-runtime version from crates.io.
    #[arg(long, value_name = "VERSION")]
    runtime_version: Option<String>,
    /// Do not write; exit 1 if --out differs from what would be generated.
    #[arg(long)]
    check: bool,
}

#[derive(clap::Args, Debug)]
struct DiffArgs {
    /// The old contract (a file or a directory), or with --against the contract to check.
    #[arg(value_name = "OLD")]
    first: PathBuf,
    /// The new contract (a file or a directory).
    #[arg(
        value_name = "NEW",
        required_unless_present = "against",
        conflicts_with = "against"
    )]
    second: Option<PathBuf>,
    /// Avro only: more versions, oldest to newest after OLD and NEW; the last one is the new
    /// schema, checked against the earlier ones (all of them under a *_TRANSITIVE mode).
    #[arg(value_name = "NEWER", requires = "second")]
    more: Vec<PathBuf>,
    /// Compare PATH in the working tree with PATH at this git revision (branch, tag or commit).
    #[arg(long, value_name = "REF")]
    against: Option<String>,
    /// Extra import root for .proto files (repeatable); used for both sides.
    #[arg(short = 'I', long = "include", value_name = "DIR")]
    includes: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    format: OutputFormat,
    /// Rule category to check (repeatable); replaces `use` from the configuration.
    #[arg(long = "category", value_name = "NAME")]
    categories: Vec<String>,
    /// Configuration file (contractor.toml or buf.yaml); found next to NEW by default.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The contract format, when it cannot be told from the files.
    #[arg(long, value_enum)]
    lang: Option<Lang>,
    /// Avro compatibility mode: backward (default), forward, full, their _transitive forms, or
    /// none (case-insensitive); overrides `[avro] compatibility` in the configuration.
    #[arg(long, value_name = "MODE")]
    compat: Option<String>,
    /// When to colour text output.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    color: ColorChoice,
}

#[derive(clap::Args, Debug)]
struct RulesArgs {
    /// Which format's rules.
    #[arg(long, value_enum, default_value_t = Lang::Proto)]
    lang: Lang,
    /// Only rules in this category (proto) or family (openapi).
    #[arg(long, value_name = "NAME")]
    category: Option<String>,
    /// Print JSON lines instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum OutputFormat {
    Text,
    Json,
    Github,
    Sarif,
    Junit,
    /// A changelog grouped by operation, for pull requests.
    Markdown,
}

impl From<OutputFormat> for Format {
    fn from(f: OutputFormat) -> Self {
        match f {
            OutputFormat::Text => Format::Text,
            OutputFormat::Json => Format::Json,
            OutputFormat::Github => Format::Github,
            OutputFormat::Sarif => Format::Sarif,
            OutputFormat::Junit => Format::Junit,
            OutputFormat::Markdown => Format::Markdown,
        }
    }
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum Lang {
    Proto,
    Openapi,
    Graphql,
    Avro,
    Asyncapi,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// Runs the command line `args` (program name first); returns the exit code.
pub fn run(
    args: impl IntoIterator<Item = OsString>,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> i32 {
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let rendered = e.render().ansi().to_string();
            if e.use_stderr() {
                let _ = stderr.write_all(rendered.as_bytes());
                return EXIT_BAD_INPUT;
            }
            let _ = stdout.write_all(rendered.as_bytes());
            return EXIT_OK;
        }
    };
    let result = match cli.command {
        Command::Diff(args) => diff(&args, stdout),
        Command::Rules(args) => rules(&args, stdout),
        Command::Generate(args) => generate(&args, stdout, stderr),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            let _ = writeln!(stderr, "error: {err}");
            EXIT_BAD_INPUT
        }
    }
}

fn generate(
    args: &GenerateArgs,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Result<i32, InputError> {
    if detect_lang(&args.spec)? == Lang::Proto {
        return generate_proto(args, stdout, stderr);
    }
    if !args.spec.is_file() {
        return Err(InputError::in_file(
            args.spec.display().to_string(),
            "no such file",
        ));
    }
    if !args.includes.is_empty() {
        return Err(InputError::new(
            "-I/--include is for .proto input; an OpenAPI document finds its $refs itself",
        ));
    }
    let both = !args.client && !args.server;
    let options = contractor_rust::Options {
        client: both || args.client,
        server: both || args.server,
    };
    let output = contractor_build::generate_openapi(&args.spec, options).map_err(build_error)?;
    let crate_name = crate_name_arg(args)?
        .unwrap_or_else(|| contractor_rust::crate_name(&contractor_build::module_name(&args.spec)));
    let runtime = runtime_dependency(args);
    let source = source_name(&args.spec);
    let files = contractor_rust::sdk_crate(
        &output.api,
        &output.generated,
        &contractor_rust::CrateSpec {
            crate_name: &crate_name,
            source: &source,
            runtime,
            options,
        },
    )
    .map_err(|e| InputError::new(e.to_string()))?;
    let files: Vec<(String, Vec<u8>)> = files
        .into_iter()
        .map(|(path, text)| (path, text.into_bytes()))
        .collect();
    let Some(changed) = write_or_check(args, &files, None, stdout, stderr)? else {
        return Ok(EXIT_BREAKING);
    };
    if args.check {
        return Ok(EXIT_OK);
    }
    let lines = line_count(&files);
    let _ = writeln!(
        stderr,
        "generated {crate_name} in {}: {} operations, {} types, {lines} lines ({changed} files changed)",
        args.out.display(),
        output.generated.operations,
        output.generated.types,
    );
    Ok(EXIT_OK)
}

/// `contractor generate` for a .proto file or a directory of them: a crate around the
/// prost/tonic/pbjson output, compiled by protox (no `protoc`).
fn generate_proto(
    args: &GenerateArgs,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Result<i32, InputError> {
    let (files, default_include) = if args.spec.is_dir() {
        let mut files = Vec::new();
        collect_protos(&args.spec, 0, &mut files)?;
        files.sort();
        (files, args.spec.clone())
    } else {
        let parent = args
            .spec
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_path_buf();
        (vec![args.spec.clone()], parent)
    };
    let includes = if args.includes.is_empty() {
        vec![default_include]
    } else {
        args.includes.clone()
    };
    let module = proto_module_name(&args.spec);
    let crate_name = crate_name_arg(args)?.unwrap_or_else(|| contractor_rust::crate_name(&module));
    let both = !args.client && !args.server;
    let options = contractor_rust::ProtoOptions {
        client: both || args.client,
        server: both || args.server,
        serde: true,
    };
    let generated = contractor_build::generate_proto(&files, &includes, &module, options)
        .result
        .map_err(build_error)?;
    let source = source_name(&args.spec);
    let crate_files = contractor_rust::proto_crate(
        &generated,
        &contractor_rust::ProtoCrateSpec {
            crate_name: &crate_name,
            source: &source,
            runtime: runtime_dependency(args),
            options,
        },
    )
    .map_err(|e| InputError::new(e.to_string()))?;
    // src/<module>/ holds only package files contractor wrote: one no longer generated is
    // stale (drift for --check, removed otherwise).
    let owned_dir = format!("src/{module}");
    let Some(changed) = write_or_check(args, &crate_files, Some(&owned_dir), stdout, stderr)?
    else {
        return Ok(EXIT_BREAKING);
    };
    if args.check {
        return Ok(EXIT_OK);
    }
    let _ = writeln!(
        stderr,
        "generated {crate_name} in {}: {} services, {} methods, {} messages, {} lines ({changed} files changed)",
        args.out.display(),
        generated.services,
        generated.methods,
        generated.messages,
        line_count(&crate_files),
    );
    Ok(EXIT_OK)
}

/// Lines of the text files among `files`.
fn line_count(files: &[(String, Vec<u8>)]) -> usize {
    files
        .iter()
        .filter_map(|(_, contents)| std::str::from_utf8(contents).ok())
        .map(|text| text.lines().count())
        .sum()
}

/// The validated `--crate-name`, if given.
fn crate_name_arg(args: &GenerateArgs) -> Result<Option<String>, InputError> {
    let Some(name) = &args.crate_name else {
        return Ok(None);
    };
    let valid = name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !valid {
        return Err(InputError::new(format!(
            "--crate-name {name:?}: use ASCII letters, digits, '-' and '_', starting with a letter"
        )));
    }
    Ok(Some(name.clone()))
}

/// The contract's own name (file or directory), for comments in the crate: never the path
/// it was reached by, so the output does not depend on the working directory.
fn source_name(spec: &Path) -> String {
    let named = if spec.file_name().is_some() {
        spec.to_path_buf()
    } else {
        std::path::absolute(spec).unwrap_or_else(|_| spec.to_path_buf())
    };
    named
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("contract")
        .to_string()
}

/// The root module of generated proto code: the file's stem, or the directory's name.
fn proto_module_name(spec: &Path) -> String {
    if spec.is_dir() {
        let name = source_name(spec);
        let module = contractor_rust::names::snake(&name);
        return if module.starts_with(|c: char| c.is_ascii_alphabetic()) {
            module
        } else {
            format!("proto_{module}")
        };
    }
    contractor_build::module_name(spec)
}

/// Every .proto file under `dir`, recursively (bounded, so a symlink loop cannot hang).
fn collect_protos(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) -> Result<(), InputError> {
    if depth > 64 {
        return Ok(());
    }
    let entries = std::fs::read_dir(dir).map_err(|e| {
        InputError::in_file(
            dir.display().to_string(),
            format!("cannot read directory: {e}"),
        )
    })?;
    for entry in entries.filter_map(Result::ok) {
        let path = entry.path();
        if path.is_dir() {
            collect_protos(&path, depth + 1, out)?;
        } else if path.extension().is_some_and(|e| e == "proto") {
            out.push(path);
        }
    }
    Ok(())
}

/// Writes `files` under `--out`, or with `--check` compares them and prints a diff.
///
/// Returns the number of files changed, or `None` when `--check` found drift. Files in
/// `owned_dir` (relative to `--out`) that are not among `files` are stale output: reported as
/// drift, or removed.
fn write_or_check(
    args: &GenerateArgs,
    files: &[(String, Vec<u8>)],
    owned_dir: Option<&str>,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Result<Option<usize>, InputError> {
    let stale = match owned_dir {
        Some(dir) => stale_files(&args.out, dir, files),
        None => Vec::new(),
    };
    if args.check {
        let mut drift = false;
        for (relative, contents) in files {
            let path = args.out.join(relative);
            let current = std::fs::read(&path).unwrap_or_default();
            if current == *contents {
                continue;
            }
            drift = true;
            let shown = path.display().to_string();
            match (std::str::from_utf8(&current), std::str::from_utf8(contents)) {
                (Ok(current), Ok(contents)) => {
                    let diff = similar::TextDiff::from_lines(current, contents);
                    let _ = write!(
                        stdout,
                        "{}",
                        diff.unified_diff()
                            .context_radius(3)
                            .header(&shown, &format!("{shown} (generated)"))
                    );
                }
                _ => {
                    let _ = writeln!(stdout, "Binary file {shown} differs");
                }
            }
        }
        for path in &stale {
            drift = true;
            let _ = writeln!(
                stdout,
                "{} is no longer generated (would be removed)",
                path.display()
            );
        }
        if drift {
            let _ = writeln!(
                stderr,
                "{} is out of date with {}: run `contractor generate {} --out {}`",
                args.out.display(),
                args.spec.display(),
                args.spec.display(),
                args.out.display()
            );
            return Ok(None);
        }
        return Ok(Some(0));
    }
    let mut changed = 0;
    for (relative, contents) in files {
        if contractor_build::write_bytes_if_changed(&args.out.join(relative), contents)
            .map_err(build_error)?
        {
            changed += 1;
        }
    }
    for path in &stale {
        std::fs::remove_file(path).map_err(|e| {
            InputError::in_file(path.display().to_string(), format!("cannot remove: {e}"))
        })?;
        changed += 1;
    }
    Ok(Some(changed))
}

/// Generated-looking files (`.rs`) directly in `out/dir` that `files` no longer has.
fn stale_files(out: &Path, dir: &str, files: &[(String, Vec<u8>)]) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(out.join(dir)) else {
        return Vec::new();
    };
    let mut stale: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|entry| entry.file_type().is_ok_and(|t| t.is_file()))
        .filter_map(|entry| {
            let name = entry.file_name().to_str()?.to_string();
            let relative = format!("{dir}/{name}");
            let known = files.iter().any(|(path, _)| *path == relative);
            (name.ends_with(".rs") && !known).then(|| entry.path())
        })
        .collect();
    stale.sort();
    stale
}

fn build_error(e: contractor_build::Error) -> InputError {
    match e {
        contractor_build::Error::Input(e) => e,
        other => InputError::new(other.to_string()),
    }
}

/// Where the generated crate finds contractor-runtime.
fn runtime_dependency(args: &GenerateArgs) -> contractor_rust::RuntimeDependency {
    use contractor_rust::RuntimeDependency;
    if let Some(path) = &args.runtime_path {
        let path = std::path::absolute(path).unwrap_or_else(|_| path.clone());
        return RuntimeDependency::Path(path.display().to_string());
    }
    if let Some(version) = &args.runtime_version {
        return RuntimeDependency::Version(version.clone());
    }
    // A contractor built from source generates crates that build against
    // that same source tree's runtime, as they stand.
    let own = Path::new(env!("CARGO_MANIFEST_DIR")).join("codegen/runtime");
    if own.join("Cargo.toml").is_file() {
        return RuntimeDependency::Path(own.display().to_string());
    }
    RuntimeDependency::Version(env!("CARGO_PKG_VERSION").to_string())
}

fn detect_lang(path: &Path) -> Result<Lang, InputError> {
    let display = path.display().to_string();
    if !path.exists() {
        return Err(InputError::in_file(display, "no such file or directory"));
    }
    if path.is_dir() {
        return if contains_proto(path, 0) {
            Ok(Lang::Proto)
        } else {
            Err(InputError::in_file(
                display,
                "no contract files found in this directory (looked for .proto)",
            ))
        };
    }
    match path.extension().and_then(|e| e.to_str()) {
        Some("proto") => Ok(Lang::Proto),
        Some("avsc") => Ok(Lang::Avro),
        Some("yaml" | "yml" | "json") if asyncapi::is_asyncapi(path) => Ok(Lang::Asyncapi),
        Some("yaml" | "yml" | "json") => Ok(Lang::Openapi),
        Some(ext) if graphql::EXTENSIONS.contains(&ext) => Ok(Lang::Graphql),
        _ => Err(InputError::in_file(
            display,
            "cannot tell the contract format from the file name; pass --lang",
        )),
    }
}

fn contains_proto(dir: &Path, depth: usize) -> bool {
    // Bounded so that a symlink loop cannot hang detection.
    if depth > 64 {
        return false;
    }
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .any(|e| {
            let p = e.path();
            if p.is_dir() {
                contains_proto(&p, depth + 1)
            } else {
                p.extension().is_some_and(|x| x == "proto")
            }
        })
}

fn diff(args: &DiffArgs, stdout: &mut dyn Write) -> Result<i32, InputError> {
    // With more than two versions (Avro only) the last one is the new contract.
    let new_path = args
        .more
        .last()
        .or(args.second.as_ref())
        .unwrap_or(&args.first);
    let lang = match args.lang {
        Some(lang) => lang,
        None => detect_lang(new_path)?,
    };
    if !args.more.is_empty() && lang != Lang::Avro {
        return Err(InputError::new(
            "more than two contracts can only be given for Avro schemas (OLD NEW, or --against)",
        ));
    }
    if args.compat.is_some() && lang != Lang::Avro {
        return Err(InputError::new("--compat applies to Avro schemas only"));
    }
    let config = match &args.config {
        Some(path) => Config::load_file(path, new_path)?,
        None => Config::discover(new_path)?,
    };
    match lang {
        Lang::Proto => diff_proto(args, new_path, &config, stdout),
        Lang::Openapi => diff_openapi(args, new_path, &config, stdout),
        Lang::Graphql => graphql::diff_graphql(args, new_path, &config, stdout),
        Lang::Avro => avro::diff_avro(args, new_path, &config, stdout),
        Lang::Asyncapi => asyncapi::diff_asyncapi(args, new_path, &config, stdout),
    }
}

fn diff_proto(
    args: &DiffArgs,
    new_path: &Path,
    config: &Config,
    stdout: &mut dyn Write,
) -> Result<i32, InputError> {
    use contractor_proto::{Input, Module, load};

    let registry = contractor_proto::registry();
    let infos: Vec<RuleInfo> = registry.iter().map(|r| r.info).collect();
    let selected = config.select(&infos, &args.categories, contractor_proto::DEFAULT_CATEGORY)?;
    let rules: Vec<&'static contractor_proto::Rule> = registry
        .iter()
        .filter(|r| selected.iter().any(|s| s.id == r.info.id))
        .collect();

    let fs_input = |path: &Path| {
        if path.is_dir() {
            Input::Dir(path.to_path_buf())
        } else {
            Input::File(path.to_path_buf())
        }
    };
    let old_input = match (&args.against, &args.second) {
        (Some(rev), _) => {
            let snap = git::snapshot(new_path, rev, |name| name.ends_with(".proto"))?;
            Input::Memory {
                files: snap.files,
                display_prefix: snap.display_prefix,
                fs_root: if snap.is_file {
                    new_path.parent().map(Path::to_path_buf).unwrap_or_default()
                } else {
                    new_path.to_path_buf()
                },
                single_file: snap.is_file,
            }
        }
        (None, _) => {
            if !args.first.exists() {
                return Err(InputError::in_file(
                    args.first.display().to_string(),
                    "no such file or directory",
                ));
            }
            fs_input(&args.first)
        }
    };
    let new_input = fs_input(new_path);
    if matches!(
        old_input,
        Input::File(_)
            | Input::Memory {
                single_file: true,
                ..
            }
    ) != matches!(new_input, Input::File(_))
    {
        return Err(InputError::new(
            "OLD and NEW must both be files or both be directories",
        ));
    }

    // The two sides compile independently: do them at once.
    let (old, new) = std::thread::scope(|s| {
        let old = s.spawn(|| load(&old_input, &args.includes));
        let new = load(&new_input, &args.includes);
        (
            old.join().unwrap_or_else(|_| {
                Err(InputError::new(
                    "internal error while compiling the old side",
                ))
            }),
            new,
        )
    });
    let (old, new): (Module, Module) = (old?, new?);

    let mut findings = contractor_proto::diff(&old, &new, &rules);
    findings.retain(|f| {
        let info = infos.iter().find(|i| i.id == f.rule);
        let fs_path = new
            .file(&f.scope)
            .map(|m| m.fs_path.clone())
            .unwrap_or_else(|| new.fs_root.join(&f.scope));
        let ignored = info.is_some_and(|i| config.is_ignored(i, &fs_path));
        let unstable =
            config.breaking.ignore_unstable_packages && in_unstable_package(f, &old, &new);
        !ignored && !unstable
    });

    let mut sources = Sources::default();
    sources.extend(old.sources);
    sources.extend(new.sources);
    let subject = diff_subject(args, "proto", new_path);
    let rule_infos: Vec<RuleInfo> = rules.iter().map(|r| r.info).collect();
    emit(args, &findings, &rule_infos, &sources, &subject, stdout)
}

fn diff_openapi(
    args: &DiffArgs,
    new_path: &Path,
    config: &Config,
    stdout: &mut dyn Write,
) -> Result<i32, InputError> {
    use contractor_openapi::{DocumentSet, Options, load_text, load_with, lower, rules};

    let registry = rules::registry();
    config.openapi.check(registry)?;
    let old_text = match &args.against {
        Some(rev) => {
            let snap = git::snapshot(new_path, rev, |_| true)?;
            Some(snap.files.into_values().next().unwrap_or_default())
        }
        None => None,
    };
    let old_path = if args.against.is_some() {
        new_path
    } else {
        args.first.as_path()
    };
    if new_path.is_dir() || old_path.is_dir() {
        return Err(InputError::new(
            "an OpenAPI contract is a file: give the root document, not a directory",
        ));
    }
    let load_old = || match &old_text {
        Some(text) => load_text(old_path, text, Options::default()),
        None => load_with(old_path, Options::default()),
    };
    // Both sides load and lower independently: do them at once.
    let lower_side = |docs: Result<DocumentSet, InputError>| -> Result<(DocumentSet, contractor_openapi::model::Api), InputError> {
        let mut docs = docs?;
        let api = lower::lower(&mut docs)?;
        Ok((docs, api))
    };
    let (old, new) = std::thread::scope(|s| {
        let old = s.spawn(|| lower_side(load_old()));
        let new = lower_side(load_with(new_path, Options::default()));
        (
            old.join().unwrap_or_else(|_| {
                Err(InputError::new("internal error while reading the old side"))
            }),
            new,
        )
    });
    let ((old_docs, old_api), (new_docs, new_api)) = (old?, new?);

    let today = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| (d.as_secs() / 86_400) as i64)
        .unwrap_or_default();
    let options = rules::Options {
        today,
        deprecation_grace_days: config.openapi.deprecation_grace_days,
    };
    let mut findings = rules::diff(&old_api, &new_api, &options);
    findings.retain(|f| {
        registry
            .iter()
            .find(|r| r.id == f.rule)
            .is_some_and(|info| {
                config.openapi.is_selected(info) && !config.openapi.is_ignored(info, &f.scope)
            })
    });
    for f in &mut findings {
        if let Some(severity) = config.openapi.severity_for(f.rule)? {
            f.severity = severity;
        }
    }

    let mut sources = Sources::default();
    for docs in [&old_docs, &new_docs] {
        for (_, file) in docs.files() {
            sources.insert(file.display().to_string(), file.source().clone());
        }
    }
    let subject = diff_subject(args, "openapi", new_path);
    emit_with_registry(args, &findings, registry, &sources, &subject, stdout)
}

fn in_unstable_package(
    f: &Finding,
    old: &contractor_proto::Module,
    new: &contractor_proto::Module,
) -> bool {
    let package = new
        .file(&f.scope)
        .or_else(|| old.file(&f.scope))
        .map(|m| m.proto.package());
    package.is_some_and(contractor_proto::is_unstable_package)
}

/// The report's subject: `LANG: OLD -> NEW`, or `LANG: NEW against REV` with `--against`.
fn diff_subject(args: &DiffArgs, lang: &str, new_path: &Path) -> String {
    match &args.against {
        Some(rev) => format!("{lang}: {} against {rev}", new_path.display()),
        None => format!("{lang}: {} -> {}", args.first.display(), new_path.display()),
    }
}

/// Renders `findings` with the entries of `registry` they name (the report lists those rules).
fn emit_with_registry(
    args: &DiffArgs,
    findings: &[Finding],
    registry: &[RuleInfo],
    sources: &Sources,
    subject: &str,
    stdout: &mut dyn Write,
) -> Result<i32, InputError> {
    let used: std::collections::BTreeSet<&str> = findings.iter().map(|f| f.rule).collect();
    let rule_infos: Vec<RuleInfo> = registry
        .iter()
        .filter(|r| used.contains(r.id))
        .copied()
        .collect();
    emit(args, findings, &rule_infos, sources, subject, stdout)
}

fn emit(
    args: &DiffArgs,
    findings: &[Finding],
    rules: &[RuleInfo],
    sources: &Sources,
    subject: &str,
    stdout: &mut dyn Write,
) -> Result<i32, InputError> {
    let report = Report {
        findings,
        rules,
        sources,
        subject,
    };
    let color = match args.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    };
    let text = report::render(args.format.into(), &report, TextStyle { color });
    stdout
        .write_all(text.as_bytes())
        .map_err(|e| InputError::new(format!("cannot write output: {e}")))?;
    Ok(if report.is_breaking() {
        EXIT_BREAKING
    } else {
        EXIT_OK
    })
}

fn rules(args: &RulesArgs, stdout: &mut dyn Write) -> Result<i32, InputError> {
    let all: Vec<RuleInfo> = match args.lang {
        Lang::Proto => contractor_proto::registry()
            .iter()
            .map(|r| r.info)
            .collect(),
        Lang::Openapi => contractor_openapi::rules::registry().to_vec(),
        Lang::Graphql => contractor_graphql::registry().to_vec(),
        Lang::Avro => contractor_avro::registry().to_vec(),
        Lang::Asyncapi => contractor_asyncapi::registry().to_vec(),
    };
    let rules: Vec<RuleInfo> = all
        .into_iter()
        .filter(|r| args.category.as_ref().is_none_or(|c| r.in_category(c)))
        .collect();
    if rules.is_empty() {
        return Err(InputError::new(format!(
            "no rules in category `{}`",
            args.category.as_deref().unwrap_or("")
        )));
    }
    let mut out = String::new();
    if args.json {
        for r in &rules {
            out.push_str(&serde_json::to_string(r).unwrap_or_default());
            out.push('\n');
        }
    } else {
        let width = rules.iter().map(|r| r.id.len()).max().unwrap_or(2);
        out.push_str(&format!(
            "{:width$}  {:34}  {:7}  PURPOSE\n",
            "ID", "CATEGORIES", "DEFAULT"
        ));
        for r in &rules {
            let categories = if r.deprecated {
                "(deprecated)".to_string()
            } else {
                r.categories.join(", ")
            };
            let default = if r.default { "*" } else { "" };
            out.push_str(&format!(
                "{:width$}  {categories:34}  {default:7}  {}\n",
                r.id, r.purpose
            ));
        }
    }
    stdout
        .write_all(out.as_bytes())
        .map_err(|e| InputError::new(format!("cannot write output: {e}")))?;
    Ok(EXIT_OK)
}
