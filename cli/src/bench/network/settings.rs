//! `NetworkSettings`: the arguments, the plan and Flink's network options turned into the list
//! of runs, checked up front so an impossible setting fails before anything runs.

use std::path::PathBuf;
use std::time::Duration;

use membudget_allocator::Quotas;
use membudget_bufferpool::BufferPoolError;
use membudget_model::{MemorySize, PlanRequest, Role, Source};

use super::grid::{
    FlushTimeout, Scenario, FLINK_GRID, FLINK_GRID_WRITERS, QUICK_BUFFERS_PER_CHANNEL, QUICK_GRID,
};
use super::partition_pool::PartitionPoolShape;
use super::record::{RecordLayout, MAX_RECORD_SIZE};
use super::shuffle_options::ShuffleOptions;
use super::source::SourceKind;
use crate::bench::args::{BaselineArg, GridArg, NetworkArgs};
use crate::bench::BenchError;

/// Record writers unless `--writers` says otherwise (flink-benchmarks' 4).
const DEFAULT_WRITERS: usize = FLINK_GRID_WRITERS;
/// Channels unless `--channels` says otherwise (flink-benchmarks' first point).
const DEFAULT_CHANNELS: usize = 100;
/// Flush timeout unless `--flush-timeout` says otherwise (flink-benchmarks' first point).
const DEFAULT_FLUSH_MS: u64 = 100;
/// A `LongValue`.
const DEFAULT_RECORD_SIZE: usize = 8;
/// Limits that keep the per-channel state and thread count sane.
const MAX_WRITERS: usize = 256;
const MAX_READERS: usize = 64;
const MAX_WRITER_CHANNELS: usize = 1_000_000;
const MAX_FLUSH_MS: u64 = 3_600_000;
const DURATION_RANGE: (f64, f64) = (0.01, 3600.0);
/// The warm-up is a quarter of the measured time, at most this.
const MAX_WARMUP: Duration = Duration::from_secs(1);

/// Where the network memory comes from.
#[derive(Clone, Debug)]
pub struct PlanInfo {
    /// Total Process Memory of the plan.
    pub total_process_memory: u64,
    /// Where the process size came from (e.g. `Flink distribution default`).
    pub sizing_source: String,
    /// The plan's quotas; the network quota is the plan's network memory.
    pub quotas: Quotas,
    /// The plan's network buffers (network memory / segment size).
    pub network_buffers: u64,
}

/// Everything a `bench network` invocation will do.
#[derive(Clone, Debug)]
pub struct NetworkSettings {
    /// The plan the network memory comes from.
    pub plan: PlanInfo,
    /// Buffers of the `NetworkBufferPool`.
    pub buffers: usize,
    /// Whether `buffers` was given with `--buffers` (else it is the plan's).
    pub buffers_from_flag: bool,
    /// Bytes per buffer.
    pub segment_size: usize,
    /// Record framing.
    pub layout: RecordLayout,
    /// Reader threads.
    pub readers: usize,
    /// Flink's network options used for the pool shapes.
    pub shuffle: ShuffleOptions,
    /// The topologies, in order.
    pub scenarios: Vec<Scenario>,
    /// The buffer sources run for every scenario, the LocalBufferPool first.
    pub sources: Vec<SourceKind>,
    /// Warm-up before each measurement.
    pub warmup: Duration,
    /// Measured time of each run.
    pub duration: Duration,
    /// The preset grid, if any.
    pub grid: Option<GridArg>,
    /// Where to draw the plot.
    pub plot: Option<PathBuf>,
}

impl NetworkSettings {
    /// Resolves `args`: the plan (same sources as `membudget plan`), Flink's network options,
    /// the grid; checks every scenario fits the network buffers.
    ///
    /// # Errors
    /// [`BenchError::Invalid`] naming the setting, its value, the limit and what to change.
    pub fn resolve(args: &NetworkArgs) -> Result<NetworkSettings, BenchError> {
        let plan = plan_info(args)?;
        let shuffle = ShuffleOptions::read(
            &args.config,
            std::env::var(membudget_model::config::FLINK_PROPERTIES)
                .ok()
                .as_deref(),
            &args.dynamic,
        )?;
        let segment_size = usize::try_from(plan.1).map_err(|_| {
            BenchError::Invalid(format!("The segment size {} is too large.", plan.1))
        })?;
        let plan = plan.0;

        let buffers = match args.buffers {
            Some(0) => {
                return Err(BenchError::Invalid(
                    "--buffers must be at least 1.".to_owned(),
                ))
            }
            Some(n) => n,
            None => usize::try_from(plan.network_buffers).unwrap_or(usize::MAX),
        };
        if buffers == 0 {
            return Err(BenchError::Invalid(format!(
                "The plan's network memory ({}) holds no buffer of {segment_size} bytes. Increase \
                 'taskmanager.memory.network.fraction' (or .min/.max), or give --buffers.",
                MemorySize::from(plan.quotas.get(membudget_allocator::Category::Network))
                    .to_human_readable()
            )));
        }

        let writers = in_range(
            "--writers",
            args.writers.unwrap_or(DEFAULT_WRITERS),
            1,
            MAX_WRITERS,
        )?;
        let readers = in_range("--readers", args.readers.unwrap_or(1), 1, MAX_READERS)?;
        let record_size = in_range(
            "--record-size",
            args.record_size.unwrap_or(DEFAULT_RECORD_SIZE),
            1,
            MAX_RECORD_SIZE,
        )?;
        let duration = seconds(args.duration.unwrap_or(match args.grid {
            Some(GridArg::Quick) => 1.0,
            _ => 2.0,
        }))?;
        let warmup = (duration / 4).min(MAX_WARMUP);

        let configured_b = shuffle.buffers_per_channel.value;
        let (pairs, b_values): (Vec<(usize, u64)>, Vec<usize>) = match args.grid {
            Some(GridArg::Flink) => (FLINK_GRID.to_vec(), vec![configured_b]),
            Some(GridArg::Quick) => (vec![QUICK_GRID], QUICK_BUFFERS_PER_CHANNEL.to_vec()),
            None => (
                vec![(
                    args.channels.unwrap_or(DEFAULT_CHANNELS),
                    args.flush_timeout.unwrap_or(DEFAULT_FLUSH_MS),
                )],
                vec![configured_b],
            ),
        };
        let b_values = if args.buffers_per_channel.is_empty() {
            b_values
        } else {
            args.buffers_per_channel.clone()
        };

        let mut scenarios = Vec::new();
        for &(channels, flush_ms) in &pairs {
            in_range("--channels", channels, 1, MAX_WRITER_CHANNELS)?;
            if writers.saturating_mul(channels) > MAX_WRITER_CHANNELS {
                return Err(BenchError::Invalid(format!(
                    "--writers × --channels ({writers} × {channels}) must be at most \
                     {MAX_WRITER_CHANNELS}; lower one of them."
                )));
            }
            if flush_ms > MAX_FLUSH_MS {
                return Err(BenchError::Invalid(format!(
                    "--flush-timeout {flush_ms} is larger than the maximum {MAX_FLUSH_MS} ms."
                )));
            }
            for &b in &b_values {
                let pool = PartitionPoolShape::pipelined_bounded(
                    channels,
                    b,
                    shuffle.floating_buffers_per_gate.value,
                    shuffle.max_buffers_per_channel.value,
                    shuffle.max_overdraft_buffers_per_gate.value,
                )?;
                pool.config()
                    .validate()
                    .map_err(|e| BenchError::Invalid(e.to_string()))?;
                let scenario = Scenario {
                    writers,
                    channels,
                    flush: FlushTimeout::from_millis(flush_ms),
                    buffers_per_channel: b,
                    pool,
                };
                check_can_progress(&scenario, &shuffle)?;
                check_fits(&scenario, buffers, segment_size)?;
                scenarios.push(scenario);
            }
        }

        Ok(NetworkSettings {
            plan,
            buffers,
            buffers_from_flag: args.buffers.is_some(),
            segment_size,
            layout: RecordLayout::new(record_size),
            readers,
            shuffle,
            scenarios,
            sources: sources(&args.baseline)?,
            warmup,
            duration,
            grid: args.grid,
            plot: plot_path(args.plot.as_ref())?,
        })
    }

    /// Runs in total.
    pub fn runs(&self) -> usize {
        self.scenarios.len() * self.sources.len()
    }

    /// Expected wall time of one run.
    pub fn run_time(&self) -> Duration {
        self.warmup + self.duration
    }
}

/// Derives the plan exactly as `membudget plan` does; returns it and the segment size.
fn plan_info(args: &NetworkArgs) -> Result<(PlanInfo, u64), BenchError> {
    let mut request = PlanRequest::new(Role::TaskManager)
        .container(!args.no_container)
        .distribution_defaults(!args.no_container);
    for file in &args.config {
        request = request.config_file(file);
    }
    for property in &args.dynamic {
        request = request.dynamic_property(property);
    }
    if let Some(size) = &args.segment_size {
        request = request.property("taskmanager.memory.segment-size", size);
    }
    let plan = request
        .plan()
        .map_err(|e| BenchError::Invalid(e.to_string()))?;
    let tm = plan
        .as_taskmanager()
        .expect("a TaskManager request gives a TaskManager plan");
    let sizing_source = [
        "taskmanager.memory.process.size",
        "taskmanager.memory.flink.size",
        "taskmanager.memory.task.heap.size",
        "taskmanager.heap.size",
    ]
    .iter()
    .find_map(|k| {
        plan.sources()
            .get(*k)
            .filter(|s| s.is_explicit())
            .map(|s: &Source| format!("{k} from {s}"))
    })
    .unwrap_or_else(|| "configured".to_owned());
    Ok((
        PlanInfo {
            total_process_memory: tm.total_process_memory,
            sizing_source,
            quotas: plan.quotas(),
            network_buffers: tm.network_buffers,
        },
        tm.segment_size,
    ))
}

/// The minimums of all writers' pools must fit the network buffers — the check Flink's
/// `NetworkBufferPool.createBufferPool` makes, reported for the writer whose pool would fail.
fn check_fits(scenario: &Scenario, buffers: usize, segment_size: usize) -> Result<(), BenchError> {
    let min = scenario.pool.min;
    let needed = scenario.writers.saturating_mul(min);
    if needed <= buffers {
        return Ok(());
    }
    let fitting = buffers / min;
    let flink = BufferPoolError::InsufficientBuffers {
        required: min,
        available: buffers - fitting * min,
        total: buffers,
        segment_size,
    };
    Err(BenchError::Invalid(format!(
        "{flink} (membudget bench: {} writers × ({} channels + 1) = {needed} buffers are needed \
         for the result partitions' minimums; raise the network memory or --buffers, or lower \
         --channels or --writers.)",
        scenario.writers, scenario.channels
    )))
}

/// A writer keeps one partially filled buffer per channel between flushes. With
/// `max-buffers-per-channel` = 1 those alone hold every channel at its limit, so once the idle
/// buffers are used up the pool never becomes available again and a blocked writer waits
/// forever — in Flink's `LocalBufferPool` as in ours.
fn check_can_progress(scenario: &Scenario, shuffle: &ShuffleOptions) -> Result<(), BenchError> {
    let max = &shuffle.max_buffers_per_channel;
    if max.value > 1 || scenario.flush == FlushTimeout::AfterEveryRecord {
        return Ok(());
    }
    Err(BenchError::Invalid(format!(
        "'{}' = {} ({}) stalls the writers: each keeps a partially filled buffer per channel, \
         which holds every channel at its limit, so the pool stops being available once its idle \
         buffers are used up (Flink's LocalBufferPool behaves the same). Set it to at least 2, \
         or use --flush-timeout 0.",
        super::shuffle_options::MAX_BUFFERS_PER_CHANNEL.key,
        max.value,
        max.source
    )))
}

fn sources(baselines: &[BaselineArg]) -> Result<Vec<SourceKind>, BenchError> {
    let mut out = vec![SourceKind::LocalBufferPool];
    if baselines.contains(&BaselineArg::None) {
        if baselines.len() > 1 {
            return Err(BenchError::Invalid(
                "--baseline none cannot be combined with other baselines.".to_owned(),
            ));
        }
        return Ok(out);
    }
    for b in baselines {
        let kind = match b {
            BaselineArg::Mutex => SourceKind::MutexVecDeque,
            BaselineArg::Vec => SourceKind::Vec,
            BaselineArg::None => unreachable!("handled above"),
        };
        if !out.contains(&kind) {
            out.push(kind);
        }
    }
    Ok(out)
}

fn plot_path(plot: Option<&PathBuf>) -> Result<Option<PathBuf>, BenchError> {
    let Some(path) = plot else { return Ok(None) };
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase());
    match ext.as_deref() {
        Some("svg" | "png") => Ok(Some(path.clone())),
        _ => Err(BenchError::Invalid(format!(
            "--plot {}: the file name must end in .svg or .png.",
            path.display()
        ))),
    }
}

fn in_range(flag: &str, value: usize, min: usize, max: usize) -> Result<usize, BenchError> {
    if (min..=max).contains(&value) {
        Ok(value)
    } else {
        Err(BenchError::Invalid(format!(
            "{flag} {value} is out of range: it must be between {min} and {max}."
        )))
    }
}

fn seconds(s: f64) -> Result<Duration, BenchError> {
    let (lo, hi) = DURATION_RANGE;
    if s.is_finite() && (lo..=hi).contains(&s) {
        Ok(Duration::from_secs_f64(s))
    } else {
        Err(BenchError::Invalid(format!(
            "--duration {s} is out of range: it must be between {lo} and {hi} seconds."
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario(writers: usize, channels: usize) -> Scenario {
        Scenario {
            writers,
            channels,
            flush: FlushTimeout::from_millis(100),
            buffers_per_channel: 2,
            pool: PartitionPoolShape::pipelined_bounded(channels, 2, 8, 10, 5).unwrap(),
        }
    }

    #[test]
    fn fitting_minimums_pass() {
        // flink-benchmarks' largest point on the default plan's 4096 buffers.
        check_fits(&scenario(4, 1000), 4096, 32768).unwrap();
    }

    #[test]
    fn too_many_channels_is_flinks_insufficient_buffers_error() {
        let e = check_fits(&scenario(4, 1000), 3000, 32768).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Insufficient number of network buffers: required 1001, but only 998 available. The \
             total number of network buffers is currently set to 3000 of 32768 bytes each. You \
             can increase this number by setting the configuration keys \
             'taskmanager.memory.network.fraction', 'taskmanager.memory.network.min', and \
             'taskmanager.memory.network.max'. (membudget bench: 4 writers × (1000 channels + 1) \
             = 4004 buffers are needed for the result partitions' minimums; raise the network \
             memory or --buffers, or lower --channels or --writers.)"
        );
        assert!(matches!(e, BenchError::Invalid(_)));
    }

    #[test]
    fn baselines_and_plot_names() {
        assert_eq!(
            sources(&[BaselineArg::Mutex, BaselineArg::Vec, BaselineArg::Mutex]).unwrap(),
            [
                SourceKind::LocalBufferPool,
                SourceKind::MutexVecDeque,
                SourceKind::Vec
            ]
        );
        assert_eq!(
            sources(&[BaselineArg::None]).unwrap(),
            [SourceKind::LocalBufferPool]
        );
        assert!(sources(&[BaselineArg::None, BaselineArg::Vec]).is_err());
        assert!(plot_path(Some(&PathBuf::from("a.SVG"))).is_ok());
        assert!(plot_path(Some(&PathBuf::from("a.pdf"))).is_err());
        assert!(seconds(0.0).is_err() && seconds(f64::NAN).is_err() && seconds(0.5).is_ok());
    }
}
