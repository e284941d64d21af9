//! `LocalBufferPool`: a min/max-bounded share of the network buffers with backpressure.
//!
//! ```text
//!   request ──► this thread's stash ──► idle list (lock-free queue) ──► Buffer ──drop──► recycle
//!                ▲  (a batch at a time)    │ empty and requested < size: fetch one more     │
//!                │                         ▼                                               ▼
//!                │                  global free list ◄── excess (requested > size) or destroyed
//!                └──────────── this thread's stash (full: to the idle list in one batch) ◄─┘
//! ```
//!
//! Counters are atomics: `requested` (segments taken from the global pool, idle or lent),
//! `size` (target, between min and max), per-subpartition counts. Idle segments sit in the
//! pool's idle list or in the *stashes* of the threads that use the pool (`stash.rs`,
//! `thread_cache.rs`): a request and a recycle on one thread pop and push that thread's own
//! stash (one compare-and-swap on a cache line no other thread writes), a recycling thread
//! hands its stash to the idle list when it is full and a requesting thread fills its empty
//! stash from the idle list, both in one batch, so buffers cross cores a batch at a time
//! (a thread that does both keeps half of a full stash, so alternating requests and recycles
//! settle in the middle of its stash instead of filling and flushing it in turn).
//! A stash holds at most half the pool's size. Stashed segments are idle segments like
//! the others: anything unusual (pool drained, over size, listeners waiting, destroyed,
//! unavailable) goes to one cold `reconcile` that first gathers every stash of the pool into
//! the idle list, then restores the invariants and fires wakers and listeners with no lock
//! held. So availability, the prefetch of one idle segment below the size, redistribution,
//! overdraft, subpartition limits and destruction see every idle segment, wherever it is.
//!
//! # Orderings
//! Four protocols order the lock-free paths without a lock. In each, one side publishes its
//! change, then a `SeqCst` fence, then reads the other side's change; of two such sequences one
//! comes first in the single `SeqCst` order, so at least one side sees the other and acts:
//! - **(A) availability** (`availability.rs`): `update_availability` marks the pool
//!   unavailable, fences, re-checks idle segments (idle list and stashes), subpartitions and
//!   `destroyed`; a producer (a recycle, a stash fill, anything that adds an idle segment)
//!   adds the segment (having freed its subpartition first), then reads the flag.
//! - **(L) listeners**: `add_buffer_listener` counts the listener, fences, re-checks idle
//!   segments; a producer adds, then reads `listener_count`.
//! - **(D) destroy**: `lazy_destroy` sets `destroyed`, fences, gathers the stashes and drains
//!   the idle list; a producer adds, then reads `destroyed`.
//! - **(S) shrink**: a resizer stores a smaller `size`, then gathers the stashes and drains
//!   excess idle segments (`reconcile`); a producer adds, then re-reads `requested` and `size`.
//!
//! A producer's fence is [`fence_after_rmw`], a no-op: adding to the idle list or a stash is
//! itself a `SeqCst` read-modify-write (`queue.rs`, `stash.rs`), so the reads after it must be
//! `SeqCst` accesses to be ordered after it (`needs_reconcile_after_add`). A segment moved
//! from a stash to the idle list (`gather_stashes`) is moved under the lock of the pool's list
//! of stashes, which the (A) and (L) re-checks take, so they see it in one place or the other.
//! Each `SeqCst` below names the protocol it takes part in.

use crate::availability::{Availability, AvailableFuture};
use crate::blocking::wait_available;
use crate::config::BufferPoolConfig;
use crate::error::BufferPoolError;
use crate::listener::BufferListener;
use crate::network_pool::GlobalInner;
use crate::pool_charge::PoolCharge;
use crate::queue::IndexQueue;
use crate::slot::{Owner, NO_CHANNEL};
use crate::stash::{Stash, STASH_CAPACITY};
use crate::sync::{fence, fence_after_rmw, lock, AtomicBool, AtomicUsize, Mutex, Ordering};
use crate::thread_cache::{self, Bound};
use crate::violation::report;
use crate::Buffer;
use std::collections::VecDeque;
use std::sync::{Arc, Weak};
use std::task::{Wake, Waker};
use std::time::{Duration, Instant};

/// Segments a batch request or recycle moves through the idle list at a time.
const BATCH: usize = 32;

/// The shared state of one local pool (aligned so the `Arc` counts sit on their own line).
#[repr(align(128))]
pub(crate) struct LocalInner {
    idle: IndexQueue,
    requested: AtomicUsize,
    size: AtomicUsize,
    destroyed: AtomicBool,
    listener_count: AtomicUsize,
    unavailable_subpartitions: AtomicUsize,
    pub(crate) availability: Availability,
    global: Arc<GlobalInner>,
    me: Weak<LocalInner>,
    id: usize,
    config: BufferPoolConfig,
    /// Most segments the pool can hold (its idle list's capacity): `max` + overdraft, at most
    /// the network's segments.
    capacity: usize,
    max_overdraft: AtomicUsize,
    subpartition_counts: Box<[AtomicUsize]>,
    listeners: Mutex<VecDeque<Arc<dyn BufferListener>>>,
    requesting_global: AtomicBool,
    /// The stashes of the threads bound to this pool (`thread_cache.rs`): their segments are
    /// idle segments of this pool. Taken on cold paths only.
    stashes: Mutex<Vec<Arc<Stash>>>,
    /// The consumer charged for the segments this pool holds (`pool_charge.rs`), if any.
    charge: PoolCharge,
    /// The consumer refused the last segment this pool tried to take: the pool then grows
    /// only on demand (no prefetch), and blocked requests retry every [`BUDGET_RETRY`].
    budget_refused: AtomicBool,
}

/// How often a request blocked while the pool's consumer refuses to grow retries: nothing
/// tells the pool when its budget has room again.
const BUDGET_RETRY: Duration = Duration::from_millis(10);

/// Subscription to the global pool's availability: fetches for the local pool when woken.
struct GlobalSubscription(Weak<LocalInner>);

impl Wake for GlobalSubscription {
    fn wake(self: Arc<Self>) {
        if let Some(pool) = self.0.upgrade() {
            pool.on_global_available();
        }
    }
}

impl LocalInner {
    pub(crate) fn new(
        global: Arc<GlobalInner>,
        id: usize,
        config: BufferPoolConfig,
        charge: PoolCharge,
    ) -> Arc<Self> {
        let capacity = config
            .max
            .saturating_add(config.max_overdraft_buffers)
            .min(global.total());
        Arc::new_cyclic(|me| LocalInner {
            idle: IndexQueue::new(capacity),
            requested: AtomicUsize::new(0),
            size: AtomicUsize::new(config.min),
            destroyed: AtomicBool::new(false),
            listener_count: AtomicUsize::new(0),
            unavailable_subpartitions: AtomicUsize::new(0),
            availability: Availability::new(false),
            global,
            me: me.clone(),
            id,
            config,
            capacity,
            max_overdraft: AtomicUsize::new(config.max_overdraft_buffers),
            subpartition_counts: (0..config.num_subpartitions)
                .map(|_| AtomicUsize::new(0))
                .collect(),
            listeners: Mutex::new(VecDeque::new()),
            requesting_global: AtomicBool::new(false),
            stashes: Mutex::new(Vec::new()),
            charge,
            budget_refused: AtomicBool::new(false),
        })
    }

    pub(crate) fn num_buffers(&self) -> usize {
        self.size.load(Ordering::Relaxed)
    }

    #[inline]
    pub(crate) fn is_destroyed(&self) -> bool {
        // SeqCst: (A) and (D) readers use it after their fences; pairs with `lazy_destroy`'s swap.
        self.destroyed.load(Ordering::SeqCst)
    }

    /// Most segments one thread's stash holds for this pool: half its size, so at least half
    /// the idle segments stay where every thread takes them first, while the batches that
    /// move between a stash and the idle list are large enough to pay for themselves even in
    /// small pools that run dry and refill (0 for pools below 2: no stash).
    #[inline]
    pub(crate) fn stash_limit(&self) -> usize {
        (self.size.load(Ordering::Relaxed) / 2).min(STASH_CAPACITY)
    }

    /// Requests one buffer (for `channel`, or [`NO_CHANNEL`]).
    #[inline(always)]
    pub(crate) fn request(&self, channel: u32) -> Result<Option<Buffer>, BufferPoolError> {
        if self.destroyed.load(Ordering::Acquire) {
            return Err(BufferPoolError::PoolDestroyed);
        }
        let index = match self.pop_stashed() {
            Some(i) => i,
            None => match self.request_idle() {
                Some(i) => i,
                None => return Ok(None),
            },
        };
        Ok(Some(self.lend(index, channel)))
    }

    /// A buffer of segment `index`, taken from this pool's idle segments.
    #[inline]
    fn lend(&self, index: u32, channel: u32) -> Buffer {
        if channel != NO_CHANNEL {
            self.count_channel(channel);
        }
        Buffer::from_slot(self.global.slot(index), channel)
    }

    /// The segment this thread stashed for this pool last, if any. Taking the last stashed
    /// segment while the idle list is empty may have left the pool with nothing idle (a
    /// recycle stashed it after another thread's `reconcile` gathered the stashes): then
    /// `reconcile` brings availability in line, as a request that empties the idle list does.
    #[inline]
    fn pop_stashed(&self) -> Option<u32> {
        let (index, last) = thread_cache::with(|c| {
            let b = c.bound_to(self)?;
            let index = b.stash().pop()?;
            Some((index, b.stash().len() == 0))
        })
        .flatten()?;
        if last && self.idle.is_empty() {
            self.reconcile();
        }
        Some(index)
    }

    /// This thread's stash is empty: takes a segment from the idle list and fills the stash
    /// with a batch of the next ones (leaving one in the idle list, so an empty idle list
    /// still means "nothing idle" and the pool prefetches exactly when Flink's does).
    #[inline(never)]
    fn request_idle(&self) -> Option<u32> {
        let mut batch = [0u32; STASH_CAPACITY + 1];
        // A stash bound to another pool and still holding its segments takes none of ours:
        // take only the one requested then.
        let stashable = thread_cache::with(|c| c.can_stash(self)).unwrap_or(false);
        let want = if stashable {
            self.stash_limit().saturating_add(1)
        } else {
            1
        };
        let n = self.idle.pop_leaving(&mut batch[..want], 1);
        if n == 0 {
            return self.request_slow();
        }
        if n > 1 {
            self.stash_batch(&batch[1..n]);
        }
        if self.idle.is_empty() {
            self.reconcile();
        }
        Some(batch[0])
    }

    /// Puts idle segments taken from the idle list into this thread's stash (binding it to
    /// this pool if it is free); what does not go there goes back to the idle list.
    fn stash_batch(&self, indices: &[u32]) {
        let (stashed, old) = thread_cache::with(|c| {
            let filled = |b: Bound<'_>| {
                let ok = b.stash().fill(indices).is_ok();
                if ok {
                    b.mark_refilled();
                }
                ok
            };
            if let Some(b) = c.bound_to(self) {
                return (filled(b), None);
            }
            let Some(me) = self.me.upgrade() else {
                return (false, None);
            };
            let (bound, old) = c.bind(&me);
            (bound.is_some_and(filled), old)
        })
        .unwrap_or((false, None));
        // May drop the last reference to another pool: after leaving the cache.
        drop(old);
        if !stashed {
            self.return_idle(indices);
        } else if self.needs_reconcile_after_add() {
            self.reconcile();
        }
    }

    /// Nothing in the idle list: takes other threads' stashed segments of this pool, or one
    /// from the global pool within size + overdraft; then restores the invariants.
    #[cold]
    #[inline(never)]
    fn request_slow(&self) -> Option<u32> {
        self.gather_stashes();
        let got = match self.idle.pop() {
            Some(i) => Some(i),
            None => {
                let limit = self
                    .size
                    .load(Ordering::Relaxed)
                    .saturating_add(self.max_overdraft.load(Ordering::Relaxed))
                    .min(self.capacity);
                // A refusal of the consumer reads as an empty network pool.
                self.take_from_global(limit).unwrap_or(None)
            }
        };
        self.reconcile();
        got
    }

    /// Takes one segment from the global pool if `requested < limit`, charging the pool's
    /// consumer; sets its owner. `Err` if the consumer refused (the segment went back).
    fn take_from_global(&self, limit: usize) -> Result<Option<u32>, ()> {
        let mut r = self.requested.load(Ordering::Relaxed);
        loop {
            if r >= limit || self.is_destroyed() {
                return Ok(None);
            }
            match self.requested.compare_exchange_weak(
                r,
                // `r < limit ≤ usize::MAX`: no overflow.
                r.wrapping_add(1),
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => break,
                Err(now) => r = now,
            }
        }
        match (self.global.request_pooled(), self.me.upgrade()) {
            (Some(i), Some(me)) => {
                // No lock is held: the consumer's reclaimers may recycle this pool's buffers.
                if self.charge.charge(1).is_err() {
                    self.budget_refused.store(true, Ordering::Relaxed);
                    self.global.recycle_pooled(i);
                    self.requested.fetch_sub(1, Ordering::Relaxed);
                    return Err(());
                }
                self.budget_refused.store(false, Ordering::Relaxed);
                // SAFETY: just popped from the global free list: we hold it exclusively.
                let old = unsafe { self.global.slot(i).set_owner(Owner::Local(me)) };
                debug_assert!(matches!(old, Owner::Free));
                Ok(Some(i))
            }
            (got, _) => {
                // No segment, or the pool is being dropped (no handle can use it any more).
                if let Some(i) = got {
                    self.global.recycle_pooled(i);
                }
                self.requested.fetch_sub(1, Ordering::Relaxed);
                Ok(None)
            }
        }
    }

    /// Gives a segment this pool holds back to the global pool (`requested` already counted
    /// down by the caller). The caller keeps `self` alive (it holds an `Arc`).
    fn give_back(&self, index: u32) {
        // SAFETY: the caller holds the segment exclusively (popped from idle, or last handle).
        let old = unsafe { self.global.slot(index).set_owner(Owner::Free) };
        self.global.recycle_pooled(index);
        // Credited once the segment is back (or freed, if the network pool is destroyed).
        self.charge.credit(1);
        drop(old);
    }

    /// Counts `requested` down by one if the pool is destroyed or over its size.
    ///
    /// Relaxed throughout: the compare-and-swap's atomicity alone keeps one count-down per
    /// segment given back. The decision takes part in no protocol: callers reach it from their
    /// own check of the same counters (the `SeqCst` loads in `recycle` and
    /// `return_excess_idle`), which these later loads on the same thread never read older
    /// values than (coherence); a refusal leaves the segment idle for (S) or (D) to return.
    fn try_release_excess(&self) -> bool {
        let mut r = self.requested.load(Ordering::Relaxed);
        loop {
            if r == 0 || !(self.is_destroyed() || r > self.size.load(Ordering::Relaxed)) {
                return false;
            }
            match self.requested.compare_exchange_weak(
                r,
                r.wrapping_sub(1), // `r > 0`: no wrap.
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return true,
                Err(now) => r = now,
            }
        }
    }

    /// Whether the pool is over its size or destroyed (a hint, relaxed: a recycle then takes
    /// the cold path, which decides with `try_release_excess`).
    #[inline]
    fn over_size_or_destroyed(&self) -> bool {
        self.requested.load(Ordering::Relaxed) > self.size.load(Ordering::Relaxed)
            || self.destroyed.load(Ordering::Relaxed)
    }

    /// A strong reference to this pool, for a caller that holds one of its segments (lent or
    /// just recycled, not yet idle): the segment's header holds a strong reference then, so
    /// the upgrade succeeds.
    fn strong(&self) -> Option<Arc<LocalInner>> {
        let me = self.me.upgrade();
        if me.is_none() {
            report(format_args!(
                "local pool {} has no strong reference while one of its segments is held",
                self.id
            ));
        }
        me
    }

    /// Returns segment `index` whose last handle dropped.
    ///
    /// `pool` is reached through the segment's header, whose reference keeps the pool alive
    /// only until the segment is idle: another thread may then move the segment on, rewrite
    /// the header and drop that reference, and a recycle that returns the segment to the
    /// network pool drops it itself. So this takes a raw pointer, not `&self` (a reference
    /// argument must stay valid for the whole call), and never a pointer *into* the header;
    /// once the segment is idle the pool is reached through this thread's binding (a stashed
    /// segment) or a strong reference taken before the segment became idle.
    ///
    /// # Safety
    /// `pool` is the owner recorded in the header of segment `index`, and the caller holds
    /// that segment exclusively (its last handle just dropped).
    pub(crate) unsafe fn recycle(pool: *const LocalInner, index: u32, channel: u32) {
        // SAFETY: the header of the segment the caller holds keeps the pool alive; `this` is
        // not used once the segment is idle (see above).
        let this = unsafe { &*pool };
        if channel != NO_CHANNEL {
            this.uncount_channel(channel);
        }
        if this.over_size_or_destroyed() {
            if let Some(me) = this.strong() {
                me.recycle_excess(index);
            }
            return;
        }
        let stashed = thread_cache::with(|c| {
            let b = c.bound_to(pool)?;
            b.stash().push(index, b.pool().stash_limit()).ok()?;
            // The segment is idle: the binding's pool (kept alive by it) from here on.
            Some(if b.pool().needs_reconcile_after_add() {
                b.pool_arc()
            } else {
                None
            })
        })
        .flatten();
        match stashed {
            Some(None) => {}
            Some(Some(p)) => p.reconcile(),
            // Not idle yet: the header's reference still keeps `this` alive.
            None => {
                if let Some(me) = this.strong() {
                    me.recycle_shared(&[index]);
                }
            }
        }
    }

    /// Returns segments of this pool whose last handles dropped, with as few operations on
    /// shared state as fit: this thread's stash takes what it has room for, the idle list the
    /// rest in one batch. Subpartitions are counted down by the caller. As in `recycle`,
    /// the pool is reached through a raw pointer.
    ///
    /// # Safety
    /// `pool` is the owner recorded in the headers of the segments `indices`, and the caller
    /// holds those segments exclusively (their last handles just dropped).
    pub(crate) unsafe fn recycle_many(pool: *const LocalInner, indices: &[u32]) {
        // SAFETY: as in `recycle`: the headers keep the pool alive until a segment is idle.
        let this = unsafe { &*pool };
        if this.over_size_or_destroyed() {
            if let Some(me) = this.strong() {
                for &i in indices {
                    Arc::clone(&me).recycle_excess(i);
                }
            }
            return;
        }
        let stashed = thread_cache::with(|c| {
            let b = c.bound_to(pool)?;
            let k = b.stash().push_many(indices, b.pool().stash_limit());
            // Segments are idle from here on: the binding's reference instead of `this`.
            let more = k < indices.len() || (k > 0 && b.pool().needs_reconcile_after_add());
            Some((k, if more { b.pool_arc() } else { None }))
        })
        .flatten();
        match stashed {
            Some((_, None)) => {}
            Some((k, Some(p))) if k == indices.len() => p.reconcile(),
            Some((k, Some(p))) => p.recycle_shared(&indices[k..]),
            // Nothing is idle yet: the headers' references still keep `this` alive.
            None => {
                if let Some(me) = this.strong() {
                    me.recycle_shared(indices);
                }
            }
        }
    }

    /// Over size or destroyed: back to the global pool, unless that changed meanwhile.
    #[cold]
    #[inline(never)]
    fn recycle_excess(self: Arc<Self>, index: u32) {
        if self.try_release_excess() {
            self.give_back(index);
        } else {
            self.recycle_shared(&[index]);
        }
    }

    /// This thread's stash is bound to another pool, or full: binds it here if it is free and
    /// stashes what fits; what does not (with a full stash's segments) goes to the idle list
    /// in one batch.
    #[inline(never)]
    fn recycle_shared(self: Arc<Self>, indices: &[u32]) {
        let mut batch = [0u32; STASH_CAPACITY + BATCH];
        for chunk in indices.chunks(BATCH) {
            let (flushed, stashed, old) = thread_cache::with(|c| {
                if let Some(b) = c.bound_to(&*self) {
                    // Full: its segments go to the idle list with these. A thread that also
                    // requests from this pool (a request filled the stash) keeps the newer
                    // half: flushing all would have its next request fill the stash again
                    // and its next recycle overflow it, moving a whole stash per buffer when
                    // it alternates. A thread that only recycles here hands over all of it.
                    let taken = b.stash().take_all();
                    let t = taken.as_slice();
                    let keep = if b.refilled() { t.len() / 2 } else { 0 };
                    // `keep ≤ t.len()`.
                    let (flush, kept) = t.split_at(t.len().wrapping_sub(keep));
                    // Into the stash just emptied (a smaller limit meanwhile keeps fewer).
                    let back = b.stash().push_many(kept, self.stash_limit());
                    let rest = kept.get(back..).unwrap_or_default();
                    // `flush.len() + rest.len() ≤ t.len() ≤ STASH_CAPACITY`.
                    let n = flush.len().wrapping_add(rest.len());
                    batch[..flush.len()].copy_from_slice(flush);
                    batch[flush.len()..n].copy_from_slice(rest);
                    return (n, 0, None);
                }
                let (bound, old) = c.bind(&self);
                let stashed = bound.map_or(0, |b| b.stash().push_many(chunk, self.stash_limit()));
                (0, stashed, old)
            })
            .unwrap_or((0, 0, None));
            drop(old);
            let rest = &chunk[stashed..];
            // `flushed ≤ STASH_CAPACITY` and `rest.len() ≤ BATCH`: they fit.
            let end = flushed.wrapping_add(rest.len());
            batch[flushed..end].copy_from_slice(rest);
            if end > 0 {
                self.return_idle(&batch[..end]);
            } else if self.needs_reconcile_after_add() {
                self.reconcile();
            }
        }
    }

    /// Adds idle segments of this pool (held by the caller) to the idle list and runs the
    /// producer's side of the protocols.
    pub(crate) fn return_idle(&self, indices: &[u32]) {
        if indices.is_empty() {
            return;
        }
        if let Err(lost) = self.idle.push_many(indices) {
            report(format_args!(
                "idle list overflow with segments {lost:?}: a segment was recycled twice"
            ));
            return;
        }
        if self.needs_reconcile_after_add() {
            self.reconcile();
        }
    }

    /// The producer's side of (A), (L), (D) and (S), after adding an idle segment with a
    /// `SeqCst` read-modify-write (a push onto the idle list or a stash): whether the pool
    /// needs `reconcile`. Every load is `SeqCst`, ordered after the add by [`fence_after_rmw`]
    /// (see the module docs); they pair with the fences in `update_availability`,
    /// `add_buffer_listener`, `lazy_destroy` and the `SeqCst` size stores.
    #[inline]
    fn needs_reconcile_after_add(&self) -> bool {
        fence_after_rmw();
        !self.availability.is_available()
            || self.listener_count.load(Ordering::SeqCst) != 0
            || self.destroyed.load(Ordering::SeqCst)
            || self.requested.load(Ordering::SeqCst) > self.size.load(Ordering::SeqCst)
    }

    fn count_channel(&self, channel: u32) {
        let max = self.config.max_buffers_per_channel;
        // A count never reaches `usize::MAX` (segments are fewer than 2³²): no wrap.
        let before = self.subpartition_counts[channel as usize].fetch_add(1, Ordering::Relaxed);
        if before.wrapping_add(1) == max {
            // SeqCst: the (A) consumer's change, re-checked by `update_availability` next.
            self.unavailable_subpartitions
                .fetch_add(1, Ordering::SeqCst);
            self.update_availability();
        }
    }

    fn uncount_channel(&self, channel: u32) {
        let max = self.config.max_buffers_per_channel;
        if self.subpartition_counts[channel as usize].fetch_sub(1, Ordering::Relaxed) == max {
            // Wrapping is fine: a racing increment brings it back; whoever changes it last
            // updates availability. SeqCst: the (A) producer's change; a recycle reads the
            // flag after its push, with no fence of its own (see the module docs), so this
            // read-modify-write must be in the SeqCst order itself.
            self.unavailable_subpartitions
                .fetch_sub(1, Ordering::SeqCst);
        }
    }

    /// Whether any segment is idle, in the idle list or a stash. Looks under the lock of the
    /// list of stashes, which `gather_stashes` moves segments under, so a segment on its way
    /// from a stash to the idle list is seen in one of them.
    fn has_idle(&self) -> bool {
        let stashes = lock(&self.stashes);
        // SeqCst (`is_empty`, `Stash::len`): (A) and (L) re-checks after their fences.
        !self.idle.is_empty() || stashes.iter().any(|s| s.len() != 0)
    }

    /// Idle segments, in the idle list and the stashes (a snapshot).
    pub(crate) fn idle_segments(&self) -> usize {
        let stashes = lock(&self.stashes);
        stashes
            .iter()
            .fold(self.idle.len(), |n, s| n.saturating_add(s.len()))
    }

    /// Moves every stashed segment of this pool into the idle list, under the lock of the list
    /// of stashes (see `has_idle`). The caller then runs what the protocols need (`reconcile`).
    fn gather_stashes(&self) {
        let stashes = lock(&self.stashes);
        for s in stashes.iter() {
            let taken = s.take_all();
            if let Err(lost) = self.idle.push_many(taken.as_slice()) {
                report(format_args!(
                    "idle list overflow with stashed segments {lost:?}: a segment was \
                     recycled twice"
                ));
            }
        }
    }

    /// Registers a thread's stash (bound to this pool from now on).
    pub(crate) fn register_stash(&self, stash: &Arc<Stash>) {
        lock(&self.stashes).push(Arc::clone(stash));
    }

    /// Forgets the stash of a thread that exits, moving its segments into the idle list under
    /// the lock (so they are never out of sight of `has_idle` and `idle_segments`), then runs
    /// the producer's side of the protocols for them.
    pub(crate) fn retire_stash(&self, stash: &Arc<Stash>) {
        let moved = {
            let mut stashes = lock(&self.stashes);
            let taken = stash.take_all();
            if let Err(lost) = self.idle.push_many(taken.as_slice()) {
                report(format_args!(
                    "idle list overflow with stashed segments {lost:?}: a segment was \
                     recycled twice"
                ));
            }
            if let Some(i) = stashes.iter().position(|s| Arc::ptr_eq(s, stash)) {
                stashes.swap_remove(i);
            }
            !taken.as_slice().is_empty()
        };
        if moved && self.needs_reconcile_after_add() {
            self.reconcile();
        }
    }

    /// Forgets a thread's stash (empty, or emptied by its thread).
    pub(crate) fn unregister_stash(&self, stash: &Arc<Stash>) {
        let mut stashes = lock(&self.stashes);
        if let Some(i) = stashes.iter().position(|s| Arc::ptr_eq(s, stash)) {
            stashes.swap_remove(i);
        }
    }

    /// The (A) re-check, after `update_availability`'s fence.
    fn should_be_available(&self) -> bool {
        // SeqCst: pairs with `uncount_channel`'s read-modify-write (A).
        self.is_destroyed()
            || (self.has_idle() && self.unavailable_subpartitions.load(Ordering::SeqCst) == 0)
    }

    /// Brings the flag in line with the state (availability protocol: set, fence, re-check).
    fn update_availability(&self) {
        loop {
            if self.should_be_available() {
                self.availability.set_available();
                return;
            }
            self.availability.set_unavailable();
            // SeqCst fence: the (A) consumer's; pairs with a producer's add and flag load.
            fence(Ordering::SeqCst);
            if !self.should_be_available() {
                return;
            }
        }
    }

    /// Restores every invariant after an unusual event: gathers the stashes, returns excess
    /// idle segments, drains a destroyed pool, keeps one idle segment while below size, serves
    /// listeners, updates availability. Runs no callback under a lock. The caller keeps `self`
    /// alive.
    #[cold]
    #[inline(never)]
    pub(crate) fn reconcile(&self) {
        self.gather_stashes();
        // The gathered pushes before the (D) and (S) loads below.
        fence_after_rmw();
        self.return_excess_idle();
        if self.is_destroyed() {
            self.availability.set_available();
            return;
        }
        loop {
            if self.idle.is_empty() {
                self.prefetch();
            }
            if !self.serve_one_listener() {
                break;
            }
        }
        self.update_availability();
    }

    /// Returns idle segments in the idle list to the global pool while the pool is destroyed
    /// or over its size (callers gather the stashes first).
    fn return_excess_idle(&self) {
        // SeqCst: the resizer's side of (S), after its SeqCst size store; the pop below is
        // ordered after them and sees any segment a producer added before missing the store.
        while self.is_destroyed()
            || self.requested.load(Ordering::SeqCst) > self.size.load(Ordering::SeqCst)
        {
            let Some(i) = self.idle.pop() else { break };
            if self.try_release_excess() {
                self.give_back(i);
                continue;
            }
            // No longer over size (a recycle gave a segment back meanwhile): keep this one.
            // Pushing it back is a push like any other and follows (D): a `lazy_destroy` that
            // drained the list while we held the segment is seen after the fence, and the loop
            // then returns the segment (nothing else would: the pool is gone).
            if let Err(i) = self.idle.push(i) {
                report(format_args!("idle list overflow with segment {i}"));
                break;
            }
            // SeqCst fence: the pusher's side of (D); pairs with `lazy_destroy`'s.
            fence(Ordering::SeqCst);
            if !self.is_destroyed() {
                break;
            }
        }
    }

    /// Eagerly takes one segment from the global pool while below size; subscribes to the
    /// global pool's availability (once) when it is empty. Not while the pool's consumer
    /// refuses: the pool then grows on demand only (a request tries again).
    fn prefetch(&self) {
        loop {
            if self.budget_refused.load(Ordering::Relaxed) {
                return;
            }
            // SeqCst (these two loads): in no protocol, stronger than needed: they only choose
            // between fetching and subscribing to the global pool, whose own availability
            // protocol covers segments it gets back meanwhile. Cold path; left as it is.
            let size = self.size.load(Ordering::SeqCst);
            match self.take_from_global(size) {
                Ok(Some(i)) => {
                    self.push_idle(i);
                    return;
                }
                Ok(None) => {}
                Err(()) => return,
            }
            if self.requested.load(Ordering::SeqCst) >= size || self.is_destroyed() {
                return;
            }
            if self.subscribe_global() {
                return;
            }
        }
    }

    /// Registers for the global pool's next availability; `false` if it is available already
    /// (retry then).
    fn subscribe_global(&self) -> bool {
        if self.requesting_global.swap(true, Ordering::AcqRel) {
            return true;
        }
        let waker = Waker::from(Arc::new(GlobalSubscription(self.me.clone())));
        if self.global.availability.subscribe(waker) {
            true
        } else {
            // A swap (not a store), so every write of the flag is a read-modify-write (see
            // `Availability::set_unavailable` for why that keeps loom exact).
            self.requesting_global.swap(false, Ordering::AcqRel);
            false
        }
    }

    fn on_global_available(&self) {
        // A swap: as in `subscribe_global`.
        self.requesting_global.swap(false, Ordering::AcqRel);
        if self.is_destroyed() || self.availability.is_available() {
            return;
        }
        self.reconcile();
    }

    fn push_idle(&self, index: u32) {
        if let Err(i) = self.idle.push(index) {
            report(format_args!("idle list overflow with segment {i}"));
            return;
        }
        // SeqCst fence: the pusher's side of (D); pairs with `lazy_destroy`'s.
        fence(Ordering::SeqCst);
        if self.is_destroyed() {
            self.return_excess_idle();
        }
    }

    /// Hands one idle segment to one waiting listener. Returns whether one was served.
    fn serve_one_listener(&self) -> bool {
        // SeqCst: (L) reader after `push_idle`'s fence (a segment `reconcile` fetched); pairs
        // with `add_buffer_listener`'s count and fence.
        if self.listener_count.load(Ordering::SeqCst) == 0 {
            return false;
        }
        let Some(mut index) = self.idle.pop() else {
            return false;
        };
        loop {
            let listener = {
                let mut l = lock(&self.listeners);
                let next = l.pop_front();
                if next.is_some() {
                    // SeqCst: keeps the (L) count, read by producers after their adds, in the
                    // SeqCst order with the increments (changed under the listeners' lock).
                    self.listener_count.fetch_sub(1, Ordering::SeqCst);
                }
                next
            };
            let Some(listener) = listener else {
                self.push_idle(index);
                return false;
            };
            let buffer = Buffer::from_slot(self.global.slot(index), NO_CHANNEL);
            match crate::listener::offer(listener, buffer) {
                Ok(()) => return true,
                Err(b) => index = b.into_index(),
            }
        }
    }

    pub(crate) fn add_buffer_listener(&self, listener: Arc<dyn BufferListener>) -> bool {
        {
            let mut l = lock(&self.listeners);
            if self.is_destroyed() || self.has_idle() {
                return false;
            }
            l.push_back(listener);
            // SeqCst: the (L) change; producers read it after their adds.
            self.listener_count.fetch_add(1, Ordering::SeqCst);
        }
        // SeqCst fence: the (L) registrar's; pairs with a producer's add and count load; a
        // segment added meanwhile is served here.
        fence(Ordering::SeqCst);
        if self.has_idle() {
            self.reconcile();
        }
        true
    }

    /// Sets the size chosen by redistribution (under the factory lock); the factory then calls
    /// [`reconcile`](Self::reconcile) outside it.
    pub(crate) fn set_size_for_redistribution(&self, size: usize) {
        // SeqCst: the resizer's change in (S); pairs with a producer's size load after its add.
        self.size.store(size, Ordering::SeqCst);
    }

    pub(crate) fn set_num_buffers(&self, n: usize) -> Result<(), BufferPoolError> {
        if n < self.config.min {
            return Err(BufferPoolError::BelowMinimum {
                min: self.config.min,
                requested: n,
            });
        }
        // SeqCst: the resizer's change in (S); pairs with a producer's size load after its add.
        self.size.store(n.min(self.config.max), Ordering::SeqCst);
        self.reconcile();
        Ok(())
    }

    pub(crate) fn lazy_destroy(&self) {
        // SeqCst: the (D) change (and one winner); producers read it after their adds,
        // `should_be_available` after the (A) fence.
        if self.destroyed.swap(true, Ordering::SeqCst) {
            return;
        }
        // SeqCst fence: the destroyer's side of (D); pairs with `push_idle`'s fence and a
        // producer's add.
        fence(Ordering::SeqCst);
        self.gather_stashes();
        self.return_excess_idle();
        let listeners: Vec<_> = {
            let mut l = lock(&self.listeners);
            // A swap (every write of the count is a read-modify-write: see
            // `Availability::set_unavailable`). SeqCst: as the count's other changes (L); no
            // listener is served after this.
            self.listener_count.swap(0, Ordering::SeqCst);
            l.drain(..).collect()
        };
        for l in listeners {
            l.notify_buffer_destroyed();
        }
        self.availability.set_available();
        self.global.destroy_buffer_pool(self.id);
    }

    pub(crate) fn reserve_segments(&self, n: usize) -> Result<(), BufferPoolError> {
        if n > self.config.min {
            return Err(BufferPoolError::InvalidArgument(format!(
                "Can not reserve more segments than number of minimum segments ({n} > {}).",
                self.config.min
            )));
        }
        if self.is_destroyed() {
            return Err(BufferPoolError::PoolDestroyed);
        }
        // SeqCst (this load and the increments below): in no protocol, stronger than needed:
        // the segments go through `push_idle`, whose fence orders them for (D), and
        // `reconcile`. Cold path; left as it is.
        let have = self.requested.load(Ordering::SeqCst);
        if have >= n {
            return Ok(());
        }
        // `have < n`: no wrap.
        let indices = self
            .global
            .take_blocking(n.wrapping_sub(have), self.global.request_timeout())?;
        let Some(me) = self.me.upgrade() else {
            // The pool is being dropped: no handle can use these.
            for i in indices {
                self.global.recycle_pooled(i);
            }
            return Err(BufferPoolError::PoolDestroyed);
        };
        // No lock is held: the consumer's reclaimers may recycle this pool's buffers.
        if let Err(refused) = self.charge.charge(indices.len()) {
            let segments = indices.len();
            for i in indices {
                self.global.recycle_pooled(i);
            }
            return Err(BufferPoolError::BudgetRefused {
                segments,
                segment_size: self.global.segment_size(),
                cause: refused.to_string(),
            });
        }
        for i in indices {
            self.requested.fetch_add(1, Ordering::SeqCst);
            // SAFETY: popped from the global free list: we hold it exclusively.
            unsafe { self.global.slot(i).set_owner(Owner::Local(me.clone())) };
            self.push_idle(i);
        }
        self.reconcile();
        Ok(())
    }

    /// Up to `n` buffers available now, in as few operations on shared state as fit (this
    /// thread's stash at once, then the idle list in batches), then from the global pool
    /// (within size and overdraft) one at a time; each handed to `sink`. Returns how many.
    pub(crate) fn request_many(
        &self,
        n: usize,
        mut sink: impl FnMut(Buffer),
    ) -> Result<usize, BufferPoolError> {
        if self.destroyed.load(Ordering::Acquire) {
            return Err(BufferPoolError::PoolDestroyed);
        }
        let mut got = 0usize;
        let taken =
            thread_cache::with(|c| c.bound_to(self).map(|b| b.stash().take_all())).flatten();
        if let Some(taken) = taken {
            let t = taken.as_slice();
            let k = t.len().min(n);
            for &i in &t[..k] {
                sink(self.lend(i, NO_CHANNEL));
            }
            got = k;
            if k < t.len() {
                // More than asked for: the rest stays stashed (the stash is ours and empty).
                self.stash_batch(&t[k..]);
            }
        }
        let mut batch = [0u32; BATCH];
        while got < n {
            // `got < n`: no wrap.
            let want = n.wrapping_sub(got).min(BATCH);
            let k = self.idle.pop_many(&mut batch[..want]);
            if k == 0 {
                break;
            }
            for &i in &batch[..k] {
                sink(self.lend(i, NO_CHANNEL));
            }
            // `k ≤ want ≤ n - got`.
            got = got.wrapping_add(k);
        }
        while got < n {
            match self.request_slow() {
                Some(i) => sink(self.lend(i, NO_CHANNEL)),
                None => break,
            }
            got = got.wrapping_add(1);
        }
        if got > 0 && self.idle.is_empty() {
            self.reconcile();
        }
        Ok(got)
    }

    fn request_blocking(&self, channel: u32) -> Result<Buffer, BufferPoolError> {
        loop {
            // Without a deadline `request_until` returns a buffer or an error.
            if let Some(b) = self.request_until(channel, None)? {
                return Ok(b);
            }
        }
    }

    /// Requests a buffer, parking until the pool becomes available (a recycle, or destruction:
    /// the next request reports it) and retrying, until `deadline` (`None`: no limit).
    /// `Ok(None)` once the deadline has passed; a deadline already past is a single
    /// non-blocking request that registers no waiter. A waiter is registered only while
    /// parked and is gone when this returns.
    fn request_until(
        &self,
        channel: u32,
        deadline: Option<Instant>,
    ) -> Result<Option<Buffer>, BufferPoolError> {
        loop {
            if let Some(b) = self.request(channel)? {
                return Ok(Some(b));
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Ok(None);
            }
            // While the consumer refuses, a recycle of this pool is not the only way to get a
            // buffer: its budget may get room (nothing signals that), so retry now and then.
            let wait_until = if self.budget_refused.load(Ordering::Relaxed) {
                let retry = Instant::now().checked_add(BUDGET_RETRY);
                match (deadline, retry) {
                    (Some(d), Some(r)) => Some(d.min(r)),
                    (d, r) => d.or(r),
                }
            } else {
                deadline
            };
            wait_available(&self.availability, wait_until);
        }
    }
}

/// A share of the network buffers between `min` and `max`, for one input gate or result
/// partition. Requests never allocate: an exhausted pool returns `None` (or blocks, or lets
/// you await [`available`](Self::available)) until a buffer is recycled — backpressure.
///
/// Dropping the handle destroys the pool lazily: lent-out buffers return to the global pool
/// when dropped.
///
/// # Examples
/// ```
/// use membudget_allocator::{Budget, Category, Quotas, SharedBudget};
/// use membudget_bufferpool::NetworkBufferPool;
///
/// let budget = SharedBudget::from(Budget::new(Quotas::unlimited()));
/// let network = NetworkBufferPool::new(4, 4096, budget)?;
/// let pool = network.create_buffer_pool(1, 2)?;
/// let a = pool.request_buffer()?.unwrap();
/// let b = pool.request_buffer()?.unwrap();
/// assert!(pool.request_buffer()?.is_none()); // at max: backpressure
/// assert!(!pool.is_available());
/// drop(a);
/// assert!(pool.is_available());
/// # drop(b);
/// # Ok::<(), membudget_bufferpool::BufferPoolError>(())
/// ```
pub struct LocalBufferPool {
    inner: Arc<LocalInner>,
}

impl LocalBufferPool {
    pub(crate) fn from_inner(inner: Arc<LocalInner>) -> Self {
        LocalBufferPool { inner }
    }

    /// A buffer if one is free within the pool's size (or overdraft), else `None`.
    ///
    /// # Errors
    /// [`BufferPoolError::PoolDestroyed`] after [`lazy_destroy`](Self::lazy_destroy).
    #[inline]
    pub fn request_buffer(&self) -> Result<Option<Buffer>, BufferPoolError> {
        self.inner.request(NO_CHANNEL)
    }

    /// Up to `n` buffers that are free now, appended to `out`; returns how many (0 when the
    /// pool is exhausted: backpressure, as [`request_buffer`](Self::request_buffer)'s
    /// `None`). Takes them in as few operations on the pool's shared state as fit — this
    /// thread's stash at once, the pool's idle list in batches — rather than `n` requests;
    /// [`Buffer::recycle_all`] is the matching return.
    ///
    /// # Errors
    /// [`BufferPoolError::PoolDestroyed`] after [`lazy_destroy`](Self::lazy_destroy).
    ///
    /// # Examples
    /// ```
    /// use membudget_allocator::{Budget, Quotas, SharedBudget};
    /// use membudget_bufferpool::{Buffer, NetworkBufferPool};
    ///
    /// let budget = SharedBudget::from(Budget::new(Quotas::unlimited()));
    /// let network = NetworkBufferPool::new(8, 4096, budget)?;
    /// let pool = network.create_buffer_pool(4, 4)?;
    /// let mut held = Vec::new();
    /// assert_eq!(pool.request_buffers(6, &mut held)?, 4); // all the pool has
    /// assert_eq!(pool.request_buffers(1, &mut held)?, 0);
    /// Buffer::recycle_all(held);
    /// assert_eq!(pool.available_segments(), 4);
    /// # Ok::<(), membudget_bufferpool::BufferPoolError>(())
    /// ```
    pub fn request_buffers(
        &self,
        n: usize,
        out: &mut impl Extend<Buffer>,
    ) -> Result<usize, BufferPoolError> {
        self.inner
            .request_many(n, |b| out.extend(core::iter::once(b)))
    }

    /// As [`request_buffer`](Self::request_buffer), counting the buffer against `subpartition`
    /// until it is recycled.
    ///
    /// # Errors
    /// As [`request_buffer`](Self::request_buffer); [`BufferPoolError::InvalidArgument`] if
    /// `subpartition` is out of range.
    #[inline]
    pub fn request_buffer_for(
        &self,
        subpartition: usize,
    ) -> Result<Option<Buffer>, BufferPoolError> {
        self.inner.request(self.channel(subpartition)?)
    }

    fn channel(&self, subpartition: usize) -> Result<u32, BufferPoolError> {
        if subpartition >= self.inner.config.num_subpartitions {
            return Err(BufferPoolError::InvalidArgument(format!(
                "Subpartition {subpartition} is out of range: the pool has {} subpartitions.",
                self.inner.config.num_subpartitions
            )));
        }
        Ok(subpartition as u32)
    }

    /// A buffer, parking the thread (no spinning) until one is recycled.
    ///
    /// # Errors
    /// [`BufferPoolError::PoolDestroyed`], also when destroyed while waiting.
    pub fn request_buffer_blocking(&self) -> Result<Buffer, BufferPoolError> {
        self.inner.request_blocking(NO_CHANNEL)
    }

    /// A buffer, parking the thread (no spinning) until one is recycled or `timeout` has
    /// passed: `Ok(None)` then, like [`request_buffer`](Self::request_buffer) when the pool is
    /// exhausted. A zero timeout is a non-blocking request that registers no waiter; a timeout
    /// too long to be a point in time (`Duration::MAX`) waits without limit. A request that
    /// times out leaves nothing registered with the pool.
    ///
    /// # Errors
    /// [`BufferPoolError::PoolDestroyed`], also when destroyed while waiting.
    ///
    /// # Examples
    /// ```
    /// use membudget_allocator::{Budget, Quotas, SharedBudget};
    /// use membudget_bufferpool::NetworkBufferPool;
    /// use std::time::Duration;
    ///
    /// let budget = SharedBudget::from(Budget::new(Quotas::unlimited()));
    /// let network = NetworkBufferPool::new(2, 4096, budget)?;
    /// let pool = network.create_buffer_pool(1, 1)?;
    /// let held = pool.request_buffer_timeout(Duration::ZERO)?.expect("a buffer is idle");
    /// assert!(pool.request_buffer_timeout(Duration::from_millis(10))?.is_none()); // timed out
    /// assert_eq!(pool.num_waiters(), 0, "a timed-out request leaves no waiter behind");
    /// drop(held);
    /// assert!(pool.request_buffer_timeout(Duration::from_millis(10))?.is_some());
    /// # Ok::<(), membudget_bufferpool::BufferPoolError>(())
    /// ```
    pub fn request_buffer_timeout(
        &self,
        timeout: Duration,
    ) -> Result<Option<Buffer>, BufferPoolError> {
        self.inner
            .request_until(NO_CHANNEL, Instant::now().checked_add(timeout))
    }

    /// As [`request_buffer_blocking`](Self::request_buffer_blocking) for `subpartition`.
    ///
    /// # Errors
    /// As [`request_buffer_for`](Self::request_buffer_for).
    pub fn request_buffer_blocking_for(
        &self,
        subpartition: usize,
    ) -> Result<Buffer, BufferPoolError> {
        let c = self.channel(subpartition)?;
        self.inner.request_blocking(c)
    }

    /// Whether a request may succeed now (one atomic load).
    #[inline]
    pub fn is_available(&self) -> bool {
        self.inner.availability.is_available()
    }

    /// Threads parked in a blocking or timed request and [`available`](Self::available)
    /// futures registered for this pool's next availability (monitoring and tests: a waiter
    /// counted here is woken by the next recycle).
    pub fn num_waiters(&self) -> usize {
        self.inner.availability.waiter_count()
    }

    /// A future completing when a request may succeed (or the pool was destroyed); usable from
    /// any executor.
    ///
    /// It is woken by the pool's own events (a recycle, a segment from the network pool,
    /// resizing, destruction). A pool whose consumer refused to grow
    /// ([`is_refused_by_budget`](Self::is_refused_by_budget)) is not told when its budget has
    /// room again — only blocking requests retry on their own (every 10 ms) — so an async
    /// caller waiting on such a pool should also retry its request on a timer of its own.
    pub fn available(&self) -> AvailableFuture<'_> {
        AvailableFuture::new(&self.inner.availability)
    }

    /// Sets the pool's size (clamped to `max`). Excess idle buffers go back at once, lent-out
    /// ones when recycled.
    ///
    /// # Errors
    /// [`BufferPoolError::BelowMinimum`] if `n < min`.
    pub fn set_num_buffers(&self, n: usize) -> Result<(), BufferPoolError> {
        self.inner.set_num_buffers(n)
    }

    /// Makes sure `n ≤ min` segments are held, waiting (up to the request timeout) for them.
    ///
    /// # Errors
    /// [`BufferPoolError::InvalidArgument`] if `n > min`; [`BufferPoolError::PoolDestroyed`];
    /// [`BufferPoolError::Timeout`].
    pub fn reserve_segments(&self, n: usize) -> Result<(), BufferPoolError> {
        self.inner.reserve_segments(n)
    }

    /// Registers `listener` for the next recycled buffer. Returns `false` (not registered) if a
    /// buffer is available now or the pool is destroyed.
    pub fn add_buffer_listener(&self, listener: Arc<dyn BufferListener>) -> bool {
        self.inner.add_buffer_listener(listener)
    }

    /// Destroys the pool once: idle segments go back, listeners are told, waiters are woken
    /// (their requests fail with [`BufferPoolError::PoolDestroyed`]), the network pool forgets
    /// the pool. Lent-out buffers return to the global pool when dropped.
    pub fn lazy_destroy(&self) {
        self.inner.lazy_destroy();
    }

    /// Whether the pool was destroyed.
    pub fn is_destroyed(&self) -> bool {
        self.inner.is_destroyed()
    }

    /// Current size.
    pub fn num_buffers(&self) -> usize {
        self.inner.num_buffers()
    }

    /// Segments taken from the global pool (idle or lent out).
    pub fn requested_segments(&self) -> usize {
        // SeqCst: in no protocol (a snapshot for callers), stronger than needed; left as it is.
        self.inner.requested.load(Ordering::SeqCst)
    }

    /// Idle segments (in the pool's idle list and in the stashes of the threads using it).
    pub fn available_segments(&self) -> usize {
        self.inner.idle_segments()
    }

    /// Lent-out buffers (requested − idle, best effort under concurrency).
    pub fn used_buffers(&self) -> usize {
        self.requested_segments()
            .saturating_sub(self.available_segments())
    }

    /// The pool's shape.
    pub fn config(&self) -> BufferPoolConfig {
        self.inner.config
    }

    /// Guaranteed buffers.
    pub fn min_buffers(&self) -> usize {
        self.inner.config.min
    }

    /// Upper bound.
    pub fn max_buffers(&self) -> usize {
        self.inner.config.max
    }

    /// Redistribution weight.
    pub fn expected_buffers(&self) -> usize {
        self.inner.config.expected
    }

    /// Overdraft buffers allowed now.
    pub fn max_overdraft_buffers(&self) -> usize {
        self.inner.max_overdraft.load(Ordering::Relaxed)
    }

    /// Changes the overdraft allowance.
    pub fn set_max_overdraft_buffers(&self, n: usize) {
        self.inner.max_overdraft.store(n, Ordering::Relaxed);
    }

    /// The memory consumer charged for this pool's segments, if it was made with one
    /// ([`NetworkBufferPool::create_buffer_pool_with_consumer`](crate::NetworkBufferPool::create_buffer_pool_with_consumer)).
    #[cfg(not(membudget_loom))]
    pub fn consumer(&self) -> Option<&membudget_allocator::MemoryConsumer> {
        self.inner.charge.consumer()
    }

    /// Whether the pool's consumer refused the last segment the pool tried to take from the
    /// network pool (so a request that returns `None` may be waiting for budget room, not for
    /// a recycle). Cleared when the pool grows again.
    pub fn is_refused_by_budget(&self) -> bool {
        self.inner.budget_refused.load(Ordering::Relaxed)
    }

    /// Buffers currently counted against `subpartition`.
    pub fn subpartition_buffers(&self, subpartition: usize) -> usize {
        self.inner
            .subpartition_counts
            .get(subpartition)
            .map_or(0, |c| c.load(Ordering::Relaxed))
    }
}

impl Drop for LocalBufferPool {
    fn drop(&mut self) {
        self.inner.lazy_destroy();
    }
}

impl core::fmt::Debug for LocalBufferPool {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("LocalBufferPool")
            .field("size", &self.num_buffers())
            .field("requested", &self.requested_segments())
            .field("available", &self.available_segments())
            .field("min", &self.inner.config.min)
            .field("expected", &self.inner.config.expected)
            .field("max", &self.inner.config.max)
            .field(
                "listeners",
                &self.inner.listener_count.load(Ordering::Relaxed),
            )
            .field("waiters", &self.inner.availability.waiter_count())
            .field("destroyed", &self.is_destroyed())
            .finish()
    }
}

#[cfg(all(test, not(membudget_loom)))]
mod tests {
    use crate::NetworkBufferPool;
    use membudget_allocator::{Budget, Quotas, SharedBudget};

    /// A thread that alternates request and recycle keeps working out of its stash, also once
    /// the idle list holds segments (after a drain): a request that fills the empty stash up
    /// to its limit, followed by a recycle that overflows it, must not flush the whole stash
    /// back, or every round trip after moves a stash's worth through the idle list.
    #[test]
    fn alternating_round_trips_stay_in_the_stash_after_a_drain() {
        let budget = SharedBudget::from(Budget::new(Quotas::unlimited()));
        let net = NetworkBufferPool::new(256, 4096, budget).unwrap();
        let pool = net.create_buffer_pool(256, 256).unwrap();
        // 256 one by one leaves this thread's stash empty (a stash's limit is 14).
        let mut all = Vec::new();
        while let Some(b) = pool.request_buffer().unwrap() {
            all.push(b);
        }
        assert_eq!(all.len(), 256);
        // One by one: the stash fills, overflows, the idle list takes the rest.
        drop(all);
        // Settle: the first request fills the emptied stash, its recycle overflows it.
        for _ in 0..2 {
            drop(pool.request_buffer().unwrap().unwrap());
        }
        let idle = pool.inner.idle.len();
        for round in 0..100 {
            let b = pool.request_buffer().unwrap().unwrap();
            assert_eq!(
                pool.inner.idle.len(),
                idle,
                "round {round}: the request took from the idle list"
            );
            drop(b);
            assert_eq!(
                pool.inner.idle.len(),
                idle,
                "round {round}: the recycle flushed the stash"
            );
        }
        assert_eq!(pool.available_segments(), 256);
    }
}
