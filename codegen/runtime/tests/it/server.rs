//! The server: routing, decoding, validation, limits and timeouts, as problem+json.

use std::sync::atomic::Ordering::SeqCst;
use std::time::{Duration, Instant};

use contractor_runtime::reqwest::{Response, StatusCode};
use contractor_runtime::serde_json::{self, Value, json};
use contractor_runtime::server::ServerConfig;
use contractor_runtime::{PROBLEM_JSON, Problem};

use crate::api::Shop;
use crate::{raw, shop};

async fn problem(resp: Response) -> Problem {
    assert_eq!(
        resp.headers()["content-type"],
        PROBLEM_JSON,
        "status {}",
        resp.status()
    );
    resp.json().await.expect("a problem document")
}

async fn json_of(resp: Response) -> Value {
    resp.json().await.expect("a JSON body")
}

#[tokio::test]
async fn happy_path_and_routing() {
    let (api, url) = shop(Shop::default(), ServerConfig::default()).await;
    let http = raw();

    let resp = http
        .post(format!("{url}/orders"))
        .header("x-correlation-id", "corr-happy")
        .header("x-tenant", "acme")
        .json(&json!({"items": [{"sku": "ABC-1", "quantity": 2}], "id": "ignored-read-only"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    assert_eq!(resp.headers()["x-correlation-id"], "corr-happy");
    let body = json_of(resp).await;
    assert_eq!(body["id"], "ord-1");
    assert_eq!(body["tenant"], "acme");
    assert_eq!(api.orders.load(SeqCst), 1);

    // A path parameter decoded by its schema (an integer).
    let body = json_of(http.get(format!("{url}/orders/42")).send().await.unwrap()).await;
    assert_eq!(body, json!({"order_id": 42}));
    // The literal template wins over `{orderId}`.
    let body = json_of(
        http.get(format!("{url}/orders/latest"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(body, json!({"latest": true}));
    // `/orders/{id}` with a different parameter name serves DELETE.
    let resp = http
        .delete(format!("{url}/orders/x%20y"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    // A mixed segment, percent-decoded.
    let body = json_of(
        http.get(format!("{url}/files/a.b%20c.json"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(body, json!({"name": "a.b c"}));
    // HEAD falls back to GET, without a body.
    let resp = http.head(format!("{url}/orders/7")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.bytes().await.unwrap().is_empty());
    // A fresh correlation id when the client sends none; x-request-id is accepted.
    let resp = http.get(format!("{url}/orders/1")).send().await.unwrap();
    assert_eq!(resp.headers()["x-correlation-id"].len(), 36);
    let resp = http
        .get(format!("{url}/orders/1"))
        .header("x-request-id", "req-1")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["x-correlation-id"], "req-1");
}

#[tokio::test]
async fn parameters_are_decoded_by_schema() {
    let (_, url) = shop(Shop::default(), ServerConfig::default()).await;
    let resp = raw()
        .get(format!(
            "{url}/orders?limit=5&status=open&status=closed&filter%5BminTotal%5D=2.5&filter[tag]=a+b&other=1"
        ))
        .header("cookie", "theme=dark; session=s%3D1")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        json_of(resp).await,
        json!({
            "limit": 5,
            "status": ["open", "closed"],
            "filter": {"minTotal": 2.5, "tag": "a b"},
            "session": "s=1"
        })
    );
    // Optional parameters that are absent are omitted.
    let resp = raw().get(format!("{url}/orders")).send().await.unwrap();
    assert_eq!(json_of(resp).await, json!({}));
}

#[tokio::test]
async fn validation_errors_are_all_reported() {
    let (api, url) = shop(Shop::default(), ServerConfig::default()).await;
    let resp = raw()
        .post(format!("{url}/orders"))
        .header("x-correlation-id", "corr-422")
        .json(&json!({
            "items": [{"sku": "ABC-1", "quantity": 0}, {"quantity": "2"}],
            "extra": true
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let p = problem(resp).await;
    assert_eq!(p.status, Some(422));
    assert_eq!(p.correlation_id(), Some("corr-422"));
    assert_eq!(p.instance.as_deref(), Some("/orders"));
    let mut got: Vec<(String, String)> = p
        .field_errors()
        .into_iter()
        .map(|e| (e.pointer.unwrap_or_default(), e.detail))
        .collect();
    got.sort();
    assert_eq!(
        got,
        vec![
            ("#/extra".into(), "is not a known property".into()),
            ("#/items/0/quantity".into(), "must be >= 1".into()),
            (
                "#/items/1/quantity".into(),
                "must be of type integer".into()
            ),
            ("#/items/1/sku".into(), "is required".into()),
        ]
    );
    assert_eq!(api.orders.load(SeqCst), 0);

    // Malformed parameters are a 400, each named with where it was.
    let resp = raw()
        .get(format!("{url}/orders?limit=abc&status=open&status=bogus"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let errors = problem(resp).await.field_errors();
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert_eq!(errors[0].parameter.as_deref(), Some("limit"));
    assert_eq!(errors[0].location.as_deref(), Some("query"));
    assert_eq!(errors[0].detail, "must be of type integer");
    assert_eq!(errors[1].parameter.as_deref(), Some("status"));
    assert_eq!(errors[1].pointer.as_deref(), Some("#/1"));

    let resp = raw().get(format!("{url}/orders/0")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let e = &problem(resp).await.field_errors()[0];
    assert_eq!(
        (e.parameter.as_deref(), e.location.as_deref()),
        (Some("orderId"), Some("path"))
    );

    // A header parameter and a body error together: 400, both listed.
    let resp = raw()
        .post(format!("{url}/orders"))
        .header("x-tenant", "a")
        .json(&json!({"items": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(problem(resp).await.field_errors().len(), 2);
}

#[tokio::test]
async fn malformed_bodies() {
    let (_, url) = shop(Shop::default(), ServerConfig::default()).await;
    let resp = raw()
        .post(format!("{url}/orders"))
        .header("content-type", "application/json")
        .body("{\"items\": [")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let p = problem(resp).await;
    assert!(
        p.detail.as_deref().unwrap_or("").contains("line 1 column"),
        "{p:?}"
    );

    for content_type in [None, Some("application/json")] {
        let mut req = raw().post(format!("{url}/orders"));
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
        assert_eq!(
            problem(resp).await.field_errors()[0].detail,
            "The request body is required"
        );
    }
    // An empty text body is a value.
    let resp = raw()
        .put(format!("{url}/notes/n2"))
        .header("content-type", "text/plain")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.text().await.unwrap(), "n2:");

    let resp = raw()
        .post(format!("{url}/orders"))
        .header("content-type", "text/plain")
        .body("hello")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let p = problem(resp).await;
    assert!(
        p.detail
            .as_deref()
            .unwrap_or("")
            .contains("application/json"),
        "{p:?}"
    );
}

#[tokio::test]
async fn not_found_and_method_not_allowed() {
    let (_, url) = shop(Shop::default(), ServerConfig::default()).await;
    let resp = raw()
        .get(format!("{url}/nothing/here"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    let p = problem(resp).await;
    assert_eq!(p.instance.as_deref(), Some("/nothing/here"));
    assert!(p.correlation_id().is_some());

    let resp = raw().patch(format!("{url}/orders")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(resp.headers()["allow"], "GET, HEAD, POST");
    assert_eq!(problem(resp).await.status, Some(405));
}

#[tokio::test]
async fn body_limit() {
    let config = ServerConfig::default().with_body_limit(1024);
    let (api, url) = shop(Shop::default(), config).await;
    let big = json!({"items": [{"sku": "ABC-1", "quantity": 1}], "note": "x".repeat(2000)});
    let resp = raw()
        .post(format!("{url}/orders"))
        .json(&big)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(problem(resp).await.status, Some(413));
    // Without a content-length (chunked), the limit still holds while reading.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        vec![Ok(vec![b' '; 800]), Ok(vec![b' '; 800])];
    let body = contractor_runtime::reqwest::Body::wrap_stream(futures_util::stream::iter(chunks));
    let resp = raw()
        .put(format!("{url}/blobs"))
        .header("content-type", "application/octet-stream")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(api.orders.load(SeqCst), 0);
}

#[tokio::test]
async fn handler_timeout_cancels_the_handler() {
    let (api, url) = shop(Shop::default(), ServerConfig::default()).await;
    let started = Instant::now();
    let resp = raw().get(format!("{url}/slow")).send().await.unwrap();
    let elapsed = started.elapsed();
    assert_eq!(resp.status(), StatusCode::GATEWAY_TIMEOUT);
    assert!(elapsed < Duration::from_millis(1000), "{elapsed:?}");
    assert_eq!(problem(resp).await.status, Some(504));
    assert!(
        api.slow_dropped.load(SeqCst),
        "the handler future was dropped"
    );

    // The configured per-operation timeout overrides the contract's.
    let config =
        ServerConfig::default().with_operation_timeout("sleepy", Duration::from_millis(30));
    let (_, url) = shop(Shop::default(), config).await;
    let resp = raw().get(format!("{url}/sleepy")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::GATEWAY_TIMEOUT);
}

#[tokio::test]
async fn handler_panic_is_a_500_problem() {
    let (_, url) = shop(Shop::default(), ServerConfig::default()).await;
    let resp = raw().get(format!("{url}/panics")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(problem(resp).await.status, Some(500));
    // The server keeps serving.
    let resp = raw().get(format!("{url}/orders/1")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
}

#[tokio::test]
async fn multipart_form_text_and_binary_bodies() {
    let (_, url) = shop(Shop::default(), ServerConfig::default()).await;
    let http = raw();

    let boundary = "XyZ";
    let mut body = format!(
        "--{b}\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nReport\r\n\
         --{b}\r\nContent-Disposition: form-data; name=\"tags\"\r\n\r\na\r\n\
         --{b}\r\nContent-Disposition: form-data; name=\"tags\"\r\n\r\nb\r\n\
         --{b}\r\nContent-Disposition: form-data; name=\"count\"\r\n\r\n3\r\n\
         --{b}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"r.bin\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n",
        b = boundary
    )
    .into_bytes();
    body.extend_from_slice(&[7, 0, 0xff, 0x80]);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let resp = http
        .post(format!("{url}/uploads"))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        json_of(resp).await,
        json!({"title": "Report", "size": 4, "first": 7, "tags": ["a", "b"], "count": 3})
    );

    // A missing required file part is a 422 with its pointer.
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nT\r\n--{boundary}--\r\n"
    );
    let resp = http
        .post(format!("{url}/uploads"))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        problem(resp).await.field_errors()[0].pointer.as_deref(),
        Some("#/file")
    );

    // One operation, two media types, chosen by Content-Type.
    let resp = http
        .post(format!("{url}/people"))
        .form(&[
            ("name", "Ann"),
            ("age", "41"),
            ("langs", "en"),
            ("langs", "fr"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        json_of(resp).await,
        json!({"media": 1, "person": {"name": "Ann", "age": 41, "langs": ["en", "fr"]}})
    );
    let resp = http
        .post(format!("{url}/people"))
        .json(&json!({"name": "Bo", "age": -1}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let resp = http
        .put(format!("{url}/notes/n1"))
        .header("content-type", "text/plain; charset=utf-8")
        .body("short")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.text().await.unwrap(), "n1:short");
    let resp = http
        .put(format!("{url}/notes/n1"))
        .header("content-type", "text/plain")
        .body("far too long")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // Wildcard media: image/* matches image/png.
    let resp = http
        .put(format!("{url}/blobs"))
        .header("content-type", "image/png")
        .body(vec![1u8, 2, 3])
        .send()
        .await
        .unwrap();
    assert_eq!(
        json_of(resp).await,
        json!({"size": 3, "media": 0, "type": "image/png"})
    );
    // An optional body may be absent.
    let resp = http.put(format!("{url}/blobs")).send().await.unwrap();
    assert_eq!(
        json_of(resp).await,
        json!({"size": 0, "media": null, "type": null})
    );
    let bad: Vec<u8> = serde_json::to_vec(&json!({})).unwrap();
    let resp = http
        .put(format!("{url}/blobs"))
        .header("content-type", "application/json")
        .body(bad)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

#[tokio::test]
async fn broken_schema_set_is_a_500_not_a_panic() {
    use contractor_runtime::schema::Schemas;
    use contractor_runtime::server::Server;
    static BROKEN: Schemas = Schemas::new("{not json");
    let server = Server::new(Shop::default(), ServerConfig::default(), &BROKEN)
        .operation(&crate::api::GET_ORDER, |_, _, _| {
            Box::pin(async { contractor_runtime::server::empty_response(200) })
        });
    let url = crate::serve(server.into_router()).await;
    let resp = raw().get(format!("{url}/orders/1")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(problem(resp).await.status, Some(500));
}
