//! Per-thread allowances: the quota a thread has drawn from a [`Budget`] but not yet spent.
//!
//! The global allocator must not touch shared cache lines on every allocation, so each thread
//! draws quota from the budget in quanta and spends it locally:
//!
//! ```text
//!   claimed(c)  = the budget's shared counter: explicit charges + every grant − every return
//!   held_t(c)   = thread t's unspent allowance (only t writes it; anyone may read it)
//!   used(c)     = claimed(c) − Σ_t held_t(c)        exact whenever no thread is mid-operation
//!   claimed(c) ≤ quota(c)                           enforced by the compare-and-swap that grants
//! ```
//!
//! An allocation of `n` bytes moves `n` from `held` into use (a thread-local load and store); a
//! free moves `n` back into the freeing thread's `held` — whichever thread and scope that is —
//! so `used` drops by exactly `n`. Only when `held` runs short does a thread take a new quantum
//! (one CAS on `claimed`), and only when it grows past its cap does it return the excess.
//!
//! A thread's `held` is two words: allocations spend from `spendable`, frees add to `kept`, and
//! the slow path of an allocation moves `kept` into `spendable` before it asks the budget for
//! more. So an allocation and the free that follows it do not wait for each other's store to
//! the same word (a loop-carried dependency through memory that would cost a few cycles per
//! allocation), while `held = spendable + kept` stays what the equations above need.
//!
//! Every reader computes `used` as `claimed` minus a sum of non-negative `held` values, so even a
//! read racing with grants and returns is at most `claimed`, which never exceeds the quota.
//!
//! # Quota changes and fault injection: voiding the slots
//!
//! Quota changes apply to allowances already granted. A slot records the budget's *epoch* its
//! allowances were granted in; [`Budget::set_quotas`] and [`Budget::set_mode`] start a new
//! epoch, and arming fault injection must send every charge to the budget. Both *void* the
//! slots after changing the budget's gate word. A slot is *ready* while its `spend` pointer
//! points at its own `spendable` array, and void while it points at [`NOTHING`], an allowance of 0
//! in every category: a charge loads the pointer and spends from where it points, so a void
//! slot refuses every charge with no extra compare, and neither check costs the allocation path
//! anything. A refused charge takes the slow path, which makes the slot ready, reads the gate,
//! returns every allowance of an older epoch (then draws again under the quotas in force), and
//! voids the slot again while faults are armed:
//!
//! ```text
//!   voider (set_quotas, arming):  change gate ; fence(SeqCst) ; for each slot: spend = NOTHING
//!   owner (slow path):            spend = spendable ; fence(SeqCst) ; read gate ; sync to it
//! ```
//!
//! The two fences are ordered one way or the other. If the owner's comes first, everything the
//! owner did before it — taking its slot, adding a segment to the registry, making the slot
//! ready — is visible to the voider after its fence: the voider finds the slot and its `spend =
//! NOTHING` comes after the owner's `spend = spendable`, so the owner's next charge syncs. If the
//! voider's fence comes first, the owner reads the new gate and syncs now. A slot starts void
//! (fresh, or retired by its previous owner), so its owner always syncs before its first charge.
//! So no charge made after a quota change returned is served from an allowance drawn before it.
//! (Fences rather than SeqCst accesses, whose total order loom does not model.)
//!
//! A free keeps its bytes as allowance whatever the epoch (they stay claimed, so quotas only
//! become stricter for others meanwhile); the owner's next charge returns them if they are
//! from an older epoch. Allowances of threads that do not allocate stay claimed until those
//! threads next allocate, or exit. While a category is over its quota, bytes freed by a thread
//! whose allowances are current are returned to the shared counter, not kept, so nothing can be
//! charged until use is below the quota again.
//!
//! # The registry: any number of threads
//!
//! Slots live in a chain of segments that only grows: a static first segment (usable before
//! `main`), then segments of twice the previous size mapped from the OS (never through the
//! global allocator) when every slot is taken. A segment is never unmapped while the process
//! lives, so a `&'static Slot` stays valid; a thread's slot is reused by later threads after it
//! exits. Two threads that find the chain full at once both map a segment; one links its
//! segment with a compare-and-swap, the other unmaps its own and uses the winner's.

use crate::budget::FAULT_MASK;
use crate::sync::{fence, AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering, UnsafeCell};
use crate::{Budget, Category, Limit};
use core::ptr::null_mut;

/// Largest quantum a thread draws at once.
pub(crate) const QUANTUM_MAX: u64 = 1 << 20;
/// Smallest quantum (near the quota grants fall back to exactly what is needed).
pub(crate) const QUANTUM_MIN: u64 = 16 << 10;
/// A quantum is this fraction of what is left of the quota, so quanta shrink near it.
const QUANTUM_SHARE: u64 = 32;

/// Slots in the process registry's static first segment (16 KiB); later segments (of 128,
/// 256, … slots) are mapped as threads arrive.
#[cfg(not(membudget_loom))]
pub(crate) const FIRST_SEGMENT_SLOTS: usize = 64;

/// Where a void slot spends from: nothing, in every category. Never written (a charge of 0 would
/// store 0 into it, which changes nothing; the allocator never charges 0 bytes).
#[cfg(not(membudget_loom))]
static NOTHING: Accounts = [const { Account::new() }; Category::COUNT];

#[cfg(membudget_loom)]
loom::lazy_static! {
    static ref NOTHING: Accounts = core::array::from_fn(|_| Account::new());
}

/// [`NOTHING`] as a `spend` pointer.
#[inline]
fn nothing() -> *mut Accounts {
    #[cfg(not(membudget_loom))]
    let p: *const Accounts = &NOTHING;
    #[cfg(membudget_loom)]
    let p: *const Accounts = &*NOTHING;
    p.cast_mut()
}

/// A word of a slot that only the slot's owner reads and writes: plain memory, so the free fast
/// path compares against it straight from memory.
struct Owned(UnsafeCell<u64>);

impl Owned {
    #[cfg(not(membudget_loom))]
    const fn new() -> Owned {
        Owned(UnsafeCell::new(0))
    }

    #[cfg(membudget_loom)]
    fn new() -> Owned {
        Owned(UnsafeCell::new(0))
    }

    /// # Safety
    /// The caller owns the slot (see [`Slot`]), or the word is never written (`NO_SLOT`).
    #[inline(always)]
    unsafe fn get(&self) -> u64 {
        #[cfg(not(membudget_loom))]
        // SAFETY: no other thread accesses the word meanwhile (caller).
        return unsafe { *self.0.get() };
        #[cfg(membudget_loom)]
        // SAFETY: as above; loom checks it.
        return self.0.with(|p| unsafe { *p });
    }

    /// # Safety
    /// The caller owns the slot (see [`Slot`]).
    #[inline(always)]
    unsafe fn set(&self, value: u64) {
        #[cfg(not(membudget_loom))]
        // SAFETY: no other thread accesses the word meanwhile (caller).
        unsafe {
            *self.0.get() = value
        };
        #[cfg(membudget_loom)]
        // SAFETY: as above; loom checks it.
        self.0.with_mut(|p| unsafe { *p = value });
    }
}

/// One thread's allowance in one category. `spendable` and `kept` are what it holds (see the
/// module docs); `cap` bounds `kept`. Kept together, so the heap category's fast paths touch
/// one cache line of the slot.
#[repr(C)]
pub(crate) struct Account {
    /// What allocations spend from (through `Slot::spend`).
    spendable: AtomicU64,
    /// What frees gave back and the thread kept (at most `cap`).
    kept: AtomicU64,
    cap: Owned,
}

impl Account {
    #[cfg(not(membudget_loom))]
    const fn new() -> Account {
        Account {
            spendable: AtomicU64::new(0),
            kept: AtomicU64::new(0),
            cap: Owned::new(),
        }
    }

    #[cfg(membudget_loom)]
    fn new() -> Account {
        Account {
            spendable: AtomicU64::new(0),
            kept: AtomicU64::new(0),
            cap: Owned::new(),
        }
    }
}

// SAFETY: `spendable` and `kept` are atomics; `cap` is accessed only by the owner of the slot
// the account belongs to (see `Slot`), and never for `NOTHING`.
unsafe impl Sync for Account {}

/// The accounts of every category, indexed by [`Category::index`].
pub(crate) type Accounts = [Account; Category::COUNT];

/// One thread's allowances. Only the owning thread writes `spendable` and `kept`; other threads
/// read them (to compute `used`), so the owner updates its allowance with a plain load and
/// store. `cap` (of `kept`) and `epoch` are the owner's alone. Other threads only void
/// `spend`.
///
/// A slot is owned by one thread at a time: from a successful `Segment::acquire` (the `in_use`
/// compare-and-swap, which acquires) until `Budget::retire` (its `in_use` store, which
/// releases); the owner is the only thread that calls the allowance functions on it. `NO_SLOT`
/// (local.rs) is owned by nobody and never written: its fast paths refuse before writing.
#[repr(C, align(128))]
pub struct Slot {
    /// Where charges are spent from: `accounts` while the allowances are from the budget's
    /// current epoch and no faults are armed (the slot is *ready*), else [`NOTHING`] (module
    /// docs). Set to `accounts` only by the owner, once the slot is at its final address.
    spend: AtomicPtr<Accounts>,
    accounts: Accounts,
    /// The budget epoch (`gate` with a zero fault byte) the allowances were granted in.
    epoch: Owned,
    /// The size of the allocator's last fast-path heap charge, so a failed allocation can be
    /// credited without the caller keeping its size across the call into the backing. Away
    /// from the first cache line: a store there, next to what the next charge loads, measurably
    /// slows the allocation loop.
    last_heap_charge: Owned,
    in_use: AtomicBool,
}

// SAFETY: `spend`, `in_use` and the accounts' `spendable` and `kept` are atomics; the accounts'
// `cap`, `last_heap_charge` and `epoch` are accessed only by the slot's owner, one thread at a
// time, handed over through `in_use` (see above).
unsafe impl Sync for Slot {}

impl Slot {
    /// A free slot.
    #[cfg(not(membudget_loom))]
    pub const fn new() -> Slot {
        Slot {
            spend: AtomicPtr::new(&NOTHING as *const Accounts as *mut _),
            last_heap_charge: Owned::new(),
            accounts: [const { Account::new() }; Category::COUNT],
            epoch: Owned::new(),
            in_use: AtomicBool::new(false),
        }
    }

    /// A free slot.
    #[cfg(membudget_loom)]
    pub fn new() -> Slot {
        Slot {
            spend: AtomicPtr::new(nothing()),
            last_heap_charge: Owned::new(),
            accounts: core::array::from_fn(|_| Account::new()),
            epoch: Owned::new(),
            in_use: AtomicBool::new(false),
        }
    }

    /// Makes the slot ready (`spend` at its own `accounts`).
    fn make_ready(&self, order: Ordering) {
        let accounts: *const Accounts = &self.accounts;
        self.spend.store(accounts.cast_mut(), order);
    }

    /// The account of `category`.
    #[inline(always)]
    fn account(&self, category: Category) -> &Account {
        &self.accounts[category.index()]
    }

    /// Voids the slot (`spend` at [`NOTHING`]).
    fn make_void(&self, order: Ordering) {
        self.spend.store(nothing(), order);
    }

    /// The cap of `category`.
    ///
    /// # Safety
    /// As [`Owned::get`].
    #[inline(always)]
    unsafe fn cap(&self, category: Category) -> u64 {
        // SAFETY: forwarded.
        unsafe { self.account(category).cap.get() }
    }

    /// The unspent allowance of `category`.
    pub fn held(&self, category: Category) -> u64 {
        let a = self.account(category);
        // Acquire: pairs with the Release in `Budget::refill` that moves `kept` into
        // `spendable` after zeroing `kept`, so a byte being moved is never counted twice (at
        // worst not at all, which errs towards a higher `used`, never above `claimed`).
        let s = a.spendable.load(Ordering::Acquire);
        s.saturating_add(a.kept.load(Ordering::Relaxed))
    }

    /// Spends `bytes` of `category` from the allowance if it covers them and is current (the
    /// allocator's fast path: two loads of this slot and a store). `false`: ask the budget.
    #[inline(always)]
    pub(crate) fn try_spend(&self, category: Category, bytes: u64) -> bool {
        // Relaxed: only the owner calls this, and `refill` syncs with the gate (module docs).
        let spend = self.spend.load(Ordering::Relaxed);
        // SAFETY: `spend` points at this slot's `spendable` or at `NOTHING`, both live for the
        // program (slots are never freed).
        let spendable = &unsafe { &*spend }[category.index()].spendable;
        let h = spendable.load(Ordering::Relaxed);
        if h >= bytes {
            // `h ≥ bytes`: no wrap. Only `spendable` of a ready slot is written here (a void
            // slot spends from `NOTHING`, whose 0 is below any charge; a 0-byte charge stores 0).
            spendable.store(h.wrapping_sub(bytes), Ordering::Relaxed);
            true
        } else {
            false
        }
    }

    /// [`try_spend`](Self::try_spend) of the heap category for the allocator's allocation fast
    /// path, which also notes `bytes` for [`last_heap_charge`](Self::last_heap_charge).
    ///
    /// # Safety
    /// The caller owns the slot, or it is `NO_SLOT` (see [`Slot`]).
    #[cfg(not(membudget_loom))]
    #[inline(always)]
    pub(crate) unsafe fn try_spend_heap(&self, bytes: u64) -> bool {
        let spend = self.spend.load(Ordering::Relaxed);
        // SAFETY: `spend` points at this slot's `spendable` or at `NOTHING` (both live forever).
        let spendable = &unsafe { &*spend }[Category::Heap.index()].spendable;
        let h = spendable.load(Ordering::Relaxed);
        if h >= bytes {
            // `h ≥ bytes`: no wrap. Only reached for a ready slot (`NOTHING` holds 0 and the
            // allocator never charges 0 bytes), which the caller owns.
            spendable.store(h.wrapping_sub(bytes), Ordering::Relaxed);
            // SAFETY: forwarded.
            unsafe { self.last_heap_charge.set(bytes) };
            true
        } else {
            false
        }
    }

    /// The bytes of the last successful [`try_spend_heap`](Self::try_spend_heap).
    ///
    /// # Safety
    /// The caller owns the slot.
    #[cfg(not(membudget_loom))]
    pub(crate) unsafe fn last_heap_charge(&self) -> u64 {
        // SAFETY: forwarded.
        unsafe { self.last_heap_charge.get() }
    }

    /// Keeps `bytes` of `category` being freed as allowance if that stays within the cap (the
    /// free's fast path). `false`: give them back through the budget.
    ///
    /// # Safety
    /// The caller owns the slot, or it is `NO_SLOT` (see [`Slot`]).
    #[inline(always)]
    pub(crate) unsafe fn try_keep(&self, category: Category, bytes: u64) -> bool {
        let kept = &self.account(category).kept;
        let k = kept.load(Ordering::Relaxed);
        match k.checked_add(bytes) {
            // SAFETY: forwarded.
            Some(n) if n <= unsafe { self.cap(category) } => {
                kept.store(n, Ordering::Relaxed);
                true
            }
            _ => false,
        }
    }

    /// [`try_keep`](Self::try_keep) for a freed block of `size` bytes, a `Layout`'s size (the
    /// allocator's free path).
    ///
    /// # Safety
    /// As [`try_keep`](Self::try_keep).
    #[cfg(not(membudget_loom))]
    #[inline(always)]
    pub(crate) unsafe fn try_keep_block(&self, category: Category, size: usize) -> bool {
        let kept = &self.account(category).kept;
        let k = kept.load(Ordering::Relaxed);
        // No wrap: a `Layout`'s size is at most `isize::MAX`, and `kept ≤ cap ≤ 2 ×
        // QUANTUM_MAX`, so the sum stays below 2^63 + 2^22.
        let n = k.wrapping_add(size as u64);
        // SAFETY: forwarded.
        if n <= unsafe { self.cap(category) } {
            kept.store(n, Ordering::Relaxed);
            true
        } else {
            false
        }
    }
}

impl Default for Slot {
    fn default() -> Self {
        Slot::new()
    }
}

/// A block of slots in the registry's chain.
struct Segment {
    slots: &'static [Slot],
    /// Slots at or past this index have never been handed out.
    high_water: AtomicUsize,
    /// The next segment (null until this one was full once).
    next: AtomicPtr<Segment>,
}

impl Segment {
    #[cfg(not(membudget_loom))]
    const fn new(slots: &'static [Slot]) -> Segment {
        Segment {
            slots,
            high_water: AtomicUsize::new(0),
            next: AtomicPtr::new(null_mut()),
        }
    }

    #[cfg(membudget_loom)]
    fn new(slots: &'static [Slot]) -> Segment {
        Segment {
            slots,
            high_water: AtomicUsize::new(0),
            next: AtomicPtr::new(null_mut()),
        }
    }

    /// Claims a free slot of this segment.
    fn acquire(&self) -> Option<&'static Slot> {
        for (i, slot) in self.slots.iter().enumerate() {
            // Acquire: pairs with `Budget::retire`'s Release, so the zeroed allowances of the
            // previous owner are visible to the new one.
            if !slot.in_use.load(Ordering::Relaxed)
                && slot
                    .in_use
                    .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
                    .is_ok()
            {
                // Relaxed: readers and voiders see it in time through the fences of the
                // protocol in the module docs (it comes before the owner's first sync).
                // `i < slots.len()`: no overflow.
                self.high_water
                    .fetch_max(i.wrapping_add(1), Ordering::Relaxed);
                return Some(slot);
            }
        }
        None
    }

    /// The slots handed out at least once.
    fn used_slots(&self) -> &'static [Slot] {
        let n = self.high_water.load(Ordering::Relaxed);
        let slots: &'static [Slot] = self.slots;
        &slots[..n.min(slots.len())]
    }
}

/// The slots of the threads that charge one budget through allowances: a chain of segments
/// that grows as threads arrive and is never freed (module docs).
pub struct Registry {
    head: Segment,
}

impl Registry {
    /// A registry whose first segment is `slots`.
    #[cfg(not(membudget_loom))]
    pub const fn new(slots: &'static [Slot]) -> Registry {
        Registry {
            head: Segment::new(slots),
        }
    }

    /// A registry whose first segment is `slots`.
    #[cfg(membudget_loom)]
    pub fn new(slots: &'static [Slot]) -> Registry {
        Registry {
            head: Segment::new(slots),
        }
    }

    /// Claims a free slot for the calling thread, adding a segment when all are taken. `None`
    /// only if the OS refuses the memory of a new segment.
    pub fn acquire(&self) -> Option<&'static Slot> {
        let mut seg: &Segment = &self.head;
        loop {
            if let Some(slot) = seg.acquire() {
                return Some(slot);
            }
            // Acquire: pairs with the AcqRel that linked the segment (its slots are initialised).
            let next = seg.next.load(Ordering::Acquire);
            if !next.is_null() {
                // SAFETY: linked segments are never freed (module docs).
                seg = unsafe { &*next };
                continue;
            }
            let fresh = segment_memory::map(seg.slots.len().saturating_mul(2).max(1))?;
            match seg
                .next
                .compare_exchange(null_mut(), fresh, Ordering::AcqRel, Ordering::Acquire)
            {
                // SAFETY: just linked; never freed from now on.
                Ok(_) => seg = unsafe { &*fresh },
                Err(linked) => {
                    // SAFETY: `fresh` was never linked, so nobody else can reach it.
                    unsafe { segment_memory::unmap(fresh) };
                    // SAFETY: linked segments are never freed.
                    seg = unsafe { &*linked };
                }
            }
        }
    }

    /// Calls `f` for every slot ever handed out.
    fn for_each(&self, mut f: impl FnMut(&'static Slot)) {
        let mut seg: &Segment = &self.head;
        loop {
            seg.used_slots().iter().for_each(&mut f);
            // Acquire: as in `acquire`.
            let next = seg.next.load(Ordering::Acquire);
            if next.is_null() {
                return;
            }
            // SAFETY: linked segments are never freed.
            seg = unsafe { &*next };
        }
    }

    /// Slots in all segments so far (handed out or not).
    #[cfg(any(test, membudget_loom))]
    pub fn capacity(&self) -> usize {
        let mut n = 0usize;
        let mut seg: &Segment = &self.head;
        loop {
            n = n.saturating_add(seg.slots.len());
            // Acquire: as in `acquire`.
            let next = seg.next.load(Ordering::Acquire);
            if next.is_null() {
                return n;
            }
            // SAFETY: linked segments are never freed.
            seg = unsafe { &*next };
        }
    }

    /// Σ over all slots of the unspent allowance of `category`.
    pub(crate) fn held(&self, category: Category) -> u64 {
        let mut sum = 0u64;
        self.for_each(|s| sum = sum.saturating_add(s.held(category)));
        sum
    }

    /// Σ over all slots and categories of the unspent allowances.
    pub(crate) fn held_total(&self) -> u64 {
        let mut sum = 0u64;
        self.for_each(|s| {
            for c in Category::ALL {
                sum = sum.saturating_add(s.held(c));
            }
        });
        sum
    }

    /// Voids every slot: each owner syncs with the budget before it next charges (module
    /// docs). Call after changing the budget's gate word.
    pub(crate) fn void(&self) {
        // The voider's half of the protocol in the module docs.
        fence(Ordering::SeqCst);
        self.for_each(|s| s.make_void(Ordering::Relaxed));
    }
}

/// Memory of the segments added to a registry: mapped from the OS (the process registry must
/// not allocate through the global allocator it serves), or boxed under loom (whose atomics
/// are not plain memory).
#[cfg(not(membudget_loom))]
mod segment_memory {
    use super::{Segment, Slot};
    use core::mem::{align_of, size_of};

    /// Bytes of a segment of `slots` slots: the slots first (they need 128-byte alignment,
    /// which the mapping's page alignment gives), then the segment header.
    fn layout(slots: usize) -> Option<(usize, usize)> {
        let header_at = slots.checked_mul(size_of::<Slot>())?;
        debug_assert_eq!(header_at.checked_rem(align_of::<Segment>()), Some(0));
        Some((header_at, header_at.checked_add(size_of::<Segment>())?))
    }

    /// A new, unlinked segment of `slots` free slots, or `None` if the OS refuses the memory.
    pub(super) fn map(slots: usize) -> Option<*mut Segment> {
        let (header_at, len) = layout(slots)?;
        let base = crate::sys::map_zeroed(len)?;
        let slots_ptr = base.cast::<Slot>();
        for i in 0..slots {
            // SAFETY: slot `i` lies in the mapping (`slots` slots fit before `header_at`).
            let slot = unsafe { slots_ptr.add(i) };
            // SAFETY: `slot` is in the mapping, aligned (the mapping is page-aligned and slots
            // are a multiple of their alignment apart), and nothing else refers to it yet.
            unsafe { slot.write(Slot::new()) };
        }
        // SAFETY: `slots` initialised slots, never freed while linked.
        let slots: &'static [Slot] = unsafe { core::slice::from_raw_parts(slots_ptr, slots) };
        // SAFETY: `header_at` is inside the mapping, aligned for `Segment` (a multiple of
        // the slot size, itself a multiple of 128).
        let header = unsafe { base.add(header_at) }.cast::<Segment>();
        // SAFETY: `header` points to `size_of::<Segment>()` writable bytes of the mapping.
        unsafe { header.write(Segment::new(slots)) };
        Some(header)
    }

    /// Unmaps a segment made by [`map`] that was never linked.
    ///
    /// # Safety
    /// `segment` came from [`map`] and nothing refers to it or its slots.
    pub(super) unsafe fn unmap(segment: *mut Segment) {
        // SAFETY: `segment` is a live header made by `map` (caller).
        let slots = unsafe { &*segment }.slots.len();
        if let Some((_, len)) = layout(slots) {
            // SAFETY: `segment` is live (caller).
            let base = unsafe { slots_base(segment) };
            // SAFETY: the mapping starts at the first slot and is `len` bytes long (as mapped);
            // nothing refers to it (caller).
            unsafe { crate::sys::unmap(base, len) };
        }
    }

    /// The start of a segment's mapping.
    ///
    /// # Safety
    /// `segment` came from [`map`] and is live.
    unsafe fn slots_base(segment: *mut Segment) -> *mut u8 {
        // SAFETY: forwarded.
        unsafe { &*segment }.slots.as_ptr() as *mut u8
    }
}

#[cfg(membudget_loom)]
mod segment_memory {
    use super::{Segment, Slot};

    pub(super) fn map(slots: usize) -> Option<*mut Segment> {
        let slots: &'static [Slot] = Box::leak((0..slots).map(|_| Slot::new()).collect());
        Some(Box::into_raw(Box::new(Segment::new(slots))))
    }

    /// # Safety
    /// `segment` came from [`map`] and nothing refers to it or its slots.
    pub(super) unsafe fn unmap(segment: *mut Segment) {
        // SAFETY: a box made by `map` that nobody else can reach (caller). Its slots stay
        // leaked, as every segment's would.
        drop(unsafe { Box::from_raw(segment) });
    }
}

impl Budget {
    /// Charges `bytes` of `category` to the thread owning `slot`: from its allowance if that
    /// covers it and is current (no shared access), else through [`refill`](Self::refill).
    /// Returns whether the charge was made; a refusal is counted like any other.
    ///
    /// # Safety
    /// The calling thread owns `slot` (see [`Slot`]).
    #[inline]
    pub(crate) unsafe fn charge_local(&self, slot: &Slot, category: Category, bytes: u64) -> bool {
        // SAFETY: forwarded.
        slot.try_spend(category, bytes) || unsafe { self.refill(slot, category, bytes) }
    }

    /// Makes `slot` current: makes it ready, reads the gate, returns every allowance of an
    /// older epoch, and voids it again while faults are armed (module docs). Returns the
    /// gate read.
    ///
    /// # Safety
    /// The calling thread owns `slot`.
    unsafe fn sync(&self, slot: &Slot) -> u64 {
        // The owner's half of the protocol in the module docs. Acquire: pairs with the release
        // of the gate's change, so the quotas and modes stored before it are visible.
        slot.make_ready(Ordering::Relaxed);
        fence(Ordering::SeqCst);
        let gate = self.gate.load(Ordering::Acquire);
        let epoch = gate & !FAULT_MASK;
        // SAFETY: the caller owns the slot.
        if unsafe { slot.epoch.get() } != epoch {
            // SAFETY: as above.
            unsafe { self.return_all(slot) };
            // SAFETY: as above.
            unsafe { slot.epoch.set(epoch) };
        }
        if gate & FAULT_MASK != 0 {
            // Every charge must reach `inject_fault` while faults are armed.
            slot.make_void(Ordering::Relaxed);
        }
        gate
    }

    /// Returns everything `slot` holds to the shared counters.
    ///
    /// # Safety
    /// The calling thread owns `slot`.
    unsafe fn return_all(&self, slot: &Slot) {
        for c in Category::ALL {
            let a = slot.account(c);
            let h = a.spendable.load(Ordering::Relaxed);
            let k = a.kept.load(Ordering::Relaxed);
            // Lower both before returning: a reader in between sees `used` at most `claimed`.
            a.spendable.store(0, Ordering::Relaxed);
            a.kept.store(0, Ordering::Relaxed);
            // SAFETY: the caller owns the slot.
            unsafe { a.cap.set(0) };
            self.release_claim(c, h.saturating_add(k));
        }
    }

    /// # Safety
    /// The calling thread owns `slot`.
    #[cold]
    #[inline(never)]
    unsafe fn refill(&self, slot: &Slot, category: Category, bytes: u64) -> bool {
        // SAFETY: forwarded.
        let gate = unsafe { self.sync(slot) };
        if gate & FAULT_MASK != 0 && self.inject_fault(category) {
            self.refuse(category, bytes, self.claimed(category), 0, Limit::Injected);
            return false;
        }
        let a = slot.account(category);
        let held = &a.spendable;
        let mut h = held.load(Ordering::Relaxed);
        // What frees kept is spent first.
        let k = a.kept.load(Ordering::Relaxed);
        if k > 0 {
            a.kept.store(0, Ordering::Relaxed);
            h = h.saturating_add(k);
            // Release: pairs with the Acquire in `Slot::held` (module docs of `held`).
            held.store(h, Ordering::Release);
        }
        if h >= bytes {
            held.store(h.wrapping_sub(bytes), Ordering::Relaxed);
            return true;
        }
        // `h < bytes`: no wrap.
        let need = bytes.wrapping_sub(h);
        let quantum = self.quantum(category);
        // Claim first, then publish the allowance: a reader in between sees `used` too high,
        // never above `claimed`.
        if need < quantum && self.claim(category, quantum).is_ok() {
            // `h + quantum - bytes = quantum - need`, positive since `need < quantum`.
            held.store(quantum.wrapping_sub(need), Ordering::Relaxed);
            // SAFETY: the caller owns the slot.
            unsafe { a.cap.set(quantum.saturating_mul(2)) };
            return true;
        }
        match self.claim(category, need) {
            Ok(()) => {
                held.store(0, Ordering::Relaxed);
                true
            }
            Err((used, quota, limit)) => {
                self.refuse(category, bytes, used, quota, limit);
                false
            }
        }
    }

    /// Credits `bytes` of `category` to the thread owning `slot`: into its allowance, returning
    /// whatever passes its cap to the shared counter.
    ///
    /// # Safety
    /// The calling thread owns `slot` (see [`Slot`]).
    #[inline]
    pub(crate) unsafe fn credit_local(&self, slot: &Slot, category: Category, bytes: u64) {
        // SAFETY: forwarded.
        if !unsafe { slot.try_keep(category, bytes) } {
            // SAFETY: forwarded.
            unsafe { self.give_back(slot, category, bytes) };
        }
    }

    /// # Safety
    /// The calling thread owns `slot`.
    #[cold]
    #[inline(never)]
    unsafe fn give_back(&self, slot: &Slot, category: Category, bytes: u64) {
        // SAFETY: forwarded.
        unsafe { self.sync(slot) };
        let a = slot.account(category);
        let k = a.kept.load(Ordering::Relaxed);
        let mut total = k.saturating_add(bytes);
        // Over the quota (it was lowered below use), freed bytes go back, and so does what the
        // thread could still spend: kept, they could be spent by a later request although use
        // is still above the quota.
        let (keep, cap) = if self.over_quota(category) {
            total = total.saturating_add(a.spendable.load(Ordering::Relaxed));
            a.spendable.store(0, Ordering::Relaxed);
            (0, 0)
        } else {
            let quantum = self.quantum(category);
            (total.min(quantum), quantum.saturating_mul(2))
        };
        // Lower `kept` to what is kept before returning the rest: a reader in between sees
        // `used` at most `claimed`.
        a.kept.store(keep, Ordering::Relaxed);
        // SAFETY: the caller owns the slot.
        unsafe { a.cap.set(cap) };
        // `keep ≤ total`: no wrap.
        self.release_claim(category, total.wrapping_sub(keep));
    }

    /// Returns everything `slot` holds to the shared counters and frees the slot (thread exit).
    ///
    /// # Safety
    /// The calling thread owns `slot`; it does not afterwards.
    pub(crate) unsafe fn retire(&self, slot: &Slot) {
        // SAFETY: forwarded.
        unsafe { self.return_all(slot) };
        // SAFETY: the caller owns the slot until the store below hands it over.
        unsafe { slot.epoch.set(0) };
        slot.make_void(Ordering::Relaxed);
        // Release: the next owner's Acquire in `Segment::acquire` sees the zeroed slot.
        slot.in_use.store(false, Ordering::Release);
    }

    /// How much a thread draws at once: a share of what is left of the quota (category and
    /// process total), between [`QUANTUM_MIN`] and [`QUANTUM_MAX`].
    fn quantum(&self, category: Category) -> u64 {
        let left = self
            .quota(category)
            .saturating_sub(self.claimed(category))
            .min(self.total_quota().saturating_sub(self.total_claimed()));
        (left / QUANTUM_SHARE).clamp(QUANTUM_MIN, QUANTUM_MAX)
    }
}

#[cfg(all(test, not(membudget_loom)))]
mod tests {
    use super::*;
    use crate::Quotas;

    fn registry(n: usize) -> &'static Registry {
        let slots: &'static [Slot] = Box::leak((0..n).map(|_| Slot::new()).collect());
        Box::leak(Box::new(Registry::new(slots)))
    }

    // The test thread owns every slot these are called with: it acquired them itself and does
    // not use them after retiring them.
    fn charge(b: &Budget, s: &Slot, c: Category, n: u64) -> bool {
        // SAFETY: see above.
        unsafe { b.charge_local(s, c, n) }
    }

    fn credit(b: &Budget, s: &Slot, c: Category, n: u64) {
        // SAFETY: see above.
        unsafe { b.credit_local(s, c, n) }
    }

    fn retire(b: &Budget, s: &Slot) {
        // SAFETY: see above.
        unsafe { b.retire(s) }
    }

    #[test]
    fn allowance_is_spent_locally_and_used_is_exact() {
        let b = Budget::with_registry(Quotas::unlimited(), registry(2));
        let s = b.registry().unwrap().acquire().unwrap();
        assert!(charge(&b, s, Category::Heap, 100));
        assert_eq!(b.used(Category::Heap), 100);
        assert_eq!(s.held(Category::Heap), QUANTUM_MAX - 100);
        assert_eq!(b.claimed(Category::Heap), QUANTUM_MAX);
        credit(&b, s, Category::Heap, 100);
        assert_eq!(b.used(Category::Heap), 0);
        retire(&b, s);
        assert_eq!(b.claimed(Category::Heap), 0);
    }

    #[test]
    fn grants_shrink_near_the_quota_and_fail_only_when_exhausted() {
        let quota = 1 << 20;
        let b = Budget::with_registry(
            Quotas::unlimited().with(Category::Network, quota),
            registry(2),
        );
        let r = b.registry().unwrap();
        let (s1, s2) = (r.acquire().unwrap(), r.acquire().unwrap());
        assert!(charge(&b, s1, Category::Network, 1000));
        // 1 MiB / 32 = 32 KiB quantum.
        assert_eq!(b.claimed(Category::Network), 32 << 10);
        // s2 can take everything that is not held by s1.
        let rest = quota - (32 << 10);
        assert!(charge(&b, s2, Category::Network, rest));
        assert!(!charge(&b, s2, Category::Network, 1));
        assert_eq!(b.failures(Category::Network), 1);
        assert!(charge(&b, s1, Category::Network, (32 << 10) - 1000));
        assert_eq!(b.used(Category::Network), quota);
        credit(&b, s2, Category::Network, quota);
        assert_eq!(b.used(Category::Network), 0);
        retire(&b, s1);
        retire(&b, s2);
        assert_eq!(b.claimed(Category::Network), 0);
    }

    #[test]
    fn frees_past_the_cap_return_to_the_budget() {
        let b = Budget::with_registry(Quotas::unlimited(), registry(2));
        let r = b.registry().unwrap();
        let (a, f) = (r.acquire().unwrap(), r.acquire().unwrap());
        for _ in 0..100 {
            assert!(charge(&b, a, Category::Direct, 64 << 10));
        }
        for _ in 0..100 {
            credit(&b, f, Category::Direct, 64 << 10);
        }
        assert_eq!(b.used(Category::Direct), 0);
        assert!(f.held(Category::Direct) <= 2 * QUANTUM_MAX);
        retire(&b, a);
        retire(&b, f);
        assert_eq!(b.claimed(Category::Direct), 0);
        assert!(r.acquire().is_some());
    }

    #[test]
    fn the_registry_grows_past_its_first_segment_and_reuses_slots() {
        let b = Budget::with_registry(Quotas::unlimited(), registry(2));
        let r = b.registry().unwrap();
        let slots: Vec<&Slot> = (0..11).map(|_| r.acquire().unwrap()).collect();
        // 2, then segments of 4 and 8.
        assert_eq!(r.capacity(), 14);
        for (i, s) in slots.iter().enumerate() {
            assert!(charge(&b, s, Category::Network, 100 + i as u64));
        }
        let charged: u64 = (0..11).map(|i| 100 + i).sum();
        assert_eq!(b.used(Category::Network), charged);
        assert!(b.allowances(Category::Network) > 0);
        for (i, s) in slots.iter().enumerate() {
            credit(&b, s, Category::Network, 100 + i as u64);
        }
        assert_eq!(b.used(Category::Network), 0);
        for s in &slots {
            retire(&b, s);
        }
        assert_eq!(b.claimed(Category::Network), 0);
        // Retired slots are handed out again before the chain grows.
        let again: Vec<&Slot> = (0..14).map(|_| r.acquire().unwrap()).collect();
        assert_eq!(r.capacity(), 14);
        for s in again {
            retire(&b, s);
        }
    }

    #[test]
    fn voiding_reaches_slots_of_every_segment() {
        let b = Budget::with_registry(
            Quotas::unlimited().with(Category::Managed, 1 << 30),
            registry(1),
        );
        let r = b.registry().unwrap();
        let slots: Vec<&Slot> = (0..5).map(|_| r.acquire().unwrap()).collect();
        for s in &slots {
            assert!(charge(&b, s, Category::Managed, 1000));
            assert!(s.held(Category::Managed) > 0, "drew an allowance");
        }
        b.set_quotas(Quotas::unlimited().with(Category::Managed, 4000));
        for s in &slots {
            // Every slot is void: its next charge returns the old allowance first.
            assert!(!s.try_spend(Category::Managed, 1));
        }
        // Use is 5000 of a 4000 quota: refused, and nothing of the old allowances is left.
        assert!(!charge(&b, slots[4], Category::Managed, 1));
        for s in &slots {
            credit(&b, s, Category::Managed, 1000);
            retire(&b, s);
        }
        assert_eq!(b.used(Category::Managed), 0);
        assert_eq!(b.claimed(Category::Managed), 0);
    }

    #[test]
    fn kept_frees_are_spent_before_new_quanta() {
        let b = Budget::with_registry(Quotas::unlimited(), registry(1));
        let s = b.registry().unwrap().acquire().unwrap();
        assert!(charge(&b, s, Category::Heap, 1000));
        let claimed = b.claimed(Category::Heap);
        // Spend the rest of the quantum, then free 1000: the next charge of 1000 uses what the
        // free kept instead of claiming more.
        assert!(charge(&b, s, Category::Heap, QUANTUM_MAX - 1000));
        credit(&b, s, Category::Heap, 1000);
        assert!(charge(&b, s, Category::Heap, 1000));
        assert_eq!(b.claimed(Category::Heap), claimed);
        assert_eq!(b.used(Category::Heap), QUANTUM_MAX);
        credit(&b, s, Category::Heap, QUANTUM_MAX);
        assert_eq!(b.used(Category::Heap), 0);
        retire(&b, s);
        assert_eq!(b.claimed(Category::Heap), 0);
    }
}
