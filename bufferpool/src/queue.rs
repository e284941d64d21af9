//! `IndexQueue`: the lock-free bounded MPMC free list of segment indices.
//!
//! Normally a `crossbeam_queue::ArrayQueue<u32>` (two CAS per round trip, no allocation). Under
//! `cfg(membudget_loom)` it is a loom mutex around a `VecDeque` so loom can see every access;
//! the pool's correctness arguments only rely on what both give: a push happens-before the pop
//! that returns the value, and `is_empty` observed after a `SeqCst` fence sees every push made
//! before the pusher's own `SeqCst` fence.

#[cfg(not(membudget_loom))]
mod imp {
    use crossbeam_queue::ArrayQueue;

    /// Bounded lock-free queue of `u32` segment indices.
    pub(crate) struct IndexQueue(ArrayQueue<u32>);

    impl IndexQueue {
        pub(crate) fn new(capacity: usize) -> Self {
            IndexQueue(ArrayQueue::new(capacity.max(1)))
        }

        /// Pushes `index`; hands it back if the queue is full (a bookkeeping bug in callers).
        #[inline]
        pub(crate) fn push(&self, index: u32) -> Result<(), u32> {
            self.0.push(index)
        }

        #[inline]
        pub(crate) fn pop(&self) -> Option<u32> {
            self.0.pop()
        }

        /// Orders a preceding [`push`](Self::push) before the caller's next `SeqCst` load, as
        /// a `SeqCst` fence would: crossbeam's `ArrayQueue::push` publishes through a `SeqCst`
        /// compare-exchange on `tail`, `is_empty` reads `head`/`tail` with `SeqCst` loads and
        /// an empty `pop` fences (`SeqCst`) before reading `tail`, so all of them are in the
        /// single `SeqCst` order already and no extra fence is needed on the recycle path.
        ///
        /// That is crossbeam's implementation, not its API: the root `Cargo.toml` pins the
        /// exact version these lines were checked against. A real fence here costs the
        /// request+recycle round trip ~6 ns of ~14 ns (+40%, `mfence` on x86), measured with
        /// `benches/benches/bufferpool.rs` (`roundtrip_1thread/LocalBufferPool`).
        #[inline(always)]
        pub(crate) fn fence_after_push(&self) {}

        #[inline]
        pub(crate) fn is_empty(&self) -> bool {
            self.0.is_empty()
        }

        #[inline]
        pub(crate) fn len(&self) -> usize {
            self.0.len()
        }
    }
}

#[cfg(membudget_loom)]
mod imp {
    use crate::sync::{lock, AtomicUsize, Mutex, Ordering};
    use std::collections::VecDeque;

    /// Loom stand-in for the lock-free queue: same contract, fully visible to the model checker.
    /// Like crossbeam's queue, emptiness is published through `SeqCst` atomics (`tail`, bumped
    /// by every push; `head`, bumped by every pop), so loom models the same orderings.
    pub(crate) struct IndexQueue {
        items: Mutex<VecDeque<u32>>,
        head: AtomicUsize,
        tail: AtomicUsize,
        capacity: usize,
    }

    impl IndexQueue {
        pub(crate) fn new(capacity: usize) -> Self {
            IndexQueue {
                items: Mutex::new(VecDeque::new()),
                head: AtomicUsize::new(0),
                tail: AtomicUsize::new(0),
                capacity: capacity.max(1),
            }
        }

        pub(crate) fn push(&self, index: u32) -> Result<(), u32> {
            let mut q = lock(&self.items);
            if q.len() == self.capacity {
                return Err(index);
            }
            q.push_back(index);
            self.tail.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }

        pub(crate) fn pop(&self) -> Option<u32> {
            let mut q = lock(&self.items);
            let v = q.pop_front();
            if v.is_some() {
                self.head.fetch_add(1, Ordering::SeqCst);
            }
            v
        }

        /// A real `SeqCst` fence: loom treats `SeqCst` accesses as `AcqRel` (only fences are
        /// sequentially consistent there), so the ordering crossbeam's `SeqCst` CAS gives for
        /// free must be spelled out for the model.
        pub(crate) fn fence_after_push(&self) {
            crate::sync::fence(Ordering::SeqCst);
        }

        pub(crate) fn is_empty(&self) -> bool {
            let head = self.head.load(Ordering::SeqCst);
            self.tail.load(Ordering::SeqCst) == head
        }

        pub(crate) fn len(&self) -> usize {
            lock(&self.items).len()
        }
    }
}

pub(crate) use imp::IndexQueue;
