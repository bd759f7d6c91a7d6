//! The orders example: `schemas/orders/v1/orders.proto` generated at build time (see build.rs;
//! protox compiles it, so no `protoc`) into `orders::v1` (prost messages with proto3 JSON
//! serde impls, the tonic client and server), `GRPC_METHODS` and `FILE_DESCRIPTOR_SET`, plus
//! [`InMemoryOrders`], an implementation of the generated `Orders` trait that covers all four
//! call shapes, and [`serve`], which runs it behind contractor-runtime's gRPC server.

include!(concat!(env!("OUT_DIR"), "/orders.rs"));

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use contractor_runtime::Problem;
use contractor_runtime::grpc::{Server, ServerConfig};
use contractor_runtime::tokio;
use contractor_runtime::tokio::sync::{broadcast, mpsc, oneshot};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};

use orders::v1::orders_server::{Orders, OrdersServer};
use orders::v1::{
    CancelOrderRequest, CreateOrderRequest, GetOrderRequest, ImportOrdersResponse, Order,
    OrderEvent, OrderStatus, TrackRequest, WatchOrdersRequest,
};

/// How many events a slow watcher may fall behind before its stream ends.
const EVENT_BACKLOG: usize = 256;

/// How many messages a streaming response buffers ahead of the client.
const STREAM_BUFFER: usize = 16;

/// Orders kept in memory; every change is also published to the watchers.
///
/// The knobs ([`with_latency`](Self::with_latency), [`fail_next`](Self::fail_next)) exist for
/// the end-to-end tests of deadlines and retries: they make the server slow or briefly
/// unavailable without any mock between client and server.
#[derive(Clone)]
pub struct InMemoryOrders {
    shared: Arc<Shared>,
}

struct Shared {
    store: Mutex<Store>,
    events: broadcast::Sender<OrderEvent>,
    latency: Mutex<Duration>,
    failures_left: AtomicUsize,
    unary_calls: AtomicUsize,
}

#[derive(Default)]
struct Store {
    orders: BTreeMap<String, Order>,
    next_id: u64,
}

impl Default for InMemoryOrders {
    fn default() -> Self {
        Self::new()
    }
}

impl InMemoryOrders {
    pub fn new() -> Self {
        let (events, _) = broadcast::channel(EVENT_BACKLOG);
        InMemoryOrders {
            shared: Arc::new(Shared {
                store: Mutex::new(Store::default()),
                events,
                latency: Mutex::new(Duration::ZERO),
                failures_left: AtomicUsize::new(0),
                unary_calls: AtomicUsize::new(0),
            }),
        }
    }

    /// Every unary call waits this long before doing anything.
    pub fn with_latency(self, latency: Duration) -> Self {
        if let Ok(mut slot) = self.shared.latency.lock() {
            *slot = latency;
        }
        self
    }

    /// The next `calls` unary calls fail with `UNAVAILABLE` before touching the store, as a
    /// server that is restarting would.
    pub fn fail_next(&self, calls: usize) {
        self.shared.failures_left.store(calls, Ordering::SeqCst);
    }

    /// How many orders exist.
    pub fn order_count(&self) -> usize {
        self.store().map(|s| s.orders.len()).unwrap_or(0)
    }

    /// How many unary calls reached the handlers (failed ones included).
    pub fn unary_calls(&self) -> usize {
        self.shared.unary_calls.load(Ordering::SeqCst)
    }

    fn store(&self) -> Result<MutexGuard<'_, Store>, Status> {
        self.shared.store.lock().map_err(|_| {
            Status::from(Problem::new(500).with_detail("the order store is unavailable"))
        })
    }

    /// What every unary handler does first: count, wait, maybe fail.
    async fn enter_unary(&self) -> Result<(), Status> {
        self.shared.unary_calls.fetch_add(1, Ordering::SeqCst);
        let latency = self
            .shared
            .latency
            .lock()
            .map(|l| *l)
            .unwrap_or(Duration::ZERO);
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        let failed = self
            .shared
            .failures_left
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if failed {
            return Err(Problem::new(503)
                .with_detail("restarting, try again")
                .into());
        }
        Ok(())
    }

    /// Validates and stores a new order, publishing it to the watchers.
    fn create(&self, request: CreateOrderRequest) -> Result<Order, Status> {
        let mut problems = Vec::new();
        if request.customer_id.trim().is_empty() {
            problems.push(contractor_runtime::FieldError::body(
                "/customerId",
                "a customer is required",
            ));
        }
        if request.items.is_empty() {
            problems.push(contractor_runtime::FieldError::body(
                "/items",
                "an order needs at least one item",
            ));
        }
        for (index, item) in request.items.iter().enumerate() {
            if item.quantity <= 0 {
                problems.push(contractor_runtime::FieldError::body(
                    format!("/items/{index}/quantity"),
                    "must be at least 1",
                ));
            }
        }
        if !problems.is_empty() {
            return Err(Problem::validation(422, problems).into());
        }
        let total_minor = request
            .items
            .iter()
            .map(|item| i64::from(item.quantity).saturating_mul(item.unit_price_minor))
            .fold(0i64, i64::saturating_add);
        let mut store = self.store()?;
        store.next_id += 1;
        let order = Order {
            id: format!("ord-{:04}", store.next_id),
            customer_id: request.customer_id,
            items: request.items,
            status: OrderStatus::Pending.into(),
            created_at: Some(now()),
            total_minor,
            currency: if request.currency.is_empty() {
                "EUR".to_string()
            } else {
                request.currency
            },
        };
        store.orders.insert(order.id.clone(), order.clone());
        // Published under the lock, so a watcher that subscribes under it sees every order
        // exactly once: in its snapshot or as an event.
        let _ = self.shared.events.send(event(&order));
        Ok(order)
    }
}

fn event(order: &Order) -> OrderEvent {
    OrderEvent {
        order: Some(order.clone()),
        at: Some(now()),
    }
}

/// The current time as a protobuf `Timestamp`.
pub fn now() -> pbjson_types::Timestamp {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    pbjson_types::Timestamp {
        seconds: i64::try_from(since_epoch.as_secs()).unwrap_or(i64::MAX),
        nanos: i32::try_from(since_epoch.subsec_nanos()).unwrap_or(0),
    }
}

fn not_found(id: &str) -> Status {
    Problem::new(404)
        .with_detail(format!("no order {id:?}"))
        .into()
}

#[tonic::async_trait]
impl Orders for InMemoryOrders {
    async fn create_order(
        &self,
        request: Request<CreateOrderRequest>,
    ) -> Result<Response<Order>, Status> {
        self.enter_unary().await?;
        self.create(request.into_inner()).map(Response::new)
    }

    async fn get_order(
        &self,
        request: Request<GetOrderRequest>,
    ) -> Result<Response<Order>, Status> {
        self.enter_unary().await?;
        let id = request.into_inner().id;
        let store = self.store()?;
        store
            .orders
            .get(&id)
            .cloned()
            .map(Response::new)
            .ok_or_else(|| not_found(&id))
    }

    async fn cancel_order(
        &self,
        request: Request<CancelOrderRequest>,
    ) -> Result<Response<Order>, Status> {
        self.enter_unary().await?;
        let id = request.into_inner().id;
        let mut store = self.store()?;
        let order = store.orders.get_mut(&id).ok_or_else(|| not_found(&id))?;
        match OrderStatus::try_from(order.status) {
            Ok(OrderStatus::Cancelled) => {}
            Ok(OrderStatus::Shipped) => {
                return Err(Problem::new(409)
                    .with_detail(format!("order {id} has shipped"))
                    .into());
            }
            _ => {
                order.status = OrderStatus::Cancelled.into();
                let _ = self.shared.events.send(event(order));
            }
        }
        Ok(Response::new(order.clone()))
    }

    type WatchOrdersStream = ReceiverStream<Result<OrderEvent, Status>>;

    async fn watch_orders(
        &self,
        request: Request<WatchOrdersRequest>,
    ) -> Result<Response<Self::WatchOrdersStream>, Status> {
        let customer = request.into_inner().customer_id;
        let (mut live, existing) = {
            let store = self.store()?;
            let existing: Vec<Order> = store
                .orders
                .values()
                .filter(|o| o.customer_id == customer)
                .cloned()
                .collect();
            (self.shared.events.subscribe(), existing)
        };
        let (sender, receiver) = mpsc::channel(STREAM_BUFFER);
        tokio::spawn(async move {
            for order in &existing {
                if sender.send(Ok(event(order))).await.is_err() {
                    return;
                }
            }
            loop {
                tokio::select! {
                    received = live.recv() => match received {
                        Ok(update) => {
                            let theirs = update
                                .order
                                .as_ref()
                                .is_some_and(|o| o.customer_id == customer);
                            if theirs && sender.send(Ok(update)).await.is_err() {
                                return;
                            }
                        }
                        Err(broadcast::error::RecvError::Lagged(missed)) => {
                            let status = Problem::new(503)
                                .with_detail(format!("the watch fell {missed} events behind; watch again"));
                            let _ = sender.send(Err(status.into())).await;
                            return;
                        }
                        Err(broadcast::error::RecvError::Closed) => return,
                    },
                    // The client went away: stop forwarding.
                    () = sender.closed() => return,
                }
            }
        });
        Ok(Response::new(ReceiverStream::new(receiver)))
    }

    async fn import_orders(
        &self,
        request: Request<Streaming<CreateOrderRequest>>,
    ) -> Result<Response<ImportOrdersResponse>, Status> {
        let mut incoming = request.into_inner();
        let mut imported = ImportOrdersResponse::default();
        while let Some(next) = incoming.message().await? {
            let order = self.create(next)?;
            imported.total_minor = imported.total_minor.saturating_add(order.total_minor);
            imported.order_ids.push(order.id);
        }
        Ok(Response::new(imported))
    }

    type TrackStream = ReceiverStream<Result<OrderEvent, Status>>;

    async fn track(
        &self,
        request: Request<Streaming<TrackRequest>>,
    ) -> Result<Response<Self::TrackStream>, Status> {
        let mut incoming = request.into_inner();
        let (sender, receiver) = mpsc::channel(STREAM_BUFFER);
        let orders = self.clone();
        tokio::spawn(async move {
            loop {
                let reply = match incoming.message().await {
                    Ok(Some(TrackRequest { order_id })) => orders.store().and_then(|store| {
                        store
                            .orders
                            .get(&order_id)
                            .map(event)
                            .ok_or_else(|| not_found(&order_id))
                    }),
                    Ok(None) => return,
                    Err(status) => Err(status),
                };
                // An error ends the stream (after telling the client why).
                let last = reply.is_err();
                if sender.send(reply).await.is_err() || last {
                    return;
                }
            }
        });
        Ok(Response::new(ReceiverStream::new(receiver)))
    }
}

/// A server running on a loopback port until [`RunningServer::stop`] (or drop).
pub struct RunningServer {
    pub address: SocketAddr,
    pub orders: InMemoryOrders,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl RunningServer {
    /// `http://127.0.0.1:port`, what `ClientConfig::new` takes.
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Stops accepting calls, lets calls in progress finish, and returns how serving ended.
    pub async fn stop(mut self) -> std::io::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.task.take() {
            Some(task) => task
                .await
                .unwrap_or_else(|e| Err(std::io::Error::other(e.to_string()))),
            None => Ok(()),
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Serves `orders` on 127.0.0.1 (a free port) with `config`, health and reflection included.
pub async fn serve(orders: InMemoryOrders, config: ServerConfig) -> std::io::Result<RunningServer> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let server = Server::new(
        config.with_health_and_reflection(FILE_DESCRIPTOR_SET),
        GRPC_METHODS,
    )
    .add_service(OrdersServer::new(orders.clone()));
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(server.serve_with_shutdown(listener, async move {
        let _ = stopped.await;
    }));
    Ok(RunningServer {
        address,
        orders,
        stop: Some(stop),
        task: Some(task),
    })
}
