//! Per-category memory budgets for membudget.
//!
//! A [`Budget`] holds one quota per [`Category`] (heap, direct, managed, network, overhead) plus
//! a process total, and counts exactly what each category uses. Callers that manage memory
//! themselves take a RAII [`Reservation`]; pools that hand out fixed-size pages charge and
//! release raw byte counts through a [`SharedBudget`] handle they own.
//!
//! ```
//! use membudget_allocator::{Budget, Category, Quotas};
//!
//! let budget = Budget::new(Quotas::unlimited().with(Category::Network, 1 << 20));
//! let r = budget.try_reserve(Category::Network, 4096).unwrap();
//! assert_eq!(budget.used(Category::Network), 4096);
//! assert!(budget.try_reserve(Category::Network, 1 << 20).is_err());
//! drop(r);
//! assert_eq!(budget.used(Category::Network), 0);
//! ```
#![deny(unsafe_op_in_unsafe_fn)]

mod budget;
mod category;
mod error;
mod quotas;
mod reservation;
mod shared;
mod sync;

pub use budget::{Budget, CategoryUsage, QuotaMode};
pub use category::Category;
pub use error::{Limit, QuotaExceeded};
pub use quotas::Quotas;
pub use reservation::Reservation;
pub use shared::SharedBudget;
