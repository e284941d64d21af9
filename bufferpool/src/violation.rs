//! Broken internal invariants, reported instead of panicking.
//!
//! Recycling runs inside `Drop` (of a [`Buffer`](crate::Buffer) or a pool), where a panic would
//! abort a process that is already unwinding and would leave the pool half-updated. The pools'
//! invariants (a segment is in at most one free list, a lent segment has an owner) cannot be
//! broken through the safe API; if a bug breaks one anyway, the segment concerned is taken out
//! of circulation (never handed out twice), the event is logged at `error` level and counted,
//! and the caller goes on. Tests assert the count stays 0.

use core::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

static VIOLATIONS: AtomicU64 = AtomicU64::new(0);

/// How many broken invariants the buffer pools of this process have reported (each also
/// logged at `error` level). Always 0 unless there is a bug in this crate.
///
/// # Examples
/// ```
/// assert_eq!(membudget_bufferpool::invariant_violations(), 0);
/// ```
pub fn invariant_violations() -> u64 {
    VIOLATIONS.load(Ordering::Relaxed)
}

/// Counts and logs a broken invariant.
#[cold]
#[inline(never)]
pub(crate) fn report(what: fmt::Arguments<'_>) {
    VIOLATIONS.fetch_add(1, Ordering::Relaxed);
    log::error!(
        "membudget-bufferpool invariant broken: {what}. The segment is kept out of circulation; \
         please report this bug."
    );
}

#[cfg(all(test, not(membudget_loom)))]
mod tests {
    use super::invariant_violations;
    use crate::slot::{Slot, NO_CHANNEL};
    use crate::{Buffer, NetworkBufferPool};
    use membudget_segments::MemorySegment;
    use std::time::Duration;

    /// Both broken invariants are reported in one test (the count is process-wide).
    #[test]
    fn broken_invariants_are_counted_not_panicked() {
        let before = invariant_violations();
        // A buffer of a segment that is not lent out (its owner is `Free`).
        let slot = Slot::new(0, MemorySegment::wrap(vec![0u8; 64]));
        drop(Buffer::from_slot(&slot, NO_CHANNEL));
        assert_eq!(invariant_violations(), before + 1);
        // A segment recycled into a global free list that already holds it.
        let segments = (0..2).map(|_| MemorySegment::wrap(vec![0u8; 64])).collect();
        let net = NetworkBufferPool::from_segments(segments, Duration::from_secs(1)).unwrap();
        net.inner.recycle_pooled(0);
        assert_eq!(invariant_violations(), before + 2);
        assert_eq!(net.available_segments(), 2, "the duplicate was not queued");
    }
}
