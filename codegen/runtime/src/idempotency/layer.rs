//! `IdempotencyLayer`: the same deduplication as generated servers, for any axum router.

use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use http::{Method, Request, Response};
use http_body_util::{BodyExt as _, LengthLimitError, Limited};
use tower::{Layer, Service};

use super::{
    Claim, ClientIdentity, IDEMPOTENCY_KEY_HEADER, IdempotencyConfig, IdempotencyStore, claim,
    fingerprint, parse_key, rejection, store_key,
};
use crate::BoxFuture;
use crate::correlation;
use crate::problem::Problem;

/// A `tower::Layer` that deduplicates requests carrying an `Idempotency-Key`.
///
/// ```no_run
/// # use std::sync::Arc;
/// use contractor_runtime::axum::{Router, routing::post};
/// use contractor_runtime::idempotency::{IdempotencyLayer, MemoryStore};
///
/// let app: Router = Router::new()
///     .route("/payments", post(|| async { "paid" }))
///     .layer(IdempotencyLayer::new(Arc::new(MemoryStore::new())).require_key(true));
/// ```
///
/// It covers POST and PATCH by default ([`IdempotencyLayer::methods`]). It buffers the request
/// body (up to [`IdempotencyLayer::body_limit`], 2 MiB by default: larger is a 413 problem) to
/// fingerprint it, and buffers the response of a covered request to store it.
#[derive(Clone)]
pub struct IdempotencyLayer {
    config: IdempotencyConfig,
    require_key: bool,
    methods: Arc<[Method]>,
    body_limit: usize,
}

impl std::fmt::Debug for IdempotencyLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdempotencyLayer")
            .field("config", &self.config)
            .field("require_key", &self.require_key)
            .field("methods", &self.methods)
            .field("body_limit", &self.body_limit)
            .finish()
    }
}

impl IdempotencyLayer {
    /// A layer over `store` with the default configuration.
    pub fn new(store: Arc<dyn IdempotencyStore>) -> Self {
        Self::from_config(IdempotencyConfig::default().with_store(store))
    }

    /// A layer with `config`.
    pub fn from_config(config: IdempotencyConfig) -> Self {
        Self {
            config,
            require_key: false,
            methods: Arc::from([Method::POST, Method::PATCH]),
            body_limit: 2 * 1024 * 1024,
        }
    }

    /// How long completed responses are replayed (default 24 h).
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.config.ttl = ttl;
        self
    }

    /// How long an abandoned in-flight claim blocks its key (default 5 min).
    pub fn in_flight_ttl(mut self, ttl: Duration) -> Self {
        self.config.in_flight_ttl = ttl;
        self
    }

    /// Whether a covered request without a key is a 400 problem (default: passed through).
    pub fn require_key(mut self, require: bool) -> Self {
        self.require_key = require;
        self
    }

    /// Scopes keys per client (default: a hash of `Authorization`).
    pub fn client_identity(mut self, f: ClientIdentity) -> Self {
        self.config.client_identity = f;
        self
    }

    /// The methods covered (default POST and PATCH).
    pub fn methods(mut self, methods: impl IntoIterator<Item = Method>) -> Self {
        self.methods = methods.into_iter().collect();
        self
    }

    /// The largest request body buffered (default 2 MiB).
    pub fn body_limit(mut self, limit: usize) -> Self {
        self.body_limit = limit;
        self
    }
}

impl<S> Layer<S> for IdempotencyLayer {
    type Service = IdempotencyService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        IdempotencyService {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service [`IdempotencyLayer`] wraps around an inner service.
#[derive(Clone, Debug)]
pub struct IdempotencyService<S> {
    inner: S,
    layer: IdempotencyLayer,
}

impl<S> Service<Request<Body>> for IdempotencyService<S>
where
    S: Service<Request<Body>, Response = Response<Body>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Response<Body>, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        // Keep the service that was polled ready; leave a fresh clone in its place.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        if !self.layer.methods.contains(req.method()) {
            return Box::pin(inner.call(req));
        }
        let layer = self.layer.clone();
        Box::pin(async move {
            let (parts, body) = req.into_parts();
            let problem = |p: Problem| {
                let id = correlation::current().or_else(|| {
                    parts
                        .headers
                        .get(correlation::CORRELATION_HEADER)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned)
                });
                let mut p = p.with_instance(parts.uri.path());
                if let Some(id) = id {
                    p = p.with_extension("correlation_id", id);
                }
                rejection(&p)
            };
            let key = match parts.headers.get(IDEMPOTENCY_KEY_HEADER).map(parse_key) {
                Some(Ok(k)) => k.to_owned(),
                Some(Err(p)) => return Ok(problem(p)),
                None if layer.require_key => {
                    return Ok(problem(
                        Problem::new(400).with_detail("Idempotency-Key header is required"),
                    ));
                }
                None => return inner.call(Request::from_parts(parts, body)).await,
            };
            let bytes = match Limited::new(body, layer.body_limit).collect().await {
                Ok(c) => c.to_bytes(),
                Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => {
                    return Ok(problem(Problem::new(413).with_detail(format!(
                        "The request body exceeds {} bytes",
                        layer.body_limit
                    ))));
                }
                Err(_) => {
                    return Ok(problem(
                        Problem::new(400).with_detail("The request body could not be read"),
                    ));
                }
            };
            let identity = (layer.config.client_identity)(&parts);
            let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
            let fp = fingerprint(&parts.method, path, &bytes);
            let skey = store_key(&identity, &parts.method, &key);
            match claim(
                &layer.config.store,
                skey,
                fp,
                layer.config.in_flight_ttl,
                layer.config.ttl,
            )
            .await
            {
                Claim::Replay(resp) => Ok(resp),
                Claim::Reject(p) => Ok(problem(p)),
                Claim::Started(pending) => {
                    let req = Request::from_parts(parts, Body::from(bytes));
                    match inner.call(req).await {
                        Ok(resp) => Ok(pending.finish(resp).await),
                        Err(e) => {
                            pending.abandon().await;
                            Err(e)
                        }
                    }
                }
            }
        })
    }
}
