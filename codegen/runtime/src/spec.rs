//! Static descriptions of operations, emitted by the generator as `static` items and shared by
//! the client and the server.
//!
//! ```
//! use contractor_runtime::spec::*;
//! use contractor_runtime::http::Method;
//!
//! static GET_ORDER: Operation = Operation {
//!     id: "getOrder",
//!     method: Method::GET,
//!     path: "/orders/{orderId}",
//!     params: &[Param {
//!         name: "orderId",
//!         field: "order_id",
//!         location: ParamLocation::Path,
//!         required: true,
//!         schema: "getOrder.path.orderId",
//!         style: ParamStyle::Simple,
//!         explode: false,
//!     }],
//!     body: None,
//!     idempotency: KeyPolicy::None,
//!     security: &[&[SecurityScheme { name: "bearerAuth", kind: SchemeKind::Bearer }]],
//!     timeout_ms: None,
//! };
//! # let _ = &GET_ORDER;
//! ```

use http::Method;

/// One operation of a contract.
#[derive(Debug)]
pub struct Operation {
    /// The `operationId` (used in logs, spans and `ServerConfig::operation_timeouts`).
    pub id: &'static str,
    /// The HTTP method.
    pub method: Method,
    /// The OpenAPI path template, e.g. `/orders/{orderId}` or `/files/{name}.json`.
    pub path: &'static str,
    /// The parameters (path, query, header, cookie).
    pub params: &'static [Param],
    /// The request body, if the operation takes one.
    pub body: Option<Body>,
    /// How the operation uses the `Idempotency-Key` header.
    pub idempotency: KeyPolicy,
    /// Security requirement alternatives; each alternative needs all of its schemes. Empty:
    /// no authentication.
    pub security: &'static [&'static [SecurityScheme]],
    /// The contract's `x-timeout` for the server side, in milliseconds.
    pub timeout_ms: Option<u64>,
}

/// How an operation uses the `Idempotency-Key` header.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyPolicy {
    /// The operation is not deduplicated.
    None,
    /// An unsafe method: the client sends a random key, the server honours one when present.
    Send,
    /// The contract declares the header: the client always sends one; a request without it is
    /// a 400 problem.
    Required,
}

/// One parameter.
#[derive(Debug)]
pub struct Param {
    /// The wire name.
    pub name: &'static str,
    /// The key in the decoded parameter object: the Rust field name.
    pub field: &'static str,
    /// Where the parameter travels.
    pub location: ParamLocation,
    /// Whether the request must carry it.
    pub required: bool,
    /// The name of its schema in the API's [`crate::schema::Schemas`].
    pub schema: &'static str,
    /// The serialization style.
    pub style: ParamStyle,
    /// The `explode` flag.
    pub explode: bool,
}

/// Where a parameter travels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ParamLocation {
    /// A path template variable.
    Path,
    /// The query string.
    Query,
    /// A request header.
    Header,
    /// A cookie.
    Cookie,
}

impl ParamLocation {
    /// The OpenAPI `in` value.
    pub fn as_str(self) -> &'static str {
        match self {
            ParamLocation::Path => "path",
            ParamLocation::Query => "query",
            ParamLocation::Header => "header",
            ParamLocation::Cookie => "cookie",
        }
    }
}

/// An OpenAPI parameter style.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ParamStyle {
    /// `a,b` (path and header default).
    Simple,
    /// `name=a&name=b` or `name=a,b` (query and cookie default).
    Form,
    /// `name[key]=value`.
    DeepObject,
    /// `name=a%20b`.
    SpaceDelimited,
    /// `name=a|b`.
    PipeDelimited,
    /// `.a.b` or `.a,b` in a path.
    Label,
    /// `;name=a;name=b` or `;name=a,b` in a path.
    Matrix,
}

/// A request body.
#[derive(Debug)]
pub struct Body {
    /// Whether the request must carry one.
    pub required: bool,
    /// The accepted media types, in contract order.
    pub media: &'static [Media],
}

/// One accepted media type of a request body.
#[derive(Debug)]
pub struct Media {
    /// The media type; may be a wildcard like `image/*` or `*/*`.
    pub media_type: &'static str,
    /// How the body is decoded.
    pub kind: BodyKind,
    /// The name of its schema in the API's [`crate::schema::Schemas`], if validated.
    pub schema: Option<&'static str>,
}

/// How a request body is decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BodyKind {
    /// JSON (`application/json`, `+json`).
    Json,
    /// `application/x-www-form-urlencoded`.
    Form,
    /// `multipart/form-data`.
    Multipart,
    /// Text, decoded as UTF-8.
    Text,
    /// Raw bytes.
    Binary,
}

/// A security scheme an operation requires.
#[derive(Debug)]
pub struct SecurityScheme {
    /// The scheme's name in `components.securitySchemes` (the key of
    /// [`crate::client::Credentials::api_key`]).
    pub name: &'static str,
    /// What it sends.
    pub kind: SchemeKind,
}

/// What a security scheme sends. OAuth2 and OpenID Connect map to [`SchemeKind::Bearer`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SchemeKind {
    /// `Authorization: Bearer <token>`.
    Bearer,
    /// `Authorization: Basic <base64(user:password)>`.
    Basic,
    /// An API key in a header, query parameter or cookie.
    ApiKey {
        /// Where it travels.
        location: ApiKeyLocation,
        /// The header, query parameter or cookie name.
        name: &'static str,
    },
}

/// Where an API key travels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApiKeyLocation {
    /// A request header.
    Header,
    /// A query parameter.
    Query,
    /// A cookie.
    Cookie,
}
