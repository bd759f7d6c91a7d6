//! End-to-end tests of `contractor diff` on AsyncAPI 2.x and 3.0 documents: the real binary on
//! small documents written to a temporary directory; exit codes, positions, the direction of an
//! operation deciding a payload's verdict, Avro payloads, malformed input, every report format
//! and `contractor rules --lang asyncapi`.

mod common;

use common::*;
use serde_json::Value;

/// A 3.0 document; `{action}` is the operation's action, `{max}` the payload's `maxLength`.
const V3: &str = "asyncapi: 3.0.0
info:
  title: Accounts
  version: {version}
  description: {description}
channels:
  userSignedUp:
    address: user/signedup
    description: Users who signed up.
    messages:
      UserSignedUp:
        contentType: application/json
        payload:
          type: object
          properties:
            name:
              type: string
              maxLength: {max}
  userDeleted:
    address: user/deleted
operations:
  onUserSignedUp:
    action: {action}
    channel:
      $ref: '#/channels/userSignedUp'
";

fn v3(action: &str, max: u32, version: &str, description: &str) -> String {
    V3.replace("{action}", action)
        .replace("{max}", &max.to_string())
        .replace("{version}", version)
        .replace("{description}", description)
}

/// Writes the two sides into a fresh directory; returns it with the two file names.
fn pair(old: &str, new: &str, ext: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write_tree(
        dir.path(),
        &[(&format!("old.{ext}"), old), (&format!("new.{ext}"), new)],
    );
    dir
}

fn diff(dir: &tempfile::TempDir, ext: &str, extra: &[&str]) -> std::process::Output {
    let (old, new) = (format!("old.{ext}"), format!("new.{ext}"));
    let mut args = vec!["diff", old.as_str(), new.as_str(), "--color", "never"];
    args.extend_from_slice(extra);
    contractor_in(dir.path(), &args)
}

fn findings(out: &std::process::Output) -> Vec<Value> {
    let v: Value =
        serde_json::from_str(&stdout(out)).unwrap_or_else(|e| panic!("{e}: {}", stdout(out)));
    v["findings"].as_array().cloned().unwrap_or_default()
}

fn rules_with(out: &std::process::Output, severity: &str) -> Vec<String> {
    let mut rules: Vec<String> = findings(out)
        .iter()
        .filter(|f| f["severity"] == severity)
        .map(|f| f["rule"].as_str().unwrap_or_default().to_string())
        .collect();
    rules.sort();
    rules
}

#[test]
fn breaking_changes_exit_1_with_file_line_column() {
    let old = v3("receive", 100, "1.0.0", "Accounts.");
    let new = old.replace("  userDeleted:\n    address: user/deleted\n", "");
    let new = new.replace("maxLength: 100", "maxLength: 50");
    let dir = pair(&old, &new, "yaml");
    let out = diff(&dir, "yaml", &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("new.yaml:17:15: error[payload-max-length-decreased] operation `onUserSignedUp` (receive), message `UserSignedUp`"),
        "{text}"
    );
    assert!(
        text.contains("new.yaml:6:1: error[channel-removed] channel `userDeleted` was removed"),
        "{text}"
    );
}

#[test]
fn info_and_description_edits_exit_0() {
    let old = v3("send", 100, "1.0.0", "Accounts.");
    let new = v3("send", 100, "2.0.0", "The accounts service, rewritten.")
        .replace("Users who signed up.", "Everyone who signed up.")
        .replace("title: Accounts", "title: Accounts API");
    let dir = pair(&old, &new, "yaml");
    let out = diff(&dir, "yaml", &["--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(findings(&out).is_empty(), "{}", stdout(&out));
}

#[test]
fn the_operation_direction_decides_a_payload_verdict() {
    // A tighter limit breaks what others send to a receiving application…
    let dir = pair(
        &v3("receive", 100, "1", "d"),
        &v3("receive", 50, "1", "d"),
        "yaml",
    );
    let out = diff(&dir, "yaml", &["--format", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(rules_with(&out, "error"), ["payload-max-length-decreased"]);
    // …and is harmless for what a sending application emits.
    let dir = pair(
        &v3("send", 100, "1", "d"),
        &v3("send", 50, "1", "d"),
        "yaml",
    );
    let out = diff(&dir, "yaml", &["--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(rules_with(&out, "error").is_empty());
    assert_eq!(rules_with(&out, "info"), ["payload-max-length-decreased"]);
    // A looser limit: the other way round.
    let dir = pair(
        &v3("send", 100, "1", "d"),
        &v3("send", 200, "1", "d"),
        "yaml",
    );
    let out = diff(&dir, "yaml", &["--format", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(rules_with(&out, "error"), ["payload-max-length-increased"]);
    // No action: both ways, so either change breaks.
    let dir = pair(
        &v3("send", 100, "1", "d").replace("    action: send\n", ""),
        &v3("send", 50, "1", "d").replace("    action: send\n", ""),
        "yaml",
    );
    let out = diff(&dir, "yaml", &["--format", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
}

#[test]
fn asyncapi_2_publish_and_subscribe_have_opposite_directions() {
    let old = "asyncapi: 2.6.0
info: {title: Lights, version: 1.0.0}
channels:
  light/measured:
    {word}:
      message:
        payload:
          type: object
          properties:
            lumens: {type: integer, maximum: 1000}
";
    let new = old.replace("maximum: 1000", "maximum: 500");
    let dir = pair(
        &old.replace("{word}", "publish"),
        &new.replace("{word}", "publish"),
        "yaml",
    );
    assert_eq!(diff(&dir, "yaml", &[]).status.code(), Some(1));
    let dir = pair(
        &old.replace("{word}", "subscribe"),
        &new.replace("{word}", "subscribe"),
        "yaml",
    );
    assert_eq!(diff(&dir, "yaml", &[]).status.code(), Some(0));
}

#[test]
fn message_traits_are_applied_before_comparing() {
    let old = "asyncapi: 3.0.0
info: {title: Accounts, version: 1.0.0}
channels:
  userSignedUp:
    address: user/signedup
    messages:
      UserSignedUp:
        payload: {type: string}
        traits:
          - $ref: '#/components/messageTraits/Tracing'
operations:
  onUserSignedUp:
    action: receive
    channel:
      $ref: '#/channels/userSignedUp'
components:
  messageTraits:
    Tracing:
      headers:
        type: object
        properties:
          traceId: {type: string}
";
    let new = old.replace(
        "        type: object\n",
        "        type: object\n        required: [traceId]\n",
    );
    let dir = pair(old, &new, "yaml");
    let out = diff(&dir, "yaml", &["--format", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(
        rules_with(&out, "error"),
        ["headers-property-became-required"],
        "{}",
        stdout(&out)
    );
    // Where the trait writes it, not where the message is.
    assert_eq!(findings(&out)[0]["location"]["start_line"], 23);
}

#[test]
fn avro_payloads_are_checked_by_the_avro_rules() {
    let old = r#"{
  "asyncapi": "2.6.0",
  "info": {"title": "Users", "version": "1.0.0"},
  "channels": {
    "users": {
      "WORD": {
        "message": {
          "schemaFormat": "application/vnd.apache.avro;version=1.9.0",
          "payload": {
            "type": "record", "name": "User",
            "fields": [{"name": "id", "type": "string"}]
          }
        }
      }
    }
  }
}
"#;
    let new = old.replace(
        r#"{"name": "id", "type": "string"}"#,
        r#"{"name": "id", "type": "string"}, {"name": "age", "type": "int"}"#,
    );
    // Receiving: the new schema must read old data, and `age` has no default.
    let dir = pair(
        &old.replace("WORD", "publish"),
        &new.replace("WORD", "publish"),
        "json",
    );
    let out = diff(&dir, "json", &["--format", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(
        rules_with(&out, "error"),
        ["payload-avro-reader-field-missing-default-value"]
    );
    let f = &findings(&out)[0];
    assert_eq!(f["location"]["path"], "new.json");
    // Sending: old readers skip the new field.
    let dir = pair(
        &old.replace("WORD", "subscribe"),
        &new.replace("WORD", "subscribe"),
        "json",
    );
    let out = diff(&dir, "json", &["--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(findings(&out).is_empty());
}

#[test]
fn multi_file_refs_are_followed() {
    let root = "asyncapi: 3.0.0
info: {title: Orders, version: 1.0.0}
channels:
  orders:
    address: orders
    messages:
      OrderPlaced:
        payload:
          $ref: './schemas/order.yaml'
operations:
  receiveOrder:
    action: receive
    channel:
      $ref: '#/channels/orders'
";
    let dir = tempfile::tempdir().unwrap();
    write_tree(
        dir.path(),
        &[
            ("old/api.yaml", root),
            (
                "old/schemas/order.yaml",
                "type: object\nproperties:\n  n: {type: integer, minimum: 1}\n",
            ),
            ("new/api.yaml", root),
            (
                "new/schemas/order.yaml",
                "type: object\nproperties:\n  n: {type: integer, minimum: 5}\n",
            ),
        ],
    );
    let out = contractor_in(
        dir.path(),
        &["diff", "old/api.yaml", "new/api.yaml", "--color", "never"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("new/schemas/order.yaml:3:6: error[payload-min-increased]"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn malformed_documents_exit_2_with_their_position() {
    let good = v3("send", 100, "1", "d");
    let dir = pair(&good, "asyncapi: 3.0.0\ninfo: [\n  title: x\n", "yaml");
    let out = diff(&dir, "yaml", &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.starts_with("error: new.yaml:"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");

    // A broken `$ref` on the old side, at its position.
    let broken = good.replace("'#/channels/userSignedUp'", "'#/channels/nowhere'");
    let dir = pair(&broken, &good, "yaml");
    let out = diff(&dir, "yaml", &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).starts_with("error: old.yaml:25:13: $ref"),
        "{}",
        stderr(&out)
    );

    // An Avro payload that is not an Avro schema.
    let avro = "asyncapi: 2.6.0
info: {title: t, version: '1'}
channels:
  users:
    publish:
      message:
        schemaFormat: application/vnd.apache.avro;version=1.9.0
        payload:
          name: User
";
    let dir = pair(&good, avro, "yaml");
    let out = diff(&dir, "yaml", &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).starts_with("error: new.yaml:9:11: the Avro payload is not a valid schema"),
        "{}",
        stderr(&out)
    );

    // An unsupported version.
    let dir = pair(&good, &good.replace("3.0.0", "3.1.0"), "yaml");
    let out = diff(&dir, "yaml", &[]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out),
        "error: new.yaml:1:11: unsupported AsyncAPI version `3.1.0`; contractor reads 2.x and 3.0\n"
    );
}

#[test]
fn every_report_format_renders() {
    let dir = pair(
        &v3("receive", 100, "1", "d"),
        &v3("receive", 50, "1", "d"),
        "yaml",
    );
    for format in ["text", "json", "github", "sarif", "junit", "markdown"] {
        let out = diff(&dir, "yaml", &["--format", format]);
        assert_eq!(out.status.code(), Some(1), "{format}: {}", stderr(&out));
        assert!(
            stdout(&out).contains("payload-max-length-decreased"),
            "{format}: {}",
            stdout(&out)
        );
    }
    let out = diff(&dir, "yaml", &["--format", "json"]);
    let f = &findings(&out)[0];
    assert_eq!(f["location"]["path"], "new.yaml");
    assert_eq!(f["location"]["start_line"], 17);
}

#[test]
fn rules_lists_the_asyncapi_rules() {
    let out = contractor(&["rules", "--lang", "asyncapi"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    for id in [
        "channel-removed",
        "operation-removed",
        "message-removed",
        "channel-parameter-added",
        "message-content-type-changed",
        "server-removed",
        "operation-security-changed",
        "message-correlation-id-changed",
        "channel-bindings-changed",
        "payload-type-changed",
        "headers-type-changed",
        "payload-avro-type-mismatch",
    ] {
        assert!(text.contains(id), "{id}: {text}");
    }
    let out = contractor(&["rules", "--lang", "asyncapi", "--json"]);
    assert_eq!(out.status.code(), Some(0));
    for line in stdout(&out).lines() {
        let _: Value = serde_json::from_str(line).unwrap();
    }
}

#[test]
fn against_a_git_ref() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(dir.path(), &[("api.yaml", &v3("receive", 100, "1", "d"))]);
    git(dir.path(), &["init", "-q"]);
    git(dir.path(), &["add", "."]);
    git(dir.path(), &["commit", "-qm", "v1"]);
    write_tree(dir.path(), &[("api.yaml", &v3("receive", 50, "2", "d"))]);
    let out = contractor_in(
        dir.path(),
        &["diff", "api.yaml", "--against", "HEAD", "--format", "json"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(rules_with(&out, "error"), ["payload-max-length-decreased"]);
}
