//! The two sides of `cargo xtask grpc-bench`, one process each:
//!
//! ```text
//! contractor-grpc-bench serve --contractor|--plain
//!     prints `listening on ADDR`, then serves the Orders service until killed
//! contractor-grpc-bench load --contractor|--plain --addr ADDR --op get|create
//!     [--connections N] [--concurrency N] [--warmup S] [--seconds S] [--no-keys]
//!     prints one JSON line: {"requests", "rps", "p50_us", "p99_us", "errors"}
//! ```
//!
//! `--contractor` is what a contractor user runs: the generated code behind
//! `contractor_runtime::grpc::Server` (deadlines, idempotency for keyed calls, correlation ids)
//! and called through `contractor_runtime::grpc::Channel` (deadline, retry classification,
//! idempotency keys for CreateOrder, correlation ids). `--plain` is the same contract through
//! plain tonic-prost-build code, `tonic::transport::Server` and `tonic::transport::Channel`.
//! Both sides run the same handler logic on the same messages.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use contractor_runtime::tokio;

include!(concat!(env!("OUT_DIR"), "/orders.rs"));

/// The baseline: tonic-prost-build's output for the same file, nothing added.
mod plain {
    #![allow(clippy::all, clippy::pedantic)]
    include!(concat!(env!("OUT_DIR"), "/plain/orders.v1.rs"));
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The order every GetOrder asks for.
const SEEDED_ORDER: &str = "ord-0001";

/// Builds the handlers for one set of message types; the two sides differ only in paths.
macro_rules! orders_impl {
    ($module:ident, $name:ident, $($m:ident)::+) => {
        mod $module {
        use super::*;
        use crate::$($m)::+ as m;

        #[derive(Default)]
        pub(crate) struct $name {
            next_id: AtomicU64,
        }

        impl $name {
            fn order(id: String, items: Vec<m::LineItem>, customer: String) -> m::Order {
                let total_minor = items
                    .iter()
                    .map(|i| i64::from(i.quantity) * i.unit_price_minor)
                    .sum();
                m::Order {
                    id,
                    customer_id: customer,
                    items,
                    status: m::OrderStatus::Pending as i32,
                    created_at: None,
                    total_minor,
                    currency: "EUR".to_owned(),
                }
            }
        }

        #[tonic::async_trait]
        impl m::orders_server::Orders for $name {
            async fn create_order(
                &self,
                request: tonic::Request<m::CreateOrderRequest>,
            ) -> Result<tonic::Response<m::Order>, tonic::Status> {
                let r = request.into_inner();
                let n = self.next_id.fetch_add(1, Ordering::Relaxed);
                Ok(tonic::Response::new(Self::order(
                    format!("ord-{n:08}"),
                    r.items,
                    r.customer_id,
                )))
            }

            async fn get_order(
                &self,
                request: tonic::Request<m::GetOrderRequest>,
            ) -> Result<tonic::Response<m::Order>, tonic::Status> {
                let id = request.into_inner().id;
                if id != SEEDED_ORDER {
                    return Err(tonic::Status::not_found(format!("no order {id}")));
                }
                let items = vec![m::LineItem {
                    sku: "TEA-0001".to_owned(),
                    quantity: 2,
                    unit_price_minor: 450,
                }];
                Ok(tonic::Response::new(Self::order(id, items, "ada".to_owned())))
            }

            async fn cancel_order(
                &self,
                _request: tonic::Request<m::CancelOrderRequest>,
            ) -> Result<tonic::Response<m::Order>, tonic::Status> {
                Err(tonic::Status::unimplemented("not benchmarked"))
            }

            type WatchOrdersStream = std::pin::Pin<
                Box<
                    dyn tokio_stream::Stream<
                            Item = Result<m::OrderEvent, tonic::Status>,
                        > + Send,
                >,
            >;

            async fn watch_orders(
                &self,
                _request: tonic::Request<m::WatchOrdersRequest>,
            ) -> Result<tonic::Response<Self::WatchOrdersStream>, tonic::Status> {
                Err(tonic::Status::unimplemented("not benchmarked"))
            }

            async fn import_orders(
                &self,
                _request: tonic::Request<tonic::Streaming<m::CreateOrderRequest>>,
            ) -> Result<tonic::Response<m::ImportOrdersResponse>, tonic::Status> {
                Err(tonic::Status::unimplemented("not benchmarked"))
            }

            type TrackStream = Self::WatchOrdersStream;

            async fn track(
                &self,
                _request: tonic::Request<tonic::Streaming<m::TrackRequest>>,
            ) -> Result<tonic::Response<Self::TrackStream>, tonic::Status> {
                Err(tonic::Status::unimplemented("not benchmarked"))
            }
        }
        }
        use $module::$name;
    };
}

orders_impl!(contractor_side, ContractorOrders, orders::v1);
orders_impl!(plain_side, PlainOrders, plain);

#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    Contractor,
    Plain,
}

struct LoadOptions {
    addr: SocketAddr,
    /// contractor's client sends no idempotency key on CreateOrder (`--no-keys`), so the
    /// server stores nothing: the generated code's own cost on a write.
    auto_keys: bool,
    create: bool,
    connections: usize,
    concurrency: usize,
    warmup: Duration,
    measured: Duration,
}

fn main() -> Result<(), BoxError> {
    let mut args = std::env::args().skip(1);
    let mode = args
        .next()
        .ok_or("usage: serve|load --contractor|--plain …")?;
    let mut side = None;
    let mut addr = None;
    let mut create = false;
    let mut auto_keys = true;
    let (mut connections, mut concurrency) = (4usize, 32usize);
    let (mut warmup, mut seconds) = (1u64, 5u64);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--contractor" => side = Some(Side::Contractor),
            "--plain" => side = Some(Side::Plain),
            "--addr" => addr = Some(value()?.parse()?),
            "--op" => create = value()? == "create",
            "--no-keys" => auto_keys = false,
            "--connections" => connections = value()?.parse()?,
            "--concurrency" => concurrency = value()?.parse()?,
            "--warmup" => warmup = value()?.parse()?,
            "--seconds" => seconds = value()?.parse()?,
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    let side = side.ok_or("--contractor or --plain")?;
    match mode.as_str() {
        "serve" => {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            runtime.block_on(serve(side))
        }
        "load" => {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let options = LoadOptions {
                addr: addr.ok_or("--addr")?,
                auto_keys,
                create,
                connections: connections.max(1),
                concurrency: concurrency.max(1),
                warmup: Duration::from_secs(warmup),
                measured: Duration::from_secs(seconds.max(1)),
            };
            runtime.block_on(load(side, options))
        }
        other => Err(format!("unknown mode {other}").into()),
    }
}

async fn serve(side: Side) -> Result<(), BoxError> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    println!("listening on {}", listener.local_addr()?);
    match side {
        Side::Contractor => {
            use contractor_runtime::grpc::{Server, ServerConfig};
            let server = Server::new(ServerConfig::new(), GRPC_METHODS).add_service(
                orders::v1::orders_server::OrdersServer::new(ContractorOrders::default()),
            );
            server.serve(listener).await?;
        }
        Side::Plain => {
            // Accepted sockets get TCP_NODELAY, as contractor's server sets it.
            let incoming = accept_with_nodelay(listener);
            tonic::transport::Server::builder()
                .add_service(plain::orders_server::OrdersServer::new(
                    PlainOrders::default(),
                ))
                .serve_with_incoming(incoming)
                .await?;
        }
    }
    Ok(())
}

/// Accepted connections as the stream tonic's server takes, with TCP_NODELAY set.
fn accept_with_nodelay(
    listener: tokio::net::TcpListener,
) -> impl tokio_stream::Stream<Item = std::io::Result<tokio::net::TcpStream>> {
    use tokio_stream::StreamExt as _;
    tokio_stream::wrappers::TcpListenerStream::new(listener).map(|accepted| {
        let stream = accepted?;
        stream.set_nodelay(true)?;
        Ok(stream)
    })
}

/// One caller: the request it sends, over one side's client.
enum Caller {
    Contractor(orders::v1::orders_client::OrdersClient<contractor_runtime::grpc::Channel>),
    Plain(plain::orders_client::OrdersClient<tonic::transport::Channel>),
}

/// The benchmarked call through `client`, whose messages live in module `m`.
macro_rules! call_orders {
    ($client:expr, $($m:ident)::+, $create:expr) => {{
        use $($m)::+ as m;
        if $create {
            $client
                .create_order(m::CreateOrderRequest {
                    customer_id: "ada".to_owned(),
                    items: vec![m::LineItem {
                        sku: "TEA-0001".to_owned(),
                        quantity: 2,
                        unit_price_minor: 450,
                    }],
                    currency: "EUR".to_owned(),
                })
                .await?;
        } else {
            $client
                .get_order(m::GetOrderRequest {
                    id: SEEDED_ORDER.to_owned(),
                })
                .await?;
        }
    }};
}

impl Caller {
    async fn call(&mut self, create: bool) -> Result<(), tonic::Status> {
        match self {
            Caller::Contractor(c) => call_orders!(c, orders::v1, create),
            Caller::Plain(c) => call_orders!(c, plain, create),
        }
        Ok(())
    }
}

async fn load(side: Side, options: LoadOptions) -> Result<(), BoxError> {
    let url = format!("http://{}", options.addr);
    let mut callers = Vec::new();
    for _ in 0..options.connections {
        callers.push(match side {
            Side::Contractor => {
                let channel = contractor_runtime::grpc::ClientConfig::new(url.clone())
                    .with_methods(GRPC_METHODS)
                    .with_auto_idempotency_keys(options.auto_keys)
                    .connect()
                    .await?;
                Caller::Contractor(orders::v1::orders_client::OrdersClient::new(channel))
            }
            Side::Plain => {
                let channel = tonic::transport::Channel::from_shared(url.clone())?
                    .tcp_nodelay(true)
                    .connect()
                    .await?;
                Caller::Plain(plain::orders_client::OrdersClient::new(channel))
            }
        });
    }
    let started = Instant::now();
    let measure_from = started + options.warmup;
    let until = measure_from + options.measured;
    let errors = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for i in 0..options.concurrency {
        let mut caller = match &callers[i % callers.len()] {
            Caller::Contractor(c) => Caller::Contractor(c.clone()),
            Caller::Plain(c) => Caller::Plain(c.clone()),
        };
        let errors = errors.clone();
        let create = options.create;
        tasks.push(tokio::spawn(async move {
            let mut latencies_us = Vec::new();
            loop {
                let sent = Instant::now();
                if sent >= until {
                    break;
                }
                if caller.call(create).await.is_err() {
                    errors.fetch_add(1, Ordering::Relaxed);
                }
                if sent >= measure_from {
                    latencies_us.push(sent.elapsed().as_micros() as u64);
                }
            }
            latencies_us
        }));
    }
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await?);
    }
    latencies.sort_unstable();
    let at = |q: f64| {
        latencies
            .get(((latencies.len() as f64 - 1.0) * q) as usize)
            .copied()
            .unwrap_or(0)
    };
    println!(
        "{{\"requests\":{},\"rps\":{:.1},\"p50_us\":{},\"p99_us\":{},\"errors\":{}}}",
        latencies.len(),
        latencies.len() as f64 / options.measured.as_secs_f64(),
        at(0.5),
        at(0.99),
        errors.load(Ordering::Relaxed)
    );
    Ok(())
}
