//! `Stash`: one thread's small, lock-free magazine of idle segments of one local pool.
//!
//! A thread that requests or recycles buffers of a pool keeps up to [`STASH_CAPACITY`] of the
//! pool's idle segments in its own stash (`thread_cache.rs`), so a request and a recycle on the
//! same thread touch one cache line that no other thread writes, and segments cross between
//! cores in groups (a recycling thread hands its stash over when it is full, a requesting
//! thread fills its stash from the pool's idle list in one go) instead of one cache-line
//! transfer per buffer.
//!
//! A stashed segment is idle like any other: it counts for availability, and any thread of the
//! pool can [`take_all`](Stash::take_all) of a stash (the pool's cold paths do, under the lock
//! of the pool's list of stashes), so a segment never waits in a thread that stopped using the
//! pool.
//!
//! ```text
//!   state (AtomicU64):  removals (bits 8..64) | len (bits 0..8)
//!   items:              [AtomicU32; 14]   items[0..len] are the stashed segment indices
//!   one 64-byte cache line in all
//! ```
//!
//! Only the owning thread adds (writes `items[len]`, then a compare-and-swap publishes
//! `len + 1`) or pops (reads `items[len - 1]`, then a compare-and-swap to `len - 1`). A taker
//! reads `items[0..len]`, then a compare-and-swap to `len = 0`. Every removal (a pop or a
//! take) bumps the removal count, so a compare-and-swap based on a state some removal has
//! since changed fails, even if `len` came back to the same value: exactly one of a racing pop
//! and take gets a segment, and a taker never returns an item the owner overwrote after its
//! read. An addition leaves the items a concurrent taker reads (below its `len`) alone.
//!
//! Every state change is a `SeqCst` read-modify-write: the pool's protocols (`local_pool.rs`)
//! put a stashed segment in the same single order as the pool's flags.

use crate::sync::{AtomicU32, AtomicU64, Ordering};

/// Segments a stash holds at most (the state and the items fill one 64-byte cache line).
pub(crate) const STASH_CAPACITY: usize = 14;

const LEN_MASK: u64 = 0xFF;
/// One removal, counted above the length.
const REMOVAL: u64 = 1 << 8;

/// A thread's magazine of idle segments (see the module docs).
#[repr(align(64))]
pub(crate) struct Stash {
    state: AtomicU64,
    items: [AtomicU32; STASH_CAPACITY],
}

const _: () = assert!(core::mem::size_of::<Stash>() == 64 || cfg!(membudget_loom));

#[inline]
fn len(state: u64) -> usize {
    (state & LEN_MASK) as usize
}

/// The state after a removal that leaves `left` items (`left ≤ len`); the removal count
/// wraps after 2⁵⁶ removals, far beyond any compare-and-swap's window.
#[inline]
fn removed(state: u64, left: usize) -> u64 {
    ((state & !LEN_MASK).wrapping_add(REMOVAL)) | left as u64
}

/// The segments one [`Stash::take_all`] took (at most [`STASH_CAPACITY`]).
pub(crate) struct Taken {
    items: [u32; STASH_CAPACITY],
    len: usize,
}

impl Taken {
    /// The segment indices taken.
    #[inline]
    pub(crate) fn as_slice(&self) -> &[u32] {
        &self.items[..self.len]
    }
}

impl Stash {
    /// An empty stash.
    pub(crate) fn new() -> Stash {
        Stash {
            state: AtomicU64::new(0),
            items: core::array::from_fn(|_| AtomicU32::new(0)),
        }
    }

    /// Segments stashed now (a snapshot).
    #[inline]
    pub(crate) fn len(&self) -> usize {
        // SeqCst: read after the pool's fences in its re-checks (`local_pool.rs`), where it
        // must see a push ordered before those fences.
        len(self.state.load(Ordering::SeqCst))
    }

    /// Owner only: stashes `index` if fewer than `limit` (≤ [`STASH_CAPACITY`]) are held;
    /// hands it back otherwise.
    #[inline]
    pub(crate) fn push(&self, index: u32, limit: usize) -> Result<(), u32> {
        // Relaxed: a stale state only fails the compare-and-swap below.
        let mut s = self.state.load(Ordering::Relaxed);
        loop {
            let n = len(s);
            if n >= limit.min(STASH_CAPACITY) {
                return Err(index);
            }
            // Relaxed: published by the compare-and-swap's Release; a taker reads only items
            // below the length it saw, and this one is not (see the module docs).
            self.items[n].store(index, Ordering::Relaxed);
            // SeqCst: Release publishes the item to takers' Acquire; the pool reads its flags
            // after this (`local_pool.rs`, protocols A, L, D, S). Acquire on failure: a
            // taker's reads of the items happened before we overwrite any of them.
            match self
                .state
                // `n < STASH_CAPACITY`: the length field does not overflow.
                .compare_exchange(s, s.wrapping_add(1), Ordering::SeqCst, Ordering::Acquire)
            {
                Ok(_) => return Ok(()),
                Err(now) => s = now,
            }
        }
    }

    /// Owner only: stashes as many of `indices` as fit below `limit` (≤ [`STASH_CAPACITY`])
    /// with one compare-and-swap; returns how many (the first ones).
    #[inline]
    pub(crate) fn push_many(&self, indices: &[u32], limit: usize) -> usize {
        // Relaxed: a stale state only fails the compare-and-swap below.
        let mut s = self.state.load(Ordering::Relaxed);
        loop {
            let n = len(s);
            let k = limit
                .min(STASH_CAPACITY)
                .saturating_sub(n)
                .min(indices.len());
            if k == 0 {
                return 0;
            }
            // `n + k ≤ STASH_CAPACITY`.
            for (item, &i) in self.items[n..n.wrapping_add(k)].iter().zip(indices) {
                // Relaxed: published by the compare-and-swap below (as in `push`).
                item.store(i, Ordering::Relaxed);
            }
            // SeqCst, Acquire on failure: as in `push`.
            match self
                .state
                // `n + k ≤ STASH_CAPACITY`: the length field does not overflow.
                .compare_exchange(
                    s,
                    s.wrapping_add(k as u64),
                    Ordering::SeqCst,
                    Ordering::Acquire,
                ) {
                Ok(_) => return k,
                Err(now) => s = now,
            }
        }
    }

    /// Owner only: stashes `indices` (all of them, into an empty stash); hands them back if
    /// the stash is not empty or they do not fit.
    #[inline]
    pub(crate) fn fill<'a>(&self, indices: &'a [u32]) -> Result<(), &'a [u32]> {
        // Relaxed: only the owner adds; a taker can only empty the stash further.
        let s = self.state.load(Ordering::Relaxed);
        if len(s) != 0 || indices.len() > STASH_CAPACITY {
            return Err(indices);
        }
        for (item, &i) in self.items.iter().zip(indices) {
            // Relaxed: published by the compare-and-swap below.
            item.store(i, Ordering::Relaxed);
        }
        // SeqCst: as in `push`. A failure means a taker changed the removal count of an
        // empty stash (it took nothing): retry once from its state.
        let mut s = s;
        loop {
            match self.state.compare_exchange(
                s,
                s | indices.len() as u64,
                Ordering::SeqCst,
                Ordering::Acquire,
            ) {
                Ok(_) => return Ok(()),
                Err(now) if len(now) == 0 => s = now,
                Err(_) => return Err(indices),
            }
        }
    }

    /// Owner only: the segment stashed last, if any.
    #[inline]
    pub(crate) fn pop(&self) -> Option<u32> {
        // Relaxed: a stale state only fails the compare-and-swap below.
        let mut s = self.state.load(Ordering::Relaxed);
        loop {
            let n = len(s);
            if n == 0 {
                return None;
            }
            // Relaxed: our own store, or published to us by the compare-and-swap that filled
            // the stash (we are the only adder).
            // `n > 0`: no wrap.
            let last = n.wrapping_sub(1);
            let index = self.items[last].load(Ordering::Relaxed);
            // SeqCst: one winner among this pop and any take; in the pool's single order.
            match self.state.compare_exchange(
                s,
                removed(s, last),
                Ordering::SeqCst,
                Ordering::Acquire,
            ) {
                Ok(_) => return Some(index),
                Err(now) => s = now,
            }
        }
    }

    /// Takes every stashed segment (the owner, or any thread holding the lock of the pool's
    /// list of stashes: only one of them takes each segment).
    #[inline]
    pub(crate) fn take_all(&self) -> Taken {
        let mut taken = Taken {
            items: [0; STASH_CAPACITY],
            len: 0,
        };
        // Acquire: pairs with the Release of the compare-and-swap that published the items.
        let mut s = self.state.load(Ordering::Acquire);
        loop {
            let n = len(s).min(STASH_CAPACITY);
            if n == 0 {
                return taken;
            }
            for (t, item) in taken.items.iter_mut().zip(&self.items[..n]) {
                // Relaxed: ordered after their publication by the Acquire load above; kept
                // only if the compare-and-swap below shows no removal happened since.
                *t = item.load(Ordering::Relaxed);
            }
            // SeqCst: one winner among takes and pops; Release orders our reads before the
            // owner's next writes of the items (its failed or later compare-and-swap
            // acquires it).
            match self
                .state
                .compare_exchange(s, removed(s, 0), Ordering::SeqCst, Ordering::Acquire)
            {
                Ok(_) => {
                    taken.len = n;
                    return taken;
                }
                Err(now) => s = now,
            }
        }
    }
}

#[cfg(all(test, not(membudget_loom)))]
mod tests {
    use super::*;

    #[test]
    fn push_pop_take_and_fill_keep_every_index_once() {
        let s = Stash::new();
        assert_eq!(s.pop(), None);
        assert_eq!(s.push(1, 3), Ok(()));
        assert_eq!(s.push(2, 3), Ok(()));
        assert_eq!(s.push(3, 3), Ok(()));
        assert_eq!(s.push(4, 3), Err(4), "at the limit");
        assert_eq!(s.len(), 3);
        assert_eq!(s.pop(), Some(3));
        assert_eq!(s.take_all().as_slice(), &[1, 2]);
        assert_eq!(s.len(), 0);
        assert!(s.take_all().as_slice().is_empty());
        assert_eq!(s.fill(&[7, 8, 9]), Ok(()));
        assert_eq!(s.fill(&[1]), Err(&[1][..]), "only into an empty stash");
        assert_eq!(s.pop(), Some(9));
        assert_eq!(s.push(10, usize::MAX), Ok(()));
        assert_eq!(s.take_all().as_slice(), &[7, 8, 10]);
        let all: Vec<u32> = (0..20).collect();
        assert!(s.fill(&all).is_err(), "more than fits");
        for i in 0..20 {
            let _ = s.push(i, usize::MAX);
        }
        assert_eq!(s.len(), STASH_CAPACITY);
    }

    #[test]
    fn racing_pops_and_takes_hand_out_each_index_once() {
        let s = std::sync::Arc::new(Stash::new());
        let rounds = if cfg!(miri) { 20 } else { 20_000 };
        for round in 0..rounds {
            for i in 0..4 {
                s.push(round * 4 + i, 4).unwrap();
            }
            let t = {
                let s = s.clone();
                std::thread::spawn(move || s.take_all().as_slice().to_vec())
            };
            let mut mine = Vec::new();
            while let Some(i) = s.pop() {
                mine.push(i);
            }
            let mut all = t.join().unwrap();
            all.extend(mine);
            all.sort_unstable();
            let expected: Vec<u32> = (round * 4..round * 4 + 4).collect();
            assert_eq!(all, expected, "round {round}");
        }
    }
}

/// Loom model checks of the stash on its own (`scripts/test-loom`: `--lib loom`): the owner's
/// pushes and pops racing a taker, every index handed out exactly once.
#[cfg(all(test, membudget_loom))]
mod loom_models {
    use super::*;
    use loom::sync::Arc;

    #[test]
    fn loom_pop_and_push_racing_a_take_hand_out_each_index_once() {
        loom::model(|| {
            let s = Arc::new(Stash::new());
            s.push(1, STASH_CAPACITY).unwrap();
            s.push(2, STASH_CAPACITY).unwrap();
            let taker = {
                let s = s.clone();
                loom::thread::spawn(move || s.take_all().as_slice().to_vec())
            };
            let mut mine = Vec::new();
            mine.extend(s.pop());
            // A push racing the take: the taker never returns an item overwritten by it.
            s.push(3, STASH_CAPACITY).unwrap();
            mine.extend(s.pop());
            let mut all = taker.join().unwrap();
            all.extend(mine);
            all.extend(s.take_all().as_slice());
            all.sort_unstable();
            assert_eq!(all, [1, 2, 3]);
        });
    }

    #[test]
    fn loom_fill_racing_a_take_of_the_empty_stash_keeps_the_batch() {
        loom::model(|| {
            let s = Arc::new(Stash::new());
            let taker = {
                let s = s.clone();
                loom::thread::spawn(move || s.take_all().as_slice().to_vec())
            };
            let filled = s.fill(&[4, 5]).is_ok();
            let mut all = taker.join().unwrap();
            all.extend(s.take_all().as_slice());
            all.sort_unstable();
            if filled {
                assert_eq!(all, [4, 5]);
            } else {
                assert!(all.is_empty());
            }
        });
    }
}
