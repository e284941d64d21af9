//! `MemoryManager`: managed memory of one worker, handed to owners as pages and byte
//! reservations.

use crate::capacity::Capacity;
use crate::owner::BuildOwnerHasher;
use crate::page_source::SourceInner;
use crate::page_source::{validate_page_size, DEFAULT_CHUNK_SIZE};
use crate::segment::PageReturn;
use crate::shared_resource::SharedTable;
use crate::sync::{fence, AtomicBool, AtomicU64, Mutex, MutexGuard, Ordering};
use crate::{
    InvalidFraction, MemoryAllocationError, MemorySegment, OwnerId, PageSource, PageSourceConfig,
    SegmentError,
};
use log::warn;
use membudget_allocator::SharedBudget;
use membudget_core::Category;
use std::collections::HashMap;
use std::ptr::NonNull;
use std::sync::Arc;

/// The part of an owner's page account a thread's cache keeps ([`LAST_ACCOUNT`]): which
/// manager and owner the account belongs to, and its live pages. It holds nothing else alive
/// (no source, no budget), so a cache never keeps a manager's memory or budget node alive.
struct AccountHeader {
    owner: OwnerId,
    /// The manager's capacity, which identifies the manager (held, so its address is not
    /// reused while a cache holds the header).
    capacity: Arc<Capacity>,
    /// The owner's live pages, with [`DETACHED`] set once the account left the owner table
    /// (owner released, manager shut down). Pages are added with a compare-and-swap that fails
    /// on a detached account, so a page is counted by exactly one of the release that detaches
    /// the account and the owner's next account — also when the page is allocated through a
    /// thread's cached account while another thread releases the owner.
    state: AtomicU64,
}

/// Pages one owner holds. Every page given to the owner is counted in it and returns through
/// it, so a page credits its source, the manager and its owner exactly once — also after the
/// owner was released and removed from the manager's table.
///
/// Lifetime: the owner table holds the only reference count of an account. A page holds none
/// (its [`AccountPage`] is a plain pointer); its count in `state` keeps the account alive
/// instead: an account leaves the table only to be detached, and [`detach`](Self::detach)
/// passes the table's reference to the pages still alive, whose last one drops it
/// ([`AccountPage::uncount`]). So handing out and returning a managed page touches the
/// account's count and no reference count (one locked instruction each way fewer).
pub(crate) struct PageAccount {
    header: Arc<AccountHeader>,
    source: Arc<SourceInner>,
}

/// The detached bit of [`AccountHeader::state`].
const DETACHED: u64 = 1 << 63;

/// A thread's cached account: its header and a pointer to the account, valid while the
/// header's count can be raised (not detached; see [`ManagerInner::account`]).
struct CachedAccount {
    header: Arc<AccountHeader>,
    account: AccountPage,
}

#[cfg(not(membudget_loom))]
std::thread_local! {
    /// The account this thread last allocated a page for, so the next page of the same owner
    /// of the same manager needs no lock of the owner table. Holds only the header; the
    /// account is used only after its count was raised (which fails on a detached account, so
    /// a freed account is never reached), and pages are added only while it is not detached
    /// (a plain cache: any thread may use any valid entry).
    static LAST_ACCOUNT: core::cell::RefCell<Option<CachedAccount>> =
        const { core::cell::RefCell::new(None) };
}

#[cfg(membudget_loom)]
loom::thread_local! {
    /// As above, one per model thread (a `std` thread-local would be shared by loom's threads,
    /// which run on one OS thread, and its borrow held across the count's compare-and-swap,
    /// where loom may switch threads).
    static LAST_ACCOUNT: core::cell::RefCell<Option<CachedAccount>> =
        core::cell::RefCell::new(None);
}

/// A page's handle of the account it is counted in ([`PageReturn::Account`]): valid while
/// that count is held (see [`PageAccount`]).
#[derive(Clone, Copy)]
pub(crate) struct AccountPage(NonNull<PageAccount>);

impl AccountPage {
    /// The handle of the account `a` (whose allocation the pointer keeps as provenance, so the
    /// last page can rebuild and drop the table's `Arc`).
    fn of(a: &Arc<PageAccount>) -> AccountPage {
        // SAFETY: `Arc::as_ptr` never returns null. (Taken from the `Arc`, not from a
        // reference, so the pointer may later rebuild the `Arc` with `Arc::from_raw`.)
        AccountPage(unsafe { NonNull::new_unchecked(Arc::as_ptr(a).cast_mut()) })
    }

    /// Identifies the account (for batching returns).
    #[inline]
    pub(crate) fn key(&self) -> *const () {
        self.0.as_ptr().cast_const().cast()
    }

    /// Takes back one page counted in this account: credits the source (and the budget), the
    /// manager's capacity, then the account.
    ///
    /// # Safety
    /// `ptr` was handed out counted in this account, nothing accesses it any more, and this
    /// handle (or a copy of it for this page) is not used afterwards.
    #[inline]
    pub(crate) unsafe fn return_page(self, ptr: NonNull<u8>) {
        {
            // SAFETY: the page is still counted, which keeps the account alive.
            let account = unsafe { self.0.as_ref() };
            // SAFETY: the page came from `source` and is no longer accessed (caller). Budget
            // first (inside `give_back`), then capacity, so a request that passes the capacity
            // check also finds the budget credited.
            unsafe { account.source.give_back(ptr) };
            account
                .header
                .capacity
                .give(account.source.page_size() as u64);
        }
        // SAFETY: one page counted through this handle, not used afterwards (caller).
        unsafe { self.uncount(1) }
    }

    /// Takes back several pages counted in this account (one lock, one budget credit).
    ///
    /// # Safety
    /// As [`return_page`](Self::return_page), for every page.
    pub(crate) unsafe fn return_pages(self, ptrs: &[NonNull<u8>]) {
        {
            // SAFETY: the pages are still counted, which keeps the account alive.
            let account = unsafe { self.0.as_ref() };
            // SAFETY: forwarded contract, as in `return_page`.
            unsafe { account.source.give_back_many(ptrs) };
            account
                .header
                .capacity
                .give((ptrs.len() as u64).saturating_mul(account.source.page_size() as u64));
        }
        // SAFETY: `ptrs.len()` pages counted through this handle, not used afterwards.
        unsafe { self.uncount(ptrs.len() as u64) }
    }

    /// Uncounts `n` pages (returned, or never handed out). If they were the last pages of a
    /// detached account, drops the reference they held (the account is freed).
    ///
    /// # Safety
    /// `n` pages were counted in this account through this handle and are uncounted once; the
    /// handle is not used afterwards (the account may be gone).
    #[inline]
    pub(crate) unsafe fn uncount(self, n: u64) {
        let before = {
            // SAFETY: the `n` pages still counted keep the account alive up to this
            // subtraction (as an `Arc`'s count keeps its value alive up to its decrement).
            let state = unsafe { &self.0.as_ref().header.state };
            // Release: our accesses to the account happen before whoever frees it (the
            // detacher's Acquire, or the last page's fence below). Each page was counted once:
            // no borrow from the bit.
            state.fetch_sub(n, Ordering::Release)
        };
        if before & DETACHED != 0 && before & !DETACHED == n {
            // Acquire: every other page's accesses to the account happen before the free.
            fence(Ordering::Acquire);
            // SAFETY: the account was detached while pages were alive, so the owner table's
            // reference passed to them (`PageAccount::detach`, which leaked it with
            // `Arc::into_raw` of the same pointer), and these were the last: no page counts in
            // it any more and none can be added (it is detached), so nobody reaches it again.
            drop(unsafe { Arc::from_raw(self.0.as_ptr().cast_const()) });
        }
    }
}

impl PageAccount {
    /// Pages of this account whose segments are alive.
    fn alive(&self) -> u64 {
        self.header.state.load(Ordering::Relaxed) & !DETACHED
    }

    /// Marks the account — `this` is the owner table's reference, just removed from it — as
    /// detached (no new page is counted in it any more) and returns its pages still alive.
    /// If there are any, the table's reference passes to them (the last one drops it);
    /// otherwise it is dropped now.
    fn detach(this: Arc<PageAccount>) -> u64 {
        // AcqRel: Acquire, so the accesses of pages returned before happen before we drop the
        // account; Release, so ours happen before the last page's free.
        let alive = this.header.state.fetch_or(DETACHED, Ordering::AcqRel) & !DETACHED;
        if alive > 0 {
            // Freed by `AccountPage::uncount` of the last page.
            let _ = Arc::into_raw(this);
        }
        alive
    }
}

impl AccountHeader {
    /// Counts `n` new pages unless the account is detached.
    #[inline]
    fn try_add_pages(&self, n: u64) -> bool {
        // Relaxed: the count publishes nothing (the account's fields were published with it
        // through the owner table's lock); the compare-and-swap orders it against `detach`
        // (one location).
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
        // Each segment is one of the `requested` pages counted in the account.
        inner
            .source
            .take_many_owned(n, PageReturn::Account(account))
            .map_err(|e| {
                // SAFETY: the `requested` pages counted above were not handed out; the
                // handle is not used again.
                unsafe { account.uncount(requested) };
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
            Ok(ptr) => Ok(MemorySegment::from_page(
                ptr,
                inner.page_size,
                PageReturn::Account(account),
            )),
            Err(e) => {
                // SAFETY: the page counted above was not handed out; the handle is not used
                // again.
                unsafe { account.uncount(1) };
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
        let alive = account.map_or(0, PageAccount::detach);
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
        let pages = account.map_or(0, PageAccount::detach);
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
            .fold(0u64, |a, p| a.saturating_add(PageAccount::detach(p)));
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
    fn account(&self, owner: OwnerId, pages: u64) -> AccountPage {
        let cached = LAST_ACCOUNT
            .try_with(|last| match &*last.borrow() {
                // The count is raised only while the account is not detached, so it was
                // alive then (in the table, or kept by the detacher until it saw our page),
                // and our page keeps it alive from now on.
                Some(c)
                    if c.header.owner == owner
                        && Arc::ptr_eq(&c.header.capacity, &self.capacity)
                        && c.header.try_add_pages(pages) =>
                {
                    Some(c.account)
                }
                _ => None,
            })
            .ok()
            .flatten();
        match cached {
            Some(a) => a,
            None => self.account_slow(owner, pages),
        }
    }

    #[cold]
    #[inline(never)]
    fn account_slow(&self, owner: OwnerId, pages: u64) -> AccountPage {
        let cached = {
            let mut owners = self.owners();
            let account = owners.pages.entry(owner).or_insert_with(|| {
                Arc::new(PageAccount {
                    header: Arc::new(AccountHeader {
                        owner,
                        capacity: self.capacity.clone(),
                        state: AtomicU64::new(0),
                    }),
                    source: self.source.inner().clone(),
                })
            });
            // Under the table's lock, so not detached yet: accounts are detached only after
            // they left the table.
            let added = account.header.try_add_pages(pages);
            debug_assert!(added, "an account in the owner table is never detached");
            CachedAccount {
                header: account.header.clone(),
                account: AccountPage::of(account),
            }
        };
        let account = cached.account;
        let _ = LAST_ACCOUNT.try_with(|last| *last.borrow_mut() = Some(cached));
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

/// An owner's account is freed exactly when nothing can reach it any more — with its last page
/// after a release, or at the release — and a thread's cached account keeps no source alive.
/// (Leaks are invisible to Miri's default run here, which ignores them; these count references.)
#[cfg(all(test, not(membudget_loom)))]
mod tests {
    use super::*;
    use membudget_allocator::Budget;
    use std::sync::Weak;

    const PAGE: usize = 4096;
    /// 16 pages.
    const TOTAL: u64 = 65_536;

    fn manager() -> (MemoryManager, Weak<SourceInner>) {
        let mm = MemoryManager::new(TOTAL, PAGE, SharedBudget::from(Budget::unlimited())).unwrap();
        let source = Arc::downgrade(mm.inner.source.inner());
        (mm, source)
    }

    #[test]
    fn a_released_account_is_freed_with_its_last_page() {
        let (mm, source) = manager();
        let page = mm.allocate_page(OwnerId(1)).unwrap();
        let pages = mm.allocate_pages(OwnerId(1), 3).unwrap();
        assert_eq!(mm.release_all(OwnerId(1)), 4);
        drop(mm);
        crate::segment::return_all(pages);
        assert!(source.upgrade().is_some(), "a live page keeps its account");
        drop(page);
        assert_eq!(source.strong_count(), 0, "the account (and source) went");
    }

    #[test]
    fn an_account_without_pages_is_freed_at_its_release() {
        let (mm, source) = manager();
        drop(mm.allocate_page(OwnerId(1)).unwrap());
        drop(mm.allocate_pages(OwnerId(2), 2).unwrap());
        assert_eq!(mm.release_all(OwnerId(1)), 0);
        // Owner 2's account is cached by this thread; shutting down detaches it.
        drop(mm);
        assert_eq!(
            source.strong_count(),
            0,
            "no account and no cache keeps the source"
        );
    }

    #[test]
    fn pages_of_a_shut_down_manager_free_it_when_they_return_on_other_threads() {
        let (mm, source) = manager();
        let pages = mm.allocate_pages(OwnerId(1), 4).unwrap();
        drop(mm);
        std::thread::scope(|s| {
            for page in pages {
                s.spawn(move || drop(page));
            }
        });
        assert_eq!(source.strong_count(), 0);
    }
}
