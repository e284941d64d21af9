//! `UsageSnapshot`: every category's counters plus the process RSS, at one moment.

use crate::{Budget, Category, CategoryUsage};
use core::fmt;

/// The counters of every category, the process total, and what the OS says the process uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct UsageSnapshot {
    /// Per category, indexed by [`Category::index`].
    pub categories: [CategoryUsage; Category::COUNT],
    /// Bytes charged to all categories.
    pub total_used: u64,
    /// The process total quota (`u64::MAX` = none).
    pub total_quota: u64,
    /// Resident set size from `/proc/self/statm`, if readable.
    pub rss: Option<u64>,
    /// `rss − total_used` (0 if the accounted bytes exceed RSS, e.g. untouched pages): memory
    /// the process uses that no category was charged for — code, stacks, allocator metadata
    /// and fragmentation, foreign allocations. It belongs to the overhead category.
    pub unaccounted: Option<u64>,
}

impl UsageSnapshot {
    /// The counters of `category`.
    pub fn get(&self, category: Category) -> &CategoryUsage {
        &self.categories[category.index()]
    }

    /// By how much `overhead used + unaccounted` exceeds the overhead quota (0 if it fits);
    /// `None` without an RSS reading.
    pub fn overhead_excess(&self) -> Option<u64> {
        let o = self.get(Category::Overhead);
        self.unaccounted
            .map(|u| o.used.saturating_add(u).saturating_sub(o.quota))
    }
}

/// The resident set size of this process in bytes, from `/proc/self/statm` (`None` where that
/// file does not exist or cannot be parsed).
pub fn process_rss() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    pages.checked_mul(u64::try_from(page).ok()?)
}

impl Budget {
    /// Every category's counters and the process RSS now.
    ///
    /// # Examples
    /// ```
    /// use membudget_allocator::{Budget, Category};
    /// let s = Budget::global().snapshot();
    /// assert_eq!(s.get(Category::Network).category, Category::Network);
    /// if let (Some(rss), Some(un)) = (s.rss, s.unaccounted) {
    ///     assert!(un <= rss);
    /// }
    /// ```
    pub fn snapshot(&self) -> UsageSnapshot {
        let categories = Category::ALL.map(|c| self.usage(c));
        let total_used = self.total_used();
        let rss = process_rss();
        UsageSnapshot {
            categories,
            total_used,
            total_quota: self.total_quota(),
            rss,
            unaccounted: rss.map(|r| r.saturating_sub(total_used)),
        }
    }
}

fn limit(v: u64) -> String {
    if v == u64::MAX {
        "unlimited".to_owned()
    } else {
        v.to_string()
    }
}

impl fmt::Display for UsageSnapshot {
    /// A small table: one line per category, then the total and RSS.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:<9} {:>14} {:>14} {:>14} {:>9}",
            "category", "used", "peak", "quota", "failures"
        )?;
        for u in &self.categories {
            writeln!(
                f,
                "{:<9} {:>14} {:>14} {:>14} {:>9}",
                u.category.name(),
                u.used,
                u.peak,
                limit(u.quota),
                u.failures
            )?;
        }
        writeln!(
            f,
            "{:<9} {:>14} {:>14} {:>14}",
            "total",
            self.total_used,
            "",
            limit(self.total_quota)
        )?;
        match (self.rss, self.unaccounted) {
            (Some(rss), Some(un)) => write!(f, "rss {rss}, unaccounted {un}"),
            _ => write!(f, "rss unknown"),
        }
    }
}
