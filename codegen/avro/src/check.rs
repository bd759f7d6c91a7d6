//! Reader/writer compatibility per the Avro specification's "Schema Resolution", reporting every
//! incompatibility (not only the first) in the vocabulary of Avro's `SchemaCompatibility` and
//! Confluent's schema registry.
//!
//! The walk compares a reader type with a writer type:
//!
//! - a writer union is readable when every one of its branches is;
//! - a reader union reads a (non-union) writer type when at least one branch reads it completely
//!   (a partial match counts as incompatible, as the schema registry does);
//! - primitives match themselves and the promotions int→long/float/double, long→float/double,
//!   float→double, string↔bytes;
//! - records, enums and fixeds match by unqualified name or a reader alias (the specification's
//!   rule, which Avro's Java checker and so the registry follow: a namespace change alone does
//!   not break decoding), then by content: every reader field is found in the writer by name or
//!   by one of its aliases, or has a default; every writer symbol is a reader symbol, or the
//!   reader enum has a default; fixed sizes are equal;
//! - `decimal` logical types on both sides must agree on precision and scale; other logical
//!   types decode as their underlying type and are compared as such.
//!
//! Pairs of named types are compared once and memoised, so recursive types terminate and a type
//! reused in many places reports its problems once, at its definition. The walk recurses, but
//! never deeper than [`MAX_CHECK_DEPTH`]: past it, the pair is reported as unchecked instead of
//! risking the stack.

use std::collections::{BTreeSet, HashMap};

use crate::schema::{Decimal, Origin, Schema, TypeId, TypeKind};

/// How deep the reader/writer walk goes before it gives up on a branch (and says so). Schemas
/// that real systems use stay far below; the bound keeps the stack small on hostile input.
pub const MAX_CHECK_DEPTH: usize = 400;

/// Why a reader cannot read what a writer wrote. The ids are Confluent's / Avro's
/// `SchemaIncompatibilityType` names, plus `DECIMAL_MISMATCH` and our own `CHECK_TOO_DEEP`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum IncompatibilityKind {
    NameMismatch,
    FixedSizeMismatch,
    MissingEnumSymbols,
    ReaderFieldMissingDefaultValue,
    TypeMismatch,
    MissingUnionBranch,
    DecimalMismatch,
    CheckTooDeep,
}

impl IncompatibilityKind {
    pub const ALL: [IncompatibilityKind; 8] = [
        IncompatibilityKind::NameMismatch,
        IncompatibilityKind::FixedSizeMismatch,
        IncompatibilityKind::MissingEnumSymbols,
        IncompatibilityKind::ReaderFieldMissingDefaultValue,
        IncompatibilityKind::TypeMismatch,
        IncompatibilityKind::MissingUnionBranch,
        IncompatibilityKind::DecimalMismatch,
        IncompatibilityKind::CheckTooDeep,
    ];

    /// The stable id (`READER_FIELD_MISSING_DEFAULT_VALUE`), used as the rule id of findings.
    pub fn id(self) -> &'static str {
        match self {
            IncompatibilityKind::NameMismatch => "NAME_MISMATCH",
            IncompatibilityKind::FixedSizeMismatch => "FIXED_SIZE_MISMATCH",
            IncompatibilityKind::MissingEnumSymbols => "MISSING_ENUM_SYMBOLS",
            IncompatibilityKind::ReaderFieldMissingDefaultValue => {
                "READER_FIELD_MISSING_DEFAULT_VALUE"
            }
            IncompatibilityKind::TypeMismatch => "TYPE_MISMATCH",
            IncompatibilityKind::MissingUnionBranch => "MISSING_UNION_BRANCH",
            IncompatibilityKind::DecimalMismatch => "DECIMAL_MISMATCH",
            IncompatibilityKind::CheckTooDeep => "CHECK_TOO_DEEP",
        }
    }

    /// One line for `contractor rules`.
    pub fn purpose(self) -> &'static str {
        match self {
            IncompatibilityKind::NameMismatch => {
                "a record, enum or fixed is read under another name and no reader alias names the writer's"
            }
            IncompatibilityKind::FixedSizeMismatch => "a fixed type's size differs",
            IncompatibilityKind::MissingEnumSymbols => {
                "the writer has enum symbols the reader lacks and the reader enum has no default"
            }
            IncompatibilityKind::ReaderFieldMissingDefaultValue => {
                "a reader field is not in the writer (by name or alias) and has no default"
            }
            IncompatibilityKind::TypeMismatch => {
                "the reader's type cannot read the writer's (no equal type and no promotion)"
            }
            IncompatibilityKind::MissingUnionBranch => {
                "the reader union has no branch that reads a writer type"
            }
            IncompatibilityKind::DecimalMismatch => {
                "decimal precision or scale differs between reader and writer"
            }
            IncompatibilityKind::CheckTooDeep => {
                "the schemas nest too deeply to be compared; treated as incompatible"
            }
        }
    }
}

/// One reason a reader schema cannot read data written with a writer schema.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Incompatibility {
    pub kind: IncompatibilityKind,
    /// Where in the reader schema (file and JSON pointer): the reader's node of the pair that
    /// does not match, e.g. `/fields/3/type`, `/symbols`, `/name`.
    pub reader: Origin,
    /// Where in the writer schema: the writer's node of the same pair (for a missing reader
    /// field, the writer record that lacks it).
    pub writer: Origin,
    /// Says what does not match, naming types, fields and symbols.
    pub message: String,
}

/// Every reason `reader` cannot read data written with `writer`, sorted; empty when it can.
pub fn check(reader: &Schema, writer: &Schema) -> Vec<Incompatibility> {
    let mut walk = Walk {
        reader,
        writer,
        memo: HashMap::new(),
    };
    let found = walk.compare(reader.root(), writer.root(), 0);
    let unique: BTreeSet<Incompatibility> = found.into_iter().collect();
    unique.into_iter().collect()
}

/// A memo entry: `None` while the pair is being compared (a recursive use assumes it matches,
/// as Avro's checker does), then the pair's own incompatibilities.
type Memo = HashMap<(TypeId, TypeId), Option<Vec<Incompatibility>>>;

struct Walk<'s> {
    reader: &'s Schema,
    writer: &'s Schema,
    memo: Memo,
}

impl Walk<'_> {
    /// Compares the reader type `r` with the writer type `w` (either may be a reference).
    fn compare(&mut self, r: TypeId, w: TypeId, depth: usize) -> Vec<Incompatibility> {
        // The place of use (a reference) is where a mismatch of the pair itself is reported.
        let (r_site, w_site) = (r, w);
        let (r, w) = (self.reader.resolve(r), self.writer.resolve(w));
        let r_origin = self.reader.node(r_site).origin.clone();
        let w_origin = self.writer.node(w_site).origin.clone();
        if depth >= MAX_CHECK_DEPTH {
            return vec![Incompatibility {
                kind: IncompatibilityKind::CheckTooDeep,
                reader: r_origin,
                writer: w_origin,
                message: format!(
                    "the schemas nest more than {MAX_CHECK_DEPTH} levels deep here; not compared"
                ),
            }];
        }
        // Only pairs of the same kind recurse; a record read as an enum is a plain mismatch,
        // reported at the place of use, so it is not memoised.
        let (r_kind, w_kind) = (&self.reader.node(r).kind, &self.writer.node(w).kind);
        let named_pair = r_kind.named().is_some()
            && w_kind.named().is_some()
            && std::mem::discriminant(r_kind) == std::mem::discriminant(w_kind);
        if named_pair {
            match self.memo.get(&(r, w)) {
                Some(None) => return Vec::new(),
                Some(Some(found)) => return found.clone(),
                None => {}
            }
            self.memo.insert((r, w), None);
        }
        let found = self.compare_resolved(r, w, &r_origin, &w_origin, depth);
        if named_pair {
            self.memo.insert((r, w), Some(found.clone()));
        }
        found
    }

    fn compare_resolved(
        &mut self,
        r: TypeId,
        w: TypeId,
        r_origin: &Origin,
        w_origin: &Origin,
        depth: usize,
    ) -> Vec<Incompatibility> {
        let reader = self.reader;
        let writer = self.writer;
        let r_kind = &reader.node(r).kind;
        let w_kind = &writer.node(w).kind;
        let mismatch = |kind, reader: Origin, writer: Origin, message: String| Incompatibility {
            kind,
            reader,
            writer,
            message,
        };

        // A writer union: whatever branch was written must be readable.
        if let TypeKind::Union { branches } = w_kind {
            let mut found = Vec::new();
            for &branch in branches {
                found.extend(self.compare(r, branch, depth + 1));
            }
            return found;
        }
        // A reader union: some branch must read the writer's type completely.
        if let TypeKind::Union { branches } = r_kind {
            let mut closest: Option<Vec<Incompatibility>> = None;
            for &branch in branches {
                // A branch of another named type, or a named branch for an unnamed writer type
                // (or the reverse), cannot read it: no need to walk it.
                if !self.may_read(branch, w) {
                    continue;
                }
                let found = self.compare(branch, w, depth + 1);
                if found.is_empty() {
                    return Vec::new();
                }
                if closest.is_none() && self.same_shape(branch, w) {
                    closest = Some(found);
                }
            }
            // As the registry: the union misses a branch. When one branch is the writer's type
            // by name or kind (the one Avro's resolution picks), why it fails is listed too.
            let mut found = vec![mismatch(
                IncompatibilityKind::MissingUnionBranch,
                r_origin.clone(),
                w_origin.clone(),
                format!(
                    "the reader union has no branch that reads the writer's {}",
                    describe(writer, w)
                ),
            )];
            found.extend(closest.unwrap_or_default());
            return found;
        }

        let type_mismatch = || {
            vec![mismatch(
                IncompatibilityKind::TypeMismatch,
                r_origin.clone(),
                w_origin.clone(),
                format!(
                    "the reader's {} cannot read the writer's {}",
                    describe(reader, r),
                    describe(writer, w)
                ),
            )]
        };
        match (r_kind, w_kind) {
            (TypeKind::Null, TypeKind::Null)
            | (TypeKind::Boolean, TypeKind::Boolean)
            | (TypeKind::Int, TypeKind::Int)
            | (TypeKind::Long, TypeKind::Long | TypeKind::Int)
            | (TypeKind::Float, TypeKind::Float | TypeKind::Long | TypeKind::Int)
            | (
                TypeKind::Double,
                TypeKind::Double | TypeKind::Float | TypeKind::Long | TypeKind::Int,
            )
            | (TypeKind::String, TypeKind::String | TypeKind::Bytes { .. })
            | (TypeKind::Bytes { .. }, TypeKind::String) => Vec::new(),
            (TypeKind::Bytes { decimal: rd }, TypeKind::Bytes { decimal: wd }) => {
                decimal_check(*rd, *wd, r_origin, w_origin)
            }
            (TypeKind::Array { items: ri }, TypeKind::Array { items: wi }) => {
                self.compare(*ri, *wi, depth + 1)
            }
            (TypeKind::Map { values: rv }, TypeKind::Map { values: wv }) => {
                self.compare(*rv, *wv, depth + 1)
            }
            (TypeKind::Fixed(rf), TypeKind::Fixed(wf)) => {
                let r_def = &reader.node(r).origin;
                let w_def = &writer.node(w).origin;
                let mut found = self.name_check(r, w);
                if rf.size != wf.size {
                    found.push(mismatch(
                        IncompatibilityKind::FixedSizeMismatch,
                        r_def.child_of("size"),
                        w_def.child_of("size"),
                        format!(
                            "fixed `{}` has size {} in the reader and {} in the writer",
                            rf.named.full_name, rf.size, wf.size
                        ),
                    ));
                }
                found.extend(decimal_check(rf.decimal, wf.decimal, r_def, w_def));
                found
            }
            (TypeKind::Enum(re), TypeKind::Enum(we)) => {
                let r_def = &reader.node(r).origin;
                let w_def = &writer.node(w).origin;
                let mut found = self.name_check(r, w);
                let missing: Vec<(usize, &String)> = we
                    .symbols
                    .iter()
                    .enumerate()
                    .filter(|(_, s)| !re.symbols.contains(s))
                    .collect();
                if let Some(&(first, _)) = missing.first()
                    && re.default.is_none()
                {
                    let names: Vec<&str> = missing.iter().map(|(_, s)| s.as_str()).collect();
                    found.push(mismatch(
                        IncompatibilityKind::MissingEnumSymbols,
                        r_def.child_of("symbols"),
                        w_def.join(&["symbols", &first.to_string()]),
                        format!(
                            "enum `{}`: the reader lacks the writer's symbol{} {} and has no default",
                            re.named.full_name,
                            if names.len() == 1 { "" } else { "s" },
                            names.join(", ")
                        ),
                    ));
                }
                found
            }
            (TypeKind::Record(rr), TypeKind::Record(wr)) => {
                let w_def = &writer.node(w).origin;
                let mut found = self.name_check(r, w);
                for field in &rr.fields {
                    let writer_field =
                        wr.fields.iter().find(|f| f.name == field.name).or_else(|| {
                            field
                                .aliases
                                .iter()
                                .find_map(|a| wr.fields.iter().find(|f| &f.name == a))
                        });
                    match writer_field {
                        Some(wf) => {
                            found.extend(self.compare(field.type_id, wf.type_id, depth + 1));
                        }
                        None if field.has_default => {}
                        None => found.push(mismatch(
                            IncompatibilityKind::ReaderFieldMissingDefaultValue,
                            field.origin.clone(),
                            w_def.clone(),
                            format!(
                                "record `{}`: the reader's field `{}` is not in the writer and has no default",
                                rr.named.full_name, field.name
                            ),
                        )),
                    }
                }
                found
            }
            _ => type_mismatch(),
        }
    }

    /// False when `r` certainly cannot read `w` for naming reasons alone: exactly one of them is
    /// named, or both are named types of different kinds or names (without a reader alias).
    fn may_read(&self, r: TypeId, w: TypeId) -> bool {
        let r = self.reader.resolve(r);
        let w = self.writer.resolve(w);
        let (rk, wk) = (&self.reader.node(r).kind, &self.writer.node(w).kind);
        match (rk.named(), wk.named()) {
            (Some(_), Some(_)) => {
                std::mem::discriminant(rk) == std::mem::discriminant(wk) && self.names_match(r, w)
            }
            (None, None) => true,
            _ => false,
        }
    }

    /// Whether a reader branch is the kind of type the writer wrote: the same named type (by
    /// name or alias), or the same unnamed kind (array, map, a primitive or a promotion of it).
    fn same_shape(&self, r: TypeId, w: TypeId) -> bool {
        let r = self.reader.resolve(r);
        let w = self.writer.resolve(w);
        let (rk, wk) = (&self.reader.node(r).kind, &self.writer.node(w).kind);
        match (rk.named(), wk.named()) {
            (Some(_), Some(_)) => {
                std::mem::discriminant(rk) == std::mem::discriminant(wk) && self.names_match(r, w)
            }
            (None, None) => std::mem::discriminant(rk) == std::mem::discriminant(wk),
            _ => false,
        }
    }

    /// Whether the reader's named type reads the writer's by name: equal unqualified names, or a
    /// reader alias that is the writer's full name. True when either is unnamed.
    fn names_match(&self, r: TypeId, w: TypeId) -> bool {
        match (
            self.reader.node(r).kind.named(),
            self.writer.node(w).kind.named(),
        ) {
            (Some(rn), Some(wn)) => rn.name == wn.name || rn.aliases.contains(&wn.full_name),
            _ => true,
        }
    }

    /// NAME_MISMATCH unless [`Walk::names_match`].
    fn name_check(&self, r: TypeId, w: TypeId) -> Vec<Incompatibility> {
        let (Some(rn), Some(wn)) = (
            self.reader.node(r).kind.named(),
            self.writer.node(w).kind.named(),
        ) else {
            return Vec::new();
        };
        if self.names_match(r, w) {
            return Vec::new();
        }
        vec![Incompatibility {
            kind: IncompatibilityKind::NameMismatch,
            reader: self.reader.node(r).origin.child_of("name"),
            writer: self.writer.node(w).origin.child_of("name"),
            message: format!(
                "the reader's {} `{}` does not match the writer's `{}` (and has no alias for it)",
                self.reader.node(r).kind.word(),
                rn.full_name,
                wn.full_name
            ),
        }]
    }
}

fn decimal_check(
    reader: Option<Decimal>,
    writer: Option<Decimal>,
    r_origin: &Origin,
    w_origin: &Origin,
) -> Vec<Incompatibility> {
    match (reader, writer) {
        (Some(r), Some(w)) if r != w => vec![Incompatibility {
            kind: IncompatibilityKind::DecimalMismatch,
            reader: r_origin.clone(),
            writer: w_origin.clone(),
            message: format!(
                "decimal({}, {}) in the reader, decimal({}, {}) in the writer",
                r.precision, r.scale, w.precision, w.scale
            ),
        }],
        _ => Vec::new(),
    }
}

/// `int`, `record com.acme.Address`, `union`… for messages.
fn describe(schema: &Schema, id: TypeId) -> String {
    let kind = &schema.node(schema.resolve(id)).kind;
    match kind {
        TypeKind::Bytes { decimal: Some(d) } => {
            format!("bytes (decimal({}, {}))", d.precision, d.scale)
        }
        _ => match kind.named() {
            Some(named) => format!("{} `{}`", kind.word(), named.full_name),
            None => kind.word().to_string(),
        },
    }
}

impl Origin {
    fn child_of(&self, token: &str) -> Origin {
        self.join(&[token])
    }
}
