//! Two builds of `schemas/orders/v1/orders.proto`: contractor's (messages, tonic client and
//! server, proto3 JSON, `GRPC_METHODS`) into `OUT_DIR/orders.rs`, and plain tonic-prost-build's
//! into `OUT_DIR/plain/orders.v1.rs`, the baseline of the benchmark.

use std::path::PathBuf;

fn main() {
    let proto = "../../schemas/orders/v1/orders.proto";
    let include = "../../schemas/orders";
    if let Err(error) = contractor_build::Builder::new()
        .proto(&[proto], &[include])
        .compile()
    {
        eprintln!("{error}");
        std::process::exit(2);
    }
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join("plain");
    std::fs::create_dir_all(&out).expect("cannot create OUT_DIR/plain");
    let fds = protox::compile([proto], [include]).unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(2);
    });
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .out_dir(&out)
        .compile_fds(fds)
        .unwrap_or_else(|e| {
            eprintln!("{e}");
            std::process::exit(2);
        });
}
