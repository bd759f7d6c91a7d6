//! The Rust backend of contractor: lowered contracts → `syn`/`quote` tokens
//! → formatted, deterministic Rust.
//!
//! - [`openapi`]: the items generated for an OpenAPI document (types, the
//!   operation table, a client and/or a server), as formatted source.
//! - [`sdk_crate`]: a complete crate around those items (Cargo.toml,
//!   README.md, src/lib.rs), from the handlebars templates in `templates/sdk`.
//! - [`proto()`]: the gRPC side: messages, tonic clients and servers, proto3 JSON
//!   and the runtime's method table from a compiled protobuf descriptor set;
//!   [`proto_crate`] frames them as a crate (`templates/grpc`).
//!
//! The backend never reads files: it gets the lowered
//! [`Api`](contractor_openapi::model::Api) (or a descriptor set) and returns text. Everything from
//! the contract reaches the output as identifiers made by [`names`] or as
//! string literals, so no contract can inject code.

pub mod docs;
pub mod http;
pub mod names;
pub mod proto;
pub mod types;
pub mod validation;

use std::fmt;

use contractor_openapi::model::Api;
use handlebars::Handlebars;
use serde_json::json;

pub use proto::{ProtoGenerated, ProtoOptions, proto};

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    pub client: bool,
    pub server: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            client: true,
            server: true,
        }
    }
}

/// A failure of the backend itself (the contract was already accepted):
/// generated tokens that do not parse, or a template that does not render.
#[derive(Debug)]
pub struct GenerateError(String);

impl fmt::Display for GenerateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for GenerateError {}

/// The generated items for one OpenAPI document.
#[derive(Debug, Clone)]
pub struct Generated {
    /// Formatted Rust items, without inner attributes, so the text can be
    /// `include!`d (build.rs) or wrapped into a crate's lib.rs.
    pub code: String,
    pub operations: usize,
    pub types: usize,
}

/// Generates the items for `api`: types, operation table, client, server.
///
/// The sections of the output are rendered, parsed and formatted on all
/// cores (token streams and `syn` dominate the time on big contracts); the
/// result does not depend on how the work was split.
pub fn openapi(api: &Api, options: Options) -> Result<Generated, GenerateError> {
    let plan = http::HttpApi::plan(api);
    let sections = plan.sections(options.client, options.server);
    let texts = parallel_map(&sections, |section| {
        let tokens = plan.render_section(section);
        match section {
            // Items of the `types` module: formatted inside a module frame so
            // that they are indented (and wrapped) as they will stand.
            http::Section::Types(_) | http::Section::OperationTypes => {
                let text = format_items(quote::quote! { mod types { #tokens } })?;
                let inner = text
                    .strip_prefix("mod types {\n")
                    .and_then(|t| t.strip_suffix("}\n"))
                    .unwrap_or("");
                Ok(inner.to_string())
            }
            _ => format_items(tokens),
        }
    });
    let mut types_body = String::new();
    let mut rest = String::new();
    for (section, text) in sections.iter().zip(texts) {
        let text = text?;
        match section {
            http::Section::Types(_) | http::Section::OperationTypes => types_body.push_str(&text),
            _ => rest.push_str(&text),
        }
    }
    // The `types` module's frame, formatted like the rest, around its
    // separately formatted items.
    let attrs = plan.types_module_attrs();
    let frame = format_items(quote::quote! { #attrs pub mod types {} })?;
    let frame = frame
        .trim_end()
        .strip_suffix("{}")
        .ok_or_else(|| GenerateError("internal error: unexpected module frame".to_string()))?;
    let code = format!("{frame}{{\n{types_body}}}\n{rest}");
    Ok(Generated {
        code,
        operations: plan.operation_count(),
        types: plan.type_names().len(),
    })
}

fn format_items(tokens: proc_macro2::TokenStream) -> Result<String, GenerateError> {
    let file: syn::File = syn::parse2(tokens).map_err(|e| {
        GenerateError(format!(
            "internal error: generated code does not parse ({e}); please report this with the contract"
        ))
    })?;
    Ok(prettyplease::unparse(&file))
}

/// Stack of each formatting thread.
const WORKER_STACK: usize = 64 * 1024 * 1024;

/// `f` over `items` on every core, results in the order of `items`.
fn parallel_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, items.len().max(1));
    let next = AtomicUsize::new(0);
    let results: Vec<Mutex<Option<R>>> = items.iter().map(|_| Mutex::new(None)).collect();
    // The last items (client and server, the biggest) go first, so that no
    // core is left finishing a big one alone.
    let order: Vec<usize> = (0..items.len()).rev().collect();
    std::thread::scope(|scope| {
        for _ in 0..workers {
            // syn and prettyplease recurse on nesting: give them room
            // whatever thread (a build script's, a test's) called us.
            let spawned = std::thread::Builder::new()
                .stack_size(WORKER_STACK)
                .spawn_scoped(scope, || {
                    loop {
                        let n = next.fetch_add(1, Ordering::Relaxed);
                        let Some(&i) = order.get(n) else { break };
                        let item = &items[i];
                        let value = f(item);
                        if let Ok(mut slot) = results[i].lock() {
                            *slot = Some(value);
                        }
                    }
                });
            if spawned.is_err() {
                break;
            }
        }
    });
    // Whatever a failed spawn left undone runs here.
    for (i, slot) in results.iter().enumerate() {
        if let Ok(mut slot) = slot.lock()
            && slot.is_none()
        {
            *slot = Some(f(&items[i]));
        }
    }
    results
        .into_iter()
        .map(|slot| {
            slot.into_inner()
                .ok()
                .flatten()
                .expect("every section is rendered exactly once")
        })
        .collect()
}

/// How the generated crate depends on `contractor-runtime`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuntimeDependency {
    /// A version requirement from crates.io.
    Version(String),
    /// A local path (inside a workspace, for tests and examples).
    Path(String),
}

impl RuntimeDependency {
    fn toml(&self) -> String {
        self.toml_with_features(&[])
    }

    /// The inline table, with `features = [...]` when some are needed.
    fn toml_with_features(&self, features: &[&str]) -> String {
        let source = match self {
            RuntimeDependency::Version(v) => format!("version = {}", toml_string(v)),
            RuntimeDependency::Path(p) => format!("path = {}", toml_string(p)),
        };
        if features.is_empty() {
            return format!("{{ {source} }}");
        }
        let features: Vec<String> = features.iter().map(|f| toml_string(f)).collect();
        format!("{{ {source}, features = [{}] }}", features.join(", "))
    }
}

/// Everything needed to frame generated items as a crate.
#[derive(Debug, Clone)]
pub struct CrateSpec<'a> {
    pub crate_name: &'a str,
    /// The contract, as the user named it (written into comments).
    pub source: &'a str,
    pub runtime: RuntimeDependency,
    pub options: Options,
}

const CARGO_TOML: &str = include_str!("../../../templates/sdk/Cargo.toml.hbs");
const README: &str = include_str!("../../../templates/sdk/README.md.hbs");
const LIB_RS: &str = include_str!("../../../templates/sdk/lib.rs.hbs");

/// A complete crate: (relative path, contents), in a stable order.
pub fn sdk_crate(
    api: &Api,
    generated: &Generated,
    spec: &CrateSpec<'_>,
) -> Result<Vec<(String, String)>, GenerateError> {
    let hb = templates(&[("cargo", CARGO_TOML), ("readme", README), ("lib", LIB_RS)])?;
    let title = one_line(if api.title.is_empty() {
        "API"
    } else {
        &api.title
    });
    let api_version = one_line(&api.api_version);
    let source = one_line(spec.source);
    let version = cargo_version(&api.api_version);
    let data = json!({
        "crate_name": spec.crate_name,
        "crate_name_toml": toml_string(spec.crate_name),
        "lib_name": spec.crate_name.replace('-', "_"),
        "version": toml_string(&version),
        "description": toml_string(&format!("{title}: client and server generated by contractor")),
        "runtime": spec.runtime.toml(),
        "source": source,
        "title": title,
        "api_version": api_version,
        "operations": generated.operations,
        "types": generated.types,
        "client": spec.options.client,
        "server": spec.options.server,
        "code": generated.code,
    });
    let render = |name: &str| {
        hb.render(name, &data)
            .map_err(|e| GenerateError(format!("internal error: template {name}: {e}")))
    };
    Ok(vec![
        ("Cargo.toml".to_string(), render("cargo")?),
        ("README.md".to_string(), render("readme")?),
        ("src/lib.rs".to_string(), render("lib")?),
    ])
}

/// Everything needed to frame generated gRPC code as a crate.
#[derive(Debug, Clone)]
pub struct ProtoCrateSpec<'a> {
    pub crate_name: &'a str,
    /// The contract (file or directory name) as the user named it (written into comments).
    pub source: &'a str,
    pub runtime: RuntimeDependency,
    pub options: ProtoOptions,
}

const GRPC_CARGO_TOML: &str = include_str!("../../../templates/grpc/Cargo.toml.hbs");
const GRPC_README: &str = include_str!("../../../templates/grpc/README.md.hbs");
const GRPC_LIB_RS: &str = include_str!("../../../templates/grpc/lib.rs.hbs");

/// A complete crate around generated gRPC code: (relative path, contents), in a stable
/// order. `src/lib.rs` holds the root module, so its relative `include!`s find the package
/// files under `src/`; the descriptor set is the one binary file.
pub fn proto_crate(
    generated: &ProtoGenerated,
    spec: &ProtoCrateSpec<'_>,
) -> Result<Vec<(String, Vec<u8>)>, GenerateError> {
    let hb = templates(&[
        ("cargo", GRPC_CARGO_TOML),
        ("readme", GRPC_README),
        ("lib", GRPC_LIB_RS),
    ])?;
    let packages = match generated.package_names.as_slice() {
        [] => "no package".to_string(),
        [one] => format!("`{}`", one_line(one)),
        many => many
            .iter()
            .map(|p| format!("`{}`", one_line(p)))
            .collect::<Vec<_>>()
            .join(", "),
    };
    let lib_name = spec.crate_name.replace('-', "_");
    let module_path = |package: &str| {
        std::iter::once(lib_name.clone())
            .chain(package.split('.').map(names::snake))
            .collect::<Vec<_>>()
            .join("::")
    };
    let modules = generated
        .package_names
        .iter()
        .map(|p| format!("`{}`", module_path(p)))
        .collect::<Vec<_>>()
        .join(", ");
    // The first service's client and server, as tonic names them, for the README's examples.
    let (example_client, example_server) = match generated.service_names.first() {
        Some(full_name) => {
            let (package, service) = full_name.rsplit_once('.').unwrap_or(("", full_name));
            let module = module_path(package);
            let snake = names::snake(service);
            let pascal = names::pascal(service);
            (
                format!("{module}::{snake}_client::{pascal}Client"),
                format!("{module}::{snake}_server::{pascal}Server"),
            )
        }
        None => (String::new(), String::new()),
    };
    let counted = |n: usize, what: &str| {
        if n == 1 {
            format!("1 {what}")
        } else {
            format!("{n} {what}s")
        }
    };
    let data = json!({
        "crate_name": spec.crate_name,
        "crate_name_toml": toml_string(spec.crate_name),
        "lib_name": lib_name,
        "description": toml_string(&format!(
            "gRPC clients and servers for {}, generated by contractor",
            packages.replace('`', "")
        )),
        "runtime": spec.runtime.toml_with_features(&["grpc"]),
        "source": one_line(spec.source),
        "packages": packages,
        "modules": modules,
        "counts": format!(
            "{}, {}, {}",
            counted(generated.services, "service"),
            counted(generated.methods, "method"),
            counted(generated.messages, "message")
        ),
        "example_client": example_client,
        "example_server": example_server,
        "client": spec.options.client,
        "server": spec.options.server,
        "serde": spec.options.serde,
        "runtime_table": spec.options.client || spec.options.server,
        "code": generated.root,
    });
    let render = |name: &str| {
        hb.render(name, &data)
            .map(String::into_bytes)
            .map_err(|e| GenerateError(format!("internal error: template {name}: {e}")))
    };
    let mut files = vec![
        ("Cargo.toml".to_string(), render("cargo")?),
        ("README.md".to_string(), render("readme")?),
        ("src/lib.rs".to_string(), render("lib")?),
        (
            format!("src/{}", generated.descriptor_set_path),
            generated.descriptor_set.clone(),
        ),
    ];
    let header = format!(
        "// @generated by contractor from {}. Do not edit.\n\n",
        one_line(spec.source)
    );
    files.extend(generated.files.iter().map(|(path, code)| {
        (
            format!("src/{path}"),
            format!("{header}{code}").into_bytes(),
        )
    }));
    Ok(files)
}

/// A strict, non-escaping registry of the given templates.
fn templates(sources: &[(&str, &str)]) -> Result<Handlebars<'static>, GenerateError> {
    let mut hb = Handlebars::new();
    hb.set_strict_mode(true);
    hb.register_escape_fn(handlebars::no_escape);
    for (name, text) in sources {
        hb.register_template_string(name, *text)
            .map_err(|e| GenerateError(format!("internal error: template {name}: {e}")))?;
    }
    Ok(hb)
}

/// A crate name from a contract's file name or title: lower-case ASCII
/// letters, digits and dashes, starting with a letter.
pub fn crate_name(from: &str) -> String {
    let snake = names::snake(from).trim_matches('_').replace('_', "-");
    let name = if snake.starts_with(|c: char| c.is_ascii_alphabetic()) {
        snake
    } else {
        format!("api-{snake}")
    };
    name.trim_end_matches('-').to_string()
}

/// Text for a one-line comment or a TOML string: no line breaks or controls.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

fn toml_string(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The API's version as a SemVer crate version (`2022-11-28` and `v1` are
/// not; they become `0.1.0`-style versions that still sort sensibly).
fn cargo_version(api_version: &str) -> String {
    let parts: Vec<&str> = api_version.trim_start_matches('v').split('.').collect();
    let numeric = |s: &str| !s.is_empty() && s.len() < 10 && s.chars().all(|c| c.is_ascii_digit());
    match parts.as_slice() {
        [a, b, c] if numeric(a) && numeric(b) && numeric(c) => {
            format!(
                "{}.{}.{}",
                a.parse::<u64>().unwrap_or(0),
                b.parse::<u64>().unwrap_or(0),
                c.parse::<u64>().unwrap_or(0)
            )
        }
        [a, b] if numeric(a) && numeric(b) => {
            format!(
                "{}.{}.0",
                a.parse::<u64>().unwrap_or(0),
                b.parse::<u64>().unwrap_or(0)
            )
        }
        [a] if numeric(a) => format!("{}.0.0", a.parse::<u64>().unwrap_or(0)),
        _ => "0.1.0".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crate_names_and_versions_are_valid() {
        assert_eq!(crate_name("petstore.yaml"), "petstore-yaml");
        assert_eq!(crate_name("2024 API"), "api-2024-api");
        assert_eq!(cargo_version("1.2.3"), "1.2.3");
        assert_eq!(cargo_version("v2"), "2.0.0");
        assert_eq!(cargo_version("2022-11-28"), "0.1.0");
        assert_eq!(toml_string("a\"b\nc"), "\"a\\\"b\\u000Ac\"");
        assert_eq!(one_line("Pets\n}\nfn evil() {}"), "Pets } fn evil() {}");
    }
}
