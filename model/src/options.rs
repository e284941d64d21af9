//! Every TaskManager and JobManager memory option Flink knows, with defaults and deprecated keys.
//!
//! Names follow Flink's `TaskManagerOptions`, `JobManagerOptions` and
//! `NettyShuffleEnvironmentOptions`; the key strings come from [`membudget_core::keys`].

use membudget_core::keys;

/// The value type of an option (how its text is parsed).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum OptionKind {
    /// A [`MemorySize`](crate::MemorySize) (`128m`, `1g`, `1024`).
    MemorySize,
    /// A Java `float` fraction, widened to `double` for arithmetic (`0.1`).
    Fraction,
    /// A Java `int` (`2048`).
    Integer,
    /// `true` / `false` (case-insensitive).
    Boolean,
    /// A Java `double` (`1.5`).
    Double,
    /// Text (`none`, `gpu;fpga`).
    Text,
}

/// A configuration option: its key, default, deprecated aliases and value type.
///
/// "Configured" (Flink's `Configuration.contains`) means the key or one of its deprecated keys
/// is present; the default is used only for reading a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ConfigOption {
    /// The key, e.g. `taskmanager.memory.process.size`.
    pub key: &'static str,
    /// Flink's embedded default as text, `None` when the option has no default.
    pub default: Option<&'static str>,
    /// Older keys that are still read when `key` is absent, in lookup order.
    pub deprecated_keys: &'static [&'static str],
    /// How the value text is parsed.
    pub kind: OptionKind,
}

impl ConfigOption {
    const fn memory(key: &'static str, default: Option<&'static str>) -> ConfigOption {
        ConfigOption {
            key,
            default,
            deprecated_keys: &[],
            kind: OptionKind::MemorySize,
        }
    }

    const fn with_kind(mut self, kind: OptionKind) -> ConfigOption {
        self.kind = kind;
        self
    }

    const fn with_deprecated(mut self, keys: &'static [&'static str]) -> ConfigOption {
        self.deprecated_keys = keys;
        self
    }

    /// `key` followed by the deprecated keys, in lookup order.
    pub fn all_keys(&self) -> impl Iterator<Item = &'static str> {
        core::iter::once(self.key).chain(self.deprecated_keys.iter().copied())
    }
}

// ---------------------------------------------------------------------------------------------
// TaskManager
// ---------------------------------------------------------------------------------------------

/// `taskmanager.memory.process.size`: Total Process Memory of a TaskExecutor (no default).
pub const TM_TOTAL_PROCESS_MEMORY: ConfigOption =
    ConfigOption::memory(keys::TM_TOTAL_PROCESS_MEMORY, None);
/// `taskmanager.memory.flink.size`: Total Flink Memory of a TaskExecutor (no default).
pub const TM_TOTAL_FLINK_MEMORY: ConfigOption =
    ConfigOption::memory(keys::TM_TOTAL_FLINK_MEMORY, None);
/// `taskmanager.memory.framework.heap.size` (default 128m).
pub const TM_FRAMEWORK_HEAP_MEMORY: ConfigOption =
    ConfigOption::memory(keys::TM_FRAMEWORK_HEAP_MEMORY, Some("128m"));
/// `taskmanager.memory.framework.off-heap.size` (default 128m).
pub const TM_FRAMEWORK_OFF_HEAP_MEMORY: ConfigOption =
    ConfigOption::memory(keys::TM_FRAMEWORK_OFF_HEAP_MEMORY, Some("128m"));
/// `taskmanager.memory.task.heap.size` (no default: derived as the remainder).
pub const TM_TASK_HEAP_MEMORY: ConfigOption = ConfigOption::memory(keys::TM_TASK_HEAP_MEMORY, None);
/// `taskmanager.memory.task.off-heap.size` (default 0).
pub const TM_TASK_OFF_HEAP_MEMORY: ConfigOption =
    ConfigOption::memory(keys::TM_TASK_OFF_HEAP_MEMORY, Some("0"));
/// `taskmanager.memory.managed.size` (no default; deprecated key `taskmanager.memory.size`).
pub const TM_MANAGED_MEMORY_SIZE: ConfigOption =
    ConfigOption::memory(keys::TM_MANAGED_MEMORY_SIZE, None)
        .with_deprecated(&[keys::TM_LEGACY_MANAGED_MEMORY_SIZE]);
/// `taskmanager.memory.managed.fraction` (default 0.4).
pub const TM_MANAGED_MEMORY_FRACTION: ConfigOption =
    ConfigOption::memory(keys::TM_MANAGED_MEMORY_FRACTION, Some("0.4"))
        .with_kind(OptionKind::Fraction);
/// `taskmanager.memory.network.min` (default 64m; deprecated `taskmanager.network.memory.min`).
pub const TM_NETWORK_MEMORY_MIN: ConfigOption =
    ConfigOption::memory(keys::TM_NETWORK_MEMORY_MIN, Some("64m"))
        .with_deprecated(&[keys::TM_LEGACY_NETWORK_MEMORY_MIN]);
/// `taskmanager.memory.network.max` (default `Long.MAX_VALUE` bytes; deprecated
/// `taskmanager.network.memory.max`).
pub const TM_NETWORK_MEMORY_MAX: ConfigOption =
    ConfigOption::memory(keys::TM_NETWORK_MEMORY_MAX, Some("9223372036854775807"))
        .with_deprecated(&[keys::TM_LEGACY_NETWORK_MEMORY_MAX]);
/// `taskmanager.memory.network.fraction` (default 0.1; deprecated
/// `taskmanager.network.memory.fraction`).
pub const TM_NETWORK_MEMORY_FRACTION: ConfigOption =
    ConfigOption::memory(keys::TM_NETWORK_MEMORY_FRACTION, Some("0.1"))
        .with_kind(OptionKind::Fraction)
        .with_deprecated(&[keys::TM_LEGACY_NETWORK_MEMORY_FRACTION]);
/// `taskmanager.memory.jvm-metaspace.size` (default 256m).
pub const TM_JVM_METASPACE: ConfigOption =
    ConfigOption::memory(keys::TM_JVM_METASPACE, Some("256m"));
/// `taskmanager.memory.jvm-overhead.min` (default 192m).
pub const TM_JVM_OVERHEAD_MIN: ConfigOption =
    ConfigOption::memory(keys::TM_JVM_OVERHEAD_MIN, Some("192m"));
/// `taskmanager.memory.jvm-overhead.max` (default 1g).
pub const TM_JVM_OVERHEAD_MAX: ConfigOption =
    ConfigOption::memory(keys::TM_JVM_OVERHEAD_MAX, Some("1g"));
/// `taskmanager.memory.jvm-overhead.fraction` (default 0.1).
pub const TM_JVM_OVERHEAD_FRACTION: ConfigOption =
    ConfigOption::memory(keys::TM_JVM_OVERHEAD_FRACTION, Some("0.1"))
        .with_kind(OptionKind::Fraction);
/// `taskmanager.memory.segment-size` (default 32kb; at least 4096 and a power of two).
pub const TM_MEMORY_SEGMENT_SIZE: ConfigOption =
    ConfigOption::memory(keys::TM_MEMORY_SEGMENT_SIZE, Some("32kb"));
/// Legacy `taskmanager.network.numberOfBuffers` (Flink's default 2048 is never used: the option
/// only counts when set explicitly and none of `taskmanager.memory.network.*` is set).
pub const TM_NETWORK_NUM_BUFFERS: ConfigOption =
    ConfigOption::memory(keys::TM_NETWORK_NUM_BUFFERS, Some("2048")).with_kind(OptionKind::Integer);
/// `taskmanager.cpu.cores` (no default): a TaskManager needs a positive number of CPU cores.
/// Not a memory option, but Flink validates it while deriving the TaskManager process spec.
pub const TM_CPU_CORES: ConfigOption =
    ConfigOption::memory(keys::TM_CPU_CORES, None).with_kind(OptionKind::Double);
/// `taskmanager.numberOfTaskSlots` (default 1): the CPU cores fallback when
/// `taskmanager.cpu.cores` is not set.
pub const TM_NUM_TASK_SLOTS: ConfigOption =
    ConfigOption::memory(keys::TM_NUM_TASK_SLOTS, Some("1")).with_kind(OptionKind::Integer);
/// `external-resources` (default: none): the TaskExecutor's external resources, which Flink's
/// dynamic configs list.
pub const EXTERNAL_RESOURCES: ConfigOption =
    ConfigOption::memory(keys::EXTERNAL_RESOURCES, Some("none")).with_kind(OptionKind::Text);
/// `kubernetes.taskmanager.memory.limit-factor` (default 1.0): Kubernetes memory limit =
/// request × factor.
pub const K8S_TM_MEMORY_LIMIT_FACTOR: ConfigOption =
    ConfigOption::memory(keys::K8S_TM_MEMORY_LIMIT_FACTOR, Some("1.0"))
        .with_kind(OptionKind::Double);
/// `kubernetes.jobmanager.memory.limit-factor` (default 1.0).
pub const K8S_JM_MEMORY_LIMIT_FACTOR: ConfigOption =
    ConfigOption::memory(keys::K8S_JM_MEMORY_LIMIT_FACTOR, Some("1.0"))
        .with_kind(OptionKind::Double);
/// Legacy (1.x) `taskmanager.heap.size`: mapped to `taskmanager.memory.flink.size` when that is
/// unset. `FLINK_TM_HEAP` arrives under this key with an [`Env`](crate::Source::Env) source.
pub const TM_LEGACY_HEAP_MEMORY: ConfigOption =
    ConfigOption::memory(keys::TM_LEGACY_HEAP_MEMORY, None);
/// Legacy (1.x) `taskmanager.heap.mb` (an integer number of MiB), mapped like
/// [`TM_LEGACY_HEAP_MEMORY`].
pub const TM_LEGACY_HEAP_MEMORY_MB: ConfigOption =
    ConfigOption::memory(keys::TM_LEGACY_HEAP_MEMORY_MB, None).with_kind(OptionKind::Integer);

// ---------------------------------------------------------------------------------------------
// JobManager
// ---------------------------------------------------------------------------------------------

/// `jobmanager.memory.process.size`: Total Process Memory of a JobManager (no default).
pub const JM_TOTAL_PROCESS_MEMORY: ConfigOption =
    ConfigOption::memory(keys::JM_TOTAL_PROCESS_MEMORY, None);
/// `jobmanager.memory.flink.size`: Total Flink Memory of a JobManager (no default).
pub const JM_TOTAL_FLINK_MEMORY: ConfigOption =
    ConfigOption::memory(keys::JM_TOTAL_FLINK_MEMORY, None);
/// `jobmanager.memory.heap.size`: JVM heap of a JobManager (no default).
pub const JM_JVM_HEAP_MEMORY: ConfigOption = ConfigOption::memory(keys::JM_JVM_HEAP_MEMORY, None);
/// `jobmanager.memory.off-heap.size` (default 128m).
pub const JM_OFF_HEAP_MEMORY: ConfigOption =
    ConfigOption::memory(keys::JM_OFF_HEAP_MEMORY, Some("128m"));
/// `jobmanager.memory.enable-jvm-direct-memory-limit` (default false): whether the JobManager's
/// JVM args carry `-XX:MaxDirectMemorySize`.
pub const JM_JVM_DIRECT_MEMORY_LIMIT_ENABLED: ConfigOption =
    ConfigOption::memory(keys::JM_JVM_DIRECT_MEMORY_LIMIT_ENABLED, Some("false"))
        .with_kind(OptionKind::Boolean);
/// `jobmanager.memory.jvm-metaspace.size` (default 256m).
pub const JM_JVM_METASPACE: ConfigOption =
    ConfigOption::memory(keys::JM_JVM_METASPACE, Some("256m"));
/// `jobmanager.memory.jvm-overhead.min` (default 192m).
pub const JM_JVM_OVERHEAD_MIN: ConfigOption =
    ConfigOption::memory(keys::JM_JVM_OVERHEAD_MIN, Some("192m"));
/// `jobmanager.memory.jvm-overhead.max` (default 1g).
pub const JM_JVM_OVERHEAD_MAX: ConfigOption =
    ConfigOption::memory(keys::JM_JVM_OVERHEAD_MAX, Some("1g"));
/// `jobmanager.memory.jvm-overhead.fraction` (default 0.1).
pub const JM_JVM_OVERHEAD_FRACTION: ConfigOption =
    ConfigOption::memory(keys::JM_JVM_OVERHEAD_FRACTION, Some("0.1"))
        .with_kind(OptionKind::Fraction);
/// Legacy (1.x) `jobmanager.heap.size`: mapped to `jobmanager.memory.heap.size` when that is
/// unset. `FLINK_JM_HEAP` arrives under this key with an [`Env`](crate::Source::Env) source.
pub const JM_LEGACY_HEAP_MEMORY: ConfigOption =
    ConfigOption::memory(keys::JM_LEGACY_HEAP_MEMORY, None);
/// Legacy (1.x) `jobmanager.heap.mb` (an integer number of MiB), mapped like
/// [`JM_LEGACY_HEAP_MEMORY`].
pub const JM_LEGACY_HEAP_MEMORY_MB: ConfigOption =
    ConfigOption::memory(keys::JM_LEGACY_HEAP_MEMORY_MB, None).with_kind(OptionKind::Integer);

/// The minimum recommended JobManager JVM heap (Flink's `MIN_JVM_HEAP_SIZE`, 128m); a smaller
/// heap is only a warning.
pub const JM_MIN_JVM_HEAP_SIZE: u64 = 128 << 20;

static ALL_OPTIONS: [&ConfigOption; 35] = [
    &TM_TOTAL_PROCESS_MEMORY,
    &TM_TOTAL_FLINK_MEMORY,
    &TM_FRAMEWORK_HEAP_MEMORY,
    &TM_FRAMEWORK_OFF_HEAP_MEMORY,
    &TM_TASK_HEAP_MEMORY,
    &TM_TASK_OFF_HEAP_MEMORY,
    &TM_MANAGED_MEMORY_SIZE,
    &TM_MANAGED_MEMORY_FRACTION,
    &TM_NETWORK_MEMORY_MIN,
    &TM_NETWORK_MEMORY_MAX,
    &TM_NETWORK_MEMORY_FRACTION,
    &TM_JVM_METASPACE,
    &TM_JVM_OVERHEAD_MIN,
    &TM_JVM_OVERHEAD_MAX,
    &TM_JVM_OVERHEAD_FRACTION,
    &TM_MEMORY_SEGMENT_SIZE,
    &TM_NETWORK_NUM_BUFFERS,
    &TM_CPU_CORES,
    &TM_NUM_TASK_SLOTS,
    &EXTERNAL_RESOURCES,
    &K8S_TM_MEMORY_LIMIT_FACTOR,
    &K8S_JM_MEMORY_LIMIT_FACTOR,
    &TM_LEGACY_HEAP_MEMORY,
    &TM_LEGACY_HEAP_MEMORY_MB,
    &JM_TOTAL_PROCESS_MEMORY,
    &JM_TOTAL_FLINK_MEMORY,
    &JM_JVM_HEAP_MEMORY,
    &JM_OFF_HEAP_MEMORY,
    &JM_JVM_DIRECT_MEMORY_LIMIT_ENABLED,
    &JM_JVM_METASPACE,
    &JM_JVM_OVERHEAD_MIN,
    &JM_JVM_OVERHEAD_MAX,
    &JM_JVM_OVERHEAD_FRACTION,
    &JM_LEGACY_HEAP_MEMORY,
    &JM_LEGACY_HEAP_MEMORY_MB,
];

/// Every option this crate reads, TaskManager options first.
///
/// # Examples
///
/// ```
/// use membudget_model::options;
///
/// assert!(options::all_options().iter().any(|o| o.key == "taskmanager.memory.process.size"));
/// ```
pub fn all_options() -> &'static [&'static ConfigOption] {
    &ALL_OPTIONS
}

/// Every key a memory configuration may legitimately contain: the keys and deprecated keys of
/// [`all_options`] (including the two CPU keys the TaskManager derivation validates) plus every other real Flink key under `taskmanager.memory.*` /
/// `jobmanager.memory.*` (e.g. `taskmanager.memory.managed.consumer-weights`). Used for "did you
/// mean" suggestions and for resolving `MEMBUDGET_*` environment variable names.
pub fn known_memory_keys() -> &'static [&'static str] {
    static KEYS: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    KEYS.get_or_init(|| {
        let mut keys: Vec<&'static str> = ALL_OPTIONS
            .iter()
            .flat_map(|o| o.all_keys())
            .chain(keys::OTHER_MEMORY_KEYS)
            .collect();
        keys.sort_unstable();
        keys.dedup();
        keys
    })
}

/// The option whose key or deprecated key is `key`, if any.
pub fn option_for_key(key: &str) -> Option<&'static ConfigOption> {
    ALL_OPTIONS
        .iter()
        .copied()
        .find(|o| o.all_keys().any(|k| k == key))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemorySize;

    #[test]
    fn defaults_parse() {
        for o in all_options() {
            if let (Some(d), OptionKind::MemorySize) = (o.default, o.kind) {
                MemorySize::parse(d).unwrap();
            }
        }
        assert_eq!(
            MemorySize::parse(TM_NETWORK_MEMORY_MAX.default.unwrap()).unwrap(),
            MemorySize::MAX_VALUE
        );
    }

    #[test]
    fn known_keys_cover_aliases_and_extras() {
        let keys = known_memory_keys();
        for k in [
            "taskmanager.memory.size",
            "taskmanager.network.memory.fraction",
            "taskmanager.network.numberOfBuffers",
            "jobmanager.memory.enable-jvm-direct-memory-limit",
            "taskmanager.memory.managed.consumer-weights",
            "jobmanager.heap.mb",
        ] {
            assert!(keys.contains(&k), "{k}");
        }
        assert_eq!(
            option_for_key("taskmanager.memory.size"),
            Some(&TM_MANAGED_MEMORY_SIZE)
        );
    }
}
