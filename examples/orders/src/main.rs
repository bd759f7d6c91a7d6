//! The orders service's generated gRPC server and client talking over loopback, through every
//! call shape: `cargo run -p contractor-example-orders`.

use std::time::Duration;

use contractor_example_orders::orders::v1::orders_client::OrdersClient;
use contractor_example_orders::orders::v1::{
    CancelOrderRequest, CreateOrderRequest, GetOrderRequest, LineItem, OrderStatus, TrackRequest,
    WatchOrdersRequest,
};
use contractor_example_orders::{GRPC_METHODS, InMemoryOrders, serve};
use contractor_runtime::grpc::{ClientConfig, RequestExt, ServerConfig, problem_from_status};
use contractor_runtime::tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

#[contractor_runtime::tokio::main(crate = "contractor_runtime::tokio")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = serve(
        InMemoryOrders::new(),
        ServerConfig::new().with_timeout(Duration::from_secs(5)),
    )
    .await?;
    println!("gRPC server listening on {}", server.url());

    let channel = ClientConfig::new(server.url())
        .with_timeout(Duration::from_secs(5))
        .with_methods(GRPC_METHODS)
        .connect()
        .await?;
    let mut client = OrdersClient::new(channel);

    // Unary, not idempotent: the channel attaches an idempotency key, so sending the same
    // key twice places one order.
    let request = || CreateOrderRequest {
        customer_id: "ada".into(),
        items: vec![LineItem {
            sku: "TEA-0001".into(),
            quantity: 2,
            unit_price_minor: 450,
        }],
        currency: "EUR".into(),
    };
    let first = client
        .create_order(tonic::Request::new(request()).with_idempotency_key("ada-order-1"))
        .await?
        .into_inner();
    let again = client
        .create_order(tonic::Request::new(request()).with_idempotency_key("ada-order-1"))
        .await?
        .into_inner();
    println!(
        "CreateOrder (unary): {} for {} minor units; same key again -> same order: {}",
        first.id,
        first.total_minor,
        first == again
    );
    println!(
        "  as proto3 JSON: {}",
        serde_json::to_string(&first).unwrap_or_default()
    );

    // Unary, NO_SIDE_EFFECTS (retried on UNAVAILABLE), and a problem carried in the status.
    let fetched = client
        .get_order(GetOrderRequest {
            id: first.id.clone(),
        })
        .await?
        .into_inner();
    println!("GetOrder (unary, no side effects): {} found", fetched.id);
    if let Err(status) = client
        .get_order(GetOrderRequest {
            id: "ord-9999".into(),
        })
        .await
    {
        let problem = problem_from_status(&status);
        println!(
            "GetOrder of a missing order: {:?} -> problem {} {:?}",
            status.code(),
            problem.status.unwrap_or_default(),
            problem.detail.unwrap_or_default()
        );
    }

    // Validation problems come back with a pointer per bad field.
    let invalid = CreateOrderRequest {
        customer_id: String::new(),
        items: Vec::new(),
        currency: String::new(),
    };
    if let Err(status) = client.create_order(invalid).await {
        let problem = problem_from_status(&status);
        let fields: Vec<String> = problem
            .field_errors()
            .into_iter()
            .map(|e| format!("{} {}", e.pointer.unwrap_or_default(), e.detail))
            .collect();
        println!(
            "CreateOrder of an empty order: {:?}: {}",
            status.code(),
            fields.join("; ")
        );
    }

    // Server streaming: the customer's orders, then every change as it happens.
    let mut watch = client
        .watch_orders(
            tonic::Request::new(WatchOrdersRequest {
                customer_id: "ada".into(),
            })
            .with_timeout(Duration::from_secs(10)),
        )
        .await?
        .into_inner();
    if let Some(event) = watch.message().await? {
        println!(
            "WatchOrders (server stream): existing {}",
            event.order.map(|o| o.id).unwrap_or_default()
        );
    }
    // Unary, IDEMPOTENT: cancelling twice is the same as once.
    let cancel = || CancelOrderRequest {
        id: first.id.clone(),
        reason: "changed my mind".into(),
    };
    client.cancel_order(cancel()).await?;
    let cancelled = client.cancel_order(cancel()).await?.into_inner();
    println!(
        "CancelOrder (unary, idempotent) twice: {:?}",
        OrderStatus::try_from(cancelled.status).unwrap_or_default()
    );
    if let Some(event) = watch.message().await? {
        let order = event.order.unwrap_or_default();
        println!(
            "WatchOrders (server stream): {} is now {:?}",
            order.id,
            OrderStatus::try_from(order.status).unwrap_or_default()
        );
    }
    drop(watch);

    // Client streaming: three orders in one call, one answer at the end.
    let batch = (1..=3).map(|quantity| CreateOrderRequest {
        customer_id: "grace".into(),
        items: vec![LineItem {
            sku: "COFFEE-0002".into(),
            quantity,
            unit_price_minor: 300,
        }],
        currency: "EUR".into(),
    });
    let imported = client
        .import_orders(tokio_stream::iter(batch.collect::<Vec<_>>()))
        .await?
        .into_inner();
    println!(
        "ImportOrders (client stream): {} orders, {} minor units in all",
        imported.order_ids.len(),
        imported.total_minor
    );

    // Bidirectional streaming: ask about orders one at a time, get each answer as it comes.
    let (ask, questions) = mpsc::channel(4);
    let mut answers = client
        .track(ReceiverStream::new(questions))
        .await?
        .into_inner();
    for id in imported.order_ids.iter().take(2) {
        ask.send(TrackRequest {
            order_id: id.clone(),
        })
        .await?;
        if let Some(event) = answers.message().await? {
            let order = event.order.unwrap_or_default();
            println!(
                "Track (bidirectional): {} for {} is {:?}",
                order.id,
                order.customer_id,
                OrderStatus::try_from(order.status).unwrap_or_default()
            );
        }
    }
    drop(ask);
    while answers.message().await?.is_some() {}

    let orders = server.orders.order_count();
    server.stop().await?;
    println!("{orders} orders in the store; server stopped");
    Ok(())
}
