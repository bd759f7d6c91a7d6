//! The protobuf frontend: compile with protox, compare two compiled modules with
//! buf-compatible breaking-change rules.

pub mod index;
pub mod load;
pub mod rules;

use contractor_core::Finding;

pub use load::{Input, Module, ModuleFile, load};
pub use rules::{DEFAULT_CATEGORY, Rule, registry};

/// Compares two compiled modules with the given rules; findings come sorted.
pub fn diff(old: &Module, new: &Module, rules: &[&'static Rule]) -> Vec<Finding> {
    let old_index = index::Index::new(old);
    let new_index = index::Index::new(new);
    rules::run(rules, &old_index, &new_index)
}

/// Whether a package's last component is an unstable version (`v1alpha1`,
/// `v2beta`, `v1test`, `v1p1beta1`), as buf's `ignore_unstable_packages` means it.
pub fn is_unstable_package(package: &str) -> bool {
    let last = package.rsplit('.').next().unwrap_or("");
    let Some(rest) = last.strip_prefix('v') else {
        return false;
    };
    let digits = rest.chars().take_while(char::is_ascii_digit).count();
    if digits == 0 {
        return false;
    }
    let suffix = &rest[digits..];
    let suffix = suffix
        .strip_prefix('p')
        .map(|s| s.trim_start_matches(|c: char| c.is_ascii_digit()))
        .unwrap_or(suffix);
    ["alpha", "beta", "test"]
        .iter()
        .any(|kind| suffix.starts_with(kind))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unstable_packages() {
        for p in [
            "foo.v1alpha1",
            "foo.v2beta",
            "foo.v1test",
            "foo.v1p1beta1",
            "v1beta1",
        ] {
            assert!(is_unstable_package(p), "{p}");
        }
        for p in ["foo.v1", "foo.bar", "foo.valpha", ""] {
            assert!(!is_unstable_package(p), "{p}");
        }
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    use std::collections::BTreeMap;

    use contractor_core::Finding;

    use crate::{Input, load, registry};

    /// Compiles two one-file modules from text and runs one rule.
    pub fn diff_texts(old: &str, new: &str, rule_id: &str) -> Vec<Finding> {
        let module = |text: &str| {
            let files = BTreeMap::from([("a.proto".to_string(), text.to_string())]);
            load(
                &Input::Memory {
                    files,
                    display_prefix: String::new(),
                    fs_root: ".".into(),
                    single_file: true,
                },
                &[],
            )
            .expect("test input compiles")
        };
        let rule = registry()
            .iter()
            .find(|r| r.info.id == rule_id)
            .expect("rule exists");
        crate::diff(&module(old), &module(new), &[rule])
    }
}
