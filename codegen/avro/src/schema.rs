//! The Avro schema model the compatibility checker walks: an arena of type nodes, each with the
//! file and JSON pointer it was written at.
//!
//! Why our own model next to `apache_avro::Schema`: that one forgets where things are written,
//! and every incompatibility must point at a node (`/fields/3/type`) and its line and column.
//! apache-avro still reads every schema too (see [`Schema::parse_with_imports`]), so a schema
//! it would refuse is refused here.
//!
//! Named types are looked up by full name (namespace rules of the Avro specification). A
//! reference to a named type is a [`TypeKind::Reference`] node of its own, so a mismatch at the
//! place of use points there, while problems inside the named type point into its definition,
//! once, however often it is reused. Recursive types are references back to an enclosing
//! definition; the arena makes them plain indices.

use std::collections::HashMap;

use contractor_core::{InputError, Location, SourceText};

use crate::json::{self, Json, JsonValue, escape_token};

/// One node of a [`Schema`]'s arena.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TypeId(pub(crate) u32);

impl TypeId {
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// Where a node is written: the file (index into the schema's files; 0 is the main file) and a
/// JSON pointer from that file's root (RFC 6901, `""` for the root itself).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Origin {
    pub file: usize,
    pub pointer: String,
}

impl Origin {
    fn child(&self, token: &str) -> Origin {
        Origin {
            file: self.file,
            pointer: format!("{}/{}", self.pointer, escape_token(token)),
        }
    }

    /// The pointer of a member or item below this node (`/fields/2` under a record).
    pub fn join(&self, tokens: &[&str]) -> Origin {
        tokens.iter().fold(self.clone(), |o, t| o.child(t))
    }
}

/// One type of the schema with where it is written.
#[derive(Debug, Clone, PartialEq)]
pub struct TypeNode {
    pub kind: TypeKind,
    pub origin: Origin,
}

/// What a type node is.
#[derive(Debug, Clone, PartialEq)]
pub enum TypeKind {
    Null,
    Boolean,
    Int,
    Long,
    Float,
    Double,
    /// `decimal` is set for `{"type": "bytes", "logicalType": "decimal", ...}`.
    Bytes {
        decimal: Option<Decimal>,
    },
    String,
    Array {
        items: TypeId,
    },
    Map {
        values: TypeId,
    },
    Union {
        branches: Vec<TypeId>,
    },
    Record(Record),
    Enum(Enum),
    Fixed(Fixed),
    /// A use of a named type by name (`"type": "Address"`); `target` is its definition.
    Reference {
        full_name: String,
        target: TypeId,
    },
    /// Reserved for a named type whose definition has not been read yet (only while parsing).
    Pending,
}

impl TypeKind {
    /// The Avro type word, for messages.
    pub fn word(&self) -> &'static str {
        match self {
            TypeKind::Null => "null",
            TypeKind::Boolean => "boolean",
            TypeKind::Int => "int",
            TypeKind::Long => "long",
            TypeKind::Float => "float",
            TypeKind::Double => "double",
            TypeKind::Bytes { .. } => "bytes",
            TypeKind::String => "string",
            TypeKind::Array { .. } => "array",
            TypeKind::Map { .. } => "map",
            TypeKind::Union { .. } => "union",
            TypeKind::Record(_) => "record",
            TypeKind::Enum(_) => "enum",
            TypeKind::Fixed(_) => "fixed",
            TypeKind::Reference { .. } => "reference",
            TypeKind::Pending => "pending",
        }
    }

    /// The name of a record, enum or fixed.
    pub fn named(&self) -> Option<&Named> {
        match self {
            TypeKind::Record(r) => Some(&r.named),
            TypeKind::Enum(e) => Some(&e.named),
            TypeKind::Fixed(f) => Some(&f.named),
            _ => None,
        }
    }
}

/// The `decimal` logical type's parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decimal {
    pub precision: u64,
    pub scale: u64,
}

/// The name of a record, enum or fixed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Named {
    /// `namespace.name`, or `name` in the null namespace.
    pub full_name: String,
    /// The unqualified name.
    pub name: String,
    /// Aliases, resolved to full names against the type's namespace.
    pub aliases: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub named: Named,
    pub fields: Vec<Field>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub name: String,
    pub aliases: Vec<String>,
    /// Whether the field declares a `default` (`null` counts: it is a value).
    pub has_default: bool,
    pub type_id: TypeId,
    /// The field object (`/fields/3`).
    pub origin: Origin,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Enum {
    pub named: Named,
    pub symbols: Vec<String>,
    /// The enum's own `default` symbol (Avro 1.9+): what a reader uses for unknown symbols.
    pub default: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Fixed {
    pub named: Named,
    pub size: u64,
    pub decimal: Option<Decimal>,
}

/// One file of a schema: its display path, text and spanned JSON.
#[derive(Debug, Clone)]
pub struct SchemaFile {
    pub display: String,
    pub source: SourceText,
    pub json: Json,
}

/// A parsed Avro schema: the main file's root type plus every named type it can reach, from the
/// main file or from the imports it was parsed with.
#[derive(Debug, Clone)]
pub struct Schema {
    pub(crate) files: Vec<SchemaFile>,
    pub(crate) types: Vec<TypeNode>,
    pub(crate) root: TypeId,
}

const PRIMITIVES: [&str; 8] = [
    "null", "boolean", "int", "long", "float", "double", "bytes", "string",
];

impl Schema {
    /// Parses an `.avsc` text on its own (named types must all be defined in it).
    pub fn parse_str(display: &str, text: &str) -> Result<Schema, InputError> {
        Schema::parse_with_imports((display, text), &[])
    }

    /// Parses the main schema `(display, text)` with other files whose named types it may use
    /// (as Avro tools do with "imports"). Every file is strict JSON, read with positions; the
    /// result is checked again by apache-avro so that nothing it refuses gets through.
    pub fn parse_with_imports(
        main: (&str, &str),
        imports: &[(&str, &str)],
    ) -> Result<Schema, InputError> {
        let mut files = Vec::new();
        for (display, text) in std::iter::once(&main).chain(imports) {
            let source = SourceText::new(*text);
            let json = json::parse(display, &source)?;
            files.push(SchemaFile {
                display: display.to_string(),
                source,
                json,
            });
        }
        let schema = Builder::build(files)?;
        validate_with_apache_avro(&schema)?;
        Ok(schema)
    }

    /// Builds a schema from JSON that has no text (for example an Avro payload embedded in an
    /// AsyncAPI document): origins still carry pointers (relative to `value`, for the caller to
    /// prefix), locations fall back to line 1. apache-avro is not consulted here, so references
    /// may come before their definitions; call [`Schema::parse_with_imports`] for the full check.
    pub fn from_json(display: &str, value: &serde_json::Value) -> Result<Schema, InputError> {
        let file = SchemaFile {
            display: display.to_string(),
            source: SourceText::new(""),
            json: Json::from_serde(value),
        };
        Builder::build(vec![file])
    }

    /// The root type.
    pub fn root(&self) -> TypeId {
        self.root
    }

    pub fn node(&self, id: TypeId) -> &TypeNode {
        &self.types[id.index()]
    }

    /// Follows references to the definition they name.
    pub fn resolve(&self, mut id: TypeId) -> TypeId {
        // References always point at definitions, never at other references.
        if let TypeKind::Reference { target, .. } = self.node(id).kind {
            id = target;
        }
        id
    }

    pub fn files(&self) -> &[SchemaFile] {
        &self.files
    }

    /// The file and span of the node at `origin`. For a record, enum, fixed or field object
    /// that is its `name` (what a reader of the file looks for: an object's opening brace often
    /// shares a line with the previous one's closing brace); otherwise the JSON value itself.
    pub fn location(&self, origin: &Origin) -> Location {
        let Some(file) = self.files.get(origin.file) else {
            return Location::file("<unknown>");
        };
        let node = file.json.pointer(&origin.pointer);
        let named = node.and_then(|n| n.get("name").filter(|_| n.get("type").is_some()));
        match named.or(node) {
            Some(node) if node.end > node.start => Location::new(
                file.display.clone(),
                file.source.position(node.start),
                file.source.position(node.end),
            ),
            _ => Location::file(file.display.clone()),
        }
    }

    /// The display path of a file of this schema.
    pub fn display(&self, file: usize) -> &str {
        self.files.get(file).map_or("", |f| f.display.as_str())
    }
}

/// Asks apache-avro to read the same schema. Imports go first, as the members of one top-level
/// union with the main schema last (unions in files are spliced in), so that names defined in
/// them resolve. Its errors have no positions, so they point at the main file's root.
fn validate_with_apache_avro(schema: &Schema) -> Result<(), InputError> {
    let value = match schema.files.split_first() {
        Some((main, [])) => main.json.to_serde(),
        Some((main, imports)) => {
            let mut items = Vec::new();
            for file in imports.iter().chain(std::iter::once(main)) {
                match file.json.to_serde() {
                    serde_json::Value::Array(branches) => items.extend(branches),
                    other => items.push(other),
                }
            }
            serde_json::Value::Array(items)
        }
        None => return Ok(()),
    };
    apache_avro::Schema::parse(&value).map(|_| ()).map_err(|e| {
        let mut message = e.to_string();
        if let Some(source) = std::error::Error::source(&e) {
            message = format!("{message}: {source}");
        }
        let root = Origin {
            file: 0,
            pointer: String::new(),
        };
        let location = schema.location(&root);
        InputError::at(
            location.path,
            location.start,
            format!("not a valid Avro schema (apache-avro): {message}"),
        )
    })
}

/// A named definition found in the first pass.
struct Definition {
    id: TypeId,
}

struct Builder {
    files: Vec<SchemaFile>,
    types: Vec<TypeNode>,
    names: HashMap<String, Definition>,
}

impl Builder {
    fn build(files: Vec<SchemaFile>) -> Result<Schema, InputError> {
        let mut builder = Builder {
            files,
            types: Vec::new(),
            names: HashMap::new(),
        };
        // Pass 1: every named definition in every file gets its id, so references may come
        // before definitions and across files.
        for file in 0..builder.files.len() {
            let json = builder.files[file].json.clone();
            let origin = Origin {
                file,
                pointer: String::new(),
            };
            builder.collect(&json, None, &origin)?;
        }
        // Pass 2: build the types; the main file's root is the schema's root.
        let mut root = TypeId(0);
        for file in 0..builder.files.len() {
            let json = builder.files[file].json.clone();
            let origin = Origin {
                file,
                pointer: String::new(),
            };
            let id = builder.type_of(&json, None, &origin)?;
            if file == 0 {
                root = id;
            }
        }
        let schema = Schema {
            files: builder.files,
            types: builder.types,
            root,
        };
        check_field_defaults(&schema)?;
        Ok(schema)
    }

    fn error(&self, origin: &Origin, json: &Json, message: impl Into<String>) -> InputError {
        let file = &self.files[origin.file];
        InputError::at(
            file.display.clone(),
            file.source.position(json.start),
            message,
        )
    }

    fn push(&mut self, kind: TypeKind, origin: &Origin) -> TypeId {
        let id = TypeId(self.types.len() as u32);
        self.types.push(TypeNode {
            kind,
            origin: origin.clone(),
        });
        id
    }

    /// Pass 1: registers the named types defined in `json` (a type) and below it.
    fn collect(
        &mut self,
        json: &Json,
        namespace: Option<&str>,
        origin: &Origin,
    ) -> Result<(), InputError> {
        match &json.value {
            JsonValue::Array(branches) => {
                for (i, branch) in branches.iter().enumerate() {
                    self.collect(branch, namespace, &origin.child(&i.to_string()))?;
                }
            }
            JsonValue::Object(_) => {
                let Some(type_json) = json.get("type") else {
                    return Err(self.error(origin, json, "a type object needs a `type` member"));
                };
                match type_json.as_str() {
                    Some(word @ ("record" | "error" | "enum" | "fixed")) => {
                        let named = self.named(json, namespace, origin, word)?;
                        if let Some(name_json) = json.get("name")
                            && self.names.contains_key(&named.full_name)
                        {
                            return Err(self.error(
                                origin,
                                name_json,
                                format!("the type `{}` is defined twice", named.full_name),
                            ));
                        }
                        let id = self.push(TypeKind::Pending, origin);
                        let inner_namespace = namespace_of(&named.full_name);
                        self.names
                            .insert(named.full_name.clone(), Definition { id });
                        if word != "record" && word != "error" {
                            return Ok(());
                        }
                        let Some(JsonValue::Array(fields)) = json.get("fields").map(|f| &f.value)
                        else {
                            return Err(self.error(
                                origin,
                                json,
                                format!("record `{}` needs a `fields` array", named.full_name),
                            ));
                        };
                        for (i, field) in fields.iter().enumerate() {
                            if let Some(field_type) = field.get("type") {
                                let at = origin.join(&["fields", &i.to_string(), "type"]);
                                self.collect(field_type, inner_namespace.as_deref(), &at)?;
                            }
                        }
                    }
                    Some("array") => {
                        if let Some(items) = json.get("items") {
                            self.collect(items, namespace, &origin.child("items"))?;
                        }
                    }
                    Some("map") => {
                        if let Some(values) = json.get("values") {
                            self.collect(values, namespace, &origin.child("values"))?;
                        }
                    }
                    Some(_) => {}
                    None => self.collect(type_json, namespace, &origin.child("type"))?,
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// The name, namespace and aliases of a record, enum or fixed object.
    fn named(
        &self,
        json: &Json,
        namespace: Option<&str>,
        origin: &Origin,
        word: &str,
    ) -> Result<Named, InputError> {
        let Some(name_json) = json.get("name") else {
            return Err(self.error(origin, json, format!("a {word} needs a `name`")));
        };
        let Some(name) = name_json.as_str() else {
            return Err(self.error(origin, name_json, "`name` must be a string"));
        };
        let own_namespace = match json.get("namespace") {
            None => namespace.map(str::to_string),
            Some(ns) => match &ns.value {
                JsonValue::String(s) if s.is_empty() => None,
                JsonValue::String(s) => {
                    if !valid_full_name(s) {
                        return Err(self.error(
                            origin,
                            ns,
                            format!("`{s}` is not a valid namespace"),
                        ));
                    }
                    Some(s.clone())
                }
                JsonValue::Null => None,
                _ => return Err(self.error(origin, ns, "`namespace` must be a string")),
            },
        };
        if !valid_full_name(name) {
            return Err(self.error(
                origin,
                name_json,
                format!(
                    "`{name}` is not a valid Avro name ([A-Za-z_][A-Za-z0-9_]*, dot-separated)"
                ),
            ));
        }
        let full_name = qualify(name, own_namespace.as_deref());
        let simple = full_name.rsplit('.').next().unwrap_or(name).to_string();
        if PRIMITIVES.contains(&simple.as_str()) && !full_name.contains('.') {
            return Err(self.error(
                origin,
                name_json,
                format!("`{name}` is a primitive type and cannot name a {word}"),
            ));
        }
        let type_namespace = namespace_of(&full_name);
        let aliases = self.aliases(json, type_namespace.as_deref(), origin)?;
        Ok(Named {
            full_name,
            name: simple,
            aliases,
        })
    }

    fn aliases(
        &self,
        json: &Json,
        namespace: Option<&str>,
        origin: &Origin,
    ) -> Result<Vec<String>, InputError> {
        let Some(aliases) = json.get("aliases") else {
            return Ok(Vec::new());
        };
        let JsonValue::Array(items) = &aliases.value else {
            return Err(self.error(origin, aliases, "`aliases` must be an array of names"));
        };
        items
            .iter()
            .map(|item| match item.as_str() {
                Some(alias) if valid_full_name(alias) => Ok(qualify(alias, namespace)),
                _ => Err(self.error(origin, item, "an alias must be a valid Avro name")),
            })
            .collect()
    }

    /// Pass 2: the type written at `json`.
    fn type_of(
        &mut self,
        json: &Json,
        namespace: Option<&str>,
        origin: &Origin,
    ) -> Result<TypeId, InputError> {
        match &json.value {
            JsonValue::String(name) => self.named_or_primitive(name, None, json, namespace, origin),
            JsonValue::Array(branches) => {
                let mut ids = Vec::with_capacity(branches.len());
                for (i, branch) in branches.iter().enumerate() {
                    let at = origin.child(&i.to_string());
                    if matches!(branch.value, JsonValue::Array(_)) {
                        return Err(self.error(
                            &at,
                            branch,
                            "a union cannot directly contain another union",
                        ));
                    }
                    let id = self.type_of(branch, namespace, &at)?;
                    if let Some(key) = self.branch_key(id)
                        && ids
                            .iter()
                            .any(|&other| self.branch_key(other) == Some(key.clone()))
                    {
                        return Err(self.error(
                            &at,
                            branch,
                            format!("the union already has a `{key}` branch"),
                        ));
                    }
                    ids.push(id);
                }
                Ok(self.push(TypeKind::Union { branches: ids }, origin))
            }
            JsonValue::Object(_) => self.object_type(json, namespace, origin),
            _ => Err(self.error(
                origin,
                json,
                format!(
                    "expected a type (a name, an object or a union array), found {}",
                    json.kind()
                ),
            )),
        }
    }

    /// What makes two union branches the same branch: the type word for unnamed types, the full
    /// name for named ones.
    fn branch_key(&self, id: TypeId) -> Option<String> {
        let kind = &self.types[id.index()].kind;
        match kind {
            TypeKind::Reference { full_name, .. } => Some(full_name.clone()),
            TypeKind::Record(_) | TypeKind::Enum(_) | TypeKind::Fixed(_) => {
                kind.named().map(|n| n.full_name.clone())
            }
            TypeKind::Pending => None,
            other => Some(other.word().to_string()),
        }
    }

    fn named_or_primitive(
        &mut self,
        name: &str,
        object: Option<&Json>,
        json: &Json,
        namespace: Option<&str>,
        origin: &Origin,
    ) -> Result<TypeId, InputError> {
        let decimal = object.and_then(decimal_of);
        let kind = match name {
            "null" => TypeKind::Null,
            "boolean" => TypeKind::Boolean,
            "int" => TypeKind::Int,
            "long" => TypeKind::Long,
            "float" => TypeKind::Float,
            "double" => TypeKind::Double,
            "bytes" => TypeKind::Bytes { decimal },
            "string" => TypeKind::String,
            _ => {
                let candidates = [qualify(name, namespace), name.to_string()];
                let Some((full_name, target)) = candidates
                    .iter()
                    .find_map(|c| self.names.get(c).map(|d| (c.clone(), d.id)))
                else {
                    return Err(self.error(
                        origin,
                        json,
                        format!("unknown type `{name}` (not a primitive, and no named type of that name is defined)"),
                    ));
                };
                TypeKind::Reference { full_name, target }
            }
        };
        Ok(self.push(kind, origin))
    }

    fn object_type(
        &mut self,
        json: &Json,
        namespace: Option<&str>,
        origin: &Origin,
    ) -> Result<TypeId, InputError> {
        let Some(type_json) = json.get("type") else {
            return Err(self.error(origin, json, "a type object needs a `type` member"));
        };
        let Some(word) = type_json.as_str() else {
            // `{"type": {...}}` or `{"type": [...]}`: the type is the nested one.
            return self.type_of(type_json, namespace, &origin.child("type"));
        };
        match word {
            "record" | "error" | "enum" | "fixed" => self.definition(json, word, namespace, origin),
            "array" => {
                let Some(items) = json.get("items") else {
                    return Err(self.error(origin, json, "an array needs `items`"));
                };
                let items = self.type_of(items, namespace, &origin.child("items"))?;
                Ok(self.push(TypeKind::Array { items }, origin))
            }
            "map" => {
                let Some(values) = json.get("values") else {
                    return Err(self.error(origin, json, "a map needs `values`"));
                };
                let values = self.type_of(values, namespace, &origin.child("values"))?;
                Ok(self.push(TypeKind::Map { values }, origin))
            }
            name => self.named_or_primitive(name, Some(json), type_json, namespace, origin),
        }
    }

    fn definition(
        &mut self,
        json: &Json,
        word: &str,
        namespace: Option<&str>,
        origin: &Origin,
    ) -> Result<TypeId, InputError> {
        let named = self.named(json, namespace, origin, word)?;
        let Some(id) = self.names.get(&named.full_name).map(|d| d.id) else {
            return Err(self.error(
                origin,
                json,
                "internal error: a named type was not collected",
            ));
        };
        let inner_namespace = namespace_of(&named.full_name);
        let kind = match word {
            "enum" => self.enum_type(json, named, origin)?,
            "fixed" => {
                let size = json
                    .get("size")
                    .and_then(|s| match &s.value {
                        JsonValue::Number(n) => n.parse::<u64>().ok(),
                        _ => None,
                    })
                    .ok_or_else(|| {
                        self.error(origin, json, "a fixed needs a non-negative integer `size`")
                    })?;
                TypeKind::Fixed(Fixed {
                    named,
                    size,
                    decimal: decimal_of(json),
                })
            }
            _ => {
                let Some(JsonValue::Array(fields_json)) = json.get("fields").map(|f| &f.value)
                else {
                    return Err(self.error(origin, json, "a record needs a `fields` array"));
                };
                let mut fields: Vec<Field> = Vec::with_capacity(fields_json.len());
                for (i, field_json) in fields_json.iter().enumerate() {
                    let at = origin.join(&["fields", &i.to_string()]);
                    let field = self.field(field_json, inner_namespace.as_deref(), &at)?;
                    if fields.iter().any(|f| f.name == field.name) {
                        return Err(self.error(
                            &at,
                            field_json,
                            format!("the field `{}` is defined twice", field.name),
                        ));
                    }
                    fields.push(field);
                }
                TypeKind::Record(Record { named, fields })
            }
        };
        self.types[id.index()] = TypeNode {
            kind,
            origin: origin.clone(),
        };
        Ok(id)
    }

    fn field(
        &mut self,
        json: &Json,
        namespace: Option<&str>,
        origin: &Origin,
    ) -> Result<Field, InputError> {
        if !matches!(json.value, JsonValue::Object(_)) {
            return Err(self.error(origin, json, "a field must be an object"));
        }
        let name = match json.get("name") {
            Some(n) => match n.as_str() {
                Some(s) if valid_name(s) => s.to_string(),
                _ => return Err(self.error(origin, n, "a field name must be a valid Avro name")),
            },
            None => return Err(self.error(origin, json, "a field needs a `name`")),
        };
        let Some(type_json) = json.get("type") else {
            return Err(self.error(origin, json, format!("the field `{name}` needs a `type`")));
        };
        let type_id = self.type_of(type_json, namespace, &origin.child("type"))?;
        let aliases = match json.get("aliases") {
            None => Vec::new(),
            Some(a) => match &a.value {
                JsonValue::Array(items) => items
                    .iter()
                    .map(|i| {
                        i.as_str()
                            .map(str::to_string)
                            .ok_or_else(|| self.error(origin, i, "a field alias must be a string"))
                    })
                    .collect::<Result<_, _>>()?,
                _ => return Err(self.error(origin, a, "`aliases` must be an array of names")),
            },
        };
        Ok(Field {
            name,
            aliases,
            has_default: json.get("default").is_some(),
            type_id,
            origin: origin.clone(),
        })
    }

    fn enum_type(
        &self,
        json: &Json,
        named: Named,
        origin: &Origin,
    ) -> Result<TypeKind, InputError> {
        let Some(JsonValue::Array(items)) = json.get("symbols").map(|s| &s.value) else {
            return Err(self.error(origin, json, "an enum needs a `symbols` array"));
        };
        let mut symbols: Vec<String> = Vec::with_capacity(items.len());
        for item in items {
            match item.as_str() {
                Some(s) if valid_name(s) && !symbols.iter().any(|x| x == s) => {
                    symbols.push(s.to_string())
                }
                Some(s) if valid_name(s) => {
                    return Err(self.error(origin, item, format!("duplicate enum symbol `{s}`")));
                }
                _ => {
                    return Err(self.error(
                        origin,
                        item,
                        "an enum symbol must be a valid Avro name ([A-Za-z_][A-Za-z0-9_]*)",
                    ));
                }
            }
        }
        let default = match json.get("default") {
            None => None,
            Some(d) => match d.as_str() {
                Some(s) if symbols.iter().any(|x| x == s) => Some(s.to_string()),
                _ => {
                    return Err(self.error(
                        origin,
                        d,
                        "the enum `default` must be one of its symbols",
                    ));
                }
            },
        };
        Ok(TypeKind::Enum(Enum {
            named,
            symbols,
            default,
        }))
    }
}

/// Pass 3: every field default must be a value of the field's type. apache-avro checks this too,
/// but without a position; this check says where. It is lenient where readers differ (a union
/// default may match any branch, numbers of a float type may be written as integers), so that it
/// never refuses what apache-avro accepts.
fn check_field_defaults(schema: &Schema) -> Result<(), InputError> {
    for node in &schema.types {
        let TypeKind::Record(record) = &node.kind else {
            continue;
        };
        for field in &record.fields {
            let Some(file) = schema.files.get(field.origin.file) else {
                continue;
            };
            let Some(default) = file
                .json
                .pointer(&field.origin.pointer)
                .and_then(|f| f.get("default"))
            else {
                continue;
            };
            if !default_fits(schema, field.type_id, default, 0) {
                let expected = schema.node(schema.resolve(field.type_id)).kind.word();
                return Err(InputError::at(
                    file.display.clone(),
                    file.source.position(default.start),
                    format!(
                        "the default of field `{}` is {}, which is not a value of its type ({expected})",
                        field.name,
                        default.kind()
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// Whether `value` is a value of type `id`. Recursion follows the value, which is at most
/// [`json::MAX_DEPTH`] deep, so it ends even on recursive types.
fn default_fits(schema: &Schema, id: TypeId, value: &Json, depth: usize) -> bool {
    if depth > json::MAX_DEPTH {
        return true;
    }
    let integer = |n: &str| !n.contains(['.', 'e', 'E']);
    match (&schema.node(schema.resolve(id)).kind, &value.value) {
        (TypeKind::Null, JsonValue::Null) | (TypeKind::Boolean, JsonValue::Bool(_)) => true,
        (TypeKind::Int | TypeKind::Long, JsonValue::Number(n)) => integer(n),
        (TypeKind::Float | TypeKind::Double, JsonValue::Number(_) | JsonValue::String(_)) => true,
        (
            TypeKind::Bytes { .. } | TypeKind::String | TypeKind::Fixed(_) | TypeKind::Enum(_),
            JsonValue::String(_),
        ) => true,
        (TypeKind::Array { items }, JsonValue::Array(values)) => values
            .iter()
            .all(|v| default_fits(schema, *items, v, depth + 1)),
        (TypeKind::Map { values }, JsonValue::Object(members)) => members
            .iter()
            .all(|(_, v)| default_fits(schema, *values, v, depth + 1)),
        (TypeKind::Record(_), JsonValue::Object(_)) => true,
        (TypeKind::Union { branches }, _) => branches
            .iter()
            .any(|b| default_fits(schema, *b, value, depth + 1)),
        _ => false,
    }
}

/// `decimal` parameters when the object declares a valid decimal logical type. An invalid one
/// is ignored, as the Avro specification says: the type is then its underlying type.
fn decimal_of(json: &Json) -> Option<Decimal> {
    if json.get("logicalType")?.as_str()? != "decimal" {
        return None;
    }
    let number = |key: &str| match json.get(key).map(|v| &v.value) {
        Some(JsonValue::Number(n)) => n.parse::<u64>().ok(),
        _ => None,
    };
    let precision = number("precision")?;
    let scale = match json.get("scale") {
        None => 0,
        Some(_) => number("scale")?,
    };
    (precision > 0 && scale <= precision).then_some(Decimal { precision, scale })
}

fn qualify(name: &str, namespace: Option<&str>) -> String {
    match namespace {
        Some(ns) if !name.contains('.') && !ns.is_empty() => format!("{ns}.{name}"),
        _ => name.to_string(),
    }
}

fn namespace_of(full_name: &str) -> Option<String> {
    full_name.rsplit_once('.').map(|(ns, _)| ns.to_string())
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn valid_full_name(name: &str) -> bool {
    name.split('.').all(valid_name)
}
