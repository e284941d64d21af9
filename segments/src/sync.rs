//! Atomics, locks and thread identity switched between std and loom (`--cfg membudget_loom`)
//! so the page source's free list, the manager's capacity and owner table, and the shared
//! resources' initialization can be model-checked as they ship.

#[cfg(membudget_loom)]
pub(crate) use loom::sync::atomic::{
    fence, AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering,
};
#[cfg(membudget_loom)]
pub(crate) use loom::sync::{Condvar, Mutex, MutexGuard};
#[cfg(not(membudget_loom))]
pub(crate) use std::sync::atomic::{
    fence, AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering,
};
#[cfg(not(membudget_loom))]
pub(crate) use std::sync::{Condvar, Mutex, MutexGuard};

/// The calling thread's identity (loom's model thread under loom: all of them share one OS
/// thread there).
#[cfg(not(membudget_loom))]
pub(crate) fn current_thread() -> std::thread::ThreadId {
    std::thread::current().id()
}

/// The calling thread's identity (loom's model thread under loom: all of them share one OS
/// thread there).
#[cfg(membudget_loom)]
pub(crate) fn current_thread() -> loom::thread::ThreadId {
    loom::thread::current().id()
}

/// The type [`current_thread`] returns.
#[cfg(not(membudget_loom))]
pub(crate) type ThreadId = std::thread::ThreadId;
/// The type [`current_thread`] returns.
#[cfg(membudget_loom)]
pub(crate) type ThreadId = loom::thread::ThreadId;
