//! A Kubernetes container `resources` snippet, as Flink's native Kubernetes integration sizes a
//! pod.

use crate::MemoryPlan;

/// A container `resources` block for the plan's process, as Flink's
/// `KubernetesUtils.getResourceRequirements` sets it: memory request = the Total Process
/// Memory, memory limit = request × `kubernetes.{taskmanager,jobmanager}.memory.limit-factor`
/// (`(int) (mebibytes × factor)` mebibytes).
///
/// Flink requests the Total Process Memory in whole mebibytes, rounded down; for a process
/// that is not a whole number of mebibytes membudget requests the exact byte count instead
/// (never less than the process needs) and multiplies bytes.
pub fn render_k8s(plan: &MemoryPlan) -> String {
    let (request, limit) = memory_request_and_limit(plan);
    format!(
        "# membudget: {} total process memory = {} bytes, memory limit factor {}\n\
         resources:\n  requests:\n    memory: \"{request}\"\n  limits:\n    memory: \"{limit}\"\n",
        plan.role(),
        plan.total_process_memory(),
        plan.memory_limit_factor(),
    )
}

/// The memory request and limit as Kubernetes quantities.
pub(crate) fn memory_request_and_limit(plan: &MemoryPlan) -> (String, String) {
    let bytes = plan.total_process_memory();
    let factor = plan.memory_limit_factor();
    if bytes % (1 << 20) == 0 {
        let mebibytes = bytes >> 20;
        (
            k8s_quantity(bytes),
            k8s_quantity(factor.limit_mebibytes(mebibytes) << 20),
        )
    } else {
        (k8s_quantity(bytes), k8s_quantity(factor.limit_bytes(bytes)))
    }
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
