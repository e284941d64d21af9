//! [`System`] as a [`Backing`]: the platform allocator, with the category in a one-byte tag.
//!
//! A header-free category is impossible over an allocator whose addresses we do not control, so
//! each block is preceded by `layout.align()` bytes whose last byte holds the category code:
//!
//! The pointer std hands back to `dealloc` may carry a provenance narrowed to the block itself
//! (e.g. after a `Box` retag), so the prefix is reached through the base pointer's provenance,
//! exposed when the block was made, not through `ptr`.
//!
//! ```text
//!   base (from System, aligned to align)      ptr (returned, aligned to align)
//!   | . . . . . . . . . . . . . . . . . |tag| block of layout.size() bytes ...
//!   '------------ align bytes ----------'
//! ```

use crate::{Backing, Category};
use core::alloc::{GlobalAlloc, Layout};
use std::alloc::System;

#[inline]
fn outer(layout: Layout) -> Option<Layout> {
    let size = layout.size().checked_add(layout.align())?;
    Layout::from_size_align(size, layout.align()).ok()
}

/// The address `back` bytes before `ptr`, with the (exposed) provenance of the whole block.
#[inline]
fn prefix(ptr: *mut u8, back: usize) -> *mut u8 {
    core::ptr::with_exposed_provenance_mut(ptr.addr().wrapping_sub(back))
}

// SAFETY: blocks fit their layout (the tagged prefix is a multiple of the alignment); the tag is
// written before the block is handed out and `realloc` copies it along with the prefix; System
// never calls the Rust global allocator and does not panic.
unsafe impl Backing for System {
    #[inline]
    unsafe fn allocate(&self, category: Category, layout: Layout, zeroed: bool) -> *mut u8 {
        let Some(outer) = outer(layout) else {
            return core::ptr::null_mut();
        };
        let base = if zeroed {
            // SAFETY: `outer` has a non-zero size.
            unsafe { System.alloc_zeroed(outer) }
        } else {
            // SAFETY: as above.
            unsafe { System.alloc(outer) }
        };
        if base.is_null() {
            return base;
        }
        base.expose_provenance();
        let ptr = base.wrapping_add(layout.align());
        // SAFETY: `base` has `align + size` bytes, so the tag byte just before `ptr` is inside
        // the block.
        unsafe { ptr.wrapping_sub(1).write(category.code()) };
        ptr
    }

    #[inline]
    unsafe fn category_of(&self, ptr: *mut u8, _layout: Layout) -> Category {
        // SAFETY: `ptr` came from `allocate`, which wrote the tag byte just before it.
        let code = unsafe { prefix(ptr, 1).read() };
        Category::from_code(code as u32).unwrap_or(Category::Heap)
    }

    #[inline]
    unsafe fn deallocate(&self, ptr: *mut u8, layout: Layout) {
        if let Some(outer) = outer(layout) {
            // SAFETY: `ptr - align` is the base `allocate` got from System with `outer`.
            unsafe { System.dealloc(prefix(ptr, layout.align()), outer) }
        }
    }

    #[inline]
    unsafe fn reallocate(
        &self,
        ptr: *mut u8,
        layout: Layout,
        _category: Category,
        new_size: usize,
    ) -> *mut u8 {
        let (Some(old), Some(new)) = (
            outer(layout),
            new_size
                .checked_add(layout.align())
                .filter(|n| Layout::from_size_align(*n, layout.align()).is_ok()),
        ) else {
            return core::ptr::null_mut();
        };
        // SAFETY: the base and `old` are what `allocate` used; `new` is a valid non-zero size
        // for this alignment. The tag is inside the copied prefix.
        let base = unsafe { System.realloc(prefix(ptr, layout.align()), old, new) };
        if base.is_null() {
            base
        } else {
            base.expose_provenance();
            base.wrapping_add(layout.align())
        }
    }
}
