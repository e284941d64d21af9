//! `BudgetReport`: the budget tree at one instant, for people (`Display`) and tools (serde).

use crate::Category;
use core::fmt;

/// One budget of the tree: the process budget at the top, then child budgets, with the named
/// consumers that charge each. Made by [`Budget::report`](crate::Budget::report) and
/// [`BudgetHandle::report`](crate::BudgetHandle::report).
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct BudgetReport {
    /// The budget's name (`process` for the process budget).
    pub name: String,
    /// Categories with a limit, a reservation or any use.
    pub categories: Vec<CategoryReport>,
    /// The named consumers charging this budget directly.
    pub consumers: Vec<ConsumerReport>,
    /// Child budgets.
    pub children: Vec<BudgetReport>,
}

/// One category of one budget.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct CategoryReport {
    /// The category.
    #[cfg_attr(feature = "serde", serde(serialize_with = "category_name"))]
    pub category: Category,
    /// Bytes in use by this budget's consumers and its children's, exactly.
    pub used: u64,
    /// Bytes drawn from the parent (or the process quota) beyond `used`: quanta kept so the
    /// next charges need not ask the parent (given back before any refusal).
    pub unspent: u64,
    /// The limit (`u64::MAX` = none).
    pub limit: u64,
    /// The minimum this budget holds from its parent whatever its use.
    pub reserved: u64,
    /// The highest `used + unspent` seen (an upper bound of the highest use).
    pub peak: u64,
}

/// One named consumer's use.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct ConsumerReport {
    /// The consumer's name.
    pub name: String,
    /// Whether it registered a reclaimer (can give memory back when asked).
    pub reclaimable: bool,
    /// Bytes it holds per category (categories it holds none of are left out).
    pub used: Vec<CategoryBytes>,
}

/// Bytes of one category.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct CategoryBytes {
    /// The category.
    #[cfg_attr(feature = "serde", serde(serialize_with = "category_name"))]
    pub category: Category,
    /// Bytes.
    pub bytes: u64,
}

#[cfg(feature = "serde")]
fn category_name<S: serde::Serializer>(c: &Category, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(c.name())
}

impl CategoryReport {
    #[cfg_attr(membudget_loom, allow(dead_code))]
    pub(crate) fn new(
        category: Category,
        used: u64,
        unspent: u64,
        limit: u64,
        reserved: u64,
        peak: u64,
    ) -> Self {
        CategoryReport {
            category,
            used,
            unspent,
            limit,
            reserved,
            peak,
        }
    }
}

impl ConsumerReport {
    #[cfg_attr(membudget_loom, allow(dead_code))]
    pub(crate) fn new(name: String, reclaimable: bool, used: Vec<CategoryBytes>) -> Self {
        ConsumerReport {
            name,
            reclaimable,
            used,
        }
    }
}

impl CategoryBytes {
    #[cfg_attr(membudget_loom, allow(dead_code))]
    pub(crate) fn new(category: Category, bytes: u64) -> Self {
        CategoryBytes { category, bytes }
    }
}

impl BudgetReport {
    #[cfg_attr(membudget_loom, allow(dead_code))]
    pub(crate) fn new(
        name: String,
        categories: Vec<CategoryReport>,
        consumers: Vec<ConsumerReport>,
        children: Vec<BudgetReport>,
    ) -> Self {
        BudgetReport {
            name,
            categories,
            consumers,
            children,
        }
    }

    /// The report of `category` in this budget, if it is listed.
    pub fn category(&self, category: Category) -> Option<&CategoryReport> {
        self.categories.iter().find(|c| c.category == category)
    }

    /// The child budget named `name`, if any.
    pub fn child(&self, name: &str) -> Option<&BudgetReport> {
        self.children.iter().find(|c| c.name == name)
    }

    /// Bytes of `category` the consumer named `name` holds in this budget (not its children).
    pub fn consumer_bytes(&self, name: &str, category: Category) -> Option<u64> {
        let c = self.consumers.iter().find(|c| c.name == name)?;
        Some(
            c.used
                .iter()
                .find(|u| u.category == category)
                .map_or(0, |u| u.bytes),
        )
    }

    fn write(&self, f: &mut fmt::Formatter<'_>, depth: usize) -> fmt::Result {
        let indent = depth.saturating_mul(2);
        write!(f, "{:indent$}{}:", "", self.name)?;
        if self.categories.is_empty() {
            f.write_str(" (nothing used)")?;
        }
        for (i, c) in self.categories.iter().enumerate() {
            let sep = if i == 0 { " " } else { "; " };
            write!(f, "{sep}{} used {}", c.category, c.used)?;
            if c.limit != u64::MAX {
                write!(f, " of {}", c.limit)?;
            }
            write!(f, " (peak {}", c.peak)?;
            if c.unspent > 0 {
                write!(f, ", unspent {}", c.unspent)?;
            }
            if c.reserved > 0 {
                write!(f, ", reserved {}", c.reserved)?;
            }
            f.write_str(")")?;
        }
        writeln!(f)?;
        for c in &self.consumers {
            write!(f, "{:indent$}  - {}:", "", c.name)?;
            if c.used.is_empty() {
                f.write_str(" nothing")?;
            }
            for (i, u) in c.used.iter().enumerate() {
                let sep = if i == 0 { " " } else { ", " };
                write!(f, "{sep}{} {}", u.category, u.bytes)?;
            }
            if c.reclaimable {
                f.write_str(" (reclaimable)")?;
            }
            writeln!(f)?;
        }
        for child in &self.children {
            child.write(f, depth.saturating_add(1))?;
        }
        Ok(())
    }
}

/// An indented tree, one line per budget and per consumer.
impl fmt::Display for BudgetReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write(f, 0)
    }
}
