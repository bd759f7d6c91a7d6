//! File rules: files are matched by name (path inside the module).

use prost_types::{FileDescriptorProto, FileOptions};

use super::{Check, Rule, rule};
use crate::index::tag;

const FILE_PACKAGE: &[&str] = &["FILE", "PACKAGE"];

/// A file option compared by FILE_SAME_<NAME>: (rule id, option name,
/// FileOptions field number, effective value with defaults applied).
type OptionRule = (&'static str, &'static str, i32, fn(&FileOptions) -> String);

const OPTION_RULES: &[OptionRule] = &[
    ("FILE_SAME_CC_ENABLE_ARENAS", "cc_enable_arenas", 31, |o| {
        o.cc_enable_arenas.unwrap_or(true).to_string()
    }),
    (
        "FILE_SAME_CC_GENERIC_SERVICES",
        "cc_generic_services",
        16,
        |o| o.cc_generic_services().to_string(),
    ),
    ("FILE_SAME_CSHARP_NAMESPACE", "csharp_namespace", 37, |o| {
        o.csharp_namespace().to_string()
    }),
    ("FILE_SAME_GO_PACKAGE", "go_package", 11, |o| {
        o.go_package().to_string()
    }),
    (
        "FILE_SAME_JAVA_GENERIC_SERVICES",
        "java_generic_services",
        17,
        |o| o.java_generic_services().to_string(),
    ),
    (
        "FILE_SAME_JAVA_MULTIPLE_FILES",
        "java_multiple_files",
        10,
        |o| o.java_multiple_files().to_string(),
    ),
    (
        "FILE_SAME_JAVA_OUTER_CLASSNAME",
        "java_outer_classname",
        8,
        |o| o.java_outer_classname().to_string(),
    ),
    ("FILE_SAME_JAVA_PACKAGE", "java_package", 1, |o| {
        o.java_package().to_string()
    }),
    (
        "FILE_SAME_OBJC_CLASS_PREFIX",
        "objc_class_prefix",
        36,
        |o| o.objc_class_prefix().to_string(),
    ),
    ("FILE_SAME_OPTIMIZE_FOR", "optimize_for", 9, |o| {
        o.optimize_for().as_str_name().to_string()
    }),
    ("FILE_SAME_PHP_CLASS_PREFIX", "php_class_prefix", 40, |o| {
        o.php_class_prefix().to_string()
    }),
    (
        "FILE_SAME_PHP_METADATA_NAMESPACE",
        "php_metadata_namespace",
        44,
        |o| o.php_metadata_namespace().to_string(),
    ),
    ("FILE_SAME_PHP_NAMESPACE", "php_namespace", 41, |o| {
        o.php_namespace().to_string()
    }),
    (
        "FILE_SAME_PY_GENERIC_SERVICES",
        "py_generic_services",
        18,
        |o| o.py_generic_services().to_string(),
    ),
    ("FILE_SAME_RUBY_PACKAGE", "ruby_package", 45, |o| {
        o.ruby_package().to_string()
    }),
    ("FILE_SAME_SWIFT_PREFIX", "swift_prefix", 39, |o| {
        o.swift_prefix().to_string()
    }),
];

pub fn rules() -> Vec<Rule> {
    let mut rules = vec![
        rule(
            "FILE_NO_DELETE",
            &["CSR", "FILE"],
            "A file may not disappear from the module.",
            file_no_delete,
        ),
        rule(
            "FILE_SAME_PACKAGE",
            &["CSR", "FILE", "PACKAGE", "WIRE_JSON", "WIRE"],
            "A file keeps its package.",
            file_same_package,
        ),
        rule(
            "FILE_SAME_SYNTAX",
            &["CSR", "FILE", "PACKAGE"],
            "A file keeps its syntax (proto2 or proto3).",
            file_same_syntax,
        ),
    ];
    // Each option rule gets its own function so the check knows which option it owns.
    macro_rules! option_rule {
        ($index:expr) => {
            rule(
                OPTION_RULES[$index].0,
                FILE_PACKAGE,
                OPTION_PURPOSES[$index],
                |c| same_file_option(c, &OPTION_RULES[$index]),
            )
        };
    }
    rules.extend([
        option_rule!(0),
        option_rule!(1),
        option_rule!(2),
        option_rule!(3),
        option_rule!(4),
        option_rule!(5),
        option_rule!(6),
        option_rule!(7),
        option_rule!(8),
        option_rule!(9),
        option_rule!(10),
        option_rule!(11),
        option_rule!(12),
        option_rule!(13),
        option_rule!(14),
        option_rule!(15),
    ]);
    rules
}

const OPTION_PURPOSES: [&str; 16] = [
    "A file keeps its cc_enable_arenas option.",
    "A file keeps its cc_generic_services option.",
    "A file keeps its csharp_namespace option.",
    "A file keeps its go_package option.",
    "A file keeps its java_generic_services option.",
    "A file keeps its java_multiple_files option.",
    "A file keeps its java_outer_classname option.",
    "A file keeps its java_package option.",
    "A file keeps its objc_class_prefix option.",
    "A file keeps its optimize_for option.",
    "A file keeps its php_class_prefix option.",
    "A file keeps its php_metadata_namespace option.",
    "A file keeps its php_namespace option.",
    "A file keeps its py_generic_services option.",
    "A file keeps its ruby_package option.",
    "A file keeps its swift_prefix option.",
];

fn file_no_delete(check: &mut Check<'_, '_>) {
    let (old, new) = (check.old.module, check.new.module);
    if old.single_file && new.single_file {
        return;
    }
    for file in &old.files {
        if new.file(&file.name).is_none() {
            check.report_gone(file, &[], format!("file {} was deleted", file.name));
        }
    }
}

fn file_same_package(check: &mut Check<'_, '_>) {
    for (old, new) in check.file_pairs() {
        if old.proto.package() != new.proto.package() {
            let msg = format!(
                "file {} changed package from \"{}\" to \"{}\"",
                new.name,
                old.proto.package(),
                new.proto.package()
            );
            check.report(new, &[tag::FILE_PACKAGE], msg);
        }
    }
}

/// A file without a `syntax` statement is proto2.
fn syntax(file: &FileDescriptorProto) -> &str {
    match file.syntax() {
        "" => "proto2",
        s => s,
    }
}

fn file_same_syntax(check: &mut Check<'_, '_>) {
    for (old, new) in check.file_pairs() {
        if syntax(&old.proto) != syntax(&new.proto) {
            let msg = format!(
                "file {} changed syntax from \"{}\" to \"{}\"",
                new.name,
                syntax(&old.proto),
                syntax(&new.proto)
            );
            check.report(new, &[tag::FILE_SYNTAX], msg);
        }
    }
}

fn same_file_option(check: &mut Check<'_, '_>, option: &OptionRule) {
    let (_, name, number, value) = *option;
    let default = FileOptions::default();
    for (old, new) in check.file_pairs() {
        let o = value(old.proto.options.as_ref().unwrap_or(&default));
        let n = value(new.proto.options.as_ref().unwrap_or(&default));
        if o != n {
            let msg = format!(
                "file {} changed option {name} from \"{o}\" to \"{n}\"",
                new.name
            );
            check.report(new, &[tag::FILE_OPTIONS, number], msg);
        }
    }
}
