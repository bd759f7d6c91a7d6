//! Lowering a loaded document into the [`Api`] model the rules read.
//!
//! 3.0 and 3.1 meet here: `nullable: true` and `type: [T, "null"]` both add
//! the `null` type, boolean and numeric `exclusiveMinimum` both become an
//! exclusive bound, `const` becomes a one-value enum. Schemas are lowered
//! through a worklist (never by recursion on the document's depth) into one
//! `SchemaGraph`, one node per schema node of the document, so a `$ref` to a
//! component is an edge to that component's node and cycles are just cycles.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use contractor_core::InputError;
use contractor_core::schema::{Additional, Bound, Discriminator, JsonType, Schema, SchemaId};
use serde_json::Value as Json;

use crate::model::{
    Api, Header, Media, Method, Operation, ParamIn, Parameter, RequestBody, Response, Security,
    SecurityScheme,
};
use crate::refs::DocumentSet;
use crate::tree::{NodeId, Value};

/// How deep an `enum` or `default` value is copied; deeper data is cut off
/// (it is only compared, and a document that deep is hostile anyway).
const MAX_VALUE_DEPTH: usize = 64;

struct Lowerer<'d> {
    docs: &'d mut DocumentSet,
    api: Api,
    /// Schema node (after `$ref`s) -> its id.
    schema_ids: HashMap<NodeId, SchemaId>,
    /// Schemas reserved but not yet read.
    queue: Vec<(NodeId, SchemaId)>,
    /// Names of named schemas: `components/schemas` entries of every loaded
    /// file, and whole files referenced as a schema (named by their stem).
    names: HashMap<NodeId, String>,
    /// Give an `enum`/`const` without `type` the types of its values (for [`lower_schemas`]).
    infer_enum_types: bool,
}

/// Lowers every operation, webhook, security scheme and reachable schema.
pub fn lower(docs: &mut DocumentSet) -> Result<Api, InputError> {
    let version = docs.version().map(|v| v.to_string()).unwrap_or_default();
    let names = schema_names(docs);
    let mut l = Lowerer {
        docs,
        api: Api {
            version,
            ..Api::default()
        },
        schema_ids: HashMap::new(),
        queue: Vec::new(),
        names,
        infer_enum_types: false,
    };
    let root = l.docs.root();
    if let Some(info) = l.docs.get(root, "info") {
        l.api.title = l.string_at(info, "title").unwrap_or_default();
        l.api.api_version = l.string_at(info, "version").unwrap_or_default();
        l.api.description = l.string_at(info, "description");
    }
    let global_security = match l.docs.get(root, "security") {
        Some(node) => l.security(node)?,
        None => Vec::new(),
    };
    if let Some(paths) = l.docs.get(root, "paths") {
        for (path, item) in l.entries(paths) {
            let ops = l.path_item(&path, item, &global_security)?;
            l.api.operations.extend(ops);
        }
    }
    if let Some(hooks) = l.docs.get(root, "webhooks") {
        for (name, item) in l.entries(hooks) {
            let ops = l.path_item(&name, item, &global_security)?;
            l.api.webhooks.extend(ops);
        }
    }
    if let Some(components) = l.docs.get(root, "components") {
        if let Some(schemes) = l.docs.get(components, "securitySchemes") {
            for (name, node) in l.entries(schemes) {
                let node = l.docs.deref(node)?;
                let text = |l: &Lowerer<'_>, key: &str| {
                    l.docs
                        .get(node, key)
                        .and_then(|n| l.string(n))
                        .unwrap_or_default()
                };
                let kind = text(&l, "type");
                let detail = match kind.as_str() {
                    "http" => text(&l, "scheme").to_ascii_lowercase(),
                    "apiKey" => format!("{} {}", text(&l, "in"), text(&l, "name")),
                    "openIdConnect" => text(&l, "openIdConnectUrl"),
                    _ => String::new(),
                };
                let location = l.docs.location(node);
                let (api_key_in, api_key_name) = if kind == "apiKey" {
                    (l.string_at(node, "in"), l.string_at(node, "name"))
                } else {
                    (None, None)
                };
                l.api.security_schemes.insert(
                    name,
                    SecurityScheme {
                        kind,
                        detail,
                        api_key_in,
                        api_key_name,
                        location,
                    },
                );
            }
        }
        if let Some(schemas) = l.docs.get(components, "schemas") {
            for (name, node) in l.entries(schemas) {
                let id = l.schema(node)?;
                l.api.components.insert(name, id);
            }
        }
    }
    l.drain()?;
    Ok(l.api)
}

/// Lowers only the schemas at `nodes` (and what they reach) into one graph, for other formats
/// that embed JSON Schema in a document loaded as a [`DocumentSet`] (AsyncAPI payloads and
/// headers). `components/schemas` entries keep their names; an `enum` or `const` without `type`
/// takes the types of its values (`const: start` is a string), so that `type: string` →
/// `const: start` reads as the narrowing it is. Returns the graph and the id of each node, in
/// order.
pub fn lower_schemas(
    docs: &mut DocumentSet,
    nodes: &[NodeId],
) -> Result<(contractor_core::schema::SchemaGraph, Vec<SchemaId>), InputError> {
    let names = schema_names(docs);
    let mut l = Lowerer {
        docs,
        api: Api::default(),
        schema_ids: HashMap::new(),
        queue: Vec::new(),
        names,
        infer_enum_types: true,
    };
    let mut ids = Vec::with_capacity(nodes.len());
    for &node in nodes {
        ids.push(l.schema(node)?);
    }
    l.drain()?;
    Ok((l.api.schemas, ids))
}

fn schema_names(docs: &DocumentSet) -> HashMap<NodeId, String> {
    let mut names = HashMap::new();
    for (file_id, file) in docs.files() {
        let tree = docs.tree(file_id);
        let root = tree.root();
        if file_id != docs.root_file()
            && let Some(stem) = file.path().file_stem().and_then(|s| s.to_str())
        {
            names.insert(root, stem.to_string());
        }
        for section in [&["components", "schemas"][..], &["definitions"][..]] {
            let mut at = Some(root);
            for key in section {
                at = at.and_then(|n| tree.get(n, key));
            }
            if let Some(map) = at
                && let Value::Map(entries) = &tree.node(map).value
            {
                for e in entries.iter() {
                    names.insert(e.value, e.key.text.to_string());
                }
            }
        }
    }
    names
}

impl Lowerer<'_> {
    /// Entries of a mapping node as (key, value) pairs; empty for anything else.
    fn entries(&self, node: NodeId) -> Vec<(String, NodeId)> {
        match &self.docs.node(node).value {
            Value::Map(entries) => entries
                .iter()
                .map(|e| (e.key.text.to_string(), e.value))
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

    fn string(&self, node: NodeId) -> Option<String> {
        match &self.docs.node(node).value {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.as_str().to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    fn bool_at(&self, map: NodeId, key: &str) -> bool {
        self.docs
            .get(map, key)
            .is_some_and(|n| matches!(self.docs.node(n).value, Value::Bool(true)))
    }

    fn opt_bool_at(&self, map: NodeId, key: &str) -> Option<bool> {
        match self.docs.get(map, key).map(|n| &self.docs.node(n).value) {
            Some(Value::Bool(b)) => Some(*b),
            _ => None,
        }
    }

    fn string_at(&self, map: NodeId, key: &str) -> Option<String> {
        self.docs.get(map, key).and_then(|n| self.string(n))
    }

    fn number_at(&self, map: NodeId, key: &str) -> Option<f64> {
        match self.docs.get(map, key).map(|n| &self.docs.node(n).value) {
            Some(Value::Number(n)) => n.as_f64(),
            _ => None,
        }
    }

    /// `x-timeout`: a number of milliseconds, or a string such as `"500ms"`,
    /// `"5s"` or `"2m"`. Anything else is ignored (it is an extension).
    fn timeout_at(&self, map: NodeId, key: &str) -> Option<u64> {
        match self.docs.get(map, key).map(|n| &self.docs.node(n).value) {
            Some(Value::Number(n)) => n.as_u64(),
            Some(Value::String(s)) => parse_duration_ms(s),
            _ => None,
        }
    }

    fn count_at(&self, map: NodeId, key: &str) -> Option<u64> {
        match self.docs.get(map, key).map(|n| &self.docs.node(n).value) {
            Some(Value::Number(n)) => n.as_u64(),
            _ => None,
        }
    }

    fn path_item(
        &mut self,
        path: &str,
        item: NodeId,
        global_security: &Security,
    ) -> Result<Vec<Operation>, InputError> {
        let item = self.docs.deref(item)?;
        let shared = match self.docs.get(item, "parameters") {
            Some(list) => self.parameters(list)?,
            None => Vec::new(),
        };
        let mut ops = Vec::new();
        for method in Method::ALL {
            let Some(node) = self.docs.get(item, method.as_str()) else {
                continue;
            };
            let node = self.docs.deref(node)?;
            let mut parameters = shared.clone();
            if let Some(list) = self.docs.get(node, "parameters") {
                // Operation parameters override path-item ones with the same key.
                for p in self.parameters(list)? {
                    parameters.retain(|q| q.key() != p.key());
                    parameters.push(p);
                }
            }
            let request_body = match self.docs.get(node, "requestBody") {
                Some(body) => Some(self.request_body(body)?),
                None => None,
            };
            let mut responses = BTreeMap::new();
            if let Some(map) = self.docs.get(node, "responses") {
                for (status, response) in self.entries(map) {
                    if status.starts_with("x-") {
                        continue;
                    }
                    let response = self.response(response)?;
                    responses.insert(status.to_ascii_uppercase(), response);
                }
            }
            let security = match self.docs.get(node, "security") {
                Some(list) => self.security(list)?,
                None => global_security.clone(),
            };
            ops.push(Operation {
                method,
                path: path.to_string(),
                operation_id: self.string_at(node, "operationId"),
                summary: self.string_at(node, "summary"),
                description: self.string_at(node, "description"),
                deprecated: self.bool_at(node, "deprecated"),
                timeout_ms: self.timeout_at(node, "x-timeout"),
                sunset: self.string_at(node, "x-sunset"),
                parameters,
                request_body,
                responses,
                security,
                location: self.docs.location(node),
            });
        }
        Ok(ops)
    }

    fn parameters(&mut self, list: NodeId) -> Result<Vec<Parameter>, InputError> {
        let mut out = Vec::new();
        for item in self.items(list) {
            let node = self.docs.deref(item)?;
            let Some(name) = self.string_at(node, "name") else {
                continue;
            };
            let location_in = match self.string_at(node, "in").as_deref() {
                Some("path") => ParamIn::Path,
                Some("query") => ParamIn::Query,
                Some("header") => ParamIn::Header,
                Some("cookie") => ParamIn::Cookie,
                _ => continue,
            };
            let schema = match self.docs.get(node, "schema") {
                Some(s) => Some(self.schema(s)?),
                // `content` holds exactly one media type for a parameter.
                None => match self
                    .docs
                    .get(node, "content")
                    .and_then(|c| self.entries(c).into_iter().next())
                {
                    Some((_, media)) => match self.docs.get(media, "schema") {
                        Some(s) => Some(self.schema(s)?),
                        None => None,
                    },
                    None => None,
                },
            };
            out.push(Parameter {
                name,
                location_in,
                // Path parameters are always required.
                required: location_in == ParamIn::Path || self.bool_at(node, "required"),
                deprecated: self.bool_at(node, "deprecated"),
                schema,
                style: self.string_at(node, "style"),
                explode: self.opt_bool_at(node, "explode"),
                description: self.string_at(node, "description"),
                location: self.docs.location(node),
            });
        }
        Ok(out)
    }

    fn content(&mut self, map: Option<NodeId>) -> Result<BTreeMap<String, Media>, InputError> {
        let mut content = BTreeMap::new();
        let Some(map) = map else { return Ok(content) };
        for (media_type, node) in self.entries(map) {
            let schema = match self.docs.get(node, "schema") {
                Some(s) => Some(self.schema(s)?),
                None => None,
            };
            content.insert(
                media_type.to_ascii_lowercase(),
                Media {
                    schema,
                    location: self.docs.location(node),
                },
            );
        }
        Ok(content)
    }

    fn request_body(&mut self, node: NodeId) -> Result<RequestBody, InputError> {
        let node = self.docs.deref(node)?;
        let content = self.content(self.docs.get(node, "content"))?;
        Ok(RequestBody {
            required: self.bool_at(node, "required"),
            description: self.string_at(node, "description"),
            content,
            location: self.docs.location(node),
        })
    }

    fn response(&mut self, node: NodeId) -> Result<Response, InputError> {
        let node = self.docs.deref(node)?;
        let content = self.content(self.docs.get(node, "content"))?;
        let mut headers = BTreeMap::new();
        if let Some(map) = self.docs.get(node, "headers") {
            for (name, header) in self.entries(map) {
                let header = self.docs.deref(header)?;
                let schema = match self.docs.get(header, "schema") {
                    Some(s) => Some(self.schema(s)?),
                    None => None,
                };
                headers.insert(
                    name.to_ascii_lowercase(),
                    Header {
                        required: self.bool_at(header, "required"),
                        deprecated: self.bool_at(header, "deprecated"),
                        schema,
                        location: self.docs.location(header),
                    },
                );
            }
        }
        Ok(Response {
            description: self.string_at(node, "description"),
            headers,
            content,
            location: self.docs.location(node),
        })
    }

    fn security(&mut self, list: NodeId) -> Result<Security, InputError> {
        let mut out = Vec::new();
        for requirement in self.items(list) {
            let mut schemes = BTreeMap::new();
            for (name, scopes) in self.entries(requirement) {
                let scopes = self
                    .items(scopes)
                    .into_iter()
                    .filter_map(|s| self.string(s))
                    .collect();
                schemes.insert(name, scopes);
            }
            out.push(schemes);
        }
        Ok(out)
    }

    /// The id for the schema at `node` (following `$ref`s), reserving one
    /// and queueing the node if it was not seen yet.
    fn schema(&mut self, node: NodeId) -> Result<SchemaId, InputError> {
        let target = self.docs.deref(node)?;
        if let Some(id) = self.schema_ids.get(&target) {
            return Ok(*id);
        }
        let id = self.api.schemas.reserve();
        self.schema_ids.insert(target, id);
        self.queue.push((target, id));
        Ok(id)
    }

    /// Reads queued schemas until none are left.
    fn drain(&mut self) -> Result<(), InputError> {
        while let Some((node, id)) = self.queue.pop() {
            let schema = self.read_schema(node)?;
            self.api.schemas.set(id, schema);
        }
        Ok(())
    }

    fn schema_list(&mut self, map: NodeId, key: &str) -> Result<Vec<SchemaId>, InputError> {
        let mut out = Vec::new();
        if let Some(list) = self.docs.get(map, key) {
            for item in self.items(list) {
                out.push(self.schema(item)?);
            }
        }
        Ok(out)
    }

    /// The component name of a schema node, for messages and branch matching.
    fn schema_name(&self, node: NodeId) -> Option<String> {
        self.names.get(&node).cloned()
    }

    fn read_schema(&mut self, node: NodeId) -> Result<Schema, InputError> {
        let mut s = Schema {
            name: self.schema_name(node),
            location: Some(self.docs.location(node)),
            title: self.string_at(node, "title"),
            description: self.string_at(node, "description"),
            ..Schema::default()
        };
        match &self.docs.node(node).value {
            Value::Map(_) => {}
            // 3.1 boolean schemas: `true` admits anything, `false` nothing.
            Value::Bool(false) => {
                s.not = Some(self.api.schemas.add(Schema::default()));
                return Ok(s);
            }
            _ => return Ok(s),
        }
        if let Some(t) = self.docs.get(node, "type") {
            let names: Vec<String> = match &self.docs.node(t).value {
                Value::String(name) => vec![name.clone()],
                Value::Seq(_) => self
                    .items(t)
                    .into_iter()
                    .filter_map(|n| self.string(n))
                    .collect(),
                _ => Vec::new(),
            };
            for name in names {
                let t = match name.as_str() {
                    "null" => JsonType::Null,
                    "boolean" => JsonType::Boolean,
                    "integer" => JsonType::Integer,
                    "number" => JsonType::Number,
                    "string" => JsonType::String,
                    "array" => JsonType::Array,
                    "object" => JsonType::Object,
                    _ => continue,
                };
                s.types.insert(t);
            }
        }
        if self.bool_at(node, "nullable") && !s.types.is_empty() {
            s.types.insert(JsonType::Null);
        }
        s.format = self.string_at(node, "format");
        if let Some(values) = self.docs.get(node, "enum") {
            s.enum_values = Some(
                self.items(values)
                    .into_iter()
                    .map(|v| self.json(v, 0))
                    .collect(),
            );
        } else if let Some(value) = self.docs.get(node, "const") {
            s.enum_values = Some(vec![self.json(value, 0)]);
        }
        if self.infer_enum_types
            && s.types.is_empty()
            && let Some(values) = &s.enum_values
        {
            for value in values {
                s.types.insert(match value {
                    Json::Null => JsonType::Null,
                    Json::Bool(_) => JsonType::Boolean,
                    Json::Number(n) if n.is_i64() || n.is_u64() => JsonType::Integer,
                    Json::Number(_) => JsonType::Number,
                    Json::String(_) => JsonType::String,
                    Json::Array(_) => JsonType::Array,
                    Json::Object(_) => JsonType::Object,
                });
            }
        }
        if let Some(values) = self.docs.get(node, "x-extensible-enum") {
            s.enum_values = Some(
                self.items(values)
                    .into_iter()
                    .map(|v| self.json(v, 0))
                    .collect(),
            );
            s.extensible_enum = true;
        }
        s.minimum = self.bound(node, "minimum", "exclusiveMinimum");
        s.maximum = self.bound(node, "maximum", "exclusiveMaximum");
        s.multiple_of = self.number_at(node, "multipleOf");
        s.min_length = self.count_at(node, "minLength");
        s.max_length = self.count_at(node, "maxLength");
        s.pattern = self.string_at(node, "pattern");
        if let Some(items) = self.docs.get(node, "items")
            && matches!(self.docs.node(items).value, Value::Map(_) | Value::Bool(_))
        {
            s.items = Some(self.schema(items)?);
        }
        s.min_items = self.count_at(node, "minItems");
        s.max_items = self.count_at(node, "maxItems");
        s.unique_items = self.bool_at(node, "uniqueItems");
        if let Some(props) = self.docs.get(node, "properties") {
            for (name, prop) in self.entries(props) {
                let id = self.schema(prop)?;
                s.properties.push((name, id));
            }
        }
        if let Some(required) = self.docs.get(node, "required") {
            s.required = self
                .items(required)
                .into_iter()
                .filter_map(|n| self.string(n))
                .collect::<BTreeSet<_>>();
        }
        if let Some(additional) = self.docs.get(node, "additionalProperties") {
            s.additional = match &self.docs.node(additional).value {
                Value::Bool(false) => Additional::Forbidden,
                Value::Bool(true) => Additional::Any,
                _ => Additional::Schema(self.schema(additional)?),
            };
        }
        s.min_properties = self.count_at(node, "minProperties");
        s.max_properties = self.count_at(node, "maxProperties");
        s.one_of = self.schema_list(node, "oneOf")?;
        s.any_of = self.schema_list(node, "anyOf")?;
        s.all_of = self.schema_list(node, "allOf")?;
        if let Some(not) = self.docs.get(node, "not") {
            s.not = Some(self.schema(not)?);
        }
        if let Some(d) = self.docs.get(node, "discriminator") {
            let property = self.string_at(d, "propertyName").unwrap_or_default();
            let mut mapping = BTreeMap::new();
            if let Some(map) = self.docs.get(d, "mapping") {
                for (value, target) in self.entries(map) {
                    let Some(reference) = self.string(target) else {
                        continue;
                    };
                    // A mapping value is a `$ref` or the bare name of a component.
                    let reference = if reference.contains('#') || reference.contains('/') {
                        reference
                    } else {
                        format!("#/components/schemas/{reference}")
                    };
                    if let Ok(resolved) = self.docs.resolve(target, &reference) {
                        mapping.insert(value, self.schema(resolved)?);
                    }
                }
            }
            s.discriminator = Some(Discriminator { property, mapping });
        }
        s.read_only = self.bool_at(node, "readOnly");
        s.write_only = self.bool_at(node, "writeOnly");
        s.deprecated = self.bool_at(node, "deprecated");
        s.default = self.docs.get(node, "default").map(|d| self.json(d, 0));
        Ok(s)
    }

    /// A bound from `minimum` + `exclusiveMinimum` in either dialect: 3.0's
    /// boolean flag, or 3.1's number (which is the bound itself).
    fn bound(&self, node: NodeId, inclusive: &str, exclusive: &str) -> Option<Bound> {
        let value = self.number_at(node, inclusive);
        match self
            .docs
            .get(node, exclusive)
            .map(|n| &self.docs.node(n).value)
        {
            Some(Value::Bool(flag)) => value.map(|value| Bound {
                value,
                exclusive: *flag,
            }),
            Some(Value::Number(n)) => n.as_f64().map(|value| Bound {
                value,
                exclusive: true,
            }),
            _ => value.map(|value| Bound {
                value,
                exclusive: false,
            }),
        }
    }

    /// A node as JSON data, for enum values and defaults.
    fn json(&self, node: NodeId, depth: usize) -> Json {
        if depth > MAX_VALUE_DEPTH {
            return Json::String("<nested too deep>".into());
        }
        match &self.docs.node(node).value {
            Value::Null => Json::Null,
            Value::Bool(b) => Json::Bool(*b),
            Value::Number(n) => {
                // Keep integers exact; compare other numbers by value.
                if let Some(i) = n.as_i64() {
                    Json::from(i)
                } else {
                    n.as_f64()
                        .and_then(serde_json::Number::from_f64)
                        .map(Json::Number)
                        .unwrap_or_else(|| Json::String(n.as_str().into()))
                }
            }
            Value::String(s) => Json::String(s.clone()),
            Value::Seq(items) => {
                Json::Array(items.iter().map(|i| self.json(*i, depth + 1)).collect())
            }
            Value::Map(entries) => Json::Object(
                entries
                    .iter()
                    .map(|e| (e.key.text.to_string(), self.json(e.value, depth + 1)))
                    .collect(),
            ),
        }
    }
}

/// `"500ms"`, `"5s"`, `"2m"`, `"1h"` or a bare number of milliseconds.
fn parse_duration_ms(text: &str) -> Option<u64> {
    let text = text.trim();
    let digits = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let value: u64 = text[..digits].parse().ok()?;
    let factor = match text[digits..].trim() {
        "" | "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        _ => return None,
    };
    value.checked_mul(factor)
}

#[cfg(test)]
mod tests {
    use super::parse_duration_ms;

    #[test]
    fn timeouts_read_as_milliseconds() {
        assert_eq!(parse_duration_ms("250"), Some(250));
        assert_eq!(parse_duration_ms("500ms"), Some(500));
        assert_eq!(parse_duration_ms("5s"), Some(5_000));
        assert_eq!(parse_duration_ms("2m"), Some(120_000));
        assert_eq!(parse_duration_ms("soon"), None);
        assert_eq!(parse_duration_ms("5 days"), None);
    }
}
