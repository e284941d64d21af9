//! A Flink Kubernetes Operator `FlinkDeployment` snippet.

use std::fmt::Write as _;

use membudget_core::keys;

use crate::MemoryPlan;

/// The parts of a Flink Kubernetes Operator `FlinkDeployment` that size the plan's process:
/// `spec.taskManager.resource.memory` (or `spec.jobManager…`) = the Total Process Memory, which
/// the operator sets as `*.memory.process.size`, and under `spec.flinkConfiguration` every
/// component pinned in bytes (the keys of Flink's dynamic configs), so the operator's Flink
/// derives exactly this plan — with the memory limit factor when it is not 1.
///
/// The memory is written in Flink's size syntax (`1728m`, or `<n>b` when it is not a whole
/// number of kibibytes), which the operator parses exactly.
pub fn render_flink_deployment(plan: &MemoryPlan) -> String {
    let mut pins: Vec<(&str, String)> = Vec::new();
    let bytes = |v: u64| format!("{v}b");
    let (spec, factor_key) = match plan {
        MemoryPlan::TaskManager(p) => {
            pins.extend([
                (keys::TM_FRAMEWORK_HEAP_MEMORY, bytes(p.framework_heap)),
                (keys::TM_TASK_HEAP_MEMORY, bytes(p.task_heap)),
                (
                    keys::TM_FRAMEWORK_OFF_HEAP_MEMORY,
                    bytes(p.framework_off_heap),
                ),
                (keys::TM_TASK_OFF_HEAP_MEMORY, bytes(p.task_off_heap)),
                (keys::TM_MANAGED_MEMORY_SIZE, bytes(p.managed)),
                (keys::TM_NETWORK_MEMORY_MIN, bytes(p.network)),
                (keys::TM_NETWORK_MEMORY_MAX, bytes(p.network)),
                (keys::TM_JVM_METASPACE, bytes(p.jvm_metaspace)),
                (keys::TM_JVM_OVERHEAD_MIN, bytes(p.jvm_overhead)),
                (keys::TM_JVM_OVERHEAD_MAX, bytes(p.jvm_overhead)),
            ]);
            if p.segment_size != 32 << 10 {
                pins.push((keys::TM_MEMORY_SEGMENT_SIZE, bytes(p.segment_size)));
            }
            ("taskManager", keys::K8S_TM_MEMORY_LIMIT_FACTOR)
        }
        MemoryPlan::JobManager(p) => {
            pins.extend([
                (keys::JM_JVM_HEAP_MEMORY, bytes(p.jvm_heap)),
                (keys::JM_OFF_HEAP_MEMORY, bytes(p.off_heap)),
                (keys::JM_JVM_METASPACE, bytes(p.jvm_metaspace)),
                (keys::JM_JVM_OVERHEAD_MIN, bytes(p.jvm_overhead)),
                (keys::JM_JVM_OVERHEAD_MAX, bytes(p.jvm_overhead)),
            ]);
            if p.jvm_direct_memory_limit {
                pins.push((keys::JM_JVM_DIRECT_MEMORY_LIMIT_ENABLED, "true".to_owned()));
            }
            ("jobManager", keys::K8S_JM_MEMORY_LIMIT_FACTOR)
        }
    };
    let factor = plan.memory_limit_factor();
    if factor.value() != 1.0 {
        pins.push((factor_key, factor.to_string()));
    }
    let mut out = format!(
        "# membudget: {} total process memory = {} bytes\n\
         apiVersion: flink.apache.org/v1beta1\nkind: FlinkDeployment\nspec:\n  flinkConfiguration:\n",
        plan.role(),
        plan.total_process_memory()
    );
    for (key, value) in pins {
        let _ = writeln!(out, "    {key}: \"{value}\"");
    }
    let _ = write!(
        out,
        "  {spec}:\n    resource:\n      memory: \"{}\"\n",
        flink_size(plan.total_process_memory())
    );
    out
}

/// `bytes` in Flink's size syntax, in the largest unit that divides it exactly.
fn flink_size(bytes: u64) -> String {
    for (suffix, unit) in [
        ("t", 1u64 << 40),
        ("g", 1 << 30),
        ("m", 1 << 20),
        ("k", 1 << 10),
    ] {
        if bytes != 0 && bytes % unit == 0 {
            return format!("{}{suffix}", bytes / unit);
        }
    }
    format!("{bytes}b")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_in_flink_syntax() {
        assert_eq!(flink_size(1811939328), "1728m");
        assert_eq!(flink_size(2 << 30), "2g");
        assert_eq!(flink_size(1119879169), "1119879169b");
        assert_eq!(flink_size(0), "0b");
    }
}
