//! JSON Schema validation of requests, from one JSON text the generator emits.
//!
//! ```
//! use contractor_runtime::schema::Schemas;
//!
//! static SCHEMAS: Schemas = Schemas::new(r##"{
//!     "Item": {"type": "object", "required": ["qty"],
//!              "properties": {"qty": {"type": "integer", "minimum": 1}}},
//!     "Order": {"type": "object",
//!               "properties": {"items": {"type": "array", "items": {"$ref": "#/$defs/Item"}}}}
//! }"##);
//!
//! let errors = SCHEMAS
//!     .validate("Order", &serde_json::json!({"items": [{"qty": 0}]}))
//!     .expect("the schema set compiles");
//! assert_eq!(errors[0].pointer.as_deref(), Some("#/items/0/qty"));
//! ```
//!
//! The text is a map from definition name to a schema. Supported keywords: `type` (a name or a
//! list; OpenAPI 3.0 `nullable` too), `enum`, `const`, `format`, `minimum`, `maximum`,
//! `exclusiveMinimum`, `exclusiveMaximum` (numbers, or 3.0 booleans), `multipleOf`,
//! `minLength`, `maxLength` (in characters), `pattern`, `items`, `prefixItems`, `minItems`,
//! `maxItems`, `uniqueItems`, `properties`, `required`, `additionalProperties`,
//! `minProperties`, `maxProperties`, `allOf`, `anyOf`, `oneOf`, `not`, `readOnly` and `$ref`
//! (`#/$defs/Name` or `#/components/schemas/Name`, naming another entry of the map). Other
//! keywords are ignored. A `pattern` that does not compile is ignored (with a warning): the
//! `regex` crate is not ECMA 262, and a contract must not take a server down.
//!
//! Validation targets requests: a `readOnly` property present in a request is ignored, and a
//! required `readOnly` property may be absent.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::OnceLock;

use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use regex::Regex;
use serde_json::{Map, Number, Value};

use crate::problem::FieldError;

mod fused;
mod stream;

/// The most errors one validation reports.
pub const MAX_ERRORS: usize = 100;
/// The deepest data nesting validated; deeper values are an error.
pub const MAX_DEPTH: usize = 128;
/// Schema steps (references, combinators) allowed on one path through the data; bounds `$ref`
/// cycles that do not consume data.
const MAX_STEPS: usize = 1024;
/// Nesting of the schema text itself.
const MAX_SCHEMA_DEPTH: usize = 256;

/// A set of named schemas, parsed and compiled once on first use.
pub struct Schemas {
    text: &'static str,
    compiled: OnceLock<Result<Compiled, String>>,
}

impl std::fmt::Debug for Schemas {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Schemas")
            .field("bytes", &self.text.len())
            .field("compiled", &self.compiled.get().map(|c| c.is_ok()))
            .finish()
    }
}

impl Schemas {
    /// A schema set from its JSON text; nothing is parsed until first use.
    pub const fn new(text: &'static str) -> Self {
        Self {
            text,
            compiled: OnceLock::new(),
        }
    }

    /// Compiles the set (once) and reports why it is broken, if it is.
    pub fn check(&self) -> Result<(), String> {
        self.compiled().map(|_| ())
    }

    /// `true` when the set compiles and has a definition `name`.
    pub fn contains(&self, name: &str) -> bool {
        self.compiled().is_ok_and(|c| c.def(name).is_some())
    }

    /// Every error of `instance` against definition `definition` (empty: valid), with JSON
    /// pointers; at most [`MAX_ERRORS`]. `Err` when the set does not compile or has no such
    /// definition.
    pub fn validate(&self, definition: &str, instance: &Value) -> Result<Vec<FieldError>, String> {
        let c = self.compiled()?;
        let id = c
            .def(definition)
            .ok_or_else(|| format!("no schema definition named `{definition}`"))?;
        Ok(c.validate(id, instance)
            .into_iter()
            .map(|(pointer, detail)| FieldError::body(pointer, detail))
            .collect())
    }

    pub(crate) fn compiled(&self) -> Result<&Compiled, String> {
        self.compiled
            .get_or_init(|| Compiled::compile(self.text))
            .as_ref()
            .map_err(Clone::clone)
    }
}

pub(crate) type NodeId = u32;

// Type bits. An integral number has both INTEGER and NUMBER.
pub(crate) const NULL: u8 = 1;
pub(crate) const BOOLEAN: u8 = 2;
pub(crate) const INTEGER: u8 = 4;
pub(crate) const NUMBER: u8 = 8;
pub(crate) const STRING: u8 = 16;
pub(crate) const ARRAY: u8 = 32;
pub(crate) const OBJECT: u8 = 64;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    None,
    DateTime,
    Date,
    Time,
    Uuid,
    Email,
    Uri,
    Ipv4,
    Ipv6,
    Byte,
    Binary,
    Int32,
    Int64,
    Float,
}

enum Additional {
    Allow,
    Deny,
    Schema(NodeId),
}

struct Node {
    /// Boolean schema `false`.
    never: bool,
    /// 0: any type.
    types: u8,
    reference: Option<NodeId>,
    enumeration: Option<Box<[Value]>>,
    constant: Option<Box<Value>>,
    format: Format,
    minimum: Option<f64>,
    maximum: Option<f64>,
    exclusive_minimum: Option<f64>,
    exclusive_maximum: Option<f64>,
    multiple_of: Option<f64>,
    min_length: Option<usize>,
    max_length: Option<usize>,
    pattern: Option<Regex>,
    prefix_items: Box<[NodeId]>,
    items: Option<NodeId>,
    min_items: Option<usize>,
    max_items: Option<usize>,
    unique_items: bool,
    /// Sorted by name for binary search.
    properties: Box<[(Box<str>, NodeId)]>,
    required: Box<[Box<str>]>,
    additional: Additional,
    min_properties: Option<usize>,
    max_properties: Option<usize>,
    all_of: Box<[NodeId]>,
    any_of: Box<[NodeId]>,
    one_of: Box<[NodeId]>,
    not: Option<NodeId>,
    read_only: bool,
    /// Only a `$ref` (followed without a step of its own).
    pure_ref: bool,
    /// Checkable while streaming; combinators, `uniqueItems`, `const` and non-scalar `enum`s
    /// need the whole value.
    streamable: bool,
}

impl Default for Node {
    fn default() -> Self {
        Self {
            never: false,
            types: 0,
            reference: None,
            enumeration: None,
            constant: None,
            format: Format::None,
            minimum: None,
            maximum: None,
            exclusive_minimum: None,
            exclusive_maximum: None,
            multiple_of: None,
            min_length: None,
            max_length: None,
            pattern: None,
            prefix_items: Box::new([]),
            items: None,
            min_items: None,
            max_items: None,
            unique_items: false,
            properties: Box::new([]),
            required: Box::new([]),
            additional: Additional::Allow,
            min_properties: None,
            max_properties: None,
            all_of: Box::new([]),
            any_of: Box::new([]),
            one_of: Box::new([]),
            not: None,
            read_only: false,
            pure_ref: false,
            streamable: true,
        }
    }
}

impl Node {
    fn classify(&mut self) {
        let only_ref = !self.never
            && self.types == 0
            && self.enumeration.is_none()
            && self.constant.is_none()
            && self.format == Format::None
            && self.minimum.is_none()
            && self.maximum.is_none()
            && self.exclusive_minimum.is_none()
            && self.exclusive_maximum.is_none()
            && self.multiple_of.is_none()
            && self.min_length.is_none()
            && self.max_length.is_none()
            && self.pattern.is_none()
            && self.prefix_items.is_empty()
            && self.items.is_none()
            && self.min_items.is_none()
            && self.max_items.is_none()
            && !self.unique_items
            && self.properties.is_empty()
            && self.required.is_empty()
            && matches!(self.additional, Additional::Allow)
            && self.min_properties.is_none()
            && self.max_properties.is_none()
            && self.all_of.is_empty()
            && self.any_of.is_empty()
            && self.one_of.is_empty()
            && self.not.is_none();
        self.pure_ref = self.reference.is_some() && only_ref;
        self.streamable = (self.reference.is_none() || self.pure_ref)
            && self.all_of.is_empty()
            && self.any_of.is_empty()
            && self.one_of.is_empty()
            && self.not.is_none()
            && !self.unique_items
            && self.constant.is_none()
            && self.required.len() <= 128
            && self
                .enumeration
                .as_ref()
                .is_none_or(|list| list.iter().all(|v| !v.is_array() && !v.is_object()));
    }
}

/// A compiled schema set: an arena of nodes, definitions by name.
pub(crate) struct Compiled {
    nodes: Vec<Node>,
    defs: HashMap<String, NodeId>,
}

struct Compiler<'a> {
    nodes: Vec<Node>,
    defs: HashMap<String, NodeId>,
    /// The definition being compiled, for error messages.
    def: &'a str,
}

impl Compiled {
    fn compile(text: &str) -> Result<Compiled, String> {
        let root: Value = serde_json::from_str(text)
            .map_err(|e| format!("the schema set is not valid JSON: {e}"))?;
        let Value::Object(map) = root else {
            return Err("the schema set must be a JSON object of named schemas".into());
        };
        let mut c = Compiler {
            nodes: Vec::with_capacity(map.len() * 4),
            defs: HashMap::with_capacity(map.len()),
            def: "",
        };
        // Reserve every definition first so `$ref`s resolve regardless of order.
        for name in map.keys() {
            let id = c.push(Node::default())?;
            c.defs.insert(name.clone(), id);
        }
        for (name, schema) in &map {
            c.def = name;
            let id = c.defs[name.as_str()];
            let node = c.node(schema, "", 0)?;
            c.nodes[id as usize] = node;
        }
        Ok(Compiled {
            nodes: c.nodes,
            defs: c.defs,
        })
    }

    pub(crate) fn def(&self, name: &str) -> Option<NodeId> {
        self.defs.get(name).copied()
    }

    fn node_at(&self, id: NodeId) -> &Node {
        &self.nodes[id as usize]
    }

    /// The types an instance of `id` may have (0: unknown/any), looking through `$ref` and the
    /// combinators. Used to turn parameter strings into JSON values.
    pub(crate) fn type_hint(&self, id: NodeId) -> u8 {
        self.type_hint_at(id, 0)
    }

    fn type_hint_at(&self, id: NodeId, depth: usize) -> u8 {
        if depth > 16 {
            return 0;
        }
        let n = self.node_at(id);
        if n.types != 0 {
            return n.types;
        }
        let mut bits = 0;
        if let Some(r) = n.reference {
            bits |= self.type_hint_at(r, depth + 1);
        }
        for &b in n.all_of.iter().chain(&n.any_of[..]).chain(&n.one_of[..]) {
            bits |= self.type_hint_at(b, depth + 1);
        }
        if bits == 0 {
            // Untyped, but the keywords say what it is.
            if n.items.is_some() || !n.prefix_items.is_empty() {
                bits |= ARRAY;
            }
            if !n.properties.is_empty() {
                bits |= OBJECT;
            }
        }
        bits
    }

    /// The schema of property `name` of an object schema, looking through `$ref` and the
    /// combinators (first declaration wins).
    pub(crate) fn property(&self, id: NodeId, name: &str) -> Option<NodeId> {
        self.property_at(id, name, 0)
    }

    fn property_at(&self, id: NodeId, name: &str, depth: usize) -> Option<NodeId> {
        if depth > 16 {
            return None;
        }
        let n = self.node_at(id);
        if let Ok(i) = n.properties.binary_search_by(|(k, _)| (**k).cmp(name)) {
            return Some(n.properties[i].1);
        }
        n.reference
            .iter()
            .chain(&n.all_of[..])
            .chain(&n.any_of[..])
            .chain(&n.one_of[..])
            .find_map(|&b| self.property_at(b, name, depth + 1))
    }

    /// Every declared property name of an object schema, looking through `$ref` and `allOf`.
    pub(crate) fn property_names(&self, id: NodeId) -> Vec<&str> {
        let mut out = Vec::new();
        self.property_names_at(id, 0, &mut out);
        out.sort_unstable();
        out.dedup();
        out
    }

    fn property_names_at<'s>(&'s self, id: NodeId, depth: usize, out: &mut Vec<&'s str>) {
        if depth > 16 {
            return;
        }
        let n = self.node_at(id);
        out.extend(n.properties.iter().map(|(k, _)| &**k));
        for &b in n.reference.iter().chain(&n.all_of[..]) {
            self.property_names_at(b, depth + 1, out);
        }
    }

    /// The item schema of an array schema, looking through `$ref` and the combinators.
    pub(crate) fn items(&self, id: NodeId) -> Option<NodeId> {
        self.items_at(id, 0)
    }

    fn items_at(&self, id: NodeId, depth: usize) -> Option<NodeId> {
        if depth > 16 {
            return None;
        }
        let n = self.node_at(id);
        n.items.or_else(|| {
            n.reference
                .iter()
                .chain(&n.all_of[..])
                .chain(&n.any_of[..])
                .chain(&n.one_of[..])
                .find_map(|&b| self.items_at(b, depth + 1))
        })
    }

    /// `true` for `type: string, format: binary` (through `$ref`s): a file part in multipart.
    pub(crate) fn is_binary(&self, id: NodeId) -> bool {
        let mut id = id;
        for _ in 0..16 {
            let n = self.node_at(id);
            if n.format == Format::Binary {
                return true;
            }
            match n.reference {
                Some(r) => id = r,
                None => return false,
            }
        }
        false
    }

    /// Every error of `value` against `id`, as (pointer, detail), at most [`MAX_ERRORS`].
    pub(crate) fn validate(&self, id: NodeId, value: &Value) -> Vec<(String, String)> {
        let mut errors = Vec::new();
        self.validate_into(id, value, "#", &mut errors);
        errors
    }

    /// Validates `value` (found at pointer `prefix`), appending to `errors`.
    fn validate_into(
        &self,
        id: NodeId,
        value: &Value,
        prefix: &str,
        errors: &mut Vec<(String, String)>,
    ) {
        let mut v = Validator {
            c: self,
            errors: std::mem::take(errors),
            prefix,
            path: Vec::new(),
            limit: MAX_ERRORS,
            probing: false,
            steps: 0,
        };
        v.validate(id, value);
        *errors = v.errors;
    }

    /// Every error of the JSON text behind `de` against `id`, validated while it is parsed
    /// (no `Value` is built, except below combinators, which need the whole value). `Err` is a
    /// syntax error.
    pub(crate) fn validate_json<'de, D: serde::Deserializer<'de>>(
        &self,
        id: NodeId,
        de: D,
    ) -> Result<Vec<(String, String)>, D::Error> {
        stream::validate(self, id, de)
    }

    /// `raw` deserialized as `T` in one pass with its validation against `id`; `None` when it
    /// is invalid, malformed or not a `T` (then [`Compiled::validate_json`] tells why).
    pub(crate) fn deserialize_validated<T: serde::de::DeserializeOwned>(
        &self,
        id: NodeId,
        raw: &[u8],
    ) -> Option<T> {
        fused::deserialize_validated(self, id, raw)
    }
}

impl Compiler<'_> {
    fn push(&mut self, node: Node) -> Result<NodeId, String> {
        let id = NodeId::try_from(self.nodes.len())
            .map_err(|_| "the schema set has too many schemas".to_owned())?;
        self.nodes.push(node);
        Ok(id)
    }

    fn err(&self, at: &str, msg: impl std::fmt::Display) -> String {
        format!("schema `{}` at `#{at}`: {msg}", self.def)
    }

    fn sub(&mut self, v: &Value, at: &str, depth: usize) -> Result<NodeId, String> {
        let node = self.node(v, at, depth + 1)?;
        self.push(node)
    }

    fn subs(&mut self, v: &Value, at: &str, depth: usize) -> Result<Box<[NodeId]>, String> {
        let Value::Array(list) = v else {
            return Err(self.err(at, "must be an array of schemas"));
        };
        list.iter()
            .enumerate()
            .map(|(i, s)| self.sub(s, &format!("{at}/{i}"), depth))
            .collect()
    }

    fn node(&mut self, v: &Value, at: &str, depth: usize) -> Result<Node, String> {
        if depth > MAX_SCHEMA_DEPTH {
            return Err(self.err(at, "schema nesting is too deep"));
        }
        let map = match v {
            Value::Bool(true) => return Ok(Node::default()),
            Value::Bool(false) => {
                return Ok(Node {
                    never: true,
                    ..Node::default()
                });
            }
            Value::Object(map) => map,
            _ => return Err(self.err(at, "a schema must be an object or a boolean")),
        };
        let mut n = Node::default();
        for (key, value) in map {
            let here = format!("{at}/{key}");
            match key.as_str() {
                "type" => n.types |= self.types(value, &here)?,
                "nullable" if value.as_bool() == Some(true) => n.types |= NULL,
                "enum" => match value {
                    Value::Array(list) => n.enumeration = Some(list.clone().into_boxed_slice()),
                    _ => return Err(self.err(&here, "must be an array")),
                },
                "const" => n.constant = Some(Box::new(value.clone())),
                "format" => n.format = format_of(value.as_str().unwrap_or("")),
                "minimum" => n.minimum = Some(self.number(value, &here)?),
                "maximum" => n.maximum = Some(self.number(value, &here)?),
                // A 3.0 boolean form is resolved against minimum/maximum below.
                "exclusiveMinimum" if !value.is_boolean() => {
                    n.exclusive_minimum = Some(self.number(value, &here)?);
                }
                "exclusiveMaximum" if !value.is_boolean() => {
                    n.exclusive_maximum = Some(self.number(value, &here)?);
                }
                "multipleOf" => {
                    let m = self.number(value, &here)?;
                    if m <= 0.0 {
                        return Err(self.err(&here, "must be greater than 0"));
                    }
                    n.multiple_of = Some(m);
                }
                "minLength" => n.min_length = Some(self.count(value, &here)?),
                "maxLength" => n.max_length = Some(self.count(value, &here)?),
                "minItems" => n.min_items = Some(self.count(value, &here)?),
                "maxItems" => n.max_items = Some(self.count(value, &here)?),
                "minProperties" => n.min_properties = Some(self.count(value, &here)?),
                "maxProperties" => n.max_properties = Some(self.count(value, &here)?),
                "pattern" => {
                    let Some(p) = value.as_str() else {
                        return Err(self.err(&here, "must be a string"));
                    };
                    match Regex::new(p) {
                        Ok(re) => n.pattern = Some(re),
                        Err(e) => tracing::warn!(
                            schema = self.def,
                            pointer = %here,
                            "pattern `{p}` does not compile and is not checked: {e}"
                        ),
                    }
                }
                "items" => match value {
                    // Draft 4 tuple form.
                    Value::Array(_) => n.prefix_items = self.subs(value, &here, depth)?,
                    _ => n.items = Some(self.sub(value, &here, depth)?),
                },
                "prefixItems" => n.prefix_items = self.subs(value, &here, depth)?,
                "uniqueItems" => n.unique_items = value.as_bool() == Some(true),
                "properties" => {
                    let Value::Object(props) = value else {
                        return Err(self.err(&here, "must be an object"));
                    };
                    let mut list = Vec::with_capacity(props.len());
                    for (name, schema) in props {
                        let id = self.sub(schema, &format!("{here}/{name}"), depth)?;
                        list.push((Box::<str>::from(name.as_str()), id));
                    }
                    list.sort_by(|a, b| a.0.cmp(&b.0));
                    n.properties = list.into_boxed_slice();
                }
                "required" => {
                    let Value::Array(names) = value else {
                        return Err(self.err(&here, "must be an array of strings"));
                    };
                    n.required = names
                        .iter()
                        .map(|v| {
                            v.as_str()
                                .map(Box::from)
                                .ok_or_else(|| self.err(&here, "must be an array of strings"))
                        })
                        .collect::<Result<_, _>>()?;
                }
                "additionalProperties" => {
                    n.additional = match value {
                        Value::Bool(true) => Additional::Allow,
                        Value::Bool(false) => Additional::Deny,
                        _ => Additional::Schema(self.sub(value, &here, depth)?),
                    }
                }
                "allOf" => n.all_of = self.subs(value, &here, depth)?,
                "anyOf" => n.any_of = self.subs(value, &here, depth)?,
                "oneOf" => n.one_of = self.subs(value, &here, depth)?,
                "not" => n.not = Some(self.sub(value, &here, depth)?),
                "readOnly" => n.read_only = value.as_bool() == Some(true),
                "$ref" => {
                    let Some(r) = value.as_str() else {
                        return Err(self.err(&here, "must be a string"));
                    };
                    let name = ref_name(r).ok_or_else(|| {
                        self.err(
                            &here,
                            format_args!("`{r}` is not of the form `#/$defs/<name>`"),
                        )
                    })?;
                    let target = self.defs.get(&name).copied().ok_or_else(|| {
                        self.err(&here, format_args!("`{r}` names no schema of the set"))
                    })?;
                    n.reference = Some(target);
                }
                _ => {}
            }
        }
        // OpenAPI 3.0: `exclusiveMinimum: true` makes `minimum` exclusive.
        if map.get("exclusiveMinimum").and_then(Value::as_bool) == Some(true) {
            n.exclusive_minimum = n.minimum.take();
        }
        if map.get("exclusiveMaximum").and_then(Value::as_bool) == Some(true) {
            n.exclusive_maximum = n.maximum.take();
        }
        n.classify();
        Ok(n)
    }

    fn types(&self, v: &Value, at: &str) -> Result<u8, String> {
        let one = |s: &str| -> Result<u8, String> {
            Ok(match s {
                "null" => NULL,
                "boolean" => BOOLEAN,
                "integer" => INTEGER,
                "number" => NUMBER,
                "string" => STRING,
                "array" => ARRAY,
                "object" => OBJECT,
                other => return Err(self.err(at, format_args!("unknown type `{other}`"))),
            })
        };
        match v {
            Value::String(s) => one(s),
            Value::Array(list) => list.iter().try_fold(0, |bits, t| {
                let s = t
                    .as_str()
                    .ok_or_else(|| self.err(at, "must be a type name or a list of them"))?;
                Ok(bits | one(s)?)
            }),
            _ => Err(self.err(at, "must be a type name or a list of them")),
        }
    }

    fn number(&self, v: &Value, at: &str) -> Result<f64, String> {
        v.as_f64().ok_or_else(|| self.err(at, "must be a number"))
    }

    fn count(&self, v: &Value, at: &str) -> Result<usize, String> {
        v.as_u64()
            .map(|n| usize::try_from(n).unwrap_or(usize::MAX))
            .ok_or_else(|| self.err(at, "must be a non-negative integer"))
    }
}

/// The definition a `$ref` names: `#/$defs/<name>` (also `#/definitions/` and
/// `#/components/schemas/`), JSON-pointer unescaped and percent-decoded.
fn ref_name(r: &str) -> Option<String> {
    let rest = ["#/$defs/", "#/definitions/", "#/components/schemas/"]
        .iter()
        .find_map(|p| r.strip_prefix(p))?;
    if rest.is_empty() || rest.contains('/') {
        return None;
    }
    let decoded = percent_encoding::percent_decode_str(rest)
        .decode_utf8()
        .ok()?;
    Some(decoded.replace("~1", "/").replace("~0", "~"))
}

fn format_of(f: &str) -> Format {
    match f {
        "date-time" => Format::DateTime,
        "date" => Format::Date,
        "time" => Format::Time,
        "uuid" => Format::Uuid,
        "email" => Format::Email,
        "uri" => Format::Uri,
        "ipv4" => Format::Ipv4,
        "ipv6" => Format::Ipv6,
        "byte" => Format::Byte,
        "binary" => Format::Binary,
        "int32" => Format::Int32,
        "int64" => Format::Int64,
        "float" => Format::Float,
        _ => Format::None,
    }
}

#[derive(Clone, Copy)]
enum Seg<'v> {
    Key(&'v str),
    Index(usize),
}

struct Validator<'c, 'v> {
    c: &'c Compiled,
    errors: Vec<(String, String)>,
    /// The pointer of the validated value itself (`#` unless it is nested in a streamed body).
    prefix: &'v str,
    path: Vec<Seg<'v>>,
    /// Stop collecting at this many errors (lowered to fail fast inside combinators).
    limit: usize,
    /// Inside [`Validator::passes`]: errors are only counted, so no pointer is built.
    probing: bool,
    steps: usize,
}

/// Characters escaped in a pointer in URI-fragment form (RFC 6901 section 6).
const FRAGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'<')
    .add(b'>')
    .add(b'\\')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// The JSON pointer (URI-fragment form) of a path below `prefix` (`#` for the root).
fn pointer(prefix: &str, path: &[Seg<'_>]) -> String {
    let mut out = String::from(prefix);
    for seg in path {
        out.push('/');
        match seg {
            Seg::Index(i) => {
                let _ = write!(out, "{i}");
            }
            Seg::Key(k) => {
                let escaped = k.replace('~', "~0").replace('/', "~1");
                out.extend(utf8_percent_encode(&escaped, FRAGMENT));
            }
        }
    }
    out
}

fn type_bits(v: &Value) -> u8 {
    match v {
        Value::Null => NULL,
        Value::Bool(_) => BOOLEAN,
        Value::Number(n) => {
            if is_integral(n) {
                INTEGER | NUMBER
            } else {
                NUMBER
            }
        }
        Value::String(_) => STRING,
        Value::Array(_) => ARRAY,
        Value::Object(_) => OBJECT,
    }
}

fn is_integral(n: &Number) -> bool {
    n.is_i64() || n.is_u64() || n.as_f64().is_some_and(|f| f.fract() == 0.0)
}

fn type_names(bits: u8) -> String {
    let names = [
        (NULL, "null"),
        (BOOLEAN, "boolean"),
        (INTEGER, "integer"),
        (NUMBER, "number"),
        (STRING, "string"),
        (ARRAY, "array"),
        (OBJECT, "object"),
    ];
    names
        .iter()
        .filter(|(b, _)| bits & b != 0)
        .map(|(_, n)| *n)
        .collect::<Vec<_>>()
        .join(" or ")
}

/// JSON Schema equality: numbers compare by value (`1 == 1.0`), objects ignore key order.
pub(crate) fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => number_eq(x, y),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_eq(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

fn number_eq(x: &Number, y: &Number) -> bool {
    if let (Some(a), Some(b)) = (x.as_i64(), y.as_i64()) {
        return a == b;
    }
    if let (Some(a), Some(b)) = (x.as_u64(), y.as_u64()) {
        return a == b;
    }
    x.as_f64() == y.as_f64()
}

/// A hash consistent with [`json_eq`].
fn json_hash(v: &Value) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    match v {
        Value::Null => 0u8.hash(&mut h),
        Value::Bool(b) => (1u8, *b).hash(&mut h),
        Value::Number(n) => {
            2u8.hash(&mut h);
            // Integral values hash as their f64 so `1` and `1.0` collide.
            n.as_f64().unwrap_or(0.0).to_bits().hash(&mut h);
        }
        Value::String(s) => (3u8, s).hash(&mut h),
        Value::Array(a) => {
            4u8.hash(&mut h);
            for item in a {
                json_hash(item).hash(&mut h);
            }
        }
        Value::Object(o) => {
            5u8.hash(&mut h);
            // Order-independent: combine entry hashes commutatively.
            let mut acc = 0u64;
            for (k, v) in o {
                let mut e = std::collections::hash_map::DefaultHasher::new();
                k.hash(&mut e);
                json_hash(v).hash(&mut e);
                acc = acc.wrapping_add(e.finish());
            }
            acc.hash(&mut h);
        }
    }
    h.finish()
}

fn enum_error(list: &[Value]) -> String {
    let shown: Vec<String> = list.iter().take(10).map(preview).collect();
    let more = if list.len() > 10 { ", ..." } else { "" };
    format!("must be one of: {}{more}", shown.join(", "))
}

fn preview(v: &Value) -> String {
    let s = v.to_string();
    if s.len() <= 40 {
        return s;
    }
    let mut cut = 37;
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}...", &s[..cut])
}

impl<'v> Validator<'_, 'v> {
    fn error(&mut self, detail: impl Into<String>) {
        if self.errors.len() < self.limit {
            let at = if self.probing {
                String::new()
            } else {
                pointer(self.prefix, &self.path)
            };
            self.errors.push((at, detail.into()));
        }
    }

    fn error_at(&mut self, key: &'v str, detail: impl Into<String>) {
        self.path.push(Seg::Key(key));
        self.error(detail);
        self.path.pop();
    }

    fn full(&self) -> bool {
        self.errors.len() >= self.limit
    }

    /// `true` when `value` is valid against `id`; records nothing.
    fn passes(&mut self, id: NodeId, value: &'v Value) -> bool {
        let start = self.errors.len();
        let (limit, probing) = (self.limit, self.probing);
        self.limit = start + 1;
        self.probing = true;
        self.validate(id, value);
        let ok = self.errors.len() == start;
        self.errors.truncate(start);
        self.limit = limit;
        self.probing = probing;
        ok
    }

    fn validate(&mut self, id: NodeId, value: &'v Value) {
        if self.full() {
            return;
        }
        if self.path.len() > MAX_DEPTH {
            self.error(format!("is nested deeper than {MAX_DEPTH} levels"));
            return;
        }
        if self.steps >= MAX_STEPS {
            self.error("exceeds the schema recursion limit");
            return;
        }
        self.steps += 1;
        self.node(id, value);
        self.steps -= 1;
    }

    fn node(&mut self, id: NodeId, value: &'v Value) {
        let c = self.c;
        let n = c.node_at(id);
        if n.never {
            self.error("is not allowed here");
            return;
        }
        if let Some(r) = n.reference {
            self.validate(r, value);
        }
        let bits = type_bits(value);
        if n.types != 0 && n.types & bits == 0 {
            self.error(format!("must be of type {}", type_names(n.types)));
            return;
        }
        if let Some(list) = &n.enumeration
            && !list.iter().any(|e| json_eq(e, value))
        {
            self.error(enum_error(list));
        }
        if let Some(k) = &n.constant
            && !json_eq(k, value)
        {
            self.error(format!("must be {}", preview(k)));
        }
        match value {
            Value::String(s) => self.string(n, s),
            Value::Number(x) => self.number(n, x),
            Value::Array(items) => self.array(n, items),
            Value::Object(map) => self.object(n, map),
            Value::Null | Value::Bool(_) => {}
        }
        for &b in &n.all_of[..] {
            self.validate(b, value);
        }
        if !n.any_of.is_empty() && !n.any_of.iter().any(|&b| self.passes(b, value)) {
            self.report_branches(
                &n.any_of,
                value,
                "must match at least one of the allowed schemas",
            );
        }
        if !n.one_of.is_empty() {
            let matching = n.one_of.iter().filter(|&&b| self.passes(b, value)).count();
            match matching {
                1 => {}
                0 => self.report_branches(
                    &n.one_of,
                    value,
                    "must match exactly one of the allowed schemas",
                ),
                k => self.error(format!(
                    "must match exactly one of the allowed schemas, but matches {k}"
                )),
            }
        }
        if let Some(not) = n.not
            && self.passes(not, value)
        {
            self.error("must not match the schema in `not`");
        }
    }

    /// No branch matched: if exactly one branch accepts the value's type, its errors are the
    /// useful ones; otherwise one summary error.
    fn report_branches(&mut self, branches: &[NodeId], value: &'v Value, summary: &str) {
        let bits = type_bits(value);
        let mut typed = branches.iter().filter(|&&b| {
            let t = self.c.type_hint(b);
            t == 0 || t & bits != 0
        });
        match (typed.next(), typed.next()) {
            (Some(&only), None) => self.validate(only, value),
            _ => self.error(summary),
        }
    }

    fn string(&mut self, n: &Node, s: &str) {
        string_checks(n, s, &mut |d| self.error(d));
    }

    fn number(&mut self, n: &Node, x: &Number) {
        number_checks(n, x, &mut |d| self.error(d));
    }

    fn array(&mut self, n: &Node, items: &'v [Value]) {
        if let Some(min) = n.min_items
            && items.len() < min
        {
            self.error(format!("must have at least {min} items"));
        }
        if let Some(max) = n.max_items
            && items.len() > max
        {
            self.error(format!("must have at most {max} items"));
        }
        if n.unique_items
            && let Some((a, b)) = first_duplicate(items)
        {
            self.error(format!(
                "items must be unique (items {a} and {b} are equal)"
            ));
        }
        for (i, item) in items.iter().enumerate() {
            if self.full() {
                return;
            }
            let schema = n.prefix_items.get(i).copied().or(n.items);
            if let Some(s) = schema {
                self.path.push(Seg::Index(i));
                self.validate(s, item);
                self.path.pop();
            }
        }
    }

    fn object(&mut self, n: &Node, map: &'v Map<String, Value>) {
        if let Some(min) = n.min_properties
            && map.len() < min
        {
            self.error(format!("must have at least {min} properties"));
        }
        if let Some(max) = n.max_properties
            && map.len() > max
        {
            self.error(format!("must have at most {max} properties"));
        }
        for name in &n.required[..] {
            if map.contains_key(&**name) {
                continue;
            }
            let read_only = n
                .properties
                .binary_search_by(|(k, _)| k.cmp(name))
                .is_ok_and(|i| self.c.node_at(n.properties[i].1).read_only);
            if !read_only && self.errors.len() < self.limit {
                let mut missing = String::new();
                if !self.probing {
                    missing = pointer(self.prefix, &self.path);
                    missing.push('/');
                    let escaped = name.replace('~', "~0").replace('/', "~1");
                    missing.extend(utf8_percent_encode(&escaped, FRAGMENT));
                }
                self.errors.push((missing, "is required".to_owned()));
            }
        }
        for (key, value) in map {
            if self.full() {
                return;
            }
            let declared = n
                .properties
                .binary_search_by(|(k, _)| (**k).cmp(key.as_str()))
                .ok()
                .map(|i| n.properties[i].1);
            let schema = match (declared, &n.additional) {
                (Some(p), _) => {
                    if self.c.node_at(p).read_only {
                        continue;
                    }
                    p
                }
                (None, Additional::Allow) => continue,
                (None, Additional::Deny) => {
                    self.error_at(key, "is not a known property");
                    continue;
                }
                (None, Additional::Schema(s)) => *s,
            };
            self.path.push(Seg::Key(key));
            self.validate(schema, value);
            self.path.pop();
        }
    }
}

/// The string keywords: lengths, pattern, format.
fn string_checks(n: &Node, s: &str, report: &mut dyn FnMut(String)) {
    if n.min_length.is_some() || n.max_length.is_some() {
        let len = s.chars().count();
        if let Some(min) = n.min_length
            && len < min
        {
            report(format!("must be at least {min} characters long"));
        }
        if let Some(max) = n.max_length
            && len > max
        {
            report(format!("must be at most {max} characters long"));
        }
    }
    if let Some(re) = &n.pattern
        && !re.is_match(s)
    {
        report(format!("must match the pattern `{}`", re.as_str()));
    }
    let ok = match n.format {
        Format::DateTime => is_date_time(s),
        Format::Date => is_date(s),
        Format::Time => is_time(s),
        Format::Uuid => s.len() == 36 && uuid::Uuid::try_parse(s).is_ok(),
        Format::Email => is_email(s),
        Format::Uri => is_uri(s),
        Format::Ipv4 => s.parse::<std::net::Ipv4Addr>().is_ok(),
        Format::Ipv6 => s.parse::<std::net::Ipv6Addr>().is_ok(),
        Format::Byte => crate::encoding::is_base64(s),
        _ => true,
    };
    if !ok {
        let name = match n.format {
            Format::DateTime => "an RFC 3339 date-time",
            Format::Date => "an RFC 3339 full-date (YYYY-MM-DD)",
            Format::Time => "an RFC 3339 time",
            Format::Uuid => "a UUID",
            Format::Email => "an email address",
            Format::Uri => "an absolute URI",
            Format::Ipv4 => "an IPv4 address",
            Format::Ipv6 => "an IPv6 address",
            _ => "base64",
        };
        report(format!("must be {name}"));
    }
}

/// The number keywords: bounds, `multipleOf`, format ranges.
fn number_checks(n: &Node, x: &Number, report: &mut dyn FnMut(String)) {
    let f = x.as_f64().unwrap_or(f64::NAN);
    if let Some(min) = n.minimum
        && f < min
    {
        report(format!("must be >= {min}"));
    }
    if let Some(max) = n.maximum
        && f > max
    {
        report(format!("must be <= {max}"));
    }
    if let Some(min) = n.exclusive_minimum
        && f <= min
    {
        report(format!("must be > {min}"));
    }
    if let Some(max) = n.exclusive_maximum
        && f >= max
    {
        report(format!("must be < {max}"));
    }
    if let Some(m) = n.multiple_of {
        let ok = match (x.as_i64(), m.fract() == 0.0 && m < 9.0e15) {
            // Exact for integers.
            (Some(i), true) => (i as i128) % (m as i128) == 0,
            _ => {
                let q = f / m;
                (q - q.round()).abs() <= 1e-9 * q.abs().max(1.0)
            }
        };
        if !ok {
            report(format!("must be a multiple of {m}"));
        }
    }
    let ok = match n.format {
        Format::Int32 => is_integral(x) && (f64::from(i32::MIN)..=f64::from(i32::MAX)).contains(&f),
        Format::Int64 => {
            x.as_i64().is_some() || (x.as_u64().is_none() && is_integral(x) && f.abs() < 9.2e18)
        }
        Format::Float => f.abs() <= f64::from(f32::MAX),
        _ => true,
    };
    if !ok {
        let name = match n.format {
            Format::Int32 => "a 32-bit integer",
            Format::Int64 => "a 64-bit integer",
            _ => "a 32-bit float",
        };
        report(format!("must be {name}"));
    }
}

fn first_duplicate(items: &[Value]) -> Option<(usize, usize)> {
    if items.len() <= 16 {
        for i in 0..items.len() {
            for j in i + 1..items.len() {
                if json_eq(&items[i], &items[j]) {
                    return Some((i, j));
                }
            }
        }
        return None;
    }
    let mut seen: HashMap<u64, Vec<usize>> = HashMap::with_capacity(items.len());
    for (j, item) in items.iter().enumerate() {
        let bucket = seen.entry(json_hash(item)).or_default();
        if let Some(&i) = bucket.iter().find(|&&i| json_eq(&items[i], item)) {
            return Some((i, j));
        }
        bucket.push(j);
    }
    None
}

fn is_date_time(s: &str) -> bool {
    chrono::DateTime::parse_from_rfc3339(s).is_ok()
}

fn is_date(s: &str) -> bool {
    s.len() == 10 && chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok()
}

/// RFC 3339 `full-time`; a time without an offset is accepted too, since OpenAPI users
/// commonly mean a local time.
fn is_time(s: &str) -> bool {
    let bytes = s.as_bytes();
    if bytes.len() < 8
        || !bytes[..8].iter().enumerate().all(|(i, b)| match i {
            2 | 5 => *b == b':',
            _ => b.is_ascii_digit(),
        })
    {
        return false;
    }
    chrono::DateTime::parse_from_rfc3339(&format!("1970-01-01T{s}")).is_ok()
        || chrono::NaiveTime::parse_from_str(s, "%H:%M:%S%.f").is_ok()
}

fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.rsplit_once('@') else {
        return false;
    };
    !local.is_empty()
        && local.len() <= 64
        && !domain.is_empty()
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && s.chars().all(|c| !c.is_whitespace() && !c.is_control())
        && !domain.contains('@')
}

fn is_uri(s: &str) -> bool {
    let Some((scheme, _)) = s.split_once(':') else {
        return false;
    };
    let mut chars = scheme.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        && s.chars().all(|c| !c.is_whitespace() && !c.is_control())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The tree validator's errors, checked against the streaming validator's on the same
    /// document (as sets: the two may order them differently).
    fn errors(text: &'static str, def: &str, v: Value) -> Vec<(String, String)> {
        let s = Box::leak(Box::new(Schemas::new(text)));
        let tree: Vec<(String, String)> = s
            .validate(def, &v)
            .unwrap()
            .into_iter()
            .map(|e| (e.pointer.unwrap_or_default(), e.detail))
            .collect();
        let c = s.compiled().unwrap();
        let json = serde_json::to_vec(&v).unwrap();
        let mut de = serde_json::Deserializer::from_slice(&json);
        // serde_json's own nesting limit (128) stops documents deeper than ours.
        if let Ok(mut streamed) = c.validate_json(c.def(def).unwrap(), &mut de) {
            let mut sorted = tree.clone();
            sorted.sort();
            streamed.sort();
            assert_eq!(sorted, streamed, "tree vs streaming validation of {v}");
        }
        tree
    }

    fn ok(text: &'static str, def: &str, v: Value) -> bool {
        errors(text, def, v).is_empty()
    }

    const ORDER: &str = r##"{
        "Order": {
            "type": "object",
            "required": ["items", "id"],
            "additionalProperties": false,
            "properties": {
                "id": {"type": "string", "readOnly": true},
                "items": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/Item"}},
                "note": {"type": ["string", "null"], "maxLength": 5}
            }
        },
        "Item": {
            "type": "object",
            "required": ["sku", "qty"],
            "properties": {
                "sku": {"type": "string", "pattern": "^[A-Z]{3}$"},
                "qty": {"type": "integer", "minimum": 1, "maximum": 10}
            }
        }
    }"##;

    #[test]
    fn collects_every_error_with_pointers() {
        let e = errors(
            ORDER,
            "Order",
            json!({"items": [{"sku": "abc", "qty": 0}, {"qty": 1.5}], "extra": 1, "note": "toolong"}),
        );
        let expected = vec![
            ("#/extra".to_owned(), "is not a known property".to_owned()),
            ("#/items/0/qty".to_owned(), "must be >= 1".to_owned()),
            (
                "#/items/0/sku".to_owned(),
                "must match the pattern `^[A-Z]{3}$`".to_owned(),
            ),
            ("#/items/1/sku".to_owned(), "is required".to_owned()),
            (
                "#/items/1/qty".to_owned(),
                "must be of type integer".to_owned(),
            ),
            (
                "#/note".to_owned(),
                "must be at most 5 characters long".to_owned(),
            ),
        ];
        let mut got = e.clone();
        got.sort();
        let mut want = expected;
        want.sort();
        assert_eq!(got, want);
    }

    #[test]
    fn read_only_is_ignored_in_requests() {
        assert!(ok(
            ORDER,
            "Order",
            json!({"items": [{"sku": "ABC", "qty": 2}]})
        ));
        assert!(ok(
            ORDER,
            "Order",
            json!({"id": 5, "items": [{"sku": "ABC", "qty": 2}], "note": null})
        ));
    }

    #[test]
    fn types_and_numbers() {
        const S: &str = r#"{
            "i": {"type": "integer", "format": "int32", "multipleOf": 5},
            "n": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
            "o": {"type": "number", "minimum": 0, "exclusiveMinimum": true},
            "f": {"type": "number", "multipleOf": 0.1}
        }"#;
        assert!(ok(S, "i", json!(10)));
        assert!(ok(S, "i", json!(10.0)));
        assert!(!ok(S, "i", json!(11)));
        assert!(!ok(S, "i", json!(5_000_000_000i64)));
        assert!(!ok(S, "i", json!("10")));
        assert!(ok(S, "n", json!(0.5)));
        assert!(!ok(S, "n", json!(0)));
        assert!(!ok(S, "n", json!(1)));
        assert!(!ok(S, "o", json!(0)));
        assert!(ok(S, "o", json!(0.1)));
        assert!(ok(S, "f", json!(0.3)));
        assert!(!ok(S, "f", json!(0.35)));
    }

    #[test]
    fn formats() {
        const S: &str = r#"{
            "dt": {"type": "string", "format": "date-time"},
            "d": {"type": "string", "format": "date"},
            "t": {"type": "string", "format": "time"},
            "u": {"type": "string", "format": "uuid"},
            "e": {"type": "string", "format": "email"},
            "uri": {"type": "string", "format": "uri"},
            "v4": {"type": "string", "format": "ipv4"},
            "v6": {"type": "string", "format": "ipv6"},
            "b": {"type": "string", "format": "byte"},
            "x": {"type": "string", "format": "something-new"}
        }"#;
        assert!(ok(S, "dt", json!("2024-05-01T10:00:00Z")));
        assert!(ok(S, "dt", json!("2024-05-01T10:00:00.5+02:00")));
        assert!(!ok(S, "dt", json!("2024-05-01")));
        assert!(ok(S, "d", json!("2024-02-29")));
        assert!(!ok(S, "d", json!("2023-02-29")));
        assert!(!ok(S, "d", json!("2024-2-9")));
        assert!(ok(S, "t", json!("10:00:00Z")));
        assert!(ok(S, "t", json!("10:00:00.25+01:00")));
        assert!(ok(S, "t", json!("23:59:59")));
        assert!(!ok(S, "t", json!("25:00:00")));
        assert!(ok(S, "u", json!("67e55044-10b1-426f-9247-bb680e5fe0c8")));
        assert!(!ok(S, "u", json!("67e5504410b1426f9247bb680e5fe0c8")));
        assert!(ok(S, "e", json!("a.b@example.com")));
        assert!(!ok(S, "e", json!("a b@example.com")));
        assert!(!ok(S, "e", json!("nobody")));
        assert!(ok(S, "uri", json!("https://example.com/x?y=1")));
        assert!(!ok(S, "uri", json!("/relative")));
        assert!(ok(S, "v4", json!("10.0.0.1")));
        assert!(!ok(S, "v4", json!("10.0.0.256")));
        assert!(ok(S, "v6", json!("::1")));
        assert!(ok(S, "b", json!("aGk=")));
        assert!(!ok(S, "b", json!("a*")));
        assert!(ok(S, "x", json!("anything")));
    }

    #[test]
    fn combinators() {
        const S: &str = r##"{
            "Cat": {"type": "object", "required": ["meows"], "properties": {"meows": {"type": "boolean"}}},
            "Dog": {"type": "object", "required": ["barks"], "properties": {"barks": {"type": "boolean"}}},
            "Pet": {"oneOf": [{"$ref": "#/$defs/Cat"}, {"$ref": "#/$defs/Dog"}]},
            "Id": {"anyOf": [{"type": "integer"}, {"type": "string", "format": "uuid"}]},
            "NotNull": {"not": {"type": "null"}},
            "Both": {"allOf": [{"minimum": 1}, {"maximum": 3}]},
            "Tagged": {"oneOf": [{"type": "string"}, {"type": "object", "required": ["a"]}]}
        }"##;
        assert!(ok(S, "Pet", json!({"meows": true})));
        assert!(!ok(S, "Pet", json!({})));
        let e = errors(S, "Pet", json!({"meows": true, "barks": true}));
        assert_eq!(e.len(), 1);
        assert!(e[0].1.contains("matches 2"), "{e:?}");
        assert!(ok(S, "Id", json!(5)));
        assert!(ok(S, "Id", json!("67e55044-10b1-426f-9247-bb680e5fe0c8")));
        // Only the string branch takes a string: its error is the one reported.
        assert_eq!(
            errors(S, "Id", json!("nope")),
            vec![("#".to_owned(), "must be a UUID".to_owned())]
        );
        assert!(!ok(S, "NotNull", json!(null)));
        assert!(ok(S, "NotNull", json!(0)));
        assert!(ok(S, "Both", json!(2)));
        assert_eq!(errors(S, "Both", json!(5)).len(), 1);
        assert_eq!(
            errors(S, "Tagged", json!({"b": 1})),
            vec![("#/a".to_owned(), "is required".to_owned())]
        );
    }

    #[test]
    fn nested_combinators_keep_their_pointers() {
        const S: &str = r##"{
            "Owner": {"type": "object", "properties": {"pets": {"type": "array",
                "items": {"oneOf": [{"$ref": "#/$defs/Cat"}, {"type": "string"}]}}}},
            "Cat": {"type": "object", "required": ["meows"],
                "properties": {"meows": {"type": "boolean"}}}
        }"##;
        let mut e = errors(S, "Owner", json!({"pets": [{"x": 1}, "ok", 5]}));
        e.sort();
        assert_eq!(
            e,
            vec![
                ("#/pets/0/meows".to_owned(), "is required".to_owned()),
                (
                    "#/pets/2".to_owned(),
                    "must match exactly one of the allowed schemas".to_owned()
                ),
            ]
        );
        // The streaming validator re-bases the combinator's errors onto an escaped prefix.
        const T: &str = r##"{
            "Zoo": {"type": "object", "properties": {"a/b~c": {"anyOf": [{"$ref": "#/$defs/Cat"}]}}},
            "Cat": {"type": "object", "required": ["meows"],
                "properties": {"meows": {"type": "boolean"}}}
        }"##;
        assert_eq!(
            errors(T, "Zoo", json!({"a/b~c": {"meows": 1}})),
            vec![(
                "#/a~1b~0c/meows".to_owned(),
                "must be of type boolean".to_owned()
            )]
        );
    }

    #[test]
    fn enum_const_unique() {
        const S: &str = r#"{
            "e": {"enum": ["a", 1, {"k": [1, 2]}]},
            "c": {"const": 1.0},
            "u": {"type": "array", "uniqueItems": true, "maxItems": 100}
        }"#;
        assert!(ok(S, "e", json!("a")));
        assert!(ok(S, "e", json!(1.0)));
        assert!(ok(S, "e", json!({"k": [1, 2]})));
        assert!(!ok(S, "e", json!("b")));
        assert!(ok(S, "c", json!(1)));
        assert!(!ok(S, "u", json!([1, 2, 1.0])));
        assert!(ok(S, "u", json!([{"a": 1, "b": 2}, {"a": 2, "b": 1}])));
        let many: Vec<Value> = (0..50).map(|i| json!({"i": i})).collect();
        assert!(ok(S, "u", Value::Array(many.clone())));
        let mut dup = many;
        dup.push(json!({"i": 7}));
        assert_eq!(
            errors(S, "u", Value::Array(dup)),
            vec![(
                "#".to_owned(),
                "items must be unique (items 7 and 50 are equal)".to_owned()
            )]
        );
    }

    #[test]
    fn ref_cycles_terminate() {
        const S: &str = r##"{
            "A": {"allOf": [{"$ref": "#/$defs/B"}]},
            "B": {"$ref": "#/$defs/A"},
            "Tree": {"type": "object", "properties": {"kids": {"type": "array", "items": {"$ref": "#/$defs/Tree"}}}}
        }"##;
        let e = errors(S, "A", json!(1));
        assert_eq!(e.len(), 1);
        assert!(e[0].1.contains("recursion"));
        assert!(ok(S, "Tree", json!({"kids": [{"kids": [{}]}]})));
        let mut deep = json!({});
        for _ in 0..200 {
            deep = json!({"kids": [deep]});
        }
        let e = errors(S, "Tree", deep);
        assert!(e[0].1.contains("nested deeper"), "{e:?}");
    }

    #[test]
    fn errors_are_bounded() {
        const S: &str = r#"{"a": {"type": "array", "items": {"type": "string"}}}"#;
        let many: Vec<Value> = (0..1000).map(|i| json!(i)).collect();
        assert_eq!(errors(S, "a", Value::Array(many)).len(), MAX_ERRORS);
    }

    #[test]
    fn pointers_escape() {
        const S: &str = r#"{"o": {"type": "object", "additionalProperties": {"type": "integer"}}}"#;
        let e = errors(S, "o", json!({"a/b~c d": "x"}));
        assert_eq!(e[0].0, "#/a~1b~0c%20d");
    }

    #[test]
    fn broken_sets_are_errors_not_panics() {
        for text in [
            "not json",
            "[]",
            r#"{"a": 5}"#,
            r#"{"a": {"type": "strin"}}"#,
            r##"{"a": {"$ref": "#/$defs/missing"}}"##,
            r##"{"a": {"$ref": "http://x/y"}}"##,
            r#"{"a": {"minLength": -1}}"#,
            r#"{"a": {"multipleOf": 0}}"#,
        ] {
            let s = Box::leak(Box::new(Schemas::new(text)));
            assert!(s.check().is_err(), "{text}");
            assert!(s.validate("a", &json!(1)).is_err());
        }
        let s = Schemas::new(r#"{"a": {"type": "string", "pattern": "(unclosed"}}"#);
        assert!(s.check().is_ok());
        assert!(s.validate("a", &json!("x")).unwrap().is_empty());
        assert!(s.validate("b", &json!("x")).is_err());
    }

    #[test]
    fn hints() {
        const S: &str = r##"{
            "P": {"allOf": [{"$ref": "#/$defs/Q"}], "properties": {"x": {"type": "integer"}}},
            "Q": {"type": "object", "properties": {"y": {"type": "array", "items": {"type": "boolean"}}}},
            "N": {"type": ["integer", "null"]},
            "F": {"type": "string", "format": "binary"}
        }"##;
        let s = Box::leak(Box::new(Schemas::new(S)));
        let c = s.compiled().unwrap();
        let p = c.def("P").unwrap();
        assert_eq!(c.type_hint(p), OBJECT);
        let y = c.property(p, "y").unwrap();
        assert_eq!(c.type_hint(y), ARRAY);
        assert_eq!(c.type_hint(c.items(y).unwrap()), BOOLEAN);
        assert_eq!(c.property_names(p), vec!["x", "y"]);
        assert_eq!(c.type_hint(c.def("N").unwrap()), INTEGER | NULL);
        assert!(c.is_binary(c.def("F").unwrap()));
    }
}
