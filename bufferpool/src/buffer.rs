//! `Buffer`: an RAII, reference-counted handle to one network segment.

use crate::error::BufferPoolError;
use crate::local_pool::LocalInner;
use crate::slot::{Owner, Slot};
use crate::sync::{fence, Ordering};
use core::fmt;
use std::ptr::NonNull;
use std::sync::Arc;

/// Handles beyond this abort (as `Arc` does) instead of overflowing the count.
const MAX_REFCOUNT: usize = isize::MAX as usize;

/// One network segment lent out by a pool. Dropping the last handle recycles the segment to its
/// [`LocalBufferPool`](crate::LocalBufferPool) (or to the global pool when the local pool is
/// destroyed or over its size, or for exclusive segments).
///
/// [`retain`](Self::retain) / `clone` share the segment (one count, each handle with its own
/// reader/writer indices); [`read_only_slice`](Self::read_only_slice) shares a window of it.
/// Writing ([`as_mut_slice`](Self::as_mut_slice), [`append`](Self::append)) needs the only
/// handle. `reader_index ≤ size ≤ capacity` always holds.
///
/// # Examples
/// ```
/// # use membudget_allocator::{Budget, Quotas, SharedBudget};
/// # use membudget_bufferpool::NetworkBufferPool;
/// # let network = NetworkBufferPool::new(2, 4096, SharedBudget::from(Budget::new(Quotas::unlimited())))?;
/// # let pool = network.create_buffer_pool(1, 2)?;
/// let mut b = pool.request_buffer()?.unwrap();
/// assert_eq!(b.append(b"record"), 6);
/// let slice = b.read_only_slice(2, 4);
/// assert_eq!(slice.as_slice(), b"cord");
/// assert_eq!(b.ref_count(), 2);
/// assert!(b.as_mut_slice().is_none()); // shared: read-only
/// drop(slice);
/// assert!(b.as_mut_slice().is_some());
/// # Ok::<(), membudget_bufferpool::BufferPoolError>(())
/// ```
pub struct Buffer {
    slot: NonNull<Slot>,
    /// First byte of this handle's window.
    data: NonNull<u8>,
    // u32 indices keep a handle at 32 bytes (segments are < 4 GiB, checked by the pool), so
    // handing buffers between threads moves half a cache line.
    capacity: u32,
    size: u32,
    reader: u32,
    read_only: bool,
}

const _: () = assert!(core::mem::size_of::<Buffer>() <= 32);

// SAFETY: a `Buffer` is a counted handle; the segment's bytes are written only through
// `&mut Buffer` while the count is 1 (no other handle exists), and the count and slot header are
// synchronised atomically (see `slot.rs`).
unsafe impl Send for Buffer {}
// SAFETY: `&Buffer` only reads the bytes; writes need `&mut` and uniqueness.
unsafe impl Sync for Buffer {}

impl Buffer {
    /// A handle to a segment just taken exclusively (its count is 1).
    #[inline]
    pub(crate) fn from_slot(slot: &Slot, channel: u32) -> Buffer {
        // Written only when it changes: the header stays a read-only cache line, shared by the
        // cores that request and recycle the segment, instead of moving with every buffer.
        // SAFETY: the caller holds the segment exclusively (just popped from a free list).
        if unsafe { *slot.channel.get() } != channel {
            // SAFETY: as above.
            unsafe { *slot.channel.get() = channel };
        }
        Buffer {
            slot: NonNull::from(slot),
            data: slot.data,
            capacity: slot.len as u32,
            size: 0,
            reader: 0,
            read_only: false,
        }
    }

    /// Consumes a fresh, unique handle without recycling; returns its slot index.
    pub(crate) fn into_index(self) -> u32 {
        let index = self.slot().index;
        core::mem::forget(self);
        index
    }

    #[inline]
    fn slot(&self) -> &Slot {
        // SAFETY: the slot lives as long as its pool's `GlobalInner`, which the owner recorded
        // in the slot keeps alive while any handle exists.
        unsafe { self.slot.as_ref() }
    }

    /// Bytes this handle can hold (the segment size, or the slice length).
    #[inline]
    pub fn capacity(&self) -> usize {
        self.capacity as usize
    }

    /// The writer index: bytes written so far.
    #[inline]
    pub fn size(&self) -> usize {
        self.size as usize
    }

    /// Sets the writer index.
    ///
    /// # Panics
    /// If `size > capacity`, or `size < reader_index` (see [`try_set_size`](Self::try_set_size)).
    pub fn set_size(&mut self, size: usize) {
        if let Err(e) = self.try_set_size(size) {
            panic!("{e}");
        }
    }

    /// Sets the writer index.
    ///
    /// # Errors
    /// [`BufferPoolError::InvalidArgument`] if `size > capacity` or `size < reader_index`; the
    /// buffer is unchanged then.
    pub fn try_set_size(&mut self, size: usize) -> Result<(), BufferPoolError> {
        if size > self.capacity() || size < self.reader_index() {
            return Err(BufferPoolError::InvalidArgument(format!(
                "buffer size {size} must be within [reader index {}, capacity {}]",
                self.reader, self.capacity
            )));
        }
        // `size ≤ capacity < 2³²`.
        self.size = size as u32;
        Ok(())
    }

    /// The reader index: bytes consumed so far.
    #[inline]
    pub fn reader_index(&self) -> usize {
        self.reader as usize
    }

    /// Sets the reader index.
    ///
    /// # Panics
    /// If `index > size` (see [`try_set_reader_index`](Self::try_set_reader_index)).
    pub fn set_reader_index(&mut self, index: usize) {
        if let Err(e) = self.try_set_reader_index(index) {
            panic!("{e}");
        }
    }

    /// Sets the reader index.
    ///
    /// # Errors
    /// [`BufferPoolError::InvalidArgument`] if `index > size`; the buffer is unchanged then.
    pub fn try_set_reader_index(&mut self, index: usize) -> Result<(), BufferPoolError> {
        if index > self.size() {
            return Err(BufferPoolError::InvalidArgument(format!(
                "reader index {index} must not exceed the buffer size {}",
                self.size
            )));
        }
        // `index ≤ size < 2³²`.
        self.reader = index as u32;
        Ok(())
    }

    /// The written bytes `[0, size)`.
    #[inline]
    pub fn as_slice(&self) -> &[u8] {
        // SAFETY: `data` is valid for `capacity ≥ size` bytes while the segment is lent to
        // this handle; writers need uniqueness and `&mut`, so no write aliases this borrow.
        unsafe { core::slice::from_raw_parts(self.data.as_ptr(), self.size()) }
    }

    /// The unread bytes `[reader_index, size)`.
    #[inline]
    pub fn readable(&self) -> &[u8] {
        &self.as_slice()[self.reader_index()..]
    }

    /// The whole capacity, writable, if this is the only handle and not a read-only slice.
    #[inline]
    pub fn as_mut_slice(&mut self) -> Option<&mut [u8]> {
        if !self.is_unique() || self.read_only {
            return None;
        }
        // SAFETY: the count is 1, so no other handle exists and none can be made without this
        // one (`&mut self`); the count's Acquire load in `is_unique` synchronises with the
        // Release decrements of dropped handles, so their reads happened before.
        Some(unsafe { core::slice::from_raw_parts_mut(self.data.as_ptr(), self.capacity()) })
    }

    /// Copies as much of `bytes` as fits after the writer index and advances it; returns the
    /// number of bytes copied.
    ///
    /// # Panics
    /// If the buffer is shared or read-only.
    pub fn append(&mut self, bytes: &[u8]) -> usize {
        let at = self.size();
        // `size ≤ capacity` always: no wrap.
        let n = bytes.len().min(self.capacity().wrapping_sub(at));
        let dst = self
            .as_mut_slice()
            .expect("append needs the only, writable handle to a buffer");
        // `at + n ≤ capacity` (< 4 GiB): no overflow.
        let end = at.wrapping_add(n);
        dst[at..end].copy_from_slice(&bytes[..n]);
        self.size = end as u32;
        n
    }

    /// Another handle to the same segment (count + 1) with the same indices.
    #[inline]
    pub fn retain(&self) -> Buffer {
        let old = self.slot().refcnt.fetch_add(1, Ordering::Relaxed);
        if old > MAX_REFCOUNT {
            std::process::abort();
        }
        Buffer {
            slot: self.slot,
            data: self.data,
            capacity: self.capacity,
            size: self.size,
            reader: self.reader,
            read_only: self.read_only,
        }
    }

    /// A read-only handle to `[index, index + len)` of the written bytes, sharing the count.
    ///
    /// # Panics
    /// If the window is not within `[0, size)` (see
    /// [`try_read_only_slice`](Self::try_read_only_slice)).
    pub fn read_only_slice(&self, index: usize, len: usize) -> Buffer {
        match self.try_read_only_slice(index, len) {
            Ok(b) => b,
            Err(e) => panic!("{e}"),
        }
    }

    /// A read-only handle to `[index, index + len)` of the written bytes, sharing the count.
    ///
    /// # Errors
    /// [`BufferPoolError::InvalidArgument`] if the window is not within `[0, size)`.
    pub fn try_read_only_slice(&self, index: usize, len: usize) -> Result<Buffer, BufferPoolError> {
        if index > self.size() || len > self.size().wrapping_sub(index) {
            return Err(BufferPoolError::InvalidArgument(format!(
                "slice of {len} bytes at {index} is out of bounds for a buffer of size {}",
                self.size
            )));
        }
        let mut b = self.retain();
        // SAFETY: `index ≤ size ≤ capacity`, so the pointer stays within the segment.
        let start = unsafe { self.data.as_ptr().add(index) };
        b.data = NonNull::new(start).unwrap_or(self.data);
        b.capacity = len as u32;
        b.size = len as u32;
        b.reader = 0;
        b.read_only = true;
        Ok(b)
    }

    /// Handles sharing this segment.
    #[inline]
    pub fn ref_count(&self) -> usize {
        self.slot().refcnt.load(Ordering::Acquire)
    }

    /// Whether this is the only handle.
    #[inline]
    pub fn is_unique(&self) -> bool {
        // Acquire: pairs with the Release decrement of every dropped handle.
        self.slot().refcnt.load(Ordering::Acquire) == 1
    }

    /// Whether this handle is a read-only slice.
    #[inline]
    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// The segment's index in its network pool (for diagnostics and tests).
    #[inline]
    pub fn segment_index(&self) -> u32 {
        self.slot().index
    }

    /// Gives the buffer up as one pointer-sized token, for an owner that cannot hold a
    /// `Buffer` (a C host names it by an id the caller keeps beside the token); also returns
    /// the first byte of the segment, writable by the token's holder. Nothing is recycled
    /// until [`from_raw`](Self::from_raw) turns the token back into the buffer; the writer and
    /// reader indices are not kept (the buffer comes back empty).
    ///
    /// # Errors
    /// Hands the buffer back unless it is the only handle to its segment and covers all of
    /// it, writable (not shared, not a slice): only such a buffer can be lent whole.
    ///
    /// # Examples
    /// ```
    /// # use membudget_allocator::{Budget, Quotas, SharedBudget};
    /// # use membudget_bufferpool::{Buffer, NetworkBufferPool};
    /// # let network = NetworkBufferPool::new(2, 4096, SharedBudget::from(Budget::new(Quotas::unlimited())))?;
    /// # let pool = network.create_buffer_pool(1, 2)?;
    /// let b = pool.request_buffer()?.unwrap();
    /// let (token, bytes) = b.into_raw().expect("a fresh buffer is unique and whole");
    /// // SAFETY: the token's holder may write the whole segment.
    /// unsafe { bytes.as_ptr().write_bytes(7, 4096) };
    /// assert_eq!(pool.used_buffers(), 1); // still lent out
    /// // SAFETY: the token came from `into_raw` and is turned back once.
    /// let b = unsafe { Buffer::from_raw(token) };
    /// drop(b); // recycled as usual
    /// assert_eq!(pool.used_buffers(), 0);
    /// # Ok::<(), membudget_bufferpool::BufferPoolError>(())
    /// ```
    #[inline]
    pub fn into_raw(self) -> Result<(NonNull<()>, NonNull<u8>), Buffer> {
        // Only `read_only_slice` narrows a handle's window, and it marks it read-only.
        debug_assert!(
            self.read_only || (self.data == self.slot().data && self.capacity() == self.slot().len)
        );
        if self.read_only || !self.is_unique() {
            return Err(self);
        }
        let raw = (self.slot.cast::<()>(), self.data);
        core::mem::forget(self);
        Ok(raw)
    }

    /// The buffer a token from [`into_raw`](Self::into_raw) stands for: the whole segment,
    /// writable, empty (size and reader index 0). Dropping it recycles the segment as usual.
    ///
    /// # Safety
    /// `token` came from [`into_raw`](Self::into_raw) and has not been turned back before:
    /// each token is turned back exactly once (twice would be two handles counted as one).
    #[inline]
    pub unsafe fn from_raw(token: NonNull<()>) -> Buffer {
        let slot = token.cast::<Slot>();
        // SAFETY: the token is a slot pointer from `into_raw`; the lent segment's owner keeps
        // the pool, and so the slot, alive until this buffer drops (as for any handle).
        let s = unsafe { slot.as_ref() };
        Buffer {
            slot,
            data: s.data,
            capacity: s.len as u32,
            size: 0,
            reader: 0,
            read_only: false,
        }
    }

    /// Recycles the segment: the last handle is going away.
    ///
    /// A pointer, not `&Slot`: a reference argument must stay valid for the whole call, and
    /// dropping `global` here may free the slot.
    #[cold]
    fn recycle_exclusive(slot: NonNull<Slot>) {
        // SAFETY: last handle: the owner recorded in the slot keeps it alive until we drop it.
        let slot = unsafe { slot.as_ref() };
        // SAFETY: last handle: we hold the segment exclusively.
        let owner = unsafe { slot.set_owner(Owner::Free) };
        if let Owner::Exclusive(global) = owner {
            global.recycle_pooled(slot.index);
            global.revert_required(1);
            // `global` (which may own `slot`) drops last.
        }
    }
}

impl Clone for Buffer {
    #[inline]
    fn clone(&self) -> Self {
        self.retain()
    }
}

/// Gives up one handle of `slot`'s segment; returns whether it was the last one (the caller
/// then holds the segment exclusively and recycles it).
#[inline]
fn release(slot: &Slot) -> bool {
    // Unique (Acquire pairs with other handles' Release decrements): no one else can touch
    // the count, and it stays 1 for the segment's next use. Otherwise count down; the last
    // one recycles.
    if slot.refcnt.load(Ordering::Acquire) != 1 {
        if slot.refcnt.fetch_sub(1, Ordering::Release) != 1 {
            return false;
        }
        // Acquire fence: pairs with the other handles' Release decrements.
        fence(Ordering::Acquire);
        slot.refcnt.store(1, Ordering::Relaxed);
    }
    true
}

/// Segments of one local pool collected by [`Buffer::recycle_all`], returned in one batch.
struct Run {
    /// A segment of the run: its owner is the run's pool (we hold it until the run is
    /// returned, so its header keeps that reference).
    first: Option<NonNull<Slot>>,
    indices: [u32; Run::MAX],
    len: usize,
}

impl Run {
    const MAX: usize = 32;

    /// The run's pool, if the run has segments. The pool itself, not the header's `Arc`:
    /// once `recycle_many` made a segment idle, another thread may rewrite its header.
    fn pool(&self) -> Option<*const LocalInner> {
        // SAFETY: `first` is a segment we hold exclusively (not yet returned), so its slot is
        // alive and its owner (written only by the segment's exclusive holder) is stable.
        let slot = unsafe { self.first?.as_ref() };
        // SAFETY: as above.
        match unsafe { &*slot.owner.get() } {
            Owner::Local(pool) => Some(Arc::as_ptr(pool)),
            _ => None,
        }
    }

    /// Returns the run's segments to their pool.
    fn flush(&mut self) {
        if let Some(pool) = self.pool() {
            // SAFETY: `pool` is the owner in the headers of the run's segments, which we hold
            // exclusively (their last handles dropped in `recycle_all`).
            unsafe { LocalInner::recycle_many(pool, &self.indices[..self.len]) };
        }
        self.first = None;
        self.len = 0;
    }
}

impl Buffer {
    /// Drops `buffers`, returning the segments of each local pool in as few operations on the
    /// pool's shared state as fit (a run of buffers of one pool goes to this thread's stash
    /// and the pool's idle list in one batch each) instead of one operation per buffer. The
    /// effect is exactly that of dropping them one by one: shared handles only count down,
    /// exclusive segments go back to the network pool.
    ///
    /// # Examples
    /// ```
    /// # use membudget_allocator::{Budget, Quotas, SharedBudget};
    /// # use membudget_bufferpool::{Buffer, NetworkBufferPool};
    /// # let network = NetworkBufferPool::new(16, 4096, SharedBudget::from(Budget::new(Quotas::unlimited())))?;
    /// let pool = network.create_buffer_pool(16, 16)?;
    /// let mut held = Vec::new();
    /// assert_eq!(pool.request_buffers(16, &mut held)?, 16);
    /// Buffer::recycle_all(held.drain(..));
    /// assert_eq!(pool.used_buffers(), 0);
    /// # Ok::<(), membudget_bufferpool::BufferPoolError>(())
    /// ```
    pub fn recycle_all(buffers: impl IntoIterator<Item = Buffer>) {
        let mut run = Run {
            first: None,
            indices: [0; Run::MAX],
            len: 0,
        };
        for buffer in buffers {
            let buffer = core::mem::ManuallyDrop::new(buffer);
            let slot = buffer.slot();
            if !release(slot) {
                continue;
            }
            // SAFETY: last handle: we hold the segment exclusively and may read its header.
            let owner = unsafe { &*slot.owner.get() };
            // SAFETY: as above.
            let channel = unsafe { *slot.channel.get() };
            let Owner::Local(pool) = owner else {
                Self::recycle_slot(buffer.slot);
                continue;
            };
            if channel != crate::slot::NO_CHANNEL {
                // SAFETY: `pool` is the segment's owner and we hold the segment exclusively.
                unsafe { LocalInner::recycle(Arc::as_ptr(pool), slot.index, channel) };
                continue;
            }
            let same = run.pool() == Some(Arc::as_ptr(pool));
            if !same || run.len == Run::MAX {
                run.flush();
            }
            if run.first.is_none() {
                run.first = Some(buffer.slot);
            }
            run.indices[run.len] = slot.index;
            // `len < MAX` (flushed above when full).
            run.len = run.len.wrapping_add(1);
        }
        run.flush();
    }

    /// Recycles the segment of `slot`, whose last handle is gone. A pointer, not `&Slot`
    /// (see `recycle_exclusive`): the recycle may drop the last reference to the network
    /// pool, which owns the slot.
    #[inline]
    fn recycle_slot(ptr: NonNull<Slot>) {
        // SAFETY: last handle: the owner recorded in the slot keeps it alive until the
        // segment is recycled; `slot` is not used after that.
        let slot = unsafe { ptr.as_ref() };
        let index = slot.index;
        // SAFETY: last handle: we hold the segment exclusively and may read its header.
        let owner = unsafe { &*slot.owner.get() };
        // SAFETY: as above.
        let channel = unsafe { *slot.channel.get() };
        match owner {
            // SAFETY: `pool` is the segment's owner and we hold the segment exclusively
            // (last handle); `recycle` reaches the pool through its own pointer, not through
            // the header, which another thread may rewrite once the segment is idle.
            Owner::Local(pool) => unsafe { LocalInner::recycle(Arc::as_ptr(pool), index, channel) },
            Owner::Exclusive(_) => Self::recycle_exclusive(ptr),
            Owner::Free => crate::violation::report(format_args!(
                "a buffer of free segment {index} was dropped"
            )),
        }
    }
}

impl Drop for Buffer {
    #[inline]
    fn drop(&mut self) {
        if release(self.slot()) {
            Self::recycle_slot(self.slot);
        }
    }
}

impl fmt::Debug for Buffer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Buffer")
            .field("segment", &self.segment_index())
            .field("capacity", &self.capacity)
            .field("size", &self.size)
            .field("reader_index", &self.reader)
            .field("ref_count", &self.ref_count())
            .field("read_only", &self.read_only)
            .finish()
    }
}
