//! gRPC generation from compiled descriptors: the tree it writes, its determinism, the
//! method table, the well-known and imported types, and comments that must not become
//! doctests. Compiling and running the output is `tests/generate_proto.rs` at the top.

use std::path::{Path, PathBuf};

use contractor_rust::{ProtoGenerated, ProtoOptions, proto};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/proto")
}

/// Compiles `files` (names relative to `include`) with protox, as contractor-build does.
fn compile(include: &Path, files: &[&str]) -> prost_types::FileDescriptorSet {
    let mut compiler = protox::Compiler::new([include]).expect("compiler");
    compiler.include_imports(true).include_source_info(true);
    compiler.open_files(files).expect("fixture compiles");
    compiler.file_descriptor_set()
}

fn generate(include: &Path, files: &[&str], root: &str, options: ProtoOptions) -> ProtoGenerated {
    let absolute: Vec<PathBuf> = files.iter().map(|f| include.join(f)).collect();
    let set = compile(
        include,
        &absolute
            .iter()
            .map(|p| p.to_str().expect("utf-8"))
            .collect::<Vec<_>>(),
    );
    let names: Vec<String> = files.iter().map(|f| f.to_string()).collect();
    proto(&set, &names, root, options).expect("generates")
}

fn orders(options: ProtoOptions) -> ProtoGenerated {
    generate(
        &repo().join("schemas/orders"),
        &["v1/orders.proto"],
        "orders",
        options,
    )
}

fn file<'a>(generated: &'a ProtoGenerated, path: &str) -> &'a str {
    generated
        .files
        .iter()
        .find(|(p, _)| p == path)
        .map(|(_, code)| code.as_str())
        .unwrap_or_else(|| panic!("{path} missing from {:?}", paths(generated)))
}

fn paths(generated: &ProtoGenerated) -> Vec<&str> {
    generated.files.iter().map(|(p, _)| p.as_str()).collect()
}

#[test]
fn orders_tree_nests_packages_and_includes_relatively() {
    let generated = orders(ProtoOptions::default());
    assert_eq!(
        paths(&generated),
        ["orders/orders.v1.rs", "orders/orders.v1.serde.rs"]
    );
    assert_eq!(generated.descriptor_set_path, "orders.bin");
    let root = &generated.root;
    for expected in [
        "pub mod orders {",
        "pub mod v1 {",
        "include!(\"orders/orders.v1.rs\");",
        "include!(\"orders/orders.v1.serde.rs\");",
        "#[allow(clippy::large_enum_variant, clippy::doc_lazy_continuation)]",
        "pub const GRPC_METHODS: &[contractor_runtime::grpc::Method] = &[",
        "pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(\"orders.bin\");",
    ] {
        assert!(root.contains(expected), "{expected} missing from:\n{root}");
    }
    let messages = file(&generated, "orders/orders.v1.rs");
    assert!(messages.contains("pub struct Order {"));
    assert!(messages.contains("::core::option::Option<::pbjson_types::Timestamp>"));
    assert!(messages.contains("pub mod orders_client {"));
    assert!(messages.contains("pub mod orders_server {"));
    let json = file(&generated, "orders/orders.v1.serde.rs");
    assert!(json.contains("impl serde::Serialize for Order {"));
    assert!(json.contains("\"totalMinor\""), "camelCase JSON names");
    assert_eq!(
        (generated.services, generated.methods, generated.messages),
        (1, 6, 9)
    );
    assert_eq!(generated.package_names, ["orders.v1"]);
    assert_eq!(generated.service_names, ["orders.v1.Orders"]);
}

#[test]
fn method_table_has_every_method_with_its_idempotency_and_shape() {
    let root = orders(ProtoOptions::default()).root;
    let entries: Vec<(String, String, bool, bool)> = root
        .split("contractor_runtime::grpc::Method {")
        .skip(1)
        .map(|entry| {
            let field = |name: &str| {
                entry
                    .lines()
                    .find_map(|l| l.trim().strip_prefix(name))
                    .map(|v| v.trim_end_matches(',').trim().to_string())
                    .unwrap_or_default()
            };
            (
                field("path:"),
                field("idempotency:").replace("contractor_runtime::grpc::IdempotencyLevel::", ""),
                field("client_streaming:") == "true",
                field("server_streaming:") == "true",
            )
        })
        .collect();
    let expected = [
        ("CreateOrder", "Unknown", false, false),
        ("GetOrder", "NoSideEffects", false, false),
        ("CancelOrder", "Idempotent", false, false),
        ("WatchOrders", "Unknown", false, true),
        ("ImportOrders", "Unknown", true, false),
        ("Track", "Unknown", true, true),
    ];
    assert_eq!(entries.len(), expected.len(), "{root}");
    for (entry, (method, idempotency, client, server)) in entries.iter().zip(expected) {
        assert_eq!(entry.0, format!("\"/orders.v1.Orders/{method}\""));
        assert_eq!(entry.1, idempotency, "{method}");
        assert_eq!((entry.2, entry.3), (client, server), "{method}");
    }
}

#[test]
fn output_is_byte_identical_on_rerun() {
    let first = orders(ProtoOptions::default());
    let second = orders(ProtoOptions::default());
    assert_eq!(first.root, second.root);
    assert_eq!(first.files, second.files);
    assert_eq!(first.descriptor_set, second.descriptor_set);
    let shapes = || {
        generate(
            &fixtures(),
            &["shapes/v1/shapes.proto", "billing/v1/billing.proto"],
            "many",
            ProtoOptions::default(),
        )
    };
    let (a, b) = (shapes(), shapes());
    assert_eq!((a.root, a.files), (b.root, b.files));
}

#[test]
fn client_server_and_serde_are_each_optional() {
    let client = orders(ProtoOptions {
        server: false,
        ..ProtoOptions::default()
    });
    let code = file(&client, "orders/orders.v1.rs");
    assert!(code.contains("pub mod orders_client") && !code.contains("pub mod orders_server"));
    let server = orders(ProtoOptions {
        client: false,
        ..ProtoOptions::default()
    });
    let code = file(&server, "orders/orders.v1.rs");
    assert!(!code.contains("pub mod orders_client") && code.contains("pub mod orders_server"));

    let messages_only = orders(ProtoOptions {
        client: false,
        server: false,
        serde: false,
    });
    assert_eq!(paths(&messages_only), ["orders/orders.v1.rs"]);
    let code = file(&messages_only, "orders/orders.v1.rs");
    assert!(
        code.contains("::prost_types::Timestamp"),
        "without serde, prost-types"
    );
    assert!(!code.contains("pub mod orders_client"));
    assert!(
        !messages_only.root.contains("GRPC_METHODS"),
        "no method table (and no runtime dependency) without a client or server"
    );
    assert!(messages_only.root.contains("FILE_DESCRIPTOR_SET"));
}

/// googleapis-style input: the non-WKT imports (google.api, google.type) are generated next to
/// the requested file, the well-known types never are, and `google.type` is a raw identifier.
#[test]
fn non_well_known_imports_are_generated_too() {
    let generated = generate(
        &fixtures(),
        &["billing/v1/billing.proto"],
        "billing",
        ProtoOptions::default(),
    );
    assert_eq!(
        paths(&generated),
        [
            "billing/billing.v1.rs",
            "billing/billing.v1.serde.rs",
            "billing/google.api.rs",
            "billing/google.api.serde.rs",
            "billing/google.type.rs",
            "billing/google.type.serde.rs",
        ]
    );
    let root = &generated.root;
    assert!(root.contains("pub mod r#type {"), "{root}");
    assert!(root.contains("include!(\"billing/google.type.rs\");"));
    assert!(
        !root.contains("protobuf"),
        "well-known types are pbjson-types': {root}"
    );
    let billing = file(&generated, "billing/billing.v1.rs");
    assert!(
        billing.contains("super::super::google::r#type::Money"),
        "{billing}"
    );
    // A well-known type as a whole request or response is pbjson-types' too.
    assert!(
        billing.contains("tonic::Request<::pbjson_types::Empty>"),
        "{billing}"
    );
    // Only the requested file's services are in the method table.
    assert_eq!(generated.service_names, ["billing.v1.Invoices"]);
    assert!(root.contains("\"/billing.v1.Invoices/GetInvoice\""));
    assert!(root.contains("IdempotencyLevel::NoSideEffects"));
}

#[test]
fn comments_become_docs_but_never_doctests() {
    let generated = generate(
        &fixtures(),
        &["shapes/v1/shapes.proto"],
        "shapes",
        ProtoOptions::default(),
    );
    let code = file(&generated, "shapes/shapes.v1.rs");
    assert!(
        code.contains("/// A node of a tree."),
        "messages keep their comments"
    );
    assert!(
        code.contains("pub r#type: "),
        "keywords become raw identifiers"
    );
    assert!(code.contains("pub async fn r#type("));
    // Every fenced block in the docs is tagged with something rustdoc does not run.
    let mut open = false;
    for line in code.lines().map(str::trim) {
        let Some(doc) = line.strip_prefix("///") else {
            continue;
        };
        let doc = doc.trim();
        if let Some(info) = doc.strip_prefix("```") {
            if !open {
                assert!(!info.trim().is_empty(), "untagged block:\n{code}");
            }
            open = !open;
        }
    }
}

#[test]
fn bad_requests_are_errors_not_panics() {
    let set = compile(
        &repo().join("schemas/orders"),
        &[&repo()
            .join("schemas/orders/v1/orders.proto")
            .display()
            .to_string()],
    );
    let missing = proto(
        &set,
        &["v1/nope.proto".to_string()],
        "orders",
        ProtoOptions::default(),
    );
    assert!(missing.unwrap_err().to_string().contains("v1/nope.proto"));
    let bad_root = proto(
        &set,
        &["v1/orders.proto".to_string()],
        "../up",
        ProtoOptions::default(),
    );
    assert!(bad_root.is_err());
}
