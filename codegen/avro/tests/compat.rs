//! Reader/writer fixtures: one or more per incompatibility kind, and the compatible cases the
//! Avro specification's schema resolution allows (promotions, aliases, defaults, namespaces,
//! recursion, reused named types, unions).

use contractor_avro::{Compatibility, Direction, Incompatibility, Schema, check, check_versions};

fn schema(text: &str) -> Schema {
    Schema::parse_str("s.avsc", text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

/// Every incompatibility of `reader` reading `writer` as (id, reader pointer, writer pointer).
fn found(reader: &str, writer: &str) -> Vec<(String, String, String)> {
    check(&schema(reader), &schema(writer))
        .into_iter()
        .map(|i: Incompatibility| (i.kind.id().to_string(), i.reader.pointer, i.writer.pointer))
        .collect()
}

fn ids(reader: &str, writer: &str) -> Vec<String> {
    found(reader, writer).into_iter().map(|f| f.0).collect()
}

fn record(fields: &str) -> String {
    format!(r#"{{"type":"record","name":"R","namespace":"ns","fields":[{fields}]}}"#)
}

fn field_of(type_json: &str) -> String {
    record(&format!(r#"{{"name":"f","type":{type_json}}}"#))
}

// ---- compatible ----------------------------------------------------------------------------

#[test]
fn identical_schemas_are_compatible() {
    let s = record(
        r#"{"name":"a","type":"int"},{"name":"b","type":{"type":"array","items":"string"}}"#,
    );
    assert!(ids(&s, &s).is_empty());
}

#[test]
fn promotions_are_compatible_and_their_reverse_is_not() {
    let promotions = [
        ("\"long\"", "\"int\""),
        ("\"float\"", "\"int\""),
        ("\"double\"", "\"int\""),
        ("\"float\"", "\"long\""),
        ("\"double\"", "\"long\""),
        ("\"double\"", "\"float\""),
        ("\"string\"", "\"bytes\""),
        ("\"bytes\"", "\"string\""),
    ];
    for (reader, writer) in promotions {
        assert!(
            ids(&field_of(reader), &field_of(writer)).is_empty(),
            "{reader} reads {writer}"
        );
    }
    for (wider, narrower) in promotions
        .iter()
        .filter(|(r, _)| !r.contains("bytes") && !r.contains("string"))
    {
        let got = found(&field_of(narrower), &field_of(wider));
        assert_eq!(
            got,
            vec![(
                "TYPE_MISMATCH".into(),
                "/fields/0/type".into(),
                "/fields/0/type".into()
            )],
            "{narrower} cannot read {wider}"
        );
    }
}

#[test]
fn removed_fields_and_added_fields_with_defaults_are_backward_compatible() {
    let old = record(r#"{"name":"a","type":"int"},{"name":"gone","type":"string"}"#);
    let new =
        record(r#"{"name":"a","type":"int"},{"name":"n","type":["null","string"],"default":null}"#);
    assert!(ids(&new, &old).is_empty());
}

#[test]
fn field_aliases_match_renamed_fields() {
    let old = record(r#"{"name":"old_name","type":"int"}"#);
    let new = record(r#"{"name":"new_name","aliases":["old_name"],"type":"long"}"#);
    assert!(ids(&new, &old).is_empty());
    // Without the alias the reader field has no writer field and no default.
    let bare = record(r#"{"name":"new_name","type":"long"}"#);
    assert_eq!(
        found(&bare, &old),
        vec![(
            "READER_FIELD_MISSING_DEFAULT_VALUE".into(),
            "/fields/0".into(),
            "".into()
        )]
    );
}

#[test]
fn named_type_aliases_and_namespaces() {
    let writer = r#"{"type":"record","name":"Old","namespace":"a","fields":[]}"#;
    let aliased =
        r#"{"type":"record","name":"New","namespace":"b","aliases":["a.Old"],"fields":[]}"#;
    assert!(ids(aliased, writer).is_empty());
    // An alias without a dot is qualified with the reader's namespace: `b.Old` is not `a.Old`.
    let wrong_ns =
        r#"{"type":"record","name":"New","namespace":"b","aliases":["Old"],"fields":[]}"#;
    assert_eq!(ids(wrong_ns, writer), vec!["NAME_MISMATCH"]);
    // Same unqualified name in another namespace: the specification (and the registry) match by
    // unqualified name.
    let moved = r#"{"type":"record","name":"Old","namespace":"c","fields":[]}"#;
    assert!(ids(moved, writer).is_empty());
}

#[test]
fn references_resolve_through_namespaces() {
    let s = r#"{"type":"record","name":"Outer","namespace":"x.y","fields":[
        {"name":"inner","type":{"type":"record","name":"Inner","fields":[{"name":"v","type":"int"}]}},
        {"name":"again","type":"Inner"},
        {"name":"full","type":"x.y.Inner"}]}"#;
    assert!(ids(s, s).is_empty());
}

#[test]
fn recursive_types_terminate() {
    let list = |value: &str| {
        format!(
            r#"{{"type":"record","name":"Node","fields":[{{"name":"value","type":"{value}"}},{{"name":"next","type":["null","Node"]}}]}}"#
        )
    };
    assert!(ids(&list("long"), &list("int")).is_empty());
    // A mismatch inside a recursive type is reported once.
    assert_eq!(
        found(&list("int"), &list("long")),
        vec![(
            "TYPE_MISMATCH".into(),
            "/fields/0/type".into(),
            "/fields/0/type".into()
        )]
    );
}

#[test]
fn a_reused_named_type_is_reported_once_at_its_definition() {
    let s = |t: &str| {
        format!(
            r#"{{"type":"record","name":"R","fields":[
                {{"name":"home","type":{{"type":"record","name":"Address","fields":[{{"name":"zip","type":"{t}"}}]}}}},
                {{"name":"work","type":"Address"}}]}}"#
        )
    };
    assert_eq!(
        found(&s("int"), &s("string")),
        vec![(
            "TYPE_MISMATCH".into(),
            "/fields/0/type/fields/0/type".into(),
            "/fields/0/type/fields/0/type".into()
        )]
    );
}

#[test]
fn unions_writer_every_branch_reader_some_branch() {
    // Reader union reads a plain writer type through one branch (with promotion).
    assert!(ids(&field_of(r#"["null","long"]"#), &field_of(r#""int""#)).is_empty());
    // Writer union: every branch must be readable.
    assert_eq!(
        found(&field_of(r#""string""#), &field_of(r#"["null","string"]"#)),
        vec![(
            "TYPE_MISMATCH".into(),
            "/fields/0/type".into(),
            "/fields/0/type/0".into()
        )]
    );
    // Both unions: the reader may add branches, not drop them.
    assert!(
        ids(
            &field_of(r#"["null","string","int"]"#),
            &field_of(r#"["null","string"]"#)
        )
        .is_empty()
    );
    assert_eq!(
        found(
            &field_of(r#"["null","string"]"#),
            &field_of(r#"["null","string","int"]"#)
        ),
        vec![(
            "MISSING_UNION_BRANCH".into(),
            "/fields/0/type".into(),
            "/fields/0/type/2".into()
        )]
    );
}

#[test]
fn enum_default_allows_missing_symbols() {
    let writer = field_of(r#"{"type":"enum","name":"E","symbols":["A","B","C"]}"#);
    let reader =
        field_of(r#"{"type":"enum","name":"E","symbols":["A","UNKNOWN"],"default":"UNKNOWN"}"#);
    assert!(ids(&reader, &writer).is_empty());
}

#[test]
fn logical_types_follow_their_underlying_type() {
    let millis = field_of(r#"{"type":"long","logicalType":"timestamp-millis"}"#);
    let date = field_of(r#"{"type":"int","logicalType":"date"}"#);
    assert!(ids(&millis, &date).is_empty(), "int promotes to long");
    assert_eq!(ids(&date, &millis), vec!["TYPE_MISMATCH"]);
    let decimal = field_of(r#"{"type":"bytes","logicalType":"decimal","precision":10,"scale":2}"#);
    assert!(ids(&decimal, &field_of(r#""bytes""#)).is_empty());
}

// ---- incompatible: one fixture per kind ----------------------------------------------------

#[test]
fn name_mismatch() {
    let reader = r#"{"type":"record","name":"A","fields":[]}"#;
    let writer = r#"{"type":"record","name":"B","fields":[]}"#;
    assert_eq!(
        found(reader, writer),
        vec![("NAME_MISMATCH".into(), "/name".into(), "/name".into())]
    );
}

#[test]
fn fixed_size_mismatch() {
    let reader = field_of(r#"{"type":"fixed","name":"F","size":16}"#);
    let writer = field_of(r#"{"type":"fixed","name":"F","size":8}"#);
    assert_eq!(
        found(&reader, &writer),
        vec![(
            "FIXED_SIZE_MISMATCH".into(),
            "/fields/0/type/size".into(),
            "/fields/0/type/size".into()
        )]
    );
}

#[test]
fn missing_enum_symbols_lists_all_of_them() {
    let reader = field_of(r#"{"type":"enum","name":"E","symbols":["A"]}"#);
    let writer = field_of(r#"{"type":"enum","name":"E","symbols":["A","B","C"]}"#);
    let all = check(&schema(&reader), &schema(&writer));
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].kind.id(), "MISSING_ENUM_SYMBOLS");
    assert_eq!(all[0].reader.pointer, "/fields/0/type/symbols");
    assert_eq!(all[0].writer.pointer, "/fields/0/type/symbols/1");
    assert!(all[0].message.contains("B, C"), "{}", all[0].message);
}

#[test]
fn reader_field_missing_default_value() {
    let writer = record(r#"{"name":"a","type":"int"}"#);
    let reader = record(r#"{"name":"a","type":"int"},{"name":"b","type":"string"}"#);
    assert_eq!(
        found(&reader, &writer),
        vec![(
            "READER_FIELD_MISSING_DEFAULT_VALUE".into(),
            "/fields/1".into(),
            "".into()
        )]
    );
}

#[test]
fn type_mismatch_between_kinds() {
    for (reader, writer) in [
        (r#""string""#, r#""int""#),
        (
            r#"{"type":"array","items":"int"}"#,
            r#"{"type":"map","values":"int"}"#,
        ),
        (r#""boolean""#, r#""null""#),
        (
            r#"{"type":"enum","name":"E","symbols":["A"]}"#,
            r#""string""#,
        ),
    ] {
        assert_eq!(
            ids(&field_of(reader), &field_of(writer)),
            vec!["TYPE_MISMATCH"],
            "{reader} / {writer}"
        );
    }
}

#[test]
fn missing_union_branch_with_the_reason_of_the_matching_branch() {
    let reader =
        field_of(r#"["null",{"type":"record","name":"X","fields":[{"name":"v","type":"int"}]}]"#);
    let writer = field_of(r#"{"type":"record","name":"X","fields":[{"name":"v","type":"long"}]}"#);
    assert_eq!(
        found(&reader, &writer),
        vec![
            (
                "TYPE_MISMATCH".into(),
                "/fields/0/type/1/fields/0/type".into(),
                "/fields/0/type/fields/0/type".into()
            ),
            (
                "MISSING_UNION_BRANCH".into(),
                "/fields/0/type".into(),
                "/fields/0/type".into()
            ),
        ]
    );
}

#[test]
fn decimal_mismatch() {
    let reader = field_of(r#"{"type":"bytes","logicalType":"decimal","precision":10,"scale":2}"#);
    let writer = field_of(r#"{"type":"bytes","logicalType":"decimal","precision":10,"scale":3}"#);
    assert_eq!(ids(&reader, &writer), vec!["DECIMAL_MISMATCH"]);
    let fixed = |p: u32| {
        field_of(&format!(
            r#"{{"type":"fixed","name":"D","size":8,"logicalType":"decimal","precision":{p}}}"#
        ))
    };
    assert_eq!(ids(&fixed(12), &fixed(10)), vec!["DECIMAL_MISMATCH"]);
}

#[test]
fn every_incompatibility_is_listed_not_only_the_first() {
    let writer = r#"{"type":"record","name":"R","fields":[
        {"name":"a","type":"long"},
        {"name":"e","type":{"type":"enum","name":"E","symbols":["X","Y"]}},
        {"name":"f","type":{"type":"fixed","name":"F","size":4}}]}"#;
    let reader = r#"{"type":"record","name":"S","fields":[
        {"name":"a","type":"int"},
        {"name":"e","type":{"type":"enum","name":"E","symbols":["X"]}},
        {"name":"f","type":{"type":"fixed","name":"F","size":2}},
        {"name":"g","type":"string"}]}"#;
    let mut got = ids(reader, writer);
    got.sort();
    assert_eq!(
        got,
        vec![
            "FIXED_SIZE_MISMATCH",
            "MISSING_ENUM_SYMBOLS",
            "NAME_MISMATCH",
            "READER_FIELD_MISSING_DEFAULT_VALUE",
            "TYPE_MISMATCH"
        ]
    );
}

// ---- modes --------------------------------------------------------------------------------

#[test]
fn modes_choose_directions_and_versions() {
    let v1 = schema(&record(r#"{"name":"a","type":"int"}"#));
    let v2 = schema(&record(
        r#"{"name":"a","type":"int"},{"name":"b","type":"int","default":0}"#,
    ));
    // v3 drops `a`, which v1 and v2 cannot do without (no default): forward-incompatible.
    let v3 = schema(&record(r#"{"name":"b","type":"int","default":0}"#));
    let versions = [v1, v2, v3];
    let count = |mode: Compatibility| check_versions(mode, &versions).len();
    assert_eq!(count(Compatibility::Backward), 0);
    assert_eq!(count(Compatibility::Forward), 1);
    assert_eq!(count(Compatibility::ForwardTransitive), 2);
    assert_eq!(count(Compatibility::Full), 1);
    assert_eq!(count(Compatibility::FullTransitive), 2);
    assert_eq!(count(Compatibility::None), 0);
    let forward = check_versions(Compatibility::Forward, &versions);
    assert_eq!(forward[0].version, 1);
    assert_eq!(forward[0].direction, Direction::OldReadsNew);
}

#[test]
fn transitive_catches_what_the_last_step_hides() {
    // v1 -> v2 adds a defaulted field; v2 -> v3 removes its default: v3 cannot read v1 data.
    let v1 = schema(&record(r#"{"name":"a","type":"int"}"#));
    let v2 = schema(&record(
        r#"{"name":"a","type":"int"},{"name":"b","type":"int","default":0}"#,
    ));
    let v3 = schema(&record(
        r#"{"name":"a","type":"int"},{"name":"b","type":"int"}"#,
    ));
    let versions = [v1, v2, v3];
    assert!(check_versions(Compatibility::Backward, &versions).is_empty());
    let transitive = check_versions(Compatibility::BackwardTransitive, &versions);
    assert_eq!(transitive.len(), 1);
    assert_eq!(transitive[0].version, 0);
}

#[test]
fn mode_names_parse_case_insensitively() {
    for (word, mode) in [
        ("backward", Compatibility::Backward),
        ("FORWARD_TRANSITIVE", Compatibility::ForwardTransitive),
        ("Full-Transitive", Compatibility::FullTransitive),
        ("none", Compatibility::None),
    ] {
        assert_eq!(word.parse::<Compatibility>(), Ok(mode));
    }
    assert!("sideways".parse::<Compatibility>().is_err());
}

// ---- locations ----------------------------------------------------------------------------

#[test]
fn pointers_map_to_lines_and_columns() {
    let text = "{\n  \"type\": \"record\",\n  \"name\": \"R\",\n  \"fields\": [\n    {\"name\": \"a\", \"type\": \"int\"}\n  ]\n}\n";
    let s = schema(text);
    let field = contractor_avro::Origin {
        file: 0,
        pointer: "/fields/0".into(),
    };
    // A field (or named type) is shown at its name, the value is shown where it is written.
    let at = s.location(&field);
    assert_eq!((at.start.line, at.start.column), (5, 14));
    let at = s.location(&field.join(&["type"]));
    assert_eq!((at.start.line, at.start.column, at.end.column), (5, 27, 32));
    assert_eq!(s.location(&field.join(&["nope"])).start.line, 1);
}
