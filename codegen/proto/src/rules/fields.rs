//! Field rules: fields are matched by number inside messages matched by full
//! name; extensions by (extendee, number).

use std::collections::BTreeSet;

use prost_types::field_descriptor_proto::Type;
use prost_types::{DescriptorProto, FieldDescriptorProto, FileDescriptorProto};

use super::types::{
    self, Cardinality, DefaultValue, cardinality, effective_default, is_proto3, kind_name,
};
use super::{Check, Rule, child, rule};
use crate::index::{Index, MessageEntry, tag};
use crate::load::ModuleFile;
use contractor_core::Severity;

const ALL: &[&str] = &["CSR", "FILE", "PACKAGE", "WIRE_JSON", "WIRE"];
const FILE_PACKAGE: &[&str] = &["FILE", "PACKAGE"];
const CSR_FILE_PACKAGE: &[&str] = &["CSR", "FILE", "PACKAGE"];
const JSON_CATEGORIES: &[&str] = &["CSR", "FILE", "PACKAGE", "WIRE_JSON"];

pub fn rules() -> Vec<Rule> {
    vec![
        rule(
            "FIELD_NO_DELETE",
            CSR_FILE_PACKAGE,
            "A field (by number) may not disappear from a message.",
            field_no_delete,
        ),
        rule(
            "FIELD_NO_DELETE_UNLESS_NAME_RESERVED",
            &["CSR", "WIRE_JSON"],
            "A field may disappear only if its name is reserved, so the JSON key is never reused.",
            field_no_delete_unless_name_reserved,
        ),
        rule(
            "FIELD_NO_DELETE_UNLESS_NUMBER_RESERVED",
            &["CSR", "WIRE_JSON", "WIRE"],
            "A field may disappear only if its number is reserved, so the wire tag is never reused.",
            field_no_delete_unless_number_reserved,
        ),
        rule(
            "FIELD_SAME_CARDINALITY",
            FILE_PACKAGE,
            "A field keeps its cardinality (optional, required, repeated, map) and presence.",
            field_same_cardinality,
        ),
        rule(
            "FIELD_SAME_CPP_STRING_TYPE",
            FILE_PACKAGE,
            "A string or bytes field keeps its C++ representation (the ctype option).",
            field_same_cpp_string_type,
        ),
        rule(
            "FIELD_SAME_DEFAULT",
            ALL,
            "A singular scalar field keeps the value readers see when it is absent.",
            field_same_default,
        ),
        rule(
            "FIELD_SAME_JAVA_UTF8_VALIDATION",
            FILE_PACKAGE,
            "A string field keeps its Java UTF-8 validation (java_string_check_utf8).",
            field_same_java_utf8_validation,
        ),
        rule(
            "FIELD_SAME_JSON_NAME",
            JSON_CATEGORIES,
            "A field keeps its JSON name.",
            field_same_json_name,
        ),
        rule(
            "FIELD_SAME_JSTYPE",
            FILE_PACKAGE,
            "A 64-bit integer field keeps its jstype option.",
            field_same_jstype,
        ),
        rule(
            "FIELD_SAME_NAME",
            JSON_CATEGORIES,
            "A field number keeps its name.",
            field_same_name,
        ),
        rule(
            "FIELD_SAME_ONEOF",
            ALL,
            "A field stays in (or out of) the same oneof.",
            field_same_oneof,
        ),
        rule(
            "FIELD_SAME_TYPE",
            CSR_FILE_PACKAGE,
            "A field keeps its type (kind, and message or enum name).",
            field_same_type,
        ),
        rule(
            "FIELD_SAME_UTF8_VALIDATION",
            FILE_PACKAGE,
            "A string field keeps its UTF-8 validation mode.",
            field_same_utf8_validation,
        ),
        rule(
            "FIELD_WIRE_COMPATIBLE_CARDINALITY",
            &["WIRE"],
            "A field's cardinality only changes in ways the binary encoding tolerates.",
            field_wire_compatible_cardinality,
        ),
        rule(
            "FIELD_WIRE_COMPATIBLE_TYPE",
            &["WIRE"],
            "A field's type only changes in ways the binary encoding tolerates.",
            field_wire_compatible_type,
        ),
        rule(
            "FIELD_WIRE_JSON_COMPATIBLE_CARDINALITY",
            &["CSR", "WIRE_JSON"],
            "A field's cardinality only changes in ways both the binary and JSON encodings tolerate.",
            field_wire_json_compatible_cardinality,
        ),
        rule(
            "FIELD_WIRE_JSON_COMPATIBLE_TYPE",
            &["CSR", "WIRE_JSON"],
            "A field's type only changes in ways both the binary and JSON encodings tolerate.",
            field_wire_json_compatible_type,
        ),
    ]
}

/// One field present on both sides.
pub(crate) struct FieldPair<'m> {
    pub old_file: &'m ModuleFile,
    pub old: &'m FieldDescriptorProto,
    pub new_file: &'m ModuleFile,
    pub new_path: Vec<i32>,
    pub new: &'m FieldDescriptorProto,
    /// `Message.field` for message fields, the extension's full name for extensions.
    pub label: String,
    pub is_extension: bool,
    /// Both sides are synthetic map-entry messages.
    pub in_map_entry: bool,
    /// Synthetic map-entry fields have no source of their own: they point at
    /// the `map<K, V>` type of the map field.
    pub fallback: Vec<i32>,
}

impl FieldPair<'_> {
    fn describe(&self) -> String {
        if self.is_extension {
            format!("extension {} ({})", self.label, self.new.number())
        } else {
            format!("field {} ({})", self.label, self.new.number())
        }
    }
}

/// For a map-entry message, the path of its map field's type (`map<K, V>`).
fn map_field_type_path(index: &Index<'_>, entry: &MessageEntry<'_>) -> Option<Vec<i32>> {
    if !is_map_entry(entry.desc) {
        return None;
    }
    let parent = index.messages.get(entry.parent.as_deref()?)?;
    let type_name = format!(".{}", entry.full_name);
    let i = parent
        .desc
        .field
        .iter()
        .position(|f| f.type_name() == type_name)?;
    Some(child(
        &parent.path,
        &[tag::MESSAGE_FIELD, i as i32, tag::FIELD_TYPE_NAME],
    ))
}

fn is_map_entry(m: &DescriptorProto) -> bool {
    m.options.as_ref().is_some_and(|o| o.map_entry())
}

/// Messages present on both sides, by full name.
pub(crate) fn message_pairs<'c, 'm>(
    check: &'c Check<'_, 'm>,
) -> impl Iterator<Item = (&'c MessageEntry<'m>, &'c MessageEntry<'m>)> {
    check
        .old
        .messages
        .iter()
        .filter_map(|(name, old)| check.new.messages.get(name).map(|new| (old, new)))
}

pub(crate) fn field_pairs<'m>(check: &Check<'_, 'm>, with_extensions: bool) -> Vec<FieldPair<'m>> {
    let mut pairs = Vec::new();
    for (old_msg, new_msg) in message_pairs(check) {
        for old in &old_msg.desc.field {
            let Some((ni, new)) = new_msg
                .desc
                .field
                .iter()
                .enumerate()
                .find(|(_, f)| f.number == old.number)
            else {
                continue;
            };
            pairs.push(FieldPair {
                old_file: old_msg.file,
                old,
                new_file: new_msg.file,
                new_path: child(&new_msg.path, &[tag::MESSAGE_FIELD, ni as i32]),
                new,
                label: format!("{}.{}", new_msg.full_name, new.name()),
                is_extension: false,
                in_map_entry: is_map_entry(old_msg.desc) && is_map_entry(new_msg.desc),
                fallback: map_field_type_path(check.new, new_msg).unwrap_or_default(),
            });
        }
    }
    if with_extensions {
        for old in check.old.extensions.values() {
            let found = check.new.extensions.values().find(|n| {
                n.desc.number == old.desc.number && n.desc.extendee() == old.desc.extendee()
            });
            if let Some(new) = found {
                pairs.push(FieldPair {
                    old_file: old.file,
                    old: old.desc,
                    new_file: new.file,
                    new_path: new.path.clone(),
                    new: new.desc,
                    label: new.full_name.clone(),
                    is_extension: true,
                    in_map_entry: false,
                    fallback: Vec::new(),
                });
            }
        }
    }
    pairs
}

/// Old fields whose number is gone from the same message in new.
fn deleted_fields(
    check: &mut Check<'_, '_>,
    allowed: impl Fn(&FieldDescriptorProto, &DescriptorProto) -> bool,
    why: &str,
) {
    let mut deletions = Vec::new();
    for (old_msg, new_msg) in message_pairs(check) {
        for (oi, old) in old_msg.desc.field.iter().enumerate() {
            if new_msg.desc.field.iter().any(|f| f.number == old.number)
                || allowed(old, new_msg.desc)
            {
                continue;
            }
            deletions.push((
                new_msg.file,
                new_msg.path.clone(),
                old_msg.file,
                child(&old_msg.path, &[tag::MESSAGE_FIELD, oi as i32]),
                format!(
                    "field {}.{} ({}) was deleted{why}",
                    old_msg.full_name,
                    old.name(),
                    old.number()
                ),
            ));
        }
    }
    for (nf, np, of, op, msg) in deletions {
        check.report_deleted(nf, &np, of, &op, msg);
    }
}

fn field_no_delete(check: &mut Check<'_, '_>) {
    deleted_fields(check, |_, _| false, "");
}

fn field_no_delete_unless_name_reserved(check: &mut Check<'_, '_>) {
    deleted_fields(
        check,
        |old, msg| msg.reserved_name.iter().any(|n| n == old.name()),
        " without reserving its name",
    );
}

fn field_no_delete_unless_number_reserved(check: &mut Check<'_, '_>) {
    deleted_fields(
        check,
        |old, msg| {
            msg.reserved_range
                .iter()
                .any(|r| (r.start()..r.end()).contains(&old.number()))
        },
        " without reserving its number",
    );
}

fn file_of<'m>(index: &Index<'m>, file: &ModuleFile) -> &'m FileDescriptorProto {
    index
        .module
        .all_files
        .get(&file.name)
        .unwrap_or(&index.module.files[0].proto)
}

fn cardinality_rule(check: &mut Check<'_, '_>, group: Option<fn(Cardinality) -> u8>) {
    for pair in field_pairs(check, true) {
        if pair.in_map_entry {
            continue;
        }
        let old = cardinality(check.old, &pair.old_file.proto, pair.old);
        let new = cardinality(check.new, &pair.new_file.proto, pair.new);
        let differs = match group {
            None => old != new,
            Some(g) => g(old) != g(new),
        };
        if differs {
            let msg = format!(
                "{} changed cardinality from \"{}\" to \"{}\"",
                pair.describe(),
                old.describe(),
                new.describe()
            );
            check.report(pair.new_file, &pair.new_path, msg);
        }
    }
}

fn field_same_cardinality(check: &mut Check<'_, '_>) {
    cardinality_rule(check, None);
}

fn field_wire_compatible_cardinality(check: &mut Check<'_, '_>) {
    cardinality_rule(check, Some(Cardinality::wire_group));
}

fn field_wire_json_compatible_cardinality(check: &mut Check<'_, '_>) {
    cardinality_rule(check, Some(Cardinality::wire_json_group));
}

/// Where a field's type is written: the type name for message/enum/group
/// fields, the scalar keyword otherwise, the whole field as a last resort.
fn type_paths(field_path: &[i32], field: &FieldDescriptorProto) -> [Vec<i32>; 3] {
    let first = if field.type_name.is_some() {
        tag::FIELD_TYPE_NAME
    } else {
        tag::FIELD_TYPE
    };
    let second = if first == tag::FIELD_TYPE {
        tag::FIELD_TYPE_NAME
    } else {
        tag::FIELD_TYPE
    };
    [
        child(field_path, &[first]),
        child(field_path, &[second]),
        field_path.to_vec(),
    ]
}

fn report_at_type(check: &mut Check<'_, '_>, pair: &FieldPair<'_>, message: String) {
    let [a, b, c] = type_paths(&pair.new_path, pair.new);
    check.report_first(pair.new_file, &[&a, &b, &c, &pair.fallback], message);
}

fn type_display(field: &FieldDescriptorProto) -> String {
    match field.r#type() {
        Type::Message | Type::Enum | Type::Group if field.type_name.is_some() => {
            field.type_name().trim_start_matches('.').to_string()
        }
        t => kind_name(t).to_string(),
    }
}

fn field_same_type(check: &mut Check<'_, '_>) {
    for pair in field_pairs(check, true) {
        let (old_t, new_t) = (pair.old.r#type(), pair.new.r#type());
        let changed = old_t != new_t
            || (old_t_has_name(old_t) && pair.old.type_name() != pair.new.type_name());
        if changed {
            let (from, to) = if old_t != new_t {
                (kind_name(old_t).to_string(), kind_name(new_t).to_string())
            } else {
                (type_display(pair.old), type_display(pair.new))
            };
            let msg = format!(
                "{} changed type from \"{from}\" to \"{to}\"",
                pair.describe()
            );
            report_at_type(check, &pair, msg);
        }
    }
}

fn old_t_has_name(t: Type) -> bool {
    matches!(t, Type::Message | Type::Enum | Type::Group)
}

/// Wire (and with `json`, JSON) compatibility of two field types.
fn types_compatible(
    check: &Check<'_, '_>,
    old: &FieldDescriptorProto,
    new: &FieldDescriptorProto,
    json: bool,
) -> Result<(), String> {
    let (ot, nt) = (old.r#type(), new.r#type());
    let group = if json {
        types::wire_json_group
    } else {
        types::wire_group
    };
    if group(ot) != group(nt) {
        // A string is valid bytes; bytes need not be valid UTF-8.
        if !json && ot == Type::String && nt == Type::Bytes {
            return Ok(());
        }
        let mut msg = format!(
            "changed type from \"{}\" to \"{}\"",
            kind_name(ot),
            kind_name(nt)
        );
        if ot == Type::Bytes && nt == Type::String {
            msg.push_str(" (old bytes values need not be valid UTF-8)");
        }
        return Err(msg);
    }
    if old.type_name() == new.type_name() {
        return Ok(());
    }
    match ot {
        Type::Enum => {
            if enums_compatible(check, old.type_name(), new.type_name()) {
                Ok(())
            } else {
                Err(format!(
                    "changed enum type from \"{}\" to \"{}\"",
                    type_display(old),
                    type_display(new)
                ))
            }
        }
        Type::Message | Type::Group => {
            if messages_compatible(check, old.type_name(), new.type_name(), json) {
                Ok(())
            } else {
                Err(format!(
                    "changed message type from \"{}\" to \"{}\"",
                    type_display(old),
                    type_display(new)
                ))
            }
        }
        _ => Ok(()),
    }
}

/// An enum may be replaced by another of the same short name whose values
/// (name and number) include all the old ones: both encodings are unchanged.
fn enums_compatible(check: &Check<'_, '_>, old: &str, new: &str) -> bool {
    let short = |n: &str| n.rsplit('.').next().unwrap_or(n).to_string();
    if short(old) != short(new) {
        return false;
    }
    match (check.old.type_of(old), check.new.type_of(new)) {
        (Some(crate::index::TypeDesc::Enum(o, _)), Some(crate::index::TypeDesc::Enum(n, _))) => {
            o.value.iter().all(|ov| {
                n.value
                    .iter()
                    .any(|nv| nv.name == ov.name && nv.number == ov.number)
            })
        }
        _ => false,
    }
}

/// A message renamed or moved keeps its encoding when its fields are the same
/// numbers with compatible types and cardinalities (and, for JSON, the same
/// JSON names): names of messages do not travel on the wire. Nested message
/// fields are compared the same way through a worklist (no recursion, so a
/// long chain of messages cannot exhaust the stack); a pair already compared
/// or queued counts as compatible, which makes cycles terminate.
fn messages_compatible(check: &Check<'_, '_>, old: &str, new: &str, json: bool) -> bool {
    use crate::index::TypeDesc;
    let mut seen = BTreeSet::new();
    let mut pending = vec![(old.to_string(), new.to_string())];
    while let Some((old, new)) = pending.pop() {
        if !seen.insert((old.clone(), new.clone())) {
            continue;
        }
        let (Some(TypeDesc::Message(o, of)), Some(TypeDesc::Message(n, nf))) =
            (check.old.type_of(&old), check.new.type_of(&new))
        else {
            return false;
        };
        if o.field.len() != n.field.len() {
            return false;
        }
        for ofld in &o.field {
            let Some(nfld) = n.field.iter().find(|f| f.number == ofld.number) else {
                return false;
            };
            let (oc, nc) = (
                cardinality(check.old, of, ofld),
                cardinality(check.new, nf, nfld),
            );
            let cardinality_ok = if json {
                oc.wire_json_group() == nc.wire_json_group()
            } else {
                oc.wire_group() == nc.wire_group()
            };
            if !cardinality_ok || (json && ofld.json_name() != nfld.json_name()) {
                return false;
            }
            let nested = matches!(ofld.r#type(), Type::Message | Type::Group)
                && ofld.type_name() != nfld.type_name();
            if nested {
                if ofld.r#type() != nfld.r#type() {
                    return false;
                }
                pending.push((ofld.type_name().to_string(), nfld.type_name().to_string()));
            } else if types_compatible(check, ofld, nfld, json).is_err() {
                return false;
            }
        }
    }
    true
}

fn wire_type_rule(check: &mut Check<'_, '_>, json: bool) {
    let encoding = if json {
        "binary and JSON encodings"
    } else {
        "binary encoding"
    };
    for pair in field_pairs(check, true) {
        match types_compatible(check, pair.old, pair.new, json) {
            Err(why) => {
                let msg = format!("{} {why}, which breaks the {encoding}", pair.describe());
                report_at_type(check, &pair, msg);
            }
            // buf calls any message rename a break; the encodings carry no
            // message names, so contractor says what changed without failing.
            Ok(()) if is_message(pair.old) && pair.old.type_name() != pair.new.type_name() => {
                let msg = format!(
                    "{} changed message type from \"{}\" to \"{}\"; both have the same fields, so the {encoding} do not change",
                    pair.describe(),
                    type_display(pair.old),
                    type_display(pair.new)
                );
                let msg = if json {
                    msg
                } else {
                    msg.replace("do not", "does not")
                };
                check.with_severity(Severity::Info, |check| report_at_type(check, &pair, msg));
            }
            Ok(()) => {}
        }
    }
}

fn is_message(field: &FieldDescriptorProto) -> bool {
    matches!(field.r#type(), Type::Message | Type::Group)
}

fn field_wire_compatible_type(check: &mut Check<'_, '_>) {
    wire_type_rule(check, false);
}

fn field_wire_json_compatible_type(check: &mut Check<'_, '_>) {
    wire_type_rule(check, true);
}

fn field_same_name(check: &mut Check<'_, '_>) {
    let mut reports = Vec::new();
    for pair in field_pairs(check, true) {
        let (old, new) = if pair.is_extension {
            let old_name = check
                .old
                .extensions
                .values()
                .find(|e| std::ptr::eq(e.desc, pair.old))
                .map(|e| e.full_name.clone());
            let new_name = check
                .new
                .extensions
                .values()
                .find(|e| std::ptr::eq(e.desc, pair.new))
                .map(|e| e.full_name.clone());
            (old_name.unwrap_or_default(), new_name.unwrap_or_default())
        } else {
            (pair.old.name().to_string(), pair.new.name().to_string())
        };
        if old != new {
            let what = if pair.is_extension {
                "extension"
            } else {
                "field"
            };
            let owner = pair.label.rsplit_once('.').map(|(m, _)| m).unwrap_or("");
            let msg = if pair.is_extension {
                format!(
                    "{what} {} of {} changed name from \"{old}\" to \"{new}\"",
                    pair.new.number(),
                    pair.new.extendee().trim_start_matches('.')
                )
            } else {
                format!(
                    "{what} {} of {owner} changed name from \"{old}\" to \"{new}\"",
                    pair.new.number()
                )
            };
            reports.push((
                pair.new_file,
                child(&pair.new_path, &[tag::FIELD_NAME]),
                msg,
            ));
        }
    }
    for (file, path, msg) in reports {
        check.report(file, &path, msg);
    }
}

/// protoc's default JSON name: lowerCamelCase of the field name.
fn default_json_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = false;
    for c in name.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

fn json_name(field: &FieldDescriptorProto) -> String {
    field
        .json_name
        .clone()
        .unwrap_or_else(|| default_json_name(field.name()))
}

fn field_same_json_name(check: &mut Check<'_, '_>) {
    for pair in field_pairs(check, false) {
        let (old, new) = (json_name(pair.old), json_name(pair.new));
        if old != new {
            let msg = format!(
                "{} changed JSON name from \"{old}\" to \"{new}\"",
                pair.describe()
            );
            let json_path = child(&pair.new_path, &[tag::FIELD_JSON_NAME]);
            check.report_first(pair.new_file, &[&json_path, &pair.new_path], msg);
        }
    }
}

fn field_same_oneof(check: &mut Check<'_, '_>) {
    let mut reports = Vec::new();
    for (old_msg, new_msg) in message_pairs(check) {
        let oneof_of = |msg: &DescriptorProto, f: &FieldDescriptorProto| -> Option<String> {
            if f.proto3_optional() {
                return None;
            }
            f.oneof_index
                .and_then(|i| msg.oneof_decl.get(i as usize))
                .map(|o| o.name().to_string())
        };
        for old in &old_msg.desc.field {
            let Some((ni, new)) = new_msg
                .desc
                .field
                .iter()
                .enumerate()
                .find(|(_, f)| f.number == old.number)
            else {
                continue;
            };
            let (o, n) = (oneof_of(old_msg.desc, old), oneof_of(new_msg.desc, new));
            if o != n {
                let describe = |x: &Option<String>| {
                    x.as_ref()
                        .map(|s| format!("oneof \"{s}\""))
                        .unwrap_or_else(|| "no oneof".into())
                };
                reports.push((
                    new_msg.file,
                    child(&new_msg.path, &[tag::MESSAGE_FIELD, ni as i32]),
                    format!(
                        "field {}.{} ({}) moved from {} to {}",
                        new_msg.full_name,
                        new.name(),
                        new.number(),
                        describe(&o),
                        describe(&n)
                    ),
                ));
            }
        }
    }
    for (file, path, msg) in reports {
        check.report(file, &path, msg);
    }
}

fn numbers_equal(a: &DefaultValue, b: &DefaultValue, float32: bool) -> bool {
    match (a, b) {
        (DefaultValue::Number(Some(x)), DefaultValue::Number(Some(y))) => {
            if float32 {
                (*x as f32) == (*y as f32) || (x.is_nan() && y.is_nan())
            } else {
                x == y || (x.is_nan() && y.is_nan())
            }
        }
        _ => a == b,
    }
}

fn field_same_default(check: &mut Check<'_, '_>) {
    let mut reports = Vec::new();
    for pair in field_pairs(check, true) {
        let scalar = |f: &FieldDescriptorProto| {
            f.label() != prost_types::field_descriptor_proto::Label::Repeated
                && !matches!(f.r#type(), Type::Message | Type::Group)
        };
        if !scalar(pair.old) || !scalar(pair.new) {
            continue;
        }
        // Proto3 has no custom defaults and its enums open with the zero value.
        if is_proto3(file_of(check.old, pair.old_file))
            && is_proto3(file_of(check.new, pair.new_file))
        {
            continue;
        }
        let old = effective_default(check.old, pair.old);
        let new = effective_default(check.new, pair.new);
        if old.is_zero() && new.is_zero() {
            continue;
        }
        let float32 = pair.old.r#type() == Type::Float || pair.new.r#type() == Type::Float;
        if !numbers_equal(&old, &new, float32) {
            let default_path = child(&pair.new_path, &[tag::FIELD_DEFAULT]);
            reports.push((
                pair.new_file,
                default_path,
                pair.new_path.clone(),
                format!(
                    "{} changed its default from {} to {}",
                    pair.describe(),
                    old.display(),
                    new.display()
                ),
            ));
        }
    }
    for (file, default_path, field_path, msg) in reports {
        match option_span(file, &default_path, "default") {
            Some(location) => check.report_at(file, location, msg),
            None => check.report_first(file, &[&field_path], msg),
        }
    }
}

/// Source info spans only the value of `[default = X]` and `[json_name = X]`;
/// findings point at the whole `name = value`.
fn option_span(file: &ModuleFile, path: &[i32], name: &str) -> Option<contractor_core::Location> {
    let (start, end) = file.span(path)?;
    let line = file.text.line(start.line)?;
    let before: String = line.chars().take(start.column as usize - 1).collect();
    let at = before.rfind(name)?;
    let column = before[..at].chars().count() as u32 + 1;
    Some(contractor_core::Location::new(
        &file.display,
        contractor_core::Position::new(start.line, column),
        end,
    ))
}

/// A field option: `[name = value]` path under the field's options.
fn option_path(field_path: &[i32], option: i32) -> Vec<i32> {
    child(field_path, &[tag::FIELD_OPTIONS, option])
}

fn field_same_cpp_string_type(check: &mut Check<'_, '_>) {
    use prost_types::field_options::CType;
    const CTYPE: i32 = 1;
    field_option_rule(
        check,
        FieldOption {
            applies: |f| matches!(f.r#type(), Type::String | Type::Bytes),
            value: |f| {
                f.options
                    .as_ref()
                    .map(|o| o.ctype())
                    .unwrap_or(CType::String)
                    .as_str_name()
            },
            // A string piece may become a plain string: both read the same bytes.
            allowed: |old, new| old == "STRING_PIECE" && new == "STRING",
            option: CTYPE,
            what: "C++ string type",
        },
    );
}

fn field_same_jstype(check: &mut Check<'_, '_>) {
    use prost_types::field_options::JsType;
    const JSTYPE: i32 = 6;
    field_option_rule(
        check,
        FieldOption {
            applies: |f| {
                matches!(
                    f.r#type(),
                    Type::Int64 | Type::Uint64 | Type::Sint64 | Type::Fixed64 | Type::Sfixed64
                )
            },
            value: |f| {
                f.options
                    .as_ref()
                    .map(|o| o.jstype())
                    .unwrap_or(JsType::JsNormal)
                    .as_str_name()
            },
            allowed: |_, _| false,
            option: JSTYPE,
            what: "jstype",
        },
    );
}

/// A field option compared by a FIELD_SAME_* rule.
struct FieldOption {
    /// Whether the rule looks at a field of this type (both sides must qualify).
    applies: fn(&FieldDescriptorProto) -> bool,
    /// The effective value, defaults applied.
    value: fn(&FieldDescriptorProto) -> &'static str,
    /// Changes that are safe although the value differs.
    allowed: fn(&str, &str) -> bool,
    /// The option's number in `FieldOptions`, to point at it.
    option: i32,
    what: &'static str,
}

/// Reports fields whose option value changed, at the option in the new field
/// (or the field itself when the option is not written there).
fn field_option_rule(check: &mut Check<'_, '_>, rule: FieldOption) {
    for pair in field_pairs(check, true) {
        if !(rule.applies)(pair.old) || !(rule.applies)(pair.new) {
            continue;
        }
        let (old, new) = ((rule.value)(pair.old), (rule.value)(pair.new));
        if old != new && !(rule.allowed)(old, new) {
            let msg = format!(
                "{} changed {} from {old} to {new}",
                pair.describe(),
                rule.what
            );
            let option = option_path(&pair.new_path, rule.option);
            check.report_first(pair.new_file, &[&option, &pair.new_path], msg);
        }
    }
}

fn utf8_validated(file: &FileDescriptorProto) -> bool {
    is_proto3(file)
}

fn field_same_utf8_validation(check: &mut Check<'_, '_>) {
    for pair in field_pairs(check, true) {
        if pair.old.r#type() != Type::String || pair.new.r#type() != Type::String {
            continue;
        }
        let old = utf8_validated(file_of(check.old, pair.old_file));
        let new = utf8_validated(file_of(check.new, pair.new_file));
        if old != new {
            let msg = format!(
                "{} changed UTF-8 validation from {} to {}",
                pair.describe(),
                utf8_mode(old),
                utf8_mode(new)
            );
            check.report_first(pair.new_file, &[&pair.new_path, &pair.fallback], msg);
        }
    }
}

fn utf8_mode(verify: bool) -> &'static str {
    if verify { "VERIFY" } else { "NONE" }
}

fn java_utf8(file: &FileDescriptorProto) -> bool {
    file.options
        .as_ref()
        .is_some_and(|o| o.java_string_check_utf8())
        || is_proto3(file)
}

fn field_same_java_utf8_validation(check: &mut Check<'_, '_>) {
    const JAVA_STRING_CHECK_UTF8: i32 = 27;
    let option = [tag::FILE_OPTIONS, JAVA_STRING_CHECK_UTF8];
    for pair in field_pairs(check, true) {
        if pair.old.r#type() != Type::String || pair.new.r#type() != Type::String {
            continue;
        }
        let old = java_utf8(file_of(check.old, pair.old_file));
        let new = java_utf8(file_of(check.new, pair.new_file));
        if old != new {
            let msg = format!(
                "{} changed Java UTF-8 validation from {} to {}",
                pair.describe(),
                utf8_mode(old),
                utf8_mode(new)
            );
            // The file option is what changed, when the new file sets it.
            check.report_first(
                pair.new_file,
                &[&option, &pair.new_path, &pair.fallback],
                msg,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_json_names_are_lower_camel_case() {
        assert_eq!(default_json_name("user_name"), "userName");
        assert_eq!(default_json_name("a_b_c"), "aBC");
        assert_eq!(default_json_name("plain"), "plain");
    }
}
