//! A Kubernetes container `resources` snippet.

use crate::MemoryPlan;

/// A container `resources` block with memory requests = limits = total process memory (a
/// memory request below the limit only invites the OOM killer). The quantity is written in
/// `Gi`/`Mi`/`Ki` when that is exact, else in bytes.
pub fn render_k8s(plan: &MemoryPlan) -> String {
    let quantity = k8s_quantity(plan.total_process_memory());
    format!(
        "# membudget: {} total process memory = {} bytes\n\
         resources:\n  requests:\n    memory: \"{quantity}\"\n  limits:\n    memory: \"{quantity}\"\n",
        plan.role(),
        plan.total_process_memory()
    )
}

/// The exact Kubernetes quantity for `bytes`, in the largest binary unit that divides it.
fn k8s_quantity(bytes: u64) -> String {
    const UNITS: [(&str, u64); 4] = [
        ("Ti", 1 << 40),
        ("Gi", 1 << 30),
        ("Mi", 1 << 20),
        ("Ki", 1 << 10),
    ];
    for (suffix, unit) in UNITS {
        if bytes != 0 && bytes % unit == 0 {
            return format!("{}{suffix}", bytes / unit);
        }
    }
    bytes.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_are_exact() {
        assert_eq!(k8s_quantity(1811939328), "1728Mi");
        assert_eq!(k8s_quantity(2 << 30), "2Gi");
        assert_eq!(k8s_quantity(3072), "3Ki");
        assert_eq!(k8s_quantity(1536), "1536");
        assert_eq!(k8s_quantity(1119879169), "1119879169");
        assert_eq!(k8s_quantity(0), "0");
    }
}
