//! The client against the real server: timeouts, retries, credentials, correlation.

use std::convert::Infallible;
use std::sync::atomic::Ordering::SeqCst;
use std::time::{Duration, Instant};

use contractor_runtime::client::{CallOptions, ClientConfig, ClientError, Credentials, HttpClient};
use contractor_runtime::http::StatusCode;
use contractor_runtime::retry::RetryPolicy;
use contractor_runtime::serde_json::{Value, json};
use contractor_runtime::server::ServerConfig;

use crate::api::{self, Shop};
use crate::shop;

fn client(url: &str) -> HttpClient {
    HttpClient::new(ClientConfig::new(url)).expect("client")
}

#[tokio::test]
async fn typed_round_trip() {
    let (api, url) = shop(Shop::default(), ServerConfig::default()).await;
    let c = client(&url);
    let mut call = c.call(&api::CREATE_ORDER, &CallOptions::new());
    call.header("X-Tenant", &"acme")
        .json(&json!({"items": [{"sku": "ABC-1", "quantity": 1}]}));
    let resp = c.send::<Infallible>(call).await.unwrap();
    assert_eq!(resp.status, StatusCode::CREATED);
    assert_eq!(resp.content_type(), Some("application/json"));
    let body: Value = resp.json::<_, Infallible>().unwrap();
    assert_eq!(body["tenant"], "acme");
    // createOrder uses keys: the client sent a fresh one.
    assert_eq!(body["key"].as_str().map(str::len), Some(36));
    assert_eq!(api.orders.load(SeqCst), 1);

    let mut call = c.call(&api::LIST_ORDERS, &CallOptions::new());
    call.query("limit", &Some(3), true)
        .query("status", &["open", "closed"], true)
        .deep_object_query("filter", &json!({"tag": "a&b", "minTotal": 1.5}))
        .cookie("session", &"x y");
    let body: Value = c
        .send::<Infallible>(call)
        .await
        .unwrap()
        .json::<_, Infallible>()
        .unwrap();
    assert_eq!(
        body,
        json!({"limit": 3, "status": ["open", "closed"],
               "filter": {"tag": "a&b", "minTotal": 1.5}, "session": "x y"})
    );

    // A path parameter with reserved characters survives the round trip.
    let mut call = c.call(&api::GET_FILE, &CallOptions::new());
    call.path_param("name", &"a b/c?.d");
    let body: Value = c
        .send::<Infallible>(call)
        .await
        .unwrap()
        .json::<_, Infallible>()
        .unwrap();
    assert_eq!(body, json!({"name": "a b/c?.d"}));

    // Problems come back parsed.
    let mut call = c.call(&api::GET_ORDER, &CallOptions::new());
    call.path_param("orderId", &0);
    let resp = c.send::<Infallible>(call).await.unwrap();
    assert_eq!(resp.status, StatusCode::BAD_REQUEST);
    let err: ClientError<Infallible> = resp.unexpected();
    assert_eq!(err.problem().and_then(|p| p.status), Some(400));

    // A multipart upload built by the client, decoded by the server.
    let mut call = c.call(&api::UPLOAD, &CallOptions::new());
    call.multipart(
        &json!({"title": "T", "file": [1, 2, 3], "tags": ["x"], "count": 2}),
        &["file"],
    );
    let body: Value = c
        .send::<Infallible>(call)
        .await
        .unwrap()
        .json::<_, Infallible>()
        .unwrap();
    assert_eq!(
        body,
        json!({"title": "T", "size": 3, "first": 1, "tags": ["x"], "count": 2})
    );

    // An unset path parameter is reported, not sent.
    let call = c.call(&api::GET_ORDER, &CallOptions::new());
    assert!(matches!(
        c.send::<Infallible>(call).await,
        Err(ClientError::InvalidRequest(_))
    ));
}

#[tokio::test]
async fn client_timeout_fires_within_budget() {
    let (_, url) = shop(Shop::default(), ServerConfig::default()).await;
    let c =
        HttpClient::new(ClientConfig::new(&url).with_timeout(Duration::from_millis(50))).unwrap();
    let started = Instant::now();
    let err = c
        .send::<Infallible>(c.call(&api::SLEEPY, &CallOptions::new()))
        .await
        .unwrap_err();
    let elapsed = started.elapsed();
    assert!(matches!(err, ClientError::Timeout { after } if after == Duration::from_millis(50)));
    assert!(elapsed < Duration::from_millis(250), "{elapsed:?}");
    assert!(err.is_retryable());

    // A per-call timeout overrides the configured one.
    let c = client(&url);
    let opts = CallOptions::new().timeout(Duration::from_millis(40));
    let err = c
        .send::<Infallible>(c.call(&api::SLEEPY, &opts))
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::Timeout { .. }));
}

#[tokio::test]
async fn retries_a_get_on_503_with_retry_after() {
    let shop_state = Shop {
        flaky_failures: 2,
        ..Shop::default()
    };
    let (api, url) = shop(shop_state, ServerConfig::default()).await;
    let c = client(&url);
    let resp = c
        .send::<Infallible>(c.call(&api::FLAKY, &CallOptions::new()))
        .await
        .unwrap();
    assert_eq!(resp.status, StatusCode::OK);
    assert_eq!(api.flaky_calls.load(SeqCst), 3);

    // Out of attempts: the last response is returned as it was.
    let (api, url) = shop(
        Shop {
            flaky_failures: 10,
            ..Shop::default()
        },
        ServerConfig::default(),
    )
    .await;
    let c = client(&url);
    let resp = c
        .send::<Infallible>(c.call(&api::FLAKY, &CallOptions::new()))
        .await
        .unwrap();
    assert_eq!(resp.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(api.flaky_calls.load(SeqCst), 3);
}

#[tokio::test]
async fn keyed_post_is_retried_with_the_same_key_and_runs_once() {
    let (api, url) = shop(Shop::default(), ServerConfig::default()).await;
    let c = client(&url);
    let key = "pay-key-1";
    let opts = CallOptions::new().idempotency_key(key);
    // The handler answers 503 twice (releasing the key each time), then succeeds.
    let mut call = c.call(&api::CREATE_PAYMENT, &opts);
    call.json(&json!({"amount": 10, "fail": 2}));
    let first = c.send::<Infallible>(call).await.unwrap();
    assert_eq!(first.status, StatusCode::CREATED);
    assert_eq!(api.payment_calls.load(SeqCst), 3);
    assert_eq!(api.payments.load(SeqCst), 1);
    let keys = api.payment_keys.lock().unwrap().clone();
    assert_eq!(keys, vec![key; 3]);

    // Repeating the call replays the stored response; the effect does not happen again.
    let mut call = c.call(&api::CREATE_PAYMENT, &opts);
    call.json(&json!({"amount": 10, "fail": 2}));
    let again = c.send::<Infallible>(call).await.unwrap();
    assert_eq!(again.status, StatusCode::CREATED);
    assert_eq!(again.body, first.body);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(api.payments.load(SeqCst), 1);
    assert_eq!(api.payment_calls.load(SeqCst), 3);

    // Without a caller-chosen key the client makes one (the operation requires it).
    let mut call = c.call(&api::CREATE_PAYMENT, &CallOptions::new());
    call.json(&json!({"amount": 5}));
    assert_eq!(
        c.send::<Infallible>(call).await.unwrap().status,
        StatusCode::CREATED
    );
    assert_eq!(api.payments.load(SeqCst), 2);
}

#[tokio::test]
async fn no_retry_on_other_errors_or_unsafe_requests() {
    let (api, url) = shop(Shop::default(), ServerConfig::default()).await;
    let c = client(&url);
    let resp = c
        .send::<Infallible>(c.call(&api::BOOM, &CallOptions::new()))
        .await
        .unwrap();
    assert_eq!(resp.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(api.boom_calls.load(SeqCst), 1);
    let resp = c
        .send::<Infallible>(c.call(&api::BAD, &CallOptions::new()))
        .await
        .unwrap();
    assert_eq!(resp.status, StatusCode::BAD_REQUEST);
    assert_eq!(api.bad_calls.load(SeqCst), 1);
    // A POST without an idempotency key is never repeated, even on 503.
    let resp = c
        .send::<Infallible>(c.call(&api::FLAKY_POST, &CallOptions::new()))
        .await
        .unwrap();
    assert_eq!(resp.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(api.flaky_post_calls.load(SeqCst), 1);
    // ...unless the caller gives one.
    let fast =
        RetryPolicy::default().with_backoff(Duration::from_millis(1), Duration::from_millis(2));
    let opts = CallOptions::new().idempotency_key("k").retry(fast);
    c.send::<Infallible>(c.call(&api::FLAKY_POST, &opts))
        .await
        .unwrap();
    assert_eq!(api.flaky_post_calls.load(SeqCst), 4);
    // RetryPolicy::none() turns retries off.
    let opts = CallOptions::new().retry(RetryPolicy::none());
    let shop2 = Shop {
        flaky_failures: 5,
        ..Shop::default()
    };
    let (api2, url2) = shop(shop2, ServerConfig::default()).await;
    let c2 = client(&url2);
    c2.send::<Infallible>(c2.call(&api::FLAKY, &opts))
        .await
        .unwrap();
    assert_eq!(api2.flaky_calls.load(SeqCst), 1);
}

#[tokio::test]
async fn retry_stops_at_the_deadline() {
    let shop_state = Shop {
        flaky_failures: 100,
        ..Shop::default()
    };
    let (api, url) = shop(shop_state, ServerConfig::default()).await;
    // Retry-After: 0 is honoured; a long backoff would not be: cap the retry-after and make
    // the backoff ceiling far larger than the deadline.
    let policy = RetryPolicy {
        max_attempts: 50,
        honour_retry_after: false,
        initial_backoff: Duration::from_secs(10),
        max_backoff: Duration::from_secs(10),
        ..RetryPolicy::default()
    };
    let c = HttpClient::new(
        ClientConfig::new(&url)
            .with_timeout(Duration::from_millis(200))
            .with_retry(policy),
    )
    .unwrap();
    let started = Instant::now();
    let resp = c
        .send::<Infallible>(c.call(&api::FLAKY, &CallOptions::new()))
        .await
        .unwrap();
    // Either the first backoff fit in the deadline or it did not; never past the deadline.
    assert_eq!(resp.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(started.elapsed() < Duration::from_millis(400));
    assert!(api.flaky_calls.load(SeqCst) >= 1);
}

#[tokio::test]
async fn connection_refused_is_a_retryable_transport_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let policy =
        RetryPolicy::default().with_backoff(Duration::from_millis(1), Duration::from_millis(5));
    let c =
        HttpClient::new(ClientConfig::new(format!("http://127.0.0.1:{port}")).with_retry(policy))
            .unwrap();
    let err = c
        .send::<Infallible>(c.call(&api::FLAKY, &CallOptions::new()))
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::Transport(_)), "{err}");
    assert!(err.is_retryable());
    assert!(std::error::Error::source(&err).is_some());
}

#[tokio::test]
async fn correlation_id_propagates_through_a_handler_call() {
    let (_, downstream) = shop(Shop::default(), ServerConfig::default()).await;
    let front = Shop::default();
    front.downstream.set(client(&downstream)).ok();
    let (_, url) = shop(front, ServerConfig::default()).await;

    let resp = crate::raw()
        .get(format!("{url}/relay"))
        .header("x-correlation-id", "trace-me-1")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["x-correlation-id"], "trace-me-1");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(
        body,
        json!({"mine": "trace-me-1", "downstream": "trace-me-1"})
    );

    // Outside a request, the client reads the task's scope.
    let c = client(&downstream);
    let resp = contractor_runtime::correlation::scope("outer-1".into(), async {
        c.send::<Infallible>(c.call(&api::WHOAMI, &CallOptions::new()))
            .await
    })
    .await
    .unwrap();
    let body: Value = resp.json::<_, Infallible>().unwrap();
    assert_eq!(body["correlation_id"], "outer-1");
    assert_eq!(body["task_correlation_id"], "outer-1");
}

#[tokio::test]
async fn credentials_follow_security_requirements() {
    let (_, url) = shop(Shop::default(), ServerConfig::default()).await;
    let whoami = |creds: Credentials| {
        let c = HttpClient::new(
            ClientConfig::new(&url)
                .with_credentials(creds)
                .with_user_agent("shop-sdk/1.0"),
        )
        .unwrap();
        async move {
            let resp = c
                .send::<Infallible>(c.call(&api::WHOAMI, &CallOptions::new()))
                .await
                .unwrap();
            resp.json::<Value, Infallible>().unwrap()
        }
    };
    let body = whoami(Credentials::new().bearer("tok").api_key("apiKey", "k1")).await;
    // The first satisfied alternative (bearer) is used, alone.
    assert_eq!(body["authorization"], "Bearer tok");
    assert_eq!(body["api_key"], Value::Null);
    assert_eq!(body["user_agent"], "shop-sdk/1.0");
    let body = whoami(Credentials::new().api_key("apiKey", "k1")).await;
    assert_eq!(body["authorization"], Value::Null);
    assert_eq!(body["api_key"], "k1");
    let body = whoami(Credentials::new().basic("u", Some("p".into()))).await;
    assert_eq!(body["authorization"], Value::Null);
}
