//! What each writer and reader thread counted, and the request-latency histogram.

use hdrhistogram::Histogram;

use super::record::RecordCheck;

/// Latencies up to an hour, to 3 significant digits.
const LATENCY_MAX_NS: u64 = 3_600_000_000_000;

/// A histogram of request latencies in nanoseconds.
pub fn latency_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, LATENCY_MAX_NS, 3).expect("valid histogram bounds")
}

/// Counts of the measured window (after the warm-up, until the stop).
#[derive(Clone, Debug)]
pub struct Window {
    /// Records serialized.
    pub records: u64,
    /// Buffers handed over to readers.
    pub buffers: u64,
    /// Bytes in those buffers (framing included).
    pub bytes: u64,
    /// Request → buffer in hand, per request, in nanoseconds.
    pub latency: Histogram<u64>,
    /// Nanoseconds spent in requests that had to wait for a recycled buffer.
    pub backpressured_ns: u64,
}

impl Window {
    /// An empty window.
    pub fn new() -> Window {
        Window {
            records: 0,
            buffers: 0,
            bytes: 0,
            latency: latency_histogram(),
            backpressured_ns: 0,
        }
    }
}

/// One writer's counts.
#[derive(Clone, Debug)]
pub struct WriterStats {
    /// Records serialized over the whole run (warm-up included).
    pub records: u64,
    /// Wrapping sum of the values written (as the records carry them).
    pub checksum: u64,
    /// Buffers requested over the whole run.
    pub buffers_requested: u64,
    /// Buffers handed over over the whole run.
    pub buffers_sent: u64,
    /// The measured window.
    pub window: Window,
}

impl WriterStats {
    /// Nothing counted yet.
    pub fn new() -> WriterStats {
        WriterStats {
            records: 0,
            checksum: 0,
            buffers_requested: 0,
            buffers_sent: 0,
            window: Window::new(),
        }
    }
}

/// One reader's counts.
#[derive(Clone, Copy, Debug, Default)]
pub struct ReaderStats {
    /// What the records said.
    pub check: RecordCheck,
    /// Buffers consumed (and recycled).
    pub buffers: u64,
    /// Channels whose stream ended inside a record.
    pub incomplete_channels: u64,
}
