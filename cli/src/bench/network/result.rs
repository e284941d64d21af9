//! `RunResult`: one run's figures and checks, computed from what the threads counted.

use serde::Serialize;

use super::grid::Scenario;
use super::pipeline::PipelineOutcome;
use super::record::RecordCheck;
use super::source::SourceKind;
use super::stats::{latency_histogram, WriterStats};

/// Request latency (request → buffer in hand) in nanoseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct LatencySummary {
    /// Requests measured.
    pub count: u64,
    /// Median.
    pub p50: u64,
    /// 99th percentile.
    pub p99: u64,
    /// 99.9th percentile.
    pub p999: u64,
    /// Largest.
    pub max: u64,
    /// Mean.
    pub mean: f64,
}

/// How the buffer source of a run was sized, per writer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolSizing {
    /// The smallest writer pool's size after redistribution.
    pub buffers: usize,
    /// The most buffers one writer may have out (size + the overdraft it can get).
    pub limit: usize,
}

/// One run: a scenario with one buffer source.
#[derive(Clone, Debug, Serialize)]
pub struct RunResult {
    /// Record writers.
    pub writers: usize,
    /// Channels per writer.
    pub channels: usize,
    /// Flush timeout in ms (0: after every record).
    pub flush_timeout_ms: u64,
    /// Configured buffers-per-channel.
    pub buffers_per_channel: usize,
    /// The buffer source, as shown.
    pub source: &'static str,
    /// The buffer source, for scripts.
    pub source_id: SourceKind,
    /// Each writer pool's guaranteed buffers (Flink: channels + 1).
    pub pool_min: usize,
    /// Each writer pool's maximum (Flink: channels × buffers-per-channel + floating).
    pub pool_max: usize,
    /// The smallest writer pool's size after the network pool's redistribution.
    pub pool_buffers: usize,
    /// The most buffers one writer may have out (baselines get the same).
    pub pool_limit: usize,
    /// Measured seconds.
    pub measured_s: f64,
    /// Records serialized per millisecond (flink-benchmarks' unit).
    pub records_per_ms: f64,
    /// Record bytes (without the length headers) per second, in GiB.
    pub payload_gib_per_s: f64,
    /// Buffers handed to readers per second.
    pub buffers_per_s: f64,
    /// Request → buffer in hand.
    pub request_latency_ns: LatencySummary,
    /// Share of the writers' time spent waiting for a buffer.
    pub backpressured_fraction: f64,
    /// Most buffers the writers' sources held at once (sampled).
    pub peak_buffers_held: usize,
    /// The same in bytes.
    pub peak_bytes_held: u64,
    /// The memory category those bytes are charged to.
    pub memory: &'static str,
    /// Records written over the whole run.
    pub records_written: u64,
    /// Records the readers deserialized.
    pub records_read: u64,
    /// Whether the readers' checksum equals the writers'.
    pub checksum_matches: bool,
    /// Whether every channel delivered its records in order, none lost or repeated, and ended
    /// at a record boundary.
    pub records_in_order: bool,
    /// Buffers requested.
    pub buffers_requested: u64,
    /// Buffers handed over.
    pub buffers_sent: u64,
    /// Buffers the readers consumed and recycled.
    pub buffers_read: u64,
    /// Whether every buffer came back to its source (and, for the LocalBufferPool, every
    /// segment to the NetworkBufferPool once the pools were destroyed).
    pub buffers_returned: bool,
    /// Throughput ÷ the LocalBufferPool's in the same scenario.
    pub throughput_vs_local_buffer_pool: Option<f64>,
    /// p99 latency ÷ the LocalBufferPool's in the same scenario.
    pub p99_latency_vs_local_buffer_pool: Option<f64>,
}

impl RunResult {
    /// Figures from `outcome`; `returned` says whether every buffer came back.
    pub fn new(
        scenario: &Scenario,
        source: SourceKind,
        sizing: PoolSizing,
        record_size: usize,
        segment_size: usize,
        outcome: &PipelineOutcome,
        returned: bool,
    ) -> RunResult {
        let secs = outcome.measured.as_secs_f64().max(f64::MIN_POSITIVE);
        let sum = |f: fn(&WriterStats) -> u64| outcome.writers.iter().map(f).sum::<u64>();
        let measured_records = sum(|w| w.window.records);
        let mut latency = latency_histogram();
        for w in &outcome.writers {
            // Same bounds, so adding cannot fail.
            let _ = latency.add(&w.window.latency);
        }
        let backpressured_ns = sum(|w| w.window.backpressured_ns) as f64;
        let mut check = RecordCheck::default();
        for r in &outcome.readers {
            check.merge(&r.check);
        }
        let incomplete: u64 = outcome.readers.iter().map(|r| r.incomplete_channels).sum();
        let written_checksum = outcome
            .writers
            .iter()
            .fold(0u64, |s, w| s.wrapping_add(w.checksum));
        RunResult {
            writers: scenario.writers,
            channels: scenario.channels,
            flush_timeout_ms: scenario.flush.millis(),
            buffers_per_channel: scenario.buffers_per_channel,
            source: source.name(),
            source_id: source,
            pool_min: scenario.pool.min,
            pool_max: scenario.pool.max,
            pool_buffers: sizing.buffers,
            pool_limit: sizing.limit,
            measured_s: secs,
            records_per_ms: measured_records as f64 / secs / 1e3,
            payload_gib_per_s: (measured_records as f64 * record_size as f64)
                / secs
                / f64::from(1u32 << 30),
            buffers_per_s: sum(|w| w.window.buffers) as f64 / secs,
            request_latency_ns: LatencySummary {
                count: latency.len(),
                p50: latency.value_at_quantile(0.5),
                p99: latency.value_at_quantile(0.99),
                p999: latency.value_at_quantile(0.999),
                max: latency.max(),
                mean: latency.mean(),
            },
            backpressured_fraction: (backpressured_ns / (secs * 1e9 * scenario.writers as f64))
                .min(1.0),
            peak_buffers_held: outcome.peak_held,
            peak_bytes_held: outcome.peak_held as u64 * segment_size as u64,
            memory: source.memory(),
            records_written: sum(|w| w.records),
            records_read: check.records,
            checksum_matches: check.checksum == written_checksum,
            records_in_order: check.out_of_order == 0 && check.bad_headers == 0 && incomplete == 0,
            buffers_requested: sum(|w| w.buffers_requested),
            buffers_sent: sum(|w| w.buffers_sent),
            buffers_read: outcome.readers.iter().map(|r| r.buffers).sum(),
            buffers_returned: returned,
            throughput_vs_local_buffer_pool: None,
            p99_latency_vs_local_buffer_pool: None,
        }
    }

    /// Sets the ratios against the LocalBufferPool's run of the same scenario.
    pub fn compare_with(&mut self, local: &RunResult) {
        self.throughput_vs_local_buffer_pool = ratio(self.records_per_ms, local.records_per_ms);
        self.p99_latency_vs_local_buffer_pool = ratio(
            self.request_latency_ns.p99 as f64,
            local.request_latency_ns.p99 as f64,
        );
    }

    /// What is wrong with the run, if anything (empty when every check passed).
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.records_written != self.records_read {
            out.push(format!(
                "{} records were written but {} read",
                self.records_written, self.records_read
            ));
        }
        if !self.checksum_matches {
            out.push("the records read do not add up to the records written".to_owned());
        }
        if !self.records_in_order {
            out.push("a channel delivered records out of order, damaged or cut".to_owned());
        }
        if self.buffers_requested != self.buffers_sent || self.buffers_sent != self.buffers_read {
            out.push(format!(
                "{} buffers were requested, {} sent and {} read",
                self.buffers_requested, self.buffers_sent, self.buffers_read
            ));
        }
        if !self.buffers_returned {
            out.push("not every buffer came back to its pool".to_owned());
        }
        if self.records_written == 0 {
            out.push("no record was written".to_owned());
        }
        out
    }
}

fn ratio(a: f64, b: f64) -> Option<f64> {
    (b > 0.0 && a.is_finite()).then(|| a / b)
}
