//! `Scenario`: one topology to measure, and the preset grids.

use std::fmt;
use std::time::Duration;

use super::partition_pool::PartitionPoolShape;

/// When a writer hands over partially filled buffers (Flink's record writer flush timeout).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlushTimeout {
    /// After every record (Flink's timeout 0).
    AfterEveryRecord,
    /// Every interval (Flink's output flusher thread).
    Every(Duration),
}

impl FlushTimeout {
    /// From milliseconds, 0 meaning after every record.
    pub fn from_millis(ms: u64) -> FlushTimeout {
        if ms == 0 {
            FlushTimeout::AfterEveryRecord
        } else {
            FlushTimeout::Every(Duration::from_millis(ms))
        }
    }

    /// The interval in milliseconds (0 for after every record).
    pub fn millis(self) -> u64 {
        match self {
            FlushTimeout::AfterEveryRecord => 0,
            FlushTimeout::Every(d) => u64::try_from(d.as_millis()).unwrap_or(u64::MAX),
        }
    }
}

impl fmt::Display for FlushTimeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FlushTimeout::AfterEveryRecord => f.write_str("every record"),
            FlushTimeout::Every(_) => write!(f, "{} ms", self.millis()),
        }
    }
}

/// One topology: writers, channels per writer, flush timeout and the pools' shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scenario {
    /// Record writers (one result partition and pool each).
    pub writers: usize,
    /// Channels (subpartitions) per writer.
    pub channels: usize,
    /// When partial buffers are handed over.
    pub flush: FlushTimeout,
    /// The configured buffers-per-channel this pool shape was computed from.
    pub buffers_per_channel: usize,
    /// Each writer's pool.
    pub pool: PartitionPoolShape,
}

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} writers × {} channels, flush {}, {} buffers/channel",
            self.writers, self.channels, self.flush, self.buffers_per_channel
        )
    }
}

/// Channels × flush timeout (ms) of flink-benchmarks' `StreamNetworkThroughputBenchmark`
/// (`@Param({"100,100ms", "1000,1ms", "1000,100ms"})`, 4 writers); the SSL variants need Netty
/// and are left out.
pub const FLINK_GRID: [(usize, u64); 3] = [(100, 100), (1000, 1), (1000, 100)];

/// The writers of flink-benchmarks' grid.
pub const FLINK_GRID_WRITERS: usize = 4;

/// The quick grid: flink-benchmarks' first point, with buffers-per-channel swept.
pub const QUICK_GRID: (usize, u64) = (100, 100);

/// The buffers-per-channel values of the quick grid.
pub const QUICK_BUFFERS_PER_CHANNEL: [usize; 4] = [1, 2, 4, 8];
