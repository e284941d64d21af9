//! `PoolCharge`: the [`MemoryConsumer`] a local pool charges for the segments it holds.
//!
//! A local pool made with a consumer charges it one segment's bytes of
//! [`Category::Network`] when a segment moves from the network pool into the pool, and
//! credits them when the segment moves back — never when a buffer is requested from or
//! recycled into the pool itself, so the hot path is unchanged. A pool without a consumer
//! charges nothing (its segments are charged, with all the others, to the network pool's
//! budget when that pool is made).

#[cfg(not(membudget_loom))]
use membudget_allocator::MemoryConsumer;
use membudget_allocator::QuotaExceeded;
#[cfg(not(membudget_loom))]
use membudget_core::Category;

/// See the module docs.
pub(crate) struct PoolCharge {
    #[cfg(not(membudget_loom))]
    consumer: Option<MemoryConsumer>,
    #[cfg(not(membudget_loom))]
    segment_size: u64,
}

impl PoolCharge {
    /// Charges nothing.
    pub(crate) fn none() -> PoolCharge {
        PoolCharge {
            #[cfg(not(membudget_loom))]
            consumer: None,
            #[cfg(not(membudget_loom))]
            segment_size: 0,
        }
    }

    /// Charges `consumer` `segment_size` bytes per segment held.
    #[cfg(not(membudget_loom))]
    pub(crate) fn new(consumer: MemoryConsumer, segment_size: usize) -> PoolCharge {
        PoolCharge {
            consumer: Some(consumer),
            segment_size: segment_size as u64,
        }
    }

    /// The consumer charged, if any.
    #[cfg(not(membudget_loom))]
    pub(crate) fn consumer(&self) -> Option<&MemoryConsumer> {
        self.consumer.as_ref()
    }

    /// Bytes of `n` segments. `n` segments of one network pool exist in memory at once, so
    /// their bytes fit in 64 bits; saturating all the same.
    #[cfg(not(membudget_loom))]
    fn bytes(&self, n: usize) -> u64 {
        (n as u64).saturating_mul(self.segment_size)
    }

    /// Charges `n` segments moving into the pool. Called with no lock of the pool held: the
    /// consumer's budget may run reclaimers, which may recycle this pool's buffers.
    ///
    /// # Errors
    /// The consumer's refusal; nothing is charged then.
    pub(crate) fn charge(&self, n: usize) -> Result<(), QuotaExceeded> {
        #[cfg(not(membudget_loom))]
        if let Some(c) = &self.consumer {
            return c.try_charge(Category::Network, self.bytes(n));
        }
        let _ = n;
        Ok(())
    }

    /// Credits `n` segments moving back to the network pool.
    pub(crate) fn credit(&self, n: usize) {
        #[cfg(not(membudget_loom))]
        if let Some(c) = &self.consumer {
            if !c.release(Category::Network, self.bytes(n)) {
                crate::violation::report(format_args!(
                    "consumer {c:?} was credited {n} segments it was not charged for"
                ));
            }
        }
        let _ = n;
    }
}
