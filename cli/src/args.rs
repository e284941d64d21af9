//! Command-line arguments.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
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
    #[arg(long, value_enum, default_value_t = RoleArg::Taskmanager)]
    pub role: RoleArg,

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
    #[arg(long, value_enum, default_value_t = FormatArg::Text)]
    pub format: FormatArg,

    /// Read cgroup information below DIR (DIR/proc/self/cgroup, DIR/proc/self/mountinfo and
    /// the mount points below DIR) instead of / — for tests and for inspecting another root.
    #[arg(long, value_name = "DIR", hide = true)]
    pub cgroup_root: Option<PathBuf>,
}

/// `--role` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum RoleArg {
    /// A TaskManager (TaskExecutor).
    Taskmanager,
    /// A JobManager.
    Jobmanager,
}

impl From<RoleArg> for Role {
    fn from(r: RoleArg) -> Role {
        match r {
            RoleArg::Taskmanager => Role::TaskManager,
            RoleArg::Jobmanager => Role::JobManager,
        }
    }
}

/// `--format` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// A tree like Flink's "Final TaskExecutor Memory configuration" log, plus quotas and
    /// sources.
    Text,
    /// The JSON plan (integers are bytes).
    Json,
    /// JVM memory arguments (-Xmx ... -XX:MaxMetaspaceSize=...).
    JvmArgs,
    /// Flink's TaskManager dynamic configs (-D taskmanager.memory.*=NNNb ...).
    DynamicConfigs,
    /// Shell export lines: MEMBUDGET_QUOTA_HEAP/DIRECT/MANAGED/NETWORK/OVERHEAD, JVM_ARGS,
    /// DOTNET_GCHeapHardLimit.
    Env,
    /// A Kubernetes container resources snippet (requests = limits).
    K8s,
}

impl From<FormatArg> for OutputFormat {
    fn from(f: FormatArg) -> OutputFormat {
        match f {
            FormatArg::Text => OutputFormat::Text,
            FormatArg::Json => OutputFormat::Json,
            FormatArg::JvmArgs => OutputFormat::JvmArgs,
            FormatArg::DynamicConfigs => OutputFormat::DynamicConfigs,
            FormatArg::Env => OutputFormat::Env,
            FormatArg::K8s => OutputFormat::K8s,
        }
    }
}
