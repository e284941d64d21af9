//! The vocabulary every membudget crate speaks, at the ground floor of the workspace.
//!
//! ```text
//!   cli   ffi            (top: the command, the C ABI)
//!     \   / \
//!    model  bufferpool   (Flink's derivation; network buffers)
//!      |      |
//!      |   segments      (managed pages)
//!      |      |
//!      |   allocator     (Budget, QuotaAllocator)
//!       \     |
//!        core            (this crate: words, no machinery)
//! ```
//!
//! A plan made by `membudget-model` and a budget enforced by `membudget-allocator` meet here:
//! the five [`Category`]s, the [`Quotas`] a plan hands to a budget (carrying the [`Role`] whose
//! configuration keys a refusal should name), Flink's [`MemorySize`] with its exact parse and
//! print rules (built on the Java number rules in [`java_num`]), and every Flink option key
//! membudget reads or names ([`keys`]), written once.
//!
//! ```
//! use membudget_core::{Category, IncreaseHint, MemorySize, Quotas, Role};
//!
//! let quotas = Quotas::new([1 << 30, 128 << 20, 0, 0, 450 << 20]).with_role(Role::JobManager);
//! assert_eq!(quotas.total(), (1 << 30) + (128 << 20) + (450 << 20));
//! assert_eq!(
//!     IncreaseHint::category(quotas.role(), Category::Direct).to_string(),
//!     "Increase 'jobmanager.memory.off-heap.size'."
//! );
//! assert_eq!(MemorySize::new(1 << 30).to_human_readable(), "1024.000mb (1073741824 bytes)");
//! ```
//!
//! The crate has no dependencies (`serde` is an optional feature for [`MemorySize`]) and no
//! unsafe code, so every crate above it can use it, including the global allocator.
#![forbid(unsafe_code)]

mod category;
mod env_vars;
mod hint;
pub mod java_num;
pub mod keys;
mod memory_size;
mod quota_env;
mod quotas;
mod role;

pub use category::Category;
pub use env_vars::{
    is_non_option_var, BLESS_ENV, BUNDLE_LIBRARY_ENV, FAULT_PROBABILITY_ENV, FAULT_SEED_ENV,
    LIBRARY_ENV, NON_OPTION_VARS, REPORT_REFUSALS_ENV,
};
pub use hint::IncreaseHint;
pub use memory_size::{MemorySize, MemorySizeParseError};
pub use quota_env::{
    quota_env_var, QuotaEnvError, QUOTA_ENV_PREFIX, QUOTA_ENV_ROLE, QUOTA_ENV_TOTAL,
};
pub use quotas::Quotas;
pub use role::{ParseRoleError, Role};
