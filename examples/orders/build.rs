//! Generates the orders service (messages, client, server, JSON mapping) from the contract at
//! build time: protox compiles it in process, so no `protoc` is needed.

fn main() {
    if let Err(error) = contractor_build::Builder::new()
        .proto(
            &["../../schemas/orders/v1/orders.proto"],
            &["../../schemas/orders"],
        )
        .compile()
    {
        // file:line:column of a broken contract, as cargo shows build script output.
        eprintln!("{error}");
        std::process::exit(2);
    }
}
