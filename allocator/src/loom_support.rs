//! Crate internals for the loom model checks (`--cfg membudget_loom` only).

use crate::{Budget, Category, Quotas};

pub use crate::allowance::{Registry, Slot};

/// A budget whose threads hold allowances in `registry`, like the process budget.
pub fn budget_with_registry(quotas: Quotas, registry: &'static Registry) -> Budget {
    Budget::with_registry(quotas, registry)
}

/// What the global allocator does on allocation, for the thread owning `slot`.
pub fn charge(budget: &Budget, slot: &Slot, category: Category, bytes: u64) -> bool {
    budget.charge_local(slot, category, bytes)
}

/// What the global allocator does on free, for the thread owning `slot`.
pub fn credit(budget: &Budget, slot: &Slot, category: Category, bytes: u64) {
    budget.credit_local(slot, category, bytes)
}

/// What happens at thread exit.
pub fn retire(budget: &Budget, slot: &Slot) {
    budget.retire(slot)
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
