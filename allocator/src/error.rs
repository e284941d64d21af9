//! The error returned when a request would exceed a quota.

use crate::{Category, Role};
use core::fmt;
use membudget_core::IncreaseHint;

/// Which limit a refused request ran into.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Limit {
    /// The quota of the request's category.
    Category,
    /// The process total (sum over all categories).
    Process,
    /// A fault injected on purpose for testing (`Budget::set_fault_probability`).
    Injected,
}

/// A request for `requested` bytes of `category` memory was refused.
///
/// `used` and `quota` describe the limit that was hit (the category's, or the process total's
/// when `limit` is [`Limit::Process`]), as they were when the request was refused. `Display`
/// ends with the configuration keys to raise for `role` — the role of the plan whose quotas the
/// budget holds (see [`Quotas::with_role`](crate::Quotas::with_role)).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct QuotaExceeded {
    /// The category the request was charged to.
    pub category: Category,
    /// Bytes requested.
    pub requested: u64,
    /// Bytes in use under the limit that was hit.
    pub used: u64,
    /// The limit that was hit.
    pub quota: u64,
    /// Which limit was hit.
    pub limit: Limit,
    /// The process whose configuration keys the message names.
    pub role: Role,
}

impl QuotaExceeded {
    /// A refusal by `limit`, naming TaskManager keys (see [`with_role`](Self::with_role)).
    pub fn new(category: Category, requested: u64, used: u64, quota: u64, limit: Limit) -> Self {
        QuotaExceeded {
            category,
            requested,
            used,
            quota,
            limit,
            role: Role::TaskManager,
        }
    }

    /// The same refusal naming `role`'s configuration keys.
    #[must_use]
    pub fn with_role(mut self, role: Role) -> Self {
        self.role = role;
        self
    }

    /// The configuration key of `role`'s process to raise so that such a request fits (the
    /// first key `Display` names), or `None` for a failure injected for testing.
    pub fn key(&self) -> Option<&'static str> {
        match self.limit {
            Limit::Category => Some(IncreaseHint::category(self.role, self.category).key()),
            Limit::Process => Some(IncreaseHint::process(self.role).key()),
            Limit::Injected => None,
        }
    }
}

impl fmt::Display for QuotaExceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.limit {
            Limit::Category => write!(
                f,
                "Cannot reserve {} bytes of {} memory (used: {}, quota: {}). {}",
                self.requested,
                self.category,
                self.used,
                self.quota,
                IncreaseHint::category(self.role, self.category)
            ),
            Limit::Process => write!(
                f,
                "Cannot reserve {} bytes of {} memory: the process total would be exceeded \
                 (used: {}, limit: {}). {}",
                self.requested,
                self.category,
                self.used,
                self.quota,
                IncreaseHint::process(self.role)
            ),
            Limit::Injected => write!(
                f,
                "Cannot reserve {} bytes of {} memory: failure injected for testing \
                 (used: {}, quota: {}). Unset MEMBUDGET_FAULT_PROBABILITY to stop it.",
                self.requested, self.category, self.used, self.quota
            ),
        }
    }
}

impl std::error::Error for QuotaExceeded {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_names_amounts_and_key() {
        let e = QuotaExceeded::new(
            Category::Network,
            4194304,
            130023424,
            134217728,
            Limit::Category,
        );
        assert_eq!(
            e.to_string(),
            "Cannot reserve 4194304 bytes of network memory (used: 130023424, quota: 134217728). \
             Increase 'taskmanager.memory.network.fraction' (or .min/.max)."
        );
    }

    #[test]
    fn jobmanager_refusals_name_jobmanager_keys() {
        let e = QuotaExceeded::new(Category::Heap, 64, 1000, 1024, Limit::Category)
            .with_role(Role::JobManager);
        assert_eq!(
            e.to_string(),
            "Cannot reserve 64 bytes of heap memory (used: 1000, quota: 1024). \
             Increase 'jobmanager.memory.heap.size' (or 'jobmanager.memory.process.size')."
        );
        let e = QuotaExceeded::new(Category::Direct, 64, 1000, 1024, Limit::Process)
            .with_role(Role::JobManager);
        assert_eq!(
            e.to_string(),
            "Cannot reserve 64 bytes of direct memory: the process total would be exceeded \
             (used: 1000, limit: 1024). Increase 'jobmanager.memory.process.size'."
        );
        let e = QuotaExceeded::new(Category::Direct, 64, 1000, 1024, Limit::Process);
        assert!(e
            .to_string()
            .ends_with("Increase 'taskmanager.memory.process.size'."));
    }
}

/// A fault-injection spec (`MEMBUDGET_FAULT_PROBABILITY` / `MEMBUDGET_FAULT_SEED`) is malformed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FaultSpecError {
    item: String,
    seed: bool,
}

impl FaultSpecError {
    pub(crate) fn new(item: &str) -> Self {
        FaultSpecError {
            item: item.to_owned(),
            seed: false,
        }
    }

    pub(crate) fn seed(value: &str) -> Self {
        FaultSpecError {
            item: value.to_owned(),
            seed: true,
        }
    }

    /// The malformed item (or seed value).
    pub fn item(&self) -> &str {
        &self.item
    }
}

impl fmt::Display for FaultSpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.seed {
            write!(
                f,
                "Invalid MEMBUDGET_FAULT_SEED '{}': expected an unsigned 64-bit integer.",
                self.item
            )
        } else {
            write!(
                f,
                "Invalid MEMBUDGET_FAULT_PROBABILITY item '{}': expected \
                 <category>=<probability from 0 to 1>, category one of heap, direct, managed, \
                 network, overhead (e.g. 'network=0.001,heap=0').",
                self.item
            )
        }
    }
}

impl std::error::Error for FaultSpecError {}
