//! gRPC over real loopback sockets: a hand-written service (what tonic-prost-build would
//! generate, small) behind the runtime's `Server`, called through the runtime's `Channel`.

use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use contractor_runtime::grpc::tonic::codegen::http::uri::PathAndQuery;
use contractor_runtime::grpc::tonic::server::NamedService;
use contractor_runtime::grpc::tonic::{self, Code, Request, Response, Status};
use contractor_runtime::grpc::{
    Channel, ClientConfig, IdempotencyLevel, Method, RequestExt as _, Server, ServerConfig,
    problem_from_status,
};
use contractor_runtime::retry::RetryPolicy;
use contractor_runtime::{FieldError, Problem, axum, correlation};
use http_body_util::BodyExt as _;
use tonic_prost::ProstCodec;

#[derive(Clone, PartialEq, prost::Message)]
pub struct OrderRequest {
    #[prost(string, tag = "1")]
    pub id: String,
    /// How long CreateOrder takes (after telling the test it started).
    #[prost(uint64, tag = "2")]
    pub delay_ms: u64,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Order {
    #[prost(string, tag = "1")]
    pub id: String,
    /// Which handler run produced this order (1 for the first).
    #[prost(uint64, tag = "2")]
    pub serial: u64,
}

const SERVICE: &str = "test.v1.Orders";
const GET: &str = "/test.v1.Orders/GetOrder";
const CREATE: &str = "/test.v1.Orders/CreateOrder";
const SLOW: &str = "/test.v1.Orders/Slow";
const FAIL: &str = "/test.v1.Orders/Fail";

const fn unary(path: &'static str, idempotency: IdempotencyLevel) -> Method {
    Method {
        path,
        idempotency,
        client_streaming: false,
        server_streaming: false,
    }
}

/// What the generator emits as `GRPC_METHODS`.
const METHODS: &[Method] = &[
    unary(GET, IdempotencyLevel::NoSideEffects),
    unary(CREATE, IdempotencyLevel::Unknown),
    unary(SLOW, IdempotencyLevel::Idempotent),
    unary(FAIL, IdempotencyLevel::NoSideEffects),
];

#[derive(Default)]
struct State {
    get_calls: AtomicUsize,
    create_calls: AtomicUsize,
    /// GetOrder and CreateOrder answer UNAVAILABLE to this many calls first.
    unavailable_first: AtomicUsize,
    /// Set when a Slow handler is dropped before finishing.
    slow_cancelled: AtomicBool,
    /// Notified when a CreateOrder with a delay starts.
    started: tokio::sync::Notify,
    /// What Fail answers.
    failure: Mutex<Option<Status>>,
}

impl State {
    fn unavailable(&self, calls: usize) -> Result<(), Status> {
        if calls <= self.unavailable_first.load(SeqCst) {
            return Err(Status::unavailable("warming up"));
        }
        Ok(())
    }
}

struct SetOnDrop<'a>(&'a AtomicBool);

impl Drop for SetOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, SeqCst);
    }
}

async fn handle(
    state: Arc<State>,
    path: &str,
    req: Request<OrderRequest>,
) -> Result<Response<Order>, Status> {
    let req = req.into_inner();
    match path {
        GET => {
            let n = state.get_calls.fetch_add(1, SeqCst) + 1;
            state.unavailable(n)?;
            Ok(Response::new(Order {
                id: req.id,
                serial: n as u64,
            }))
        }
        CREATE => {
            let n = state.create_calls.fetch_add(1, SeqCst) + 1;
            state.unavailable(n)?;
            if req.delay_ms > 0 {
                state.started.notify_one();
                tokio::time::sleep(Duration::from_millis(req.delay_ms)).await;
            }
            let mut resp = Response::new(Order {
                id: req.id,
                serial: n as u64,
            });
            resp.metadata_mut()
                .insert("x-serial", n.to_string().parse().expect("digits"));
            Ok(resp)
        }
        SLOW => {
            let guard = SetOnDrop(&state.slow_cancelled);
            tokio::time::sleep(Duration::from_secs(10)).await;
            std::mem::forget(guard);
            Ok(Response::new(Order::default()))
        }
        FAIL => Err(state
            .failure
            .lock()
            .expect("lock")
            .take()
            .unwrap_or_else(|| Status::internal("no failure set"))),
        _ => Err(Status::unimplemented(path.to_owned())),
    }
}

/// The hand-written `OrdersServer`: a tonic `NamedService` dispatching on the path to
/// `tonic::server::Grpc::unary` with the prost codec.
#[derive(Clone)]
struct Orders(Arc<State>);

impl NamedService for Orders {
    const NAME: &'static str = SERVICE;
}

impl<B> tower::Service<http::Request<B>> for Orders
where
    B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>> + Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = contractor_runtime::BoxFuture<'static, Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let state = self.0.clone();
        Box::pin(async move {
            let path: &'static str = match req.uri().path() {
                GET => GET,
                CREATE => CREATE,
                SLOW => SLOW,
                FAIL => FAIL,
                _ => return Ok(Status::unimplemented("").into_http()),
            };
            let svc = tower::service_fn(move |r: Request<OrderRequest>| {
                let state = state.clone();
                async move { handle(state, path, r).await }
            });
            let mut grpc = tonic::server::Grpc::new(ProstCodec::<Order, OrderRequest>::default());
            Ok(grpc.unary(svc, req).await)
        })
    }
}

/// The hand-written `OrdersClient::…` call.
async fn call(
    channel: &Channel,
    path: &'static str,
    req: Request<OrderRequest>,
) -> Result<Response<Order>, Status> {
    let mut grpc = tonic::client::Grpc::new(channel.clone());
    grpc.ready()
        .await
        .map_err(|e| Status::unknown(format!("not ready: {e}")))?;
    grpc.unary(
        req,
        PathAndQuery::from_static(path),
        ProstCodec::<OrderRequest, Order>::default(),
    )
    .await
}

fn order(id: &str) -> Request<OrderRequest> {
    Request::new(OrderRequest {
        id: id.to_owned(),
        delay_ms: 0,
    })
}

async fn start(config: ServerConfig) -> (Arc<State>, String) {
    start_with(config, |r| r).await
}

/// Serves the orders service behind the runtime's layer, with `outer` applied outside it.
async fn start_with(
    config: ServerConfig,
    outer: impl FnOnce(axum::Router) -> axum::Router,
) -> (Arc<State>, String) {
    let state = Arc::new(State::default());
    let router = Server::new(config, METHODS)
        .add_service(Orders(state.clone()))
        .into_axum_router();
    (state, crate::serve(outer(router)).await)
}

fn fast_retries() -> RetryPolicy {
    RetryPolicy::default()
        .with_max_attempts(4)
        .with_backoff(Duration::from_millis(1), Duration::from_millis(5))
}

fn client(url: &str) -> ClientConfig {
    ClientConfig::new(url)
        .with_methods(METHODS)
        .with_retry(fast_retries())
}

/// The budget the deadline tests give a call, and how late its answer may be.
const BUDGET: Duration = Duration::from_millis(200);
const SLACK: Duration = Duration::from_millis(800);

#[tokio::test]
async fn the_client_enforces_its_deadline_whatever_the_server_does() {
    // A server with no deadline handling at all: only the client can stop the call.
    let state = Arc::new(State::default());
    let bare = tonic::service::Routes::new(Orders(state.clone())).into_axum_router();
    let url = crate::serve(bare).await;

    let channel = client(&url).with_timeout(BUDGET).connect_lazy().unwrap();
    let t = Instant::now();
    let err = call(&channel, SLOW, order("a")).await.unwrap_err();
    assert_eq!(err.code(), Code::DeadlineExceeded, "{err:?}");
    assert!(t.elapsed() < BUDGET + SLACK, "{:?}", t.elapsed());

    // A per-call deadline overrides the channel's default (30 s here).
    let channel = client(&url).connect_lazy().unwrap();
    let t = Instant::now();
    let err = call(&channel, SLOW, order("b").with_timeout(BUDGET))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::DeadlineExceeded, "{err:?}");
    assert!(t.elapsed() < BUDGET + SLACK, "{:?}", t.elapsed());
}

#[tokio::test]
async fn the_callers_deadline_cancels_the_handler() {
    let (state, url) = start(ServerConfig::new()).await;
    let channel = client(&url).with_timeout(BUDGET).connect().await.unwrap();
    let t = Instant::now();
    let err = call(&channel, SLOW, order("a")).await.unwrap_err();
    assert_eq!(err.code(), Code::DeadlineExceeded, "{err:?}");
    assert!(t.elapsed() < BUDGET + SLACK, "{:?}", t.elapsed());
    // The server saw the same deadline (grpc-timeout) and dropped the handler.
    for _ in 0..100 {
        if state.slow_cancelled.load(SeqCst) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the handler was not cancelled");
}

#[tokio::test]
async fn a_per_method_server_timeout_fires() {
    let config = ServerConfig::new().with_method_timeout(SLOW, Duration::from_millis(100));
    let (state, url) = start(config).await;
    // The client allows 30 s: the server's 100 ms is what ends the call.
    let channel = client(&url).connect_lazy().unwrap();
    let t = Instant::now();
    let err = correlation::scope("corr-timeout".into(), call(&channel, SLOW, order("a")))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::DeadlineExceeded, "{err:?}");
    assert!(
        t.elapsed() < Duration::from_millis(100) + SLACK,
        "{:?}",
        t.elapsed()
    );
    assert!(state.slow_cancelled.load(SeqCst));
    let problem = problem_from_status(&err);
    assert_eq!(problem.status, Some(504));
    assert_eq!(problem.correlation_id(), Some("corr-timeout"));
}

#[tokio::test]
async fn unavailable_is_retried_for_an_idempotent_method() {
    let (state, url) = start(ServerConfig::new()).await;
    state.unavailable_first.store(2, SeqCst);
    let channel = client(&url).connect_lazy().unwrap();
    let resp = call(&channel, GET, order("g")).await.unwrap();
    assert_eq!(resp.into_inner().serial, 3);
    assert_eq!(state.get_calls.load(SeqCst), 3);

    // Attempts are bounded by the policy.
    state.get_calls.store(0, SeqCst);
    state.unavailable_first.store(100, SeqCst);
    let err = call(&channel, GET, order("g")).await.unwrap_err();
    assert_eq!(err.code(), Code::Unavailable);
    assert_eq!(state.get_calls.load(SeqCst), 4);

    // A channel that does not know the method never retries it.
    state.get_calls.store(0, SeqCst);
    let unknown = ClientConfig::new(&url)
        .with_retry(fast_retries())
        .connect_lazy()
        .unwrap();
    let err = call(&unknown, GET, order("g")).await.unwrap_err();
    assert_eq!(err.code(), Code::Unavailable);
    assert_eq!(state.get_calls.load(SeqCst), 1);
}

#[tokio::test]
async fn retries_stay_within_the_deadline() {
    let (state, url) = start(ServerConfig::new()).await;
    state.unavailable_first.store(usize::MAX, SeqCst);
    let channel = ClientConfig::new(&url)
        .with_methods(METHODS)
        .with_timeout(BUDGET)
        .with_retry(
            RetryPolicy::default()
                .with_max_attempts(1000)
                .with_backoff(Duration::from_millis(10), Duration::from_millis(20)),
        )
        .connect_lazy()
        .unwrap();
    let t = Instant::now();
    let err = call(&channel, GET, order("g")).await.unwrap_err();
    // The last failure when no attempt fits in what is left, else the deadline.
    assert!(
        matches!(err.code(), Code::Unavailable | Code::DeadlineExceeded),
        "{err:?}"
    );
    assert!(t.elapsed() < BUDGET + SLACK, "{:?}", t.elapsed());
    assert!(state.get_calls.load(SeqCst) > 1);
}

#[tokio::test]
async fn a_non_idempotent_method_is_retried_only_with_a_key() {
    let (state, url) = start(ServerConfig::new()).await;
    state.unavailable_first.store(1, SeqCst);
    let no_keys = client(&url)
        .with_auto_idempotency_keys(false)
        .connect_lazy()
        .unwrap();
    let err = call(&no_keys, CREATE, order("c")).await.unwrap_err();
    assert_eq!(err.code(), Code::Unavailable);
    assert_eq!(state.create_calls.load(SeqCst), 1);

    // With automatic keys (the default) the same call is retried under one key: the failed
    // attempt was not stored, so the retry runs.
    state.create_calls.store(0, SeqCst);
    let keys = client(&url).connect_lazy().unwrap();
    let resp = call(&keys, CREATE, order("c")).await.unwrap();
    assert_eq!(resp.into_inner().serial, 2);
    assert_eq!(state.create_calls.load(SeqCst), 2);
}

#[tokio::test]
async fn connection_errors_are_retried_until_the_server_is_up() {
    // Reserve a port, then serve on it only after the first attempts failed.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let channel = ClientConfig::new(format!("http://{addr}"))
        .with_methods(METHODS)
        .with_retry(
            RetryPolicy::default()
                .with_max_attempts(50)
                .with_backoff(Duration::from_millis(20), Duration::from_millis(40)),
        )
        .connect_lazy()
        .unwrap();
    let state = Arc::new(State::default());
    let router = Server::new(ServerConfig::new(), METHODS)
        .add_service(Orders(state.clone()))
        .into_axum_router();
    let server = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
        let _ = axum::serve(listener, router).await;
    });
    let resp = call(&channel, GET, order("late")).await.unwrap();
    assert_eq!(resp.into_inner().id, "late");
    assert_eq!(state.get_calls.load(SeqCst), 1);
    server.abort();
}

#[tokio::test]
async fn a_lost_response_is_replayed_not_run_again() {
    // Outside the idempotency layer: the first response is dropped after the handler ran and
    // its result was stored, as a proxy or a broken connection would.
    let lost = Arc::new(AtomicBool::new(false));
    let outer = {
        let lost = lost.clone();
        move |router: axum::Router| {
            router.layer(axum::middleware::from_fn(
                move |req: axum::extract::Request, next: axum::middleware::Next| {
                    let lost = lost.clone();
                    async move {
                        let resp = next.run(req).await;
                        if lost.swap(true, SeqCst) {
                            return resp;
                        }
                        let _ = resp.into_body().collect().await;
                        Status::unavailable("response lost").into_http::<axum::body::Body>()
                    }
                },
            ))
        }
    };
    let (state, url) = start_with(ServerConfig::new(), outer).await;

    // A key set by the caller, on a channel that would not invent one.
    let channel = client(&url)
        .with_auto_idempotency_keys(false)
        .connect_lazy()
        .unwrap();
    let resp = call(
        &channel,
        CREATE,
        order("once").with_idempotency_key("order-once"),
    )
    .await
    .unwrap();
    assert!(lost.load(SeqCst));
    assert_eq!(state.create_calls.load(SeqCst), 1);
    assert_eq!(resp.metadata().get("idempotent-replayed").unwrap(), "true");
    assert_eq!(resp.metadata().get("x-serial").unwrap(), "1");
    assert!(resp.metadata().get("x-correlation-id").is_some());
    assert_eq!(resp.into_inner().serial, 1);
}

#[tokio::test]
async fn a_key_reused_with_another_message_is_invalid_argument() {
    let (state, url) = start(ServerConfig::new()).await;
    let channel = client(&url).connect_lazy().unwrap();
    let first = call(&channel, CREATE, order("a").with_idempotency_key("k-1"))
        .await
        .unwrap();
    assert!(first.metadata().get("idempotent-replayed").is_none());
    let again = call(&channel, CREATE, order("a").with_idempotency_key("k-1"))
        .await
        .unwrap();
    assert_eq!(again.metadata().get("idempotent-replayed").unwrap(), "true");
    assert_eq!(again.into_inner(), first.into_inner());
    assert_eq!(state.create_calls.load(SeqCst), 1);

    let err = call(&channel, CREATE, order("b").with_idempotency_key("k-1"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
    assert_eq!(state.create_calls.load(SeqCst), 1);

    // Keys are scoped by method: the same key on GetOrder is another call.
    call(&channel, GET, order("a").with_idempotency_key("k-1"))
        .await
        .unwrap();
    assert_eq!(state.get_calls.load(SeqCst), 1);

    // A key that cannot be sent fails locally.
    let err = call(&channel, CREATE, order("a").with_idempotency_key("bad key"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(state.create_calls.load(SeqCst), 1);
}

#[tokio::test]
async fn a_concurrent_duplicate_is_aborted() {
    let (state, url) = start(ServerConfig::new()).await;
    let channel = client(&url).connect_lazy().unwrap();
    let slow = Request::new(OrderRequest {
        id: "dup".into(),
        delay_ms: 300,
    });
    let first = tokio::spawn({
        let channel = channel.clone();
        async move { call(&channel, CREATE, slow.with_idempotency_key("k-dup")).await }
    });
    state.started.notified().await;
    let dup = Request::new(OrderRequest {
        id: "dup".into(),
        delay_ms: 300,
    });
    let err = call(&channel, CREATE, dup.with_idempotency_key("k-dup"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Aborted, "{err:?}");
    let first = first.await.unwrap().unwrap();
    assert_eq!(first.into_inner().serial, 1);
    assert_eq!(state.create_calls.load(SeqCst), 1);
}

#[tokio::test]
async fn problems_survive_the_wire() {
    let (state, url) = start(ServerConfig::new()).await;
    let channel = client(&url).connect_lazy().unwrap();
    let problem = Problem::validation(
        422,
        vec![
            FieldError::body("#/items/0/qty", "must be >= 1"),
            FieldError::parameter("limit", "query", "must be an integer"),
        ],
    )
    .with_type("https://example.com/probs/invalid-order")
    .with_instance("/orders/7")
    .with_extension("tenant", "t-1")
    .with_extension("retry_after", 2);
    *state.failure.lock().unwrap() = Some(Status::from(problem.clone()));

    // The server takes the caller's correlation id.
    let err = correlation::scope("corr-wire".into(), call(&channel, FAIL, order("x")))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(err.metadata().get("x-correlation-id").unwrap(), "corr-wire");
    let back = problem_from_status(&err);
    // The status was built outside any scope, so the layer named the call's correlation id.
    assert_eq!(back, problem.with_extension("correlation_id", "corr-wire"));

    // A bare status from a handler gets the id in an ErrorInfo too.
    *state.failure.lock().unwrap() = Some(Status::not_found("no order 7"));
    let err = correlation::scope("corr-2".into(), call(&channel, FAIL, order("x")))
        .await
        .unwrap_err();
    assert_eq!(
        problem_from_status(&err),
        Problem::new(404)
            .with_detail("no order 7")
            .with_extension("correlation_id", "corr-2")
    );
}

/// A FileDescriptorSet for the test service, as protox/protoc would produce.
fn descriptor_set() -> &'static [u8] {
    use prost::Message as _;
    use prost_types::{
        DescriptorProto, FieldDescriptorProto, FileDescriptorProto, FileDescriptorSet,
        MethodDescriptorProto, ServiceDescriptorProto, field_descriptor_proto,
    };
    static SET: OnceLock<Vec<u8>> = OnceLock::new();
    SET.get_or_init(|| {
        let field = |name: &str, number, kind: field_descriptor_proto::Type| FieldDescriptorProto {
            name: Some(name.into()),
            number: Some(number),
            label: Some(field_descriptor_proto::Label::Optional as i32),
            r#type: Some(kind as i32),
            json_name: Some(name.into()),
            ..Default::default()
        };
        let method = |name: &str| MethodDescriptorProto {
            name: Some(name.into()),
            input_type: Some(".test.v1.OrderRequest".into()),
            output_type: Some(".test.v1.Order".into()),
            ..Default::default()
        };
        FileDescriptorSet {
            file: vec![FileDescriptorProto {
                name: Some("test/v1/orders.proto".into()),
                package: Some("test.v1".into()),
                syntax: Some("proto3".into()),
                message_type: vec![
                    DescriptorProto {
                        name: Some("OrderRequest".into()),
                        field: vec![
                            field("id", 1, field_descriptor_proto::Type::String),
                            field("delay_ms", 2, field_descriptor_proto::Type::Uint64),
                        ],
                        ..Default::default()
                    },
                    DescriptorProto {
                        name: Some("Order".into()),
                        field: vec![
                            field("id", 1, field_descriptor_proto::Type::String),
                            field("serial", 2, field_descriptor_proto::Type::Uint64),
                        ],
                        ..Default::default()
                    },
                ],
                service: vec![ServiceDescriptorProto {
                    name: Some("Orders".into()),
                    method: ["GetOrder", "CreateOrder", "Slow", "Fail"]
                        .into_iter()
                        .map(method)
                        .collect(),
                    ..Default::default()
                }],
                ..Default::default()
            }],
        }
        .encode_to_vec()
    })
}

#[tokio::test]
async fn health_and_reflection() {
    use contractor_runtime::grpc::tonic_health::pb::health_client::HealthClient;
    use contractor_runtime::grpc::tonic_health::pb::{HealthCheckRequest, health_check_response};
    use contractor_runtime::grpc::tonic_reflection::pb::v1::{
        ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
        server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
    };

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let state = Arc::new(State::default());
    let server = Server::new(
        ServerConfig::new().with_health_and_reflection(descriptor_set()),
        METHODS,
    )
    .add_service(Orders(state));
    assert!(server.health_reporter().is_some());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server.serve_with_shutdown(listener, async {
        let _ = stopped.await;
    }));

    let channel = client(&url).connect_lazy().unwrap();
    let mut health = HealthClient::new(channel.clone());
    for service in [SERVICE, ""] {
        let resp = health
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap();
        assert_eq!(
            resp.into_inner().status,
            health_check_response::ServingStatus::Serving as i32
        );
    }
    let err = health
        .check(HealthCheckRequest {
            service: "nope.Nope".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);

    let mut reflection = ServerReflectionClient::new(channel);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut stream = reflection
        .server_reflection_info(futures_util::stream::iter([request]))
        .await
        .unwrap()
        .into_inner();
    let Some(MessageResponse::ListServicesResponse(list)) =
        stream.message().await.unwrap().unwrap().message_response
    else {
        panic!("not a service list");
    };
    let names: Vec<_> = list.service.iter().map(|s| s.name.as_str()).collect();
    assert!(names.contains(&SERVICE), "{names:?}");

    let _ = stop.send(());
    serving.await.unwrap().unwrap();
}
