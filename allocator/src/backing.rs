//! What a [`QuotaAllocator`](crate::QuotaAllocator) allocates from, and how it finds a block's
//! category again.

use crate::Category;
use core::alloc::Layout;

/// The memory source under a [`QuotaAllocator`](crate::QuotaAllocator): it allocates a block
/// for a category and, given the block back, says which category that was.
///
/// The crate provides [`Mimalloc`](crate::Mimalloc) (feature `mimalloc`, the default: no
/// per-block header) and [`std::alloc::System`] (a small per-block tag).
///
/// # Safety
/// An implementation must:
/// - return null or a block that fits `layout` (size and alignment), like `GlobalAlloc`;
/// - for every live block `p` it returned for category `c`, answer
///   [`category_of(p, layout)`](Backing::category_of) with exactly `c` — from any thread — and
///   keep that answer through [`reallocate`](Backing::reallocate);
/// - if it implements [`allocate_attributed`](Backing::allocate_attributed), answer
///   [`attributed_owner`](Backing::attributed_owner) with `Some((c, owner))` for exactly the
///   live blocks it returned for category `c` and `owner` (also from any thread), and `None`
///   for every other block;
/// - never call the global allocator, never panic and never unwind.
pub unsafe trait Backing: Sync {
    /// Allocates a block for `category` (zeroed if `zeroed`), or returns null.
    ///
    /// # Safety
    /// `layout.size()` is not zero.
    unsafe fn allocate(&self, category: Category, layout: Layout, zeroed: bool) -> *mut u8;

    /// The category `ptr` was allocated for.
    ///
    /// # Safety
    /// `ptr` is a live block of this backing allocated with `layout`.
    unsafe fn category_of(&self, ptr: *mut u8, layout: Layout) -> Category;

    /// Frees a block.
    ///
    /// # Safety
    /// `ptr` is a live block of this backing allocated with `layout`; it is dead afterwards.
    unsafe fn deallocate(&self, ptr: *mut u8, layout: Layout);

    /// An address at or above which every block of this backing is of [`Category::Heap`],
    /// once that bound is fixed for the rest of the process; `None` while it is not known or
    /// may still change (the default). The allocator caches it per thread so a free of a heap
    /// block above it needs no [`category_of`](Backing::category_of) (a block below it is looked
    /// up as usual); 0 says every block is a heap block. May be slow (called once per thread).
    fn heap_above(&self) -> Option<usize> {
        None
    }

    /// Frees a block whose category the caller already knows, so the backing need not find it
    /// again (the allocator's free path looks it up first). Defaults to
    /// [`deallocate`](Backing::deallocate).
    ///
    /// # Safety
    /// As [`deallocate`](Backing::deallocate), and `category` is the block's
    /// [`category_of`](Backing::category_of).
    #[inline]
    unsafe fn deallocate_in(&self, ptr: *mut u8, layout: Layout, category: Category) {
        let _ = category;
        // SAFETY: forwarded contract.
        unsafe { self.deallocate(ptr, layout) }
    }

    /// Allocates an *attributed* block for `category` that carries `owner`, a word the caller
    /// gets back from [`attributed_owner`](Backing::attributed_owner): the allocator stores
    /// there the child budget the block is charged to (`attribution.rs`). An attributed block
    /// must be told apart from the blocks of [`allocate`](Backing::allocate) by its address or
    /// tag alone, so that a free of any other block pays nothing for attribution. Null on
    /// failure, or if the backing cannot keep such blocks apart (the default: the allocator
    /// then refuses attributed allocations).
    ///
    /// # Safety
    /// As [`allocate`](Backing::allocate).
    unsafe fn allocate_attributed(
        &self,
        category: Category,
        layout: Layout,
        zeroed: bool,
        owner: usize,
    ) -> *mut u8 {
        let _ = (category, layout, zeroed, owner);
        core::ptr::null_mut()
    }

    /// The category and owner of a block of
    /// [`allocate_attributed`](Backing::allocate_attributed), or `None` for a block of
    /// [`allocate`](Backing::allocate).
    ///
    /// # Safety
    /// `ptr` is a live block of this backing allocated with `layout`.
    #[inline]
    unsafe fn attributed_owner(&self, ptr: *mut u8, layout: Layout) -> Option<(Category, usize)> {
        let _ = (ptr, layout);
        None
    }

    /// Frees a block of [`allocate_attributed`](Backing::allocate_attributed).
    ///
    /// # Safety
    /// `ptr` is a live attributed block of `category` allocated with `layout`; it is dead
    /// afterwards.
    unsafe fn deallocate_attributed(&self, ptr: *mut u8, layout: Layout, category: Category) {
        // Never called: the default `allocate_attributed` makes no attributed block.
        let _ = (ptr, layout, category);
    }

    /// Resizes a block of `category` (its [`category_of`](Backing::category_of)) to `new_size`
    /// bytes, keeping its category; returns null (the old block untouched) on failure.
    ///
    /// # Safety
    /// As for [`GlobalAlloc::realloc`](core::alloc::GlobalAlloc::realloc), and `category` is
    /// the block's category.
    unsafe fn reallocate(
        &self,
        ptr: *mut u8,
        layout: Layout,
        category: Category,
        new_size: usize,
    ) -> *mut u8;
}

/// The block to ask for so that a block of `layout` fits after a prefix of at least
/// `min_prefix` bytes (a power of two) and stays aligned, and the prefix's length (a multiple of
/// `layout.align()`): how the backings make room for an attributed block's owner word. `None`
/// if that overflows.
#[inline]
pub(crate) fn with_prefix(layout: Layout, min_prefix: usize) -> Option<(Layout, usize)> {
    let prefix = layout.align().max(min_prefix);
    let size = layout.size().checked_add(prefix)?;
    Some((Layout::from_size_align(size, prefix).ok()?, prefix))
}

/// The bit a backing sets in a block's category code (a granule's or a tag's) for an
/// attributed block; category codes lie below it.
pub(crate) const ATTRIBUTED: u8 = 0x80;

/// The code of `category`'s blocks, attributed or not.
#[inline]
pub(crate) const fn block_code(category: Category, attributed: bool) -> u8 {
    category.code() | if attributed { ATTRIBUTED } else { 0 }
}

/// The category a block code names (the heap for an unknown one), and whether it is attributed.
#[inline]
pub(crate) fn decode(code: u8) -> (Category, bool) {
    let category = Category::from_code(u32::from(code & !ATTRIBUTED)).unwrap_or(Category::Heap);
    (category, code & ATTRIBUTED != 0)
}
