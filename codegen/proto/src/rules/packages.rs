//! Package rules: elements keyed by (package, name inside the package), so
//! moving an element between files of one package is fine.

use std::collections::BTreeSet;

use super::{Check, Rule, ancestor_in_file, rule};
use crate::index::Index;
use crate::load::ModuleFile;

pub fn rules() -> Vec<Rule> {
    vec![
        rule(
            "PACKAGE_NO_DELETE",
            &["PACKAGE"],
            "A package may not disappear from the module.",
            package_no_delete,
        ),
        rule(
            "PACKAGE_ENUM_NO_DELETE",
            &["PACKAGE"],
            "An enum may not disappear from its package.",
            package_enum_no_delete,
        ),
        rule(
            "PACKAGE_EXTENSION_NO_DELETE",
            &["PACKAGE"],
            "An extension may not disappear from its package.",
            package_extension_no_delete,
        ),
        rule(
            "PACKAGE_MESSAGE_NO_DELETE",
            &["PACKAGE"],
            "A message may not disappear from its package.",
            package_message_no_delete,
        ),
        rule(
            "PACKAGE_SERVICE_NO_DELETE",
            &["PACKAGE"],
            "A service may not disappear from its package.",
            package_service_no_delete,
        ),
    ]
}

fn package_no_delete(check: &mut Check<'_, '_>) {
    let (old, new) = (check.old, check.new);
    for (package, files) in &old.packages {
        if !new.packages.contains_key(package) {
            let shown = if package.is_empty() {
                "(no package)"
            } else {
                package
            };
            check.report_gone(files[0], &[], format!("package {shown} was deleted"));
        }
    }
}

/// One element kind as the package rules see it.
struct Element<'m> {
    package: String,
    full_name: String,
    file: &'m ModuleFile,
    path: Vec<i32>,
    parent: Option<String>,
}

/// Shared check: an element of `old` whose full name is missing from `new`,
/// in a package that `new` still has elements of this kind in (or, with
/// `even_if_package_empty`, in any package the new side still declares).
fn package_elements_no_delete<'m>(
    check: &mut Check<'_, 'm>,
    what: &str,
    even_if_package_empty: bool,
    elements: impl Fn(&Index<'m>) -> Vec<Element<'m>>,
) {
    let (old_index, new_index) = (check.old, check.new);
    let old = elements(old_index);
    let new = elements(new_index);
    let new_names: BTreeSet<&str> = new.iter().map(|e| e.full_name.as_str()).collect();
    let new_packages: BTreeSet<&str> = new.iter().map(|e| e.package.as_str()).collect();
    for element in &old {
        if new_names.contains(element.full_name.as_str()) {
            continue;
        }
        let package_still_has_kind = new_packages.contains(element.package.as_str());
        let package_exists = new_index.packages.contains_key(&element.package);
        if !(package_still_has_kind || even_if_package_empty && package_exists) {
            continue;
        }
        let msg = format!(
            "{what} {} was deleted from package {}",
            element.full_name, element.package
        );
        // Reported where the element's file still is, as buf does.
        match check.new_file_for(element.file) {
            Some(new_file) => {
                let parent = ancestor_in_file(new_index, element.parent.as_deref(), new_file);
                check.report_deleted(new_file, &parent, element.file, &element.path, msg);
            }
            None => check.report_gone(element.file, &element.path, msg),
        }
    }
}

fn package_enum_no_delete(check: &mut Check<'_, '_>) {
    package_elements_no_delete(check, "enum", false, |index| {
        index
            .enums
            .values()
            .map(|e| Element {
                package: e.file.proto.package().to_string(),
                full_name: e.full_name.clone(),
                file: e.file,
                path: e.path.clone(),
                parent: e.parent.clone(),
            })
            .collect()
    });
}

fn package_message_no_delete(check: &mut Check<'_, '_>) {
    package_elements_no_delete(check, "message", false, |index| {
        index
            .messages
            .values()
            .map(|m| Element {
                package: m.file.proto.package().to_string(),
                full_name: m.full_name.clone(),
                file: m.file,
                path: m.path.clone(),
                parent: m.parent.clone(),
            })
            .collect()
    });
}

fn package_extension_no_delete(check: &mut Check<'_, '_>) {
    package_elements_no_delete(check, "extension", false, |index| {
        index
            .extensions
            .values()
            .map(|x| Element {
                package: x.file.proto.package().to_string(),
                full_name: x.full_name.clone(),
                file: x.file,
                path: x.path.clone(),
                parent: x.parent.clone(),
            })
            .collect()
    });
}

fn package_service_no_delete(check: &mut Check<'_, '_>) {
    package_elements_no_delete(check, "service", true, |index| {
        index
            .services
            .values()
            .map(|s| Element {
                package: s.file.proto.package().to_string(),
                full_name: s.full_name.clone(),
                file: s.file,
                // buf points at the file, never at a declaration, for services.
                path: Vec::new(),
                parent: None,
            })
            .collect()
    });
}
