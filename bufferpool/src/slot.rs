//! `Slot`: the per-segment header shared by the pools and the [`Buffer`](crate::Buffer) handles.
//!
//! Every segment of a network buffer pool has one slot, allocated once with the pool and never
//! moved. The free lists carry slot indices (`u32`), so requesting and recycling moves four bytes
//! through a lock-free queue and touches the segment's own header only.
//!
//! Ownership protocol: a slot's `owner` and `channel` are written only by the thread that holds
//! the segment exclusively — after popping its index from a free list (the queue's push/pop
//! gives the happens-before edge) or as the last [`Buffer`](crate::Buffer) handle (the
//! reference count's release/acquire gives it). `refcnt` is 1 whenever the segment is not lent
//! out, so handing out a buffer writes nothing to it.

use crate::local_pool::LocalInner;
use crate::network_pool::GlobalInner;
use crate::sync::AtomicUsize;
use core::cell::UnsafeCell;
use membudget_segments::MemorySegment;
use std::ptr::NonNull;
use std::sync::Arc;

/// No subpartition.
pub(crate) const NO_CHANNEL: u32 = u32::MAX;

/// Who a segment is lent by, and so where it goes back when its last handle drops.
pub(crate) enum Owner {
    /// In the global free list.
    Free,
    /// Requested by a local pool (idle there or lent out as a buffer).
    Local(Arc<LocalInner>),
    /// An exclusive (unpooled) segment of the network pool.
    Exclusive(Arc<GlobalInner>),
}

/// Header of one segment (cache-line aligned: neighbouring slots are used by different threads).
#[repr(align(64))]
pub(crate) struct Slot {
    /// Handles alive; 1 while the segment is not lent out.
    pub(crate) refcnt: AtomicUsize,
    /// See the module docs for who may touch it.
    pub(crate) owner: UnsafeCell<Owner>,
    /// The subpartition the buffer was requested for, or [`NO_CHANNEL`].
    pub(crate) channel: UnsafeCell<u32>,
    /// First byte of the segment.
    pub(crate) data: NonNull<u8>,
    /// Bytes in the segment.
    pub(crate) len: usize,
    /// This slot's index in the pool.
    pub(crate) index: u32,
    /// The segment itself; `None` once freed by a destroyed pool.
    pub(crate) segment: UnsafeCell<Option<MemorySegment>>,
}

// SAFETY: the `UnsafeCell`s are only accessed by the thread that holds the segment exclusively
// (module docs); everything else is atomic or immutable. The segment's bytes are reached only
// through `Buffer`, which enforces shared-read / unique-write.
unsafe impl Sync for Slot {}
// SAFETY: as above; `MemorySegment` and the owner `Arc`s are `Send`.
unsafe impl Send for Slot {}

impl Slot {
    pub(crate) fn new(index: u32, mut segment: MemorySegment) -> Slot {
        let len = segment.size();
        let data = NonNull::new(segment.as_mut_ptr()).unwrap_or(NonNull::dangling());
        Slot {
            refcnt: AtomicUsize::new(1),
            owner: UnsafeCell::new(Owner::Free),
            channel: UnsafeCell::new(NO_CHANNEL),
            data,
            len,
            index,
            segment: UnsafeCell::new(Some(segment)),
        }
    }

    /// Replaces the owner, returning the old one (dropped by the caller when convenient).
    ///
    /// # Safety
    /// The caller holds the segment exclusively (module docs).
    #[inline]
    pub(crate) unsafe fn set_owner(&self, owner: Owner) -> Owner {
        // SAFETY: exclusive holder (caller).
        unsafe { core::mem::replace(&mut *self.owner.get(), owner) }
    }

    /// Frees the segment's memory (credits its budget). The slot must never be handed out again.
    ///
    /// # Safety
    /// The caller holds the segment exclusively and no handle to it exists.
    pub(crate) unsafe fn free_segment(&self) {
        // SAFETY: exclusive holder, no handles (caller).
        drop(unsafe { (*self.segment.get()).take() });
    }
}
