//! The contract-driven server generated code plugs handlers into.
//!
//! For every request, [`Server`]'s service: takes the correlation id (and runs everything in
//! its scope and in a `request` tracing span); matches the path against the operations'
//! templates (404, 405 with `Allow`); reads the body up to the limit (413); decodes and
//! validates parameters and body against the contract's schemas (400 for malformed input,
//! 415 for an undeclared content type, 422 for a well-formed body that breaks its schema);
//! deduplicates keyed requests ([`crate::idempotency`]); and runs the handler. The operation's
//! timeout covers reading the body (408 when it runs out there) and the handler (504; the
//! handler future is dropped, which cancels it). A panicking handler is a 500. Every problem
//! carries `correlation_id` and `instance`, and every response echoes `x-correlation-id`.
//!
//! Routing is done here rather than by axum's router, which rejects templates that differ
//! only in parameter names and cannot express `{name}.json` segments. Security requirements
//! are not enforced: authentication belongs to the application (a layer or the handler).

mod decode;
mod response;
mod router;

use std::collections::HashMap;
use std::convert::Infallible;
use std::fmt;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use bytes::Bytes;
use futures_util::FutureExt as _;
use http::header::{ALLOW, CONTENT_LENGTH};
use http::{HeaderMap, HeaderValue, Request, Response};
use http_body_util::{BodyExt as _, LengthLimitError, Limited};
use tokio::time::Sleep;
use tracing::Instrument as _;

use crate::correlation;
use crate::idempotency::{
    self, Claim, IDEMPOTENCY_KEY_NAME, IdempotencyConfig, IdempotencyStore, parse_key,
};
use crate::problem::Problem;
use crate::schema::{Compiled, Schemas};
use crate::spec::KeyPolicy;

pub use crate::BoxFuture;
pub use crate::spec::Operation;
pub use decode::Decoded;
pub use response::{
    IntoHttp, bytes_response, empty_response, json_response, problem_response, respond,
    text_response,
};

/// The response type of handlers: fully buffered bodies.
pub type HttpResponse = Response<Body>;

/// A generated handler: the API implementation, the request context and the decoded request
/// in, a response out.
pub type Handler<A> = fn(Arc<A>, RequestContext, Decoded) -> BoxFuture<'static, HttpResponse>;

/// What a handler knows about its request besides the decoded parameters and body.
#[derive(Clone, Debug)]
pub struct RequestContext {
    /// The request's correlation id (also the task's [`correlation::current`]).
    pub correlation_id: String,
    /// The request headers.
    pub headers: HeaderMap,
    /// The idempotency key, when the request carried one.
    pub idempotency_key: Option<String>,
    /// The client identity idempotency keys are scoped by.
    pub client_identity: String,
}

/// Server limits and policies.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// The largest request body accepted (default 2 MiB); larger is a 413 problem.
    pub body_limit: usize,
    /// The operation timeout (body reading plus handler) when neither `operation_timeouts`
    /// nor the contract's `x-timeout` sets one (default 30 s; `None`: no timeout).
    pub default_timeout: Option<Duration>,
    /// Timeouts by operation id; they override the contract's `x-timeout`.
    pub operation_timeouts: HashMap<String, Duration>,
    /// How keyed requests are deduplicated.
    pub idempotency: IdempotencyConfig,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            body_limit: 2 * 1024 * 1024,
            default_timeout: Some(Duration::from_secs(30)),
            operation_timeouts: HashMap::new(),
            idempotency: IdempotencyConfig::default(),
        }
    }
}

impl ServerConfig {
    /// Sets `body_limit`.
    pub fn with_body_limit(mut self, limit: usize) -> Self {
        self.body_limit = limit;
        self
    }

    /// Sets `default_timeout`.
    pub fn with_default_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.default_timeout = timeout;
        self
    }

    /// Sets the timeout of operation `id`.
    pub fn with_operation_timeout(mut self, id: impl Into<String>, timeout: Duration) -> Self {
        self.operation_timeouts.insert(id.into(), timeout);
        self
    }

    /// Sets the idempotency configuration.
    pub fn with_idempotency(mut self, idempotency: IdempotencyConfig) -> Self {
        self.idempotency = idempotency;
        self
    }

    /// Uses `store` for idempotency records.
    pub fn with_idempotency_store(mut self, store: Arc<dyn IdempotencyStore>) -> Self {
        self.idempotency.store = store;
        self
    }
}

/// Builds the service from operations and their handlers.
pub struct Server<A> {
    api: Arc<A>,
    config: ServerConfig,
    schemas: &'static Schemas,
    operations: Vec<(&'static Operation, Handler<A>)>,
    /// (operation id, media index, decoder) from [`Server::json_body`].
    typed_bodies: Vec<(&'static str, usize, decode::TypedDecoder)>,
}

impl<A> fmt::Debug for Server<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("config", &self.config)
            .field(
                "operations",
                &self
                    .operations
                    .iter()
                    .map(|(op, _)| op.id)
                    .collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl<A: Send + Sync + 'static> Server<A> {
    /// A server for `api`, validating against `schemas`.
    pub fn new(api: A, config: ServerConfig, schemas: &'static Schemas) -> Self {
        Self::from_arc(Arc::new(api), config, schemas)
    }

    /// A server for an already shared `api`.
    pub fn from_arc(api: Arc<A>, config: ServerConfig, schemas: &'static Schemas) -> Self {
        Self {
            api,
            config,
            schemas,
            operations: Vec::new(),
            typed_bodies: Vec::new(),
        }
    }

    /// Serves `op` with `handler`.
    pub fn operation(mut self, op: &'static Operation, handler: Handler<A>) -> Self {
        self.operations.push((op, handler));
        self
    }

    /// Tells that `op`'s handler reads the body of its `media`-th media type (a JSON one) as
    /// `T` with [`Decoded::json_body`]. The server then validates the body and deserializes
    /// it in the same pass, before the handler runs, instead of parsing it twice.
    pub fn json_body<T: serde::de::DeserializeOwned + Send + 'static>(
        mut self,
        op: &'static Operation,
        media: usize,
    ) -> Self {
        self.typed_bodies
            .push((op.id, media, decode::typed_decoder::<T>()));
        self
    }

    /// The service; every request goes through it.
    pub fn into_service(self) -> ServerService<A> {
        let compiled = match self.schemas.compiled() {
            Ok(c) => Some(c),
            Err(e) => {
                tracing::error!(
                    "the contract's schema set is invalid (a generator bug); \
                     operations that use it answer 500: {e}"
                );
                None
            }
        };
        let mut table = router::Table::default();
        let mut routes = Vec::with_capacity(self.operations.len());
        for (op, handler) in self.operations {
            let plan = match compiled {
                Some(c) => decode::Plan::new(op, c).map(|mut plan| {
                    for (_, media, decoder) in self.typed_bodies.iter().filter(|t| t.0 == op.id) {
                        plan.decode_json_as(*media, *decoder);
                    }
                    plan
                }),
                None => Err("the contract's schema set is invalid".to_owned()),
            };
            if let Err(e) = &plan {
                tracing::error!(operation = op.id, "operation cannot decode requests: {e}");
            }
            let timeout = self
                .config
                .operation_timeouts
                .get(op.id)
                .copied()
                .or(op.timeout_ms.map(Duration::from_millis))
                .or(self.config.default_timeout);
            // An in-flight claim must outlive the handler, or a duplicate could start.
            let lock_ttl = timeout.map_or(self.config.idempotency.in_flight_ttl, |t| {
                (t + Duration::from_secs(5)).max(self.config.idempotency.in_flight_ttl)
            });
            if let Err(e) = table.add(routes.len(), op.method.clone(), op.path) {
                tracing::error!(operation = op.id, "operation is not served: {e}");
            }
            routes.push(Route {
                op,
                handler,
                plan,
                timeout,
                lock_ttl,
            });
        }
        ServerService {
            shared: Arc::new(Shared {
                api: self.api,
                config: self.config,
                compiled,
                table,
                routes,
            }),
        }
    }

    /// An axum router whose fallback is this server, so it can be merged or nested with
    /// other routers and take axum layers.
    pub fn into_router(self) -> axum::Router {
        axum::Router::new().fallback_service(self.into_service())
    }
}

struct Route<A> {
    op: &'static Operation,
    handler: Handler<A>,
    plan: Result<decode::Plan, String>,
    timeout: Option<Duration>,
    lock_ttl: Duration,
}

struct Shared<A> {
    api: Arc<A>,
    config: ServerConfig,
    compiled: Option<&'static Compiled>,
    table: router::Table,
    routes: Vec<Route<A>>,
}

/// The `tower::Service` a [`Server`] becomes. Cheap to clone.
pub struct ServerService<A> {
    shared: Arc<Shared<A>>,
}

impl<A> Clone for ServerService<A> {
    fn clone(&self) -> Self {
        Self {
            shared: self.shared.clone(),
        }
    }
}

impl<A> fmt::Debug for ServerService<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerService")
            .field("operations", &self.shared.routes.len())
            .finish_non_exhaustive()
    }
}

impl<A: Send + Sync + 'static> tower::Service<Request<Body>> for ServerService<A> {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response<Body>, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        let shared = self.shared.clone();
        // One allocation, and the request's futures are built in place inside it: wrapping a
        // built dispatch future in combinators would copy its kilobyte or so at each layer.
        Box::pin(async move { Ok(shared.handle(req).await) })
    }
}

impl<A: Send + Sync + 'static> Shared<A> {
    async fn handle(self: Arc<Self>, req: Request<Body>) -> Response<Body> {
        let id = correlation::from_headers(req.headers());
        let header = HeaderValue::from_str(&id).ok();
        let span = tracing::info_span!(
            "request",
            correlation_id = %id,
            operation = tracing::field::Empty,
            method = %req.method(),
            path = %req.uri().path(),
        );
        let uri = req.uri().clone();
        let mut resp = correlation::scope_request(id, uri, self.dispatch(req))
            .instrument(span)
            .await;
        if let Some(v) = header {
            resp.headers_mut().insert(correlation::CORRELATION_NAME, v);
        }
        resp
    }

    async fn dispatch(self: Arc<Self>, req: Request<Body>) -> Response<Body> {
        let (mut parts, body) = req.into_parts();
        let (index, captures) = match self.table.find(&parts.method, parts.uri.path()) {
            router::Match::Route { route, captures } => (route, captures),
            router::Match::NotFound => {
                return Problem::new(404)
                    .with_detail(format!(
                        "No operation matches {} {}",
                        parts.method,
                        parts.uri.path()
                    ))
                    .into_http();
            }
            router::Match::Disallowed(methods) => {
                let allow = methods
                    .iter()
                    .map(|m| m.as_str())
                    .collect::<Vec<_>>()
                    .join(", ");
                let mut resp = Problem::new(405)
                    .with_detail(format!(
                        "{} is not allowed here; allowed: {allow}",
                        parts.method
                    ))
                    .into_http();
                if let Ok(v) = HeaderValue::from_str(&allow) {
                    resp.headers_mut().insert(ALLOW, v);
                }
                return resp;
            }
        };
        let route = &self.routes[index];
        let op = route.op;
        let span = tracing::Span::current();
        if !span.is_disabled() {
            span.record("operation", op.id);
        }
        let (plan, compiled) = match (&route.plan, self.compiled) {
            (Ok(plan), Some(c)) => (plan, c),
            (Err(e), _) => {
                tracing::error!(
                    operation = op.id,
                    "cannot decode requests (generator bug): {e}"
                );
                return Problem::new(500)
                    .with_detail("The server's contract description is invalid")
                    .into_http();
            }
            (Ok(_), None) => {
                tracing::error!(operation = op.id, "the contract's schema set is invalid");
                return Problem::new(500)
                    .with_detail("The server's contract description is invalid")
                    .into_http();
            }
        };

        // Only read a body the operation can use (or must fingerprint).
        // One timer per request: the operation's timeout covers reading the body and running
        // the handler.
        let deadline = route.timeout.map(tokio::time::sleep);
        tokio::pin!(deadline);
        let raw = if plan.has_body() || op.idempotency != KeyPolicy::None {
            let limit = deadline.as_mut().as_pin_mut();
            match self.read_body(&parts.headers, body, limit).await {
                Ok(b) => b,
                Err(problem) => return problem.into_http(),
            }
        } else {
            Bytes::new()
        };

        let decoded = match decode::decode(
            plan,
            compiled,
            &parts.uri,
            &parts.headers,
            &captures,
            raw.clone(),
        )
        .await
        {
            Ok(d) => d,
            Err(problem) => return problem.into_http(),
        };

        let key = if op.idempotency == KeyPolicy::None {
            None
        } else {
            match parts.headers.get(&IDEMPOTENCY_KEY_NAME).map(parse_key) {
                Some(Ok(k)) => Some(k.to_owned()),
                Some(Err(problem)) => return problem.into_http(),
                None if op.idempotency == KeyPolicy::Required => {
                    return Problem::new(400)
                        .with_detail("Idempotency-Key header is required")
                        .into_http();
                }
                None => None,
            }
        };
        let identity = (self.config.idempotency.client_identity)(&parts);
        let claim_ids = key.as_deref().map(|k| {
            let pq = parts.uri.path_and_query().map_or("/", |p| p.as_str());
            (
                idempotency::store_key(&identity, &parts.method, k),
                idempotency::fingerprint(&parts.method, pq, &raw),
            )
        });
        drop(captures);
        let ctx = RequestContext {
            correlation_id: correlation::current().unwrap_or_default(),
            headers: std::mem::take(&mut parts.headers),
            idempotency_key: key,
            client_identity: identity,
        };
        // The key is claimed before the handler runs and its response stored after; the
        // handler's future is built in place here rather than moved into a deduplicating one.
        let pending = match claim_ids {
            None => None,
            Some((store_key, fingerprint)) => {
                let store = &self.config.idempotency.store;
                let ttl = self.config.idempotency.ttl;
                match idempotency::claim(store, store_key, fingerprint, route.lock_ttl, ttl).await {
                    Claim::Started(pending) => Some(pending),
                    Claim::Replay(resp) => return resp,
                    Claim::Reject(problem) => {
                        let mut resp = problem.into_http();
                        idempotency::say_when_to_retry(&mut resp);
                        return resp;
                    }
                }
            }
        };
        let limit = deadline.as_mut().as_pin_mut();
        let resp = run_handler(route, self.api.clone(), ctx, decoded, limit).await;
        match pending {
            Some(pending) => pending.finish(resp).await,
            None => resp,
        }
    }

    /// Reads the body up to the limit, before `deadline`.
    async fn read_body(
        &self,
        headers: &HeaderMap,
        body: Body,
        deadline: Option<Pin<&mut Sleep>>,
    ) -> Result<Bytes, Problem> {
        let limit = self.config.body_limit;
        let too_large =
            || Problem::new(413).with_detail(format!("The request body exceeds {limit} bytes"));
        let declared = headers
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > limit as u64) {
            return Err(too_large());
        }
        let collect = Limited::new(body, limit).collect();
        let collected = match deadline {
            Some(deadline) => tokio::select! {
                biased;
                collected = collect => collected,
                () = deadline => {
                    return Err(
                        Problem::new(408).with_detail("The request body did not arrive in time"),
                    );
                }
            },
            None => collect.await,
        };
        match collected {
            Ok(c) => Ok(c.to_bytes()),
            Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => Err(too_large()),
            Err(_) => Err(Problem::new(400).with_detail("The request body could not be read")),
        }
    }
}

/// Runs the handler until `deadline`; the deadline drops (cancels) the handler's future and is
/// a 504 problem, a panic is logged and is a 500 problem.
async fn run_handler<A: Send + Sync + 'static>(
    route: &Route<A>,
    api: Arc<A>,
    ctx: RequestContext,
    decoded: Decoded,
    deadline: Option<Pin<&mut Sleep>>,
) -> Response<Body> {
    let handler = route.handler;
    let fut = match std::panic::catch_unwind(AssertUnwindSafe(|| handler(api, ctx, decoded))) {
        Ok(fut) => AssertUnwindSafe(fut).catch_unwind(),
        Err(_) => return panicked(route.op),
    };
    let outcome = match deadline {
        Some(deadline) => tokio::select! {
            biased;
            outcome = fut => outcome,
            () = deadline => {
                let d = route.timeout.unwrap_or_default();
                tracing::warn!(operation = route.op.id, timeout = ?d, "handler timed out");
                return Problem::new(504)
                    .with_detail(format!("The operation did not complete within {d:?}"))
                    .into_http();
            }
        },
        None => fut.await,
    };
    outcome.unwrap_or_else(|_| panicked(route.op))
}

fn panicked(op: &Operation) -> Response<Body> {
    tracing::error!(operation = op.id, "handler panicked");
    Problem::new(500)
        .with_detail("The operation failed unexpectedly")
        .into_http()
}
