//! Contracts that are legal but hostile to a generator: deep nesting, cycles,
//! names that collide or are not Rust. Generation must finish, and what it
//! writes must parse.

fn generate(json: &str) -> String {
    let mut docs =
        contractor_openapi::load_text("hostile.json", json, Default::default()).expect("loads");
    let api = contractor_openapi::lower::lower(&mut docs).expect("lowers");
    let code = contractor_rust::openapi(&api, contractor_rust::Options::default())
        .expect("generates")
        .code;
    // syn recurses on nesting: check on a thread with room for it.
    let check = code.clone();
    std::thread::Builder::new()
        .stack_size(64 * 1024 * 1024)
        .spawn(move || {
            syn::parse_file(&check)
                .map(|_| ())
                .map_err(|e| e.to_string())
        })
        .expect("spawn")
        .join()
        .expect("no panic")
        .expect("the output parses");
    code
}

fn with_body_schema(schema: serde_json::Value, components: serde_json::Value) -> String {
    serde_json::json!({
        "openapi": "3.0.3",
        "info": {"title": "hostile", "version": "1"},
        "paths": {"/x": {"post": {
            "requestBody": {"content": {"application/json": {"schema": schema}}},
            "responses": {"200": {"description": "ok"}}
        }}},
        "components": {"schemas": components}
    })
    .to_string()
}

#[test]
fn deep_nesting_is_bounded_not_a_stack_overflow() {
    // Run where a build script would: on a thread with a small stack.
    let handle = std::thread::Builder::new()
        .stack_size(2 * 1024 * 1024)
        .spawn(|| {
            // Built as text: serde_json itself recurses on nesting.
            let nested = |depth: usize, open: &str, close: &str| {
                let inner = format!(
                    "{}{{\"type\": \"string\"}}{}",
                    open.repeat(depth),
                    close.repeat(depth)
                );
                with_body_schema(serde_json::json!("PLACEHOLDER"), serde_json::json!({}))
                    .replace("\"PLACEHOLDER\"", &inner)
            };
            let code = generate(&nested(900, r#"{"type": "array", "items": "#, "}"));
            assert!(
                code.contains("serde_json::Value"),
                "deep arrays end in Value"
            );
            generate(&nested(
                300,
                r#"{"type": "object", "properties": {"a": "#,
                "}}",
            ));
        })
        .expect("spawn");
    handle.join().expect("no panic, no overflow");
}

#[test]
fn cycles_get_a_box_exactly_where_needed() {
    let code = generate(&with_body_schema(
        serde_json::json!({"$ref": "#/components/schemas/A"}),
        serde_json::json!({
            "A": {"type": "object", "properties": {
                "b": {"$ref": "#/components/schemas/B"},
                "list": {"type": "array", "items": {"$ref": "#/components/schemas/A"}}
            }},
            "B": {"type": "object", "properties": {"a": {"$ref": "#/components/schemas/A"}}},
            "C": {"type": "object", "properties": {"a": {"$ref": "#/components/schemas/A"}}}
        }),
    ));
    assert!(code.contains("pub b: Option<Box<B>>"), "{code}");
    assert!(code.contains("pub a: Option<Box<A>>"), "{code}");
    assert!(
        code.contains("pub list: Option<Vec<A>>"),
        "a Vec is indirection enough"
    );
    assert!(
        code.contains("pub struct C {\n        #[serde(default, skip_serializing_if = \"Option::is_none\")]\n        pub a: Option<A>,"),
        "C is not on the cycle: {code}"
    );
}

#[test]
fn colliding_and_foreign_names_stay_distinct() {
    let code = generate(&with_body_schema(
        serde_json::json!({"$ref": "#/components/schemas/order-item"}),
        serde_json::json!({
            "order-item": {"type": "object", "properties": {
                "a-b": {"type": "string"}, "a_b": {"type": "string"}, "A B": {"type": "string"},
                "fn": {"type": "string"}, "3d": {"type": "string"}, "ñ": {"type": "string"}
            }},
            "OrderItem": {"type": "object", "properties": {"x": {"type": "string"}}},
            "order_item": {"type": "string", "enum": ["a", "A", "a-", "\"quoted\""]}
        }),
    ));
    for expected in [
        "pub struct OrderItem ",
        "pub struct OrderItem2 ",
        "pub enum OrderItem3 ",
        "pub a_b: Option<String>",
        "pub a_b2: Option<String>",
        "pub a_b3: Option<String>",
        "pub fn_: Option<String>",
        "pub _3d: Option<String>",
        "pub u00f1: Option<String>",
        "rename = \"ñ\"",
    ] {
        assert!(code.contains(expected), "{expected} missing:\n{code}");
    }
}
