//! Shell `export` lines a host can `source` or `eval "$(...)"`.

use std::fmt::Write as _;

use membudget_core::Category;

use crate::MemoryPlan;

/// `export` lines: one `MEMBUDGET_QUOTA_<CATEGORY>` per category (bytes), `JVM_ARGS`, and
/// `DOTNET_GCHeapHardLimit` (the heap quota in hexadecimal, as .NET reads it) for .NET hosts.
///
/// No comments: the output stays correct even when expanded unquoted into one line.
pub fn render_env(plan: &MemoryPlan) -> String {
    let quotas = plan.quotas();
    let mut out = String::new();
    for category in Category::ALL {
        let _ = writeln!(
            out,
            "export MEMBUDGET_QUOTA_{}={}",
            category.name().to_ascii_uppercase(),
            quotas.get(category)
        );
    }
    let _ = writeln!(out, "export JVM_ARGS={}", shell_quote(&plan.jvm_args()));
    let _ = writeln!(
        out,
        "export DOTNET_GCHeapHardLimit=0x{:X}",
        quotas.get(Category::Heap)
    );
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
