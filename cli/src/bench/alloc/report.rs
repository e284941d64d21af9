//! The `bench alloc` report: ns per alloc+free pair per allocator, and the ratios.

use std::fmt::Write as _;

use serde::Serialize;

use super::allocators::Allocator;
use super::workload::CHURN_BLOCKS;
use crate::bench::BenchError;

/// A workload.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "workload", rename_all = "snake_case")]
pub enum Workload {
    /// Alloc+free pairs of one size on one thread.
    Pairs {
        /// Bytes per block.
        size: usize,
    },
    /// Random sizes, blocks freed by other threads.
    Churn {
        /// Threads.
        threads: usize,
    },
}

impl Workload {
    /// The name shown.
    pub fn label(self) -> String {
        match self {
            Workload::Pairs { size } => format!("alloc+free {size} B"),
            Workload::Churn { threads } => format!("churn, {threads} threads"),
        }
    }
}

/// The figures of one allocator in one workload.
#[derive(Clone, Debug, Serialize)]
pub struct AllocatorFigures {
    /// The allocator.
    pub allocator: Allocator,
    /// Median nanoseconds per pair.
    pub ns_per_pair: f64,
    /// Every sample, in the order taken.
    pub samples_ns: Vec<f64>,
}

/// One workload through every allocator.
#[derive(Clone, Debug, Serialize)]
pub struct AllocResult {
    /// What ran.
    #[serde(flatten)]
    pub workload: Workload,
    /// Per allocator, QuotaAllocator first.
    pub allocators: Vec<AllocatorFigures>,
    /// QuotaAllocator ÷ bare mimalloc (the cost of the accounting).
    pub quota_vs_mimalloc: f64,
    /// QuotaAllocator ÷ System.
    pub quota_vs_system: f64,
}

fn median(samples: &[f64]) -> f64 {
    let mut s = samples.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    if n == 0 {
        0.0
    } else if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    }
}

impl AllocResult {
    /// From the samples, in [`Allocator::ALL`] order.
    pub fn new(workload: Workload, samples: [Vec<f64>; 3]) -> AllocResult {
        let allocators: Vec<AllocatorFigures> = Allocator::ALL
            .into_iter()
            .zip(samples)
            .map(|(allocator, samples_ns)| AllocatorFigures {
                allocator,
                ns_per_pair: median(&samples_ns),
                samples_ns,
            })
            .collect();
        let ns = |i: usize| allocators[i].ns_per_pair;
        AllocResult {
            workload,
            quota_vs_mimalloc: ns(0) / ns(1),
            quota_vs_system: ns(0) / ns(2),
            allocators,
        }
    }

    /// One line for the progress display.
    pub fn summary(&self) -> String {
        self.allocators
            .iter()
            .map(|a| format!("{} {:.1} ns", a.allocator.name(), a.ns_per_pair))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Everything `bench alloc` measured.
#[derive(Clone, Debug, Serialize)]
pub struct AllocReport {
    /// `alloc`.
    pub benchmark: &'static str,
    /// membudget's version.
    pub version: &'static str,
    /// Samples per workload and allocator.
    pub samples: usize,
    /// Milliseconds per sample.
    pub sample_ms: u64,
    /// Live blocks per churn thread.
    pub churn_blocks_per_thread: usize,
    /// One entry per workload.
    pub results: Vec<AllocResult>,
}

impl AllocReport {
    /// The report of `results`.
    pub fn new(samples: usize, sample_ms: u64, results: Vec<AllocResult>) -> AllocReport {
        AllocReport {
            benchmark: "alloc",
            version: env!("CARGO_PKG_VERSION"),
            samples,
            sample_ms,
            churn_blocks_per_thread: CHURN_BLOCKS,
            results,
        }
    }
}

/// The table.
pub fn text(report: &AllocReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "membudget bench alloc: GlobalAlloc methods called directly, median of {} samples of {} \
         ms, interleaved; ns per alloc+free pair (churn: per pair and thread, {} live blocks of \
         16..2048 B per thread, freed by another thread); figures vary from run to run",
        report.samples, report.sample_ms, report.churn_blocks_per_thread
    );
    out.push('\n');
    let mut rows = vec![vec![
        "workload".to_owned(),
        "QuotaAllocator".to_owned(),
        "mimalloc".to_owned(),
        "System".to_owned(),
        "Quota ÷ mimalloc".to_owned(),
        "Quota ÷ System".to_owned(),
    ]];
    for r in &report.results {
        let mut row = vec![r.workload.label()];
        row.extend(
            r.allocators
                .iter()
                .map(|a| format!("{:.1} ns", a.ns_per_pair)),
        );
        row.push(format!("{:.2}×", r.quota_vs_mimalloc));
        row.push(format!("{:.2}×", r.quota_vs_system));
        rows.push(row);
    }
    let widths: Vec<usize> = (0..rows[0].len())
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    for row in &rows {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            let pad = " ".repeat(widths[c] - cell.chars().count());
            if c == 0 {
                line.push_str(cell);
                line.push_str(&pad);
            } else {
                line.push_str("  ");
                line.push_str(&pad);
                line.push_str(cell);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out.push('\n');
    out.push_str(
        "Quota ÷ mimalloc is the price of exact per-category accounting over the same mimalloc.\n",
    );
    out
}

/// The JSON document.
pub fn json(report: &AllocReport) -> String {
    let mut s = serde_json::to_string_pretty(report).expect("the report serializes");
    s.push('\n');
    s
}

#[derive(Serialize)]
struct CsvRow {
    workload: &'static str,
    size: Option<usize>,
    threads: usize,
    quota_allocator_ns: f64,
    mimalloc_ns: f64,
    system_ns: f64,
    quota_vs_mimalloc: f64,
    quota_vs_system: f64,
}

/// The CSV text, one row per workload.
///
/// # Errors
/// [`BenchError::Io`] if the CSV writer fails.
pub fn csv(report: &AllocReport) -> Result<String, BenchError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    for r in &report.results {
        let (workload, size, threads) = match r.workload {
            Workload::Pairs { size } => ("pairs", Some(size), 1),
            Workload::Churn { threads } => ("churn", None, threads),
        };
        w.serialize(CsvRow {
            workload,
            size,
            threads,
            quota_allocator_ns: r.allocators[0].ns_per_pair,
            mimalloc_ns: r.allocators[1].ns_per_pair,
            system_ns: r.allocators[2].ns_per_pair,
            quota_vs_mimalloc: r.quota_vs_mimalloc,
            quota_vs_system: r.quota_vs_system,
        })
        .map_err(|e| BenchError::io("write CSV", e))?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| BenchError::io("write CSV", e.error()))?;
    String::from_utf8(bytes).map_err(|e| BenchError::io("write CSV", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        let r = AllocResult::new(
            Workload::Pairs { size: 16 },
            [vec![12.0, 13.0, 11.0], vec![10.0; 3], vec![20.0; 3]],
        );
        assert_eq!(r.allocators[0].ns_per_pair, 12.0);
        assert!((r.quota_vs_mimalloc - 1.2).abs() < 1e-12);
        assert!((r.quota_vs_system - 0.6).abs() < 1e-12);
    }
}
