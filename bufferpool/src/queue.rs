//! `IndexQueue`: the lock-free bounded MPMC free list of segment indices.
//!
//! Normally a `crossbeam_queue::ArrayQueue<u32>` (two CAS per round trip, no allocation). Under
//! `cfg(membudget_loom)` it is a port of that same algorithm onto loom atomics and cells, so the
//! model checks the lock-free queue the pools ship with; the pool's correctness arguments only
//! rely on what it gives: a push happens-before the pop that returns the value, and `is_empty`
//! observed after a `SeqCst` fence sees every push made before the pusher's own `SeqCst` fence.

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

// Kept arithmetic-for-arithmetic identical to crossbeam's (lap/index math on `usize`).
#[cfg(membudget_loom)]
#[allow(clippy::arithmetic_side_effects)]
mod imp {
    use crate::sync::{fence, AtomicUsize, Ordering};
    use loom::cell::UnsafeCell;

    /// Loom model of the shipped queue: crossbeam-queue 0.3's `ArrayQueue` algorithm (stamped
    /// slots, `head`/`tail` with a lap bit, the same orderings and fences as its `push`, `pop`,
    /// `is_empty` and `len`), over loom atomics and loom cells, so loom explores the lock-free
    /// queue itself and checks the value hand-off through each slot. Backoff spins become
    /// `yield_now` where crossbeam waits for another thread's progress.
    ///
    /// One limit of loom: it treats `SeqCst` *accesses* as `AcqRel` (only `SeqCst` fences are
    /// sequentially consistent), so the shipped `fence_after_push` — a no-op relying on
    /// `push`'s `SeqCst` compare-exchange of `tail` and `is_empty`'s `SeqCst` loads — is modelled
    /// as the real fence it stands for.
    pub(crate) struct IndexQueue {
        buffer: Box<[Slot]>,
        cap: usize,
        one_lap: usize,
        head: AtomicUsize,
        tail: AtomicUsize,
    }

    struct Slot {
        stamp: AtomicUsize,
        value: UnsafeCell<u32>,
    }

    // SAFETY: as crossbeam's `ArrayQueue<T: Send>`: a slot's value is written only by the
    // thread whose tail CAS claimed it and read only by the thread whose head CAS claimed it
    // after the stamp published it.
    unsafe impl Sync for IndexQueue {}
    // SAFETY: the queue owns its `u32` values.
    unsafe impl Send for IndexQueue {}

    impl IndexQueue {
        pub(crate) fn new(capacity: usize) -> Self {
            let cap = capacity.max(1);
            IndexQueue {
                buffer: (0..cap)
                    .map(|i| Slot {
                        stamp: AtomicUsize::new(i),
                        value: UnsafeCell::new(0),
                    })
                    .collect(),
                cap,
                one_lap: cap.saturating_add(1).next_power_of_two(),
                head: AtomicUsize::new(0),
                tail: AtomicUsize::new(0),
            }
        }

        pub(crate) fn push(&self, index: u32) -> Result<(), u32> {
            let mut tail = self.tail.load(Ordering::Relaxed);
            loop {
                let i = tail & (self.one_lap - 1);
                let lap = tail & !(self.one_lap - 1);
                let new_tail = if i + 1 < self.cap {
                    tail + 1
                } else {
                    lap.wrapping_add(self.one_lap)
                };
                let slot = &self.buffer[i];
                let stamp = slot.stamp.load(Ordering::Acquire);
                if tail == stamp {
                    match self.tail.compare_exchange_weak(
                        tail,
                        new_tail,
                        Ordering::SeqCst,
                        Ordering::Relaxed,
                    ) {
                        Ok(_) => {
                            // SAFETY: the tail CAS gave this thread the slot until the stamp
                            // store below publishes it.
                            slot.value.with_mut(|p| unsafe { *p = index });
                            slot.stamp.store(tail + 1, Ordering::Release);
                            return Ok(());
                        }
                        Err(t) => tail = t,
                    }
                } else if stamp.wrapping_add(self.one_lap) == tail + 1 {
                    fence(Ordering::SeqCst);
                    let head = self.head.load(Ordering::Relaxed);
                    if head.wrapping_add(self.one_lap) == tail {
                        return Err(index);
                    }
                    loom::thread::yield_now();
                    tail = self.tail.load(Ordering::Relaxed);
                } else {
                    loom::thread::yield_now();
                    tail = self.tail.load(Ordering::Relaxed);
                }
            }
        }

        pub(crate) fn pop(&self) -> Option<u32> {
            let mut head = self.head.load(Ordering::Relaxed);
            loop {
                let i = head & (self.one_lap - 1);
                let lap = head & !(self.one_lap - 1);
                let slot = &self.buffer[i];
                let stamp = slot.stamp.load(Ordering::Acquire);
                if head + 1 == stamp {
                    let new = if i + 1 < self.cap {
                        head + 1
                    } else {
                        lap.wrapping_add(self.one_lap)
                    };
                    match self.head.compare_exchange_weak(
                        head,
                        new,
                        Ordering::SeqCst,
                        Ordering::Relaxed,
                    ) {
                        Ok(_) => {
                            // SAFETY: the head CAS gave this thread the slot, whose value the
                            // pusher published with the stamp (Acquire above).
                            let v = slot.value.with(|p| unsafe { *p });
                            slot.stamp
                                .store(head.wrapping_add(self.one_lap), Ordering::Release);
                            return Some(v);
                        }
                        Err(h) => head = h,
                    }
                } else if stamp == head {
                    fence(Ordering::SeqCst);
                    let tail = self.tail.load(Ordering::Relaxed);
                    if tail == head {
                        return None;
                    }
                    loom::thread::yield_now();
                    head = self.head.load(Ordering::Relaxed);
                } else {
                    loom::thread::yield_now();
                    head = self.head.load(Ordering::Relaxed);
                }
            }
        }

        /// A real `SeqCst` fence (see the type's docs for why loom needs it spelled out).
        pub(crate) fn fence_after_push(&self) {
            fence(Ordering::SeqCst);
        }

        pub(crate) fn is_empty(&self) -> bool {
            let head = self.head.load(Ordering::SeqCst);
            let tail = self.tail.load(Ordering::SeqCst);
            tail == head
        }

        pub(crate) fn len(&self) -> usize {
            loop {
                let tail = self.tail.load(Ordering::SeqCst);
                let head = self.head.load(Ordering::SeqCst);
                if self.tail.load(Ordering::SeqCst) == tail {
                    let hix = head & (self.one_lap - 1);
                    let tix = tail & (self.one_lap - 1);
                    return if hix < tix {
                        tix - hix
                    } else if hix > tix {
                        self.cap - hix + tix
                    } else if tail == head {
                        0
                    } else {
                        self.cap
                    };
                }
            }
        }
    }
}

pub(crate) use imp::IndexQueue;
