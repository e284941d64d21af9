//! Raw memory for pages: the only module that maps, advises or allocates raw memory.
//!
//! A [`Chunk`] is one large region obtained from the OS (anonymous `mmap` through `memmap2`)
//! whose usable part starts at an address aligned to the page size. Under Miri, where `mmap` and
//! `madvise` are not (fully) emulated, chunks come from the heap with the same alignment, so the
//! carving logic above this module runs unchanged.
#![allow(clippy::disallowed_methods)]

use std::io;
use std::ptr::NonNull;

/// The operating system's page size.
#[cfg_attr(miri, allow(dead_code))]
pub(crate) fn os_page_size() -> usize {
    #[cfg(not(miri))]
    {
        // SAFETY: sysconf has no preconditions.
        let v = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        if v > 0 {
            v as usize
        } else {
            4096
        }
    }
    #[cfg(miri)]
    {
        4096
    }
}

enum Backing {
    #[cfg(not(miri))]
    Mmap(#[allow(dead_code)] memmap2::MmapMut),
    #[cfg_attr(not(miri), allow(dead_code))]
    Heap(std::alloc::Layout),
}

/// One region of memory, `len` usable bytes from `base`, `base` aligned to the requested
/// alignment. Unmapped (or deallocated) on drop.
pub(crate) struct Chunk {
    base: NonNull<u8>,
    len: usize,
    backing: Backing,
}

// SAFETY: a chunk is a plain region of memory owned by this value; nothing in it is tied to a
// thread.
unsafe impl Send for Chunk {}
// SAFETY: `&Chunk` only exposes the base address and length, never the bytes.
unsafe impl Sync for Chunk {}

impl Chunk {
    /// Maps `len` bytes whose start is aligned to `align` (a power of two). `len` must be a
    /// multiple of `align` and non-zero.
    pub(crate) fn map(len: usize, align: usize, huge_pages: bool) -> io::Result<Chunk> {
        debug_assert!(align.is_power_of_two() && len > 0 && len & (align.wrapping_sub(1)) == 0);
        #[cfg(not(miri))]
        {
            let os = os_page_size();
            let slack = align.saturating_sub(os);
            let map_len = len
                .checked_add(slack)
                .ok_or_else(|| io::Error::from(io::ErrorKind::OutOfMemory))?;
            let mut map = memmap2::MmapMut::map_anon(map_len)?;
            if huge_pages {
                #[cfg(target_os = "linux")]
                {
                    // Best effort: transparent huge pages may be disabled system-wide.
                    let _ = map.advise(memmap2::Advice::HugePage);
                }
            }
            let raw = map.as_mut_ptr();
            let offset = raw.align_offset(align);
            debug_assert!(offset <= slack);
            // SAFETY: `offset <= slack`, so `raw + offset .. raw + offset + len` lies inside the
            // `map_len = len + slack` bytes of the mapping.
            let base = unsafe { raw.add(offset) };
            let base = NonNull::new(base).ok_or_else(|| io::Error::other("mmap returned null"))?;
            Ok(Chunk {
                base,
                len,
                backing: Backing::Mmap(map),
            })
        }
        #[cfg(miri)]
        {
            let _ = huge_pages;
            Chunk::heap(len, align)
        }
    }

    /// A heap-backed chunk (used under Miri, where it keeps the carving logic testable).
    #[cfg_attr(not(miri), allow(dead_code))]
    pub(crate) fn heap(len: usize, align: usize) -> io::Result<Chunk> {
        let layout = std::alloc::Layout::from_size_align(len, align)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        // SAFETY: `len > 0` (checked by the caller's config validation), so the layout is not
        // zero-sized.
        let p = unsafe { std::alloc::alloc_zeroed(layout) };
        let base = NonNull::new(p).ok_or_else(|| io::Error::from(io::ErrorKind::OutOfMemory))?;
        Ok(Chunk {
            base,
            len,
            backing: Backing::Heap(layout),
        })
    }

    /// First usable byte.
    #[inline]
    pub(crate) fn base(&self) -> NonNull<u8> {
        self.base
    }

    /// Usable bytes.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.len
    }
}

impl Drop for Chunk {
    fn drop(&mut self) {
        match &self.backing {
            #[cfg(not(miri))]
            Backing::Mmap(_) => {} // memmap2 unmaps.
            Backing::Heap(layout) => {
                // SAFETY: `base` came from `alloc_zeroed(layout)` in `Chunk::heap` and is freed
                // once, here.
                unsafe { std::alloc::dealloc(self.base.as_ptr(), *layout) }
            }
        }
    }
}

/// Tells the OS it may take back the physical memory behind `len` bytes at `ptr` (the range
/// reads as zeros afterwards). A no-op under Miri (heap-backed chunks) and for ranges that are
/// not whole OS pages.
///
/// # Safety
/// `ptr .. ptr + len` lies inside a live chunk made by [`Chunk::map`] and nothing reads or writes
/// it concurrently (the page is idle).
pub(crate) unsafe fn purge(ptr: NonNull<u8>, len: usize) {
    #[cfg(not(miri))]
    {
        let os = os_page_size();
        // `os` is a power of two (the OS page size).
        let mask = os.wrapping_sub(1);
        if (ptr.as_ptr() as usize) & mask == 0 && len & mask == 0 {
            // SAFETY: the range is inside a private anonymous mapping owned by a live chunk
            // (caller's contract) and idle; MADV_DONTNEED only drops its contents.
            let _ = unsafe { libc::madvise(ptr.as_ptr().cast(), len, libc::MADV_DONTNEED) };
        }
    }
    #[cfg(miri)]
    {
        let _ = (ptr, len);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_is_aligned_and_writable() {
        for align in [4096usize, 32768, 1 << 20] {
            let c = Chunk::map(align * 2, align, false).unwrap();
            assert_eq!(c.base().as_ptr() as usize % align, 0);
            assert_eq!(c.len(), align * 2);
            let bytes = c.base().as_ptr();
            // SAFETY: the whole chunk is ours and mapped; both bytes are inside it.
            unsafe { bytes.write(1) };
            // SAFETY: as above; `len - 1` is the last byte.
            let last = unsafe { bytes.add(c.len() - 1) };
            // SAFETY: as above.
            unsafe { last.write(2) };
        }
    }

    #[test]
    fn heap_chunk_is_aligned() {
        let c = Chunk::heap(8192, 8192).unwrap();
        assert_eq!(c.base().as_ptr() as usize % 8192, 0);
    }
}
