//! The server side of `cargo xtask generate-bench`: the shop's `createOrder` and `getOrder`
//! served either by the generated server or by hand-written axum handlers that run the very
//! same handler functions ([`place`], [`find`]). The load comes from `bench_load`, another
//! process.
//!
//! ```text
//! bench_server --generated|--handwritten [--port N] [--threads N] [--null-store]
//! bench_server --generated|--handwritten [--null-store] --inproc create|get [--requests N]
//! ```
//!
//! Prints `listening on ADDR` once bound (port 0, the default, picks a free one), then serves
//! until killed. `--null-store` gives the generated server an idempotency store that keeps
//! nothing, to tell the store's cost from the rest of the generated path.
//!
//! `--inproc OP` serves nothing: it sends the requests `bench_load` would straight into the
//! router (`tower::ServiceExt::oneshot`, one thread, no sockets, no HTTP parsing), `--requests`
//! of them after as many halves as warm-up, and prints one JSON line with the wall and CPU
//! time per request: the router's own cost, without the load generator's or the kernel's,
//! and barely touched by other processes on the machine. One side per process, so that one
//! side's heap (a full idempotency store) does not slow the other down.

use std::collections::HashMap;
use std::io::Write as _;
use std::sync::Arc;

use contractor_example_shop::server::{self, RequestContext, ServerConfig};
use contractor_example_shop::types::*;
use contractor_runtime::axum::extract::{Path, State};
use contractor_runtime::axum::http::StatusCode;
use contractor_runtime::axum::routing::{get, post};
use contractor_runtime::axum::serve::ListenerExt as _;
use contractor_runtime::axum::{self, Json, Router};
use contractor_runtime::chrono::Utc;
use contractor_runtime::idempotency::{Begin, IdempotencyStore, StoreError, StoredResponse};
use contractor_runtime::uuid::Uuid;
use contractor_runtime::{BoxFuture, Problem, tokio};

/// The order `getOrder` finds (`bench_load` asks for this id).
const SEEDED_ORDER: &str = "00000000-0000-4000-8000-000000000001";

/// What both servers share: the seeded orders.
struct BenchShop {
    orders: std::sync::Mutex<HashMap<Uuid, Order>>,
}

impl BenchShop {
    fn new() -> Self {
        let id = Uuid::parse_str(SEEDED_ORDER).expect("a valid uuid");
        let mut order = place(NewOrder {
            customer: "ada@example.com".into(),
            items: vec![LineItem {
                sku: "TEA-0001".into(),
                quantity: 2,
            }],
            note: contractor_runtime::Nullable::Value("leave at the door".into()),
            shipping: Some(Address {
                line1: "1 Loop Road".into(),
                city: "Localhost".into(),
                country: "NZ".into(),
            }),
            payment: None,
        });
        order.id = Some(id);
        Self {
            orders: std::sync::Mutex::new(HashMap::from([(id, order)])),
        }
    }
}

/// createOrder's work, on both servers: price the items and build the order (not stored, so
/// that memory stays flat however long the run).
fn place(order: NewOrder) -> Order {
    let total_cents = order
        .items
        .iter()
        .map(|i| i64::from(i.quantity) * 1_250)
        .sum();
    Order {
        id: Some(Uuid::new_v4()),
        status: OrderStatus::Placed,
        created_at: Utc::now().fixed_offset(),
        total_cents,
        customer: order.customer,
        items: order.items,
        note: order.note,
        shipping: order.shipping,
        payment: order.payment,
    }
}

/// getOrder's work, on both servers.
// The generated error enums hold their problem bodies by value too.
#[allow(clippy::result_large_err)]
fn find(shop: &BenchShop, id: &Uuid) -> Result<Order, types::Problem> {
    let orders = shop.orders.lock().map_err(|_| problem(500, "poisoned"))?;
    orders
        .get(id)
        .cloned()
        .ok_or_else(|| problem(404, &format!("no order {id}")))
}

fn problem(status: u16, detail: &str) -> types::Problem {
    types::Problem {
        status: Some(i32::from(status)),
        detail: Some(detail.to_string()),
        ..types::Problem::default()
    }
}

use contractor_example_shop::types;

impl server::Api for BenchShop {
    async fn list_orders(
        &self,
        _: RequestContext,
        _: ListOrdersRequest,
    ) -> Result<OrderPage, ListOrdersError> {
        Err(ListOrdersError::Other(Problem::new(501)))
    }

    async fn create_order(
        &self,
        _: RequestContext,
        request: CreateOrderRequest,
    ) -> Result<Order, CreateOrderError> {
        Ok(place(request.body))
    }

    async fn get_order(
        &self,
        _: RequestContext,
        request: GetOrderRequest,
    ) -> Result<Order, GetOrderError> {
        find(self, &request.order_id).map_err(GetOrderError::NotFound)
    }

    async fn cancel_order(
        &self,
        _: RequestContext,
        _: CancelOrderRequest,
    ) -> Result<(), CancelOrderError> {
        Err(CancelOrderError::Other(Problem::new(501)))
    }

    async fn update_order(
        &self,
        _: RequestContext,
        _: UpdateOrderRequest,
    ) -> Result<Order, UpdateOrderError> {
        Err(UpdateOrderError::Other(Problem::new(501)))
    }
}

/// The hand-written createOrder: axum's JSON extractor, the same work, 201 with JSON.
async fn create_by_hand(Json(order): Json<NewOrder>) -> (StatusCode, Json<Order>) {
    (StatusCode::CREATED, Json(place(order)))
}

/// The hand-written getOrder.
async fn get_by_hand(
    State(shop): State<Arc<BenchShop>>,
    Path(id): Path<Uuid>,
) -> Result<Json<Order>, (StatusCode, Json<types::Problem>)> {
    find(&shop, &id).map(Json).map_err(|p| {
        let status = p
            .status
            .and_then(|s| u16::try_from(s).ok())
            .and_then(|s| StatusCode::from_u16(s).ok())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, Json(p))
    })
}

/// An idempotency store that keeps nothing: every key is new.
struct NullStore;

impl IdempotencyStore for NullStore {
    fn begin(
        &self,
        _: &str,
        _: &str,
        _: std::time::Duration,
    ) -> BoxFuture<'_, Result<Begin, StoreError>> {
        Box::pin(async { Ok(Begin::Started) })
    }

    fn complete(
        &self,
        _: &str,
        _: &str,
        _: StoredResponse,
        _: std::time::Duration,
    ) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async { Ok(()) })
    }

    fn release(&self, _: &str) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async { Ok(()) })
    }
}

/// The generated router.
fn generated_router(null_store: bool) -> Router {
    let mut config = ServerConfig::default();
    if null_store {
        config = config.with_idempotency_store(Arc::new(NullStore));
    }
    server::router(BenchShop::new(), config)
}

/// The hand-written router.
fn handwritten_router() -> Router {
    Router::new()
        .route("/orders", post(create_by_hand))
        .route("/orders/{order_id}", get(get_by_hand))
        .with_state(Arc::new(BenchShop::new()))
}

/// The body `bench_load` sends.
const ORDER: &str = r#"{"customer":"ada@example.com","items":[{"sku":"TEA-0001","quantity":2},{"sku":"MUG-0042","quantity":1}],"note":"leave at the door","shipping":{"line1":"1 Loop Road","city":"Localhost","country":"NZ"},"payment":{"method":"card","token":"tok_visa"}}"#;

/// `--inproc`: time per request through `router`, without sockets; prints one JSON line.
fn inproc(router: Router, create: bool, requests: u32) -> Result<(), Box<dyn std::error::Error>> {
    use contractor_runtime::axum::body::Body;
    use contractor_runtime::http::{Request, header};
    use http_body_util::BodyExt as _;
    use tower::ServiceExt as _;

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let request = |n: u32| {
        let builder = Request::builder().header(header::AUTHORIZATION, "Bearer bench-token");
        if create {
            builder
                .method("POST")
                .uri("/orders")
                .header(header::CONTENT_TYPE, "application/json")
                .header(header::CONTENT_LENGTH, ORDER.len())
                .header("idempotency-key", format!("inproc-{n}"))
                .body(Body::from(ORDER))
        } else {
            builder
                .uri(format!("/orders/{SEEDED_ORDER}"))
                .body(Body::empty())
        }
    };
    let mut n = 0;
    let mut run = |count: u32| -> Result<(f64, Option<f64>), Box<dyn std::error::Error>> {
        let (started, cpu) = (std::time::Instant::now(), thread_cpu_ns());
        runtime.block_on(async {
            for _ in 0..count {
                n += 1;
                let resp = router.clone().oneshot(request(n)?).await?;
                if !resp.status().is_success() {
                    return Err(format!("status {}", resp.status()).into());
                }
                std::hint::black_box(resp.into_body().collect().await?.to_bytes());
            }
            Ok::<_, Box<dyn std::error::Error>>(())
        })?;
        let per = |total: f64| total / f64::from(count);
        let cpu = cpu
            .zip(thread_cpu_ns())
            .map(|(a, b)| per((b - a) as f64 / 1e3));
        Ok((per(started.elapsed().as_secs_f64() * 1e6), cpu))
    };
    // Warm-up: caches, the schema set's compilation, and (for createOrder) a full
    // idempotency store, which is the steady state of a busy server.
    run(requests / 2)?;
    let (wall, cpu) = run(requests)?;
    println!(
        "{{\"requests\":{requests},\"wall_us\":{wall:.3},\"cpu_us\":{}}}",
        cpu.map_or("null".to_string(), |c| format!("{c:.3}"))
    );
    Ok(())
}

/// CPU time of the calling thread, ns (Linux: /proc/thread-self/schedstat); what the wall
/// time would be on an otherwise idle machine.
fn thread_cpu_ns() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    stat.split_whitespace().next()?.parse().ok()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut generated = None;
    let mut port = 0u16;
    let mut threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let mut null_store = false;
    let mut in_process: Option<String> = None;
    let mut requests = 200_000;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--generated" => generated = Some(true),
            "--handwritten" => generated = Some(false),
            "--null-store" => null_store = true,
            "--inproc" => in_process = Some(args.next().ok_or("--inproc create|get")?),
            "--requests" => requests = args.next().ok_or("--requests needs a value")?.parse()?,
            "--port" => port = args.next().ok_or("--port needs a value")?.parse()?,
            "--threads" => threads = args.next().ok_or("--threads needs a value")?.parse()?,
            other => return Err(format!("unexpected argument `{other}`").into()),
        }
    }
    let generated = generated.ok_or("say --generated or --handwritten")?;
    let app = if generated {
        generated_router(null_store)
    } else {
        handwritten_router()
    };
    if let Some(op) = in_process {
        return inproc(app, op == "create", requests);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads.max(1))
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        println!("listening on {}", listener.local_addr()?);
        std::io::stdout().flush()?;
        // Both servers alike: no Nagle delay on the small responses.
        let listener = listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        axum::serve(listener, app).await?;
        Ok(())
    })
}
