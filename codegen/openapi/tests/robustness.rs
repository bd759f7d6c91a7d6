//! Hostile input never panics and never hangs: random text in YAML's and JSON's alphabets, and a
//! real OpenAPI document with random edits, go through the loader (parse, version check, `$ref`
//! resolution, the openapiv3 check). Errors are fine; they must be one positioned line.

use std::sync::mpsc;
use std::time::Duration;

use contractor_core::InputError;
use contractor_openapi::{DocumentSet, Options, load_text};
use proptest::prelude::*;

/// Runs `work` on a thread and fails if it takes longer than `limit`: a hang becomes a test
/// failure instead of a stuck CI job.
fn within<T: Send + 'static>(limit: Duration, work: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .stack_size(8 << 20)
        .spawn(move || {
            let _ = tx.send(work());
        })
        .unwrap();
    rx.recv_timeout(limit)
        .expect("timed out (or panicked): possible hang")
}

fn check_error(result: Result<DocumentSet, InputError>) {
    if let Err(e) = result {
        assert!(!e.message.is_empty());
        assert!(!e.message.contains('\n'), "errors are one line: {e}");
        assert!(e.path.is_some(), "errors name a file: {e}");
    }
}

/// Loads `text` as YAML and as JSON, bare and as a full load.
fn exercise(text: String) {
    within(Duration::from_secs(20), move || {
        for name in ["fuzz/api.yaml", "fuzz/api.json"] {
            check_error(DocumentSet::from_text(name, &text, Options::default()));
            check_error(load_text(name, &text, Options::default()));
        }
    });
}

const PETSTORE: &str = r##"openapi: 3.0.3
info: {title: Petstore, version: "1.0"}
servers: [{url: "https://petstore.example/v1"}]
paths:
  /pets/{petId}:
    parameters:
      - {name: petId, in: path, required: true, schema: {type: string}}
    get:
      operationId: showPet
      tags: [pets]
      responses:
        "200":
          description: a pet
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Pet"}
        default: {$ref: "#/components/responses/Error"}
components:
  schemas:
    Pet: &pet
      type: object
      required: [id, name]
      properties:
        id: {type: integer, format: int64}
        name: {type: string, nullable: true}
        tags: {type: array, items: {$ref: "#/components/schemas/Tag"}}
    Tag: {type: string, enum: [a, b]}
    Copy: *pet
  responses:
    Error:
      description: error
      content:
        application/problem+json:
          schema: {type: object, additionalProperties: true}
"##;

fn alphabet() -> impl Strategy<Value = char> {
    prop_oneof![
        prop::sample::select(vec![
            '{', '}', '[', ']', ':', ',', '"', '\'', '-', '#', '&', '*', '!', '|', '>', '?', '<',
            '%', '@', '`', '~', '\\', '/', '$', ' ', ' ', '\n', '\n', '\t', '\r',
        ]),
        prop::char::range('a', 'e'),
        prop::char::range('0', '9'),
        any::<char>(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn random_text_never_panics(chars in prop::collection::vec(alphabet(), 0..400)) {
        exercise(chars.into_iter().collect());
    }

    #[test]
    fn random_edits_of_a_real_document_never_panic(
        edits in prop::collection::vec((any::<prop::sample::Index>(), 0..3u8, alphabet()), 1..8)
    ) {
        let mut text: Vec<char> = PETSTORE.chars().collect();
        for (at, op, c) in edits {
            let i = at.index(text.len() + 1);
            match op {
                0 => text.insert(i, c),
                1 if i < text.len() => { text.remove(i); }
                _ if i < text.len() => text[i] = c,
                _ => text.push(c),
            }
        }
        exercise(text.into_iter().collect());
    }
}

#[test]
fn the_unedited_document_loads() {
    let set = load_text("api.yaml", PETSTORE, Options::default()).unwrap();
    assert_eq!(set.version().map(|v| v.minor), Some(0));
}
