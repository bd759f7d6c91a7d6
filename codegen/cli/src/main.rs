//! The `contractor` command. All behaviour lives in the library so that tests
//! can drive it in-process too; this only wires up the real streams.

fn main() {
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    let code = contractor_cli::run(std::env::args_os(), &mut stdout.lock(), &mut stderr.lock());
    std::process::exit(code);
}
