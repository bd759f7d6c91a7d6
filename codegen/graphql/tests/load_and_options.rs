//! Loading (extensions, preludes, positions, bad input) and the options that
//! change verdicts.

use contractor_core::Severity;
use contractor_graphql::model::{Origin, TypeKind};
use contractor_graphql::{MAX_NESTING, Options, diff, load};

fn verdicts(old: &str, new: &str, options: &Options) -> Vec<(String, Severity)> {
    let old = load("old.graphql", old).expect("old loads");
    let new = load("new.graphql", new).expect("new loads");
    diff(&old, &new, options)
        .into_iter()
        .map(|f| (f.rule.to_string(), f.severity))
        .collect()
}

#[test]
fn extensions_merge_into_their_types() {
    let schema = load(
        "s.graphql",
        "extend type Query { b: Int }\ntype Query { a: Int }\nextend enum E { Y }\nenum E { X }\n\
         extend union U = B\ntype A { a: Int }\ntype B { b: Int }\nunion U = A\n",
    )
    .expect("loads");
    let query = &schema.types["Query"];
    assert_eq!(query.fields.keys().collect::<Vec<_>>(), ["a", "b"]);
    // The definition, not the extension, is where the type is.
    assert_eq!(query.location.start.line, 2);
    assert_eq!(schema.types["E"].values.len(), 2);
    assert_eq!(schema.types["U"].members.len(), 2);
    assert_eq!(
        schema.roots[0].as_ref().map(|r| r.name.as_str()),
        Some("Query")
    );
}

#[test]
fn preludes_are_merged_only_when_used() {
    let plain = load("p.graphql", "type Query { a: Int }").expect("loads");
    assert!(!plain.types.contains_key("_FieldSet"));
    assert!(!plain.directives.contains_key("key"));
    assert_eq!(plain.types["Int"].origin, Origin::Builtin);

    let federated = load(
        "f.graphql",
        "type Query { a: T }\ntype T @key(fields: \"id\") { id: ID! }\n",
    )
    .expect("loads");
    assert_eq!(federated.directives["key"].origin, Origin::Prelude);
    // @key's argument type comes along.
    assert_eq!(federated.types["_FieldSet"].kind, TypeKind::Scalar);

    // A document's own definition wins over the prelude's.
    let own = load(
        "o.graphql",
        "scalar AWSDateTime @specifiedBy(url: \"x\")\ntype Query { at: AWSDateTime }\n",
    )
    .expect("loads");
    assert_eq!(own.types["AWSDateTime"].origin, Origin::User);
}

#[test]
fn bad_input_is_an_error_at_a_position() {
    let cases = [
        ("type Query { a: Int", "1:20"),
        ("type Query { a: Int }\ntype Query { b: Int }", "2:1"),
        ("type Query { a: Nope }", "1:14"),
        ("type Query { a: Int }\nunion U = Query | Int", "2:19"),
        ("schema { query: Missing }\ntype Query { a: Int }", "1:17"),
        ("type Query { a: Int }\nenum Query { A }", "2:1"),
        ("type Query { a(x: Int, x: Int): Int }", "1:24"),
        (
            "type Query { a: Int }\ndirective @d(x: Int, x: Int) on FIELD",
            "2:22",
        ),
    ];
    for (text, at) in cases {
        let err = load("x.graphql", text).expect_err(text);
        let shown = err.to_string();
        assert!(
            shown.starts_with(&format!("x.graphql:{at}:")),
            "{text}: {shown}"
        );
    }
}

#[test]
fn hostile_nesting_is_refused_not_overflowed() {
    let deep = format!(
        "type Query {{ a: {}Int{} }}",
        "[".repeat(MAX_NESTING + 1),
        "]".repeat(MAX_NESTING + 1)
    );
    let err = load("deep.graphql", &deep).expect_err("too deep");
    assert!(err.to_string().contains("nesting deeper than"), "{err}");
    // At the limit (the type's braces count as one level) it still loads,
    // on a thread stack as small as the one the CLI's old side runs on.
    let ok = format!(
        "type Query {{ a: {}Int{} }}",
        "[".repeat(MAX_NESTING - 1),
        "]".repeat(MAX_NESTING - 1)
    );
    // Object values in a default recurse deeper per level than list types.
    let levels = MAX_NESTING - 3;
    let objects = format!(
        "type Query {{ a(x: I = {}1{}): Int }}\ninput I {{ a: Int }}",
        "{a: ".repeat(levels),
        "}".repeat(levels)
    );
    let loaded = std::thread::Builder::new()
        .stack_size(2 * 1024 * 1024)
        .spawn(move || {
            let _ = load("objects.graphql", &objects);
            load("ok.graphql", &ok).is_ok()
        })
        .expect("spawn")
        .join()
        .expect("no overflow");
    assert!(loaded);
}

#[test]
fn garbage_never_panics() {
    let samples = [
        "",
        "}",
        "\"\"\"",
        "type",
        "type Query",
        "directive @",
        "extend schema",
        "schema {}",
        "type Query { a(: Int }",
        "enum E { true }",
        "input I { a: Int = }",
        "\u{feff}type Query { a: Int }",
        "type Query { a: Int @deprecated(reason: 1) }",
        "type Query { a: [[[[Int]]]] }",
        "# only a comment",
        "type Query { a: Int } directive @d repeatable on FIELD",
    ];
    for text in samples {
        let _ = load("g.graphql", text);
    }
}

#[test]
fn directive_repeatable_is_read_from_the_text() {
    let schema = load(
        "d.graphql",
        "type Query { a: Int }\ndirective @a(x: String = \"on (\") repeatable on FIELD\n\
         directive @b(x: Int) on FIELD | OBJECT\ndirective @c\n  repeatable\n  on FIELD\n",
    )
    .expect("loads");
    assert!(schema.directives["a"].repeatable);
    assert!(!schema.directives["b"].repeatable);
    assert!(schema.directives["c"].repeatable);
}

#[test]
fn dangerous_can_count_as_breaking() {
    let old = "type Query { e: E }\nenum E { A }";
    let new = "type Query { e: E }\nenum E { A B }";
    assert_eq!(
        verdicts(old, new, &Options::default()),
        [("ENUM_VALUE_ADDED".to_string(), Severity::Warning)]
    );
    let strict = Options {
        dangerous_is_breaking: true,
        ..Options::default()
    };
    assert_eq!(
        verdicts(old, new, &strict),
        [("ENUM_VALUE_ADDED".to_string(), Severity::Error)]
    );
}

#[test]
fn removing_a_deprecated_field_can_be_downgraded() {
    let old = "type Query { a: Int @deprecated b: Int }";
    let new = "type Query { b: Int }";
    assert_eq!(
        verdicts(old, new, &Options::default()),
        [("FIELD_REMOVED".to_string(), Severity::Error)]
    );
    let lenient = Options {
        deprecated_removal_is_dangerous: true,
        ..Options::default()
    };
    assert_eq!(
        verdicts(old, new, &lenient),
        [("FIELD_REMOVED".to_string(), Severity::Warning)]
    );
    // A field that was not deprecated still breaks.
    assert_eq!(
        verdicts("type Query { a: Int b: Int }", new, &lenient),
        [("FIELD_REMOVED".to_string(), Severity::Error)]
    );
}

#[test]
fn changes_to_unreachable_types_can_be_safe() {
    let old = "type Query { a: A }\ntype A implements N { n: Int }\ninterface N { n: Int }\n\
               type Orphan { x: Int }\ntype Impl implements N { n: Int y: Int }";
    let new = "type Query { a: A }\ntype A implements N { n: Int }\ninterface N { n: Int }\n\
               type Orphan { z: Int }\ntype Impl implements N { n: Int }";
    let options = Options {
        unreachable_is_safe: true,
        ..Options::default()
    };
    let got = verdicts(old, new, &options);
    // Orphan is unreachable: its removal is safe. Impl implements a reachable
    // interface, so a fragment can select it: still breaking.
    assert!(
        got.contains(&("FIELD_REMOVED".to_string(), Severity::Info)),
        "{got:?}"
    );
    assert!(
        got.contains(&("FIELD_REMOVED".to_string(), Severity::Error)),
        "{got:?}"
    );
    let default = verdicts(old, new, &Options::default());
    assert_eq!(
        default
            .iter()
            .filter(|(id, s)| id == "FIELD_REMOVED" && *s == Severity::Error)
            .count(),
        2
    );
}

#[test]
fn variance_of_nullability_and_lists() {
    use contractor_graphql::model::TypeRef::{List, Named, NonNull};
    use contractor_graphql::rules::{is_safe_input_change, is_safe_output_change};
    let int = || Named("Int".into());
    let nn = |t| NonNull(Box::new(t));
    let list = |t| List(Box::new(t));
    // Outputs may gain non-null, at any depth; never lose it.
    assert!(is_safe_output_change(&int(), &nn(int())));
    assert!(is_safe_output_change(&list(int()), &nn(list(nn(int())))));
    assert!(!is_safe_output_change(&nn(int()), &int()));
    assert!(!is_safe_output_change(&list(nn(int())), &list(int())));
    // Inputs may lose non-null; never gain it.
    assert!(is_safe_input_change(&nn(int()), &int()));
    assert!(is_safe_input_change(&nn(list(nn(int()))), &list(int())));
    assert!(!is_safe_input_change(&int(), &nn(int())));
    // Changing list-ness or the named type is never safe.
    assert!(!is_safe_output_change(&int(), &list(int())));
    assert!(!is_safe_input_change(&list(int()), &int()));
    assert!(!is_safe_input_change(&int(), &Named("Float".into())));
}

/// Every prefix of every fixture, and each with one byte dropped, loads or
/// fails cleanly, and what loads diffs against the full document.
#[test]
fn truncated_and_damaged_documents_never_panic() {
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut texts = Vec::new();
    for entry in std::fs::read_dir(fixtures).expect("fixtures") {
        let dir = entry.expect("entry").path();
        for side in ["old.graphql", "new.graphql"] {
            if let Ok(text) = std::fs::read_to_string(dir.join(side)) {
                texts.push(text);
            }
        }
    }
    for text in texts.iter().step_by(7) {
        let Ok(full) = load("full.graphql", text) else {
            continue;
        };
        for cut in (0..text.len())
            .filter(|i| text.is_char_boundary(*i))
            .step_by(3)
        {
            let damaged = [
                text[..cut].to_string(),
                format!("{}{}", &text[..cut], &text[(cut + 1).min(text.len())..]),
            ];
            for variant in damaged {
                if let Ok(schema) = load("cut.graphql", &variant) {
                    let _ = diff(&full, &schema, &Options::default());
                    let _ = diff(&schema, &full, &Options::default());
                }
            }
        }
    }
}
