//! Raw heap allocation for `mb_alloc`/`mb_free` (the only place this crate allocates by hand).
#![allow(clippy::disallowed_methods)]

use std::alloc::Layout;

/// Allocates `layout` (non-zero size) or returns NULL.
///
/// # Safety
/// `layout.size()` must be non-zero.
#[inline]
pub(crate) unsafe fn alloc(layout: Layout) -> *mut u8 {
    // SAFETY: the caller guarantees a non-zero size.
    unsafe { std::alloc::alloc(layout) }
}

/// Frees a block from [`alloc`].
///
/// # Safety
/// `ptr` came from [`alloc`] with this exact `layout` and was not freed since.
#[inline]
pub(crate) unsafe fn dealloc(ptr: *mut u8, layout: Layout) {
    // SAFETY: forwarded from this function's contract.
    unsafe { std::alloc::dealloc(ptr, layout) }
}
