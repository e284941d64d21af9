//! `Budget`: per-category quotas with exact, lock-free usage accounting.

use crate::allowance::Registry;
use crate::sync::{AtomicU64, AtomicU8, Ordering};
use crate::{Category, Limit, QuotaExceeded, Quotas, Reservation, Role};

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
    /// Highest `used` seen since the budget was made (for the process budget: including the
    /// allowances threads held at that moment, see the crate docs).
    pub peak: u64,
    /// The quota (`u64::MAX` = none).
    pub quota: u64,
    /// Requests refused so far (over quota or injected).
    pub failures: u64,
    /// Of `failures`, how many were injected on purpose ([`Budget::set_fault_probability`]).
    pub injected: u64,
    /// Enforcing or only tracking.
    pub mode: QuotaMode,
    /// Bytes of the quota that threads have drawn as allowances but not spent yet (process
    /// budget only; see the crate docs). `used + allowances` is what the quota check sees.
    pub allowances: u64,
}

pub(crate) struct Counter {
    /// Bytes claimed from the quota: explicit charges plus allowances granted to threads.
    pub(crate) claimed: AtomicU64,
    peak: AtomicU64,
    quota: AtomicU64,
    failures: AtomicU64,
    pub(crate) injected: AtomicU64,
    /// Releases refused for being larger than the claim (caller bugs).
    release_errors: AtomicU64,
    mode: AtomicU8,
    /// Fault probability scaled to `u64` (0 = off).
    pub(crate) fault_threshold: AtomicU64,
    /// Requests seen while faults were armed: the index fed to the fault hash.
    pub(crate) fault_seq: AtomicU64,
}

macro_rules! counter_unlimited {
    () => {
        Counter {
            claimed: AtomicU64::new(0),
            peak: AtomicU64::new(0),
            quota: AtomicU64::new(u64::MAX),
            failures: AtomicU64::new(0),
            injected: AtomicU64::new(0),
            release_errors: AtomicU64::new(0),
            mode: AtomicU8::new(0),
            fault_threshold: AtomicU64::new(0),
            fault_seq: AtomicU64::new(0),
        }
    };
}

impl Counter {
    /// Adds `bytes` to `claimed` unless that passes `quota` (when `enforce`) or overflows.
    /// Returns the new value, or the value that made it fail.
    #[inline]
    fn try_add(&self, bytes: u64, quota: u64, enforce: bool) -> Result<u64, u64> {
        // Relaxed: the counter itself is the only shared state; no other memory is published
        // through it, and every RMW sees the latest value in the modification order.
        let mut cur = self.claimed.load(Ordering::Relaxed);
        loop {
            let new = match cur.checked_add(bytes) {
                Some(n) if !enforce || n <= quota => n,
                _ => return Err(cur),
            };
            match self
                .claimed
                .compare_exchange_weak(cur, new, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return Ok(new),
                Err(actual) => cur = actual,
            }
        }
    }

    #[inline]
    fn note_peak(&self, used: u64) {
        if self.peak.load(Ordering::Relaxed) < used {
            self.peak.fetch_max(used, Ordering::Relaxed);
        }
    }

    /// Subtracts `bytes` from `claimed` if it holds at least that much; else changes nothing.
    fn sub_if_at_least(&self, bytes: u64) -> bool {
        let mut cur = self.claimed.load(Ordering::Relaxed);
        loop {
            let Some(new) = cur.checked_sub(bytes) else {
                return false;
            };
            match self
                .claimed
                .compare_exchange_weak(cur, new, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return true,
                Err(actual) => cur = actual,
            }
        }
    }

    fn sub_clamped(&self, bytes: u64) -> u64 {
        let mut cur = self.claimed.load(Ordering::Relaxed);
        loop {
            let take = cur.min(bytes);
            match self.claimed.compare_exchange_weak(
                cur,
                cur.wrapping_sub(take), // `take ≤ cur`
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return take,
                Err(actual) => cur = actual,
            }
        }
    }
}

/// Quotas per [`Category`] plus a process total, with exact usage.
///
/// Every charge is a checked compare-and-swap, so usage can never exceed the quota of an
/// enforcing category and never wraps. Lowering a quota below current use is allowed: new
/// requests fail until use drops below it.
///
/// [`Budget::global`] is the process budget that the global allocator
/// ([`QuotaAllocator`](crate::QuotaAllocator)), `segments` and `bufferpool` charge by default;
/// [`Budget::new`] makes an isolated one. The process budget also lends threads allowances (see
/// the crate docs): its [`used`](Self::used) subtracts them, so it stays exact.
pub struct Budget {
    pub(crate) categories: [Counter; Category::COUNT],
    pub(crate) total: Counter,
    /// Threads holding allowances of this budget (the process budget's registry).
    threads: Option<&'static Registry>,
    /// `epoch << 8 | fault mask`. Bit `i` of the low byte set: category `i` has a fault
    /// probability above zero. The epoch counts quota and mode changes: allowances granted in an
    /// older epoch are void (see [`crate::allowance`]), so a change applies to them at once.
    /// Changing it clears every thread's `ready` flag, so threads read it only on their slow
    /// paths, never per allocation.
    pub(crate) gate: AtomicU64,
    pub(crate) fault_seed: AtomicU64,
    /// The role of the installed quotas ([`role_code`]); read only when a request is refused.
    role: AtomicU8,
    /// Top-level child budgets (for reports and reclaim); never touched by the allocator.
    #[cfg(not(membudget_loom))]
    pub(crate) children: std::sync::Mutex<Vec<std::sync::Weak<crate::child::Node>>>,
}

/// `Role` as the byte a [`Budget`] stores.
/// One step of the epoch in [`Budget::gate`] (the low byte is the fault mask).
pub(crate) const EPOCH_ONE: u64 = 1 << 8;
/// The fault-mask byte of [`Budget::gate`].
pub(crate) const FAULT_MASK: u64 = 0xFF;

const fn role_code(role: Role) -> u8 {
    match role {
        Role::TaskManager => 0,
        Role::JobManager => 1,
    }
}

const fn role_from_code(code: u8) -> Role {
    match code {
        1 => Role::JobManager,
        _ => Role::TaskManager,
    }
}

#[cfg(not(membudget_loom))]
static SLOTS: [crate::allowance::Slot; crate::allowance::FIRST_SEGMENT_SLOTS] =
    [const { crate::allowance::Slot::new() }; crate::allowance::FIRST_SEGMENT_SLOTS];
#[cfg(not(membudget_loom))]
static REGISTRY: Registry = Registry::new(&SLOTS);
#[cfg(not(membudget_loom))]
static GLOBAL: Budget = Budget::unlimited_in(Some(&REGISTRY));

impl Budget {
    #[cfg(not(membudget_loom))]
    const fn unlimited_in(threads: Option<&'static Registry>) -> Budget {
        Budget {
            categories: [
                counter_unlimited!(),
                counter_unlimited!(),
                counter_unlimited!(),
                counter_unlimited!(),
                counter_unlimited!(),
            ],
            total: counter_unlimited!(),
            threads,
            gate: AtomicU64::new(0),
            fault_seed: AtomicU64::new(crate::fault::DEFAULT_SEED),
            role: AtomicU8::new(role_code(Role::TaskManager)),
            children: std::sync::Mutex::new(Vec::new()),
        }
    }

    #[cfg(membudget_loom)]
    fn unlimited_in(threads: Option<&'static Registry>) -> Budget {
        Budget {
            categories: core::array::from_fn(|_| counter_unlimited!()),
            total: counter_unlimited!(),
            threads,
            gate: AtomicU64::new(0),
            fault_seed: AtomicU64::new(crate::fault::DEFAULT_SEED),
            role: AtomicU8::new(role_code(Role::TaskManager)),
        }
    }

    /// A budget with no limits (tracks only), usable in `static`s.
    #[cfg(not(membudget_loom))]
    pub const fn unlimited() -> Budget {
        Budget::unlimited_in(None)
    }

    /// A budget with no limits (tracks only).
    #[cfg(membudget_loom)]
    pub fn unlimited() -> Budget {
        Budget::unlimited_in(None)
    }

    /// An isolated budget with the given quotas.
    pub fn new(quotas: Quotas) -> Budget {
        let b = Budget::unlimited();
        b.set_quotas(quotas);
        b
    }

    /// A budget whose threads hold allowances in `registry` (how the process budget works);
    /// for tests of the allowance scheme.
    #[cfg(any(test, membudget_loom))]
    pub(crate) fn with_registry(quotas: Quotas, registry: &'static Registry) -> Budget {
        let b = Budget::unlimited_in(Some(registry));
        b.set_quotas(quotas);
        b
    }

    /// The registry of per-thread allowances, if this budget lends any.
    #[inline]
    pub(crate) fn registry(&self) -> Option<&'static Registry> {
        self.threads
    }

    /// The process budget. It tracks without limits until [`set_quotas`](Self::set_quotas) is
    /// called on it (typically with a `MemoryPlan`'s quotas).
    #[cfg(not(membudget_loom))]
    #[inline]
    pub fn global() -> &'static Budget {
        &GLOBAL
    }

    /// Installs new quotas, and their role: from now on a refusal names that role's
    /// configuration keys. Lowering a quota below current use is allowed: every request made
    /// after this returns — including one a thread would serve from an allowance it drew
    /// earlier — is checked against the new quotas, so new requests fail until use drops below
    /// them.
    pub fn set_quotas(&self, quotas: Quotas) {
        for c in Category::ALL {
            self.categories[c.index()]
                .quota
                .store(quotas.get(c), Ordering::Relaxed);
        }
        self.total.quota.store(quotas.total(), Ordering::Relaxed);
        self.role.store(role_code(quotas.role()), Ordering::Relaxed);
        self.new_epoch();
    }

    /// Voids every allowance granted so far: each thread returns its allowances before its
    /// next charge and draws again under the quotas and modes in force now.
    fn new_epoch(&self) {
        // Release: the quotas and modes stored before are visible to a thread that reads the new
        // epoch (its Acquire in `Budget::sync`). Then the voider's half of the protocol in
        // `crate::allowance`.
        self.gate.fetch_add(EPOCH_ONE, Ordering::Release);
        self.void_allowances();
    }

    /// Sends every thread holding allowances to its slow path before its next charge (after a
    /// change of [`gate`](Self::gate)).
    pub(crate) fn void_allowances(&self) {
        if let Some(r) = self.threads {
            r.void();
        }
    }

    /// The quotas in force, with their role.
    pub fn quotas(&self) -> Quotas {
        let mut q = Quotas::unlimited();
        for c in Category::ALL {
            q = q.with(c, self.quota(c));
        }
        q.with_total(self.total_quota()).with_role(self.role())
    }

    /// The role of the installed quotas: whose configuration keys a refusal names.
    pub fn role(&self) -> Role {
        role_from_code(self.role.load(Ordering::Relaxed))
    }

    /// Sets whether `category` enforces its quota or only tracks. Switching to
    /// [`QuotaMode::Enforce`] applies at once, like [`set_quotas`](Self::set_quotas): allowances
    /// drawn while tracking are void.
    pub fn set_mode(&self, category: Category, mode: QuotaMode) {
        let v = match mode {
            QuotaMode::Enforce => 0,
            QuotaMode::Track => 1,
        };
        self.categories[category.index()]
            .mode
            .store(v, Ordering::Relaxed);
        self.new_epoch();
    }

    /// Whether `category` is over its quota or the process total over its limit now (claimed
    /// bytes, allowances included), while enforcing: then freed bytes must not become
    /// allowances that a later request could spend.
    pub(crate) fn over_quota(&self, category: Category) -> bool {
        let counter = &self.categories[category.index()];
        counter.mode.load(Ordering::Relaxed) == 0
            && (counter.claimed.load(Ordering::Relaxed) > counter.quota.load(Ordering::Relaxed)
                || self.total_claimed() > self.total_quota())
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
    /// [`QuotaExceeded`] if the category's quota or the process total would be exceeded, or a
    /// fault was injected.
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
    /// what it charged. Pools that track their own pages use this. The charge is visible in
    /// [`used`](Self::used) at once.
    ///
    /// # Errors
    /// [`QuotaExceeded`] if the category's quota or the process total would be exceeded, or a
    /// fault was injected ([`set_fault_probability`](Self::set_fault_probability)); then
    /// nothing is charged.
    ///
    /// [`release`]: Self::release
    #[inline]
    pub fn try_charge(&self, category: Category, bytes: u64) -> Result<(), QuotaExceeded> {
        if self.faults_armed() && self.inject_fault(category) {
            let used = self.claimed(category);
            let quota = self.quota(category);
            return Err(self.refuse(category, bytes, used, quota, Limit::Injected));
        }
        self.claim(category, bytes)
            .map_err(|(used, quota, limit)| self.refuse(category, bytes, used, quota, limit))
    }

    /// Adds `bytes` to the claimed counters of `category` and the total, or fails with the
    /// `(used, quota, limit)` that refused it (nothing counted).
    #[inline]
    pub(crate) fn claim(&self, category: Category, bytes: u64) -> Result<(), (u64, u64, Limit)> {
        let counter = &self.categories[category.index()];
        let enforce = counter.mode.load(Ordering::Relaxed) == 0;
        let quota = counter.quota.load(Ordering::Relaxed);
        let used = counter
            .try_add(bytes, quota, enforce)
            .map_err(|used| (used, quota, Limit::Category))?;
        let total_quota = self.total.quota.load(Ordering::Relaxed);
        match self.total.try_add(bytes, total_quota, enforce) {
            Ok(total_used) => {
                counter.note_peak(used);
                self.total.note_peak(total_used);
                Ok(())
            }
            Err(total_used) => {
                // Undo the category charge: the request failed as a whole (`claimed` holds at
                // least the `bytes` just added).
                counter.sub_clamped(bytes);
                Err((total_used, total_quota, Limit::Process))
            }
        }
    }

    #[cold]
    #[inline(never)]
    pub(crate) fn refuse(
        &self,
        category: Category,
        bytes: u64,
        used: u64,
        quota: u64,
        limit: Limit,
    ) -> QuotaExceeded {
        let counter = &self.categories[category.index()];
        counter.failures.fetch_add(1, Ordering::Relaxed);
        if limit == Limit::Injected {
            counter.injected.fetch_add(1, Ordering::Relaxed);
        }
        // `used` is what the limit's counter holds: use plus the allowances threads drew and
        // have not spent. Say which is which, so "used" in the text is use.
        let allowances = match (self.threads, limit) {
            (None, _) => 0,
            (Some(r), Limit::Process) => r.held_total(),
            (Some(r), _) => r.held(category),
        }
        .min(used);
        // `allowances ≤ used`: no wrap.
        let used = used.wrapping_sub(allowances);
        let refusal = QuotaExceeded::new(category, bytes, used, quota, limit)
            .with_role(self.role())
            .with_allowances(allowances);
        crate::refusal::record(&refusal);
        refusal
    }

    /// Credits `bytes` back to `category`.
    ///
    /// Releasing more than `category` has claimed (for the process budget: charged plus the
    /// allowances threads hold, which are not scanned on this path) is a caller bug: then
    /// nothing is released (the budget is unchanged) and the attempt is counted in
    /// [`release_errors`](Self::release_errors), so a test can assert that none happened.
    #[inline]
    pub fn release(&self, category: Category, bytes: u64) {
        if bytes == 0 {
            return;
        }
        let counter = &self.categories[category.index()];
        if counter.sub_if_at_least(bytes) {
            // The total holds at least every category's claim.
            self.total.sub_clamped(bytes);
        } else {
            counter.release_errors.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Counts a refused release of `category` made through another handle (a consumer).
    #[cfg(not(membudget_loom))]
    pub(crate) fn note_release_error(&self, category: Category) {
        self.categories[category.index()]
            .release_errors
            .fetch_add(1, Ordering::Relaxed);
    }

    /// Releases of `category` refused because they were larger than what was charged (caller
    /// bugs; see [`release`](Self::release)).
    pub fn release_errors(&self, category: Category) -> u64 {
        self.categories[category.index()]
            .release_errors
            .load(Ordering::Relaxed)
    }

    /// [`release`](Self::release) without the debug assertion, for the allocator's paths (which
    /// must never panic).
    #[inline]
    pub(crate) fn release_claim(&self, category: Category, bytes: u64) {
        if bytes > 0 {
            let released = self.categories[category.index()].sub_clamped(bytes);
            self.total.sub_clamped(released);
        }
    }

    /// Bytes claimed from `category`'s quota: used plus unspent thread allowances.
    #[inline]
    pub(crate) fn claimed(&self, category: Category) -> u64 {
        self.categories[category.index()]
            .claimed
            .load(Ordering::Relaxed)
    }

    pub(crate) fn total_claimed(&self) -> u64 {
        self.total.claimed.load(Ordering::Relaxed)
    }

    pub(crate) fn total_quota(&self) -> u64 {
        self.total.quota.load(Ordering::Relaxed)
    }

    /// Bytes charged to `category` now.
    ///
    /// Explicit charges show up at once. For the process budget this also counts every live
    /// block the global allocator charged to `category` — exactly, whichever threads and scopes
    /// allocated and freed them — computed as the claimed bytes minus the allowances threads hold
    /// unspent (see the crate docs). A read racing with allocations on other threads is some
    /// value no larger than the claimed bytes, hence never above an enforced quota.
    #[inline]
    pub fn used(&self, category: Category) -> u64 {
        match self.threads {
            None => self.claimed(category),
            Some(r) => {
                let held = r.held(category);
                self.claimed(category).saturating_sub(held)
            }
        }
    }

    /// Bytes of `category`'s quota that threads hold as unspent allowances (0 for a budget
    /// without the global allocator's per-thread allowances).
    pub fn allowances(&self, category: Category) -> u64 {
        self.threads.map_or(0, |r| r.held(category))
    }

    /// Bytes charged to all categories now (exact in the same sense as [`used`](Self::used)).
    pub fn total_used(&self) -> u64 {
        match self.threads {
            None => self.total_claimed(),
            Some(r) => {
                let held = r.held_total();
                self.total_claimed().saturating_sub(held)
            }
        }
    }

    /// Highest `used` of `category` so far. For the process budget this is the high-water mark
    /// of used bytes plus the allowances threads held at that moment (an upper bound).
    pub fn peak(&self, category: Category) -> u64 {
        self.categories[category.index()]
            .peak
            .load(Ordering::Relaxed)
    }

    /// Highest total so far (same caveat as [`peak`](Self::peak)).
    pub fn total_peak(&self) -> u64 {
        self.total.peak.load(Ordering::Relaxed)
    }

    /// The quota of `category`.
    pub fn quota(&self, category: Category) -> u64 {
        self.categories[category.index()]
            .quota
            .load(Ordering::Relaxed)
    }

    /// Bytes `category` may still be charged before its quota (or the total) refuses. Other
    /// threads' unspent allowances are not available to an explicit charge.
    pub fn available(&self, category: Category) -> u64 {
        let cat = self.quota(category).saturating_sub(self.claimed(category));
        let total = self.total_quota().saturating_sub(self.total_claimed());
        cat.min(total)
    }

    /// Requests of `category` refused so far (over quota or injected).
    pub fn failures(&self, category: Category) -> u64 {
        self.categories[category.index()]
            .failures
            .load(Ordering::Relaxed)
    }

    /// Requests of `category` refused by fault injection so far.
    pub fn injected_failures(&self, category: Category) -> u64 {
        self.categories[category.index()]
            .injected
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
            injected: self.injected_failures(category),
            mode: self.mode(category),
            allowances: self.allowances(category),
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
    fn releasing_more_than_charged_changes_nothing_and_is_counted() {
        let b = Budget::unlimited();
        b.try_charge(Category::Direct, 100).unwrap();
        b.release(Category::Direct, 101);
        b.release(Category::Direct, u64::MAX);
        b.release(Category::Heap, 1);
        assert_eq!(b.used(Category::Direct), 100);
        assert_eq!(b.total_used(), 100);
        assert_eq!(b.release_errors(Category::Direct), 2);
        assert_eq!(b.release_errors(Category::Heap), 1);
        b.release(Category::Direct, 100);
        assert_eq!((b.used(Category::Direct), b.total_used()), (0, 0));
        assert_eq!(b.release_errors(Category::Direct), 2);
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

    #[test]
    fn refusals_name_the_keys_of_the_installed_role() {
        let b = Budget::new(Quotas::unlimited().with(Category::Heap, 10));
        assert_eq!(b.role(), Role::TaskManager);
        let e = b.try_charge(Category::Heap, 11).unwrap_err();
        assert_eq!(e.role, Role::TaskManager);
        b.set_quotas(
            Quotas::unlimited()
                .with(Category::Heap, 10)
                .with_total(20)
                .with_role(Role::JobManager),
        );
        assert_eq!(b.quotas().role(), Role::JobManager);
        let e = b.try_charge(Category::Heap, 11).unwrap_err();
        assert_eq!(e.role, Role::JobManager);
        assert!(
            e.to_string().ends_with(
                "Increase 'jobmanager.memory.heap.size' (or 'jobmanager.memory.process.size')."
            ),
            "{e}"
        );
        let e = b.try_charge(Category::Direct, 21).unwrap_err();
        assert_eq!(e.limit, Limit::Process);
        assert!(
            e.to_string()
                .ends_with("Increase 'jobmanager.memory.process.size'."),
            "{e}"
        );
    }
}
