//! The `membudget` command.
//!
//! ```text
//! membudget plan [--role taskmanager|jobmanager] [--config FILE] [-D key=value]...
//!                [--no-container] [--format text|json|jvm-args|dynamic-configs|env|k8s]
//! membudget bench network [--config FILE] [-D key=value]... [--grid flink|quick] ...
//! membudget bench alloc [--sizes B,...] [--format text|json|csv]
//! ```
//!
//! Exit status: 0 with the plan on stdout; 2 with the error on stderr (and nothing on stdout)
//! for an invalid configuration or invalid arguments. `bench` also exits 1 when a run failed
//! its checks.

mod args;
mod bench;
mod plan;

use std::process::ExitCode;

use clap::Parser;

use args::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Plan(args) => plan::run(&args),
        Command::Bench(args) => bench::run(&args),
    }
}
