//! When and how long to wait before repeating a request.
//!
//! A request is repeated only if it is retry-safe (an idempotent method, or an idempotency key
//! the server deduplicates on) and it failed in a way a later attempt may fix: a status that
//! [`crate::error_class`] calls retryable, or a connection that failed before any response.

use std::time::{Duration, SystemTime};

use http::{HeaderMap, Method};

/// How a client retries one call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in total, counting the first; `1` disables retries.
    pub max_attempts: u32,
    /// The ceiling of the first backoff; it doubles every attempt.
    pub initial_backoff: Duration,
    /// The largest backoff ceiling.
    pub max_backoff: Duration,
    /// Wait what a `Retry-After` response header says instead of the backoff.
    pub honour_retry_after: bool,
    /// The longest `Retry-After` wait accepted; longer values are capped to this.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
            honour_retry_after: true,
            max_retry_after: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// No retries: one attempt.
    pub fn none() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// Sets `max_attempts`.
    pub fn with_max_attempts(mut self, n: u32) -> Self {
        self.max_attempts = n;
        self
    }

    /// Sets `initial_backoff` and `max_backoff`.
    pub fn with_backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.initial_backoff = initial;
        self.max_backoff = max;
        self
    }

    /// The backoff before retry number `retry` (0 for the first retry): uniformly random in
    /// `[0, min(max_backoff, initial_backoff * 2^retry)]` ("full jitter", which spreads a
    /// crowd of clients that failed together).
    pub fn backoff(&self, retry: u32) -> Duration {
        let factor = 1u32.checked_shl(retry.min(31)).unwrap_or(u32::MAX);
        let ceiling = self
            .initial_backoff
            .saturating_mul(factor)
            .min(self.max_backoff);
        let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
        if nanos == 0 {
            return Duration::ZERO;
        }
        Duration::from_nanos(rand::random_range(0..=nanos))
    }

    /// The wait before the next attempt after a response with `headers`: the capped
    /// `Retry-After` when honoured and present, else [`RetryPolicy::backoff`].
    pub fn delay(&self, retry: u32, headers: Option<&HeaderMap>) -> Duration {
        if self.honour_retry_after
            && let Some(wait) = headers.and_then(|h| retry_after(h, SystemTime::now()))
        {
            return wait.min(self.max_retry_after);
        }
        self.backoff(retry)
    }
}

/// `true` for the methods RFC 9110 defines as idempotent.
pub fn is_idempotent_method(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE | Method::PUT | Method::DELETE
    )
}

/// `true` when repeating the request cannot apply its effect twice.
pub fn is_retry_safe(method: &Method, has_idempotency_key: bool) -> bool {
    has_idempotency_key || is_idempotent_method(method)
}

/// The wait a `Retry-After` header asks for: delta-seconds or an HTTP-date (a date in the past
/// means now).
pub fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers
        .get(http::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn backoff_stays_under_the_ceiling() {
        let p = RetryPolicy::default();
        for retry in 0..40 {
            let ceiling = Duration::from_millis(100)
                .saturating_mul(1u32.checked_shl(retry.min(31)).unwrap_or(u32::MAX))
                .min(Duration::from_secs(5));
            for _ in 0..20 {
                assert!(p.backoff(retry) <= ceiling);
            }
        }
        let zero = RetryPolicy::default().with_backoff(Duration::ZERO, Duration::ZERO);
        assert_eq!(zero.backoff(3), Duration::ZERO);
    }

    #[test]
    fn backoff_is_jittered() {
        let p = RetryPolicy::default();
        let samples: std::collections::HashSet<_> = (0..20).map(|_| p.backoff(4)).collect();
        assert!(samples.len() > 1);
    }

    #[test]
    fn retry_after_forms() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let mut h = HeaderMap::new();
        h.insert("retry-after", HeaderValue::from_static("7"));
        assert_eq!(retry_after(&h, now), Some(Duration::from_secs(7)));
        let later = httpdate::fmt_http_date(now + Duration::from_secs(20));
        h.insert("retry-after", HeaderValue::from_str(&later).unwrap());
        assert_eq!(retry_after(&h, now), Some(Duration::from_secs(20)));
        let past = httpdate::fmt_http_date(now - Duration::from_secs(20));
        h.insert("retry-after", HeaderValue::from_str(&past).unwrap());
        assert_eq!(retry_after(&h, now), Some(Duration::ZERO));
        h.insert("retry-after", HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&h, now), None);
    }

    #[test]
    fn delay_caps_retry_after() {
        let p = RetryPolicy {
            max_retry_after: Duration::from_secs(2),
            ..RetryPolicy::default()
        };
        let mut h = HeaderMap::new();
        h.insert("retry-after", HeaderValue::from_static("3600"));
        assert_eq!(p.delay(0, Some(&h)), Duration::from_secs(2));
        let ignore = RetryPolicy {
            honour_retry_after: false,
            ..p
        };
        assert!(ignore.delay(0, Some(&h)) <= Duration::from_millis(100));
    }

    #[test]
    fn retry_safety() {
        assert!(is_retry_safe(&Method::GET, false));
        assert!(is_retry_safe(&Method::PUT, false));
        assert!(is_retry_safe(&Method::DELETE, false));
        assert!(!is_retry_safe(&Method::POST, false));
        assert!(!is_retry_safe(&Method::PATCH, false));
        assert!(is_retry_safe(&Method::POST, true));
        assert_eq!(RetryPolicy::none().max_attempts, 1);
    }
}
