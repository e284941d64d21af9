//! Per-category quotas plus a process total.

use crate::Category;

/// How many bytes each category may use, plus a limit on their sum (the process budget).
///
/// `u64::MAX` means "no limit". A plan's quotas come from `membudget-model`'s `MemoryPlan`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quotas {
    per_category: [u64; Category::COUNT],
    total: u64,
}

impl Quotas {
    /// No limits at all: what the process budget tracks with before a plan is installed.
    pub const fn unlimited() -> Quotas {
        Quotas {
            per_category: [u64::MAX; Category::COUNT],
            total: u64::MAX,
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
}
