//! Correlation ids: one id per request chain, carried in `x-correlation-id`.
//!
//! The server reads the id at the edge (or makes one), runs the handler inside [`scope`], and
//! the client reads [`current`] for every outbound call, so a call made from a handler carries
//! the same id without any plumbing. A task-local does not follow `tokio::spawn`: wrap a
//! spawned future in [`scope`] to keep the id.

use http::{HeaderMap, HeaderName};

/// The header that carries the correlation id.
pub const CORRELATION_HEADER: &str = "x-correlation-id";

/// Accepted on incoming requests when [`CORRELATION_HEADER`] is absent (proxies set it).
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// [`CORRELATION_HEADER`] as a parsed name (lookups by `&str` parse the name every time).
pub(crate) const CORRELATION_NAME: HeaderName = HeaderName::from_static(CORRELATION_HEADER);
const REQUEST_ID_NAME: HeaderName = HeaderName::from_static(REQUEST_ID_HEADER);

/// The longest id accepted from a peer.
pub const MAX_LEN: usize = 128;

#[derive(Clone)]
struct Current {
    id: String,
    /// The request URI (a cheap clone), for the `instance` of problems built inside a server
    /// request.
    uri: Option<http::Uri>,
}

tokio::task_local! {
    static CURRENT: Current;
}

/// The correlation id of the current task, if it runs inside [`scope`].
pub fn current() -> Option<String> {
    CURRENT.try_with(|c| c.id.clone()).ok()
}

/// Runs `fut` with `id` as the current correlation id: `scope(id, fut).await`.
// Not an `async fn`: that would store `fut` twice in the returned future.
pub fn scope<F: Future>(id: String, fut: F) -> impl Future<Output = F::Output> {
    CURRENT.scope(Current { id, uri: None }, fut)
}

/// Like [`scope`], also recording the request URI for problem `instance`s.
pub(crate) fn scope_request<F: Future>(
    id: String,
    uri: http::Uri,
    fut: F,
) -> impl Future<Output = F::Output> {
    CURRENT.scope(Current { id, uri: Some(uri) }, fut)
}

/// The request path recorded by the server for the current task.
pub(crate) fn current_instance() -> Option<String> {
    CURRENT
        .try_with(|c| c.uri.as_ref().map(|u| u.path().to_owned()))
        .ok()
        .flatten()
}

/// A new id (a UUID v4).
pub fn new_id() -> String {
    crate::encoding::fast_uuid_v4()
}

/// `true` for an id worth propagating: 1 to [`MAX_LEN`] printable ASCII characters.
///
/// Anything else (control characters, spaces, non-ASCII, huge values) could corrupt logs or
/// headers downstream, so it is replaced rather than echoed.
pub fn is_valid(id: &str) -> bool {
    !id.is_empty() && id.len() <= MAX_LEN && id.bytes().all(|b| b.is_ascii_graphic())
}

/// The id of an incoming request: `x-correlation-id`, else `x-request-id`, if valid; otherwise
/// a new one.
pub fn from_headers(headers: &HeaderMap) -> String {
    [CORRELATION_NAME, REQUEST_ID_NAME]
        .iter()
        .find_map(|name| {
            let value = headers.get(name)?.to_str().ok()?;
            is_valid(value).then(|| value.to_owned())
        })
        .unwrap_or_else(new_id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn validation() {
        assert!(is_valid("abc-123_:/"));
        assert!(!is_valid(""));
        assert!(!is_valid("a b"));
        assert!(!is_valid("é"));
        assert!(!is_valid(&"a".repeat(129)));
        assert!(is_valid(&"a".repeat(128)));
    }

    #[test]
    fn header_precedence() {
        let mut h = HeaderMap::new();
        h.insert(REQUEST_ID_HEADER, HeaderValue::from_static("req"));
        assert_eq!(from_headers(&h), "req");
        h.insert(CORRELATION_HEADER, HeaderValue::from_static("corr"));
        assert_eq!(from_headers(&h), "corr");
        h.insert(CORRELATION_HEADER, HeaderValue::from_static("bad value"));
        assert_eq!(from_headers(&h), "req");
        let fresh = from_headers(&HeaderMap::new());
        assert_eq!(fresh.len(), 36);
    }

    #[tokio::test]
    async fn scope_sets_current() {
        assert_eq!(current(), None);
        let seen = scope("id-1".into(), async { current() }).await;
        assert_eq!(seen.as_deref(), Some("id-1"));
        let uri = http::Uri::from_static("/p?q=1");
        let inst = scope_request("id-2".into(), uri, async { current_instance() }).await;
        assert_eq!(inst.as_deref(), Some("/p"));
    }
}
