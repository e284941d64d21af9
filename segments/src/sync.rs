//! Atomics switched between std and loom (`--cfg membudget_loom`) so the manager's lock-free
//! capacity can be model-checked.

#[cfg(membudget_loom)]
pub(crate) use loom::sync::atomic::{AtomicU64, Ordering};
#[cfg(not(membudget_loom))]
pub(crate) use std::sync::atomic::{AtomicU64, Ordering};
