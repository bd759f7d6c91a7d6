//! GraphQL breaking-change rules: graphql-inspector's change types, with its
//! criticality levels, as stable rule ids.
//!
//! Every rule is a row of [`RULES`]: its id (graphql-inspector's change type
//! name), its family, its usual criticality and a one-line purpose. A few
//! rules decide their criticality per change (a field type change is
//! breaking unless it only narrows nullability; an added argument is
//! breaking only when required); the row gives the worst case.
//!
//! Criticality maps onto the core severities as the OpenAPI checker does:
//! breaking → `error` (exit 1), dangerous → `warning`, non-breaking → `info`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use contractor_core::{Finding, Location, RuleInfo, Severity};

use crate::model::{
    Deprecation, DirectiveDef, DirectiveUse, Field, InputValue, OPERATIONS, Origin, Schema,
    TypeDef, TypeKind, TypeRef,
};

/// graphql-inspector's three levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Criticality {
    /// Existing clients break.
    Breaking,
    /// Existing clients keep working but may behave differently (a new enum
    /// value they do not handle, a changed default).
    Dangerous,
    NonBreaking,
}

impl Criticality {
    pub fn as_str(self) -> &'static str {
        match self {
            Criticality::Breaking => "BREAKING",
            Criticality::Dangerous => "DANGEROUS",
            Criticality::NonBreaking => "NON_BREAKING",
        }
    }

    pub fn severity(self) -> Severity {
        match self {
            Criticality::Breaking => Severity::Error,
            Criticality::Dangerous => Severity::Warning,
            Criticality::NonBreaking => Severity::Info,
        }
    }
}

/// Settings that change verdicts. All off by default, which matches
/// graphql-inspector's defaults.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Dangerous changes count as breaking (severity `error`).
    pub dangerous_is_breaking: bool,
    /// Removing a field, input field, argument or enum value that was already
    /// deprecated is dangerous rather than breaking: the deprecation was the
    /// announcement.
    pub deprecated_removal_is_dangerous: bool,
    /// Changes inside types that no query could reach in the old schema (not
    /// reachable from its root operation types) are non-breaking.
    pub unreachable_is_safe: bool,
}

/// One rule: id, family, worst-case criticality, purpose.
pub struct Rule {
    pub id: &'static str,
    pub family: &'static str,
    pub criticality: Criticality,
    pub purpose: &'static str,
}

macro_rules! rules {
    ($($id:literal, $family:literal, $level:ident, $purpose:literal;)*) => {
        /// Every rule, in graphql-inspector's order.
        pub const RULES: &[Rule] = &[$(Rule {
            id: $id,
            family: $family,
            criticality: Criticality::$level,
            purpose: $purpose,
        },)*];
    };
}

rules! {
    "FIELD_ARGUMENT_DESCRIPTION_CHANGED", "argument", NonBreaking, "A field argument's description changed.";
    "FIELD_ARGUMENT_DEFAULT_CHANGED", "argument", Dangerous, "A field argument's default value changed: callers that omit it get different results.";
    "FIELD_ARGUMENT_TYPE_CHANGED", "argument", Breaking, "A field argument's type changed (non-breaking when it only became nullable).";
    "DIRECTIVE_REMOVED", "directive", Breaking, "A directive definition was removed.";
    "DIRECTIVE_ADDED", "directive", NonBreaking, "A directive definition was added.";
    "DIRECTIVE_DESCRIPTION_CHANGED", "directive", NonBreaking, "A directive's description changed.";
    "DIRECTIVE_LOCATION_ADDED", "directive", NonBreaking, "A directive may be used in a new location.";
    "DIRECTIVE_LOCATION_REMOVED", "directive", Breaking, "A directive may no longer be used in a location.";
    "DIRECTIVE_ARGUMENT_ADDED", "directive", Breaking, "A directive gained an argument (breaking when it is non-null).";
    "DIRECTIVE_ARGUMENT_REMOVED", "directive", Breaking, "A directive lost an argument.";
    "DIRECTIVE_ARGUMENT_DESCRIPTION_CHANGED", "directive", NonBreaking, "A directive argument's description changed.";
    "DIRECTIVE_ARGUMENT_DEFAULT_VALUE_CHANGED", "directive", Dangerous, "A directive argument's default value changed.";
    "DIRECTIVE_ARGUMENT_TYPE_CHANGED", "directive", Breaking, "A directive argument's type changed (non-breaking when it only became nullable).";
    "DIRECTIVE_REPEATABLE_ADDED", "directive", NonBreaking, "A directive became repeatable.";
    "DIRECTIVE_REPEATABLE_REMOVED", "directive", Breaking, "A directive is no longer repeatable: documents that repeat it are rejected.";
    "ENUM_VALUE_REMOVED", "enum", Breaking, "An enum value was removed.";
    "ENUM_VALUE_ADDED", "enum", Dangerous, "An enum value was added: clients may not handle it.";
    "ENUM_VALUE_DESCRIPTION_CHANGED", "enum", NonBreaking, "An enum value's description changed.";
    "ENUM_VALUE_DEPRECATION_REASON_CHANGED", "enum", NonBreaking, "An enum value's deprecation reason changed.";
    "ENUM_VALUE_DEPRECATION_REASON_ADDED", "enum", NonBreaking, "An enum value became deprecated.";
    "ENUM_VALUE_DEPRECATION_REASON_REMOVED", "enum", NonBreaking, "An enum value is no longer deprecated.";
    "FIELD_REMOVED", "field", Breaking, "A field was removed from an object or interface type.";
    "FIELD_ADDED", "field", NonBreaking, "A field was added to an object or interface type.";
    "FIELD_DESCRIPTION_CHANGED", "field", NonBreaking, "A field's description changed.";
    "FIELD_DESCRIPTION_ADDED", "field", NonBreaking, "A field gained a description.";
    "FIELD_DESCRIPTION_REMOVED", "field", NonBreaking, "A field lost its description.";
    "FIELD_DEPRECATION_ADDED", "field", NonBreaking, "A field became deprecated.";
    "FIELD_DEPRECATION_REMOVED", "field", Dangerous, "A field is no longer deprecated.";
    "FIELD_DEPRECATION_REASON_CHANGED", "field", NonBreaking, "A field's deprecation reason changed.";
    "FIELD_DEPRECATION_REASON_ADDED", "field", NonBreaking, "A deprecated field gained an explicit reason.";
    "FIELD_DEPRECATION_REASON_REMOVED", "field", NonBreaking, "A deprecated field lost its explicit reason.";
    "FIELD_TYPE_CHANGED", "field", Breaking, "A field's type changed (non-breaking when it only became non-null).";
    "FIELD_ARGUMENT_ADDED", "argument", Breaking, "A field gained an argument (breaking when required, else dangerous).";
    "FIELD_ARGUMENT_REMOVED", "argument", Breaking, "A field lost an argument.";
    "INPUT_FIELD_REMOVED", "input", Breaking, "A field was removed from an input object type.";
    "INPUT_FIELD_ADDED", "input", Breaking, "A field was added to an input object type (breaking when required, else dangerous).";
    "INPUT_FIELD_DESCRIPTION_ADDED", "input", NonBreaking, "An input field gained a description.";
    "INPUT_FIELD_DESCRIPTION_REMOVED", "input", NonBreaking, "An input field lost its description.";
    "INPUT_FIELD_DESCRIPTION_CHANGED", "input", NonBreaking, "An input field's description changed.";
    "INPUT_FIELD_DEFAULT_VALUE_CHANGED", "input", Dangerous, "An input field's default value changed.";
    "INPUT_FIELD_TYPE_CHANGED", "input", Breaking, "An input field's type changed (non-breaking when it only became nullable).";
    "INPUT_OBJECT_ONE_OF_ADDED", "input", Breaking, "An input object became @oneOf: inputs that set several fields are rejected.";
    "INPUT_OBJECT_ONE_OF_REMOVED", "input", NonBreaking, "An input object is no longer @oneOf.";
    "OBJECT_TYPE_INTERFACE_ADDED", "object", Dangerous, "A type implements a new interface.";
    "OBJECT_TYPE_INTERFACE_REMOVED", "object", Breaking, "A type no longer implements an interface: fragments on it stop matching.";
    "SCHEMA_QUERY_TYPE_CHANGED", "schema", Breaking, "The query root type changed.";
    "SCHEMA_MUTATION_TYPE_CHANGED", "schema", Breaking, "The mutation root type changed.";
    "SCHEMA_SUBSCRIPTION_TYPE_CHANGED", "schema", Breaking, "The subscription root type changed.";
    "TYPE_REMOVED", "type", Breaking, "A type was removed.";
    "TYPE_ADDED", "type", NonBreaking, "A type was added.";
    "TYPE_KIND_CHANGED", "type", Breaking, "A type changed its kind (e.g. object to interface).";
    "TYPE_DESCRIPTION_CHANGED", "type", NonBreaking, "A type's description changed.";
    "TYPE_DESCRIPTION_REMOVED", "type", NonBreaking, "A type lost its description.";
    "TYPE_DESCRIPTION_ADDED", "type", NonBreaking, "A type gained a description.";
    "UNION_MEMBER_REMOVED", "union", Breaking, "A union lost a member type.";
    "UNION_MEMBER_ADDED", "union", Dangerous, "A union gained a member type: clients may not handle it.";
    "DIRECTIVE_USAGE_SCHEMA_ADDED", "directive-usage", Dangerous, "A directive was applied to the schema (non-breaking for @deprecated).";
    "DIRECTIVE_USAGE_SCHEMA_REMOVED", "directive-usage", Dangerous, "A directive was taken off the schema (non-breaking for @deprecated).";
    "DIRECTIVE_USAGE_SCALAR_ADDED", "directive-usage", Dangerous, "A directive was applied to a scalar (non-breaking for @deprecated).";
    "DIRECTIVE_USAGE_SCALAR_REMOVED", "directive-usage", Dangerous, "A directive was taken off a scalar (non-breaking for @deprecated).";
    "DIRECTIVE_USAGE_OBJECT_ADDED", "directive-usage", Dangerous, "A directive was applied to an object type (non-breaking for @deprecated).";
    "DIRECTIVE_USAGE_OBJECT_REMOVED", "directive-usage", Dangerous, "A directive was taken off an object type (non-breaking for @deprecated).";
    "DIRECTIVE_USAGE_INTERFACE_ADDED", "directive-usage", Dangerous, "A directive was applied to an interface (non-breaking for @deprecated).";
    "DIRECTIVE_USAGE_INTERFACE_REMOVED", "directive-usage", Dangerous, "A directive was taken off an interface (non-breaking for @deprecated).";
    "DIRECTIVE_USAGE_UNION_MEMBER_ADDED", "directive-usage", Dangerous, "A directive was applied to a union (non-breaking for @deprecated).";
    "DIRECTIVE_USAGE_UNION_MEMBER_REMOVED", "directive-usage", Dangerous, "A directive was taken off a union (non-breaking for @deprecated).";
    "DIRECTIVE_USAGE_ENUM_ADDED", "directive-usage", Dangerous, "A directive was applied to an enum (non-breaking for @deprecated).";
    "DIRECTIVE_USAGE_ENUM_REMOVED", "directive-usage", Dangerous, "A directive was taken off an enum (non-breaking for @deprecated).";
    "DIRECTIVE_USAGE_ENUM_VALUE_ADDED", "directive-usage", Dangerous, "A directive was applied to an enum value (non-breaking for @deprecated).";
    "DIRECTIVE_USAGE_ENUM_VALUE_REMOVED", "directive-usage", Dangerous, "A directive was taken off an enum value (non-breaking for @deprecated).";
    "DIRECTIVE_USAGE_INPUT_OBJECT_ADDED", "directive-usage", Dangerous, "A directive was applied to an input object (non-breaking for @deprecated).";
    "DIRECTIVE_USAGE_INPUT_OBJECT_REMOVED", "directive-usage", Dangerous, "A directive was taken off an input object (non-breaking for @deprecated).";
    "DIRECTIVE_USAGE_FIELD_DEFINITION_ADDED", "directive-usage", Dangerous, "A directive was applied to a field (non-breaking for @deprecated).";
    "DIRECTIVE_USAGE_FIELD_DEFINITION_REMOVED", "directive-usage", Dangerous, "A directive was taken off a field (non-breaking for @deprecated).";
    "DIRECTIVE_USAGE_ARGUMENT_DEFINITION_ADDED", "directive-usage", Dangerous, "A directive was applied to a field argument (non-breaking for @deprecated).";
    "DIRECTIVE_USAGE_ARGUMENT_DEFINITION_REMOVED", "directive-usage", Dangerous, "A directive was taken off a field argument (non-breaking for @deprecated).";
    "DIRECTIVE_USAGE_INPUT_FIELD_DEFINITION_ADDED", "directive-usage", Dangerous, "A directive was applied to an input field (non-breaking for @deprecated).";
    "DIRECTIVE_USAGE_INPUT_FIELD_DEFINITION_REMOVED", "directive-usage", Dangerous, "A directive was taken off an input field (non-breaking for @deprecated).";
    "DIRECTIVE_USAGE_ARGUMENT_ADDED", "directive-usage", NonBreaking, "An applied directive was given an argument, or an argument's value changed.";
    "DIRECTIVE_USAGE_ARGUMENT_REMOVED", "directive-usage", Dangerous, "An applied directive lost an argument, or an argument's value changed: runtime behavior may change.";
}

/// The rules' metadata, as `contractor rules` and the reports show it.
pub fn registry() -> &'static [RuleInfo] {
    static REGISTRY: OnceLock<Vec<RuleInfo>> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        RULES
            .iter()
            .map(|r| RuleInfo {
                id: r.id,
                categories: family_slice(r.family),
                default: true,
                deprecated: false,
                purpose: r.purpose,
            })
            .collect()
    })
}

fn family_slice(family: &str) -> &'static [&'static str] {
    const FAMILIES: &[&[&str]] = &[
        &["type"],
        &["field"],
        &["argument"],
        &["input"],
        &["enum"],
        &["union"],
        &["object"],
        &["directive"],
        &["schema"],
        &["directive-usage"],
    ];
    FAMILIES
        .iter()
        .find(|f| f[0] == family)
        .copied()
        .unwrap_or(&["type"])
}

fn rule_info(id: &str) -> &'static RuleInfo {
    let registry = registry();
    registry.iter().find(|r| r.id == id).unwrap_or(&registry[0])
}

/// For an output position (a field's type): may a client that expected `old`
/// read `new`? Adding non-null is safe; anything else must stay the same.
pub fn is_safe_output_change(old: &TypeRef, new: &TypeRef) -> bool {
    match (old, new) {
        (_, TypeRef::NonNull(new_inner)) => {
            let old_inner = match old {
                TypeRef::NonNull(inner) => inner,
                _ => old,
            };
            is_safe_output_change(old_inner, new_inner)
        }
        (TypeRef::List(old_item), TypeRef::List(new_item)) => {
            is_safe_output_change(old_item, new_item)
        }
        (TypeRef::Named(a), TypeRef::Named(b)) => a == b,
        _ => false,
    }
}

/// For an input position (argument, input field): does a value a client
/// built for `old` still fit `new`? Dropping non-null is safe; anything else
/// must stay the same.
pub fn is_safe_input_change(old: &TypeRef, new: &TypeRef) -> bool {
    match (old, new) {
        (TypeRef::NonNull(old_inner), _) => {
            let new_inner = match new {
                TypeRef::NonNull(inner) => inner,
                _ => new,
            };
            is_safe_input_change(old_inner, new_inner)
        }
        (TypeRef::List(old_item), TypeRef::List(new_item)) => {
            is_safe_input_change(old_item, new_item)
        }
        (TypeRef::Named(a), TypeRef::Named(b)) => a == b,
        _ => false,
    }
}

/// Collects findings for one diff.
struct Out<'a> {
    findings: Vec<Finding>,
    options: &'a Options,
    /// Types reachable from the old schema's roots.
    old_reachable: BTreeSet<String>,
    /// The named type the current changes are in, for `unreachable_is_safe`;
    /// empty for directives and the schema's roots.
    owner: String,
}

/// Where a change shows and what it is about.
struct Change<'l> {
    id: &'static str,
    criticality: Criticality,
    /// `Type.field.argument`, `@directive`...: what `ignore` entries match.
    path: String,
    location: &'l Location,
    /// For removals, where the element stood in the old schema.
    old_location: Option<&'l Location>,
    message: String,
}

impl Out<'_> {
    fn push(&mut self, change: Change<'_>) {
        let rule = rule_info(change.id);
        debug_assert_eq!(rule.id, change.id, "rule {} is not registered", change.id);
        let mut criticality = change.criticality;
        if self.options.unreachable_is_safe
            && !self.owner.is_empty()
            && !self.old_reachable.contains(&self.owner)
        {
            criticality = Criticality::NonBreaking;
        }
        let severity = match criticality {
            Criticality::Dangerous if self.options.dangerous_is_breaking => Severity::Error,
            other => other.severity(),
        };
        self.findings.push(Finding {
            rule: rule.id,
            categories: rule.categories,
            severity,
            message: change.message,
            location: change.location.clone(),
            old_location: change.old_location.cloned(),
            scope: change.path,
        });
    }

    /// The criticality of removing something that may have been deprecated.
    fn removal(&self, deprecation: &Deprecation) -> Criticality {
        if self.options.deprecated_removal_is_dangerous && deprecation.is_deprecated() {
            Criticality::Dangerous
        } else {
            Criticality::Breaking
        }
    }
}

/// Compares two schemas; findings come sorted (by file, position, rule).
pub fn diff(old: &Schema, new: &Schema, options: &Options) -> Vec<Finding> {
    let mut out = Out {
        findings: Vec::new(),
        options,
        old_reachable: if options.unreachable_is_safe {
            old.reachable_types()
        } else {
            BTreeSet::new()
        },
        owner: String::new(),
    };
    roots(&mut out, old, new);
    let new_file = Location::file(new.path.clone());
    directive_uses(
        &mut out,
        Uses {
            ids: USAGE_SCHEMA,
            what: "the schema".to_string(),
            path: "schema".to_string(),
            location: &new_file,
            covered: &[],
        },
        &old.schema_directives,
        &new.schema_directives,
    );
    types(&mut out, old, new);
    out.owner.clear();
    directives(&mut out, old, new);
    let mut findings = out.findings;
    contractor_core::finding::normalize(&mut findings);
    findings
}

fn roots(out: &mut Out<'_>, old: &Schema, new: &Schema) {
    const IDS: [&str; 3] = [
        "SCHEMA_QUERY_TYPE_CHANGED",
        "SCHEMA_MUTATION_TYPE_CHANGED",
        "SCHEMA_SUBSCRIPTION_TYPE_CHANGED",
    ];
    let new_file = Location::file(new.path.clone());
    for (index, operation) in OPERATIONS.iter().enumerate() {
        let old_root = old.roots[index].as_ref();
        let new_root = new.roots[index].as_ref();
        let old_name = old_root.map(|r| r.name.as_str());
        let new_name = new_root.map(|r| r.name.as_str());
        if old_name == new_name {
            continue;
        }
        let location = new_root.map(|r| &r.location).unwrap_or(&new_file);
        // A root where there was none cannot break a client; graphql-inspector
        // calls every root change breaking, this one is not.
        let criticality = if old_root.is_none() {
            Criticality::NonBreaking
        } else {
            Criticality::Breaking
        };
        out.push(Change {
            id: IDS[index],
            criticality,
            path: format!("schema.{operation}"),
            location,
            old_location: old_root.map(|r| &r.location),
            message: format!(
                "{operation} root type changed from `{}` to `{}`",
                old_name.unwrap_or("(none)"),
                new_name.unwrap_or("(none)")
            ),
        });
    }
}

/// Whether a definition is the document's own on at least one side: the
/// built-ins and preludes are the same on both sides and never reported.
fn written(old: Origin, new: Origin) -> bool {
    old == Origin::User || new == Origin::User
}

fn types(out: &mut Out<'_>, old: &Schema, new: &Schema) {
    for (name, old_type) in &old.types {
        out.owner = name.clone();
        let Some(new_type) = new.types.get(name) else {
            if old_type.origin == Origin::User {
                out.push(Change {
                    id: "TYPE_REMOVED",
                    criticality: Criticality::Breaking,
                    path: name.clone(),
                    location: &old_type.location,
                    old_location: Some(&old_type.location),
                    message: format!("type `{name}` was removed"),
                });
            }
            continue;
        };
        if !written(old_type.origin, new_type.origin) {
            continue;
        }
        if old_type.kind != new_type.kind {
            out.push(Change {
                id: "TYPE_KIND_CHANGED",
                criticality: Criticality::Breaking,
                path: name.clone(),
                location: &new_type.location,
                old_location: None,
                message: format!(
                    "type `{name}` changed kind from {} to {}",
                    old_type.kind.as_str(),
                    new_type.kind.as_str()
                ),
            });
            continue;
        }
        described(
            out,
            Described {
                ids: [
                    "TYPE_DESCRIPTION_ADDED",
                    "TYPE_DESCRIPTION_REMOVED",
                    "TYPE_DESCRIPTION_CHANGED",
                ],
                what: format!("type `{name}`"),
                path: name.clone(),
                location: &new_type.location,
            },
            &old_type.description,
            &new_type.description,
        );
        let ids = match new_type.kind {
            TypeKind::Scalar => USAGE_SCALAR,
            TypeKind::Object => USAGE_OBJECT,
            TypeKind::Interface => USAGE_INTERFACE,
            TypeKind::Union => USAGE_UNION,
            TypeKind::Enum => USAGE_ENUM,
            TypeKind::InputObject => USAGE_INPUT_OBJECT,
        };
        directive_uses(
            out,
            Uses {
                ids,
                what: format!("type `{name}`"),
                path: name.clone(),
                location: &new_type.location,
                covered: &["oneOf"],
            },
            &old_type.directives,
            &new_type.directives,
        );
        match new_type.kind {
            TypeKind::Object | TypeKind::Interface => {
                interfaces(out, old_type, new_type);
                fields(out, old_type, new_type);
            }
            TypeKind::Union => union_members(out, old_type, new_type),
            TypeKind::Enum => enum_values(out, old_type, new_type),
            TypeKind::InputObject => input_object(out, old_type, new_type),
            TypeKind::Scalar => {}
        }
    }
    out.owner.clear();
    for (name, new_type) in &new.types {
        if new_type.origin == Origin::User && !old.types.contains_key(name) {
            out.push(Change {
                id: "TYPE_ADDED",
                criticality: Criticality::NonBreaking,
                path: name.clone(),
                location: &new_type.location,
                old_location: None,
                message: format!("type `{name}` was added"),
            });
        }
    }
}

/// A description compared under three rule ids: added, removed, changed.
/// Rules that have one id for all three pass it three times.
struct Described<'l> {
    ids: [&'static str; 3],
    what: String,
    path: String,
    location: &'l Location,
}

fn described(out: &mut Out<'_>, d: Described<'_>, old: &Option<String>, new: &Option<String>) {
    let (id, message) = match (old, new) {
        (a, b) if a == b => return,
        (None, Some(_)) => (d.ids[0], format!("{} gained a description", d.what)),
        (Some(_), None) => (d.ids[1], format!("{} lost its description", d.what)),
        _ => (d.ids[2], format!("{}'s description changed", d.what)),
    };
    out.push(Change {
        id,
        criticality: Criticality::NonBreaking,
        path: d.path,
        location: d.location,
        old_location: None,
        message,
    });
}

fn interfaces(out: &mut Out<'_>, old: &TypeDef, new: &TypeDef) {
    named_set(
        out,
        new,
        (&old.interfaces, &new.interfaces),
        [
            "OBJECT_TYPE_INTERFACE_REMOVED",
            "OBJECT_TYPE_INTERFACE_ADDED",
        ],
        |interface, added| {
            if added {
                format!("`{}` now implements interface `{interface}`", new.name)
            } else {
                format!(
                    "`{}` no longer implements interface `{interface}`",
                    new.name
                )
            }
        },
    );
}

/// Names taken out of (breaking) or put into (dangerous) a set a type lists: the interfaces an
/// object implements, the members of a union. A removal points at the type in NEW and at the
/// name in OLD; an addition at the name in NEW.
fn named_set(
    out: &mut Out<'_>,
    new: &TypeDef,
    (old_set, new_set): (&BTreeMap<String, Location>, &BTreeMap<String, Location>),
    [removed_id, added_id]: [&'static str; 2],
    message: impl Fn(&str, bool) -> String,
) {
    for (name, old_location) in old_set {
        if !new_set.contains_key(name) {
            out.push(Change {
                id: removed_id,
                criticality: Criticality::Breaking,
                path: new.name.clone(),
                location: &new.location,
                old_location: Some(old_location),
                message: message(name, false),
            });
        }
    }
    for (name, location) in new_set {
        if !old_set.contains_key(name) {
            out.push(Change {
                id: added_id,
                criticality: Criticality::Dangerous,
                path: new.name.clone(),
                location,
                old_location: None,
                message: message(name, true),
            });
        }
    }
}

fn fields(out: &mut Out<'_>, old: &TypeDef, new: &TypeDef) {
    for (name, old_field) in &old.fields {
        let path = format!("{}.{name}", new.name);
        let Some(new_field) = new.fields.get(name) else {
            let deprecated = if old_field.deprecation.is_deprecated() {
                "deprecated "
            } else {
                ""
            };
            out.push(Change {
                id: "FIELD_REMOVED",
                criticality: out.removal(&old_field.deprecation),
                path: path.clone(),
                location: &old_field.location,
                old_location: Some(&old_field.location),
                message: format!("{deprecated}field `{path}` was removed"),
            });
            continue;
        };
        field(out, &path, old_field, new_field);
    }
    for (name, new_field) in &new.fields {
        if !old.fields.contains_key(name) {
            let path = format!("{}.{name}", new.name);
            out.push(Change {
                id: "FIELD_ADDED",
                criticality: Criticality::NonBreaking,
                message: format!("field `{path}` of type `{}` was added", new_field.ty),
                path,
                location: &new_field.location,
                old_location: None,
            });
        }
    }
}

fn field(out: &mut Out<'_>, path: &str, old: &Field, new: &Field) {
    let location = &new.location;
    described(
        out,
        Described {
            ids: [
                "FIELD_DESCRIPTION_ADDED",
                "FIELD_DESCRIPTION_REMOVED",
                "FIELD_DESCRIPTION_CHANGED",
            ],
            what: format!("field `{path}`"),
            path: path.to_string(),
            location,
        },
        &old.description,
        &new.description,
    );
    field_deprecation(out, path, location, &old.deprecation, &new.deprecation);
    directive_uses(
        out,
        Uses {
            ids: USAGE_FIELD,
            what: format!("field `{path}`"),
            path: path.to_string(),
            location,
            covered: &["deprecated"],
        },
        &old.directives,
        &new.directives,
    );
    if old.ty != new.ty {
        let safe = is_safe_output_change(&old.ty, &new.ty);
        out.push(Change {
            id: "FIELD_TYPE_CHANGED",
            criticality: if safe {
                Criticality::NonBreaking
            } else {
                Criticality::Breaking
            },
            path: path.to_string(),
            location,
            old_location: None,
            message: format!(
                "field `{path}` changed type from `{}` to `{}`",
                old.ty, new.ty
            ),
        });
    }
    for (name, old_argument) in &old.arguments {
        let argument_path = format!("{path}.{name}");
        match new.arguments.get(name) {
            None => out.push(Change {
                id: "FIELD_ARGUMENT_REMOVED",
                criticality: out.removal(&old_argument.deprecation),
                message: format!("argument `{name}` was removed from field `{path}`"),
                path: argument_path,
                location,
                old_location: Some(&old_argument.location),
            }),
            Some(new_argument) => argument_changes(
                out,
                InputValueRules {
                    description: ["FIELD_ARGUMENT_DESCRIPTION_CHANGED"; 3],
                    default: "FIELD_ARGUMENT_DEFAULT_CHANGED",
                    ty: "FIELD_ARGUMENT_TYPE_CHANGED",
                    what: "argument",
                },
                &argument_path,
                old_argument,
                new_argument,
            ),
        }
    }
    for (name, new_argument) in &new.arguments {
        if !old.arguments.contains_key(name) {
            let required = new_argument.is_required();
            out.push(Change {
                id: "FIELD_ARGUMENT_ADDED",
                criticality: if required {
                    Criticality::Breaking
                } else {
                    Criticality::Dangerous
                },
                message: format!(
                    "{} argument `{name}: {}` was added to field `{path}`",
                    if required { "required" } else { "optional" },
                    new_argument.ty
                ),
                path: format!("{path}.{name}"),
                location: &new_argument.location,
                old_location: None,
            });
        }
    }
}

fn field_deprecation(
    out: &mut Out<'_>,
    path: &str,
    location: &Location,
    old: &Deprecation,
    new: &Deprecation,
) {
    let (id, criticality, message) = match (old, new) {
        (a, b) if a == b => return,
        (Deprecation::Active, _) => (
            "FIELD_DEPRECATION_ADDED",
            Criticality::NonBreaking,
            format!("field `{path}` is deprecated"),
        ),
        (_, Deprecation::Active) => (
            "FIELD_DEPRECATION_REMOVED",
            Criticality::Dangerous,
            format!("field `{path}` is no longer deprecated"),
        ),
        (Deprecation::Deprecated, _) => (
            "FIELD_DEPRECATION_REASON_ADDED",
            Criticality::NonBreaking,
            format!("deprecated field `{path}` gained a reason"),
        ),
        (_, Deprecation::Deprecated) => (
            "FIELD_DEPRECATION_REASON_REMOVED",
            Criticality::NonBreaking,
            format!("deprecated field `{path}` lost its reason"),
        ),
        _ => (
            "FIELD_DEPRECATION_REASON_CHANGED",
            Criticality::NonBreaking,
            format!("field `{path}`'s deprecation reason changed"),
        ),
    };
    out.push(Change {
        id,
        criticality,
        path: path.to_string(),
        location,
        old_location: None,
        message,
    });
}

/// The rule ids of one kind of input value (argument, input field,
/// directive argument).
struct InputValueRules {
    /// Description added, removed, changed.
    description: [&'static str; 3],
    default: &'static str,
    ty: &'static str,
    what: &'static str,
}

fn input_value(
    out: &mut Out<'_>,
    rules: InputValueRules,
    path: &str,
    old: &InputValue,
    new: &InputValue,
) {
    let location = &new.location;
    described(
        out,
        Described {
            ids: rules.description,
            what: format!("{} `{path}`", rules.what),
            path: path.to_string(),
            location,
        },
        &old.description,
        &new.description,
    );
    if old.default != new.default {
        out.push(Change {
            id: rules.default,
            criticality: Criticality::Dangerous,
            path: path.to_string(),
            location,
            old_location: None,
            message: format!(
                "{} `{path}` changed its default from {} to {}",
                rules.what,
                old.default.as_deref().unwrap_or("(none)"),
                new.default.as_deref().unwrap_or("(none)")
            ),
        });
    }
    if old.ty != new.ty {
        let safe = is_safe_input_change(&old.ty, &new.ty);
        out.push(Change {
            id: rules.ty,
            criticality: if safe {
                Criticality::NonBreaking
            } else {
                Criticality::Breaking
            },
            path: path.to_string(),
            location,
            old_location: None,
            message: format!(
                "{} `{path}` changed type from `{}` to `{}`",
                rules.what, old.ty, new.ty
            ),
        });
    }
}

fn union_members(out: &mut Out<'_>, old: &TypeDef, new: &TypeDef) {
    named_set(
        out,
        new,
        (&old.members, &new.members),
        ["UNION_MEMBER_REMOVED", "UNION_MEMBER_ADDED"],
        |member, added| {
            if added {
                format!("`{member}` was added to union `{}`", new.name)
            } else {
                format!("`{member}` was removed from union `{}`", new.name)
            }
        },
    );
}

fn enum_values(out: &mut Out<'_>, old: &TypeDef, new: &TypeDef) {
    for (name, old_value) in &old.values {
        let path = format!("{}.{name}", new.name);
        let Some(new_value) = new.values.get(name) else {
            out.push(Change {
                id: "ENUM_VALUE_REMOVED",
                criticality: out.removal(&old_value.deprecation),
                message: format!("enum value `{path}` was removed"),
                path,
                location: &old_value.location,
                old_location: Some(&old_value.location),
            });
            continue;
        };
        let location = &new_value.location;
        described(
            out,
            Described {
                ids: ["ENUM_VALUE_DESCRIPTION_CHANGED"; 3],
                what: format!("enum value `{path}`"),
                path: path.clone(),
                location,
            },
            &old_value.description,
            &new_value.description,
        );
        directive_uses(
            out,
            Uses {
                ids: USAGE_ENUM_VALUE,
                what: format!("enum value `{path}`"),
                path: path.clone(),
                location,
                covered: &["deprecated"],
            },
            &old_value.directives,
            &new_value.directives,
        );
        let change = match (&old_value.deprecation, &new_value.deprecation) {
            (a, b) if a == b => None,
            (Deprecation::Active, _) => Some((
                "ENUM_VALUE_DEPRECATION_REASON_ADDED",
                format!("enum value `{path}` is deprecated"),
            )),
            (_, Deprecation::Active) => Some((
                "ENUM_VALUE_DEPRECATION_REASON_REMOVED",
                format!("enum value `{path}` is no longer deprecated"),
            )),
            _ => Some((
                "ENUM_VALUE_DEPRECATION_REASON_CHANGED",
                format!("enum value `{path}`'s deprecation reason changed"),
            )),
        };
        if let Some((id, message)) = change {
            out.push(Change {
                id,
                criticality: Criticality::NonBreaking,
                path,
                location,
                old_location: None,
                message,
            });
        }
    }
    for (name, new_value) in &new.values {
        if !old.values.contains_key(name) {
            let path = format!("{}.{name}", new.name);
            out.push(Change {
                id: "ENUM_VALUE_ADDED",
                criticality: Criticality::Dangerous,
                message: format!("enum value `{path}` was added"),
                path,
                location: &new_value.location,
                old_location: None,
            });
        }
    }
}

fn input_object(out: &mut Out<'_>, old: &TypeDef, new: &TypeDef) {
    if old.one_of != new.one_of {
        let (id, criticality, message) = if new.one_of {
            (
                "INPUT_OBJECT_ONE_OF_ADDED",
                Criticality::Breaking,
                format!("input `{}` became @oneOf", new.name),
            )
        } else {
            (
                "INPUT_OBJECT_ONE_OF_REMOVED",
                Criticality::NonBreaking,
                format!("input `{}` is no longer @oneOf", new.name),
            )
        };
        out.push(Change {
            id,
            criticality,
            path: new.name.clone(),
            location: &new.location,
            old_location: None,
            message,
        });
    }
    for (name, old_field) in &old.input_fields {
        let path = format!("{}.{name}", new.name);
        match new.input_fields.get(name) {
            None => out.push(Change {
                id: "INPUT_FIELD_REMOVED",
                criticality: out.removal(&old_field.deprecation),
                message: format!("input field `{path}` was removed"),
                path,
                location: &old_field.location,
                old_location: Some(&old_field.location),
            }),
            Some(new_field) => {
                input_value(
                    out,
                    InputValueRules {
                        description: [
                            "INPUT_FIELD_DESCRIPTION_ADDED",
                            "INPUT_FIELD_DESCRIPTION_REMOVED",
                            "INPUT_FIELD_DESCRIPTION_CHANGED",
                        ],
                        default: "INPUT_FIELD_DEFAULT_VALUE_CHANGED",
                        ty: "INPUT_FIELD_TYPE_CHANGED",
                        what: "input field",
                    },
                    &path,
                    old_field,
                    new_field,
                );
                directive_uses(
                    out,
                    Uses {
                        ids: USAGE_INPUT_FIELD,
                        what: format!("input field `{path}`"),
                        path: path.clone(),
                        location: &new_field.location,
                        covered: &[],
                    },
                    &old_field.directives,
                    &new_field.directives,
                );
            }
        }
    }
    for (name, new_field) in &new.input_fields {
        if !old.input_fields.contains_key(name) {
            let path = format!("{}.{name}", new.name);
            let required = new_field.is_required();
            out.push(Change {
                id: "INPUT_FIELD_ADDED",
                criticality: if required {
                    Criticality::Breaking
                } else {
                    Criticality::Dangerous
                },
                message: format!(
                    "{} input field `{path}: {}` was added",
                    if required { "required" } else { "optional" },
                    new_field.ty
                ),
                path,
                location: &new_field.location,
                old_location: None,
            });
        }
    }
}

fn directives(out: &mut Out<'_>, old: &Schema, new: &Schema) {
    for (name, old_directive) in &old.directives {
        let path = format!("@{name}");
        let Some(new_directive) = new.directives.get(name) else {
            if old_directive.origin == Origin::User {
                out.push(Change {
                    id: "DIRECTIVE_REMOVED",
                    criticality: Criticality::Breaking,
                    message: format!("directive `{path}` was removed"),
                    path,
                    location: &old_directive.location,
                    old_location: Some(&old_directive.location),
                });
            }
            continue;
        };
        if written(old_directive.origin, new_directive.origin) {
            directive(out, &path, old_directive, new_directive);
        }
    }
    for (name, new_directive) in &new.directives {
        if new_directive.origin == Origin::User && !old.directives.contains_key(name) {
            out.push(Change {
                id: "DIRECTIVE_ADDED",
                criticality: Criticality::NonBreaking,
                path: format!("@{name}"),
                location: &new_directive.location,
                old_location: None,
                message: format!("directive `@{name}` was added"),
            });
        }
    }
}

fn directive(out: &mut Out<'_>, path: &str, old: &DirectiveDef, new: &DirectiveDef) {
    let location = &new.location;
    described(
        out,
        Described {
            ids: ["DIRECTIVE_DESCRIPTION_CHANGED"; 3],
            what: format!("directive `{path}`"),
            path: path.to_string(),
            location,
        },
        &old.description,
        &new.description,
    );
    if old.repeatable != new.repeatable {
        let (id, criticality, word) = if new.repeatable {
            (
                "DIRECTIVE_REPEATABLE_ADDED",
                Criticality::NonBreaking,
                "became",
            )
        } else {
            (
                "DIRECTIVE_REPEATABLE_REMOVED",
                Criticality::Breaking,
                "is no longer",
            )
        };
        out.push(Change {
            id,
            criticality,
            path: path.to_string(),
            location,
            old_location: None,
            message: format!("directive `{path}` {word} repeatable"),
        });
    }
    let changed_locations = [
        (&old.locations, &new.locations, true),
        (&new.locations, &old.locations, false),
    ];
    for (from, to, removed) in changed_locations {
        for (place, place_location) in from {
            if to.contains_key(place) {
                continue;
            }
            let (id, criticality, message, shown, old_location) = if removed {
                (
                    "DIRECTIVE_LOCATION_REMOVED",
                    Criticality::Breaking,
                    format!("directive `{path}` can no longer be used on {place}"),
                    location,
                    Some(place_location),
                )
            } else {
                (
                    "DIRECTIVE_LOCATION_ADDED",
                    Criticality::NonBreaking,
                    format!("directive `{path}` can now be used on {place}"),
                    place_location,
                    None,
                )
            };
            out.push(Change {
                id,
                criticality,
                path: path.to_string(),
                location: shown,
                old_location,
                message,
            });
        }
    }
    directive_arguments(out, path, &old.arguments, &new.arguments, location);
}

fn directive_arguments(
    out: &mut Out<'_>,
    path: &str,
    old: &BTreeMap<String, InputValue>,
    new: &BTreeMap<String, InputValue>,
    location: &Location,
) {
    for (name, old_argument) in old {
        let argument_path = format!("{path}.{name}");
        match new.get(name) {
            None => out.push(Change {
                id: "DIRECTIVE_ARGUMENT_REMOVED",
                criticality: Criticality::Breaking,
                message: format!("argument `{name}` was removed from directive `{path}`"),
                path: argument_path,
                location,
                old_location: Some(&old_argument.location),
            }),
            Some(new_argument) => input_value(
                out,
                InputValueRules {
                    description: ["DIRECTIVE_ARGUMENT_DESCRIPTION_CHANGED"; 3],
                    default: "DIRECTIVE_ARGUMENT_DEFAULT_VALUE_CHANGED",
                    ty: "DIRECTIVE_ARGUMENT_TYPE_CHANGED",
                    what: "directive argument",
                },
                &argument_path,
                old_argument,
                new_argument,
            ),
        }
    }
    for (name, new_argument) in new {
        if !old.contains_key(name) {
            let required = new_argument.is_required();
            out.push(Change {
                id: "DIRECTIVE_ARGUMENT_ADDED",
                criticality: if required {
                    Criticality::Breaking
                } else {
                    Criticality::NonBreaking
                },
                message: format!(
                    "{} argument `{name}: {}` was added to directive `{path}`",
                    if required { "required" } else { "optional" },
                    new_argument.ty
                ),
                path: format!("{path}.{name}"),
                location: &new_argument.location,
                old_location: None,
            });
        }
    }
}

/// The (added, removed) rule ids of directive usages on one kind of element.
type UsageIds = (&'static str, &'static str);

const USAGE_SCHEMA: UsageIds = (
    "DIRECTIVE_USAGE_SCHEMA_ADDED",
    "DIRECTIVE_USAGE_SCHEMA_REMOVED",
);
const USAGE_SCALAR: UsageIds = (
    "DIRECTIVE_USAGE_SCALAR_ADDED",
    "DIRECTIVE_USAGE_SCALAR_REMOVED",
);
const USAGE_OBJECT: UsageIds = (
    "DIRECTIVE_USAGE_OBJECT_ADDED",
    "DIRECTIVE_USAGE_OBJECT_REMOVED",
);
const USAGE_INTERFACE: UsageIds = (
    "DIRECTIVE_USAGE_INTERFACE_ADDED",
    "DIRECTIVE_USAGE_INTERFACE_REMOVED",
);
const USAGE_UNION: UsageIds = (
    "DIRECTIVE_USAGE_UNION_MEMBER_ADDED",
    "DIRECTIVE_USAGE_UNION_MEMBER_REMOVED",
);
const USAGE_ENUM: UsageIds = ("DIRECTIVE_USAGE_ENUM_ADDED", "DIRECTIVE_USAGE_ENUM_REMOVED");
const USAGE_ENUM_VALUE: UsageIds = (
    "DIRECTIVE_USAGE_ENUM_VALUE_ADDED",
    "DIRECTIVE_USAGE_ENUM_VALUE_REMOVED",
);
const USAGE_INPUT_OBJECT: UsageIds = (
    "DIRECTIVE_USAGE_INPUT_OBJECT_ADDED",
    "DIRECTIVE_USAGE_INPUT_OBJECT_REMOVED",
);
const USAGE_FIELD: UsageIds = (
    "DIRECTIVE_USAGE_FIELD_DEFINITION_ADDED",
    "DIRECTIVE_USAGE_FIELD_DEFINITION_REMOVED",
);
const USAGE_ARGUMENT: UsageIds = (
    "DIRECTIVE_USAGE_ARGUMENT_DEFINITION_ADDED",
    "DIRECTIVE_USAGE_ARGUMENT_DEFINITION_REMOVED",
);
const USAGE_INPUT_FIELD: UsageIds = (
    "DIRECTIVE_USAGE_INPUT_FIELD_DEFINITION_ADDED",
    "DIRECTIVE_USAGE_INPUT_FIELD_DEFINITION_REMOVED",
);

/// The directives applied to one element, compared by name.
struct Uses<'l> {
    ids: UsageIds,
    what: String,
    path: String,
    /// The element in the new schema, where removals are shown.
    location: &'l Location,
    /// Directives a dedicated rule already reports (`@deprecated` on fields
    /// and enum values, `@oneOf`): not reported twice.
    covered: &'static [&'static str],
}

fn directive_uses(out: &mut Out<'_>, uses: Uses<'_>, old: &[DirectiveUse], new: &[DirectiveUse]) {
    let criticality = |name: &str| {
        if name == "deprecated" {
            Criticality::NonBreaking
        } else {
            Criticality::Dangerous
        }
    };
    let relevant = |u: &&DirectiveUse| !uses.covered.contains(&u.name.as_str());
    for old_use in old.iter().filter(relevant) {
        if !new.iter().any(|u| u.name == old_use.name) {
            out.push(Change {
                id: uses.ids.1,
                criticality: criticality(&old_use.name),
                path: uses.path.clone(),
                location: uses.location,
                old_location: Some(&old_use.location),
                message: format!(
                    "directive `@{}` was removed from {}",
                    old_use.name, uses.what
                ),
            });
        }
    }
    for (old_use, new_use) in paired_uses(old, new) {
        if relevant(&old_use) {
            use_arguments(out, &uses, old_use, new_use);
        }
    }
    for new_use in new.iter().filter(relevant) {
        if !old.iter().any(|u| u.name == new_use.name) {
            out.push(Change {
                id: uses.ids.0,
                criticality: criticality(&new_use.name),
                path: uses.path.clone(),
                location: &new_use.location,
                old_location: None,
                message: format!("directive `@{}` was added to {}", new_use.name, uses.what),
            });
        }
    }
}

/// The usages present on both sides, paired by name in written order: the
/// first `@d` of the old element with the first `@d` of the new one, and so
/// on (repeatable directives).
fn paired_uses<'u>(
    old: &'u [DirectiveUse],
    new: &'u [DirectiveUse],
) -> Vec<(&'u DirectiveUse, &'u DirectiveUse)> {
    let mut pairs = Vec::new();
    for (index, old_use) in old.iter().enumerate() {
        let rank = old[..index]
            .iter()
            .filter(|u| u.name == old_use.name)
            .count();
        if let Some(new_use) = new.iter().filter(|u| u.name == old_use.name).nth(rank) {
            pairs.push((old_use, new_use));
        }
    }
    pairs
}

/// The arguments given to one directive usage present on both sides. A
/// changed value counts as the old argument removed and the new one added.
fn use_arguments(out: &mut Out<'_>, uses: &Uses<'_>, old: &DirectiveUse, new: &DirectiveUse) {
    let directive = &new.name;
    for old_argument in &old.arguments {
        let new_argument = new.arguments.iter().find(|a| a.name == old_argument.name);
        if new_argument.is_some_and(|a| a.value == old_argument.value) {
            continue;
        }
        let message = match new_argument {
            None => format!(
                "argument `{}: {}` was removed from directive `@{directive}` on {}",
                old_argument.name, old_argument.value, uses.what
            ),
            Some(new_argument) => format!(
                "argument `{}` of directive `@{directive}` on {} no longer has the value `{}` (now `{}`)",
                old_argument.name, uses.what, old_argument.value, new_argument.value
            ),
        };
        out.push(Change {
            id: "DIRECTIVE_USAGE_ARGUMENT_REMOVED",
            criticality: Criticality::Dangerous,
            path: uses.path.clone(),
            location: new_argument.map_or(&new.location, |a| &a.location),
            old_location: Some(&old_argument.location),
            message,
        });
    }
    for new_argument in &new.arguments {
        let old_argument = old.arguments.iter().find(|a| a.name == new_argument.name);
        if old_argument.is_some_and(|a| a.value == new_argument.value) {
            continue;
        }
        out.push(Change {
            id: "DIRECTIVE_USAGE_ARGUMENT_ADDED",
            criticality: Criticality::NonBreaking,
            path: uses.path.clone(),
            location: &new_argument.location,
            old_location: None,
            message: match old_argument {
                None => format!(
                    "argument `{}: {}` was given to directive `@{directive}` on {}",
                    new_argument.name, new_argument.value, uses.what
                ),
                Some(old_argument) => format!(
                    "argument `{}` of directive `@{directive}` on {} now has the value `{}` (was `{}`)",
                    new_argument.name, uses.what, new_argument.value, old_argument.value
                ),
            },
        });
    }
}

/// Directive usages on a field argument.
fn argument_uses(out: &mut Out<'_>, path: &str, old: &InputValue, new: &InputValue) {
    directive_uses(
        out,
        Uses {
            ids: USAGE_ARGUMENT,
            what: format!("`{path}`"),
            path: path.to_string(),
            location: &new.location,
            covered: &[],
        },
        &old.directives,
        &new.directives,
    );
}

/// A field argument that exists on both sides: its type, default and
/// description, then the directives applied to it.
fn argument_changes(
    out: &mut Out<'_>,
    rules: InputValueRules,
    path: &str,
    old: &InputValue,
    new: &InputValue,
) {
    input_value(out, rules, path, old, new);
    argument_uses(out, path, old, new);
}
