//! `Capacity`: the manager's own byte budget (Flink's `UnsafeMemoryBudget`), lock-free.

use crate::sync::{AtomicU64, Ordering};

/// Bytes of managed memory left to hand out. Pages, byte reservations and shared resources all
/// take from it; every taken byte is given back exactly once.
#[derive(Debug)]
pub(crate) struct Capacity {
    total: u64,
    available: AtomicU64,
}

impl Capacity {
    pub(crate) fn new(total: u64) -> Capacity {
        Capacity {
            total,
            available: AtomicU64::new(total),
        }
    }

    /// Takes `bytes` if that many are available; else returns what was available.
    #[inline]
    pub(crate) fn try_take(&self, bytes: u64) -> Result<(), u64> {
        // Relaxed: the counter publishes no other memory; each RMW sees the latest value.
        let mut cur = self.available.load(Ordering::Relaxed);
        loop {
            let Some(rest) = cur.checked_sub(bytes) else {
                return Err(cur);
            };
            match self.available.compare_exchange_weak(
                cur,
                rest,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Ok(()),
                Err(actual) => cur = actual,
            }
        }
    }

    /// Gives back `bytes` taken earlier.
    #[inline]
    pub(crate) fn give(&self, bytes: u64) {
        let before = self.available.fetch_add(bytes, Ordering::Relaxed);
        debug_assert!(
            before.checked_add(bytes).is_some_and(|a| a <= self.total),
            "managed memory given back twice: {before} + {bytes} > {}",
            self.total
        );
    }

    #[inline]
    pub(crate) fn available(&self) -> u64 {
        self.available.load(Ordering::Relaxed)
    }

    #[inline]
    pub(crate) fn total(&self) -> u64 {
        self.total
    }
}

/// Loom model checks (`RUSTFLAGS="--cfg membudget_loom" cargo test --release -p
/// membudget-segments --lib loom`).
#[cfg(all(test, membudget_loom))]
mod loom_tests {
    use super::Capacity;
    use loom::sync::Arc;
    use loom::thread;

    #[test]
    fn loom_concurrent_takes_never_exceed_the_total() {
        loom::model(|| {
            let c = Arc::new(Capacity::new(100));
            let hs: Vec<_> = (0..2)
                .map(|_| {
                    let c = c.clone();
                    thread::spawn(move || c.try_take(60).is_ok())
                })
                .collect();
            let ok = hs
                .into_iter()
                .map(|h| h.join().unwrap())
                .filter(|x| *x)
                .count();
            assert_eq!(ok, 1);
            assert_eq!(c.available(), 40);
        });
    }

    #[test]
    fn loom_take_and_give_back_balance() {
        loom::model(|| {
            let c = Arc::new(Capacity::new(100));
            c.try_take(100).unwrap();
            let giver = {
                let c = c.clone();
                thread::spawn(move || c.give(50))
            };
            let taker = {
                let c = c.clone();
                thread::spawn(move || c.try_take(30).is_ok())
            };
            giver.join().unwrap();
            let took = taker.join().unwrap();
            assert_eq!(c.available(), if took { 20 } else { 50 });
        });
    }
}
