//! `PartitionPoolShape`: the LocalBufferPool of one writer's result partition, sized as Flink's
//! `ResultPartitionFactory` sizes a pipelined-bounded partition (`NettyShuffleUtils.
//! getMinMaxNetworkBuffersPerResultPartition`):
//!
//! ```text
//!   min = subpartitions + 1                       (one partial buffer per channel, plus one)
//!   max = max(min, subpartitions × max(1, buffers-per-channel) + floating-buffers-per-gate)
//!   per subpartition ≤ max-buffers-per-channel;   overdraft = max-overdraft-buffers-per-gate
//! ```

use membudget_bufferpool::BufferPoolConfig;

use crate::bench::BenchError;

/// The shape of one writer's pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PartitionPoolShape {
    /// Guaranteed buffers.
    pub min: usize,
    /// Upper bound.
    pub max: usize,
    /// Subpartitions (channels) whose buffers are counted.
    pub subpartitions: usize,
    /// Buffers one subpartition may hold before the pool reports unavailable.
    pub max_buffers_per_channel: usize,
    /// Buffers the pool may take beyond its size.
    pub max_overdraft: usize,
}

impl PartitionPoolShape {
    /// A pipelined-bounded result partition with `subpartitions` channels.
    ///
    /// # Errors
    /// [`BenchError::Invalid`] if the sizes overflow or `subpartitions` is 0.
    pub fn pipelined_bounded(
        subpartitions: usize,
        buffers_per_channel: usize,
        floating_buffers_per_gate: usize,
        max_buffers_per_channel: usize,
        max_overdraft: usize,
    ) -> Result<PartitionPoolShape, BenchError> {
        if subpartitions == 0 {
            return Err(BenchError::Invalid(
                "--channels must be at least 1 (a result partition needs a subpartition)."
                    .to_owned(),
            ));
        }
        let too_large = || {
            BenchError::Invalid(format!(
                "A result partition of {subpartitions} channels × {buffers_per_channel} \
                 buffers-per-channel + {floating_buffers_per_gate} floating buffers is too large \
                 to count; lower --channels or --buffers-per-channel."
            ))
        };
        let min = subpartitions.checked_add(1).ok_or_else(too_large)?;
        let bounded = subpartitions
            .checked_mul(buffers_per_channel.max(1))
            .and_then(|n| n.checked_add(floating_buffers_per_gate))
            .ok_or_else(too_large)?;
        Ok(PartitionPoolShape {
            min,
            max: bounded.max(min),
            subpartitions,
            max_buffers_per_channel,
            max_overdraft,
        })
    }

    /// The pool configuration to create it with.
    pub fn config(&self) -> BufferPoolConfig {
        BufferPoolConfig::new(self.min, self.max)
            .with_subpartitions(self.subpartitions, self.max_buffers_per_channel)
            .with_overdraft(self.max_overdraft)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flinks_pipelined_bounded_sizes() {
        // The reference's example: 4 subpartitions, b = 2, f = 8 → [5, 16].
        let s = PartitionPoolShape::pipelined_bounded(4, 2, 8, 10, 5).unwrap();
        assert_eq!((s.min, s.max), (5, 16));
        // flink-benchmarks' grid.
        let s = PartitionPoolShape::pipelined_bounded(100, 2, 8, 10, 5).unwrap();
        assert_eq!((s.min, s.max), (101, 208));
        let s = PartitionPoolShape::pipelined_bounded(1000, 2, 8, 10, 5).unwrap();
        assert_eq!((s.min, s.max), (1001, 2008));
        // Outgoing channels use at least one buffer each; max never drops below min.
        let s = PartitionPoolShape::pipelined_bounded(10, 0, 0, 10, 5).unwrap();
        assert_eq!((s.min, s.max), (11, 11));
        s.config().validate().unwrap();
    }

    #[test]
    fn overflow_and_zero_channels_are_errors() {
        assert!(PartitionPoolShape::pipelined_bounded(usize::MAX, 2, 8, 10, 5).is_err());
        assert!(PartitionPoolShape::pipelined_bounded(1 << 40, 1 << 30, 8, 10, 5).is_err());
        assert!(PartitionPoolShape::pipelined_bounded(0, 2, 8, 10, 5).is_err());
    }
}
