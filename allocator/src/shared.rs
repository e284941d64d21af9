//! `SharedBudget`: an owned handle to either the process budget or an isolated one.

use crate::Budget;
use core::ops::Deref;
use std::sync::Arc;

/// An owned, cloneable handle to a [`Budget`]: the process-wide [`Budget::global`] or an
/// isolated `Arc<Budget>`. Long-lived pools (`MemoryManager`, `NetworkBufferPool`) keep one so
/// they need no lifetime parameter.
#[derive(Clone, Debug)]
pub enum SharedBudget {
    /// A `'static` budget, usually [`Budget::global`].
    Static(&'static Budget),
    /// A reference-counted isolated budget.
    Shared(Arc<Budget>),
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
impl Default for SharedBudget {
    fn default() -> Self {
        SharedBudget::global()
    }
}
