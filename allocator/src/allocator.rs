//! `QuotaAllocator`: the global allocator that charges every block to a category.

use crate::{local, Backing, Budget, Category};
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

    #[inline(always)]
    unsafe fn allocate(&self, layout: Layout, zeroed: bool) -> *mut u8 {
        let size = layout.size() as u64;
        let Some(category) = local::charge_current(size) else {
            return null_mut();
        };
        // SAFETY: GlobalAlloc callers pass a non-zero size.
        let p = unsafe { self.backing.allocate(category, layout, zeroed) };
        if p.is_null() {
            local::credit(category, size);
        }
        p
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
        // SAFETY: `ptr` is a live block of ours allocated with `layout` (GlobalAlloc contract).
        let category = unsafe { self.backing.category_of(ptr, layout) };
        // SAFETY: as above; the block is not used afterwards.
        unsafe { self.backing.deallocate(ptr, layout) };
        local::credit(category, layout.size() as u64);
    }

    #[inline(always)]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `ptr` is a live block of ours allocated with `layout` (GlobalAlloc contract).
        let category = unsafe { self.backing.category_of(ptr, layout) };
        let (old, new) = (layout.size() as u64, new_size as u64);
        // Only the difference is charged or credited; each is taken only when positive.
        let (grow, shrink) = (new.saturating_sub(old), old.saturating_sub(new));
        if grow > 0 && !local::charge(category, grow) {
            return null_mut();
        }
        // SAFETY: forwarded GlobalAlloc contract; `category` is the block's.
        let p = unsafe { self.backing.reallocate(ptr, layout, category, new_size) };
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
