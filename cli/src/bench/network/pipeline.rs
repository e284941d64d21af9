//! One run of the pipeline: a writer thread per source, reader threads behind channel queues,
//! and the calling thread as coordinator — it flips the phases (warm-up, measure, stop), asks
//! the writers to flush every flush timeout (Flink's output flusher), samples the buffers the
//! sources hold, drives the progress display, and watches for a writer that stops making
//! progress (a buffer that never comes back): it then aborts the sources so the run ends with
//! an error instead of hanging.
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

/// How often the coordinator checks whether the writers have finished after the stop.
const FINISH_TICK: Duration = Duration::from_millis(1);

/// A writer that obtains no buffer for this long is stalled. Healthy writers obtain buffers
/// every few microseconds to milliseconds, however slow the reader.
pub const STALL: Duration = Duration::from_secs(10);

/// How long a run lasts.
#[derive(Clone, Copy, Debug)]
pub struct Timing {
    /// Running before counting starts.
    pub warmup: Duration,
    /// Counted time.
    pub duration: Duration,
    /// How long a writer may go without obtaining a buffer before the run is aborted
    /// ([`STALL`]).
    pub stall: Duration,
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

        let coordination = coordinate(&control, sources, scenario.flush, timing, progress);

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
        if let Some(writer) = coordination.stalled {
            return Err(BenchError::Failed(format!(
                "membudget bench: writer {writer} obtained no buffer for {:.1} s ({scenario}): \
                 the buffers it waited for never became available (a lost wake-up, or a pool \
                 that stays unavailable); the run was aborted.",
                timing.stall.as_secs_f64()
            )));
        }
        match failure {
            Some(e) => Err(e),
            None => Ok(PipelineOutcome {
                writers,
                readers: reader_stats,
                measured: coordination.measured,
                peak_held: coordination.peak_held,
            }),
        }
    })
}

/// What the coordinator saw.
struct Coordination {
    measured: Duration,
    peak_held: usize,
    /// The writer that stalled, if one did (the sources were aborted).
    stalled: Option<usize>,
}

/// Drives the phases and flushes until every writer has finished.
fn coordinate<S: BufferSource>(
    control: &RunControl,
    sources: &[S],
    flush: FlushTimeout,
    timing: Timing,
    progress: &Progress,
) -> Coordination {
    let start = Instant::now();
    let measure_at = start + timing.warmup;
    // Counted from when the measurement really started (the coordinator may wake up late).
    let mut stop_at = measure_at + timing.duration;
    let flush_every = match flush {
        FlushTimeout::Every(d) => Some(d),
        FlushTimeout::AfterEveryRecord => None,
    };
    let mut next_flush = flush_every.map(|d| start + d);
    let mut measure_start = None;
    let mut measured = None;
    let mut peak_held = 0;
    let mut beats: Vec<(u64, Instant)> = (0..control.writers())
        .map(|w| (control.heartbeat(w), start))
        .collect();
    loop {
        let now = Instant::now();
        if measured.is_none() {
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
                stop_at = now + timing.duration;
            }
            peak_held = peak_held.max(sources.iter().map(BufferSource::held).sum());
            if measure_start.is_some() && now >= stop_at {
                control.set_phase(Phase::Stop);
                measured = Some(now - measure_start.unwrap_or(now));
            } else {
                progress.advance(now - start);
            }
        }
        let mut all_finished = true;
        for (w, beat) in beats.iter_mut().enumerate() {
            if control.is_finished(w) {
                continue;
            }
            all_finished = false;
            let current = control.heartbeat(w);
            if current != beat.0 {
                *beat = (current, now);
            } else if now - beat.1 >= timing.stall {
                control.set_phase(Phase::Stop);
                for s in sources {
                    s.abort();
                }
                return Coordination {
                    measured: measured.unwrap_or_default(),
                    peak_held,
                    stalled: Some(w),
                };
            }
        }
        if all_finished {
            // Normally after the stop; earlier only if every writer failed.
            return Coordination {
                measured: measured.unwrap_or_default(),
                peak_held,
                stalled: None,
            };
        }
        let mut wake = now
            + if measured.is_some() {
                FINISH_TICK
            } else {
                TICK
            };
        if measured.is_none() {
            wake = wake.min(stop_at);
            if measure_start.is_none() {
                wake = wake.min(measure_at);
            }
            if let Some(due) = next_flush {
                wake = wake.min(due);
            }
        }
        thread::sleep(wake.saturating_duration_since(Instant::now()));
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Condvar, Mutex, PoisonError};

    use super::*;
    use crate::bench::network::partition_pool::PartitionPoolShape;
    use crate::bench::network::source::RecordBuffer;
    use crate::bench::network::vec_source::VecSource;

    fn scenario(writers: usize, channels: usize) -> Scenario {
        Scenario {
            writers,
            channels,
            flush: FlushTimeout::from_millis(1),
            buffers_per_channel: 2,
            pool: PartitionPoolShape::pipelined_bounded(channels, 2, 8, 10, 5).unwrap(),
        }
    }

    fn timing(stall_ms: u64) -> Timing {
        Timing {
            warmup: Duration::from_millis(10),
            duration: Duration::from_millis(60),
            stall: Duration::from_millis(stall_ms),
        }
    }

    #[test]
    fn every_record_and_buffer_arrives() {
        let sources: Vec<VecSource> = (0..2).map(|_| VecSource::new(9, 64)).collect();
        let layout = RecordLayout::new(8);
        let progress = Progress::new(1, Duration::ZERO);
        let out = run(
            &sources,
            &scenario(2, 4),
            layout,
            2,
            timing(5_000),
            &progress,
        )
        .unwrap();
        let written: u64 = out.writers.iter().map(|w| w.records).sum();
        let read: u64 = out.readers.iter().map(|r| r.check.records).sum();
        assert!(written > 0);
        assert_eq!(written, read);
        let sent: u64 = out.writers.iter().map(|w| w.buffers_sent).sum();
        let consumed: u64 = out.readers.iter().map(|r| r.buffers).sum();
        assert_eq!(sent, consumed);
        assert!(out.readers.iter().all(|r| r.check.out_of_order == 0));
        assert!(out.measured >= Duration::from_millis(60));
        assert!(sources.iter().all(|s| s.outstanding() == 0));
        assert!(out.peak_held <= 18);
    }

    /// Lends nothing: a writer waits until the source is aborted.
    struct Stuck {
        aborted: Mutex<bool>,
        woken: Condvar,
    }

    struct NoBuffer;

    impl RecordBuffer for NoBuffer {
        fn append(&mut self, _: &[u8]) -> usize {
            unreachable!()
        }
        fn is_full(&self) -> bool {
            unreachable!()
        }
        fn is_empty(&self) -> bool {
            unreachable!()
        }
        fn bytes(&self) -> &[u8] {
            unreachable!()
        }
    }

    impl BufferSource for Stuck {
        type Buffer<'a> = NoBuffer;

        fn try_request(&self, _: usize) -> Result<Option<NoBuffer>, BenchError> {
            Ok(None)
        }

        fn request_blocking(&self, _: usize) -> Result<NoBuffer, BenchError> {
            let mut aborted = self.aborted.lock().unwrap_or_else(PoisonError::into_inner);
            while !*aborted {
                aborted = self
                    .woken
                    .wait(aborted)
                    .unwrap_or_else(PoisonError::into_inner);
            }
            Err(BenchError::Failed("aborted".to_owned()))
        }

        fn outstanding(&self) -> usize {
            0
        }

        fn held(&self) -> usize {
            0
        }

        fn abort(&self) {
            *self.aborted.lock().unwrap_or_else(PoisonError::into_inner) = true;
            self.woken.notify_all();
        }
    }

    #[test]
    fn a_stalled_writer_ends_the_run_with_an_error() {
        let sources = [Stuck {
            aborted: Mutex::new(false),
            woken: Condvar::new(),
        }];
        let progress = Progress::new(1, Duration::ZERO);
        let started = Instant::now();
        let e = run(
            &sources,
            &scenario(1, 2),
            RecordLayout::new(8),
            1,
            timing(200),
            &progress,
        )
        .unwrap_err();
        assert!(
            e.to_string().starts_with(
                "membudget bench: writer 0 obtained no buffer for 0.2 s (1 writers × 2 channels"
            ),
            "{e}"
        );
        assert!(matches!(e, BenchError::Failed(_)));
        assert!(started.elapsed() < Duration::from_secs(5));
    }
}
