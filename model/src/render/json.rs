//! The JSON contract of a plan: produced here and only here (the CLI's `--format json` and the
//! C ABI's `mb_plan_json` both call [`MemoryPlan::to_json_string`]).
//!
//! All sizes are integers in bytes. Key order follows the contract; `to_json` returns a
//! `serde_json::Value` of the same document.

use std::collections::BTreeMap;

use membudget_core::Category;
use serde::Serialize;

use crate::plan::{JobManagerPlan, MemoryPlan, TaskManagerPlan};
use crate::Source;

#[derive(Serialize)]
struct Categories {
    heap: u64,
    direct: u64,
    managed: u64,
    network: u64,
    overhead: u64,
}

impl Categories {
    fn of(plan: &MemoryPlan) -> Categories {
        let q = plan.quotas();
        Categories {
            heap: q.get(Category::Heap),
            direct: q.get(Category::Direct),
            managed: q.get(Category::Managed),
            network: q.get(Category::Network),
            overhead: q.get(Category::Overhead),
        }
    }
}

#[derive(Serialize)]
struct TaskManagerJson<'a> {
    role: &'static str,
    host: &'static str,
    total_process_memory: u64,
    total_flink_memory: u64,
    framework_heap: u64,
    task_heap: u64,
    framework_off_heap: u64,
    task_off_heap: u64,
    managed: u64,
    network: u64,
    jvm_metaspace: u64,
    jvm_overhead: u64,
    segment_size: u64,
    network_buffers: u64,
    cpu_cores: crate::CpuCores,
    num_task_slots: i32,
    categories: Categories,
    jvm_args: String,
    warnings: &'a [String],
    sources: &'a BTreeMap<String, Source>,
}

#[derive(Serialize)]
struct JobManagerJson<'a> {
    role: &'static str,
    host: &'static str,
    total_process_memory: u64,
    total_flink_memory: u64,
    jvm_heap: u64,
    off_heap: u64,
    jvm_metaspace: u64,
    jvm_overhead: u64,
    categories: Categories,
    jvm_args: String,
    warnings: &'a [String],
    sources: &'a BTreeMap<String, Source>,
}

fn taskmanager<'a>(plan: &MemoryPlan, p: &'a TaskManagerPlan) -> TaskManagerJson<'a> {
    TaskManagerJson {
        role: "taskmanager",
        host: p.host.name(),
        total_process_memory: p.total_process_memory,
        total_flink_memory: p.total_flink_memory,
        framework_heap: p.framework_heap,
        task_heap: p.task_heap,
        framework_off_heap: p.framework_off_heap,
        task_off_heap: p.task_off_heap,
        managed: p.managed,
        network: p.network,
        jvm_metaspace: p.jvm_metaspace,
        jvm_overhead: p.jvm_overhead,
        segment_size: p.segment_size,
        network_buffers: p.network_buffers,
        cpu_cores: p.cpu_cores,
        num_task_slots: p.num_task_slots,
        categories: Categories::of(plan),
        jvm_args: p.jvm_args(),
        warnings: &p.warnings,
        sources: &p.sources,
    }
}

fn jobmanager<'a>(plan: &MemoryPlan, p: &'a JobManagerPlan) -> JobManagerJson<'a> {
    JobManagerJson {
        role: "jobmanager",
        host: p.host.name(),
        total_process_memory: p.total_process_memory,
        total_flink_memory: p.total_flink_memory,
        jvm_heap: p.jvm_heap,
        off_heap: p.off_heap,
        jvm_metaspace: p.jvm_metaspace,
        jvm_overhead: p.jvm_overhead,
        categories: Categories::of(plan),
        jvm_args: p.jvm_args(),
        warnings: &p.warnings,
        sources: &p.sources,
    }
}

impl MemoryPlan {
    /// The plan as a JSON value (the machine contract; see [`MemoryPlan::to_json_string`]).
    pub fn to_json(&self) -> serde_json::Value {
        let value = match self {
            MemoryPlan::TaskManager(p) => serde_json::to_value(taskmanager(self, p)),
            MemoryPlan::JobManager(p) => serde_json::to_value(jobmanager(self, p)),
        };
        // Serialising plain integers, strings and string maps cannot fail.
        value.unwrap_or(serde_json::Value::Null)
    }

    /// The plan as pretty-printed JSON with keys in contract order: `role`, `host`,
    /// `total_process_memory`, `total_flink_memory`, the components, (TaskManager:
    /// `segment_size`, `network_buffers`, `cpu_cores`, `num_task_slots`), `categories` {`heap`, `direct`, `managed`,
    /// `network`, `overhead`}, `jvm_args`, `warnings`, `sources`. Integers are bytes.
    pub fn to_json_string(&self) -> String {
        let text = match self {
            MemoryPlan::TaskManager(p) => serde_json::to_string_pretty(&taskmanager(self, p)),
            MemoryPlan::JobManager(p) => serde_json::to_string_pretty(&jobmanager(self, p)),
        };
        text.unwrap_or_default()
    }
}
