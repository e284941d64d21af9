//! From a plan to enforcement in one line: [`install`] puts quotas into the process budget the
//! [`QuotaAllocator`](crate::QuotaAllocator) charges, [`install_from_env`] takes them from the
//! `MEMBUDGET_QUOTA_*` variables that `membudget plan --format env` exports.
//!
//! ```text
//!  MemoryPlan::quotas() ──► install(quotas) ─┐
//!                                            ├─► checks ─► Budget::global().set_quotas(..)
//!  MEMBUDGET_QUOTA_* ──► install_from_env() ─┘   (QuotaAllocator is the global allocator,
//!                                                 nothing already uses more than its quota)
//! ```
//!
//! # Why the allocator does not read `MEMBUDGET_QUOTA_*` by itself
//!
//! The [`QuotaAllocator`](crate::QuotaAllocator) could read the quota variables at its first
//! allocation, as it does the fault-injection variables; it deliberately does not:
//! - A malformed or misspelt variable must be an error the program sees. Inside `GlobalAlloc`
//!   (possibly before `main`) there is nobody to return it to, and ignoring it would leave a
//!   category unlimited without a word.
//! - The environment is inherited. A helper process started by a TaskManager whose variables
//!   were exported for the TaskManager would silently run under the TaskManager's quotas.
//! - Installing checks things only worth checking once, at a moment the program chooses: that
//!   the `QuotaAllocator` really is the global allocator (else the heap quota would not be
//!   enforced), and that nothing already uses more than its new quota.
//!
//! Diagnostics stay automatic: `MEMBUDGET_FAULT_*` and `MEMBUDGET_REPORT_REFUSALS` are read
//! lazily, since honouring them in a process that did not ask costs nothing but output.

use crate::refusal::{parse_switch, report_refusals};
use crate::{local, Budget, Category, FaultSpecError, Quotas, Role};
use core::fmt;
use membudget_core::{IncreaseHint, QuotaEnvError, QUOTA_ENV_PREFIX, REPORT_REFUSALS_ENV};

/// Quotas could not be installed; nothing was installed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum InstallError {
    /// [`QuotaAllocator`](crate::QuotaAllocator) is not the process's `#[global_allocator]`, so
    /// allocations would not be charged and the heap quota would not be enforced.
    NotGlobalAllocator,
    /// A category (or, with `category` `None`, the whole process) already uses more than its
    /// new quota: every further request would be refused.
    AlreadyOver {
        /// The category, or `None` for the process total.
        category: Option<Category>,
        /// Bytes in use.
        used: u64,
        /// The new quota.
        quota: u64,
        /// The role of the new quotas (whose keys the message names).
        role: Role,
    },
    /// A `MEMBUDGET_QUOTA_*` variable is malformed or unknown.
    Env(QuotaEnvError),
    /// `MEMBUDGET_FAULT_PROBABILITY` or `MEMBUDGET_FAULT_SEED` is malformed.
    Fault(FaultSpecError),
    /// `MEMBUDGET_REPORT_REFUSALS` is neither `1`/`true` nor `0`/`false`.
    ReportSwitch {
        /// The value found.
        value: String,
    },
}

impl fmt::Display for InstallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InstallError::NotGlobalAllocator => f.write_str(
                "Cannot install quotas: QuotaAllocator is not this process's global allocator, \
                 so allocations would not be charged and the heap quota would not be enforced. \
                 Add `#[global_allocator] static ALLOCATOR: membudget_allocator::QuotaAllocator = \
                 membudget_allocator::QuotaAllocator::new();` to the binary (or call \
                 Budget::global().set_quotas to limit only explicit reservations and pools).",
            ),
            InstallError::AlreadyOver {
                category: Some(c),
                used,
                quota,
                role,
            } => write!(
                f,
                "Cannot install quotas: {c} memory already uses {used} bytes, more than its \
                 quota of {quota}. Install the quotas at start-up, before the process uses that \
                 much, or raise the quota: {}",
                IncreaseHint::category(*role, *c)
            ),
            InstallError::AlreadyOver {
                category: None,
                used,
                quota,
                role,
            } => write!(
                f,
                "Cannot install quotas: the process already uses {used} bytes, more than the \
                 process total of {quota}. Install the quotas at start-up, before the process \
                 uses that much, or raise the total: {}",
                IncreaseHint::process(*role)
            ),
            InstallError::Env(e) => write!(f, "Cannot install quotas: {e}"),
            InstallError::Fault(e) => write!(f, "Cannot install quotas: {e}"),
            InstallError::ReportSwitch { value } => write!(
                f,
                "Cannot install quotas: {REPORT_REFUSALS_ENV}='{value}' is not usable: expected \
                 1 or true (write a line to stderr at each refusal) or 0 or false (do not)."
            ),
        }
    }
}

impl std::error::Error for InstallError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            InstallError::Env(e) => Some(e),
            InstallError::Fault(e) => Some(e),
            _ => None,
        }
    }
}

impl From<QuotaEnvError> for InstallError {
    fn from(e: QuotaEnvError) -> Self {
        InstallError::Env(e)
    }
}

impl From<FaultSpecError> for InstallError {
    fn from(e: FaultSpecError) -> Self {
        InstallError::Fault(e)
    }
}

/// Enforces `quotas` in this process: installs them, with their role, into the process budget
/// ([`Budget::global`]) that the [`QuotaAllocator`](crate::QuotaAllocator), `segments` and
/// `bufferpool` charge. With a plan: `install(plan.quotas())?`.
///
/// # Errors
/// Nothing is installed when
/// - the `QuotaAllocator` is not the process's `#[global_allocator]`
///   ([`InstallError::NotGlobalAllocator`]): the heap quota would not be enforced;
/// - a category, or the process, already uses more than its new quota
///   ([`InstallError::AlreadyOver`]): every further request would be refused.
///
/// # Examples
///
/// ```no_run
/// use membudget_allocator::{install, QuotaAllocator, Quotas};
///
/// #[global_allocator]
/// static ALLOCATOR: QuotaAllocator = QuotaAllocator::new();
///
/// fn main() -> Result<(), membudget_allocator::InstallError> {
///     install(Quotas::new([512 << 20, 128 << 20, 0, 64 << 20, 256 << 20]))?;
///     Ok(())
/// }
/// ```
pub fn install(quotas: Quotas) -> Result<(), InstallError> {
    if !quota_allocator_is_global() {
        return Err(InstallError::NotGlobalAllocator);
    }
    let budget = Budget::global();
    let role = quotas.role();
    for c in Category::ALL {
        let (used, quota) = (budget.used(c), quotas.get(c));
        if used > quota {
            return Err(InstallError::AlreadyOver {
                category: Some(c),
                used,
                quota,
                role,
            });
        }
    }
    let (used, quota) = (budget.total_used(), quotas.total());
    if used > quota {
        return Err(InstallError::AlreadyOver {
            category: None,
            used,
            quota,
            role,
        });
    }
    budget.set_quotas(quotas);
    Ok(())
}

/// Enforces the quotas in this process's environment: the `MEMBUDGET_QUOTA_*` variables that
/// `membudget plan --format env` exports, read by
/// [`Quotas::from_env`](crate::Quotas::from_env) and [`install`]ed. Also applies
/// `MEMBUDGET_REPORT_REFUSALS` and `MEMBUDGET_FAULT_*`, reporting malformed values.
///
/// Returns the quotas installed, or `None` when no `MEMBUDGET_QUOTA_*` variable is set: then
/// nothing is installed and memory is tracked, not limited — the caller decides whether that is
/// an error (`#[must_use]`, so the answer is not dropped by accident).
///
/// # Errors
/// A malformed or unknown `MEMBUDGET_QUOTA_*` variable, a malformed `MEMBUDGET_FAULT_*` or
/// `MEMBUDGET_REPORT_REFUSALS`, and everything [`install`] refuses. Nothing is installed then.
///
/// # Examples
///
/// ```no_run
/// use membudget_allocator::{install_from_env, InstallError, QuotaAllocator};
///
/// #[global_allocator]
/// static ALLOCATOR: QuotaAllocator = QuotaAllocator::new();
///
/// fn main() -> Result<(), InstallError> {
///     let quotas = install_from_env()?.expect("export the plan: membudget plan --format env");
///     println!("heap quota: {}", quotas.get(membudget_allocator::Category::Heap));
///     Ok(())
/// }
/// ```
#[must_use = "None means no quota variable was set and nothing is enforced"]
pub fn install_from_env() -> Result<Option<Quotas>, InstallError> {
    let quotas = Quotas::from_env()?;
    let any_quota = std::env::vars_os().any(|(name, _)| {
        name.to_str()
            .is_some_and(|n| n.starts_with(QUOTA_ENV_PREFIX))
    });
    let report = match std::env::var_os(REPORT_REFUSALS_ENV) {
        None => None,
        Some(v) => {
            let v = v.to_string_lossy();
            Some(parse_switch(&v).map_err(|()| InstallError::ReportSwitch {
                value: v.into_owned(),
            })?)
        }
    };
    Budget::global().apply_fault_env()?;
    if any_quota {
        install(quotas)?;
    }
    if let Some(on) = report {
        report_refusals(on);
    }
    Ok(any_quota.then_some(quotas))
}

/// Whether the [`QuotaAllocator`](crate::QuotaAllocator) serves this process's allocations:
/// after one allocation it has registered the calling thread.
fn quota_allocator_is_global() -> bool {
    drop(core::hint::black_box(Box::new(0u8)));
    local::thread_seen_by_allocator()
}

#[cfg(test)]
mod tests {
    use super::*;

    // This crate's unit tests run under the system allocator.
    #[test]
    fn install_without_the_quota_allocator_is_refused() {
        let e = install(Quotas::unlimited().with(Category::Heap, 1 << 30)).unwrap_err();
        assert_eq!(e, InstallError::NotGlobalAllocator);
        assert!(e.to_string().contains("#[global_allocator]"), "{e}");
        assert_eq!(Budget::global().quota(Category::Heap), u64::MAX);
    }

    #[test]
    fn messages_name_the_amounts_and_the_key() {
        let e = InstallError::AlreadyOver {
            category: Some(Category::Heap),
            used: 2000,
            quota: 1000,
            role: Role::JobManager,
        };
        assert_eq!(
            e.to_string(),
            "Cannot install quotas: heap memory already uses 2000 bytes, more than its quota of \
             1000. Install the quotas at start-up, before the process uses that much, or raise \
             the quota: Increase 'jobmanager.memory.heap.size' (or \
             'jobmanager.memory.process.size')."
        );
        let e = InstallError::AlreadyOver {
            category: None,
            used: 2000,
            quota: 1000,
            role: Role::TaskManager,
        };
        assert!(
            e.to_string()
                .ends_with("Increase 'taskmanager.memory.process.size'."),
            "{e}"
        );
        let e = InstallError::ReportSwitch {
            value: "yes".into(),
        };
        assert_eq!(
            e.to_string(),
            "Cannot install quotas: MEMBUDGET_REPORT_REFUSALS='yes' is not usable: expected 1 or \
             true (write a line to stderr at each refusal) or 0 or false (do not)."
        );
    }
}
