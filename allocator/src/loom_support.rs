//! Crate internals for the loom model checks (`--cfg membudget_loom` only).

use crate::{Budget, Category, Quotas};

pub use crate::allowance::{Registry, Slot};

/// A budget whose threads hold allowances in `registry`, like the process budget.
pub fn budget_with_registry(quotas: Quotas, registry: &'static Registry) -> Budget {
    Budget::with_registry(quotas, registry)
}

/// What the global allocator does on allocation, for the thread owning `slot`.
///
/// # Safety
/// The calling thread owns `slot`: it acquired it (or was handed it by the thread that did,
/// with synchronisation), and no other thread uses it.
pub unsafe fn charge(budget: &Budget, slot: &Slot, category: Category, bytes: u64) -> bool {
    // SAFETY: forwarded.
    unsafe { budget.charge_local(slot, category, bytes) }
}

/// What the global allocator does on free, for the thread owning `slot`.
///
/// # Safety
/// As [`charge`].
pub unsafe fn credit(budget: &Budget, slot: &Slot, category: Category, bytes: u64) {
    // SAFETY: forwarded.
    unsafe { budget.credit_local(slot, category, bytes) }
}

/// What happens at thread exit.
///
/// # Safety
/// As [`charge`]; the caller does not use `slot` afterwards.
pub unsafe fn retire(budget: &Budget, slot: &Slot) {
    // SAFETY: forwarded.
    unsafe { budget.retire(slot) }
}

/// Extension for the loom tests: the registry of a budget made by [`budget_with_registry`].
pub trait RegistryForTests {
    /// The registry (panics for a budget without one).
    fn registry_for_tests(&self) -> &'static Registry;
}

impl RegistryForTests for Budget {
    fn registry_for_tests(&self) -> &'static Registry {
        self.registry()
            .expect("budget made by budget_with_registry")
    }
}

/// One category of one child budget (`slack.rs`): claimed and unspent bytes.
pub use crate::slack::Slack;
