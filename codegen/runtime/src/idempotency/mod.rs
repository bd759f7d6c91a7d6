//! Idempotency keys (IETF httpapi `Idempotency-Key` draft): the client's key, the server-side
//! stores and the engine behind both [`IdempotencyLayer`] and the generated server.
//!
//! The server runs a keyed request once: the first request claims the key (`begin` →
//! [`Begin::Started`]), runs, and stores its response; a repeat with the same payload gets the
//! stored response back (marked `idempotent-replayed: true`) without running again; a repeat
//! with another payload is a 422 problem; a repeat while the first still runs is a 409 problem
//! with `Retry-After: 1`.
//!
//! Failures are not stored: when the handler fails (a 5xx response, a timeout, a panic, or a
//! client that went away) the key is released, so the client's retry with the same key runs
//! the operation again. This assumes a failing handler did not commit its effect, which is the
//! usual contract of a 5xx. 4xx responses are stored: the same request would fail the same way.
//!
//! Keys are accepted bare (`Idempotency-Key: 8e03...`, as Stripe and most deployed APIs use)
//! or as the draft's structured-field string (`"8e03..."`); the client sends them bare.

mod layer;
mod memory;
#[cfg(feature = "redis")]
mod redis_store;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Response, StatusCode};
use http_body_util::BodyExt as _;
use serde::{Deserialize, Serialize};

use crate::BoxFuture;
use crate::problem::{PROBLEM_JSON, Problem};

pub use layer::{IdempotencyLayer, IdempotencyService};
pub use memory::{DEFAULT_MAX_ENTRIES, MemoryStore};
#[cfg(feature = "redis")]
pub use redis_store::RedisStore;

/// The request header that carries the key.
pub const IDEMPOTENCY_KEY_HEADER: &str = "idempotency-key";

/// [`IDEMPOTENCY_KEY_HEADER`] as a parsed name.
pub(crate) const IDEMPOTENCY_KEY_NAME: HeaderName = HeaderName::from_static(IDEMPOTENCY_KEY_HEADER);

/// The response header that marks a replayed response.
pub const REPLAYED_HEADER: &str = "idempotent-replayed";

/// The longest key accepted.
pub const MAX_KEY_LEN: usize = 255;

/// A new random key (a UUID v4).
pub fn new_key() -> String {
    crate::encoding::uuid_v4()
}

/// The key of a request header value: 1 to [`MAX_KEY_LEN`] visible ASCII characters, with
/// the draft's optional structured-field quotes removed. `Err` holds a 400 problem.
pub fn parse_key(value: &HeaderValue) -> Result<&str, Problem> {
    let invalid = || {
        Problem::new(400).with_detail(format!(
            "Idempotency-Key must be 1 to {MAX_KEY_LEN} visible ASCII characters"
        ))
    };
    let raw = value.to_str().map_err(|_| invalid())?;
    let key = raw
        .strip_prefix('"')
        .and_then(|k| k.strip_suffix('"'))
        .unwrap_or(raw);
    if key.is_empty() || key.len() > MAX_KEY_LEN || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(invalid());
    }
    Ok(key)
}

/// What [`IdempotencyStore::begin`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Begin {
    /// The key was free: the caller owns it now and must `complete` or `release` it.
    Started,
    /// Another request holds the key and has not finished.
    InFlight,
    /// A request with this key finished; its fingerprint and response.
    Completed {
        /// The fingerprint of the request that produced `response`.
        fingerprint: String,
        /// The stored response.
        response: StoredResponse,
    },
}

/// A response kept for replay.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredResponse {
    /// The status code.
    pub status: u16,
    /// The headers, without hop-by-hop ones, `content-length`, `date` and the correlation id.
    pub headers: Vec<(String, String)>,
    /// The body (base64 in serialized form).
    #[serde(with = "crate::encoding::base64_bytes")]
    pub body: Bytes,
}

/// A store failure (unreachable, corrupt record...). The server answers 503.
#[derive(Debug)]
pub struct StoreError {
    message: String,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl StoreError {
    /// An error with a message.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            source: None,
        }
    }

    /// An error caused by `source`.
    pub fn with_source(
        message: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self {
            message: message.into(),
            source: Some(Box::new(source)),
        }
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.source {
            Some(s) => write!(f, "{}: {s}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for StoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// Where a server keeps idempotency records. Implementations must make `begin` atomic:
/// concurrent `begin`s of one key yield exactly one [`Begin::Started`].
pub trait IdempotencyStore: Send + Sync + 'static {
    /// Claims `key` for `ttl` (the in-flight lock's lifetime), or reports what holds it.
    fn begin(
        &self,
        key: &str,
        fingerprint: &str,
        ttl: Duration,
    ) -> BoxFuture<'_, Result<Begin, StoreError>>;

    /// Stores the response of the claimed `key` for `ttl`.
    fn complete(
        &self,
        key: &str,
        fingerprint: &str,
        response: StoredResponse,
        ttl: Duration,
    ) -> BoxFuture<'_, Result<(), StoreError>>;

    /// Gives up a claimed `key` that is still in flight (a completed record stays).
    fn release(&self, key: &str) -> BoxFuture<'_, Result<(), StoreError>>;
}

/// Derives the client identity that scopes keys from a request (so two clients cannot collide
/// or read each other's responses).
pub type ClientIdentity = Arc<dyn Fn(&http::request::Parts) -> String + Send + Sync>;

/// The default identity: a SHA-256 of the `Authorization` header, else `anonymous`.
pub fn default_client_identity(parts: &http::request::Parts) -> String {
    match parts.headers.get(http::header::AUTHORIZATION) {
        Some(auth) => {
            let mut h = crate::encoding::sha256_hex(&[auth.as_bytes()]);
            h.truncate(32);
            h
        }
        None => "anonymous".to_owned(),
    }
}

/// How a server deduplicates keyed requests.
#[derive(Clone)]
pub struct IdempotencyConfig {
    /// Where records live (default: a [`MemoryStore`]; use a shared store such as
    /// `RedisStore` when more than one replica serves the API).
    pub store: Arc<dyn IdempotencyStore>,
    /// How long a completed response is replayed (default 24 h).
    pub ttl: Duration,
    /// How long an in-flight claim lives if its owner dies without releasing it (default
    /// 5 min; the server extends it to cover an operation's timeout).
    pub in_flight_ttl: Duration,
    /// Scopes keys per client (default [`default_client_identity`]).
    pub client_identity: ClientIdentity,
}

impl Default for IdempotencyConfig {
    fn default() -> Self {
        Self {
            store: Arc::new(MemoryStore::new()),
            ttl: Duration::from_secs(24 * 3600),
            in_flight_ttl: Duration::from_secs(300),
            client_identity: Arc::new(default_client_identity),
        }
    }
}

impl fmt::Debug for IdempotencyConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdempotencyConfig")
            .field("ttl", &self.ttl)
            .field("in_flight_ttl", &self.in_flight_ttl)
            .finish_non_exhaustive()
    }
}

impl IdempotencyConfig {
    /// Uses `store`.
    pub fn with_store(mut self, store: Arc<dyn IdempotencyStore>) -> Self {
        self.store = store;
        self
    }

    /// Sets `ttl`.
    pub fn with_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// Sets `in_flight_ttl`.
    pub fn with_in_flight_ttl(mut self, ttl: Duration) -> Self {
        self.in_flight_ttl = ttl;
        self
    }

    /// Sets `client_identity`.
    pub fn with_client_identity(
        mut self,
        f: impl Fn(&http::request::Parts) -> String + Send + Sync + 'static,
    ) -> Self {
        self.client_identity = Arc::new(f);
        self
    }
}

/// The store key: the key scoped by client identity and method.
pub(crate) fn store_key(identity: &str, method: &Method, key: &str) -> String {
    crate::encoding::sha256_hex(&[
        identity.as_bytes(),
        method.as_str().as_bytes(),
        key.as_bytes(),
    ])
}

/// What identifies "the same request": method, path and query, body.
pub(crate) fn fingerprint(method: &Method, path_and_query: &str, body: &[u8]) -> String {
    crate::encoding::sha256_hex(&[method.as_str().as_bytes(), path_and_query.as_bytes(), body])
}

/// The outcome of claiming a key.
pub(crate) enum Claim {
    /// Run the operation, then [`Pending::finish`].
    Started(Pending),
    /// Answer with this stored response.
    Replay(Response<Body>),
    /// Answer with this problem (see [`rejection`]).
    Reject(Problem),
}

/// Claims `key` in `store`.
pub(crate) async fn claim(
    store: &Arc<dyn IdempotencyStore>,
    key: String,
    fingerprint: String,
    lock_ttl: Duration,
    ttl: Duration,
) -> Claim {
    match store.begin(&key, &fingerprint, lock_ttl).await {
        Ok(Begin::Started) => Claim::Started(Pending {
            claim: ClaimedKey::new(store.clone(), key),
            fingerprint,
            ttl,
        }),
        Ok(Begin::InFlight) => Claim::Reject(
            Problem::new(409)
                .with_detail("A request with this Idempotency-Key is still being processed"),
        ),
        Ok(Begin::Completed {
            fingerprint: stored,
            response,
        }) => {
            if stored == fingerprint {
                Claim::Replay(replay(response))
            } else {
                Claim::Reject(
                    Problem::new(422)
                        .with_detail("Idempotency-Key reused with a different request payload"),
                )
            }
        }
        Err(e) => {
            tracing::error!(error = %e, "idempotency store failed");
            Claim::Reject(
                Problem::new(503).with_detail("The idempotency store is unavailable; retry later"),
            )
        }
    }
}

/// A problem response for a rejected claim; 409 and 503 say when to come back.
pub(crate) fn rejection(problem: &Problem) -> Response<Body> {
    let body = serde_json::to_vec(problem).unwrap_or_default();
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = problem.status_code();
    let h = resp.headers_mut();
    h.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static(PROBLEM_JSON),
    );
    say_when_to_retry(&mut resp);
    resp
}

/// A rejected claim that is worth retrying (409 in flight, 503 store down) says when.
pub(crate) fn say_when_to_retry(resp: &mut Response<Body>) {
    if matches!(resp.status().as_u16(), 409 | 503) {
        resp.headers_mut()
            .insert(http::header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
}

/// A key claimed in a store, shared by the HTTP layer and the gRPC server. Dropping it
/// unfinished (the request future was cancelled or timed out) releases the key in the
/// background, so a retry can run.
pub(crate) struct ClaimedKey {
    store: Option<Arc<dyn IdempotencyStore>>,
    key: String,
}

impl ClaimedKey {
    pub(crate) fn new(store: Arc<dyn IdempotencyStore>, key: String) -> Self {
        Self {
            store: Some(store),
            key,
        }
    }

    /// Stores the response of the claimed key for `ttl`.
    pub(crate) async fn complete(
        mut self,
        fingerprint: &str,
        response: StoredResponse,
        ttl: Duration,
    ) {
        let Some(store) = self.store.take() else {
            return;
        };
        if let Err(e) = store.complete(&self.key, fingerprint, response, ttl).await {
            // The effect happened. Releasing would let a retry run it again, so the claim
            // stays in flight until it expires and retries are refused meanwhile.
            tracing::error!(error = %e, "could not store the idempotent response");
        }
    }

    /// Gives the key up now (the operation failed, a retry may run it).
    pub(crate) async fn release(mut self) {
        if let Some(store) = self.store.take() {
            release(&*store, &self.key).await;
        }
    }
}

impl Drop for ClaimedKey {
    fn drop(&mut self) {
        let Some(store) = self.store.take() else {
            return;
        };
        let key = std::mem::take(&mut self.key);
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move { release(&*store, &key).await });
        }
    }
}

async fn release(store: &dyn IdempotencyStore, key: &str) {
    if let Err(e) = store.release(key).await {
        // The claim expires after its in-flight TTL anyway.
        tracing::warn!(error = %e, "could not release an idempotency key");
    }
}

/// An HTTP request's claimed key, with what its response is stored under.
pub(crate) struct Pending {
    claim: ClaimedKey,
    fingerprint: String,
    ttl: Duration,
}

impl Pending {
    /// Stores `resp` (or releases the key for a 5xx) and returns it, fully buffered.
    pub(crate) async fn finish(self, resp: Response<Body>) -> Response<Body> {
        let (parts, body) = resp.into_parts();
        let bytes = match body.collect().await {
            Ok(c) => c.to_bytes(),
            Err(e) => {
                tracing::error!(error = %e, "response body failed; idempotency key released");
                self.claim.release().await;
                let p = Problem::new(500).with_detail("The response could not be produced");
                return rejection(&p);
            }
        };
        if parts.status.is_server_error() {
            self.claim.release().await;
        } else {
            let stored = StoredResponse {
                status: parts.status.as_u16(),
                headers: stored_headers(&parts.headers),
                body: bytes.clone(),
            };
            self.claim
                .complete(&self.fingerprint, stored, self.ttl)
                .await;
        }
        Response::from_parts(parts, Body::from(bytes))
    }

    /// Releases the key now (the operation failed before producing a response).
    pub(crate) async fn abandon(self) {
        self.claim.release().await;
    }
}

fn is_unstored_header(name: &HeaderName) -> bool {
    matches!(
        name.as_str(),
        "connection"
            | "keep-alive"
            | "proxy-authenticate"
            | "proxy-authorization"
            | "te"
            | "trailer"
            | "transfer-encoding"
            | "upgrade"
            | "content-length"
            | "date"
            | REPLAYED_HEADER
            | crate::correlation::CORRELATION_HEADER
    )
}

fn stored_headers(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .filter(|(name, _)| !is_unstored_header(name))
        .filter_map(|(name, value)| {
            let value = value.to_str().ok()?;
            Some((name.as_str().to_owned(), value.to_owned()))
        })
        .collect()
}

/// The stored response, as it was, plus `idempotent-replayed: true`.
fn replay(stored: StoredResponse) -> Response<Body> {
    let mut resp = Response::new(Body::from(stored.body));
    *resp.status_mut() =
        StatusCode::from_u16(stored.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let h = resp.headers_mut();
    for (name, value) in &stored.headers {
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            h.append(n, v);
        }
    }
    h.insert(REPLAYED_HEADER, HeaderValue::from_static("true"));
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys() {
        assert_eq!(
            parse_key(&HeaderValue::from_static("abc-123")).unwrap(),
            "abc-123"
        );
        assert_eq!(
            parse_key(&HeaderValue::from_static("\"abc\"")).unwrap(),
            "abc"
        );
        assert!(parse_key(&HeaderValue::from_static("\"\"")).is_err());
        assert!(parse_key(&HeaderValue::from_static("a b")).is_err());
        let long = "k".repeat(256);
        assert!(parse_key(&HeaderValue::from_str(&long).unwrap()).is_err());
        assert!(parse_key(&HeaderValue::from_str(&long[..255]).unwrap()).is_ok());
        assert_eq!(new_key().len(), 36);
    }

    #[test]
    fn scoping() {
        let a = store_key("alice", &Method::POST, "k");
        assert_ne!(a, store_key("bob", &Method::POST, "k"));
        assert_ne!(a, store_key("alice", &Method::PATCH, "k"));
        assert_ne!(
            fingerprint(&Method::POST, "/a", b"1"),
            fingerprint(&Method::POST, "/a", b"2")
        );
        let parts = http::Request::builder()
            .header("authorization", "Bearer x")
            .body(())
            .unwrap()
            .into_parts()
            .0;
        assert_eq!(default_client_identity(&parts).len(), 32);
        let anon = http::Request::new(()).into_parts().0;
        assert_eq!(default_client_identity(&anon), "anonymous");
    }

    #[test]
    fn stored_response_serializes_compactly() {
        let r = StoredResponse {
            status: 201,
            headers: vec![("content-type".into(), "application/json".into())],
            body: Bytes::from_static(b"{}"),
        };
        let s = serde_json::to_string(&r).unwrap();
        assert!(s.contains("\"body\":\"e30=\""), "{s}");
        assert_eq!(serde_json::from_str::<StoredResponse>(&s).unwrap(), r);
    }

    #[test]
    fn replays_headers_but_not_hop_by_hop() {
        let mut h = HeaderMap::new();
        h.insert("content-type", HeaderValue::from_static("text/plain"));
        h.append("set-cookie", HeaderValue::from_static("a=1"));
        h.append("set-cookie", HeaderValue::from_static("b=2"));
        h.insert("connection", HeaderValue::from_static("close"));
        h.insert("x-correlation-id", HeaderValue::from_static("c"));
        let stored = stored_headers(&h);
        assert_eq!(stored.len(), 3);
        let resp = replay(StoredResponse {
            status: 201,
            headers: stored,
            body: Bytes::from_static(b"hi"),
        });
        assert_eq!(resp.status(), 201);
        assert_eq!(resp.headers().get_all("set-cookie").iter().count(), 2);
        assert_eq!(resp.headers()[REPLAYED_HEADER], "true");
    }
}
