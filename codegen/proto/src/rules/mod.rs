//! buf-compatible breaking-change rules.
//!
//! Each rule is one small named unit: a [`RuleInfo`] (id, categories, purpose)
//! and a check function that compares the old and new [`Index`] and reports
//! through [`Check`]. Ids and category membership are buf's (v2 configuration),
//! so a `buf.yaml` moves over unchanged. Every rule has fixtures under
//! `tests/fixtures/breaking/<RULE_ID>/` whose expected findings came from buf.

mod enums;
mod fields;
mod files;
mod messages;
mod packages;
mod ranges;
mod services;
pub(crate) mod types;

use contractor_core::{Finding, Location, RuleInfo, Severity};

use crate::index::Index;
use crate::load::ModuleFile;

/// A rule: metadata plus the check.
pub struct Rule {
    pub info: RuleInfo,
    pub check: fn(&mut Check<'_, '_>),
}

/// Shorthand for the rule tables in the submodules.
pub(crate) const fn rule(
    id: &'static str,
    categories: &'static [&'static str],
    purpose: &'static str,
    check: fn(&mut Check<'_, '_>),
) -> Rule {
    // buf's default set is the FILE category; rules outside it are opt-in.
    let mut default = false;
    let mut i = 0;
    while i < categories.len() {
        if is_file(categories[i]) {
            default = true;
        }
        i += 1;
    }
    Rule {
        info: RuleInfo {
            id,
            categories,
            default,
            deprecated: false,
            purpose,
        },
        check,
    }
}

const fn is_file(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 4 && b[0] == b'F' && b[1] == b'I' && b[2] == b'L' && b[3] == b'E'
}

pub const DEFAULT_CATEGORY: &str = "FILE";

/// Every rule, in the order `contractor rules` lists them.
pub fn registry() -> &'static [Rule] {
    static RULES: std::sync::OnceLock<Vec<Rule>> = std::sync::OnceLock::new();
    RULES.get_or_init(|| {
        let mut rules = Vec::new();
        rules.extend(files::rules());
        rules.extend(packages::rules());
        rules.extend(messages::rules());
        rules.extend(messages::extension_rules());
        rules.extend(fields::rules());
        rules.extend(enums::rules());
        rules.extend(services::rules());
        rules
    })
}

/// All rule metadata, for reports and `contractor rules`.
pub fn infos() -> Vec<RuleInfo> {
    registry().iter().map(|r| r.info).collect()
}

/// What a check sees: both sides, and a way to report.
pub struct Check<'a, 'm> {
    pub old: &'a Index<'m>,
    pub new: &'a Index<'m>,
    rule: &'static RuleInfo,
    severity: Severity,
    out: &'a mut Vec<Finding>,
}

impl<'a, 'm> Check<'a, 'm> {
    /// Reports at the element at `path` in new `file`; where the source has no
    /// span for it, at the file itself (line 1, column 1), as buf does.
    pub fn report(&mut self, file: &ModuleFile, path: &[i32], message: String) {
        let location = location_of(file, path);
        self.push(location, None, file.name.clone(), message);
    }

    /// Reports at the first of `paths` that has a span in new `file`.
    pub fn report_first(&mut self, file: &ModuleFile, paths: &[&[i32]], message: String) {
        let location = paths
            .iter()
            .find_map(|p| {
                file.span(p)
                    .map(|(s, e)| Location::new(&file.display, s, e))
            })
            .unwrap_or_else(|| Location::file(&file.display));
        self.push(location, None, file.name.clone(), message);
    }

    /// Runs `report` with findings at `severity` instead of `Error`: for
    /// changes worth showing that break nobody.
    pub fn with_severity(&mut self, severity: Severity, report: impl FnOnce(&mut Self)) {
        let before = std::mem::replace(&mut self.severity, severity);
        report(self);
        self.severity = before;
    }

    /// Reports at an explicit location in new `file`.
    pub fn report_at(&mut self, file: &ModuleFile, location: Location, message: String) {
        self.push(location, None, file.name.clone(), message);
    }

    /// Reports a deletion: at `new_path` (the surviving parent) in `new_file`,
    /// remembering where the deleted element stood in the old contract.
    pub fn report_deleted(
        &mut self,
        new_file: &ModuleFile,
        new_path: &[i32],
        old_file: &ModuleFile,
        old_path: &[i32],
        message: String,
    ) {
        let location = location_of(new_file, new_path);
        let old = location_of(old_file, old_path);
        self.push(location, Some(old), new_file.name.clone(), message);
    }

    /// Reports a deletion for which nothing in the new contract stands near it
    /// (a deleted file or package): at the old element.
    pub fn report_gone(&mut self, old_file: &ModuleFile, old_path: &[i32], message: String) {
        let old = location_of(old_file, old_path);
        self.push(
            Location::file(&old_file.display),
            Some(old),
            old_file.name.clone(),
            message,
        );
    }

    fn push(
        &mut self,
        location: Location,
        old_location: Option<Location>,
        scope: String,
        message: String,
    ) {
        self.out.push(Finding {
            rule: self.rule.id,
            categories: self.rule.categories,
            severity: self.severity,
            message,
            location,
            old_location,
            scope,
        });
    }

    /// Pairs of files with the same name (or the two files of a single-file comparison).
    pub fn file_pairs(&self) -> Vec<(&'m ModuleFile, &'m ModuleFile)> {
        let (old, new) = (self.old.module, self.new.module);
        if old.single_file && new.single_file {
            return old.files.iter().zip(new.files.iter()).collect();
        }
        old.files
            .iter()
            .filter_map(|o| new.file(&o.name).map(|n| (o, n)))
            .collect()
    }

    /// The new file paired with old `file`, if any.
    pub fn new_file_for(&self, old_file: &ModuleFile) -> Option<&'m ModuleFile> {
        let (old, new) = (self.old.module, self.new.module);
        if old.single_file && new.single_file {
            return new.files.first();
        }
        new.file(&old_file.name)
    }
}

pub(crate) fn location_of(file: &ModuleFile, path: &[i32]) -> Location {
    match file.span(path) {
        Some((start, end)) => Location::new(&file.display, start, end),
        None => Location::file(&file.display),
    }
}

/// Runs `rules` over the two indexes and returns the findings, sorted.
pub fn run(rules: &[&'static Rule], old: &Index<'_>, new: &Index<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    for rule in rules {
        let mut check = Check {
            old,
            new,
            rule: &rule.info,
            severity: Severity::Error,
            out: &mut out,
        };
        (rule.check)(&mut check);
    }
    contractor_core::finding::normalize(&mut out);
    out
}

/// `path` extended with more components.
pub(crate) fn child(path: &[i32], more: &[i32]) -> Vec<i32> {
    let mut p = path.to_vec();
    p.extend_from_slice(more);
    p
}

/// The full name an element of `old_file` has if it still stands in
/// `new_file`: same name inside the package, new file's package. buf's FILE
/// rules match on the name inside the package, so changing a file's package is
/// one FILE_SAME_PACKAGE finding rather than a deletion of everything in it.
pub(crate) fn in_new_package(
    full_name: &str,
    old_file: &ModuleFile,
    new_file: &ModuleFile,
) -> String {
    let (old_package, new_package) = (old_file.proto.package(), new_file.proto.package());
    let nested = if old_package.is_empty() {
        full_name
    } else {
        full_name
            .strip_prefix(old_package)
            .and_then(|n| n.strip_prefix('.'))
            .unwrap_or(full_name)
    };
    if new_package.is_empty() {
        nested.to_string()
    } else {
        format!("{new_package}.{nested}")
    }
}

/// An element as the FILE-level `*_NO_DELETE` rules see it.
pub(crate) struct Declared<'m> {
    pub full_name: String,
    pub file: &'m ModuleFile,
    pub path: Vec<i32>,
    /// The enclosing message's full name, if nested.
    pub parent: Option<String>,
}

/// Reports every `what` of an old file that its paired new file no longer
/// declares under the same name inside the package, at the nearest enclosing
/// message that survives in the new file (else at the file).
pub(crate) fn file_no_delete<'m>(
    check: &mut Check<'_, 'm>,
    what: &str,
    declared: impl Fn(&Index<'m>) -> Vec<Declared<'m>>,
) {
    let (old_index, new_index) = (check.old, check.new);
    let old = declared(old_index);
    let new: std::collections::HashSet<(String, *const ModuleFile)> = declared(new_index)
        .into_iter()
        .map(|d| (d.full_name, d.file as *const ModuleFile))
        .collect();
    for (old_file, new_file) in check.file_pairs() {
        for element in old.iter().filter(|d| std::ptr::eq(d.file, old_file)) {
            let name = in_new_package(&element.full_name, old_file, new_file);
            if new.contains(&(name, new_file as *const ModuleFile)) {
                continue;
            }
            let parent = moved_parent(element.parent.as_deref(), old_file, new_file);
            let at = ancestor_in_file(new_index, parent.as_deref(), new_file);
            let msg = format!("{what} {} was deleted", element.full_name);
            check.report_deleted(new_file, &at, old_file, &element.path, msg);
        }
    }
}

/// [`in_new_package`] for an optional parent name.
pub(crate) fn moved_parent(
    parent: Option<&str>,
    old_file: &ModuleFile,
    new_file: &ModuleFile,
) -> Option<String> {
    parent.map(|p| in_new_package(p, old_file, new_file))
}

/// The path of the nearest enclosing message of an element (named by its
/// `parent`) that still exists in `file` on the new side; the empty path (the
/// file itself) when none does.
pub(crate) fn ancestor_in_file(
    index: &Index<'_>,
    parent: Option<&str>,
    file: &ModuleFile,
) -> Vec<i32> {
    let mut name = match parent {
        Some(p) => p,
        None => return Vec::new(),
    };
    loop {
        if let Some(m) = index.messages.get(name)
            && std::ptr::eq(m.file, file)
        {
            return m.path.clone();
        }
        match name.rfind('.') {
            Some(i) => name = &name[..i],
            None => return Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_ids_are_unique_and_categorised() {
        let rules = registry();
        let mut ids: Vec<&str> = rules.iter().map(|r| r.info.id).collect();
        ids.sort_unstable();
        let before = ids.len();
        ids.dedup();
        assert_eq!(before, ids.len(), "duplicate rule ids");
        assert_eq!(
            rules.len(),
            65,
            "buf has 65 breaking rules in its v2 configuration"
        );
        for r in rules {
            assert!(
                r.info.deprecated || !r.info.categories.is_empty(),
                "{} has no category",
                r.info.id
            );
            assert!(!r.info.purpose.is_empty());
        }
    }
}
