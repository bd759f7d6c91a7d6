//! The parts of an AsyncAPI document the rules compare, read from the spanned tree for both
//! 2.x (operations inside channels as `publish`/`subscribe`) and 3.0 (top-level `operations`
//! with `action`, channels with `address`).

use std::collections::{BTreeMap, HashMap};

use contractor_core::schema::{SchemaGraph, SchemaId};
use contractor_core::{InputError, Location};
use contractor_openapi::{DocumentSet, NodeId, Value};
use serde_json::Value as Json;

/// Data nested deeper than this is cut off when copied for comparison.
const MAX_DEPTH: usize = 64;

/// At most this many nodes are copied for one compared value (bindings, security, an Avro
/// payload): `$ref`s to shared nodes are copied at every use, so a hostile document could
/// otherwise ask for exponentially many.
const MAX_COPIED_NODES: usize = 200_000;

/// What the application does with an operation's messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// It receives them (2.x `publish`, 3.0 `receive`): compared like a request body.
    Receive,
    /// It sends them (2.x `subscribe`, 3.0 `send`): compared like a response body.
    Send,
    /// Not said: compared both ways.
    Unknown,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Receive => "receive",
            Action::Send => "send",
            Action::Unknown => "unknown",
        }
    }
}

#[derive(Debug)]
pub struct Api {
    pub servers: BTreeMap<String, Server>,
    pub channels: BTreeMap<String, Channel>,
    pub operations: BTreeMap<String, Operation>,
    /// JSON payload and header schemas, lowered by the OpenAPI lowering.
    pub schemas: SchemaGraph,
    /// The root of the document, for findings about things that are gone.
    pub root: Location,
    /// The `servers`, `channels` and `operations` keys, where present: where removals point.
    pub servers_at: Option<Location>,
    pub channels_at: Option<Location>,
    pub operations_at: Option<Location>,
}

#[derive(Debug)]
pub struct Server {
    pub location: Location,
    /// Where it is: 3.0 `host` + `pathname`, 2.x `url`.
    pub address: Option<String>,
    pub protocol: Option<String>,
    pub security: Option<Json>,
    pub bindings: Option<Json>,
}

#[derive(Debug)]
pub struct Channel {
    pub location: Location,
    /// The address (3.0 `address`, 2.x the channel's key).
    pub address: Option<String>,
    pub parameters: BTreeMap<String, Location>,
    pub bindings: Option<Json>,
}

#[derive(Debug)]
pub struct Operation {
    pub location: Location,
    /// The key of the channel it uses.
    pub channel: String,
    pub action: Action,
    pub messages: BTreeMap<String, Message>,
    pub security: Option<Json>,
    pub bindings: Option<Json>,
    /// Where fields taken from a trait are written (`security`, `bindings`).
    pub trait_fields: BTreeMap<&'static str, Location>,
}

#[derive(Debug)]
pub struct Message {
    pub location: Location,
    pub content_type: Option<String>,
    pub payload: Option<Payload>,
    pub headers: Option<(SchemaId, Location)>,
    pub correlation_id: Option<Json>,
    pub bindings: Option<Json>,
    /// Where fields taken from a trait are written (`contentType`, `correlationId`,
    /// `bindings`…).
    pub trait_fields: BTreeMap<&'static str, Location>,
}

/// Where a finding about `field` points: inside the trait it came from, else at `own`.
fn field_at<'a>(
    trait_fields: &'a BTreeMap<&'static str, Location>,
    own: &'a Location,
    field: &str,
) -> &'a Location {
    trait_fields.get(field).unwrap_or(own)
}

impl Operation {
    pub fn at(&self, field: &str) -> &Location {
        field_at(&self.trait_fields, &self.location, field)
    }
}

impl Message {
    pub fn at(&self, field: &str) -> &Location {
        field_at(&self.trait_fields, &self.location, field)
    }
}

#[derive(Debug)]
pub enum Payload {
    /// JSON Schema (AsyncAPI's own schema format, JSON Schema drafts, OpenAPI schemas).
    Schema(SchemaId, Location),
    /// An Avro schema, read by `contractor-avro`.
    Avro(Box<contractor_avro::Schema>, Location),
    /// A `$ref` to an `http(s)` URL, never fetched: only the URL is compared.
    Remote(String, Location),
    /// Another format (Protobuf, RAML…): only the format is compared.
    Other(String, Location),
}

impl Payload {
    pub fn format(&self) -> &str {
        match self {
            Payload::Schema(..) => "JSON Schema",
            Payload::Avro(..) => "Avro",
            Payload::Remote(..) => "a remote schema",
            Payload::Other(format, _) => format,
        }
    }

    pub fn location(&self) -> &Location {
        match self {
            Payload::Schema(_, l)
            | Payload::Avro(_, l)
            | Payload::Remote(_, l)
            | Payload::Other(_, l) => l,
        }
    }
}

/// A message before its schemas are lowered.
struct RawMessage {
    location: Location,
    content_type: Option<String>,
    payload: Option<(NodeId, String)>,
    headers: Option<NodeId>,
    correlation_id: Option<Json>,
    bindings: Option<Json>,
    trait_fields: BTreeMap<&'static str, Location>,
}

/// An operation before its messages are read: name, channel, action, location, node, messages.
type RawOperation = (
    String,
    String,
    Action,
    Location,
    NodeId,
    Vec<(String, NodeId)>,
);

struct Reader<'d> {
    docs: &'d mut DocumentSet,
    default_content_type: Option<String>,
    schema_nodes: Vec<NodeId>,
    /// Nodes left to copy in the current [`Reader::json`] call.
    budget: usize,
}

pub(crate) fn build(docs: &mut DocumentSet, major: u32) -> Result<Api, InputError> {
    let root = docs.root();
    let mut r = Reader {
        default_content_type: docs
            .get(root, "defaultContentType")
            .and_then(|n| text(docs, n)),
        docs,
        schema_nodes: Vec::new(),
        budget: 0,
    };
    let mut api = Api {
        servers: BTreeMap::new(),
        channels: BTreeMap::new(),
        operations: BTreeMap::new(),
        schemas: SchemaGraph::default(),
        root: r.docs.location(root),
        servers_at: None,
        channels_at: None,
        operations_at: None,
    };
    for (key, at, _) in r.entries(root) {
        match key.as_str() {
            "servers" => api.servers_at = Some(at),
            "channels" => api.channels_at = Some(at),
            "operations" => api.operations_at = Some(at),
            _ => {}
        }
    }
    if let Some(servers) = r.docs.get(root, "servers") {
        for (name, key_at, node) in r.entries(servers) {
            let node = r.docs.deref(node)?;
            let security = match r.docs.get(node, "security") {
                Some(s) => Some(r.json(s, true)?),
                None => None,
            };
            let address = match (r.string_at(node, "host"), r.string_at(node, "url")) {
                (Some(host), _) => Some(host + &r.string_at(node, "pathname").unwrap_or_default()),
                (None, url) => url,
            }
            .map(|a| {
                // `wss://api.example.com/` (2.x) and `api.example.com` (3.0) are one place.
                let a = a.split_once("://").map_or(a.as_str(), |(_, rest)| rest);
                a.trim_end_matches('/').to_string()
            });
            let server = Server {
                location: key_at,
                address,
                protocol: r.string_at(node, "protocol"),
                security,
                bindings: r.json_at(node, "bindings")?,
            };
            api.servers.insert(name, server);
        }
    }
    let mut raw_ops: Vec<RawOperation> = Vec::new();
    if let Some(channels) = r.docs.get(root, "channels") {
        for (name, key_at, node) in r.entries(channels) {
            let node = r.docs.deref(node)?;
            let mut parameters = BTreeMap::new();
            if let Some(params) = r.docs.get(node, "parameters") {
                for (param, at, _) in r.entries(params) {
                    parameters.insert(param, at);
                }
            }
            let address = if major == 2 {
                Some(name.clone())
            } else {
                r.string_at(node, "address")
            };
            if major == 2 {
                for (word, action) in [("publish", Action::Receive), ("subscribe", Action::Send)] {
                    if let Some(op) = r.docs.get(node, word) {
                        let op = r.docs.deref(op)?;
                        let messages = r.messages_2(op)?;
                        let at = r.docs.location(op);
                        raw_ops.push((
                            format!("{word} {name}"),
                            name.clone(),
                            action,
                            at,
                            op,
                            messages,
                        ));
                    }
                }
            }
            api.channels.insert(
                name,
                Channel {
                    location: key_at,
                    address,
                    parameters,
                    bindings: r.json_at(node, "bindings")?,
                },
            );
        }
    }
    if major >= 3
        && let Some(operations) = r.docs.get(root, "operations")
    {
        for (name, key_at, node) in r.entries(operations) {
            let node = r.docs.deref(node)?;
            let action = match r.string_at(node, "action").as_deref() {
                Some("receive") => Action::Receive,
                Some("send") => Action::Send,
                _ => Action::Unknown,
            };
            let (channel, channel_node) = match r.docs.get(node, "channel") {
                Some(c) => {
                    let name = r.ref_name(c).unwrap_or_default();
                    (name, Some(r.docs.deref(c)?))
                }
                None => (String::new(), None),
            };
            let mut messages = Vec::new();
            if let Some(list) = r.docs.get(node, "messages") {
                for item in r.items(list) {
                    let name = r
                        .ref_name(item)
                        .unwrap_or_else(|| format!("#{}", messages.len()));
                    messages.push((name, item));
                }
            } else if let Some(c) = channel_node
                && let Some(map) = r.docs.get(c, "messages")
            {
                for (name, _, item) in r.entries(map) {
                    messages.push((name, item));
                }
            }
            raw_ops.push((name, channel, action, key_at, node, messages));
        }
    }

    // Messages, collecting the schema nodes to lower in one graph.
    let mut ops = Vec::new();
    for (name, channel, action, location, node, messages) in raw_ops {
        let mut raw = Vec::new();
        for (message_name, message) in messages {
            raw.push((message_name, r.message(message)?));
        }
        let traits = r.traits(node)?;
        let mut trait_fields = BTreeMap::new();
        let security = match r.field(node, &traits, "security", &mut trait_fields) {
            Some(s) => Some(r.json(s, true)?),
            None => None,
        };
        let bindings = match r.field(node, &traits, "bindings", &mut trait_fields) {
            Some(b) => Some(r.json(b, true)?),
            None => None,
        };
        ops.push((
            name,
            channel,
            action,
            location,
            raw,
            (security, bindings, trait_fields),
        ));
    }
    let nodes = std::mem::take(&mut r.schema_nodes);
    let (graph, ids) = contractor_openapi::lower::lower_schemas(r.docs, &nodes)?;
    let ids: HashMap<NodeId, SchemaId> = nodes.into_iter().zip(ids).collect();
    api.schemas = graph;
    for (name, channel, action, location, raw, (security, bindings, trait_fields)) in ops {
        let mut messages = BTreeMap::new();
        for (message_name, m) in raw {
            let payload = match m.payload {
                None => None,
                Some((node, format)) => {
                    let at = r.docs.location(node);
                    let lower = format.to_ascii_lowercase();
                    Some(if let Some((_, url)) = r.docs.reference(node) {
                        // Still a reference object after `deref`: a remote one.
                        Payload::Remote(url.to_string(), at)
                    } else if lower.contains("avro") {
                        let json = r.json(node, false)?;
                        let schema =
                            contractor_avro::Schema::from_json("payload", &json).map_err(|e| {
                                r.docs.error_at(
                                    node,
                                    format!(
                                        "the Avro payload is not a valid schema: {}",
                                        e.message
                                    ),
                                )
                            })?;
                        Payload::Avro(Box::new(schema), at)
                    } else if let Some(&id) = ids.get(&node) {
                        Payload::Schema(id, at)
                    } else {
                        Payload::Other(format, at)
                    })
                }
            };
            let headers = m
                .headers
                .and_then(|h| ids.get(&h).map(|&id| (id, r.docs.location(h))));
            messages.insert(
                message_name,
                Message {
                    location: m.location,
                    content_type: m.content_type,
                    payload,
                    headers,
                    correlation_id: m.correlation_id,
                    bindings: m.bindings,
                    trait_fields: m.trait_fields,
                },
            );
        }
        api.operations.insert(
            name,
            Operation {
                location,
                channel,
                action,
                messages,
                security,
                bindings,
                trait_fields,
            },
        );
    }
    Ok(api)
}

/// Whether a schema format is JSON Schema (what the schema engine compares).
fn is_json_schema(format: &str) -> bool {
    let f = format.to_ascii_lowercase();
    f.is_empty()
        || f.starts_with("application/vnd.aai.asyncapi")
        || f.starts_with("application/schema+json")
        || f.starts_with("application/schema+yaml")
        || f.starts_with("application/vnd.oai.openapi")
}

fn text(docs: &DocumentSet, node: NodeId) -> Option<String> {
    match &docs.node(node).value {
        Value::String(s) => Some(s.clone()),
        _ => None,
    }
}

impl Reader<'_> {
    fn entries(&self, node: NodeId) -> Vec<(String, Location, NodeId)> {
        match &self.docs.node(node).value {
            Value::Map(entries) => entries
                .iter()
                .map(|e| {
                    (
                        e.key.text.to_string(),
                        self.docs.span_location(e.key.span),
                        e.value,
                    )
                })
                .collect(),
            _ => Vec::new(),
        }
    }

    fn items(&self, node: NodeId) -> Vec<NodeId> {
        match &self.docs.node(node).value {
            Value::Seq(items) => items.to_vec(),
            _ => Vec::new(),
        }
    }

    fn string_at(&self, map: NodeId, key: &str) -> Option<String> {
        self.docs.get(map, key).and_then(|n| text(self.docs, n))
    }

    /// The last segment of a `$ref` (`#/components/messages/UserSignedUp` → `UserSignedUp`).
    fn ref_name(&self, node: NodeId) -> Option<String> {
        let (_, reference) = self.docs.reference(node)?;
        let last = reference.rsplit(['/', '#']).find(|s| !s.is_empty())?;
        Some(last.replace("~1", "/").replace("~0", "~"))
    }

    /// A 2.x operation's messages: `message`, or `message.oneOf`.
    fn messages_2(&mut self, op: NodeId) -> Result<Vec<(String, NodeId)>, InputError> {
        let Some(message) = self.docs.get(op, "message") else {
            return Ok(Vec::new());
        };
        let target = self.docs.deref(message)?;
        let list = match self.docs.get(target, "oneOf") {
            Some(list) => self.items(list),
            None => vec![message],
        };
        let mut out = Vec::new();
        for (i, item) in list.into_iter().enumerate() {
            let resolved = self.docs.deref(item)?;
            let traits = self.traits(resolved)?;
            let mut ignored = BTreeMap::new();
            let mut id = |key| {
                self.field(resolved, &traits, key, &mut ignored)
                    .and_then(|n| text(self.docs, n))
            };
            let name = id("messageId")
                .or_else(|| id("name"))
                .or_else(|| self.ref_name(item))
                .unwrap_or_else(|| format!("#{i}"));
            out.push((name, item));
        }
        Ok(out)
    }

    fn message(&mut self, node: NodeId) -> Result<RawMessage, InputError> {
        let location = self.docs.location(node);
        let node = self.docs.deref(node)?;
        let traits = self.traits(node)?;
        let mut at = BTreeMap::new();
        let content_type = self
            .field(node, &traits, "contentType", &mut at)
            .and_then(|n| text(self.docs, n))
            .or_else(|| self.default_content_type.clone());
        let mut format = self
            .field(node, &traits, "schemaFormat", &mut at)
            .and_then(|n| text(self.docs, n))
            .unwrap_or_default();
        let payload = match self.docs.get(node, "payload") {
            None => None,
            Some(p) => {
                let mut p = self.docs.deref(p)?;
                // 3.0's Multi Format Schema Object.
                if let Some(f) = self.string_at(p, "schemaFormat")
                    && let Some(schema) = self.docs.get(p, "schema")
                {
                    format = f;
                    p = self.docs.deref(schema)?;
                }
                if is_json_schema(&format) && self.docs.reference(p).is_none() {
                    self.schema_nodes.push(p);
                }
                Some((p, format))
            }
        };
        let headers = match self.field(node, &traits, "headers", &mut at) {
            None => None,
            Some(h) => {
                let mut h = self.docs.deref(h)?;
                if self.string_at(h, "schemaFormat").is_some()
                    && let Some(schema) = self.docs.get(h, "schema")
                {
                    h = self.docs.deref(schema)?;
                }
                self.schema_nodes.push(h);
                Some(h)
            }
        };
        let correlation_id = match self.field(node, &traits, "correlationId", &mut at) {
            None => None,
            Some(c) => {
                let c = self.docs.deref(c)?;
                self.json_at(c, "location")?
            }
        };
        let bindings = match self.field(node, &traits, "bindings", &mut at) {
            Some(b) => Some(self.json(b, true)?),
            None => None,
        };
        Ok(RawMessage {
            location,
            content_type,
            payload,
            headers,
            correlation_id,
            bindings,
            trait_fields: at,
        })
    }

    /// The `traits` of an operation or message, `$ref`s followed, in order.
    fn traits(&mut self, node: NodeId) -> Result<Vec<NodeId>, InputError> {
        let Some(list) = self.docs.get(node, "traits") else {
            return Ok(Vec::new());
        };
        let list = self.docs.deref(list)?;
        let mut out = Vec::new();
        for item in self.items(list) {
            out.push(self.docs.deref(item)?);
        }
        Ok(out)
    }

    /// A field of an operation or message with its traits applied: the target's own field wins
    /// (2.x: a shallow merge of the traits with the target; 3.0: the traits merged in order as
    /// JSON Merge Patches, never overriding the target's own properties), else the last trait
    /// that has it, where a `null` removes it (RFC 7386). A field taken from a trait has its
    /// position recorded in `at`.
    fn field(
        &self,
        node: NodeId,
        traits: &[NodeId],
        key: &'static str,
        at: &mut BTreeMap<&'static str, Location>,
    ) -> Option<NodeId> {
        if let Some(own) = self.docs.get(node, key) {
            return Some(own);
        }
        let from_trait = traits.iter().rev().find_map(|&t| self.docs.get(t, key))?;
        if matches!(self.docs.node(from_trait).value, Value::Null) {
            return None;
        }
        at.insert(key, self.docs.location(from_trait));
        Some(from_trait)
    }

    fn json_at(&mut self, map: NodeId, key: &str) -> Result<Option<Json>, InputError> {
        match self.docs.get(map, key) {
            Some(n) => Ok(Some(self.json(n, true)?)),
            None => Ok(None),
        }
    }

    /// A node as JSON, `$ref`s followed; with `docs_free`, prose (`description`, `summary`,
    /// `title`, `x-…`) left out so that documentation edits compare equal.
    fn json(&mut self, node: NodeId, docs_free: bool) -> Result<Json, InputError> {
        self.budget = MAX_COPIED_NODES;
        self.json_depth(node, docs_free, 0)
    }

    fn json_depth(
        &mut self,
        node: NodeId,
        docs_free: bool,
        depth: usize,
    ) -> Result<Json, InputError> {
        if depth > MAX_DEPTH {
            return Ok(Json::String("<nested too deep>".into()));
        }
        if self.budget == 0 {
            return Err(self.docs.error_at(
                node,
                format!(
                    "this value expands to more than {MAX_COPIED_NODES} nodes through its $refs"
                ),
            ));
        }
        self.budget -= 1;
        let node = self.docs.deref(node)?;
        Ok(match self.docs.node(node).value.clone() {
            Value::Null => Json::Null,
            Value::Bool(b) => Json::Bool(b),
            Value::Number(n) => n
                .as_i64()
                .map(Json::from)
                .or_else(|| {
                    n.as_f64()
                        .and_then(serde_json::Number::from_f64)
                        .map(Json::Number)
                })
                .unwrap_or_else(|| Json::String(n.as_str().into())),
            Value::String(s) => Json::String(s),
            Value::Seq(items) => {
                let mut out = Vec::new();
                for item in items.iter() {
                    out.push(self.json_depth(*item, docs_free, depth + 1)?);
                }
                Json::Array(out)
            }
            Value::Map(entries) => {
                let mut out = serde_json::Map::new();
                for e in entries.iter() {
                    let key = e.key.text.to_string();
                    if docs_free
                        && (matches!(key.as_str(), "description" | "summary" | "title")
                            || key.starts_with("x-"))
                    {
                        continue;
                    }
                    out.insert(key, self.json_depth(e.value, docs_free, depth + 1)?);
                }
                Json::Object(out)
            }
        })
    }
}
