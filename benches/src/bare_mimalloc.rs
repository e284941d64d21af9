//! [`BareMimalloc`]: mimalloc with nothing in front, the allocators' baseline.

use std::alloc::{GlobalAlloc, Layout};

/// Bare mimalloc, called exactly as the `mimalloc` crate's `MiMalloc` calls it.
#[derive(Clone, Copy, Debug, Default)]
pub struct BareMimalloc;

// SAFETY: forwards to mimalloc, which honours size and alignment.
unsafe impl GlobalAlloc for BareMimalloc {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: plain FFI with a valid size and power-of-two alignment.
        unsafe { libmimalloc_sys::mi_malloc_aligned(layout.size(), layout.align()) as *mut u8 }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as above.
        unsafe { libmimalloc_sys::mi_zalloc_aligned(layout.size(), layout.align()) as *mut u8 }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        // SAFETY: `ptr` came from mimalloc.
        unsafe { libmimalloc_sys::mi_free(ptr as *mut core::ffi::c_void) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `ptr` came from mimalloc; valid size and alignment.
        unsafe {
            libmimalloc_sys::mi_realloc_aligned(
                ptr as *mut core::ffi::c_void,
                new_size,
                layout.align(),
            ) as *mut u8
        }
    }
}
