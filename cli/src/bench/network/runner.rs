//! `membudget bench network`: resolves the settings, creates the `NetworkBufferPool` on the
//! plan's network quota, runs every scenario with the LocalBufferPool and then each baseline
//! with the same per-writer buffer limit, checks that everything balanced, and reports.

use membudget_allocator::{Budget, Category, SharedBudget};
use membudget_bufferpool::NetworkBufferPool;

use super::grid::Scenario;
use super::local_pool_source::LocalPoolSource;
use super::mutex_pool_source::MutexPoolSource;
use super::pipeline::{self, Timing};
use super::plot;
use super::report::{self, NetworkMemory, NetworkReport};
use super::result::{PoolSizing, RunResult};
use super::settings::NetworkSettings;
use super::source::{BufferSource, SourceKind};
use super::vec_source::VecSource;
use crate::bench::args::{NetworkArgs, ReportFormat};
use crate::bench::output::{nanos, print, thousands};
use crate::bench::progress::Progress;
use crate::bench::BenchError;

/// Runs `membudget bench network`.
///
/// # Errors
/// [`BenchError::Invalid`] for settings that cannot work, [`BenchError::Failed`] when a run
/// broke a check (after the report was printed), [`BenchError::Io`] when output failed.
pub fn run(args: &NetworkArgs) -> Result<(), BenchError> {
    let settings = NetworkSettings::resolve(args)?;
    // Created before a dry run returns too: it checks the buffers against the network quota.
    let budget = SharedBudget::from(Budget::new(settings.plan.quotas));
    let network = NetworkBufferPool::new(settings.buffers, settings.segment_size, budget.clone())
        .map_err(|e| {
        BenchError::Invalid(format!(
            "{e} (membudget bench: {} buffers × {} bytes{}.)",
            settings.buffers,
            settings.segment_size,
            if settings.buffers_from_flag {
                "; lower --buffers or raise the network memory"
            } else {
                ""
            }
        ))
    })?;
    let charged = budget.used(Category::Network);
    if args.dry_run {
        return print(&report::dry_run(&settings));
    }

    let mut progress = Progress::new(
        settings.runs(),
        settings.run_time() * settings.runs() as u32,
    );
    let mut results = Vec::with_capacity(settings.runs());
    for scenario in &settings.scenarios {
        let (local, limits) = run_local_pool(&network, scenario, &settings, &mut progress)?;
        let first = results.len();
        results.push(local);
        for &kind in &settings.sources[1..] {
            let mut r = match kind {
                SourceKind::MutexVecDeque => {
                    let sources: Vec<MutexPoolSource> = limits
                        .iter()
                        .map(|&l| MutexPoolSource::new(l, settings.segment_size, scenario.channels))
                        .collect();
                    run_source(
                        &sources,
                        kind,
                        &limits,
                        scenario,
                        &settings,
                        &mut progress,
                        true,
                    )?
                }
                SourceKind::Vec => {
                    let sources: Vec<VecSource> = limits
                        .iter()
                        .map(|&l| VecSource::new(l, settings.segment_size))
                        .collect();
                    run_source(
                        &sources,
                        kind,
                        &limits,
                        scenario,
                        &settings,
                        &mut progress,
                        true,
                    )?
                }
                SourceKind::LocalBufferPool => unreachable!("runs first"),
            };
            r.compare_with(&results[first]);
            results.push(r);
        }
        let local = results[first].clone();
        results[first].compare_with(&local);
    }
    progress.finish();

    drop(network);
    let used_after_teardown = budget.used(Category::Network);
    let report = NetworkReport::new(
        &settings,
        NetworkMemory {
            quota: settings.plan.quotas.get(Category::Network),
            charged,
            buffers: settings.buffers,
            segment_size: settings.segment_size,
            used_after_teardown,
        },
        results,
    );
    let text = match args.format {
        ReportFormat::Text => report::text(&report),
        ReportFormat::Json => report::json(&report),
        ReportFormat::Csv => report::csv(&report)?,
    };
    print(&text)?;
    if let Some(path) = &settings.plot {
        plot::draw(&report, path)?;
    }
    let problems = report.problems();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(BenchError::Failed(format!(
            "membudget bench: checks failed: {}",
            problems.join("; ")
        )))
    }
}

/// Runs `scenario` on fresh LocalBufferPools; returns the result and each writer's buffer
/// limit (its size after redistribution plus the overdraft it can get) for the baselines.
fn run_local_pool(
    network: &NetworkBufferPool,
    scenario: &Scenario,
    settings: &NetworkSettings,
    progress: &mut Progress,
) -> Result<(RunResult, Vec<usize>), BenchError> {
    let pools = (0..scenario.writers)
        .map(|_| {
            network
                .create_buffer_pool_with(scenario.pool.config())
                .map(LocalPoolSource::new)
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| BenchError::Invalid(e.to_string()))?;
    let sizes: Vec<usize> = pools.iter().map(|p| p.pool().num_buffers()).collect();
    let free = network
        .total_segments()
        .saturating_sub(sizes.iter().sum::<usize>());
    let overdraft = scenario.pool.max_overdraft.min(free / scenario.writers);
    let limits: Vec<usize> = sizes.iter().map(|s| s + overdraft).collect();

    let mut result = run_source(
        &pools,
        SourceKind::LocalBufferPool,
        &limits,
        scenario,
        settings,
        progress,
        false,
    )?;
    let returned = pools.iter().all(|p| p.outstanding() == 0);
    drop(pools);
    // Destroyed pools give every segment back to the network pool.
    let back =
        network.available_segments() == network.total_segments() && network.registered_pools() == 0;
    result.buffers_returned = returned && back;
    result.pool_buffers = sizes.iter().copied().min().unwrap_or(0);
    Ok((result, limits))
}

/// Runs `scenario` with `sources` (one per writer) and reports it.
fn run_source<S: BufferSource>(
    sources: &[S],
    kind: SourceKind,
    limits: &[usize],
    scenario: &Scenario,
    settings: &NetworkSettings,
    progress: &mut Progress,
    check_returned: bool,
) -> Result<RunResult, BenchError> {
    progress.start_run(format!(
        "{} ch, flush {}, {} buf/ch, {}",
        scenario.channels,
        scenario.flush,
        scenario.buffers_per_channel,
        kind.name()
    ));
    let timing = Timing {
        warmup: settings.warmup,
        duration: settings.duration,
        stall: pipeline::STALL,
    };
    let outcome = pipeline::run(
        sources,
        scenario,
        settings.layout,
        settings.readers,
        timing,
        progress,
    )?;
    let min_limit = limits.iter().copied().min().unwrap_or(0);
    let result = RunResult::new(
        scenario,
        kind,
        PoolSizing {
            buffers: min_limit,
            limit: min_limit,
        },
        settings.layout.record_size,
        settings.segment_size,
        &outcome,
        !check_returned || sources.iter().all(|s| s.outstanding() == 0),
    );
    progress.finish_run(
        settings.run_time(),
        &format!(
            "{} records/ms, p99 {}, {:.1}% backpressured",
            thousands(result.records_per_ms as u64),
            nanos(result.request_latency_ns.p99),
            result.backpressured_fraction * 100.0
        ),
    );
    Ok(result)
}
