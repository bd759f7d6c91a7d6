//! gRPC generation: a compiled protobuf descriptor set → Rust messages (prost), clients and
//! servers (tonic), the proto3 JSON mapping (pbjson), and contractor's own method table.
//!
//! The input is what protox produced (`FileDescriptorSet` with source info, imports
//! included, dependencies first) and the names of the files the user asked for. The output is
//! a small tree of text files plus the encoded descriptor set:
//!
//! ```text
//! <root>.rs                    nested `pub mod` per package segment, GRPC_METHODS, FILE_DESCRIPTOR_SET
//! <root>.bin                   the encoded descriptor set (gRPC reflection, health)
//! <root>/orders.v1.rs          prost messages + tonic client/server of package orders.v1
//! <root>/orders.v1.serde.rs    pbjson serde impls of package orders.v1
//! ```
//!
//! Package files live in a directory named after the root because a package can have the
//! root's own name (`package orders;` in `orders.proto` would otherwise be `orders.rs` twice),
//! and because two roots generated into one OUT_DIR may both carry a package (`google.api`,
//! say) with different contents. Every `include!` is relative, so the same tree works in
//! OUT_DIR (`include!(concat!(env!("OUT_DIR"), "/orders.rs"))`) and in a crate's `src/`.
//!
//! Why the generators are driven in memory: prost-build's `Config::generate` and pbjson-build's
//! `Builder::generate` both return text for a set of descriptors, while their `compile_*`/`build`
//! entry points write into OUT_DIR (or a directory named to them) and read the environment.
//! Going through the in-memory entry points (tonic-prost-build contributes its
//! `ServiceGenerator`, the same object `compile_fds_with_config` installs) keeps generation a
//! pure function of the descriptor set: no temporary directory, no OUT_DIR, and byte-identical
//! output on every run, which is what lets build.rs, the CLI and `--check` agree.
//!
//! Well-known types (`google.protobuf.*`) are never generated: with serde they are
//! `pbjson_types` (whose serde impls follow the proto3 JSON mapping: RFC 3339 timestamps,
//! `"1.5s"` durations, wrappers as bare values), without it `prost_types`. Every other file of
//! the set (the requested ones and their imports: `google.api`, `google.type`, ...) is.

use std::collections::BTreeMap;

use prost::Message as _;
use prost_types::method_options::IdempotencyLevel;
use prost_types::{FileDescriptorProto, FileDescriptorSet};
use quote::quote;

use crate::GenerateError;

/// What to generate from a descriptor set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProtoOptions {
    /// tonic clients (`orders_client::OrdersClient`).
    pub client: bool,
    /// tonic servers (`orders_server::{Orders, OrdersServer}`).
    pub server: bool,
    /// serde impls following the proto3 JSON mapping (camelCase names, enums as strings,
    /// 64-bit integers as strings, well-known types in their JSON form), via pbjson.
    pub serde: bool,
}

impl Default for ProtoOptions {
    fn default() -> Self {
        ProtoOptions {
            client: true,
            server: true,
            serde: true,
        }
    }
}

/// The generated tree for one root module.
#[derive(Debug, Clone)]
pub struct ProtoGenerated {
    /// The root module's items, formatted: a `pub mod` per package segment with relative
    /// `include!`s of the package files, `GRPC_METHODS` (when a client or a server is
    /// generated) and `FILE_DESCRIPTOR_SET`. No inner attributes, so the text can be
    /// `include!`d (build.rs) or wrapped into a crate's `lib.rs`.
    pub root: String,
    /// The package files as (path relative to the root file's directory, contents), sorted.
    pub files: Vec<(String, String)>,
    /// Where `FILE_DESCRIPTOR_SET` reads the encoded set from, relative to the root file.
    pub descriptor_set_path: String,
    /// The encoded `FileDescriptorSet` (every file, imports and well-known types included,
    /// since reflection clients resolve dependencies from it).
    pub descriptor_set: Vec<u8>,
    /// The protobuf packages of the requested files, sorted.
    pub package_names: Vec<String>,
    /// The services of the requested files by full name (`orders.v1.Orders`), in order.
    pub service_names: Vec<String>,
    /// Counts for a one-line summary.
    pub packages: usize,
    pub services: usize,
    pub methods: usize,
    pub messages: usize,
}

/// The package whose types come from `pbjson_types`/`prost_types` instead of being generated.
const WELL_KNOWN_PACKAGE: &str = "google.protobuf";

/// The lints prost, tonic and pbjson output trips, allowed on the package modules only
/// (contractor's own items next to them are held to the full lint set). Found by running
/// `cargo clippy` over every corpus contract (googleapis pubsub, storage, tasks, secret
/// manager, iam, longrunning) and `tests/fixtures/proto/shapes`:
///
/// - `clippy::large_enum_variant`: a `oneof` becomes an enum whose variants are the messages
///   in it, unboxed (googleapis storage: 904 bytes next to a string).
/// - `clippy::doc_lazy_continuation`: proto comments become rustdoc as written, and list
///   items continued with a one-space indent are not Markdown's idea of a list.
const GENERATED_CODE_ALLOWS: &[&str] = &[
    "clippy::large_enum_variant",
    "clippy::doc_lazy_continuation",
];

/// Info-string words that keep a fenced block a Rust doctest (rustdoc's own attributes).
const DOCTEST_WORDS: &[&str] = &[
    "rust",
    "ignore",
    "should_panic",
    "no_run",
    "compile_fail",
    "test_harness",
    "standalone_crate",
    "edition2015",
    "edition2018",
    "edition2021",
    "edition2024",
];

/// Stack of the generation threads: prost-build, tonic-build and pbjson-build recurse on the
/// nesting of messages, and the caller may be a build script's or a test's small thread.
const GENERATOR_STACK: usize = 64 * 1024 * 1024;

/// Generates the tree for `requested` (file names as in the set, e.g. `orders/v1/orders.proto`)
/// into a root module called `root` (an identifier-like file stem, e.g. `orders`).
///
/// Fails on a requested file that is not in the set, a generated file without a `package`
/// (Rust needs a module to put it in), or an internal failure of a generator (reported, never
/// a panic of the caller).
pub fn proto(
    set: &FileDescriptorSet,
    requested: &[String],
    root: &str,
    options: ProtoOptions,
) -> Result<ProtoGenerated, GenerateError> {
    // A file named twice is generated (and listed in the method table) once.
    let mut unique: Vec<String> = Vec::with_capacity(requested.len());
    for name in requested {
        if !unique.contains(name) {
            unique.push(name.clone());
        }
    }
    let requested = unique.as_slice();
    for name in requested {
        if !set.file.iter().any(|f| f.name() == name) {
            return Err(GenerateError(format!(
                "{name}: not in the compiled descriptor set"
            )));
        }
    }
    let generated_files: Vec<&FileDescriptorProto> =
        set.file.iter().filter(|f| !is_well_known(f)).collect();
    if let Some(file) = generated_files.iter().find(|f| f.package().is_empty()) {
        return Err(GenerateError(format!(
            "{}: a file needs a `package` to be generated (its types need a Rust module)",
            file.name()
        )));
    }
    let root_dir = root_directory(root)?;

    let (messages_and_services, json) = std::thread::scope(|scope| {
        let prost = spawn_generator(scope, || generate_prost(set, options));
        let json = options
            .serde
            .then(|| spawn_generator(scope, || generate_pbjson(set, &generated_files)));
        (
            join_generator(prost, "prost/tonic"),
            json.map(|handle| join_generator(handle, "pbjson")),
        )
    });
    let messages_and_services = messages_and_services??;
    let json = match json {
        Some(result) => result??,
        None => BTreeMap::new(),
    };

    let mut tree = ModuleTree::default();
    let mut files = Vec::new();
    for (module, code) in &messages_and_services {
        let stem = file_stem(module);
        let path = format!("{root_dir}/{stem}.rs");
        files.push((path.clone(), code.clone()));
        let mut includes = vec![path];
        if let Some(json_code) = json.get(module) {
            let path = format!("{root_dir}/{stem}.serde.rs");
            files.push((path.clone(), json_code.clone()));
            includes.push(path);
        }
        tree.insert(module, includes);
    }
    // pbjson output for a package prost had nothing for cannot happen (both see the same
    // packages), but if it did, the impls would have no types to attach to: say so.
    if let Some(module) = json
        .keys()
        .find(|m| !messages_and_services.contains_key(*m))
    {
        return Err(GenerateError(format!(
            "internal error: JSON impls for package module {} without its messages",
            module.join("::")
        )));
    }
    files.sort();

    let descriptor_set_path = format!("{root_dir}.bin");
    let methods = method_table(set, requested);
    let packages_tokens = tree.tokens()?;
    let methods_tokens = if options.client || options.server {
        methods_const(&methods)
    } else {
        proc_macro2::TokenStream::new()
    };
    let descriptor_literal = descriptor_set_path.as_str();
    let descriptor_tokens = quote! {
        /// The encoded `FileDescriptorSet` of the contract (imports and well-known types
        /// included), for gRPC server reflection and anything else that needs the schema at run
        /// time.
        pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(#descriptor_literal);
    };
    // One blank line between top-level items, as rustfmt would leave them.
    let mut root_items = Vec::new();
    for tokens in [packages_tokens, methods_tokens, descriptor_tokens] {
        if !tokens.is_empty() {
            root_items.push(crate::format_items(tokens)?);
        }
    }
    let root_code = root_items.join("\n");

    // In the order asked for, as the method table is.
    let requested_files = || {
        requested
            .iter()
            .filter_map(|name| set.file.iter().find(|f| f.name() == name))
    };
    let mut package_names: Vec<String> =
        requested_files().map(|f| f.package().to_string()).collect();
    package_names.sort();
    package_names.dedup();
    let service_names = requested_files()
        .flat_map(|f| {
            f.service
                .iter()
                .map(|s| format!("{}.{}", f.package(), s.name()))
        })
        .collect();
    Ok(ProtoGenerated {
        root: root_code,
        files,
        descriptor_set_path,
        descriptor_set: set.encode_to_vec(),
        package_names,
        service_names,
        packages: messages_and_services.len(),
        services: requested_files().map(|f| f.service.len()).sum(),
        methods: methods.len(),
        messages: generated_files
            .iter()
            .map(|f| count_messages(&f.message_type))
            .sum(),
    })
}

fn is_well_known(file: &FileDescriptorProto) -> bool {
    let package = file.package();
    package == WELL_KNOWN_PACKAGE
        || package
            .strip_prefix(WELL_KNOWN_PACKAGE)
            .is_some_and(|rest| rest.starts_with('.'))
}

/// The directory (and `.bin` stem) of a root: must stay one plain path component.
fn root_directory(root: &str) -> Result<String, GenerateError> {
    let valid = !root.is_empty()
        && root
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if valid {
        Ok(root.to_string())
    } else {
        Err(GenerateError(format!(
            "{root:?} is not a module name: use ASCII letters, digits, '_' and '-'"
        )))
    }
}

/// A prost module path as a file stem: `["google", "r#type"]` → `google.type`.
fn file_stem(module: &[String]) -> String {
    module
        .iter()
        .map(|part| part.strip_prefix("r#").unwrap_or(part))
        .collect::<Vec<_>>()
        .join(".")
}

fn count_messages(messages: &[prost_types::DescriptorProto]) -> usize {
    messages
        .iter()
        .filter(|m| !m.options.as_ref().is_some_and(|o| o.map_entry()))
        .map(|m| 1 + count_messages(&m.nested_type))
        .sum()
}

/// A package module path, as prost names it (snake case, keywords raw: `google::r#type`).
type ModulePath = Vec<String>;

type GeneratorResult = Result<BTreeMap<ModulePath, String>, GenerateError>;

fn spawn_generator<'scope, 'env>(
    scope: &'scope std::thread::Scope<'scope, 'env>,
    work: impl FnOnce() -> GeneratorResult + Send + 'scope,
) -> Result<std::thread::ScopedJoinHandle<'scope, GeneratorResult>, GenerateError> {
    std::thread::Builder::new()
        .stack_size(GENERATOR_STACK)
        .spawn_scoped(scope, work)
        .map_err(|e| GenerateError(format!("cannot start a generator thread: {e}")))
}

/// The generator's result; a panic inside prost-build, tonic-build or pbjson-build (they
/// `unwrap` on shapes they do not expect) becomes an error rather than taking the caller down.
fn join_generator(
    handle: Result<std::thread::ScopedJoinHandle<'_, GeneratorResult>, GenerateError>,
    which: &str,
) -> Result<GeneratorResult, GenerateError> {
    let handle = handle?;
    handle.join().map_err(|payload| {
        let reason = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown reason".to_string());
        GenerateError(format!(
            "internal error: the {which} generator failed on this contract ({reason}); please report it with the .proto files"
        ))
    })
}

/// Messages (prost) and, through tonic-prost-build's service generator, clients and servers.
fn generate_prost(set: &FileDescriptorSet, options: ProtoOptions) -> GeneratorResult {
    let mut config = prost_build::Config::new();
    if options.serde {
        // Well-known types from pbjson-types, whose serde impls follow the JSON mapping.
        config
            .compile_well_known_types()
            .extern_path(format!(".{WELL_KNOWN_PACKAGE}"), "::pbjson_types");
    }
    if options.client || options.server {
        config.service_generator(
            tonic_prost_build::configure()
                .build_client(options.client)
                .build_server(options.server)
                .emit_rerun_if_changed(false)
                .service_generator(),
        );
    }
    // Every file goes in, well-known ones too: prost-build's message graph must see every
    // message a field refers to. Their modules come back empty (every type is extern) and are
    // dropped by prost-build itself.
    let requests = set
        .file
        .iter()
        .map(|file| {
            (
                prost_build::Module::from_protobuf_package_name(file.package()),
                file.clone(),
            )
        })
        .collect();
    let modules = config
        .generate(requests)
        .map_err(|e| GenerateError(format!("prost-build: {e}")))?;
    Ok(modules
        .into_iter()
        .filter(|(_, code)| !code.trim().is_empty())
        .map(|(module, code)| {
            (
                module.parts().map(str::to_string).collect(),
                code_blocks_as_text(&code),
            )
        })
        .collect())
}

/// Marks every fenced code block in the `///` comments of `code` that rustdoc would run as a
/// doctest (no info string, or only rustdoc's own words) as `text`.
///
/// Proto comments are prose for other languages: an example in one is JSON, a proto snippet or
/// pseudo-code, and as a doctest it would fail the consuming crate's `cargo test`.
/// prost-build's Markdown cleanup tags most blocks already, but not all (a fence inside a list
/// item, as in googleapis storage, comes out as an untagged block); this catches the rest.
fn code_blocks_as_text(code: &str) -> String {
    let mut out = String::with_capacity(code.len() + 64);
    // The fence character and length of the block being read, if inside one.
    let mut open_fence: Option<(char, usize)> = None;
    for line in code.split_inclusive('\n') {
        let Some((prefix, doc)) = split_doc_comment(line) else {
            open_fence = None;
            out.push_str(line);
            continue;
        };
        let text = doc.trim_start();
        let fence_char = text.chars().next().filter(|c| *c == '`' || *c == '~');
        let fence_len = fence_char.map_or(0, |c| text.chars().take_while(|x| *x == c).count());
        match (open_fence, fence_char) {
            (None, Some(c)) if fence_len >= 3 => {
                open_fence = Some((c, fence_len));
                let info = text[fence_len..].trim();
                let runs = info
                    .split(|c: char| c == ',' || c.is_whitespace())
                    .filter(|word| !word.is_empty())
                    .all(|word| DOCTEST_WORDS.contains(&word));
                if runs {
                    let indent = &doc[..doc.len() - text.len()];
                    let fence: String = std::iter::repeat_n(c, fence_len).collect();
                    let newline = if line.ends_with('\n') { "\n" } else { "" };
                    out.push_str(&format!("{prefix}{indent}{fence}text{newline}"));
                    continue;
                }
            }
            (Some((c, len)), Some(found))
                if found == c && fence_len >= len && text[fence_len..].trim().is_empty() =>
            {
                open_fence = None;
            }
            _ => {}
        }
        out.push_str(line);
    }
    out
}

/// `    /// text` → (`    ///`, ` text`); `None` for any other line (`//!` and `////` too).
fn split_doc_comment(line: &str) -> Option<(&str, &str)> {
    let body = line.trim_end_matches(['\n', '\r']);
    let indent = body.len() - body.trim_start().len();
    let rest = body[indent..].strip_prefix("///")?;
    if rest.starts_with('/') {
        return None;
    }
    Some((&body[..indent + 3], rest))
}

/// serde impls following the proto3 JSON mapping, per package module.
fn generate_pbjson(
    set: &FileDescriptorSet,
    generated_files: &[&FileDescriptorProto],
) -> GeneratorResult {
    let mut builder = pbjson_build::Builder::new();
    for file in &set.file {
        builder.register_file_descriptor(file.clone());
    }
    builder
        .extern_path(format!(".{WELL_KNOWN_PACKAGE}"), "::pbjson_types")
        .exclude([format!(".{WELL_KNOWN_PACKAGE}")]);
    let mut prefixes: Vec<String> = generated_files
        .iter()
        .map(|f| format!(".{}", f.package()))
        .collect();
    prefixes.sort();
    prefixes.dedup();
    let outputs = builder
        .generate(&prefixes, |_| Ok(Vec::new()))
        .map_err(|e| GenerateError(format!("pbjson-build: {e}")))?;
    let mut modules: BTreeMap<ModulePath, String> = BTreeMap::new();
    for (package, bytes) in outputs {
        let name = package
            .path()
            .iter()
            .map(|segment| segment.to_string())
            .collect::<Vec<_>>()
            .join(".");
        let module = prost_build::Module::from_protobuf_package_name(&name)
            .parts()
            .map(str::to_string)
            .collect();
        let code = String::from_utf8(bytes)
            .map_err(|_| GenerateError("internal error: pbjson-build wrote non-UTF-8".into()))?;
        modules.entry(module).or_default().push_str(&code);
    }
    Ok(modules)
}

/// Package modules nested by segment, each leaf listing the files it includes.
#[derive(Default)]
struct ModuleTree {
    includes: Vec<String>,
    children: BTreeMap<String, ModuleTree>,
    /// The protobuf package this node stands for, when it has files of its own.
    package: Option<String>,
}

impl ModuleTree {
    fn insert(&mut self, module: &[String], includes: Vec<String>) {
        let mut node = self;
        for part in module {
            node = node.children.entry(part.clone()).or_default();
        }
        node.includes.extend(includes);
        node.package = Some(file_stem(module));
    }

    /// The top-level modules, each with the generated-code lint allowances.
    fn tokens(&self) -> Result<proc_macro2::TokenStream, GenerateError> {
        if self.children.is_empty() {
            return Ok(proc_macro2::TokenStream::new());
        }
        let allows = GENERATED_CODE_ALLOWS
            .iter()
            .map(|lint| syn::parse_str::<syn::Path>(lint))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| GenerateError(format!("internal error: lint name: {e}")))?;
        let mut out = proc_macro2::TokenStream::new();
        for (name, child) in &self.children {
            out.extend(child.module_tokens(name, &quote!(#[allow(#(#allows),*)]))?);
        }
        Ok(out)
    }

    /// `pub mod name { include!(…); children }`, with `attributes` after its doc.
    fn module_tokens(
        &self,
        name: &str,
        attributes: &proc_macro2::TokenStream,
    ) -> Result<proc_macro2::TokenStream, GenerateError> {
        let ident: syn::Ident = syn::parse_str(name).map_err(|e| {
            GenerateError(format!(
                "internal error: package segment {name:?} is not an identifier ({e})"
            ))
        })?;
        let doc = match &self.package {
            Some(package) => format!(
                " Protobuf package `{package}`: messages (prost), clients and servers (tonic), JSON (pbjson)."
            ),
            None => format!(
                " Protobuf packages under `{}`.",
                name.strip_prefix("r#").unwrap_or(name)
            ),
        };
        let includes = &self.includes;
        let mut children = proc_macro2::TokenStream::new();
        for (child_name, child) in &self.children {
            children.extend(child.module_tokens(child_name, &proc_macro2::TokenStream::new())?);
        }
        Ok(quote! {
            #[doc = #doc]
            #attributes
            pub mod #ident {
                #(include!(#includes);)*
                #children
            }
        })
    }
}

/// One gRPC method as contractor's runtime sees it.
struct MethodEntry {
    path: String,
    idempotency: IdempotencyLevel,
    client_streaming: bool,
    server_streaming: bool,
}

/// Every method of every service in the requested files, in declaration order.
fn method_table(set: &FileDescriptorSet, requested: &[String]) -> Vec<MethodEntry> {
    let mut methods = Vec::new();
    for name in requested {
        let Some(file) = set.file.iter().find(|f| f.name() == name) else {
            continue;
        };
        for service in &file.service {
            for method in &service.method {
                let idempotency = method
                    .options
                    .as_ref()
                    .map(|o| o.idempotency_level())
                    .unwrap_or(IdempotencyLevel::IdempotencyUnknown);
                methods.push(MethodEntry {
                    path: format!("/{}.{}/{}", file.package(), service.name(), method.name()),
                    idempotency,
                    client_streaming: method.client_streaming(),
                    server_streaming: method.server_streaming(),
                });
            }
        }
    }
    methods
}

fn methods_const(methods: &[MethodEntry]) -> proc_macro2::TokenStream {
    let entries = methods.iter().map(|m| {
        let path = m.path.as_str();
        let idempotency = match m.idempotency {
            IdempotencyLevel::IdempotencyUnknown => quote!(Unknown),
            IdempotencyLevel::NoSideEffects => quote!(NoSideEffects),
            IdempotencyLevel::Idempotent => quote!(Idempotent),
        };
        let client_streaming = m.client_streaming;
        let server_streaming = m.server_streaming;
        quote! {
            contractor_runtime::grpc::Method {
                path: #path,
                idempotency: contractor_runtime::grpc::IdempotencyLevel::#idempotency,
                client_streaming: #client_streaming,
                server_streaming: #server_streaming,
            }
        }
    });
    quote! {
        /// Every method of every service in the contract, for contractor-runtime's gRPC client
        /// and server: which calls may be retried (`NO_SIDE_EFFECTS`, `IDEMPOTENT`), which need
        /// an idempotency key, and which are streams.
        pub const GRPC_METHODS: &[contractor_runtime::grpc::Method] = &[#(#entries),*];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_stems_drop_raw_prefixes() {
        assert_eq!(
            file_stem(&["google".to_string(), "r#type".to_string()]),
            "google.type"
        );
    }

    #[test]
    fn well_known_packages_are_exactly_google_protobuf_and_below() {
        let file = |package: &str| FileDescriptorProto {
            package: Some(package.to_string()),
            ..Default::default()
        };
        assert!(is_well_known(&file("google.protobuf")));
        assert!(is_well_known(&file("google.protobuf.compiler")));
        assert!(!is_well_known(&file("google.protobufx")));
        assert!(!is_well_known(&file("google.api")));
    }

    #[test]
    fn doctest_fences_become_text_and_others_stay() {
        let code = "/// Example:\n///\n/// ```\n/// Foo {}\n/// ```\n    ///  ```rust,no_run\n    ///  x\n    ///  ```\n/// ```json\n/// {}\n/// ```\n//// ```\nfn f() {}\n";
        let expected = "/// Example:\n///\n/// ```text\n/// Foo {}\n/// ```\n    ///  ```text\n    ///  x\n    ///  ```\n/// ```json\n/// {}\n/// ```\n//// ```\nfn f() {}\n";
        assert_eq!(code_blocks_as_text(code), expected);
        // A closing fence is never taken for an opening one.
        let pair = "/// ```text\n/// ```\n/// a\n/// ```\n/// ```\n";
        assert_eq!(
            code_blocks_as_text(pair),
            "/// ```text\n/// ```\n/// a\n/// ```text\n/// ```\n"
        );
    }

    #[test]
    fn root_names_stay_one_path_component() {
        assert!(root_directory("orders_v1").is_ok());
        assert!(root_directory("../x").is_err());
        assert!(root_directory("").is_err());
    }
}
