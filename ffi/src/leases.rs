//! `Leases`: the ids of network buffers lent to a host, checked against a per-segment
//! generation instead of being inserted into and removed from a registry per buffer.
//!
//! Every segment of a runtime's network pool gets a *lease* — a slot of one process-wide
//! table — when the runtime is made. Lending the segment's buffer stores the buffer's raw token
//! in the lease and marks it lent; the id names the lease and its count of lendings:
//!
//! ```text
//!  63                          32 31  28 27  24 23                      0
//! +------------------------------+------+------+-------------------------+
//! |      count, bits 4..35       | tag 3| count|     lease index + 1     |
//! |                              |      | 0..3 |                         |
//! +------------------------------+------+------+-------------------------+
//!   lease state:  the same count bits | 1111 in bits 28..31 | DRAINING << 1 | LENT
//! ```
//!
//! Tag 3 sits where every registry id keeps its tag (`registry.rs`), so a buffer id passed as a
//! handle or segment id is refused as foreign, and theirs here. The state keeps the count where
//! the id does (so an id is the state's count bits and the lease's fixed low bits, and checking
//! one is a mask and a compare), with bits 28..31 set so that adding 1 at bit 24 carries into
//! bit 32.
//!
//! - **Lend** (by the thread holding the buffer; the lease is not lent): the token goes into the
//!   lease, then the state gains `LENT` (`Release`). The id carries the count.
//! - **Recycle** `id`: the state must be exactly the id's count with `LENT` (`Acquire`); the
//!   token is read, then one compare-and-swap moves the state to the next count, not lent. Only
//!   one compare-and-swap can win: a repeated or racing recycle, a stale id (another count) or a
//!   forged one is refused — never a second free. The token is read *before* the winning
//!   compare-and-swap, so a recycler never touches the lease after it: whoever then sees the
//!   lease not lent may reuse it at once.
//! - **Counts never wrap.** A lease whose count reaches 2^36 − 1 is retired — never lent again,
//!   never reused — and its segment gets a fresh lease, so an id is valid at most once, ever.
//!   At 10^8 buffer round trips a second (more than a machine does) a lease is retired about
//!   every 11 minutes, 64 bytes each; the 2^24 leases would last for centuries.
//! - **Leases are reused, never freed.** When a network's lending ends (its runtime and every
//!   local pool of it are freed), its unlent leases go back to the free list at once and its
//!   lent ones are marked `DRAINING`: their recycle (still valid: the buffer stays the host's
//!   until then) returns them. A reused lease keeps its count, so ids of the old network stay
//!   invalid. A stale or forged id therefore only ever reads a lease's state, which lives as
//!   long as the process; the table's memory is bounded by the most segments of runtimes
//!   alive at once.

use crate::buckets::Buckets;
use crate::registry::Lookup;
use crate::sync::{AtomicPtr, AtomicU64, Mutex, MutexGuard, Ordering};
use core::ptr::{self, NonNull};

const INDEX_BITS: u32 = 24;
const INDEX_MASK: u64 = (1 << INDEX_BITS) - 1;
const TAG_SHIFT: u32 = 28;
const TAG_MASK: u64 = 0xF;
/// The tag of buffer ids (registries use 1, 2, 4, ...).
const TAG: u64 = 3;
/// Most leases the table holds (the index + 1 must fit in 24 bits).
pub(crate) const MAX_LEASES: u32 = (1 << INDEX_BITS) - 1;

/// The bits of an id, and of a lease's state, that hold the 36-bit lending count: its low 4
/// bits in 24..27, the rest in 32..63.
const COUNT_FIELD: u64 = 0xFFFF_FFFF_0F00_0000;
/// Bits 28..31, always set in a state so that adding [`ONE`] carries from bit 27 to bit 32.
const FILL: u64 = 0xF000_0000;
/// A count of 1 in [`COUNT_FIELD`] (its lowest bit).
const ONE: u64 = 1 << 24;
/// The count field of a lease lent its last time (all ones: 2^36 − 1), retired for good.
const RETIRED: u64 = COUNT_FIELD;

const LENT: u64 = 1;
const DRAINING: u64 = 2;

/// log2 of the first bucket's length (small under loom to keep the model small).
const FIRST_LOG2: u32 = if cfg!(membudget_loom) { 1 } else { 10 };

/// One segment's lease. A cache line each: neighbouring segments are lent and recycled by
/// different threads.
#[repr(align(64))]
pub(crate) struct Lease {
    /// Count field | [`FILL`] | `DRAINING` | `LENT` (see the module docs).
    state: AtomicU64,
    token: AtomicPtr<()>,
    /// The id bits that never change: tag and index + 1 (fixed when the lease is first
    /// handed out).
    id_base: AtomicU64,
}

impl Lease {
    fn new() -> Lease {
        Lease {
            state: AtomicU64::new(FILL),
            token: AtomicPtr::new(ptr::null_mut()),
            id_base: AtomicU64::new(0),
        }
    }

    /// The lease's index in its table.
    #[inline]
    fn index(&self) -> u32 {
        // Relaxed: written once before the lease is first handed out by `reserve` (under the
        // free list's mutex, which orders it before every user).
        ((self.id_base.load(Ordering::Relaxed) & INDEX_MASK) as u32).wrapping_sub(1)
    }

    /// Lends `token` through this lease and returns the id that takes it back.
    ///
    /// # Errors
    /// [`Exhausted`] if the lease was lent its last time: it is retired, and the caller gives
    /// the segment a new lease (nothing is stored).
    ///
    /// # Safety
    /// The lease came from [`Leases::reserve`] and is not lent, and the caller holds the buffer
    /// `token` stands for (so nobody lends through this lease concurrently).
    #[inline]
    pub(crate) unsafe fn lend(&self, token: NonNull<()>) -> Result<u64, Exhausted> {
        // Relaxed: we are the lease's only writer while it is not lent (recycles of stale ids
        // fail without writing); the recycle that last changed it is ordered before us by the
        // buffer's way back to us through its pool.
        let state = self.state.load(Ordering::Relaxed);
        if state & COUNT_FIELD == RETIRED {
            return Err(Exhausted);
        }
        debug_assert_eq!(state & (LENT | DRAINING), 0, "a lease lent twice");
        // Relaxed: published by the Release store below.
        self.token.store(token.as_ptr(), Ordering::Relaxed);
        // Release: pairs with the Acquire load in `take`, which then reads our token.
        self.state.store(state | LENT, Ordering::Release);
        // Relaxed: see `index`.
        Ok((state & COUNT_FIELD) | self.id_base.load(Ordering::Relaxed))
    }
}

/// A lease that has been lent its last time (see the module docs): its segment needs a new
/// one.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Exhausted;

/// The lease table. See the module docs.
pub(crate) struct Leases {
    leases: Buckets<Lease, FIRST_LOG2>,
    free: Mutex<FreeLeases>,
}

struct FreeLeases {
    /// Leases given back, reused first.
    free: Vec<u32>,
    /// Leases never handed out start here.
    next: u32,
}

/// The id of lease `index` lent under `count` (tests build ids with it).
#[cfg(test)]
fn make_id(index: u32, count: u64) -> u64 {
    count_field(count) | (TAG << TAG_SHIFT) | (u64::from(index) + 1)
}

/// `count` laid out in [`COUNT_FIELD`].
#[cfg(test)]
fn count_field(count: u64) -> u64 {
    ((count >> 4) << 32) | ((count & 0xF) << 24)
}

/// The lease index and count an id names (tests check the layout with it).
#[cfg(test)]
fn decode(id: u64) -> Result<(u32, u64), Lookup> {
    let low = id & INDEX_MASK;
    if low == 0 || (id >> TAG_SHIFT) & TAG_MASK != TAG {
        return Err(Lookup::Foreign);
    }
    let count = ((id >> 32) << 4) | ((id >> 24) & 0xF);
    Ok(((low - 1) as u32, count))
}

impl Leases {
    /// An empty table.
    #[cfg(not(membudget_loom))]
    pub(crate) const fn new() -> Leases {
        Leases {
            leases: Buckets::new(),
            free: Mutex::new(FreeLeases {
                free: Vec::new(),
                next: 0,
            }),
        }
    }

    /// An empty table.
    #[cfg(membudget_loom)]
    pub(crate) fn new() -> Leases {
        Leases {
            leases: Buckets::new(),
            free: Mutex::new(FreeLeases {
                free: Vec::new(),
                next: 0,
            }),
        }
    }

    fn free_list(&self) -> MutexGuard<'_, FreeLeases> {
        // Push/pop only: a panic cannot leave the list inconsistent.
        self.free.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `n` leases not lent, for the segments of a network; `None` when the table cannot hold
    /// that many more ([`MAX_LEASES`] in all).
    pub(crate) fn reserve(&self, n: usize) -> Option<Vec<&Lease>> {
        let mut f = self.free_list();
        let reused = f.free.len().min(n);
        let fresh = u32::try_from(n - reused).ok()?;
        let start = f.next;
        let end = start.checked_add(fresh).filter(|&e| e <= MAX_LEASES)?;
        let at = f.free.len() - reused;
        // Every lease is found (or its bucket made) before the list changes: all or nothing.
        let mut leases = f.free[at..]
            .iter()
            .map(|&i| self.leases.get(i))
            .collect::<Option<Vec<&Lease>>>()?;
        for i in start..end {
            let lease = self.leases.get_or_allocate(i, Lease::new)?;
            // Relaxed: published with the lease by the free list's mutex (see `index`).
            lease
                .id_base
                .store((TAG << TAG_SHIFT) | (u64::from(i) + 1), Ordering::Relaxed);
            leases.push(lease);
        }
        f.next = end;
        f.free.truncate(at);
        Some(leases)
    }

    /// Takes back the token lent under `id`; the id is invalid afterwards.
    ///
    /// # Errors
    /// [`Lookup::Foreign`] for an id this table never issues (zero, garbage, another kind of
    /// id); [`Lookup::Stale`] for an id whose buffer was already recycled (or is being
    /// recycled by another thread) or that was never issued.
    #[inline]
    pub(crate) fn take(&self, id: u64) -> Result<NonNull<()>, Lookup> {
        let low = id & INDEX_MASK;
        if low == 0 || (id >> TAG_SHIFT) & TAG_MASK != TAG {
            return Err(Lookup::Foreign);
        }
        let lease = self.leases.get((low - 1) as u32).ok_or(Lookup::Stale)?;
        let lent = (id & COUNT_FIELD) | FILL | LENT;
        // Acquire: pairs with the Release store in `lend`, so the token read below is the one
        // lent under this count.
        let mut state = lease.state.load(Ordering::Acquire);
        if state & !DRAINING != lent {
            return Err(Lookup::Stale);
        }
        // Relaxed: ordered after `lend`'s store by the Acquire load above; no later lend can
        // have written it if the compare-and-swap below wins (the lease is lent until then).
        let token = lease.token.load(Ordering::Relaxed);
        // The next count, not lent, not draining (a lent count is below `RETIRED`: no carry
        // out of bit 63).
        let next = ((lent & !LENT) + ONE) | FILL;
        loop {
            // AcqRel: Release orders our token read before anyone who sees the lease returned
            // (a reuse overwrites the token); Acquire keeps the read ordered after the lend.
            match lease
                .state
                .compare_exchange(state, next, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => break,
                // `retire` marked it draining meanwhile: still ours to take.
                Err(now) if now == lent | DRAINING => state = now,
                Err(_) => return Err(Lookup::Stale),
            }
        }
        if state & DRAINING != 0 {
            self.give_back(lease, next);
        }
        NonNull::new(token).ok_or(Lookup::Stale)
    }

    /// A drained lease's network is gone: return the lease (now in `state`) for reuse, unless
    /// it is retired.
    #[cold]
    #[inline(never)]
    fn give_back(&self, lease: &Lease, state: u64) {
        if state & COUNT_FIELD != RETIRED {
            self.free_list().free.push(lease.index());
        }
    }

    /// Ends lending through `leases` (a network's): unlent leases return to the free list now,
    /// lent ones when their buffer is recycled; exhausted ones never.
    ///
    /// # Safety
    /// The leases came from this table's [`reserve`](Self::reserve), and no lend through any
    /// of them is in progress or will happen (their network's lending has ended).
    pub(crate) unsafe fn retire<'a>(&self, leases: impl IntoIterator<Item = &'a Lease>) {
        let mut free = Vec::new();
        for lease in leases {
            // Acquire: a recycle that returned the lease happened before we reuse it.
            let mut state = lease.state.load(Ordering::Acquire);
            loop {
                if state & LENT == 0 {
                    // Not lent, and no lend will come: nobody else writes it.
                    if state & COUNT_FIELD != RETIRED {
                        free.push(lease.index());
                    }
                    break;
                }
                // Lent: its recycle returns it. AcqRel: as in `take`, against its recycle.
                match lease.state.compare_exchange_weak(
                    state,
                    state | DRAINING,
                    Ordering::AcqRel,
                    Ordering::Acquire,
                ) {
                    Ok(_) => break,
                    Err(now) => state = now,
                }
            }
        }
        self.free_list().free.append(&mut free);
    }

    /// Leases in the free list (diagnostics and tests).
    #[cfg(test)]
    pub(crate) fn free_len(&self) -> usize {
        self.free_list().free.len()
    }

    /// Sets a lease's count (tests reach the retirement limit without 2^36 lendings).
    #[cfg(all(test, not(membudget_loom)))]
    pub(crate) fn set_count(lease: &Lease, count: u64) {
        lease
            .state
            .store(count_field(count) | FILL, Ordering::Relaxed);
    }
}

#[cfg(all(test, not(membudget_loom)))]
mod tests {
    use super::*;

    fn token(n: usize) -> NonNull<()> {
        NonNull::new(core::ptr::without_provenance_mut::<()>(n * 8)).unwrap()
    }

    fn indices(leases: &[&Lease]) -> Vec<u32> {
        leases.iter().map(|l| l.index()).collect()
    }

    #[test]
    fn ids_round_trip_and_carry_the_tag_where_registries_do() {
        for (index, count) in [
            (0, 0),
            (5, 17),
            (16, 1 << 20),
            (MAX_LEASES - 1, (1 << 36) - 2),
        ] {
            let id = make_id(index, count);
            assert_eq!(decode(id), Ok((index, count)));
            assert_eq!((id >> TAG_SHIFT) & TAG_MASK, TAG);
        }
        assert_eq!(decode(0), Err(Lookup::Foreign));
        assert_eq!(decode(u64::MAX), Err(Lookup::Foreign));
        assert_eq!(decode(make_id(3, 9) & !INDEX_MASK), Err(Lookup::Foreign));
        // A runtime handle (tag 1) or a segment id (tag 4) is not a buffer id.
        assert_eq!(decode((7 << 32) | (1 << 28) | 1), Err(Lookup::Foreign));
        assert_eq!(decode((7 << 32) | (4 << 28) | 1), Err(Lookup::Foreign));
    }

    #[test]
    fn lend_take_once_and_stale_ids_are_refused() {
        let t = Leases::new();
        let leases = t.reserve(3).unwrap();
        assert_eq!(indices(&leases), vec![0, 1, 2]);
        // SAFETY: reserved, not lent, and we stand for the token's holder.
        let a = unsafe { leases[1].lend(token(1)) }.unwrap();
        assert_eq!(t.take(a), Ok(token(1)));
        assert_eq!(t.take(a), Err(Lookup::Stale), "a second recycle is refused");
        // SAFETY: as above.
        let b = unsafe { leases[1].lend(token(2)) }.unwrap();
        assert_ne!(a, b);
        assert_eq!(t.take(a), Err(Lookup::Stale), "the first id stays dead");
        assert_eq!(t.take(b ^ (1 << 40)), Err(Lookup::Stale), "a forged count");
        assert_eq!(t.take(make_id(2, 0)), Err(Lookup::Stale), "never lent");
        assert_eq!(
            t.take(make_id(MAX_LEASES - 1, 0)),
            Err(Lookup::Stale),
            "no such lease"
        );
        assert_eq!(t.take(b), Ok(token(2)));
    }

    #[test]
    fn counts_carry_across_the_tag_bits() {
        let t = Leases::new();
        let lease = t.reserve(1).unwrap()[0];
        let start = 0xFFF_FFF0;
        Leases::set_count(lease, start);
        for i in 0..40 {
            // SAFETY: reserved, and not lent (every round takes it back).
            let id = unsafe { lease.lend(token(1)) }.unwrap();
            assert_eq!(decode(id), Ok((lease.index(), start + i)));
            assert_eq!((id >> TAG_SHIFT) & TAG_MASK, TAG);
            assert_eq!(t.take(id), Ok(token(1)));
        }
    }

    #[test]
    fn an_exhausted_lease_is_retired_never_wrapped() {
        let t = Leases::new();
        let leases = t.reserve(1).unwrap();
        let index = leases[0].index();
        let last_count = (1 << 36) - 2;
        Leases::set_count(leases[0], last_count);
        // SAFETY: reserved, not lent.
        let last = unsafe { leases[0].lend(token(1)) }.unwrap();
        assert_eq!(decode(last), Ok((index, last_count)));
        assert_eq!(t.take(last), Ok(token(1)));
        // SAFETY: as above.
        assert_eq!(unsafe { leases[0].lend(token(2)) }, Err(Exhausted));
        // Every id the lease ever had (the count wrapped to 36 bits) stays refused.
        for count in [0, 1, last_count, last_count + 1] {
            assert_eq!(t.take(make_id(index, count)), Err(Lookup::Stale));
        }
        // SAFETY: nothing lends through it any more.
        unsafe { t.retire(leases.iter().copied()) };
        assert_eq!(t.free_len(), 0, "an exhausted lease is never reused");
        assert_eq!(indices(&t.reserve(1).unwrap()), vec![1]);
    }

    #[test]
    fn retiring_returns_unlent_leases_now_and_lent_ones_on_recycle() {
        let t = Leases::new();
        let leases = t.reserve(4).unwrap();
        // SAFETY: reserved, not lent.
        let id = unsafe { leases[2].lend(token(9)) }.unwrap();
        // SAFETY: no lend happens any more.
        unsafe { t.retire(leases.iter().copied()) };
        assert_eq!(t.free_len(), 3);
        assert_eq!(
            t.take(id),
            Ok(token(9)),
            "a lent buffer stays the host's until recycled"
        );
        assert_eq!(t.free_len(), 4);
        assert_eq!(t.take(id), Err(Lookup::Stale));
        // Reused by the next network, with the counts going on: old ids never come back.
        let again = t.reserve(4).unwrap();
        let mut sorted = indices(&again);
        sorted.sort_unstable();
        assert_eq!(sorted, vec![0, 1, 2, 3]);
        assert_eq!(t.free_len(), 0);
        // SAFETY: reserved, not lent.
        let new = unsafe { leases[2].lend(token(10)) }.unwrap();
        assert_ne!(new, id);
        assert_eq!(t.take(id), Err(Lookup::Stale));
        assert_eq!(t.take(new), Ok(token(10)));
    }

    #[test]
    fn the_table_refuses_more_than_it_can_name() {
        let t = Leases::new();
        assert!(t.reserve(MAX_LEASES as usize + 1).is_none());
        assert!(t.reserve(usize::MAX).is_none());
        assert!(t.reserve(0).unwrap().is_empty());
        assert_eq!(t.free_len(), 0);
    }

    #[test]
    fn racing_recycles_of_one_id_take_it_once() {
        let t = std::sync::Arc::new(Leases::new());
        let lease = t.reserve(1).unwrap()[0];
        let rounds = if cfg!(miri) { 20 } else { 2000 };
        for round in 0..rounds {
            // SAFETY: reserved, and not lent (every round takes it back).
            let id = unsafe { lease.lend(token(round + 1)) }.unwrap();
            let hs: Vec<_> = (0..2)
                .map(|_| {
                    let t = t.clone();
                    std::thread::spawn(move || t.take(id).is_ok())
                })
                .collect();
            let won: usize = hs.into_iter().map(|h| usize::from(h.join().unwrap())).sum();
            assert_eq!(won, 1, "round {round}");
        }
    }
}

/// Loom model checks of the lease protocol as it ships (`Leases` over loom's atomics and
/// mutex): a recycle racing a second recycle, a stale recycle racing the next lend, and the
/// end of a network's lending racing a recycle. Each checks that a token is taken at most once
/// and a lease is never reused while lent
/// (`RUSTFLAGS="--cfg membudget_loom" cargo test --release -p membudget-ffi --lib loom`).
/// Not modelled here: the `Buffer` a token stands for (`bufferpool`'s own loom tests).
#[cfg(all(test, membudget_loom))]
mod loom_tests {
    use super::{Leases, Lookup};
    use core::ptr::NonNull;
    use loom::sync::Arc;
    use loom::thread;

    fn token(n: usize) -> NonNull<()> {
        NonNull::new(core::ptr::without_provenance_mut::<()>(n * 8)).unwrap()
    }

    #[test]
    fn loom_double_recycle_takes_the_token_once() {
        loom::model(|| {
            let t = Arc::new(Leases::new());
            let lease = t.reserve(1).unwrap()[0];
            // SAFETY: reserved, not lent.
            let id = unsafe { lease.lend(token(1)) }.unwrap();
            let t2 = t.clone();
            let other = thread::spawn(move || t2.take(id));
            let mine = t.take(id);
            let theirs = other.join().unwrap();
            assert_eq!(
                [mine, theirs]
                    .iter()
                    .filter(|r| **r == Ok(token(1)))
                    .count(),
                1
            );
            assert_eq!([mine, theirs].iter().filter(|r| r.is_err()).count(), 1);
        });
    }

    #[test]
    fn loom_stale_recycle_racing_the_next_lend_is_refused() {
        loom::model(|| {
            let t = Arc::new(Leases::new());
            let lease = t.reserve(1).unwrap()[0];
            // SAFETY: reserved, not lent.
            let first = unsafe { lease.lend(token(1)) }.unwrap();
            let t2 = t.clone();
            let stale = thread::spawn(move || t2.take(first));
            // The owner recycles and lends the segment again while the stale recycle runs.
            let second = match t.take(first) {
                // SAFETY: we just took the token back: the lease is not lent.
                Ok(_) => Some(unsafe { lease.lend(token(2)) }.unwrap()),
                Err(Lookup::Stale) => None,
                Err(e) => panic!("{e:?}"),
            };
            let stale = stale.join().unwrap();
            match second {
                Some(second) => {
                    assert_eq!(
                        stale,
                        Err(Lookup::Stale),
                        "only one recycle of `first` wins"
                    );
                    assert_eq!(t.take(second), Ok(token(2)), "the new lending is intact");
                }
                None => assert_eq!(stale, Ok(token(1))),
            }
            assert_eq!(t.take(first), Err(Lookup::Stale));
        });
    }

    #[test]
    fn loom_retiring_while_a_recycle_runs_frees_the_lease_once() {
        loom::model(|| {
            let t = Arc::new(Leases::new());
            let lease = t.reserve(1).unwrap()[0];
            // SAFETY: reserved, not lent.
            let id = unsafe { lease.lend(token(1)) }.unwrap();
            let t2 = t.clone();
            let recycler = thread::spawn(move || t2.take(id));
            // SAFETY: nothing lends through the lease any more.
            unsafe { t.retire([lease]) };
            assert_eq!(recycler.join().unwrap(), Ok(token(1)));
            assert_eq!(
                t.free_len(),
                1,
                "returned exactly once, by whoever came last"
            );
            assert_eq!(t.take(id), Err(Lookup::Stale));
            // Reused: a new lend is taken back intact, the old id stays dead.
            let again = t.reserve(1).unwrap()[0];
            assert!(core::ptr::eq(again, lease));
            // SAFETY: reserved, not lent.
            let new = unsafe { again.lend(token(3)) }.unwrap();
            assert_eq!(t.take(id), Err(Lookup::Stale));
            assert_eq!(t.take(new), Ok(token(3)));
        });
    }
}
