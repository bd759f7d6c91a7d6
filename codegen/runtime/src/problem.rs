//! RFC 9457 problem details, and the single table that says which statuses are worth retrying.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The media type of a problem document.
pub const PROBLEM_JSON: &str = "application/problem+json";

const ABOUT_BLANK: &str = "about:blank";

fn about_blank() -> String {
    ABOUT_BLANK.to_owned()
}

/// An RFC 9457 problem document.
///
/// Unknown members survive a round trip in [`Problem::extensions`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Problem {
    /// A URI reference identifying the problem type; `about:blank` when absent.
    #[serde(rename = "type", default = "about_blank")]
    pub type_: String,
    /// A short summary of the problem type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The HTTP status code of this occurrence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// An explanation specific to this occurrence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// A URI reference identifying this occurrence (the server sets the request path).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// Extension members, such as `errors` and `correlation_id`.
    #[serde(flatten)]
    pub extensions: Map<String, Value>,
}

impl Problem {
    /// A problem for `status`, titled with the status's canonical reason phrase.
    pub fn new(status: u16) -> Self {
        let title = http::StatusCode::from_u16(status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .map(str::to_owned);
        Self {
            type_: about_blank(),
            title,
            status: Some(status),
            detail: None,
            instance: None,
            extensions: Map::new(),
        }
    }

    /// A validation problem listing every field error under the `errors` extension
    /// (the shape used by RFC 9457's own example).
    pub fn validation(status: u16, errors: Vec<FieldError>) -> Self {
        let detail = match errors.len() {
            1 => "The request is invalid: 1 error".to_owned(),
            n => format!("The request is invalid: {n} errors"),
        };
        let errors = serde_json::to_value(errors).unwrap_or(Value::Array(Vec::new()));
        Self::new(status)
            .with_detail(detail)
            .with_extension("errors", errors)
    }

    /// Sets `detail`.
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    /// Sets `type`.
    pub fn with_type(mut self, type_: impl Into<String>) -> Self {
        self.type_ = type_.into();
        self
    }

    /// Sets `title`.
    pub fn with_title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }

    /// Sets `instance`.
    pub fn with_instance(mut self, instance: impl Into<String>) -> Self {
        self.instance = Some(instance.into());
        self
    }

    /// Adds (or replaces) an extension member.
    pub fn with_extension(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.extensions.insert(key.into(), value.into());
        self
    }

    /// The status as an `http::StatusCode`; 500 when absent or out of range.
    pub fn status_code(&self) -> http::StatusCode {
        self.status
            .and_then(|s| http::StatusCode::from_u16(s).ok())
            .unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// The `correlation_id` extension, when present.
    pub fn correlation_id(&self) -> Option<&str> {
        self.extensions
            .get("correlation_id")
            .and_then(Value::as_str)
    }

    /// The `errors` extension parsed back into field errors (empty when absent or malformed).
    pub fn field_errors(&self) -> Vec<FieldError> {
        self.extensions
            .get("errors")
            .and_then(|v| serde_json::from_value(v.clone()).ok())
            .unwrap_or_default()
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.status {
            Some(status) => write!(f, "{status}")?,
            None => f.write_str("problem")?,
        }
        if let Some(title) = &self.title {
            write!(f, " {title}")?;
        }
        if let Some(detail) = &self.detail {
            write!(f, ": {detail}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Problem {}

/// One invalid input: a body location (`pointer`) or a parameter (`parameter` + `in`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    /// What is wrong.
    pub detail: String,
    /// A JSON pointer in URI-fragment form into the body (`#/items/0/qty`), or into a
    /// structured parameter's value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pointer: Option<String>,
    /// The parameter's wire name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameter: Option<String>,
    /// Where the parameter is: `path`, `query`, `header` or `cookie`.
    #[serde(rename = "in", default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
}

impl FieldError {
    /// An error at a body location.
    pub fn body(pointer: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            detail: detail.into(),
            pointer: Some(pointer.into()),
            parameter: None,
            location: None,
        }
    }

    /// An error in a parameter.
    pub fn parameter(
        name: impl Into<String>,
        location: impl Into<String>,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            detail: detail.into(),
            pointer: None,
            parameter: Some(name.into()),
            location: Some(location.into()),
        }
    }
}

/// Whether a failed status is worth retrying (for a retry-safe request).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorClass {
    /// A later attempt may succeed; `Retry-After` is honoured when present.
    Retryable,
    /// Repeating the same request will fail the same way.
    NotRetryable,
}

impl ErrorClass {
    /// `true` for [`ErrorClass::Retryable`].
    pub fn is_retryable(self) -> bool {
        self == ErrorClass::Retryable
    }
}

/// The one retry table, shared by the client's retry loop and [`crate::client::ClientError`].
///
/// Retryable: 408 (the server gave up waiting for the request, so it did not act on it),
/// 429 (rate limited), 502, 503 and 504 (a gateway or an overloaded server; the next attempt
/// may reach a healthy instance). Everything else, including 500 (usually a bug that repeats)
/// and 409 (an idempotent request still in flight: the caller decides), is not.
pub fn error_class(status: u16) -> ErrorClass {
    match status {
        408 | 429 | 502 | 503 | 504 => ErrorClass::Retryable,
        _ => ErrorClass::NotRetryable,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_takes_the_reason_phrase() {
        let p = Problem::new(404);
        assert_eq!(p.title.as_deref(), Some("Not Found"));
        assert_eq!(p.type_, "about:blank");
        assert_eq!(Problem::new(999).title, None);
        assert_eq!(Problem::new(1000).status_code(), 500);
    }

    #[test]
    fn serializes_per_rfc_9457() {
        let p = Problem::new(409)
            .with_detail("busy")
            .with_instance("/orders")
            .with_extension("correlation_id", "abc");
        let v = serde_json::to_value(&p).unwrap();
        assert_eq!(
            v,
            serde_json::json!({
                "type": "about:blank", "title": "Conflict", "status": 409,
                "detail": "busy", "instance": "/orders", "correlation_id": "abc"
            })
        );
        let back: Problem = serde_json::from_value(v).unwrap();
        assert_eq!(back, p);
        assert_eq!(back.correlation_id(), Some("abc"));
    }

    #[test]
    fn missing_type_defaults_to_about_blank() {
        let p: Problem = serde_json::from_str(r#"{"status": 400}"#).unwrap();
        assert_eq!(p.type_, "about:blank");
        assert_eq!(p.to_string(), "400");
    }

    #[test]
    fn validation_lists_errors() {
        let p = Problem::validation(
            422,
            vec![
                FieldError::body("#/items/0/qty", "must be >= 1"),
                FieldError::parameter("limit", "query", "must be an integer"),
            ],
        );
        let v = serde_json::to_value(&p).unwrap();
        assert_eq!(
            v["errors"],
            serde_json::json!([
                {"detail": "must be >= 1", "pointer": "#/items/0/qty"},
                {"detail": "must be an integer", "parameter": "limit", "in": "query"}
            ])
        );
        assert_eq!(p.field_errors().len(), 2);
        assert_eq!(
            p.to_string(),
            "422 Unprocessable Entity: The request is invalid: 2 errors"
        );
    }

    #[test]
    fn retry_table() {
        for s in [408, 429, 502, 503, 504] {
            assert!(error_class(s).is_retryable(), "{s}");
        }
        for s in [400, 401, 404, 409, 422, 500, 501, 505] {
            assert!(!error_class(s).is_retryable(), "{s}");
        }
    }
}
