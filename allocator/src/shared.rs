//! `SharedBudget`: an owned handle to either the process budget or an isolated one.

use crate::{Budget, Category};
use core::ops::Deref;
use std::sync::Arc;

/// An owned, cloneable handle to a [`Budget`]: the process-wide [`Budget::global`], an
/// isolated `Arc<Budget>`, or a named consumer of a child budget. Long-lived pools
/// (`MemoryManager`, `NetworkBufferPool`) keep one so they need no lifetime parameter.
///
/// Charges go through [`try_charge`](Self::try_charge), [`release`](Self::release) and
/// [`try_reserve`](Self::try_reserve): for a consumer they charge the consumer (and so its
/// child budget and every ancestor). Other [`Budget`] methods reached through `Deref` (reads
/// such as `used` and `quota`) are those of the budget at the top of the tree.
#[derive(Clone, Debug)]
pub enum SharedBudget {
    /// A `'static` budget, usually [`Budget::global`].
    Static(&'static Budget),
    /// A reference-counted isolated budget.
    Shared(Arc<Budget>),
    /// A named consumer of a child budget: pools made with it charge that child budget.
    #[cfg(not(membudget_loom))]
    Consumer(crate::MemoryConsumer),
}

impl SharedBudget {
    /// Charges `bytes` of `category`: [`Budget::try_charge`], or the consumer's
    /// [`MemoryConsumer::try_charge`](crate::MemoryConsumer::try_charge).
    ///
    /// # Errors
    /// [`QuotaExceeded`](crate::QuotaExceeded) as those; nothing is charged then.
    #[inline]
    pub fn try_charge(&self, category: Category, bytes: u64) -> Result<(), crate::QuotaExceeded> {
        match self {
            SharedBudget::Static(b) => b.try_charge(category, bytes),
            SharedBudget::Shared(b) => b.try_charge(category, bytes),
            #[cfg(not(membudget_loom))]
            SharedBudget::Consumer(c) => c.try_charge(category, bytes),
        }
    }

    /// Credits `bytes` of `category` charged by [`try_charge`](Self::try_charge). Releasing
    /// more than was charged changes nothing and is counted in the top budget's
    /// [`release_errors`](Budget::release_errors).
    #[inline]
    pub fn release(&self, category: Category, bytes: u64) {
        match self {
            SharedBudget::Static(b) => b.release(category, bytes),
            SharedBudget::Shared(b) => b.release(category, bytes),
            #[cfg(not(membudget_loom))]
            SharedBudget::Consumer(c) => {
                if !c.release(category, bytes) {
                    c.budget().root().note_release_error(category);
                }
            }
        }
    }

    /// Reserves `bytes` of `category`, released when the reservation drops.
    ///
    /// # Errors
    /// As [`try_charge`](Self::try_charge).
    #[inline]
    pub fn try_reserve(
        &self,
        category: Category,
        bytes: u64,
    ) -> Result<crate::Reservation<'_>, crate::QuotaExceeded> {
        match self {
            SharedBudget::Static(b) => b.try_reserve(category, bytes),
            SharedBudget::Shared(b) => b.try_reserve(category, bytes),
            #[cfg(not(membudget_loom))]
            SharedBudget::Consumer(c) => {
                c.try_charge(category, bytes)?;
                Ok(crate::Reservation::through(c.root(), c, category, bytes))
            }
        }
    }
}

impl SharedBudget {
    /// The process budget.
    #[cfg(not(membudget_loom))]
    pub fn global() -> SharedBudget {
        SharedBudget::Static(Budget::global())
    }
}

impl Deref for SharedBudget {
    type Target = Budget;

    #[inline]
    fn deref(&self) -> &Budget {
        match self {
            SharedBudget::Static(b) => b,
            SharedBudget::Shared(b) => b,
            #[cfg(not(membudget_loom))]
            SharedBudget::Consumer(c) => c.root(),
        }
    }
}

impl From<&'static Budget> for SharedBudget {
    fn from(b: &'static Budget) -> Self {
        SharedBudget::Static(b)
    }
}

impl From<Arc<Budget>> for SharedBudget {
    fn from(b: Arc<Budget>) -> Self {
        SharedBudget::Shared(b)
    }
}

impl From<Budget> for SharedBudget {
    fn from(b: Budget) -> Self {
        SharedBudget::Shared(Arc::new(b))
    }
}

#[cfg(not(membudget_loom))]
impl From<crate::MemoryConsumer> for SharedBudget {
    fn from(c: crate::MemoryConsumer) -> Self {
        SharedBudget::Consumer(c)
    }
}

#[cfg(not(membudget_loom))]
impl Default for SharedBudget {
    fn default() -> Self {
        SharedBudget::global()
    }
}
