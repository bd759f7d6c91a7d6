//! Hostile input never panics and never hangs: random bytes, and real .proto
//! fixtures with random edits, go through the loader and every rule.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use contractor_proto::{Input, load, registry};
use proptest::prelude::*;

/// Runs `work` on a thread and fails if it takes longer than `limit`:
/// a hang becomes a test failure instead of a stuck CI job.
fn within<T: Send + 'static>(limit: Duration, work: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .stack_size(8 << 20)
        .spawn(move || {
            let _ = tx.send(work());
        })
        .unwrap();
    rx.recv_timeout(limit)
        .expect("timed out (or panicked): possible hang")
}

fn memory(text: String) -> Input {
    let files = BTreeMap::from([("a.proto".to_string(), text)]);
    Input::Memory {
        files,
        display_prefix: String::new(),
        fs_root: ".".into(),
        single_file: true,
    }
}

/// Loads both texts and, if both compile, runs every rule. Errors are fine; panics are not.
fn exercise(old: String, new: String) -> bool {
    within(Duration::from_secs(20), move || {
        let old = load(&memory(old), &[]);
        let new = load(&memory(new), &[]);
        if let (Ok(old), Ok(new)) = (&old, &new) {
            let rules: Vec<_> = registry().iter().collect();
            let _ = contractor_proto::diff(old, new, &rules);
            true
        } else {
            for err in [old.err(), new.err()].into_iter().flatten() {
                assert!(!err.message.is_empty());
                assert!(!err.message.contains('\n'), "errors are one line");
            }
            false
        }
    })
}

fn corpus() -> Vec<String> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap().filter_map(Result::ok) {
            let p = entry.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|e| e == "proto") {
                out.push(p);
            }
        }
    }
    let mut paths = Vec::new();
    walk(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/breaking"),
        &mut paths,
    );
    paths.sort();
    paths
        .into_iter()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .filter(|t| !t.contains("edition"))
        .collect()
}

#[derive(Debug, Clone)]
enum Edit {
    Delete { at: usize, len: usize },
    Insert { at: usize, text: String },
    Duplicate { at: usize, len: usize },
}

fn apply(text: &str, edits: &[Edit]) -> String {
    let mut bytes = text.as_bytes().to_vec();
    for edit in edits {
        let n = bytes.len().max(1);
        match edit {
            Edit::Delete { at, len } => {
                let at = at % n;
                let end = (at + len).min(bytes.len());
                bytes.drain(at.min(end)..end);
            }
            Edit::Insert { at, text } => {
                let at = (at % n).min(bytes.len());
                bytes.splice(at..at, text.bytes());
            }
            Edit::Duplicate { at, len } => {
                let at = (at % n).min(bytes.len());
                let end = (at + len).min(bytes.len());
                let piece = bytes[at..end].to_vec();
                bytes.splice(at..at, piece);
            }
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

fn edit() -> impl Strategy<Value = Edit> {
    let token = prop_oneof![
        Just("{".to_string()),
        Just("}".to_string()),
        Just(";".to_string()),
        Just("= 1".to_string()),
        Just("repeated ".to_string()),
        Just("optional ".to_string()),
        Just("map<string, int32> m = 9;".to_string()),
        Just("oneof o { int32 z = 7; }".to_string()),
        Just("reserved 1 to max;".to_string()),
        Just("extensions 100 to 199;".to_string()),
        Just("\"".to_string()),
        Just("/*".to_string()),
        "[a-zA-Z_0-9 .=;{}<>\\[\\]()\"/\n-]{0,12}",
    ];
    prop_oneof![
        (any::<usize>(), 1usize..20).prop_map(|(at, len)| Edit::Delete { at, len }),
        (any::<usize>(), token).prop_map(|(at, text)| Edit::Insert { at, text }),
        (any::<usize>(), 1usize..80).prop_map(|(at, len)| Edit::Duplicate { at, len }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let text = String::from_utf8_lossy(&bytes).into_owned();
        exercise(text.clone(), text);
    }

    #[test]
    fn mutated_protos_never_panic(index in any::<usize>(), edits in proptest::collection::vec(edit(), 1..6)) {
        let corpus = corpus();
        let original = &corpus[index % corpus.len()];
        let mutated = apply(original, &edits);
        exercise(original.clone(), mutated.clone());
        exercise(mutated, original.clone());
    }
}

#[test]
fn deep_nesting_is_refused_with_a_position() {
    let depth = 20_000;
    let text = format!(
        "syntax = \"proto3\";\n{}{}",
        "message A { ".repeat(depth),
        "}".repeat(depth)
    );
    let err = within(Duration::from_secs(20), move || {
        load(&memory(text), &[]).err()
    })
    .expect("refused");
    assert!(err.position.is_some(), "{err}");
}

#[test]
fn a_large_module_loads() {
    // 5,000 messages of 10 fields: the loader and the index stay linear.
    let mut text = String::from("syntax = \"proto3\";\npackage big;\n");
    for m in 0..5_000 {
        text.push_str(&format!("message M{m} {{\n"));
        for f in 1..=10 {
            text.push_str(&format!("  string f{f} = {f};\n"));
        }
        text.push_str("}\n");
    }
    let ok = within(Duration::from_secs(60), move || {
        exercise(text.clone(), text)
    });
    assert!(ok);
}
