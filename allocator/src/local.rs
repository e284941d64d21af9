//! The calling thread's state: its current category and its allowance slot in the process
//! budget, plus how the global allocator charges and credits through them.
//!
//! The state is a `const`-initialised `thread_local!` of `Cell`s with no destructor, so reading
//! it never allocates, never registers anything and works before `main`, in TLS destructors and
//! after the thread's other thread-locals are gone. Returning a thread's allowances at exit is
//! done by a pthread key destructor (registering it calls no Rust allocator), which runs after
//! Rust's own thread-local destructors; anything freed even later is credited to the shared
//! counters directly.

use crate::allowance::Slot;
use crate::{Budget, Category};
use core::cell::Cell;
use core::sync::atomic::{AtomicBool, Ordering};

/// `slot` value: this thread has not been given a slot yet.
const UNREGISTERED: usize = 0;
/// `slot` value: this thread has no slot (registry full, or the thread is exiting): charge the
/// shared counters directly.
const DIRECT: usize = 1;

pub(crate) struct Local {
    pub(crate) category: Cell<Category>,
    /// `UNREGISTERED`, `DIRECT`, or the address of this thread's `Slot`.
    slot: Cell<usize>,
}

thread_local! {
    pub(crate) static LOCAL: Local = const {
        Local { category: Cell::new(Category::Heap), slot: Cell::new(UNREGISTERED) }
    };
}

/// Whether the process budget has read `MEMBUDGET_FAULT_*` yet.
static ENV_APPLIED: AtomicBool = AtomicBool::new(false);

/// The calling thread's current category ([`Category::Heap`] unless a scope is entered).
#[inline]
pub fn current_category() -> Category {
    LOCAL
        .try_with(|l| l.category.get())
        .unwrap_or(Category::Heap)
}

/// Charges `bytes` to the calling thread's current category of the process budget. Returns
/// the category, or `None` if the budget refused.
#[inline]
pub(crate) fn charge_current(bytes: u64) -> Option<Category> {
    match LOCAL.try_with(|l| {
        let c = l.category.get();
        (c, charge_with(l, c, bytes))
    }) {
        Ok((c, true)) => Some(c),
        Ok((_, false)) => None,
        Err(_) => Budget::global()
            .try_charge(Category::Heap, bytes)
            .ok()
            .map(|()| Category::Heap),
    }
}

/// Charges `bytes` to `category` of the process budget on the calling thread.
#[inline]
pub(crate) fn charge(category: Category, bytes: u64) -> bool {
    LOCAL
        .try_with(|l| charge_with(l, category, bytes))
        .unwrap_or_else(|_| Budget::global().try_charge(category, bytes).is_ok())
}

#[inline]
fn charge_with(l: &Local, category: Category, bytes: u64) -> bool {
    let s = l.slot.get();
    if s > DIRECT {
        // SAFETY: `s` is the address of a `&'static Slot` this thread acquired in `register`
        // and still owns (it is reset to DIRECT before the slot is retired).
        let slot = unsafe { &*(s as *const Slot) };
        Budget::global().charge_local(slot, category, bytes)
    } else {
        charge_unregistered(l, category, bytes)
    }
}

#[cold]
#[inline(never)]
fn charge_unregistered(l: &Local, category: Category, bytes: u64) -> bool {
    if l.slot.get() == UNREGISTERED && register(l) {
        return charge_with(l, category, bytes);
    }
    Budget::global().try_charge(category, bytes).is_ok()
}

/// Credits `bytes` of `category` to the process budget on the calling thread.
#[inline]
pub(crate) fn credit(category: Category, bytes: u64) {
    let done = LOCAL.try_with(|l| {
        let s = l.slot.get();
        if s > DIRECT {
            // SAFETY: as in `charge_with`: a slot this thread owns.
            let slot = unsafe { &*(s as *const Slot) };
            Budget::global().credit_local(slot, category, bytes);
            true
        } else {
            false
        }
    });
    if done != Ok(true) {
        Budget::global().release_claim(category, bytes);
    }
}

/// Whether the global allocator has charged anything on the calling thread: every allocation
/// through [`QuotaAllocator`](crate::QuotaAllocator) registers its thread first (slot or
/// direct). `true` when the thread-local is gone, as nothing can be told then.
pub(crate) fn thread_seen_by_allocator() -> bool {
    LOCAL
        .try_with(|l| l.slot.get() != UNREGISTERED)
        .unwrap_or(true)
}

/// Gives the calling thread a slot of the process budget's registry and arranges for it to be
/// retired at thread exit. Allocates nothing through the Rust allocator.
fn register(l: &Local) -> bool {
    let budget = Budget::global();
    if !ENV_APPLIED.swap(true, Ordering::Relaxed) {
        budget.apply_fault_env_quietly();
    }
    let registered = (|| {
        let registry = budget.registry()?;
        let slot = registry.acquire()?;
        if crate::sys::on_thread_exit(slot as *const Slot as *mut core::ffi::c_void, retire) {
            Some(slot)
        } else {
            budget.retire(slot);
            None
        }
    })();
    match registered {
        Some(slot) => {
            l.slot.set(slot as *const Slot as usize);
            true
        }
        None => {
            l.slot.set(DIRECT);
            false
        }
    }
}

/// The pthread key destructor: returns the exiting thread's allowances.
unsafe extern "C" fn retire(slot: *mut core::ffi::c_void) {
    // Later frees on this thread go straight to the shared counters.
    let _ = LOCAL.try_with(|l| l.slot.set(DIRECT));
    // SAFETY: the key's value is only ever set to a `&'static Slot` in `register`.
    let slot = unsafe { &*(slot as *const Slot) };
    Budget::global().retire(slot);
}
