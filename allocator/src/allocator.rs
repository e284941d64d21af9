//! `QuotaAllocator`: the global allocator that charges every block to a category.

use crate::{attribution, local, Backing, Budget, Category};
use core::alloc::{GlobalAlloc, Layout};
use core::ptr::null_mut;

/// The backing used by [`QuotaAllocator::new`]: [`Mimalloc`](crate::Mimalloc) with the
/// `mimalloc` feature (the default), else [`System`](std::alloc::System).
#[cfg(feature = "mimalloc")]
pub type DefaultBacking = crate::Mimalloc;
/// The backing used by [`QuotaAllocator::new`]: [`Mimalloc`](crate::Mimalloc) with the
/// `mimalloc` feature (the default), else [`System`](std::alloc::System).
#[cfg(not(feature = "mimalloc"))]
pub type DefaultBacking = std::alloc::System;

/// A `GlobalAlloc` that charges each block to the calling thread's category of the process
/// budget ([`Budget::global`]) and returns null when the category's quota (or the process
/// total) would be exceeded.
///
/// ```no_run
/// use membudget_allocator::QuotaAllocator;
///
/// #[global_allocator]
/// static A: QuotaAllocator = QuotaAllocator::new();
/// ```
///
/// A free is credited to the category the block was charged to (on any thread, in any scope),
/// `realloc` keeps the block's category and charges only the difference, and the common path
/// touches only thread-local state. See the crate docs for how.
#[derive(Debug, Default)]
pub struct QuotaAllocator<B: Backing = DefaultBacking> {
    backing: B,
}

impl QuotaAllocator<DefaultBacking> {
    /// The allocator over the default backing.
    pub const fn new() -> Self {
        QuotaAllocator {
            #[cfg(feature = "mimalloc")]
            backing: crate::Mimalloc,
            #[cfg(not(feature = "mimalloc"))]
            backing: std::alloc::System,
        }
    }
}

impl<B: Backing> QuotaAllocator<B> {
    /// The allocator over `backing`, e.g. `QuotaAllocator::with_backing(std::alloc::System)`.
    pub const fn with_backing(backing: B) -> Self {
        QuotaAllocator { backing }
    }

    /// The backing allocator.
    pub const fn backing(&self) -> &B {
        &self.backing
    }

    /// The budget this allocator charges: always the process budget.
    #[inline]
    pub fn budget(&self) -> &'static Budget {
        Budget::global()
    }

    /// Allocation: the heap category's fast path inline (charge the thread's allowance, call
    /// the backing), everything else out of line.
    #[inline(always)]
    unsafe fn allocate(&self, layout: Layout, zeroed: bool) -> *mut u8 {
        if !local::try_charge_heap(layout.size() as u64) {
            // SAFETY: forwarded GlobalAlloc contract.
            return unsafe {
                Self::allocate_slow(layout.size(), layout.align(), zeroed, &self.backing)
            };
        }
        // SAFETY: GlobalAlloc callers pass a non-zero size.
        let p = unsafe { self.backing.allocate(Category::Heap, layout, zeroed) };
        if p.is_null() {
            local::uncharge_last_heap();
        }
        p
    }

    /// Allocation in any category and any thread state: registers the thread, draws
    /// allowances, allocates in the category's arena, refuses over the quota. (The layout comes
    /// apart, in the order `alloc` receives it, so the fast path jumps here without moving
    /// registers.)
    ///
    /// # Safety
    /// As [`GlobalAlloc::alloc`] for the layout of `size` and `align`.
    #[cold]
    #[inline(never)]
    unsafe fn allocate_slow(size: usize, align: usize, zeroed: bool, backing: &B) -> *mut u8 {
        // SAFETY: `size` and `align` come from a `Layout` (caller).
        let layout = unsafe { Layout::from_size_align_unchecked(size, align) };
        Self::cache_heap_above(backing);
        let consumer = attribution::current();
        if !consumer.is_null() {
            // SAFETY: the thread's attribution guard keeps `consumer` alive; non-zero size
            // (GlobalAlloc contract).
            return unsafe {
                attribution::allocate(backing, consumer, local::current_category(), layout, zeroed)
            };
        }
        let size = layout.size() as u64;
        let Some(category) = local::charge_current(size) else {
            return null_mut();
        };
        // SAFETY: GlobalAlloc callers pass a non-zero size.
        let p = unsafe { backing.allocate(category, layout, zeroed) };
        if p.is_null() {
            local::credit(category, size);
        }
        p
    }

    /// Caches the backing's heap bound in the calling thread, once known.
    #[inline]
    fn cache_heap_above(backing: &B) {
        if !local::heap_above_cached() {
            local::cache_heap_above(backing.heap_above());
        }
    }

    /// A free of a block outside the heap category, or one the thread cannot keep as
    /// allowance: credits the block's category, then frees it.
    #[cold]
    #[inline(never)]
    unsafe fn deallocate_slow(ptr: *mut u8, layout: Layout, backing: &B) {
        Self::cache_heap_above(backing);
        // SAFETY: a live block of ours with `layout` (caller).
        if let Some((category, owner)) = unsafe { backing.attributed_owner(ptr, layout) } {
            // SAFETY: an attributed block of `category` and `owner` (the backing says so); not
            // used afterwards.
            return unsafe { attribution::deallocate(backing, ptr, layout, category, owner) };
        }
        // SAFETY: a live block of ours with `layout` (caller).
        let category = unsafe { backing.category_of(ptr, layout) };
        local::credit(category, layout.size() as u64);
        // SAFETY: a live block of ours with `layout` and this category (caller); not used
        // afterwards.
        unsafe { backing.deallocate_in(ptr, layout, category) };
    }

    /// The category `ptr` was charged to.
    ///
    /// # Safety
    /// `ptr` is a live block of this allocator allocated with `layout`.
    #[inline]
    pub unsafe fn category_of(&self, ptr: *mut u8, layout: Layout) -> Category {
        // SAFETY: forwarded precondition.
        unsafe { self.backing.category_of(ptr, layout) }
    }
}

/// Undoes the heap charge of a reallocation the backing failed (out of line: the OS refused
/// memory).
#[cold]
#[inline(never)]
fn uncharge_heap(bytes: u64) {
    local::credit(Category::Heap, bytes);
}

// SAFETY: blocks come from the backing, which honours layouts; accounting never touches the
// blocks. Nothing here panics or allocates: the charge/credit paths use atomics, thread-local
// `Cell`s and libc calls that do not enter the Rust allocator.
unsafe impl<B: Backing> GlobalAlloc for QuotaAllocator<B> {
    #[inline(always)]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded GlobalAlloc contract.
        unsafe { self.allocate(layout, false) }
    }

    #[inline(always)]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded GlobalAlloc contract.
        unsafe { self.allocate(layout, true) }
    }

    #[inline(always)]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // The credit comes before the free, so the free is the last call (a tail call): `used`
        // drops an instant before the memory does, never after.
        if !local::try_credit_heap(ptr as usize, layout.size()) {
            // SAFETY: `ptr` is a live block of ours allocated with `layout` (GlobalAlloc
            // contract).
            return unsafe { Self::deallocate_slow(ptr, layout, &self.backing) };
        }
        // SAFETY: as above, and above the heap bound it is a heap block; it is not used
        // afterwards.
        unsafe { self.backing.deallocate_in(ptr, layout, Category::Heap) };
    }

    #[inline(always)]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // The fast path: a heap block (above the thread's cached heap bound) grown within
        // the thread's allowance; only the growth is charged. Anything else (other categories,
        // shrinking, an allowance running short) goes out of line.
        let Some(grow) = new_size.checked_sub(layout.size()) else {
            // SAFETY: forwarded GlobalAlloc contract.
            return unsafe { Self::reallocate_slow(ptr, layout, new_size, &self.backing) };
        };
        if !local::try_charge_heap_block(ptr as usize, grow as u64) {
            // SAFETY: forwarded GlobalAlloc contract.
            return unsafe { Self::reallocate_slow(ptr, layout, new_size, &self.backing) };
        }
        // SAFETY: forwarded GlobalAlloc contract; the block is a heap block.
        let p = unsafe {
            self.backing
                .reallocate(ptr, layout, Category::Heap, new_size)
        };
        if p.is_null() {
            uncharge_heap(grow as u64);
        }
        p
    }
}

impl<B: Backing> QuotaAllocator<B> {
    /// Reallocation of a block in any category and any thread state: charges or credits the
    /// difference to the block's category, which the block keeps.
    ///
    /// # Safety
    /// As [`GlobalAlloc::realloc`].
    #[cold]
    #[inline(never)]
    unsafe fn reallocate_slow(
        ptr: *mut u8,
        layout: Layout,
        new_size: usize,
        backing: &B,
    ) -> *mut u8 {
        Self::cache_heap_above(backing);
        // SAFETY: `ptr` is a live block of ours allocated with `layout` (GlobalAlloc contract).
        if let Some((category, owner)) = unsafe { backing.attributed_owner(ptr, layout) } {
            // SAFETY: forwarded GlobalAlloc contract; an attributed block of `category` and
            // `owner`.
            return unsafe {
                attribution::reallocate(backing, ptr, layout, category, owner, new_size)
            };
        }
        // SAFETY: `ptr` is a live block of ours allocated with `layout` (GlobalAlloc contract).
        let category = unsafe { backing.category_of(ptr, layout) };
        let (old, new) = (layout.size() as u64, new_size as u64);
        // Only the difference is charged or credited; each is taken only when positive.
        let (grow, shrink) = (new.saturating_sub(old), old.saturating_sub(new));
        if grow > 0 && !local::charge(category, grow) {
            return null_mut();
        }
        // SAFETY: forwarded GlobalAlloc contract; `category` is the block's.
        let p = unsafe { backing.reallocate(ptr, layout, category, new_size) };
        if p.is_null() {
            if grow > 0 {
                local::credit(category, grow);
            }
        } else if shrink > 0 {
            local::credit(category, shrink);
        }
        p
    }
}
