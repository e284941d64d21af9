//! `IncreaseHint`: the sentence that ends a refusal, naming the keys of the process at hand.

use core::fmt;

use crate::keys::*;
use crate::{Category, Role};

/// What a user should change when a category — or the whole process — runs out of memory, for
/// one [`Role`]: the end of an error message such as `QuotaExceeded`'s.
///
/// A TaskManager sizes every category with its own keys; a JobManager has only a heap, an
/// off-heap and the JVM's overhead, so for managed and network memory it is told where such
/// memory belongs in a JobManager.
///
/// # Examples
///
/// ```
/// use membudget_core::{Category, IncreaseHint, Role};
///
/// assert_eq!(
///     IncreaseHint::category(Role::TaskManager, Category::Network).to_string(),
///     "Increase 'taskmanager.memory.network.fraction' (or .min/.max)."
/// );
/// assert_eq!(
///     IncreaseHint::process(Role::JobManager).to_string(),
///     "Increase 'jobmanager.memory.process.size'."
/// );
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct IncreaseHint {
    role: Role,
    /// `None`: the process total.
    category: Option<Category>,
}

impl IncreaseHint {
    /// The hint for a refusal by `category`'s quota.
    pub const fn category(role: Role, category: Category) -> IncreaseHint {
        IncreaseHint {
            role,
            category: Some(category),
        }
    }

    /// The hint for a refusal by the process total.
    pub const fn process(role: Role) -> IncreaseHint {
        IncreaseHint {
            role,
            category: None,
        }
    }

    /// The one configuration key to raise first: the first key the sentence names (a
    /// JobManager's managed or network shortage names its off-heap size, where such memory
    /// belongs in a JobManager).
    ///
    /// # Examples
    ///
    /// ```
    /// use membudget_core::{Category, IncreaseHint, Role};
    ///
    /// let hint = IncreaseHint::category(Role::TaskManager, Category::Heap);
    /// assert_eq!(hint.key(), "taskmanager.memory.task.heap.size");
    /// assert_eq!(IncreaseHint::process(Role::JobManager).key(), "jobmanager.memory.process.size");
    /// ```
    pub const fn key(&self) -> &'static str {
        let Some(category) = self.category else {
            return self.role.process_size_key();
        };
        match (self.role, category) {
            (Role::TaskManager, Category::Heap) => TM_TASK_HEAP_MEMORY,
            (Role::TaskManager, Category::Direct) => TM_TASK_OFF_HEAP_MEMORY,
            (Role::TaskManager, Category::Managed) => TM_MANAGED_MEMORY_FRACTION,
            (Role::TaskManager, Category::Network) => TM_NETWORK_MEMORY_FRACTION,
            (Role::TaskManager, Category::Overhead) => TM_JVM_OVERHEAD_FRACTION,
            (Role::JobManager, Category::Heap) => JM_JVM_HEAP_MEMORY,
            (Role::JobManager, Category::Direct | Category::Managed | Category::Network) => {
                JM_OFF_HEAP_MEMORY
            }
            (Role::JobManager, Category::Overhead) => JM_JVM_OVERHEAD_FRACTION,
        }
    }
}

impl fmt::Display for IncreaseHint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some(category) = self.category else {
            return write!(f, "Increase '{}'.", self.role.process_size_key());
        };
        match (self.role, category) {
            (Role::TaskManager, Category::Heap) => write!(
                f,
                "Increase '{TM_TASK_HEAP_MEMORY}' (or '{TM_FRAMEWORK_HEAP_MEMORY}')."
            ),
            (Role::TaskManager, Category::Direct) => write!(
                f,
                "Increase '{TM_TASK_OFF_HEAP_MEMORY}' (or '{TM_FRAMEWORK_OFF_HEAP_MEMORY}')."
            ),
            (Role::TaskManager, Category::Managed) => write!(
                f,
                "Increase '{TM_MANAGED_MEMORY_FRACTION}' (or '{TM_MANAGED_MEMORY_SIZE}')."
            ),
            (Role::TaskManager, Category::Network) => {
                write!(f, "Increase '{TM_NETWORK_MEMORY_FRACTION}' (or .min/.max).")
            }
            (Role::TaskManager, Category::Overhead) => write!(
                f,
                "Increase '{TM_JVM_OVERHEAD_FRACTION}' (or .min/.max) or '{TM_JVM_METASPACE}'."
            ),
            (Role::JobManager, Category::Heap) => write!(
                f,
                "Increase '{JM_JVM_HEAP_MEMORY}' (or '{JM_TOTAL_PROCESS_MEMORY}')."
            ),
            (Role::JobManager, Category::Direct) => {
                write!(f, "Increase '{JM_OFF_HEAP_MEMORY}'.")
            }
            (Role::JobManager, Category::Managed | Category::Network) => write!(
                f,
                "A JobManager has no {category} memory: use off-heap memory and increase \
                 '{JM_OFF_HEAP_MEMORY}'."
            ),
            (Role::JobManager, Category::Overhead) => write!(
                f,
                "Increase '{JM_JVM_OVERHEAD_FRACTION}' (or .min/.max) or '{JM_JVM_METASPACE}'."
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn taskmanager_hints_name_taskmanager_keys() {
        let expected = [
            "Increase 'taskmanager.memory.task.heap.size' (or 'taskmanager.memory.framework.heap.size').",
            "Increase 'taskmanager.memory.task.off-heap.size' (or 'taskmanager.memory.framework.off-heap.size').",
            "Increase 'taskmanager.memory.managed.fraction' (or 'taskmanager.memory.managed.size').",
            "Increase 'taskmanager.memory.network.fraction' (or .min/.max).",
            "Increase 'taskmanager.memory.jvm-overhead.fraction' (or .min/.max) or 'taskmanager.memory.jvm-metaspace.size'.",
        ];
        for (c, text) in Category::ALL.into_iter().zip(expected) {
            assert_eq!(
                IncreaseHint::category(Role::TaskManager, c).to_string(),
                text
            );
        }
        assert_eq!(
            IncreaseHint::process(Role::TaskManager).to_string(),
            "Increase 'taskmanager.memory.process.size'."
        );
    }

    #[test]
    fn key_is_the_first_key_the_sentence_names() {
        for role in Role::ALL {
            let hints = Category::ALL
                .into_iter()
                .map(|c| IncreaseHint::category(role, c))
                .chain([IncreaseHint::process(role)]);
            for hint in hints {
                let text = hint.to_string();
                let first = text.split('\'').nth(1).unwrap();
                assert_eq!(hint.key(), first, "{text}");
            }
        }
    }

    #[test]
    fn jobmanager_hints_name_only_jobmanager_keys() {
        let expected = [
            "Increase 'jobmanager.memory.heap.size' (or 'jobmanager.memory.process.size').",
            "Increase 'jobmanager.memory.off-heap.size'.",
            "A JobManager has no managed memory: use off-heap memory and increase 'jobmanager.memory.off-heap.size'.",
            "A JobManager has no network memory: use off-heap memory and increase 'jobmanager.memory.off-heap.size'.",
            "Increase 'jobmanager.memory.jvm-overhead.fraction' (or .min/.max) or 'jobmanager.memory.jvm-metaspace.size'.",
        ];
        for (c, text) in Category::ALL.into_iter().zip(expected) {
            let hint = IncreaseHint::category(Role::JobManager, c).to_string();
            assert_eq!(hint, text);
            assert!(!hint.contains("taskmanager."), "{hint}");
        }
        assert_eq!(
            IncreaseHint::process(Role::JobManager).to_string(),
            "Increase 'jobmanager.memory.process.size'."
        );
    }
}
