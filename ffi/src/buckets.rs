//! `Buckets`: a lock-free, append-only array whose elements never move and are never freed
//! while the array lives, so a reference to one stays valid without a lock.
//!
//! Elements live in buckets of doubling length, allocated on first use:
//!
//! ```text
//!   index:   0 .. 2^f-1 | 2^f .. 3·2^f-1 | 3·2^f .. 7·2^f-1 | ...
//!   bucket:  0 (2^f)    | 1 (2^(f+1))    | 2 (2^(f+2))      | ...     f = FIRST_LOG2
//! ```
//!
//! A lookup is one shift-and-subtract and one `Acquire` load of the bucket pointer.

use crate::sync::{AtomicPtr, Ordering};
use core::ptr;

/// Buckets in an array: enough for 2^28 elements from any `FIRST_LOG2 ≥ 1`.
const BUCKETS: usize = 28;

/// See the module docs; the first bucket holds `2^FIRST_LOG2` elements (a constant, so a
/// lookup compiles to a few shifts).
pub(crate) struct Buckets<T, const FIRST_LOG2: u32> {
    buckets: [AtomicPtr<T>; BUCKETS],
}

// SAFETY: the array owns its elements like a `Vec<T>`; shared access hands out `&T` only.
unsafe impl<T: Send + Sync, const F: u32> Sync for Buckets<T, F> {}
// SAFETY: as above.
unsafe impl<T: Send, const F: u32> Send for Buckets<T, F> {}

impl<T, const FIRST_LOG2: u32> Buckets<T, FIRST_LOG2> {
    const VALID: () = assert!(FIRST_LOG2 >= 1 && FIRST_LOG2 < 16);

    /// An empty array.
    #[cfg(not(membudget_loom))]
    pub(crate) const fn new() -> Self {
        let () = Self::VALID;
        Buckets {
            buckets: [const { AtomicPtr::new(ptr::null_mut()) }; BUCKETS],
        }
    }

    /// An empty array.
    #[cfg(membudget_loom)]
    pub(crate) fn new() -> Self {
        let () = Self::VALID;
        Buckets {
            buckets: core::array::from_fn(|_| AtomicPtr::new(ptr::null_mut())),
        }
    }

    /// Bucket number and offset inside it of element `index`.
    #[inline]
    fn locate(&self, index: u32) -> (usize, usize) {
        let j = index as usize + (1 << FIRST_LOG2);
        // `j`'s top bit says the bucket (bucket b holds 2^(FIRST_LOG2 + b) elements); the bits
        // below it, the offset.
        let top = usize::BITS - 1 - j.leading_zeros();
        ((top - FIRST_LOG2) as usize, j ^ (1 << top))
    }

    #[inline]
    fn bucket_len(&self, bucket: usize) -> usize {
        1 << (FIRST_LOG2 as usize + bucket)
    }

    /// Element `index` if its bucket was allocated.
    #[inline]
    pub(crate) fn get(&self, index: u32) -> Option<&T> {
        let (bucket, offset) = self.locate(index);
        // Acquire: pairs with the publication in `allocate`, so the elements are initialised.
        let p = self.buckets.get(bucket)?.load(Ordering::Acquire);
        if p.is_null() {
            return None;
        }
        // SAFETY: a published bucket holds `bucket_len(bucket)` initialised elements and is
        // never freed before the array drops (we hold `&self`); `offset < bucket_len(bucket)`
        // by construction of `locate`.
        let element = unsafe { p.add(offset) };
        // SAFETY: as above, initialised and alive while we hold `&self`.
        Some(unsafe { &*element })
    }

    /// Element `index`, allocating its bucket (with `init` for each element) if needed;
    /// `None` beyond the array's capacity.
    #[inline]
    pub(crate) fn get_or_allocate(&self, index: u32, init: impl Fn() -> T) -> Option<&T> {
        match self.get(index) {
            Some(e) => Some(e),
            None => self.allocate(index, init),
        }
    }

    #[cold]
    #[inline(never)]
    fn allocate(&self, index: u32, init: impl Fn() -> T) -> Option<&T> {
        let (bucket, offset) = self.locate(index);
        let cell = self.buckets.get(bucket)?;
        let len = self.bucket_len(bucket);
        let fresh: Box<[T]> = (0..len).map(|_| init()).collect();
        let fresh = Box::into_raw(fresh) as *mut T;
        // AcqRel: Release publishes the initialised elements to `get`'s Acquire load; Acquire
        // on failure sees the winner's elements.
        let base = match cell.compare_exchange(
            ptr::null_mut(),
            fresh,
            Ordering::AcqRel,
            Ordering::Acquire,
        ) {
            Ok(_) => fresh,
            Err(winner) => {
                // SAFETY: `fresh` came from `Box::into_raw` of a slice of `len` elements just
                // above and was never shared (the compare-exchange failed).
                drop(unsafe { Box::from_raw(ptr::slice_from_raw_parts_mut(fresh, len)) });
                winner
            }
        };
        // SAFETY: `base` is a published bucket of `len` elements and `offset < len`.
        Some(unsafe { &*base.wrapping_add(offset) })
    }

    /// Runs `f` on every allocated element (for the owner's `Drop`).
    pub(crate) fn for_each_mut(&mut self, mut f: impl FnMut(&mut T)) {
        for (bucket, cell) in self.buckets.iter().enumerate() {
            let p = cell.load(Ordering::Acquire);
            if p.is_null() {
                continue;
            }
            for offset in 0..self.bucket_len(bucket) {
                // SAFETY: a published bucket of `bucket_len` initialised elements; `&mut self`
                // means nobody else holds a reference into it.
                f(unsafe { &mut *p.wrapping_add(offset) });
            }
        }
    }
}

impl<T, const F: u32> Drop for Buckets<T, F> {
    fn drop(&mut self) {
        for (bucket, cell) in self.buckets.iter().enumerate() {
            let p = cell.load(Ordering::Acquire);
            if !p.is_null() {
                let len = self.bucket_len(bucket);
                // SAFETY: a non-null bucket came from `Box::into_raw` of `len` elements in
                // `allocate`; `&mut self` means no reference into it remains.
                drop(unsafe { Box::from_raw(ptr::slice_from_raw_parts_mut(p, len)) });
            }
        }
    }
}

#[cfg(all(test, not(membudget_loom)))]
mod tests {
    use super::*;

    #[test]
    fn locate_covers_buckets_without_gaps() {
        let b: Buckets<u8, 5> = Buckets::new();
        assert_eq!(b.locate(0), (0, 0));
        assert_eq!(b.locate(31), (0, 31));
        assert_eq!(b.locate(32), (1, 0));
        assert_eq!(b.locate(95), (1, 63));
        assert_eq!(b.locate(96), (2, 0));
        let (bucket, offset) = b.locate((1 << 28) - 2);
        assert!(bucket < BUCKETS && offset < b.bucket_len(bucket));
        let mut prev = b.locate(0);
        for i in 1..5000 {
            let next = b.locate(i);
            assert!(
                next == (prev.0, prev.1 + 1) || next == (prev.0 + 1, 0),
                "{i}: {prev:?} -> {next:?}"
            );
            prev = next;
        }
    }

    #[test]
    fn elements_are_allocated_once_and_stay() {
        let mut b: Buckets<std::sync::atomic::AtomicU32, 1> = Buckets::new();
        assert!(b.get(5).is_none());
        let e = b.get_or_allocate(5, Default::default).unwrap();
        e.store(7, std::sync::atomic::Ordering::Relaxed);
        let again = b.get_or_allocate(5, Default::default).unwrap();
        assert!(core::ptr::eq(e, again));
        assert!(b.get(4).is_some(), "the whole bucket exists");
        let mut seen = 0;
        b.for_each_mut(|x| seen += *x.get_mut());
        assert_eq!(seen, 7);
    }
}
