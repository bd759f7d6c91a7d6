//! The request schemas a generated server validates against, as one JSON
//! document of definitions (`{"Name": schema, ...}`) that the runtime
//! compiles once at start-up.
//!
//! Only what the server checks is written: the schemas reachable from
//! parameters and request bodies, with the assertions the runtime's
//! validator knows. Components, and any node used from two places (which is
//! where every `$ref` cycle enters), become definitions referenced with
//! `{"$ref": "#/$defs/Name"}`; everything else is written inline, so the
//! document stays linear in the size of the contract.
//!
//! `oneOf` is written as `anyOf`: contracts in the wild often have branches
//! that overlap (an object with only optional properties matches anything),
//! and rejecting a request the typed code would accept helps nobody.

use std::collections::{BTreeMap, HashMap, HashSet};

use contractor_core::schema::{Additional, Bound, SchemaGraph, SchemaId};
use serde_json::{Map, Value, json};

/// Collects request roots, then writes the definitions document.
pub struct RequestSchemas<'g> {
    graph: &'g SchemaGraph,
    /// Root definition name -> schema.
    roots: BTreeMap<String, SchemaId>,
    components: HashMap<SchemaId, String>,
}

impl<'g> RequestSchemas<'g> {
    pub fn new(graph: &'g SchemaGraph, components: &BTreeMap<String, SchemaId>) -> Self {
        RequestSchemas {
            graph,
            roots: BTreeMap::new(),
            components: components.iter().map(|(n, id)| (*id, n.clone())).collect(),
        }
    }

    /// Registers `id` under `name` (e.g. `createOrder.query.limit`) and
    /// returns the name for the generated operation table.
    pub fn root(&mut self, name: String, id: SchemaId) -> String {
        self.roots.insert(name.clone(), id);
        name
    }

    /// The definitions document as compact JSON text.
    pub fn render(&self) -> String {
        // Count the edges into every node reachable from the roots.
        let mut in_degree: HashMap<SchemaId, usize> = HashMap::new();
        let mut seen: HashSet<SchemaId> = HashSet::new();
        let mut stack: Vec<SchemaId> = self.roots.values().copied().collect();
        for id in &stack {
            *in_degree.entry(*id).or_default() += 1;
        }
        while let Some(id) = stack.pop() {
            if !seen.insert(id) {
                continue;
            }
            for child in children(self.graph, id) {
                *in_degree.entry(child).or_default() += 1;
                stack.push(child);
            }
        }
        let mut def_names: HashMap<SchemaId, String> = HashMap::new();
        let mut taken: HashSet<String> = self.roots.keys().cloned().collect();
        let mut shared: Vec<SchemaId> = in_degree
            .iter()
            .filter(|(id, n)| **n > 1 || self.components.contains_key(id))
            .map(|(id, _)| *id)
            .collect();
        shared.sort();
        for id in shared {
            let wanted = self
                .components
                .get(&id)
                .cloned()
                .unwrap_or_else(|| format!("_{}", id.0));
            let mut name = wanted.clone();
            let mut n = 2;
            while !taken.insert(name.clone()) {
                name = format!("{wanted}_{n}");
                n += 1;
            }
            def_names.insert(id, name);
        }
        let writer = Writer {
            graph: self.graph,
            def_names: &def_names,
        };
        let mut defs = Map::new();
        for (name, id) in &self.roots {
            let schema = match def_names.get(id) {
                Some(def) => json!({ "$ref": format!("#/$defs/{def}") }),
                None => writer.inline(*id, 0),
            };
            defs.insert(name.clone(), schema);
        }
        let mut shared: Vec<(&SchemaId, &String)> = def_names.iter().collect();
        shared.sort_by(|a, b| a.1.cmp(b.1));
        for (id, name) in shared {
            defs.insert(name.clone(), writer.body(*id, 0));
        }
        Value::Object(defs).to_string()
    }
}

fn children(graph: &SchemaGraph, id: SchemaId) -> Vec<SchemaId> {
    let s = graph.get(id);
    let mut out: Vec<SchemaId> = Vec::new();
    out.extend(s.items);
    out.extend(s.properties.iter().map(|(_, p)| *p));
    if let Additional::Schema(a) = s.additional {
        out.push(a);
    }
    out.extend(&s.one_of);
    out.extend(&s.any_of);
    out.extend(&s.all_of);
    out.extend(s.not);
    out
}

struct Writer<'a> {
    graph: &'a SchemaGraph,
    def_names: &'a HashMap<SchemaId, String>,
}

/// Inline nesting beyond this is written as "anything": the runtime parses
/// the document with serde_json, whose recursion limit is 128 levels (and
/// the generated types stop at 64 levels too).
const MAX_INLINE_DEPTH: usize = 60;

impl Writer<'_> {
    /// A reference to a definition, or the schema itself.
    fn inline(&self, id: SchemaId, depth: usize) -> Value {
        match self.def_names.get(&id) {
            Some(name) => json!({ "$ref": format!("#/$defs/{name}") }),
            None => self.body(id, depth),
        }
    }

    fn body(&self, id: SchemaId, depth: usize) -> Value {
        if depth > MAX_INLINE_DEPTH {
            return json!({});
        }
        let s = self.graph.get(id);
        let mut out = Map::new();
        if !s.types.is_empty() {
            let types: Vec<Value> = s.types.iter().map(|t| json!(t.as_str())).collect();
            out.insert("type".into(), Value::Array(types));
        }
        if let Some(values) = &s.enum_values
            && !s.extensible_enum
        {
            let mut values = values.clone();
            if s.nullable() && !values.contains(&Value::Null) {
                // 3.0's `nullable` admits null even beside an enum.
                values.push(Value::Null);
            }
            out.insert("enum".into(), Value::Array(values));
        }
        if let Some(format) = &s.format {
            out.insert("format".into(), json!(format));
        }
        let bound = |out: &mut Map<String, Value>, b: Option<Bound>, inc: &str, exc: &str| {
            if let Some(b) = b {
                let key = if b.exclusive { exc } else { inc };
                out.insert(key.into(), json!(b.value));
            }
        };
        bound(&mut out, s.minimum, "minimum", "exclusiveMinimum");
        bound(&mut out, s.maximum, "maximum", "exclusiveMaximum");
        let mut put = |key: &str, value: Option<Value>| {
            if let Some(v) = value {
                out.insert(key.into(), v);
            }
        };
        put("multipleOf", s.multiple_of.map(|v| json!(v)));
        put("minLength", s.min_length.map(|v| json!(v)));
        put("maxLength", s.max_length.map(|v| json!(v)));
        put("pattern", s.pattern.as_ref().map(|v| json!(v)));
        put("minItems", s.min_items.map(|v| json!(v)));
        put("maxItems", s.max_items.map(|v| json!(v)));
        put("uniqueItems", s.unique_items.then_some(json!(true)));
        put("minProperties", s.min_properties.map(|v| json!(v)));
        put("maxProperties", s.max_properties.map(|v| json!(v)));
        put("readOnly", s.read_only.then_some(json!(true)));
        if let Some(items) = s.items {
            out.insert("items".into(), self.inline(items, depth + 1));
        }
        if !s.properties.is_empty() {
            let props: Map<String, Value> = s
                .properties
                .iter()
                .map(|(name, id)| (name.clone(), self.inline(*id, depth + 1)))
                .collect();
            out.insert("properties".into(), Value::Object(props));
        }
        if !s.required.is_empty() {
            // Read-only properties are never sent in a request.
            let required: Vec<Value> = s
                .required
                .iter()
                .filter(|name| {
                    s.property(name)
                        .is_none_or(|p| !self.graph.get(p).read_only)
                })
                .map(|n| json!(n))
                .collect();
            if !required.is_empty() {
                out.insert("required".into(), Value::Array(required));
            }
        }
        match s.additional {
            Additional::Any => {}
            Additional::Forbidden => {
                out.insert("additionalProperties".into(), json!(false));
            }
            Additional::Schema(a) => {
                out.insert("additionalProperties".into(), self.inline(a, depth + 1));
            }
        }
        let list = |ids: &[SchemaId]| -> Value {
            Value::Array(ids.iter().map(|b| self.inline(*b, depth + 1)).collect())
        };
        let mut branches: Vec<SchemaId> = s.one_of.clone();
        branches.extend(&s.any_of);
        if !branches.is_empty() {
            out.insert("anyOf".into(), list(&branches));
        }
        if !s.all_of.is_empty() {
            out.insert("allOf".into(), list(&s.all_of));
        }
        if let Some(not) = s.not {
            out.insert("not".into(), self.inline(not, depth + 1));
        }
        Value::Object(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use contractor_core::schema::{JsonType, Schema};

    #[test]
    fn shared_and_cyclic_schemas_become_definitions() {
        let mut graph = SchemaGraph::default();
        let node = graph.reserve();
        let name = graph.add(Schema {
            types: [JsonType::String].into(),
            min_length: Some(1),
            ..Schema::default()
        });
        let children = graph.add(Schema {
            types: [JsonType::Array].into(),
            items: Some(node),
            ..Schema::default()
        });
        graph.set(
            node,
            Schema {
                types: [JsonType::Object].into(),
                properties: vec![("name".into(), name), ("children".into(), children)],
                required: ["name".to_string()].into(),
                ..Schema::default()
            },
        );
        let components = BTreeMap::from([("Node".to_string(), node)]);
        let mut schemas = RequestSchemas::new(&graph, &components);
        schemas.root("op.body".into(), node);
        let doc: Value = serde_json::from_str(&schemas.render()).expect("json");
        assert_eq!(doc["op.body"], json!({"$ref": "#/$defs/Node"}));
        assert_eq!(
            doc["Node"]["properties"]["children"]["items"],
            json!({"$ref": "#/$defs/Node"})
        );
        assert_eq!(doc["Node"]["properties"]["name"]["minLength"], json!(1));
        assert_eq!(doc["Node"]["required"], json!(["name"]));
    }
}
