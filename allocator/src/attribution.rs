//! Attribution: the global allocator charging the calling thread's current child budget.
//!
//! While a [`BudgetHandle`](crate::BudgetHandle) is current on a thread
//! ([`BudgetHandle::enter`](crate::BudgetHandle::enter), or
//! [`Track::in_budget`](crate::Track::in_budget) during each poll), every block the
//! [`QuotaAllocator`](crate::QuotaAllocator) allocates is charged, in the thread's category, to
//! that budget — to its consumer named [`ALLOCATIONS_CONSUMER`](crate::ALLOCATIONS_CONSUMER) —
//! and so to every ancestor; a charge that breaks any level's limit makes the allocation fail.
//! Each block carries its consumer (the backing's owner word of an attributed block, see
//! [`Backing::allocate_attributed`]), so a free or a reallocation on any thread, in any scope,
//! credits exactly that consumer, and the consumer (with its budget) lives until its last block
//! is freed: while any attributed byte is charged to it, it holds a reference to itself.
//!
//! A thread charges its current consumer in quanta ([`QUANTUM`]) and keeps what its blocks
//! have not used yet in a per-thread cache, which also takes back what the thread frees of that
//! consumer (up to [`CACHE_CAP`]), so an attributed allocation and free on one thread touch no
//! shared counter. The cache is the consumer's only while the thread's guard is: dropping the
//! guard returns it, so after a scope the consumer holds exactly its live blocks. While a scope
//! is open, the consumer's use includes the thread's cache (at most [`CACHE_CAP`] per category),
//! and a charge the cache cannot cover that does not fit with a quantum is tried exactly.
//!
//! The backing keeps attributed blocks apart by address (mimalloc: arenas of their own) or by
//! tag (System), so the free of any other block pays nothing for this. If the tree's top is
//! the process budget, the charge to the tree is the process charge (it claims from the
//! process quota); otherwise the block is also charged to the process budget as usual.
//!
//! Everything here runs inside the allocator: no lock but the budget tree's lock-free counters,
//! no reclaim, no waiting (a refusal is a null pointer and the thread's
//! [`last_refusal`](crate::last_refusal)), and whatever the tree's bookkeeping allocates
//! meanwhile (a background reclaim request) is not attributed again.

use crate::consumer::ConsumerCore;
use crate::local::{self, LOCAL};
use crate::{Backing, Category};
use core::alloc::Layout;
use std::sync::Arc;

/// Marks the thread as inside an attributed allocation or free until dropped, so what the
/// budget tree allocates meanwhile is not attributed again.
struct Attributing {
    previous: bool,
}

impl Attributing {
    fn enter() -> Attributing {
        Attributing {
            previous: LOCAL.try_with(|l| l.set_attributing(true)).unwrap_or(false),
        }
    }
}

impl Drop for Attributing {
    fn drop(&mut self) {
        let _ = LOCAL.try_with(|l| l.set_attributing(self.previous));
    }
}

/// The consumer the calling thread's allocations are charged to now, or null.
#[inline]
pub(crate) fn current() -> *const ConsumerCore {
    LOCAL
        .try_with(|l| l.attribution())
        .unwrap_or(core::ptr::null())
}

/// Bytes a thread charges its current consumer beyond a block that its cache cannot cover.
pub(crate) const QUANTUM: u64 = 16 << 10;
/// Most bytes a thread's cache keeps per category.
pub(crate) const CACHE_CAP: u64 = 2 * QUANTUM;

/// Charges `bytes` of `category` to `consumer` on this thread: from the thread's cache if it
/// holds `consumer`'s bytes, else directly — with a quantum more for the cache if `refill`
/// (the consumer is the thread's current one). Then to the process budget, if the tree's top is
/// another budget. `false`: refused, nothing charged.
///
/// # Safety
/// `consumer` is alive for the call (a guard's reference, or a live block's charged bytes).
unsafe fn charge(
    consumer: *const ConsumerCore,
    category: Category,
    bytes: u64,
    refill: bool,
) -> bool {
    let charged = LOCAL.try_with(|l| {
        let c = &l.attribution_cache[category.index()];
        if l.cache_owner.get() == consumer {
            if let Some(rest) = c.get().checked_sub(bytes) {
                c.set(rest);
                return true;
            }
        } else if refill {
            flush(l);
            l.cache_owner.set(consumer);
        } else {
            // SAFETY: alive (caller).
            return unsafe { charge_consumer(consumer, category, bytes) };
        }
        // The cache holds `consumer`'s bytes: top it up with a quantum, or charge exactly.
        let with_quantum = bytes.saturating_add(QUANTUM);
        // SAFETY: alive (caller).
        if unsafe { charge_consumer(consumer, category, with_quantum) } {
            c.set(c.get().saturating_add(QUANTUM));
            return true;
        }
        // SAFETY: alive (caller).
        unsafe { charge_consumer(consumer, category, bytes) }
    });
    let charged = match charged {
        Ok(c) => c,
        // The thread-local is gone (thread exit): charge directly.
        // SAFETY: alive (caller).
        Err(_) => unsafe { charge_consumer(consumer, category, bytes) },
    };
    if !charged {
        return false;
    }
    // SAFETY: alive (caller), and now pinned by the bytes just charged.
    if !unsafe { &*consumer }.root_is_process && !local::charge(category, bytes) {
        // SAFETY: pinned by the bytes charged above; not used after.
        unsafe { credit(consumer, category, bytes, false) };
        return false;
    }
    true
}

/// Charges the consumer itself (its budget tree's counters), marking the thread as attributing
/// meanwhile: the tree's bookkeeping may allocate (a background reclaim request), and that is
/// not attributed again.
///
/// # Safety
/// As [`ConsumerCore::charge_attributed`].
#[inline(never)]
unsafe fn charge_consumer(consumer: *const ConsumerCore, category: Category, bytes: u64) -> bool {
    let _attributing = Attributing::enter();
    // SAFETY: forwarded.
    unsafe { ConsumerCore::charge_attributed(consumer, category, bytes) }
}

/// Credits `bytes` of `category` charged to `consumer`: to the process budget first if the
/// tree's top is another budget (and `process`), then into the thread's cache if it holds
/// `consumer`'s bytes and has room, else to the consumer.
///
/// # Safety
/// `consumer` is pinned by the bytes being credited; the caller does not touch it afterwards.
unsafe fn credit(consumer: *const ConsumerCore, category: Category, bytes: u64, process: bool) {
    // SAFETY: pinned (caller); read before the bytes go back, which may unpin it.
    if process && !unsafe { &*consumer }.root_is_process {
        local::credit(category, bytes);
    }
    let cached = LOCAL.try_with(|l| {
        if l.cache_owner.get() != consumer {
            return false;
        }
        let c = &l.attribution_cache[category.index()];
        match c.get().checked_add(bytes) {
            Some(n) if n <= CACHE_CAP => {
                c.set(n);
                true
            }
            _ => false,
        }
    });
    if cached != Ok(true) {
        // SAFETY: pinned by these bytes (caller).
        let released = unsafe { ConsumerCore::release_attributed(consumer, category, bytes) };
        // The consumer holds at least what its blocks were charged.
        debug_assert!(
            released,
            "attributed bytes credited to a consumer holding fewer"
        );
    }
}

/// Returns the thread's cache to its consumer (which may unpin and drop it).
fn flush(l: &local::Local) {
    let owner = l.cache_owner.replace(core::ptr::null());
    if owner.is_null() {
        return;
    }
    for c in Category::ALL {
        let bytes = l.attribution_cache[c.index()].replace(0);
        if bytes > 0 {
            // SAFETY: the cached bytes pin the owner; each category's are released once.
            let released = unsafe { ConsumerCore::release_attributed(owner, c, bytes) };
            debug_assert!(released, "a thread cache held more than its consumer");
        }
    }
}

/// An attributed block of `layout` charged to `consumer` in `category`; null if a budget
/// refused or the backing failed (nothing charged then).
///
/// # Safety
/// `consumer` is alive for the call (the thread's attribution guard holds a strong reference)
/// and `layout.size()` is not zero.
pub(crate) unsafe fn allocate<B: Backing>(
    backing: &B,
    consumer: *const ConsumerCore,
    category: Category,
    layout: Layout,
    zeroed: bool,
) -> *mut u8 {
    let bytes = layout.size() as u64;
    // SAFETY: alive for the call (caller).
    if !unsafe { charge(consumer, category, bytes, true) } {
        return core::ptr::null_mut();
    }
    let owner = consumer.expose_provenance();
    // SAFETY: non-zero size (caller).
    let p = unsafe { backing.allocate_attributed(category, layout, zeroed, owner) };
    if p.is_null() {
        // SAFETY: pinned by the bytes just charged.
        unsafe { credit(consumer, category, bytes, true) };
    }
    p
}

/// The consumer an attributed block's owner word names.
fn consumer_of(owner: usize) -> *const ConsumerCore {
    core::ptr::with_exposed_provenance(owner)
}

/// Frees an attributed block, then credits its consumer (which may unpin and drop it, and its
/// budget).
///
/// # Safety
/// `ptr` is a live block of [`allocate`] (or [`reallocate`]) with `layout`, of `category`
/// and owned by `owner` (the backing's [`attributed_owner`](Backing::attributed_owner)); it
/// is dead afterwards.
pub(crate) unsafe fn deallocate<B: Backing>(
    backing: &B,
    ptr: *mut u8,
    layout: Layout,
    category: Category,
    owner: usize,
) {
    // SAFETY: forwarded: a live attributed block of `category` with `layout`.
    unsafe { backing.deallocate_attributed(ptr, layout, category) };
    // SAFETY: the block's bytes pin its consumer until credited here.
    unsafe { credit(consumer_of(owner), category, layout.size() as u64, true) };
}

/// Resizes an attributed block, keeping its consumer and category: the difference is charged
/// (or credited) to the consumer, the bytes are copied into a new attributed block, and the
/// old one is freed. Null (the old block untouched, nothing charged) on refusal or failure.
///
/// # Safety
/// As [`GlobalAlloc::realloc`](core::alloc::GlobalAlloc::realloc), for a live block of
/// [`allocate`] of `category` owned by `owner`.
pub(crate) unsafe fn reallocate<B: Backing>(
    backing: &B,
    ptr: *mut u8,
    layout: Layout,
    category: Category,
    owner: usize,
    new_size: usize,
) -> *mut u8 {
    let Ok(new_layout) = Layout::from_size_align(new_size, layout.align()) else {
        return core::ptr::null_mut();
    };
    let consumer = consumer_of(owner);
    let (old, new) = (layout.size() as u64, new_size as u64);
    let (grow, shrink) = (new.saturating_sub(old), old.saturating_sub(new));
    // SAFETY: the block's bytes pin its consumer. Only the thread's current consumer refills
    // the cache: growing another budget's block leaves the cache alone.
    if grow > 0 && !unsafe { charge(consumer, category, grow, false) } {
        return core::ptr::null_mut();
    }
    // SAFETY: `new_size` is non-zero (GlobalAlloc contract).
    let p = unsafe { backing.allocate_attributed(category, new_layout, false, owner) };
    if p.is_null() {
        if grow > 0 {
            // SAFETY: pinned by the old block's bytes.
            unsafe { credit(consumer, category, grow, true) };
        }
        return p;
    }
    // SAFETY: both blocks are live and distinct, each at least `min(old, new)` bytes long.
    unsafe { core::ptr::copy_nonoverlapping(ptr, p, layout.size().min(new_size)) };
    // SAFETY: the old block (forwarded contract), dead afterwards.
    unsafe { backing.deallocate_attributed(ptr, layout, category) };
    if shrink > 0 {
        // SAFETY: pinned by the new block's bytes.
        unsafe { credit(consumer, category, shrink, true) };
    }
    p
}

/// Makes a consumer the calling thread's attribution until dropped, restoring the previous
/// one. Each guard owns a strong reference to the consumer it restores and the thread owns one
/// to its current consumer, so guards dropped out of order never leave a dangling attribution.
pub(crate) struct AttributionGuard {
    /// The consumer to restore (a strong reference from `Arc::into_raw`), or null.
    previous: *const ConsumerCore,
    entered: bool,
}

/// Makes `consumer` the thread's attribution (see [`AttributionGuard`]).
pub(crate) fn enter(consumer: &Arc<ConsumerCore>) -> AttributionGuard {
    let new = Arc::into_raw(Arc::clone(consumer));
    match LOCAL.try_with(|l| l.set_attribution(new)) {
        Ok(previous) => AttributionGuard {
            previous,
            entered: true,
        },
        Err(_) => {
            // The thread is exiting: nothing is attributed.
            // SAFETY: `new` came from `Arc::into_raw` just above and was not stored.
            drop(unsafe { Arc::from_raw(new) });
            AttributionGuard {
                previous: core::ptr::null(),
                entered: false,
            }
        }
    }
}

impl Drop for AttributionGuard {
    fn drop(&mut self) {
        if !self.entered {
            return;
        }
        let previous = core::mem::replace(&mut self.previous, core::ptr::null());
        let replaced = LOCAL
            .try_with(|l| l.set_attribution(previous))
            // The thread-local is gone: give up the reference it would have taken.
            .unwrap_or(previous);
        // The thread's cache goes back with the scope that filled it, so after a scope the
        // budget holds exactly its live blocks.
        let _ = LOCAL.try_with(flush);
        if !replaced.is_null() {
            // SAFETY: every non-null attribution is a strong reference from `Arc::into_raw`,
            // owned by the thread-local until replaced; we own it now.
            drop(unsafe { Arc::from_raw(replaced) });
        }
    }
}
