//! The `MEMBUDGET_*` environment variables that are not memory options.
//!
//! `MEMBUDGET_<KEY>` sets a memory option when a plan reads the environment (see
//! `membudget-model`), and an unknown `MEMBUDGET_*` variable is an error there, so a typo never
//! passes silently. The variables below belong to other parts of membudget; the plan skips them.

use crate::QUOTA_ENV_PREFIX;

/// Write one line to stderr at each refused request (`1`/`true`; `0`/`false` turns it off).
pub const REPORT_REFUSALS_ENV: &str = "MEMBUDGET_REPORT_REFUSALS";
/// Fault injection: per-category probabilities, e.g. `network=0.001,heap=0`.
pub const FAULT_PROBABILITY_ENV: &str = "MEMBUDGET_FAULT_PROBABILITY";
/// Fault injection: the seed of the decisions (a decimal `u64`).
pub const FAULT_SEED_ENV: &str = "MEMBUDGET_FAULT_SEED";
/// The Python host library: where `libmembudget.so` is (a file or a directory).
pub const LIBRARY_ENV: &str = "MEMBUDGET_LIBRARY";
/// The Python host library's build: the `libmembudget.so` to bundle into the package.
pub const BUNDLE_LIBRARY_ENV: &str = "MEMBUDGET_BUNDLE_LIBRARY";
/// membudget's own tests: rewrite checked-in expected files (the C header) instead of comparing.
pub const BLESS_ENV: &str = "MEMBUDGET_BLESS";

/// Every variable above.
pub const NON_OPTION_VARS: [&str; 6] = [
    REPORT_REFUSALS_ENV,
    FAULT_PROBABILITY_ENV,
    FAULT_SEED_ENV,
    LIBRARY_ENV,
    BUNDLE_LIBRARY_ENV,
    BLESS_ENV,
];

/// Whether `name` is a `MEMBUDGET_*` variable that is not a memory option: one of
/// [`NON_OPTION_VARS`] or a quota variable (`MEMBUDGET_QUOTA_*`).
///
/// # Examples
///
/// ```
/// use membudget_core::is_non_option_var;
///
/// assert!(is_non_option_var("MEMBUDGET_QUOTA_NETWORK"));
/// assert!(is_non_option_var("MEMBUDGET_REPORT_REFUSALS"));
/// assert!(!is_non_option_var("MEMBUDGET_TASKMANAGER_MEMORY_PROCESS_SIZE"));
/// ```
pub fn is_non_option_var(name: &str) -> bool {
    name.starts_with(QUOTA_ENV_PREFIX) || NON_OPTION_VARS.contains(&name)
}
