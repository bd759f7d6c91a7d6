//! OpenAPI breaking-change rules.
//!
//! Two kinds of rule share one registry of stable ids:
//! - operation rules, written out below (an operation removed, a parameter
//!   that became required, a success status removed, security added...);
//! - schema rules, one per (context, schema change kind), named
//!   `<context>-<kind>` (`request-body-type-changed`,
//!   `response-property-enum-value-added`). The shared engine in
//!   `contractor_core::schema` finds the change; the context (request body,
//!   parameter, response body, response header) gives its direction and name.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use contractor_core::schema::{self, ChangeKind, Direction, SchemaId};
use contractor_core::{Finding, Location, RuleInfo, Severity};

use crate::model::{Api, Media, Operation, ParamIn};

/// Settings that change verdicts.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Today as days since 1970-01-01 (UTC), for `x-sunset` checks.
    pub today: i64,
    /// A newly deprecated operation must announce an `x-sunset` at least
    /// this many days ahead (0: no requirement).
    pub deprecation_grace_days: i64,
}

/// An operation-level rule: id, family, default severity, purpose.
struct Fixed {
    id: &'static str,
    family: &'static str,
    purpose: &'static str,
}

macro_rules! fixed_rules {
    ($($id:literal, $family:literal, $purpose:literal;)*) => {
        const FIXED: &[Fixed] = &[$(Fixed { id: $id, family: $family, purpose: $purpose },)*];
    };
}

fixed_rules! {
    "api-path-removed-without-deprecation", "path", "A path was removed whose operations were not deprecated.";
    "api-path-removed-before-sunset", "path", "A deprecated path was removed before its x-sunset date.";
    "api-removed-without-deprecation", "operation", "An operation was removed without being deprecated first.";
    "api-removed-before-sunset", "operation", "A deprecated operation was removed before its x-sunset date.";
    "api-removed-after-deprecation", "operation", "A deprecated operation was removed (allowed).";
    "api-path-added", "path", "A path was added.";
    "api-operation-added", "operation", "An operation was added.";
    "api-deprecated", "operation", "An operation became deprecated.";
    "api-reactivated", "operation", "An operation is no longer deprecated.";
    "api-deprecated-without-sunset", "operation", "An operation became deprecated without an x-sunset date (with a grace period configured).";
    "api-sunset-too-soon", "operation", "A newly deprecated operation's x-sunset is closer than the grace period.";
    "api-sunset-date-earlier", "operation", "An operation's x-sunset moved earlier.";
    "api-operation-id-changed", "operation", "An operation's operationId changed (generated clients rename the method).";
    "api-operation-id-removed", "operation", "An operation lost its operationId.";
    "response-success-status-removed", "response", "A success (2xx) response status was removed.";
    "response-non-success-status-removed", "response", "A non-success response status was removed.";
    "response-status-added", "response", "A response status was added.";
    "response-media-type-removed", "response", "A response media type was removed.";
    "response-media-type-added", "response", "A response media type was added: clients may not understand it.";
    "response-body-added", "response", "A response gained a body.";
    "response-body-removed", "response", "A response lost its body.";
    "response-header-removed", "response-header", "A response header was removed.";
    "response-required-header-removed", "response-header", "A required response header was removed.";
    "response-header-became-optional", "response-header", "A response header is no longer guaranteed.";
    "response-header-added", "response-header", "A response header was added.";
    "request-body-added-required", "request-body", "A required request body was added.";
    "request-body-added-optional", "request-body", "An optional request body was added.";
    "request-body-removed", "request-body", "The request body was removed: what clients send is ignored.";
    "request-body-became-required", "request-body", "The request body became required.";
    "request-body-became-optional", "request-body", "The request body became optional.";
    "request-body-media-type-removed", "request-body", "A request media type was removed.";
    "request-body-media-type-added", "request-body", "A request media type was added.";
    "new-required-request-parameter", "request-parameter", "A required parameter was added.";
    "new-optional-request-parameter", "request-parameter", "An optional parameter was added.";
    "request-parameter-removed", "request-parameter", "A parameter was removed: what clients send is ignored or rejected.";
    "request-parameter-became-required", "request-parameter", "A parameter became required.";
    "request-parameter-became-optional", "request-parameter", "A parameter became optional.";
    "request-parameter-deprecated", "request-parameter", "A parameter became deprecated.";
    "request-parameter-style-changed", "request-parameter", "A parameter's serialization style or explode changed.";
    "api-security-added", "security", "An operation now requires authentication it did not.";
    "api-security-removed", "security", "An operation no longer requires authentication.";
    "api-security-requirement-added", "security", "A security scheme was added to an operation's requirement.";
    "api-security-alternative-removed", "security", "An alternative way to authenticate was removed.";
    "api-security-alternative-added", "security", "An alternative way to authenticate was added.";
    "api-security-scope-added", "security", "An operation requires an OAuth scope it did not.";
    "api-security-scope-removed", "security", "An operation no longer requires an OAuth scope.";
    "security-scheme-removed", "security", "A security scheme was removed.";
    "security-scheme-type-changed", "security", "A security scheme changed its type, location or HTTP scheme.";
    "security-scheme-added", "security", "A security scheme was added.";
}

/// A schema context: where a schema sits, which way its values travel, and
/// the id prefixes of its rules.
#[derive(Debug, Clone, Copy)]
struct Context {
    /// For changes at the schema's root: `request-body`.
    root: &'static str,
    /// For changes inside properties: `request-property`.
    nested: &'static str,
    family: &'static str,
    direction: Direction,
}

const CONTEXTS: [Context; 4] = [
    Context {
        root: "request-body",
        nested: "request-property",
        family: "request-body",
        direction: Direction::Request,
    },
    Context {
        root: "request-parameter",
        nested: "request-parameter-property",
        family: "request-parameter",
        direction: Direction::Request,
    },
    Context {
        root: "response-body",
        nested: "response-property",
        family: "response-body",
        direction: Direction::Response,
    },
    Context {
        root: "response-header",
        nested: "response-header-property",
        family: "response-header",
        direction: Direction::Response,
    },
];

/// Kinds that only exist for properties: their id has no `property-` twice.
fn is_property_kind(kind: ChangeKind) -> bool {
    kind.id().starts_with("property-") || kind == ChangeKind::NewRequiredProperty
}

/// The rule id of a schema change in `context`, at the root or in a property.
fn schema_rule_id(context: &Context, kind: ChangeKind, in_property: bool) -> String {
    if is_property_kind(kind) {
        // `property-removed` in a request body -> `request-property-removed`.
        let side = context.nested.trim_end_matches("-property");
        format!("{side}-{}", kind.id())
    } else if in_property {
        format!("{}-{}", context.nested, kind.id())
    } else {
        format!("{}-{}", context.root, kind.id())
    }
}

/// Every rule id with its metadata, built once.
pub fn registry() -> &'static [RuleInfo] {
    static REGISTRY: OnceLock<Vec<RuleInfo>> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        let leak = |s: String| -> &'static str { Box::leak(s.into_boxed_str()) };
        let mut rules: Vec<RuleInfo> = FIXED
            .iter()
            .map(|r| RuleInfo {
                id: r.id,
                categories: family_slice(r.family),
                default: true,
                deprecated: false,
                purpose: r.purpose,
            })
            .collect();
        let mut seen: BTreeSet<String> = rules.iter().map(|r| r.id.to_string()).collect();
        for context in &CONTEXTS {
            for kind in ChangeKind::ALL {
                for in_property in [false, true] {
                    let id = schema_rule_id(context, *kind, in_property);
                    if !seen.insert(id.clone()) {
                        continue;
                    }
                    let place = if in_property || is_property_kind(*kind) {
                        "a property of"
                    } else {
                        "the schema of"
                    };
                    let purpose = leak(format!(
                        "{} ({place} {}).",
                        kind_purpose(*kind),
                        context.root.replace('-', " ")
                    ));
                    rules.push(RuleInfo {
                        id: leak(id),
                        categories: family_slice(context.family),
                        default: true,
                        deprecated: false,
                        purpose,
                    });
                }
            }
        }
        rules
    })
}

fn family_slice(family: &str) -> &'static [&'static str] {
    const FAMILIES: &[&[&str]] = &[
        &["path"],
        &["operation"],
        &["response"],
        &["response-header"],
        &["request-body"],
        &["request-parameter"],
        &["security"],
        &["response-body"],
    ];
    FAMILIES
        .iter()
        .find(|f| f[0] == family)
        .copied()
        .unwrap_or(&["operation"])
}

fn kind_purpose(kind: ChangeKind) -> String {
    let words = kind.id().replace('-', " ");
    let mut chars = words.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => words,
    }
}

fn info(id: &str) -> &'static RuleInfo {
    registry()
        .iter()
        .find(|r| r.id == id)
        .unwrap_or(&registry()[0])
}

/// Collects findings for one diff.
struct Out<'a> {
    findings: Vec<Finding>,
    old: &'a Api,
    new: &'a Api,
    options: &'a Options,
    /// The operation being compared (`GET /pets/{id}`), which `ignore`
    /// entries match; empty for document-wide findings.
    scope: String,
    /// Components reached by operations, compared after them.
    components: BTreeMap<ComponentKey, ComponentUse>,
}

impl Out<'_> {
    fn push(
        &mut self,
        id: &str,
        severity: Severity,
        location: &Location,
        old_location: Option<&Location>,
        message: String,
    ) {
        let rule = info(id);
        debug_assert_eq!(rule.id, id, "rule {id} is not registered");
        self.findings.push(Finding {
            rule: rule.id,
            categories: rule.categories,
            severity,
            message,
            location: location.clone(),
            old_location: old_location.cloned(),
            scope: if self.scope.is_empty() {
                location.path.clone()
            } else {
                self.scope.clone()
            },
        });
    }
}

/// Compares two lowered documents.
pub fn diff(old: &Api, new: &Api, options: &Options) -> Vec<Finding> {
    let mut out = Out {
        findings: Vec::new(),
        old,
        new,
        options,
        scope: String::new(),
        components: BTreeMap::new(),
    };
    operations(&mut out);
    components(&mut out);
    security_schemes(&mut out);
    let mut findings = out.findings;
    contractor_core::finding::normalize(&mut findings);
    findings
}

/// Days since 1970-01-01 of an RFC 3339 date or date-time (`2025-06-01`).
pub fn parse_day(text: &str) -> Option<i64> {
    let date = text.get(..10)?;
    let mut parts = date.split('-');
    let (y, m, d): (i64, i64, i64) = (
        parts.next()?.parse().ok()?,
        parts.next()?.parse().ok()?,
        parts.next()?.parse().ok()?,
    );
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    // Days from civil (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

fn operations(out: &mut Out<'_>) {
    let (old, new) = (out.old, out.new);
    let new_ops: BTreeMap<_, &Operation> = new.operations.iter().map(|o| (o.key(), o)).collect();
    let old_ops: BTreeMap<_, &Operation> = old.operations.iter().map(|o| (o.key(), o)).collect();
    let new_paths: BTreeSet<String> = new_ops.keys().map(|(p, _)| p.clone()).collect();
    let old_paths: BTreeSet<String> = old_ops.keys().map(|(p, _)| p.clone()).collect();

    // Removed paths are reported once, at the path, not once per operation.
    let mut removed_paths: BTreeMap<&str, Vec<&Operation>> = BTreeMap::new();
    for (key, op) in &old_ops {
        if !new_ops.contains_key(key) && !new_paths.contains(&key.0) {
            removed_paths.entry(key.0.as_str()).or_default().push(op);
        }
    }
    for ops in removed_paths.values() {
        let first = ops[0];
        out.scope = first.path.clone();
        match removal_verdict(out.options, ops) {
            Removal::Allowed => out.push(
                "api-removed-after-deprecation",
                Severity::Info,
                &first.location,
                Some(&first.location),
                format!("path {} removed after deprecation", first.path),
            ),
            Removal::BeforeSunset(date) => out.push(
                "api-path-removed-before-sunset",
                Severity::Error,
                &first.location,
                Some(&first.location),
                format!("path {} removed before its sunset date {date}", first.path),
            ),
            Removal::NotDeprecated => out.push(
                "api-path-removed-without-deprecation",
                Severity::Error,
                &first.location,
                Some(&first.location),
                format!("path {} removed without deprecation", first.path),
            ),
        }
    }
    for (key, op) in &old_ops {
        if new_ops.contains_key(key) || !new_paths.contains(&key.0) {
            continue;
        }
        out.scope = op.label();
        let (id, severity, why) = match removal_verdict(out.options, &[op]) {
            Removal::Allowed => (
                "api-removed-after-deprecation",
                Severity::Info,
                "after deprecation".to_string(),
            ),
            Removal::BeforeSunset(date) => (
                "api-removed-before-sunset",
                Severity::Error,
                format!("before its sunset date {date}"),
            ),
            Removal::NotDeprecated => (
                "api-removed-without-deprecation",
                Severity::Error,
                "without deprecation".to_string(),
            ),
        };
        out.push(
            id,
            severity,
            &op.location,
            Some(&op.location),
            format!("{} removed {why}", op.label()),
        );
    }
    for (key, op) in &new_ops {
        if old_ops.contains_key(key) {
            continue;
        }
        out.scope = op.label();
        if old_paths.contains(&key.0) {
            out.push(
                "api-operation-added",
                Severity::Info,
                &op.location,
                None,
                format!("{} added", op.label()),
            );
        }
    }
    for path in new_paths.difference(&old_paths) {
        if let Some(op) = new_ops
            .iter()
            .find(|((p, _), _)| p == path)
            .map(|(_, op)| *op)
        {
            out.scope = op.path.clone();
            out.push(
                "api-path-added",
                Severity::Info,
                &op.location,
                None,
                format!("path {} added", op.path),
            );
        }
    }
    for (key, old_op) in &old_ops {
        if let Some(new_op) = new_ops.get(key) {
            out.scope = new_op.label();
            operation(out, old_op, new_op);
        }
    }
    out.scope.clear();
}

enum Removal {
    Allowed,
    BeforeSunset(String),
    NotDeprecated,
}

/// Removing operations is allowed when all were deprecated and no announced
/// sunset lies in the future.
fn removal_verdict(options: &Options, ops: &[&Operation]) -> Removal {
    if !ops.iter().all(|o| o.deprecated) {
        return Removal::NotDeprecated;
    }
    for op in ops {
        if let Some(sunset) = &op.sunset
            && parse_day(sunset).is_some_and(|day| day > options.today)
        {
            return Removal::BeforeSunset(sunset.clone());
        }
    }
    Removal::Allowed
}

fn operation(out: &mut Out<'_>, old: &Operation, new: &Operation) {
    let label = new.label();
    if !old.deprecated && new.deprecated {
        out.push(
            "api-deprecated",
            Severity::Info,
            &new.location,
            None,
            format!("{label} deprecated"),
        );
        let grace = out.options.deprecation_grace_days;
        if grace > 0 {
            match new.sunset.as_deref().and_then(parse_day) {
                None => out.push(
                    "api-deprecated-without-sunset",
                    Severity::Warning,
                    &new.location,
                    None,
                    format!("{label} deprecated without an x-sunset date ({grace} days of notice are expected)"),
                ),
                Some(day) if day < out.options.today + grace => out.push(
                    "api-sunset-too-soon",
                    Severity::Warning,
                    &new.location,
                    None,
                    format!("{label} sunsets in {} days; at least {grace} are expected", day - out.options.today),
                ),
                Some(_) => {}
            }
        }
    }
    if old.deprecated && !new.deprecated {
        out.push(
            "api-reactivated",
            Severity::Info,
            &new.location,
            None,
            format!("{label} is no longer deprecated"),
        );
    }
    if let (Some(o), Some(n)) = (
        old.sunset.as_deref().and_then(parse_day),
        new.sunset.as_deref().and_then(parse_day),
    ) && n < o
    {
        out.push(
            "api-sunset-date-earlier",
            Severity::Error,
            &new.location,
            Some(&old.location),
            format!(
                "{label} x-sunset moved earlier, from {} to {}",
                old.sunset.as_deref().unwrap_or(""),
                new.sunset.as_deref().unwrap_or("")
            ),
        );
    }
    match (&old.operation_id, &new.operation_id) {
        (Some(o), Some(n)) if o != n => out.push(
            "api-operation-id-changed",
            Severity::Warning,
            &new.location,
            Some(&old.location),
            format!("{label} operationId changed from {o} to {n}"),
        ),
        (Some(o), None) => out.push(
            "api-operation-id-removed",
            Severity::Warning,
            &new.location,
            Some(&old.location),
            format!("{label} operationId {o} removed"),
        ),
        _ => {}
    }
    parameters(out, old, new);
    request_body(out, old, new);
    responses(out, old, new);
    security(out, old, new);
}

fn parameters(out: &mut Out<'_>, old: &Operation, new: &Operation) {
    let label = new.label();
    let old_params: Params<'_> = old.parameters.iter().map(|p| (p.key(), p)).collect();
    let new_params: Params<'_> = new.parameters.iter().map(|p| (p.key(), p)).collect();
    for (key, o) in &old_params {
        let Some(n) = counterpart(key, old, new, &new_params) else {
            out.push(
                "request-parameter-removed",
                Severity::Warning,
                &o.location,
                Some(&o.location),
                format!(
                    "{label}: {} parameter `{}` removed",
                    o.location_in.as_str(),
                    o.name
                ),
            );
            continue;
        };
        let what = format!("{label}: {} parameter `{}`", n.location_in.as_str(), n.name);
        if !o.required && n.required {
            out.push(
                "request-parameter-became-required",
                Severity::Error,
                &n.location,
                Some(&o.location),
                format!("{what} became required"),
            );
        }
        if o.required && !n.required {
            out.push(
                "request-parameter-became-optional",
                Severity::Info,
                &n.location,
                Some(&o.location),
                format!("{what} became optional"),
            );
        }
        if !o.deprecated && n.deprecated {
            out.push(
                "request-parameter-deprecated",
                Severity::Info,
                &n.location,
                None,
                format!("{what} deprecated"),
            );
        }
        if o.style != n.style || o.explode != n.explode {
            out.push(
                "request-parameter-style-changed",
                Severity::Error,
                &n.location,
                Some(&o.location),
                format!(
                    "{what} changed serialization (style {} -> {}, explode {} -> {})",
                    o.style.as_deref().unwrap_or("default"),
                    n.style.as_deref().unwrap_or("default"),
                    o.explode.map_or("default".into(), |e| e.to_string()),
                    n.explode.map_or("default".into(), |e| e.to_string())
                ),
            );
        }
        if let (Some(os), Some(ns)) = (o.schema, n.schema) {
            schema_changes(out, &CONTEXTS[1], os, ns, &what, &n.location, &o.location);
        }
    }
    for (key, n) in &new_params {
        if counterpart(key, new, old, &old_params).is_some() {
            continue;
        }
        let what = format!("{label}: {} parameter `{}`", n.location_in.as_str(), n.name);
        if n.required {
            out.push(
                "new-required-request-parameter",
                Severity::Error,
                &n.location,
                None,
                format!("{what} added as required"),
            );
        } else {
            out.push(
                "new-optional-request-parameter",
                Severity::Info,
                &n.location,
                None,
                format!("{what} added"),
            );
        }
    }
}

type Params<'a> = BTreeMap<(ParamIn, String), &'a crate::model::Parameter>;

/// The parameter of `to` that stands for `key` of `from`. Path parameters
/// match by position, so renaming `{id}` to `{petId}` changes nothing.
fn counterpart<'a>(
    key: &(ParamIn, String),
    from: &Operation,
    to: &Operation,
    params: &Params<'a>,
) -> Option<&'a crate::model::Parameter> {
    if let Some(p) = params.get(key) {
        return Some(*p);
    }
    if key.0 != ParamIn::Path {
        return None;
    }
    let position = |op: &Operation, name: &str| {
        op.path
            .split('/')
            .position(|seg| seg == format!("{{{name}}}"))
    };
    let at = position(from, &key.1)?;
    params
        .values()
        .find(|p| p.location_in == ParamIn::Path && position(to, &p.name) == Some(at))
        .copied()
}

fn request_body(out: &mut Out<'_>, old: &Operation, new: &Operation) {
    let label = new.label();
    match (&old.request_body, &new.request_body) {
        (None, Some(n)) => {
            let (id, severity) = if n.required {
                ("request-body-added-required", Severity::Error)
            } else {
                ("request-body-added-optional", Severity::Info)
            };
            out.push(
                id,
                severity,
                &n.location,
                None,
                format!("{label}: request body added"),
            );
        }
        (Some(o), None) => out.push(
            "request-body-removed",
            Severity::Warning,
            &new.location,
            Some(&o.location),
            format!("{label}: request body removed"),
        ),
        (Some(o), Some(n)) => {
            if !o.required && n.required {
                out.push(
                    "request-body-became-required",
                    Severity::Error,
                    &n.location,
                    Some(&o.location),
                    format!("{label}: request body became required"),
                );
            }
            if o.required && !n.required {
                out.push(
                    "request-body-became-optional",
                    Severity::Info,
                    &n.location,
                    Some(&o.location),
                    format!("{label}: request body became optional"),
                );
            }
            media(
                out,
                &o.content,
                &n.content,
                &label,
                "request body",
                MediaRules::REQUEST,
                &n.location,
            );
        }
        (None, None) => {}
    }
}

struct MediaRules {
    removed: (&'static str, Severity),
    added: (&'static str, Severity),
    context: usize,
}

impl MediaRules {
    const REQUEST: MediaRules = MediaRules {
        removed: ("request-body-media-type-removed", Severity::Error),
        added: ("request-body-media-type-added", Severity::Info),
        context: 0,
    };
    const RESPONSE: MediaRules = MediaRules {
        removed: ("response-media-type-removed", Severity::Error),
        added: ("response-media-type-added", Severity::Warning),
        context: 2,
    };
}

fn media(
    out: &mut Out<'_>,
    old: &BTreeMap<String, Media>,
    new: &BTreeMap<String, Media>,
    label: &str,
    what: &str,
    rules: MediaRules,
    new_parent: &Location,
) {
    for (mt, o) in old {
        match new.get(mt) {
            None => out.push(
                rules.removed.0,
                rules.removed.1,
                new_parent,
                Some(&o.location),
                format!("{label}: {what} media type {mt} removed"),
            ),
            Some(n) => {
                if let (Some(os), Some(ns)) = (o.schema, n.schema) {
                    let subject = format!("{label}: {what} ({mt})");
                    schema_changes(
                        out,
                        &CONTEXTS[rules.context],
                        os,
                        ns,
                        &subject,
                        &n.location,
                        &o.location,
                    );
                }
            }
        }
    }
    for (mt, n) in new {
        if !old.contains_key(mt) {
            out.push(
                rules.added.0,
                rules.added.1,
                &n.location,
                None,
                format!("{label}: {what} media type {mt} added"),
            );
        }
    }
}

fn is_success(status: &str) -> bool {
    status.starts_with('2')
}

fn responses(out: &mut Out<'_>, old: &Operation, new: &Operation) {
    let label = new.label();
    for (status, o) in &old.responses {
        let Some(n) = new.responses.get(status) else {
            let (id, severity) = if is_success(status) {
                ("response-success-status-removed", Severity::Error)
            } else {
                ("response-non-success-status-removed", Severity::Warning)
            };
            out.push(
                id,
                severity,
                &new.location,
                Some(&o.location),
                format!("{label}: response {status} removed"),
            );
            continue;
        };
        let what = format!("response {status}");
        match (o.content.is_empty(), n.content.is_empty()) {
            (true, false) => out.push(
                "response-body-added",
                Severity::Info,
                &n.location,
                None,
                format!("{label}: {what} gained a body"),
            ),
            (false, true) => out.push(
                "response-body-removed",
                Severity::Error,
                &n.location,
                Some(&o.location),
                format!("{label}: {what} lost its body"),
            ),
            _ => media(
                out,
                &o.content,
                &n.content,
                &label,
                &what,
                MediaRules::RESPONSE,
                &n.location,
            ),
        }
        for (name, oh) in &o.headers {
            let Some(nh) = n.headers.get(name) else {
                let (id, severity) = if oh.required {
                    ("response-required-header-removed", Severity::Error)
                } else {
                    ("response-header-removed", Severity::Warning)
                };
                out.push(
                    id,
                    severity,
                    &n.location,
                    Some(&oh.location),
                    format!("{label}: {what} header {name} removed"),
                );
                continue;
            };
            if oh.required && !nh.required {
                out.push(
                    "response-header-became-optional",
                    Severity::Error,
                    &nh.location,
                    Some(&oh.location),
                    format!("{label}: {what} header {name} became optional"),
                );
            }
            if let (Some(os), Some(ns)) = (oh.schema, nh.schema) {
                let subject = format!("{label}: {what} header {name}");
                schema_changes(
                    out,
                    &CONTEXTS[3],
                    os,
                    ns,
                    &subject,
                    &nh.location,
                    &oh.location,
                );
            }
        }
        for (name, nh) in &n.headers {
            if !o.headers.contains_key(name) {
                out.push(
                    "response-header-added",
                    Severity::Info,
                    &nh.location,
                    None,
                    format!("{label}: {what} header {name} added"),
                );
            }
        }
    }
    for (status, n) in &new.responses {
        if !old.responses.contains_key(status) {
            out.push(
                "response-status-added",
                Severity::Info,
                &n.location,
                None,
                format!("{label}: response {status} added"),
            );
        }
    }
}

fn security(out: &mut Out<'_>, old: &Operation, new: &Operation) {
    let label = new.label();
    // An empty requirement (`{}`) means anonymous access is one alternative.
    let anonymous = |s: &crate::model::Security| s.is_empty() || s.iter().any(|r| r.is_empty());
    match (anonymous(&old.security), anonymous(&new.security)) {
        (true, false) => {
            out.push(
                "api-security-added",
                Severity::Error,
                &new.location,
                None,
                format!("{label} now requires authentication"),
            );
            return;
        }
        (false, true) if !new.security.is_empty() || old.security.iter().all(|r| !r.is_empty()) => {
            out.push(
                "api-security-removed",
                Severity::Info,
                &new.location,
                None,
                format!("{label} no longer requires authentication"),
            );
            return;
        }
        _ => {}
    }
    let schemes =
        |r: &BTreeMap<String, Vec<String>>| r.keys().cloned().collect::<BTreeSet<String>>();
    for o in &old.security {
        if new.security.contains(o) {
            continue;
        }
        // The same alternative with other scopes: among the new alternatives
        // that are not themselves unchanged old ones.
        let candidate = new
            .security
            .iter()
            .filter(|n| !old.security.contains(n))
            .find(|n| schemes(n) == schemes(o));
        match candidate {
            Some(n) => {
                for (scheme, scopes) in n {
                    let before = &o[scheme];
                    for scope in scopes.iter().filter(|s| !before.contains(s)) {
                        out.push(
                            "api-security-scope-added",
                            Severity::Error,
                            &new.location,
                            None,
                            format!("{label}: {scheme} now requires scope {scope}"),
                        );
                    }
                    for scope in before.iter().filter(|s| !scopes.contains(s)) {
                        out.push(
                            "api-security-scope-removed",
                            Severity::Info,
                            &new.location,
                            None,
                            format!("{label}: {scheme} no longer requires scope {scope}"),
                        );
                    }
                }
            }
            None => {
                // A superset of schemes means the old credentials no longer suffice.
                let stricter = new
                    .security
                    .iter()
                    .any(|n| schemes(o).is_subset(&schemes(n)));
                let (id, severity) = if stricter {
                    ("api-security-requirement-added", Severity::Error)
                } else {
                    ("api-security-alternative-removed", Severity::Error)
                };
                let names: Vec<String> = schemes(o).into_iter().collect();
                out.push(
                    id,
                    severity,
                    &new.location,
                    Some(&old.location),
                    format!(
                        "{label}: security alternative [{}] no longer accepted",
                        names.join(", ")
                    ),
                );
            }
        }
    }
    for n in &new.security {
        if old.security.contains(n) {
            continue;
        }
        if !old.security.iter().any(|o| schemes(o) == schemes(n))
            && !old
                .security
                .iter()
                .any(|o| schemes(o).is_subset(&schemes(n)))
        {
            let names: Vec<String> = schemes(n).into_iter().collect();
            out.push(
                "api-security-alternative-added",
                Severity::Info,
                &new.location,
                None,
                format!("{label}: security alternative [{}] added", names.join(", ")),
            );
        }
    }
}

fn security_schemes(out: &mut Out<'_>) {
    let (old, new) = (out.old, out.new);
    for (name, o) in &old.security_schemes {
        match new.security_schemes.get(name) {
            None => out.push(
                "security-scheme-removed",
                Severity::Error,
                &o.location,
                Some(&o.location),
                format!("security scheme {name} removed"),
            ),
            Some(n) if (&n.kind, &n.detail) != (&o.kind, &o.detail) => out.push(
                "security-scheme-type-changed",
                Severity::Error,
                &n.location,
                Some(&o.location),
                format!(
                    "security scheme {name} changed from {} {} to {} {}",
                    o.kind, o.detail, n.kind, n.detail
                ),
            ),
            Some(_) => {}
        }
    }
    for (name, n) in &new.security_schemes {
        if !old.security_schemes.contains_key(name) {
            out.push(
                "security-scheme-added",
                Severity::Info,
                &n.location,
                None,
                format!("security scheme {name} added"),
            );
        }
    }
}

/// How a shared component (a named schema) is used by the operations.
#[derive(Default)]
struct ComponentUse {
    /// Operations whose schemas use it directly.
    users: BTreeSet<String>,
    /// Reached inside another schema (not only as a whole body or parameter).
    nested: bool,
}

/// A component pair compared in one context (an index into [`CONTEXTS`]).
type ComponentKey = (SchemaId, SchemaId, usize);

fn context_index(context: &Context) -> usize {
    CONTEXTS
        .iter()
        .position(|c| c.root == context.root)
        .unwrap_or(0)
}

/// Named schemas (components) are compared once per context, after all
/// operations, and reported once with the operations that use them, rather
/// than again under every operation that reaches them.
fn is_component(out: &Out<'_>, old: SchemaId, new: SchemaId) -> bool {
    out.old.schemas.get(old).name.is_some() || out.new.schemas.get(new).name.is_some()
}

/// Compares one schema pair of an operation: inline parts now, components
/// later (see [`components`]).
fn schema_changes(
    out: &mut Out<'_>,
    context: &Context,
    old: SchemaId,
    new: SchemaId,
    subject: &str,
    new_at: &Location,
    old_at: &Location,
) {
    let ctx = context_index(context);
    if is_component(out, old, new) {
        let scope = out.scope.clone();
        out.components
            .entry((old, new, ctx))
            .or_default()
            .users
            .insert(scope);
        return;
    }
    let (old_graph, new_graph) = (&out.old.schemas, &out.new.schemas);
    let boundary = |o: SchemaId, n: SchemaId| {
        old_graph.get(o).name.is_some() || new_graph.get(n).name.is_some()
    };
    let comparison =
        schema::compare_within(old_graph, old, new_graph, new, context.direction, &boundary);
    for (o, n) in comparison.boundaries {
        let scope = out.scope.clone();
        let usage = out.components.entry((o, n, ctx)).or_default();
        usage.users.insert(scope);
        usage.nested = true;
    }
    for change in comparison.changes {
        let in_property = !change.property.is_empty();
        emit_change(out, context, change, in_property, subject, new_at, old_at);
    }
}

fn emit_change(
    out: &mut Out<'_>,
    context: &Context,
    change: schema::Change,
    in_property: bool,
    subject: &str,
    new_at: &Location,
    old_at: &Location,
) {
    let id = schema_rule_id(context, change.kind, in_property);
    // Removals point at the old contract; everything else at the new one.
    let location = if change.kind == ChangeKind::PropertyRemoved {
        change
            .old_location
            .clone()
            .unwrap_or_else(|| old_at.clone())
    } else {
        change
            .new_location
            .clone()
            .unwrap_or_else(|| new_at.clone())
    };
    out.push(
        &id,
        change.severity,
        &location,
        change.old_location.as_ref(),
        format!("{subject}: {}", change.message),
    );
}

/// Compares every component pair reached by the operations, each once per
/// context, following components into components; then reports each
/// component's changes with the operations that reach it.
fn components(out: &mut Out<'_>) {
    let (old_graph, new_graph) = (&out.old.schemas, &out.new.schemas);
    let boundary = |o: SchemaId, n: SchemaId| {
        old_graph.get(o).name.is_some() || new_graph.get(n).name.is_some()
    };
    let mut results: BTreeMap<ComponentKey, Vec<schema::Change>> = BTreeMap::new();
    let mut children: BTreeMap<ComponentKey, Vec<ComponentKey>> = BTreeMap::new();
    let mut queue: Vec<ComponentKey> = out.components.keys().copied().collect();
    while let Some(key) = queue.pop() {
        if results.contains_key(&key) {
            continue;
        }
        let (o, n, ctx) = key;
        let comparison = schema::compare_within(
            old_graph,
            o,
            new_graph,
            n,
            CONTEXTS[ctx].direction,
            &boundary,
        );
        for (bo, bn) in comparison.boundaries {
            let child = (bo, bn, ctx);
            out.components.entry(child).or_default().nested = true;
            children.entry(key).or_default().push(child);
            queue.push(child);
        }
        results.insert(key, comparison.changes);
    }
    // Who uses a changed component: the operations that use it directly or
    // use a component that reaches it. Walked upwards from the (few) changed
    // components rather than downwards from every operation.
    let mut parents: BTreeMap<ComponentKey, Vec<ComponentKey>> = BTreeMap::new();
    for (parent, kids) in &children {
        for kid in kids {
            parents.entry(*kid).or_default().push(*parent);
        }
    }
    let mut users_of: BTreeMap<ComponentKey, Vec<String>> = BTreeMap::new();
    for key in results
        .iter()
        .filter(|(_, changes)| !changes.is_empty())
        .map(|(key, _)| *key)
    {
        let mut seen = BTreeSet::from([key]);
        let mut stack = vec![key];
        let mut users = BTreeSet::new();
        while let Some(at) = stack.pop() {
            if let Some(usage) = out.components.get(&at) {
                users.extend(usage.users.iter().cloned());
            }
            for parent in parents.get(&at).into_iter().flatten() {
                if seen.insert(*parent) {
                    stack.push(*parent);
                }
            }
        }
        users_of.insert(key, users.into_iter().collect());
    }
    for (key, changes) in results {
        if changes.is_empty() {
            continue;
        }
        let (o, n, ctx) = key;
        let context = CONTEXTS[ctx];
        let name = out
            .new
            .schemas
            .get(n)
            .name
            .clone()
            .or_else(|| out.old.schemas.get(o).name.clone())
            .unwrap_or_default();
        let nested = out.components.get(&key).is_none_or(|u| u.nested);
        let users = users_of.remove(&key).unwrap_or_default();
        let used_by = match users.len() {
            0 => String::new(),
            1..=3 => format!(" (used by {})", users.join(", ")),
            more => format!(
                " (used by {}, {} and {} more)",
                users[0],
                users[1],
                more - 2
            ),
        };
        out.scope = format!("#/components/schemas/{name}");
        let new_at = out.new.schemas.get(n).location.clone();
        let old_at = out.old.schemas.get(o).location.clone();
        let fallback = new_at.or(old_at).unwrap_or_else(|| Location::file(""));
        for change in changes {
            let in_property = nested || !change.property.is_empty();
            let subject = format!("schema {name}{used_by}");
            emit_change(
                out,
                &context,
                change,
                in_property,
                &subject,
                &fallback,
                &fallback,
            );
        }
    }
    out.scope.clear();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_ids_are_unique_and_many() {
        let ids: Vec<&str> = registry().iter().map(|r| r.id).collect();
        let unique: BTreeSet<&str> = ids.iter().copied().collect();
        assert_eq!(ids.len(), unique.len());
        assert!(ids.len() >= 150, "{} rules", ids.len());
        assert!(unique.contains("request-property-became-required"));
        assert!(unique.contains("response-property-enum-value-added"));
        assert!(unique.contains("request-body-type-changed"));
        assert!(unique.contains("request-parameter-max-length-decreased"));
        assert!(!unique.iter().any(|id| id.contains("property-property")));
    }

    #[test]
    fn dates_parse_to_days() {
        assert_eq!(parse_day("1970-01-01"), Some(0));
        assert_eq!(parse_day("2000-03-01T00:00:00Z"), Some(11_017));
        assert_eq!(parse_day("2026-11-22"), Some(20_779));
        assert_eq!(parse_day("nope"), None);
        assert_eq!(parse_day("2026-13-01"), None);
    }
}
