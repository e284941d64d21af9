//! The error returned when a request would exceed a quota.

use crate::Category;
use core::fmt;

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
/// when `limit` is [`Limit::Process`]), as they were when the request was refused.
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
}

impl QuotaExceeded {
    /// A refusal by `limit`.
    pub fn new(category: Category, requested: u64, used: u64, quota: u64, limit: Limit) -> Self {
        QuotaExceeded {
            category,
            requested,
            used,
            quota,
            limit,
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
                self.category.increase_hint()
            ),
            Limit::Process => write!(
                f,
                "Cannot reserve {} bytes of {} memory: the process total would be exceeded \
                 (used: {}, limit: {}). Increase 'taskmanager.memory.process.size'.",
                self.requested, self.category, self.used, self.quota
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
}
