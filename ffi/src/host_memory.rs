//! `HostMemory`: what a host charged through `mb_reserve` and `mb_alloc`, so releases can be
//! checked (a host can never release bytes it did not reserve, nor free a pointer twice) and
//! everything is given back when the runtime goes away.
//!
//! Shutting down closes the record: a reservation or allocation racing it on another thread
//! is refused and undone (`MB_ERR_DESTROYED`), never left charged to a budget nobody can
//! release any more. Each per-category counter carries the closed flag in its top bit, so a
//! reservation either lands before the shutdown takes the counter (and is released with it) or
//! sees the flag; each allocation shard carries it under its lock.

use crate::call::Call;
use crate::error::{Error, MB_ERR_OUT_OF_MEMORY};
use crate::runtime::freed_meanwhile;
use crate::sys;
use core::ptr::NonNull;
use membudget_allocator::{Budget, Category};
use std::alloc::Layout;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

const SHARDS: usize = 16;
/// Largest alignment `mb_alloc` accepts.
pub(crate) const MAX_ALIGN: usize = 1 << 16;
/// The closed flag of a reservation counter (bytes stay below it).
const CLOSED: u64 = 1 << 63;

#[derive(Debug)]
struct Allocation {
    /// The block (kept as a pointer, so freeing it at shutdown keeps its provenance).
    ptr: NonNull<u8>,
    layout: Layout,
    category: Category,
}

// SAFETY: a block is plain memory owned by the record; any thread may free it under the
// shard's lock.
unsafe impl Send for Allocation {}

/// One shard of the live blocks.
#[derive(Debug, Default)]
struct Shard {
    blocks: HashMap<usize, Allocation>,
    closed: bool,
}

/// Per-runtime record of host reservations and direct allocations. See the module docs.
#[derive(Debug, Default)]
pub(crate) struct HostMemory {
    /// Bytes reserved per category, `| CLOSED` once shut down.
    reserved: [AtomicU64; Category::COUNT],
    allocated: [AtomicU64; Category::COUNT],
    shards: [Mutex<Shard>; SHARDS],
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
    /// `MB_ERR_QUOTA_EXCEEDED` with the budget's message; `MB_ERR_DESTROYED` when the runtime
    /// shut down meanwhile (nothing stays charged); `MB_ERR_INVALID_ARGUMENT` if the host's
    /// reservations would pass 2^63 bytes.
    #[inline]
    pub(crate) fn reserve(
        &self,
        call: Call,
        budget: &Budget,
        category: Category,
        bytes: u64,
    ) -> Result<(), Error> {
        budget.try_charge(category, bytes)?;
        // Release on success: the shutdown that takes this reservation (Acquire) must see the
        // budget charge above, or its release could be ordered before the charge in the
        // budget's counters and be clamped away (Miri found exactly that). The closed flag is in
        // the same word, so failure needs no ordering.
        let added = self.reserved[category.index()].fetch_update(
            Ordering::Release,
            Ordering::Relaxed,
            |held| {
                held.checked_add(bytes)
                    .filter(|now| held & CLOSED == 0 && now & CLOSED == 0)
            },
        );
        match added {
            Ok(_) => Ok(()),
            Err(held) => {
                budget.release(category, bytes);
                Err(if held & CLOSED != 0 {
                    freed_meanwhile(call)
                } else {
                    call.invalid(format_args!(
                        "cannot reserve {bytes} more bytes of {category} memory: the host \
                         holds {held} bytes reserved already"
                    ))
                })
            }
        }
    }

    /// Gives back `bytes` of `category` the host reserved before.
    ///
    /// # Errors
    /// `MB_ERR_INVALID_ARGUMENT` if the host holds fewer than `bytes` reserved (nothing is
    /// released then); `MB_ERR_DESTROYED` when the runtime shut down meanwhile (it released
    /// everything).
    #[inline]
    pub(crate) fn release(
        &self,
        call: Call,
        budget: &Budget,
        category: Category,
        bytes: u64,
    ) -> Result<(), Error> {
        // Acquire on success: the reservation may have been made on another thread, and its
        // budget charge (published by `reserve`'s Release) must come before this release.
        let r = self.reserved[category.index()].fetch_update(
            Ordering::Acquire,
            Ordering::Relaxed,
            |held| {
                if held & CLOSED != 0 {
                    None
                } else {
                    held.checked_sub(bytes)
                }
            },
        );
        match r {
            Ok(_) => {
                budget.release(category, bytes);
                Ok(())
            }
            Err(held) if held & CLOSED != 0 => Err(freed_meanwhile(call)),
            Err(held) => Err(call.invalid(format_args!(
                "cannot release {bytes} bytes of {category} memory: the host holds only {held} \
                 bytes reserved through mb_reserve"
            ))),
        }
    }

    /// Allocates `size` bytes aligned to `align`, charged to `category`.
    ///
    /// # Errors
    /// `MB_ERR_INVALID_ARGUMENT` for a zero size or a bad alignment, `MB_ERR_QUOTA_EXCEEDED`,
    /// `MB_ERR_OUT_OF_MEMORY` when the system allocator fails, `MB_ERR_DESTROYED` when the
    /// runtime shut down meanwhile (nothing stays allocated or charged).
    pub(crate) fn alloc(
        &self,
        call: Call,
        budget: &Budget,
        category: Category,
        size: u64,
        align: u64,
    ) -> Result<*mut u8, Error> {
        if size == 0 {
            return Err(call.invalid("size is 0; allocate at least 1 byte"));
        }
        if !align.is_power_of_two() || align > MAX_ALIGN as u64 {
            return Err(call.invalid(format_args!(
                "alignment {align} is not a power of two between 1 and {MAX_ALIGN}"
            )));
        }
        let layout = usize::try_from(size)
            .ok()
            .and_then(|s| Layout::from_size_align(s, align as usize).ok())
            .ok_or_else(|| {
                call.invalid(format_args!(
                    "size {size} with alignment {align} exceeds the address space"
                ))
            })?;
        budget.try_charge(category, size)?;
        // SAFETY: `layout.size()` is non-zero (checked above).
        let Some(block) = NonNull::new(unsafe { sys::alloc(layout) }) else {
            budget.release(category, size);
            return Err(call.error(
                MB_ERR_OUT_OF_MEMORY,
                format_args!("the system allocator refused {size} bytes (alignment {align})"),
            ));
        };
        let ptr = block.as_ptr();
        let addr = ptr as usize;
        let mut shard = lock(&self.shards[shard(addr)]);
        if shard.closed {
            drop(shard);
            // SAFETY: allocated just above with `layout` and never shared.
            unsafe { sys::dealloc(ptr, layout) };
            budget.release(category, size);
            return Err(freed_meanwhile(call));
        }
        shard.blocks.insert(
            addr,
            Allocation {
                ptr: block,
                layout,
                category,
            },
        );
        self.allocated[category.index()].fetch_add(size, Ordering::Relaxed);
        Ok(ptr)
    }

    /// Frees a block from [`alloc`](Self::alloc) and credits its category.
    ///
    /// # Errors
    /// `MB_ERR_INVALID_ARGUMENT` if `ptr` is not a live block of this runtime (double free,
    /// foreign or interior pointer): nothing is freed then; `MB_ERR_DESTROYED` when the runtime
    /// shut down meanwhile (it freed every block).
    pub(crate) fn free(&self, call: Call, budget: &Budget, ptr: *mut u8) -> Result<(), Error> {
        let addr = ptr as usize;
        let a = {
            let mut shard = lock(&self.shards[shard(addr)]);
            if shard.closed {
                return Err(freed_meanwhile(call));
            }
            let Some(a) = shard.blocks.remove(&addr) else {
                return Err(call.invalid(format_args!(
                    "pointer {addr:#x} is not a live block from mb_alloc on this runtime \
                     (already freed, or allocated elsewhere)"
                )));
            };
            let size = a.layout.size() as u64;
            self.allocated[a.category.index()].fetch_sub(size, Ordering::Relaxed);
            a
        };
        // SAFETY: the map held `addr` with its layout, so it came from `sys::alloc(a.layout)`;
        // removing it under the lock means nobody else frees it.
        unsafe { sys::dealloc(ptr, a.layout) };
        budget.release(a.category, a.layout.size() as u64);
        Ok(())
    }

    /// Bytes of `category` the host holds through `mb_reserve`.
    pub(crate) fn reserved(&self, category: Category) -> u64 {
        self.reserved[category.index()].load(Ordering::Relaxed) & !CLOSED
    }

    /// Bytes of `category` the host holds through `mb_alloc`.
    pub(crate) fn allocated(&self, category: Category) -> u64 {
        self.allocated[category.index()].load(Ordering::Relaxed)
    }

    /// Frees every block, releases every reservation and refuses everything from now on (the
    /// runtime is going away). Idempotent.
    pub(crate) fn shut_down(&self, budget: &Budget) {
        for shard in &self.shards {
            let blocks = {
                let mut s = lock(shard);
                s.closed = true;
                std::mem::take(&mut s.blocks)
            };
            for a in blocks.into_values() {
                // SAFETY: as in `free`: the map owned this block, taken out under the lock.
                unsafe { sys::dealloc(a.ptr.as_ptr(), a.layout) };
                self.allocated[a.category.index()]
                    .fetch_sub(a.layout.size() as u64, Ordering::Relaxed);
                budget.release(a.category, a.layout.size() as u64);
            }
        }
        for c in Category::ALL {
            // Acquire: pairs with `reserve`'s Release, so every charge counted in `held`
            // happened before the release below. After this every change sees the flag.
            let held = self.reserved[c.index()].swap(CLOSED, Ordering::Acquire) & !CLOSED;
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
    use crate::error::{MB_ERR_DESTROYED, MB_ERR_INVALID_ARGUMENT};
    use membudget_allocator::Quotas;

    const R: Call = Call::new("mb_reserve");
    const L: Call = Call::new("mb_release");
    const A: Call = Call::new("mb_alloc");
    const F: Call = Call::new("mb_free");

    #[test]
    fn reserve_release_is_checked() {
        let b = Budget::new(Quotas::unlimited().with(Category::Direct, 100));
        let h = HostMemory::default();
        h.reserve(R, &b, Category::Direct, 60).unwrap();
        assert!(h.reserve(R, &b, Category::Direct, 41).is_err());
        let e = h.release(L, &b, Category::Direct, 61).unwrap_err();
        assert_eq!(
            e.message(),
            "mb_release: cannot release 61 bytes of direct memory: the host holds only 60 bytes \
             reserved through mb_reserve"
        );
        h.release(L, &b, Category::Direct, 60).unwrap();
        assert_eq!(
            (b.used(Category::Direct), h.reserved(Category::Direct)),
            (0, 0)
        );
    }

    #[test]
    fn reservations_that_would_reach_the_closed_flag_are_refused() {
        let b = Budget::new(Quotas::unlimited());
        let h = HostMemory::default();
        h.reserve(R, &b, Category::Heap, 1 << 62).unwrap();
        let e = h.reserve(R, &b, Category::Heap, 1 << 62).unwrap_err();
        assert_eq!(e.status(), MB_ERR_INVALID_ARGUMENT);
        assert_eq!(
            b.used(Category::Heap),
            1 << 62,
            "the refused charge was undone"
        );
        h.release(L, &b, Category::Heap, 1 << 62).unwrap();
    }

    #[test]
    fn alloc_free_and_double_free() {
        let b = Budget::new(Quotas::unlimited().with(Category::Direct, 1000));
        let h = HostMemory::default();
        let p = h.alloc(A, &b, Category::Direct, 100, 64).unwrap();
        assert_eq!(p as usize % 64, 0);
        assert_eq!(b.used(Category::Direct), 100);
        assert!(h.alloc(A, &b, Category::Direct, 901, 8).is_err());
        assert!(h.alloc(A, &b, Category::Direct, 0, 8).is_err());
        assert!(h.alloc(A, &b, Category::Direct, 8, 3).is_err());
        h.free(F, &b, p).unwrap();
        assert!(h.free(F, &b, p).is_err(), "double free refused");
        assert_eq!(b.used(Category::Direct), 0);
        let _q = h.alloc(A, &b, Category::Heap, 10, 1).unwrap();
        h.reserve(R, &b, Category::Heap, 5).unwrap();
        h.shut_down(&b);
        assert_eq!(b.total_used(), 0);
    }

    #[test]
    fn after_shutting_down_everything_is_refused_and_nothing_charged() {
        let b = Budget::new(Quotas::unlimited());
        let h = HostMemory::default();
        let p = h.alloc(A, &b, Category::Direct, 64, 8).unwrap();
        h.reserve(R, &b, Category::Heap, 100).unwrap();
        h.shut_down(&b);
        h.shut_down(&b);
        assert_eq!(b.total_used(), 0);
        for e in [
            h.reserve(R, &b, Category::Heap, 1).unwrap_err(),
            h.release(L, &b, Category::Heap, 100).unwrap_err(),
            h.alloc(A, &b, Category::Direct, 8, 8).unwrap_err(),
            h.free(F, &b, p).unwrap_err(),
        ] {
            assert_eq!(e.status(), MB_ERR_DESTROYED, "{}", e.message());
            assert!(e.message().contains("was freed"), "{}", e.message());
        }
        assert_eq!(b.total_used(), 0, "nothing charged after the shutdown");
        assert_eq!(h.reserved(Category::Heap), 0);
    }

    /// Reservations racing the shutdown end either released by it or refused: never charged.
    #[test]
    fn reservations_racing_the_shutdown_leave_nothing_charged() {
        let rounds = if cfg!(miri) { 3 } else { 200 };
        for _ in 0..rounds {
            let b = std::sync::Arc::new(Budget::new(Quotas::unlimited()));
            let h = std::sync::Arc::new(HostMemory::default());
            let workers: Vec<_> = (0..2)
                .map(|_| {
                    let (b, h) = (b.clone(), h.clone());
                    std::thread::spawn(move || {
                        let mut blocks = Vec::new();
                        for _ in 0..50 {
                            let _ = h.reserve(R, &b, Category::Heap, 10);
                            if let Ok(p) = h.alloc(A, &b, Category::Direct, 16, 8) {
                                blocks.push(p as usize);
                            }
                        }
                        blocks
                    })
                })
                .collect();
            h.shut_down(&b);
            for w in workers {
                w.join().unwrap();
            }
            assert_eq!(b.total_used(), 0);
        }
    }
}
