//! `MemoryConsumer`: a named holder of memory in a child budget, and its reservations.

use crate::child::{lock, Node};
use crate::reclaim::Reclaimer;
use crate::report::{CategoryBytes, ConsumerReport};
use crate::{Category, QuotaExceeded, Reservation, SharedBudget};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// The shared part of a consumer (its reservations and its budget's list point to it).
pub(crate) struct ConsumerCore {
    name: String,
    pub(crate) node: Arc<Node>,
    /// The budget at the top of the tree (kept here so a reservation finds it in one step).
    root: SharedBudget,
    /// The tree's top is the process budget ([`Budget::global`](crate::Budget::global)), which
    /// the global allocator charges: its blocks charged here are then counted there already.
    pub(crate) root_is_process: bool,
    used: [AtomicU64; Category::COUNT],
    /// Bytes of global-allocator blocks and thread caches charged here (`attribution.rs`),
    /// all categories. While it is above zero the consumer holds one strong reference to
    /// itself, so blocks (which keep no reference of their own) can always reach it.
    attributed: AtomicU64,
    reclaimer: Mutex<Option<Arc<dyn Reclaimer>>>,
    /// Whether it may be asked to reclaim for its own requests.
    pub(crate) reclaim_self: AtomicBool,
}

impl ConsumerCore {
    pub(crate) fn used(&self, category: Category) -> u64 {
        self.used[category.index()].load(Ordering::Relaxed)
    }

    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// The consumer's path: its budget's path and its name (quoted as `budget_path` says).
    pub(crate) fn path(&self) -> String {
        crate::budget_path::join(self.node.path(), &self.name)
    }

    pub(crate) fn reclaimer(&self) -> Option<Arc<dyn Reclaimer>> {
        lock(&self.reclaimer).clone()
    }

    pub(crate) fn report(&self) -> ConsumerReport {
        let used = Category::ALL
            .into_iter()
            .filter_map(|c| {
                let b = self.used(c);
                (b > 0).then(|| CategoryBytes::new(c, b))
            })
            .collect();
        ConsumerReport::new(self.name.clone(), self.reclaimer().is_some(), used)
    }

    /// Charges `bytes` of `category` to this consumer's budget (reclaiming if it does not fit).
    #[inline]
    fn try_charge(self: &Arc<Self>, category: Category, bytes: u64) -> Result<(), QuotaExceeded> {
        self.try_charge_while(category, bytes, &|| true)
    }

    /// [`try_charge`](Self::try_charge) whose reclaim wait ends early once `keep_waiting`
    /// answers `false`.
    #[inline]
    fn try_charge_while(
        self: &Arc<Self>,
        category: Category,
        bytes: u64,
        keep_waiting: &dyn Fn() -> bool,
    ) -> Result<(), QuotaExceeded> {
        match self.node.charge(category, bytes) {
            Ok(()) => {}
            Err(refused) => {
                crate::reclaim::resolve(self, category, bytes, refused, keep_waiting)?;
            }
        }
        self.used[category.index()].fetch_add(bytes, Ordering::Relaxed);
        Ok(())
    }

    /// Credits `bytes` a reservation holds (so the consumer holds at least that many).
    #[inline]
    fn release_held(&self, category: Category, bytes: u64) {
        // The reservation's bytes are part of `used`: no wrap.
        self.used[category.index()].fetch_sub(bytes, Ordering::Relaxed);
        self.node.release(category, bytes);
    }

    /// Charges `bytes` for blocks of the global allocator (`attribution.rs`): no reclaim, no
    /// waiting and no allocation, since it runs inside the allocator. A refusal is kept as the
    /// thread's last one (see [`last_refusal`](crate::last_refusal)). The first attributed
    /// byte pins the consumer (see `attributed`).
    ///
    /// # Safety
    /// `this` is alive for the call (the caller holds a strong reference, or attributed bytes
    /// pin it).
    pub(crate) unsafe fn charge_attributed(
        this: *const ConsumerCore,
        category: Category,
        bytes: u64,
    ) -> bool {
        // SAFETY: alive (caller).
        let core = unsafe { &*this };
        if let Err(refused) = core.node.charge(category, bytes) {
            crate::reclaim::record_block_refusal(&refused, category, bytes);
            return false;
        }
        core.used[category.index()].fetch_add(bytes, Ordering::Relaxed);
        // AcqRel: orders the pin's reference counting with the unpin of a racing release.
        if bytes > 0 && core.attributed.fetch_add(bytes, Ordering::AcqRel) == 0 {
            // SAFETY: `this` came from `Arc::into_raw`/`Arc::as_ptr` and is alive; the new
            // reference is the pin, given up by the release that brings `attributed` to 0.
            unsafe { Arc::increment_strong_count(this) };
        }
        true
    }

    /// Credits `bytes` of global-allocator blocks or caches charged with
    /// [`charge_attributed`](Self::charge_attributed); the last attributed byte unpins the
    /// consumer, which may drop it. `false` (nothing changed) if it holds fewer.
    ///
    /// # Safety
    /// `this` is alive: the bytes being released pin it. The caller does not touch it
    /// afterwards.
    pub(crate) unsafe fn release_attributed(
        this: *const ConsumerCore,
        category: Category,
        bytes: u64,
    ) -> bool {
        // SAFETY: pinned by the bytes being released (caller).
        let core = unsafe { &*this };
        if bytes == 0 {
            return true;
        }
        if !core.release(category, bytes) {
            return false;
        }
        // The last access to the consumer: once `attributed` drops, another thread's release
        // may unpin and drop it. AcqRel: see `charge_attributed`.
        if core.attributed.fetch_sub(bytes, Ordering::AcqRel) == bytes {
            // SAFETY: the pin taken when `attributed` left 0; nothing here uses `core` after.
            unsafe { Arc::decrement_strong_count(this) };
        }
        true
    }

    /// Credits `bytes`; `false` (nothing changed) if the consumer holds fewer.
    #[inline]
    pub(crate) fn release(&self, category: Category, bytes: u64) -> bool {
        let used = &self.used[category.index()];
        let mut cur = used.load(Ordering::Relaxed);
        loop {
            let Some(rest) = cur.checked_sub(bytes) else {
                return false;
            };
            match used.compare_exchange_weak(cur, rest, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => break,
                Err(actual) => cur = actual,
            }
        }
        self.node.release(category, bytes);
        true
    }
}

impl Drop for ConsumerCore {
    fn drop(&mut self) {
        // What raw charges left behind goes back too: dropping a consumer is exact.
        for c in Category::ALL {
            let b = self.used[c.index()].swap(0, Ordering::Relaxed);
            if b > 0 {
                self.node.release(c, b);
            }
        }
    }
}

/// A named consumer of a child budget ([`BudgetHandle::consumer`](crate::BudgetHandle::consumer)):
/// an operator, a state backend, a pool. Its reservations charge the budget; reports and
/// refusals name it; with a [`Reclaimer`] it can be asked to give memory back when another
/// request would not fit. Dropping it releases whatever it still holds.
#[derive(Clone)]
pub struct MemoryConsumer {
    core: Arc<ConsumerCore>,
}

impl MemoryConsumer {
    pub(crate) fn new(node: Arc<Node>, name: &str) -> MemoryConsumer {
        let root = node.root_budget().clone();
        let root_is_process =
            matches!(root, SharedBudget::Static(b) if core::ptr::eq(b, crate::Budget::global()));
        let core = Arc::new(ConsumerCore {
            name: name.to_owned(),
            node,
            root,
            root_is_process,
            used: [const { AtomicU64::new(0) }; Category::COUNT],
            attributed: AtomicU64::new(0),
            reclaimer: Mutex::new(None),
            reclaim_self: AtomicBool::new(false),
        });
        core.node.register_consumer(&core);
        MemoryConsumer { core }
    }

    /// The consumer's name.
    pub fn name(&self) -> &str {
        self.core.name()
    }

    /// Bytes of `category` it holds.
    pub fn used(&self, category: Category) -> u64 {
        self.core.used(category)
    }

    /// Registers `reclaimer`, asked to give memory back when a request in the same budget tree
    /// does not fit (replacing any earlier one). See [`Reclaimer`] for when it is called.
    pub fn set_reclaimer(&self, reclaimer: impl Reclaimer + 'static) {
        *lock(&self.core.reclaimer) = Some(Arc::new(reclaimer));
    }

    /// Removes the reclaimer, if any.
    pub fn clear_reclaimer(&self) {
        *lock(&self.core.reclaimer) = None;
    }

    /// Whether this consumer's own reclaimer may be asked to free memory for its own requests
    /// (last, after every other consumer). Off by default: a consumer that is growing is
    /// usually not one that can spill at that moment.
    pub fn reclaim_for_own_requests(&self, enabled: bool) {
        self.core.reclaim_self.store(enabled, Ordering::Relaxed);
    }

    /// Reserves `bytes` of `category`, released when the returned [`Reservation`] drops
    /// (borrowing the consumer; [`try_reserve_owned`](Self::try_reserve_owned) for one that
    /// can be kept anywhere).
    ///
    /// # Errors
    /// [`QuotaExceeded`] if a limit of the budget or an ancestor (or the process quota) would be
    /// exceeded even after reclaim; it names the limit, the top consumers and what reclaim did.
    #[inline]
    pub fn try_reserve(
        &self,
        category: Category,
        bytes: u64,
    ) -> Result<Reservation<'_>, QuotaExceeded> {
        self.core.try_charge(category, bytes)?;
        Ok(Reservation::through(&self.core.root, self, category, bytes))
    }

    /// Reserves `bytes` of `category` as an owned [`ConsumerReservation`] (it keeps the
    /// consumer alive), released when it drops.
    ///
    /// # Errors
    /// As [`try_reserve`](Self::try_reserve).
    #[inline]
    pub fn try_reserve_owned(
        &self,
        category: Category,
        bytes: u64,
    ) -> Result<ConsumerReservation, QuotaExceeded> {
        self.core.try_charge(category, bytes)?;
        Ok(ConsumerReservation {
            consumer: Arc::clone(&self.core),
            category,
            size: bytes,
        })
    }

    /// Charges `bytes` of `category` with no RAII handle (pools that track their own pages);
    /// the caller must [`release`](Self::release) exactly what it charged, or drop the
    /// consumer.
    ///
    /// # Errors
    /// As [`try_reserve`](Self::try_reserve); nothing is charged then.
    #[inline]
    pub fn try_charge(&self, category: Category, bytes: u64) -> Result<(), QuotaExceeded> {
        self.core.try_charge(category, bytes)
    }

    /// [`try_charge`](Self::try_charge) for a caller whose owner may shut down while the
    /// request waits for reclaim: `keep_waiting` is asked before each reclaimer and each retry
    /// of the wait, and once it answers `false` the request stops waiting and is refused (a C
    /// ABI runtime freed by another thread wakes its waiters this way).
    ///
    /// # Errors
    /// As [`try_reserve`](Self::try_reserve); nothing is charged then.
    pub fn try_charge_while(
        &self,
        category: Category,
        bytes: u64,
        keep_waiting: &dyn Fn() -> bool,
    ) -> Result<(), QuotaExceeded> {
        self.core.try_charge_while(category, bytes, keep_waiting)
    }

    /// Credits `bytes` of `category`. Releasing more than the consumer holds is a caller bug:
    /// then nothing changes and `false` is returned.
    #[inline]
    pub fn release(&self, category: Category, bytes: u64) -> bool {
        self.core.release(category, bytes)
    }

    /// The process (or isolated) budget at the top of this consumer's tree.
    pub fn root(&self) -> &crate::Budget {
        &self.core.root
    }

    /// Credits `bytes` a [`Reservation`] of this consumer holds.
    #[inline]
    pub(crate) fn release_reserved(&self, category: Category, bytes: u64) {
        self.core.release_held(category, bytes);
    }

    /// The budget this consumer charges.
    pub fn budget(&self) -> crate::BudgetHandle {
        crate::BudgetHandle {
            node: Arc::clone(&self.core.node),
        }
    }
}

impl MemoryConsumer {
    /// The consumer named [`ALLOCATIONS_CONSUMER`] under `node` that the global allocator charges for
    /// blocks allocated while `node` is the thread's current budget: the live one, or a new one.
    pub(crate) fn allocations(node: &Arc<Node>) -> MemoryConsumer {
        let mut slot = lock(&node.allocations);
        if let Some(core) = slot.upgrade() {
            return MemoryConsumer { core };
        }
        let c = MemoryConsumer::new(Arc::clone(node), ALLOCATIONS_CONSUMER);
        *slot = Arc::downgrade(&c.core);
        c
    }

    /// The shared core (what an attributed block points to).
    pub(crate) fn core(&self) -> &Arc<ConsumerCore> {
        &self.core
    }
}

/// The name of the consumer that holds a budget's blocks of the global allocator.
pub const ALLOCATIONS_CONSUMER: &str = "allocations";

impl core::fmt::Debug for MemoryConsumer {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("MemoryConsumer")
            .field("path", &self.core.path())
            .finish_non_exhaustive()
    }
}

/// Bytes of one category held by a [`MemoryConsumer`] in its child budget; released when
/// dropped. The owned counterpart of the [`Reservation`] that
/// [`MemoryConsumer::try_reserve`] returns.
#[must_use = "dropping a reservation releases it at once"]
pub struct ConsumerReservation {
    consumer: Arc<ConsumerCore>,
    category: Category,
    size: u64,
}

impl ConsumerReservation {
    /// Bytes held.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The category charged.
    pub fn category(&self) -> Category {
        self.category
    }

    /// Grows the reservation by `bytes`.
    ///
    /// # Errors
    /// [`QuotaExceeded`] as [`MemoryConsumer::try_reserve`] (the size is then unchanged).
    pub fn try_grow(&mut self, bytes: u64) -> Result<(), QuotaExceeded> {
        self.consumer.try_charge(self.category, bytes)?;
        // The budget's checked counters hold at least `size + bytes`.
        self.size = self.size.saturating_add(bytes);
        Ok(())
    }

    /// Gives back `bytes`, or returns `Err(size)` unchanged if it holds fewer.
    pub fn try_shrink(&mut self, bytes: u64) -> Result<(), u64> {
        let Some(rest) = self.size.checked_sub(bytes) else {
            return Err(self.size);
        };
        self.size = rest;
        self.consumer.release_held(self.category, bytes);
        Ok(())
    }

    /// Moves everything `other` holds into this reservation (both of the same consumer and
    /// category; otherwise `other` is handed back unchanged). Lets a consumer reserve before
    /// taking its own locks, then add the bytes to what it already holds.
    ///
    /// # Errors
    /// `other`, if it is of another consumer or category.
    pub fn merge(&mut self, mut other: ConsumerReservation) -> Result<(), ConsumerReservation> {
        if !Arc::ptr_eq(&self.consumer, &other.consumer) || self.category != other.category {
            return Err(other);
        }
        // Both sizes are held by the consumer, so their sum fits its checked counter.
        self.size = self.size.saturating_add(core::mem::take(&mut other.size));
        Ok(())
    }

    /// Releases everything held and returns how much that was; the reservation stays usable.
    pub fn free(&mut self) -> u64 {
        let size = core::mem::take(&mut self.size);
        if size > 0 {
            self.consumer.release_held(self.category, size);
        }
        size
    }
}

impl Drop for ConsumerReservation {
    fn drop(&mut self) {
        self.free();
    }
}

impl core::fmt::Debug for ConsumerReservation {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ConsumerReservation")
            .field("consumer", &self.consumer.path())
            .field("category", &self.category)
            .field("size", &self.size)
            .finish()
    }
}
