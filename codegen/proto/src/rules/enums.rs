//! Enum rules: enums are matched by full name, values by number.

use std::collections::BTreeMap;

use prost_types::EnumDescriptorProto;

use super::messages::json_allowed;
use super::{Check, Declared, Rule, child, file_no_delete, ranges, rule};
use crate::index::{EnumEntry, tag};

const ALL: &[&str] = &["CSR", "FILE", "PACKAGE", "WIRE_JSON", "WIRE"];
const JSON_CATEGORIES: &[&str] = &["CSR", "FILE", "PACKAGE", "WIRE_JSON"];
const ENUM_MAX: i64 = i32::MAX as i64;

pub fn rules() -> Vec<Rule> {
    vec![
        rule(
            "ENUM_NO_DELETE",
            &["CSR", "FILE"],
            "An enum may not disappear from its file.",
            enum_no_delete,
        ),
        rule(
            "ENUM_SAME_JSON_FORMAT",
            JSON_CATEGORIES,
            "An enum that supported JSON keeps supporting it.",
            enum_same_json_format,
        ),
        rule(
            "ENUM_SAME_TYPE",
            &["FILE", "PACKAGE"],
            "An enum stays open or stays closed.",
            enum_same_type,
        ),
        rule(
            "ENUM_VALUE_NO_DELETE",
            &["CSR", "FILE", "PACKAGE"],
            "An enum value (by number) may not disappear.",
            enum_value_no_delete,
        ),
        rule(
            "ENUM_VALUE_NO_DELETE_UNLESS_NAME_RESERVED",
            &["CSR", "WIRE_JSON"],
            "An enum value may disappear only if its names are reserved.",
            enum_value_no_delete_unless_name_reserved,
        ),
        rule(
            "ENUM_VALUE_NO_DELETE_UNLESS_NUMBER_RESERVED",
            &["CSR", "WIRE_JSON", "WIRE"],
            "An enum value may disappear only if its number is reserved.",
            enum_value_no_delete_unless_number_reserved,
        ),
        rule(
            "ENUM_VALUE_SAME_NAME",
            JSON_CATEGORIES,
            "An enum number keeps all of its names.",
            enum_value_same_name,
        ),
        rule(
            "RESERVED_ENUM_NO_DELETE",
            ALL,
            "Reserved numbers and names of an enum stay reserved.",
            reserved_enum_no_delete,
        ),
    ]
}

fn enum_pairs<'c, 'm>(
    check: &'c Check<'_, 'm>,
) -> impl Iterator<Item = (&'c EnumEntry<'m>, &'c EnumEntry<'m>)> {
    check
        .old
        .enums
        .iter()
        .filter_map(|(name, old)| check.new.enums.get(name).map(|new| (old, new)))
}

fn enum_no_delete(check: &mut Check<'_, '_>) {
    file_no_delete(check, "enum", |index| {
        index
            .enums
            .values()
            .map(|e| Declared {
                full_name: e.full_name.clone(),
                file: e.file,
                path: e.path.clone(),
                parent: e.parent.clone(),
            })
            .collect()
    });
}

fn enum_same_json_format(check: &mut Check<'_, '_>) {
    let mut reports = Vec::new();
    for (old, new) in enum_pairs(check) {
        if json_allowed(&old.file.proto) && !json_allowed(&new.file.proto) {
            reports.push((
                new.file,
                new.path.clone(),
                format!(
                    "enum {} changed JSON format from ALLOW to LEGACY_BEST_EFFORT",
                    new.full_name
                ),
            ));
        }
    }
    for (file, path, msg) in reports {
        check.report(file, &path, msg);
    }
}

fn enum_same_type(check: &mut Check<'_, '_>) {
    let mut reports = Vec::new();
    for (old, new) in enum_pairs(check) {
        // Proto2 enums are closed (unknown numbers go to unknown fields), proto3 ones open.
        let kind = |e: &EnumEntry<'_>| {
            if super::types::is_proto3(&e.file.proto) {
                "OPEN"
            } else {
                "CLOSED"
            }
        };
        if kind(old) != kind(new) {
            reports.push((
                new.file,
                new.path.clone(),
                format!(
                    "enum {} changed from {} to {}",
                    new.full_name,
                    kind(old),
                    kind(new)
                ),
            ));
        }
    }
    for (file, path, msg) in reports {
        check.report(file, &path, msg);
    }
}

/// Value names by number, in declaration order.
fn names_by_number(e: &EnumDescriptorProto) -> BTreeMap<i32, Vec<&str>> {
    let mut map: BTreeMap<i32, Vec<&str>> = BTreeMap::new();
    for v in &e.value {
        map.entry(v.number()).or_default().push(v.name());
    }
    map
}

fn deleted_values(
    check: &mut Check<'_, '_>,
    allowed: impl Fn(i32, &[&str], &EnumDescriptorProto) -> bool,
    why: &str,
) {
    let mut reports = Vec::new();
    for (old, new) in enum_pairs(check) {
        let new_numbers = names_by_number(new.desc);
        for (number, names) in names_by_number(old.desc) {
            if new_numbers.contains_key(&number) || allowed(number, &names, new.desc) {
                continue;
            }
            let index = old
                .desc
                .value
                .iter()
                .position(|v| v.number() == number)
                .unwrap_or(0);
            reports.push((
                new.file,
                new.path.clone(),
                old.file,
                child(&old.path, &[tag::ENUM_VALUE, index as i32]),
                format!(
                    "enum value {} ({number}) of {} was deleted{why}",
                    names.join(", "),
                    old.full_name
                ),
            ));
        }
    }
    for (nf, np, of, op, msg) in reports {
        check.report_deleted(nf, &np, of, &op, msg);
    }
}

fn enum_value_no_delete(check: &mut Check<'_, '_>) {
    deleted_values(check, |_, _, _| false, "");
}

fn enum_value_no_delete_unless_name_reserved(check: &mut Check<'_, '_>) {
    deleted_values(
        check,
        |_, names, e| names.iter().all(|n| e.reserved_name.iter().any(|r| r == n)),
        " without reserving its name",
    );
}

fn enum_value_no_delete_unless_number_reserved(check: &mut Check<'_, '_>) {
    deleted_values(
        check,
        // Enum reserved ranges are inclusive at both ends.
        |number, _, e| {
            e.reserved_range
                .iter()
                .any(|r| (r.start()..=r.end()).contains(&number))
        },
        " without reserving its number",
    );
}

fn enum_value_same_name(check: &mut Check<'_, '_>) {
    let mut reports = Vec::new();
    for (old, new) in enum_pairs(check) {
        let old_names = names_by_number(old.desc);
        let new_names = names_by_number(new.desc);
        for (number, names) in &old_names {
            let Some(current) = new_names.get(number) else {
                continue;
            };
            if names.iter().all(|n| current.contains(n)) {
                continue;
            }
            for (i, v) in new.desc.value.iter().enumerate() {
                if v.number() == *number {
                    let path = child(&new.path, &[tag::ENUM_VALUE, i as i32, tag::VALUE_NUMBER]);
                    reports.push((
                        new.file,
                        path,
                        format!(
                            "enum value {number} of {} changed name from {} to {}",
                            new.full_name,
                            names.join(", "),
                            current.join(", ")
                        ),
                    ));
                }
            }
        }
    }
    for (file, path, msg) in reports {
        check.report(file, &path, msg);
    }
}

fn reserved_enum_no_delete(check: &mut Check<'_, '_>) {
    let (old_index, new_index) = (check.old, check.new);
    for (name, old) in &old_index.enums {
        let Some(new) = new_index.enums.get(name) else {
            continue;
        };
        // Enum reserved ranges are inclusive at both ends already.
        let inclusive = |e: &EnumDescriptorProto| -> Vec<(i64, i64)> {
            e.reserved_range
                .iter()
                .map(|r| (i64::from(r.start()), i64::from(r.end())))
                .collect()
        };
        let owner = format!("enum {name}");
        let mut messages = ranges::lost(
            &inclusive(old.desc),
            &inclusive(new.desc),
            ENUM_MAX,
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
