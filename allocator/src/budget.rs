//! `Budget`: per-category quotas with exact, lock-free usage accounting.

use crate::sync::{AtomicU64, AtomicU8, Ordering};
use crate::{Category, Limit, QuotaExceeded, Quotas, Reservation};

/// Whether a category's quota refuses requests or only observes them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum QuotaMode {
    /// Requests past the quota fail (the default).
    #[default]
    Enforce,
    /// Requests are counted and reported but never refused.
    Track,
}

/// One category's counters as seen at one instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CategoryUsage {
    /// The category.
    pub category: Category,
    /// Bytes charged now.
    pub used: u64,
    /// Highest `used` seen since the budget was made.
    pub peak: u64,
    /// The quota (`u64::MAX` = none).
    pub quota: u64,
    /// Requests refused so far (over quota or injected).
    pub failures: u64,
    /// Enforcing or only tracking.
    pub mode: QuotaMode,
}

struct Counter {
    used: AtomicU64,
    peak: AtomicU64,
    quota: AtomicU64,
    failures: AtomicU64,
    mode: AtomicU8,
}

impl Counter {
    #[cfg(not(membudget_loom))]
    const fn unlimited() -> Counter {
        Counter {
            used: AtomicU64::new(0),
            peak: AtomicU64::new(0),
            quota: AtomicU64::new(u64::MAX),
            failures: AtomicU64::new(0),
            mode: AtomicU8::new(0),
        }
    }

    #[cfg(membudget_loom)]
    fn unlimited() -> Counter {
        Counter {
            used: AtomicU64::new(0),
            peak: AtomicU64::new(0),
            quota: AtomicU64::new(u64::MAX),
            failures: AtomicU64::new(0),
            mode: AtomicU8::new(0),
        }
    }

    /// Adds `bytes` to `used` unless that passes `quota` (when `enforce`) or overflows.
    /// Returns the new `used`, or the `used` that made it fail.
    #[inline]
    fn try_add(&self, bytes: u64, quota: u64, enforce: bool) -> Result<u64, u64> {
        // Relaxed: the counter itself is the only shared state; no other memory is published
        // through it, and every RMW sees the latest value in the modification order.
        let mut cur = self.used.load(Ordering::Relaxed);
        loop {
            let new = match cur.checked_add(bytes) {
                Some(n) if !enforce || n <= quota => n,
                _ => return Err(cur),
            };
            match self
                .used
                .compare_exchange_weak(cur, new, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return Ok(new),
                Err(actual) => cur = actual,
            }
        }
    }

    #[inline]
    fn note_peak(&self, used: u64) {
        self.peak.fetch_max(used, Ordering::Relaxed);
    }
}

/// Quotas per [`Category`] plus a process total, with exact usage.
///
/// Every charge is a checked compare-and-swap, so `used` can never exceed the quota of an
/// enforcing category and never wraps. Lowering a quota below current use is allowed: new
/// requests fail until use drops below it.
///
/// [`Budget::global`] is the process budget that the global allocator, `segments` and
/// `bufferpool` charge by default; [`Budget::new`] makes an isolated one.
pub struct Budget {
    categories: [Counter; Category::COUNT],
    total: Counter,
}

#[cfg(not(membudget_loom))]
static GLOBAL: Budget = Budget::unlimited();

impl Budget {
    /// A budget with no limits (tracks only), usable in `static`s.
    #[cfg(not(membudget_loom))]
    pub const fn unlimited() -> Budget {
        Budget {
            categories: [
                Counter::unlimited(),
                Counter::unlimited(),
                Counter::unlimited(),
                Counter::unlimited(),
                Counter::unlimited(),
            ],
            total: Counter::unlimited(),
        }
    }

    /// A budget with no limits (tracks only).
    #[cfg(membudget_loom)]
    pub fn unlimited() -> Budget {
        Budget {
            categories: [
                Counter::unlimited(),
                Counter::unlimited(),
                Counter::unlimited(),
                Counter::unlimited(),
                Counter::unlimited(),
            ],
            total: Counter::unlimited(),
        }
    }

    /// An isolated budget with the given quotas.
    pub fn new(quotas: Quotas) -> Budget {
        let b = Budget::unlimited();
        b.set_quotas(quotas);
        b
    }

    /// The process budget. It tracks without limits until [`set_quotas`](Self::set_quotas) is
    /// called on it (typically with a `MemoryPlan`'s quotas).
    #[cfg(not(membudget_loom))]
    #[inline]
    pub fn global() -> &'static Budget {
        &GLOBAL
    }

    /// Installs new quotas. Lowering one below current use is allowed.
    pub fn set_quotas(&self, quotas: Quotas) {
        for c in Category::ALL {
            self.categories[c.index()]
                .quota
                .store(quotas.get(c), Ordering::Relaxed);
        }
        self.total.quota.store(quotas.total(), Ordering::Relaxed);
    }

    /// The quotas in force.
    pub fn quotas(&self) -> Quotas {
        let mut q = Quotas::unlimited();
        for c in Category::ALL {
            q = q.with(c, self.quota(c));
        }
        q.with_total(self.total.quota.load(Ordering::Relaxed))
    }

    /// Sets whether `category` enforces its quota or only tracks.
    pub fn set_mode(&self, category: Category, mode: QuotaMode) {
        let v = match mode {
            QuotaMode::Enforce => 0,
            QuotaMode::Track => 1,
        };
        self.categories[category.index()]
            .mode
            .store(v, Ordering::Relaxed);
    }

    /// The mode of `category`.
    pub fn mode(&self, category: Category) -> QuotaMode {
        match self.categories[category.index()]
            .mode
            .load(Ordering::Relaxed)
        {
            0 => QuotaMode::Enforce,
            _ => QuotaMode::Track,
        }
    }

    /// Reserves `bytes` of `category`, released when the returned [`Reservation`] drops.
    ///
    /// # Errors
    /// [`QuotaExceeded`] if the category's quota or the process total would be exceeded.
    #[inline]
    pub fn try_reserve(
        &self,
        category: Category,
        bytes: u64,
    ) -> Result<Reservation<'_>, QuotaExceeded> {
        self.try_charge(category, bytes)?;
        Ok(Reservation::new(self, category, bytes))
    }

    /// Charges `bytes` to `category` with no RAII handle; the caller must [`release`] exactly
    /// what it charged. Pools that track their own pages use this.
    ///
    /// # Errors
    /// [`QuotaExceeded`] if the category's quota or the process total would be exceeded; then
    /// nothing is charged.
    ///
    /// [`release`]: Self::release
    #[inline]
    pub fn try_charge(&self, category: Category, bytes: u64) -> Result<(), QuotaExceeded> {
        let counter = &self.categories[category.index()];
        let enforce = counter.mode.load(Ordering::Relaxed) == 0;
        let quota = counter.quota.load(Ordering::Relaxed);
        let used = match counter.try_add(bytes, quota, enforce) {
            Ok(u) => u,
            Err(used) => {
                return Err(self.refuse(category, bytes, used, quota, Limit::Category));
            }
        };
        let total_quota = self.total.quota.load(Ordering::Relaxed);
        match self.total.try_add(bytes, total_quota, enforce) {
            Ok(total_used) => {
                counter.note_peak(used);
                self.total.note_peak(total_used);
                Ok(())
            }
            Err(total_used) => {
                // Undo the category charge: the request failed as a whole.
                counter.used.fetch_sub(bytes, Ordering::Relaxed);
                Err(self.refuse(category, bytes, total_used, total_quota, Limit::Process))
            }
        }
    }

    #[cold]
    #[inline(never)]
    fn refuse(
        &self,
        category: Category,
        bytes: u64,
        used: u64,
        quota: u64,
        limit: Limit,
    ) -> QuotaExceeded {
        self.categories[category.index()]
            .failures
            .fetch_add(1, Ordering::Relaxed);
        QuotaExceeded::new(category, bytes, used, quota, limit)
    }

    /// Credits `bytes` back to `category`. Releasing more than is charged clamps at zero (and is
    /// a caller bug: debug builds assert).
    #[inline]
    pub fn release(&self, category: Category, bytes: u64) {
        let released = Self::sub_clamped(&self.categories[category.index()].used, bytes);
        debug_assert_eq!(
            released, bytes,
            "released more {category} memory than charged"
        );
        Self::sub_clamped(&self.total.used, released);
    }

    fn sub_clamped(counter: &AtomicU64, bytes: u64) -> u64 {
        let mut cur = counter.load(Ordering::Relaxed);
        loop {
            let take = cur.min(bytes);
            match counter.compare_exchange_weak(
                cur,
                cur - take,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return take,
                Err(actual) => cur = actual,
            }
        }
    }

    /// Bytes charged to `category` now.
    #[inline]
    pub fn used(&self, category: Category) -> u64 {
        self.categories[category.index()]
            .used
            .load(Ordering::Relaxed)
    }

    /// Bytes charged to all categories now.
    pub fn total_used(&self) -> u64 {
        self.total.used.load(Ordering::Relaxed)
    }

    /// Highest `used` of `category` so far.
    pub fn peak(&self, category: Category) -> u64 {
        self.categories[category.index()]
            .peak
            .load(Ordering::Relaxed)
    }

    /// The quota of `category`.
    pub fn quota(&self, category: Category) -> u64 {
        self.categories[category.index()]
            .quota
            .load(Ordering::Relaxed)
    }

    /// Bytes `category` may still be charged before its quota (or the total) refuses.
    pub fn available(&self, category: Category) -> u64 {
        let cat = self.quota(category).saturating_sub(self.used(category));
        let total = self
            .total
            .quota
            .load(Ordering::Relaxed)
            .saturating_sub(self.total_used());
        cat.min(total)
    }

    /// Requests of `category` refused so far.
    pub fn failures(&self, category: Category) -> u64 {
        self.categories[category.index()]
            .failures
            .load(Ordering::Relaxed)
    }

    /// The counters of one category.
    pub fn usage(&self, category: Category) -> CategoryUsage {
        CategoryUsage {
            category,
            used: self.used(category),
            peak: self.peak(category),
            quota: self.quota(category),
            failures: self.failures(category),
            mode: self.mode(category),
        }
    }
}

impl Default for Budget {
    fn default() -> Self {
        Budget::unlimited()
    }
}

impl core::fmt::Debug for Budget {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let mut d = f.debug_struct("Budget");
        for c in Category::ALL {
            d.field(c.name(), &self.usage(c));
        }
        d.field("total_used", &self.total_used()).finish()
    }
}

#[cfg(all(test, not(membudget_loom)))]
mod tests {
    use super::*;

    #[test]
    fn charge_up_to_quota_then_refuse() {
        let b = Budget::new(Quotas::unlimited().with(Category::Network, 100));
        b.try_charge(Category::Network, 60).unwrap();
        let e = b.try_charge(Category::Network, 41).unwrap_err();
        assert_eq!(
            (e.requested, e.used, e.quota, e.limit),
            (41, 60, 100, Limit::Category)
        );
        b.try_charge(Category::Network, 40).unwrap();
        assert_eq!(b.used(Category::Network), 100);
        assert_eq!(b.failures(Category::Network), 1);
        b.release(Category::Network, 100);
        assert_eq!(b.used(Category::Network), 0);
        assert_eq!(b.peak(Category::Network), 100);
    }

    #[test]
    fn total_limit_and_rollback() {
        let b = Budget::new(Quotas::unlimited().with_total(100));
        b.try_charge(Category::Heap, 70).unwrap();
        let e = b.try_charge(Category::Direct, 31).unwrap_err();
        assert_eq!(e.limit, Limit::Process);
        assert_eq!(b.used(Category::Direct), 0, "category charge rolled back");
        assert_eq!(b.total_used(), 70);
    }

    #[test]
    fn no_wrap_around() {
        let b = Budget::unlimited();
        b.try_charge(Category::Heap, u64::MAX - 1).unwrap();
        assert!(b.try_charge(Category::Heap, 2).is_err());
        assert_eq!(b.used(Category::Heap), u64::MAX - 1);
    }

    #[test]
    fn track_mode_never_refuses() {
        let b = Budget::new(Quotas::unlimited().with(Category::Heap, 10).with_total(10));
        b.set_mode(Category::Heap, QuotaMode::Track);
        b.try_charge(Category::Heap, 1000).unwrap();
        assert_eq!(b.used(Category::Heap), 1000);
    }

    #[test]
    fn lowering_quota_below_use() {
        let b = Budget::unlimited();
        b.try_charge(Category::Managed, 500).unwrap();
        b.set_quotas(Quotas::unlimited().with(Category::Managed, 100));
        assert!(b.try_charge(Category::Managed, 1).is_err());
        b.release(Category::Managed, 450);
        b.try_charge(Category::Managed, 50).unwrap();
    }
}
