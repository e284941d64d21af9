//! `MemorySegment`: one owned page of off-heap memory (or a wrapped heap buffer).

use crate::manager::AccountPage;
use crate::page_source::SourceInner;
use crate::SegmentError;
use std::ptr::NonNull;
use std::sync::Arc;

/// Where a segment's page goes back, and what keeps that place alive while the page is out.
pub(crate) enum PageReturn {
    /// A page of a page source: the segment holds a reference of the source.
    Source(Arc<SourceInner>),
    /// A managed page: counted in its owner's account, and that count — not a reference count
    /// per page — keeps the account alive (see `PageAccount`), so handing out and returning a
    /// managed page touches no reference count.
    Account(AccountPage),
}

impl PageReturn {
    /// The return of another page taken together with this one (a source reference is
    /// cloned; an account page is already counted, one per page taken).
    #[inline]
    pub(crate) fn another(&self) -> PageReturn {
        match self {
            PageReturn::Source(s) => PageReturn::Source(Arc::clone(s)),
            PageReturn::Account(a) => PageReturn::Account(*a),
        }
    }

    /// Identifies the place pages go back to (for batching returns).
    #[inline]
    fn key(&self) -> *const () {
        match self {
            PageReturn::Source(s) => Arc::as_ptr(s).cast(),
            PageReturn::Account(a) => a.key(),
        }
    }

    /// Takes back the pages at `ptrs` (one lock, one budget credit).
    ///
    /// # Safety
    /// Every page was handed out with a return to the same place as `self` (the segments are
    /// gone, each of them consumed), and nothing accesses the pages any more. For an account,
    /// `self` and every copy of it for these pages must not be used afterwards.
    #[inline]
    unsafe fn return_pages(&self, ptrs: &[NonNull<u8>]) {
        match self {
            // SAFETY: forwarded contract.
            PageReturn::Source(s) => unsafe { s.give_back_many(ptrs) },
            // SAFETY: forwarded contract.
            PageReturn::Account(a) => unsafe { a.return_pages(ptrs) },
        }
    }
}

/// Returns many segments, batching consecutive pages with the same return (up to 64 at a time,
/// on the stack) into one call. Wrapped buffers are simply dropped.
pub(crate) fn return_all(segments: impl IntoIterator<Item = MemorySegment>) {
    const BATCH: usize = 64;
    let mut segments = segments.into_iter();
    // A single segment (the common `release_many` of one page) goes back as a plain drop.
    let Some(first) = segments.next() else {
        return;
    };
    let Some(second) = segments.next() else {
        drop(first);
        return;
    };
    let mut batch = [NonNull::<u8>::dangling(); BATCH];
    let mut len = 0;
    let mut current: Option<PageReturn> = None;
    let flush = |to: &PageReturn, pages: &[NonNull<u8>]| {
        // SAFETY: every page in `pages` was handed out with a return to `to`'s place and its
        // segment is gone (`into_page` consumed it). An account stays alive while a page in
        // the batch is still counted in it, and `to` (an account's) is not used after its
        // last batch: `current` is replaced or dropped right after each flush.
        unsafe { to.return_pages(pages) }
    };
    for seg in [first, second].into_iter().chain(segments) {
        let Some((ptr, to)) = seg.into_page() else {
            continue;
        };
        match &current {
            Some(c) if c.key() == to.key() => {
                if len == BATCH {
                    // Pages still counted in the account (this one, not yet in the batch)
                    // keep it alive after this flush.
                    flush(c, &batch[..len]);
                    len = 0;
                }
            }
            _ => {
                if let Some(c) = current.take() {
                    flush(&c, &batch[..len]);
                }
                len = 0;
                current = Some(to);
            }
        }
        batch[len] = ptr;
        // `len < BATCH`: no overflow.
        len = len.wrapping_add(1);
    }
    if let Some(c) = current.take() {
        flush(&c, &batch[..len]);
    }
}

/// An owned region of memory — normally one page from a [`PageSource`](crate::PageSource) or
/// the [`MemoryManager`](crate::MemoryManager) — with bounds-checked typed access.
///
/// A segment is `Send` and `Sync` but not `Clone`: it is the only handle to its page, reads take
/// `&self` and writes `&mut self`, so no page can be reached after it was returned. Dropping the
/// segment returns the page to its source and credits the budget (and, for managed pages, the
/// owner). Accessors come in three flavours:
/// - `get_*` / `put_*` panic on an out-of-bounds access, naming the index, width and size;
/// - `try_get_*` / `try_put_*` return [`SegmentError::OutOfBounds`] instead;
/// - `*_unchecked` skip the check and are `unsafe`.
///
/// Multi-byte accessors exist in native (`get_u32`), little-endian (`get_u32_le`) and big-endian
/// (`get_u32_be`) byte order. `char` accessors read and write Java's 16-bit `char` as `u16`.
///
/// # Examples
/// ```
/// use membudget_segments::MemorySegment;
///
/// let mut seg = MemorySegment::wrap(vec![0u8; 64]);
/// seg.put_u64_be(8, 0x0102_0304_0506_0708);
/// assert_eq!(seg.get_u8(8), 1);
/// assert_eq!(seg.get_u32_le(12), 0x0807_0605);
/// assert!(seg.try_get_u64_be(60).is_err());
/// ```
pub struct MemorySegment {
    ptr: NonNull<u8>,
    size: usize,
    /// Where the page goes back; `None` for a wrapped heap buffer (from `Box::into_raw`).
    owner: Option<PageReturn>,
}

// SAFETY: the segment exclusively owns its bytes (no other handle to them exists), and the
// source or account it returns them to is `Send + Sync` (an account is shared by its pages on
// any thread: only its atomic count is written, and it is freed by whichever thread uncounts
// its last page).
unsafe impl Send for MemorySegment {}
// SAFETY: `&MemorySegment` gives read-only access to its bytes; writing needs `&mut`.
unsafe impl Sync for MemorySegment {}

impl MemorySegment {
    /// Wraps a heap buffer (for tests and unpooled use). Dropping the segment frees it.
    ///
    /// # Examples
    /// ```
    /// let seg = membudget_segments::MemorySegment::wrap(vec![7u8; 16]);
    /// assert_eq!(seg.size(), 16);
    /// assert_eq!(seg.as_slice()[3], 7);
    /// ```
    pub fn wrap(bytes: impl Into<Box<[u8]>>) -> MemorySegment {
        let boxed: Box<[u8]> = bytes.into();
        let size = boxed.len();
        let raw = Box::into_raw(boxed);
        // SAFETY: `Box::into_raw` never returns null (an empty box yields a dangling, non-null
        // pointer).
        let ptr = unsafe { NonNull::new_unchecked(raw.cast::<u8>()) };
        MemorySegment {
            ptr,
            size,
            owner: None,
        }
    }

    /// A zeroed heap-backed segment of `size` bytes.
    pub fn allocate_unpooled(size: usize) -> MemorySegment {
        MemorySegment::wrap(vec![0u8; size])
    }

    #[inline]
    pub(crate) fn from_page(ptr: NonNull<u8>, size: usize, owner: PageReturn) -> MemorySegment {
        MemorySegment {
            ptr,
            size,
            owner: Some(owner),
        }
    }

    /// Dissolves a page segment into its page and return without returning the page (the
    /// caller must return it there). `None` (after freeing it) for a wrapped buffer.
    fn into_page(self) -> Option<(NonNull<u8>, PageReturn)> {
        let mut me = core::mem::ManuallyDrop::new(self);
        match me.owner.take() {
            Some(owner) => Some((me.ptr, owner)),
            None => {
                // Not a page: drop normally (frees the box).
                drop(core::mem::ManuallyDrop::into_inner(me));
                None
            }
        }
    }

    /// Size in bytes.
    #[inline]
    pub fn size(&self) -> usize {
        self.size
    }

    /// Whether this segment is a page of a page source (not a wrapped buffer).
    pub fn is_page(&self) -> bool {
        self.owner.is_some()
    }

    /// Address of the first byte. Valid for reads of [`size`](Self::size) bytes while `self`
    /// lives.
    #[inline]
    pub fn as_ptr(&self) -> *const u8 {
        self.ptr.as_ptr()
    }

    /// Address of the first byte. Valid for reads and writes of [`size`](Self::size) bytes while
    /// `self` lives and is not otherwise borrowed.
    #[inline]
    pub fn as_mut_ptr(&mut self) -> *mut u8 {
        self.ptr.as_ptr()
    }

    /// The bytes.
    #[inline]
    pub fn as_slice(&self) -> &[u8] {
        // SAFETY: `ptr` is valid for `size` bytes for as long as `self` lives (the page's chunk
        // is kept alive by `source`, a boxed buffer by us), and `&self` excludes writers.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.size) }
    }

    /// The bytes, mutably.
    #[inline]
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: as in `as_slice`, and `&mut self` makes this the only access.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.size) }
    }

    /// Whether `len` bytes at `index` fit.
    #[inline(always)]
    pub(crate) fn fits(&self, index: usize, len: usize) -> bool {
        index.checked_add(len).is_some_and(|end| end <= self.size)
    }

    /// `Ok` if `len` bytes at `index` fit, else the out-of-bounds error.
    #[inline(always)]
    pub(crate) fn check(&self, index: usize, len: usize) -> Result<(), SegmentError> {
        if self.fits(index, len) {
            Ok(())
        } else {
            Err(out_of_bounds(index, len, self.size))
        }
    }

    /// Pointer to byte `index` (no check).
    ///
    /// # Safety
    /// `index <= size`.
    #[inline(always)]
    pub(crate) unsafe fn at(&self, index: usize) -> *mut u8 {
        // SAFETY: `index <= size` (caller), so the result is in or one past the allocation.
        unsafe { self.ptr.as_ptr().add(index) }
    }
}

#[cold]
#[inline(never)]
pub(crate) fn out_of_bounds(index: usize, len: usize, size: usize) -> SegmentError {
    SegmentError::OutOfBounds { index, len, size }
}

/// Panics with the out-of-bounds message.
#[cold]
#[inline(never)]
#[track_caller]
pub(crate) fn panic_out_of_bounds(index: usize, len: usize, size: usize) -> ! {
    panic!("{}", out_of_bounds(index, len, size))
}

impl Drop for MemorySegment {
    #[inline]
    fn drop(&mut self) {
        match &self.owner {
            // SAFETY: the page was handed out by this source and this segment, its only
            // handle, is going away (its reference of the source drops after this).
            Some(PageReturn::Source(s)) => unsafe { s.give_back(self.ptr) },
            // SAFETY: the page was handed out counted in this account and this segment, its
            // only handle, is going away; the copy of the account page is not used again.
            Some(PageReturn::Account(a)) => unsafe { a.return_page(self.ptr) },
            None => {
                let raw = std::ptr::slice_from_raw_parts_mut(self.ptr.as_ptr(), self.size);
                // SAFETY: `raw` is exactly what `Box::into_raw` returned in `wrap`; rebuilt once.
                drop(unsafe { Box::from_raw(raw) });
            }
        }
    }
}

impl core::fmt::Debug for MemorySegment {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("MemorySegment")
            .field("address", &self.ptr)
            .field("size", &self.size)
            .field("page", &self.is_page())
            .finish()
    }
}
