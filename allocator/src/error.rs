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
    /// The limit of a child budget ([`BudgetHandle`](crate::BudgetHandle)); its name is
    /// [`QuotaExceeded::budget_name`].
    Budget,
}

/// One consumer's share of the refused category, as a refusal names it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct ConsumerUsage {
    /// The consumer's path: the names of its budgets and its own, joined by `/`, each quoted
    /// where it could be read as more than one (see
    /// [`BudgetHandle::path`](crate::BudgetHandle::path)).
    pub name: String,
    /// Bytes of the refused category it holds.
    pub bytes: u64,
}

/// What a refusal by a child budget adds: who holds the memory, what reclaim achieved, and the
/// whole tree. Boxed, so the common refusal stays small.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Detail {
    budget: Option<String>,
    top_consumers: Vec<ConsumerUsage>,
    reclaim: Option<ReclaimOutcome>,
    report: Option<crate::BudgetReport>,
}

/// What the reclaim protocol did before a refusal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReclaimOutcome {
    /// Bytes the reclaimers said they freed.
    pub freed: u64,
    /// How long the request waited, in milliseconds.
    pub waited_ms: u64,
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
    /// Bytes of the limit that threads had drawn as allowances and not spent yet (the process
    /// budget's per-thread allowances, see the crate docs): counted against the limit but not
    /// in `used`. 0 for explicit budgets and child budgets.
    pub allowances: u64,
    detail: Option<Box<Detail>>,
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
            allowances: 0,
            detail: None,
        }
    }

    /// The same refusal noting `allowances` bytes of the limit drawn by threads but unspent.
    #[must_use]
    pub fn with_allowances(mut self, allowances: u64) -> Self {
        self.allowances = allowances;
        self
    }

    #[cfg_attr(membudget_loom, allow(dead_code))]
    fn detail_mut(&mut self) -> &mut Detail {
        self.detail.get_or_insert_with(|| {
            Box::new(Detail {
                budget: None,
                top_consumers: Vec::new(),
                reclaim: None,
                report: None,
            })
        })
    }

    /// The same refusal by the child budget named `name` (its path from the top).
    #[must_use]
    #[cfg_attr(membudget_loom, allow(dead_code))]
    pub(crate) fn in_budget(mut self, name: String) -> Self {
        self.detail_mut().budget = Some(name);
        self
    }

    /// The same refusal naming the largest consumers of its category.
    #[must_use]
    #[cfg_attr(membudget_loom, allow(dead_code))]
    pub(crate) fn with_top_consumers(mut self, top: Vec<ConsumerUsage>) -> Self {
        self.detail_mut().top_consumers = top;
        self
    }

    /// The same refusal after reclaim freed too little in time.
    #[must_use]
    #[cfg_attr(membudget_loom, allow(dead_code))]
    pub(crate) fn with_reclaim(mut self, outcome: ReclaimOutcome) -> Self {
        self.detail_mut().reclaim = Some(outcome);
        self
    }

    /// The same refusal carrying the budget tree as it was.
    #[must_use]
    #[cfg_attr(membudget_loom, allow(dead_code))]
    pub(crate) fn with_report(mut self, report: crate::BudgetReport) -> Self {
        self.detail_mut().report = Some(report);
        self
    }

    /// The child budget whose limit refused (its path, e.g. `job-1/slot-0`), if one did.
    pub fn budget_name(&self) -> Option<&str> {
        self.detail.as_ref().and_then(|d| d.budget.as_deref())
    }

    /// The largest consumers (at most 3) of the refused category under the limit that refused,
    /// largest first; empty when no named consumer holds any.
    pub fn top_consumers(&self) -> &[ConsumerUsage] {
        self.detail
            .as_ref()
            .map_or(&[], |d| d.top_consumers.as_slice())
    }

    /// What reclaim freed and how long the request waited, if reclaim was tried.
    pub fn reclaim(&self) -> Option<ReclaimOutcome> {
        self.detail.as_ref().and_then(|d| d.reclaim)
    }

    /// The budget tree when the request was refused (child budgets only).
    pub fn report(&self) -> Option<&crate::BudgetReport> {
        self.detail.as_ref().and_then(|d| d.report.as_ref())
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
            Limit::Injected | Limit::Budget => None,
        }
    }
}

impl QuotaExceeded {
    /// `used: U[, unspent thread allowances: A], quota: Q[; top consumers: 'a' N, ...]`.
    fn amounts(&self, f: &mut fmt::Formatter<'_>, limit_word: &str) -> fmt::Result {
        write!(f, "used: {}", self.used)?;
        if self.allowances > 0 {
            write!(f, ", unspent thread allowances: {}", self.allowances)?;
        }
        write!(f, ", {limit_word}: {}", self.quota)?;
        let top = self.top_consumers();
        if !top.is_empty() {
            f.write_str("; top consumers:")?;
            for (i, c) in top.iter().enumerate() {
                let sep = if i == 0 { " " } else { ", " };
                write!(f, "{sep}'{}' {}", c.name, c.bytes)?;
            }
        }
        Ok(())
    }
}

impl QuotaExceeded {
    fn reclaim_sentence(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.reclaim() {
            Some(r) => write!(
                f,
                " Reclaim freed {} bytes in {} ms, not enough.",
                r.freed, r.waited_ms
            ),
            None => Ok(()),
        }
    }
}

impl fmt::Display for QuotaExceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Cannot reserve {} bytes of {} memory",
            self.requested, self.category
        )?;
        match self.limit {
            Limit::Category => {
                f.write_str(" (")?;
                self.amounts(f, "quota")?;
                f.write_str(").")?;
                self.reclaim_sentence(f)?;
                write!(f, " {}", IncreaseHint::category(self.role, self.category))
            }
            Limit::Process => {
                f.write_str(": the process total would be exceeded (")?;
                self.amounts(f, "limit")?;
                f.write_str(").")?;
                self.reclaim_sentence(f)?;
                write!(f, " {}", IncreaseHint::process(self.role))
            }
            Limit::Injected => {
                f.write_str(": failure injected for testing (")?;
                self.amounts(f, "quota")?;
                f.write_str("). Unset MEMBUDGET_FAULT_PROBABILITY to stop it.")
            }
            Limit::Budget => {
                let name = self.budget_name().unwrap_or("?");
                write!(f, " in budget '{name}' (")?;
                self.amounts(f, "limit")?;
                f.write_str(").")?;
                self.reclaim_sentence(f)?;
                write!(
                    f,
                    " Raise the {} limit of budget '{name}' or register reclaimers that spill.",
                    self.category
                )
            }
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
