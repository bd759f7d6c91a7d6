//! A hand-written stand-in for generated code: static operation descriptions, a schema set,
//! and handlers over a small "shop" API.

use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use contractor_runtime::axum::body::Body;
use contractor_runtime::client::{CallOptions, HttpClient};
use contractor_runtime::http::{HeaderValue, Method, Response};
use contractor_runtime::schema::Schemas;
use contractor_runtime::server::{
    Decoded, IntoHttp, RequestContext, Server, ServerConfig, empty_response, json_response,
    text_response,
};
use contractor_runtime::spec::{self, *};
use contractor_runtime::{BoxFuture, correlation, serde_json};
use serde::Deserialize;
use serde_json::json;
use tokio::sync::Notify;

pub static SCHEMAS: Schemas = Schemas::new(
    r##"{
    "Order": {"type": "object", "required": ["items"], "additionalProperties": false,
        "properties": {
            "id": {"type": "string", "readOnly": true},
            "items": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/Item"}},
            "note": {"type": "string", "maxLength": 20}}},
    "Item": {"type": "object", "required": ["sku", "quantity"],
        "properties": {
            "sku": {"type": "string", "pattern": "^[A-Z]{3}-[0-9]+$"},
            "quantity": {"type": "integer", "minimum": 1, "maximum": 100}}},
    "Payment": {"type": "object", "required": ["amount"],
        "properties": {"amount": {"type": "integer", "minimum": 1},
                       "block": {"type": "boolean"}, "fail": {"type": "integer"}}},
    "limit": {"type": "integer", "minimum": 1, "maximum": 50},
    "status": {"type": "array", "items": {"type": "string", "enum": ["open", "closed"]}},
    "filter": {"type": "object",
        "properties": {"minTotal": {"type": "number"}, "tag": {"type": "string"}}},
    "orderId": {"type": "integer", "format": "int64", "minimum": 1},
    "id": {"type": "string"},
    "name": {"type": "string", "minLength": 1},
    "tenant": {"type": "string", "minLength": 2},
    "session": {"type": "string"},
    "Upload": {"type": "object", "required": ["title", "file"],
        "properties": {"title": {"type": "string", "minLength": 1},
                       "file": {"type": "string", "format": "binary"},
                       "tags": {"type": "array", "items": {"type": "string"}},
                       "count": {"type": "integer"}}},
    "Note": {"type": "string", "maxLength": 10},
    "Person": {"type": "object", "required": ["name"],
        "properties": {"name": {"type": "string"}, "age": {"type": "integer", "minimum": 0},
                       "langs": {"type": "array", "items": {"type": "string"}}}}
}"##,
);

const fn param(
    name: &'static str,
    field: &'static str,
    location: ParamLocation,
    required: bool,
    schema: &'static str,
    style: ParamStyle,
    explode: bool,
) -> Param {
    Param {
        name,
        field,
        location,
        required,
        schema,
        style,
        explode,
    }
}

/// A full `Operation` literal (struct update syntax cannot be used in a `static`, since
/// `http::Method` has a destructor).
macro_rules! op {
    ($id:literal, $m:ident, $path:literal) => {
        op!($id, $m, $path, &[], None, KeyPolicy::None, &[], None)
    };
    ($id:literal, $m:ident, $path:literal, $params:expr, $body:expr, $idem:expr, $sec:expr, $timeout:expr) => {
        Operation {
            id: $id,
            method: Method::$m,
            path: $path,
            params: $params,
            body: $body,
            idempotency: $idem,
            security: $sec,
            timeout_ms: $timeout,
        }
    };
}

macro_rules! json_body {
    ($schema:literal) => {
        Some(spec::Body {
            required: true,
            media: &[Media {
                media_type: "application/json",
                kind: BodyKind::Json,
                schema: Some($schema),
            }],
        })
    };
}

pub static CREATE_ORDER: Operation = op!(
    "createOrder",
    POST,
    "/orders",
    &[param(
        "X-Tenant",
        "tenant",
        ParamLocation::Header,
        false,
        "tenant",
        ParamStyle::Simple,
        false
    )],
    json_body!("Order"),
    KeyPolicy::Send,
    &[],
    None
);

pub static LIST_ORDERS: Operation = op!(
    "listOrders",
    GET,
    "/orders",
    &[
        param(
            "limit",
            "limit",
            ParamLocation::Query,
            false,
            "limit",
            ParamStyle::Form,
            true
        ),
        param(
            "status",
            "status",
            ParamLocation::Query,
            false,
            "status",
            ParamStyle::Form,
            true
        ),
        param(
            "filter",
            "filter",
            ParamLocation::Query,
            false,
            "filter",
            ParamStyle::DeepObject,
            true
        ),
        param(
            "session",
            "session",
            ParamLocation::Cookie,
            false,
            "session",
            ParamStyle::Form,
            false
        ),
    ],
    None,
    KeyPolicy::None,
    &[],
    None
);

pub static GET_ORDER: Operation = op!(
    "getOrder",
    GET,
    "/orders/{orderId}",
    &[param(
        "orderId",
        "order_id",
        ParamLocation::Path,
        true,
        "orderId",
        ParamStyle::Simple,
        false
    )],
    None,
    KeyPolicy::None,
    &[],
    None
);

pub static LATEST_ORDER: Operation = op!("latestOrder", GET, "/orders/latest");

pub static DELETE_ORDER: Operation = op!(
    "deleteOrder",
    DELETE,
    "/orders/{id}",
    &[param(
        "id",
        "id",
        ParamLocation::Path,
        true,
        "id",
        ParamStyle::Simple,
        false
    )],
    None,
    KeyPolicy::None,
    &[],
    None
);

pub static GET_FILE: Operation = op!(
    "getFile",
    GET,
    "/files/{name}.json",
    &[param(
        "name",
        "name",
        ParamLocation::Path,
        true,
        "name",
        ParamStyle::Simple,
        false
    )],
    None,
    KeyPolicy::None,
    &[],
    None
);

pub static CREATE_PAYMENT: Operation = op!(
    "createPayment",
    POST,
    "/payments",
    &[],
    json_body!("Payment"),
    KeyPolicy::Required,
    &[],
    None
);

pub static UPLOAD: Operation = op!(
    "upload",
    POST,
    "/uploads",
    &[],
    Some(spec::Body {
        required: true,
        media: &[Media {
            media_type: "multipart/form-data",
            kind: BodyKind::Multipart,
            schema: Some("Upload"),
        }],
    }),
    KeyPolicy::None,
    &[],
    None
);

pub static PUT_NOTE: Operation = op!(
    "putNote",
    PUT,
    "/notes/{id}",
    &[param(
        "id",
        "id",
        ParamLocation::Path,
        true,
        "id",
        ParamStyle::Simple,
        false
    )],
    Some(spec::Body {
        required: true,
        media: &[Media {
            media_type: "text/plain",
            kind: BodyKind::Text,
            schema: Some("Note"),
        }],
    }),
    KeyPolicy::None,
    &[],
    None
);

pub static CREATE_PERSON: Operation = op!(
    "createPerson",
    POST,
    "/people",
    &[],
    Some(spec::Body {
        required: true,
        media: &[
            Media {
                media_type: "application/json",
                kind: BodyKind::Json,
                schema: Some("Person"),
            },
            Media {
                media_type: "application/x-www-form-urlencoded",
                kind: BodyKind::Form,
                schema: Some("Person"),
            },
        ],
    }),
    KeyPolicy::None,
    &[],
    None
);

pub static PUT_BLOB: Operation = op!(
    "putBlob",
    PUT,
    "/blobs",
    &[],
    Some(spec::Body {
        required: false,
        media: &[
            Media {
                media_type: "image/*",
                kind: BodyKind::Binary,
                schema: None,
            },
            Media {
                media_type: "application/octet-stream",
                kind: BodyKind::Binary,
                schema: None,
            },
        ],
    }),
    KeyPolicy::None,
    &[],
    None
);

pub static SLOW: Operation = op!(
    "slow",
    GET,
    "/slow",
    &[],
    None,
    KeyPolicy::None,
    &[],
    Some(50)
);
pub static SLEEPY: Operation = op!("sleepy", GET, "/sleepy");
pub static FLAKY: Operation = op!("flaky", GET, "/flaky");
pub static FLAKY_POST: Operation = op!("flakyPost", POST, "/flaky");
pub static BOOM: Operation = op!("boom", GET, "/boom");
pub static BAD: Operation = op!("bad", GET, "/bad");
pub static PANICS: Operation = op!("panics", GET, "/panics");
pub static WHOAMI: Operation = op!(
    "whoami",
    GET,
    "/whoami",
    &[],
    None,
    KeyPolicy::None,
    &[
        &[SecurityScheme {
            name: "bearerAuth",
            kind: SchemeKind::Bearer,
        }],
        &[SecurityScheme {
            name: "apiKey",
            kind: SchemeKind::ApiKey {
                location: ApiKeyLocation::Header,
                name: "X-Api-Key",
            },
        }],
    ],
    None
);
pub static RELAY: Operation = op!("relay", GET, "/relay");

/// The API implementation, with counters for side effects.
#[derive(Default)]
pub struct Shop {
    pub orders: AtomicUsize,
    pub payment_calls: AtomicUsize,
    pub payments: AtomicUsize,
    pub payment_keys: Mutex<Vec<String>>,
    pub flaky_calls: AtomicUsize,
    pub flaky_failures: usize,
    pub flaky_post_calls: AtomicUsize,
    pub boom_calls: AtomicUsize,
    pub bad_calls: AtomicUsize,
    pub slow_dropped: Arc<AtomicBool>,
    /// Blocked payments wait on `release` after signalling `entered`.
    pub entered: Notify,
    pub release: Notify,
    pub downstream: OnceLock<HttpClient>,
}

type Out = BoxFuture<'static, Response<Body>>;

#[derive(Deserialize)]
struct OrderIn {
    items: Vec<serde_json::Value>,
    note: Option<String>,
}

fn create_order(api: Arc<Shop>, ctx: RequestContext, mut d: Decoded) -> Out {
    Box::pin(async move {
        let fields = d.fields();
        let order: OrderIn = match d.json_body() {
            Ok(o) => o,
            Err(p) => return p.into_http(),
        };
        let n = api.orders.fetch_add(1, SeqCst) + 1;
        json_response(
            201,
            &json!({
                "id": format!("ord-{n}"),
                "items": order.items.len(),
                "note": order.note,
                "tenant": fields.get("tenant"),
                "key": ctx.idempotency_key,
            }),
        )
    })
}

fn echo_fields(_: Arc<Shop>, _: RequestContext, mut d: Decoded) -> Out {
    Box::pin(async move { json_response(200, &d.fields()) })
}

fn latest(_: Arc<Shop>, _: RequestContext, _: Decoded) -> Out {
    Box::pin(async move { json_response(200, &json!({"latest": true})) })
}

fn delete_order(_: Arc<Shop>, _: RequestContext, _: Decoded) -> Out {
    Box::pin(async move { empty_response(204) })
}

#[derive(Deserialize)]
struct PaymentIn {
    amount: u64,
    #[serde(default)]
    block: bool,
    #[serde(default)]
    fail: usize,
}

fn create_payment(api: Arc<Shop>, ctx: RequestContext, mut d: Decoded) -> Out {
    Box::pin(async move {
        let p: PaymentIn = match d.json_body() {
            Ok(p) => p,
            Err(p) => return p.into_http(),
        };
        let call = api.payment_calls.fetch_add(1, SeqCst);
        if let Some(k) = &ctx.idempotency_key
            && let Ok(mut keys) = api.payment_keys.lock()
        {
            keys.push(k.clone());
        }
        if call < p.fail {
            let mut resp = contractor_runtime::Problem::new(503).into_http();
            resp.headers_mut()
                .insert("retry-after", HeaderValue::from_static("0"));
            return resp;
        }
        if p.block {
            api.entered.notify_one();
            api.release.notified().await;
        }
        let n = api.payments.fetch_add(1, SeqCst) + 1;
        json_response(201, &json!({"payment": n, "amount": p.amount}))
    })
}

#[derive(Deserialize)]
struct UploadIn {
    title: String,
    file: Vec<u8>,
    #[serde(default)]
    tags: Vec<String>,
    count: Option<i64>,
}

fn upload(_: Arc<Shop>, _: RequestContext, mut d: Decoded) -> Out {
    Box::pin(async move {
        match d.json_body::<UploadIn>() {
            Ok(u) => json_response(
                200,
                &json!({"title": u.title, "size": u.file.len(), "first": u.file.first(),
                        "tags": u.tags, "count": u.count}),
            ),
            Err(p) => p.into_http(),
        }
    })
}

fn put_note(_: Arc<Shop>, _: RequestContext, mut d: Decoded) -> Out {
    Box::pin(async move {
        let id = d.fields()["id"].as_str().unwrap_or_default().to_owned();
        match d.text_body() {
            Ok(t) => text_response(200, "text/plain; charset=utf-8", format!("{id}:{t}")),
            Err(p) => p.into_http(),
        }
    })
}

fn create_person(_: Arc<Shop>, _: RequestContext, mut d: Decoded) -> Out {
    Box::pin(async move {
        let media = d.body_media();
        match d.json_body::<serde_json::Value>() {
            Ok(v) => json_response(200, &json!({"media": media, "person": v})),
            Err(p) => p.into_http(),
        }
    })
}

fn put_blob(_: Arc<Shop>, ctx: RequestContext, mut d: Decoded) -> Out {
    Box::pin(async move {
        let ct = ctx
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        json_response(
            200,
            &json!({"size": d.raw_body().len(), "media": d.body_media(), "type": ct}),
        )
    })
}

struct SetOnDrop(Arc<AtomicBool>);
impl Drop for SetOnDrop {
    fn drop(&mut self) {
        self.0.store(true, SeqCst);
    }
}

fn slow(api: Arc<Shop>, _: RequestContext, _: Decoded) -> Out {
    Box::pin(async move {
        let _guard = SetOnDrop(api.slow_dropped.clone());
        tokio::time::sleep(Duration::from_secs(5)).await;
        empty_response(200)
    })
}

fn sleepy(_: Arc<Shop>, _: RequestContext, _: Decoded) -> Out {
    Box::pin(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        empty_response(200)
    })
}

fn flaky(api: Arc<Shop>, _: RequestContext, _: Decoded) -> Out {
    Box::pin(async move {
        let n = api.flaky_calls.fetch_add(1, SeqCst);
        if n < api.flaky_failures {
            let mut resp = contractor_runtime::Problem::new(503).into_http();
            resp.headers_mut()
                .insert("retry-after", HeaderValue::from_static("0"));
            return resp;
        }
        json_response(200, &json!({"calls": n + 1}))
    })
}

fn flaky_post(api: Arc<Shop>, _: RequestContext, _: Decoded) -> Out {
    Box::pin(async move {
        api.flaky_post_calls.fetch_add(1, SeqCst);
        contractor_runtime::Problem::new(503).into_http()
    })
}

fn boom(api: Arc<Shop>, _: RequestContext, _: Decoded) -> Out {
    Box::pin(async move {
        api.boom_calls.fetch_add(1, SeqCst);
        contractor_runtime::Problem::new(500)
            .with_detail("boom")
            .into_http()
    })
}

fn bad(api: Arc<Shop>, _: RequestContext, _: Decoded) -> Out {
    Box::pin(async move {
        api.bad_calls.fetch_add(1, SeqCst);
        contractor_runtime::Problem::new(400).into_http()
    })
}

fn panics(_: Arc<Shop>, _: RequestContext, _: Decoded) -> Out {
    Box::pin(async move {
        let fail = true;
        if fail {
            panic!("handler bug");
        }
        empty_response(200)
    })
}

fn whoami(_: Arc<Shop>, ctx: RequestContext, _: Decoded) -> Out {
    Box::pin(async move {
        let h = |name: &str| {
            ctx.headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        json_response(
            200,
            &json!({
                "correlation_id": ctx.correlation_id,
                "task_correlation_id": correlation::current(),
                "authorization": h("authorization"),
                "api_key": h("x-api-key"),
                "user_agent": h("user-agent"),
            }),
        )
    })
}

fn relay(api: Arc<Shop>, ctx: RequestContext, _: Decoded) -> Out {
    Box::pin(async move {
        let Some(client) = api.downstream.get() else {
            return contractor_runtime::Problem::new(500).into_http();
        };
        let call = client.call(&WHOAMI, &CallOptions::new());
        match client.send::<Infallible>(call).await {
            Ok(raw) => {
                let seen: serde_json::Value = raw.json::<_, Infallible>().unwrap_or_default();
                json_response(
                    200,
                    &json!({"mine": ctx.correlation_id, "downstream": seen["correlation_id"]}),
                )
            }
            Err(e) => contractor_runtime::Problem::new(502)
                .with_detail(e.to_string())
                .into_http(),
        }
    })
}

/// The server with every operation.
pub fn server(api: Arc<Shop>, config: ServerConfig) -> Server<Shop> {
    Server::from_arc(api, config, &SCHEMAS)
        .operation(&CREATE_ORDER, create_order)
        // Validated and deserialized in one pass, as generated routers do.
        .json_body::<OrderIn>(&CREATE_ORDER, 0)
        .operation(&LIST_ORDERS, echo_fields)
        .operation(&GET_ORDER, echo_fields)
        .operation(&LATEST_ORDER, latest)
        .operation(&DELETE_ORDER, delete_order)
        .operation(&GET_FILE, echo_fields)
        .operation(&CREATE_PAYMENT, create_payment)
        // A type other than the one the handler reads: it falls back to parsing the body.
        .json_body::<serde_json::Value>(&CREATE_PAYMENT, 0)
        .operation(&UPLOAD, upload)
        .operation(&PUT_NOTE, put_note)
        .operation(&CREATE_PERSON, create_person)
        .operation(&PUT_BLOB, put_blob)
        .operation(&SLOW, slow)
        .operation(&SLEEPY, sleepy)
        .operation(&FLAKY, flaky)
        .operation(&FLAKY_POST, flaky_post)
        .operation(&BOOM, boom)
        .operation(&BAD, bad)
        .operation(&PANICS, panics)
        .operation(&WHOAMI, whoami)
        .operation(&RELAY, relay)
}
