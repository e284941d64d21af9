//! Shell `export` lines a host can `source` or `eval "$(...)"`.

use std::fmt::Write as _;

use membudget_core::{quota_env_var, Category, QUOTA_ENV_ROLE, QUOTA_ENV_TOTAL};

use crate::{HostProfile, MemoryPlan};

/// `export` lines: the quotas exactly as [`Quotas::from_env`](membudget_core::Quotas::from_env)
/// reads them back (`MEMBUDGET_QUOTA_ROLE`, one `MEMBUDGET_QUOTA_<CATEGORY>` per category in
/// bytes, `MEMBUDGET_QUOTA_TOTAL`), then what the plan's host runtime reads: `JVM_ARGS` for a
/// JVM, `DOTNET_GCHeapHardLimit` (the heap quota in hexadecimal, as .NET reads it) for .NET,
/// nothing more for a native process.
///
/// No comments: the output stays correct even when expanded unquoted into one line.
pub fn render_env(plan: &MemoryPlan) -> String {
    let quotas = plan.quotas();
    let mut out = String::new();
    let _ = writeln!(out, "export {QUOTA_ENV_ROLE}={}", quotas.role());
    for category in Category::ALL {
        let _ = writeln!(
            out,
            "export {}={}",
            quota_env_var(category),
            quotas.get(category)
        );
    }
    let _ = writeln!(out, "export {QUOTA_ENV_TOTAL}={}", quotas.total());
    match plan.host() {
        HostProfile::Jvm => {
            let _ = writeln!(out, "export JVM_ARGS={}", shell_quote(&plan.jvm_args()));
        }
        HostProfile::Dotnet => {
            let _ = writeln!(
                out,
                "export DOTNET_GCHeapHardLimit=0x{:X}",
                quotas.get(Category::Heap)
            );
        }
        HostProfile::Native => {}
    }
    out
}

/// Single-quotes `s` for POSIX shells.
fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(shell_quote("-Xmx1 -Xms1"), "'-Xmx1 -Xms1'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }
}
