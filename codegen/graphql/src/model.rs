//! The schema model the rules compare: one [`Schema`] per SDL document, with
//! extensions merged into their types, the preludes (built-in scalars and
//! directives, Apollo Federation, AWS AppSync) merged in where referenced,
//! and every element carrying the position it was defined at.
//!
//! Maps are `BTreeMap`s keyed by name: the rules look elements up by name on
//! both sides, and iteration order does not matter because findings are sorted.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use contractor_core::Location;

/// Where a definition comes from. Only [`Origin::User`] definitions are
/// reported as added or removed: the others are what a server provides
/// without the document spelling them out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Written in the document.
    User,
    /// Part of the GraphQL specification (`String`, `@deprecated`...).
    Builtin,
    /// A prelude (Federation, AppSync) merged in because the document used it.
    Prelude,
}

/// The kind of a named type, spelled as in introspection (`OBJECT`...), which
/// is also how findings name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TypeKind {
    Scalar,
    Object,
    Interface,
    Union,
    Enum,
    InputObject,
}

impl TypeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TypeKind::Scalar => "SCALAR",
            TypeKind::Object => "OBJECT",
            TypeKind::Interface => "INTERFACE",
            TypeKind::Union => "UNION",
            TypeKind::Enum => "ENUM",
            TypeKind::InputObject => "INPUT_OBJECT",
        }
    }
}

/// A type reference such as `[String!]!`, with the wrappers explicit so that
/// variance can be checked layer by layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TypeRef {
    Named(String),
    List(Box<TypeRef>),
    NonNull(Box<TypeRef>),
}

impl TypeRef {
    /// The named type at the bottom of the wrappers.
    pub fn named(&self) -> &str {
        match self {
            TypeRef::Named(name) => name,
            TypeRef::List(inner) | TypeRef::NonNull(inner) => inner.named(),
        }
    }

    pub fn is_non_null(&self) -> bool {
        matches!(self, TypeRef::NonNull(_))
    }
}

impl fmt::Display for TypeRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TypeRef::Named(name) => f.write_str(name),
            TypeRef::List(inner) => write!(f, "[{inner}]"),
            TypeRef::NonNull(inner) => write!(f, "{inner}!"),
        }
    }
}

/// A directive applied to an element (`@key(fields: "id")`): its name,
/// where it is written and the arguments it is given, in written order.
#[derive(Debug, Clone)]
pub struct DirectiveUse {
    pub name: String,
    pub location: Location,
    pub arguments: Vec<DirectiveUseArgument>,
}

/// One argument given to an applied directive (`fields: "id"`).
#[derive(Debug, Clone)]
pub struct DirectiveUseArgument {
    pub name: String,
    /// The value, rendered as GraphQL text, so that two values compare equal
    /// exactly when they are written the same way.
    pub value: String,
    /// Where the argument's name is written.
    pub location: Location,
}

/// Whether an element is deprecated, and with which reason.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Deprecation {
    #[default]
    Active,
    /// `@deprecated` without a `reason:` argument (the spec's default reason applies).
    Deprecated,
    /// `@deprecated(reason: "...")`.
    DeprecatedBecause(String),
}

impl Deprecation {
    pub fn is_deprecated(&self) -> bool {
        !matches!(self, Deprecation::Active)
    }
}

/// An argument of a field or directive, or a field of an input object.
#[derive(Debug, Clone)]
pub struct InputValue {
    pub name: String,
    pub description: Option<String>,
    pub ty: TypeRef,
    /// The default value, rendered as GraphQL text, so that two defaults
    /// compare equal exactly when they are written the same way.
    pub default: Option<String>,
    pub deprecation: Deprecation,
    pub location: Location,
    pub directives: Vec<DirectiveUse>,
}

impl InputValue {
    /// Non-null without a default: every caller must now provide it.
    pub fn is_required(&self) -> bool {
        self.ty.is_non_null() && self.default.is_none()
    }
}

/// A field of an object or interface type.
#[derive(Debug, Clone)]
pub struct Field {
    pub name: String,
    pub description: Option<String>,
    pub ty: TypeRef,
    pub arguments: BTreeMap<String, InputValue>,
    pub deprecation: Deprecation,
    pub location: Location,
    pub directives: Vec<DirectiveUse>,
}

#[derive(Debug, Clone)]
pub struct EnumValue {
    pub name: String,
    pub description: Option<String>,
    pub deprecation: Deprecation,
    pub location: Location,
    pub directives: Vec<DirectiveUse>,
}

/// A named type with its members; the collections that do not apply to its
/// kind stay empty.
#[derive(Debug, Clone)]
pub struct TypeDef {
    pub name: String,
    pub kind: TypeKind,
    pub description: Option<String>,
    pub origin: Origin,
    /// Where the type is defined (its first definition when it is extended).
    pub location: Location,
    /// Object and interface fields.
    pub fields: BTreeMap<String, Field>,
    /// Input object fields.
    pub input_fields: BTreeMap<String, InputValue>,
    /// Interfaces implemented (objects and interfaces), with where each is named.
    pub interfaces: BTreeMap<String, Location>,
    /// Union members, with where each is named.
    pub members: BTreeMap<String, Location>,
    pub values: BTreeMap<String, EnumValue>,
    /// `@oneOf` on an input object.
    pub one_of: bool,
    /// Directives applied to the type, extensions included.
    pub directives: Vec<DirectiveUse>,
}

/// A directive definition.
#[derive(Debug, Clone)]
pub struct DirectiveDef {
    pub name: String,
    pub description: Option<String>,
    pub origin: Origin,
    pub arguments: BTreeMap<String, InputValue>,
    /// Locations such as `FIELD_DEFINITION`, with where each is named.
    pub locations: BTreeMap<String, Location>,
    pub repeatable: bool,
    pub location: Location,
}

/// One root operation type: its name and where the schema names it.
#[derive(Debug, Clone)]
pub struct Root {
    pub name: String,
    pub location: Location,
}

/// The root operation types, `[query, mutation, subscription]`.
pub const OPERATIONS: [&str; 3] = ["query", "mutation", "subscription"];

/// A whole GraphQL schema.
#[derive(Debug, Clone, Default)]
pub struct Schema {
    /// The display path of the document.
    pub path: String,
    pub types: BTreeMap<String, TypeDef>,
    pub directives: BTreeMap<String, DirectiveDef>,
    /// Query, mutation and subscription roots: from `schema { ... }` when the
    /// document has one, otherwise the types named `Query`, `Mutation` and
    /// `Subscription` when they exist.
    pub roots: [Option<Root>; 3],
    /// Directives applied to the schema (`schema @link(...)`).
    pub schema_directives: Vec<DirectiveUse>,
}

impl Schema {
    /// Every type reachable from the root operation types through fields,
    /// arguments, input fields, interfaces and union members, plus the
    /// implementations of reachable interfaces (a query can select them with
    /// a fragment).
    pub fn reachable_types(&self) -> BTreeSet<String> {
        let mut implementations: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for ty in self.types.values() {
            for interface in ty.interfaces.keys() {
                implementations
                    .entry(interface.as_str())
                    .or_default()
                    .push(ty.name.as_str());
            }
        }
        let mut seen = BTreeSet::new();
        let mut stack: Vec<&str> = self
            .roots
            .iter()
            .flatten()
            .map(|r| r.name.as_str())
            .collect();
        while let Some(name) = stack.pop() {
            if !seen.insert(name.to_string()) {
                continue;
            }
            let Some(ty) = self.types.get(name) else {
                continue;
            };
            for field in ty.fields.values() {
                stack.push(field.ty.named());
                stack.extend(field.arguments.values().map(|a| a.ty.named()));
            }
            stack.extend(ty.input_fields.values().map(|f| f.ty.named()));
            stack.extend(ty.interfaces.keys().map(String::as_str));
            stack.extend(ty.members.keys().map(String::as_str));
            if let Some(implementing) = implementations.get(name) {
                stack.extend(implementing.iter().copied());
            }
        }
        seen
    }
}
