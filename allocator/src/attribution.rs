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
//! is freed: each block holds a strong reference to it.
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

/// Charges `bytes` of `category` to `core` (and to the process budget if the tree's top is
/// another budget). `false`: refused, nothing charged.
fn charge(core: &ConsumerCore, category: Category, bytes: u64) -> bool {
    if !core.charge_block(category, bytes) {
        return false;
    }
    if !core.root_is_process && !local::charge(category, bytes) {
        core.release(category, bytes);
        return false;
    }
    true
}

/// Credits what [`charge`] charged.
fn credit(core: &ConsumerCore, category: Category, bytes: u64) {
    let released = core.release(category, bytes);
    // The consumer holds at least what its blocks were charged.
    debug_assert!(
        released,
        "attributed block credited to a consumer holding less"
    );
    if !core.root_is_process {
        local::credit(category, bytes);
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
    let _attributing = Attributing::enter();
    // SAFETY: alive for the call (caller).
    let core = unsafe { &*consumer };
    let bytes = layout.size() as u64;
    if !charge(core, category, bytes) {
        return core::ptr::null_mut();
    }
    // SAFETY: non-zero size (caller).
    let p = unsafe {
        backing.allocate_attributed(category, layout, zeroed, consumer.expose_provenance())
    };
    if p.is_null() {
        credit(core, category, bytes);
    } else {
        // The block holds a strong reference from here until it is freed.
        // SAFETY: `consumer` came from `Arc::into_raw` (the guard's) and is alive.
        unsafe { Arc::increment_strong_count(consumer) };
    }
    p
}

/// The consumer an attributed block's owner word names.
fn consumer_of(owner: usize) -> *const ConsumerCore {
    core::ptr::with_exposed_provenance(owner)
}

/// Frees an attributed block, crediting its consumer, then drops the block's reference to it
/// (which may drop the consumer and its budget).
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
    let _attributing = Attributing::enter();
    let consumer = consumer_of(owner);
    // SAFETY: the block holds a strong reference.
    let core = unsafe { &*consumer };
    credit(core, category, layout.size() as u64);
    // SAFETY: forwarded: a live attributed block of `category` with `layout`.
    unsafe { backing.deallocate_attributed(ptr, layout, category) };
    // SAFETY: the block's strong reference, given up now that the block is gone.
    unsafe { Arc::decrement_strong_count(consumer) };
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
    let _attributing = Attributing::enter();
    let Ok(new_layout) = Layout::from_size_align(new_size, layout.align()) else {
        return core::ptr::null_mut();
    };
    let consumer = consumer_of(owner);
    // SAFETY: the block holds a strong reference.
    let core = unsafe { &*consumer };
    let (old, new) = (layout.size() as u64, new_size as u64);
    let (grow, shrink) = (new.saturating_sub(old), old.saturating_sub(new));
    if grow > 0 && !charge(core, category, grow) {
        return core::ptr::null_mut();
    }
    // SAFETY: `new_size` is non-zero (GlobalAlloc contract). The block's strong reference
    // moves to the new block.
    let p = unsafe { backing.allocate_attributed(category, new_layout, false, owner) };
    if p.is_null() {
        if grow > 0 {
            credit(core, category, grow);
        }
        return p;
    }
    // SAFETY: both blocks are live and distinct, each at least `min(old, new)` bytes long.
    unsafe { core::ptr::copy_nonoverlapping(ptr, p, layout.size().min(new_size)) };
    // SAFETY: the old block (forwarded contract), dead afterwards.
    unsafe { backing.deallocate_attributed(ptr, layout, category) };
    if shrink > 0 {
        credit(core, category, shrink);
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
        if !replaced.is_null() {
            // SAFETY: every non-null attribution is a strong reference from `Arc::into_raw`,
            // owned by the thread-local until replaced; we own it now.
            drop(unsafe { Arc::from_raw(replaced) });
        }
    }
}
