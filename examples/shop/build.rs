//! Generates the shop's server and client from the contract at build time.

fn main() {
    if let Err(error) = contractor_build::Builder::new()
        .openapi("../../schemas/shop/v1/shop.yaml")
        .compile()
    {
        // file:line:column of a broken contract, as cargo shows build script output.
        eprintln!("{error}");
        std::process::exit(2);
    }
}
