//! Rust types for the schemas of a contract.
//!
//! [`TypeSpace`] decides, for each schema node, which Rust type stands for
//! it: a primitive, a container, or a named type it defines (a struct, a
//! string enum, a tagged or untagged union). Named types get their component
//! name, or a stable name built from where they are used (`CreateOrderBody`,
//! `OrderShippingAddress`). Nothing is emitted until every type is known:
//! only then can [`TypeSpace::render`] tell which fields close a cycle and
//! need a `Box`.
//!
//! The strategies, in the order they are tried on a schema:
//! - `null` among the types, or a `[X, null]` union → the field is nullable
//!   (`Option`, or `Nullable` where absent and null differ).
//! - `allOf` → its members merged into one struct; `allOf: [$ref X]` alone is X.
//! - `oneOf`/`anyOf` with a discriminator → an enum dispatched on the tag;
//!   without one → an untagged enum tried in declaration order (anyOf is
//!   treated as oneOf: the first branch that fits wins). Both keep a
//!   catch-all arm, so a new variant never breaks an old client.
//! - string `enum` → an enum with an `Unknown(String)` arm.
//! - objects with properties → structs; `additionalProperties` → a map, or
//!   a flattened map next to the properties.
//! - formats: `date-time`, `date`, `uuid`, `byte` (base64), `binary`,
//!   `int32`/`int64`, `float`/`double`.

use std::collections::{BTreeMap, HashMap, VecDeque};

use contractor_core::schema::{Additional, JsonType, Schema, SchemaGraph, SchemaId, flatten};
use proc_macro2::TokenStream;
use quote::quote;
use serde_json::Value;

use crate::docs;
use crate::names::{self, Scope, ident};

/// A Rust type, before boxing decisions.
#[derive(Debug, Clone, PartialEq)]
pub enum Ty {
    Named(SchemaId),
    String,
    Bool,
    I32,
    I64,
    U32,
    U64,
    F32,
    F64,
    DateTime,
    Date,
    Uuid,
    Base64,
    Bytes,
    Json,
    JsonMap,
    Vec(Box<Ty>),
    Map(Box<Ty>),
    Option(Box<Ty>),
}

impl Ty {
    /// Whether the type is, or holds by value, a `Named` type without any
    /// indirection (what decides whether a cycle needs a `Box`).
    fn by_value_target(&self) -> Option<SchemaId> {
        match self {
            Ty::Named(id) => Some(*id),
            Ty::Option(inner) => inner.by_value_target(),
            _ => None,
        }
    }

    fn is_option(&self) -> bool {
        matches!(self, Ty::Option(_))
    }
}

/// How a struct field is present on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presence {
    /// Required, not nullable: `T`.
    Required,
    /// Required and nullable: `Option<T>`, serialized as `null` when `None`.
    RequiredNullable,
    /// Optional: `Option<T>`, left out when `None`.
    Optional,
    /// Optional and nullable: `Nullable<T>`, absent, null or a value.
    OptionalNullable,
}

#[derive(Debug, Clone)]
pub struct Field {
    pub ident: String,
    pub wire: String,
    pub ty: Ty,
    pub presence: Presence,
    pub doc: Option<String>,
}

#[derive(Debug, Clone)]
pub enum Def {
    Struct {
        fields: Vec<Field>,
        /// `additionalProperties` with a schema next to the properties.
        additional: Option<Ty>,
    },
    StringEnum {
        /// (variant, wire value)
        variants: Vec<(String, String)>,
    },
    Tagged {
        property: String,
        /// (variant, tag value, payload)
        variants: Vec<(String, String, Ty)>,
    },
    Untagged {
        variants: Vec<(String, Ty)>,
    },
}

#[derive(Debug, Clone)]
pub struct TypeDef {
    pub name: String,
    pub doc: Option<String>,
    pub def: Def,
}

/// The strongly connected component of every type on a by-value cycle: a
/// reference between two types of the same component is boxed.
#[derive(Debug, Default)]
pub struct Cycles(HashMap<SchemaId, usize>);

/// The types of one contract: names handed out, definitions collected.
pub struct TypeSpace<'g> {
    graph: &'g SchemaGraph,
    names: HashMap<SchemaId, String>,
    scope: Scope,
    defs: BTreeMap<SchemaId, TypeDef>,
    queue: VecDeque<SchemaId>,
    /// Schemas being resolved inline right now (a cycle that never passes
    /// through a named type falls back to `serde_json::Value`).
    inline_stack: Vec<SchemaId>,
}

/// How deep unnamed types nest (`Vec<Vec<…>>`) before the rest is
/// `serde_json::Value`: far beyond any real contract, and well inside what
/// `syn` and rustc handle without deep recursion.
const MAX_INLINE_DEPTH: usize = 64;

/// Names a generated module uses besides the contract's types (everything
/// else it refers to by full path, so a contract may name a type `Problem`).
const RESERVED_TYPE_NAMES: &[&str] = &[];

impl<'g> TypeSpace<'g> {
    pub fn new(graph: &'g SchemaGraph) -> Self {
        TypeSpace {
            graph,
            names: HashMap::new(),
            scope: Scope::with_reserved(RESERVED_TYPE_NAMES),
            defs: BTreeMap::new(),
            queue: VecDeque::new(),
            inline_stack: Vec::new(),
        }
    }

    /// Claims names for components first, so that they keep their own names
    /// and inline schemas are the ones numbered on a collision.
    pub fn name_components(&mut self, components: &BTreeMap<String, SchemaId>) {
        for (name, id) in components {
            if self.names.contains_key(id) {
                continue;
            }
            if self.needs_name(*id) {
                let name = self.scope.claim(&names::pascal(name));
                self.names.insert(*id, name);
                self.queue.push_back(*id);
            }
        }
    }

    /// A name that no generated type uses (for request structs and response enums).
    pub fn claim_name(&mut self, wanted: &str) -> String {
        self.scope.claim(&names::pascal(wanted))
    }

    /// Whether the schema becomes a named type of its own.
    fn needs_name(&self, id: SchemaId) -> bool {
        let schema = flatten(self.graph, id);
        if let Some(inner) = self.single_all_of(id) {
            return self.needs_name(inner);
        }
        if !union_branches(self.graph, &schema).is_empty() {
            return true;
        }
        if string_enum(&schema).is_some() {
            return true;
        }
        !schema.properties.is_empty()
    }

    /// `allOf: [X]` with nothing else that shapes the type: X's type.
    fn single_all_of(&self, id: SchemaId) -> Option<SchemaId> {
        let s = self.graph.get(id);
        match s.all_of.as_slice() {
            [only]
                if s.properties.is_empty()
                    && s.one_of.is_empty()
                    && s.any_of.is_empty()
                    && s.enum_values.is_none()
                    && s.types.iter().all(|t| *t == JsonType::Null)
                    && *only != id =>
            {
                Some(*only)
            }
            _ => None,
        }
    }

    /// The Rust type of a schema; `hint` names it if it needs a new name.
    /// Nullability is returned apart (a field decides how to spell it).
    pub fn resolve(&mut self, id: SchemaId, hint: &str) -> (Ty, bool) {
        if let Some(inner) = self.single_all_of(id) {
            let wrapper_nullable = self.graph.get(id).nullable();
            let (ty, nullable) = self.resolve(inner, hint);
            return (ty, nullable || wrapper_nullable);
        }
        let schema = flatten(self.graph, id).into_owned();
        let nullable = schema.nullable();
        if let Some(name) = self.names.get(&id) {
            let _ = name;
            return (Ty::Named(id), nullable);
        }
        if self.needs_name(id) {
            let wanted = schema
                .name
                .as_deref()
                .map(names::pascal)
                .or_else(|| schema.title.as_deref().map(names::pascal))
                .unwrap_or_else(|| names::pascal(hint));
            let name = self.scope.claim(&wanted);
            self.names.insert(id, name);
            self.queue.push_back(id);
            return (Ty::Named(id), nullable);
        }
        if self.inline_stack.contains(&id) || self.inline_stack.len() > MAX_INLINE_DEPTH {
            return (Ty::Json, nullable);
        }
        self.inline_stack.push(id);
        let ty = self.inline(&schema, hint);
        self.inline_stack.pop();
        (ty, nullable)
    }

    /// A type as a field would hold it: nullable types wrapped in `Option`.
    pub fn resolve_value(&mut self, id: SchemaId, hint: &str) -> Ty {
        match self.resolve(id, hint) {
            (ty, true) if !ty.is_option() && ty != Ty::Json => Ty::Option(Box::new(ty)),
            (ty, _) => ty,
        }
    }

    /// Types that need no name of their own.
    fn inline(&mut self, schema: &Schema, hint: &str) -> Ty {
        let types: Vec<JsonType> = schema
            .types
            .iter()
            .copied()
            .filter(|t| *t != JsonType::Null)
            .collect();
        if let Some(values) = &schema.enum_values
            && !values.is_empty()
        {
            if values.iter().all(|v| v.is_i64() || v.is_null()) {
                return Ty::I64;
            }
            if values.iter().all(|v| v.is_boolean() || v.is_null()) {
                return Ty::Bool;
            }
            return Ty::Json;
        }
        let single = match types.as_slice() {
            [t] => Some(*t),
            [] if schema.items.is_some() => Some(JsonType::Array),
            [] if !matches!(schema.additional, Additional::Any) => Some(JsonType::Object),
            _ => None,
        };
        match single {
            Some(JsonType::String) => match schema.format.as_deref() {
                Some("date-time") => Ty::DateTime,
                Some("date") => Ty::Date,
                Some("uuid") => Ty::Uuid,
                Some("byte") => Ty::Base64,
                Some("binary") => Ty::Bytes,
                _ => Ty::String,
            },
            Some(JsonType::Integer) => match schema.format.as_deref() {
                Some("int32") => Ty::I32,
                Some("uint32") => Ty::U32,
                Some("uint64") => Ty::U64,
                _ => Ty::I64,
            },
            Some(JsonType::Number) => match schema.format.as_deref() {
                Some("float") => Ty::F32,
                _ => Ty::F64,
            },
            Some(JsonType::Boolean) => Ty::Bool,
            Some(JsonType::Array) => match schema.items {
                Some(items) => {
                    let item = self.resolve_value(items, &format!("{hint}Item"));
                    Ty::Vec(Box::new(item))
                }
                None => Ty::Vec(Box::new(Ty::Json)),
            },
            Some(JsonType::Object) => match schema.additional {
                Additional::Schema(values) => {
                    let value = self.resolve_value(values, &format!("{hint}Value"));
                    Ty::Map(Box::new(value))
                }
                _ => Ty::JsonMap,
            },
            _ => Ty::Json,
        }
    }

    /// Defines every named type handed out so far (and those they name).
    pub fn finish(&mut self) {
        while let Some(id) = self.queue.pop_front() {
            if self.defs.contains_key(&id) {
                continue;
            }
            let name = self.names[&id].clone();
            let def = self.define(id, &name);
            self.defs.insert(id, def);
        }
    }

    fn define(&mut self, id: SchemaId, name: &str) -> TypeDef {
        let schema = flatten(self.graph, id).into_owned();
        let doc = docs::join(&[schema.title.as_deref(), schema.description.as_deref()]);
        let branches = union_branches(self.graph, &schema);
        let def = if !branches.is_empty() && schema.properties.is_empty() {
            self.union(&schema, &branches, name)
        } else if let Some(values) = string_enum(&schema) {
            let mut scope = Scope::with_reserved(&["Unknown"]);
            let variants = values
                .into_iter()
                .map(|v| (scope.claim(&names::variant(&v)), v))
                .collect();
            Def::StringEnum { variants }
        } else {
            self.structure(&schema, name, !branches.is_empty())
        };
        TypeDef {
            name: name.to_string(),
            doc,
            def,
        }
    }

    fn structure(&mut self, schema: &Schema, name: &str, has_union: bool) -> Def {
        let mut scope = Scope::new();
        let mut fields = Vec::new();
        for (wire, prop) in &schema.properties {
            let ident = scope.claim(&names::snake(wire));
            let (ty, nullable) = self.resolve(*prop, &format!("{name}{}", names::pascal(wire)));
            let prop_schema = self.graph.get(*prop);
            // A read-only property is absent from requests, a write-only one
            // from responses: required or not, one direction lacks it.
            let required =
                schema.required.contains(wire) && !prop_schema.read_only && !prop_schema.write_only;
            let presence = match (required, nullable && ty != Ty::Json) {
                (true, false) => Presence::Required,
                (true, true) => Presence::RequiredNullable,
                (false, false) => Presence::Optional,
                (false, true) => Presence::OptionalNullable,
            };
            let mut doc = docs::join(&[
                prop_schema.title.as_deref(),
                prop_schema.description.as_deref(),
            ]);
            if prop_schema.deprecated {
                doc = docs::join(&[doc.as_deref(), Some("Deprecated.")]);
            }
            fields.push(Field {
                ident,
                wire: wire.clone(),
                ty,
                presence,
                doc,
            });
        }
        let additional = match schema.additional {
            Additional::Schema(values) => Some(self.resolve_value(values, &format!("{name}Value"))),
            // The union's members land here rather than being lost.
            _ if has_union => Some(Ty::Json),
            _ => None,
        };
        Def::Struct { fields, additional }
    }

    fn union(&mut self, schema: &Schema, branches: &[SchemaId], name: &str) -> Def {
        let mut scope = Scope::with_reserved(&["Unknown", "Other"]);
        let tag = schema
            .discriminator
            .as_ref()
            .filter(|d| !d.property.is_empty());
        if let Some(discriminator) = tag {
            let mut variants = Vec::new();
            for (index, branch) in branches.iter().enumerate() {
                let branch_schema = self.graph.get(*branch);
                // The explicit mapping first, else the component name (the
                // implicit mapping of OpenAPI).
                let value = discriminator
                    .mapping
                    .iter()
                    .find(|(_, target)| **target == *branch)
                    .map(|(value, _)| value.clone())
                    .or_else(|| branch_schema.name.clone())
                    .or_else(|| const_tag(self.graph, *branch, &discriminator.property));
                let Some(value) = value else {
                    // A branch the tag cannot select: fall back to untagged.
                    return self.untagged(branches, name);
                };
                let variant = scope.claim(&names::variant(&value));
                let hint = format!("{name}{}", names::pascal(&value));
                let ty = self.resolve_value(*branch, &hint);
                let _ = index;
                variants.push((variant, value, ty));
            }
            Def::Tagged {
                property: discriminator.property.clone(),
                variants,
            }
        } else {
            self.untagged(branches, name)
        }
    }

    fn untagged(&mut self, branches: &[SchemaId], name: &str) -> Def {
        let mut scope = Scope::with_reserved(&["Other"]);
        let mut variants = Vec::new();
        for (index, branch) in branches.iter().enumerate() {
            let branch_schema = self.graph.get(*branch);
            let wanted = branch_schema
                .name
                .as_deref()
                .or(branch_schema.title.as_deref())
                .map(names::pascal)
                .unwrap_or_else(|| kind_name(self.graph, *branch));
            let hint = format!("{name}Variant{}", index + 1);
            let ty = self.resolve_value(*branch, &hint);
            if variants.iter().any(|(_, t)| *t == ty) {
                continue;
            }
            variants.push((scope.claim(&wanted), ty));
        }
        Def::Untagged { variants }
    }

    pub fn name_of(&self, id: SchemaId) -> Option<&str> {
        self.names.get(&id).map(String::as_str)
    }

    pub fn defs(&self) -> impl Iterator<Item = (&SchemaId, &TypeDef)> {
        self.defs.iter()
    }

    /// Every definition, sorted by name, with `Box` where a cycle needs it.
    pub fn render(&self) -> TokenStream {
        let cycles = self.cycles();
        self.render_some(&self.sorted(), &cycles)
    }

    /// Every named type, in output order (by name).
    pub fn sorted(&self) -> Vec<SchemaId> {
        let mut defs: Vec<(&SchemaId, &TypeDef)> = self.defs.iter().collect();
        defs.sort_by(|a, b| a.1.name.cmp(&b.1.name));
        defs.into_iter().map(|(id, _)| *id).collect()
    }

    /// Some of the definitions (a slice of [`sorted`](Self::sorted)), so that
    /// big contracts can be rendered and formatted in parallel.
    pub fn render_some(&self, ids: &[SchemaId], cycles: &Cycles) -> TokenStream {
        let items = ids.iter().filter_map(|id| {
            self.defs
                .get(id)
                .map(|def| self.render_def(*id, def, &cycles.0))
        });
        quote! { #(#items)* }
    }

    /// Which types sit on a cycle of by-value references (see [`Cycles`]).
    pub fn cycles(&self) -> Cycles {
        Cycles(self.cyclic_edges())
    }

    /// Type tokens, boxing a by-value reference that closes a cycle.
    pub fn tokens(&self, ty: &Ty) -> TokenStream {
        self.tokens_in(ty, None, &HashMap::new())
    }

    fn tokens_in(
        &self,
        ty: &Ty,
        owner: Option<SchemaId>,
        sccs: &HashMap<SchemaId, usize>,
    ) -> TokenStream {
        let rt = quote!(contractor_runtime);
        match ty {
            Ty::Named(id) => {
                let name = ident(&self.names[id]);
                let cyclic =
                    owner.is_some_and(|o| sccs.get(&o).is_some_and(|c| sccs.get(id) == Some(c)));
                if cyclic {
                    quote!(Box<#name>)
                } else {
                    quote!(#name)
                }
            }
            Ty::String => quote!(String),
            Ty::Bool => quote!(bool),
            Ty::I32 => quote!(i32),
            Ty::I64 => quote!(i64),
            Ty::U32 => quote!(u32),
            Ty::U64 => quote!(u64),
            Ty::F32 => quote!(f32),
            Ty::F64 => quote!(f64),
            Ty::DateTime => quote!(#rt::chrono::DateTime<#rt::chrono::FixedOffset>),
            Ty::Date => quote!(#rt::chrono::NaiveDate),
            Ty::Uuid => quote!(#rt::uuid::Uuid),
            Ty::Base64 => quote!(#rt::Base64Bytes),
            Ty::Bytes => quote!(#rt::bytes::Bytes),
            Ty::Json => quote!(#rt::serde_json::Value),
            Ty::JsonMap => quote!(#rt::serde_json::Map<String, #rt::serde_json::Value>),
            // Containers are indirections: no Box needed inside them.
            Ty::Vec(inner) => {
                let inner = self.tokens_in(inner, None, sccs);
                quote!(Vec<#inner>)
            }
            Ty::Map(inner) => {
                let inner = self.tokens_in(inner, None, sccs);
                quote!(::std::collections::BTreeMap<String, #inner>)
            }
            Ty::Option(inner) => {
                let inner = self.tokens_in(inner, owner, sccs);
                quote!(Option<#inner>)
            }
        }
    }

    /// Strongly connected components of the "holds by value" relation
    /// between named types: a reference inside one component needs a `Box`.
    /// Only components of more than one type, or with a self edge, count.
    fn cyclic_edges(&self) -> HashMap<SchemaId, usize> {
        let mut edges: BTreeMap<SchemaId, Vec<SchemaId>> = BTreeMap::new();
        for (id, def) in &self.defs {
            let out = edges.entry(*id).or_default();
            let mut add = |ty: &Ty| {
                if let Some(target) = ty.by_value_target() {
                    out.push(target);
                }
            };
            match &def.def {
                Def::Struct { fields, .. } => fields.iter().for_each(|f| add(&f.ty)),
                Def::StringEnum { .. } => {}
                Def::Tagged { variants, .. } => variants.iter().for_each(|v| add(&v.2)),
                Def::Untagged { variants } => variants.iter().for_each(|v| add(&v.1)),
            }
        }
        let sccs = tarjan(&edges);
        let mut out = HashMap::new();
        for (index, component) in sccs.iter().enumerate() {
            let cyclic = component.len() > 1
                || edges
                    .get(&component[0])
                    .is_some_and(|e| e.contains(&component[0]));
            if cyclic {
                for id in component {
                    out.insert(*id, index);
                }
            }
        }
        out
    }

    fn render_def(
        &self,
        id: SchemaId,
        def: &TypeDef,
        sccs: &HashMap<SchemaId, usize>,
    ) -> TokenStream {
        let name = ident(&def.name);
        let doc = docs::attrs(def.doc.as_deref());
        let rt = quote!(contractor_runtime);
        let serde_crate = quote!(#[serde(crate = "contractor_runtime::serde")]);
        match &def.def {
            Def::Struct { fields, additional } => {
                let all_optional = fields
                    .iter()
                    .all(|f| matches!(f.presence, Presence::Optional | Presence::OptionalNullable));
                let default = if all_optional {
                    quote!(Default,)
                } else {
                    quote!()
                };
                let fields_tokens = fields.iter().map(|f| {
                    let field = ident(&f.ident);
                    let ty = self.tokens_in(&f.ty, Some(id), sccs);
                    let doc = docs::attrs(f.doc.as_deref());
                    let rename = (f.wire != f.ident).then(|| {
                        let wire = &f.wire;
                        quote!(rename = #wire,)
                    });
                    match f.presence {
                        Presence::Required => {
                            let attr = rename.map(|r| quote!(#[serde(#r)]));
                            quote! {
                                #doc
                                #attr
                                pub #field: #ty,
                            }
                        }
                        Presence::RequiredNullable => {
                            let attr = rename.map(|r| quote!(#[serde(#r)]));
                            quote! {
                                #doc
                                #attr
                                pub #field: Option<#ty>,
                            }
                        }
                        Presence::Optional => quote! {
                            #doc
                            #[serde(#rename default, skip_serializing_if = "Option::is_none")]
                            pub #field: Option<#ty>,
                        },
                        Presence::OptionalNullable => quote! {
                            #doc
                            #[serde(#rename default, skip_serializing_if = "contractor_runtime::Nullable::is_absent")]
                            pub #field: #rt::Nullable<#ty>,
                        },
                    }
                });
                let extra = additional.as_ref().map(|ty| {
                    let mut scope = Scope::new();
                    for f in fields {
                        scope.claim(&f.ident);
                    }
                    let field = ident(&scope.claim("additional_properties"));
                    let ty = self.tokens_in(ty, None, sccs);
                    quote! {
                        /// Properties the contract does not name.
                        #[serde(flatten)]
                        pub #field: ::std::collections::BTreeMap<String, #ty>,
                    }
                });
                quote! {
                    #doc
                    #[derive(Debug, Clone, PartialEq, #default Serialize, Deserialize)]
                    #serde_crate
                    pub struct #name {
                        #(#fields_tokens)*
                        #extra
                    }
                }
            }
            Def::StringEnum { variants } => {
                let idents: Vec<_> = variants.iter().map(|(v, _)| ident(v)).collect();
                let wires: Vec<_> = variants.iter().map(|(_, w)| w.as_str()).collect();
                let docs = wires.iter().map(|w| format!(" `{}`", w.replace('`', "'")));
                quote! {
                    #doc
                    #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
                    #serde_crate
                    #[serde(from = "String", into = "String")]
                    pub enum #name {
                        #( #[doc = #docs] #idents, )*
                        /// A value this version of the contract does not list.
                        Unknown(String),
                    }

                    impl #name {
                        /// The value as it travels on the wire.
                        pub fn as_str(&self) -> &str {
                            match self {
                                #( Self::#idents => #wires, )*
                                Self::Unknown(value) => value,
                            }
                        }
                    }

                    impl From<String> for #name {
                        fn from(value: String) -> Self {
                            match value.as_str() {
                                #( #wires => Self::#idents, )*
                                _ => Self::Unknown(value),
                            }
                        }
                    }

                    impl From<#name> for String {
                        fn from(value: #name) -> Self {
                            match value {
                                #name::Unknown(value) => value,
                                known => known.as_str().to_string(),
                            }
                        }
                    }

                    impl ::std::fmt::Display for #name {
                        fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                            f.write_str(self.as_str())
                        }
                    }
                }
            }
            Def::Tagged { property, variants } => {
                let idents: Vec<_> = variants.iter().map(|(v, _, _)| ident(v)).collect();
                let values: Vec<_> = variants.iter().map(|(_, t, _)| t.as_str()).collect();
                let tys = variants
                    .iter()
                    .map(|(_, _, ty)| self.tokens_in(ty, Some(id), sccs));
                let docs = values.iter().map(|v| format!(" `{property}: {v}`"));
                quote! {
                    #doc
                    #[derive(Debug, Clone, PartialEq)]
                    pub enum #name {
                        #( #[doc = #docs] #idents(#tys), )*
                        /// A variant this version of the contract does not list.
                        Unknown(#rt::serde_json::Value),
                    }

                    impl #rt::serde::Serialize for #name {
                        fn serialize<S: #rt::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                            match self {
                                #( Self::#idents(value) => #rt::tagged::serialize(serializer, #property, #values, value), )*
                                Self::Unknown(value) => #rt::serde::Serialize::serialize(value, serializer),
                            }
                        }
                    }

                    impl<'de> #rt::serde::Deserialize<'de> for #name {
                        fn deserialize<D: #rt::serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                            let (tag, value) = #rt::tagged::split(deserializer, #property)?;
                            match tag.as_deref() {
                                #( Some(#values) => #rt::tagged::variant(value).map(Self::#idents), )*
                                _ => Ok(Self::Unknown(value)),
                            }
                        }
                    }
                }
            }
            Def::Untagged { variants } => {
                let idents = variants.iter().map(|(v, _)| ident(v));
                let tys = variants
                    .iter()
                    .map(|(_, ty)| self.tokens_in(ty, Some(id), sccs));
                quote! {
                    #doc
                    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
                    #serde_crate
                    #[serde(untagged)]
                    #[allow(clippy::large_enum_variant)]
                    pub enum #name {
                        #( #idents(#tys), )*
                        /// A shape this version of the contract does not list.
                        Other(#rt::serde_json::Value),
                    }
                }
            }
        }
    }
}

/// The branches of a `oneOf`/`anyOf`, without the `null` branch (which makes
/// the type nullable instead); empty when the schema is no union.
fn union_branches(graph: &SchemaGraph, schema: &Schema) -> Vec<SchemaId> {
    let branches = if !schema.one_of.is_empty() {
        &schema.one_of
    } else {
        &schema.any_of
    };
    let real: Vec<SchemaId> = branches
        .iter()
        .copied()
        .filter(|b| {
            let s = graph.get(*b);
            !(s.types.len() == 1 && s.nullable() && s.properties.is_empty())
        })
        .collect();
    // A single real branch is just that type (flatten already merged the
    // `[X, null]` idiom).
    if real.len() < 2 { Vec::new() } else { real }
}

/// String enum values, when the schema is one (a `null` value only makes it nullable).
fn string_enum(schema: &Schema) -> Option<Vec<String>> {
    let values = schema.enum_values.as_ref()?;
    let mut out = Vec::new();
    for value in values {
        match value {
            Value::String(s) => {
                if !out.contains(s) {
                    out.push(s.clone());
                }
            }
            Value::Null => {}
            _ => return None,
        }
    }
    (!out.is_empty()).then_some(out)
}

/// A branch's tag value from a `const`/single `enum` on the tag property.
fn const_tag(graph: &SchemaGraph, branch: SchemaId, property: &str) -> Option<String> {
    let schema = flatten(graph, branch);
    let prop = schema.property(property)?;
    match graph.get(prop).enum_values.as_deref() {
        Some([Value::String(value)]) => Some(value.clone()),
        _ => None,
    }
}

/// A variant name for an unnamed branch, from what it is.
fn kind_name(graph: &SchemaGraph, id: SchemaId) -> String {
    let schema = flatten(graph, id);
    let non_null: Vec<JsonType> = schema
        .types
        .iter()
        .copied()
        .filter(|t| *t != JsonType::Null)
        .collect();
    match non_null.as_slice() {
        [JsonType::String] => "String".into(),
        [JsonType::Integer] => "Integer".into(),
        [JsonType::Number] => "Number".into(),
        [JsonType::Boolean] => "Boolean".into(),
        [JsonType::Array] => "Array".into(),
        _ if !schema.properties.is_empty() => "Object".into(),
        [JsonType::Object] => "Object".into(),
        _ => "Variant".into(),
    }
}

/// Tarjan's algorithm, iteratively (type graphs of big specs are deep).
fn tarjan(edges: &BTreeMap<SchemaId, Vec<SchemaId>>) -> Vec<Vec<SchemaId>> {
    let mut index: HashMap<SchemaId, usize> = HashMap::new();
    let mut low: HashMap<SchemaId, usize> = HashMap::new();
    let mut on_stack: std::collections::HashSet<SchemaId> = Default::default();
    let mut stack: Vec<SchemaId> = Vec::new();
    let mut out = Vec::new();
    let mut counter = 0;
    let empty = Vec::new();
    for &root in edges.keys() {
        if index.contains_key(&root) {
            continue;
        }
        // (node, next edge to look at)
        let mut work: Vec<(SchemaId, usize)> = vec![(root, 0)];
        index.insert(root, counter);
        low.insert(root, counter);
        counter += 1;
        stack.push(root);
        on_stack.insert(root);
        while let Some((node, next)) = work.pop() {
            let targets = edges.get(&node).unwrap_or(&empty);
            if next < targets.len() {
                work.push((node, next + 1));
                let target = targets[next];
                if let std::collections::hash_map::Entry::Vacant(slot) = index.entry(target) {
                    slot.insert(counter);
                    low.insert(target, counter);
                    counter += 1;
                    stack.push(target);
                    on_stack.insert(target);
                    work.push((target, 0));
                } else if on_stack.contains(&target) {
                    let l = low[&node].min(index[&target]);
                    low.insert(node, l);
                }
                continue;
            }
            if let Some(&(parent, _)) = work.last() {
                let l = low[&parent].min(low[&node]);
                low.insert(parent, l);
            }
            if low[&node] == index[&node] {
                let mut component = Vec::new();
                while let Some(top) = stack.pop() {
                    on_stack.remove(&top);
                    component.push(top);
                    if top == node {
                        break;
                    }
                }
                component.sort();
                out.push(component);
            }
        }
    }
    out
}
