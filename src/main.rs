//! The `palisade` command. Everything lives in the library; see `palisade::commands`.

use clap::Parser;
use std::process::ExitCode;

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
