//! The shop's generated server and client talking over loopback:
//! `cargo run -p contractor-example-shop`.

use std::time::Duration;

use contractor_example_shop::InMemoryShop;
use contractor_example_shop::client::{
    CallOptions, Client, ClientConfig, ClientError, Credentials,
};
use contractor_example_shop::server::{self, ServerConfig};
use contractor_example_shop::types::*;

#[contractor_runtime::tokio::main(crate = "contractor_runtime::tokio")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let listener = contractor_runtime::tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let app = server::router(
        InMemoryShop::new().with_stock("TEA-0001", 3),
        ServerConfig::default(),
    );
    contractor_runtime::tokio::spawn(async move {
        if let Err(error) = contractor_runtime::axum::serve(listener, app).await {
            eprintln!("server stopped: {error}");
        }
    });
    println!("server listening on http://{address}");

    let client = Client::new(
        ClientConfig::new(format!("http://{address}"))
            .with_timeout(Duration::from_secs(5))
            .with_credentials(Credentials::default().bearer("example-token")),
    )?;

    // An unsafe write: the client sends an Idempotency-Key; sending the same
    // key again replays the first answer instead of placing a second order.
    let new_order = NewOrder {
        customer: "ada@example.com".into(),
        items: vec![LineItem {
            sku: "TEA-0001".into(),
            quantity: 2,
        }],
        note: contractor_runtime::Nullable::Value("leave at the door".into()),
        shipping: None,
        payment: Some(Payment::Card(CardPayment {
            method: "card".into(),
            token: "tok_visa".into(),
        })),
    };
    let key = CallOptions::new().idempotency_key("order-ada-1");
    let request = CreateOrderRequest {
        body: new_order.clone(),
    };
    let first = client.create_order(&request, &key).await?;
    let again = client.create_order(&request, &key).await?;
    println!(
        "placed order {:?} ({} cents); same key again -> same order: {}",
        first.id,
        first.total_cents,
        first == again
    );

    // Out of stock: a declared, typed problem.
    match client.create_order(&request, &CallOptions::new()).await {
        Err(ClientError::Api(CreateOrderError::Conflict(problem))) => {
            println!("second order refused: {:?} is out of stock", problem.sku)
        }
        other => println!("unexpected: {other:?}"),
    }

    // Validation happens on the server, with a pointer to each bad field.
    let bad = CreateOrderRequest {
        body: NewOrder {
            items: vec![LineItem {
                sku: "tea".into(),
                quantity: 0,
            }],
            ..new_order
        },
    };
    match client.create_order(&bad, &CallOptions::new()).await {
        Err(ClientError::Api(CreateOrderError::Default { status, body })) => {
            println!(
                "invalid order refused with {status}: {}",
                body.detail.unwrap_or_default()
            )
        }
        Err(ClientError::UnexpectedStatus {
            status, problem, ..
        }) => {
            println!("invalid order refused with {status}: {problem:?}")
        }
        other => println!("unexpected: {other:?}"),
    }

    let page = client
        .list_orders(
            &ListOrdersRequest {
                status: Some(OrderStatus::Placed),
                limit: Some(10),
            },
            &CallOptions::new(),
        )
        .await?;
    println!("{} placed order(s)", page.orders.len());
    Ok(())
}
