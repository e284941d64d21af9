//! Bulk operations of [`MemorySegment`]: byte copies, comparison, equality and swaps.

use crate::segment::panic_out_of_bounds;
use crate::{MemorySegment, SegmentError};
use core::cmp::Ordering;

/// Unwraps a bulk result, panicking with the error's message.
#[inline]
#[track_caller]
fn or_panic<T>(r: Result<T, SegmentError>) -> T {
    match r {
        Ok(v) => v,
        Err(SegmentError::OutOfBounds { index, len, size }) => {
            panic_out_of_bounds(index, len, size)
        }
        Err(e) => panic!("{e}"),
    }
}

/// Unsigned lexicographic comparison of two equally long byte slices. Short ranges (up to 32
/// bytes, e.g. normalized sort keys) go eight bytes at a time as big-endian words, then byte by
/// byte, with no call; longer ranges use the platform's vectorised `memcmp`, which compares in
/// the same unsigned order 16–32 bytes at a time.
#[inline]
pub(crate) fn compare_bytes(a: &[u8], b: &[u8]) -> Ordering {
    debug_assert_eq!(a.len(), b.len());
    const SHORT: usize = 32;
    if a.len() > SHORT || b.len() > SHORT {
        return a.cmp(b);
    }
    let mut wa = a.chunks_exact(8);
    let mut wb = b.chunks_exact(8);
    for (x, y) in (&mut wa).zip(&mut wb) {
        let x = u64::from_be_bytes(x.try_into().expect("8-byte chunk"));
        let y = u64::from_be_bytes(y.try_into().expect("8-byte chunk"));
        if x != y {
            return x.cmp(&y);
        }
    }
    for (x, y) in wa.remainder().iter().zip(wb.remainder()) {
        if x != y {
            return x.cmp(y);
        }
    }
    wa.remainder().len().cmp(&wb.remainder().len())
}

impl MemorySegment {
    /// Copies `dst.len()` bytes at `index` into `dst`.
    ///
    /// # Panics
    /// If the range does not fit; the message names the index, length and size.
    #[inline]
    #[track_caller]
    pub fn get_bytes(&self, index: usize, dst: &mut [u8]) {
        or_panic(self.try_get_bytes(index, dst))
    }

    /// Copies `dst.len()` bytes at `index` into `dst`.
    ///
    /// # Errors
    /// [`SegmentError::OutOfBounds`] if the range does not fit; `dst` is untouched then.
    #[inline]
    pub fn try_get_bytes(&self, index: usize, dst: &mut [u8]) -> Result<(), SegmentError> {
        self.check(index, dst.len())?;
        dst.copy_from_slice(&self.as_slice()[index..index + dst.len()]);
        Ok(())
    }

    /// Copies `src` into the segment at `index`.
    ///
    /// # Panics
    /// If the range does not fit; the message names the index, length and size.
    #[inline]
    #[track_caller]
    pub fn put_bytes(&mut self, index: usize, src: &[u8]) {
        or_panic(self.try_put_bytes(index, src))
    }

    /// Copies `src` into the segment at `index`.
    ///
    /// # Errors
    /// [`SegmentError::OutOfBounds`] if the range does not fit; nothing is written then.
    #[inline]
    pub fn try_put_bytes(&mut self, index: usize, src: &[u8]) -> Result<(), SegmentError> {
        self.check(index, src.len())?;
        self.as_mut_slice()[index..index + src.len()].copy_from_slice(src);
        Ok(())
    }

    /// Copies `len` bytes at `offset` to `target` at `target_offset` (Flink's `copyTo`).
    ///
    /// # Panics
    /// If either range does not fit.
    ///
    /// # Examples
    /// ```
    /// use membudget_segments::MemorySegment;
    /// let a = MemorySegment::wrap(vec![1, 2, 3, 4]);
    /// let mut b = MemorySegment::wrap(vec![0; 4]);
    /// a.copy_to(1, &mut b, 0, 3);
    /// assert_eq!(b.as_slice(), &[2, 3, 4, 0]);
    /// ```
    #[inline]
    #[track_caller]
    pub fn copy_to(
        &self,
        offset: usize,
        target: &mut MemorySegment,
        target_offset: usize,
        len: usize,
    ) {
        or_panic(self.try_copy_to(offset, target, target_offset, len))
    }

    /// Copies `len` bytes at `offset` to `target` at `target_offset`.
    ///
    /// # Errors
    /// [`SegmentError::OutOfBounds`] naming the range that does not fit; nothing is copied then.
    #[inline]
    pub fn try_copy_to(
        &self,
        offset: usize,
        target: &mut MemorySegment,
        target_offset: usize,
        len: usize,
    ) -> Result<(), SegmentError> {
        self.check(offset, len)?;
        target.check(target_offset, len)?;
        target.as_mut_slice()[target_offset..target_offset + len]
            .copy_from_slice(&self.as_slice()[offset..offset + len]);
        Ok(())
    }

    /// Copies `len` bytes from `src` to `dst` within this segment (ranges may overlap).
    ///
    /// # Errors
    /// [`SegmentError::OutOfBounds`] naming the range that does not fit; nothing is copied then.
    #[inline]
    pub fn try_copy_within(
        &mut self,
        src: usize,
        dst: usize,
        len: usize,
    ) -> Result<(), SegmentError> {
        self.check(src, len)?;
        self.check(dst, len)?;
        self.as_mut_slice().copy_within(src..src + len, dst);
        Ok(())
    }

    /// Copies `len` bytes from `src` to `dst` within this segment (ranges may overlap).
    ///
    /// # Panics
    /// If either range does not fit.
    #[inline]
    #[track_caller]
    pub fn copy_within(&mut self, src: usize, dst: usize, len: usize) {
        or_panic(self.try_copy_within(src, dst, len))
    }

    /// Compares `len` bytes at `offset1` with `len` bytes of `other` at `offset2`, unsigned and
    /// lexicographically, eight bytes at a time (Flink's `compareTo`). `other` may be `self`.
    ///
    /// # Panics
    /// If either range does not fit.
    ///
    /// # Examples
    /// ```
    /// use core::cmp::Ordering;
    /// use membudget_segments::MemorySegment;
    /// let a = MemorySegment::wrap(vec![1, 2, 0xff]);
    /// let b = MemorySegment::wrap(vec![1, 2, 3]);
    /// assert_eq!(a.compare(&b, 0, 0, 3), Ordering::Greater);
    /// assert_eq!(a.compare(&b, 0, 0, 2), Ordering::Equal);
    /// ```
    #[inline]
    #[track_caller]
    pub fn compare(
        &self,
        other: &MemorySegment,
        offset1: usize,
        offset2: usize,
        len: usize,
    ) -> Ordering {
        or_panic(self.try_compare(other, offset1, offset2, len))
    }

    /// As [`compare`](Self::compare).
    ///
    /// # Errors
    /// [`SegmentError::OutOfBounds`] naming the range that does not fit.
    #[inline]
    pub fn try_compare(
        &self,
        other: &MemorySegment,
        offset1: usize,
        offset2: usize,
        len: usize,
    ) -> Result<Ordering, SegmentError> {
        self.check(offset1, len)?;
        other.check(offset2, len)?;
        Ok(compare_bytes(
            &self.as_slice()[offset1..offset1 + len],
            &other.as_slice()[offset2..offset2 + len],
        ))
    }

    /// Compares `len1` bytes at `offset1` with `len2` bytes of `other` at `offset2`: the common
    /// prefix first, then the shorter range is smaller.
    ///
    /// # Panics
    /// If either range does not fit.
    #[inline]
    #[track_caller]
    pub fn compare_with_lengths(
        &self,
        other: &MemorySegment,
        offset1: usize,
        offset2: usize,
        len1: usize,
        len2: usize,
    ) -> Ordering {
        or_panic(self.try_compare_with_lengths(other, offset1, offset2, len1, len2))
    }

    /// As [`compare_with_lengths`](Self::compare_with_lengths).
    ///
    /// # Errors
    /// [`SegmentError::OutOfBounds`] naming the range that does not fit.
    #[inline]
    pub fn try_compare_with_lengths(
        &self,
        other: &MemorySegment,
        offset1: usize,
        offset2: usize,
        len1: usize,
        len2: usize,
    ) -> Result<Ordering, SegmentError> {
        self.check(offset1, len1)?;
        other.check(offset2, len2)?;
        let n = len1.min(len2);
        Ok(compare_bytes(
            &self.as_slice()[offset1..offset1 + n],
            &other.as_slice()[offset2..offset2 + n],
        )
        .then(len1.cmp(&len2)))
    }

    /// Whether `len` bytes at `offset1` equal `len` bytes of `other` at `offset2`.
    ///
    /// # Panics
    /// If either range does not fit.
    #[inline]
    #[track_caller]
    pub fn equal_to(
        &self,
        other: &MemorySegment,
        offset1: usize,
        offset2: usize,
        len: usize,
    ) -> bool {
        or_panic(self.try_equal_to(other, offset1, offset2, len))
    }

    /// As [`equal_to`](Self::equal_to).
    ///
    /// # Errors
    /// [`SegmentError::OutOfBounds`] naming the range that does not fit.
    #[inline]
    pub fn try_equal_to(
        &self,
        other: &MemorySegment,
        offset1: usize,
        offset2: usize,
        len: usize,
    ) -> Result<bool, SegmentError> {
        self.check(offset1, len)?;
        other.check(offset2, len)?;
        Ok(self.as_slice()[offset1..offset1 + len] == other.as_slice()[offset2..offset2 + len])
    }

    /// Swaps `len` bytes at `offset1` with `len` bytes of `other` at `offset2` (Flink's
    /// `swapBytes`; no temporary buffer is needed).
    ///
    /// # Panics
    /// If either range does not fit.
    #[inline]
    #[track_caller]
    pub fn swap_bytes(
        &mut self,
        other: &mut MemorySegment,
        offset1: usize,
        offset2: usize,
        len: usize,
    ) {
        or_panic(self.try_swap_bytes(other, offset1, offset2, len))
    }

    /// As [`swap_bytes`](Self::swap_bytes).
    ///
    /// # Errors
    /// [`SegmentError::OutOfBounds`] naming the range that does not fit; nothing is swapped then.
    #[inline]
    pub fn try_swap_bytes(
        &mut self,
        other: &mut MemorySegment,
        offset1: usize,
        offset2: usize,
        len: usize,
    ) -> Result<(), SegmentError> {
        self.check(offset1, len)?;
        other.check(offset2, len)?;
        self.as_mut_slice()[offset1..offset1 + len]
            .swap_with_slice(&mut other.as_mut_slice()[offset2..offset2 + len]);
        Ok(())
    }

    /// Swaps two ranges of `len` bytes within this segment (as when sorting records in place).
    ///
    /// # Errors
    /// [`SegmentError::OutOfBounds`] if a range does not fit, [`SegmentError::Overlap`] if the
    /// two ranges overlap without being identical; nothing is swapped then.
    pub fn try_swap_bytes_within(
        &mut self,
        offset1: usize,
        offset2: usize,
        len: usize,
    ) -> Result<(), SegmentError> {
        self.check(offset1, len)?;
        self.check(offset2, len)?;
        if offset1 == offset2 || len == 0 {
            return Ok(());
        }
        let (lo, hi) = if offset1 < offset2 {
            (offset1, offset2)
        } else {
            (offset2, offset1)
        };
        if lo + len > hi {
            return Err(SegmentError::Overlap {
                offset1,
                offset2,
                len,
            });
        }
        let (a, b) = self.as_mut_slice().split_at_mut(hi);
        a[lo..lo + len].swap_with_slice(&mut b[..len]);
        Ok(())
    }

    /// Swaps two non-overlapping ranges of `len` bytes within this segment.
    ///
    /// # Panics
    /// If a range does not fit or the ranges overlap.
    #[track_caller]
    pub fn swap_bytes_within(&mut self, offset1: usize, offset2: usize, len: usize) {
        or_panic(self.try_swap_bytes_within(offset1, offset2, len))
    }
}
