//! The shared schema model and its direction-aware compatibility engine.
//!
//! Frontends (OpenAPI and AsyncAPI JSON Schema, GraphQL input and output
//! types, Avro records) lower their types into a [`SchemaGraph`]: an arena of
//! [`Schema`] nodes in which a `$ref` is simply an edge to the node it names,
//! so references are transparent and cycles are just cycles. [`compare`]
//! then walks two graphs side by side.

mod compat;

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::source::Location;

pub use compat::{Change, ChangeKind, Comparison, Direction, compare, compare_within, flatten};

/// A node of a [`SchemaGraph`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SchemaId(pub u32);

/// The JSON types a schema admits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum JsonType {
    Null,
    Boolean,
    Integer,
    Number,
    String,
    Array,
    Object,
}

impl JsonType {
    pub fn as_str(self) -> &'static str {
        match self {
            JsonType::Null => "null",
            JsonType::Boolean => "boolean",
            JsonType::Integer => "integer",
            JsonType::Number => "number",
            JsonType::String => "string",
            JsonType::Array => "array",
            JsonType::Object => "object",
        }
    }
}

/// A numeric bound (`minimum`/`maximum`, with `exclusive*` folded in).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bound {
    pub value: f64,
    pub exclusive: bool,
}

/// What an object says about properties it does not list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Additional {
    /// Anything goes (absent, or `true`).
    #[default]
    Any,
    /// `false`: no other properties.
    Forbidden,
    /// Other properties must match this schema.
    Schema(SchemaId),
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Discriminator {
    pub property: String,
    /// Discriminator value -> the schema it selects.
    pub mapping: BTreeMap<String, SchemaId>,
}

/// One schema, with every assertion the engine understands. Absent
/// assertions (`None`, empty) do not constrain.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Schema {
    /// A name for messages: the component or type name, if it has one.
    pub name: Option<String>,
    /// Where the schema is written.
    pub location: Option<Location>,
    /// `title` and `description`: documentation only, never compared.
    pub title: Option<String>,
    pub description: Option<String>,
    /// Admitted types; empty means any type.
    pub types: BTreeSet<JsonType>,
    pub format: Option<String>,
    /// Allowed values (`enum`, or `const` as a single value).
    pub enum_values: Option<Vec<Value>>,
    /// The enum may grow without notice (`x-extensible-enum`, or an open
    /// enum in the source language): new values are not a surprise to clients.
    pub extensible_enum: bool,
    pub minimum: Option<Bound>,
    pub maximum: Option<Bound>,
    pub multiple_of: Option<f64>,
    pub min_length: Option<u64>,
    pub max_length: Option<u64>,
    pub pattern: Option<String>,
    pub items: Option<SchemaId>,
    pub min_items: Option<u64>,
    pub max_items: Option<u64>,
    pub unique_items: bool,
    /// Declared properties, in declaration order.
    pub properties: Vec<(String, SchemaId)>,
    pub required: BTreeSet<String>,
    pub additional: Additional,
    pub min_properties: Option<u64>,
    pub max_properties: Option<u64>,
    pub one_of: Vec<SchemaId>,
    pub any_of: Vec<SchemaId>,
    pub all_of: Vec<SchemaId>,
    pub not: Option<SchemaId>,
    pub discriminator: Option<Discriminator>,
    pub read_only: bool,
    pub write_only: bool,
    pub deprecated: bool,
    pub default: Option<Value>,
}

impl Schema {
    pub fn property(&self, name: &str) -> Option<SchemaId> {
        self.properties
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, id)| *id)
    }

    pub fn nullable(&self) -> bool {
        self.types.contains(&JsonType::Null)
    }
}

/// An arena of schemas. Ids are only meaningful inside their graph.
#[derive(Debug, Clone, Default)]
pub struct SchemaGraph {
    nodes: Vec<Schema>,
}

impl SchemaGraph {
    pub fn add(&mut self, schema: Schema) -> SchemaId {
        self.nodes.push(schema);
        SchemaId(self.nodes.len() as u32 - 1)
    }

    /// Reserves a node to fill in later: how a frontend ties a cycle
    /// (a `$ref` back to a schema still being lowered).
    pub fn reserve(&mut self) -> SchemaId {
        self.add(Schema::default())
    }

    pub fn set(&mut self, id: SchemaId, schema: Schema) {
        self.nodes[id.0 as usize] = schema;
    }

    pub fn get(&self, id: SchemaId) -> &Schema {
        &self.nodes[id.0 as usize]
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }
}
