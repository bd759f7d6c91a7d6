//! The `contractor` command. All behaviour lives in the library so that tests
//! can drive it in-process too; this only wires up the real streams.

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    // Unlocked handles: holding the stderr lock for the whole run would
    // deadlock any worker thread that prints (a panic message, say).
    let code = contractor_cli::run(
        std::env::args_os(),
        &mut std::io::stdout(),
        &mut std::io::stderr(),
    );
    std::process::exit(code);
}
