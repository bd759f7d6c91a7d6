//! The server side: [`ServerConfig`] + generated `…Server<T>` services → [`Server`], whose
//! routes sit behind [`GrpcLayer`].

use std::collections::HashMap;
use std::convert::Infallible;
use std::fmt;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use bytes::Bytes;
use futures_util::FutureExt as _;
use http::{HeaderMap, HeaderName, HeaderValue, Request, Response, StatusCode};
use http_body_util::{BodyExt as _, LengthLimitError, Limited};
use tokio::time::Instant;
use tonic::Code;
use tonic::server::NamedService;
use tower::{Layer, Service, ServiceExt as _};
use tracing::Instrument as _;

use super::body::{Expiry, GuardedBody, ReplayBody, deadline_status};
use super::status::{add_correlation_id, http_status_from_code, status_from_headers};
use super::{IDEMPOTENCY_KEY_METADATA, Method, MethodTable, timeout};
use crate::correlation;
use crate::idempotency::{
    Begin, ClaimedKey, IdempotencyConfig, IdempotencyStore, REPLAYED_HEADER, StoredResponse,
    parse_key,
};
use crate::problem::Problem;

/// The prefix under which a stored response keeps its trailers among
/// [`StoredResponse::headers`]: `:trailer:grpc-status`. No HTTP header name can start with
/// `:`, so the two never collide, and the store trait stays as it is for HTTP.
pub const STORED_TRAILER_PREFIX: &str = ":trailer:";

/// Server deadlines, idempotency, limits, health and reflection.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    default_timeout: Option<Duration>,
    method_timeouts: HashMap<String, Duration>,
    idempotency: IdempotencyConfig,
    body_limit: usize,
    descriptor_set: Option<&'static [u8]>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            default_timeout: Some(Duration::from_secs(30)),
            method_timeouts: HashMap::new(),
            idempotency: IdempotencyConfig::default(),
            body_limit: 4 * 1024 * 1024,
            descriptor_set: None,
        }
    }
}

impl ServerConfig {
    /// The defaults: a 30 s deadline for methods whose response is not a stream, an in-memory
    /// idempotency store, a 4 MiB limit on buffered (keyed) requests, no health or reflection.
    pub fn new() -> Self {
        Self::default()
    }

    /// The deadline of methods in the method table whose response is not a stream (server
    /// streams are often long-lived: subscriptions, watches; give them one with
    /// [`ServerConfig::with_method_timeout`]). A caller's shorter `grpc-timeout` wins.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.default_timeout = Some(timeout);
        self
    }

    /// No default deadline: only callers' `grpc-timeout`s and per-method timeouts apply.
    pub fn without_timeout(mut self) -> Self {
        self.default_timeout = None;
        self
    }

    /// The deadline of the method at `path` (`/pkg.Svc/Method`), streaming or not, instead of
    /// the default.
    pub fn with_method_timeout(mut self, path: impl Into<String>, timeout: Duration) -> Self {
        self.method_timeouts.insert(path.into(), timeout);
        self
    }

    /// Where idempotency records live (default: in memory; use a shared store such as
    /// `RedisStore` when several replicas serve the API).
    pub fn with_idempotency_store(mut self, store: Arc<dyn IdempotencyStore>) -> Self {
        self.idempotency.store = store;
        self
    }

    /// The whole idempotency configuration: store, TTLs, client identity.
    pub fn with_idempotency(mut self, idempotency: IdempotencyConfig) -> Self {
        self.idempotency = idempotency;
        self
    }

    /// The largest keyed request buffered for its fingerprint (default 4 MiB, tonic's default
    /// message limit); larger is `RESOURCE_EXHAUSTED`.
    pub fn with_body_limit(mut self, limit: usize) -> Self {
        self.body_limit = limit;
        self
    }

    /// Serves `grpc.health.v1.Health` (every service in the method table `SERVING`) and
    /// reflection (`grpc.reflection.v1` and `v1alpha`) over `file_descriptor_set`, the
    /// generated `FILE_DESCRIPTOR_SET`.
    pub fn with_health_and_reflection(mut self, file_descriptor_set: &'static [u8]) -> Self {
        self.descriptor_set = Some(file_descriptor_set);
        self
    }
}

/// Builds the gRPC server from generated services.
///
/// ```no_run
/// # async fn demo() -> std::io::Result<()> {
/// use contractor_runtime::grpc::{Server, ServerConfig};
/// # const GRPC_METHODS: &[contractor_runtime::grpc::Method] = &[];
/// # const FILE_DESCRIPTOR_SET: &[u8] = &[];
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:50051").await?;
/// Server::new(
///     ServerConfig::new().with_health_and_reflection(FILE_DESCRIPTOR_SET),
///     GRPC_METHODS,
/// )
/// // .add_service(OrdersServer::new(MyOrders::default()))
/// .serve(listener)
/// .await
/// # }
/// ```
pub struct Server {
    layer: GrpcLayer,
    routes: tonic::service::Routes,
    health: Option<tonic_health::server::HealthReporter>,
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("layer", &self.layer)
            .field("health", &self.health.is_some())
            .finish_non_exhaustive()
    }
}

impl Server {
    /// A server for the methods of `methods` (generated `GRPC_METHODS`), which tell it which
    /// calls are unary (deduplicated by key) and give health its service names.
    ///
    /// A descriptor set that does not decode is logged and reflection left out; the services
    /// still run.
    pub fn new(config: ServerConfig, methods: &'static [Method]) -> Self {
        let mut routes = tonic::service::Routes::default();
        let mut health = None;
        if let Some(set) = config.descriptor_set {
            let (reporter, service) = tonic_health::server::health_reporter();
            for name in MethodTable::services(methods) {
                // A fresh reporter's lock is free: this completes on its first poll.
                let done = reporter
                    .set_service_status(name, tonic_health::ServingStatus::Serving)
                    .now_or_never();
                if done.is_none() {
                    tracing::warn!(service = name, "could not set the health status");
                }
            }
            routes = routes.add_service(service);
            health = Some(reporter);
            let builder = || {
                tonic_reflection::server::Builder::configure()
                    .register_encoded_file_descriptor_set(set)
            };
            match builder().build_v1() {
                Ok(service) => routes = routes.add_service(service),
                Err(e) => tracing::error!(error = %e, "reflection (v1) is not served"),
            }
            match builder().build_v1alpha() {
                Ok(service) => routes = routes.add_service(service),
                Err(e) => tracing::error!(error = %e, "reflection (v1alpha) is not served"),
            }
        }
        Self {
            layer: GrpcLayer::new(&config, methods),
            routes,
            health,
        }
    }

    /// Serves a generated service (`OrdersServer::new(implementation)`).
    pub fn add_service<S>(mut self, service: S) -> Self
    where
        S: Service<Request<tonic::body::Body>, Error = Infallible>
            + NamedService
            + Clone
            + Send
            + Sync
            + 'static,
        S::Response: axum::response::IntoResponse,
        S::Future: Send + 'static,
    {
        self.routes = self.routes.add_service(service);
        self
    }

    /// The health reporter (with [`ServerConfig::with_health_and_reflection`]), to mark
    /// services `NOT_SERVING` while draining, say.
    pub fn health_reporter(&self) -> Option<tonic_health::server::HealthReporter> {
        self.health.clone()
    }

    /// The services as an axum router behind [`GrpcLayer`], to serve next to HTTP routes or
    /// with more layers (a layer added to the router runs outside this one).
    pub fn into_axum_router(self) -> axum::Router {
        self.routes.prepare().into_axum_router().layer(self.layer)
    }

    /// Serves on `listener` (HTTP/2 over cleartext; HTTP/1 callers get errors) until the
    /// listener fails.
    pub async fn serve(self, listener: tokio::net::TcpListener) -> std::io::Result<()> {
        axum::serve(nodelay(listener), self.into_axum_router()).await
    }

    /// Serves until `signal` completes, then lets calls in progress finish.
    pub async fn serve_with_shutdown<F>(
        self,
        listener: tokio::net::TcpListener,
        signal: F,
    ) -> std::io::Result<()>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        axum::serve(nodelay(listener), self.into_axum_router())
            .with_graceful_shutdown(signal)
            .await
    }
}

/// gRPC over HTTP/2 writes small frames: Nagle's algorithm would hold them back.
fn nodelay(
    listener: tokio::net::TcpListener,
) -> impl axum::serve::Listener<Io = tokio::net::TcpStream, Addr = std::net::SocketAddr> {
    use axum::serve::ListenerExt as _;
    listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::trace!(error = %e, "could not set TCP_NODELAY");
        }
    })
}

/// The `tower::Layer` a [`Server`] puts in front of its routes: deadlines, idempotency,
/// correlation ids. Usable on any axum router of gRPC services.
///
/// Per call:
/// - the correlation id is read from `x-correlation-id` (or `x-request-id`) or created; the
///   handler runs inside [`correlation::scope`] and a `grpc` tracing span, the id is echoed in
///   the response metadata and added to error statuses' `ErrorInfo` metadata
///   (`correlation_id`);
/// - the deadline is the smaller of the caller's `grpc-timeout` and the method's configured
///   timeout; a handler over it is dropped (cancelled) and the call answered with
///   `DEADLINE_EXCEEDED` (a response stream still running then ends with that status);
/// - a unary call (per the method table) with an `idempotency-key` runs once per (client
///   identity, method, key): the first call's response (headers, message, trailers) is stored
///   with a fingerprint of the method path and request bytes; a repeat with the same payload
///   gets it back (`idempotent-replayed: true`) without running the handler; another payload
///   is `INVALID_ARGUMENT`; a repeat while the first still runs is `ABORTED`. Like HTTP's 5xx,
///   failures that a retry may fix (`UNAVAILABLE`, `RESOURCE_EXHAUSTED`, `DEADLINE_EXCEEDED`,
///   `CANCELLED`, and the codes that map to 5xx: `INTERNAL`, `UNKNOWN`, `DATA_LOSS`,
///   `UNIMPLEMENTED`) are not stored: the key is released so the retry runs. A replayed
///   error status still names the correlation id of the call that ran;
/// - a panicking handler is `INTERNAL`.
#[derive(Clone)]
pub struct GrpcLayer {
    shared: Arc<Shared>,
}

struct Shared {
    methods: MethodTable,
    default_timeout: Option<Duration>,
    method_timeouts: HashMap<String, Duration>,
    idempotency: IdempotencyConfig,
    body_limit: usize,
}

impl fmt::Debug for GrpcLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GrpcLayer")
            .field("default_timeout", &self.shared.default_timeout)
            .field("method_timeouts", &self.shared.method_timeouts)
            .field("idempotency", &self.shared.idempotency)
            .field("body_limit", &self.shared.body_limit)
            .finish_non_exhaustive()
    }
}

impl GrpcLayer {
    /// The layer for `config` and the method table `methods`.
    pub fn new(config: &ServerConfig, methods: &'static [Method]) -> Self {
        Self {
            shared: Arc::new(Shared {
                methods: MethodTable::new(methods),
                default_timeout: config.default_timeout,
                method_timeouts: config.method_timeouts.clone(),
                idempotency: config.idempotency.clone(),
                body_limit: config.body_limit,
            }),
        }
    }
}

impl<S> Layer<S> for GrpcLayer {
    type Service = GrpcService<S>;

    fn layer(&self, inner: S) -> GrpcService<S> {
        GrpcService {
            inner,
            shared: self.shared.clone(),
        }
    }
}

/// The service [`GrpcLayer`] wraps around the routes.
#[derive(Clone)]
pub struct GrpcService<S> {
    inner: S,
    shared: Arc<Shared>,
}

impl<S> fmt::Debug for GrpcService<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GrpcService").finish_non_exhaustive()
    }
}

impl<S> Service<Request<Body>> for GrpcService<S>
where
    S: Service<Request<Body>, Response = Response<Body>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = crate::BoxFuture<'static, Result<Response<Body>, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        // Keep the service that was polled ready; leave a fresh clone in its place.
        let clone = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, clone);
        Box::pin(self.shared.clone().handle(inner, req).map(Ok))
    }
}

/// What one call is allowed: its deadline, and the budget it came from (for messages).
#[derive(Clone, Copy)]
struct Budget {
    deadline: Instant,
    budget: Duration,
}

impl Shared {
    /// The configured timeout of the call at `path`.
    fn timeout_for(&self, path: &str, method: Option<Method>) -> Option<Duration> {
        let method = method?;
        self.method_timeouts
            .get(method.path)
            .or_else(|| self.method_timeouts.get(path))
            .copied()
            .or(if method.server_streaming {
                None
            } else {
                self.default_timeout
            })
    }

    async fn handle<S>(self: Arc<Self>, inner: S, req: Request<Body>) -> Response<Body>
    where
        S: Service<Request<Body>, Response = Response<Body>, Error = Infallible> + Send + 'static,
        S::Future: Send + 'static,
    {
        let id = correlation::from_headers(req.headers());
        let path = req.uri().path();
        let span = tracing::info_span!("grpc", correlation_id = %id, method = %path);
        let method = self.methods.get(path);
        let budget = [
            timeout::from_headers(req.headers()),
            self.timeout_for(path, method),
        ]
        .into_iter()
        .flatten()
        .min()
        .map(|budget| Budget {
            deadline: Instant::now() + budget,
            budget,
        });
        let header = HeaderValue::from_str(&id).ok();
        let mut resp =
            correlation::scope(id.clone(), self.dispatch(inner, req, method, budget, id))
                .instrument(span)
                .await;
        if let Some(v) = header {
            resp.headers_mut()
                .insert(correlation::CORRELATION_HEADER, v);
        }
        resp
    }

    async fn dispatch<S>(
        &self,
        inner: S,
        req: Request<Body>,
        method: Option<Method>,
        budget: Option<Budget>,
        id: String,
    ) -> Response<Body>
    where
        S: Service<Request<Body>, Response = Response<Body>, Error = Infallible> + Send + 'static,
        S::Future: Send + 'static,
    {
        let key = method
            .filter(Method::is_unary)
            .and_then(|_| req.headers().get(IDEMPOTENCY_KEY_METADATA).cloned());
        match key {
            None => self.plain(inner, req, budget, id).await,
            // Boxed: keyed calls are the minority; their store futures stay off the common
            // path's future.
            Some(key) => Box::pin(self.keyed(inner, req, key, budget, &id)).await,
        }
    }

    /// A call without deduplication: streamed through, bounded by the deadline.
    async fn plain<S>(
        &self,
        inner: S,
        req: Request<Body>,
        budget: Option<Budget>,
        id: String,
    ) -> Response<Body>
    where
        S: Service<Request<Body>, Response = Response<Body>, Error = Infallible> + Send + 'static,
        S::Future: Send + 'static,
    {
        let call = call_inner(inner, req);
        let mut resp = match budget {
            Some(b) => match tokio::time::timeout_at(b.deadline, call).await {
                Ok(resp) => resp,
                Err(_) => return timed_out(b),
            },
            None => call.await,
        };
        add_correlation_id(resp.headers_mut(), &id);
        let (deadline, expiry) = match budget {
            Some(b) => (
                Some(b.deadline),
                Expiry::Trailers {
                    budget: b.budget,
                    correlation_id: id.clone(),
                },
            ),
            None => (
                None,
                Expiry::Trailers {
                    budget: Duration::ZERO,
                    correlation_id: id.clone(),
                },
            ),
        };
        resp.map(|body| Body::new(GuardedBody::new(body, deadline, expiry).with_correlation_id(id)))
    }

    /// A unary call with an idempotency key, bounded by the deadline (claim, handler and
    /// storing the response).
    async fn keyed<S>(
        &self,
        inner: S,
        req: Request<Body>,
        key: HeaderValue,
        budget: Option<Budget>,
        id: &str,
    ) -> Response<Body>
    where
        S: Service<Request<Body>, Response = Response<Body>, Error = Infallible> + Send + 'static,
        S::Future: Send + 'static,
    {
        let key = match parse_key(&key) {
            Ok(k) => k.to_owned(),
            Err(problem) => return problem_response(problem),
        };
        let in_flight = self.idempotency.in_flight_ttl;
        // An in-flight claim must outlive the handler, or a duplicate could start.
        let lock_ttl = budget.map_or(in_flight, |b| {
            (b.budget + Duration::from_secs(5)).max(in_flight)
        });
        let work = self.run_keyed(inner, req, key, lock_ttl, id);
        match budget {
            Some(b) => tokio::time::timeout_at(b.deadline, work)
                .await
                .unwrap_or_else(|_| timed_out(b)),
            None => work.await,
        }
    }

    async fn run_keyed<S>(
        &self,
        inner: S,
        req: Request<Body>,
        key: String,
        lock_ttl: Duration,
        id: &str,
    ) -> Response<Body>
    where
        S: Service<Request<Body>, Response = Response<Body>, Error = Infallible> + Send + 'static,
        S::Future: Send + 'static,
    {
        let (parts, body) = req.into_parts();
        let message = match Limited::new(body, self.body_limit).collect().await {
            Ok(c) => c.to_bytes(),
            Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => {
                return problem_response(
                    Problem::new(413)
                        .with_detail(format!("The request exceeds {} bytes", self.body_limit)),
                );
            }
            Err(_) => {
                return problem_response(
                    Problem::new(400).with_detail("The request could not be read"),
                );
            }
        };
        let identity = (self.idempotency.client_identity)(&parts);
        let path = parts.uri.path();
        let store_key = crate::encoding::sha256_hex(&[
            b"grpc",
            identity.as_bytes(),
            path.as_bytes(),
            key.as_bytes(),
        ]);
        let fingerprint = crate::encoding::sha256_hex(&[path.as_bytes(), &message]);
        let store = &self.idempotency.store;
        match store.begin(&store_key, &fingerprint, lock_ttl).await {
            Ok(Begin::Started) => {}
            Ok(Begin::InFlight) => {
                return problem_response(
                    Problem::new(409)
                        .with_detail("A call with this idempotency key is still being processed")
                        .with_extension("retry_after", 1),
                );
            }
            Ok(Begin::Completed {
                fingerprint: stored,
                response,
            }) => {
                return if stored == fingerprint {
                    replay(response)
                } else {
                    problem_response(
                        Problem::new(400)
                            .with_detail("Idempotency key reused with a different request message"),
                    )
                };
            }
            Err(e) => {
                tracing::error!(error = %e, "idempotency store failed");
                return problem_response(
                    Problem::new(503)
                        .with_detail("The idempotency store is unavailable; retry later")
                        .with_extension("retry_after", 1),
                );
            }
        }

        let claim = ClaimedKey::new(store.clone(), store_key);
        let resp = call_inner(inner, Request::from_parts(parts, Body::from(message))).await;
        let (mut parts, body) = resp.into_parts();
        let collected = match body.collect().await {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "response failed; idempotency key released");
                claim.release().await;
                return problem_response(
                    Problem::new(500).with_detail("The response could not be produced"),
                );
            }
        };
        let mut trailers = collected.trailers().cloned();
        let data = collected.to_bytes();
        add_correlation_id(&mut parts.headers, id);
        if let Some(t) = trailers.as_mut() {
            add_correlation_id(t, id);
        }
        let code = status_from_headers(&parts.headers)
            .or_else(|| trailers.as_ref().and_then(status_from_headers))
            .map(|s| s.code());
        if code.is_some_and(is_stored) {
            let stored = stored_response(&parts, &data, trailers.as_ref());
            claim
                .complete(&fingerprint, stored, self.idempotency.ttl)
                .await;
        } else {
            claim.release().await;
        }
        Response::from_parts(parts, Body::new(ReplayBody::new(data, trailers)))
    }
}

/// Runs the routes; a panic is `INTERNAL`.
async fn call_inner<S>(inner: S, req: Request<Body>) -> Response<Body>
where
    S: Service<Request<Body>, Response = Response<Body>, Error = Infallible>,
{
    match AssertUnwindSafe(inner.oneshot(req)).catch_unwind().await {
        Ok(Ok(resp)) => resp,
        Ok(Err(never)) => match never {},
        Err(_) => {
            tracing::error!("gRPC handler panicked");
            problem_response(Problem::new(500).with_detail("The operation failed unexpectedly"))
        }
    }
}

fn timed_out(b: Budget) -> Response<Body> {
    tracing::warn!(timeout = ?b.budget, "gRPC handler timed out");
    deadline_status(b.budget, correlation::current().as_deref()).into_http()
}

/// `problem` as a trailers-only response (inside the call's correlation scope, so its
/// ErrorInfo names the id).
fn problem_response(problem: Problem) -> Response<Body> {
    tonic::Status::from(problem).into_http()
}

/// Whether a finished call's response is kept for replay: successes and errors that the same
/// call would meet again. Failures a retry may fix are not (the key is released instead).
fn is_stored(code: Code) -> bool {
    !matches!(
        code,
        Code::Cancelled | Code::DeadlineExceeded | Code::ResourceExhausted | Code::Unavailable
    ) && http_status_from_code(code) < 500
}

fn is_unstored_header(name: &HeaderName) -> bool {
    matches!(
        name.as_str(),
        "connection"
            | "keep-alive"
            | "te"
            | "trailer"
            | "transfer-encoding"
            | "upgrade"
            | "content-length"
            | "date"
            | REPLAYED_HEADER
            | correlation::CORRELATION_HEADER
    )
}

/// Headers, then trailers under [`STORED_TRAILER_PREFIX`].
fn stored_response(
    parts: &http::response::Parts,
    data: &Bytes,
    trailers: Option<&HeaderMap>,
) -> StoredResponse {
    let mut headers: Vec<(String, String)> = parts
        .headers
        .iter()
        .filter(|(name, _)| !is_unstored_header(name))
        .filter_map(|(name, value)| {
            Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))
        })
        .collect();
    for (name, value) in trailers.into_iter().flatten() {
        if let Ok(v) = value.to_str() {
            headers.push((format!("{STORED_TRAILER_PREFIX}{name}"), v.to_owned()));
        }
    }
    StoredResponse {
        status: parts.status.as_u16(),
        headers,
        body: data.clone(),
    }
}

/// The stored response as it was sent, plus `idempotent-replayed: true`.
fn replay(stored: StoredResponse) -> Response<Body> {
    let mut headers = HeaderMap::new();
    let mut trailers = HeaderMap::new();
    for (name, value) in &stored.headers {
        let (target, name) = match name.strip_prefix(STORED_TRAILER_PREFIX) {
            Some(n) => (&mut trailers, n),
            None => (&mut headers, name.as_str()),
        };
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            target.append(n, v);
        }
    }
    headers.insert(REPLAYED_HEADER, HeaderValue::from_static("true"));
    let trailers = (!trailers.is_empty()).then_some(trailers);
    let mut resp = Response::new(Body::new(ReplayBody::new(stored.body, trailers)));
    *resp.status_mut() = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
    *resp.headers_mut() = headers;
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_codes() {
        assert!(is_stored(Code::Ok));
        assert!(is_stored(Code::InvalidArgument));
        assert!(is_stored(Code::NotFound));
        assert!(is_stored(Code::AlreadyExists));
        assert!(is_stored(Code::FailedPrecondition));
        for c in [
            Code::Unavailable,
            Code::Internal,
            Code::Unknown,
            Code::DataLoss,
            Code::Unimplemented,
            Code::DeadlineExceeded,
            Code::ResourceExhausted,
            Code::Cancelled,
        ] {
            assert!(!is_stored(c), "{c:?}");
        }
    }

    #[tokio::test]
    async fn stored_responses_keep_trailers() {
        let mut resp = Response::new(());
        resp.headers_mut()
            .insert("content-type", HeaderValue::from_static("application/grpc"));
        resp.headers_mut()
            .insert("x-correlation-id", HeaderValue::from_static("c"));
        resp.headers_mut()
            .insert("x-order", HeaderValue::from_static("7"));
        let (parts, ()) = resp.into_parts();
        let mut trailers = HeaderMap::new();
        trailers.insert("grpc-status", HeaderValue::from_static("0"));
        trailers.insert("x-after", HeaderValue::from_static("1"));
        let stored = stored_response(
            &parts,
            &Bytes::from_static(b"\0\0\0\0\x01x"),
            Some(&trailers),
        );
        assert!(stored.headers.iter().all(|(n, _)| n != "x-correlation-id"));
        assert!(
            stored
                .headers
                .contains(&(":trailer:grpc-status".into(), "0".into()))
        );

        let replayed = replay(stored);
        assert_eq!(replayed.headers()["x-order"], "7");
        assert_eq!(replayed.headers()[REPLAYED_HEADER], "true");
        assert!(replayed.headers().get("grpc-status").is_none());
        let c = replayed.into_body().collect().await.unwrap();
        assert_eq!(c.trailers(), Some(&trailers));
        assert_eq!(c.to_bytes(), &b"\0\0\0\0\x01x"[..]);
    }

    #[test]
    fn timeouts_per_method() {
        const M: &[Method] = &[
            Method {
                path: "/s.S/Unary",
                idempotency: super::super::IdempotencyLevel::Unknown,
                client_streaming: false,
                server_streaming: false,
            },
            Method {
                path: "/s.S/Watch",
                idempotency: super::super::IdempotencyLevel::Unknown,
                client_streaming: false,
                server_streaming: true,
            },
        ];
        let config = ServerConfig::new()
            .with_timeout(Duration::from_secs(2))
            .with_method_timeout("/s.S/Watch", Duration::from_secs(60));
        let layer = GrpcLayer::new(&config, M);
        let t = |p: &str| layer.shared.timeout_for(p, layer.shared.methods.get(p));
        assert_eq!(t("/s.S/Unary"), Some(Duration::from_secs(2)));
        assert_eq!(t("/s.S/Watch"), Some(Duration::from_secs(60)));
        assert_eq!(t("/grpc.health.v1.Health/Check"), None);
        let layer = GrpcLayer::new(&ServerConfig::new(), M);
        assert_eq!(layer.shared.timeout_for("/s.S/Watch", Some(M[1])), None);
    }
}
