//! `IndexQueue`: the lock-free bounded MPMC queue of segment indices behind the network pool's
//! free list and every local pool's idle list, with batch push and pop.
//!
//! Dmitry Vyukov's bounded queue, with whole batches: a producer reserves `k` positions with
//! one compare-and-swap of `tail`, a consumer `k` positions with one of `head`; each position's
//! slot then carries the value with a sequence number saying which lap of the ring it belongs
//! to and whether it is full, in one 64-bit word:
//!
//! ```text
//!   head, tail:   u64 positions (they never wrap in practice), each on its own cache line
//!   slot[p % n]:  seq (bits 32..64) | value (bits 0..32)     n: a power of two ≥ capacity
//!                 seq = p        free, ready for the producer of position p
//!                 seq = p + 1    full, holding the value of position p
//!                 (after the consumer of p:  seq = p + n, free for position p + n)
//! ```
//!
//! A reserved position whose slot is not ready yet (the previous lap's consumer, or this
//! lap's producer, is still between its compare-and-swap and its slot write) is waited for,
//! spinning briefly, then yielding — as crossbeam's `ArrayQueue` does. The queue never holds
//! more than its capacity: a push that would pass it is refused whole (a bookkeeping bug in
//! the caller), so a producer only ever waits for a consumer that already reserved the slot's
//! previous position.
//!
//! Orderings: `tail`'s and `head`'s compare-and-swaps are `SeqCst`, and [`is_empty`] reads
//! both with `SeqCst` loads, so a push is in the single `SeqCst` order before any `SeqCst`
//! access that follows it on the pushing thread: the pools' protocols
//! ([`fence_after_rmw`](crate::sync::fence_after_rmw)) rely on that. Slot writes are `Release`,
//! slot reads `Acquire`: a pop happens after the push of the value it returns.
//!
//! Kept in this crate (rather than crossbeam's `ArrayQueue`) for the batches and so that the
//! loom models run this exact code.
//!
//! [`is_empty`]: IndexQueue::is_empty

use crate::sync::{spin_wait, AtomicU64, Ordering};

/// A `u64` on its own cache line (head and tail are written by different threads).
#[repr(align(128))]
struct Padded(AtomicU64);

/// Bounded lock-free MPMC queue of `u32` segment indices (see the module docs).
pub(crate) struct IndexQueue {
    head: Padded,
    tail: Padded,
    /// A power of two (at least 2) slots, so a position's slot is a mask away.
    slots: Box<[AtomicU64]>,
    /// `slots.len() - 1`.
    mask: u64,
    /// Most values held at once.
    capacity: u64,
}

#[inline]
fn word(seq: u64, value: u32) -> u64 {
    (seq << 32) | u64::from(value)
}

/// The 32 bits of a position a slot's sequence number keeps. Equal sequence numbers of one
/// slot are always one lap apart at most (see `push_many`), so 32 bits tell them apart.
#[inline]
fn seq_of(position: u64) -> u64 {
    position & 0xFFFF_FFFF
}

impl IndexQueue {
    /// A queue holding up to `capacity` indices.
    pub(crate) fn new(capacity: usize) -> Self {
        // At least two slots: with one, "full for position p" and "free for p + 1" would be
        // the same sequence number. A capacity beyond 2⁶³ slots cannot be allocated anyway.
        let n = (capacity.max(2) as u64)
            .checked_next_power_of_two()
            .unwrap_or(1 << 63);
        IndexQueue {
            head: Padded(AtomicU64::new(0)),
            tail: Padded(AtomicU64::new(0)),
            slots: (0..n).map(|p| AtomicU64::new(word(p, 0))).collect(),
            mask: n.wrapping_sub(1),
            capacity: capacity as u64,
        }
    }

    #[inline]
    fn slot(&self, position: u64) -> &AtomicU64 {
        // `mask` is below the slots' length.
        &self.slots[(position & self.mask) as usize]
    }

    /// Pushes `index`; hands it back if the queue is full (a bookkeeping bug in callers).
    #[inline]
    pub(crate) fn push(&self, index: u32) -> Result<(), u32> {
        self.push_many(&[index]).map_err(|_| index)
    }

    /// Pushes all of `indices` (one compare-and-swap), or none of them if they do not fit.
    #[inline]
    pub(crate) fn push_many<'a>(&self, indices: &'a [u32]) -> Result<(), &'a [u32]> {
        let k = indices.len() as u64;
        if k == 0 {
            return Ok(());
        }
        // Acquire (here and on the compare-and-swap's failure): the tail we reserve from was
        // written by the last producer's compare-and-swap, and every tail change is a
        // release read-modify-write, so reading it synchronizes with all earlier pushes, and
        // with every pop that happened before one of them (a segment popped, then pushed
        // again). The `head` read below then sees those pops, so `t - head` counts distinct
        // indices only and never overstates what the queue holds when the compare-and-swap
        // succeeds. A relaxed load here let `head` lag behind a pop whose index came back
        // below `t`: a push that fits was refused and its index lost (found by Miri).
        let mut t = self.tail.0.load(Ordering::Acquire);
        loop {
            // Acquire: a consumer that moved `head` past a position released its slot before
            // we wait on it.
            let h = self.head.0.load(Ordering::Acquire);
            if t.saturating_sub(h).saturating_add(k) > self.capacity {
                return Err(indices);
            }
            // SeqCst: the push's place in the single order (see the module docs).
            match self.tail.0.compare_exchange_weak(
                t,
                t.wrapping_add(k),
                Ordering::SeqCst,
                Ordering::Acquire,
            ) {
                Ok(_) => break,
                Err(now) => t = now,
            }
        }
        // Positions t..t+k are ours; each slot is free for its position once the previous
        // lap's consumer is done with it (it reserved that position already: t + k ≤ head +
        // capacity when we reserved).
        for (p, &index) in (t..).zip(indices) {
            let slot = self.slot(p);
            let mut spins = 0u32;
            // Acquire: pairs with the consumer's Release, so its read of the old value is
            // done before we overwrite it.
            while slot.load(Ordering::Acquire) >> 32 != seq_of(p) {
                spin_wait(&mut spins);
            }
            // Release: the value (and everything before the push) reaches the consumer.
            slot.store(word(seq_of(p.wrapping_add(1)), index), Ordering::Release);
        }
        Ok(())
    }

    /// Pops one index, if any.
    #[inline]
    pub(crate) fn pop(&self) -> Option<u32> {
        let mut one = [0u32; 1];
        (self.pop_many(&mut one) == 1).then_some(one[0])
    }

    /// Pops up to `out.len()` indices into `out` (one compare-and-swap); returns how many.
    #[inline]
    pub(crate) fn pop_many(&self, out: &mut [u32]) -> usize {
        self.pop_leaving(out, 0)
    }

    /// As [`pop_many`](Self::pop_many), but leaves `leave` indices in the queue if it holds
    /// more than that (it pops one at least, if it holds any).
    #[inline]
    pub(crate) fn pop_leaving(&self, out: &mut [u32], leave: usize) -> usize {
        if out.is_empty() {
            return 0;
        }
        // Relaxed: a stale head only fails the compare-and-swap (or, if it makes the queue
        // look empty, is newer than a tail read after it cannot be: see below).
        let mut h = self.head.0.load(Ordering::Relaxed);
        let (start, k) = loop {
            // SeqCst: a pop that finds the queue empty is ordered after every push before it
            // in the single order (the pools' protocols rely on it, as on `is_empty`).
            let t = self.tail.0.load(Ordering::SeqCst);
            let held = t.saturating_sub(h);
            if held == 0 {
                return 0;
            }
            let k = held.saturating_sub(leave as u64).clamp(1, out.len() as u64);
            // SeqCst: one winner per position among consumers.
            match self.head.0.compare_exchange_weak(
                h,
                h.wrapping_add(k),
                Ordering::SeqCst,
                Ordering::Relaxed,
            ) {
                Ok(_) => break (h, k as usize),
                Err(now) => h = now,
            }
        };
        let n = self.mask.wrapping_add(1);
        for (p, o) in (start..).zip(out[..k].iter_mut()) {
            let slot = self.slot(p);
            let mut spins = 0u32;
            let w = loop {
                // Acquire: pairs with the producer's Release store of the value.
                let w = slot.load(Ordering::Acquire);
                if w >> 32 == seq_of(p.wrapping_add(1)) {
                    break w;
                }
                spin_wait(&mut spins);
            };
            *o = w as u32;
            // Release: our read is done before the next lap's producer overwrites the slot.
            slot.store(word(seq_of(p.wrapping_add(n)), 0), Ordering::Release);
        }
        k
    }

    /// Whether the queue is empty (reserved positions count as held).
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        // SeqCst: see the module docs.
        let h = self.head.0.load(Ordering::SeqCst);
        let t = self.tail.0.load(Ordering::SeqCst);
        t <= h
    }

    /// Indices held (a snapshot).
    pub(crate) fn len(&self) -> usize {
        loop {
            // SeqCst: a consistent pair (the tail is the same before and after the head).
            let t = self.tail.0.load(Ordering::SeqCst);
            let h = self.head.0.load(Ordering::SeqCst);
            if self.tail.0.load(Ordering::SeqCst) == t {
                // At most `capacity`, which came from a `usize`.
                return t.saturating_sub(h) as usize;
            }
        }
    }
}

#[cfg(all(test, not(membudget_loom)))]
mod tests {
    use super::*;

    #[test]
    fn batches_keep_fifo_order_across_laps_and_refuse_overflow() {
        let q = IndexQueue::new(5);
        assert!(q.is_empty());
        assert_eq!(q.pop(), None);
        for lap in 0..10u32 {
            assert_eq!(q.push_many(&[lap, lap + 100, lap + 200]), Ok(()));
            assert_eq!(q.push(lap + 300), Ok(()));
            assert_eq!(q.push_many(&[1, 2]), Err(&[1, 2][..]), "6 > capacity 5");
            assert_eq!(q.len(), 4);
            let mut out = [0; 3];
            assert_eq!(q.pop_many(&mut out), 3);
            assert_eq!(out, [lap, lap + 100, lap + 200]);
            assert_eq!(q.pop_many(&mut out), 1);
            assert_eq!(out[0], lap + 300);
            assert!(q.is_empty());
        }
        let one = IndexQueue::new(1);
        for i in 0..5 {
            assert_eq!(one.push(i), Ok(()));
            assert_eq!(one.push(9), Err(9));
            assert_eq!(one.pop(), Some(i));
        }
        let none = IndexQueue::new(0);
        assert_eq!(none.push(1), Err(1));
        assert_eq!(none.pop(), None);
    }

    /// The network pool's free list is exactly as large as its segments, so a push of a held
    /// segment must always fit, even while other threads pop and push again: an index popped
    /// and pushed back must not be counted twice. (Miri's weak-memory emulation found a
    /// relaxed tail load that let this refuse a push.)
    #[test]
    fn a_push_that_fits_is_never_refused_while_others_pop_and_push_again() {
        let rounds = if cfg!(miri) { 100 } else { 100_000 };
        for _ in 0..if cfg!(miri) { 4 } else { 1 } {
            let q = IndexQueue::new(3);
            q.push_many(&[0, 1]).unwrap();
            std::thread::scope(|s| {
                for _ in 0..2 {
                    s.spawn(|| {
                        for _ in 0..rounds {
                            if let Some(i) = q.pop() {
                                assert_eq!(q.push(i), Ok(()), "a held index fits");
                            }
                        }
                    });
                }
                s.spawn(|| {
                    for _ in 0..rounds {
                        assert_eq!(q.push(2), Ok(()), "a held index fits");
                        while q.pop().is_none() {}
                    }
                });
            });
            assert_eq!(q.len(), 2);
        }
    }

    #[test]
    fn concurrent_batches_move_every_index_exactly_once() {
        let q = std::sync::Arc::new(IndexQueue::new(64));
        let per_thread = if cfg!(miri) { 50 } else { 200_000u32 };
        let producers: Vec<_> = (0..2u32)
            .map(|t| {
                let q = q.clone();
                std::thread::spawn(move || {
                    let mut i = 0;
                    while i < per_thread {
                        let batch: Vec<u32> = (i..(i + 3).min(per_thread))
                            .map(|v| t * per_thread + v)
                            .collect();
                        if q.push_many(&batch).is_ok() {
                            i += batch.len() as u32;
                        } else {
                            std::thread::yield_now();
                        }
                    }
                })
            })
            .collect();
        let taken = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let consumers: Vec<_> = (0..2)
            .map(|_| {
                let (q, taken) = (q.clone(), taken.clone());
                std::thread::spawn(move || {
                    let mut got = Vec::new();
                    let mut out = [0; 4];
                    while taken.load(std::sync::atomic::Ordering::Relaxed) < 2 * per_thread as usize
                    {
                        let n = q.pop_many(&mut out);
                        got.extend_from_slice(&out[..n]);
                        taken.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
                        if n == 0 {
                            std::thread::yield_now();
                        }
                    }
                    got
                })
            })
            .collect();
        for p in producers {
            p.join().unwrap();
        }
        let mut all: Vec<u32> = consumers
            .into_iter()
            .flat_map(|c| c.join().unwrap())
            .collect();
        all.sort_unstable();
        let expected: Vec<u32> = (0..2 * per_thread).collect();
        assert_eq!(all, expected);
    }
}

/// Loom model checks of the queue on its own (`scripts/test-loom`: `--lib loom`): batch pushes
/// and pops across a lap of a small ring, every index delivered exactly once, and an empty
/// queue never refusing a push that fits.
#[cfg(all(test, membudget_loom))]
mod loom_models {
    use super::*;
    use loom::sync::Arc;

    #[test]
    fn loom_batches_across_a_lap_deliver_each_index_once() {
        loom::model(|| {
            // Two slots: the second batch reuses the slots the first one filled.
            let q = Arc::new(IndexQueue::new(2));
            let producer = {
                let q = q.clone();
                loom::thread::spawn(move || {
                    q.push_many(&[1, 2]).unwrap();
                    // Fits only after the consumer took from the first batch.
                    while q.push(3).is_err() {
                        loom::thread::yield_now();
                    }
                })
            };
            let mut got = Vec::new();
            let mut out = [0u32; 2];
            while got.len() < 3 {
                let n = q.pop_many(&mut out);
                got.extend_from_slice(&out[..n]);
                if n == 0 {
                    loom::thread::yield_now();
                }
            }
            producer.join().unwrap();
            assert_eq!(got, [1, 2, 3]);
            assert!(q.is_empty());
        });
    }

    #[test]
    fn loom_two_consumers_split_a_batch_without_duplicates() {
        loom::model(|| {
            let q = Arc::new(IndexQueue::new(4));
            q.push_many(&[7, 8, 9]).unwrap();
            let other = {
                let q = q.clone();
                loom::thread::spawn(move || {
                    let mut out = [0u32; 2];
                    let n = q.pop_leaving(&mut out, 1);
                    out[..n].to_vec()
                })
            };
            let mut mine = Vec::new();
            while let Some(i) = q.pop() {
                mine.push(i);
            }
            let mut all = other.join().unwrap();
            all.extend(mine);
            all.extend(q.pop());
            all.sort_unstable();
            assert_eq!(all, [7, 8, 9]);
        });
    }
}
