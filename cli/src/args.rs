//! Command-line arguments.

use std::path::PathBuf;

use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use clap::{Args, Parser, Subcommand};
use membudget_model::render::OutputFormat;
use membudget_model::Role;

/// membudget: Flink's process memory model as per-category memory budgets.
#[derive(Debug, Parser)]
#[command(name = "membudget", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Derive a worker's memory plan (Flink's TaskManager/JobManager memory model) and print it.
    ///
    /// Sources, later winning: Flink's defaults < --config FILE < environment
    /// (FLINK_TM_HEAP/FLINK_JM_HEAP, FLINK_PROPERTIES, MEMBUDGET_* variables) < -D key=value. When
    /// nothing sizes the process, the container (cgroup) memory limit becomes the process size;
    /// without a limit Flink's distribution default is used (1728m / 1600m). --no-container
    /// turns both off.
    Plan(PlanArgs),
    /// Benchmark network buffer throughput (`network`) or allocator cost (`alloc`) on this
    /// machine, each beside its baselines.
    Bench(crate::bench::args::BenchArgs),
}

/// Arguments of `membudget plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The process to plan for.
    #[arg(long, value_parser = role_parser(), default_value_t = Role::TaskManager)]
    pub role: Role,

    /// A configuration file: flink-conf.yaml (flat), config.yaml (nested) or appsettings.json.
    #[arg(long, value_name = "FILE")]
    pub config: Vec<PathBuf>,

    /// A dynamic property, e.g. -D taskmanager.memory.process.size=2g (repeatable).
    #[arg(short = 'D', value_name = "KEY=VALUE", allow_hyphen_values = true)]
    pub dynamic: Vec<String>,

    /// Plan exactly as Flink would: ignore the container (cgroup) memory limit and do not fall
    /// back to the distribution default process size (with nothing configured this is Flink's
    /// "Either required fine-grained memory ..." error).
    #[arg(long)]
    pub no_container: bool,

    /// Output format.
    #[arg(long, value_parser = format_parser(), default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,

    /// Read cgroup information below DIR (DIR/proc/self/cgroup, DIR/proc/self/mountinfo and
    /// the mount points below DIR) instead of / — for tests and for inspecting another root.
    #[arg(long, value_name = "DIR", hide = true)]
    pub cgroup_root: Option<PathBuf>,
}

/// `--role` values: the model's [`Role`]s by name, each with a line of help.
fn role_parser() -> impl TypedValueParser<Value = Role> {
    let values = Role::ALL.map(|role| {
        PossibleValue::new(role.name()).help(match role {
            Role::TaskManager => "A TaskManager (TaskExecutor)",
            Role::JobManager => "A JobManager",
        })
    });
    PossibleValuesParser::new(values).try_map(|name| name.parse::<Role>())
}

/// `--format` values: the model's [`OutputFormat`]s by name, with their descriptions.
fn format_parser() -> impl TypedValueParser<Value = OutputFormat> {
    let values = OutputFormat::ALL.map(|f| PossibleValue::new(f.name()).help(f.description()));
    PossibleValuesParser::new(values).try_map(|name| name.parse::<OutputFormat>())
}
