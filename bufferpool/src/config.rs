//! `BufferPoolConfig`: the shape of a [`LocalBufferPool`](crate::LocalBufferPool).

use crate::BufferPoolError;

/// `max` of a pool without an upper bound (Flink's `Integer.MAX_VALUE`).
pub const UNBOUNDED: usize = usize::MAX;

/// Sizes of a local buffer pool: `min ≤ expected ≤ max`, plus per-subpartition limits.
///
/// # Examples
/// ```
/// use membudget_bufferpool::BufferPoolConfig;
///
/// // A pipelined-bounded result partition with 4 subpartitions: [n + 1, n·b + f] = [5, 16].
/// let c = BufferPoolConfig::new(5, 16).with_subpartitions(4, 10).with_overdraft(5);
/// assert_eq!(c.expected, 5);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct BufferPoolConfig {
    /// Guaranteed buffers (> 0).
    pub min: usize,
    /// Weight in redistribution (≥ `min`).
    pub expected: usize,
    /// Upper bound (≥ `expected`), [`UNBOUNDED`] for none.
    pub max: usize,
    /// Subpartitions whose buffers are counted (0 = no per-subpartition accounting).
    pub num_subpartitions: usize,
    /// Buffers one subpartition may hold before the pool reports unavailable.
    pub max_buffers_per_channel: usize,
    /// Buffers the pool may take beyond its size when it is exhausted.
    pub max_overdraft_buffers: usize,
}

impl BufferPoolConfig {
    /// A pool of `min..=max` buffers with `expected = min`, no subpartitions, no overdraft.
    pub fn new(min: usize, max: usize) -> Self {
        BufferPoolConfig {
            min,
            expected: min,
            max,
            num_subpartitions: 0,
            max_buffers_per_channel: UNBOUNDED,
            max_overdraft_buffers: 0,
        }
    }

    /// Sets the expected size (the redistribution weight).
    pub fn with_expected(mut self, expected: usize) -> Self {
        self.expected = expected;
        self
    }

    /// Counts buffers per subpartition, limiting each to `max_buffers_per_channel`.
    pub fn with_subpartitions(mut self, n: usize, max_buffers_per_channel: usize) -> Self {
        self.num_subpartitions = n;
        self.max_buffers_per_channel = max_buffers_per_channel;
        self
    }

    /// Allows `n` overdraft buffers.
    pub fn with_overdraft(mut self, n: usize) -> Self {
        self.max_overdraft_buffers = n;
        self
    }

    /// Checks Flink's constructor preconditions.
    ///
    /// # Errors
    /// [`BufferPoolError::InvalidArgument`] naming the violated bound.
    pub fn validate(&self) -> Result<(), BufferPoolError> {
        let bad = |m: String| Err(BufferPoolError::InvalidArgument(m));
        if self.min == 0 {
            return bad(format!(
                "Minimum number of memory segments ({}) should be larger than 0.",
                self.min
            ));
        }
        if self.expected < self.min {
            return bad(format!(
                "Minimum number of memory segments ({}) should not be larger than expected ({}).",
                self.min, self.expected
            ));
        }
        if self.max < self.expected {
            return bad(format!(
                "Maximum number of memory segments ({}) should not be smaller than expected ({}).",
                self.max, self.expected
            ));
        }
        if self.num_subpartitions > 0 && self.max_buffers_per_channel == 0 {
            return bad(format!(
                "Maximum number of buffers for each channel ({}) should be larger than 0.",
                self.max_buffers_per_channel
            ));
        }
        if self.num_subpartitions >= u32::MAX as usize {
            return bad(format!(
                "Number of subpartitions ({}) should be less than {}.",
                self.num_subpartitions,
                u32::MAX
            ));
        }
        Ok(())
    }

    /// Bounded pools count `max`, unbounded ones `expected` (Flink's usage estimate).
    pub fn estimated_requested(&self) -> usize {
        if self.max == UNBOUNDED {
            self.expected
        } else {
            self.max
        }
    }
}
