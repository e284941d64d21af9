//! The sum invariants of a plan, checked in one place: by [`derive`](crate::derive) in debug
//! builds, and by the model's tests, the CLI's tests and the fuzz targets.

use core::fmt;

use membudget_core::{Category, MemorySize};

use crate::plan::{JobManagerPlan, MemoryPlan, TaskManagerPlan};
use crate::taskmanager::MIN_PAGE_SIZE;

/// A plan whose numbers do not add up. `Display` names the invariant and the numbers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlanCheckError {
    message: String,
}

impl PlanCheckError {
    fn new(message: String) -> PlanCheckError {
        PlanCheckError { message }
    }
}

impl fmt::Display for PlanCheckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for PlanCheckError {}

/// `total == Σ parts` (checked: a sum that overflows never equals a total).
fn expect_sum(total: (&str, u64), parts: &[(&str, u64)]) -> Result<(), PlanCheckError> {
    let sum = parts
        .iter()
        .try_fold(0u64, |acc, (_, v)| acc.checked_add(*v));
    if sum == Some(total.1) {
        return Ok(());
    }
    let names: Vec<&str> = parts.iter().map(|(name, _)| *name).collect();
    let sum = sum.map_or_else(|| "more than u64::MAX".to_owned(), |s| s.to_string());
    Err(PlanCheckError::new(format!(
        "{} is {} bytes, but {} add up to {sum} bytes.",
        total.0,
        total.1,
        names.join(" + ")
    )))
}

impl TaskManagerPlan {
    fn check(&self) -> Result<(), PlanCheckError> {
        expect_sum(
            ("total_flink_memory", self.total_flink_memory),
            &[
                ("framework_heap", self.framework_heap),
                ("task_heap", self.task_heap),
                ("framework_off_heap", self.framework_off_heap),
                ("task_off_heap", self.task_off_heap),
                ("managed", self.managed),
                ("network", self.network),
            ],
        )?;
        if self.segment_size < MIN_PAGE_SIZE || !self.segment_size.is_power_of_two() {
            return Err(PlanCheckError::new(format!(
                "segment_size is {} bytes, not a power of two of at least {MIN_PAGE_SIZE}.",
                self.segment_size
            )));
        }
        if self.network_buffers != self.network / self.segment_size {
            return Err(PlanCheckError::new(format!(
                "network_buffers is {}, but network / segment_size is {} / {} = {}.",
                self.network_buffers,
                self.network,
                self.segment_size,
                self.network / self.segment_size
            )));
        }
        Ok(())
    }
}

impl JobManagerPlan {
    fn check(&self) -> Result<(), PlanCheckError> {
        expect_sum(
            ("total_flink_memory", self.total_flink_memory),
            &[("jvm_heap", self.jvm_heap), ("off_heap", self.off_heap)],
        )
    }
}

impl MemoryPlan {
    /// Checks the invariants every plan [`derive`](crate::derive) makes satisfies:
    ///
    /// - Total Flink Memory is the sum of its components (TaskManager: framework and task heap,
    ///   framework and task off-heap, managed, network; JobManager: JVM heap and off-heap);
    /// - Total Process Memory is Total Flink Memory + JVM metaspace + JVM overhead, and fits a
    ///   Java `long` (Flink's `MemorySize.MAX_VALUE`);
    /// - TaskManager: the segment size is a power of two of at least 4096 bytes and
    ///   `network_buffers = network / segment_size`;
    /// - the five [`quotas`](Self::quotas) add up to the Total Process Memory, which is also
    ///   their total, and carry the plan's role.
    ///
    /// # Errors
    ///
    /// [`PlanCheckError`] naming the first invariant that fails and its numbers (only a plan
    /// built or changed by hand can fail).
    ///
    /// # Examples
    ///
    /// ```
    /// use membudget_model::{derive, Configuration, MemoryPlan, Role};
    ///
    /// let config: Configuration = [("jobmanager.memory.process.size", "1600m")].into_iter().collect();
    /// let mut plan = derive(Role::JobManager, &config).unwrap();
    /// assert_eq!(plan.check(), Ok(()));
    /// if let MemoryPlan::JobManager(jm) = &mut plan {
    ///     jm.off_heap += 1;
    /// }
    /// assert_eq!(
    ///     plan.check().unwrap_err().to_string(),
    ///     "total_flink_memory is 1207959552 bytes, but jvm_heap + off_heap add up to 1207959553 bytes."
    /// );
    /// ```
    pub fn check(&self) -> Result<(), PlanCheckError> {
        let (metaspace, overhead) = match self {
            MemoryPlan::TaskManager(p) => {
                p.check()?;
                (p.jvm_metaspace, p.jvm_overhead)
            }
            MemoryPlan::JobManager(p) => {
                p.check()?;
                (p.jvm_metaspace, p.jvm_overhead)
            }
        };
        let total = self.total_process_memory();
        expect_sum(
            ("total_process_memory", total),
            &[
                ("total_flink_memory", self.total_flink_memory()),
                ("jvm_metaspace", metaspace),
                ("jvm_overhead", overhead),
            ],
        )?;
        if total > MemorySize::MAX_VALUE.bytes() {
            return Err(PlanCheckError::new(format!(
                "total_process_memory is {total} bytes, more than a Java long holds."
            )));
        }
        let quotas = self.quotas();
        let per_category: Vec<(&str, u64)> = Category::ALL
            .iter()
            .map(|c| (c.name(), quotas.get(*c)))
            .collect();
        expect_sum(("total_process_memory", total), &per_category)?;
        if quotas.total() != total {
            return Err(PlanCheckError::new(format!(
                "the quotas' total is {} bytes, but total_process_memory is {total} bytes.",
                quotas.total()
            )));
        }
        if quotas.role() != self.role() {
            return Err(PlanCheckError::new(format!(
                "the quotas are a {}'s, but the plan is a {}'s.",
                quotas.role(),
                self.role()
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{derive, Configuration, Role};

    fn taskmanager() -> TaskManagerPlan {
        let config: Configuration = [("taskmanager.memory.process.size", "1728m")]
            .into_iter()
            .collect();
        derive(Role::TaskManager, &config)
            .unwrap()
            .as_taskmanager()
            .unwrap()
            .clone()
    }

    fn check(p: &TaskManagerPlan) -> Result<(), String> {
        MemoryPlan::TaskManager(p.clone())
            .check()
            .map_err(|e| e.to_string())
    }

    #[test]
    fn every_broken_invariant_is_named() {
        let good = taskmanager();
        assert_eq!(check(&good), Ok(()));

        let mut p = good.clone();
        p.managed -= 1;
        assert!(check(&p).unwrap_err().starts_with("total_flink_memory is "));

        let mut p = good.clone();
        p.jvm_overhead += 1;
        assert!(check(&p)
            .unwrap_err()
            .starts_with("total_process_memory is "));

        let mut p = good.clone();
        p.segment_size = 3000;
        assert!(check(&p)
            .unwrap_err()
            .starts_with("segment_size is 3000 bytes"));

        let mut p = good.clone();
        p.network_buffers += 1;
        assert!(check(&p).unwrap_err().starts_with("network_buffers is "));

        let mut p = good.clone();
        p.network = u64::MAX;
        assert!(check(&p)
            .unwrap_err()
            .contains("add up to more than u64::MAX bytes"));

        // Consistent sums that no Java long holds.
        let mut p = good;
        p.task_heap += 1 << 63;
        p.total_flink_memory += 1 << 63;
        p.total_process_memory += 1 << 63;
        assert_eq!(
            check(&p).unwrap_err(),
            format!(
                "total_process_memory is {} bytes, more than a Java long holds.",
                p.total_process_memory
            )
        );
    }
}
