//! Every OpenAPI rule id against a fixture.
//!
//! Schema rules (`<context>-<kind>`) are generated: each schema change kind
//! has a pair of small schemas that shows it, placed at the root and inside a
//! property of each context (request body, parameter, response body and
//! header). Operation rules have a hand-written old/new document each.
//! Together they must exercise every id in the registry.

use std::collections::BTreeSet;

use contractor_core::schema::ChangeKind;
use contractor_core::{Finding, Severity};
use contractor_openapi::{Options, load_text, lower, rules};

fn diff(old: &str, new: &str) -> Vec<Finding> {
    let lower_text = |text: &str, name: &str| {
        let mut docs =
            load_text(name, text, Options::default()).unwrap_or_else(|e| panic!("{e}\n{text}"));
        lower::lower(&mut docs).unwrap_or_else(|e| panic!("{e}\n{text}"))
    };
    let (old, new) = (lower_text(old, "old.yaml"), lower_text(new, "new.yaml"));
    // 2026-01-01: after the past sunsets, before the future ones below.
    let options = rules::Options {
        today: rules::parse_day("2026-01-01").unwrap(),
        deprecation_grace_days: 30,
    };
    rules::diff(&old, &new, &options)
}

/// An old and a new schema (YAML flow style) that show `kind`.
fn schemas(kind: ChangeKind) -> (&'static str, &'static str) {
    use ChangeKind::*;
    match kind {
        TypeChanged => ("{type: string}", "{type: integer}"),
        BecameNullable => ("{type: string}", "{type: string, nullable: true}"),
        BecameNotNullable => ("{type: string, nullable: true}", "{type: string}"),
        FormatChanged => (
            "{type: string, format: uuid}",
            "{type: string, format: email}",
        ),
        FormatAdded => ("{type: string}", "{type: string, format: uuid}"),
        FormatRemoved => ("{type: string, format: uuid}", "{type: string}"),
        EnumValueAdded => ("{type: string, enum: [a]}", "{type: string, enum: [a, b]}"),
        EnumValueRemoved => ("{type: string, enum: [a, b]}", "{type: string, enum: [a]}"),
        EnumAdded => ("{type: string}", "{type: string, enum: [a]}"),
        EnumRemoved => ("{type: string, enum: [a]}", "{type: string}"),
        MinIncreased => ("{type: integer, minimum: 1}", "{type: integer, minimum: 2}"),
        MinDecreased => ("{type: integer, minimum: 2}", "{type: integer, minimum: 1}"),
        MinAdded => ("{type: integer}", "{type: integer, minimum: 1}"),
        MinRemoved => ("{type: integer, minimum: 1}", "{type: integer}"),
        MaxIncreased => ("{type: integer, maximum: 1}", "{type: integer, maximum: 2}"),
        MaxDecreased => ("{type: integer, maximum: 2}", "{type: integer, maximum: 1}"),
        MaxAdded => ("{type: integer}", "{type: integer, maximum: 1}"),
        MaxRemoved => ("{type: integer, maximum: 1}", "{type: integer}"),
        MultipleOfChanged => (
            "{type: integer, multipleOf: 2}",
            "{type: integer, multipleOf: 3}",
        ),
        MinLengthIncreased => (
            "{type: string, minLength: 1}",
            "{type: string, minLength: 2}",
        ),
        MinLengthDecreased => (
            "{type: string, minLength: 2}",
            "{type: string, minLength: 1}",
        ),
        MaxLengthIncreased => (
            "{type: string, maxLength: 1}",
            "{type: string, maxLength: 2}",
        ),
        MaxLengthDecreased => (
            "{type: string, maxLength: 2}",
            "{type: string, maxLength: 1}",
        ),
        PatternAdded => ("{type: string}", "{type: string, pattern: '^a'}"),
        PatternRemoved => ("{type: string, pattern: '^a'}", "{type: string}"),
        PatternChanged => (
            "{type: string, pattern: '^a'}",
            "{type: string, pattern: '^b'}",
        ),
        MinItemsIncreased => (
            "{type: array, items: {type: string}, minItems: 1}",
            "{type: array, items: {type: string}, minItems: 2}",
        ),
        MinItemsDecreased => (
            "{type: array, items: {type: string}, minItems: 2}",
            "{type: array, items: {type: string}, minItems: 1}",
        ),
        MaxItemsIncreased => (
            "{type: array, items: {type: string}, maxItems: 1}",
            "{type: array, items: {type: string}, maxItems: 2}",
        ),
        MaxItemsDecreased => (
            "{type: array, items: {type: string}, maxItems: 2}",
            "{type: array, items: {type: string}, maxItems: 1}",
        ),
        UniqueItemsAdded => (
            "{type: array, items: {type: string}}",
            "{type: array, items: {type: string}, uniqueItems: true}",
        ),
        UniqueItemsRemoved => (
            "{type: array, items: {type: string}, uniqueItems: true}",
            "{type: array, items: {type: string}}",
        ),
        MinPropertiesIncreased => (
            "{type: object, minProperties: 1}",
            "{type: object, minProperties: 2}",
        ),
        MinPropertiesDecreased => (
            "{type: object, minProperties: 2}",
            "{type: object, minProperties: 1}",
        ),
        MaxPropertiesIncreased => (
            "{type: object, maxProperties: 1}",
            "{type: object, maxProperties: 2}",
        ),
        MaxPropertiesDecreased => (
            "{type: object, maxProperties: 2}",
            "{type: object, maxProperties: 1}",
        ),
        PropertyAdded => (
            "{type: object, properties: {a: {type: string}}}",
            "{type: object, properties: {a: {type: string}, b: {type: string}}}",
        ),
        NewRequiredProperty => (
            "{type: object, properties: {a: {type: string}}}",
            "{type: object, required: [b], properties: {a: {type: string}, b: {type: string}}}",
        ),
        PropertyRemoved => (
            "{type: object, properties: {a: {type: string}, b: {type: string}}}",
            "{type: object, properties: {a: {type: string}}}",
        ),
        PropertyBecameRequired => (
            "{type: object, properties: {a: {type: string}}}",
            "{type: object, required: [a], properties: {a: {type: string}}}",
        ),
        PropertyBecameOptional => (
            "{type: object, required: [a], properties: {a: {type: string}}}",
            "{type: object, properties: {a: {type: string}}}",
        ),
        PropertyBecameReadOnly => (
            "{type: object, properties: {a: {type: string}}}",
            "{type: object, properties: {a: {type: string, readOnly: true}}}",
        ),
        PropertyBecameNotReadOnly => (
            "{type: object, properties: {a: {type: string, readOnly: true}}}",
            "{type: object, properties: {a: {type: string}}}",
        ),
        PropertyBecameWriteOnly => (
            "{type: object, properties: {a: {type: string}}}",
            "{type: object, properties: {a: {type: string, writeOnly: true}}}",
        ),
        PropertyBecameNotWriteOnly => (
            "{type: object, properties: {a: {type: string, writeOnly: true}}}",
            "{type: object, properties: {a: {type: string}}}",
        ),
        AdditionalPropertiesRestricted => (
            "{type: object}",
            "{type: object, additionalProperties: false}",
        ),
        AdditionalPropertiesRelaxed => (
            "{type: object, additionalProperties: false}",
            "{type: object}",
        ),
        OneOfAdded => (
            "{oneOf: [{type: string}]}",
            "{oneOf: [{type: string}, {type: integer}]}",
        ),
        OneOfRemoved => (
            "{oneOf: [{type: string}, {type: integer}]}",
            "{oneOf: [{type: string}]}",
        ),
        AnyOfAdded => (
            "{anyOf: [{type: string}]}",
            "{anyOf: [{type: string}, {type: integer}]}",
        ),
        AnyOfRemoved => (
            "{anyOf: [{type: string}, {type: integer}]}",
            "{anyOf: [{type: string}]}",
        ),
        DiscriminatorPropertyChanged => (
            "{type: object, discriminator: {propertyName: a}}",
            "{type: object, discriminator: {propertyName: b}}",
        ),
        DiscriminatorMappingAdded => (
            "{type: object, discriminator: {propertyName: a, mapping: {x: '#/components/schemas/X'}}}",
            "{type: object, discriminator: {propertyName: a, mapping: {x: '#/components/schemas/X', y: '#/components/schemas/X'}}}",
        ),
        DiscriminatorMappingRemoved => (
            "{type: object, discriminator: {propertyName: a, mapping: {x: '#/components/schemas/X', y: '#/components/schemas/X'}}}",
            "{type: object, discriminator: {propertyName: a, mapping: {x: '#/components/schemas/X'}}}",
        ),
        NotAdded => ("{type: string}", "{type: string, not: {enum: [a]}}"),
        NotRemoved => ("{type: string, not: {enum: [a]}}", "{type: string}"),
        DefaultChanged => ("{type: string, default: a}", "{type: string, default: b}"),
        DefaultAdded => ("{type: string}", "{type: string, default: a}"),
        DefaultRemoved => ("{type: string, default: a}", "{type: string}"),
        BecameDeprecated => ("{type: string}", "{type: string, deprecated: true}"),
    }
}

/// A document whose operation carries `schema` in one context.
fn document(context: &str, schema: &str) -> String {
    let (parameters, body, header, response) = match context {
        "request-body" => (
            "[]",
            format!("requestBody: {{content: {{application/json: {{schema: {schema}}}}}}}"),
            "{}".into(),
            "{}".into(),
        ),
        "request-parameter" => (
            &*Box::leak(format!("[{{name: q, in: query, schema: {schema}}}]").into_boxed_str()),
            String::new(),
            "{}".into(),
            "{}".into(),
        ),
        "response-body" => (
            "[]",
            String::new(),
            "{}".into(),
            format!("{{application/json: {{schema: {schema}}}}}"),
        ),
        "response-header" => (
            "[]",
            String::new(),
            format!("{{X-H: {{schema: {schema}}}}}"),
            "{}".into(),
        ),
        other => panic!("unknown context {other}"),
    };
    format!(
        "openapi: 3.0.3\ninfo: {{title: t, version: '1'}}\npaths:\n  /things:\n    post:\n      parameters: {parameters}\n      {body}\n      responses:\n        '200':\n          description: ok\n          headers: {header}\n          content: {response}\ncomponents:\n  schemas:\n    X: {{type: object}}\n"
    )
}

fn ids(findings: &[Finding]) -> BTreeSet<&'static str> {
    findings.iter().map(|f| f.rule).collect()
}

#[test]
fn every_schema_rule_fires_in_every_context() {
    let mut exercised = BTreeSet::new();
    let mut failures = Vec::new();
    for context in [
        "request-body",
        "request-parameter",
        "response-body",
        "response-header",
    ] {
        let nested_prefix = match context {
            "request-body" => "request-property",
            "response-body" => "response-property",
            other => Box::leak(format!("{other}-property").into_boxed_str()),
        };
        let side = nested_prefix.trim_end_matches("-property");
        for kind in ChangeKind::ALL {
            let (old, new) = schemas(*kind);
            let property_kind =
                kind.id().starts_with("property-") || *kind == ChangeKind::NewRequiredProperty;
            let placements: &[bool] = if property_kind {
                &[false]
            } else {
                &[false, true]
            };
            for nested in placements {
                let wrap = |s: &str| {
                    if *nested {
                        format!("{{type: object, properties: {{p: {s}}}}}")
                    } else {
                        s.to_string()
                    }
                };
                let expected = if property_kind {
                    format!("{side}-{}", kind.id())
                } else if *nested {
                    format!("{nested_prefix}-{}", kind.id())
                } else {
                    format!("{context}-{}", kind.id())
                };
                let findings = diff(
                    &document(context, &wrap(old)),
                    &document(context, &wrap(new)),
                );
                if ids(&findings).contains(expected.as_str()) {
                    exercised.insert(expected);
                } else {
                    failures.push(format!("{expected}: got {:?}", ids(&findings)));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} schema rules did not fire:\n{}",
        failures.len(),
        failures.join("\n")
    );
    let fixed = fixed_cases().into_iter().map(|c| c.0.to_string());
    let covered: BTreeSet<String> = exercised.into_iter().chain(fixed).collect();
    let missing: Vec<&str> = rules::registry()
        .iter()
        .map(|r| r.id)
        .filter(|id| !covered.contains(*id))
        .collect();
    assert!(missing.is_empty(), "rules without a fixture: {missing:?}");
}

#[test]
fn direction_sets_severity() {
    let (old, new) = schemas(ChangeKind::EnumValueAdded);
    let request = diff(
        &document("request-body", old),
        &document("request-body", new),
    );
    let response = diff(
        &document("response-body", old),
        &document("response-body", new),
    );
    let severity = |f: &[Finding], id: &str| f.iter().find(|x| x.rule == id).map(|x| x.severity);
    assert_eq!(
        severity(&request, "request-body-enum-value-added"),
        Some(Severity::Info)
    );
    assert_eq!(
        severity(&response, "response-body-enum-value-added"),
        Some(Severity::Error)
    );
}

const BASE: &str = "openapi: 3.0.3\ninfo: {title: t, version: '1'}\n";

/// (rule id, old paths section, new paths section, extra top-level YAML shared by both).
fn fixed_cases() -> Vec<(&'static str, String, String)> {
    let op = |extra: &str| {
        format!(
            "paths:\n  /pets/{{id}}:\n    get:\n      parameters: [{{name: id, in: path, required: true, schema: {{type: string}}}}]\n{extra}      responses:\n        '200': {{description: ok, content: {{application/json: {{schema: {{type: object}}}}}}}}\n"
        )
    };
    let with = |op_yaml: &str| format!("paths:\n  /pets/{{id}}:\n    get:\n{op_yaml}");
    let resp = "      responses: {'200': {description: ok}}\n";
    let two_ops = |second: &str| format!("paths:\n  /pets:\n    get:\n{resp}{second}");
    let secured = |sec: &str| {
        format!(
            "components:\n  securitySchemes:\n    key: {{type: apiKey, in: header, name: X-Key}}\n    oauth: {{type: oauth2, flows: {{clientCredentials: {{tokenUrl: 'https://x', scopes: {{a: a, b: b}}}}}}}}\npaths:\n  /pets:\n    get:\n      security: {sec}\n{resp}"
        )
    };
    let plain = op("");
    vec![
        (
            "api-path-removed-without-deprecation",
            plain.clone(),
            "paths: {}\n".into(),
        ),
        (
            "api-path-removed-before-sunset",
            op("      deprecated: true\n      x-sunset: '2030-01-01'\n"),
            "paths: {}\n".into(),
        ),
        (
            "api-removed-after-deprecation",
            op("      deprecated: true\n      x-sunset: '2025-01-01'\n"),
            "paths: {}\n".into(),
        ),
        (
            "api-removed-without-deprecation",
            two_ops(&format!("    post:\n{resp}")),
            two_ops(""),
        ),
        (
            "api-removed-before-sunset",
            two_ops(&format!(
                "    post:\n      deprecated: true\n      x-sunset: '2030-01-01'\n{resp}"
            )),
            two_ops(""),
        ),
        (
            "api-operation-added",
            two_ops(""),
            two_ops(&format!("    post:\n{resp}")),
        ),
        (
            "api-path-added",
            two_ops(""),
            format!("{}  /cats:\n    get:\n{resp}", two_ops("")),
        ),
        (
            "api-deprecated",
            with(resp),
            with(&format!(
                "      deprecated: true\n      x-sunset: '2030-01-01'\n{resp}"
            )),
        ),
        (
            "api-reactivated",
            with(&format!("      deprecated: true\n{resp}")),
            with(resp),
        ),
        (
            "api-deprecated-without-sunset",
            with(resp),
            with(&format!("      deprecated: true\n{resp}")),
        ),
        (
            "api-sunset-too-soon",
            with(resp),
            with(&format!(
                "      deprecated: true\n      x-sunset: '2026-01-05'\n{resp}"
            )),
        ),
        (
            "api-sunset-date-earlier",
            with(&format!("      x-sunset: '2030-01-01'\n{resp}")),
            with(&format!("      x-sunset: '2029-01-01'\n{resp}")),
        ),
        (
            "api-operation-id-changed",
            with(&format!("      operationId: a\n{resp}")),
            with(&format!("      operationId: b\n{resp}")),
        ),
        (
            "api-operation-id-removed",
            with(&format!("      operationId: a\n{resp}")),
            with(resp),
        ),
        (
            "response-success-status-removed",
            with(resp),
            with("      responses: {'404': {description: no}}\n"),
        ),
        (
            "response-non-success-status-removed",
            with("      responses: {'200': {description: ok}, '404': {description: no}}\n"),
            with(resp),
        ),
        (
            "response-status-added",
            with(resp),
            with("      responses: {'200': {description: ok}, '404': {description: no}}\n"),
        ),
        (
            "response-media-type-removed",
            with(
                "      responses: {'200': {description: ok, content: {application/json: {}, text/plain: {}}}}\n",
            ),
            with("      responses: {'200': {description: ok, content: {application/json: {}}}}\n"),
        ),
        (
            "response-media-type-added",
            with("      responses: {'200': {description: ok, content: {application/json: {}}}}\n"),
            with(
                "      responses: {'200': {description: ok, content: {application/json: {}, text/plain: {}}}}\n",
            ),
        ),
        (
            "response-body-added",
            with(resp),
            with("      responses: {'200': {description: ok, content: {application/json: {}}}}\n"),
        ),
        (
            "response-body-removed",
            with("      responses: {'200': {description: ok, content: {application/json: {}}}}\n"),
            with(resp),
        ),
        (
            "response-header-removed",
            with(
                "      responses: {'200': {description: ok, headers: {X-A: {schema: {type: string}}}}}\n",
            ),
            with(resp),
        ),
        (
            "response-required-header-removed",
            with(
                "      responses: {'200': {description: ok, headers: {X-A: {required: true, schema: {type: string}}}}}\n",
            ),
            with(resp),
        ),
        (
            "response-header-became-optional",
            with(
                "      responses: {'200': {description: ok, headers: {X-A: {required: true, schema: {type: string}}}}}\n",
            ),
            with(
                "      responses: {'200': {description: ok, headers: {X-A: {schema: {type: string}}}}}\n",
            ),
        ),
        (
            "response-header-added",
            with(resp),
            with(
                "      responses: {'200': {description: ok, headers: {x-a: {schema: {type: string}}}}}\n",
            ),
        ),
        (
            "request-body-added-required",
            with(resp),
            with(&format!(
                "      requestBody: {{required: true, content: {{application/json: {{}}}}}}\n{resp}"
            )),
        ),
        (
            "request-body-added-optional",
            with(resp),
            with(&format!(
                "      requestBody: {{content: {{application/json: {{}}}}}}\n{resp}"
            )),
        ),
        (
            "request-body-removed",
            with(&format!(
                "      requestBody: {{content: {{application/json: {{}}}}}}\n{resp}"
            )),
            with(resp),
        ),
        (
            "request-body-became-required",
            with(&format!(
                "      requestBody: {{content: {{application/json: {{}}}}}}\n{resp}"
            )),
            with(&format!(
                "      requestBody: {{required: true, content: {{application/json: {{}}}}}}\n{resp}"
            )),
        ),
        (
            "request-body-became-optional",
            with(&format!(
                "      requestBody: {{required: true, content: {{application/json: {{}}}}}}\n{resp}"
            )),
            with(&format!(
                "      requestBody: {{content: {{application/json: {{}}}}}}\n{resp}"
            )),
        ),
        (
            "request-body-media-type-removed",
            with(&format!(
                "      requestBody: {{content: {{application/json: {{}}, application/xml: {{}}}}}}\n{resp}"
            )),
            with(&format!(
                "      requestBody: {{content: {{application/json: {{}}}}}}\n{resp}"
            )),
        ),
        (
            "request-body-media-type-added",
            with(&format!(
                "      requestBody: {{content: {{application/json: {{}}}}}}\n{resp}"
            )),
            with(&format!(
                "      requestBody: {{content: {{application/json: {{}}, application/xml: {{}}}}}}\n{resp}"
            )),
        ),
        (
            "new-required-request-parameter",
            with(resp),
            with(&format!(
                "      parameters: [{{name: q, in: query, required: true, schema: {{type: string}}}}]\n{resp}"
            )),
        ),
        (
            "new-optional-request-parameter",
            with(resp),
            with(&format!(
                "      parameters: [{{name: q, in: query, schema: {{type: string}}}}]\n{resp}"
            )),
        ),
        (
            "request-parameter-removed",
            with(&format!(
                "      parameters: [{{name: q, in: query, schema: {{type: string}}}}]\n{resp}"
            )),
            with(resp),
        ),
        (
            "request-parameter-became-required",
            with(&format!(
                "      parameters: [{{name: q, in: query, schema: {{type: string}}}}]\n{resp}"
            )),
            with(&format!(
                "      parameters: [{{name: q, in: query, required: true, schema: {{type: string}}}}]\n{resp}"
            )),
        ),
        (
            "request-parameter-became-optional",
            with(&format!(
                "      parameters: [{{name: q, in: query, required: true, schema: {{type: string}}}}]\n{resp}"
            )),
            with(&format!(
                "      parameters: [{{name: q, in: query, schema: {{type: string}}}}]\n{resp}"
            )),
        ),
        (
            "request-parameter-deprecated",
            with(&format!(
                "      parameters: [{{name: q, in: query, schema: {{type: string}}}}]\n{resp}"
            )),
            with(&format!(
                "      parameters: [{{name: q, in: query, deprecated: true, schema: {{type: string}}}}]\n{resp}"
            )),
        ),
        (
            "request-parameter-style-changed",
            with(&format!(
                "      parameters: [{{name: q, in: query, schema: {{type: string}}}}]\n{resp}"
            )),
            with(&format!(
                "      parameters: [{{name: q, in: query, style: pipeDelimited, schema: {{type: string}}}}]\n{resp}"
            )),
        ),
        ("api-security-added", secured("[]"), secured("[{key: []}]")),
        (
            "api-security-removed",
            secured("[{key: []}]"),
            secured("[]"),
        ),
        (
            "api-security-requirement-added",
            secured("[{key: []}]"),
            secured("[{key: [], oauth: []}]"),
        ),
        (
            "api-security-alternative-removed",
            secured("[{key: []}, {oauth: []}]"),
            secured("[{key: []}]"),
        ),
        (
            "api-security-alternative-added",
            secured("[{key: []}]"),
            secured("[{key: []}, {oauth: []}]"),
        ),
        (
            "api-security-scope-added",
            secured("[{oauth: [a]}]"),
            secured("[{oauth: [a, b]}]"),
        ),
        (
            "api-security-scope-removed",
            secured("[{oauth: [a, b]}]"),
            secured("[{oauth: [a]}]"),
        ),
        (
            "security-scheme-removed",
            secured("[]"),
            secured("[]").replace("    key: {type: apiKey, in: header, name: X-Key}\n", ""),
        ),
        (
            "security-scheme-type-changed",
            secured("[]"),
            secured("[]").replace("in: header", "in: query"),
        ),
        (
            "security-scheme-added",
            secured("[]").replace("    key: {type: apiKey, in: header, name: X-Key}\n", ""),
            secured("[]"),
        ),
    ]
}

#[test]
fn every_operation_rule_fires_on_its_fixture() {
    let mut failures = Vec::new();
    for (id, old, new) in fixed_cases() {
        let findings = diff(&format!("{BASE}{old}"), &format!("{BASE}{new}"));
        if !ids(&findings).contains(id) {
            failures.push(format!("{id}: got {:?}", ids(&findings)));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn renamed_path_parameters_and_moved_parameters_are_no_change() {
    let old = format!(
        "{BASE}paths:\n  /pets/{{id}}:\n    parameters: [{{name: id, in: path, required: true, schema: {{type: string}}}}]\n    get:\n      responses: {{'200': {{description: ok}}}}\n"
    );
    let new = format!(
        "{BASE}paths:\n  /pets/{{petId}}:\n    get:\n      parameters: [{{name: petId, in: path, required: true, schema: {{type: string}}}}]\n      responses: {{'200': {{description: ok}}}}\n"
    );
    assert!(diff(&old, &new).is_empty(), "{:?}", diff(&old, &new));
}

#[test]
fn a_ref_refactor_to_the_same_schema_is_no_finding() {
    let inline = format!(
        "{BASE}paths:\n  /a:\n    get:\n      responses: {{'200': {{description: ok, content: {{application/json: {{schema: {{type: object, properties: {{n: {{type: string}}}}}}}}}}}}}}\n"
    );
    let via_ref = format!(
        "{BASE}paths:\n  /a:\n    get:\n      responses: {{'200': {{description: ok, content: {{application/json: {{schema: {{$ref: '#/components/schemas/A'}}}}}}}}}}\ncomponents:\n  schemas:\n    A: {{type: object, properties: {{n: {{type: string}}}}}}\n"
    );
    let findings = diff(&inline, &via_ref);
    assert!(
        findings.iter().all(|f| f.severity != Severity::Error),
        "{findings:?}"
    );
}

#[test]
fn shared_components_are_reported_once_with_their_users() {
    let doc = |max: u32| {
        format!(
            "{BASE}paths:\n  /a:\n    get:\n      responses: {{'200': {{description: ok, content: {{application/json: {{schema: {{$ref: '#/components/schemas/Pet'}}}}}}}}}}\n  /b:\n    get:\n      responses: {{'200': {{description: ok, content: {{application/json: {{schema: {{type: array, items: {{$ref: '#/components/schemas/Pet'}}}}}}}}}}}}\ncomponents:\n  schemas:\n    Pet: {{type: object, properties: {{name: {{type: string, maxLength: {max}}}}}}}\n"
        )
    };
    let findings = diff(&doc(5), &doc(10));
    let hits: Vec<&Finding> = findings
        .iter()
        .filter(|f| f.rule == "response-property-max-length-increased")
        .collect();
    assert_eq!(hits.len(), 1, "{findings:?}");
    assert!(
        hits[0]
            .message
            .contains("schema Pet (used by GET /a, GET /b)"),
        "{}",
        hits[0].message
    );
    assert_eq!(hits[0].location.start.line, 12);
}

#[test]
fn alternatives_of_one_scheme_with_different_scopes_are_matched_exactly() {
    let doc = format!(
        "{BASE}components:\n  securitySchemes:\n    oauth: {{type: oauth2, flows: {{clientCredentials: {{tokenUrl: 'https://x', scopes: {{a: a, b: b}}}}}}}}\npaths:\n  /pets:\n    get:\n      security: [{{oauth: [a]}}, {{oauth: [b]}}]\n      responses: {{'200': {{description: ok}}}}\n"
    );
    assert!(diff(&doc, &doc).is_empty());
}
