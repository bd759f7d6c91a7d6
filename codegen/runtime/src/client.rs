//! The HTTP client generated SDKs use.
//!
//! A generated method builds a [`Call`] from its operation's static description, fills path,
//! query, header and body from its typed arguments, and [`HttpClient::send`]s it. `send` adds
//! credentials, the correlation id and an idempotency key, enforces the call's total deadline
//! and retries what is safe to retry ([`crate::retry`]). Bodies are encoded to bytes up front,
//! so every attempt sends exactly the same request.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_TYPE, COOKIE, USER_AGENT};
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::correlation;
use crate::idempotency::{IDEMPOTENCY_KEY_HEADER, new_key};
use crate::problem::{Problem, error_class};
use crate::retry::{RetryPolicy, is_retry_safe};
use crate::spec::{
    ApiKeyLocation, BodyKind, KeyPolicy, ParamLocation, ParamStyle, SchemeKind, SecurityScheme,
};

pub use crate::spec::Operation;

/// Everything but RFC 3986 unreserved characters is percent-encoded in path segments and
/// query components.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// How a client reaches an API.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// The server URL, e.g. `https://api.example.com/v1`; operation paths are appended.
    pub base_url: String,
    /// The total time a call may take, retries and their waits included (default 30 s).
    pub timeout: Duration,
    /// The time to establish a connection (default 10 s).
    pub connect_timeout: Duration,
    /// The retry policy (default [`RetryPolicy::default`]).
    pub retry: RetryPolicy,
    /// Headers sent with every call.
    pub default_headers: HeaderMap,
    /// Credentials, applied per operation's security requirements.
    pub credentials: Credentials,
    /// The `User-Agent` (default `contractor-runtime/<version>`).
    pub user_agent: Option<String>,
}

impl ClientConfig {
    /// A configuration with defaults for `base_url`.
    pub fn new(base_url: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            retry: RetryPolicy::default(),
            default_headers: HeaderMap::new(),
            credentials: Credentials::default(),
            user_agent: None,
        }
    }

    /// Sets the total per-call timeout.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets the connect timeout.
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Sets the retry policy.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Adds a header sent with every call.
    pub fn with_default_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.default_headers.insert(name, value);
        self
    }

    /// Sets the credentials.
    pub fn with_credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = credentials;
        self
    }

    /// Sets the `User-Agent`.
    pub fn with_user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = Some(user_agent.into());
        self
    }
}

/// Secrets for the API's security schemes. `Debug` shows which are set, never their values.
#[derive(Clone, Default)]
pub struct Credentials {
    bearer: Option<String>,
    basic: Option<(String, Option<String>)>,
    api_keys: BTreeMap<String, String>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("bearer", &self.bearer.as_ref().map(|_| "<redacted>"))
            .field(
                "basic",
                &self.basic.as_ref().map(|(user, _)| (user, "<redacted>")),
            )
            .field("api_keys", &self.api_keys.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Credentials {
    /// No credentials.
    pub fn new() -> Self {
        Self::default()
    }

    /// A bearer token (HTTP bearer, OAuth2 and OpenID Connect schemes).
    pub fn bearer(mut self, token: impl Into<String>) -> Self {
        self.bearer = Some(token.into());
        self
    }

    /// HTTP basic credentials.
    pub fn basic(mut self, user: impl Into<String>, password: Option<String>) -> Self {
        self.basic = Some((user.into(), password));
        self
    }

    /// The key for the API-key scheme named `scheme` in the contract.
    pub fn api_key(mut self, scheme: impl Into<String>, value: impl Into<String>) -> Self {
        self.api_keys.insert(scheme.into(), value.into());
        self
    }

    fn has(&self, s: &SecurityScheme) -> bool {
        match s.kind {
            SchemeKind::Bearer => self.bearer.is_some(),
            SchemeKind::Basic => self.basic.is_some(),
            SchemeKind::ApiKey { .. } => self.api_keys.contains_key(s.name),
        }
    }
}

/// Per-call settings.
#[derive(Clone, Debug, Default)]
pub struct CallOptions {
    /// Overrides [`ClientConfig::timeout`].
    pub timeout: Option<Duration>,
    /// The idempotency key to send (otherwise a fresh one for operations that use keys).
    pub idempotency_key: Option<String>,
    /// Extra headers (they override defaults and credentials).
    pub headers: HeaderMap,
    /// Overrides [`ClientConfig::retry`].
    pub retry: Option<RetryPolicy>,
}

impl CallOptions {
    /// Default options.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the total timeout of this call.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Sets the idempotency key (reuse it to retry a call yourself safely).
    pub fn idempotency_key(mut self, key: impl Into<String>) -> Self {
        self.idempotency_key = Some(key.into());
        self
    }

    /// Adds a header.
    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.insert(name, value);
        self
    }

    /// Sets the retry policy of this call.
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = Some(retry);
        self
    }
}

/// Why a call failed.
#[derive(Debug)]
pub enum ClientError<E> {
    /// A status the contract declares as an error, decoded by the generated code.
    Api(E),
    /// A status the contract does not declare.
    UnexpectedStatus {
        /// The status.
        status: StatusCode,
        /// The body as a problem document, when it is one (boxed to keep `ClientError`
        /// small on the happy path).
        problem: Option<Box<Problem>>,
        /// The raw body.
        body: Bytes,
    },
    /// The call's total deadline passed.
    Timeout {
        /// The deadline that passed.
        after: Duration,
    },
    /// The connection or the HTTP exchange failed.
    Transport(reqwest::Error),
    /// The body did not decode into the declared type.
    Decode {
        /// The response status.
        status: StatusCode,
        /// The decoding error.
        source: serde_json::Error,
    },
    /// The request could not be built (a bad parameter value, an unset path parameter...).
    InvalidRequest(String),
}

impl<E> ClientError<E> {
    /// Converts the declared-error payload.
    pub fn map_api<F>(self, f: impl FnOnce(E) -> F) -> ClientError<F> {
        match self {
            ClientError::Api(e) => ClientError::Api(f(e)),
            ClientError::UnexpectedStatus {
                status,
                problem,
                body,
            } => ClientError::UnexpectedStatus {
                status,
                problem,
                body,
            },
            ClientError::Timeout { after } => ClientError::Timeout { after },
            ClientError::Transport(e) => ClientError::Transport(e),
            ClientError::Decode { status, source } => ClientError::Decode { status, source },
            ClientError::InvalidRequest(m) => ClientError::InvalidRequest(m),
        }
    }

    /// `true` when trying again later may succeed: a retryable status ([`error_class`]), a
    /// timeout, or a failed connection. Declared errors are the caller's to judge.
    pub fn is_retryable(&self) -> bool {
        match self {
            ClientError::UnexpectedStatus { status, .. } => {
                error_class(status.as_u16()).is_retryable()
            }
            ClientError::Timeout { .. } => true,
            ClientError::Transport(e) => e.is_connect() || e.is_timeout(),
            ClientError::Api(_) | ClientError::Decode { .. } | ClientError::InvalidRequest(_) => {
                false
            }
        }
    }

    /// The response status, when there was a response.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            ClientError::UnexpectedStatus { status, .. } | ClientError::Decode { status, .. } => {
                Some(*status)
            }
            _ => None,
        }
    }

    /// The problem document of an unexpected status.
    pub fn problem(&self) -> Option<&Problem> {
        match self {
            ClientError::UnexpectedStatus { problem, .. } => problem.as_deref(),
            _ => None,
        }
    }
}

impl<E: fmt::Debug> fmt::Display for ClientError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::Api(e) => write!(f, "the API returned an error: {e:?}"),
            ClientError::UnexpectedStatus {
                status, problem, ..
            } => match problem {
                Some(p) => write!(f, "unexpected status {status}: {p}"),
                None => write!(f, "unexpected status {status}"),
            },
            ClientError::Timeout { after } => write!(f, "the call timed out after {after:?}"),
            ClientError::Transport(e) => write!(f, "transport error: {e}"),
            ClientError::Decode { status, source } => {
                write!(f, "could not decode the {status} response: {source}")
            }
            ClientError::InvalidRequest(m) => write!(f, "invalid request: {m}"),
        }
    }
}

impl<E: fmt::Debug> std::error::Error for ClientError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ClientError::Transport(e) => Some(e),
            ClientError::Decode { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// A response, fully read.
#[derive(Clone, Debug)]
pub struct RawResponse {
    /// The status.
    pub status: StatusCode,
    /// The headers (the `content-type` media type is lower-cased by [`HttpClient::send`]).
    pub headers: HeaderMap,
    /// The body.
    pub body: Bytes,
}

impl RawResponse {
    /// The body as JSON; an empty body reads as `null`, so `()` and `Option<T>` work.
    pub fn json<T: DeserializeOwned, E>(&self) -> Result<T, ClientError<E>> {
        let body: &[u8] = if self.body.iter().all(u8::is_ascii_whitespace) {
            b"null"
        } else {
            &self.body
        };
        serde_json::from_slice(body).map_err(|source| ClientError::Decode {
            status: self.status,
            source,
        })
    }

    /// The body as UTF-8 text.
    pub fn text<E>(&self) -> Result<String, ClientError<E>> {
        String::from_utf8(self.body.to_vec()).map_err(|e| ClientError::Decode {
            status: self.status,
            source: serde::de::Error::custom(format_args!("the body is not UTF-8: {e}")),
        })
    }

    /// The body.
    pub fn bytes(&self) -> Bytes {
        self.body.clone()
    }

    /// The body as a problem document, when it is JSON and parses as one.
    pub fn problem(&self) -> Option<Problem> {
        let ct = self.content_type()?;
        if ct != "application/json" && !ct.ends_with("+json") {
            return None;
        }
        serde_json::from_slice(&self.body).ok()
    }

    /// The media type without parameters (`application/json`).
    pub fn content_type(&self) -> Option<&str> {
        let v = self.headers.get(CONTENT_TYPE)?.to_str().ok()?;
        Some(v.split(';').next().unwrap_or(v).trim())
    }

    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name)?.to_str().ok()
    }

    /// This response as [`ClientError::UnexpectedStatus`].
    pub fn unexpected<E>(self) -> ClientError<E> {
        ClientError::UnexpectedStatus {
            status: self.status,
            problem: self.problem().map(Box::new),
            body: self.body,
        }
    }
}

/// The client. Cheap to clone: clones share one connection pool.
#[derive(Clone)]
pub struct HttpClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    config: ClientConfig,
    /// `base_url` without a trailing slash.
    base: String,
    user_agent: HeaderValue,
}

impl fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpClient")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl HttpClient {
    /// A client for `config`. Fails on a base URL that is not an absolute `http(s)` URL
    /// without query or fragment, or when the TLS backend cannot start.
    pub fn new(config: ClientConfig) -> Result<Self, ClientError<Infallible>> {
        let http = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .build()
            .map_err(ClientError::Transport)?;
        Self::with_reqwest(config, http)
    }

    /// A client over a preconfigured `reqwest::Client` (proxies, custom roots...).
    pub fn with_reqwest(
        config: ClientConfig,
        http: reqwest::Client,
    ) -> Result<Self, ClientError<Infallible>> {
        let url = reqwest::Url::parse(&config.base_url).map_err(|e| {
            ClientError::InvalidRequest(format!("base URL `{}`: {e}", config.base_url))
        })?;
        if !matches!(url.scheme(), "http" | "https")
            || url.query().is_some()
            || url.fragment().is_some()
        {
            return Err(ClientError::InvalidRequest(format!(
                "base URL `{}` must be http(s) without query or fragment",
                config.base_url
            )));
        }
        let base = config.base_url.trim_end_matches('/').to_owned();
        let ua = config
            .user_agent
            .clone()
            .unwrap_or_else(|| concat!("contractor-runtime/", env!("CARGO_PKG_VERSION")).into());
        let user_agent = HeaderValue::from_str(&ua)
            .map_err(|_| ClientError::InvalidRequest(format!("user agent `{ua}`")))?;
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                config,
                base,
                user_agent,
            }),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &ClientConfig {
        &self.inner.config
    }

    /// Starts a call of `op`.
    pub fn call(&self, op: &'static Operation, options: &CallOptions) -> Call {
        Call {
            op,
            options: options.clone(),
            path: op.path.to_owned(),
            query: String::new(),
            headers: HeaderMap::new(),
            cookies: Vec::new(),
            body: None,
            error: None,
        }
    }

    /// Sends `call` and reads the whole response. Any status is `Ok`: the generated code
    /// decides what is an error.
    pub async fn send<E>(&self, call: Call) -> Result<RawResponse, ClientError<E>> {
        let Call {
            op,
            options,
            path,
            mut query,
            headers: call_headers,
            mut cookies,
            body,
            error,
        } = call;
        if let Some(e) = error {
            return Err(ClientError::InvalidRequest(e));
        }
        if let Some(name) = unfilled_placeholder(&path) {
            return Err(ClientError::InvalidRequest(format!(
                "path parameter `{name}` of {} was not set",
                op.id
            )));
        }
        let inner = &*self.inner;
        let timeout = options.timeout.unwrap_or(inner.config.timeout);
        let policy = options.retry.as_ref().unwrap_or(&inner.config.retry);
        let deadline = Instant::now() + timeout;

        let mut headers = inner.config.default_headers.clone();
        if !headers.contains_key(USER_AGENT) {
            headers.insert(USER_AGENT, inner.user_agent.clone());
        }
        self.apply_credentials(op, &mut headers, &mut query, &mut cookies)
            .map_err(ClientError::InvalidRequest)?;
        let correlation_id = correlation::current().unwrap_or_else(correlation::new_id);
        let id_value = HeaderValue::from_str(&correlation_id)
            .map_err(|_| ClientError::InvalidRequest("invalid correlation id".into()))?;
        headers.insert(correlation::CORRELATION_HEADER, id_value);
        for (name, value) in &options.headers {
            headers.insert(name.clone(), value.clone());
        }
        for (name, value) in &call_headers {
            headers.insert(name.clone(), value.clone());
        }
        // The key: the caller's, else one set as a header parameter, else a fresh one. The same
        // key goes with every attempt, so the server runs the operation once.
        let key = match options.idempotency_key {
            Some(k) => Some(
                HeaderValue::from_str(&k)
                    .map_err(|_| ClientError::InvalidRequest("invalid idempotency key".into()))?,
            ),
            None => match headers.get(IDEMPOTENCY_KEY_HEADER) {
                Some(existing) => Some(existing.clone()),
                None if op.idempotency != KeyPolicy::None => HeaderValue::from_str(&new_key()).ok(),
                None => None,
            },
        };
        let has_key = key.is_some();
        if let Some(k) = key {
            headers.insert(IDEMPOTENCY_KEY_HEADER, k);
        }
        if !cookies.is_empty() {
            let mut all: Vec<String> = headers
                .get_all(COOKIE)
                .iter()
                .filter_map(|v| v.to_str().ok().map(str::to_owned))
                .collect();
            all.extend(cookies);
            let value = HeaderValue::from_str(&all.join("; "))
                .map_err(|_| ClientError::InvalidRequest("invalid cookie".into()))?;
            headers.insert(COOKIE, value);
        }
        let body = body.map(|(content_type, bytes)| {
            headers.insert(CONTENT_TYPE, content_type);
            bytes
        });
        let mut url = String::with_capacity(inner.base.len() + path.len() + query.len() + 1);
        url.push_str(&inner.base);
        url.push_str(&path);
        if !query.is_empty() {
            url.push('?');
            url.push_str(&query);
        }
        let url = reqwest::Url::parse(&url)
            .map_err(|e| ClientError::InvalidRequest(format!("URL `{url}`: {e}")))?;

        let retry_safe = is_retry_safe(&op.method, has_key);
        let max_attempts = policy.max_attempts.max(1);
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                return Err(ClientError::Timeout { after: timeout });
            }
            let mut req = reqwest::Request::new(op.method.clone(), url.clone());
            *req.headers_mut() = headers.clone();
            if let Some(b) = &body {
                *req.body_mut() = Some(reqwest::Body::from(b.clone()));
            }
            let outcome = tokio::time::timeout(remaining, self.exchange(req)).await;
            let can_retry = retry_safe && attempt < max_attempts;
            match outcome {
                Err(_) => return Err(ClientError::Timeout { after: timeout }),
                Ok(Ok(raw)) => {
                    tracing::debug!(
                        operation = op.id,
                        method = %op.method,
                        path = url.path(),
                        status = raw.status.as_u16(),
                        attempt,
                        correlation_id = %correlation_id,
                        "http call"
                    );
                    if !(can_retry && error_class(raw.status.as_u16()).is_retryable()) {
                        return Ok(raw);
                    }
                    let wait = policy.delay(attempt - 1, Some(&raw.headers));
                    if Instant::now() + wait >= deadline {
                        return Ok(raw);
                    }
                    tokio::time::sleep(wait).await;
                }
                Ok(Err(e)) => {
                    tracing::debug!(
                        operation = op.id,
                        method = %op.method,
                        path = url.path(),
                        error = %e,
                        attempt,
                        correlation_id = %correlation_id,
                        "http call failed"
                    );
                    if e.is_timeout() {
                        return Err(ClientError::Timeout { after: timeout });
                    }
                    if !(can_retry && is_connection_failure(&e)) {
                        return Err(ClientError::Transport(e));
                    }
                    let wait = policy.delay(attempt - 1, None);
                    if Instant::now() + wait >= deadline {
                        return Err(ClientError::Transport(e));
                    }
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }

    async fn exchange(&self, req: reqwest::Request) -> Result<RawResponse, reqwest::Error> {
        let resp = self.inner.http.execute(req).await?;
        let status = resp.status();
        let mut headers = resp.headers().clone();
        let body = resp.bytes().await?;
        normalize_content_type(&mut headers);
        Ok(RawResponse {
            status,
            headers,
            body,
        })
    }

    fn apply_credentials(
        &self,
        op: &Operation,
        headers: &mut HeaderMap,
        query: &mut String,
        cookies: &mut Vec<String>,
    ) -> Result<(), String> {
        let creds = &self.inner.config.credentials;
        // The first alternative whose schemes all have credentials; none: send without, and
        // let the server answer 401.
        let Some(schemes) = op
            .security
            .iter()
            .find(|alt| alt.iter().all(|s| creds.has(s)))
        else {
            return Ok(());
        };
        for s in schemes.iter() {
            match s.kind {
                SchemeKind::Bearer => {
                    if let Some(token) = &creds.bearer {
                        headers.insert(AUTHORIZATION, secret(&format!("Bearer {token}"))?);
                    }
                }
                SchemeKind::Basic => {
                    if let Some((user, password)) = &creds.basic {
                        let raw = format!("{user}:{}", password.as_deref().unwrap_or(""));
                        let encoded = base64::engine::general_purpose::STANDARD.encode(raw);
                        headers.insert(AUTHORIZATION, secret(&format!("Basic {encoded}"))?);
                    }
                }
                SchemeKind::ApiKey { location, name } => {
                    let Some(key) = creds.api_keys.get(s.name) else {
                        continue;
                    };
                    match location {
                        ApiKeyLocation::Header => {
                            let n = HeaderName::from_bytes(name.as_bytes())
                                .map_err(|_| format!("API key header name `{name}`"))?;
                            headers.insert(n, secret(key)?);
                        }
                        ApiKeyLocation::Query => push_pair(query, name, key),
                        ApiKeyLocation::Cookie => cookies
                            .push(format!("{name}={}", utf8_percent_encode(key, COOKIE_VALUE))),
                    }
                }
            }
        }
        Ok(())
    }
}

fn secret(value: &str) -> Result<HeaderValue, String> {
    let mut v = HeaderValue::from_str(value)
        .map_err(|_| "a credential contains characters not allowed in a header".to_owned())?;
    v.set_sensitive(true);
    Ok(v)
}

/// Lower-cases the media type of `content-type` (parameters are kept as sent), so
/// [`RawResponse::content_type`] can compare without allocating.
fn normalize_content_type(headers: &mut HeaderMap) {
    let Some(v) = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return;
    };
    let essence_len = v.find(';').unwrap_or(v.len());
    if v[..essence_len].bytes().any(|b| b.is_ascii_uppercase()) {
        let fixed = format!(
            "{}{}",
            v[..essence_len].to_ascii_lowercase(),
            &v[essence_len..]
        );
        if let Ok(value) = HeaderValue::from_str(&fixed) {
            headers.insert(CONTENT_TYPE, value);
        }
    }
}

/// Connection failures before a response: a refused or reset connection, or one that closed
/// before the response. A total-deadline timeout is not one of them.
fn is_connection_failure(e: &reqwest::Error) -> bool {
    if e.is_timeout() {
        return false;
    }
    if e.is_connect() {
        return true;
    }
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(h) = s.downcast_ref::<hyper::Error>()
            && h.is_incomplete_message()
        {
            return true;
        }
        if let Some(io) = s.downcast_ref::<std::io::Error>()
            && matches!(
                io.kind(),
                std::io::ErrorKind::ConnectionRefused
                    | std::io::ErrorKind::ConnectionReset
                    | std::io::ErrorKind::ConnectionAborted
                    | std::io::ErrorKind::BrokenPipe
                    | std::io::ErrorKind::UnexpectedEof
            )
        {
            return true;
        }
        source = s.source();
    }
    false
}

/// The first `{name}` left in a filled template.
fn unfilled_placeholder(path: &str) -> Option<&str> {
    let start = path.find('{')?;
    let end = path[start..].find('}')? + start;
    Some(&path[start + 1..end])
}

/// Characters escaped in cookie values: RFC 6265 forbids controls, whitespace, `"`, `,`, `;`
/// and `\`; `%` is escaped so values round-trip.
const COOKIE_VALUE: &AsciiSet = &percent_encoding::CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b',')
    .add(b';')
    .add(b'\\')
    .add(b'%');

fn push_pair(query: &mut String, name: &str, value: &str) {
    if !query.is_empty() {
        query.push('&');
    }
    query.extend(utf8_percent_encode(name, COMPONENT));
    query.push('=');
    query.extend(utf8_percent_encode(value, COMPONENT));
}

/// A primitive as its text; `None` for null, arrays and objects.
fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Null | Value::Array(_) | Value::Object(_) => None,
    }
}

/// A value nested in an array or object: a primitive's text, else its JSON.
fn item_text(v: &Value) -> String {
    scalar(v).unwrap_or_else(|| v.to_string())
}

/// A request under construction. Builder methods record the first error instead of
/// panicking; [`HttpClient::send`] reports it as [`ClientError::InvalidRequest`].
#[derive(Debug)]
pub struct Call {
    op: &'static Operation,
    options: CallOptions,
    path: String,
    query: String,
    headers: HeaderMap,
    cookies: Vec<String>,
    body: Option<(HeaderValue, Bytes)>,
    error: Option<String>,
}

impl Call {
    fn fail(&mut self, msg: String) {
        if self.error.is_none() {
            self.error = Some(msg);
        }
    }

    fn value(&mut self, what: &str, value: &impl Serialize) -> Option<Value> {
        match serde_json::to_value(value) {
            Ok(v) => Some(v),
            Err(e) => {
                self.fail(format!("{what}: {e}"));
                None
            }
        }
    }

    /// The declared style and explode of a parameter, if the operation declares it.
    fn declared(&self, name: &str, location: ParamLocation) -> Option<(ParamStyle, bool)> {
        self.op
            .params
            .iter()
            .find(|p| p.location == location && p.name == name)
            .map(|p| (p.style, p.explode))
    }

    /// The operation this call is for.
    pub fn operation(&self) -> &'static Operation {
        self.op
    }

    /// Fills `{name}` in the path template: strings as they are, numbers and booleans plain,
    /// arrays comma-joined (label and matrix styles when the operation declares them), each
    /// piece percent-encoded.
    pub fn path_param(&mut self, name: &str, value: &impl Serialize) -> &mut Self {
        let Some(v) = self.value(&format!("path parameter `{name}`"), value) else {
            return self;
        };
        if v.is_null() {
            self.fail(format!("path parameter `{name}` must not be null"));
            return self;
        }
        // URL parsers resolve `.`/`..` segments (even percent-encoded), which would change
        // the request target.
        if matches!(v.as_str(), Some("." | "..")) {
            self.fail(format!("path parameter `{name}` must not be `.` or `..`"));
            return self;
        }
        let (style, explode) = self
            .declared(name, ParamLocation::Path)
            .unwrap_or((ParamStyle::Simple, false));
        let enc = |s: &str| utf8_percent_encode(s, COMPONENT).to_string();
        let rendered = match style {
            ParamStyle::Label => {
                let sep = if explode { "." } else { "," };
                format!(".{}", render_list(&v, explode, sep, "=", &enc))
            }
            ParamStyle::Matrix => render_matrix(name, &v, explode, &enc),
            _ => render_list(&v, explode, ",", "=", &enc),
        };
        let placeholder = format!("{{{name}}}");
        if !self.path.contains(&placeholder) {
            self.fail(format!("`{}` has no path parameter `{name}`", self.op.path));
            return self;
        }
        self.path = self.path.replace(&placeholder, &rendered);
        self
    }

    /// Adds a query parameter, skipping `None`/null. Arrays are `name=a&name=b` when
    /// `explode`, else `name=a,b` (space- or pipe-delimited when the operation declares that
    /// style); objects are `key=value` pairs when `explode`, else `name=k,v,k2,v2`.
    pub fn query(&mut self, name: &str, value: &impl Serialize, explode: bool) -> &mut Self {
        let Some(v) = self.value(&format!("query parameter `{name}`"), value) else {
            return self;
        };
        let style = self
            .declared(name, ParamLocation::Query)
            .map_or(ParamStyle::Form, |(s, _)| s);
        if style == ParamStyle::DeepObject {
            return self.deep_object_query(name, value);
        }
        match &v {
            Value::Null => {}
            Value::Array(items) => {
                if explode {
                    for item in items.iter().filter(|i| !i.is_null()) {
                        push_pair(&mut self.query, name, &item_text(item));
                    }
                } else {
                    let sep = match style {
                        ParamStyle::SpaceDelimited => " ",
                        ParamStyle::PipeDelimited => "|",
                        _ => ",",
                    };
                    let joined = items.iter().map(item_text).collect::<Vec<_>>().join(sep);
                    push_pair(&mut self.query, name, &joined);
                }
            }
            Value::Object(map) => {
                if explode {
                    for (k, item) in map.iter().filter(|(_, i)| !i.is_null()) {
                        push_pair(&mut self.query, k, &item_text(item));
                    }
                } else {
                    let joined = map
                        .iter()
                        .flat_map(|(k, item)| [k.clone(), item_text(item)])
                        .collect::<Vec<_>>()
                        .join(",");
                    push_pair(&mut self.query, name, &joined);
                }
            }
            scalar_value => push_pair(&mut self.query, name, &item_text(scalar_value)),
        }
        self
    }

    /// Adds a `style: deepObject` query parameter: `name[key]=value` (nested objects as
    /// `name[a][b]`, arrays as repeated keys). Skips `None`/null.
    pub fn deep_object_query(&mut self, name: &str, value: &impl Serialize) -> &mut Self {
        let Some(v) = self.value(&format!("query parameter `{name}`"), value) else {
            return self;
        };
        match &v {
            Value::Null => {}
            Value::Object(_) => deep_pairs(&mut self.query, name, &v),
            _ => self.fail(format!(
                "deepObject query parameter `{name}` must be an object"
            )),
        }
        self
    }

    /// Sets a header parameter (simple style), skipping `None`/null.
    pub fn header(&mut self, name: &str, value: &impl Serialize) -> &mut Self {
        let Some(v) = self.value(&format!("header `{name}`"), value) else {
            return self;
        };
        if v.is_null() {
            return self;
        }
        let explode = self
            .declared(name, ParamLocation::Header)
            .is_some_and(|(_, e)| e);
        let text = render_list(&v, explode, ",", "=", &|s: &str| s.to_owned());
        match (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&text),
        ) {
            (Ok(n), Ok(val)) => {
                self.headers.insert(n, val);
            }
            (Err(_), _) => self.fail(format!("`{name}` is not a valid header name")),
            (_, Err(_)) => self.fail(format!(
                "header `{name}` has characters not allowed in a header"
            )),
        }
        self
    }

    /// Sets a cookie parameter (form style, comma-joined arrays), skipping `None`/null.
    pub fn cookie(&mut self, name: &str, value: &impl Serialize) -> &mut Self {
        let Some(v) = self.value(&format!("cookie `{name}`"), value) else {
            return self;
        };
        if v.is_null() {
            return self;
        }
        let enc = |s: &str| utf8_percent_encode(s, COOKIE_VALUE).to_string();
        let text = render_list(&v, false, ",", ",", &enc);
        self.cookies.push(format!("{name}={text}"));
        self
    }

    fn set_body(&mut self, content_type: &str, bytes: Bytes) {
        match HeaderValue::from_str(content_type) {
            Ok(ct) => self.body = Some((ct, bytes)),
            Err(_) => self.fail(format!("`{content_type}` is not a valid content type")),
        }
    }

    /// The declared media type of `kind`, unless it is a wildcard.
    fn media_type(&self, kind: BodyKind, fallback: &'static str) -> &'static str {
        self.op
            .body
            .as_ref()
            .and_then(|b| b.media.iter().find(|m| m.kind == kind))
            .map(|m| m.media_type)
            .filter(|t| !t.contains('*'))
            .unwrap_or(fallback)
    }

    /// A JSON body.
    pub fn json<T: Serialize>(&mut self, body: &T) -> &mut Self {
        match serde_json::to_vec(body) {
            Ok(bytes) => {
                let ct = self.media_type(BodyKind::Json, "application/json");
                self.set_body(ct, Bytes::from(bytes));
            }
            Err(e) => self.fail(format!("request body: {e}")),
        }
        self
    }

    /// An `application/x-www-form-urlencoded` body from an object: arrays as repeated keys,
    /// nested objects JSON-encoded, nulls skipped.
    pub fn form<T: Serialize>(&mut self, body: &T) -> &mut Self {
        let Some(Value::Object(map)) = self.value("request body", body) else {
            self.fail("a form body must be an object".into());
            return self;
        };
        let mut out = form_urlencoded::Serializer::new(String::new());
        for (k, v) in &map {
            match v {
                Value::Null => {}
                Value::Array(items) => {
                    for item in items.iter().filter(|i| !i.is_null()) {
                        out.append_pair(k, &item_text(item));
                    }
                }
                other => {
                    out.append_pair(k, &item_text(other));
                }
            }
        }
        let ct = self.media_type(BodyKind::Form, "application/x-www-form-urlencoded");
        self.set_body(ct, Bytes::from(out.finish()));
        self
    }

    /// A `multipart/form-data` body from an object: one part per property (nulls skipped).
    /// Properties named in `file_fields` are bytes (a JSON array of numbers, as serde writes
    /// `Vec<u8>` and `Bytes`, or a string's UTF-8), sent as `application/octet-stream` file
    /// parts; an array of them sends one part each. Strings, numbers and booleans are text
    /// parts; arrays and objects are `application/json` parts.
    pub fn multipart<T: Serialize>(&mut self, body: &T, file_fields: &[&str]) -> &mut Self {
        let Some(Value::Object(map)) = self.value("request body", body) else {
            self.fail("a multipart body must be an object".into());
            return self;
        };
        let boundary = format!("contractor-{:032x}", rand::random::<u128>());
        let mut out = Vec::new();
        for (name, v) in &map {
            if v.is_null() {
                continue;
            }
            if file_fields.contains(&name.as_str()) {
                let files: Vec<&Value> = match v {
                    Value::Array(items)
                        if !items.is_empty() && items.iter().all(|i| !i.is_number()) =>
                    {
                        items.iter().collect()
                    }
                    _ => vec![v],
                };
                for file in files {
                    match file_bytes(file) {
                        Some(bytes) => push_part(
                            &mut out,
                            &boundary,
                            name,
                            Some("application/octet-stream"),
                            true,
                            &bytes,
                        ),
                        None => {
                            self.fail(format!("multipart file field `{name}` is not bytes"));
                            return self;
                        }
                    }
                }
                continue;
            }
            match v {
                Value::Array(_) | Value::Object(_) => push_part(
                    &mut out,
                    &boundary,
                    name,
                    Some("application/json"),
                    false,
                    v.to_string().as_bytes(),
                ),
                other => push_part(
                    &mut out,
                    &boundary,
                    name,
                    None,
                    false,
                    item_text(other).as_bytes(),
                ),
            }
        }
        out.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        self.set_body(
            &format!("multipart/form-data; boundary={boundary}"),
            Bytes::from(out),
        );
        self
    }

    /// A text body.
    pub fn text(&mut self, content_type: &str, body: String) -> &mut Self {
        self.set_body(content_type, Bytes::from(body));
        self
    }

    /// A binary body.
    pub fn bytes(&mut self, content_type: &str, body: Bytes) -> &mut Self {
        self.set_body(content_type, body);
        self
    }
}

/// Renders a value for simple/label styles: a primitive as text, an array joined by `sep`, an
/// object as `k=v` pairs joined by `sep` when exploded, else `k,v,...` joined by `,`.
fn render_list(
    v: &Value,
    explode: bool,
    sep: &str,
    kv: &str,
    enc: &dyn Fn(&str) -> String,
) -> String {
    match v {
        Value::Array(items) => items
            .iter()
            .map(|i| enc(&item_text(i)))
            .collect::<Vec<_>>()
            .join(sep),
        Value::Object(map) => {
            if explode {
                map.iter()
                    .map(|(k, i)| format!("{}{kv}{}", enc(k), enc(&item_text(i))))
                    .collect::<Vec<_>>()
                    .join(sep)
            } else {
                map.iter()
                    .flat_map(|(k, i)| [enc(k), enc(&item_text(i))])
                    .collect::<Vec<_>>()
                    .join(",")
            }
        }
        other => enc(&item_text(other)),
    }
}

fn render_matrix(name: &str, v: &Value, explode: bool, enc: &dyn Fn(&str) -> String) -> String {
    let n = enc(name);
    match v {
        Value::Array(items) if explode => items
            .iter()
            .map(|i| format!(";{n}={}", enc(&item_text(i))))
            .collect(),
        Value::Object(map) if explode => map
            .iter()
            .map(|(k, i)| format!(";{}={}", enc(k), enc(&item_text(i))))
            .collect(),
        other => format!(";{n}={}", render_list(other, false, ",", "=", enc)),
    }
}

fn deep_pairs(query: &mut String, prefix: &str, v: &Value) {
    match v {
        Value::Null => {}
        Value::Object(map) => {
            for (k, item) in map {
                deep_pairs(query, &format!("{prefix}[{k}]"), item);
            }
        }
        Value::Array(items) => {
            for item in items {
                deep_pairs(query, prefix, item);
            }
        }
        other => push_pair(query, prefix, &item_text(other)),
    }
}

fn file_bytes(v: &Value) -> Option<Vec<u8>> {
    match v {
        Value::String(s) => Some(s.as_bytes().to_vec()),
        Value::Array(items) => items
            .iter()
            .map(|i| i.as_u64().and_then(|n| u8::try_from(n).ok()))
            .collect(),
        _ => None,
    }
}

/// Quotes a name for `Content-Disposition` the way browsers do.
fn disposition_name(name: &str) -> String {
    name.replace('"', "%22")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn push_part(
    out: &mut Vec<u8>,
    boundary: &str,
    name: &str,
    content_type: Option<&str>,
    file: bool,
    data: &[u8],
) {
    let name = disposition_name(name);
    out.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
    if file {
        out.extend_from_slice(
            format!("Content-Disposition: form-data; name=\"{name}\"; filename=\"{name}\"\r\n")
                .as_bytes(),
        );
    } else {
        out.extend_from_slice(
            format!("Content-Disposition: form-data; name=\"{name}\"\r\n").as_bytes(),
        );
    }
    if let Some(ct) = content_type {
        out.extend_from_slice(format!("Content-Type: {ct}\r\n").as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{Body, Media, Param};
    use http::Method;
    use serde_json::json;

    static OP: Operation = Operation {
        id: "op",
        method: Method::GET,
        path: "/a/{id}/b/{tags}",
        params: &[
            Param {
                name: "tags",
                field: "tags",
                location: ParamLocation::Path,
                required: true,
                schema: "x",
                style: ParamStyle::Simple,
                explode: false,
            },
            Param {
                name: "pipes",
                field: "pipes",
                location: ParamLocation::Query,
                required: false,
                schema: "x",
                style: ParamStyle::PipeDelimited,
                explode: false,
            },
        ],
        body: Some(Body {
            required: true,
            media: &[Media {
                media_type: "application/merge-patch+json",
                kind: BodyKind::Json,
                schema: None,
            }],
        }),
        idempotency: KeyPolicy::None,
        security: &[],
        timeout_ms: None,
    };

    fn call() -> Call {
        let client = HttpClient::new(ClientConfig::new("http://localhost:1/base/")).unwrap();
        client.call(&OP, &CallOptions::new())
    }

    #[test]
    fn path_params_are_encoded() {
        let mut c = call();
        c.path_param("id", &"a b/c{tags}")
            .path_param("tags", &vec!["x,y", "z"]);
        assert_eq!(c.path, "/a/a%20b%2Fc%7Btags%7D/b/x%2Cy,z");
        assert!(c.error.is_none());
        let mut c = call();
        c.path_param("nope", &1);
        assert!(c.error.as_deref().unwrap().contains("no path parameter"));
        let mut c = call();
        c.path_param("id", &Option::<u8>::None);
        assert!(c.error.is_some());
        let mut c = call();
        c.path_param("id", &"..");
        assert!(c.error.as_deref().unwrap().contains("`..`"));
        assert_eq!(unfilled_placeholder("/a/{id}/b"), Some("id"));
    }

    #[test]
    fn query_styles() {
        let mut c = call();
        c.query("n", &Some(5), true)
            .query("skip", &Option::<i32>::None, true)
            .query("ids", &[1, 2], true)
            .query("csv", &["a b", "c"], false)
            .query("pipes", &["p", "q"], false)
            .query("filter", &json!({"color": "red", "size": 2}), true)
            .query("flat", &json!({"k": "v"}), false)
            .deep_object_query("deep", &json!({"a": 1, "b": {"c": true}}));
        assert_eq!(
            c.query,
            "n=5&ids=1&ids=2&csv=a%20b%2Cc&pipes=p%7Cq&color=red&size=2&flat=k%2Cv\
             &deep%5Ba%5D=1&deep%5Bb%5D%5Bc%5D=true"
        );
    }

    #[test]
    fn headers_and_cookies() {
        let mut c = call();
        c.header("X-Tags", &["a", "b"])
            .header("x-none", &Option::<String>::None)
            .cookie("session", &"a b;c");
        assert_eq!(c.headers["x-tags"], "a,b");
        assert!(!c.headers.contains_key("x-none"));
        assert_eq!(c.cookies, vec!["session=a%20b%3Bc"]);
        let mut c = call();
        c.header("x-bad", &"line\nbreak");
        assert!(c.error.is_some());
    }

    #[test]
    fn bodies() {
        let mut c = call();
        c.json(&json!({"a": 1}));
        let (ct, b) = c.body.clone().unwrap();
        assert_eq!(ct, "application/merge-patch+json");
        assert_eq!(&b[..], br#"{"a":1}"#);

        c.form(&json!({"a": "x y", "list": [1, 2], "obj": {"k": 1}, "none": null}));
        let (ct, b) = c.body.clone().unwrap();
        assert_eq!(ct, "application/x-www-form-urlencoded");
        assert_eq!(
            std::str::from_utf8(&b).unwrap(),
            "a=x+y&list=1&list=2&obj=%7B%22k%22%3A1%7D"
        );

        c.multipart(
            &json!({"name": "n", "file": [104, 105], "meta": {"k": 1}}),
            &["file"],
        );
        let (ct, b) = c.body.clone().unwrap();
        let ct = ct.to_str().unwrap();
        let boundary = ct.strip_prefix("multipart/form-data; boundary=").unwrap();
        let text = String::from_utf8(b.to_vec()).unwrap();
        assert!(text.contains(
            "name=\"file\"; filename=\"file\"\r\nContent-Type: application/octet-stream\r\n\r\nhi\r\n"
        ));
        assert!(text.contains("name=\"name\"\r\n\r\nn\r\n"));
        assert!(text.contains("Content-Type: application/json\r\n\r\n{\"k\":1}\r\n"));
        assert!(text.ends_with(&format!("--{boundary}--\r\n")));

        let mut c = call();
        c.multipart(&json!({"file": {"no": 1}}), &["file"]);
        assert!(c.error.is_some());
        let mut c = call();
        c.form(&5);
        assert!(c.error.is_some());
    }

    #[test]
    fn credentials_are_redacted() {
        let c = Credentials::new()
            .bearer("tok-secret")
            .basic("user", Some("pw-secret".into()))
            .api_key("key", "k-secret");
        let dbg = format!("{c:?}");
        assert!(!dbg.contains("secret"), "{dbg}");
        assert!(dbg.contains("user"));
    }

    #[test]
    fn raw_response_helpers() {
        let mut headers = HeaderMap::new();
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("Application/Problem+JSON; charset=utf-8"),
        );
        normalize_content_type(&mut headers);
        let r = RawResponse {
            status: StatusCode::CONFLICT,
            headers,
            body: Bytes::from_static(br#"{"status":409,"title":"Conflict"}"#),
        };
        assert_eq!(r.content_type(), Some("application/problem+json"));
        assert_eq!(r.problem().unwrap().status, Some(409));
        let e: ClientError<Infallible> = r.clone().unexpected();
        assert!(e.problem().is_some());
        assert!(!e.is_retryable());
        assert_eq!(
            e.to_string(),
            "unexpected status 409 Conflict: 409 Conflict"
        );
        let empty = RawResponse {
            body: Bytes::new(),
            ..r
        };
        let unit: Option<u8> = empty.json::<_, Infallible>().unwrap();
        assert_eq!(unit, None);
        assert!(matches!(
            empty.json::<u8, Infallible>(),
            Err(ClientError::Decode { .. })
        ));
    }

    #[test]
    fn bad_base_urls() {
        for url in ["not a url", "ftp://x", "http://x/?q=1"] {
            assert!(HttpClient::new(ClientConfig::new(url)).is_err(), "{url}");
        }
    }
}
