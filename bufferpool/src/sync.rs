//! Atomics, locks and condition variables switched between std and loom
//! (`--cfg membudget_loom`) so the pool's concurrent paths can be model-checked.

#[cfg(membudget_loom)]
pub(crate) use loom::sync::atomic::{fence, AtomicBool, AtomicUsize, Ordering};
#[cfg(membudget_loom)]
pub(crate) use loom::sync::{Condvar, Mutex};

#[cfg(not(membudget_loom))]
pub(crate) use std::sync::atomic::{fence, AtomicBool, AtomicUsize, Ordering};
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
