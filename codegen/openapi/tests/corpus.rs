//! Every OpenAPI document of the shared corpus loads: real production descriptions (Stripe,
//! GitHub, Twilio, OpenAI, Box), the petstores and the OAI examples, and DigitalOcean's
//! description split over ~1500 files, with every `$ref` reachable from its root resolved.
//!
//! The corpus lives beside the repository (`../shared/corpus/openapi`); on a clone without it
//! these tests pass without checking anything.

use std::path::{Path, PathBuf};

use contractor_openapi::{DocumentSet, Options, load};

fn corpus() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/openapi");
    std::fs::canonicalize(dir).ok().filter(|dir| dir.is_dir())
}

/// Root documents: files that declare `openapi` at their top level (fragments of split
/// descriptions do not; some documents sort their keys, so it can be far down).
fn documents(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().filter_map(Result::ok) {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            let declares = text
                .lines()
                .any(|line| line.starts_with("openapi:") || line.starts_with("  \"openapi\""))
                || text.starts_with("{\"openapi\"");
            if declares {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

#[test]
fn every_corpus_document_loads() {
    let Some(dir) = corpus() else {
        return;
    };
    let documents = documents(&dir);
    assert!(documents.len() >= 21, "found only {documents:?}");
    let mut failures = Vec::new();
    for path in &documents {
        match load(path) {
            Ok(set) => {
                let nodes: usize = set.files().map(|(_, f)| f.tree().len()).sum();
                assert!(nodes > 10, "{}", path.display());
            }
            Err(e) => failures.push(e.to_string()),
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn every_digitalocean_reference_resolves() {
    let Some(dir) = corpus() else {
        return;
    };
    let root = dir.join("digitalocean/DigitalOcean-public.v2.yaml");
    let mut set = load(&root).unwrap();
    // `load` resolved everything reachable already; walking again finds every reference
    // resolved, and the files it needed loaded.
    let references = set.resolve_all().unwrap();
    assert!(references > 8_000, "{references}");
    assert!(set.files().count() > 1_000);
    // Display paths stay under the directory the root was given in.
    let shown = root.parent().unwrap().display().to_string();
    for (_, file) in set.files() {
        assert!(file.display().starts_with(&shown), "{}", file.display());
        assert!(!file.display().contains("/../"), "{}", file.display());
    }
}

/// The JSON scanner and the YAML parser build the same tree, spans included, on real files.
#[test]
fn the_json_scanner_agrees_with_the_yaml_parser() {
    let Some(dir) = corpus() else {
        return;
    };
    for path in documents(&dir) {
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let as_json = DocumentSet::from_text(&path, &text, Options::default()).unwrap();
        let as_yaml =
            DocumentSet::from_text(path.with_extension("yaml"), &text, Options::default()).unwrap();
        let (a, b) = (
            as_json.tree(as_json.root_file()),
            as_yaml.tree(as_yaml.root_file()),
        );
        assert_eq!(a.len(), b.len(), "{}", path.display());
        for ((id, x), (_, y)) in a.iter().zip(b.iter()) {
            assert_eq!(x, y, "{} at {}", path.display(), a.pointer_of(id));
        }
    }
}
