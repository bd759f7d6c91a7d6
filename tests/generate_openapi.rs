//! End to end: the client and server generated from `schemas/shop/v1/shop.yaml`
//! (by `examples/shop`'s build.rs) talking over a real loopback socket.
//!
//! Every idempotency scenario runs twice: against the embedded memory store
//! and against a real `redis-server` that the test starts itself.

#[path = "../codegen/runtime/tests/it/redis_server.rs"]
mod redis_server;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use contractor_example_shop::InMemoryShop;
use contractor_example_shop::client::{
    CallOptions, Client, ClientConfig, ClientError, RetryPolicy,
};
use contractor_example_shop::server::{self, Api, RequestContext, ServerConfig};
use contractor_example_shop::types::*;
use contractor_runtime::axum;
use contractor_runtime::idempotency::{IdempotencyStore, MemoryStore, RedisStore};
use contractor_runtime::serde_json::{Value, json};
use contractor_runtime::tokio;
use contractor_runtime::tokio::sync::Notify;

use redis_server::RedisServer;

/// The shop, counting the orders it places, optionally slow or held at a gate.
#[derive(Default)]
struct TestShop {
    shop: InMemoryShop,
    placed: AtomicUsize,
    delay: Option<Duration>,
    gate: Option<Arc<Notify>>,
}

impl Api for TestShop {
    async fn list_orders(
        &self,
        context: RequestContext,
        request: ListOrdersRequest,
    ) -> Result<OrderPage, ListOrdersError> {
        self.shop.list_orders(context, request).await
    }

    async fn create_order(
        &self,
        context: RequestContext,
        request: CreateOrderRequest,
    ) -> Result<Order, CreateOrderError> {
        if let Some(gate) = &self.gate {
            gate.notified().await;
        }
        if let Some(delay) = self.delay {
            tokio::time::sleep(delay).await;
        }
        let order = self.shop.create_order(context, request).await?;
        self.placed.fetch_add(1, Ordering::SeqCst);
        Ok(order)
    }

    async fn get_order(
        &self,
        context: RequestContext,
        request: GetOrderRequest,
    ) -> Result<Order, GetOrderError> {
        if let Some(delay) = self.delay {
            tokio::time::sleep(delay).await;
        }
        self.shop.get_order(context, request).await
    }

    async fn cancel_order(
        &self,
        context: RequestContext,
        request: CancelOrderRequest,
    ) -> Result<(), CancelOrderError> {
        self.shop.cancel_order(context, request).await
    }

    async fn update_order(
        &self,
        context: RequestContext,
        request: UpdateOrderRequest,
    ) -> Result<Order, UpdateOrderError> {
        self.shop.update_order(context, request).await
    }
}

/// Serves `app` on 127.0.0.1 and returns its base URL.
async fn serve(app: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let address = listener.local_addr().expect("local address");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{address}")
}

async fn start(shop: Arc<TestShop>, config: ServerConfig) -> (String, Client) {
    let app = server::router(SharedShop(shop), config);
    let base = serve(app).await;
    let client = Client::new(
        ClientConfig::new(base.clone())
            .with_timeout(Duration::from_secs(5))
            .with_retry(
                RetryPolicy::default()
                    .with_backoff(Duration::from_millis(5), Duration::from_millis(20)),
            ),
    )
    .expect("client");
    (base, client)
}

/// The server owns its API; tests keep a handle to count effects.
struct SharedShop(Arc<TestShop>);

impl Api for SharedShop {
    async fn list_orders(
        &self,
        c: RequestContext,
        r: ListOrdersRequest,
    ) -> Result<OrderPage, ListOrdersError> {
        self.0.list_orders(c, r).await
    }
    async fn create_order(
        &self,
        c: RequestContext,
        r: CreateOrderRequest,
    ) -> Result<Order, CreateOrderError> {
        self.0.create_order(c, r).await
    }
    async fn get_order(
        &self,
        c: RequestContext,
        r: GetOrderRequest,
    ) -> Result<Order, GetOrderError> {
        self.0.get_order(c, r).await
    }
    async fn cancel_order(
        &self,
        c: RequestContext,
        r: CancelOrderRequest,
    ) -> Result<(), CancelOrderError> {
        self.0.cancel_order(c, r).await
    }
    async fn update_order(
        &self,
        c: RequestContext,
        r: UpdateOrderRequest,
    ) -> Result<Order, UpdateOrderError> {
        self.0.update_order(c, r).await
    }
}

fn new_order() -> NewOrder {
    NewOrder {
        customer: "ada@example.com".into(),
        items: vec![LineItem {
            sku: "TEA-0001".into(),
            quantity: 2,
        }],
        note: contractor_runtime::Nullable::Value("by the door".into()),
        shipping: Some(Address {
            line1: "1 Main St".into(),
            city: "Leeds".into(),
            country: "GB".into(),
        }),
        payment: Some(Payment::Invoice(InvoicePayment {
            method: "invoice".into(),
            due_days: 30,
        })),
    }
}

async fn json_of(response: contractor_runtime::reqwest::Response) -> Value {
    let text = response.text().await.expect("body");
    contractor_runtime::serde_json::from_str(&text).expect("a JSON body")
}

/// A POST /orders sent by hand, to see the exact bytes of the response.
async fn raw_create(base: &str, key: &str, body: &Value) -> (u16, String, String) {
    let response = contractor_runtime::reqwest::Client::new()
        .post(format!("{base}/orders"))
        .header("idempotency-key", key)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .expect("send");
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let text = response.text().await.expect("body");
    (status, content_type, text)
}

#[tokio::test]
async fn happy_path_every_operation() {
    let shop = Arc::new(TestShop::default());
    let (_, client) = start(shop.clone(), ServerConfig::default()).await;
    let options = CallOptions::new();

    let order = client
        .create_order(&CreateOrderRequest { body: new_order() }, &options)
        .await
        .expect("create");
    let id = order.id.expect("the server assigns an id");
    assert_eq!(order.status, OrderStatus::Placed);
    assert_eq!(order.total_cents, 2_500);
    assert_eq!(
        order.payment,
        new_order().payment,
        "the tagged union round-trips"
    );

    let fetched = client
        .get_order(&GetOrderRequest { order_id: id }, &options)
        .await
        .expect("get");
    assert_eq!(fetched, order);

    let page = client
        .list_orders(
            &ListOrdersRequest {
                status: Some(OrderStatus::Placed),
                limit: Some(5),
            },
            &options,
        )
        .await
        .expect("list");
    assert_eq!(page.orders, vec![order.clone()]);

    // A merge patch: null clears the note, an absent shipping stays.
    let updated = client
        .update_order(
            &UpdateOrderRequest {
                order_id: id,
                body: OrderUpdate {
                    note: contractor_runtime::Nullable::Null,
                    shipping: None,
                },
            },
            &options,
        )
        .await
        .expect("update");
    assert_eq!(updated.note, contractor_runtime::Nullable::Null);
    assert_eq!(updated.shipping, order.shipping);

    client
        .cancel_order(&CancelOrderRequest { order_id: id }, &options)
        .await
        .expect("cancel");

    // A declared error arrives typed.
    let missing = contractor_runtime::uuid::Uuid::nil();
    match client
        .get_order(&GetOrderRequest { order_id: missing }, &options)
        .await
    {
        Err(ClientError::Api(GetOrderError::NotFound(problem))) => {
            assert_eq!(problem.status, Some(404));
            assert!(problem.correlation_id.is_some(), "{problem:?}");
        }
        other => panic!("expected a typed 404, got {other:?}"),
    }
    assert_eq!(shop.placed.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn validation_errors_are_problems_with_a_pointer_to_each_field() {
    let shop = Arc::new(TestShop::default());
    let (base, _) = start(shop.clone(), ServerConfig::default()).await;
    let body = json!({
        "customer": "ada@example.com",
        "items": [{"sku": "tea", "quantity": 0}, {"sku": "TEA-0002"}],
        "shipping": {"line1": "", "city": "Leeds", "country": "gb"},
        "payment": {"method": "invoice", "due_days": 365}
    });
    let (status, content_type, text) = raw_create(&base, "bad-order", &body).await;
    assert_eq!(status, 422, "{text}");
    assert_eq!(content_type, "application/problem+json");
    let problem: Value = contractor_runtime::serde_json::from_str(&text).expect("json");
    let pointers: Vec<&str> = problem["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e["pointer"].as_str())
        .collect();
    for expected in [
        "#/items/0/sku",
        "#/items/0/quantity",
        "#/items/1/quantity",
        "#/shipping/line1",
        "#/shipping/country",
    ] {
        assert!(
            pointers.iter().any(|p| p == &expected),
            "{expected} missing from {pointers:?}"
        );
    }
    assert!(problem["correlation_id"].is_string(), "{problem}");

    // A bad parameter is a 400 naming the parameter.
    let response =
        contractor_runtime::reqwest::get(format!("{base}/orders?limit=1000&status=lost"))
            .await
            .expect("send");
    assert_eq!(response.status().as_u16(), 400);
    let problem: Value = json_of(response).await;
    let parameters: Vec<&str> = problem["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e["parameter"].as_str())
        .collect();
    assert!(
        parameters.contains(&"limit") && parameters.contains(&"status"),
        "{problem}"
    );

    // Unknown routes and methods are problems too.
    let response = contractor_runtime::reqwest::get(format!("{base}/nowhere"))
        .await
        .expect("send");
    assert_eq!(response.status().as_u16(), 404);
    let response = contractor_runtime::reqwest::Client::new()
        .put(format!("{base}/orders"))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status().as_u16(), 405);
    assert_eq!(
        shop.placed.load(Ordering::SeqCst),
        0,
        "nothing invalid reached the handler"
    );
}

#[tokio::test]
async fn a_server_timeout_cancels_the_handler_and_answers_504() {
    let shop = Arc::new(TestShop {
        delay: Some(Duration::from_secs(3)),
        ..TestShop::default()
    });
    let config =
        ServerConfig::default().with_operation_timeout("createOrder", Duration::from_millis(100));
    let (_, client) = start(shop.clone(), config).await;
    let started = Instant::now();
    let result = client
        .create_order(
            &CreateOrderRequest { body: new_order() },
            &CallOptions::new(),
        )
        .await;
    match result {
        Err(ClientError::Api(CreateOrderError::Default { status, body })) => {
            assert_eq!(status, 504);
            assert_eq!(body.status, Some(504));
        }
        other => panic!("expected a 504 problem, got {other:?}"),
    }
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        shop.placed.load(Ordering::SeqCst),
        0,
        "the handler was cancelled"
    );
}

#[tokio::test]
async fn a_client_timeout_fires_within_its_budget() {
    let shop = Arc::new(TestShop {
        delay: Some(Duration::from_secs(3)),
        ..TestShop::default()
    });
    let (_, client) = start(shop, ServerConfig::default()).await;
    let started = Instant::now();
    let result = client
        .get_order(
            &GetOrderRequest {
                order_id: contractor_runtime::uuid::Uuid::nil(),
            },
            &CallOptions::new().timeout(Duration::from_millis(150)),
        )
        .await;
    assert!(
        matches!(result, Err(ClientError::Timeout { .. })),
        "{result:?}"
    );
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_millis(150) && elapsed < Duration::from_secs(1),
        "{elapsed:?}"
    );
}

async fn memory() -> (Option<RedisServer>, Arc<dyn IdempotencyStore>) {
    (None, Arc::new(MemoryStore::new()))
}

async fn redis() -> Option<(Option<RedisServer>, Arc<dyn IdempotencyStore>)> {
    let server = RedisServer::start()?;
    let store = RedisStore::connect(&server.url)
        .await
        .expect("connect to redis");
    Some((Some(server), Arc::new(store)))
}

async fn same_key_twice_runs_once_and_replays_the_response(store: Arc<dyn IdempotencyStore>) {
    let shop = Arc::new(TestShop::default());
    let (base, _) = start(
        shop.clone(),
        ServerConfig::default().with_idempotency_store(store),
    )
    .await;
    let body = contractor_runtime::serde_json::to_value(new_order()).expect("json");
    let first = raw_create(&base, "key-1", &body).await;
    let second = raw_create(&base, "key-1", &body).await;
    assert_eq!(first.0, 201, "{}", first.2);
    assert_eq!(
        first, second,
        "the replay is byte for byte the first response"
    );
    assert_eq!(shop.placed.load(Ordering::SeqCst), 1);

    // The same key with another payload is refused.
    let mut changed = body.clone();
    changed["customer"] = json!("grace@example.com");
    let (status, content_type, text) = raw_create(&base, "key-1", &changed).await;
    assert_eq!(status, 422, "{text}");
    assert_eq!(content_type, "application/problem+json");
    assert_eq!(shop.placed.load(Ordering::SeqCst), 1);

    // A key is the client's own: another client's identical key is another request.
    let response = contractor_runtime::reqwest::Client::new()
        .post(format!("{base}/orders"))
        .header("idempotency-key", "key-1")
        .header("authorization", "Bearer someone-else")
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .expect("send");
    assert_eq!(response.status().as_u16(), 201);
    assert_eq!(shop.placed.load(Ordering::SeqCst), 2);

    // The contract requires the key.
    let response = contractor_runtime::reqwest::Client::new()
        .post(format!("{base}/orders"))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .expect("send");
    assert_eq!(response.status().as_u16(), 400);
}

async fn a_concurrent_duplicate_gets_409(store: Arc<dyn IdempotencyStore>) {
    let gate = Arc::new(Notify::new());
    let shop = Arc::new(TestShop {
        gate: Some(gate.clone()),
        ..TestShop::default()
    });
    let (base, _) = start(
        shop.clone(),
        ServerConfig::default().with_idempotency_store(store),
    )
    .await;
    let body = contractor_runtime::serde_json::to_value(new_order()).expect("json");
    let first = {
        let (base, body) = (base.clone(), body.clone());
        tokio::spawn(async move { raw_create(&base, "key-2", &body).await })
    };
    // Wait until the first request holds the key.
    let deadline = Instant::now() + Duration::from_secs(5);
    let second = loop {
        let attempt = raw_create(&base, "key-2", &body).await;
        if attempt.0 == 409 || Instant::now() > deadline {
            break attempt;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    assert_eq!(second.0, 409, "{}", second.2);
    assert_eq!(second.1, "application/problem+json");
    gate.notify_one();
    let first = first.await.expect("first request");
    assert_eq!(first.0, 201, "{}", first.2);
    assert_eq!(shop.placed.load(Ordering::SeqCst), 1);
}

/// Answers the first `failures` requests with 503 + `Retry-After: 0`, either
/// before the server sees them (overload) or after it answered (a lost
/// response), counting the requests it saw.
fn flaky(
    app: axum::Router,
    failures: usize,
    after_handler: bool,
    seen: Arc<AtomicUsize>,
) -> axum::Router {
    use contractor_runtime::axum::response::IntoResponse;
    app.layer(axum::middleware::from_fn(
        move |request: axum::extract::Request, next: axum::middleware::Next| {
            let seen = seen.clone();
            async move {
                let n = seen.fetch_add(1, Ordering::SeqCst);
                let unavailable = || {
                    (
                        contractor_runtime::http::StatusCode::SERVICE_UNAVAILABLE,
                        [("retry-after", "0")],
                        "busy",
                    )
                        .into_response()
                };
                if n >= failures {
                    return next.run(request).await;
                }
                if after_handler {
                    let _lost = next.run(request).await;
                }
                unavailable()
            }
        },
    ))
}

async fn retries_on_503_never_duplicate_an_effect(store: Arc<dyn IdempotencyStore>) {
    for after_handler in [false, true] {
        let shop = Arc::new(TestShop::default());
        let seen = Arc::new(AtomicUsize::new(0));
        let config = ServerConfig::default().with_idempotency_store(store.clone());
        let app = flaky(
            server::router(SharedShop(shop.clone()), config),
            2,
            after_handler,
            seen.clone(),
        );
        let base = serve(app).await;
        let client = Client::new(
            ClientConfig::new(base).with_retry(
                RetryPolicy::default()
                    .with_max_attempts(4)
                    .with_backoff(Duration::from_millis(5), Duration::from_millis(20)),
            ),
        )
        .expect("client");
        let order = client
            .create_order(
                &CreateOrderRequest { body: new_order() },
                &CallOptions::new(),
            )
            .await
            .expect("the third attempt succeeds");
        assert_eq!(seen.load(Ordering::SeqCst), 3, "two 503s, then success");
        assert_eq!(
            shop.placed.load(Ordering::SeqCst),
            1,
            "one order, after_handler={after_handler}"
        );
        assert_eq!(shop.shop.order_count(), 1);
        assert!(order.id.is_some());
    }

    // A GET is safe to retry too; a server that stays unavailable is asked
    // exactly as often as the policy allows.
    let shop = Arc::new(TestShop::default());
    let seen = Arc::new(AtomicUsize::new(0));
    let app = flaky(
        server::router(SharedShop(shop), ServerConfig::default()),
        10,
        false,
        seen.clone(),
    );
    let base = serve(app).await;
    let client = Client::new(
        ClientConfig::new(base).with_retry(
            RetryPolicy::default()
                .with_max_attempts(3)
                .with_backoff(Duration::from_millis(1), Duration::from_millis(5)),
        ),
    )
    .expect("client");
    let result = client
        .get_order(
            &GetOrderRequest {
                order_id: contractor_runtime::uuid::Uuid::nil(),
            },
            &CallOptions::new(),
        )
        .await;
    assert!(
        matches!(result, Err(ClientError::UnexpectedStatus { .. })),
        "{result:?}"
    );
    assert_eq!(
        seen.load(Ordering::SeqCst),
        3,
        "a GET is retried up to the policy's attempts"
    );
}

#[tokio::test]
async fn idempotency_with_the_memory_store() {
    let (_guard, store) = memory().await;
    same_key_twice_runs_once_and_replays_the_response(store.clone()).await;
    a_concurrent_duplicate_gets_409(store.clone()).await;
    retries_on_503_never_duplicate_an_effect(store).await;
}

#[tokio::test]
async fn idempotency_with_the_redis_store() {
    let Some((_guard, store)) = redis().await else {
        return;
    };
    same_key_twice_runs_once_and_replays_the_response(store.clone()).await;
    a_concurrent_duplicate_gets_409(store.clone()).await;
    retries_on_503_never_duplicate_an_effect(store).await;
}

#[tokio::test]
async fn correlation_ids_are_echoed_and_written_into_problems() {
    let shop = Arc::new(TestShop::default());
    let (base, _) = start(shop, ServerConfig::default()).await;
    let response = contractor_runtime::reqwest::Client::new()
        .get(format!(
            "{base}/orders/{}",
            contractor_runtime::uuid::Uuid::nil()
        ))
        .header("x-correlation-id", "trace-me-42")
        .send()
        .await
        .expect("send");
    assert_eq!(
        response
            .headers()
            .get("x-correlation-id")
            .and_then(|v| v.to_str().ok()),
        Some("trace-me-42")
    );
    let problem: Value = json_of(response).await;
    assert_eq!(problem["correlation_id"], "trace-me-42");
}
