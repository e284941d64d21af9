//! Atomics switched between std and loom (`--cfg membudget_loom`) so the budget's concurrent
//! paths (charges, releases, per-thread allowances) can be model-checked.

#[cfg(membudget_loom)]
pub(crate) use loom::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering};
#[cfg(not(membudget_loom))]
pub(crate) use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering};
