//! `Availability`: one "may a request succeed now?" flag plus the wakers waiting for it.
//!
//! Checking availability is a single atomic load. Waiting registers a [`Waker`] under a small
//! mutex that the request/recycle fast path never takes: only a thread that flips the flag from
//! unavailable to available drains the waiters, and it wakes them after releasing the lock.
//!
//! Lost-wakeup argument (the protocol every user of this type follows):
//! - a consumer that finds the resource empty calls [`Availability::set_unavailable`] (a `SeqCst`
//!   store), issues a `SeqCst` fence, and re-checks the resource; if it is not empty after all it
//!   calls [`Availability::set_available`];
//! - a producer adds to the resource, issues a `SeqCst` fence, and if it then sees the flag
//!   unavailable calls [`Availability::set_available`].
//!
//! Of the two fences one comes first in the single total order of `SeqCst` operations, so either
//! the consumer's re-check sees the producer's addition or the producer sees the consumer's
//! store: the flag never stays "unavailable" while the resource holds something. A waiter
//! registers under the lock and re-checks the flag under it; `set_available` flips the flag
//! before it takes the lock to drain, so a waiter either sees the flag set or is drained.

use crate::sync::{fence, lock, AtomicBool, AtomicUsize, Mutex, Ordering};
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll, Waker};

/// Availability flag with waiter registration (see the module docs for the protocol).
pub(crate) struct Availability {
    available: AtomicBool,
    /// Registered waiters (mirrors `waiters.list.len()`), so a transition with nobody waiting
    /// takes no lock.
    waiting: AtomicUsize,
    waiters: Mutex<Waiters>,
}

#[derive(Default)]
struct Waiters {
    next_id: u64,
    list: Vec<(u64, Waker)>,
}

impl Availability {
    /// A flag starting in the given state with no waiters.
    pub(crate) fn new(available: bool) -> Self {
        Availability {
            available: AtomicBool::new(available),
            waiting: AtomicUsize::new(0),
            waiters: Mutex::new(Waiters::default()),
        }
    }

    /// Whether a request may succeed now (one load).
    #[inline]
    pub(crate) fn is_available(&self) -> bool {
        // SeqCst: the producer side of the protocol reads the flag after its fence.
        self.available.load(Ordering::SeqCst)
    }

    /// Marks unavailable. The caller must then fence and re-check its resource.
    #[inline]
    pub(crate) fn set_unavailable(&self) {
        // SeqCst: ordered against the producer's fence (module docs). A swap rather than a
        // store, so every write of the flag is a read-modify-write: the same instruction on
        // x86 (a SeqCst store is an `xchg`), and it keeps loom exact here. Loom (0.7) lets a
        // plain store slip between the read and the write of another thread's
        // read-modify-write (tokio-rs/loom#254), so with a store it explores histories no
        // machine has — `set_available`'s swap reading a `true` that a later `false` had
        // already overwritten — and reports a lost wake-up that cannot happen.
        self.available.swap(false, Ordering::SeqCst);
    }

    /// Marks available; on the unavailable → available transition wakes every waiter, outside
    /// the lock.
    #[inline]
    pub(crate) fn set_available(&self) {
        // SeqCst swap: only one thread wins the transition and drains; it is ordered before the
        // lock below, which is what the waiter's re-check under the lock relies on.
        if !self.available.swap(true, Ordering::SeqCst) {
            self.wake_all();
        }
    }

    #[cold]
    #[inline(never)]
    fn wake_all(&self) {
        // SeqCst fence: pairs with the one in `push_waiter`. A waiter increments `waiting`,
        // fences and re-checks the flag; we swapped the flag, fence and read `waiting`: either
        // it sees our swap or we see its registration.
        fence(Ordering::SeqCst);
        if self.waiting.load(Ordering::SeqCst) == 0 {
            return;
        }
        let list = {
            let mut w = lock(&self.waiters);
            self.waiting.store(0, Ordering::SeqCst);
            core::mem::take(&mut w.list)
        };
        for (_, w) in list {
            w.wake();
        }
    }

    /// Adds a waiter under the lock (keeps `waiting` in step with the list).
    fn push_waiter(&self, w: &mut Waiters, waker: Waker) -> u64 {
        let id = w.next_id;
        // 2⁶⁴ registrations never happen: wrapping is only a formality.
        w.next_id = w.next_id.wrapping_add(1);
        w.list.push((id, waker));
        self.waiting.fetch_add(1, Ordering::SeqCst);
        // SeqCst fence: pairs with the one in `wake_all`; the caller re-checks the flag next.
        fence(Ordering::SeqCst);
        id
    }

    /// Registers `waker` to be woken on the next transition to available. Returns `false`
    /// (and registers nothing) when the flag is set already — the caller retries instead.
    pub(crate) fn subscribe(&self, waker: Waker) -> bool {
        let mut w = lock(&self.waiters);
        let id = self.push_waiter(&mut w, waker);
        // Re-check after registering (SeqCst, after the SeqCst increment of `waiting`).
        if self.is_available() {
            if let Some(pos) = w.list.iter().position(|(i, _)| *i == id) {
                w.list.swap_remove(pos);
                self.waiting.fetch_sub(1, Ordering::SeqCst);
            }
            return false;
        }
        true
    }

    /// Number of registered waiters (`LocalBufferPool::num_waiters`, `Debug`).
    pub(crate) fn waiter_count(&self) -> usize {
        lock(&self.waiters).list.len()
    }

    /// Polls for availability, (re)registering `cx`'s waker under `slot`'s id.
    pub(crate) fn poll_wait(&self, slot: &mut Option<u64>, cx: &mut Context<'_>) -> Poll<()> {
        if self.is_available() {
            self.forget(slot);
            return Poll::Ready(());
        }
        let mut w = lock(&self.waiters);
        let registered = slot.and_then(|id| w.list.iter_mut().find(|(i, _)| *i == id));
        match registered {
            Some(entry) => {
                if !entry.1.will_wake(cx.waker()) {
                    entry.1 = cx.waker().clone();
                }
            }
            None => *slot = Some(self.push_waiter(&mut w, cx.waker().clone())),
        }
        // Re-check after registering (SeqCst, after the SeqCst increment of `waiting`).
        if self.is_available() {
            drop(w);
            self.forget(slot);
            return Poll::Ready(());
        }
        Poll::Pending
    }

    /// Removes the registration under `slot`, if still there.
    pub(crate) fn forget(&self, slot: &mut Option<u64>) {
        if let Some(id) = slot.take() {
            let mut w = lock(&self.waiters);
            if let Some(pos) = w.list.iter().position(|(i, _)| *i == id) {
                w.list.swap_remove(pos);
                self.waiting.fetch_sub(1, Ordering::SeqCst);
            }
        }
    }
}

impl core::fmt::Debug for Availability {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Availability")
            .field("available", &self.is_available())
            .finish()
    }
}

/// A future that completes when a pool may have a buffer (or was destroyed, in which case the
/// next request reports that). Works on any executor: it registers the task's waker with the
/// pool and is woken by whichever thread makes the pool available, outside any lock.
///
/// Completion is a hint, like Flink's "approximately available": another consumer may take the
/// buffer first, so callers loop `request → None → await available()`.
#[must_use = "futures do nothing unless polled"]
pub struct AvailableFuture<'a> {
    availability: &'a Availability,
    slot: Option<u64>,
}

impl<'a> AvailableFuture<'a> {
    pub(crate) fn new(availability: &'a Availability) -> Self {
        AvailableFuture {
            availability,
            slot: None,
        }
    }
}

impl Future for AvailableFuture<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        this.availability.poll_wait(&mut this.slot, cx)
    }
}

impl Drop for AvailableFuture<'_> {
    fn drop(&mut self) {
        if self.slot.is_some() {
            self.availability.forget(&mut self.slot);
        }
    }
}

impl core::fmt::Debug for AvailableFuture<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("AvailableFuture")
            .field("available", &self.availability.is_available())
            .field("registered", &self.slot.is_some())
            .finish()
    }
}
