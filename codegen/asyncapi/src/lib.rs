//! The AsyncAPI frontend of contractor: loads AsyncAPI 2.x and 3.0 documents (YAML or JSON, one
//! file or many, through `contractor-openapi`'s spanned loader and `$ref` resolution) into a
//! small model, and compares two of them.
//!
//! - [`load`] / [`load_text`]: the root document, the `asyncapi` version check, every reachable
//!   `$ref` resolved up front (a broken one fails at its position).
//! - [`diff`]: structural rules with stable ids ([`registry`]), plus message payloads and headers
//!   through the core schema engine **with the direction of the operation**: a message the
//!   application receives (2.x `publish`, 3.0 `action: receive`) is compared like a request
//!   body, one it sends (2.x `subscribe`, 3.0 `action: send`) like a response, unknown as both.
//!   Avro payloads (`schemaFormat: application/vnd.apache.avro…`) go to `contractor-avro`:
//!   receive → the new schema must read old data, send → old readers must read new data.
//!
//! Nothing in `info`, no `description`, `summary`, `title`, `examples` or `x-` extension is
//! compared, so documentation edits are never findings.

mod model;
mod rules;

pub use model::{Action, Api, Channel, Message, Operation, Payload, Server};
pub use rules::{diff, registry};

use std::path::Path;

use contractor_core::{InputError, Position};
use contractor_openapi::{DocumentSet, Options, Value};

/// A loaded AsyncAPI contract: its files and the model the rules read.
#[derive(Debug)]
pub struct Document {
    pub docs: DocumentSet,
    pub api: Api,
}

/// Loads the AsyncAPI document at `path` and every file its `$ref`s reach.
pub fn load(path: impl AsRef<Path>) -> Result<Document, InputError> {
    finish(DocumentSet::open(path, options())?)
}

/// [`load`] for a root document held in memory (read from a git object); `$ref`s to other files
/// resolve against `path`'s directory.
pub fn load_text(path: impl AsRef<Path>, text: &str) -> Result<Document, InputError> {
    finish(DocumentSet::from_text(path, text, options())?)
}

/// Remote `$ref`s (real AsyncAPI documents point at published JSON schemas) are never fetched:
/// they stay reference objects, and the schema they name compares as unconstrained. Pointers
/// with unescaped `/` in a key (`#/components/messages/speak/v1.Close`) are accepted, as real
/// documents have them.
fn options() -> Options {
    Options {
        keep_remote_refs: true,
        join_unescaped_slashes: true,
        ..Options::default()
    }
}

fn finish(mut docs: DocumentSet) -> Result<Document, InputError> {
    let major = check_version(&docs)?;
    docs.resolve_all()?;
    let api = model::build(&mut docs, major)?;
    Ok(Document { docs, api })
}

/// The `asyncapi` field: `2.x.y` or `3.0.y`. Returns the major version.
fn check_version(docs: &DocumentSet) -> Result<u32, InputError> {
    let root = docs.root();
    let display = docs.file(root.file()).display().to_string();
    let node = docs.node(root);
    if !matches!(node.value, Value::Map(_)) {
        return Err(InputError::at(
            display,
            Position::new(1, 1),
            format!(
                "not an AsyncAPI document: the top level is {}, not a mapping",
                node.value.kind()
            ),
        ));
    }
    let Some(value) = docs.get(root, "asyncapi") else {
        return Err(InputError::at(
            display,
            Position::new(1, 1),
            "not an AsyncAPI document: there is no `asyncapi` field",
        ));
    };
    let at = |message: String| docs.error_at(value, message);
    match &docs.node(value).value {
        Value::String(text) => {
            let parts: Vec<&str> = text.split('.').collect();
            let numbers: Vec<u32> = parts.iter().filter_map(|p| p.parse().ok()).collect();
            match numbers.as_slice() {
                [2, _, _] if parts.len() == 3 => Ok(2),
                [3, 0, _] if parts.len() == 3 => Ok(3),
                _ => Err(at(format!(
                    "unsupported AsyncAPI version `{text}`; contractor reads 2.x and 3.0"
                ))),
            }
        }
        other => Err(at(format!(
            "`asyncapi` must be a version string such as \"3.0.0\", not {}",
            other.kind()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        match load_text("api.yaml", text) {
            Ok(_) => panic!("expected an error for {text:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn the_version_is_checked() {
        assert_eq!(
            err("info: {title: t}\n"),
            "api.yaml:1:1: not an AsyncAPI document: there is no `asyncapi` field"
        );
        assert_eq!(
            err("asyncapi: 3.1.0\n"),
            "api.yaml:1:11: unsupported AsyncAPI version `3.1.0`; contractor reads 2.x and 3.0"
        );
        assert_eq!(
            err("asyncapi: [2]\n"),
            "api.yaml:1:11: `asyncapi` must be a version string such as \"3.0.0\", not a sequence"
        );
        assert!(
            load_text(
                "api.yaml",
                "asyncapi: 2.6.0\ninfo: {title: t, version: '1'}\n"
            )
            .is_ok()
        );
        assert!(
            load_text(
                "api.yaml",
                "asyncapi: 3.0.0\ninfo: {title: t, version: '1'}\n"
            )
            .is_ok()
        );
    }

    #[test]
    fn remote_refs_stay_and_unescaped_slashes_resolve() {
        let doc = load_text(
            "api.yaml",
            "asyncapi: 2.6.0
info: {title: t, version: '1'}
channels:
  a:
    publish:
      message:
        $ref: '#/components/messages/speak/v1.Close'
components:
  messages:
    speak/v1.Close:
      name: Close
      payload:
        type: object
        properties:
          doc:
            $ref: 'https://example.com/schemas/doc.json'
",
        )
        .unwrap();
        let op = &doc.api.operations["publish a"];
        assert!(matches!(
            op.messages["Close"].payload,
            Some(Payload::Schema(..))
        ));
        // A pointer that names nothing even so is still an error at its position.
        let e = load_text(
            "api.yaml",
            "asyncapi: 2.6.0
info: {title: t, version: '1'}
channels:
  a:
    publish:
      message:
        $ref: '#/components/messages/speak/v2'
components:
  messages:
    speak/v1: {}
",
        )
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("api.yaml:7:15: $ref"), "{e}");
    }

    #[test]
    fn ref_bombs_in_compared_values_fail_promptly() {
        let mut text = String::from(
            "asyncapi: 2.6.0\ninfo: {title: t, version: '1'}\nchannels:\n  a:\n    bindings: {$ref: '#/components/b/n0'}\ncomponents:\n  b:\n",
        );
        for i in 0..40 {
            let next = i + 1;
            text.push_str(&format!(
                "    n{i}: {{x: {{$ref: '#/components/b/n{next}'}}, y: {{$ref: '#/components/b/n{next}'}}}}\n"
            ));
        }
        text.push_str("    n40: 1\n");
        let start = std::time::Instant::now();
        let e = load_text("api.yaml", &text).unwrap_err().to_string();
        assert!(e.contains("expands to more than"), "{e}");
        assert!(start.elapsed() < std::time::Duration::from_secs(10));
    }
}
