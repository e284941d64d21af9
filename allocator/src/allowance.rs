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
//! Every reader computes `used` as `claimed` minus a sum of non-negative `held` values, so even a
//! read racing with grants and returns is at most `claimed`, which never exceeds the quota.
//!
//! Quota changes apply to allowances already granted. A slot records the budget's *epoch* its
//! allowances were granted in; [`Budget::set_quotas`] and [`Budget::set_mode`] start a new
//! epoch. Allocation and free compare the slot's epoch with the budget's (one load of a word
//! that is written only on such changes, folded into the fault-injection check), and a thread
//! whose allowances are from an older epoch returns all of them before it charges or keeps
//! anything, then draws again under the new quotas. So no request made after a quota was
//! lowered is served from an allowance drawn before. Allowances of threads that neither
//! allocate nor free stay claimed (they cannot be spent) until those threads next do, or exit.
//! While a category is over its quota, freed bytes are returned to the shared counter, not
//! kept as allowance, so nothing can be charged until use is below the quota again.

use crate::budget::FAULT_MASK;
use crate::sync::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use crate::{Budget, Category, Limit};

/// Largest quantum a thread draws at once.
pub(crate) const QUANTUM_MAX: u64 = 1 << 20;
/// Smallest quantum (near the quota grants fall back to exactly what is needed).
pub(crate) const QUANTUM_MIN: u64 = 16 << 10;
/// A quantum is this fraction of what is left of the quota, so quanta shrink near it.
const QUANTUM_SHARE: u64 = 32;

/// Number of per-thread slots of the process registry. Threads past this many charge the
/// shared counters directly (exact, only slower).
#[cfg(not(membudget_loom))]
pub(crate) const SLOT_COUNT: usize = 512;

/// One thread's allowances. Only the owning thread writes `held` and `cap`; other threads only
/// read `held` (to compute `used`), so the owner updates it with a plain load and store.
#[repr(align(128))]
pub struct Slot {
    held: [AtomicU64; Category::COUNT],
    cap: [AtomicU64; Category::COUNT],
    /// The budget epoch (`gate` with a zero fault byte) the allowances were granted in.
    epoch: AtomicU64,
    in_use: AtomicBool,
}

impl Slot {
    /// A free slot.
    #[cfg(not(membudget_loom))]
    pub const fn new() -> Slot {
        Slot {
            held: [const { AtomicU64::new(0) }; Category::COUNT],
            cap: [const { AtomicU64::new(0) }; Category::COUNT],
            epoch: AtomicU64::new(0),
            in_use: AtomicBool::new(false),
        }
    }

    /// A free slot.
    #[cfg(membudget_loom)]
    pub fn new() -> Slot {
        Slot {
            held: core::array::from_fn(|_| AtomicU64::new(0)),
            cap: core::array::from_fn(|_| AtomicU64::new(0)),
            epoch: AtomicU64::new(0),
            in_use: AtomicBool::new(false),
        }
    }

    /// The unspent allowance of `category`.
    pub fn held(&self, category: Category) -> u64 {
        self.held[category.index()].load(Ordering::Relaxed)
    }
}

impl Default for Slot {
    fn default() -> Self {
        Slot::new()
    }
}

/// The slots of the threads that charge one budget through allowances.
pub struct Registry {
    slots: &'static [Slot],
    /// Slots at or past this index have never been used.
    high_water: AtomicUsize,
}

impl Registry {
    /// A registry over `slots`.
    #[cfg(not(membudget_loom))]
    pub const fn new(slots: &'static [Slot]) -> Registry {
        Registry {
            slots,
            high_water: AtomicUsize::new(0),
        }
    }

    /// A registry over `slots`.
    #[cfg(membudget_loom)]
    pub fn new(slots: &'static [Slot]) -> Registry {
        Registry {
            slots,
            high_water: AtomicUsize::new(0),
        }
    }

    /// Claims a free slot for the calling thread, or `None` if all are taken.
    pub fn acquire(&self) -> Option<&'static Slot> {
        for (i, slot) in self.slots.iter().enumerate() {
            // Acquire: pairs with the Release in `Budget::retire`, so the zeroed allowances of
            // the previous owner are visible to the new one.
            if !slot.in_use.load(Ordering::Relaxed)
                && slot
                    .in_use
                    .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
                    .is_ok()
            {
                // `i < slots.len()`: no overflow.
                self.high_water
                    .fetch_max(i.wrapping_add(1), Ordering::Relaxed);
                return Some(slot);
            }
        }
        None
    }

    /// Σ over all slots of the unspent allowance of `category`.
    pub(crate) fn held(&self, category: Category) -> u64 {
        let n = self.high_water.load(Ordering::Relaxed);
        self.slots[..n.min(self.slots.len())]
            .iter()
            .fold(0u64, |acc, s| acc.saturating_add(s.held(category)))
    }

    /// Σ over all slots and categories of the unspent allowances.
    pub(crate) fn held_total(&self) -> u64 {
        Category::ALL
            .iter()
            .fold(0u64, |acc, c| acc.saturating_add(self.held(*c)))
    }
}

impl Budget {
    /// Charges `bytes` of `category` to the thread owning `slot`: from its allowance if that
    /// covers it (no shared write), else through [`refill`](Self::refill). Returns whether the
    /// charge was made; a refusal is counted like any other.
    #[inline]
    pub(crate) fn charge_local(&self, slot: &Slot, category: Category, bytes: u64) -> bool {
        let held = &slot.held[category.index()];
        let h = held.load(Ordering::Relaxed);
        // One compare covers both reasons to leave the fast path: the slot's allowances are
        // from an older epoch, or faults are armed (a non-zero low byte never matches a slot's
        // epoch). Relaxed: only compared; `refill` re-reads it with Acquire.
        if h >= bytes && slot.epoch.load(Ordering::Relaxed) == self.gate.load(Ordering::Relaxed) {
            // `h ≥ bytes`: no wrap.
            held.store(h.wrapping_sub(bytes), Ordering::Relaxed);
            return true;
        }
        self.refill(slot, category, bytes)
    }

    /// Returns every allowance of `slot` if it is from an older epoch than `gate`'s, and
    /// moves the slot to the current epoch.
    #[inline]
    fn sync_epoch(&self, slot: &Slot, gate: u64) {
        let epoch = gate & !FAULT_MASK;
        if slot.epoch.load(Ordering::Relaxed) != epoch {
            self.return_all(slot);
            slot.epoch.store(epoch, Ordering::Relaxed);
        }
    }

    /// Returns everything `slot` holds to the shared counters.
    fn return_all(&self, slot: &Slot) {
        for c in Category::ALL {
            let i = c.index();
            let h = slot.held[i].load(Ordering::Relaxed);
            // Lower `held` before returning: a reader in between sees `used` at most `claimed`.
            slot.held[i].store(0, Ordering::Relaxed);
            slot.cap[i].store(0, Ordering::Relaxed);
            self.release_claim(c, h);
        }
    }

    #[cold]
    #[inline(never)]
    fn refill(&self, slot: &Slot, category: Category, bytes: u64) -> bool {
        // Acquire: pairs with the Release in `Budget::new_epoch`, so the quotas read below are
        // at least those of the epoch seen here.
        let gate = self.gate.load(Ordering::Acquire);
        self.sync_epoch(slot, gate);
        if gate & FAULT_MASK != 0 && self.inject_fault(category) {
            self.refuse(category, bytes, self.claimed(category), 0, Limit::Injected);
            return false;
        }
        let held = &slot.held[category.index()];
        let h = held.load(Ordering::Relaxed);
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
            slot.cap[category.index()].store(quantum.saturating_mul(2), Ordering::Relaxed);
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
    #[inline]
    pub(crate) fn credit_local(&self, slot: &Slot, category: Category, bytes: u64) {
        let i = category.index();
        let h = slot.held[i].load(Ordering::Relaxed);
        // Kept only within the cap and in the current epoch (fault bits do not matter here).
        let current =
            slot.epoch.load(Ordering::Relaxed) == self.gate.load(Ordering::Relaxed) & !FAULT_MASK;
        match h.checked_add(bytes) {
            Some(n) if current && n <= slot.cap[i].load(Ordering::Relaxed) => {
                slot.held[i].store(n, Ordering::Relaxed);
            }
            _ => self.give_back(slot, category, bytes),
        }
    }

    #[cold]
    #[inline(never)]
    fn give_back(&self, slot: &Slot, category: Category, bytes: u64) {
        // Acquire: as in `refill`.
        self.sync_epoch(slot, self.gate.load(Ordering::Acquire));
        let i = category.index();
        let h = slot.held[i].load(Ordering::Relaxed);
        let total = h.saturating_add(bytes);
        // Over the quota (it was lowered below use), freed bytes go back: kept, they could be
        // spent by a later request although use is still above the quota.
        let (keep, cap) = if self.over_quota(category) {
            (0, 0)
        } else {
            let quantum = self.quantum(category);
            (total.min(quantum), quantum.saturating_mul(2))
        };
        // Lower `held` to what is kept before returning the rest: a reader in between sees
        // `used` at most `claimed`.
        slot.held[i].store(keep, Ordering::Relaxed);
        slot.cap[i].store(cap, Ordering::Relaxed);
        // `keep ≤ total`: no wrap.
        self.release_claim(category, total.wrapping_sub(keep));
    }

    /// Returns everything `slot` holds to the shared counters and frees the slot (thread exit).
    pub(crate) fn retire(&self, slot: &Slot) {
        self.return_all(slot);
        slot.epoch.store(0, Ordering::Relaxed);
        // Release: the next owner's Acquire in `Registry::acquire` sees the zeroed slot.
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

    #[test]
    fn allowance_is_spent_locally_and_used_is_exact() {
        let b = Budget::with_registry(Quotas::unlimited(), registry(2));
        let s = b.registry().unwrap().acquire().unwrap();
        assert!(b.charge_local(s, Category::Heap, 100));
        assert_eq!(b.used(Category::Heap), 100);
        assert_eq!(s.held(Category::Heap), QUANTUM_MAX - 100);
        assert_eq!(b.claimed(Category::Heap), QUANTUM_MAX);
        b.credit_local(s, Category::Heap, 100);
        assert_eq!(b.used(Category::Heap), 0);
        b.retire(s);
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
        assert!(b.charge_local(s1, Category::Network, 1000));
        // 1 MiB / 32 = 32 KiB quantum.
        assert_eq!(b.claimed(Category::Network), 32 << 10);
        // s2 can take everything that is not held by s1.
        let rest = quota - (32 << 10);
        assert!(b.charge_local(s2, Category::Network, rest));
        assert!(!b.charge_local(s2, Category::Network, 1));
        assert_eq!(b.failures(Category::Network), 1);
        assert!(b.charge_local(s1, Category::Network, (32 << 10) - 1000));
        assert_eq!(b.used(Category::Network), quota);
        b.credit_local(s2, Category::Network, quota);
        assert_eq!(b.used(Category::Network), 0);
        b.retire(s1);
        b.retire(s2);
        assert_eq!(b.claimed(Category::Network), 0);
    }

    #[test]
    fn frees_past_the_cap_return_to_the_budget() {
        let b = Budget::with_registry(Quotas::unlimited(), registry(2));
        let r = b.registry().unwrap();
        let (a, f) = (r.acquire().unwrap(), r.acquire().unwrap());
        for _ in 0..100 {
            assert!(b.charge_local(a, Category::Direct, 64 << 10));
        }
        for _ in 0..100 {
            b.credit_local(f, Category::Direct, 64 << 10);
        }
        assert_eq!(b.used(Category::Direct), 0);
        assert!(f.held(Category::Direct) <= 2 * QUANTUM_MAX);
        b.retire(a);
        b.retire(f);
        assert_eq!(b.claimed(Category::Direct), 0);
        assert!(r.acquire().is_some());
    }
}
