//! `google.rpc.Status` ↔ [`Problem`], and the one HTTP status ↔ gRPC code table.
//!
//! A problem becomes a status whose code comes from [`code_from_http_status`], whose message is
//! the problem's `detail` (else its `title`), and whose details are, in this order:
//!
//! - `google.rpc.ErrorInfo`: `reason` is the problem's `reason` extension if it has one, else
//!   derived from its `type` (last path segment) or `title`, in `UPPER_SNAKE_CASE`; `domain` is
//!   the `domain` extension or [`ERROR_DOMAIN`]; `metadata` holds the problem's members that
//!   the code does not already say (`type` unless `about:blank`; `status` when it is not the
//!   code's default, e.g. 422; `title` when it is not the status's reason phrase; `instance`),
//!   every string extension member as is, other extension members as JSON text under
//!   `json:{name}`, and `correlation_id` (from the problem, else the current task's).
//! - `google.rpc.BadRequest` with one field violation per [`FieldError`] of the `errors`
//!   extension: `field` is the JSON pointer (or the parameter name, with `reason`
//!   `IN_{LOCATION}`), `description` the error's detail.
//! - `google.rpc.RetryInfo` when the problem has a numeric `retry_after` extension (seconds).
//! - any details the problem carried over from another status (`grpc_details`), as they were.
//!
//! [`problem_from_status`] reads all of that back, so a problem survives Problem → Status →
//! Problem, and a status with those details survives Status → Problem → Status. Codes the HTTP
//! table folds together (`ALREADY_EXISTS` and `ABORTED` are both 409) keep their identity in a
//! `grpc_code` extension.

use std::collections::HashMap;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue};
use prost::Message as _;
use serde_json::{Map, Value};
use tonic::metadata::MetadataMap;
use tonic::{Code, Status};
use tonic_types::pb;

use crate::correlation;
use crate::problem::{FieldError, Problem};

/// The `ErrorInfo.domain` of errors produced from problems that do not name another one.
pub const ERROR_DOMAIN: &str = "contractor";

const ERROR_INFO_URL: &str = "type.googleapis.com/google.rpc.ErrorInfo";
const BAD_REQUEST_URL: &str = "type.googleapis.com/google.rpc.BadRequest";
const RETRY_INFO_URL: &str = "type.googleapis.com/google.rpc.RetryInfo";

/// ErrorInfo metadata keys that carry problem members rather than extensions.
const META_TYPE: &str = "type";
const META_TITLE: &str = "title";
const META_STATUS: &str = "status";
const META_INSTANCE: &str = "instance";
/// The prefix of metadata keys whose value is JSON text.
const JSON_PREFIX: &str = "json:";

/// Extension members with a meaning in the status rather than in ErrorInfo metadata.
const EXT_REASON: &str = "reason";
const EXT_DOMAIN: &str = "domain";
const EXT_ERRORS: &str = "errors";
const EXT_RETRY_AFTER: &str = "retry_after";
const EXT_DETAILS: &str = "grpc_details";
const EXT_CODE: &str = "grpc_code";
const EXT_CORRELATION: &str = "correlation_id";

/// The gRPC code for an HTTP status (one table with [`http_status_from_code`]).
///
/// 400 and 422 are `INVALID_ARGUMENT`, 401 `UNAUTHENTICATED`, 403 `PERMISSION_DENIED`, 404 and
/// 410 `NOT_FOUND`, 405, 501 and 505 `UNIMPLEMENTED`, 408 and 504 `DEADLINE_EXCEEDED`, 409
/// `ABORTED`, 412 and 428 `FAILED_PRECONDITION`, 413, 429 and 507 `RESOURCE_EXHAUSTED`, 416
/// `OUT_OF_RANGE`, 499 `CANCELLED`, 500 `INTERNAL`, 502 and 503 `UNAVAILABLE`; other 4xx are
/// `FAILED_PRECONDITION`, 2xx `OK`, anything else `UNKNOWN`.
pub fn code_from_http_status(status: u16) -> Code {
    match status {
        200..=299 => Code::Ok,
        400 | 406 | 411 | 414 | 415 | 422 | 431 => Code::InvalidArgument,
        401 => Code::Unauthenticated,
        403 => Code::PermissionDenied,
        404 | 410 => Code::NotFound,
        405 | 501 | 505 => Code::Unimplemented,
        408 | 504 => Code::DeadlineExceeded,
        409 => Code::Aborted,
        412 | 428 => Code::FailedPrecondition,
        413 | 429 | 507 => Code::ResourceExhausted,
        416 => Code::OutOfRange,
        499 => Code::Cancelled,
        500 => Code::Internal,
        502 | 503 => Code::Unavailable,
        400..=499 => Code::FailedPrecondition,
        _ => Code::Unknown,
    }
}

/// The HTTP status for a gRPC code (the reverse of [`code_from_http_status`]).
///
/// `FAILED_PRECONDITION` is 412 (Precondition Failed) rather than google.rpc's 400, so that it
/// stays apart from `INVALID_ARGUMENT` and from 409 `ABORTED` (a conflict the client may retry
/// at a higher level). `ALREADY_EXISTS` is 409, `OUT_OF_RANGE` 400, `UNKNOWN` and `DATA_LOSS`
/// 500, as in google.rpc; those four do not map back to themselves.
pub fn http_status_from_code(code: Code) -> u16 {
    match code {
        Code::Ok => 200,
        Code::Cancelled => 499,
        Code::Unknown | Code::Internal | Code::DataLoss => 500,
        Code::InvalidArgument | Code::OutOfRange => 400,
        Code::DeadlineExceeded => 504,
        Code::NotFound => 404,
        Code::AlreadyExists | Code::Aborted => 409,
        Code::PermissionDenied => 403,
        Code::ResourceExhausted => 429,
        Code::FailedPrecondition => 412,
        Code::Unimplemented => 501,
        Code::Unavailable => 503,
        Code::Unauthenticated => 401,
    }
}

/// The canonical `UPPER_SNAKE_CASE` name of `code`.
pub(crate) fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

fn code_from_name(name: &str) -> Option<Code> {
    (0..=16).map(Code::from_i32).find(|c| code_name(*c) == name)
}

impl From<Problem> for Status {
    /// The problem as a `google.rpc.Status` (see the module documentation for the mapping).
    fn from(problem: Problem) -> Self {
        status_from_problem(&problem)
    }
}

impl From<&Problem> for Status {
    fn from(problem: &Problem) -> Self {
        status_from_problem(problem)
    }
}

impl From<&Status> for Problem {
    /// The status as a problem; see [`problem_from_status`].
    fn from(status: &Status) -> Self {
        problem_from_status(status)
    }
}

impl From<Status> for Problem {
    fn from(status: Status) -> Self {
        problem_from_status(&status)
    }
}

fn status_from_problem(problem: &Problem) -> Status {
    let http = problem.status_code().as_u16();
    let code = problem
        .extensions
        .get(EXT_CODE)
        .and_then(Value::as_str)
        .and_then(code_from_name)
        .unwrap_or_else(|| code_from_http_status(http));
    let message = problem
        .detail
        .as_deref()
        .or(problem.title.as_deref())
        .unwrap_or_default()
        .to_owned();
    let details = encode_details(problem, code, &message);
    Status::with_details(code, message, details)
}

/// The encoded `google.rpc.Status` for `problem`, with `code` and `message`.
fn encode_details(problem: &Problem, code: Code, message: &str) -> Bytes {
    let http = problem.status_code().as_u16();
    let mut metadata = HashMap::new();
    if problem.type_ != "about:blank" {
        metadata.insert(META_TYPE.to_owned(), problem.type_.clone());
    }
    if problem.status.is_some() && http_status_from_code(code) != http {
        metadata.insert(META_STATUS.to_owned(), http.to_string());
    }
    let canonical = canonical_title(http);
    match (&problem.title, canonical) {
        (Some(t), Some(c)) if t == c => {}
        (Some(t), _) => {
            metadata.insert(META_TITLE.to_owned(), t.clone());
        }
        (None, Some(_)) => {
            metadata.insert(META_TITLE.to_owned(), String::new());
        }
        (None, None) => {}
    }
    if let Some(instance) = &problem.instance {
        metadata.insert(META_INSTANCE.to_owned(), instance.clone());
    }

    let mut reason = None;
    let mut domain = None;
    let mut bad_request = None;
    let mut retry_info = None;
    let mut passed = Vec::new();
    for (name, value) in &problem.extensions {
        match (name.as_str(), value) {
            (EXT_REASON, Value::String(s)) => reason = Some(s.clone()),
            (EXT_DOMAIN, Value::String(s)) => domain = Some(s.clone()),
            (EXT_CODE, Value::String(s)) if code_from_name(s).is_some() => {}
            (EXT_ERRORS, v) if bad_request_from(v).is_some() => bad_request = bad_request_from(v),
            (EXT_RETRY_AFTER, v) if retry_delay_from(v).is_some() => {
                retry_info = retry_delay_from(v).map(|d| pb::RetryInfo {
                    retry_delay: Some(d),
                });
            }
            (EXT_DETAILS, v) if opaque_details_from(v).is_some() => {
                passed = opaque_details_from(v).unwrap_or_default();
            }
            (name, Value::String(s)) if !is_reserved_key(name) => {
                metadata.insert(name.to_owned(), s.clone());
            }
            (name, v) => {
                metadata.insert(format!("{JSON_PREFIX}{name}"), v.to_string());
            }
        }
    }
    if problem.correlation_id().is_none()
        && let Some(id) = correlation::current()
    {
        metadata.insert(EXT_CORRELATION.to_owned(), id);
    }

    let info = pb::ErrorInfo {
        reason: reason.unwrap_or_else(|| derived_reason(problem, code)),
        domain: domain.unwrap_or_else(|| ERROR_DOMAIN.to_owned()),
        metadata,
    };
    let mut details = vec![any(ERROR_INFO_URL, &info)];
    if let Some(br) = bad_request {
        details.push(any(BAD_REQUEST_URL, &br));
    }
    if let Some(ri) = retry_info {
        details.push(any(RETRY_INFO_URL, &ri));
    }
    details.extend(passed);
    pb::Status {
        code: code as i32,
        message: message.to_owned(),
        details,
    }
    .encode_to_vec()
    .into()
}

/// Metadata keys a string extension cannot use as is (it goes under `json:` instead).
fn is_reserved_key(name: &str) -> bool {
    matches!(name, META_TYPE | META_TITLE | META_STATUS | META_INSTANCE)
        || name.starts_with(JSON_PREFIX)
}

fn any(type_url: &str, msg: &impl prost::Message) -> prost_types::Any {
    prost_types::Any {
        type_url: type_url.to_owned(),
        value: msg.encode_to_vec(),
    }
}

fn canonical_title(status: u16) -> Option<&'static str> {
    http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
}

/// `UPPER_SNAKE_CASE` of the type's last path segment (unless `about:blank`), else of the
/// title, else the code's name.
fn derived_reason(problem: &Problem, code: Code) -> String {
    let from_type = (problem.type_ != "about:blank")
        .then(|| {
            problem
                .type_
                .trim_end_matches('/')
                .rsplit(['/', '#', ':'])
                .next()
        })
        .flatten()
        .map(upper_snake)
        .filter(|s| !s.is_empty());
    from_type
        .or_else(|| problem.title.as_deref().map(upper_snake))
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| code_name(code).to_owned())
}

fn upper_snake(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_uppercase());
        } else if !out.is_empty() && !out.ends_with('_') {
            out.push('_');
        }
    }
    while out.ends_with('_') {
        out.pop();
    }
    out
}

/// The `errors` extension as BadRequest, when it maps back exactly.
fn bad_request_from(value: &Value) -> Option<pb::BadRequest> {
    let errors: Vec<FieldError> = serde_json::from_value(value.clone()).ok()?;
    if errors.is_empty() {
        return None;
    }
    let violations: Vec<_> = errors
        .iter()
        .map(|e| match (&e.pointer, &e.parameter, &e.location) {
            (None, Some(name), Some(location)) => pb::bad_request::FieldViolation {
                field: name.clone(),
                description: e.detail.clone(),
                reason: format!("IN_{}", location.to_ascii_uppercase()),
                localized_message: None,
            },
            (pointer, _, _) => pb::bad_request::FieldViolation {
                field: pointer.clone().unwrap_or_default(),
                description: e.detail.clone(),
                reason: String::new(),
                localized_message: None,
            },
        })
        .collect();
    let back = field_errors_from(&violations);
    // Lossless or not at all (the extension then travels as JSON).
    (serde_json::to_value(&back).ok()? == *value).then_some(pb::BadRequest {
        field_violations: violations,
    })
}

fn field_errors_from(violations: &[pb::bad_request::FieldViolation]) -> Vec<FieldError> {
    violations
        .iter()
        .map(|v| match v.reason.strip_prefix("IN_") {
            Some(location) if !location.is_empty() => {
                FieldError::parameter(&v.field, location.to_ascii_lowercase(), &v.description)
            }
            _ => FieldError {
                detail: v.description.clone(),
                pointer: (!v.field.is_empty()).then(|| v.field.clone()),
                parameter: None,
                location: None,
            },
        })
        .collect()
}

/// A non-negative number of seconds as a protobuf Duration.
fn retry_delay_from(value: &Value) -> Option<prost_types::Duration> {
    if let Some(secs) = value.as_u64() {
        return Some(prost_types::Duration {
            seconds: i64::try_from(secs).ok()?,
            nanos: 0,
        });
    }
    let secs = value.as_f64()?;
    if !secs.is_finite() || secs < 0.0 {
        return None;
    }
    let d = Duration::try_from_secs_f64(secs).ok()?;
    Some(prost_types::Duration {
        seconds: i64::try_from(d.as_secs()).ok()?,
        nanos: i32::try_from(d.subsec_nanos()).ok()?,
    })
}

/// `retry_after` for a RetryInfo delay: whole seconds as an integer, else fractional.
fn retry_after_value(d: &prost_types::Duration) -> Option<Value> {
    let secs = u64::try_from(d.seconds).ok()?;
    let nanos = u32::try_from(d.nanos).ok()?;
    if nanos == 0 {
        return Some(Value::from(secs));
    }
    let f = Duration::new(secs, nanos).as_secs_f64();
    serde_json::Number::from_f64(f).map(Value::Number)
}

/// The delay a RetryInfo asks for, as a `std` duration.
pub(crate) fn retry_delay(status: &Status) -> Option<Option<Duration>> {
    let decoded = pb::Status::decode(status.details()).ok()?;
    let any = decoded
        .details
        .iter()
        .find(|a| a.type_url.ends_with("/google.rpc.RetryInfo"))?;
    let info = pb::RetryInfo::decode(any.value.as_slice()).ok()?;
    Some(info.retry_delay.and_then(|d| {
        let secs = u64::try_from(d.seconds).ok()?;
        let nanos = u32::try_from(d.nanos).ok()?;
        Some(Duration::new(secs, nanos))
    }))
}

fn opaque_details_from(value: &Value) -> Option<Vec<prost_types::Any>> {
    value
        .as_array()?
        .iter()
        .map(|d| {
            let type_url = d.get("type_url")?.as_str()?.to_owned();
            let value = crate::encoding::decode_base64(d.get("value")?.as_str()?)?;
            (d.as_object()?.len() == 2).then_some(prost_types::Any { type_url, value })
        })
        .collect()
}

/// The problem a status describes: the reverse of `From<Problem> for Status` (see the module
/// documentation). A status without details becomes a problem with the code's HTTP status, its
/// reason phrase as title and the message as detail.
pub fn problem_from_status(status: &Status) -> Problem {
    let code = status.code();
    let decoded = if status.details().is_empty() {
        None
    } else {
        pb::Status::decode(status.details()).ok()
    };
    let mut info = None;
    let mut bad_request = None;
    let mut retry = None;
    let mut opaque = Vec::new();
    for d in decoded.map(|s| s.details).unwrap_or_default() {
        let url = d.type_url.rsplit('/').next().unwrap_or_default();
        match url {
            "google.rpc.ErrorInfo" if info.is_none() => {
                if let Ok(i) = pb::ErrorInfo::decode(d.value.as_slice()) {
                    info = Some(i);
                    continue;
                }
            }
            "google.rpc.BadRequest" if bad_request.is_none() => {
                if let Ok(b) = pb::BadRequest::decode(d.value.as_slice()) {
                    bad_request = Some(b);
                    continue;
                }
            }
            "google.rpc.RetryInfo" if retry.is_none() => {
                if let Ok(r) = pb::RetryInfo::decode(d.value.as_slice()) {
                    retry = Some(r);
                    continue;
                }
            }
            _ => {}
        }
        opaque.push(d);
    }

    let mut metadata = info
        .as_ref()
        .map(|i| i.metadata.clone())
        .unwrap_or_default();
    let sent_status = metadata
        .get(META_STATUS)
        .and_then(|s| s.parse::<u16>().ok())
        .filter(|s| (100..=599).contains(s));
    if sent_status.is_some() {
        metadata.remove(META_STATUS);
    }
    let http = sent_status.unwrap_or_else(|| http_status_from_code(code));
    let mut problem = Problem::new(http);
    match metadata.remove(META_TITLE) {
        Some(t) if t.is_empty() => problem.title = None,
        Some(t) => problem.title = Some(t),
        None => {}
    }
    if let Some(t) = metadata.remove(META_TYPE) {
        problem.type_ = t;
    }
    problem.instance = metadata.remove(META_INSTANCE);
    let message = status.message();
    if !message.is_empty() && Some(message) != problem.title.as_deref() {
        problem.detail = Some(message.to_owned());
    }

    let mut extensions = Map::new();
    for (key, value) in metadata {
        match key.strip_prefix(JSON_PREFIX) {
            Some(name) => match serde_json::from_str::<Value>(&value) {
                Ok(v) => {
                    extensions.insert(name.to_owned(), v);
                }
                Err(_) => {
                    extensions.insert(key, Value::String(value));
                }
            },
            None => {
                extensions.insert(key, Value::String(value));
            }
        }
    }
    if code_from_http_status(http) != code {
        extensions.insert(EXT_CODE.to_owned(), Value::from(code_name(code)));
    }
    if let Some(b) = bad_request {
        let errors = field_errors_from(&b.field_violations);
        if let Ok(v) = serde_json::to_value(errors) {
            extensions.insert(EXT_ERRORS.to_owned(), v);
        }
    }
    if let Some(v) = retry
        .and_then(|r| r.retry_delay)
        .as_ref()
        .and_then(retry_after_value)
    {
        extensions.insert(EXT_RETRY_AFTER.to_owned(), v);
    }
    if !opaque.is_empty() {
        let list = opaque
            .iter()
            .map(|a| {
                serde_json::json!({
                    "type_url": a.type_url,
                    "value": crate::encoding::encode_base64(&a.value),
                })
            })
            .collect();
        extensions.insert(EXT_DETAILS.to_owned(), Value::Array(list));
    }
    problem.extensions = extensions;
    if let Some(info) = info {
        // Only what the mapping would not derive by itself, so both round trips are exact.
        if info.reason != derived_reason(&problem, code) {
            problem
                .extensions
                .insert(EXT_REASON.to_owned(), Value::String(info.reason));
        }
        if info.domain != ERROR_DOMAIN {
            problem
                .extensions
                .insert(EXT_DOMAIN.to_owned(), Value::String(info.domain));
        }
    }
    problem
}

/// A status read from response headers or trailers (`grpc-status`, `grpc-message`,
/// `grpc-status-details-bin`); `None` without a `grpc-status`.
///
/// Unlike tonic's `Status::from_header_map`, malformed details are ignored instead of
/// panicking: these headers come from the peer.
pub(crate) fn status_from_headers(headers: &HeaderMap) -> Option<Status> {
    let code = headers
        .get(Status::GRPC_STATUS)?
        .to_str()
        .ok()
        .and_then(|s| s.trim().parse::<i32>().ok())
        .map_or(Code::Unknown, Code::from_i32);
    let message = headers
        .get(Status::GRPC_MESSAGE)
        .map(|v| {
            percent_encoding::percent_decode(v.as_bytes())
                .decode_utf8_lossy()
                .into_owned()
        })
        .unwrap_or_default();
    let details = headers
        .get(Status::GRPC_STATUS_DETAILS)
        .and_then(|v| v.to_str().ok())
        .and_then(crate::encoding::decode_base64)
        .map(Bytes::from)
        .unwrap_or_default();
    Some(Status::with_details_and_metadata(
        code,
        message,
        details,
        MetadataMap::new(),
    ))
}

/// Makes sure the error status in `headers` (headers of a trailers-only response, or
/// trailers) names `correlation_id` in an ErrorInfo: adds it to an existing ErrorInfo, or adds
/// the ErrorInfo the status's problem would have. OK statuses and statuses that already carry
/// an id are left alone.
pub(crate) fn add_correlation_id(headers: &mut HeaderMap, correlation_id: &str) {
    let Some(status) = status_from_headers(headers) else {
        return;
    };
    if status.code() == Code::Ok {
        return;
    }
    let mut decoded = if status.details().is_empty() {
        pb::Status {
            code: status.code() as i32,
            message: status.message().to_owned(),
            details: Vec::new(),
        }
    } else {
        match pb::Status::decode(status.details()) {
            Ok(d) => d,
            // Not ours to rewrite.
            Err(_) => return,
        }
    };
    let existing = decoded
        .details
        .iter_mut()
        .find(|a| a.type_url.ends_with("/google.rpc.ErrorInfo"));
    match existing {
        Some(any) => {
            let Ok(mut info) = pb::ErrorInfo::decode(any.value.as_slice()) else {
                return;
            };
            if info.metadata.contains_key(EXT_CORRELATION) {
                return;
            }
            info.metadata
                .insert(EXT_CORRELATION.to_owned(), correlation_id.to_owned());
            any.value = info.encode_to_vec();
        }
        None => {
            let problem =
                problem_from_status(&status).with_extension(EXT_CORRELATION, correlation_id);
            let Ok(ours) =
                pb::Status::decode(encode_details(&problem, status.code(), status.message()))
            else {
                return;
            };
            if let Some(info) = ours.details.into_iter().next() {
                decoded.details.insert(0, info);
            }
        }
    }
    let encoded = crate::encoding::encode_base64(&decoded.encode_to_vec());
    if let Ok(v) = HeaderValue::from_str(encoded.trim_end_matches('=')) {
        headers.insert(Status::GRPC_STATUS_DETAILS, v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tonic_types::{ErrorDetails, StatusExt as _};

    const ALL_CODES: [Code; 17] = [
        Code::Ok,
        Code::Cancelled,
        Code::Unknown,
        Code::InvalidArgument,
        Code::DeadlineExceeded,
        Code::NotFound,
        Code::AlreadyExists,
        Code::PermissionDenied,
        Code::ResourceExhausted,
        Code::FailedPrecondition,
        Code::Aborted,
        Code::OutOfRange,
        Code::Unimplemented,
        Code::Internal,
        Code::Unavailable,
        Code::DataLoss,
        Code::Unauthenticated,
    ];

    #[test]
    fn the_status_table() {
        let expected = [
            (200, Code::Ok),
            (201, Code::Ok),
            (400, Code::InvalidArgument),
            (422, Code::InvalidArgument),
            (401, Code::Unauthenticated),
            (403, Code::PermissionDenied),
            (404, Code::NotFound),
            (409, Code::Aborted),
            (412, Code::FailedPrecondition),
            (429, Code::ResourceExhausted),
            (499, Code::Cancelled),
            (500, Code::Internal),
            (501, Code::Unimplemented),
            (502, Code::Unavailable),
            (503, Code::Unavailable),
            (504, Code::DeadlineExceeded),
            (408, Code::DeadlineExceeded),
            (413, Code::ResourceExhausted),
            (418, Code::FailedPrecondition),
            (302, Code::Unknown),
            (600, Code::Unknown),
        ];
        for (http, code) in expected {
            assert_eq!(code_from_http_status(http), code, "{http}");
        }
        let folded = [
            Code::Unknown,
            Code::AlreadyExists,
            Code::OutOfRange,
            Code::DataLoss,
        ];
        for code in ALL_CODES {
            let back = code_from_http_status(http_status_from_code(code));
            assert_eq!(back == code, !folded.contains(&code), "{code:?}");
            assert_eq!(code_from_name(code_name(code)), Some(code));
        }
        assert_eq!(http_status_from_code(Code::FailedPrecondition), 412);
        assert_eq!(code_from_name("NOPE"), None);
    }

    #[test]
    fn reasons() {
        assert_eq!(upper_snake("Not Found"), "NOT_FOUND");
        assert_eq!(upper_snake("  out-of--credit!! "), "OUT_OF_CREDIT");
        let p = Problem::new(403).with_type("https://example.com/probs/out-of-credit");
        assert_eq!(derived_reason(&p, Code::PermissionDenied), "OUT_OF_CREDIT");
        let p = Problem::new(404);
        assert_eq!(derived_reason(&p, Code::NotFound), "NOT_FOUND");
        let mut p = Problem::new(999);
        p.title = None;
        assert_eq!(derived_reason(&p, Code::Unknown), "UNKNOWN");
    }

    fn round_trip(p: &Problem) -> Problem {
        problem_from_status(&Status::from(p.clone()))
    }

    #[test]
    fn problem_status_problem() {
        let problems = [
            Problem::new(404).with_detail("no order 7"),
            Problem::new(404),
            Problem::validation(
                422,
                vec![
                    FieldError::body("#/items/0/qty", "must be >= 1"),
                    FieldError::parameter("limit", "query", "must be an integer"),
                ],
            )
            .with_extension("account", "a-1")
            .with_extension("correlation_id", "c-1"),
            Problem::new(429)
                .with_detail("slow down")
                .with_extension("retry_after", 3),
            Problem::new(503).with_extension("retry_after", 1.5),
            Problem::new(403)
                .with_type("https://example.com/probs/out-of-credit")
                .with_title("You do not have enough credit.")
                .with_detail("Your current balance is 30, but that costs 50.")
                .with_instance("/account/12345/msgs/abc")
                .with_extension("balance", 30)
                .with_extension("accounts", serde_json::json!(["/account/12345"]))
                .with_extension("status", "odd")
                .with_extension("json:odd", "x")
                .with_extension("reason", "CUSTOM")
                .with_extension("domain", "example.com"),
            Problem::new(400).with_extension("errors", serde_json::json!([{"odd": true}])),
            Problem::new(409).with_extension("grpc_code", "ALREADY_EXISTS"),
        ];
        for p in problems {
            assert_eq!(round_trip(&p), p);
        }
        let mut untitled = Problem::new(500);
        untitled.title = None;
        assert_eq!(round_trip(&untitled), untitled);
    }

    #[test]
    fn problem_to_status_details() {
        let p = Problem::validation(422, vec![FieldError::body("#/name", "required")])
            .with_extension("retry_after", 2)
            .with_extension("tenant", "t1");
        let s = Status::from(p);
        assert_eq!(s.code(), Code::InvalidArgument);
        assert_eq!(s.message(), "The request is invalid: 1 error");
        let d = s.get_error_details();
        let info = d.error_info().unwrap();
        assert_eq!(info.reason, "UNPROCESSABLE_ENTITY");
        assert_eq!(info.domain, ERROR_DOMAIN);
        assert_eq!(info.metadata["tenant"], "t1");
        assert_eq!(info.metadata["status"], "422");
        let br = d.bad_request().unwrap();
        assert_eq!(br.field_violations[0].field, "#/name");
        assert_eq!(br.field_violations[0].description, "required");
        assert_eq!(
            d.retry_info().unwrap().retry_delay,
            Some(Duration::from_secs(2))
        );
        assert_eq!(retry_delay(&s), Some(Some(Duration::from_secs(2))));
    }

    #[tokio::test]
    async fn correlation_id_comes_from_the_task() {
        let s =
            correlation::scope("corr-9".into(), async { Status::from(Problem::new(404)) }).await;
        let p = problem_from_status(&s);
        assert_eq!(p.correlation_id(), Some("corr-9"));
    }

    /// The details of `s` by kind (ErrorInfo's metadata is a map: its bytes vary).
    fn decoded(
        s: &Status,
    ) -> (
        Option<pb::ErrorInfo>,
        Option<pb::BadRequest>,
        Option<pb::RetryInfo>,
        Vec<prost_types::Any>,
    ) {
        let mut out = (None, None, None, Vec::new());
        for d in pb::Status::decode(s.details()).unwrap().details {
            match d.type_url.as_str() {
                ERROR_INFO_URL => out.0 = pb::ErrorInfo::decode(d.value.as_slice()).ok(),
                BAD_REQUEST_URL => out.1 = pb::BadRequest::decode(d.value.as_slice()).ok(),
                RETRY_INFO_URL => out.2 = pb::RetryInfo::decode(d.value.as_slice()).ok(),
                _ => out.3.push(d),
            }
        }
        out
    }

    #[test]
    fn status_problem_status() {
        let mut details = ErrorDetails::with_error_info(
            "STOCKOUT",
            "shop.example",
            HashMap::from([("sku".to_owned(), "A-1".to_owned())]),
        );
        details
            .add_bad_request_violation("order.items[0].qty", "must be positive")
            .set_retry_info(Some(Duration::from_millis(1500)))
            .set_debug_info(vec!["frame".to_owned()], "trace");
        for code in [
            Code::FailedPrecondition,
            Code::AlreadyExists,
            Code::DataLoss,
        ] {
            let s = Status::with_error_details(code, "out of stock", details.clone());
            let p = problem_from_status(&s);
            let back = Status::from(p.clone());
            assert_eq!(back.code(), code, "{p:?}");
            assert_eq!(back.message(), "out of stock");
            assert_eq!(decoded(&s), decoded(&back));
        }
        let s = Status::with_error_details(Code::FailedPrecondition, "x", details);
        let p = problem_from_status(&s);
        assert_eq!(p.status, Some(412));
        assert_eq!(p.title.as_deref(), Some("Precondition Failed"));
        assert_eq!(p.extensions["sku"], "A-1");
        assert_eq!(p.extensions["reason"], "STOCKOUT");
        assert_eq!(p.extensions["retry_after"], 1.5);
        assert_eq!(
            p.field_errors(),
            [FieldError::body("order.items[0].qty", "must be positive")]
        );
    }

    #[test]
    fn statuses_without_details() {
        let p = problem_from_status(&Status::not_found("no such order"));
        assert_eq!(p, Problem::new(404).with_detail("no such order"));
        let p = problem_from_status(&Status::unavailable(""));
        assert_eq!(p, Problem::new(503));
        let p = problem_from_status(&Status::already_exists("dup"));
        assert_eq!(p.status, Some(409));
        assert_eq!(p.extensions["grpc_code"], "ALREADY_EXISTS");
        let garbage = Status::with_details(Code::Internal, "x", Bytes::from_static(b"\xff\xff"));
        assert_eq!(problem_from_status(&garbage).detail.as_deref(), Some("x"));
    }

    #[test]
    fn headers_and_correlation() {
        let mut h = HeaderMap::new();
        assert!(status_from_headers(&h).is_none());
        Status::from(Problem::new(404).with_detail("gone é"))
            .add_header(&mut h)
            .unwrap();
        let s = status_from_headers(&h).unwrap();
        assert_eq!(s.code(), Code::NotFound);
        assert_eq!(s.message(), "gone é");
        add_correlation_id(&mut h, "c-1");
        let p = problem_from_status(&status_from_headers(&h).unwrap());
        assert_eq!(p.correlation_id(), Some("c-1"));
        assert_eq!(p.detail.as_deref(), Some("gone é"));
        // Already named: unchanged.
        let before = h.clone();
        add_correlation_id(&mut h, "c-2");
        assert_eq!(h, before);

        let mut plain = HeaderMap::new();
        Status::permission_denied("no")
            .add_header(&mut plain)
            .unwrap();
        add_correlation_id(&mut plain, "c-3");
        let p = problem_from_status(&status_from_headers(&plain).unwrap());
        assert_eq!(
            p,
            Problem::new(403)
                .with_detail("no")
                .with_extension("correlation_id", "c-3")
        );

        let mut ok = HeaderMap::new();
        ok.insert("grpc-status", HeaderValue::from_static("0"));
        add_correlation_id(&mut ok, "c");
        assert!(!ok.contains_key("grpc-status-details-bin"));

        let mut bad = HeaderMap::new();
        bad.insert("grpc-status", HeaderValue::from_static("13"));
        bad.insert("grpc-status-details-bin", HeaderValue::from_static("!!!"));
        let s = status_from_headers(&bad).unwrap();
        assert_eq!(s.code(), Code::Internal);
        assert!(s.details().is_empty());
        bad.insert("grpc-status", HeaderValue::from_static("nope"));
        assert_eq!(status_from_headers(&bad).unwrap().code(), Code::Unknown);
    }
}
