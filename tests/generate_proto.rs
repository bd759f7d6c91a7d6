//! End to end: the gRPC client and server generated from `schemas/orders/v1/orders.proto` (by
//! `examples/orders`' build.rs, through protox, prost, tonic and pbjson) talking over a real
//! loopback socket, through contractor-runtime's `grpc` channel and server; and
//! `contractor generate` on .proto input, run where no `protoc` exists.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use contractor_example_orders::orders::v1::orders_client::OrdersClient;
use contractor_example_orders::orders::v1::{
    CancelOrderRequest, CreateOrderRequest, GetOrderRequest, LineItem, Order, OrderEvent,
    OrderStatus, TrackRequest, WatchOrdersRequest,
};
use contractor_example_orders::{GRPC_METHODS, InMemoryOrders, RunningServer, serve};
use contractor_runtime::grpc::tonic::{self, Code};
use contractor_runtime::grpc::{
    Channel, ClientConfig, RequestExt, ServerConfig, problem_from_status,
};
use contractor_runtime::retry::RetryPolicy;
use contractor_runtime::tokio;
use contractor_runtime::tokio::sync::mpsc;
use serde_json::Value;
use tokio_stream::wrappers::ReceiverStream;

use common::{contractor_in, repo_root, stderr, stdout};

async fn start(orders: InMemoryOrders, config: ServerConfig) -> RunningServer {
    serve(orders, config).await.expect("server starts")
}

/// A client through the runtime's channel, with fast retries so the tests stay quick.
async fn connect(server: &RunningServer, timeout: Duration) -> OrdersClient<Channel> {
    let channel = ClientConfig::new(server.url())
        .with_timeout(timeout)
        .with_retry(RetryPolicy {
            max_attempts: 4,
            initial_backoff: Duration::from_millis(10),
            max_backoff: Duration::from_millis(50),
            ..RetryPolicy::default()
        })
        .with_methods(GRPC_METHODS)
        .connect()
        .await
        .expect("connects");
    OrdersClient::new(channel)
}

fn tea(customer: &str, quantity: i32) -> CreateOrderRequest {
    CreateOrderRequest {
        customer_id: customer.into(),
        items: vec![LineItem {
            sku: "TEA-0001".into(),
            quantity,
            unit_price_minor: 450,
        }],
        currency: "EUR".into(),
    }
}

fn order_of(event: Option<OrderEvent>) -> Order {
    event.and_then(|e| e.order).expect("an event with an order")
}

#[tokio::test(flavor = "multi_thread", crate = "contractor_runtime::tokio")]
async fn unary_calls_round_trip_typed_messages() {
    let server = start(InMemoryOrders::new(), ServerConfig::new()).await;
    let mut client = connect(&server, Duration::from_secs(5)).await;

    let created = client
        .create_order(tea("ada", 3))
        .await
        .expect("created")
        .into_inner();
    assert_eq!(created.total_minor, 1350);
    assert_eq!(created.status(), OrderStatus::Pending);
    assert!(created.created_at.is_some());

    let fetched = client
        .get_order(GetOrderRequest {
            id: created.id.clone(),
        })
        .await
        .expect("found")
        .into_inner();
    assert_eq!(fetched, created);

    let cancel = || CancelOrderRequest {
        id: created.id.clone(),
        reason: "test".into(),
    };
    let once = client.cancel_order(cancel()).await.expect("cancelled");
    let twice = client
        .cancel_order(cancel())
        .await
        .expect("still cancelled");
    assert_eq!(once.into_inner().status(), OrderStatus::Cancelled);
    assert_eq!(twice.into_inner().status(), OrderStatus::Cancelled);
    server.stop().await.expect("stops cleanly");
}

#[tokio::test(flavor = "multi_thread", crate = "contractor_runtime::tokio")]
async fn server_streaming_sends_the_snapshot_then_live_changes() {
    let server = start(InMemoryOrders::new(), ServerConfig::new()).await;
    let mut client = connect(&server, Duration::from_secs(10)).await;
    let first = client
        .create_order(tea("ada", 1))
        .await
        .expect("created")
        .into_inner();
    client
        .create_order(tea("bob", 1))
        .await
        .expect("someone else's");

    let mut watch = client
        .watch_orders(WatchOrdersRequest {
            customer_id: "ada".into(),
        })
        .await
        .expect("watching")
        .into_inner();
    let existing = order_of(watch.message().await.expect("message"));
    assert_eq!(existing.id, first.id);

    let second = client
        .create_order(tea("ada", 2))
        .await
        .expect("created")
        .into_inner();
    client.create_order(tea("bob", 2)).await.expect("not ada's");
    client
        .cancel_order(CancelOrderRequest {
            id: first.id.clone(),
            reason: String::new(),
        })
        .await
        .expect("cancelled");
    let created = order_of(watch.message().await.expect("message"));
    assert_eq!(created.id, second.id, "bob's orders are not ada's events");
    let cancelled = order_of(watch.message().await.expect("message"));
    assert_eq!(
        (cancelled.status(), cancelled.id),
        (OrderStatus::Cancelled, first.id)
    );
    drop(watch);
    server.stop().await.expect("stops cleanly");
}

#[tokio::test(flavor = "multi_thread", crate = "contractor_runtime::tokio")]
async fn client_streaming_imports_every_message_and_answers_once() {
    let server = start(InMemoryOrders::new(), ServerConfig::new()).await;
    let mut client = connect(&server, Duration::from_secs(5)).await;
    let batch: Vec<CreateOrderRequest> = (1..=5).map(|n| tea("grace", n)).collect();
    let imported = client
        .import_orders(tokio_stream::iter(batch))
        .await
        .expect("imported")
        .into_inner();
    assert_eq!(imported.order_ids.len(), 5);
    assert_eq!(imported.total_minor, 450 * (1 + 2 + 3 + 4 + 5));
    assert_eq!(server.orders.order_count(), 5);

    // One bad message fails the whole call with the problem of that message.
    let bad = vec![tea("grace", 1), tea("grace", 0)];
    let status = client
        .import_orders(tokio_stream::iter(bad))
        .await
        .expect_err("refused");
    assert_eq!(status.code(), Code::InvalidArgument);
    let problem = problem_from_status(&status);
    assert_eq!(
        problem.field_errors()[0].pointer.as_deref(),
        Some("/items/0/quantity")
    );
    server.stop().await.expect("stops cleanly");
}

#[tokio::test(flavor = "multi_thread", crate = "contractor_runtime::tokio")]
async fn bidirectional_streaming_answers_each_message_as_it_comes() {
    let server = start(InMemoryOrders::new(), ServerConfig::new()).await;
    let mut client = connect(&server, Duration::from_secs(10)).await;
    let a = client
        .create_order(tea("ada", 1))
        .await
        .expect("a")
        .into_inner();
    let b = client
        .create_order(tea("bob", 1))
        .await
        .expect("b")
        .into_inner();

    let (ask, questions) = mpsc::channel(1);
    let mut answers = client
        .track(ReceiverStream::new(questions))
        .await
        .expect("tracking")
        .into_inner();
    // Each answer arrives before the next question is sent: a real conversation.
    for order in [&a, &b, &a] {
        ask.send(TrackRequest {
            order_id: order.id.clone(),
        })
        .await
        .expect("sent");
        let answer = order_of(answers.message().await.expect("answer"));
        assert_eq!(answer.id, order.id);
    }
    // An unknown order ends the stream with NOT_FOUND.
    ask.send(TrackRequest {
        order_id: "ord-9999".into(),
    })
    .await
    .expect("sent");
    let status = answers.message().await.expect_err("not found");
    assert_eq!(status.code(), Code::NotFound);
    server.stop().await.expect("stops cleanly");
}

/// The proto3 JSON mapping through pbjson: camelCase names, 64-bit integers as strings, enums
/// by name, timestamps as RFC 3339, and both name forms accepted when reading.
#[test]
fn messages_follow_the_proto3_json_mapping() {
    let order = Order {
        id: "ord-0001".into(),
        customer_id: "ada".into(),
        items: vec![LineItem {
            sku: "TEA-0001".into(),
            quantity: 2,
            unit_price_minor: 9_007_199_254_740_993,
        }],
        status: OrderStatus::Shipped.into(),
        created_at: Some(pbjson_types_timestamp(1_700_000_000, 500_000_000)),
        total_minor: -42,
        currency: "EUR".into(),
    };
    let json: Value = serde_json::to_value(&order).expect("serializes");
    assert_eq!(json["customerId"], "ada", "camelCase: {json}");
    assert!(json.get("customer_id").is_none());
    assert_eq!(json["totalMinor"], "-42", "int64 as a string");
    assert_eq!(
        json["items"][0]["unitPriceMinor"], "9007199254740993",
        "beyond 2^53: exact as a string"
    );
    assert_eq!(json["items"][0]["quantity"], 2, "int32 stays a number");
    assert_eq!(json["status"], "ORDER_STATUS_SHIPPED", "enums by name");
    let created = json["createdAt"].as_str().expect("timestamp as a string");
    let parsed =
        contractor_runtime::chrono::DateTime::parse_from_rfc3339(created).expect("RFC 3339");
    assert_eq!(parsed.timestamp(), 1_700_000_000);
    assert_eq!(parsed.timestamp_subsec_millis(), 500);

    let back: Order = serde_json::from_value(json).expect("deserializes");
    assert_eq!(back, order);
    // Readers accept the proto field names, numbers for 64-bit integers and enum numbers too.
    let lenient: Order = serde_json::from_str(
        r#"{"id":"x","customer_id":"bob","total_minor":7,"status":2,"createdAt":"2024-01-02T03:04:05Z"}"#,
    )
    .expect("lenient reading");
    assert_eq!(lenient.customer_id, "bob");
    assert_eq!(lenient.total_minor, 7);
    assert_eq!(lenient.status(), OrderStatus::Paid);
    // Default values are left out, as the mapping says.
    let empty: Value = serde_json::to_value(Order::default()).expect("serializes");
    assert_eq!(empty, serde_json::json!({}));
}

fn pbjson_types_timestamp(seconds: i64, nanos: i32) -> pbjson_types::Timestamp {
    pbjson_types::Timestamp { seconds, nanos }
}

#[tokio::test(flavor = "multi_thread", crate = "contractor_runtime::tokio")]
async fn deadlines_end_slow_calls_on_time() {
    let orders = InMemoryOrders::new().with_latency(Duration::from_millis(800));
    let server = start(orders, ServerConfig::new()).await;
    // The client's own deadline (sent as grpc-timeout, enforced locally too).
    let mut client = connect(&server, Duration::from_secs(5)).await;
    let started = Instant::now();
    let status = client
        .get_order(
            tonic::Request::new(GetOrderRequest { id: "x".into() })
                .with_timeout(Duration::from_millis(150)),
        )
        .await
        .expect_err("too slow");
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
    assert!(
        started.elapsed() < Duration::from_millis(700),
        "ended on time"
    );
    server.stop().await.expect("stops cleanly");

    // The server's per-method timeout, whatever the client allows.
    let orders = InMemoryOrders::new().with_latency(Duration::from_millis(800));
    let config = ServerConfig::new()
        .with_method_timeout("/orders.v1.Orders/GetOrder", Duration::from_millis(150));
    let server = start(orders, config).await;
    let mut client = connect(&server, Duration::from_secs(5)).await;
    let started = Instant::now();
    let status = client
        .get_order(GetOrderRequest { id: "x".into() })
        .await
        .expect_err("server gave up");
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
    assert!(started.elapsed() < Duration::from_millis(700));
    server.stop().await.expect("stops cleanly");
}

#[tokio::test(flavor = "multi_thread", crate = "contractor_runtime::tokio")]
async fn safe_calls_are_retried_and_keyed_writes_run_once() {
    let server = start(InMemoryOrders::new(), ServerConfig::new()).await;
    let mut client = connect(&server, Duration::from_secs(5)).await;
    let created = client
        .create_order(tea("ada", 1))
        .await
        .expect("created")
        .into_inner();
    let calls = server.orders.unary_calls();

    // NO_SIDE_EFFECTS: retried through two UNAVAILABLE answers.
    server.orders.fail_next(2);
    let fetched = client
        .get_order(GetOrderRequest {
            id: created.id.clone(),
        })
        .await
        .expect("retried until it worked");
    assert_eq!(fetched.into_inner().id, created.id);
    assert_eq!(server.orders.unary_calls(), calls + 3);

    // Not idempotent, but keyed (the channel adds a key): retried, and placed once.
    server.orders.fail_next(1);
    client
        .create_order(tea("ada", 2))
        .await
        .expect("retried with its key");
    assert_eq!(server.orders.order_count(), 2);

    // The same key twice: the second call replays the first answer, nothing new is placed.
    let keyed = || tonic::Request::new(tea("ada", 3)).with_idempotency_key("ada-3");
    let first = client
        .create_order(keyed())
        .await
        .expect("first")
        .into_inner();
    let replay = client
        .create_order(keyed())
        .await
        .expect("replayed")
        .into_inner();
    assert_eq!(first, replay);
    assert_eq!(server.orders.order_count(), 3);
    server.stop().await.expect("stops cleanly");
}

#[tokio::test(flavor = "multi_thread", crate = "contractor_runtime::tokio")]
async fn problems_travel_in_statuses() {
    let server = start(InMemoryOrders::new(), ServerConfig::new()).await;
    let mut client = connect(&server, Duration::from_secs(5)).await;
    let status = client
        .get_order(GetOrderRequest {
            id: "ord-9999".into(),
        })
        .await
        .expect_err("missing");
    assert_eq!(status.code(), Code::NotFound);
    let problem = problem_from_status(&status);
    assert_eq!(problem.status, Some(404));
    assert_eq!(problem.detail.as_deref(), Some("no order \"ord-9999\""));

    let status = client
        .create_order(CreateOrderRequest::default())
        .await
        .expect_err("invalid");
    assert_eq!(status.code(), Code::InvalidArgument);
    let pointers: Vec<String> = problem_from_status(&status)
        .field_errors()
        .into_iter()
        .filter_map(|e| e.pointer)
        .collect();
    assert_eq!(pointers, ["/customerId", "/items"]);
    server.stop().await.expect("stops cleanly");
}

/// `FILE_DESCRIPTOR_SET` as generated serves health (per service of `GRPC_METHODS`) and
/// reflection: a grpcurl-style client can list the service and fetch its file.
#[tokio::test(flavor = "multi_thread", crate = "contractor_runtime::tokio")]
async fn health_and_reflection_come_from_the_generated_descriptor_set() {
    use contractor_runtime::grpc::tonic_health::pb::health_client::HealthClient;
    use contractor_runtime::grpc::tonic_health::pb::{HealthCheckRequest, health_check_response};
    use contractor_runtime::grpc::tonic_reflection::pb::v1::ServerReflectionRequest;
    use contractor_runtime::grpc::tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use contractor_runtime::grpc::tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use contractor_runtime::grpc::tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

    let server = start(InMemoryOrders::new(), ServerConfig::new()).await;
    let channel = ClientConfig::new(server.url())
        .connect()
        .await
        .expect("connects");
    let health = HealthClient::new(channel.clone())
        .check(HealthCheckRequest {
            service: "orders.v1.Orders".into(),
        })
        .await
        .expect("health")
        .into_inner();
    assert_eq!(
        health.status(),
        health_check_response::ServingStatus::Serving
    );

    let ask = |request: MessageRequest| ServerReflectionRequest {
        host: String::new(),
        message_request: Some(request),
    };
    let questions = vec![
        ask(MessageRequest::ListServices(String::new())),
        ask(MessageRequest::FileContainingSymbol(
            "orders.v1.Orders".into(),
        )),
    ];
    let mut answers = ServerReflectionClient::new(channel)
        .server_reflection_info(tokio_stream::iter(questions))
        .await
        .expect("reflection")
        .into_inner();
    let listed = answers.message().await.expect("answer").expect("one");
    let Some(MessageResponse::ListServicesResponse(list)) = listed.message_response else {
        panic!("not a service list: {listed:?}");
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    assert!(names.contains(&"orders.v1.Orders".to_string()), "{names:?}");
    let file = answers.message().await.expect("answer").expect("two");
    let Some(MessageResponse::FileDescriptorResponse(files)) = file.message_response else {
        panic!("not a file: {file:?}");
    };
    let descriptors: Vec<contractor_runtime::grpc::prost_types::FileDescriptorProto> = files
        .file_descriptor_proto
        .iter()
        .map(|bytes| {
            contractor_runtime::grpc::prost::Message::decode(bytes.as_slice())
                .expect("a descriptor")
        })
        .collect();
    assert!(
        descriptors.iter().any(|f| f.name() == "v1/orders.proto"),
        "{:?}",
        descriptors.iter().map(|f| f.name()).collect::<Vec<_>>()
    );
    server.stop().await.expect("stops cleanly");
}

/// `contractor generate` on a directory of .proto files where no `protoc` can be found: an
/// empty PATH and no PROTOC.
fn generate_without_protoc(args: &[&str]) -> std::process::Output {
    let empty = tempfile::tempdir().expect("temp dir");
    Command::new(env!("CARGO_BIN_EXE_contractor"))
        .args(args)
        .current_dir(repo_root())
        .env("PATH", empty.path())
        .env_remove("PROTOC")
        .env_remove("PROTOC_INCLUDE")
        .output()
        .expect("run contractor")
}

#[test]
fn generate_writes_a_crate_without_protoc_that_cargo_accepts() {
    let temp = tempfile::tempdir().expect("temp dir");
    let dir = temp.path().join("orders-grpc");
    let out = dir.to_str().expect("utf-8 temp path");
    let run = generate_without_protoc(&["generate", "schemas/orders", "--out", out]);
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    assert!(
        stderr(&run).contains("1 services, 6 methods, 9 messages"),
        "{}",
        stderr(&run)
    );
    for file in [
        "Cargo.toml",
        "README.md",
        "src/lib.rs",
        "src/orders.bin",
        "src/orders/orders.v1.rs",
        "src/orders/orders.v1.serde.rs",
    ] {
        assert!(dir.join(file).is_file(), "{file} missing");
    }
    let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).expect("manifest");
    for dependency in [
        "tonic = ",
        "tonic-prost = ",
        "prost = ",
        "pbjson = ",
        "pbjson-types = ",
        "serde = ",
        "features = [\"grpc\"]",
    ] {
        assert!(manifest.contains(dependency), "{dependency} in {manifest}");
    }
    let lib = std::fs::read_to_string(dir.join("src/lib.rs")).expect("lib.rs");
    assert!(lib.contains("include!(\"orders/orders.v1.rs\");"));

    // Byte-identical on re-run: nothing rewritten.
    let again = generate_without_protoc(&["generate", "schemas/orders", "--out", out]);
    assert!(
        stderr(&again).contains("(0 files changed)"),
        "{}",
        stderr(&again)
    );

    check_crate(&dir);
}

/// `cargo check` of the crate as written, with warnings denied, offline (this workspace's
/// lock file) and in the shared target directory of the generated-crate checks.
fn check_crate(dir: &Path) {
    let target = repo_root().join("target/generated-check");
    std::fs::copy(repo_root().join("Cargo.lock"), dir.join("Cargo.lock")).expect("lock file");
    let check = Command::new(env!("CARGO"))
        .args(["check", "--quiet", "--offline", "--manifest-path"])
        .arg(dir.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", target.join("target"))
        .env("RUSTFLAGS", "-D warnings")
        .output()
        .expect("run cargo");
    assert!(
        check.status.success(),
        "cargo check failed:\n{}",
        String::from_utf8_lossy(&check.stderr)
    );
}

#[test]
fn a_broken_proto_is_exit_2_with_file_line_column() {
    let temp = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        temp.path().join("bad.proto"),
        "syntax = \"proto3\";\n\npackage bad.v1;\n\nmessage Bad { int32 n = x; }\n",
    )
    .expect("write");
    let out = temp.path().join("out");
    let run = contractor_in(
        temp.path(),
        &[
            "generate",
            "bad.proto",
            "--out",
            out.to_str().expect("utf-8"),
        ],
    );
    assert_eq!(run.status.code(), Some(2), "{}", stderr(&run));
    assert!(
        stderr(&run).starts_with("error: bad.proto:5:25: "),
        "{}",
        stderr(&run)
    );
    assert!(!out.exists(), "nothing written");

    let missing_import = temp.path().join("lonely.proto");
    std::fs::write(
        &missing_import,
        "syntax = \"proto3\";\npackage lonely;\nimport \"nowhere/x.proto\";\n",
    )
    .expect("write");
    let run = contractor_in(
        temp.path(),
        &[
            "generate",
            "lonely.proto",
            "--out",
            out.to_str().expect("utf-8"),
        ],
    );
    assert_eq!(run.status.code(), Some(2));
    assert!(
        stderr(&run).contains("lonely.proto:3:1: import 'nowhere/x.proto' not found"),
        "{}",
        stderr(&run)
    );
}

#[test]
fn check_reports_drift_with_exit_1_and_writes_nothing() {
    let temp = tempfile::tempdir().expect("temp dir");
    let out = temp.path().join("sdk");
    let out_arg = out.to_str().expect("utf-8");
    let proto = "schemas/orders/v1/orders.proto";
    let include = "schemas/orders";
    let args = |check: bool| {
        let mut args = vec!["generate", proto, "-I", include, "--out", out_arg];
        if check {
            args.push("--check");
        }
        args
    };
    let run = common::contractor(&args(false));
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    let clean = common::contractor(&args(true));
    assert_eq!(clean.status.code(), Some(0), "{}", stdout(&clean));

    let package = out.join("src/orders/orders.v1.rs");
    let text = std::fs::read_to_string(&package).expect("package file");
    std::fs::write(
        &package,
        text.replace("pub struct Order {", "pub struct Order { // edited"),
    )
    .expect("edit");
    let stale = out.join("src/orders/old.v1.rs");
    std::fs::write(&stale, "// from a package that is gone\n").expect("stale file");
    let drift = common::contractor(&args(true));
    assert_eq!(drift.status.code(), Some(1), "{}", stderr(&drift));
    assert!(
        stdout(&drift).contains("-pub struct Order { // edited"),
        "{}",
        stdout(&drift)
    );
    assert!(stdout(&drift).contains("old.v1.rs is no longer generated"));
    assert!(stderr(&drift).contains("out of date"), "{}", stderr(&drift));
    assert!(
        std::fs::read_to_string(&package)
            .expect("package file")
            .contains("// edited"),
        "--check never writes"
    );

    // Generating again repairs the file and removes the stale one.
    let run = common::contractor(&args(false));
    assert_eq!(run.status.code(), Some(0));
    assert!(!stale.exists());
    assert_eq!(common::contractor(&args(true)).status.code(), Some(0));
}
