//! SDL text → [`Schema`]: parse with async-graphql-parser, merge extensions
//! into their types, merge in the built-ins and the preludes the document
//! uses, check that every referenced type exists, and resolve the roots.
//!
//! Every failure is an [`InputError`] at `path:line:column`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use async_graphql_parser::types::{
    self as ast, ConstDirective, DirectiveLocation, ServiceDocument, TypeSystemDefinition,
};
use async_graphql_parser::{Pos, Positioned};
use async_graphql_value::ConstValue;
use contractor_core::{InputError, Location, Position};

use crate::model::{
    Deprecation, DirectiveDef, DirectiveUse, DirectiveUseArgument, EnumValue, Field, InputValue,
    OPERATIONS, Origin, Root, Schema, TypeDef, TypeKind, TypeRef,
};
use crate::prelude;

/// Deepest bracket nesting accepted. The parser recurses once per level of
/// `[`, `{` or `(`; refusing absurd nesting up front keeps a hostile
/// document from overflowing the stack. Real schemas stay below 10.
pub const MAX_NESTING: usize = 128;

/// Parses and checks one SDL document. `path` is the display path used in
/// every location and error.
pub fn load(path: &str, text: &str) -> Result<Schema, InputError> {
    check_nesting(path, text)?;
    let document = async_graphql_parser::parse_schema(text).map_err(|e| syntax_error(path, &e))?;
    let mut builder = Builder::new(path, text, Origin::User);
    builder.document(document)?;
    let Builder {
        mut schema,
        schema_roots,
        used_directives,
        ..
    } = builder;
    for (name, ty) in &builtins().types {
        schema
            .types
            .entry(name.clone())
            .or_insert_with(|| ty.clone());
    }
    for (name, directive) in &builtins().directives {
        schema
            .directives
            .entry(name.clone())
            .or_insert_with(|| directive.clone());
    }
    merge_preludes(&mut schema, &used_directives);
    check_references(&schema)?;
    resolve_roots(&mut schema, schema_roots)?;
    Ok(schema)
}

fn builtins() -> &'static Schema {
    static BUILTINS: OnceLock<Schema> = OnceLock::new();
    BUILTINS.get_or_init(|| parse_prelude("<builtin>", prelude::BUILTIN_SDL, Origin::Builtin))
}

fn preludes() -> &'static Schema {
    static PRELUDES: OnceLock<Schema> = OnceLock::new();
    PRELUDES.get_or_init(|| parse_prelude("<prelude>", prelude::PRELUDE_SDL, Origin::Prelude))
}

/// The preludes are constants of this crate, tested to parse; should one
/// ever fail, an empty prelude only means fewer names resolve.
fn parse_prelude(path: &str, text: &str, origin: Origin) -> Schema {
    let mut builder = Builder::new(path, text, origin);
    if let Ok(document) = async_graphql_parser::parse_schema(text) {
        let _ = builder.document(document);
    }
    builder.schema
}

/// Rejects nesting deeper than [`MAX_NESTING`], skipping strings and comments.
fn check_nesting(path: &str, text: &str) -> Result<(), InputError> {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'"' if bytes[i..].starts_with(b"\"\"\"") => {
                i += 3;
                while i < bytes.len() && !bytes[i..].starts_with(b"\"\"\"") {
                    i += if bytes[i..].starts_with(b"\\\"\"\"") {
                        4
                    } else {
                        1
                    };
                }
                i += 2;
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'[' | b'{' | b'(' => {
                depth += 1;
                if depth > MAX_NESTING {
                    let position = contractor_core::SourceText::new(text).position(i);
                    return Err(InputError::at(
                        path,
                        position,
                        format!("nesting deeper than {MAX_NESTING} levels"),
                    ));
                }
            }
            b']' | b'}' | b')' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    Ok(())
}

/// A parser error as one line at its position: pest's multi-line report is
/// reduced to its `= expected ...` line.
fn syntax_error(path: &str, error: &async_graphql_parser::Error) -> InputError {
    let message = match error {
        async_graphql_parser::Error::Syntax { message, .. } => message
            .lines()
            .rev()
            .find_map(|l| l.trim().strip_prefix("= "))
            .map(|m| format!("syntax error: {m}"))
            .unwrap_or_else(|| message.clone()),
        other => other.to_string(),
    };
    match error.positions().next() {
        Some(pos) => InputError::at(path, position(pos), message),
        None => InputError::in_file(path, message),
    }
}

fn position(pos: Pos) -> Position {
    let clamp = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    Position::new(clamp(pos.line), clamp(pos.column))
}

/// Collects one document's definitions into a [`Schema`].
struct Builder<'t> {
    /// The document's text, for what the parser does not keep (`repeatable`).
    text: &'t str,
    schema: Schema,
    origin: Origin,
    /// Types seen in a definition (not only in an extension), to tell a
    /// duplicate definition from a definition after its extension.
    defined: BTreeSet<String>,
    /// Root operation types named in `schema { ... }` / `extend schema { ... }`.
    schema_roots: Option<[Option<Root>; 3]>,
    /// Names of the directives the document applies somewhere.
    used_directives: BTreeSet<String>,
}

impl<'t> Builder<'t> {
    fn new(path: &str, text: &'t str, origin: Origin) -> Self {
        Self {
            text,
            schema: Schema {
                path: path.to_string(),
                ..Schema::default()
            },
            origin,
            defined: BTreeSet::new(),
            schema_roots: None,
            used_directives: BTreeSet::new(),
        }
    }

    fn location(&self, pos: Pos) -> Location {
        let p = position(pos);
        Location::new(self.schema.path.clone(), p, p)
    }

    /// The span of a name starting at `pos`, so that reports underline the name.
    fn name_location(&self, pos: Pos, name: &str) -> Location {
        let start = position(pos);
        let width = u32::try_from(name.chars().count()).unwrap_or(0);
        let end = Position::new(start.line, start.column.saturating_add(width));
        Location::new(self.schema.path.clone(), start, end)
    }

    fn error(&self, pos: Pos, message: String) -> InputError {
        InputError::at(self.schema.path.clone(), position(pos), message)
    }

    fn document(&mut self, document: ServiceDocument) -> Result<(), InputError> {
        for definition in document.definitions {
            match definition {
                TypeSystemDefinition::Schema(schema) => self.schema_definition(schema),
                TypeSystemDefinition::Type(ty) => self.type_definition(ty)?,
                TypeSystemDefinition::Directive(directive) => {
                    self.directive_definition(directive)?
                }
            }
        }
        Ok(())
    }

    /// Records the directives applied to an element and returns them.
    fn note_directives(&mut self, directives: &[Positioned<ConstDirective>]) -> Vec<DirectiveUse> {
        directives
            .iter()
            .map(|d| {
                let name = d.node.name.node.to_string();
                self.used_directives.insert(name.clone());
                let location = self.name_location(d.pos, &format!("@{name}"));
                let arguments = d
                    .node
                    .arguments
                    .iter()
                    .map(|(arg_name, value)| DirectiveUseArgument {
                        name: arg_name.node.to_string(),
                        value: value.node.to_string(),
                        location: self.name_location(arg_name.pos, &arg_name.node),
                    })
                    .collect();
                DirectiveUse {
                    name,
                    location,
                    arguments,
                }
            })
            .collect()
    }

    fn schema_definition(&mut self, schema: Positioned<ast::SchemaDefinition>) {
        let uses = self.note_directives(&schema.node.directives);
        self.schema.schema_directives.extend(uses);
        let mut roots = self.schema_roots.take().unwrap_or_default();
        let named = [
            &schema.node.query,
            &schema.node.mutation,
            &schema.node.subscription,
        ];
        for (slot, name) in roots.iter_mut().zip(named) {
            if let Some(name) = name {
                *slot = Some(Root {
                    name: name.node.to_string(),
                    location: self.location(name.pos),
                });
            }
        }
        self.schema_roots = Some(roots);
    }

    fn type_definition(&mut self, ty: Positioned<ast::TypeDefinition>) -> Result<(), InputError> {
        let pos = ty.pos;
        let ty = ty.node;
        let name = ty.name.node.to_string();
        let uses = self.note_directives(&ty.directives);
        let kind = match &ty.kind {
            ast::TypeKind::Scalar => TypeKind::Scalar,
            ast::TypeKind::Object(_) => TypeKind::Object,
            ast::TypeKind::Interface(_) => TypeKind::Interface,
            ast::TypeKind::Union(_) => TypeKind::Union,
            ast::TypeKind::Enum(_) => TypeKind::Enum,
            ast::TypeKind::InputObject(_) => TypeKind::InputObject,
        };
        if !ty.extend && !self.defined.insert(name.clone()) {
            return Err(self.error(pos, format!("type `{name}` is defined more than once")));
        }
        let location = self.name_location(ty.name.pos, &name);
        let origin = self.origin;
        let mut def = self.schema.types.remove(&name).unwrap_or_else(|| TypeDef {
            name: name.clone(),
            kind,
            description: None,
            origin,
            location: location.clone(),
            fields: BTreeMap::new(),
            input_fields: BTreeMap::new(),
            interfaces: BTreeMap::new(),
            members: BTreeMap::new(),
            values: BTreeMap::new(),
            one_of: false,
            directives: Vec::new(),
        });
        def.directives.extend(uses);
        if def.kind != kind {
            return Err(self.error(
                pos,
                format!(
                    "`{name}` is a {} here but a {} elsewhere",
                    kind.as_str(),
                    def.kind.as_str()
                ),
            ));
        }
        if !ty.extend {
            // The definition, not an extension seen earlier, says where the type is.
            def.location = location;
            if ty.description.is_some() {
                def.description = ty.description.map(|d| d.node);
            }
        }
        def.one_of |= ty.directives.iter().any(|d| d.node.name.node == "oneOf");
        match ty.kind {
            ast::TypeKind::Scalar => {}
            ast::TypeKind::Object(object) => {
                self.implements(&mut def, object.implements);
                self.fields(&mut def, object.fields)?;
            }
            ast::TypeKind::Interface(interface) => {
                self.implements(&mut def, interface.implements);
                self.fields(&mut def, interface.fields)?;
            }
            ast::TypeKind::Union(union) => {
                for member in union.members {
                    let location = self.name_location(member.pos, &member.node);
                    def.members.insert(member.node.to_string(), location);
                }
            }
            ast::TypeKind::Enum(enumeration) => {
                for value in enumeration.values {
                    let directives = self.note_directives(&value.node.directives);
                    let value_name = value.node.value.node.to_string();
                    if def.values.contains_key(&value_name) {
                        return Err(self.error(
                            value.pos,
                            format!("enum value `{name}.{value_name}` is defined more than once"),
                        ));
                    }
                    let enum_value = EnumValue {
                        name: value_name.clone(),
                        description: value.node.description.map(|d| d.node),
                        deprecation: deprecation(&value.node.directives),
                        location: self.name_location(value.node.value.pos, &value_name),
                        directives,
                    };
                    def.values.insert(value_name, enum_value);
                }
            }
            ast::TypeKind::InputObject(input) => {
                for field in input.fields {
                    let value = self.input_value(field);
                    if def.input_fields.contains_key(&value.name) {
                        let message = format!(
                            "input field `{name}.{}` is defined more than once",
                            value.name
                        );
                        return Err(InputError::at(
                            self.schema.path.clone(),
                            value.location.start,
                            message,
                        ));
                    }
                    def.input_fields.insert(value.name.clone(), value);
                }
            }
        }
        self.schema.types.insert(name, def);
        Ok(())
    }

    fn implements(&mut self, def: &mut TypeDef, names: Vec<Positioned<async_graphql_value::Name>>) {
        for interface in names {
            let location = self.name_location(interface.pos, &interface.node);
            def.interfaces.insert(interface.node.to_string(), location);
        }
    }

    fn fields(
        &mut self,
        def: &mut TypeDef,
        fields: Vec<Positioned<ast::FieldDefinition>>,
    ) -> Result<(), InputError> {
        for field in fields {
            let field = field.node;
            let directives = self.note_directives(&field.directives);
            let name = field.name.node.to_string();
            if def.fields.contains_key(&name) {
                return Err(self.error(
                    field.name.pos,
                    format!("field `{}.{name}` is defined more than once", def.name),
                ));
            }
            let arguments = self.arguments(field.arguments, &format!("{}.{name}", def.name))?;
            def.fields.insert(
                name.clone(),
                Field {
                    name,
                    description: field.description.map(|d| d.node),
                    ty: type_ref(&field.ty.node),
                    arguments,
                    deprecation: deprecation(&field.directives),
                    location: self.name_location(field.name.pos, &field.name.node),
                    directives,
                },
            );
        }
        Ok(())
    }

    /// The arguments of a field or directive (`owner`, for messages); a name
    /// given twice is an error.
    fn arguments(
        &mut self,
        arguments: Vec<Positioned<ast::InputValueDefinition>>,
        owner: &str,
    ) -> Result<BTreeMap<String, InputValue>, InputError> {
        let mut by_name = BTreeMap::new();
        for argument in arguments {
            let value = self.input_value(argument);
            if by_name.contains_key(&value.name) {
                let message = format!("argument `{}` of `{owner}` is given twice", value.name);
                return Err(InputError::at(
                    self.schema.path.clone(),
                    value.location.start,
                    message,
                ));
            }
            by_name.insert(value.name.clone(), value);
        }
        Ok(by_name)
    }

    fn input_value(&mut self, value: Positioned<ast::InputValueDefinition>) -> InputValue {
        let value = value.node;
        let directives = self.note_directives(&value.directives);
        InputValue {
            directives,
            location: self.name_location(value.name.pos, &value.name.node),
            name: value.name.node.to_string(),
            description: value.description.map(|d| d.node),
            ty: type_ref(&value.ty.node),
            default: value.default_value.map(|v| v.node.to_string()),
            deprecation: deprecation(&value.directives),
        }
    }

    fn directive_definition(
        &mut self,
        directive: Positioned<ast::DirectiveDefinition>,
    ) -> Result<(), InputError> {
        let directive = directive.node;
        let name = directive.name.node.to_string();
        if self.schema.directives.contains_key(&name) {
            return Err(self.error(
                directive.name.pos,
                format!("directive `@{name}` is defined more than once"),
            ));
        }
        let arguments = self.arguments(directive.arguments, &format!("@{name}"))?;
        let locations = directive
            .locations
            .iter()
            .map(|l| {
                let place = location_name(l.node);
                (place.to_string(), self.name_location(l.pos, place))
            })
            .collect();
        let def = DirectiveDef {
            name: name.clone(),
            description: directive.description.map(|d| d.node),
            origin: self.origin,
            arguments,
            locations,
            repeatable: self.is_repeatable(directive.name.pos),
            location: self.name_location(directive.name.pos, &name),
        };
        self.schema.directives.insert(name, def);
        Ok(())
    }
}

impl Builder<'_> {
    /// Whether the directive definition whose name starts at `name` says
    /// `repeatable`. async-graphql-parser 7.2.1 reports every directive as
    /// repeatable (its grammar rule matches the empty string), so the word is
    /// looked for in the text: after the name and the argument list, before
    /// `on`.
    fn is_repeatable(&self, name: Pos) -> bool {
        let Some(start) = byte_offset(self.text, name) else {
            return false;
        };
        let rest = &self.text.as_bytes()[start..];
        let mut i = rest
            .iter()
            .position(|b| !(b.is_ascii_alphanumeric() || *b == b'_'))
            .unwrap_or(rest.len());
        let mut depth = 0usize;
        while i < rest.len() {
            match rest[i] {
                b'#' => {
                    while i < rest.len() && rest[i] != b'\n' {
                        i += 1;
                    }
                }
                b'"' if depth > 0 => {
                    // Skip a string (block or not) inside the argument list.
                    let block = rest[i..].starts_with(b"\"\"\"");
                    let quote: &[u8] = if block { b"\"\"\"" } else { b"\"" };
                    i += quote.len();
                    while i < rest.len() && !rest[i..].starts_with(quote) {
                        i += if rest[i] == b'\\' { 2 } else { 1 };
                    }
                    i += quote.len() - 1;
                }
                b'(' => depth += 1,
                b')' => depth = depth.saturating_sub(1),
                b if depth == 0 && b.is_ascii_alphabetic() => {
                    let word_end = rest[i..]
                        .iter()
                        .position(|b| !(b.is_ascii_alphanumeric() || *b == b'_'))
                        .map_or(rest.len(), |n| i + n);
                    return &rest[i..word_end] == b"repeatable";
                }
                _ => {}
            }
            i += 1;
        }
        false
    }
}

/// The byte offset of a parser position (1-based line, 1-based column in characters).
fn byte_offset(text: &str, pos: Pos) -> Option<usize> {
    let line_start = if pos.line <= 1 {
        0
    } else {
        text.match_indices('\n').nth(pos.line - 2)?.0 + 1
    };
    let line = text.get(line_start..)?;
    let column = line
        .char_indices()
        .nth(pos.column.saturating_sub(1))
        .map_or(line.len(), |(i, _)| i);
    Some(line_start + column)
}

fn type_ref(ty: &ast::Type) -> TypeRef {
    let inner = match &ty.base {
        ast::BaseType::Named(name) => TypeRef::Named(name.to_string()),
        ast::BaseType::List(element) => TypeRef::List(Box::new(type_ref(element))),
    };
    if ty.nullable {
        inner
    } else {
        TypeRef::NonNull(Box::new(inner))
    }
}

fn deprecation(directives: &[Positioned<ConstDirective>]) -> Deprecation {
    let Some(directive) = directives.iter().find(|d| d.node.name.node == "deprecated") else {
        return Deprecation::Active;
    };
    let reason = directive
        .node
        .arguments
        .iter()
        .find(|(name, _)| name.node == "reason");
    match reason {
        Some((_, value)) => match &value.node {
            ConstValue::String(reason) => Deprecation::DeprecatedBecause(reason.clone()),
            _ => Deprecation::Deprecated,
        },
        None => Deprecation::Deprecated,
    }
}

fn location_name(location: DirectiveLocation) -> &'static str {
    match location {
        DirectiveLocation::Query => "QUERY",
        DirectiveLocation::Mutation => "MUTATION",
        DirectiveLocation::Subscription => "SUBSCRIPTION",
        DirectiveLocation::Field => "FIELD",
        DirectiveLocation::FragmentDefinition => "FRAGMENT_DEFINITION",
        DirectiveLocation::FragmentSpread => "FRAGMENT_SPREAD",
        DirectiveLocation::InlineFragment => "INLINE_FRAGMENT",
        DirectiveLocation::Schema => "SCHEMA",
        DirectiveLocation::Scalar => "SCALAR",
        DirectiveLocation::Object => "OBJECT",
        DirectiveLocation::FieldDefinition => "FIELD_DEFINITION",
        DirectiveLocation::ArgumentDefinition => "ARGUMENT_DEFINITION",
        DirectiveLocation::Interface => "INTERFACE",
        DirectiveLocation::Union => "UNION",
        DirectiveLocation::Enum => "ENUM",
        DirectiveLocation::EnumValue => "ENUM_VALUE",
        DirectiveLocation::InputObject => "INPUT_OBJECT",
        DirectiveLocation::InputFieldDefinition => "INPUT_FIELD_DEFINITION",
        DirectiveLocation::VariableDefinition => "VARIABLE_DEFINITION",
    }
}

/// Every type name the schema refers to, with where the first reference is.
fn type_references(schema: &Schema) -> BTreeMap<&str, &Location> {
    let mut out: BTreeMap<&str, &Location> = BTreeMap::new();
    for ty in schema.types.values() {
        for field in ty.fields.values() {
            out.entry(field.ty.named()).or_insert(&field.location);
            for argument in field.arguments.values() {
                out.entry(argument.ty.named()).or_insert(&argument.location);
            }
        }
        for field in ty.input_fields.values() {
            out.entry(field.ty.named()).or_insert(&field.location);
        }
        for (name, location) in ty.interfaces.iter().chain(&ty.members) {
            out.entry(name.as_str()).or_insert(location);
        }
    }
    for directive in schema.directives.values() {
        for argument in directive.arguments.values() {
            out.entry(argument.ty.named()).or_insert(&argument.location);
        }
    }
    out
}

/// Adds the prelude definitions the document refers to without defining,
/// and what those refer to in turn.
fn merge_preludes(schema: &mut Schema, used_directives: &BTreeSet<String>) {
    let prelude = preludes();
    for name in used_directives {
        if !schema.directives.contains_key(name)
            && let Some(directive) = prelude.directives.get(name)
        {
            schema.directives.insert(name.clone(), directive.clone());
        }
    }
    loop {
        let missing: Vec<String> = type_references(schema)
            .into_keys()
            .filter(|name| !schema.types.contains_key(*name) && prelude.types.contains_key(*name))
            .map(str::to_string)
            .collect();
        if missing.is_empty() {
            return;
        }
        for name in missing {
            if let Some(ty) = prelude.types.get(&name) {
                schema.types.insert(name, ty.clone());
            }
        }
    }
}

/// Every referenced type must exist, and interfaces and union members must be
/// of the right kind.
fn check_references(schema: &Schema) -> Result<(), InputError> {
    for (name, location) in type_references(schema) {
        if !schema.types.contains_key(name) {
            return Err(InputError::at(
                location.path.clone(),
                location.start,
                format!("unknown type `{name}`"),
            ));
        }
    }
    for ty in schema.types.values() {
        for (name, location) in &ty.interfaces {
            if schema.types.get(name).map(|t| t.kind) != Some(TypeKind::Interface) {
                return Err(InputError::at(
                    location.path.clone(),
                    location.start,
                    format!(
                        "`{}` implements `{name}`, which is not an interface",
                        ty.name
                    ),
                ));
            }
        }
        for (name, location) in &ty.members {
            if schema.types.get(name).map(|t| t.kind) != Some(TypeKind::Object) {
                return Err(InputError::at(
                    location.path.clone(),
                    location.start,
                    format!(
                        "union `{}` has member `{name}`, which is not an object type",
                        ty.name
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// The roots from `schema { ... }`, or the conventional type names.
fn resolve_roots(
    schema: &mut Schema,
    declared: Option<[Option<Root>; 3]>,
) -> Result<(), InputError> {
    // `extend schema @link(...)` (Federation) names no roots: conventional
    // names apply unless some root is named explicitly.
    let roots = match declared {
        Some(roots) if roots.iter().any(Option::is_some) => roots,
        _ => {
            let conventional = ["Query", "Mutation", "Subscription"];
            conventional.map(|name| {
                schema.types.get(name).map(|ty| Root {
                    name: name.to_string(),
                    location: ty.location.clone(),
                })
            })
        }
    };
    for (operation, root) in OPERATIONS.iter().zip(&roots) {
        let Some(root) = root else { continue };
        if schema.types.get(&root.name).map(|t| t.kind) != Some(TypeKind::Object) {
            return Err(InputError::at(
                root.location.path.clone(),
                root.location.start,
                format!(
                    "the {operation} root `{}` is not an object type in this document",
                    root.name
                ),
            ));
        }
    }
    schema.roots = roots;
    Ok(())
}
