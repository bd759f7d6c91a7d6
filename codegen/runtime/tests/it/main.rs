//! Integration tests over real loopback sockets: the runtime's server (axum::serve on
//! 127.0.0.1:0) and its client, talking HTTP.

mod api;
mod client;
#[cfg(feature = "grpc")]
mod grpc;
mod idempotency;
mod layer;
#[cfg(feature = "redis")]
mod redis_server;
mod server;

use std::sync::Arc;

use contractor_runtime::axum;
use contractor_runtime::server::ServerConfig;

/// Serves `router` on a fresh loopback port; returns its base URL.
pub async fn serve(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a loopback port");
    let addr = listener.local_addr().expect("local address");
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    format!("http://{addr}")
}

/// Serves the test API; returns its state and base URL.
pub async fn shop(shop: api::Shop, config: ServerConfig) -> (Arc<api::Shop>, String) {
    let shop = Arc::new(shop);
    let url = serve(api::server(shop.clone(), config).into_router()).await;
    (shop, url)
}

/// A plain reqwest client for raw requests.
pub fn raw() -> contractor_runtime::reqwest::Client {
    contractor_runtime::reqwest::Client::new()
}
