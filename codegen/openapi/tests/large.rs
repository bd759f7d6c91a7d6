//! A 100 MB document, for manual runs (too slow for CI):
//! `cargo test --release -p contractor-openapi --test large -- --ignored --nocapture`.
//! The CI-sized version of this check (a 1 MB document under a 10 kB budget) is a unit test in
//! `refs.rs`.

use std::io::Write;
use std::time::Instant;

use contractor_openapi::{Limits, Options, load, load_with};

#[test]
#[ignore = "writes and loads 100 MB; run by hand with --release"]
fn a_100_mb_document_loads_or_fails_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.yaml");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    writeln!(
        out,
        "openapi: 3.0.3\ninfo: {{title: huge, version: '1'}}\npaths: {{}}"
    )
    .unwrap();
    writeln!(out, "components:\n  schemas:").unwrap();
    let mut written = 0usize;
    let mut i = 0usize;
    while written < 100 << 20 {
        let schema = format!(
            "    S{i}:\n      type: object\n      description: schema number {i} of a very large document\n      properties:\n        id: {{type: integer, format: int64}}\n        name: {{type: string, maxLength: 200}}\n        next: {{$ref: '#/components/schemas/S{}'}}\n",
            i + 1
        );
        written += schema.len();
        out.write_all(schema.as_bytes()).unwrap();
        i += 1;
    }
    writeln!(out, "    S{i}: {{type: string}}").unwrap();
    out.flush().unwrap();
    drop(out);
    let bytes = std::fs::metadata(&path).unwrap().len();

    let start = Instant::now();
    let result = load(&path);
    let elapsed = start.elapsed();
    match &result {
        Ok(set) => println!(
            "{bytes} bytes: loaded {} nodes in {elapsed:?}",
            set.tree(set.root_file()).len()
        ),
        Err(e) => println!("{bytes} bytes: refused in {elapsed:?}: {e}"),
    }
    assert!(result.is_ok(), "{:?}", result.err());

    // Under a smaller node budget the same file is refused with a position, promptly.
    let options = Options {
        limits: Limits {
            max_nodes: 1_000_000,
            ..Limits::default()
        },
        ..Options::default()
    };
    let start = Instant::now();
    let message = load_with(&path, options).unwrap_err().to_string();
    println!("with a 1M-node budget: {message} ({:?})", start.elapsed());
    assert!(message.contains("the node limit"), "{message}");
}
