//! `membudget bench alloc`: every workload through every allocator, samples interleaved
//! (allocator A, B, C, then A, B, C again …) so drift on a busy machine hits all alike; the
//! median sample is reported.

use std::alloc::Layout;
use std::time::{Duration, Instant};

use super::allocators::Allocator;
use super::report::{self, AllocReport, AllocResult, Workload};
use super::workload::ChurnSetup;
use crate::bench::args::{AllocArgs, ReportFormat};
use crate::bench::output::print;
use crate::bench::progress::Progress;
use crate::bench::BenchError;

/// Pairs per timing batch: the clock is read once per batch.
const BATCH: u64 = 10_000;
const MAX_SIZE: usize = 1 << 30;
const MAX_SAMPLES: usize = 1000;
const MAX_SAMPLE_MS: u64 = 60_000;
const MAX_CHURN_THREADS: usize = 64;

/// Runs `membudget bench alloc`.
///
/// # Errors
/// [`BenchError::Invalid`] for bad arguments, [`BenchError::Failed`] if an allocator returned
/// null, [`BenchError::Io`] if the output cannot be written.
pub fn run(args: &AllocArgs) -> Result<(), BenchError> {
    check_args(args)?;
    let sample = Duration::from_millis(args.sample_ms);
    let mut workloads: Vec<Workload> = args
        .sizes
        .iter()
        .map(|&size| Workload::Pairs { size })
        .collect();
    workloads.push(Workload::Churn {
        threads: args.churn_threads,
    });

    // Per workload: a quarter-sample warm-up and the samples, for every allocator.
    let per_workload = (sample / 4 + sample * args.samples as u32) * Allocator::ALL.len() as u32;
    if args.dry_run {
        let labels: Vec<String> = workloads.iter().map(|w| w.label()).collect();
        return print(&format!(
            "membudget bench alloc (dry run): {} through {}; {} samples of {} ms each: about {:.0} \
             s\n",
            labels.join(", "),
            Allocator::ALL.map(Allocator::name).join(", "),
            args.samples,
            args.sample_ms,
            (per_workload * workloads.len() as u32).as_secs_f64().ceil()
        ));
    }
    let mut progress = Progress::new(workloads.len(), per_workload * workloads.len() as u32);
    let mut results = Vec::with_capacity(workloads.len());
    for workload in workloads {
        let mut samples: [Vec<f64>; 3] = Default::default();
        progress.start_run(workload.label());
        // Warm every allocator's thread state and caches once before sampling.
        for a in Allocator::ALL {
            measure(a, workload, sample / 4)?;
        }
        for _ in 0..args.samples {
            for (i, a) in Allocator::ALL.into_iter().enumerate() {
                samples[i].push(measure(a, workload, sample)?);
            }
        }
        let result = AllocResult::new(workload, samples);
        progress.finish_run(per_workload, &result.summary());
        results.push(result);
    }
    progress.finish();

    let report = AllocReport::new(args.samples, args.sample_ms, results);
    let text = match args.format {
        ReportFormat::Text => report::text(&report),
        ReportFormat::Json => report::json(&report),
        ReportFormat::Csv => report::csv(&report)?,
    };
    print(&text)
}

fn check_args(args: &AllocArgs) -> Result<(), BenchError> {
    let bad = |m: String| Err(BenchError::Invalid(m));
    if args.sizes.is_empty() {
        return bad("--sizes needs at least one size.".to_owned());
    }
    if let Some(&s) = args.sizes.iter().find(|&&s| s == 0 || s > MAX_SIZE) {
        return bad(format!(
            "--sizes {s} is out of range: sizes must be between 1 and {MAX_SIZE} bytes."
        ));
    }
    if !(1..=MAX_SAMPLES).contains(&args.samples) {
        return bad(format!(
            "--samples {} is out of range: it must be between 1 and {MAX_SAMPLES}.",
            args.samples
        ));
    }
    if !(1..=MAX_SAMPLE_MS).contains(&args.sample_ms) {
        return bad(format!(
            "--sample-ms {} is out of range: it must be between 1 and {MAX_SAMPLE_MS}.",
            args.sample_ms
        ));
    }
    if !(1..=MAX_CHURN_THREADS).contains(&args.churn_threads) {
        return bad(format!(
            "--churn-threads {} is out of range: it must be between 1 and {MAX_CHURN_THREADS}.",
            args.churn_threads
        ));
    }
    Ok(())
}

/// One sample of `workload` through `a` lasting about `time`: nanoseconds per alloc+free pair
/// (for the churn, per pair and thread: wall time × threads ÷ pairs).
fn measure(a: Allocator, workload: Workload, time: Duration) -> Result<f64, BenchError> {
    let (pairs, nanos, nulls) = match workload {
        Workload::Pairs { size } => {
            let layout = Layout::from_size_align(size, 8).expect("checked size");
            let start = Instant::now();
            let (mut pairs, mut nulls) = (0, 0);
            loop {
                nulls += a.pairs(layout, BATCH);
                pairs += BATCH;
                let elapsed = start.elapsed();
                if elapsed >= time {
                    break (pairs, elapsed.as_nanos() as f64, nulls);
                }
            }
        }
        Workload::Churn { threads } => {
            let (pairs, wall, nulls) = a.churn(ChurnSetup {
                threads,
                duration: time,
            });
            (pairs, wall as f64 * threads as f64, nulls)
        }
    };
    if nulls > 0 {
        return Err(BenchError::Failed(format!(
            "membudget bench: {} returned null for {nulls} of {pairs} allocations in '{}' \
             (is MEMBUDGET_FAULT_PROBABILITY set, or memory short?)",
            a.name(),
            workload.label()
        )));
    }
    Ok(nanos / pairs.max(1) as f64)
}
