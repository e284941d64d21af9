//! `membudget bench`: buffer throughput (`network`) and allocator cost (`alloc`), each beside
//! its baselines in the same process and run.

mod alloc;
pub mod args;
mod error;
mod network;
mod output;
mod progress;

use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;

pub use error::BenchError;

use args::{BenchArgs, BenchCommand};

/// Runs `membudget bench`; errors go to stderr with their exit status.
pub fn run(args: &BenchArgs) -> ExitCode {
    let outcome = match &args.command {
        BenchCommand::Network(a) => network::run(a),
        BenchCommand::Alloc(a) => alloc::run(a),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let stderr = io::stderr();
            let text = if stderr.is_terminal() {
                format!("\x1b[31m{e}\x1b[0m")
            } else {
                e.to_string()
            };
            let _ = writeln!(stderr.lock(), "{text}");
            e.exit_code()
        }
    }
}
