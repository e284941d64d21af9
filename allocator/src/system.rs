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
//!   tag: the category code, | 0x80 for an attributed block (`allocate_attributed`)
//! ```

use crate::backing::{block_code, decode};
use crate::{Backing, Category};
use core::alloc::{GlobalAlloc, Layout};
use std::alloc::System;

/// Fewest bytes between an attributed block and the tagged block under it: the owner word,
/// and the tag again in the last byte.
const ATTRIBUTED_MIN_PREFIX: usize = 16;

/// The tagged block under an attributed block of `layout`, and the bytes before the attributed
/// block in it (a multiple of `layout.align()`, so the block stays aligned):
///
/// ```text
///   tagged (aligned to the prefix)                 block (returned)
///   |tag| . . . |owner word| . . . . . . . |tag|   block of layout.size() bytes ...
///       '------ max(align, 16) bytes ----------'
/// ```
#[inline]
fn attributed_outer(layout: Layout) -> Option<(Layout, usize)> {
    crate::backing::with_prefix(layout, ATTRIBUTED_MIN_PREFIX)
}

/// The owner word of an attributed block (16 bytes before it).
#[inline]
fn owner_word(block: *mut u8) -> *mut usize {
    prefix(block, ATTRIBUTED_MIN_PREFIX).cast()
}

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

/// A System block of `layout` behind an `align`-byte prefix ending in `tag`.
///
/// # Safety
/// `layout.size()` is not zero.
#[inline]
unsafe fn allocate_tagged(tag: u8, layout: Layout, zeroed: bool) -> *mut u8 {
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
    unsafe { ptr.wrapping_sub(1).write(tag) };
    ptr
}

// SAFETY: blocks fit their layout (the tagged prefix is a multiple of the alignment); the tag is
// written before the block is handed out and `realloc` copies it along with the prefix; System
// never calls the Rust global allocator and does not panic.
unsafe impl Backing for System {
    #[inline]
    unsafe fn allocate(&self, category: Category, layout: Layout, zeroed: bool) -> *mut u8 {
        // SAFETY: forwarded contract.
        unsafe { allocate_tagged(block_code(category, false), layout, zeroed) }
    }

    #[inline]
    unsafe fn allocate_attributed(
        &self,
        category: Category,
        layout: Layout,
        zeroed: bool,
        owner: usize,
    ) -> *mut u8 {
        let Some((outer, before)) = attributed_outer(layout) else {
            return core::ptr::null_mut();
        };
        let tag = block_code(category, true);
        // SAFETY: non-zero size (caller).
        let tagged = unsafe { allocate_tagged(tag, outer, zeroed) };
        if tagged.is_null() {
            return tagged;
        }
        // `before ≤ outer.size()`: the block lies inside the tagged one.
        let block = tagged.wrapping_add(before);
        // SAFETY: the owner word (16 to 8 bytes before `block`) lies in the prefix (at least 16
        // bytes), aligned since `block` is aligned to at least 16.
        unsafe { owner_word(block).write(owner) };
        // SAFETY: the byte before `block` lies in the prefix too.
        unsafe { block.wrapping_sub(1).write(tag) };
        block
    }

    #[inline]
    unsafe fn attributed_owner(&self, ptr: *mut u8, _layout: Layout) -> Option<(Category, usize)> {
        // SAFETY: `ptr` came from `allocate_tagged` or `allocate_attributed`, both of which
        // wrote the tag in the byte just before it.
        let code = unsafe { prefix(ptr, 1).read() };
        let (category, true) = decode(code) else {
            return None;
        };
        // SAFETY: an attributed block: `allocate_attributed` wrote the owner word.
        Some((category, unsafe { owner_word(ptr).read() }))
    }

    #[inline]
    unsafe fn deallocate_attributed(&self, ptr: *mut u8, layout: Layout, _category: Category) {
        if let Some((outer, before)) = attributed_outer(layout) {
            // SAFETY: `ptr - before` is the tagged block `allocate_attributed` made with
            // `outer`.
            unsafe { self.deallocate(prefix(ptr, before), outer) }
        }
    }

    #[inline]
    unsafe fn category_of(&self, ptr: *mut u8, _layout: Layout) -> Category {
        // SAFETY: `ptr` came from `allocate_tagged`, which wrote the tag byte just before it.
        let code = unsafe { prefix(ptr, 1).read() };
        decode(code).0
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
