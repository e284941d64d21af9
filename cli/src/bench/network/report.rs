//! The `bench network` report: a table for people, JSON and CSV for scripts.

use std::fmt::Write as _;

use serde::Serialize;

use super::record::LENGTH_HEADER;
use super::result::RunResult;
use super::settings::NetworkSettings;
use super::source::SourceKind;
use crate::bench::args::GridArg;
use crate::bench::output::{nanos, thousands};
use crate::bench::BenchError;

/// The network memory the runs used.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct NetworkMemory {
    /// The plan's network quota in bytes.
    pub quota: u64,
    /// Bytes the NetworkBufferPool charged to it (buffers × segment size).
    pub charged: u64,
    /// Buffers of the NetworkBufferPool.
    pub buffers: usize,
    /// Bytes per buffer.
    pub segment_size: usize,
    /// Network bytes still charged after the pool was dropped (0 when balanced).
    pub used_after_teardown: u64,
}

/// The settings every run shared.
#[derive(Clone, Debug, Serialize)]
pub struct SharedSettings {
    /// CPUs this process may run on (figures depend on it).
    pub cpus: usize,
    /// Reader threads.
    pub readers: usize,
    /// Bytes per record.
    pub record_size: usize,
    /// Bytes of the length header before each record.
    pub length_header: usize,
    /// Warm-up seconds per run.
    pub warmup_s: f64,
    /// Measured seconds per run.
    pub duration_s: f64,
    /// `taskmanager.network.memory.floating-buffers-per-gate`.
    pub floating_buffers_per_gate: usize,
    /// `taskmanager.network.memory.max-buffers-per-channel`.
    pub max_buffers_per_channel: usize,
    /// `taskmanager.network.memory.max-overdraft-buffers-per-gate`.
    pub max_overdraft_buffers_per_gate: usize,
    /// `flink`, `quick` or none.
    pub grid: Option<&'static str>,
    /// Whether the buffer count came from `--buffers` (else from the plan).
    pub buffers_from_flag: bool,
    /// Total Process Memory of the plan.
    pub total_process_memory: u64,
    /// What sized the plan.
    pub plan_sizing: String,
}

/// Everything `bench network` measured.
#[derive(Clone, Debug, Serialize)]
pub struct NetworkReport {
    /// `network`.
    pub benchmark: &'static str,
    /// membudget's version.
    pub version: &'static str,
    /// Shared settings.
    pub settings: SharedSettings,
    /// The network memory.
    pub network_memory: NetworkMemory,
    /// One entry per scenario and buffer source.
    pub results: Vec<RunResult>,
    /// Whether the network budget was back to 0 once the NetworkBufferPool was dropped.
    pub network_budget_balanced: bool,
    /// Whether every run passed every check and the budget balanced.
    pub checks_passed: bool,
}

impl NetworkReport {
    /// The report of `results`.
    pub fn new(
        settings: &NetworkSettings,
        network_memory: NetworkMemory,
        results: Vec<RunResult>,
    ) -> NetworkReport {
        let balanced = network_memory.used_after_teardown == 0;
        let checks_passed = balanced && results.iter().all(|r| r.problems().is_empty());
        NetworkReport {
            benchmark: "network",
            version: env!("CARGO_PKG_VERSION"),
            settings: SharedSettings {
                cpus: std::thread::available_parallelism().map_or(1, usize::from),
                readers: settings.readers,
                record_size: settings.layout.record_size,
                length_header: LENGTH_HEADER,
                warmup_s: settings.warmup.as_secs_f64(),
                duration_s: settings.duration.as_secs_f64(),
                floating_buffers_per_gate: settings.shuffle.floating_buffers_per_gate.value,
                max_buffers_per_channel: settings.shuffle.max_buffers_per_channel.value,
                max_overdraft_buffers_per_gate: settings
                    .shuffle
                    .max_overdraft_buffers_per_gate
                    .value,
                grid: settings.grid.map(|g| match g {
                    GridArg::Flink => "flink",
                    GridArg::Quick => "quick",
                }),
                buffers_from_flag: settings.buffers_from_flag,
                total_process_memory: settings.plan.total_process_memory,
                plan_sizing: settings.plan.sizing_source.clone(),
            },
            network_memory,
            results,
            network_budget_balanced: balanced,
            checks_passed,
        }
    }

    /// Every failed check, naming the run.
    pub fn problems(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .results
            .iter()
            .flat_map(|r| {
                r.problems().into_iter().map(move |p| {
                    format!(
                        "{} ({} channels, flush {} ms, {} buffers/channel): {p}",
                        r.source, r.channels, r.flush_timeout_ms, r.buffers_per_channel
                    )
                })
            })
            .collect();
        if !self.network_budget_balanced {
            out.push(format!(
                "{} bytes of network memory were still charged after the NetworkBufferPool was \
                 dropped",
                self.network_memory.used_after_teardown
            ));
        }
        out
    }
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / f64::from(1u32 << 20))
}

fn times(r: Option<f64>) -> String {
    match r {
        None => "-".to_owned(),
        Some(r) if r < 0.01 => "<0.01×".to_owned(),
        Some(r) if r < 0.1 => format!("{r:.3}×"),
        Some(r) => format!("{r:.2}×"),
    }
}

/// The table.
pub fn text(report: &NetworkReport) -> String {
    let s = &report.settings;
    let n = &report.network_memory;
    let writers = report.results.first().map_or(0, |r| r.writers);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "membudget bench network: {writers} writers → {} reader{}, {}-byte records (+{}-byte \
         length header), round-robin over each writer's channels",
        s.readers,
        if s.readers == 1 { "" } else { "s" },
        s.record_size,
        s.length_header
    );
    let _ = writeln!(
        out,
        "  network memory  {} buffers × {} bytes = {} charged to the network quota of {} \
         ({})",
        thousands(n.buffers as u64),
        n.segment_size,
        mib(n.charged),
        mib(n.quota),
        if s.buffers_from_flag {
            "--buffers".to_owned()
        } else {
            format!(
                "plan: Total Process Memory {}, {}",
                mib(s.total_process_memory),
                s.plan_sizing
            )
        }
    );
    let _ = writeln!(
        out,
        "  writer pools    Flink's pipelined-bounded result partition: min = channels + 1, max = \
         channels × buffers/channel + {} floating, ≤ {} buffers per channel, {} overdraft",
        s.floating_buffers_per_gate, s.max_buffers_per_channel, s.max_overdraft_buffers_per_gate
    );
    let _ = writeln!(
        out,
        "  timing          {:.2} s measured per run after {:.2} s warm-up; figures vary from run \
         to run",
        s.duration_s, s.warmup_s
    );
    out.push('\n');

    let header = [
        "channels",
        "flush",
        "buf/ch",
        "pool",
        "source",
        "records/ms",
        "GiB/s",
        "buffers/s",
        "p50",
        "p99",
        "p99.9",
        "backpressured",
        "held (peak)",
        "× thru",
        "× p99",
    ];
    let mut rows: Vec<Vec<String>> = vec![header.iter().map(|h| (*h).to_owned()).collect()];
    let mut previous: Option<(usize, u64, usize)> = None;
    for r in &report.results {
        let key = (r.channels, r.flush_timeout_ms, r.buffers_per_channel);
        let first = previous != Some(key);
        previous = Some(key);
        let flush = if r.flush_timeout_ms == 0 {
            "record".to_owned()
        } else {
            format!("{} ms", r.flush_timeout_ms)
        };
        rows.push(vec![
            if first {
                r.channels.to_string()
            } else {
                String::new()
            },
            if first { flush } else { String::new() },
            if first {
                r.buffers_per_channel.to_string()
            } else {
                String::new()
            },
            r.pool_limit.to_string(),
            r.source.to_owned(),
            thousands(r.records_per_ms.round() as u64),
            format!("{:.3}", r.payload_gib_per_s),
            thousands(r.buffers_per_s.round() as u64),
            nanos(r.request_latency_ns.p50),
            nanos(r.request_latency_ns.p99),
            nanos(r.request_latency_ns.p999),
            format!("{:.1}%", r.backpressured_fraction * 100.0),
            format!("{} {}", mib(r.peak_bytes_held), r.memory),
            times(r.throughput_vs_local_buffer_pool),
            times(r.p99_latency_vs_local_buffer_pool),
        ]);
    }
    out.push_str(&table(&rows, &[4]));
    out.push('\n');
    let records: u64 = report.results.iter().map(|r| r.records_read).sum();
    let buffers: u64 = report.results.iter().map(|r| r.buffers_read).sum();
    let problems = report.problems();
    if problems.is_empty() {
        let _ = writeln!(
            out,
            "checks: passed — records in = records out ({} records in {} buffers), every channel \
             in order, every buffer returned to its pool, network budget back to 0 bytes after \
             teardown",
            thousands(records),
            thousands(buffers)
        );
    } else {
        let _ = writeln!(out, "checks: FAILED");
        for p in problems {
            let _ = writeln!(out, "  ! {p}");
        }
    }
    let _ = writeln!(
        out,
        "pool = buffers each writer may hold (LocalBufferPool size + overdraft; the baselines get \
         the same); × thru and × p99 = ratio to the LocalBufferPool's figure in the same row group"
    );
    out
}

/// Columns aligned; every column right-aligned except those in `left`.
fn table(rows: &[Vec<String>], left: &[usize]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .map(|r| r.get(c).map_or(0, |s| s.chars().count()))
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            if c > 0 {
                line.push_str("  ");
            }
            let pad = widths[c] - cell.chars().count();
            if left.contains(&c) {
                line.push_str(cell);
                line.push_str(&" ".repeat(pad));
            } else {
                line.push_str(&" ".repeat(pad));
                line.push_str(cell);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// The JSON document.
pub fn json(report: &NetworkReport) -> String {
    let mut s = serde_json::to_string_pretty(report).expect("the report serializes");
    s.push('\n');
    s
}

/// One CSV row per run.
#[derive(Serialize)]
struct CsvRow<'a> {
    writers: usize,
    channels: usize,
    flush_timeout_ms: u64,
    buffers_per_channel: usize,
    source: &'a str,
    source_id: SourceKind,
    pool_min: usize,
    pool_max: usize,
    pool_buffers: usize,
    pool_limit: usize,
    measured_s: f64,
    records_per_ms: f64,
    payload_gib_per_s: f64,
    buffers_per_s: f64,
    latency_count: u64,
    latency_p50_ns: u64,
    latency_p99_ns: u64,
    latency_p999_ns: u64,
    latency_max_ns: u64,
    latency_mean_ns: f64,
    backpressured_fraction: f64,
    peak_buffers_held: usize,
    peak_bytes_held: u64,
    memory: &'a str,
    records_written: u64,
    records_read: u64,
    checksum_matches: bool,
    records_in_order: bool,
    buffers_requested: u64,
    buffers_sent: u64,
    buffers_read: u64,
    buffers_returned: bool,
    throughput_vs_local_buffer_pool: Option<f64>,
    p99_latency_vs_local_buffer_pool: Option<f64>,
}

/// The CSV text.
///
/// # Errors
/// [`BenchError::Io`] if the CSV writer fails.
pub fn csv(report: &NetworkReport) -> Result<String, BenchError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    for r in &report.results {
        let l = &r.request_latency_ns;
        w.serialize(CsvRow {
            writers: r.writers,
            channels: r.channels,
            flush_timeout_ms: r.flush_timeout_ms,
            buffers_per_channel: r.buffers_per_channel,
            source: r.source,
            source_id: r.source_id,
            pool_min: r.pool_min,
            pool_max: r.pool_max,
            pool_buffers: r.pool_buffers,
            pool_limit: r.pool_limit,
            measured_s: r.measured_s,
            records_per_ms: r.records_per_ms,
            payload_gib_per_s: r.payload_gib_per_s,
            buffers_per_s: r.buffers_per_s,
            latency_count: l.count,
            latency_p50_ns: l.p50,
            latency_p99_ns: l.p99,
            latency_p999_ns: l.p999,
            latency_max_ns: l.max,
            latency_mean_ns: l.mean,
            backpressured_fraction: r.backpressured_fraction,
            peak_buffers_held: r.peak_buffers_held,
            peak_bytes_held: r.peak_bytes_held,
            memory: r.memory,
            records_written: r.records_written,
            records_read: r.records_read,
            checksum_matches: r.checksum_matches,
            records_in_order: r.records_in_order,
            buffers_requested: r.buffers_requested,
            buffers_sent: r.buffers_sent,
            buffers_read: r.buffers_read,
            buffers_returned: r.buffers_returned,
            throughput_vs_local_buffer_pool: r.throughput_vs_local_buffer_pool,
            p99_latency_vs_local_buffer_pool: r.p99_latency_vs_local_buffer_pool,
        })
        .map_err(|e| BenchError::io("write CSV", e))?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| BenchError::io("write CSV", e.error()))?;
    String::from_utf8(bytes).map_err(|e| BenchError::io("write CSV", e))
}

/// What `--dry-run` prints: the runs that would be made.
pub fn dry_run(settings: &NetworkSettings) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "membudget bench network (dry run): {} buffers × {} bytes of network memory, {}-byte \
         records, {} reader{}",
        thousands(settings.buffers as u64),
        settings.segment_size,
        settings.layout.record_size,
        settings.readers,
        if settings.readers == 1 { "" } else { "s" }
    );
    for scenario in &settings.scenarios {
        let sources: Vec<&str> = settings.sources.iter().map(|s| s.name()).collect();
        let _ = writeln!(
            out,
            "  {scenario}: pools [{}, {}] per writer; {}",
            scenario.pool.min,
            scenario.pool.max,
            sources.join(", ")
        );
    }
    let total = settings.run_time() * settings.runs() as u32;
    let _ = writeln!(
        out,
        "{} runs of {:.2} s ({:.2} s warm-up + {:.2} s measured): about {:.0} s",
        settings.runs(),
        settings.run_time().as_secs_f64(),
        settings.warmup.as_secs_f64(),
        settings.duration.as_secs_f64(),
        total.as_secs_f64().ceil()
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratios_keep_small_values_readable() {
        assert_eq!(times(None), "-");
        assert_eq!(times(Some(0.0017)), "<0.01×");
        assert_eq!(times(Some(0.05)), "0.050×");
        assert_eq!(times(Some(1.234)), "1.23×");
    }

    #[test]
    fn table_aligns_columns() {
        let rows = vec![
            vec!["n".to_owned(), "name".to_owned()],
            vec!["100".to_owned(), "µs".to_owned()],
        ];
        assert_eq!(table(&rows, &[1]), "  n  name\n100  µs\n");
    }
}
