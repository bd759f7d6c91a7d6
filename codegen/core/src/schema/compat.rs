//! Direction-aware schema compatibility.
//!
//! Which way a value flows decides what breaks. A value a client **sends**
//! ([`Direction::Request`]) must still be accepted: a new schema that admits
//! less (narrowing) breaks old clients, one that admits more is fine. A value
//! a client **receives** ([`Direction::Response`]) must still be understood: a
//! new schema that admits more (widening) can hand old clients something they
//! never expected. Every assertion is classified as narrowing, widening or
//! both, and the direction turns that into a severity.
//!
//! The walk is a worklist over pairs of schema ids (no recursion, so deep or
//! cyclic schemas cannot exhaust the stack); a pair is compared once, which
//! makes `$ref` cycles terminate and shared components cost nothing extra.

use std::collections::HashSet;

use serde_json::Value;

use super::{Additional, Bound, JsonType, Schema, SchemaGraph, SchemaId};
use crate::finding::Severity;
use crate::source::Location;

/// Which way values of the compared schema travel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Written by clients, read by the contract's owner (request bodies,
    /// parameters, messages an application receives, GraphQL inputs).
    Request,
    /// Written by the owner, read by clients (response bodies and headers,
    /// messages an application sends, GraphQL outputs).
    Response,
}

/// How a change moves the set of admitted values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Effect {
    Narrowed,
    Widened,
    /// Neither contains the other (a type swapped for another).
    Both,
    /// Cannot be decided statically (two different patterns): may break.
    Unknown,
}

macro_rules! change_kinds {
    ($($variant:ident => $id:literal,)*) => {
        /// What changed. The id is the stable suffix rule ids are built from
        /// (`request-body-` + `type-changed`).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum ChangeKind { $($variant,)* }

        impl ChangeKind {
            pub const ALL: &'static [ChangeKind] = &[$(ChangeKind::$variant,)*];

            pub fn id(self) -> &'static str {
                match self { $(ChangeKind::$variant => $id,)* }
            }
        }
    };
}

change_kinds! {
    TypeChanged => "type-changed",
    BecameNullable => "became-nullable",
    BecameNotNullable => "became-not-nullable",
    FormatChanged => "format-changed",
    FormatAdded => "format-added",
    FormatRemoved => "format-removed",
    EnumValueAdded => "enum-value-added",
    EnumValueRemoved => "enum-value-removed",
    EnumAdded => "enum-added",
    EnumRemoved => "enum-removed",
    MinIncreased => "min-increased",
    MinDecreased => "min-decreased",
    MinAdded => "min-added",
    MinRemoved => "min-removed",
    MaxIncreased => "max-increased",
    MaxDecreased => "max-decreased",
    MaxAdded => "max-added",
    MaxRemoved => "max-removed",
    MultipleOfChanged => "multiple-of-changed",
    MinLengthIncreased => "min-length-increased",
    MinLengthDecreased => "min-length-decreased",
    MaxLengthIncreased => "max-length-increased",
    MaxLengthDecreased => "max-length-decreased",
    PatternAdded => "pattern-added",
    PatternRemoved => "pattern-removed",
    PatternChanged => "pattern-changed",
    MinItemsIncreased => "min-items-increased",
    MinItemsDecreased => "min-items-decreased",
    MaxItemsIncreased => "max-items-increased",
    MaxItemsDecreased => "max-items-decreased",
    UniqueItemsAdded => "unique-items-added",
    UniqueItemsRemoved => "unique-items-removed",
    MinPropertiesIncreased => "min-properties-increased",
    MinPropertiesDecreased => "min-properties-decreased",
    MaxPropertiesIncreased => "max-properties-increased",
    MaxPropertiesDecreased => "max-properties-decreased",
    PropertyAdded => "property-added",
    NewRequiredProperty => "new-required-property",
    PropertyRemoved => "property-removed",
    PropertyBecameRequired => "property-became-required",
    PropertyBecameOptional => "property-became-optional",
    PropertyBecameReadOnly => "property-became-read-only",
    PropertyBecameNotReadOnly => "property-became-not-read-only",
    PropertyBecameWriteOnly => "property-became-write-only",
    PropertyBecameNotWriteOnly => "property-became-not-write-only",
    AdditionalPropertiesRestricted => "additional-properties-restricted",
    AdditionalPropertiesRelaxed => "additional-properties-relaxed",
    OneOfAdded => "one-of-added",
    OneOfRemoved => "one-of-removed",
    AnyOfAdded => "any-of-added",
    AnyOfRemoved => "any-of-removed",
    DiscriminatorPropertyChanged => "discriminator-property-changed",
    DiscriminatorMappingAdded => "discriminator-mapping-added",
    DiscriminatorMappingRemoved => "discriminator-mapping-removed",
    NotAdded => "not-added",
    NotRemoved => "not-removed",
    DefaultChanged => "default-changed",
    DefaultAdded => "default-added",
    DefaultRemoved => "default-removed",
    BecameDeprecated => "became-deprecated",
}

/// One difference between two schemas.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub kind: ChangeKind,
    pub severity: Severity,
    /// Where inside the compared schema, as a JSON pointer over the schema
    /// keywords (`/properties/address/items`); empty at the root.
    pub path: String,
    /// The property path for messages (`address.zip`); empty at the root.
    pub property: String,
    /// The changed schema in the old and new contract, where known.
    pub old_location: Option<Location>,
    pub new_location: Option<Location>,
    /// Says what changed, old value -> new value.
    pub message: String,
}

/// A pair of schemas to compare, and how it was reached: the parent pair's
/// index in the worklist plus one path step. Paths are spelled out only when
/// a change is reported, so a deep schema costs linear, not quadratic, work.
#[derive(Clone)]
struct Pending {
    old: SchemaId,
    new: SchemaId,
    parent: Option<usize>,
    /// Schema keywords from the parent (`items`, `properties/zip`).
    segment: String,
    /// The property this step enters, if any.
    property: Option<String>,
}

struct Walk<'g> {
    old: &'g SchemaGraph,
    new: &'g SchemaGraph,
    direction: Direction,
    changes: Vec<Change>,
    pending: Vec<Pending>,
    /// Index of the pair being compared.
    current: usize,
    is_boundary: &'g dyn Fn(SchemaId, SchemaId) -> bool,
    boundaries: Vec<(SchemaId, SchemaId)>,
    boundary_set: HashSet<(SchemaId, SchemaId)>,
}

/// Compares `old_root` in `old` with `new_root` in `new`, for values that
/// travel in `direction`. Changes come in walk order (parents first).
pub fn compare(
    old: &SchemaGraph,
    old_root: SchemaId,
    new: &SchemaGraph,
    new_root: SchemaId,
    direction: Direction,
) -> Vec<Change> {
    compare_within(old, old_root, new, new_root, direction, &|_, _| false).changes
}

/// What [`compare_within`] found: the changes inside the boundary, and the
/// pairs at the boundary it did not enter.
#[derive(Debug, Default)]
pub struct Comparison {
    pub changes: Vec<Change>,
    /// Pairs reached but not entered, each once, in walk order.
    pub boundaries: Vec<(SchemaId, SchemaId)>,
}

/// [`compare`], but a child pair for which `is_boundary` says yes is not
/// entered: it is returned so the caller can compare it once on its own (a
/// shared component reached from many operations) and say where it is used.
pub fn compare_within(
    old: &SchemaGraph,
    old_root: SchemaId,
    new: &SchemaGraph,
    new_root: SchemaId,
    direction: Direction,
    is_boundary: &dyn Fn(SchemaId, SchemaId) -> bool,
) -> Comparison {
    let mut walk = Walk {
        old,
        new,
        direction,
        changes: Vec::new(),
        pending: Vec::new(),
        current: 0,
        is_boundary,
        boundaries: Vec::new(),
        boundary_set: HashSet::new(),
    };
    let mut seen = HashSet::new();
    walk.pending.push(Pending {
        old: old_root,
        new: new_root,
        parent: None,
        segment: String::new(),
        property: None,
    });
    // Taking from the front keeps parents before children in the output;
    // entries stay in the list because their children point back at them.
    while walk.current < walk.pending.len() {
        let item = walk.pending[walk.current].clone();
        if seen.insert((item.old, item.new)) {
            walk.pair(&item);
        }
        walk.current += 1;
    }
    Comparison {
        changes: walk.changes,
        boundaries: walk.boundaries,
    }
}

fn severity(effect: Effect, direction: Direction) -> Severity {
    match (effect, direction) {
        (Effect::Both, _) => Severity::Error,
        (Effect::Unknown, _) => Severity::Warning,
        (Effect::Narrowed, Direction::Request) | (Effect::Widened, Direction::Response) => {
            Severity::Error
        }
        (Effect::Narrowed, Direction::Response) | (Effect::Widened, Direction::Request) => {
            Severity::Info
        }
    }
}

fn show(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn show_bound(b: Bound) -> String {
    let op = if b.exclusive { "exclusive " } else { "" };
    format!("{op}{}", b.value)
}

impl Walk<'_> {
    /// The JSON pointer and dotted property path of `item`.
    fn trail(&self, item: &Pending) -> (String, String) {
        let mut segments = vec![&item.segment];
        let mut properties: Vec<&str> = item.property.as_deref().into_iter().collect();
        let mut parent = item.parent;
        while let Some(i) = parent {
            let p = &self.pending[i];
            segments.push(&p.segment);
            properties.extend(p.property.as_deref());
            parent = p.parent;
        }
        let path =
            segments
                .iter()
                .rev()
                .filter(|s| !s.is_empty())
                .fold(String::new(), |mut acc, s| {
                    acc.push('/');
                    acc.push_str(s);
                    acc
                });
        properties.reverse();
        (path, properties.join("."))
    }

    fn emit(&mut self, item: &Pending, kind: ChangeKind, severity: Severity, what: String) {
        let (old, new) = (self.old.get(item.old), self.new.get(item.new));
        let (path, property) = self.trail(item);
        let subject = if property.is_empty() {
            String::new()
        } else {
            format!("property `{property}`: ")
        };
        self.changes.push(Change {
            kind,
            severity,
            path,
            property,
            old_location: old.location.clone(),
            new_location: new.location.clone(),
            message: format!("{subject}{what}"),
        });
    }

    fn effect(&mut self, item: &Pending, kind: ChangeKind, effect: Effect, what: String) {
        let severity = severity(effect, self.direction);
        self.emit(item, kind, severity, what);
    }

    /// Queues a child pair of the pair being compared.
    fn push(&mut self, old: SchemaId, new: SchemaId, segment: String, property: Option<&str>) {
        if (self.is_boundary)(old, new) {
            if self.boundary_set.insert((old, new)) {
                self.boundaries.push((old, new));
            }
            return;
        }
        let parent = Some(self.current);
        self.pending.push(Pending {
            old,
            new,
            parent,
            segment,
            property: property.map(String::from),
        });
    }

    fn pair(&mut self, item: &Pending) {
        let (old, new) = (flatten(self.old, item.old), flatten(self.new, item.new));
        let (old, new) = (old.as_ref(), new.as_ref());
        self.types(item, old, new);
        self.format(item, old, new);
        self.enums(item, old, new);
        self.numbers(item, old, new);
        self.strings(item, old, new);
        self.arrays(item, old, new);
        self.objects(item, old, new);
        self.compositions(item, old, new);
        self.annotations(item, old, new);
    }

    fn types(&mut self, item: &Pending, old: &Schema, new: &Schema) {
        let (o, n) = (&old.types, &new.types);
        if old.nullable() != new.nullable() && !o.is_empty() && !n.is_empty() {
            let (kind, effect) = if new.nullable() {
                (ChangeKind::BecameNullable, Effect::Widened)
            } else {
                (ChangeKind::BecameNotNullable, Effect::Narrowed)
            };
            self.effect(
                item,
                kind,
                effect,
                if new.nullable() {
                    "became nullable".into()
                } else {
                    "is no longer nullable".into()
                },
            );
        }
        let strip = |s: &std::collections::BTreeSet<JsonType>| -> Vec<JsonType> {
            s.iter().copied().filter(|t| *t != JsonType::Null).collect()
        };
        let (o, n) = (strip(o), strip(n));
        if o == n {
            return;
        }
        // An empty set admits every type; integers are numbers.
        let covers = |set: &[JsonType], t: JsonType| {
            set.is_empty()
                || set.contains(&t)
                || (t == JsonType::Integer && set.contains(&JsonType::Number))
        };
        let admits_all = |a: &[JsonType], b: &[JsonType]| {
            if b.is_empty() {
                a.is_empty()
            } else {
                b.iter().all(|t| covers(a, *t))
            }
        };
        let effect = match (admits_all(&n, &o), admits_all(&o, &n)) {
            (true, true) => return,
            (true, false) => Effect::Widened,
            (false, true) => Effect::Narrowed,
            (false, false) => Effect::Both,
        };
        let names = |s: &[JsonType]| {
            if s.is_empty() {
                "any".to_string()
            } else {
                s.iter().map(|t| t.as_str()).collect::<Vec<_>>().join("|")
            }
        };
        self.effect(
            item,
            ChangeKind::TypeChanged,
            effect,
            format!("type changed from {} to {}", names(&o), names(&n)),
        );
    }

    fn format(&mut self, item: &Pending, old: &Schema, new: &Schema) {
        match (&old.format, &new.format) {
            (Some(o), Some(n)) if o != n => {
                // Wider numeric formats admit every value of the narrower one.
                let effect = match (o.as_str(), n.as_str()) {
                    ("int32", "int64") | ("float", "double") => Effect::Widened,
                    ("int64", "int32") | ("double", "float") => Effect::Narrowed,
                    _ => Effect::Both,
                };
                self.effect(
                    item,
                    ChangeKind::FormatChanged,
                    effect,
                    format!("format changed from {o} to {n}"),
                );
            }
            (None, Some(n)) => self.effect(
                item,
                ChangeKind::FormatAdded,
                Effect::Narrowed,
                format!("format {n} added"),
            ),
            (Some(o), None) => self.effect(
                item,
                ChangeKind::FormatRemoved,
                Effect::Widened,
                format!("format {o} removed"),
            ),
            _ => {}
        }
    }

    fn enums(&mut self, item: &Pending, old: &Schema, new: &Schema) {
        match (&old.enum_values, &new.enum_values) {
            (Some(o), Some(n)) => {
                for v in o.iter().filter(|v| !n.contains(v)) {
                    self.effect(
                        item,
                        ChangeKind::EnumValueRemoved,
                        Effect::Narrowed,
                        format!("enum value {} removed", show(v)),
                    );
                }
                for v in n.iter().filter(|v| !o.contains(v)) {
                    // Clients told that the enum grows are ready for new values.
                    let effect = if new.extensible_enum && self.direction == Direction::Response {
                        Effect::Narrowed
                    } else {
                        Effect::Widened
                    };
                    self.effect(
                        item,
                        ChangeKind::EnumValueAdded,
                        effect,
                        format!("enum value {} added", show(v)),
                    );
                }
            }
            (None, Some(n)) => {
                let values: Vec<String> = n.iter().map(show).collect();
                self.effect(
                    item,
                    ChangeKind::EnumAdded,
                    Effect::Narrowed,
                    format!("restricted to the values {}", values.join(", ")),
                );
            }
            (Some(_), None) => self.effect(
                item,
                ChangeKind::EnumRemoved,
                Effect::Widened,
                "no longer restricted to an enum".into(),
            ),
            (None, None) => {}
        }
    }

    fn numbers(&mut self, item: &Pending, old: &Schema, new: &Schema) {
        use ChangeKind::*;
        // A stricter lower bound: larger, or equal and newly exclusive.
        let stricter_min = |a: Bound, b: Bound| {
            b.value > a.value || (b.value == a.value && b.exclusive && !a.exclusive)
        };
        let stricter_max = |a: Bound, b: Bound| {
            b.value < a.value || (b.value == a.value && b.exclusive && !a.exclusive)
        };
        let (min_kinds, max_kinds) = (
            (MinIncreased, MinDecreased, MinAdded, MinRemoved),
            (MaxDecreased, MaxIncreased, MaxAdded, MaxRemoved),
        );
        self.bound(
            item,
            old.minimum,
            new.minimum,
            stricter_min,
            min_kinds,
            "minimum",
        );
        self.bound(
            item,
            old.maximum,
            new.maximum,
            stricter_max,
            max_kinds,
            "maximum",
        );
        if old.multiple_of != new.multiple_of {
            // A new multiple that divides the old one admits more; one that is a multiple of it, less.
            let effect = match (old.multiple_of, new.multiple_of) {
                (Some(o), Some(n)) if n != 0.0 && (o / n).fract() == 0.0 => Effect::Widened,
                (Some(o), Some(n)) if o != 0.0 && (n / o).fract() == 0.0 => Effect::Narrowed,
                (None, Some(_)) => Effect::Narrowed,
                (Some(_), None) => Effect::Widened,
                _ => Effect::Both,
            };
            let show = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_else(|| "none".into());
            self.effect(
                item,
                MultipleOfChanged,
                effect,
                format!(
                    "multipleOf changed from {} to {}",
                    show(old.multiple_of),
                    show(new.multiple_of)
                ),
            );
        }
    }

    /// A numeric bound. `kinds`: (stricter, looser, added, removed).
    fn bound(
        &mut self,
        item: &Pending,
        old: Option<Bound>,
        new: Option<Bound>,
        stricter: impl Fn(Bound, Bound) -> bool,
        kinds: (ChangeKind, ChangeKind, ChangeKind, ChangeKind),
        name: &str,
    ) {
        match (old, new) {
            (Some(o), Some(n)) if o != n => {
                let (kind, effect) = if stricter(o, n) {
                    (kinds.0, Effect::Narrowed)
                } else {
                    (kinds.1, Effect::Widened)
                };
                self.effect(
                    item,
                    kind,
                    effect,
                    format!("{name} changed from {} to {}", show_bound(o), show_bound(n)),
                );
            }
            (None, Some(n)) => self.effect(
                item,
                kinds.2,
                Effect::Narrowed,
                format!("{name} {} added", show_bound(n)),
            ),
            (Some(o), None) => self.effect(
                item,
                kinds.3,
                Effect::Widened,
                format!("{name} {} removed", show_bound(o)),
            ),
            _ => {}
        }
    }

    /// A lower bound on a count (minLength, minItems, minProperties).
    fn min_count(
        &mut self,
        item: &Pending,
        old: Option<u64>,
        new: Option<u64>,
        kinds: (ChangeKind, ChangeKind),
        name: &str,
    ) {
        let (o, n) = (old.unwrap_or(0), new.unwrap_or(0));
        if o < n {
            self.effect(
                item,
                kinds.0,
                Effect::Narrowed,
                format!("{name} increased from {o} to {n}"),
            );
        } else if o > n {
            self.effect(
                item,
                kinds.1,
                Effect::Widened,
                format!("{name} decreased from {o} to {n}"),
            );
        }
    }

    /// An upper bound on a count (maxLength, maxItems, maxProperties).
    fn max_count(
        &mut self,
        item: &Pending,
        old: Option<u64>,
        new: Option<u64>,
        kinds: (ChangeKind, ChangeKind),
        name: &str,
    ) {
        let (o, n) = (old.unwrap_or(u64::MAX), new.unwrap_or(u64::MAX));
        let show = |v: u64| {
            if v == u64::MAX {
                "unbounded".to_string()
            } else {
                v.to_string()
            }
        };
        if n < o {
            self.effect(
                item,
                kinds.1,
                Effect::Narrowed,
                format!("{name} decreased from {} to {}", show(o), show(n)),
            );
        } else if n > o {
            self.effect(
                item,
                kinds.0,
                Effect::Widened,
                format!("{name} increased from {} to {}", show(o), show(n)),
            );
        }
    }

    fn strings(&mut self, item: &Pending, old: &Schema, new: &Schema) {
        use ChangeKind::*;
        self.min_count(
            item,
            old.min_length,
            new.min_length,
            (MinLengthIncreased, MinLengthDecreased),
            "minLength",
        );
        self.max_count(
            item,
            old.max_length,
            new.max_length,
            (MaxLengthIncreased, MaxLengthDecreased),
            "maxLength",
        );
        match (&old.pattern, &new.pattern) {
            (Some(o), Some(n)) if o != n => self.effect(
                item,
                PatternChanged,
                Effect::Unknown,
                format!("pattern changed from `{o}` to `{n}`"),
            ),
            (None, Some(n)) => self.effect(
                item,
                PatternAdded,
                Effect::Narrowed,
                format!("pattern `{n}` added"),
            ),
            (Some(o), None) => self.effect(
                item,
                PatternRemoved,
                Effect::Widened,
                format!("pattern `{o}` removed"),
            ),
            _ => {}
        }
    }

    fn arrays(&mut self, item: &Pending, old: &Schema, new: &Schema) {
        use ChangeKind::*;
        self.min_count(
            item,
            old.min_items,
            new.min_items,
            (MinItemsIncreased, MinItemsDecreased),
            "minItems",
        );
        self.max_count(
            item,
            old.max_items,
            new.max_items,
            (MaxItemsIncreased, MaxItemsDecreased),
            "maxItems",
        );
        if old.unique_items != new.unique_items {
            let (kind, effect) = if new.unique_items {
                (UniqueItemsAdded, Effect::Narrowed)
            } else {
                (UniqueItemsRemoved, Effect::Widened)
            };
            self.effect(
                item,
                kind,
                effect,
                format!(
                    "uniqueItems changed from {} to {}",
                    old.unique_items, new.unique_items
                ),
            );
        }
        if let (Some(o), Some(n)) = (old.items, new.items) {
            self.push(o, n, "items".into(), None);
        }
    }

    fn objects(&mut self, item: &Pending, old: &Schema, new: &Schema) {
        use ChangeKind::*;
        self.min_count(
            item,
            old.min_properties,
            new.min_properties,
            (MinPropertiesIncreased, MinPropertiesDecreased),
            "minProperties",
        );
        self.max_count(
            item,
            old.max_properties,
            new.max_properties,
            (MaxPropertiesIncreased, MaxPropertiesDecreased),
            "maxProperties",
        );
        let request = self.direction == Direction::Request;
        // Properties that do not travel this way: read-only ones are never
        // sent by clients, write-only ones never returned to them.
        let travels = |graph: &SchemaGraph, id: SchemaId| {
            let s = graph.get(id);
            if request { !s.read_only } else { !s.write_only }
        };
        for (name, old_id) in &old.properties {
            let was_required = old.required.contains(name);
            let Some(new_id) = new.property(name) else {
                if !travels(self.old, *old_id) {
                    continue;
                }
                let child = self.child(name, *old_id, item.new);
                let (severity, why) = match (request, was_required, new.additional) {
                    // The owner now rejects what clients still send.
                    (true, _, Additional::Forbidden) => {
                        (Severity::Error, "clients sending it are rejected")
                    }
                    (true, _, _) => (
                        Severity::Warning,
                        "clients may still send it; it is ignored",
                    ),
                    (false, true, _) => (Severity::Error, "it was required, clients rely on it"),
                    (false, false, _) => (Severity::Warning, "clients reading it get nothing"),
                };
                self.emit(
                    &child,
                    PropertyRemoved,
                    severity,
                    format!("removed ({why})"),
                );
                continue;
            };
            let is_required = new.required.contains(name);
            let child = self.child(name, *old_id, new_id);
            if was_required != is_required && travels(self.new, new_id) {
                if is_required {
                    self.effect(
                        &child,
                        PropertyBecameRequired,
                        Effect::Narrowed,
                        "became required".into(),
                    );
                } else {
                    self.effect(
                        &child,
                        PropertyBecameOptional,
                        Effect::Widened,
                        "became optional".into(),
                    );
                }
            }
            self.visibility(&child, self.old.get(*old_id), self.new.get(new_id));
            self.push(
                *old_id,
                new_id,
                format!("properties/{}", escape(name)),
                Some(name),
            );
        }
        for (name, new_id) in &new.properties {
            if old.property(name).is_some() || !travels(self.new, *new_id) {
                continue;
            }
            let child = self.child(name, item.old, *new_id);
            if new.required.contains(name) {
                self.effect(
                    &child,
                    NewRequiredProperty,
                    Effect::Narrowed,
                    "added as a required property".into(),
                );
            } else {
                // A new optional property narrows nothing old clients send and
                // tolerant readers ignore it.
                self.emit(&child, PropertyAdded, Severity::Info, "added".into());
            }
        }
        match (old.additional, new.additional) {
            (Additional::Any, Additional::Forbidden) | (Additional::Any, Additional::Schema(_)) => {
                self.effect(
                    item,
                    AdditionalPropertiesRestricted,
                    Effect::Narrowed,
                    "additional properties restricted".into(),
                )
            }
            (Additional::Forbidden, Additional::Any)
            | (Additional::Forbidden, Additional::Schema(_)) => self.effect(
                item,
                AdditionalPropertiesRelaxed,
                Effect::Widened,
                "additional properties allowed".into(),
            ),
            (Additional::Schema(_), Additional::Any) => self.effect(
                item,
                AdditionalPropertiesRelaxed,
                Effect::Widened,
                "additional properties no longer constrained".into(),
            ),
            (Additional::Schema(_), Additional::Forbidden) => self.effect(
                item,
                AdditionalPropertiesRestricted,
                Effect::Narrowed,
                "additional properties forbidden".into(),
            ),
            (Additional::Schema(o), Additional::Schema(n)) => {
                self.push(o, n, "additionalProperties".into(), None)
            }
            _ => {}
        }
    }

    /// A property of the pair being compared, for reporting on it: `old` and
    /// `new` are the property's schemas (or the parent's where the property
    /// is missing on that side), so locations point at the property.
    fn child(&self, name: &str, old: SchemaId, new: SchemaId) -> Pending {
        Pending {
            old,
            new,
            parent: Some(self.current),
            segment: format!("properties/{}", escape(name)),
            property: Some(name.to_string()),
        }
    }

    fn visibility(&mut self, item: &Pending, old: &Schema, new: &Schema) {
        use ChangeKind::*;
        if old.read_only != new.read_only {
            // A property clients sent that becomes read-only is no longer theirs to set.
            let (kind, effect) = if new.read_only {
                (PropertyBecameReadOnly, Effect::Narrowed)
            } else {
                (PropertyBecameNotReadOnly, Effect::Widened)
            };
            let severity = if self.direction == Direction::Request {
                severity(effect, Direction::Request)
            } else {
                Severity::Info
            };
            self.emit(
                item,
                kind,
                severity,
                if new.read_only {
                    "became read-only".into()
                } else {
                    "is no longer read-only".into()
                },
            );
        }
        if old.write_only != new.write_only {
            // A property clients read that becomes write-only disappears from responses.
            let (kind, effect) = if new.write_only {
                (PropertyBecameWriteOnly, Effect::Narrowed)
            } else {
                (PropertyBecameNotWriteOnly, Effect::Widened)
            };
            let severity = if self.direction == Direction::Response {
                if new.write_only {
                    Severity::Error
                } else {
                    severity(effect, Direction::Response)
                }
            } else {
                Severity::Info
            };
            self.emit(
                item,
                kind,
                severity,
                if new.write_only {
                    "became write-only".into()
                } else {
                    "is no longer write-only".into()
                },
            );
        }
    }

    fn compositions(&mut self, item: &Pending, old: &Schema, new: &Schema) {
        use ChangeKind::*;
        // Alternatives: one more admits more, one fewer admits less.
        self.branches(
            item,
            &old.one_of,
            &new.one_of,
            "oneOf",
            (OneOfAdded, Effect::Widened),
            (OneOfRemoved, Effect::Narrowed),
        );
        self.branches(
            item,
            &old.any_of,
            &new.any_of,
            "anyOf",
            (AnyOfAdded, Effect::Widened),
            (AnyOfRemoved, Effect::Narrowed),
        );
        // `allOf` needs no branch rule: `flatten` merged its members already.
        match (old.not, new.not) {
            (None, Some(_)) => self.effect(item, NotAdded, Effect::Narrowed, "`not` added".into()),
            (Some(_), None) => {
                self.effect(item, NotRemoved, Effect::Widened, "`not` removed".into())
            }
            _ => {}
        }
        match (&old.discriminator, &new.discriminator) {
            (Some(o), Some(n)) => {
                if o.property != n.property {
                    self.effect(
                        item,
                        DiscriminatorPropertyChanged,
                        Effect::Both,
                        format!(
                            "discriminator changed from `{}` to `{}`",
                            o.property, n.property
                        ),
                    );
                }
                for value in o.mapping.keys().filter(|k| !n.mapping.contains_key(*k)) {
                    self.effect(
                        item,
                        DiscriminatorMappingRemoved,
                        Effect::Narrowed,
                        format!("discriminator value `{value}` removed"),
                    );
                }
                for value in n.mapping.keys().filter(|k| !o.mapping.contains_key(*k)) {
                    self.effect(
                        item,
                        DiscriminatorMappingAdded,
                        Effect::Widened,
                        format!("discriminator value `{value}` added"),
                    );
                }
            }
            (None, Some(n)) => self.effect(
                item,
                DiscriminatorPropertyChanged,
                Effect::Both,
                format!("discriminator `{}` added", n.property),
            ),
            (Some(o), None) => self.effect(
                item,
                DiscriminatorPropertyChanged,
                Effect::Both,
                format!("discriminator `{}` removed", o.property),
            ),
            (None, None) => {}
        }
    }

    /// Matches the branches of a composition (by schema name, then by
    /// position among the unnamed), compares matched pairs, and reports the
    /// rest as added or removed.
    fn branches(
        &mut self,
        item: &Pending,
        old: &[SchemaId],
        new: &[SchemaId],
        keyword: &str,
        added: (ChangeKind, Effect),
        removed: (ChangeKind, Effect),
    ) {
        if old.is_empty() && new.is_empty() {
            return;
        }
        let key = |graph: &SchemaGraph, ids: &[SchemaId]| -> Vec<Option<String>> {
            ids.iter().map(|id| graph.get(*id).name.clone()).collect()
        };
        let (old_names, new_names) = (key(self.old, old), key(self.new, new));
        let mut new_used = vec![false; new.len()];
        let mut unmatched_old = Vec::new();
        for (i, name) in old_names.iter().enumerate() {
            let found = match name {
                Some(name) => new_names
                    .iter()
                    .enumerate()
                    .position(|(j, n)| !new_used[j] && n.as_ref() == Some(name)),
                None => None,
            };
            match found {
                Some(j) => {
                    new_used[j] = true;
                    self.push(old[i], new[j], format!("{keyword}/{j}"), None);
                }
                None => unmatched_old.push(i),
            }
        }
        // Unnamed (inline) branches pair up in order.
        let unnamed: Vec<usize> = (0..new.len())
            .filter(|j| !new_used[*j] && new_names[*j].is_none())
            .collect();
        let mut unnamed_new = unnamed.into_iter();
        let mut still_unmatched = Vec::new();
        for i in unmatched_old {
            match (old_names[i].is_none())
                .then(|| unnamed_new.next())
                .flatten()
            {
                Some(j) => {
                    new_used[j] = true;
                    self.push(old[i], new[j], format!("{keyword}/{j}"), None);
                }
                None => still_unmatched.push(i),
            }
        }
        let label = |name: &Option<String>, index: usize| {
            name.clone().unwrap_or_else(|| format!("#{index}"))
        };
        for i in still_unmatched {
            self.effect(
                item,
                removed.0,
                removed.1,
                format!("{keyword} branch {} removed", label(&old_names[i], i)),
            );
        }
        for j in (0..new.len()).filter(|j| !new_used[*j]) {
            self.effect(
                item,
                added.0,
                added.1,
                format!("{keyword} branch {} added", label(&new_names[j], j)),
            );
        }
    }

    fn annotations(&mut self, item: &Pending, old: &Schema, new: &Schema) {
        use ChangeKind::*;
        // A default fills in what clients leave out: in requests, a change
        // alters what old clients get without a word.
        let default_severity = if self.direction == Direction::Request {
            Severity::Warning
        } else {
            Severity::Info
        };
        match (&old.default, &new.default) {
            (Some(o), Some(n)) if o != n => self.emit(
                item,
                DefaultChanged,
                default_severity,
                format!("default changed from {} to {}", show(o), show(n)),
            ),
            (None, Some(n)) => self.emit(
                item,
                DefaultAdded,
                Severity::Info,
                format!("default {} added", show(n)),
            ),
            (Some(o), None) => self.emit(
                item,
                DefaultRemoved,
                default_severity,
                format!("default {} removed", show(o)),
            ),
            _ => {}
        }
        if !old.deprecated && new.deprecated {
            self.emit(item, BecameDeprecated, Severity::Info, "deprecated".into());
        }
    }
}

/// How deep `allOf` members are merged (an `allOf` that includes itself
/// through a cycle stops here).
const MAX_ALL_OF_DEPTH: usize = 16;

/// The schema with its `allOf` members merged in: what it admits, as one
/// schema. `allOf: [$ref: Pet]` (the 3.0 way to add `nullable` or a
/// description to a reference) and `Pet` itself then compare equal, and an
/// `allOf` refactor shows up as the properties and constraints that really
/// changed rather than as branches added or removed.
pub fn flatten(graph: &SchemaGraph, id: SchemaId) -> std::borrow::Cow<'_, Schema> {
    let schema = graph.get(id);
    let nullable_idiom =
        nullable_branch(graph, &schema.any_of).or_else(|| nullable_branch(graph, &schema.one_of));
    if schema.all_of.is_empty() && nullable_idiom.is_none() {
        return std::borrow::Cow::Borrowed(schema);
    }
    let mut merged = schema.clone();
    if let Some(other) = nullable_idiom {
        // `anyOf: [X, {type: null}]` is 3.1's way to write a nullable X.
        merged.any_of.clear();
        merged.one_of.clear();
        merge_into(&mut merged, graph.get(other));
        merged.types.insert(JsonType::Null);
        if merged.types.len() == 1 {
            // X admitted any type: the null type adds nothing.
            merged.types.clear();
        }
    }
    if merged.all_of.is_empty() {
        return std::borrow::Cow::Owned(merged);
    }
    let all_of = std::mem::take(&mut merged.all_of);
    let mut pending: Vec<(SchemaId, usize)> = all_of.iter().map(|m| (*m, 1)).collect();
    let mut seen = HashSet::from([id]);
    while let Some((member_id, depth)) = pending.pop() {
        if depth > MAX_ALL_OF_DEPTH || !seen.insert(member_id) {
            continue;
        }
        let member = graph.get(member_id);
        pending.extend(member.all_of.iter().map(|m| (*m, depth + 1)));
        merge_into(&mut merged, member);
    }
    std::borrow::Cow::Owned(merged)
}

/// For a two-branch union of which one admits only `null`: the other branch.
fn nullable_branch(graph: &SchemaGraph, branches: &[SchemaId]) -> Option<SchemaId> {
    let [a, b] = branches else { return None };
    let only_null = |id: &SchemaId| {
        let s = graph.get(*id);
        s.types.len() == 1 && s.nullable() && s.properties.is_empty() && s.enum_values.is_none()
    };
    match (only_null(a), only_null(b)) {
        (true, false) => Some(*b),
        (false, true) => Some(*a),
        _ => None,
    }
}

/// Adds what `member` asserts to `merged` (which wins where both say something).
fn merge_into(merged: &mut Schema, member: &Schema) {
    // A wrapper that says only `nullable` keeps that and takes the member's types.
    let only_null = merged.types.iter().all(|t| *t == JsonType::Null);
    if only_null {
        merged.types.extend(member.types.iter().copied());
    }
    merged.format = merged.format.take().or_else(|| member.format.clone());
    merged.enum_values = merged
        .enum_values
        .take()
        .or_else(|| member.enum_values.clone());
    merged.extensible_enum |= member.extensible_enum;
    merged.minimum = merged.minimum.or(member.minimum);
    merged.maximum = merged.maximum.or(member.maximum);
    merged.multiple_of = merged.multiple_of.or(member.multiple_of);
    merged.min_length = merged.min_length.or(member.min_length);
    merged.max_length = merged.max_length.or(member.max_length);
    merged.pattern = merged.pattern.take().or_else(|| member.pattern.clone());
    merged.items = merged.items.or(member.items);
    merged.min_items = merged.min_items.or(member.min_items);
    merged.max_items = merged.max_items.or(member.max_items);
    merged.unique_items |= member.unique_items;
    for (name, id) in &member.properties {
        if merged.property(name).is_none() {
            merged.properties.push((name.clone(), *id));
        }
    }
    merged.required.extend(member.required.iter().cloned());
    if merged.additional == Additional::Any {
        merged.additional = member.additional;
    }
    merged.min_properties = merged.min_properties.or(member.min_properties);
    merged.max_properties = merged.max_properties.or(member.max_properties);
    merged.one_of.extend(member.one_of.iter().copied());
    merged.any_of.extend(member.any_of.iter().copied());
    merged.not = merged.not.or(member.not);
    merged.discriminator = merged
        .discriminator
        .take()
        .or_else(|| member.discriminator.clone());
    merged.read_only |= member.read_only;
    merged.write_only |= member.write_only;
    merged.deprecated |= member.deprecated;
    merged.default = merged.default.take().or_else(|| member.default.clone());
}

/// JSON-pointer escaping of one segment.
fn escape(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use serde_json::json;

    use super::*;

    fn typed(t: JsonType) -> Schema {
        Schema {
            types: BTreeSet::from([t]),
            ..Schema::default()
        }
    }

    /// One graph per side holding `old` / `new` at id 0 plus `extra` nodes.
    fn both(old: Schema, new: Schema, direction: Direction) -> Vec<Change> {
        let (mut o, mut n) = (SchemaGraph::default(), SchemaGraph::default());
        let (a, b) = (o.add(old), n.add(new));
        compare(&o, a, &n, b, direction)
    }

    fn kinds(changes: &[Change]) -> Vec<(ChangeKind, Severity)> {
        changes.iter().map(|c| (c.kind, c.severity)).collect()
    }

    #[test]
    fn identical_schemas_have_no_changes() {
        let s = Schema {
            enum_values: Some(vec![json!("a")]),
            ..typed(JsonType::String)
        };
        assert!(both(s.clone(), s, Direction::Request).is_empty());
    }

    #[test]
    fn direction_decides_what_breaks() {
        use ChangeKind::*;
        let old = Schema {
            enum_values: Some(vec![json!("a"), json!("b")]),
            ..typed(JsonType::String)
        };
        let fewer = Schema {
            enum_values: Some(vec![json!("a")]),
            ..typed(JsonType::String)
        };
        let more = Schema {
            enum_values: Some(vec![json!("a"), json!("b"), json!("c")]),
            ..typed(JsonType::String)
        };
        assert_eq!(
            kinds(&both(old.clone(), fewer.clone(), Direction::Request)),
            [(EnumValueRemoved, Severity::Error)]
        );
        assert_eq!(
            kinds(&both(old.clone(), fewer, Direction::Response)),
            [(EnumValueRemoved, Severity::Info)]
        );
        assert_eq!(
            kinds(&both(old.clone(), more.clone(), Direction::Request)),
            [(EnumValueAdded, Severity::Info)]
        );
        assert_eq!(
            kinds(&both(old.clone(), more.clone(), Direction::Response)),
            [(EnumValueAdded, Severity::Error)]
        );
        let extensible = Schema {
            extensible_enum: true,
            ..more
        };
        assert_eq!(
            kinds(&both(old, extensible, Direction::Response)),
            [(EnumValueAdded, Severity::Info)]
        );
    }

    #[test]
    fn types_and_nullability() {
        use ChangeKind::*;
        let int = typed(JsonType::Integer);
        let num = typed(JsonType::Number);
        assert_eq!(
            kinds(&both(int.clone(), num.clone(), Direction::Request)),
            [(TypeChanged, Severity::Info)]
        );
        assert_eq!(
            kinds(&both(int.clone(), num, Direction::Response)),
            [(TypeChanged, Severity::Error)]
        );
        assert_eq!(
            kinds(&both(
                int.clone(),
                typed(JsonType::String),
                Direction::Request
            )),
            [(TypeChanged, Severity::Error)]
        );
        let nullable = Schema {
            types: BTreeSet::from([JsonType::Integer, JsonType::Null]),
            ..Schema::default()
        };
        assert_eq!(
            kinds(&both(int.clone(), nullable.clone(), Direction::Response)),
            [(BecameNullable, Severity::Error)]
        );
        assert_eq!(
            kinds(&both(nullable, int, Direction::Request)),
            [(BecameNotNullable, Severity::Error)]
        );
    }

    #[test]
    fn bounds_narrow_and_widen() {
        use ChangeKind::*;
        let old = Schema {
            maximum: Some(Bound {
                value: 10.0,
                exclusive: false,
            }),
            max_length: Some(5),
            ..Schema::default()
        };
        let new = Schema {
            maximum: Some(Bound {
                value: 10.0,
                exclusive: true,
            }),
            max_length: Some(8),
            ..Schema::default()
        };
        assert_eq!(
            kinds(&both(old, new, Direction::Request)),
            [
                (MaxDecreased, Severity::Error),
                (MaxLengthIncreased, Severity::Info)
            ]
        );
        let none = Schema::default();
        let min = Schema {
            minimum: Some(Bound {
                value: 1.0,
                exclusive: false,
            }),
            ..Schema::default()
        };
        assert_eq!(
            kinds(&both(none, min, Direction::Request)),
            [(MinAdded, Severity::Error)]
        );
    }

    #[test]
    fn formats_widen_by_width() {
        let f = |format: &str| Schema {
            format: Some(format.into()),
            ..typed(JsonType::Integer)
        };
        assert_eq!(
            kinds(&both(f("int32"), f("int64"), Direction::Request)),
            [(ChangeKind::FormatChanged, Severity::Info)]
        );
        assert_eq!(
            kinds(&both(f("int32"), f("int64"), Direction::Response)),
            [(ChangeKind::FormatChanged, Severity::Error)]
        );
        assert_eq!(
            kinds(&both(f("uuid"), f("email"), Direction::Request)),
            [(ChangeKind::FormatChanged, Severity::Error)]
        );
    }

    /// An object schema with properties built in the same graph.
    fn object(graph: &mut SchemaGraph, props: &[(&str, Schema)], required: &[&str]) -> SchemaId {
        let properties = props
            .iter()
            .map(|(n, s)| (n.to_string(), graph.add(s.clone())))
            .collect();
        graph.add(Schema {
            properties,
            required: required.iter().map(|s| s.to_string()).collect(),
            ..typed(JsonType::Object)
        })
    }

    fn objects(
        old: (&[(&str, Schema)], &[&str]),
        new: (&[(&str, Schema)], &[&str]),
        direction: Direction,
    ) -> Vec<Change> {
        let (mut o, mut n) = (SchemaGraph::default(), SchemaGraph::default());
        let a = object(&mut o, old.0, old.1);
        let b = object(&mut n, new.0, new.1);
        compare(&o, a, &n, b, direction)
    }

    #[test]
    fn required_properties_by_direction() {
        use ChangeKind::*;
        let s = typed(JsonType::String);
        let props = [("id", s.clone()), ("note", s.clone())];
        let c = objects(
            (&props, &["id"]),
            (&props, &["id", "note"]),
            Direction::Request,
        );
        assert_eq!(kinds(&c), [(PropertyBecameRequired, Severity::Error)]);
        assert_eq!(c[0].property, "note");
        assert_eq!(c[0].path, "/properties/note");
        let c = objects(
            (&props, &["id", "note"]),
            (&props, &["id"]),
            Direction::Response,
        );
        assert_eq!(kinds(&c), [(PropertyBecameOptional, Severity::Error)]);
        let c = objects(
            (&props, &["id"]),
            (&props[..1], &["id"]),
            Direction::Response,
        );
        assert_eq!(kinds(&c), [(PropertyRemoved, Severity::Warning)]);
        let c = objects((&props, &["id"]), (&props[..1], &[]), Direction::Response);
        assert!(kinds(&c).contains(&(PropertyBecameOptional, Severity::Error)));
        let c = objects((&props[..1], &[]), (&props, &["note"]), Direction::Request);
        assert_eq!(kinds(&c), [(NewRequiredProperty, Severity::Error)]);
        let c = objects((&props[..1], &[]), (&props, &[]), Direction::Response);
        assert_eq!(kinds(&c), [(PropertyAdded, Severity::Info)]);
    }

    #[test]
    fn read_only_properties_do_not_count_in_requests() {
        let id = Schema {
            read_only: true,
            ..typed(JsonType::String)
        };
        let c = objects((&[], &[]), (&[("id", id)], &["id"]), Direction::Request);
        assert!(c.is_empty(), "{c:?}");
    }

    #[test]
    fn nested_changes_carry_their_property_path() {
        let (mut o, mut n) = (SchemaGraph::default(), SchemaGraph::default());
        let zip_old = o.add(Schema {
            max_length: Some(10),
            ..typed(JsonType::String)
        });
        let zip_new = n.add(Schema {
            max_length: Some(5),
            ..typed(JsonType::String)
        });
        let addr_old = o.add(Schema {
            properties: vec![("zip".into(), zip_old)],
            ..typed(JsonType::Object)
        });
        let addr_new = n.add(Schema {
            properties: vec![("zip".into(), zip_new)],
            ..typed(JsonType::Object)
        });
        let list_old = o.add(Schema {
            items: Some(addr_old),
            ..typed(JsonType::Array)
        });
        let list_new = n.add(Schema {
            items: Some(addr_new),
            ..typed(JsonType::Array)
        });
        let root_old = o.add(Schema {
            properties: vec![("addresses".into(), list_old)],
            ..typed(JsonType::Object)
        });
        let root_new = n.add(Schema {
            properties: vec![("addresses".into(), list_new)],
            ..typed(JsonType::Object)
        });
        let c = compare(&o, root_old, &n, root_new, Direction::Request);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].path, "/properties/addresses/items/properties/zip");
        assert_eq!(c[0].property, "addresses.zip");
        assert_eq!(
            c[0].message,
            "property `addresses.zip`: maxLength decreased from 10 to 5"
        );
    }

    #[test]
    fn cycles_terminate_and_report_once() {
        // Node { next: Node, value: string } on both sides, value narrowed.
        let build = |max: u64| {
            let mut g = SchemaGraph::default();
            let node = g.reserve();
            let value = g.add(Schema {
                max_length: Some(max),
                ..typed(JsonType::String)
            });
            g.set(
                node,
                Schema {
                    properties: vec![("next".into(), node), ("value".into(), value)],
                    ..typed(JsonType::Object)
                },
            );
            (g, node)
        };
        let ((o, a), (n, b)) = (build(10), build(5));
        let c = compare(&o, a, &n, b, Direction::Request);
        assert_eq!(
            kinds(&c),
            [(ChangeKind::MaxLengthDecreased, Severity::Error)]
        );
    }

    #[test]
    fn deep_chains_do_not_exhaust_the_stack() {
        let build = |depth: usize, leaf_max: u64| {
            let mut g = SchemaGraph::default();
            let mut id = g.add(Schema {
                max_length: Some(leaf_max),
                ..typed(JsonType::String)
            });
            for _ in 0..depth {
                id = g.add(Schema {
                    items: Some(id),
                    ..typed(JsonType::Array)
                });
            }
            (g, id)
        };
        let ((o, a), (n, b)) = (build(100_000, 10), build(100_000, 5));
        let c = compare(&o, a, &n, b, Direction::Request);
        assert_eq!(c.len(), 1);
    }

    #[test]
    fn boundaries_are_reported_not_entered() {
        // root { pet: Pet }, Pet { name: string (maxLength narrowed) }.
        let build = |max: u64| {
            let mut g = SchemaGraph::default();
            let name = g.add(Schema {
                max_length: Some(max),
                ..typed(JsonType::String)
            });
            let pet = g.add(Schema {
                name: Some("Pet".into()),
                properties: vec![("name".into(), name)],
                ..typed(JsonType::Object)
            });
            let root = g.add(Schema {
                properties: vec![("pet".into(), pet)],
                ..typed(JsonType::Object)
            });
            (g, root, pet)
        };
        let ((o, a, op), (n, b, np)) = (build(10), build(5));
        let named = |x: SchemaId, _: SchemaId| o.get(x).name.is_some();
        let c = compare_within(&o, a, &n, b, Direction::Request, &named);
        assert!(c.changes.is_empty());
        assert_eq!(c.boundaries, vec![(op, np)]);
        let inside = compare_within(&o, op, &n, np, Direction::Request, &named);
        assert_eq!(
            kinds(&inside.changes),
            [(ChangeKind::MaxLengthDecreased, Severity::Error)]
        );
    }

    #[test]
    fn an_all_of_wrapper_equals_its_member() {
        // allOf: [Pet] with nullable on the wrapper vs Pet made nullable.
        let mut o = SchemaGraph::default();
        let name = o.add(typed(JsonType::String));
        let pet = o.add(Schema {
            name: Some("Pet".into()),
            properties: vec![("name".into(), name)],
            ..typed(JsonType::Object)
        });
        let wrapper = o.add(Schema {
            all_of: vec![pet],
            types: BTreeSet::from([JsonType::Null]),
            ..Schema::default()
        });
        let mut n = SchemaGraph::default();
        let name2 = n.add(typed(JsonType::String));
        let nullable_pet = n.add(Schema {
            properties: vec![("name".into(), name2)],
            types: BTreeSet::from([JsonType::Object, JsonType::Null]),
            ..Schema::default()
        });
        assert!(compare(&o, wrapper, &n, nullable_pet, Direction::Response).is_empty());
        // A member that adds a required property is a real change.
        let extra = o.add(Schema {
            required: BTreeSet::from(["name".to_string()]),
            ..Schema::default()
        });
        let both = o.add(Schema {
            all_of: vec![pet, extra],
            ..Schema::default()
        });
        let c = compare(&o, both, &o, pet, Direction::Response);
        assert_eq!(
            kinds(&c),
            [(ChangeKind::PropertyBecameOptional, Severity::Error)]
        );
    }

    #[test]
    fn any_of_with_null_is_nullable() {
        let mut n = SchemaGraph::default();
        let s = n.add(Schema {
            max_length: Some(64),
            ..typed(JsonType::String)
        });
        let null = n.add(typed(JsonType::Null));
        let union = n.add(Schema {
            any_of: vec![s, null],
            ..Schema::default()
        });
        let mut o = SchemaGraph::default();
        let old = o.add(Schema {
            max_length: Some(64),
            ..typed(JsonType::String)
        });
        let c = compare(&o, old, &n, union, Direction::Response);
        assert_eq!(kinds(&c), [(ChangeKind::BecameNullable, Severity::Error)]);
    }

    #[test]
    fn one_of_branches_match_by_name() {
        use ChangeKind::*;
        let named = |g: &mut SchemaGraph, name: &str| {
            g.add(Schema {
                name: Some(name.into()),
                ..typed(JsonType::Object)
            })
        };
        let (mut o, mut n) = (SchemaGraph::default(), SchemaGraph::default());
        let (cat, dog) = (named(&mut o, "Cat"), named(&mut o, "Dog"));
        let (dog2, bird) = (named(&mut n, "Dog"), named(&mut n, "Bird"));
        let a = o.add(Schema {
            one_of: vec![cat, dog],
            ..Schema::default()
        });
        let b = n.add(Schema {
            one_of: vec![dog2, bird],
            ..Schema::default()
        });
        let c = compare(&o, a, &n, b, Direction::Response);
        assert_eq!(
            kinds(&c),
            [
                (OneOfRemoved, Severity::Info),
                (OneOfAdded, Severity::Error)
            ]
        );
        assert!(c[1].message.contains("Bird"));
    }

    #[test]
    fn additional_properties_and_defaults() {
        use ChangeKind::*;
        let open = typed(JsonType::Object);
        let closed = Schema {
            additional: Additional::Forbidden,
            ..open.clone()
        };
        assert_eq!(
            kinds(&both(open.clone(), closed.clone(), Direction::Request)),
            [(AdditionalPropertiesRestricted, Severity::Error)]
        );
        assert_eq!(
            kinds(&both(closed, open, Direction::Response)),
            [(AdditionalPropertiesRelaxed, Severity::Error)]
        );
        let d = |v: i64| Schema {
            default: Some(json!(v)),
            ..typed(JsonType::Integer)
        };
        assert_eq!(
            kinds(&both(d(1), d(2), Direction::Request)),
            [(DefaultChanged, Severity::Warning)]
        );
    }

    #[test]
    fn change_ids_are_unique_kebab_case() {
        let mut ids: Vec<&str> = ChangeKind::ALL.iter().map(|k| k.id()).collect();
        assert!(
            ids.iter()
                .all(|id| id.chars().all(|c| c.is_ascii_lowercase() || c == '-'))
        );
        let n = ids.len();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(n, ids.len());
    }
}
