//! The client side: [`ClientConfig`] → [`Channel`], what generated clients are built on.

use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Request, Response};
use http_body_util::{BodyExt as _, Full};
use tokio::time::Instant;
use tonic::body::Body;
use tonic::{Code, Status};
use tower::{Service, ServiceExt as _};

use super::body::{BoxError, Expiry, GuardedBody, ReplayBody, deadline_status};
use super::status::{retry_delay, status_from_headers};
use super::{IDEMPOTENCY_KEY_METADATA, Method, MethodTable, timeout};
use crate::correlation;
use crate::idempotency::{MAX_KEY_LEN, new_key};
use crate::retry::RetryPolicy;

/// How a [`Channel`] connects, times out and retries.
///
/// ```no_run
/// # async fn demo() -> Result<(), contractor_runtime::grpc::ConnectError> {
/// use std::time::Duration;
/// use contractor_runtime::grpc::ClientConfig;
/// # const GRPC_METHODS: &[contractor_runtime::grpc::Method] = &[];
/// let channel = ClientConfig::new("http://127.0.0.1:50051")
///     .with_timeout(Duration::from_secs(5))
///     .with_methods(GRPC_METHODS)
///     .connect()
///     .await?;
/// // let client = OrdersClient::new(channel);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct ClientConfig {
    url: String,
    timeout: Option<Duration>,
    connect_timeout: Option<Duration>,
    retry: RetryPolicy,
    methods: &'static [Method],
    auto_idempotency_keys: bool,
}

impl ClientConfig {
    /// A configuration for the server at `url` (`http://host:port`; plaintext HTTP/2), with a
    /// 30 s default deadline, a 10 s connect timeout, [`RetryPolicy::default`] and automatic
    /// idempotency keys. Without [`ClientConfig::with_methods`] no call is retried: the
    /// channel cannot tell which calls are unary and safe to repeat. The default deadline
    /// covers streaming calls too: give long-lived streams their own
    /// ([`RequestExt::with_timeout`]) or use [`ClientConfig::without_timeout`].
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            timeout: Some(Duration::from_secs(30)),
            connect_timeout: Some(Duration::from_secs(10)),
            retry: RetryPolicy::default(),
            methods: &[],
            auto_idempotency_keys: true,
        }
    }

    /// The deadline of calls that do not set one (`tonic::Request::set_timeout` or
    /// [`RequestExt::with_timeout`]); sent as `grpc-timeout` and enforced locally over the
    /// whole call, retries included.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// No default deadline (calls without their own may wait forever; long-lived streams).
    pub fn without_timeout(mut self) -> Self {
        self.timeout = None;
        self
    }

    /// How long establishing the connection may take.
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// How calls are retried (`RetryPolicy::none()` disables retries).
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// The methods of the services this channel calls (generated `GRPC_METHODS`): only
    /// unary methods listed here are retried.
    pub fn with_methods(mut self, methods: &'static [Method]) -> Self {
        self.methods = methods;
        self
    }

    /// Whether unary calls of methods not declared idempotent get a random `idempotency-key`
    /// (when the caller set none), reused across retries, which makes them retryable against
    /// a server that deduplicates keys (default `true`). With `false` such calls are never
    /// retried unless the caller sets a key.
    pub fn with_auto_idempotency_keys(mut self, enabled: bool) -> Self {
        self.auto_idempotency_keys = enabled;
        self
    }

    fn endpoint(&self) -> Result<tonic::transport::Endpoint, ConnectError> {
        let mut endpoint = tonic::transport::Endpoint::from_shared(self.url.clone())
            .map_err(|e| ConnectError::new(format!("invalid gRPC URL {:?}", self.url), e))?
            .tcp_nodelay(true);
        if let Some(t) = self.connect_timeout {
            endpoint = endpoint.connect_timeout(t);
        }
        Ok(endpoint)
    }

    /// A channel that connects on first use (and reconnects after failures). Must be called
    /// inside a Tokio runtime, which runs the connection.
    pub fn connect_lazy(&self) -> Result<Channel, ConnectError> {
        let endpoint = self.endpoint()?;
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(ConnectError::message(
                "connect_lazy must be called inside a Tokio runtime",
            ));
        }
        Ok(Channel::new(endpoint.connect_lazy(), self))
    }

    /// A channel connected now: fails when the server cannot be reached.
    pub async fn connect(&self) -> Result<Channel, ConnectError> {
        let endpoint = self.endpoint()?;
        let inner = endpoint
            .connect()
            .await
            .map_err(|e| ConnectError::new(format!("cannot connect to {}", self.url), e))?;
        Ok(Channel::new(inner, self))
    }
}

/// Creating a [`Channel`] failed: a malformed URL, or (from [`ClientConfig::connect`]) an
/// unreachable server.
#[derive(Debug)]
pub struct ConnectError {
    message: String,
    source: Option<BoxError>,
}

impl ConnectError {
    fn new(message: String, source: impl Into<BoxError>) -> Self {
        Self {
            message,
            source: Some(source.into()),
        }
    }

    fn message(message: &str) -> Self {
        Self {
            message: message.to_owned(),
            source: None,
        }
    }
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.source {
            Some(s) => write!(f, "{}: {s}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for ConnectError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// Per-call settings on a `tonic::Request`.
pub trait RequestExt: Sized {
    /// This call's deadline (sent as `grpc-timeout`), overriding the channel's default.
    fn with_timeout(self, timeout: Duration) -> Self;

    /// The idempotency key of this call: the server runs it at most once per key, and the
    /// channel may then retry it. A key must be 1 to 255 visible ASCII characters; the
    /// channel fails a call with another key with `INVALID_ARGUMENT` without sending it.
    fn with_idempotency_key(self, key: impl Into<String>) -> Self;
}

/// Marks a request whose idempotency key could not be sent.
#[derive(Clone, Debug)]
struct InvalidIdempotencyKey;

impl<T> RequestExt for tonic::Request<T> {
    fn with_timeout(mut self, timeout: Duration) -> Self {
        if let Ok(v) = super::format_grpc_timeout(timeout).parse() {
            self.metadata_mut().insert(super::GRPC_TIMEOUT_HEADER, v);
        }
        self
    }

    fn with_idempotency_key(mut self, key: impl Into<String>) -> Self {
        let key = key.into();
        let valid = !key.is_empty()
            && key.len() <= MAX_KEY_LEN
            && key.bytes().all(|b| b.is_ascii_graphic());
        match key.parse() {
            Ok(v) if valid => {
                self.metadata_mut().insert(IDEMPOTENCY_KEY_METADATA, v);
                self.extensions_mut().remove::<InvalidIdempotencyKey>();
            }
            _ => {
                self.metadata_mut().remove(IDEMPOTENCY_KEY_METADATA);
                self.extensions_mut().insert(InvalidIdempotencyKey);
            }
        }
        self
    }
}

/// A gRPC channel with deadlines, retries, idempotency keys and correlation ids; generated
/// clients take it as their transport (`OrdersClient::new(channel)`). Cheap to clone: clones
/// share the connection.
///
/// For every call it:
/// - sends `grpc-timeout` (the call's own, else the configured default) and enforces it
///   locally over the whole call, retries and backoff included: a call over budget ends with
///   `DEADLINE_EXCEEDED` on time, whatever the server does;
/// - sends `x-correlation-id` (the task's [`correlation::current`], else a new id);
/// - for unary methods not declared idempotent, sends a random `idempotency-key` unless the
///   caller set one (see [`ClientConfig::with_auto_idempotency_keys`]);
/// - retries, with backoff and full jitter, unary calls that are safe to repeat (the method is
///   `IDEMPOTENT`/`NO_SIDE_EFFECTS`, or the call carries an idempotency key) when they fail
///   with `UNAVAILABLE`, with `RESOURCE_EXHAUSTED` carrying a `RetryInfo` (whose delay is
///   honoured), or before any response (connection errors). Streaming calls and methods
///   missing from the method table are never retried.
///
/// A retried call buffers its request message and each attempt's response (one message and
/// its trailers) to classify it; other calls stream through untouched.
#[derive(Clone)]
pub struct Channel {
    inner: tonic::transport::Channel,
    shared: Arc<Shared>,
}

struct Shared {
    timeout: Option<Duration>,
    retry: RetryPolicy,
    methods: MethodTable,
    auto_keys: bool,
}

impl fmt::Debug for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Channel")
            .field("timeout", &self.shared.timeout)
            .field("retry", &self.shared.retry)
            .field("auto_idempotency_keys", &self.shared.auto_keys)
            .finish_non_exhaustive()
    }
}

impl Channel {
    /// Wraps a tonic channel the application built itself (TLS, a custom connector...) with
    /// `config`'s deadlines, retries and method table (its URL and connect timeout are not
    /// used).
    pub fn new(inner: tonic::transport::Channel, config: &ClientConfig) -> Self {
        Self {
            inner,
            shared: Arc::new(Shared {
                timeout: config.timeout,
                retry: config.retry.clone(),
                methods: MethodTable::new(config.methods),
                auto_keys: config.auto_idempotency_keys,
            }),
        }
    }
}

impl Service<Request<Body>> for Channel {
    type Response = Response<Body>;
    type Error = BoxError;
    type Future = crate::BoxFuture<'static, Result<Response<Body>, BoxError>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        // Readiness is awaited per attempt on a clone of the inner channel, inside the call's
        // deadline.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        Box::pin(self.clone().send(req))
    }
}

/// How one attempt ended.
enum Outcome {
    /// A response; `status` is its gRPC status, read from the headers (trailers-only) or the
    /// buffered trailers, `None` when it had none.
    Response {
        response: Response<Body>,
        status: Option<Status>,
    },
    /// No (complete) response: the connection failed or the stream was reset.
    Failed(BoxError),
}

impl Outcome {
    fn into_result(self) -> Result<Response<Body>, BoxError> {
        match self {
            Outcome::Response { response, .. } => Ok(response),
            Outcome::Failed(e) => Err(e),
        }
    }

    /// Whether to try again, and the wait the server asked for (`RetryInfo`).
    fn retry(&self) -> (bool, Option<Duration>) {
        match self {
            Outcome::Failed(_) => (true, None),
            Outcome::Response {
                status: Some(status),
                ..
            } => {
                let delay = retry_delay(status);
                match status.code() {
                    Code::Unavailable => (true, delay.flatten()),
                    Code::ResourceExhausted => (delay.is_some(), delay.flatten()),
                    _ => (false, None),
                }
            }
            // No grpc-status at all: a proxy answered. gRPC maps these HTTP statuses to
            // UNAVAILABLE.
            Outcome::Response {
                response,
                status: None,
            } => (
                matches!(response.status().as_u16(), 429 | 502 | 503 | 504),
                None,
            ),
        }
    }
}

fn deadline_exceeded(budget: Duration) -> Response<Body> {
    deadline_status(budget, None).into_http()
}

impl Channel {
    async fn send(self, mut req: Request<Body>) -> Result<Response<Body>, BoxError> {
        let started = Instant::now();
        if req.extensions().get::<InvalidIdempotencyKey>().is_some() {
            return Ok(Status::invalid_argument(format!(
                "the idempotency key must be 1 to {MAX_KEY_LEN} visible ASCII characters"
            ))
            .into_http());
        }
        let method = self.shared.methods.get(req.uri().path());
        let headers = req.headers_mut();
        let budget = match timeout::from_headers(headers) {
            Some(own) => Some(own),
            None => {
                if let Some(t) = self.shared.timeout {
                    timeout::set(headers, t);
                }
                self.shared.timeout
            }
        };
        if !headers.contains_key(correlation::CORRELATION_HEADER) {
            let id = correlation::current().unwrap_or_else(correlation::new_id);
            if let Ok(v) = HeaderValue::from_str(&id) {
                headers.insert(correlation::CORRELATION_HEADER, v);
            }
        }
        let unary = method.is_some_and(|m| m.is_unary());
        let mut keyed = headers.contains_key(IDEMPOTENCY_KEY_METADATA);
        let declared = method.is_some_and(|m| m.idempotency.is_idempotent());
        if unary
            && !keyed
            && !declared
            && self.shared.auto_keys
            && let Ok(v) = HeaderValue::from_str(&new_key())
        {
            headers.insert(IDEMPOTENCY_KEY_METADATA, v);
            keyed = true;
        }
        let deadline = budget.map(|b| started + b);
        let retry_safe = unary && (declared || keyed);
        if !unary {
            return self.once(req, deadline, budget).await;
        }
        // A unary call is one message each way: the request goes out whole (h2 writes one DATA
        // frame that ends the stream, not a frame and an empty closing one) and the response is
        // read whole under the deadline, which needs one timer instead of one per body frame.
        let attempts = if retry_safe {
            self.shared.retry.max_attempts
        } else {
            1
        };
        let run = self.with_retries(req, deadline, budget, attempts);
        match (deadline, budget) {
            (Some(d), Some(b)) => tokio::time::timeout_at(d, run)
                .await
                .unwrap_or_else(|_| Ok(deadline_exceeded(b))),
            _ => run.await,
        }
    }

    /// One attempt of a streaming call, bounded by the deadline (the response body too).
    async fn once(
        self,
        req: Request<Body>,
        deadline: Option<Instant>,
        budget: Option<Duration>,
    ) -> Result<Response<Body>, BoxError> {
        let call = self.inner.oneshot(req);
        let (Some(deadline), Some(budget)) = (deadline, budget) else {
            return call.await.map_err(Into::into);
        };
        match tokio::time::timeout_at(deadline, call).await {
            Err(_) => Ok(deadline_exceeded(budget)),
            Ok(Err(e)) => {
                let e: BoxError = e.into();
                if is_timeout(&*e) || Instant::now() >= deadline {
                    return Ok(deadline_exceeded(budget));
                }
                Err(e)
            }
            Ok(Ok(response)) => Ok(response.map(|body| {
                Body::new(GuardedBody::new(
                    body,
                    Some(deadline),
                    Expiry::Fail { budget },
                ))
            })),
        }
    }

    /// Buffers the request and sends it until it succeeds, fails for good, or runs out of
    /// `max_attempts` or time.
    async fn with_retries(
        self,
        req: Request<Body>,
        deadline: Option<Instant>,
        budget: Option<Duration>,
        max_attempts: u32,
    ) -> Result<Response<Body>, BoxError> {
        let (parts, body) = req.into_parts();
        let message: Bytes = match body.collect().await {
            Ok(c) => c.to_bytes(),
            // The request could not be encoded: tonic's status says why.
            Err(status) => return Ok(status.into_http()),
        };
        let policy = &self.shared.retry;
        let mut attempt = 0u32;
        loop {
            let mut req =
                Request::from_parts(clone_parts(&parts), Body::new(Full::new(message.clone())));
            if let Some(d) = deadline {
                // The server sees what is left of the budget, not the original.
                timeout::set(
                    req.headers_mut(),
                    d.saturating_duration_since(Instant::now()),
                );
            }
            let outcome = self.attempt(req).await;
            if let (Outcome::Failed(e), Some(budget)) = (&outcome, budget)
                && is_timeout(&**e)
            {
                return Ok(deadline_exceeded(budget));
            }
            attempt += 1;
            let (retryable, asked) = outcome.retry();
            if !retryable || attempt >= max_attempts {
                return outcome.into_result();
            }
            let delay = match asked {
                Some(wait) if policy.honour_retry_after => wait.min(policy.max_retry_after),
                _ => policy.backoff(attempt - 1),
            };
            if deadline.is_some_and(|d| Instant::now() + delay >= d) {
                // No time left for another attempt: the failure is the better answer.
                return outcome.into_result();
            }
            tracing::debug!(
                path = parts.uri.path(),
                attempt,
                delay = ?delay,
                "retrying gRPC call"
            );
            tokio::time::sleep(delay).await;
        }
    }

    /// One buffered attempt.
    async fn attempt(&self, req: Request<Body>) -> Outcome {
        let response = match self.inner.clone().oneshot(req).await {
            Ok(r) => r,
            Err(e) => return Outcome::Failed(e.into()),
        };
        if let Some(status) = status_from_headers(response.headers()) {
            // Trailers-only: nothing else is coming.
            return Outcome::Response {
                response,
                status: Some(status),
            };
        }
        let (parts, body) = response.into_parts();
        match body.collect().await {
            Ok(collected) => {
                let trailers = collected.trailers().cloned();
                let status = trailers.as_ref().and_then(status_from_headers);
                let body = Body::new(ReplayBody::new(collected.to_bytes(), trailers));
                Outcome::Response {
                    response: Response::from_parts(parts, body),
                    status,
                }
            }
            Err(status) => Outcome::Failed(Box::new(status)),
        }
    }
}

/// `true` when tonic's own channel gave up on the `grpc-timeout` it was sent (it reports
/// that as `CANCELLED`; for the caller it is the call's deadline).
fn is_timeout(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(e);
    while let Some(e) = next {
        if e.is::<tonic::TimeoutExpired>() {
            return true;
        }
        next = e.source();
    }
    false
}

fn clone_parts(parts: &http::request::Parts) -> http::request::Parts {
    let mut req = Request::new(());
    *req.method_mut() = parts.method.clone();
    *req.uri_mut() = parts.uri.clone();
    *req.version_mut() = parts.version;
    *req.headers_mut() = parts.headers.clone();
    *req.extensions_mut() = parts.extensions.clone();
    req.into_parts().0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ext() {
        let r = tonic::Request::new(())
            .with_timeout(Duration::from_millis(200))
            .with_idempotency_key("k-1");
        assert_eq!(r.metadata().get("grpc-timeout").unwrap(), "200000u");
        assert_eq!(r.metadata().get("idempotency-key").unwrap(), "k-1");
        assert!(r.extensions().get::<InvalidIdempotencyKey>().is_none());
        let r = r.with_idempotency_key("has space");
        assert!(r.metadata().get("idempotency-key").is_none());
        assert!(r.extensions().get::<InvalidIdempotencyKey>().is_some());
        let r = r.with_idempotency_key("ok");
        assert!(r.extensions().get::<InvalidIdempotencyKey>().is_none());
        let r = r.with_idempotency_key("k".repeat(256));
        assert!(r.extensions().get::<InvalidIdempotencyKey>().is_some());
    }

    #[test]
    fn config_errors() {
        let e = ClientConfig::new("not a url\n").connect_lazy().unwrap_err();
        assert!(e.to_string().contains("invalid gRPC URL"), "{e}");
        let e = ClientConfig::new("http://127.0.0.1:1")
            .connect_lazy()
            .unwrap_err();
        assert!(e.to_string().contains("Tokio runtime"), "{e}");
    }

    #[test]
    fn classification() {
        let resp = |s: Status| Outcome::Response {
            response: Response::new(Body::empty()),
            status: Some(s),
        };
        assert_eq!(resp(Status::unavailable("")).retry(), (true, None));
        assert_eq!(resp(Status::internal("")).retry(), (false, None));
        assert_eq!(resp(Status::resource_exhausted("")).retry(), (false, None));
        use tonic_types::{ErrorDetails, StatusExt as _};
        let with_info = Status::with_error_details(
            Code::ResourceExhausted,
            "",
            ErrorDetails::with_retry_info(Some(Duration::from_millis(30))),
        );
        assert_eq!(
            resp(with_info).retry(),
            (true, Some(Duration::from_millis(30)))
        );
        let proxy = Outcome::Response {
            response: Response::builder().status(502).body(Body::empty()).unwrap(),
            status: None,
        };
        assert_eq!(proxy.retry(), (true, None));
        assert_eq!(Outcome::Failed("reset".into()).retry(), (true, None));
    }
}
