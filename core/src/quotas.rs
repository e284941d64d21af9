//! Per-category quotas plus a process total, for one role.

use crate::{Category, Role};

/// How many bytes each category may use, plus a limit on their sum (the process budget), and
/// the [`Role`] whose configuration keys a refusal names.
///
/// `u64::MAX` means "no limit". A plan's quotas come from `membudget-model`'s `MemoryPlan`,
/// which sets the plan's role; quotas made by hand are a TaskManager's unless
/// [`with_role`](Self::with_role) says otherwise.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quotas {
    per_category: [u64; Category::COUNT],
    total: u64,
    role: Role,
}

impl Quotas {
    /// No limits at all: what the process budget tracks with before a plan is installed.
    pub const fn unlimited() -> Quotas {
        Quotas {
            per_category: [u64::MAX; Category::COUNT],
            total: u64::MAX,
            role: Role::TaskManager,
        }
    }

    /// Quotas from per-category limits (indexed by [`Category::index`]); the total is their sum
    /// (saturating, so an unlimited category makes the total unlimited).
    pub fn new(per_category: [u64; Category::COUNT]) -> Quotas {
        let total = per_category
            .iter()
            .fold(0u64, |acc, q| acc.saturating_add(*q));
        Quotas {
            per_category,
            total,
            role: Role::TaskManager,
        }
    }

    /// The same quotas with `category` limited to `bytes` (the total is left as it is).
    #[must_use]
    pub const fn with(mut self, category: Category, bytes: u64) -> Quotas {
        self.per_category[category.index()] = bytes;
        self
    }

    /// The same quotas with the process total limited to `bytes`.
    #[must_use]
    pub const fn with_total(mut self, bytes: u64) -> Quotas {
        self.total = bytes;
        self
    }

    /// The same quotas for a `role` process: refusals name that role's keys.
    #[must_use]
    pub const fn with_role(mut self, role: Role) -> Quotas {
        self.role = role;
        self
    }

    /// The role whose configuration keys a refusal names.
    #[inline]
    pub const fn role(&self) -> Role {
        self.role
    }

    /// The quota of one category.
    #[inline]
    pub const fn get(&self, category: Category) -> u64 {
        self.per_category[category.index()]
    }

    /// The process total.
    #[inline]
    pub const fn total(&self) -> u64 {
        self.total
    }

    /// All per-category quotas, indexed by [`Category::index`].
    pub const fn per_category(&self) -> [u64; Category::COUNT] {
        self.per_category
    }
}

impl Default for Quotas {
    fn default() -> Self {
        Quotas::unlimited()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn total_is_saturating_sum() {
        let q = Quotas::new([1, 2, 3, 4, 5]);
        assert_eq!(q.total(), 15);
        assert_eq!(q.get(Category::Managed), 3);
        let q = Quotas::new([1, u64::MAX, 3, 4, 5]);
        assert_eq!(q.total(), u64::MAX);
    }

    #[test]
    fn role_defaults_to_taskmanager_and_is_kept() {
        assert_eq!(Quotas::unlimited().role(), Role::TaskManager);
        let q = Quotas::new([1, 2, 3, 4, 5]).with_role(Role::JobManager);
        assert_eq!(q.role(), Role::JobManager);
        assert_eq!(
            q.with(Category::Heap, 7).with_total(9).role(),
            Role::JobManager
        );
        assert_ne!(q, Quotas::new([1, 2, 3, 4, 5]));
    }
}
