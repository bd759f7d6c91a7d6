//! gRPC: what code generated from `.proto` files links (feature `grpc`).
//!
//! tonic-prost-build writes the message types, the `…Client<T>` and `…Server<T>` wrappers; the
//! generator adds `GRPC_METHODS` (a [`Method`] per RPC: its path, idempotency level and
//! streaming shape) and `FILE_DESCRIPTOR_SET`. Everything with behaviour is here, mirroring the
//! HTTP side of the runtime:
//!
//! - [`Channel`] (from [`ClientConfig`]): a `tower::Service` around tonic's transport channel
//!   that generated clients take unchanged (`OrdersClient::new(channel)`). It sends a default
//!   deadline as `grpc-timeout` and enforces it locally over the whole call, retries unary calls
//!   that are safe to repeat (backoff with full jitter, [`RetryPolicy`](crate::retry::RetryPolicy)),
//!   sends an `idempotency-key` for unary methods that are not idempotent by declaration, and
//!   propagates `x-correlation-id`.
//! - [`Server`] (from [`ServerConfig`]): tonic's routes behind a layer ([`GrpcLayer`]) that
//!   enforces deadlines (the caller's and the configured one, the smaller wins), deduplicates
//!   keyed unary calls through the same [`IdempotencyStore`](crate::idempotency::IdempotencyStore)
//!   as HTTP, runs handlers inside the correlation scope, and optionally serves health and
//!   reflection.
//! - [`From<Problem> for Status`](crate::Problem) and [`problem_from_status`]: RFC 9457 problems as
//!   `google.rpc.Status` with `ErrorInfo`, `BadRequest` and `RetryInfo` details, and back, on
//!   one status table ([`code_from_http_status`], [`http_status_from_code`]).
//!
//! The crates generated code needs are re-exported, so a generated crate can depend on
//! `contractor-runtime` (with `grpc`) alone.

mod body;
mod client;
mod server;
mod status;
mod timeout;

pub use client::{Channel, ClientConfig, ConnectError, RequestExt};
pub use server::{GrpcLayer, GrpcService, STORED_TRAILER_PREFIX, Server, ServerConfig};
pub use status::{ERROR_DOMAIN, code_from_http_status, http_status_from_code, problem_from_status};
pub use timeout::{GRPC_TIMEOUT_HEADER, format_grpc_timeout, parse_grpc_timeout};

pub use {prost, prost_types, tonic, tonic_health, tonic_prost, tonic_reflection, tonic_types};

/// `google.protobuf.MethodOptions.idempotency_level`: whether repeating a call is harmless.
///
/// It decides what the client may retry without help from the server: `NoSideEffects` and
/// `Idempotent` methods are retried as they are; `Unknown` ones only with an idempotency key
/// the server deduplicates on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdempotencyLevel {
    /// Not declared (`IDEMPOTENCY_UNKNOWN`): assume each call has an effect.
    Unknown,
    /// `NO_SIDE_EFFECTS`: a read.
    NoSideEffects,
    /// `IDEMPOTENT`: repeating has the effect of one call.
    Idempotent,
}

impl IdempotencyLevel {
    /// `true` when a call can be repeated without an idempotency key.
    pub fn is_idempotent(self) -> bool {
        !matches!(self, IdempotencyLevel::Unknown)
    }
}

/// One RPC, as generated code describes it in `GRPC_METHODS`.
///
/// Client and server look calls up by `path` to know whether they are unary (only unary calls
/// are buffered, retried and deduplicated) and how safe a repeat is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Method {
    /// The HTTP/2 path: `/{package}.{Service}/{Method}`, e.g. `/orders.v1.Orders/GetOrder`.
    pub path: &'static str,
    /// The method's declared idempotency level.
    pub idempotency: IdempotencyLevel,
    /// The request is a stream.
    pub client_streaming: bool,
    /// The response is a stream.
    pub server_streaming: bool,
}

impl Method {
    /// `true` for a call with one request and one response message.
    pub fn is_unary(&self) -> bool {
        !self.client_streaming && !self.server_streaming
    }

    /// The full service name (`orders.v1.Orders`), as health checks and reflection name it.
    pub fn service(&self) -> &'static str {
        service_of(self.path)
    }
}

/// `/pkg.Svc/Method` → `pkg.Svc` (the whole path without its leading slash when it has no
/// method segment).
fn service_of(path: &str) -> &str {
    let trimmed = path.strip_prefix('/').unwrap_or(path);
    match trimmed.rfind('/') {
        Some(i) => &trimmed[..i],
        None => trimmed,
    }
}

/// Methods by path, for per-call lookups.
#[derive(Clone, Debug, Default)]
pub(crate) struct MethodTable {
    by_path: std::collections::HashMap<&'static str, Method>,
}

impl MethodTable {
    pub(crate) fn new(methods: &[Method]) -> Self {
        Self {
            by_path: methods.iter().map(|m| (m.path, *m)).collect(),
        }
    }

    /// The method at `path`; a path under a prefix (`/api/pkg.Svc/M`, from an origin with a
    /// path or a nested router) is looked up by its last two segments.
    pub(crate) fn get(&self, path: &str) -> Option<Method> {
        if let Some(m) = self.by_path.get(path) {
            return Some(*m);
        }
        let last = path.rfind('/')?;
        let start = path[..last].rfind('/')?;
        if start == 0 {
            return None;
        }
        self.by_path.get(&path[start..]).copied()
    }

    /// The distinct service names, in first-seen order of `methods`.
    pub(crate) fn services(methods: &[Method]) -> Vec<&'static str> {
        let mut seen = Vec::new();
        for m in methods {
            let s = m.service();
            if !seen.contains(&s) {
                seen.push(s);
            }
        }
        seen
    }
}

/// The metadata key of the idempotency key (the same name as the HTTP header).
pub const IDEMPOTENCY_KEY_METADATA: &str = crate::idempotency::IDEMPOTENCY_KEY_HEADER;

#[cfg(test)]
mod tests {
    use super::*;

    const M: &[Method] = &[
        Method {
            path: "/orders.v1.Orders/GetOrder",
            idempotency: IdempotencyLevel::NoSideEffects,
            client_streaming: false,
            server_streaming: false,
        },
        Method {
            path: "/orders.v1.Orders/Watch",
            idempotency: IdempotencyLevel::Unknown,
            client_streaming: false,
            server_streaming: true,
        },
        Method {
            path: "/billing.Billing/Charge",
            idempotency: IdempotencyLevel::Unknown,
            client_streaming: false,
            server_streaming: false,
        },
    ];

    #[test]
    fn lookup_and_services() {
        let t = MethodTable::new(M);
        assert_eq!(t.get("/orders.v1.Orders/GetOrder"), Some(M[0]));
        assert_eq!(t.get("/api/v2/orders.v1.Orders/Watch"), Some(M[1]));
        assert_eq!(t.get("/orders.v1.Orders/Nope"), None);
        assert_eq!(t.get("/"), None);
        assert_eq!(t.get(""), None);
        assert_eq!(
            MethodTable::services(M),
            ["orders.v1.Orders", "billing.Billing"]
        );
        assert!(M[0].is_unary() && !M[1].is_unary());
        assert!(M[0].idempotency.is_idempotent() && !M[2].idempotency.is_idempotent());
        assert_eq!(service_of("nopath"), "nopath");
    }
}
