//! The AsyncAPI rules: structural ones written out, schema ones named `payload-<kind>` and
//! `headers-<kind>` from the core engine's change kinds, Avro ones `payload-avro-<kind>` from
//! `contractor-avro`'s incompatibility kinds.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use contractor_core::schema::{self, ChangeKind, Direction, SchemaGraph, SchemaId};
use contractor_core::{Finding, Location, RuleInfo, Severity};
use serde_json::Value as Json;

use crate::model::{Action, Api, Channel, Message, Operation, Payload};

macro_rules! fixed {
    ($($id:literal, $category:literal, $purpose:literal;)*) => {
        const FIXED: &[(&str, &str, &str)] = &[$(($id, $category, $purpose),)*];
    };
}

fixed! {
    "channel-removed", "channel", "A channel was removed.";
    "channel-address-changed", "channel", "A channel's address changed.";
    "channel-parameter-added", "channel", "A channel parameter was added.";
    "channel-parameter-removed", "channel", "A channel parameter was removed.";
    "channel-bindings-changed", "bindings", "A channel's protocol bindings changed (a warning).";
    "operation-removed", "operation", "An operation was removed.";
    "operation-action-changed", "operation", "An operation's action (send/receive) changed.";
    "operation-channel-changed", "operation", "An operation moved to another channel.";
    "operation-security-changed", "security", "An operation's security requirements changed.";
    "operation-bindings-changed", "bindings", "An operation's protocol bindings changed (a warning).";
    "message-removed", "message", "A message was removed from an operation (an error where the application receives it, a warning where it sends it).";
    "message-added", "message", "A message was added to an operation (a warning where the application sends it: its receivers may not know it).";
    "message-content-type-changed", "message", "A message's content type changed.";
    "message-payload-format-changed", "message", "A message's payload schema format changed.";
    "message-payload-removed", "message", "A message's payload schema was removed.";
    "message-payload-remote-changed", "message", "A message's payload is a remote schema (never fetched) whose URL changed (a warning).";
    "message-correlation-id-changed", "message", "A message's correlation id location changed or was removed.";
    "message-bindings-changed", "bindings", "A message's protocol bindings changed (a warning).";
    "server-removed", "server", "A server was removed.";
    "server-protocol-changed", "server", "A server's protocol changed.";
    "server-security-changed", "security", "A server's security requirements changed.";
    "server-bindings-changed", "bindings", "A server's protocol bindings changed (a warning).";
}

/// The two schema contexts: payloads and headers.
const SCHEMA_CONTEXTS: [(&str, &str); 2] = [("payload", "payload"), ("headers", "headers")];

fn category(name: &str) -> &'static [&'static str] {
    match name {
        "channel" => &["channel"],
        "bindings" => &["bindings"],
        "operation" => &["operation"],
        "security" => &["security"],
        "message" => &["message"],
        "server" => &["server"],
        "payload" => &["payload"],
        _ => &["headers"],
    }
}

fn avro_rule_id(kind: &str) -> String {
    format!(
        "payload-avro-{}",
        kind.to_ascii_lowercase().replace('_', "-")
    )
}

/// Every rule with its metadata, built once.
pub fn registry() -> &'static [RuleInfo] {
    static REGISTRY: OnceLock<Vec<RuleInfo>> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        let leak = |s: String| -> &'static str { Box::leak(s.into_boxed_str()) };
        let mut rules: Vec<RuleInfo> = FIXED
            .iter()
            .map(|(id, c, purpose)| RuleInfo {
                id,
                categories: category(c),
                default: true,
                deprecated: false,
                purpose,
            })
            .collect();
        for (prefix, c) in SCHEMA_CONTEXTS {
            for kind in ChangeKind::ALL {
                rules.push(RuleInfo {
                    id: leak(format!("{prefix}-{}", kind.id())),
                    categories: category(c),
                    default: true,
                    deprecated: false,
                    purpose: leak(format!(
                        "Message {prefix} schema: {} (severity from the operation's direction).",
                        kind.id().replace('-', " ")
                    )),
                });
            }
        }
        for info in contractor_avro::registry() {
            rules.push(RuleInfo {
                id: leak(avro_rule_id(info.id)),
                categories: category("payload"),
                default: true,
                deprecated: false,
                purpose: leak(format!("Avro message payload: {}", info.purpose)),
            });
        }
        rules
    })
}

fn info(id: &str) -> &'static RuleInfo {
    registry()
        .iter()
        .find(|r| r.id == id)
        .unwrap_or(&registry()[0])
}

struct Out {
    findings: Vec<Finding>,
}

impl Out {
    fn push(
        &mut self,
        id: &str,
        severity: Severity,
        location: &Location,
        old_location: Option<&Location>,
        scope: &str,
        message: String,
    ) {
        let info = info(id);
        self.findings.push(Finding {
            rule: info.id,
            categories: info.categories,
            severity,
            message,
            location: location.clone(),
            old_location: old_location.cloned(),
            scope: scope.to_string(),
        });
    }
}

/// Compares two AsyncAPI contracts. `scope` is what findings are matched against by `ignore`
/// (the new root file).
pub fn diff(old: &Api, new: &Api, scope: &str) -> Vec<Finding> {
    let mut out = Out {
        findings: Vec::new(),
    };
    let e = Severity::Error;
    let w = Severity::Warning;
    for (name, o) in &old.servers {
        // Keys are the document's own names: a server renamed at the same address is the same.
        let same_address = || {
            new.servers.iter().find(|(key, s)| {
                !old.servers.contains_key(*key) && s.address.is_some() && s.address == o.address
            })
        };
        let Some(n) = new
            .servers
            .get(name)
            .or_else(|| same_address().map(|(_, s)| s))
        else {
            out.push(
                "server-removed",
                e,
                new.servers_at.as_ref().unwrap_or(&new.root),
                Some(&o.location),
                scope,
                format!("server `{name}` was removed"),
            );
            continue;
        };
        if o.protocol != n.protocol {
            out.push(
                "server-protocol-changed",
                e,
                &n.location,
                Some(&o.location),
                scope,
                format!(
                    "server `{name}`: protocol changed from {} to {}",
                    show(&o.protocol),
                    show(&n.protocol)
                ),
            );
        }
        if o.security != n.security {
            out.push(
                "server-security-changed",
                e,
                &n.location,
                Some(&o.location),
                scope,
                format!("server `{name}`: security requirements changed"),
            );
        }
        if o.bindings != n.bindings {
            out.push(
                "server-bindings-changed",
                w,
                &n.location,
                Some(&o.location),
                scope,
                format!("server `{name}`: bindings changed"),
            );
        }
    }
    for (name, o) in &old.channels {
        let Some(n) = new_channel(old, new, name) else {
            out.push(
                "channel-removed",
                e,
                new.channels_at.as_ref().unwrap_or(&new.root),
                Some(&o.location),
                scope,
                format!("channel `{name}` was removed"),
            );
            continue;
        };
        if o.address != n.address {
            out.push(
                "channel-address-changed",
                e,
                &n.location,
                Some(&o.location),
                scope,
                format!(
                    "channel `{name}`: address changed from {} to {}",
                    show(&o.address),
                    show(&n.address)
                ),
            );
        }
        for (param, at) in &o.parameters {
            if !n.parameters.contains_key(param) {
                out.push(
                    "channel-parameter-removed",
                    e,
                    &n.location,
                    Some(at),
                    scope,
                    format!("channel `{name}`: parameter `{param}` was removed"),
                );
            }
        }
        for (param, at) in &n.parameters {
            if !o.parameters.contains_key(param) {
                out.push(
                    "channel-parameter-added",
                    e,
                    at,
                    Some(&o.location),
                    scope,
                    format!("channel `{name}`: parameter `{param}` was added"),
                );
            }
        }
        if o.bindings != n.bindings {
            out.push(
                "channel-bindings-changed",
                w,
                &n.location,
                Some(&o.location),
                scope,
                format!("channel `{name}`: bindings changed"),
            );
        }
    }
    for (name, o) in &old.operations {
        let Some(n) = new.operations.get(name) else {
            // Operation keys are the document's own names, and 2.x has one operation per channel
            // and direction where 3.0 often has one per message: operations under new names on
            // the same channel with the same action take over the old one's messages.
            let heirs: Vec<&Operation> = match new_channel(old, new, &o.channel) {
                Some(channel) => new
                    .operations
                    .iter()
                    .filter(|(key, op)| {
                        !old.operations.contains_key(*key)
                            && op.action == o.action
                            && new
                                .channels
                                .get(&op.channel)
                                .is_some_and(|c| std::ptr::eq(c, channel))
                    })
                    .map(|(_, op)| op)
                    .collect(),
                None => Vec::new(),
            };
            if !heirs.is_empty() {
                inherited_messages(&mut out, name, old, o, new, &heirs, scope);
                continue;
            }
            // A removed channel already says its operations are gone.
            if new_channel(old, new, &o.channel).is_some() || o.channel.is_empty() {
                out.push(
                    "operation-removed",
                    e,
                    new.operations_at
                        .as_ref()
                        .or(new.channels_at.as_ref())
                        .unwrap_or(&new.root),
                    Some(&o.location),
                    scope,
                    format!("operation `{name}` was removed"),
                );
            }
            continue;
        };
        operation(&mut out, name, old, o, new, n, scope);
    }
    contractor_core::finding::normalize(&mut out.findings);
    out.findings
}

/// The old operation `name`'s messages, looked up by name among the operations that took over
/// from it in the new contract.
fn inherited_messages(
    out: &mut Out,
    name: &str,
    old: &Api,
    o: &Operation,
    new: &Api,
    heirs: &[&Operation],
    scope: &str,
) {
    let action = o.action;
    for (message_name, om) in &o.messages {
        let found = heirs
            .iter()
            .find_map(|op| op.messages.get(message_name).map(|m| (op, m)));
        let Some((heir, nm)) = found else {
            let severity = match action {
                Action::Receive | Action::Unknown => Severity::Error,
                Action::Send => Severity::Warning,
            };
            out.push(
                "message-removed",
                severity,
                &heirs[0].location,
                Some(&om.location),
                scope,
                format!(
                    "operation `{name}` ({}): message `{message_name}` was removed",
                    action.as_str()
                ),
            );
            continue;
        };
        let subject = format!(
            "operation `{name}` ({}), message `{message_name}`",
            heir.action.as_str()
        );
        message(out, &subject, heir.action, old, om, new, nm, scope);
    }
}

/// The new contract's channel for the old one named `name`: the same key, else (keys are the
/// document's own names) the one at the same address whose key is new.
fn new_channel<'a>(old: &Api, new: &'a Api, name: &str) -> Option<&'a Channel> {
    if let Some(c) = new.channels.get(name) {
        return Some(c);
    }
    let address = old.channels.get(name)?.address.as_ref()?;
    new.channels
        .iter()
        .find(|(key, c)| !old.channels.contains_key(*key) && c.address.as_ref() == Some(address))
        .map(|(_, c)| c)
}

fn show(value: &Option<String>) -> String {
    match value {
        Some(v) => format!("`{v}`"),
        None => "none".into(),
    }
}

fn operation(
    out: &mut Out,
    name: &str,
    old: &Api,
    o: &Operation,
    new: &Api,
    n: &Operation,
    scope: &str,
) {
    let e = Severity::Error;
    if o.action != n.action {
        out.push(
            "operation-action-changed",
            e,
            &n.location,
            Some(&o.location),
            scope,
            format!(
                "operation `{name}`: action changed from {} to {}",
                o.action.as_str(),
                n.action.as_str()
            ),
        );
    }
    let same_channel = o.channel == n.channel
        || new_channel(old, new, &o.channel)
            .zip(new.channels.get(&n.channel))
            .is_some_and(|(a, b)| std::ptr::eq(a, b));
    if !same_channel {
        out.push(
            "operation-channel-changed",
            e,
            &n.location,
            Some(&o.location),
            scope,
            format!(
                "operation `{name}`: channel changed from `{}` to `{}`",
                o.channel, n.channel
            ),
        );
    }
    if o.security != n.security {
        out.push(
            "operation-security-changed",
            e,
            n.at("security"),
            Some(&o.location),
            scope,
            format!("operation `{name}`: security requirements changed"),
        );
    }
    if o.bindings != n.bindings {
        out.push(
            "operation-bindings-changed",
            Severity::Warning,
            n.at("bindings"),
            Some(&o.location),
            scope,
            format!("operation `{name}`: bindings changed"),
        );
    }
    // The direction of the messages is the new operation's.
    let action = n.action;
    for (message_name, nm) in &n.messages {
        if !o.messages.contains_key(message_name) {
            let severity = match action {
                Action::Receive => Severity::Info,
                Action::Send | Action::Unknown => Severity::Warning,
            };
            out.push(
                "message-added",
                severity,
                &nm.location,
                Some(&o.location),
                scope,
                format!(
                    "operation `{name}` ({}): message `{message_name}` was added",
                    action.as_str()
                ),
            );
        }
    }
    for (message_name, om) in &o.messages {
        let Some(nm) = n.messages.get(message_name) else {
            // Others send what the application receives: they break. What it sends, its
            // receivers simply no longer get.
            let severity = match action {
                Action::Receive | Action::Unknown => e,
                Action::Send => Severity::Warning,
            };
            out.push(
                "message-removed",
                severity,
                &n.location,
                Some(&om.location),
                scope,
                format!(
                    "operation `{name}` ({}): message `{message_name}` was removed",
                    action.as_str()
                ),
            );
            continue;
        };
        let subject = format!(
            "operation `{name}` ({}), message `{message_name}`",
            action.as_str()
        );
        message(out, &subject, action, old, om, new, nm, scope);
    }
}

#[allow(clippy::too_many_arguments)]
fn message(
    out: &mut Out,
    subject: &str,
    action: Action,
    old: &Api,
    o: &Message,
    new: &Api,
    n: &Message,
    scope: &str,
) {
    let e = Severity::Error;
    if o.content_type != n.content_type {
        out.push(
            "message-content-type-changed",
            e,
            n.at("contentType"),
            Some(&o.location),
            scope,
            format!(
                "{subject}: content type changed from {} to {}",
                show(&o.content_type),
                show(&n.content_type)
            ),
        );
    }
    if o.correlation_id.is_some() && o.correlation_id != n.correlation_id {
        out.push(
            "message-correlation-id-changed",
            e,
            n.at("correlationId"),
            Some(&o.location),
            scope,
            format!(
                "{subject}: correlation id changed from {} to {}",
                json_text(&o.correlation_id),
                json_text(&n.correlation_id)
            ),
        );
    }
    if o.bindings != n.bindings {
        out.push(
            "message-bindings-changed",
            Severity::Warning,
            n.at("bindings"),
            Some(&o.location),
            scope,
            format!("{subject}: bindings changed"),
        );
    }
    match (&o.payload, &n.payload) {
        (Some(op), None) => {
            out.push(
                "message-payload-removed",
                e,
                &n.location,
                Some(op.location()),
                scope,
                format!("{subject}: the payload schema was removed"),
            );
        }
        (Some(Payload::Schema(os, oat)), Some(Payload::Schema(ns, nat))) => {
            schemas(
                out,
                "payload",
                subject,
                action,
                &old.schemas,
                *os,
                oat,
                &new.schemas,
                *ns,
                nat,
                scope,
            );
        }
        (Some(Payload::Avro(oj, oat)), Some(Payload::Avro(nj, nat))) => {
            avro(out, subject, action, oj, oat, nj, nat, scope);
        }
        (Some(Payload::Other(of, _)), Some(Payload::Other(nf, _))) if of == nf => {}
        (Some(Payload::Remote(ou, _)), Some(Payload::Remote(nu, _))) if ou == nu => {}
        (Some(op @ Payload::Remote(..)), Some(np)) | (Some(op), Some(np @ Payload::Remote(..))) => {
            let show = |p: &Payload| match p {
                Payload::Remote(url, _) => format!("`{url}`"),
                other => other.format().to_string(),
            };
            out.push(
                "message-payload-remote-changed",
                Severity::Warning,
                np.location(),
                Some(op.location()),
                scope,
                format!(
                    "{subject}: payload changed from {} to {} (remote schemas are never fetched, so not compared)",
                    show(op),
                    show(np)
                ),
            );
        }
        (Some(op), Some(np)) => {
            out.push(
                "message-payload-format-changed",
                e,
                np.location(),
                Some(op.location()),
                scope,
                format!(
                    "{subject}: payload format changed from {} to {}",
                    op.format(),
                    np.format()
                ),
            );
        }
        _ => {}
    }
    if let (Some((os, oat)), Some((ns, nat))) = (&o.headers, &n.headers) {
        schemas(
            out,
            "headers",
            subject,
            action,
            &old.schemas,
            *os,
            oat,
            &new.schemas,
            *ns,
            nat,
            scope,
        );
    }
}

fn json_text(value: &Option<Json>) -> String {
    match value {
        Some(v) => v.to_string(),
        None => "none".into(),
    }
}

fn directions(action: Action) -> &'static [Direction] {
    match action {
        Action::Receive => &[Direction::Request],
        Action::Send => &[Direction::Response],
        Action::Unknown => &[Direction::Request, Direction::Response],
    }
}

#[allow(clippy::too_many_arguments)]
fn schemas(
    out: &mut Out,
    prefix: &str,
    subject: &str,
    action: Action,
    old: &SchemaGraph,
    old_root: SchemaId,
    old_at: &Location,
    new: &SchemaGraph,
    new_root: SchemaId,
    new_at: &Location,
    scope: &str,
) {
    // Unknown direction: both walks, the worse severity of each change.
    let mut merged: BTreeMap<(ChangeKind, String), schema::Change> = BTreeMap::new();
    for &direction in directions(action) {
        for change in schema::compare(old, old_root, new, new_root, direction) {
            let key = (change.kind, change.path.clone());
            match merged.get_mut(&key) {
                Some(existing) if change.severity < existing.severity => *existing = change,
                Some(_) => {}
                None => {
                    merged.insert(key, change);
                }
            }
        }
    }
    for change in merged.into_values() {
        let id = format!("{prefix}-{}", change.kind.id());
        let location = if change.kind == ChangeKind::PropertyRemoved {
            change
                .old_location
                .clone()
                .unwrap_or_else(|| old_at.clone())
        } else {
            change
                .new_location
                .clone()
                .unwrap_or_else(|| new_at.clone())
        };
        out.push(
            &id,
            change.severity,
            &location,
            change.old_location.as_ref().or(Some(old_at)),
            scope,
            format!("{subject}: {prefix}: {}", change.message),
        );
    }
}

#[allow(clippy::too_many_arguments)]
fn avro(
    out: &mut Out,
    subject: &str,
    action: Action,
    old: &contractor_avro::Schema,
    old_at: &Location,
    new: &contractor_avro::Schema,
    new_at: &Location,
    scope: &str,
) {
    // Receive: the application (new reader) reads what old writers wrote.
    // Send: old readers read what the application (new writer) writes.
    let mut checks: Vec<(&contractor_avro::Schema, &contractor_avro::Schema, &str)> = Vec::new();
    if matches!(action, Action::Receive | Action::Unknown) {
        checks.push((
            new,
            old,
            "the new schema reading data written with the old one",
        ));
    }
    if matches!(action, Action::Send | Action::Unknown) {
        checks.push((
            old,
            new,
            "data written with the new schema, read by the old one",
        ));
    }
    for (reader, writer, how) in checks {
        for i in contractor_avro::check(reader, writer) {
            let new_pointer = if std::ptr::eq(reader, new) {
                &i.reader.pointer
            } else {
                &i.writer.pointer
            };
            let id = avro_rule_id(i.kind.id());
            let pointer = if new_pointer.is_empty() {
                "/"
            } else {
                new_pointer
            };
            out.push(
                &id,
                Severity::Error,
                new_at,
                Some(old_at),
                scope,
                format!("{subject}: Avro payload `{pointer}`: {} ({how})", i.message),
            );
        }
    }
}
