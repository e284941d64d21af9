//! One run of the pipeline: a writer thread per source, reader threads behind channel queues,
//! and the calling thread as coordinator — it flips the phases (warm-up, measure, stop), asks
//! the writers to flush every flush timeout (Flink's output flusher), samples the buffers the
//! sources hold and drives the progress display.
//!
//! ```text
//!   writer 0 ─ LocalBufferPool 0 ─┐  (channel, buffer)   ┌─ reader 0: deserialize, check, drop
//!   writer 1 ─ LocalBufferPool 1 ─┼──── queue per ──────┤            (drop = recycle)
//!      ...                        ┘     reader           └─ ...
//! ```

use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use super::control::{Phase, RunControl};
use super::grid::{FlushTimeout, Scenario};
use super::reader::read;
use super::record::RecordLayout;
use super::source::BufferSource;
use super::stats::{ReaderStats, WriterStats};
use super::writer::{write, Delivery, WriterSetup};
use crate::bench::progress::Progress;
use crate::bench::BenchError;

/// How often the coordinator wakes up when no flush is due (progress and sampling).
const TICK: Duration = Duration::from_millis(20);

/// How long a run lasts.
#[derive(Clone, Copy, Debug)]
pub struct Timing {
    /// Running before counting starts.
    pub warmup: Duration,
    /// Counted time.
    pub duration: Duration,
}

/// What the threads counted.
#[derive(Debug)]
pub struct PipelineOutcome {
    /// Per writer.
    pub writers: Vec<WriterStats>,
    /// Per reader.
    pub readers: Vec<ReaderStats>,
    /// The measured time, as the coordinator saw it.
    pub measured: Duration,
    /// The most buffers the sources held together at any sample.
    pub peak_held: usize,
}

/// Runs `scenario` with one writer per source (`sources.len() == scenario.writers`).
///
/// # Errors
/// A thread could not be started, failed or panicked.
pub fn run<S: BufferSource>(
    sources: &[S],
    scenario: &Scenario,
    layout: RecordLayout,
    readers: usize,
    timing: Timing,
    progress: &Progress,
) -> Result<PipelineOutcome, BenchError> {
    assert_eq!(sources.len(), scenario.writers);
    let control = RunControl::new(scenario.writers);
    let total_channels = scenario.writers * scenario.channels;
    let spawn_failed =
        |e: std::io::Error| BenchError::Failed(format!("cannot start a thread: {e}"));

    thread::scope(|s| {
        let mut senders = Vec::with_capacity(readers);
        let mut reader_threads = Vec::with_capacity(readers);
        for i in 0..readers {
            let (tx, rx) = mpsc::channel::<Delivery<S::Buffer<'_>>>();
            senders.push(tx);
            let channels = scenario.channels;
            let t = thread::Builder::new()
                .name(format!("bench-reader-{i}"))
                .spawn_scoped(s, move || read(rx, channels, total_channels, layout))
                .map_err(spawn_failed)?;
            reader_threads.push(t);
        }
        let mut writer_threads = Vec::with_capacity(scenario.writers);
        for (index, source) in sources.iter().enumerate() {
            let setup = WriterSetup {
                index,
                channels: scenario.channels,
                layout,
                flush: scenario.flush,
            };
            let outputs = senders.clone();
            let control = &control;
            let spawned = thread::Builder::new()
                .name(format!("bench-writer-{index}"))
                .spawn_scoped(s, move || write(source, setup, control, outputs));
            match spawned {
                Ok(t) => writer_threads.push(t),
                Err(e) => {
                    control.set_phase(Phase::Stop);
                    return Err(spawn_failed(e));
                }
            }
        }
        drop(senders);

        let (measured, peak_held) = coordinate(&control, sources, scenario.flush, timing, progress);

        let mut writers = Vec::with_capacity(writer_threads.len());
        let mut failure = None;
        for t in writer_threads {
            match t.join() {
                Ok(Ok(stats)) => writers.push(stats),
                Ok(Err(e)) => failure = Some(e),
                Err(_) => failure = Some(BenchError::Failed("a writer thread panicked".to_owned())),
            }
        }
        let mut reader_stats = Vec::with_capacity(reader_threads.len());
        for t in reader_threads {
            match t.join() {
                Ok(stats) => reader_stats.push(stats),
                Err(_) => failure = Some(BenchError::Failed("a reader thread panicked".to_owned())),
            }
        }
        match failure {
            Some(e) => Err(e),
            None => Ok(PipelineOutcome {
                writers,
                readers: reader_stats,
                measured,
                peak_held,
            }),
        }
    })
}

/// Drives the phases and flushes; returns the measured time and the peak of buffers held.
fn coordinate<S: BufferSource>(
    control: &RunControl,
    sources: &[S],
    flush: FlushTimeout,
    timing: Timing,
    progress: &Progress,
) -> (Duration, usize) {
    let start = Instant::now();
    let measure_at = start + timing.warmup;
    let stop_at = measure_at + timing.duration;
    let flush_every = match flush {
        FlushTimeout::Every(d) => Some(d),
        FlushTimeout::AfterEveryRecord => None,
    };
    let mut next_flush = flush_every.map(|d| start + d);
    let mut measure_start = None;
    let mut peak_held = 0;
    loop {
        let now = Instant::now();
        if let (Some(every), Some(due)) = (flush_every, next_flush) {
            if now >= due {
                control.request_flush();
                // Skip missed ticks instead of flushing in a burst.
                next_flush = Some((due + every).max(now));
            }
        }
        if measure_start.is_none() && now >= measure_at {
            control.set_phase(Phase::Measure);
            measure_start = Some(now);
        }
        peak_held = peak_held.max(sources.iter().map(BufferSource::held).sum());
        if now >= stop_at {
            control.set_phase(Phase::Stop);
            return (now - measure_start.unwrap_or(now), peak_held);
        }
        progress.advance(now - start);
        let mut wake = (now + TICK).min(stop_at);
        if measure_start.is_none() {
            wake = wake.min(measure_at);
        }
        if let Some(due) = next_flush {
            wake = wake.min(due);
        }
        thread::sleep(wake.saturating_duration_since(Instant::now()));
    }
}
