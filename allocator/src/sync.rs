//! Atomics and cells switched between std and loom (`--cfg membudget_loom`) so the budget's concurrent
//! paths (charges, releases, per-thread allowances) can be model-checked.

#[cfg(not(membudget_loom))]
pub(crate) use core::cell::UnsafeCell;
#[cfg(membudget_loom)]
pub(crate) use loom::cell::UnsafeCell;
#[cfg(membudget_loom)]
pub(crate) use loom::sync::atomic::{
    fence, AtomicBool, AtomicPtr, AtomicU64, AtomicU8, AtomicUsize, Ordering,
};
#[cfg(not(membudget_loom))]
pub(crate) use std::sync::atomic::{
    fence, AtomicBool, AtomicPtr, AtomicU64, AtomicU8, AtomicUsize, Ordering,
};
