//! Server-side idempotency, the same scenarios against the memory store and a real Redis.

use std::sync::Arc;
use std::sync::atomic::Ordering::SeqCst;

use contractor_runtime::idempotency::{IdempotencyStore, MemoryStore};
use contractor_runtime::reqwest::StatusCode;
use contractor_runtime::serde_json::{Value, json};
use contractor_runtime::server::ServerConfig;
use contractor_runtime::{PROBLEM_JSON, Problem};

use crate::api::Shop;
use crate::{raw, shop};

async fn pay(url: &str, key: Option<&str>, body: Value) -> contractor_runtime::reqwest::Response {
    let mut req = raw().post(format!("{url}/payments")).json(&body);
    if let Some(k) = key {
        req = req.header("idempotency-key", k);
    }
    req.send().await.unwrap()
}

async fn with_store(store: Arc<dyn IdempotencyStore>) -> (Arc<Shop>, String) {
    shop(
        Shop::default(),
        ServerConfig::default().with_idempotency_store(store),
    )
    .await
}

async fn same_key_twice_runs_once(store: Arc<dyn IdempotencyStore>) {
    let (api, url) = with_store(store).await;
    let first = pay(&url, Some("k-1"), json!({"amount": 7})).await;
    assert_eq!(first.status(), StatusCode::CREATED);
    assert!(first.headers().get("idempotent-replayed").is_none());
    let first_type = first.headers()["content-type"].clone();
    let first_body = first.bytes().await.unwrap();

    let second = pay(&url, Some("k-1"), json!({"amount": 7})).await;
    assert_eq!(second.status(), StatusCode::CREATED);
    assert_eq!(second.headers()["idempotent-replayed"], "true");
    assert_eq!(second.headers()["content-type"], first_type);
    assert!(second.headers().get("x-correlation-id").is_some());
    assert_eq!(second.bytes().await.unwrap(), first_body);
    assert_eq!(api.payments.load(SeqCst), 1);
    assert_eq!(api.payment_calls.load(SeqCst), 1);

    // Keys are scoped per client: another identity runs its own request.
    let other = raw()
        .post(format!("{url}/payments"))
        .header("idempotency-key", "k-1")
        .header("authorization", "Bearer someone-else")
        .json(&json!({"amount": 7}))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), StatusCode::CREATED);
    assert!(other.headers().get("idempotent-replayed").is_none());
    assert_eq!(api.payments.load(SeqCst), 2);
}

async fn changed_payload_is_422(store: Arc<dyn IdempotencyStore>) {
    let (api, url) = with_store(store).await;
    assert_eq!(
        pay(&url, Some("k-2"), json!({"amount": 1})).await.status(),
        StatusCode::CREATED
    );
    let resp = pay(&url, Some("k-2"), json!({"amount": 2})).await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(resp.headers()["content-type"], PROBLEM_JSON);
    let p: Problem = resp.json().await.unwrap();
    assert_eq!(
        p.detail.as_deref(),
        Some("Idempotency-Key reused with a different request payload")
    );
    assert!(p.correlation_id().is_some());
    assert_eq!(api.payments.load(SeqCst), 1);
}

async fn concurrent_duplicate_is_409(store: Arc<dyn IdempotencyStore>) {
    let (api, url) = with_store(store).await;
    let first = {
        let url = url.clone();
        tokio::spawn(
            async move { pay(&url, Some("k-3"), json!({"amount": 3, "block": true})).await },
        )
    };
    api.entered.notified().await;
    let dup = pay(&url, Some("k-3"), json!({"amount": 3, "block": true})).await;
    assert_eq!(dup.status(), StatusCode::CONFLICT);
    assert_eq!(dup.headers()["retry-after"], "1");
    let p: Problem = dup.json().await.unwrap();
    assert_eq!(
        p.detail.as_deref(),
        Some("A request with this Idempotency-Key is still being processed")
    );
    api.release.notify_one();
    let first = first.await.unwrap();
    assert_eq!(first.status(), StatusCode::CREATED);
    let replay = pay(&url, Some("k-3"), json!({"amount": 3, "block": true})).await;
    assert_eq!(replay.status(), StatusCode::CREATED);
    assert_eq!(replay.headers()["idempotent-replayed"], "true");
    assert_eq!(api.payments.load(SeqCst), 1);
}

async fn missing_or_bad_key_is_400(store: Arc<dyn IdempotencyStore>) {
    let (api, url) = with_store(store).await;
    let resp = pay(&url, None, json!({"amount": 1})).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let p: Problem = resp.json().await.unwrap();
    assert_eq!(
        p.detail.as_deref(),
        Some("Idempotency-Key header is required")
    );
    let long = "k".repeat(256);
    let resp = pay(&url, Some(&long), json!({"amount": 1})).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(api.payment_calls.load(SeqCst), 0);
}

async fn failures_release_the_key(store: Arc<dyn IdempotencyStore>) {
    let (api, url) = with_store(store).await;
    // One 503 from the handler: not stored, so the same key runs again.
    let resp = pay(&url, Some("k-5"), json!({"amount": 1, "fail": 1})).await;
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    let resp = pay(&url, Some("k-5"), json!({"amount": 1, "fail": 1})).await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    assert_eq!(api.payment_calls.load(SeqCst), 2);
    assert_eq!(api.payments.load(SeqCst), 1);
}

fn memory() -> Arc<dyn IdempotencyStore> {
    Arc::new(MemoryStore::new())
}

#[tokio::test]
async fn memory_same_key_twice_runs_once() {
    same_key_twice_runs_once(memory()).await;
}

#[tokio::test]
async fn memory_changed_payload_is_422() {
    changed_payload_is_422(memory()).await;
}

#[tokio::test]
async fn memory_concurrent_duplicate_is_409() {
    concurrent_duplicate_is_409(memory()).await;
}

#[tokio::test]
async fn memory_missing_or_bad_key_is_400() {
    missing_or_bad_key_is_400(memory()).await;
}

#[tokio::test]
async fn memory_failures_release_the_key() {
    failures_release_the_key(memory()).await;
}

/// The same scenarios over a real `redis-server` each test starts (and kills).
#[cfg(feature = "redis")]
mod redis {
    use super::*;
    use crate::redis_server::RedisServer;
    use contractor_runtime::idempotency::RedisStore;

    async fn redis(server: &RedisServer) -> Arc<dyn IdempotencyStore> {
        Arc::new(
            RedisStore::connect(&server.url)
                .await
                .expect("connect to the test redis")
                .with_prefix("test:"),
        )
    }

    #[tokio::test]
    async fn redis_same_key_twice_runs_once() {
        let Some(server) = RedisServer::start() else {
            return;
        };
        same_key_twice_runs_once(redis(&server).await).await;
    }

    #[tokio::test]
    async fn redis_changed_payload_is_422() {
        let Some(server) = RedisServer::start() else {
            return;
        };
        changed_payload_is_422(redis(&server).await).await;
    }

    #[tokio::test]
    async fn redis_concurrent_duplicate_is_409() {
        let Some(server) = RedisServer::start() else {
            return;
        };
        concurrent_duplicate_is_409(redis(&server).await).await;
    }

    #[tokio::test]
    async fn redis_missing_or_bad_key_is_400() {
        let Some(server) = RedisServer::start() else {
            return;
        };
        missing_or_bad_key_is_400(redis(&server).await).await;
    }

    #[tokio::test]
    async fn redis_failures_release_the_key() {
        let Some(server) = RedisServer::start() else {
            return;
        };
        failures_release_the_key(redis(&server).await).await;
    }

    #[tokio::test]
    async fn redis_store_semantics() {
        use contractor_runtime::idempotency::{Begin, StoredResponse};
        use std::time::Duration;
        let Some(server) = RedisServer::start() else {
            return;
        };
        let store = redis(&server).await;
        let ttl = Duration::from_secs(60);
        // Concurrent begins: exactly one owner.
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let store = store.clone();
            tasks.push(tokio::spawn(
                async move { store.begin("race", "f", ttl).await },
            ));
        }
        let mut started = 0;
        for t in tasks {
            if t.await.unwrap().unwrap() == Begin::Started {
                started += 1;
            }
        }
        assert_eq!(started, 1);
        let resp = StoredResponse {
            status: 201,
            headers: vec![("content-type".into(), "application/json".into())],
            body: bytes::Bytes::from_static(&[0, 159, 255]),
        };
        store
            .complete("race", "f", resp.clone(), ttl)
            .await
            .unwrap();
        // Release does not delete a completed record.
        store.release("race").await.unwrap();
        assert_eq!(
            store.begin("race", "g", ttl).await.unwrap(),
            Begin::Completed {
                fingerprint: "f".into(),
                response: resp
            }
        );
        // An in-flight claim is released; a short TTL expires by itself.
        assert_eq!(store.begin("r2", "f", ttl).await.unwrap(), Begin::Started);
        assert_eq!(store.begin("r2", "f", ttl).await.unwrap(), Begin::InFlight);
        store.release("r2").await.unwrap();
        assert_eq!(store.begin("r2", "f", ttl).await.unwrap(), Begin::Started);
        let short = Duration::from_millis(30);
        assert_eq!(store.begin("r3", "f", short).await.unwrap(), Begin::Started);
        tokio::time::sleep(Duration::from_millis(60)).await;
        assert_eq!(store.begin("r3", "f", ttl).await.unwrap(), Begin::Started);
    }

    #[tokio::test]
    async fn unreachable_store_is_503() {
        let Some(server) = RedisServer::start() else {
            return;
        };
        let store = redis(&server).await;
        drop(server);
        let (api, url) = with_store(store).await;
        let resp = pay(&url, Some("k-6"), json!({"amount": 1})).await;
        assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(resp.headers()["retry-after"], "1");
        assert_eq!(api.payment_calls.load(SeqCst), 0);
    }
}
