//! `PageSource`: page-aligned pages carved from large anonymous mappings, charged to a budget.

use crate::segment::PageReturn;
use crate::sync::{AtomicPtr, AtomicUsize, Mutex, MutexGuard, Ordering};
use crate::sys::{self, Chunk};
use crate::{MemorySegment, SegmentError};
use membudget_allocator::SharedBudget;
use membudget_core::Category;
use std::ptr::NonNull;
use std::sync::Arc;

/// Default page size: 32 KiB, as Flink's `taskmanager.memory.segment-size`.
pub const DEFAULT_PAGE_SIZE: usize = 32 * 1024;
/// Smallest page size accepted.
pub const MIN_PAGE_SIZE: usize = 4 * 1024;
/// Default chunk size: 4 MiB obtained from the OS at a time.
pub const DEFAULT_CHUNK_SIZE: usize = 4 * 1024 * 1024;
/// Default high-water mark of idle, resident memory kept before idle pages go back to the OS.
pub const DEFAULT_RETAIN_BYTES: usize = 64 * 1024 * 1024;
/// Largest chunk accepted (1 TiB).
const MAX_CHUNK_SIZE: usize = 1 << 40;
/// Largest page size accepted (1 GiB; Flink's segments are Java arrays, below 2 GiB).
pub const MAX_PAGE_SIZE: usize = 1 << 30;

/// Settings of a [`PageSource`].
///
/// # Examples
/// ```
/// use membudget_allocator::{Category, SharedBudget};
/// use membudget_segments::PageSourceConfig;
///
/// let mut config = PageSourceConfig::new(32 * 1024, Category::Network, SharedBudget::global());
/// config.chunk_size = 2 << 20;
/// config.huge_pages = true;
/// ```
#[derive(Clone, Debug)]
pub struct PageSourceConfig {
    /// Bytes per page: a power of two, at least 4 KiB.
    pub page_size: usize,
    /// The category every page handed out is charged to.
    pub category: Category,
    /// The budget charged.
    pub budget: SharedBudget,
    /// Bytes mapped from the OS at a time (rounded up to a multiple of `page_size`).
    pub chunk_size: usize,
    /// High-water mark of idle memory kept resident: once more idle bytes than this are
    /// resident, further returned pages are given back to the OS (`MADV_DONTNEED`).
    pub retain_bytes: usize,
    /// Ask for transparent huge pages (`MADV_HUGEPAGE`, best effort).
    pub huge_pages: bool,
}

impl PageSourceConfig {
    /// A config with [`DEFAULT_CHUNK_SIZE`], [`DEFAULT_RETAIN_BYTES`] and no huge pages.
    pub fn new(page_size: usize, category: Category, budget: SharedBudget) -> PageSourceConfig {
        PageSourceConfig {
            page_size,
            category,
            budget,
            chunk_size: DEFAULT_CHUNK_SIZE,
            retain_bytes: DEFAULT_RETAIN_BYTES,
            huge_pages: false,
        }
    }
}

/// Checks that `page_size` is a power of two of at least 4 KiB and at most 1 GiB.
pub(crate) fn validate_page_size(page_size: usize) -> Result<(), SegmentError> {
    let what = "page size ('taskmanager.memory.segment-size')";
    if page_size < MIN_PAGE_SIZE || !page_size.is_power_of_two() {
        return Err(SegmentError::InvalidConfig {
            what,
            value: page_size as u64,
            requirement: "It must be a power of two of at least 4096 bytes.",
        });
    }
    if page_size > MAX_PAGE_SIZE {
        return Err(SegmentError::InvalidConfig {
            what,
            value: page_size as u64,
            requirement: "It must be at most 1073741824 bytes (1 GiB).",
        });
    }
    Ok(())
}

/// An idle page in the free list.
#[derive(Clone, Copy)]
struct FreePage {
    ptr: NonNull<u8>,
    /// Whether its memory may be resident (written since it was mapped or last purged).
    resident: bool,
}

/// The free pages, a LIFO stack (the most recently returned page is the warmest in cache).
struct FreeList {
    pages: Vec<FreePage>,
    /// How many of `pages` are `resident`.
    resident: usize,
}

// SAFETY: a free page is an address of idle memory owned by the source; any thread may take
// it, and the list is only reached through its mutex.
unsafe impl Send for FreeList {}

/// Shared state of a page source. Every segment it hands out keeps it alive (directly or through
/// the manager's owner account), so chunks are unmapped only when the source and all its
/// segments are gone.
pub(crate) struct SourceInner {
    page_size: usize,
    category: Category,
    budget: SharedBudget,
    chunk_size: usize,
    /// Idle pages kept resident at most (0 once the source's owner shut down: see
    /// [`PageSource::release_idle_memory`]).
    retain_pages: AtomicUsize,
    huge_pages: bool,
    /// The hot page: the most recently returned page, resident, or null. A return of one page
    /// swaps itself in (pushing the page it displaces onto `free`), a take of one page swaps
    /// it out: one atomic exchange each instead of the free list's lock and unlock, and the
    /// warmest page is reused first. Idle like the pages of `free`, and counted with them.
    hot: AtomicPtr<u8>,
    /// Held for a few instructions per take/return: pop or push of a plain `Vec`.
    free: Mutex<FreeList>,
    /// Held only while mapping a chunk; owns every chunk until the source drops.
    chunks: Mutex<Vec<Chunk>>,
    /// Mirrors of the free list's counts, stored (not read-modify-written) under its lock so
    /// statistics can be read without taking it.
    idle: AtomicUsize,
    idle_resident: AtomicUsize,
    mapped: AtomicUsize,
}

/// Page-aligned pages of one size, carved from large anonymous mappings and charged to one
/// category of a budget.
///
/// ```text
///  chunk (chunk_size bytes, one mmap, start aligned to page_size)
///  ┌────────┬────────┬────────┬─────┬────────┐
///  │ page 0 │ page 1 │ page 2 │ ... │ page n │──► free list (LIFO) ──► MemorySegment
///  └────────┴────────┴────────┴─────┴────────┘                     ◄── drop ──┘
/// ```
///
/// Taking a page charges `page_size` bytes to the category and takes the *hot page* — the page
/// returned last, held in one atomic slot — or else pops the free list; only when both are
/// empty does a thread take the growth lock and map another chunk (the syscall never runs under
/// the free-list lock). A single page returned while fewer than `retain_bytes` are idle and
/// resident becomes the hot page (the one it displaces goes to the list), so a page taken and
/// given back one at a time costs one atomic exchange each way instead of a lock and an unlock
/// (measured: each locked instruction is ~5 ns here, and they dominate this path). The hot
/// page is an idle page like those of the list — uncharged, counted in
/// [`pages_idle`](Self::pages_idle) and [`pages_idle_resident`](Self::pages_idle_resident),
/// taken by list requests before a chunk is mapped, and given back to the OS by
/// [`release_idle_memory`](Self::release_idle_memory) — so it changes no accounting. The
/// free list is a `Vec` behind a mutex held for a single push or pop, or one batch for
/// [`try_allocate_many`](Self::try_allocate_many) and [`release_many`](Self::release_many). It
/// replaced a `crossbeam_queue::SegQueue` after measuring: uncontended, a lock/unlock pair is
/// two atomic operations, fewer than a `SegQueue` pop + push, batches need only one, and the
/// LIFO order reuses the warmest page first.
/// Dropping a [`MemorySegment`] pushes its page back and credits the budget. Chunks stay mapped
/// while the source or any of its segments lives (so no page can be used after it is unmapped);
/// idle pages beyond [`PageSourceConfig::retain_bytes`] are given back to the OS with
/// `MADV_DONTNEED`, which keeps the address range but frees the physical memory. Pages are not
/// zeroed when reused. The mapped-but-idle memory itself is not charged to any category.
///
/// Cloning is cheap (an `Arc`).
///
/// # Examples
/// ```
/// use membudget_allocator::{Budget, Category, Quotas, SharedBudget};
/// use membudget_segments::{PageSource, PageSourceConfig};
///
/// let budget = SharedBudget::from(Budget::new(Quotas::unlimited().with(Category::Network, 1 << 20)));
/// let source = PageSource::new(PageSourceConfig::new(32 * 1024, Category::Network, budget.clone()))?;
/// let mut page = source.try_allocate()?;
/// page.put_u64_be(0, 42);
/// assert_eq!(budget.used(Category::Network), 32 * 1024);
/// drop(page);
/// assert_eq!(budget.used(Category::Network), 0);
/// assert_eq!(source.pages_idle(), source.pages_total());
/// # Ok::<(), membudget_segments::SegmentError>(())
/// ```
#[derive(Clone)]
pub struct PageSource {
    inner: Arc<SourceInner>,
}

impl PageSource {
    /// A page source with the given settings. Maps nothing until the first page is taken.
    ///
    /// # Errors
    /// [`SegmentError::InvalidConfig`] if the page size is not a power of two of at least
    /// 4 KiB, or the chunk size is larger than 1 TiB.
    pub fn new(config: PageSourceConfig) -> Result<PageSource, SegmentError> {
        validate_page_size(config.page_size)?;
        if config.chunk_size > MAX_CHUNK_SIZE {
            return Err(SegmentError::InvalidConfig {
                what: "chunk size",
                value: config.chunk_size as u64,
                requirement: "It must be at most 1 TiB.",
            });
        }
        let page = config.page_size;
        // Whole pages, at least one: at most 1 TiB + 1 GiB, so no overflow.
        let chunk_size = config
            .chunk_size
            .max(page)
            .div_ceil(page)
            .saturating_mul(page);
        Ok(PageSource {
            inner: Arc::new(SourceInner {
                page_size: page,
                category: config.category,
                budget: config.budget,
                chunk_size,
                retain_pages: AtomicUsize::new(config.retain_bytes.checked_div(page).unwrap_or(0)),
                huge_pages: config.huge_pages,
                hot: AtomicPtr::new(core::ptr::null_mut()),
                free: Mutex::new(FreeList {
                    pages: Vec::new(),
                    resident: 0,
                }),
                chunks: Mutex::new(Vec::new()),
                idle: AtomicUsize::new(0),
                idle_resident: AtomicUsize::new(0),
                mapped: AtomicUsize::new(0),
            }),
        })
    }

    /// Takes one page, charging `page_size` bytes to the category.
    ///
    /// # Errors
    /// [`SegmentError::Quota`] if the budget refuses; [`SegmentError::Os`] if a new chunk was
    /// needed and the OS refused it. Nothing is charged then.
    #[inline]
    pub fn try_allocate(&self) -> Result<MemorySegment, SegmentError> {
        self.inner.try_take()
    }

    /// Takes `n` pages, all or nothing, charging `n * page_size` bytes at once.
    ///
    /// # Errors
    /// As [`try_allocate`](Self::try_allocate), and [`SegmentError::TooManyPages`] if `n` pages
    /// cannot exist in the address space (nothing is charged then); [`SegmentError::Os`] also
    /// when the list of `n` segments cannot be allocated. On error no page is taken and nothing
    /// stays charged.
    pub fn try_allocate_many(&self, n: usize) -> Result<Vec<MemorySegment>, SegmentError> {
        self.inner.try_take_many(n, None)
    }

    /// Takes `n` pages, each returned to `to` when dropped (used by the `MemoryManager`, with
    /// `n` pages counted in an owner's account). Charges the budget like `try_allocate_many`.
    pub(crate) fn take_many_owned(
        &self,
        n: usize,
        to: PageReturn,
    ) -> Result<Vec<MemorySegment>, SegmentError> {
        self.inner.try_take_many(n, Some(to))
    }

    pub(crate) fn inner(&self) -> &Arc<SourceInner> {
        &self.inner
    }

    /// Returns pages (the same as dropping them, but pages of one source go back under one
    /// lock with one budget credit).
    pub fn release_many(&self, segments: impl IntoIterator<Item = MemorySegment>) {
        crate::segment::return_all(segments);
    }

    /// Bytes per page.
    #[inline]
    pub fn page_size(&self) -> usize {
        self.inner.page_size
    }

    /// The category pages are charged to.
    pub fn category(&self) -> Category {
        self.inner.category
    }

    /// The budget pages are charged to.
    pub fn budget(&self) -> &SharedBudget {
        &self.inner.budget
    }

    /// Pages handed out and not yet dropped (`pages_total - pages_idle`; exact when no take
    /// or return is in flight).
    pub fn pages_outstanding(&self) -> usize {
        self.pages_total().saturating_sub(self.pages_idle())
    }

    /// Pages idle in the source (handed out by none of its segments).
    pub fn pages_idle(&self) -> usize {
        self.inner
            .idle
            .load(Ordering::Relaxed)
            .saturating_add(self.inner.hot_pages())
    }

    /// Idle pages whose memory may still be resident (not given back to the OS).
    pub fn pages_idle_resident(&self) -> usize {
        self.inner.idle_resident_pages()
    }

    /// Pages carved from all chunks so far (`bytes_mapped / page_size`).
    pub fn pages_total(&self) -> usize {
        self.bytes_mapped()
            .checked_div(self.inner.page_size)
            .unwrap_or(0)
    }

    /// Bytes mapped from the OS (usable part of all chunks).
    pub fn bytes_mapped(&self) -> usize {
        self.inner.mapped.load(Ordering::Relaxed)
    }

    /// Bytes per chunk (after rounding to whole pages).
    pub fn chunk_size(&self) -> usize {
        self.inner.chunk_size
    }

    /// Gives idle memory back to the operating system: unmaps every chunk whose pages are all
    /// idle, and purges (`MADV_DONTNEED`) the idle pages of the others; from now on pages that
    /// come back are purged at once instead of kept resident (`retain_bytes` becomes 0). Used
    /// when the owner of the source shuts down while segments may still be out. Returns the
    /// bytes unmapped. Pages can still be taken afterwards (new chunks are mapped as needed).
    pub fn release_idle_memory(&self) -> usize {
        self.inner.release_idle_memory()
    }
}

impl core::fmt::Debug for PageSource {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PageSource")
            .field("page_size", &self.page_size())
            .field("category", &self.category())
            .field("outstanding", &self.pages_outstanding())
            .field("idle", &self.pages_idle())
            .field("bytes_mapped", &self.bytes_mapped())
            .finish()
    }
}

impl SourceInner {
    #[inline]
    fn try_take(self: &Arc<Self>) -> Result<MemorySegment, SegmentError> {
        let ptr = self.take_one()?;
        Ok(MemorySegment::from_page(
            ptr,
            self.page_size,
            PageReturn::Source(self.clone()),
        ))
    }

    /// Charges and takes one page.
    #[inline]
    pub(crate) fn take_one(&self) -> Result<NonNull<u8>, SegmentError> {
        let bytes = self.page_size as u64;
        self.budget.try_charge(self.category, bytes)?;
        if let Some(ptr) = self.take_hot() {
            return Ok(ptr);
        }
        let popped = {
            let mut free = self.lock_free_list();
            let p = free.pages.pop();
            if let Some(p) = p {
                self.took(&mut free, p);
            }
            p
        };
        match popped {
            Some(p) => Ok(p.ptr),
            None => match self.take_slow(1) {
                Ok(mut v) => Ok(v.pop().expect("take_slow returns what was asked")),
                Err(e) => {
                    self.budget.release(self.category, bytes);
                    Err(e)
                }
            },
        }
    }

    fn try_take_many(
        self: &Arc<Self>,
        n: usize,
        owner: Option<PageReturn>,
    ) -> Result<Vec<MemorySegment>, SegmentError> {
        let owner = owner.unwrap_or_else(|| PageReturn::Source(self.clone()));
        if n <= 1 {
            let mut out = Vec::with_capacity(n);
            if n == 1 {
                out.push(MemorySegment::from_page(
                    self.take_one()?,
                    self.page_size,
                    owner,
                ));
            }
            return Ok(out);
        }
        let bytes = self.bytes_of(n)?;
        // Room for the result before anything is charged or taken: a list nobody can allocate
        // is refused, not a panic or an abort halfway.
        let mut out: Vec<MemorySegment> = Vec::new();
        let mut ptrs: Vec<NonNull<u8>> = Vec::new();
        if out.try_reserve_exact(n).is_err() || ptrs.try_reserve_exact(n).is_err() {
            return Err(self.no_memory_for_list(n));
        }
        self.budget.try_charge(self.category, bytes)?;
        let mut got = {
            let mut free = self.lock_free_list();
            let k = n.min(free.pages.len());
            // `k ≤ len`: no wrap.
            let start = free.pages.len().wrapping_sub(k);
            let resident = free.pages[start..].iter().filter(|p| p.resident).count();
            free.resident = free.resident.saturating_sub(resident);
            ptrs.extend(free.pages.drain(start..).map(|p| p.ptr));
            self.publish(&free);
            k
        };
        if got < n {
            // `got < n`: no wrap.
            match self.take_slow(n.wrapping_sub(got)) {
                Ok(more) => {
                    got = got.saturating_add(more.len());
                    ptrs.extend(more);
                }
                Err(e) => {
                    self.put_back(&ptrs);
                    self.budget.release(self.category, bytes);
                    return Err(e);
                }
            }
        }
        debug_assert_eq!(got, n);
        let Some(last) = ptrs.pop() else {
            // Unreachable (n > 1 pages were taken); nothing to hand out.
            return Ok(out);
        };
        out.extend(
            ptrs.into_iter()
                .map(|ptr| MemorySegment::from_page(ptr, self.page_size, owner.another())),
        );
        out.push(MemorySegment::from_page(last, self.page_size, owner));
        Ok(out)
    }

    /// Bytes of `n` pages, or [`SegmentError::TooManyPages`] if they cannot fit in the address
    /// space.
    fn bytes_of(&self, n: usize) -> Result<u64, SegmentError> {
        n.checked_mul(self.page_size)
            .filter(|&b| b <= isize::MAX as usize)
            .map(|b| b as u64)
            .ok_or(SegmentError::TooManyPages {
                requested: n,
                page_size: self.page_size,
            })
    }

    #[cold]
    fn no_memory_for_list(&self, n: usize) -> SegmentError {
        SegmentError::Os {
            category: self.category,
            bytes: n.saturating_mul(core::mem::size_of::<MemorySegment>()),
            source: std::io::Error::from(std::io::ErrorKind::OutOfMemory),
        }
    }

    #[inline]
    fn lock_free_list(&self) -> MutexGuard<'_, FreeList> {
        // No code panics while holding the lock, so a poisoned list is still consistent.
        self.free.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Bookkeeping for one page popped from `free`.
    #[inline]
    fn took(&self, free: &mut FreeList, p: FreePage) {
        if p.resident {
            free.resident = free.resident.saturating_sub(1);
        }
        self.publish(free);
    }

    /// Takes the hot page, if there is one. The load first spares the exchange (a locked
    /// instruction) when the slot is empty, as in list-sized requests.
    #[inline]
    fn take_hot(&self) -> Option<NonNull<u8>> {
        if self.hot.load(Ordering::Relaxed).is_null() {
            return None;
        }
        // Acquire: the returning thread's last writes to the page (before its Release swap)
        // happen before our first access.
        NonNull::new(self.hot.swap(core::ptr::null_mut(), Ordering::Acquire))
    }

    /// 1 if a hot page is idle in the slot, else 0.
    #[inline]
    fn hot_pages(&self) -> usize {
        usize::from(!self.hot.load(Ordering::Relaxed).is_null())
    }

    /// Idle pages that may be resident: those so marked in the free list and the hot page.
    #[inline]
    fn idle_resident_pages(&self) -> usize {
        self.idle_resident
            .load(Ordering::Relaxed)
            .saturating_add(self.hot_pages())
    }

    /// Stores the list's counts into the lock-free mirrors.
    #[inline]
    fn publish(&self, free: &FreeList) {
        self.idle.store(free.pages.len(), Ordering::Relaxed);
        self.idle_resident.store(free.resident, Ordering::Relaxed);
    }

    /// Returns pages taken during a failed request (they were not written).
    fn put_back(&self, ptrs: &[NonNull<u8>]) {
        let mut free = self.lock_free_list();
        free.pages.extend(ptrs.iter().map(|&ptr| FreePage {
            ptr,
            resident: true,
        }));
        free.resident = free.resident.saturating_add(ptrs.len());
        self.publish(&free);
    }

    /// Takes `n` pages when the free list ran dry, mapping chunks as needed.
    #[cold]
    #[inline(never)]
    fn take_slow(&self, n: usize) -> Result<Vec<NonNull<u8>>, SegmentError> {
        let mut out = Vec::new();
        if out.try_reserve_exact(n).is_err() {
            return Err(self.no_memory_for_list(n));
        }
        let mut chunks = self.lock_chunks();
        while out.len() < n {
            // Pages returned (or mapped by another thread) while we waited come first.
            {
                let mut free = self.lock_free_list();
                while out.len() < n {
                    let Some(p) = free.pages.pop() else { break };
                    if p.resident {
                        free.resident = free.resident.saturating_sub(1);
                    }
                    out.push(p.ptr);
                }
                self.publish(&free);
            }
            if out.len() < n {
                out.extend(self.take_hot());
            }
            if out.len() == n {
                break;
            }
            let chunk = match Chunk::map(self.chunk_size, self.page_size, self.huge_pages) {
                Ok(c) => c,
                Err(e) => {
                    drop(chunks);
                    self.put_back(&out);
                    return Err(SegmentError::Os {
                        category: self.category,
                        bytes: self.chunk_size,
                        source: e,
                    });
                }
            };
            let base = chunk.base();
            // Validated non-zero page size.
            let pages = chunk.len().checked_div(self.page_size).unwrap_or(0);
            let mut free = self.lock_free_list();
            if free.pages.try_reserve(pages).is_err() || chunks.try_reserve(1).is_err() {
                // The chunk is unmapped as it drops; nothing of it was handed out.
                drop((free, chunks, chunk));
                self.put_back(&out);
                return Err(SegmentError::Os {
                    category: self.category,
                    bytes: self.chunk_size,
                    source: std::io::Error::from(std::io::ErrorKind::OutOfMemory),
                });
            }
            self.mapped.fetch_add(chunk.len(), Ordering::Relaxed);
            // Pushed in reverse so the first page is popped first; fresh pages are untouched,
            // so not resident.
            for i in (0..pages).rev() {
                // `i * page_size < chunk.len()`: no overflow.
                let offset = i.wrapping_mul(self.page_size);
                // SAFETY: `offset < chunk.len()`, so the page start lies inside the chunk.
                let ptr = unsafe { base.add(offset) };
                free.pages.push(FreePage {
                    ptr,
                    resident: false,
                });
            }
            self.publish(&free);
            drop(free);
            chunks.push(chunk);
        }
        Ok(out)
    }

    /// Takes back a page handed out by this source and credits the budget.
    ///
    /// # Safety
    /// `ptr` is a page of this source handed out earlier and no longer accessed by anyone.
    #[inline]
    pub(crate) unsafe fn give_back(&self, mut ptr: NonNull<u8>) {
        // Racy read of the mirrors: the high-water mark is a soft limit, and the syscall must
        // not run under the lock.
        let resident = self.idle_resident_pages() < self.retain_pages.load(Ordering::Relaxed);
        if resident {
            // Release: our last writes to the page happen before the next taker's first access
            // (its Acquire swap, or the list's lock if the page is displaced into the list).
            let displaced = self.hot.swap(ptr.as_ptr(), Ordering::AcqRel);
            match NonNull::new(displaced) {
                None => {
                    self.budget.release(self.category, self.page_size as u64);
                    return;
                }
                // The page that was hot goes to the list instead (resident, idle since its
                // own return).
                Some(older) => ptr = older,
            }
        } else {
            // SAFETY: the page lies in one of our chunks, which live as long as `self`, and the
            // caller no longer accesses it.
            unsafe { sys::purge(ptr, self.page_size) };
        }
        {
            // The mutex orders our last writes to the page before the next owner's first access.
            let mut free = self.lock_free_list();
            free.pages.push(FreePage { ptr, resident });
            free.resident = free.resident.saturating_add(usize::from(resident));
            self.publish(&free);
        }
        self.budget.release(self.category, self.page_size as u64);
    }
}

impl SourceInner {
    #[inline]
    pub(crate) fn page_size(&self) -> usize {
        self.page_size
    }

    /// Takes back several pages under one lock and credits the budget once.
    ///
    /// # Safety
    /// As [`give_back`](Self::give_back), for every page.
    pub(crate) unsafe fn give_back_many(&self, ptrs: &[NonNull<u8>]) {
        if ptrs.is_empty() {
            return;
        }
        let room = self
            .retain_pages
            .load(Ordering::Relaxed)
            .saturating_sub(self.idle_resident_pages());
        for &ptr in ptrs.iter().skip(room) {
            // SAFETY: the page lies in one of our chunks and is no longer accessed (caller).
            unsafe { sys::purge(ptr, self.page_size) };
        }
        {
            let mut free = self.lock_free_list();
            free.pages
                .extend(ptrs.iter().enumerate().map(|(i, &ptr)| FreePage {
                    ptr,
                    resident: i < room,
                }));
            free.resident = free.resident.saturating_add(room.min(ptrs.len()));
            self.publish(&free);
        }
        // These pages were charged together or one by one, `len × page_size` bytes in all.
        let bytes = (ptrs.len() as u64).saturating_mul(self.page_size as u64);
        self.budget.release(self.category, bytes);
    }

    fn lock_chunks(&self) -> MutexGuard<'_, Vec<Chunk>> {
        // Chunks are pushed and removed whole, so a poisoned list is still consistent.
        self.chunks.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// See [`PageSource::release_idle_memory`].
    pub(crate) fn release_idle_memory(&self) -> usize {
        self.retain_pages.store(0, Ordering::Relaxed);
        let mut chunks = self.lock_chunks();
        let mut free = self.lock_free_list();
        // The hot page joins the list, to be unmapped or purged with it. With `retain_pages`
        // now 0 no page is made hot again (a return that read the old mark just before may
        // still leave one, as it may leave a resident page in the list: a soft limit).
        if let Some(p) = NonNull::new(self.hot.swap(core::ptr::null_mut(), Ordering::Acquire)) {
            free.pages.push(FreePage {
                ptr: p,
                resident: true,
            });
            free.resident = free.resident.saturating_add(1);
        }
        let page = self.page_size;
        let mut unmapped = 0usize;
        chunks.retain(|chunk| {
            let start = chunk.base().as_ptr() as usize;
            let inside = |p: &FreePage| (p.ptr.as_ptr() as usize).wrapping_sub(start) < chunk.len();
            let idle = free.pages.iter().filter(|p| inside(p)).count();
            if idle.saturating_mul(page) == chunk.len() {
                // Every page of the chunk is idle: nobody can reach it once it leaves the list.
                let gone = free
                    .pages
                    .iter()
                    .filter(|p| inside(p) && p.resident)
                    .count();
                free.pages.retain(|p| !inside(p));
                free.resident = free.resident.saturating_sub(gone);
                unmapped = unmapped.saturating_add(chunk.len());
                false
            } else {
                true
            }
        });
        for p in free.pages.iter_mut().filter(|p| p.resident) {
            // SAFETY: an idle page (in the free list, which we hold) of a live chunk.
            unsafe { sys::purge(p.ptr, page) };
            p.resident = false;
        }
        free.resident = 0;
        self.publish(&free);
        self.mapped.fetch_sub(unmapped, Ordering::Relaxed);
        drop(free);
        // Unmapped as the removed chunks drop (with the chunk lock still held, so no taker maps
        // or counts meanwhile).
        unmapped
    }
}
