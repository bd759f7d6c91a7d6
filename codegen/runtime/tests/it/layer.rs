//! `IdempotencyLayer` on a plain axum router.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};

use contractor_runtime::axum::routing::{get, post};
use contractor_runtime::axum::{Router, extract::State};
use contractor_runtime::idempotency::{IdempotencyLayer, MemoryStore};
use contractor_runtime::reqwest::StatusCode;
use contractor_runtime::{PROBLEM_JSON, Problem};

use crate::{raw, serve};

async fn app(layer: IdempotencyLayer) -> (Arc<AtomicUsize>, String) {
    let count = Arc::new(AtomicUsize::new(0));
    let router = Router::new()
        .route(
            "/charges",
            post(
                |State(n): State<Arc<AtomicUsize>>, body: String| async move {
                    let k = n.fetch_add(1, SeqCst) + 1;
                    (
                        StatusCode::CREATED,
                        [("x-charge", k.to_string())],
                        format!("charge {k}: {body}"),
                    )
                },
            )
            .get(|State(n): State<Arc<AtomicUsize>>| async move {
                n.fetch_add(1, SeqCst);
                "listed"
            }),
        )
        .route(
            "/fail",
            post(|State(n): State<Arc<AtomicUsize>>| async move {
                n.fetch_add(1, SeqCst);
                StatusCode::BAD_GATEWAY
            }),
        )
        .route("/ping", get(|| async { "pong" }))
        .with_state(count.clone())
        .layer(layer);
    (count, serve(router).await)
}

fn layer() -> IdempotencyLayer {
    IdempotencyLayer::new(Arc::new(MemoryStore::new()))
}

#[tokio::test]
async fn replays_a_keyed_post() {
    let (count, url) = app(layer()).await;
    let send = |body: &'static str| {
        raw()
            .post(format!("{url}/charges"))
            .header("idempotency-key", "\"sf-string-key\"")
            .body(body)
            .send()
    };
    let first = send("a").await.unwrap();
    assert_eq!(first.status(), StatusCode::CREATED);
    assert_eq!(first.headers()["x-charge"], "1");
    let first_body = first.text().await.unwrap();
    let second = send("a").await.unwrap();
    assert_eq!(second.status(), StatusCode::CREATED);
    assert_eq!(second.headers()["x-charge"], "1");
    assert_eq!(second.headers()["idempotent-replayed"], "true");
    assert_eq!(second.text().await.unwrap(), first_body);
    assert_eq!(count.load(SeqCst), 1);

    let third = send("b").await.unwrap();
    assert_eq!(third.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(third.headers()["content-type"], PROBLEM_JSON);
    let p: Problem = third.json().await.unwrap();
    assert_eq!(p.instance.as_deref(), Some("/charges"));

    // Without a key (not required) and for uncovered methods, requests pass through.
    raw()
        .post(format!("{url}/charges"))
        .body("c")
        .send()
        .await
        .unwrap();
    raw().get(format!("{url}/charges")).send().await.unwrap();
    assert_eq!(count.load(SeqCst), 3);
    // 5xx responses are not stored: the retry runs again.
    for _ in 0..2 {
        let r = raw()
            .post(format!("{url}/fail"))
            .header("idempotency-key", "f")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_GATEWAY);
    }
    assert_eq!(count.load(SeqCst), 5);
}

#[tokio::test]
async fn required_keys_and_limits() {
    let (count, url) = app(layer().require_key(true).body_limit(16)).await;
    let resp = raw()
        .post(format!("{url}/charges"))
        .header("x-correlation-id", "layer-corr")
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let p: Problem = resp.json().await.unwrap();
    assert_eq!(
        p.detail.as_deref(),
        Some("Idempotency-Key header is required")
    );
    assert_eq!(p.correlation_id(), Some("layer-corr"));
    let resp = raw()
        .post(format!("{url}/charges"))
        .header("idempotency-key", "k")
        .body("x".repeat(17))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let resp = raw()
        .post(format!("{url}/charges"))
        .header("idempotency-key", "bad key")
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(count.load(SeqCst), 0);
    assert_eq!(
        raw()
            .get(format!("{url}/ping"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "pong"
    );
}
