//! Command-line arguments.

use std::path::PathBuf;

use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use clap::{Args, Parser, Subcommand};
use membudget_model::config::FileFormat;
use membudget_model::render::OutputFormat;
use membudget_model::{Deployment, FlinkVersion, HostProfile, Role};

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

    /// The Flink release whose semantics to follow: 1.20 (the default: reads the 1.x legacy
    /// heap and network-buffer keys) or 2 (2.0 - 2.3: ignores them with a warning).
    #[arg(long, value_name = "VERSION", value_parser = flink_version_parser(), default_value_t = FlinkVersion::V1_20)]
    pub flink_version: FlinkVersion,

    /// How Flink is deployed, which decides what Flink 1.20's legacy heap keys mean
    /// (standalone: taskmanager.heap.size -> flink.size, jobmanager.heap.size -> heap.size;
    /// kubernetes and yarn: both -> process.size).
    #[arg(long, value_parser = deployment_parser(), default_value_t = Deployment::Standalone)]
    pub deployment: Deployment,

    /// The runtime that enforces the quotas: how the five quotas are drawn from Flink's
    /// components (Flink's components never change).
    #[arg(long, value_parser = host_parser(), default_value_t = HostProfile::Jvm)]
    pub host: HostProfile,

    /// Fail instead of warning when a configured value would not be applied (a file without
    /// memory options, a skipped line holding a memory key, an unknown memory key, a legacy key
    /// Flink 2.x ignores).
    #[arg(long)]
    pub strict: bool,

    /// Read every --config file in this format, whatever its name (otherwise flink-conf.yaml,
    /// config.yaml and *.json say their format and other names are guessed, with a warning).
    #[arg(long, value_name = "FORMAT", value_parser = config_format_parser(), requires = "config")]
    pub config_format: Option<FileFormat>,

    /// Read this section of an appsettings.json (Outer:Inner for a nested one) instead of its
    /// top-level "Flink" section.
    #[arg(long, value_name = "NAME", requires = "config")]
    pub config_section: Option<String>,

    /// Print errors in Flink's layout: the message, its "Caused by" chain and every key to
    /// change (one line by default).
    #[arg(long)]
    pub verbose: bool,

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

/// `--flink-version` values.
fn flink_version_parser() -> impl TypedValueParser<Value = FlinkVersion> {
    let values = FlinkVersion::ALL.map(|v| match v {
        FlinkVersion::V1_20 => PossibleValue::new(v.name()).help("Flink 1.20 (legacy keys mapped)"),
        FlinkVersion::V2 => PossibleValue::new(v.name())
            .aliases(["2.0", "2.1", "2.2", "2.3"])
            .help("Flink 2.0 - 2.3 (legacy keys ignored with a warning)"),
    });
    PossibleValuesParser::new(values).try_map(|name| name.parse::<FlinkVersion>())
}

/// `--deployment` values.
fn deployment_parser() -> impl TypedValueParser<Value = Deployment> {
    let values = Deployment::ALL.map(|d| PossibleValue::new(d.name()));
    PossibleValuesParser::new(values).try_map(|name| name.parse::<Deployment>())
}

/// `--host` values.
fn host_parser() -> impl TypedValueParser<Value = HostProfile> {
    let values = HostProfile::ALL.map(|h| {
        PossibleValue::new(h.name()).help(match h {
            HostProfile::Jvm => "A JVM: heap = JVM heap, overhead = metaspace + JVM overhead",
            HostProfile::Dotnet => {
                "A .NET runtime: as jvm, the heap quota exported as DOTNET_GCHeapHardLimit"
            }
            HostProfile::Native => {
                "A native process: heap = JVM heap + metaspace, overhead = JVM overhead"
            }
        })
    });
    PossibleValuesParser::new(values).try_map(|name| name.parse::<HostProfile>())
}

/// `--config-format` values.
fn config_format_parser() -> impl TypedValueParser<Value = FileFormat> {
    let values = FileFormat::ALL.map(|f| PossibleValue::new(f.name()).help(f.to_string()));
    PossibleValuesParser::new(values).try_map(|name| name.parse::<FileFormat>())
}
