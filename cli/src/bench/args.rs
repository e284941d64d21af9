//! Arguments of `membudget bench`.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

/// Arguments of `membudget bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// What to measure.
    #[command(subcommand)]
    pub command: BenchCommand,
}

/// The benchmarks.
#[derive(Debug, Subcommand)]
// Parsed once at start-up; boxing the larger variant would buy nothing.
#[allow(clippy::large_enum_variant)]
pub enum BenchCommand {
    /// Network buffer throughput: writer threads serialize records into buffers from their
    /// LocalBufferPools and hand them to reader threads, beside the same pipeline over a
    /// Mutex<VecDeque> pool and over a Vec<u8> allocated per buffer.
    ///
    /// Network memory (buffer count, segment size) comes from the plan, read from the same
    /// sources as `membudget plan`; each writer's pool is sized like a Flink pipelined-bounded
    /// result partition. Results go to stdout, progress to stderr. Exit status: 0 when every
    /// run passed its checks (records in = records out, in order, every buffer returned, the
    /// network budget balanced), 1 when one did not, 2 for invalid settings.
    Network(NetworkArgs),
    /// Allocator cost: alloc+free pairs of several sizes and a cross-thread churn workload,
    /// through QuotaAllocator, bare mimalloc and the system allocator in one process.
    Alloc(AllocArgs),
}

/// Arguments of `membudget bench network`.
#[derive(Debug, Args)]
pub struct NetworkArgs {
    /// A configuration file: flink-conf.yaml (flat), config.yaml (nested) or appsettings.json.
    #[arg(long, value_name = "FILE")]
    pub config: Vec<PathBuf>,

    /// A dynamic property, e.g. -D taskmanager.memory.process.size=2g or
    /// -D taskmanager.network.memory.floating-buffers-per-gate=16 (repeatable).
    #[arg(short = 'D', value_name = "KEY=VALUE", allow_hyphen_values = true)]
    pub dynamic: Vec<String>,

    /// Plan as Flink would: ignore the container memory limit and the distribution default.
    #[arg(long)]
    pub no_container: bool,

    /// Record writers (threads), one result partition and LocalBufferPool each [default: 4].
    #[arg(long, value_name = "N")]
    pub writers: Option<usize>,

    /// Reader threads consuming the channels (flink-benchmarks uses one receiver) [default: 1].
    #[arg(long, value_name = "N")]
    pub readers: Option<usize>,

    /// Channels (subpartitions) per writer; records go round-robin [default: 100].
    #[arg(long, value_name = "N", conflicts_with = "grid")]
    pub channels: Option<usize>,

    /// Network buffers in the NetworkBufferPool [default: the plan's network memory / segment
    /// size]; charged to the plan's network quota.
    #[arg(long, value_name = "N")]
    pub buffers: Option<usize>,

    /// Segment (buffer) size, e.g. 32kb; sets taskmanager.memory.segment-size for the plan
    /// [default: the plan's, 32kb].
    #[arg(long, value_name = "SIZE")]
    pub segment_size: Option<String>,

    /// Exclusive buffers per outgoing channel (Flink's
    /// taskmanager.network.memory.buffers-per-channel); a comma-separated list runs each
    /// [default: the configured value, 2].
    #[arg(long, value_name = "N[,N...]", value_delimiter = ',')]
    pub buffers_per_channel: Vec<usize>,

    /// Record size in bytes, serialized after a 4-byte length header like Flink's records
    /// [default: 8, a LongValue].
    #[arg(long, value_name = "BYTES")]
    pub record_size: Option<usize>,

    /// Output flush interval in milliseconds: partially filled buffers are handed over this
    /// often; 0 hands over after every record [default: 100].
    #[arg(long, value_name = "MS", conflicts_with = "grid")]
    pub flush_timeout: Option<u64>,

    /// Measured seconds per run, after a warm-up of a quarter of it (at most 1 s)
    /// [default: 2; 1 with --grid quick].
    #[arg(long, value_name = "SECONDS")]
    pub duration: Option<f64>,

    /// A preset grid of channels × flush timeout: `flink` is flink-benchmarks'
    /// StreamNetworkThroughputBenchmark (4 writers; 100,100ms / 1000,1ms / 1000,100ms), `quick`
    /// a 20-second subset (100 channels, 100 ms, buffers-per-channel 1,2,4,8).
    #[arg(long, value_enum)]
    pub grid: Option<GridArg>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,

    /// Baselines run beside the LocalBufferPool, same pipeline, only the buffer source
    /// swapped: `mutex` (a Mutex<VecDeque> pool, Flink's locking design), `vec` (a Vec<u8>
    /// allocated per buffer), or `none`.
    #[arg(
        long,
        value_enum,
        value_name = "LIST",
        value_delimiter = ',',
        default_value = "mutex,vec"
    )]
    pub baseline: Vec<BaselineArg>,

    /// Also draw throughput against buffers-per-channel, one line per buffer source, to
    /// FILE.svg or FILE.png.
    #[arg(long, value_name = "FILE")]
    pub plot: Option<PathBuf>,

    /// Check the settings and print the runs that would be made, without running them.
    #[arg(long)]
    pub dry_run: bool,
}

/// `--grid` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum GridArg {
    /// flink-benchmarks' StreamNetworkThroughputBenchmark grid.
    Flink,
    /// A subset that finishes in about 20 seconds.
    Quick,
}

/// `--baseline` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum BaselineArg {
    /// A Mutex<VecDeque> pool of preallocated segments (Flink's locking LocalBufferPool).
    Mutex,
    /// A Vec<u8> allocated for every buffer and freed when it is consumed.
    Vec,
    /// No baseline.
    None,
}

/// `--format` values of the benchmarks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// A results table.
    Text,
    /// One JSON document (for scripts).
    Json,
    /// CSV, one row per run, with a header row.
    Csv,
}

/// Arguments of `membudget bench alloc`.
#[derive(Debug, Args)]
pub struct AllocArgs {
    /// Block sizes of the alloc+free pairs, in bytes.
    #[arg(
        long,
        value_name = "BYTES[,BYTES...]",
        value_delimiter = ',',
        default_value = "16,64,256,4096,65536"
    )]
    pub sizes: Vec<usize>,

    /// Samples per workload and allocator; the median is reported.
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub samples: usize,

    /// Milliseconds per sample.
    #[arg(long, value_name = "MS", default_value_t = 40)]
    pub sample_ms: u64,

    /// Threads of the churn workload (each frees blocks another allocated).
    #[arg(long, value_name = "N", default_value_t = 2)]
    pub churn_threads: usize,

    /// Output format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,

    /// Check the arguments and print the workloads that would run, without running them.
    #[arg(long)]
    pub dry_run: bool,
}
