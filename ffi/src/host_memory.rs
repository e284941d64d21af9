//! `HostMemory`: what a host charged through `mb_reserve` and `mb_alloc`, so releases can be
//! checked (a host can never release bytes it did not reserve, nor free a pointer twice) and
//! everything is given back when the runtime goes away.

use crate::error::{Error, MB_ERR_OUT_OF_MEMORY};
use crate::sys;
use membudget_allocator::{Budget, Category};
use std::alloc::Layout;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

const SHARDS: usize = 16;
/// Largest alignment `mb_alloc` accepts.
pub(crate) const MAX_ALIGN: usize = 1 << 16;

#[derive(Clone, Copy, Debug)]
struct Allocation {
    layout: Layout,
    category: Category,
}

/// Per-runtime record of host reservations and direct allocations. See the module docs.
#[derive(Debug, Default)]
pub(crate) struct HostMemory {
    reserved: [AtomicU64; Category::COUNT],
    allocated: [AtomicU64; Category::COUNT],
    allocations: [Mutex<HashMap<usize, Allocation>>; SHARDS],
}

#[inline]
fn shard(ptr: usize) -> usize {
    // Blocks are at least 8-aligned; mix the bits above that.
    (ptr >> 4 ^ ptr >> 12) % SHARDS
}

impl HostMemory {
    /// Charges `bytes` of `category` to `budget` on the host's behalf.
    ///
    /// # Errors
    /// `MB_ERR_QUOTA_EXCEEDED` with the budget's message.
    #[inline]
    pub(crate) fn reserve(
        &self,
        budget: &Budget,
        category: Category,
        bytes: u64,
    ) -> Result<(), Error> {
        budget.try_charge(category, bytes)?;
        self.reserved[category.index()].fetch_add(bytes, Ordering::Relaxed);
        Ok(())
    }

    /// Gives back `bytes` of `category` the host reserved before.
    ///
    /// # Errors
    /// `MB_ERR_INVALID_ARGUMENT` if the host holds fewer than `bytes` reserved (nothing is
    /// released then).
    #[inline]
    pub(crate) fn release(
        &self,
        budget: &Budget,
        category: Category,
        bytes: u64,
    ) -> Result<(), Error> {
        // Relaxed: the counter guards only itself; the budget has its own atomics.
        let r = self.reserved[category.index()].fetch_update(
            Ordering::Relaxed,
            Ordering::Relaxed,
            |held| held.checked_sub(bytes),
        );
        match r {
            Ok(_) => {
                budget.release(category, bytes);
                Ok(())
            }
            Err(held) => Err(Error::invalid(format!(
                "mb_release: cannot release {bytes} bytes of {category} memory: the host holds \
                 only {held} bytes reserved through mb_reserve"
            ))),
        }
    }

    /// Allocates `size` bytes aligned to `align`, charged to `category`.
    ///
    /// # Errors
    /// `MB_ERR_INVALID_ARGUMENT` for a zero size or a bad alignment, `MB_ERR_QUOTA_EXCEEDED`,
    /// or `MB_ERR_OUT_OF_MEMORY` when the system allocator fails.
    pub(crate) fn alloc(
        &self,
        budget: &Budget,
        category: Category,
        size: u64,
        align: u64,
    ) -> Result<*mut u8, Error> {
        if size == 0 {
            return Err(Error::invalid(
                "mb_alloc: size is 0; allocate at least 1 byte",
            ));
        }
        if !align.is_power_of_two() || align > MAX_ALIGN as u64 {
            return Err(Error::invalid(format!(
                "mb_alloc: alignment {align} is not a power of two between 1 and {MAX_ALIGN}"
            )));
        }
        let layout = usize::try_from(size)
            .ok()
            .and_then(|s| Layout::from_size_align(s, align as usize).ok())
            .ok_or_else(|| {
                Error::invalid(format!(
                    "mb_alloc: size {size} with alignment {align} exceeds the address space"
                ))
            })?;
        budget.try_charge(category, size)?;
        // SAFETY: `layout.size()` is non-zero (checked above).
        let ptr = unsafe { sys::alloc(layout) };
        if ptr.is_null() {
            budget.release(category, size);
            return Err(Error::new(
                MB_ERR_OUT_OF_MEMORY,
                format!("mb_alloc: the system allocator refused {size} bytes (alignment {align})"),
            ));
        }
        let addr = ptr as usize;
        lock(&self.allocations[shard(addr)]).insert(addr, Allocation { layout, category });
        self.allocated[category.index()].fetch_add(size, Ordering::Relaxed);
        Ok(ptr)
    }

    /// Frees a block from [`alloc`](Self::alloc) and credits its category.
    ///
    /// # Errors
    /// `MB_ERR_INVALID_ARGUMENT` if `ptr` is not a live block of this runtime (double free,
    /// foreign or interior pointer): nothing is freed then.
    pub(crate) fn free(&self, budget: &Budget, ptr: *mut u8) -> Result<(), Error> {
        let addr = ptr as usize;
        let Some(a) = lock(&self.allocations[shard(addr)]).remove(&addr) else {
            return Err(Error::invalid(format!(
                "mb_free: pointer {addr:#x} is not a live block from mb_alloc on this runtime \
                 (already freed, or allocated elsewhere)"
            )));
        };
        // SAFETY: the map held `addr` with its layout, so it came from `sys::alloc(a.layout)`;
        // removing it under the lock means nobody else frees it.
        unsafe { sys::dealloc(ptr, a.layout) };
        let size = a.layout.size() as u64;
        self.allocated[a.category.index()].fetch_sub(size, Ordering::Relaxed);
        budget.release(a.category, size);
        Ok(())
    }

    /// Bytes of `category` the host holds through `mb_reserve`.
    pub(crate) fn reserved(&self, category: Category) -> u64 {
        self.reserved[category.index()].load(Ordering::Relaxed)
    }

    /// Bytes of `category` the host holds through `mb_alloc`.
    pub(crate) fn allocated(&self, category: Category) -> u64 {
        self.allocated[category.index()].load(Ordering::Relaxed)
    }

    /// Frees every block and releases every reservation (the runtime is going away).
    pub(crate) fn release_everything(&self, budget: &Budget) {
        for shard in &self.allocations {
            let blocks: Vec<(usize, Allocation)> = lock(shard).drain().collect();
            for (addr, a) in blocks {
                // SAFETY: as in `free`: the map owned this block, drained under the lock.
                unsafe { sys::dealloc(addr as *mut u8, a.layout) };
                self.allocated[a.category.index()]
                    .fetch_sub(a.layout.size() as u64, Ordering::Relaxed);
                budget.release(a.category, a.layout.size() as u64);
            }
        }
        for c in Category::ALL {
            let held = self.reserved[c.index()].swap(0, Ordering::Relaxed);
            budget.release(c, held);
        }
    }
}

fn lock<V>(m: &Mutex<V>) -> std::sync::MutexGuard<'_, V> {
    // The maps are consistent between any two operations; a panic cannot tear them.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use membudget_allocator::Quotas;

    #[test]
    fn reserve_release_is_checked() {
        let b = Budget::new(Quotas::unlimited().with(Category::Direct, 100));
        let h = HostMemory::default();
        h.reserve(&b, Category::Direct, 60).unwrap();
        assert!(h.reserve(&b, Category::Direct, 41).is_err());
        let e = h.release(&b, Category::Direct, 61).unwrap_err();
        assert_eq!(
            e.message(),
            "mb_release: cannot release 61 bytes of direct memory: the host holds only 60 bytes \
             reserved through mb_reserve"
        );
        h.release(&b, Category::Direct, 60).unwrap();
        assert_eq!(
            (b.used(Category::Direct), h.reserved(Category::Direct)),
            (0, 0)
        );
    }

    #[test]
    fn alloc_free_and_double_free() {
        let b = Budget::new(Quotas::unlimited().with(Category::Direct, 1000));
        let h = HostMemory::default();
        let p = h.alloc(&b, Category::Direct, 100, 64).unwrap();
        assert_eq!(p as usize % 64, 0);
        assert_eq!(b.used(Category::Direct), 100);
        assert!(h.alloc(&b, Category::Direct, 901, 8).is_err());
        assert!(h.alloc(&b, Category::Direct, 0, 8).is_err());
        assert!(h.alloc(&b, Category::Direct, 8, 3).is_err());
        h.free(&b, p).unwrap();
        assert!(h.free(&b, p).is_err(), "double free refused");
        assert_eq!(b.used(Category::Direct), 0);
        let _q = h.alloc(&b, Category::Heap, 10, 1).unwrap();
        h.reserve(&b, Category::Heap, 5).unwrap();
        h.release_everything(&b);
        assert_eq!(b.total_used(), 0);
    }
}
