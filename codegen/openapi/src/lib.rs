//! The OpenAPI frontend of contractor: loads OpenAPI 3.0 and 3.1 documents (YAML or JSON, one
//! file or many) into a spanned tree and resolves `$ref`s between them.
//!
//! - [`tree`]: the spanned tree of one file, in an arena, built without recursion.
//! - [`refs`]: [`DocumentSet`], the files of one contract, `$ref` resolution and locations.
//! - [`load`]: the entry point: root document, version check, every reachable `$ref` resolved,
//!   and for 3.0 a structural check with the `openapiv3` crate.
//!
//! Every failure is a [`contractor_core::InputError`] with file, line and column; hostile input
//! (deep nesting, alias bombs, huge files) ends in such an error within [`Limits`].

mod json;
pub mod lower;
pub mod model;
pub mod refs;
pub mod rules;
pub mod tree;
mod uri;
mod validate;
mod yaml;

use std::fmt;
use std::path::Path;

use contractor_core::{InputError, Position};

pub use refs::{DocumentSet, Options, SourceFile};
pub use tree::{Entry, FileId, Key, Limits, Node, NodeId, Number, Span, Tree, Value};

/// The OpenAPI version a document declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// Loads an OpenAPI 3.0 or 3.1 document with default [`Options`]: see [`load_with`].
pub fn load(path: impl AsRef<Path>) -> Result<DocumentSet, InputError> {
    load_with(path, Options::default())
}

/// Loads the root document at `path`, checks that it is OpenAPI 3.0.x or 3.1.x, resolves every
/// `$ref` reachable from it (so a broken reference fails here, with its position, rather than
/// half-way through a diff), and checks a 3.0 document's structure with `openapiv3`.
pub fn load_with(path: impl AsRef<Path>, options: Options) -> Result<DocumentSet, InputError> {
    let mut set = DocumentSet::open(path, options)?;
    check(&mut set)?;
    Ok(set)
}

/// [`load_with`] for a root document held in memory (for example read from a git object).
pub fn load_text(
    path: impl AsRef<Path>,
    text: &str,
    options: Options,
) -> Result<DocumentSet, InputError> {
    let mut set = DocumentSet::from_text(path, text, options)?;
    check(&mut set)?;
    Ok(set)
}

fn check(set: &mut DocumentSet) -> Result<(), InputError> {
    let version = check_version(set)?;
    set.version = Some(version);
    set.resolve_all()?;
    if version.minor == 0 {
        validate::openapi_3_0(set)?;
    }
    Ok(())
}

/// The `openapi` field: a string `3.0.N` or `3.1.N`. Errors point at the field's value, or at
/// 1:1 when there is none.
fn check_version(set: &DocumentSet) -> Result<Version, InputError> {
    let root = set.root();
    let tree = set.tree(root.file());
    let display = set.file(root.file()).display();
    let not_openapi = |message: &str| InputError::at(display, Position::new(1, 1), message);
    let node = set.node(root);
    if !matches!(node.value, Value::Map(_)) {
        return Err(not_openapi(&format!(
            "not an OpenAPI document: the top level is {}, not a mapping",
            node.value.kind()
        )));
    }
    let Some(entry) = tree.entry(root, "openapi") else {
        if let Some(swagger) = tree.entry(root, "swagger") {
            return Err(InputError::at(
                display,
                swagger.key.span.start,
                "Swagger 2.0 is not supported; convert the document to OpenAPI 3",
            ));
        }
        return Err(not_openapi(
            "not an OpenAPI document: there is no `openapi` field",
        ));
    };
    let value = set.node(entry.value);
    let at = |message: String| InputError::at(display, value.span.start, message);
    match &value.value {
        Value::String(text) => match parse_version(text) {
            Some(v) if v.major == 3 && v.minor <= 1 => Ok(v),
            _ => Err(at(format!(
                "unsupported OpenAPI version `{text}`; contractor reads 3.0.x and 3.1.x"
            ))),
        },
        Value::Number(n) => Err(at(format!(
            "`openapi` must be a string such as \"3.0.3\", found the number {n} (quote it)"
        ))),
        other => Err(at(format!(
            "`openapi` must be a version string such as \"3.1.0\", not {}",
            other.kind()
        ))),
    }
}

fn parse_version(text: &str) -> Option<Version> {
    let mut parts = text.split('.').map(|p| {
        (!p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
            .then(|| p.parse::<u32>().ok())
            .flatten()
    });
    let version = Version {
        major: parts.next()??,
        minor: parts.next()??,
        patch: parts.next()??,
    };
    parts.next().is_none().then_some(version)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_str(text: &str) -> Result<DocumentSet, InputError> {
        load_text("api.yaml", text, Options::default())
    }

    fn err(text: &str) -> String {
        match load_str(text) {
            Ok(_) => panic!("expected an error for {text:?}"),
            Err(e) => e.to_string(),
        }
    }

    const HEAD: &str = "openapi: 3.0.3\ninfo: {title: t, version: '1'}\n";

    #[test]
    fn the_version_is_checked() {
        let set = load_str(&format!("{HEAD}paths: {{}}\n")).unwrap();
        assert_eq!(
            set.version(),
            Some(Version {
                major: 3,
                minor: 0,
                patch: 3
            })
        );
        let set = load_str("openapi: 3.1.0\ninfo: {title: t, version: '1'}\n").unwrap();
        assert_eq!(
            set.version().map(|v| v.to_string()).as_deref(),
            Some("3.1.0")
        );
        assert_eq!(
            err("info: {title: t}\n"),
            "api.yaml:1:1: not an OpenAPI document: there is no `openapi` field"
        );
        assert_eq!(
            err("info: {}\nswagger: '2.0'\n"),
            "api.yaml:2:1: Swagger 2.0 is not supported; convert the document to OpenAPI 3"
        );
        assert_eq!(
            err("openapi: 3.2.0\n"),
            "api.yaml:1:10: unsupported OpenAPI version `3.2.0`; contractor reads 3.0.x and 3.1.x"
        );
        assert_eq!(
            err("openapi: 3.0\n"),
            "api.yaml:1:10: `openapi` must be a string such as \"3.0.3\", found the number 3.0 (quote it)"
        );
        assert_eq!(
            err("openapi: [3]\n"),
            "api.yaml:1:10: `openapi` must be a version string such as \"3.1.0\", not a sequence"
        );
        assert_eq!(
            err("- openapi: 3.0.0\n"),
            "api.yaml:1:1: not an OpenAPI document: the top level is a sequence, not a mapping"
        );
        assert_eq!(
            err(""),
            "api.yaml:1:1: not an OpenAPI document: the top level is null, not a mapping"
        );
        for bad in ["3.0", "3.0.x", "3.0.3.1", "3..1", "v3.0.0", "3.0.-1"] {
            assert_eq!(parse_version(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_3_0_structure_error_points_at_the_failing_node() {
        assert_eq!(
            err(&format!(
                "{HEAD}paths:\n  /a:\n    get:\n      responses: 5\n"
            )),
            "api.yaml:6:18: not a valid OpenAPI 3.0 document at `/paths/~1a/get/responses`: \
             invalid type: integer `5`, expected struct Responses"
        );
        assert_eq!(
            err("openapi: 3.0.3\ninfo: {title: 5, version: '1'}\npaths: {}\n"),
            "api.yaml:2:15: not a valid OpenAPI 3.0 document at `/info/title`: \
             invalid type: integer `5`, expected a string"
        );
        assert_eq!(
            err("openapi: 3.0.3\npaths: {}\n"),
            "api.yaml:1:1: not a valid OpenAPI 3.0 document: missing field `info`"
        );
        assert_eq!(
            err(&format!(
                "{HEAD}paths: {{}}\ncomponents:\n  schemas:\n    A:\n      properties:\n        x: {{type: string, required: maybe}}\n"
            )),
            "api.yaml:8:12: not a valid OpenAPI 3.0 document at `/components/schemas/A/properties/x`: \
             invalid type: string \"maybe\", expected a sequence"
        );
    }

    #[test]
    fn a_3_1_document_is_not_checked_by_openapiv3() {
        // openapiv3 models 3.0 only and rejects type arrays.
        let text = "openapi: 3.1.0\ninfo: {title: t, version: '1'}\ncomponents:\n  schemas:\n    A: {type: [string, 'null']}\n";
        assert!(load_str(text).is_ok());
    }

    #[test]
    fn a_split_document_checks_like_its_bundled_form() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
        // OpenAPI 3.0 has no reference for an operation or a tag description; bundlers inline
        // them, and so does the check.
        write(
            "api.yaml",
            &format!(
                "{HEAD}tags:\n  - name: t\n    description: {{$ref: 'text.yaml#/intro'}}\n\
                 paths:\n  /a:\n    get: {{$ref: 'op.yaml'}}\n"
            ),
        );
        write("text.yaml", "intro: Hello\n");
        write("op.yaml", "responses:\n  '200': {$ref: 'response.yaml'}\n");
        write(
            "response.yaml",
            "description: ok\ncontent:\n  application/json:\n    schema: {type: integer, minimum: 0}\n",
        );
        let set = load(dir.path().join("api.yaml")).unwrap();
        assert_eq!(set.files().count(), 4);
        // A fault in a referenced file is reported there.
        write(
            "response.yaml",
            "description: ok\ncontent:\n  application/json:\n    schema: {type: integer, minimum: lots}\n",
        );
        let message = load(dir.path().join("api.yaml")).unwrap_err().to_string();
        let response = dir.path().join("response.yaml").display().to_string();
        assert_eq!(
            message,
            format!(
                "{response}:4:13: not a valid OpenAPI 3.0 document at \
                 `/content/application~1json/schema`: invalid type: string \"lots\", \
                 expected a JSON number"
            )
        );
    }

    #[test]
    fn references_that_inline_into_a_loop_end_in_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
        // An operation that is a reference to a path item containing that same reference: no
        // pure `$ref` cycle, but inlining it never reaches an operation.
        write(
            "api.yaml",
            &format!("{HEAD}paths:\n  /a:\n    get: {{$ref: 'item.yaml'}}\n"),
        );
        write("item.yaml", "get: {$ref: 'api.yaml#/paths/~1a/get'}\n");
        let start = std::time::Instant::now();
        let message = load(dir.path().join("api.yaml")).unwrap_err().to_string();
        assert!(start.elapsed() < std::time::Duration::from_secs(10));
        assert!(
            message.contains("not a valid OpenAPI 3.0 document"),
            "{message}"
        );
    }

    #[test]
    fn many_schema_ids_resolve_in_bounded_time() {
        let mut text = String::from(
            "openapi: 3.1.0\ninfo: {title: t, version: '1'}\ncomponents:\n  schemas:\n",
        );
        let count = 20_000;
        for i in 0..count {
            text.push_str(&format!(
                "    S{i}:\n      $id: https://example.com/s/{i}\n      properties:\n        next: {{$ref: '{}'}}\n        inner: {{$id: inner/{i}, $anchor: a{i}}}\n",
                (i + 1) % count
            ));
        }
        let start = std::time::Instant::now();
        let mut set = load_str(&text).unwrap();
        assert!(
            start.elapsed() < std::time::Duration::from_secs(20),
            "{:?}",
            start.elapsed()
        );
        let root = set.root();
        let next = set
            .pointer(root, "/components/schemas/S7/properties/next")
            .unwrap();
        let target = set.deref(next).unwrap();
        assert_eq!(set.pointer_of(target), "/components/schemas/S8");
        let inner = set
            .pointer(root, "/components/schemas/S7/properties/inner")
            .unwrap();
        assert_eq!(set.base_uri(inner), "https://example.com/s/inner/7");
        let anchor = set
            .resolve(root, "https://example.com/s/inner/7#a7")
            .unwrap();
        assert_eq!(anchor, inner);
    }

    #[test]
    fn every_reachable_reference_is_resolved_by_load() {
        let message = err(&format!(
            "{HEAD}paths:\n  /a: {{$ref: '#/x-paths/nope'}}\nx-paths: {{}}\n"
        ));
        assert_eq!(
            message,
            "api.yaml:4:14: $ref `#/x-paths/nope`: names nothing: there is no `nope` in `/x-paths`"
        );
    }
}
