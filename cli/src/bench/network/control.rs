//! `RunControl`: the flags the coordinating thread sets and the writers poll — the run's phase
//! and each writer's flush request (Flink's `OutputFlusher` thread, which asks the record writer
//! to flush every timeout) — and what the writers report back: a heartbeat (buffers obtained)
//! and whether they have finished, so the coordinator can tell a stalled writer from a busy one.
//!
//! All accesses are `Relaxed`: the flags order nothing but themselves; data moves between
//! threads through the channels and thread joins, which synchronise on their own.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};

/// The phase of a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Running, not counted.
    WarmUp,
    /// Running and counted.
    Measure,
    /// Writers flush what they hold and finish.
    Stop,
}

/// A value on its own cache line, so writers polling one flag do not share a line that another
/// thread writes.
#[derive(Debug, Default)]
#[repr(align(128))]
struct Padded<T>(T);

/// One writer's flags, on one cache line that only it and the coordinator touch.
#[derive(Debug, Default)]
struct WriterFlags {
    flush: AtomicBool,
    finished: AtomicBool,
    heartbeat: AtomicU64,
}

/// Shared run flags.
#[derive(Debug)]
pub struct RunControl {
    phase: Padded<AtomicU8>,
    writers: Vec<Padded<WriterFlags>>,
}

impl RunControl {
    /// Flags for `writers` writers, in the warm-up phase.
    pub fn new(writers: usize) -> RunControl {
        RunControl {
            phase: Padded(AtomicU8::new(0)),
            writers: (0..writers).map(|_| Padded::default()).collect(),
        }
    }

    /// The current phase.
    #[inline]
    pub fn phase(&self) -> Phase {
        match self.phase.0.load(Ordering::Relaxed) {
            0 => Phase::WarmUp,
            1 => Phase::Measure,
            _ => Phase::Stop,
        }
    }

    /// Moves to `phase`.
    pub fn set_phase(&self, phase: Phase) {
        let v = match phase {
            Phase::WarmUp => 0,
            Phase::Measure => 1,
            Phase::Stop => 2,
        };
        self.phase.0.store(v, Ordering::Relaxed);
    }

    /// Asks every writer to flush.
    pub fn request_flush(&self) {
        for w in &self.writers {
            w.0.flush.store(true, Ordering::Relaxed);
        }
    }

    /// Whether `writer` was asked to flush since it last checked (clears the request).
    #[inline]
    pub fn take_flush(&self, writer: usize) -> bool {
        let flag = &self.writers[writer].0.flush;
        flag.load(Ordering::Relaxed) && flag.swap(false, Ordering::Relaxed)
    }

    /// `writer` made progress: it has obtained `buffers` buffers so far.
    #[inline]
    pub fn beat(&self, writer: usize, buffers: u64) {
        self.writers[writer]
            .0
            .heartbeat
            .store(buffers, Ordering::Relaxed);
    }

    /// `writer`'s last heartbeat.
    pub fn heartbeat(&self, writer: usize) -> u64 {
        self.writers[writer].0.heartbeat.load(Ordering::Relaxed)
    }

    /// `writer` has returned (done or failed).
    pub fn finish(&self, writer: usize) {
        self.writers[writer]
            .0
            .finished
            .store(true, Ordering::Relaxed);
    }

    /// Whether `writer` has returned.
    pub fn is_finished(&self, writer: usize) -> bool {
        self.writers[writer].0.finished.load(Ordering::Relaxed)
    }

    /// Writers.
    pub fn writers(&self) -> usize {
        self.writers.len()
    }
}
