//! `PageSource`: page-aligned pages carved from large anonymous mappings, charged to a budget.

use crate::segment::PageHook;
use crate::sys::{self, Chunk};
use crate::{MemorySegment, SegmentError};
use crossbeam_queue::SegQueue;
use membudget_allocator::{Category, SharedBudget};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

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

/// Checks that `page_size` is a power of two of at least 4 KiB.
pub(crate) fn validate_page_size(page_size: usize) -> Result<(), SegmentError> {
    if page_size < MIN_PAGE_SIZE || !page_size.is_power_of_two() {
        return Err(SegmentError::InvalidConfig {
            what: "page size ('taskmanager.memory.segment-size')",
            value: page_size as u64,
            requirement: "It must be a power of two of at least 4096 bytes.",
        });
    }
    Ok(())
}

/// An idle page in the free list.
struct FreePage {
    ptr: NonNull<u8>,
    /// Whether its memory may be resident (written since it was mapped or last purged).
    resident: bool,
}

// SAFETY: a free page is an address of idle memory owned by the source; any thread may take it.
unsafe impl Send for FreePage {}

/// Shared state of a page source; every segment it hands out holds an `Arc` of it, so chunks
/// are unmapped only when the source and all its segments are gone.
pub(crate) struct SourceInner {
    page_size: usize,
    category: Category,
    budget: SharedBudget,
    chunk_size: usize,
    retain_pages: usize,
    huge_pages: bool,
    free: SegQueue<FreePage>,
    /// Taken only to grow; holds every chunk until the source drops.
    chunks: Mutex<Vec<Chunk>>,
    outstanding: AtomicUsize,
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
///  │ page 0 │ page 1 │ page 2 │ ... │ page n │──► free list (lock-free) ──► MemorySegment
///  └────────┴────────┴────────┴─────┴────────┘                     ◄── drop ──┘
/// ```
///
/// Taking a page pops the lock-free free list and charges `page_size` bytes to the category;
/// only when the list is empty does a thread take the growth lock and map another chunk.
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
        let chunk_size = config.chunk_size.max(page).div_ceil(page) * page;
        Ok(PageSource {
            inner: Arc::new(SourceInner {
                page_size: page,
                category: config.category,
                budget: config.budget,
                chunk_size,
                retain_pages: config.retain_bytes / page,
                huge_pages: config.huge_pages,
                free: SegQueue::new(),
                chunks: Mutex::new(Vec::new()),
                outstanding: AtomicUsize::new(0),
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
        self.inner.try_take(None)
    }

    /// Takes `n` pages, all or nothing, charging `n * page_size` bytes at once.
    ///
    /// # Errors
    /// As [`try_allocate`](Self::try_allocate); on error no page is taken and nothing charged.
    pub fn try_allocate_many(&self, n: usize) -> Result<Vec<MemorySegment>, SegmentError> {
        self.inner.try_take_many(n, None)
    }

    /// Takes `n` pages whose drop also calls `hook` (used by the `MemoryManager`).
    pub(crate) fn take_many_hooked(
        &self,
        n: usize,
        hook: &Arc<dyn PageHook>,
    ) -> Result<Vec<MemorySegment>, SegmentError> {
        self.inner.try_take_many(n, Some(hook))
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

    /// Pages handed out and not yet dropped.
    pub fn pages_outstanding(&self) -> usize {
        self.inner.outstanding.load(Ordering::Relaxed)
    }

    /// Pages in the free list.
    pub fn pages_idle(&self) -> usize {
        self.inner.idle.load(Ordering::Relaxed)
    }

    /// Idle pages whose memory may still be resident (not given back to the OS).
    pub fn pages_idle_resident(&self) -> usize {
        self.inner.idle_resident.load(Ordering::Relaxed)
    }

    /// Pages carved from all chunks so far (`bytes_mapped / page_size`).
    pub fn pages_total(&self) -> usize {
        self.bytes_mapped() / self.inner.page_size
    }

    /// Bytes mapped from the OS (usable part of all chunks).
    pub fn bytes_mapped(&self) -> usize {
        self.inner.mapped.load(Ordering::Relaxed)
    }

    /// Bytes per chunk (after rounding to whole pages).
    pub fn chunk_size(&self) -> usize {
        self.inner.chunk_size
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
    fn try_take(
        self: &Arc<Self>,
        hook: Option<&Arc<dyn PageHook>>,
    ) -> Result<MemorySegment, SegmentError> {
        let bytes = self.page_size as u64;
        self.budget.try_charge(self.category, bytes)?;
        match self.pop_or_grow() {
            Ok(ptr) => {
                self.outstanding.fetch_add(1, Ordering::Relaxed);
                Ok(MemorySegment::from_page(ptr, self.clone(), hook.cloned()))
            }
            Err(e) => {
                self.budget.release(self.category, bytes);
                Err(e)
            }
        }
    }

    fn try_take_many(
        self: &Arc<Self>,
        n: usize,
        hook: Option<&Arc<dyn PageHook>>,
    ) -> Result<Vec<MemorySegment>, SegmentError> {
        if n == 0 {
            return Ok(Vec::new());
        }
        let bytes = (n as u64).saturating_mul(self.page_size as u64);
        self.budget.try_charge(self.category, bytes)?;
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            match self.pop_or_grow() {
                Ok(ptr) => {
                    self.outstanding.fetch_add(1, Ordering::Relaxed);
                    out.push(MemorySegment::from_page(ptr, self.clone(), hook.cloned()));
                }
                Err(e) => {
                    // Give back what was taken; each drop credits one page, the rest we credit.
                    let taken = out.len() as u64;
                    for seg in out.drain(..) {
                        seg.forget_hook_and_drop();
                    }
                    self.budget
                        .release(self.category, bytes - taken * self.page_size as u64);
                    return Err(e);
                }
            }
        }
        Ok(out)
    }

    #[inline]
    fn pop_or_grow(&self) -> Result<NonNull<u8>, SegmentError> {
        match self.free.pop() {
            Some(p) => Ok(self.took_idle(p)),
            None => self.grow(),
        }
    }

    #[inline]
    fn took_idle(&self, p: FreePage) -> NonNull<u8> {
        self.idle.fetch_sub(1, Ordering::Relaxed);
        if p.resident {
            self.idle_resident.fetch_sub(1, Ordering::Relaxed);
        }
        p.ptr
    }

    #[cold]
    #[inline(never)]
    fn grow(&self) -> Result<NonNull<u8>, SegmentError> {
        let mut chunks = self.chunks.lock().unwrap_or_else(|e| e.into_inner());
        // Another thread may have grown while we waited for the lock.
        if let Some(p) = self.free.pop() {
            return Ok(self.took_idle(p));
        }
        let chunk = Chunk::map(self.chunk_size, self.page_size, self.huge_pages).map_err(|e| {
            SegmentError::Os {
                category: self.category,
                bytes: self.chunk_size,
                source: e,
            }
        })?;
        let base = chunk.base();
        let pages = chunk.len() / self.page_size;
        // Counted before the pushes so a concurrent pop never decrements below zero.
        self.idle.fetch_add(pages - 1, Ordering::Relaxed);
        for i in 1..pages {
            // SAFETY: `i * page_size < chunk.len()`, so the page start lies inside the chunk.
            let ptr = unsafe { base.add(i * self.page_size) };
            // Fresh pages are untouched, so not resident.
            self.free.push(FreePage {
                ptr,
                resident: false,
            });
        }
        self.mapped.fetch_add(chunk.len(), Ordering::Relaxed);
        chunks.push(chunk);
        Ok(base)
    }

    /// Takes back a page handed out by this source and credits the budget.
    ///
    /// # Safety
    /// `ptr` is a page of this source handed out earlier and no longer accessed by anyone.
    #[inline]
    pub(crate) unsafe fn give_back(&self, ptr: NonNull<u8>) {
        let mut resident = true;
        if self.idle_resident.load(Ordering::Relaxed) >= self.retain_pages {
            // SAFETY: the page lies in one of our chunks, which live as long as `self`, and the
            // caller no longer accesses it.
            unsafe { sys::purge(ptr, self.page_size) };
            resident = false;
        } else {
            self.idle_resident.fetch_add(1, Ordering::Relaxed);
        }
        self.idle.fetch_add(1, Ordering::Relaxed);
        self.outstanding.fetch_sub(1, Ordering::Relaxed);
        // The queue's push/pop pair orders our last writes to the page before the next owner's
        // first access.
        self.free.push(FreePage { ptr, resident });
        self.budget.release(self.category, self.page_size as u64);
    }

    #[inline]
    pub(crate) fn page_size(&self) -> usize {
        self.page_size
    }
}
