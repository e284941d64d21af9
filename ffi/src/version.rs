//! The ABI version.

/// The ABI version this library implements: `major << 16 | minor`. A host built against
/// major `M` works with any library of major `M` and a minor at least its own.
///
/// 1.1 added the plan options and the quota source of `mb_runtime_options` (from
/// `config_section` on), `mb_last_refusal` and `mb_report_refusals`. 1.2 added child budgets
/// (`mb_budget_child_*`, `mb_budget_on_reclaim`, `mb_budget_set_reclaim_wait`,
/// `mb_budget_report_json`) and `MB_LIMIT_BUDGET`.
pub const MB_ABI_VERSION: i32 = (1 << 16) | 2;

/// Returns `MB_ABI_VERSION`. The one function whose result is not a status: it is always
/// positive, so it cannot be mistaken for an error. Never blocks.
#[no_mangle]
pub extern "C" fn mb_abi_version() -> i32 {
    MB_ABI_VERSION
}
