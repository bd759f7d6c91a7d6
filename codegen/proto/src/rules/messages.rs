//! Message-level rules: deletions, oneofs, reserved and extension ranges,
//! required fields and message options.

use std::collections::BTreeSet;

use prost_types::field_descriptor_proto::Label;

use super::fields::message_pairs;
use super::{Check, Declared, Rule, child, file_no_delete, ranges, rule};
use crate::index::tag;

const CSR_FILE: &[&str] = &["CSR", "FILE"];
const CSR_FILE_PACKAGE: &[&str] = &["CSR", "FILE", "PACKAGE"];
const JSON_CATEGORIES: &[&str] = &["CSR", "FILE", "PACKAGE", "WIRE_JSON"];
const ALL: &[&str] = &["CSR", "FILE", "PACKAGE", "WIRE_JSON", "WIRE"];
/// The largest field number.
const FIELD_MAX: i64 = 536_870_911;

pub fn rules() -> Vec<Rule> {
    let mut deprecated = rule(
        "MESSAGE_SAME_MESSAGE_SET_WIRE_FORMAT",
        &[],
        "A message keeps its message_set_wire_format option (deprecated: select by id).",
        message_same_message_set_wire_format,
    );
    deprecated.info.deprecated = true;
    vec![
        rule(
            "MESSAGE_NO_DELETE",
            CSR_FILE,
            "A message may not disappear from its file.",
            message_no_delete,
        ),
        rule(
            "MESSAGE_NO_REMOVE_STANDARD_DESCRIPTOR_ACCESSOR",
            CSR_FILE_PACKAGE,
            "A message may not turn on no_standard_descriptor_accessor.",
            message_no_remove_standard_descriptor_accessor,
        ),
        rule(
            "MESSAGE_SAME_JSON_FORMAT",
            JSON_CATEGORIES,
            "A message that supported JSON keeps supporting it.",
            message_same_json_format,
        ),
        rule(
            "MESSAGE_SAME_REQUIRED_FIELDS",
            ALL,
            "A message neither gains nor loses required fields.",
            message_same_required_fields,
        ),
        deprecated,
        rule(
            "ONEOF_NO_DELETE",
            CSR_FILE_PACKAGE,
            "A oneof may not disappear from a message.",
            oneof_no_delete,
        ),
        rule(
            "RESERVED_MESSAGE_NO_DELETE",
            ALL,
            "Reserved numbers and names of a message stay reserved.",
            reserved_message_no_delete,
        ),
        rule(
            "EXTENSION_MESSAGE_NO_DELETE",
            CSR_FILE_PACKAGE,
            "Extension ranges of a message stay declared.",
            extension_message_no_delete,
        ),
    ]
}

fn message_no_delete(check: &mut Check<'_, '_>) {
    file_no_delete(check, "message", |index| {
        index
            .messages
            .values()
            .map(|m| Declared {
                full_name: m.full_name.clone(),
                file: m.file,
                path: m.path.clone(),
                parent: m.parent.clone(),
            })
            .collect()
    });
}

fn message_no_remove_standard_descriptor_accessor(check: &mut Check<'_, '_>) {
    const NO_STANDARD_DESCRIPTOR_ACCESSOR: i32 = 2;
    let mut reports = Vec::new();
    for (old, new) in message_pairs(check) {
        let flag = |m: &prost_types::DescriptorProto| {
            m.options
                .as_ref()
                .is_some_and(|o| o.no_standard_descriptor_accessor())
        };
        if !flag(old.desc) && flag(new.desc) {
            let option = child(
                &new.path,
                &[tag::MESSAGE_OPTIONS, NO_STANDARD_DESCRIPTOR_ACCESSOR],
            );
            reports.push((
                new.file,
                option,
                new.path.clone(),
                format!(
                    "message {} turned on no_standard_descriptor_accessor",
                    new.full_name
                ),
            ));
        }
    }
    for (file, a, b, msg) in reports {
        check.report_first(file, &[&a, &b], msg);
    }
}

/// Proto3 messages and enums have full JSON support; proto2 ones only best effort.
pub(crate) fn json_allowed(file: &prost_types::FileDescriptorProto) -> bool {
    super::types::is_proto3(file)
}

fn message_same_json_format(check: &mut Check<'_, '_>) {
    let mut reports = Vec::new();
    for (old, new) in message_pairs(check) {
        if json_allowed(&old.file.proto) && !json_allowed(&new.file.proto) {
            reports.push((
                new.file,
                new.path.clone(),
                format!(
                    "message {} changed JSON format from ALLOW to LEGACY_BEST_EFFORT",
                    new.full_name
                ),
            ));
        }
    }
    for (file, path, msg) in reports {
        check.report(file, &path, msg);
    }
}

fn message_same_required_fields(check: &mut Check<'_, '_>) {
    let mut reports = Vec::new();
    for (old, new) in message_pairs(check) {
        let required = |m: &prost_types::DescriptorProto| -> BTreeSet<i32> {
            m.field
                .iter()
                .filter(|f| f.label() == Label::Required)
                .map(|f| f.number())
                .collect()
        };
        let (old_req, new_req) = (required(old.desc), required(new.desc));
        for number in old_req.difference(&new_req) {
            reports.push((
                new.file,
                new.path.clone(),
                format!(
                    "message {} no longer has required field {number}",
                    new.full_name
                ),
            ));
        }
        for number in new_req.difference(&old_req) {
            let index = new
                .desc
                .field
                .iter()
                .position(|f| f.number() == *number)
                .unwrap_or(0);
            reports.push((
                new.file,
                child(&new.path, &[tag::MESSAGE_FIELD, index as i32]),
                format!("message {} gained required field {number}", new.full_name),
            ));
        }
    }
    for (file, path, msg) in reports {
        check.report(file, &path, msg);
    }
}

fn message_same_message_set_wire_format(check: &mut Check<'_, '_>) {
    let mut reports = Vec::new();
    for (old, new) in message_pairs(check) {
        let flag = |m: &prost_types::DescriptorProto| {
            m.options
                .as_ref()
                .is_some_and(|o| o.message_set_wire_format())
        };
        if flag(old.desc) != flag(new.desc) {
            reports.push((
                new.file,
                new.path.clone(),
                format!(
                    "message {} changed message_set_wire_format from {} to {}",
                    new.full_name,
                    flag(old.desc),
                    flag(new.desc)
                ),
            ));
        }
    }
    for (file, path, msg) in reports {
        check.report(file, &path, msg);
    }
}

fn oneof_no_delete(check: &mut Check<'_, '_>) {
    let mut reports = Vec::new();
    for (old, new) in message_pairs(check) {
        for (i, oneof) in old.desc.oneof_decl.iter().enumerate() {
            // Synthetic oneofs of proto3 `optional` fields are not declared by the user.
            let synthetic = old
                .desc
                .field
                .iter()
                .any(|f| f.proto3_optional() && f.oneof_index == Some(i as i32));
            if synthetic || new.desc.oneof_decl.iter().any(|o| o.name == oneof.name) {
                continue;
            }
            reports.push((
                new.file,
                new.path.clone(),
                old.file,
                child(&old.path, &[tag::MESSAGE_ONEOF, i as i32]),
                format!("oneof {}.{} was deleted", old.full_name, oneof.name()),
            ));
        }
    }
    for (nf, np, of, op, msg) in reports {
        check.report_deleted(nf, &np, of, &op, msg);
    }
}

fn reserved_message_no_delete(check: &mut Check<'_, '_>) {
    let (old_index, new_index) = (check.old, check.new);
    for (name, old) in &old_index.messages {
        let Some(new) = new_index.messages.get(name) else {
            continue;
        };
        // Descriptor ranges are half-open; compare them as inclusive ones.
        let inclusive = |m: &prost_types::DescriptorProto| -> Vec<(i64, i64)> {
            m.reserved_range
                .iter()
                .map(|r| (i64::from(r.start()), i64::from(r.end()) - 1))
                .collect()
        };
        let owner = format!("message {name}");
        let mut messages = ranges::lost(
            &inclusive(old.desc),
            &inclusive(new.desc),
            FIELD_MAX,
            "reserved range",
            &owner,
        );
        messages.extend(ranges::lost_names(
            &old.desc.reserved_name,
            &new.desc.reserved_name,
            &owner,
        ));
        for msg in messages {
            check.report(new.file, &new.path, msg);
        }
    }
}

fn extension_message_no_delete(check: &mut Check<'_, '_>) {
    let (old_index, new_index) = (check.old, check.new);
    for (name, old) in &old_index.messages {
        let Some(new) = new_index.messages.get(name) else {
            continue;
        };
        let inclusive = |m: &prost_types::DescriptorProto| -> Vec<(i64, i64)> {
            m.extension_range
                .iter()
                .map(|r| (i64::from(r.start()), i64::from(r.end()) - 1))
                .collect()
        };
        let owner = format!("message {name}");
        for msg in ranges::lost(
            &inclusive(old.desc),
            &inclusive(new.desc),
            FIELD_MAX,
            "extension range",
            &owner,
        ) {
            check.report(new.file, &new.path, msg);
        }
    }
}

pub fn extension_rules() -> Vec<Rule> {
    vec![rule(
        "EXTENSION_NO_DELETE",
        &["FILE"],
        "An extension may not disappear from its file.",
        extension_no_delete,
    )]
}

fn extension_no_delete(check: &mut Check<'_, '_>) {
    file_no_delete(check, "extension", |index| {
        index
            .extensions
            .values()
            .map(|x| Declared {
                full_name: x.full_name.clone(),
                file: x.file,
                path: x.path.clone(),
                parent: x.parent.clone(),
            })
            .collect()
    });
}

#[cfg(test)]
mod tests {
    use crate::test_support::diff_texts;

    #[test]
    fn message_set_wire_format_change_is_reported() {
        // buf 1.75 can no longer run this deprecated rule, so it has no buf fixture.
        let old = "syntax = \"proto2\";\npackage p;\nmessage Set {\n  option message_set_wire_format = true;\n  extensions 4 to max;\n}\n";
        let new = "syntax = \"proto2\";\npackage p;\nmessage Set {\n  extensions 4 to max;\n}\n";
        let findings = diff_texts(old, new, "MESSAGE_SAME_MESSAGE_SET_WIRE_FORMAT");
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].location.start.line, 3);
        assert!(findings[0].message.contains("from true to false"));
        assert!(diff_texts(old, old, "MESSAGE_SAME_MESSAGE_SET_WIRE_FORMAT").is_empty());
    }
}
