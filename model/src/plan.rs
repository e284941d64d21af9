//! `MemoryPlan`: the derived memory layout of one TaskManager or JobManager process.

use std::collections::BTreeMap;

use membudget_core::keys;
use membudget_core::Quotas;

use crate::host::Components;
use crate::java_hash_map::java_hash_map_order;
use crate::{CpuCores, HostProfile, LimitFactor, Role, Source};

/// Every component of a TaskManager's memory, in bytes, as Flink derives it.
///
/// ```text
/// total_process_memory
/// ├── total_flink_memory
/// │   ├── framework_heap ─┐ JVM heap (-Xmx/-Xms)       category heap
/// │   ├── task_heap ──────┘
/// │   ├── framework_off_heap ─┐ JVM direct              category direct
/// │   ├── task_off_heap ──────┘ (+ network)
/// │   ├── managed                                        category managed
/// │   └── network (= network_buffers × segment_size + rest) category network
/// ├── jvm_metaspace ─┐                                   category overhead
/// └── jvm_overhead ──┘
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskManagerPlan {
    /// Total Process Memory: Total Flink Memory + JVM metaspace + JVM overhead.
    pub total_process_memory: u64,
    /// Total Flink Memory: heap, off-heap, managed and network.
    pub total_flink_memory: u64,
    /// Framework heap.
    pub framework_heap: u64,
    /// Task heap.
    pub task_heap: u64,
    /// Framework off-heap.
    pub framework_off_heap: u64,
    /// Task off-heap.
    pub task_off_heap: u64,
    /// Managed memory.
    pub managed: u64,
    /// Network memory.
    pub network: u64,
    /// JVM metaspace.
    pub jvm_metaspace: u64,
    /// JVM overhead.
    pub jvm_overhead: u64,
    /// Memory segment (page) size (`taskmanager.memory.segment-size`).
    pub segment_size: u64,
    /// Number of network buffers: `network / segment_size`, rounded down.
    pub network_buffers: u64,
    /// CPU cores (`taskmanager.cpu.cores`, else `taskmanager.numberOfTaskSlots`).
    pub cpu_cores: CpuCores,
    /// Task slots (`taskmanager.numberOfTaskSlots`).
    pub num_task_slots: i32,
    /// The configured `external-resources` list, when it names any (Flink pins each resource's
    /// amount in its dynamic configs; membudget does not read resource amounts).
    pub external_resources: Option<String>,
    /// How the quotas are drawn for the runtime that enforces them.
    pub host: HostProfile,
    /// `kubernetes.taskmanager.memory.limit-factor`: the pod's memory limit over its request.
    pub memory_limit_factor: LimitFactor,
    /// Conditions Flink only logs (capped fractions, fraction mismatches, deprecated keys).
    pub warnings: Vec<String>,
    /// Where each value that was used came from, by key.
    pub sources: BTreeMap<String, Source>,
}

/// Every component of a JobManager's memory, in bytes, as Flink derives it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobManagerPlan {
    /// Total Process Memory: Total Flink Memory + JVM metaspace + JVM overhead.
    pub total_process_memory: u64,
    /// Total Flink Memory: JVM heap + off-heap.
    pub total_flink_memory: u64,
    /// JVM heap (-Xmx/-Xms).
    pub jvm_heap: u64,
    /// Off-heap memory (direct and native).
    pub off_heap: u64,
    /// JVM metaspace.
    pub jvm_metaspace: u64,
    /// JVM overhead.
    pub jvm_overhead: u64,
    /// Whether the JVM args limit direct memory to `off_heap`
    /// (`jobmanager.memory.enable-jvm-direct-memory-limit`).
    pub jvm_direct_memory_limit: bool,
    /// How the quotas are drawn for the runtime that enforces them.
    pub host: HostProfile,
    /// `kubernetes.jobmanager.memory.limit-factor`: the pod's memory limit over its request.
    pub memory_limit_factor: LimitFactor,
    /// Conditions Flink only logs (small heap, capped fractions, deprecated keys).
    pub warnings: Vec<String>,
    /// Where each value that was used came from, by key.
    pub sources: BTreeMap<String, Source>,
}

/// The derived memory plan of one process: every component in bytes, the five category quotas,
/// JVM arguments, warnings and the source of every input value.
///
/// # Examples
///
/// ```
/// use membudget_model::{derive, Configuration, Role};
/// use membudget_model::Category;
///
/// let config: Configuration = [("taskmanager.memory.flink.size", "1280m")].into_iter().collect();
/// let plan = derive(Role::TaskManager, &config).unwrap();
/// assert_eq!(plan.total_process_memory(), 1811939328);
/// assert_eq!(plan.quotas().get(Category::Network), 134217730);
/// assert!(plan.jvm_args().starts_with("-Xmx536870902 "));
/// ```
///
/// Plans built by [`derive`](crate::derive) always add up exactly; the accessors saturate
/// instead of overflowing on hand-built plans.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MemoryPlan {
    /// A TaskManager plan.
    TaskManager(TaskManagerPlan),
    /// A JobManager plan.
    JobManager(JobManagerPlan),
}

impl TaskManagerPlan {
    /// JVM heap: framework heap + task heap.
    pub fn jvm_heap(&self) -> u64 {
        self.framework_heap.saturating_add(self.task_heap)
    }

    /// JVM direct memory: framework off-heap + task off-heap + network.
    pub fn jvm_direct(&self) -> u64 {
        self.framework_off_heap
            .saturating_add(self.task_off_heap)
            .saturating_add(self.network)
    }

    /// The five category quotas for the plan's [`host`](Self::host) (see [`HostProfile`]); for
    /// a JVM: heap = framework + task heap, direct = framework + task off-heap, managed,
    /// network, overhead = metaspace + JVM overhead; total = total process memory; role
    /// TaskManager (refusals name `taskmanager.memory.*` keys).
    pub fn quotas(&self) -> Quotas {
        self.host.quotas(&Components {
            heap: self.jvm_heap(),
            direct: self.framework_off_heap.saturating_add(self.task_off_heap),
            managed: self.managed,
            network: self.network,
            metaspace: self.jvm_metaspace,
            overhead: self.jvm_overhead,
            total: self.total_process_memory,
            role: Role::TaskManager,
        })
    }

    /// Flink's JVM memory arguments:
    /// `-Xmx<heap> -Xms<heap> -XX:MaxDirectMemorySize=<direct> -XX:MaxMetaspaceSize=<meta>`.
    pub fn jvm_args(&self) -> String {
        let heap = self.jvm_heap();
        format!(
            "-Xmx{heap} -Xms{heap} -XX:MaxDirectMemorySize={} -XX:MaxMetaspaceSize={}",
            self.jvm_direct(),
            self.jvm_metaspace
        )
    }

    /// Flink's TaskManager dynamic configs, exactly as `BashJavaUtils GET_TM_RESOURCE_PARAMS`
    /// prints them (`TaskExecutorProcessUtils.generateDynamicConfigsStr`): every component as
    /// `-D key=<bytes>b`, plus `taskmanager.cpu.cores`, `taskmanager.numberOfTaskSlots` and
    /// `external-resources=none`, in the iteration order of Flink's `HashMap`.
    ///
    /// With external resources configured, Flink also pins each resource's amount, which
    /// membudget does not read: the `external-resources` entry then carries the configured list
    /// and the amounts are missing (see [`external_resources`](Self::external_resources)).
    pub fn dynamic_configs(&self) -> String {
        let bytes = |v: u64| format!("{v}b");
        let external = match &self.external_resources {
            None => "none".to_owned(),
            Some(list) => format!("\"{list}\""),
        };
        let pairs: Vec<(&str, String)> = vec![
            (keys::TM_CPU_CORES, self.cpu_cores.to_string()),
            (keys::TM_FRAMEWORK_HEAP_MEMORY, bytes(self.framework_heap)),
            (
                keys::TM_FRAMEWORK_OFF_HEAP_MEMORY,
                bytes(self.framework_off_heap),
            ),
            (keys::TM_TASK_HEAP_MEMORY, bytes(self.task_heap)),
            (keys::TM_TASK_OFF_HEAP_MEMORY, bytes(self.task_off_heap)),
            (keys::TM_NETWORK_MEMORY_MIN, bytes(self.network)),
            (keys::TM_NETWORK_MEMORY_MAX, bytes(self.network)),
            (keys::TM_MANAGED_MEMORY_SIZE, bytes(self.managed)),
            (keys::TM_JVM_METASPACE, bytes(self.jvm_metaspace)),
            (keys::TM_JVM_OVERHEAD_MIN, bytes(self.jvm_overhead)),
            (keys::TM_JVM_OVERHEAD_MAX, bytes(self.jvm_overhead)),
            (keys::TM_NUM_TASK_SLOTS, self.num_task_slots.to_string()),
            (keys::EXTERNAL_RESOURCES, external),
        ];
        assemble_dynamic_configs(pairs)
    }
}

/// Flink's `ConfigurationUtils.assembleDynamicConfigsStr` over a `HashMap` built from `pairs`.
fn assemble_dynamic_configs(pairs: Vec<(&str, String)>) -> String {
    java_hash_map_order(pairs)
        .into_iter()
        .map(|(k, v)| format!("-D {k}={v}"))
        .collect::<Vec<_>>()
        .join(" ")
}

impl JobManagerPlan {
    /// The five category quotas for the plan's [`host`](Self::host); for a JVM: heap = JVM
    /// heap, direct = off-heap, managed = network = 0, overhead = metaspace + JVM overhead;
    /// total = total process memory; role JobManager (refusals name `jobmanager.memory.*`
    /// keys).
    pub fn quotas(&self) -> Quotas {
        self.host.quotas(&Components {
            heap: self.jvm_heap,
            direct: self.off_heap,
            managed: 0,
            network: 0,
            metaspace: self.jvm_metaspace,
            overhead: self.jvm_overhead,
            total: self.total_process_memory,
            role: Role::JobManager,
        })
    }

    /// Flink's JobManager dynamic configs, exactly as `BashJavaUtils GET_JM_RESOURCE_PARAMS`
    /// prints them (`JobManagerProcessUtils.generateDynamicConfigsStr`).
    pub fn dynamic_configs(&self) -> String {
        let bytes = |v: u64| format!("{v}b");
        assemble_dynamic_configs(vec![
            (keys::JM_JVM_HEAP_MEMORY, bytes(self.jvm_heap)),
            (keys::JM_OFF_HEAP_MEMORY, bytes(self.off_heap)),
            (keys::JM_JVM_METASPACE, bytes(self.jvm_metaspace)),
            (keys::JM_JVM_OVERHEAD_MIN, bytes(self.jvm_overhead)),
            (keys::JM_JVM_OVERHEAD_MAX, bytes(self.jvm_overhead)),
        ])
    }

    /// Flink's JVM memory arguments: `-Xmx<heap> -Xms<heap>`, then
    /// `-XX:MaxDirectMemorySize=<off-heap>` only if the direct memory limit is enabled, then
    /// `-XX:MaxMetaspaceSize=<meta>`.
    pub fn jvm_args(&self) -> String {
        let heap = self.jvm_heap;
        let mut s = format!("-Xmx{heap} -Xms{heap}");
        if self.jvm_direct_memory_limit {
            s.push_str(&format!(" -XX:MaxDirectMemorySize={}", self.off_heap));
        }
        s.push_str(&format!(" -XX:MaxMetaspaceSize={}", self.jvm_metaspace));
        s
    }
}

impl MemoryPlan {
    /// The role the plan is for.
    pub fn role(&self) -> Role {
        match self {
            MemoryPlan::TaskManager(_) => Role::TaskManager,
            MemoryPlan::JobManager(_) => Role::JobManager,
        }
    }

    /// Total Process Memory in bytes.
    pub fn total_process_memory(&self) -> u64 {
        match self {
            MemoryPlan::TaskManager(p) => p.total_process_memory,
            MemoryPlan::JobManager(p) => p.total_process_memory,
        }
    }

    /// Total Flink Memory in bytes.
    pub fn total_flink_memory(&self) -> u64 {
        match self {
            MemoryPlan::TaskManager(p) => p.total_flink_memory,
            MemoryPlan::JobManager(p) => p.total_flink_memory,
        }
    }

    /// The five category quotas (see the ARCHITECTURE table); the total is the total process
    /// memory and equals the sum of the categories.
    pub fn quotas(&self) -> Quotas {
        match self {
            MemoryPlan::TaskManager(p) => p.quotas(),
            MemoryPlan::JobManager(p) => p.quotas(),
        }
    }

    /// The JVM memory arguments Flink would start the process with.
    pub fn jvm_args(&self) -> String {
        match self {
            MemoryPlan::TaskManager(p) => p.jvm_args(),
            MemoryPlan::JobManager(p) => p.jvm_args(),
        }
    }

    /// Flink's dynamic configs (`-D ...`) for the role, as `BashJavaUtils` prints them.
    pub fn dynamic_configs(&self) -> String {
        match self {
            MemoryPlan::TaskManager(p) => p.dynamic_configs(),
            MemoryPlan::JobManager(p) => p.dynamic_configs(),
        }
    }

    /// The Kubernetes memory limit factor of the role.
    pub fn memory_limit_factor(&self) -> LimitFactor {
        match self {
            MemoryPlan::TaskManager(p) => p.memory_limit_factor,
            MemoryPlan::JobManager(p) => p.memory_limit_factor,
        }
    }

    /// The host profile the quotas are drawn for.
    pub fn host(&self) -> HostProfile {
        match self {
            MemoryPlan::TaskManager(p) => p.host,
            MemoryPlan::JobManager(p) => p.host,
        }
    }

    /// The same plan with its quotas drawn for `host` (Flink's components do not change).
    #[must_use]
    pub fn with_host(mut self, host: HostProfile) -> MemoryPlan {
        match &mut self {
            MemoryPlan::TaskManager(p) => p.host = host,
            MemoryPlan::JobManager(p) => p.host = host,
        }
        self
    }

    /// Warnings: conditions Flink only logs.
    pub fn warnings(&self) -> &[String] {
        match self {
            MemoryPlan::TaskManager(p) => &p.warnings,
            MemoryPlan::JobManager(p) => &p.warnings,
        }
    }

    /// Where each value that was used came from, by key.
    pub fn sources(&self) -> &BTreeMap<String, Source> {
        match self {
            MemoryPlan::TaskManager(p) => &p.sources,
            MemoryPlan::JobManager(p) => &p.sources,
        }
    }

    /// Appends a warning (e.g. a note about the container limit).
    pub fn add_warning(&mut self, warning: impl Into<String>) {
        match self {
            MemoryPlan::TaskManager(p) => p.warnings.push(warning.into()),
            MemoryPlan::JobManager(p) => p.warnings.push(warning.into()),
        }
    }

    /// Records (or overrides) where the value of `key` came from.
    pub fn set_source(&mut self, key: impl Into<String>, source: Source) {
        let sources = match self {
            MemoryPlan::TaskManager(p) => &mut p.sources,
            MemoryPlan::JobManager(p) => &mut p.sources,
        };
        sources.insert(key.into(), source);
    }

    /// The TaskManager plan, if this is one.
    pub fn as_taskmanager(&self) -> Option<&TaskManagerPlan> {
        match self {
            MemoryPlan::TaskManager(p) => Some(p),
            MemoryPlan::JobManager(_) => None,
        }
    }

    /// The JobManager plan, if this is one.
    pub fn as_jobmanager(&self) -> Option<&JobManagerPlan> {
        match self {
            MemoryPlan::JobManager(p) => Some(p),
            MemoryPlan::TaskManager(_) => None,
        }
    }
}
