//! Every Flink option key membudget reads or names, verbatim, in one place.
//!
//! The model's option table (defaults, deprecated keys, value types), the budget's refusal hints
//! and the buffer pool's error texts all take their key strings from here, so a key is spelt
//! once. Names follow Flink's `TaskManagerOptions`, `JobManagerOptions` and
//! `NettyShuffleEnvironmentOptions` fields, prefixed `TM_` / `JM_`.

// ---------------------------------------------------------------------------------------------
// Namespaces
// ---------------------------------------------------------------------------------------------

/// The TaskManager memory namespace: every key below it must be a real option.
pub const TM_MEMORY_PREFIX: &str = "taskmanager.memory";
/// The JobManager memory namespace: every key below it must be a real option.
pub const JM_MEMORY_PREFIX: &str = "jobmanager.memory";

// ---------------------------------------------------------------------------------------------
// TaskManager
// ---------------------------------------------------------------------------------------------

/// Total Process Memory of a TaskExecutor.
pub const TM_TOTAL_PROCESS_MEMORY: &str = "taskmanager.memory.process.size";
/// Total Flink Memory of a TaskExecutor.
pub const TM_TOTAL_FLINK_MEMORY: &str = "taskmanager.memory.flink.size";
/// Framework heap.
pub const TM_FRAMEWORK_HEAP_MEMORY: &str = "taskmanager.memory.framework.heap.size";
/// Framework off-heap.
pub const TM_FRAMEWORK_OFF_HEAP_MEMORY: &str = "taskmanager.memory.framework.off-heap.size";
/// Task heap.
pub const TM_TASK_HEAP_MEMORY: &str = "taskmanager.memory.task.heap.size";
/// Task off-heap.
pub const TM_TASK_OFF_HEAP_MEMORY: &str = "taskmanager.memory.task.off-heap.size";
/// Managed memory as a size.
pub const TM_MANAGED_MEMORY_SIZE: &str = "taskmanager.memory.managed.size";
/// The deprecated key of [`TM_MANAGED_MEMORY_SIZE`].
pub const TM_LEGACY_MANAGED_MEMORY_SIZE: &str = "taskmanager.memory.size";
/// Managed memory as a fraction of Total Flink Memory.
pub const TM_MANAGED_MEMORY_FRACTION: &str = "taskmanager.memory.managed.fraction";
/// Minimum network memory.
pub const TM_NETWORK_MEMORY_MIN: &str = "taskmanager.memory.network.min";
/// The deprecated key of [`TM_NETWORK_MEMORY_MIN`].
pub const TM_LEGACY_NETWORK_MEMORY_MIN: &str = "taskmanager.network.memory.min";
/// Maximum network memory.
pub const TM_NETWORK_MEMORY_MAX: &str = "taskmanager.memory.network.max";
/// The deprecated key of [`TM_NETWORK_MEMORY_MAX`].
pub const TM_LEGACY_NETWORK_MEMORY_MAX: &str = "taskmanager.network.memory.max";
/// Network memory as a fraction of Total Flink Memory.
pub const TM_NETWORK_MEMORY_FRACTION: &str = "taskmanager.memory.network.fraction";
/// The deprecated key of [`TM_NETWORK_MEMORY_FRACTION`].
pub const TM_LEGACY_NETWORK_MEMORY_FRACTION: &str = "taskmanager.network.memory.fraction";
/// JVM metaspace.
pub const TM_JVM_METASPACE: &str = "taskmanager.memory.jvm-metaspace.size";
/// Minimum JVM overhead.
pub const TM_JVM_OVERHEAD_MIN: &str = "taskmanager.memory.jvm-overhead.min";
/// Maximum JVM overhead.
pub const TM_JVM_OVERHEAD_MAX: &str = "taskmanager.memory.jvm-overhead.max";
/// JVM overhead as a fraction of Total Process Memory.
pub const TM_JVM_OVERHEAD_FRACTION: &str = "taskmanager.memory.jvm-overhead.fraction";
/// Memory segment (page) size.
pub const TM_MEMORY_SEGMENT_SIZE: &str = "taskmanager.memory.segment-size";
/// Legacy number of network buffers.
pub const TM_NETWORK_NUM_BUFFERS: &str = "taskmanager.network.numberOfBuffers";
/// How long a request for exclusive network buffers waits before it fails (milliseconds).
pub const TM_NETWORK_EXCLUSIVE_BUFFERS_REQUEST_TIMEOUT: &str =
    "taskmanager.network.memory.exclusive-buffers-request-timeout-ms";
/// CPU cores of a TaskExecutor.
pub const TM_CPU_CORES: &str = "taskmanager.cpu.cores";
/// Task slots of a TaskExecutor (the CPU cores fallback).
pub const TM_NUM_TASK_SLOTS: &str = "taskmanager.numberOfTaskSlots";
/// The external resources (e.g. GPUs) of a TaskExecutor: a `;`-separated list, or `none`.
pub const EXTERNAL_RESOURCES: &str = "external-resources";
/// How far a Kubernetes TaskManager pod's memory limit lies above its request.
pub const K8S_TM_MEMORY_LIMIT_FACTOR: &str = "kubernetes.taskmanager.memory.limit-factor";
/// How far a Kubernetes JobManager pod's memory limit lies above its request.
pub const K8S_JM_MEMORY_LIMIT_FACTOR: &str = "kubernetes.jobmanager.memory.limit-factor";
/// Legacy (1.x) TaskManager heap size, mapped to [`TM_TOTAL_FLINK_MEMORY`].
pub const TM_LEGACY_HEAP_MEMORY: &str = "taskmanager.heap.size";
/// Legacy (1.x) TaskManager heap size in MiB, mapped to [`TM_TOTAL_FLINK_MEMORY`].
pub const TM_LEGACY_HEAP_MEMORY_MB: &str = "taskmanager.heap.mb";
/// Managed memory consumer weights (read by Flink's operators, not by the derivation).
pub const TM_MANAGED_MEMORY_CONSUMER_WEIGHTS: &str = "taskmanager.memory.managed.consumer-weights";
/// Off-heap memory reserved for batch shuffle reads (part of framework off-heap).
pub const TM_FRAMEWORK_OFF_HEAP_BATCH_SHUFFLE_MEMORY: &str =
    "taskmanager.memory.framework.off-heap.batch-shuffle.size";
/// Minimum memory segment size of the sort-merge shuffle (pre-1.10 key).
pub const TM_MIN_SEGMENT_SIZE: &str = "taskmanager.memory.min-segment-size";
/// Starting memory segment size (pre-1.10 key).
pub const TM_STARTING_SEGMENT_SIZE: &str = "taskmanager.memory.starting-segment-size";
/// Pre-1.10 managed memory fraction.
pub const TM_LEGACY_MANAGED_MEMORY_FRACTION: &str = "taskmanager.memory.fraction";
/// Pre-1.10 managed memory off-heap switch.
pub const TM_LEGACY_MANAGED_MEMORY_OFF_HEAP: &str = "taskmanager.memory.off-heap";
/// Pre-1.10 managed memory pre-allocation switch.
pub const TM_LEGACY_MANAGED_MEMORY_PREALLOCATE: &str = "taskmanager.memory.preallocate";

// ---------------------------------------------------------------------------------------------
// JobManager
// ---------------------------------------------------------------------------------------------

/// Total Process Memory of a JobManager.
pub const JM_TOTAL_PROCESS_MEMORY: &str = "jobmanager.memory.process.size";
/// Total Flink Memory of a JobManager.
pub const JM_TOTAL_FLINK_MEMORY: &str = "jobmanager.memory.flink.size";
/// JVM heap of a JobManager.
pub const JM_JVM_HEAP_MEMORY: &str = "jobmanager.memory.heap.size";
/// Off-heap memory of a JobManager.
pub const JM_OFF_HEAP_MEMORY: &str = "jobmanager.memory.off-heap.size";
/// Whether a JobManager's JVM limits direct memory to its off-heap memory.
pub const JM_JVM_DIRECT_MEMORY_LIMIT_ENABLED: &str =
    "jobmanager.memory.enable-jvm-direct-memory-limit";
/// JVM metaspace of a JobManager.
pub const JM_JVM_METASPACE: &str = "jobmanager.memory.jvm-metaspace.size";
/// Minimum JVM overhead of a JobManager.
pub const JM_JVM_OVERHEAD_MIN: &str = "jobmanager.memory.jvm-overhead.min";
/// Maximum JVM overhead of a JobManager.
pub const JM_JVM_OVERHEAD_MAX: &str = "jobmanager.memory.jvm-overhead.max";
/// JVM overhead of a JobManager as a fraction of its Total Process Memory.
pub const JM_JVM_OVERHEAD_FRACTION: &str = "jobmanager.memory.jvm-overhead.fraction";
/// Legacy (1.x) JobManager heap size, mapped to [`JM_JVM_HEAP_MEMORY`].
pub const JM_LEGACY_HEAP_MEMORY: &str = "jobmanager.heap.size";
/// Legacy (1.x) JobManager heap size in MiB, mapped to [`JM_JVM_HEAP_MEMORY`].
pub const JM_LEGACY_HEAP_MEMORY_MB: &str = "jobmanager.heap.mb";

/// Real Flink keys under [`TM_MEMORY_PREFIX`] that no memory derivation reads (accepted and
/// ignored), including pre-1.10 keys an old configuration may still carry.
pub const OTHER_MEMORY_KEYS: [&str; 7] = [
    TM_MANAGED_MEMORY_CONSUMER_WEIGHTS,
    TM_FRAMEWORK_OFF_HEAP_BATCH_SHUFFLE_MEMORY,
    TM_MIN_SEGMENT_SIZE,
    TM_STARTING_SEGMENT_SIZE,
    TM_LEGACY_MANAGED_MEMORY_FRACTION,
    TM_LEGACY_MANAGED_MEMORY_OFF_HEAP,
    TM_LEGACY_MANAGED_MEMORY_PREALLOCATE,
];
