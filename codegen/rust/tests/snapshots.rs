//! The generated code for small contracts, reviewed like code: any change to
//! the output shows up as a snapshot diff (`cargo insta review`).

use std::path::Path;

fn generate(fixture: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(fixture);
    let mut docs = contractor_openapi::load(&path).expect("fixture loads");
    let api = contractor_openapi::lower::lower(&mut docs).expect("fixture lowers");
    contractor_rust::openapi(&api, contractor_rust::Options::default())
        .expect("generates")
        .code
}

#[test]
fn shapes() {
    insta::assert_snapshot!(generate("shapes.yaml"));
}

#[test]
fn shop() {
    let shop = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas/shop/v1/shop.yaml");
    let mut docs = contractor_openapi::load(&shop).expect("shop loads");
    let api = contractor_openapi::lower::lower(&mut docs).expect("shop lowers");
    let code = contractor_rust::openapi(&api, contractor_rust::Options::default())
        .expect("generates")
        .code;
    insta::assert_snapshot!(code);
}

#[test]
fn output_is_byte_identical_on_rerun() {
    assert_eq!(generate("shapes.yaml"), generate("shapes.yaml"));
}

#[test]
fn client_only_and_server_only() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/shapes.yaml");
    let mut docs = contractor_openapi::load(&path).expect("fixture loads");
    let api = contractor_openapi::lower::lower(&mut docs).expect("fixture lowers");
    let client = contractor_rust::openapi(
        &api,
        contractor_rust::Options {
            client: true,
            server: false,
        },
    )
    .expect("generates")
    .code;
    assert!(client.contains("pub mod client"));
    assert!(!client.contains("pub mod server"));
    let server = contractor_rust::openapi(
        &api,
        contractor_rust::Options {
            client: false,
            server: true,
        },
    )
    .expect("generates")
    .code;
    assert!(server.contains("pub mod server"));
    assert!(!server.contains("pub mod client"));
}
