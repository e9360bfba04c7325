//! The `palisade` command. Everything lives in the library; see `palisade::commands`.

use clap::Parser;
use std::process::ExitCode;

/// mimalloc rather than glibc malloc: the pipeline makes and drops many small strings per
/// event (parsed fields, metas), and glibc's free-list consolidation was a fifth of the parse
/// stage's time (perf, `ingest/benches/parse.rs`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = palisade::cli::Cli::parse();
    match palisade::commands::dispatch(cli.command) {
        Ok(code) => code,
        Err(e) => {
            if let Some(errs) = e.downcast_ref::<palisade_runtime::config::ConfigErrors>() {
                eprint!("{errs}");
                return ExitCode::from(palisade::EXIT_CONFIG);
            }
            eprintln!("palisade: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
