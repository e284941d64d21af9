//! The calling thread's state: its current category and its allowance slot in the process
//! budget, plus how the global allocator charges and credits through them.
//!
//! The state is a `const`-initialised `thread_local!` of `Cell`s with no destructor, so reading
//! it never allocates, never registers anything and works before `main`, in TLS destructors and
//! after the thread's other thread-locals are gone. Returning a thread's allowances at exit is
//! done by a pthread key destructor (registering it calls no Rust allocator), which runs after
//! Rust's own thread-local destructors; anything freed even later is credited to the shared
//! counters directly.
//!
//! The allocator's fast paths read one pointer from here and work on the slot it points to. A
//! thread without a slot (not registered yet, or exiting) points at [`NO_SLOT`], a slot that
//! is never `ready` and holds nothing, so every fast path falls through to the slow one, which
//! sorts out why. [`Local::heap_slot`] is the slot only while the thread is in the heap scope,
//! so allocating needs no separate check of the category: the fast path serves the heap, the
//! other categories (whose blocks come from arenas, on a slower path anyway) go the slow way.
//! So do allocations while a child budget is current ([`Local::attribution`]): they are
//! charged to it (`attribution.rs`).

use crate::allowance::Slot;
use crate::consumer::ConsumerCore;
use crate::{Budget, Category};
use core::cell::Cell;
use core::sync::atomic::{AtomicBool, Ordering};

/// `state`: this thread has not asked for a slot yet.
const UNREGISTERED: u8 = 0;
/// `state`: this thread owns `slot`.
const REGISTERED: u8 = 1;
/// `state`: this thread has no slot (none could be had, or the thread is exiting): charge the
/// shared counters directly.
const DIRECT: u8 = 2;

/// The slot of threads that have none: never `ready`, holding and capped at 0, so its fast
/// paths always refuse and it is never written.
static NO_SLOT: Slot = Slot::new();

pub(crate) struct Local {
    pub(crate) category: Cell<Category>,
    /// The consumer of the thread's current child budget that allocations are charged to
    /// (`attribution.rs`), or null. Set by the guards that keep it alive.
    attribution: Cell<*const ConsumerCore>,
    /// Inside an attributed allocation or free: allocations made meanwhile (by the budget
    /// tree's own bookkeeping) are not attributed again.
    attributing: Cell<bool>,
    /// The consumer whose bytes [`Local::attribution_cache`] holds (null: none), so attributed
    /// blocks of one budget are charged and credited on this thread without touching shared
    /// counters (`attribution.rs`).
    pub(crate) cache_owner: Cell<*const ConsumerCore>,
    /// Bytes charged to `cache_owner` per category and not yet spent on a block.
    pub(crate) attribution_cache: [Cell<u64>; Category::COUNT],
    /// This thread's slot while `state` is `REGISTERED`, else `&NO_SLOT`.
    slot: Cell<*const Slot>,
    /// `slot` while `category` is the heap, else `&NO_SLOT`.
    heap_slot: Cell<*const Slot>,
    /// The backing's [`Backing::heap_above`](crate::Backing::heap_above) once known: a block at
    /// or above it is the heap's, found without touching shared memory. Until known
    /// `usize::MAX`: no block is above, every free asks the backing.
    heap_above: Cell<usize>,
    state: Cell<u8>,
}

thread_local! {
    pub(crate) static LOCAL: Local = const {
        Local {
            category: Cell::new(Category::Heap),
                    attribution: Cell::new(core::ptr::null()),
                    attributing: Cell::new(false),
            cache_owner: Cell::new(core::ptr::null()),
            attribution_cache: [const { Cell::new(0) }; Category::COUNT],
            slot: Cell::new(&NO_SLOT),
            heap_slot: Cell::new(&NO_SLOT),
            heap_above: Cell::new(usize::MAX),
            state: Cell::new(UNREGISTERED),
        }
    };
}

impl Local {
    /// Sets the current category (and with it the heap fast path's slot); returns the previous.
    pub(crate) fn set_category(&self, category: Category) -> Category {
        let previous = self.category.replace(category);
        self.update_heap_slot();
        previous
    }

    /// The heap fast path serves the heap scope of a thread without a current child budget.
    fn update_heap_slot(&self) {
        let attributed = !self.attribution.get().is_null();
        self.heap_slot
            .set(if self.category.get() == Category::Heap && !attributed {
                self.slot.get()
            } else {
                &NO_SLOT
            });
    }

    /// Sets the consumer allocations are charged to (null: none); returns the previous.
    pub(crate) fn set_attribution(&self, consumer: *const ConsumerCore) -> *const ConsumerCore {
        let previous = self.attribution.replace(consumer);
        self.update_heap_slot();
        previous
    }

    /// The consumer to charge an allocation to now: the current one, unless the thread is
    /// inside an attributed allocation or free already.
    #[inline]
    pub(crate) fn attribution(&self) -> *const ConsumerCore {
        if self.attributing.get() {
            core::ptr::null()
        } else {
            self.attribution.get()
        }
    }

    /// Marks the thread as inside an attributed allocation or free (or not); returns the
    /// previous mark.
    pub(crate) fn set_attributing(&self, on: bool) -> bool {
        self.attributing.replace(on)
    }

    fn set_slot(&self, slot: &'static Slot, state: u8) {
        self.slot.set(slot);
        self.state.set(state);
        self.update_heap_slot();
    }
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

/// Charges `bytes` to the heap category from the calling thread's allowance, if the thread is
/// in the heap scope and its allowance covers them (the allocation fast path: a thread-local
/// load, two loads and two stores of the thread's own slot). `false`: use
/// [`charge_current`] instead. If the backing then fails, [`uncharge_last_heap`] credits it.
#[inline(always)]
pub(crate) fn try_charge_heap(bytes: u64) -> bool {
    LOCAL.with(|l| {
        // SAFETY: `heap_slot` is `&NO_SLOT` or a `&'static Slot` this thread owns (it is reset
        // before the slot is retired).
        let slot = unsafe { &*l.heap_slot.get() };
        // SAFETY: as above.
        unsafe { slot.try_spend_heap(bytes) }
    })
}

/// Credits the calling thread's last [`try_charge_heap`], which succeeded and was followed by
/// nothing but the backing's failed allocation.
#[cold]
#[inline(never)]
pub(crate) fn uncharge_last_heap() {
    let bytes = LOCAL
        .try_with(|l| {
            // SAFETY: `slot` is `&NO_SLOT` or a `&'static Slot` this thread owns.
            let slot = unsafe { &*l.slot.get() };
            // SAFETY: the charge was made on this slot, the thread's own (`heap_slot` is `slot`
            // when it is not `NO_SLOT`, and neither changes inside the backing).
            unsafe { slot.last_heap_charge() }
        })
        .unwrap_or(0);
    credit(Category::Heap, bytes);
}

/// Credits the free of the block at `addr` of `size` bytes (a `Layout`'s size) to the heap
/// category, if it lies above the thread's cached heap bound and the thread's allowance has
/// room for it (the free fast path: thread-local reads and a load and store of the thread's
/// own slot). `false`: nothing was done, use the slow path.
#[inline(always)]
pub(crate) fn try_credit_heap(addr: usize, size: usize) -> bool {
    LOCAL.with(|l| {
        // SAFETY: `slot` is `&NO_SLOT` or a `&'static Slot` this thread owns.
        let slot = unsafe { &*l.slot.get() };
        // SAFETY: as above.
        addr >= l.heap_above.get() && unsafe { slot.try_keep_block(Category::Heap, size) }
    })
}

/// Charges `bytes` to the heap category from the thread's allowance if `addr` is a heap block
/// (above the thread's cached heap bound) and the allowance covers them, whatever the thread's
/// scope (a block keeps its category when it grows). `false`: nothing was done.
#[inline(always)]
pub(crate) fn try_charge_heap_block(addr: usize, bytes: u64) -> bool {
    LOCAL.with(|l| {
        // SAFETY: `slot` is `&NO_SLOT` or a `&'static Slot` this thread owns.
        let slot = unsafe { &*l.slot.get() };
        addr >= l.heap_above.get() && slot.try_spend(Category::Heap, bytes)
    })
}

/// Caches the backing's heap bound in the calling thread (see `Local::heap_above`).
#[inline]
pub(crate) fn cache_heap_above(bound: Option<usize>) {
    if let Some(bound) = bound {
        let _ = LOCAL.try_with(|l| l.heap_above.set(bound));
    }
}

/// Whether the calling thread has cached the heap bound.
#[inline]
pub(crate) fn heap_above_cached() -> bool {
    LOCAL
        .try_with(|l| l.heap_above.get() != usize::MAX)
        .unwrap_or(true)
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
    // SAFETY: `slot` is `&NO_SLOT` or a `&'static Slot` this thread owns.
    let slot = unsafe { &*l.slot.get() };
    slot.try_spend(category, bytes) || charge_slow(l, category, bytes)
}

#[cold]
#[inline(never)]
fn charge_slow(l: &Local, category: Category, bytes: u64) -> bool {
    if l.state.get() == UNREGISTERED {
        register(l);
    }
    if l.state.get() == REGISTERED {
        // SAFETY: a `&'static Slot` this thread owns while `state` is `REGISTERED`.
        let slot = unsafe { &*l.slot.get() };
        // SAFETY: as above.
        unsafe { Budget::global().charge_local(slot, category, bytes) }
    } else {
        Budget::global().try_charge(category, bytes).is_ok()
    }
}

/// Credits `bytes` of `category` to the process budget on the calling thread.
#[inline]
pub(crate) fn credit(category: Category, bytes: u64) {
    let kept = LOCAL.try_with(|l| {
        // SAFETY: `slot` is `&NO_SLOT` or a `&'static Slot` this thread owns.
        let slot = unsafe { &*l.slot.get() };
        // SAFETY: as above.
        let kept = unsafe { slot.try_keep(category, bytes) };
        kept || credit_slow(l, category, bytes)
    });
    if kept != Ok(true) {
        Budget::global().release_claim(category, bytes);
    }
}

/// Whether the global allocator has charged anything on the calling thread: every allocation
/// through [`QuotaAllocator`](crate::QuotaAllocator) registers its thread first (slot or
/// direct). `true` when the thread-local is gone, as nothing can be told then.
pub(crate) fn thread_seen_by_allocator() -> bool {
    LOCAL
        .try_with(|l| l.state.get() != UNREGISTERED)
        .unwrap_or(true)
}

/// Credits through the thread's slot when it has one (`true`), else leaves it to the caller.
#[cold]
#[inline(never)]
fn credit_slow(l: &Local, category: Category, bytes: u64) -> bool {
    if l.state.get() != REGISTERED {
        return false;
    }
    // SAFETY: a `&'static Slot` this thread owns while `state` is `REGISTERED`.
    let slot = unsafe { &*l.slot.get() };
    // SAFETY: as above.
    unsafe { Budget::global().credit_local(slot, category, bytes) };
    true
}

/// Gives the calling thread a slot of the process budget's registry and arranges for it to be
/// retired at thread exit. Allocates nothing through the Rust allocator.
fn register(l: &Local) {
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
            // SAFETY: this thread acquired the slot just now and gives it up.
            unsafe { budget.retire(slot) };
            None
        }
    })();
    match registered {
        Some(slot) => l.set_slot(slot, REGISTERED),
        None => l.set_slot(&NO_SLOT, DIRECT),
    }
}

/// The pthread key destructor: returns the exiting thread's allowances.
unsafe extern "C" fn retire(slot: *mut core::ffi::c_void) {
    // Later allocations and frees on this thread go straight to the shared counters.
    let _ = LOCAL.try_with(|l| l.set_slot(&NO_SLOT, DIRECT));
    // SAFETY: the key's value is only ever set to a `&'static Slot` in `register`.
    let slot = unsafe { &*(slot as *const Slot) };
    // SAFETY: the exiting thread owns the slot (it registered it; its state is now DIRECT, so
    // nothing on this thread uses the slot afterwards).
    unsafe { Budget::global().retire(slot) };
}
