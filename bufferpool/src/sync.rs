//! Atomics, locks and condition variables switched between std and loom
//! (`--cfg membudget_loom`) so the pool's concurrent paths can be model-checked.

#[cfg(membudget_loom)]
pub(crate) use loom::sync::atomic::{
    fence, AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering,
};
#[cfg(membudget_loom)]
pub(crate) use loom::sync::{Condvar, Mutex};

#[cfg(not(membudget_loom))]
pub(crate) use std::sync::atomic::{
    fence, AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering,
};
#[cfg(not(membudget_loom))]
pub(crate) use std::sync::{Condvar, Mutex};

/// Locks `m`, ignoring poisoning: every critical section in this crate leaves its data
/// consistent before anything that can panic runs (wakers and listeners run outside locks).
#[inline]
pub(crate) fn lock<T>(m: &Mutex<T>) -> impl core::ops::DerefMut<Target = T> + '_ {
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

/// Orders a preceding `SeqCst` read-modify-write (a push onto an idle list or a stash) before
/// the caller's next `SeqCst` load, as a `SeqCst` fence would. In the C++/Rust memory model a
/// `SeqCst` read-modify-write and the `SeqCst` loads after it on the same thread are already
/// in the single total order in that order, so the shipped code needs no instruction here (a
/// real fence costs the request+recycle round trip ~40%: an `mfence` on x86).
///
/// Under loom it is the real `SeqCst` fence: loom treats `SeqCst` accesses as `AcqRel` (only
/// its fences are sequentially consistent), so the models check the protocol with the fence
/// the shipped read-modify-write stands for.
#[inline(always)]
pub(crate) fn fence_after_rmw() {
    #[cfg(membudget_loom)]
    fence(Ordering::SeqCst);
}

/// Waits a little for another thread that is between two steps of a queue operation: spins
/// first, then yields its time slice (the other thread may need this core). Under loom, yields
/// to the model's scheduler.
#[inline]
pub(crate) fn spin_wait(spins: &mut u32) {
    #[cfg(membudget_loom)]
    {
        let _ = spins;
        loom::thread::yield_now();
    }
    #[cfg(not(membudget_loom))]
    {
        if *spins < 64 {
            *spins += 1;
            core::hint::spin_loop();
        } else {
            std::thread::yield_now();
        }
    }
}
