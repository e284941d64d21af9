//! `MemoryManager`: managed memory of one worker, handed to owners as pages and byte
//! reservations.

use crate::capacity::Capacity;
use crate::owner::BuildOwnerHasher;
use crate::page_source::SourceInner;
use crate::page_source::{validate_page_size, DEFAULT_CHUNK_SIZE};
use crate::segment::PageOwner;
use crate::shared_resource::SharedTable;
use crate::sync::{AtomicBool, AtomicU64, Mutex, MutexGuard, Ordering};
use crate::{
    InvalidFraction, MemoryAllocationError, MemorySegment, OwnerId, PageSource, PageSourceConfig,
    SegmentError,
};
use log::warn;
use membudget_allocator::SharedBudget;
use membudget_core::Category;
use std::collections::HashMap;
use std::ptr::NonNull;
use std::sync::{Arc, Weak};

/// Pages one owner holds. Every page given to the owner holds an `Arc` of this and returns
/// through it, so a page credits its source, the manager and its owner exactly once — also
/// after the owner was released and removed from the manager's table.
struct PageAccount {
    owner: OwnerId,
    capacity: Arc<Capacity>,
    source: Arc<SourceInner>,
    /// The owner's live pages, with [`DETACHED`] set once the account left the owner table
    /// (owner released, manager shut down). Pages are added with a compare-and-swap that fails
    /// on a detached account, so a page is counted by exactly one of the release that detaches
    /// the account and the owner's next account — also when the page is allocated through a
    /// thread's cached account ([`LAST_ACCOUNT`]) while another thread releases the owner.
    state: AtomicU64,
}

/// The detached bit of [`PageAccount::state`].
const DETACHED: u64 = 1 << 63;

std::thread_local! {
    /// The account this thread last allocated a page for, so the next page of the same owner
    /// of the same manager needs no lock of the owner table. A `Weak`, so it keeps no source
    /// alive; checked against the manager and owner before use, and pages are added to it only
    /// while it is not detached (a plain cache: any thread may use any valid entry).
    static LAST_ACCOUNT: core::cell::RefCell<Weak<PageAccount>> =
        const { core::cell::RefCell::new(Weak::new()) };
}

impl PageOwner for PageAccount {
    #[inline]
    unsafe fn return_page(&self, ptr: NonNull<u8>) {
        // SAFETY: forwarded contract: the page came from `source` and is no longer accessed.
        // Budget first (inside `give_back`), then capacity, so a request that passes the
        // capacity check also finds the budget credited.
        unsafe { self.source.give_back(ptr) };
        self.capacity.give(self.source.page_size() as u64);
        self.remove_pages(1);
    }

    unsafe fn return_pages(&self, ptrs: &[NonNull<u8>]) {
        // SAFETY: forwarded contract, as in `return_page`.
        unsafe { self.source.give_back_many(ptrs) };
        self.capacity
            .give((ptrs.len() as u64).saturating_mul(self.source.page_size() as u64));
        self.remove_pages(ptrs.len() as u64);
    }
}

impl PageAccount {
    /// Pages of this account whose segments are alive.
    fn alive(&self) -> u64 {
        self.state.load(Ordering::Relaxed) & !DETACHED
    }

    /// Counts `n` new pages unless the account is detached.
    #[inline]
    fn try_add_pages(&self, n: u64) -> bool {
        // Relaxed: the count publishes nothing; the compare-and-swap orders it against
        // `detach` (one location).
        let mut cur = self.state.load(Ordering::Relaxed);
        loop {
            if cur & DETACHED != 0 {
                return false;
            }
            // At most `total_pages` pages are live at once: no overflow into the bit.
            let new = cur.saturating_add(n);
            match self
                .state
                .compare_exchange_weak(cur, new, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return true,
                Err(actual) => cur = actual,
            }
        }
    }

    /// Uncounts `n` pages (returned, or never handed out).
    #[inline]
    fn remove_pages(&self, n: u64) {
        // Each page was counted once by `try_add_pages`: no borrow from the bit.
        self.state.fetch_sub(n, Ordering::Relaxed);
    }

    /// Marks the account, just removed from the owner table, as detached (no new page is
    /// counted in it any more) and returns its pages still alive.
    fn detach(&self) -> u64 {
        self.state.fetch_or(DETACHED, Ordering::Relaxed) & !DETACHED
    }
}

#[derive(Default)]
struct Owners {
    pages: HashMap<OwnerId, Arc<PageAccount>, BuildOwnerHasher>,
    bytes: HashMap<OwnerId, u64, BuildOwnerHasher>,
}

/// What one owner holds (see [`MemoryManager::owner_usage`] and [`MemoryManager::release_owner`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct OwnerUsage {
    /// The owner.
    pub owner: OwnerId,
    /// Pages given to the owner whose segments are still alive.
    pub pages: u64,
    /// Bytes of the live pages.
    pub page_bytes: u64,
    /// Bytes reserved with [`MemoryManager::reserve_memory`] and not released.
    pub reserved_bytes: u64,
}

pub(crate) struct ManagerInner {
    pub(crate) source: PageSource,
    pub(crate) capacity: Arc<Capacity>,
    page_size: usize,
    total_pages: u64,
    owners: Mutex<Owners>,
    pub(crate) shared: SharedTable,
    shut_down: AtomicBool,
}

/// The managed memory of one worker (Flink's `MemoryManager`): a fixed number of bytes handed
/// to owners (tasks, operators) as fixed-size pages or as byte reservations, all charged to the
/// `managed` category of a budget.
///
/// Rules (after Flink):
/// - [`allocate_pages`](Self::allocate_pages) gives all requested pages or none.
/// - Pages and reservations share one total: [`available_memory`](Self::available_memory)
///   drops by either.
/// - A page is returned by dropping its [`MemorySegment`] (or by [`release`](Self::release),
///   which is the same); it credits the manager, the budget and its owner exactly once.
/// - [`release_all`](Self::release_all) forgets an owner's pages. Safe Rust cannot free memory a
///   live segment still points to, so pages the owner has already returned were credited when
///   they were dropped, and pages still alive are reported as a leak (a `log` warning with the
///   owner and amounts) and credited when their segments are dropped — never twice, never lost.
///   Dropping such a segment later is harmless.
/// - [`shutdown`](Self::shutdown) refuses further requests and releases all reservations;
///   [`verify_empty`](Self::verify_empty) is true once every byte is back.
///
/// `MemoryManager` is `Send + Sync`; allocation and release may happen on any thread. Cloning
/// gives another handle to the same manager.
///
/// # Examples
/// ```
/// use membudget_allocator::SharedBudget;
/// use membudget_segments::{MemoryManager, OwnerId};
///
/// let mm = MemoryManager::new(1 << 20, 32 * 1024, SharedBudget::from(membudget_allocator::Budget::unlimited()))?;
/// let pages = mm.allocate_pages(OwnerId(1), 8)?;
/// mm.reserve_memory(OwnerId(2), 100_000)?;
/// assert_eq!(mm.available_memory(), (1 << 20) - 8 * 32 * 1024 - 100_000);
/// assert!(mm.allocate_pages(OwnerId(3), 32).is_err()); // all or nothing
/// drop(pages);
/// mm.release_all_memory(OwnerId(2));
/// assert!(mm.verify_empty());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct MemoryManager {
    pub(crate) inner: Arc<ManagerInner>,
}

impl MemoryManager {
    /// A manager of `total_bytes` bytes in pages of `page_size` bytes, charging
    /// `Category::Managed` of `budget`. `total_bytes / page_size` pages can be allocated.
    ///
    /// # Errors
    /// [`SegmentError::InvalidConfig`] if `page_size` is not a power of two of at least 4 KiB.
    pub fn new(
        total_bytes: u64,
        page_size: usize,
        budget: SharedBudget,
    ) -> Result<MemoryManager, SegmentError> {
        validate_page_size(page_size)?;
        let mut config = PageSourceConfig::new(page_size, Category::Managed, budget);
        let total_rounded = usize::try_from(total_bytes)
            .unwrap_or(usize::MAX)
            .max(page_size);
        config.chunk_size = total_rounded.min(DEFAULT_CHUNK_SIZE);
        MemoryManager::with_source_config(total_bytes, config)
    }

    /// A manager of `total_bytes` bytes whose pages come from a page source with `config`
    /// (to choose chunk size, idle high-water mark and huge pages).
    ///
    /// # Errors
    /// As [`PageSource::new`].
    pub fn with_source_config(
        total_bytes: u64,
        config: PageSourceConfig,
    ) -> Result<MemoryManager, SegmentError> {
        let source = PageSource::new(config)?;
        let page_size = source.page_size();
        Ok(MemoryManager {
            inner: Arc::new(ManagerInner {
                capacity: Arc::new(Capacity::new(total_bytes)),
                page_size,
                // `page_size` is validated non-zero by the source.
                total_pages: total_bytes.checked_div(page_size as u64).unwrap_or(0),
                source,
                owners: Mutex::new(Owners::default()),
                shared: SharedTable::default(),
                shut_down: AtomicBool::new(false),
            }),
        })
    }

    /// Allocates `n` pages for `owner`, all or nothing.
    ///
    /// # Errors
    /// - [`MemoryAllocationError::ShutDown`] after [`shutdown`](Self::shutdown);
    /// - [`MemoryAllocationError::TooManyPages`] if `n` exceeds the total number of pages;
    /// - [`MemoryAllocationError::InsufficientPages`] if fewer than `n` pages are available;
    /// - [`MemoryAllocationError::Source`] if the budget's `managed` quota or the OS refuses.
    ///
    /// Nothing is allocated when an error is returned.
    pub fn allocate_pages(
        &self,
        owner: impl Into<OwnerId>,
        n: usize,
    ) -> Result<Vec<MemorySegment>, MemoryAllocationError> {
        let owner = owner.into();
        let inner = &*self.inner;
        if inner.shut_down.load(Ordering::Acquire) {
            return Err(MemoryAllocationError::ShutDown { owner });
        }
        if n == 0 {
            return Ok(Vec::new());
        }
        let requested = n as u64;
        if requested > inner.total_pages {
            return Err(MemoryAllocationError::TooManyPages {
                owner,
                requested,
                max: inner.total_pages,
            });
        }
        // `requested ≤ total_pages = total / page_size`: no overflow.
        let bytes = requested.saturating_mul(inner.page_size as u64);
        if let Err(available) = inner.capacity.try_take(bytes) {
            return Err(inner.insufficient_pages(owner, requested, available));
        }
        let account = inner.account(owner, requested);
        // This reference moves into the last segment; the others are cloned from it.
        let returns_to: Arc<dyn PageOwner> = account.clone();
        inner.source.take_many_owned(n, returns_to).map_err(|e| {
            account.remove_pages(requested);
            inner.capacity.give(bytes);
            MemoryAllocationError::Source(e)
        })
    }

    /// Allocates one page for `owner`: [`allocate_pages`](Self::allocate_pages) with `n = 1`,
    /// without the list (the cheapest way to take a page).
    ///
    /// # Errors
    /// As [`allocate_pages`](Self::allocate_pages); nothing is allocated then.
    ///
    /// # Examples
    /// ```
    /// use membudget_allocator::{Budget, SharedBudget};
    /// use membudget_segments::{MemoryManager, OwnerId};
    ///
    /// let mm = MemoryManager::new(1 << 20, 32 * 1024, SharedBudget::from(Budget::unlimited()))?;
    /// let mut page = mm.allocate_page(OwnerId(1))?;
    /// page.put_u32_le(0, 7);
    /// assert_eq!(mm.owner_usage(OwnerId(1)).pages, 1);
    /// drop(page);
    /// assert!(mm.verify_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline]
    pub fn allocate_page(
        &self,
        owner: impl Into<OwnerId>,
    ) -> Result<MemorySegment, MemoryAllocationError> {
        let owner = owner.into();
        let inner = &*self.inner;
        if inner.shut_down.load(Ordering::Acquire) {
            return Err(MemoryAllocationError::ShutDown { owner });
        }
        let bytes = inner.page_size as u64;
        if let Err(available) = inner.capacity.try_take(bytes) {
            return Err(inner.insufficient_pages(owner, 1, available));
        }
        let account = inner.account(owner, 1);
        match inner.source.inner().take_one() {
            Ok(ptr) => Ok(MemorySegment::from_page(ptr, inner.page_size, account)),
            Err(e) => {
                account.remove_pages(1);
                inner.capacity.give(bytes);
                Err(MemoryAllocationError::Source(e))
            }
        }
    }

    /// Returns one page (the same as dropping it). A segment that is not this manager's is
    /// simply dropped and returns to its own source.
    pub fn release(&self, segment: MemorySegment) {
        drop(segment);
    }

    /// Returns pages (the same as dropping them, but consecutive pages of one owner go back
    /// under one lock with one budget credit).
    pub fn release_many(&self, segments: impl IntoIterator<Item = MemorySegment>) {
        crate::segment::return_all(segments);
    }

    /// Forgets the pages of `owner` and returns how many of its pages are still alive.
    ///
    /// Pages the owner already dropped were credited then. Live pages cannot be freed under a
    /// segment that still points to them: they are reported with a warning and are credited,
    /// once, when their segments are dropped. Calling this again, or for an unknown owner, does
    /// nothing and returns 0.
    pub fn release_all(&self, owner: impl Into<OwnerId>) -> u64 {
        let owner = owner.into();
        let account = self.inner.owners().pages.remove(&owner);
        let alive = account.map_or(0, |a| a.detach());
        if alive > 0 {
            warn!(
                "Owner {owner} released its managed memory while {alive} pages ({} bytes) are \
                 still held by live segments; they return when dropped. This usually indicates \
                 a memory leak.",
                alive.saturating_mul(self.inner.page_size as u64)
            );
        }
        alive
    }

    /// Reserves `bytes` of managed memory for `owner`, for consumers that allocate memory
    /// themselves (like RocksDB). Reserving 0 bytes does nothing.
    ///
    /// # Errors
    /// [`MemoryAllocationError::ShutDown`], [`MemoryAllocationError::InsufficientBytes`], or
    /// [`MemoryAllocationError::Source`] if the budget's `managed` quota refuses; nothing is
    /// reserved then.
    pub fn reserve_memory(
        &self,
        owner: impl Into<OwnerId>,
        bytes: u64,
    ) -> Result<(), MemoryAllocationError> {
        let owner = owner.into();
        let inner = &*self.inner;
        if inner.shut_down.load(Ordering::Acquire) {
            return Err(MemoryAllocationError::ShutDown { owner });
        }
        if bytes == 0 {
            return Ok(());
        }
        inner
            .take_bytes(bytes)
            .map_err(|e| e.for_owner(owner, bytes, inner.capacity.total()))?;
        let mut owners = inner.owners();
        let held = owners.bytes.entry(owner).or_insert(0);
        // The capacity bounds every owner's sum by the total: no overflow.
        *held = held.saturating_add(bytes);
        Ok(())
    }

    /// Releases `bytes` reserved by `owner`. Releasing more than the owner holds releases what
    /// it holds and logs a warning.
    pub fn release_memory(&self, owner: impl Into<OwnerId>, bytes: u64) {
        let owner = owner.into();
        if bytes == 0 {
            return;
        }
        let released = {
            let mut owners = self.inner.owners();
            let held = owners.bytes.get(&owner).copied().unwrap_or(0);
            if held < bytes {
                warn!(
                    "Trying to release more memory {bytes} than it was reserved {held} so far \
                     for the owner {owner}"
                );
            }
            let released = held.min(bytes);
            let rest = held.saturating_sub(released);
            if rest == 0 {
                owners.bytes.remove(&owner);
            } else {
                owners.bytes.insert(owner, rest);
            }
            released
        };
        self.inner.give_bytes(released);
    }

    /// Releases every byte `owner` reserved; returns how many.
    pub fn release_all_memory(&self, owner: impl Into<OwnerId>) -> u64 {
        let owner = owner.into();
        let released = self.inner.owners().bytes.remove(&owner).unwrap_or(0);
        self.inner.give_bytes(released);
        released
    }

    /// Releases everything of `owner` — reservations now, pages as in
    /// [`release_all`](Self::release_all) — and reports what it still held. Logs one warning
    /// with the amounts if pages were still alive or bytes still reserved (a leak: the owner
    /// should have given them back itself).
    pub fn release_owner(&self, owner: impl Into<OwnerId>) -> OwnerUsage {
        let owner = owner.into();
        let (account, reserved) = {
            let mut owners = self.inner.owners();
            (owners.pages.remove(&owner), owners.bytes.remove(&owner))
        };
        let reserved = reserved.unwrap_or(0);
        self.inner.give_bytes(reserved);
        let pages = account.map_or(0, |a| a.detach());
        let usage = OwnerUsage {
            owner,
            pages,
            page_bytes: pages.saturating_mul(self.inner.page_size as u64),
            reserved_bytes: reserved,
        };
        if pages > 0 || reserved > 0 {
            warn!(
                "Not all managed memory of owner {owner} was freed: {pages} pages ({} bytes) \
                 still held by live segments (returned when dropped) and {reserved} reserved \
                 bytes (released now). This usually indicates a memory leak.",
                usage.page_bytes
            );
        }
        usage
    }

    /// What `owner` holds now.
    pub fn owner_usage(&self, owner: impl Into<OwnerId>) -> OwnerUsage {
        let owner = owner.into();
        let owners = self.inner.owners();
        let pages = owners.pages.get(&owner).map_or(0, |a| a.alive());
        OwnerUsage {
            owner,
            pages,
            page_bytes: pages.saturating_mul(self.inner.page_size as u64),
            reserved_bytes: owners.bytes.get(&owner).copied().unwrap_or(0),
        }
    }

    /// Bytes of managed memory `fraction` of the total amounts to (rounded down).
    ///
    /// # Errors
    /// [`InvalidFraction`] unless `0 < fraction <= 1`.
    pub fn compute_memory_size(&self, fraction: f64) -> Result<u64, InvalidFraction> {
        validate_fraction(fraction)?;
        let total = self.inner.capacity.total();
        // Totals above 2⁵³ round up in `f64`: never more than the total.
        Ok(((total as f64 * fraction).floor() as u64).min(total))
    }

    /// Pages `fraction` of all pages amounts to (rounded down).
    ///
    /// # Errors
    /// [`InvalidFraction`] unless `0 < fraction <= 1`.
    pub fn compute_number_of_pages(&self, fraction: f64) -> Result<u64, InvalidFraction> {
        validate_fraction(fraction)?;
        let pages = self.inner.total_pages;
        Ok(((pages as f64 * fraction).floor() as u64).min(pages))
    }

    /// Bytes not handed out (as pages, reservations or shared resources).
    pub fn available_memory(&self) -> u64 {
        self.inner.capacity.available()
    }

    /// Total bytes of managed memory.
    pub fn total_memory(&self) -> u64 {
        self.inner.capacity.total()
    }

    /// Bytes per page.
    pub fn page_size(&self) -> usize {
        self.inner.page_size
    }

    /// Total number of pages (`total_memory / page_size`).
    pub fn total_pages(&self) -> u64 {
        self.inner.total_pages
    }

    /// The page source pages come from (for its statistics).
    pub fn page_source(&self) -> &PageSource {
        &self.inner.source
    }

    /// Refuses all further requests, releases every byte reservation and gives the idle pages'
    /// memory back to the operating system (see [`PageSource::release_idle_memory`]). Idempotent.
    /// Dropping the last handle of a manager does the same.
    ///
    /// Live pages stay valid and are credited when dropped (the page source outlives them, and
    /// purges each page as it comes back); shared resources release their memory when their
    /// last lease closes.
    pub fn shutdown(&self) {
        self.inner.shut_down();
    }

    /// Whether [`shutdown`](Self::shutdown) was called.
    pub fn is_shutdown(&self) -> bool {
        self.inner.shut_down.load(Ordering::Acquire)
    }

    /// Whether every byte is back (nothing allocated, reserved or shared), i.e. the whole
    /// total could be reserved now.
    pub fn verify_empty(&self) -> bool {
        self.inner.capacity.available() == self.inner.capacity.total()
    }
}

impl core::fmt::Debug for MemoryManager {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("MemoryManager")
            .field("total", &self.total_memory())
            .field("available", &self.available_memory())
            .field("page_size", &self.page_size())
            .field("shut_down", &self.is_shutdown())
            .finish()
    }
}

/// Why [`ManagerInner::take_bytes`] failed, before the owner is known.
pub(crate) enum TakeError {
    Capacity { available: u64 },
    Budget(SegmentError),
}

impl TakeError {
    fn for_owner(self, owner: OwnerId, requested: u64, total: u64) -> MemoryAllocationError {
        match self {
            TakeError::Capacity { available } => MemoryAllocationError::InsufficientBytes {
                owner,
                requested,
                available,
                total,
            },
            TakeError::Budget(e) => MemoryAllocationError::Source(e),
        }
    }
}

impl ManagerInner {
    /// See [`MemoryManager::shutdown`].
    fn shut_down(&self) {
        if self.shut_down.swap(true, Ordering::AcqRel) {
            return;
        }
        let owners = std::mem::take(&mut *self.owners());
        let reserved = owners
            .bytes
            .values()
            .fold(0u64, |a, &b| a.saturating_add(b));
        self.give_bytes(reserved);
        let pages = owners
            .pages
            .into_values()
            .fold(0u64, |a, p| a.saturating_add(p.detach()));
        drop(owners.bytes);
        self.source.release_idle_memory();
        if pages > 0 || reserved > 0 {
            warn!(
                "Memory manager shut down while {pages} pages ({} bytes) were still held by live \
                 segments (returned when dropped) and {reserved} bytes were reserved (released \
                 now). This usually indicates a memory leak.",
                pages.saturating_mul(self.page_size as u64)
            );
        }
    }

    fn owners(&self) -> MutexGuard<'_, Owners> {
        // The maps stay consistent across a panic (every update is a single insert/remove).
        self.owners.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The account of `owner`, with `pages` new pages counted in it: the thread's cached one
    /// if it is still this owner's account of this manager (no lock), else the owner table's
    /// (which is then cached).
    #[inline]
    fn account(&self, owner: OwnerId, pages: u64) -> Arc<PageAccount> {
        let cached = LAST_ACCOUNT
            .try_with(|last| last.borrow().upgrade())
            .ok()
            .flatten();
        if let Some(a) = cached {
            if a.owner == owner
                && Arc::ptr_eq(&a.capacity, &self.capacity)
                && a.try_add_pages(pages)
            {
                return a;
            }
        }
        self.account_slow(owner, pages)
    }

    #[cold]
    #[inline(never)]
    fn account_slow(&self, owner: OwnerId, pages: u64) -> Arc<PageAccount> {
        let account = {
            let mut owners = self.owners();
            let account = owners
                .pages
                .entry(owner)
                .or_insert_with(|| {
                    Arc::new(PageAccount {
                        owner,
                        capacity: self.capacity.clone(),
                        source: self.source.inner().clone(),
                        state: AtomicU64::new(0),
                    })
                })
                .clone();
            // Under the table's lock, so not detached yet: accounts are detached only after
            // they left the table.
            let added = account.try_add_pages(pages);
            debug_assert!(added, "an account in the owner table is never detached");
            account
        };
        let _ = LAST_ACCOUNT.try_with(|last| *last.borrow_mut() = Arc::downgrade(&account));
        account
    }

    /// The error of a request for `requested` pages that the capacity refused.
    #[cold]
    fn insufficient_pages(
        &self,
        owner: OwnerId,
        requested: u64,
        available: u64,
    ) -> MemoryAllocationError {
        MemoryAllocationError::InsufficientPages {
            owner,
            requested,
            available_pages: available.checked_div(self.page_size as u64).unwrap_or(0),
            available,
            total: self.capacity.total(),
        }
    }

    /// Takes `bytes` from the capacity and charges them to the budget, or neither.
    pub(crate) fn take_bytes(&self, bytes: u64) -> Result<(), TakeError> {
        self.capacity
            .try_take(bytes)
            .map_err(|available| TakeError::Capacity { available })?;
        let budget = self.source.budget();
        if let Err(e) = budget.try_charge(self.source.category(), bytes) {
            self.capacity.give(bytes);
            return Err(TakeError::Budget(SegmentError::Quota(e)));
        }
        Ok(())
    }

    /// Gives back `bytes` taken by [`take_bytes`](Self::take_bytes).
    pub(crate) fn give_bytes(&self, bytes: u64) {
        if bytes > 0 {
            // Budget first, so a racing request that passes the capacity check also finds the
            // budget credited.
            self.source.budget().release(self.source.category(), bytes);
            self.capacity.give(bytes);
        }
    }

    pub(crate) fn is_shut_down(&self) -> bool {
        self.shut_down.load(Ordering::Acquire)
    }
}

impl Drop for ManagerInner {
    /// The last handle (manager clone or shared-resource lease) is gone: shut down, so byte
    /// reservations nobody can release any more leave the budget and idle memory the OS.
    fn drop(&mut self) {
        self.shut_down();
    }
}

/// `Ok` if `0 < fraction <= 1` (NaN is rejected).
pub(crate) fn validate_fraction(fraction: f64) -> Result<(), InvalidFraction> {
    if fraction > 0.0 && fraction <= 1.0 {
        Ok(())
    } else {
        Err(InvalidFraction { fraction })
    }
}
