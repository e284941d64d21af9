//! TaskManager derivation (Flink's `TaskExecutorProcessUtils` + `TaskExecutorFlinkMemoryUtils`).

use crate::error::{ConfigError, ConfigErrorKind};
use crate::legacy_heap::LegacyHeap;
use crate::options::*;
use crate::plan::TaskManagerPlan;
use crate::process::{Path, ProcessOptions};
use crate::range_fraction::{
    derive_with_fraction, derive_with_inverse_fraction, read_range_fraction, sum, RangeFraction,
};
use crate::reader::Reader;
use crate::removed::ignored_by_flink_2;
use crate::{Configuration, CpuCores, Deployment, FlinkTarget, HostProfile, MemorySize, Role};
use membudget_core::java_num::java_double_to_string;

const OPTIONS: ProcessOptions = ProcessOptions {
    required_fine_grained: &[&TM_TASK_HEAP_MEMORY, &TM_MANAGED_MEMORY_SIZE],
    total_flink: &TM_TOTAL_FLINK_MEMORY,
    total_process: &TM_TOTAL_PROCESS_MEMORY,
    metaspace: &TM_JVM_METASPACE,
    overhead_min: &TM_JVM_OVERHEAD_MIN,
    overhead_max: &TM_JVM_OVERHEAD_MAX,
    overhead_fraction: &TM_JVM_OVERHEAD_FRACTION,
};

/// `FLINK_TM_HEAP` (delivered as `taskmanager.heap.size` with an env source), then
/// `taskmanager.heap.size`, then `taskmanager.heap.mb` become the deployment's target
/// (standalone: `taskmanager.memory.flink.size`; Kubernetes, YARN:
/// `taskmanager.memory.process.size`).
fn legacy_heap(deployment: Deployment) -> LegacyHeap {
    LegacyHeap {
        target: deployment.legacy_heap_target(Role::TaskManager),
        heap: &TM_LEGACY_HEAP_MEMORY,
        heap_mb: &TM_LEGACY_HEAP_MEMORY_MB,
    }
}

/// The prefix Flink puts before a failed legacy heap mapping
/// (`TaskExecutorProcessUtils.getConfigurationMapLegacyTaskManagerHeapSizeToConfigOption`).
const LEGACY_MAPPING_FAILED: &str =
    "TaskManager failed to map legacy JVM heap option to the new one: ";

/// Minimum memory segment size (Flink's `MemoryManager.MIN_PAGE_SIZE`).
pub(crate) const MIN_PAGE_SIZE: u64 = 4096;

/// The Total Flink Memory components.
struct FlinkMemory {
    framework_heap: MemorySize,
    framework_off_heap: MemorySize,
    task_heap: MemorySize,
    task_off_heap: MemorySize,
    network: MemorySize,
    managed: MemorySize,
}

impl FlinkMemory {
    fn total(&self) -> MemorySize {
        // Every caller built these parts so that they add up to a checked total.
        MemorySize::new(
            self.framework_heap.bytes()
                + self.framework_off_heap.bytes()
                + self.task_heap.bytes()
                + self.task_off_heap.bytes()
                + self.network.bytes()
                + self.managed.bytes(),
        )
    }
}

/// Derives a TaskManager plan for `target`.
pub(crate) fn derive(
    config: &Configuration,
    target: FlinkTarget,
) -> Result<TaskManagerPlan, ConfigError> {
    let mut r = Reader::new(config);
    if target.version.reads_legacy_keys() {
        // The legacy heap mapping happens before (and outside) Flink's derivation, with its
        // own prefix on configuration errors.
        legacy_heap(target.deployment)
            .map(&mut r)
            .map_err(|e| e.prefixed_if_illegal_configuration(LEGACY_MAPPING_FAILED))?;
        warn_if_legacy_network_ignored(&mut r);
    } else {
        for (key, warning) in ignored_by_flink_2(Role::TaskManager, r.config()) {
            r.warn(warning);
            r.remove(key);
        }
    }
    // Flink prefixes only IllegalConfigurationExceptions; parse failures pass through.
    derive_mapped(&mut r)
        .map_err(|e| e.prefixed_if_illegal_configuration(Role::TaskManager.error_prefix()))
}

fn derive_mapped(r: &mut Reader<'_>) -> Result<TaskManagerPlan, ConfigError> {
    let (flink, jvm) = match OPTIONS.path(r)? {
        Path::FineGrained => {
            let flink = derive_from_required_fine_grained(r)?;
            let keys = fine_grained_keys(r);
            let jvm = OPTIONS.jvm_from_total_flink(r, flink.total(), &keys)?;
            (flink, jvm)
        }
        Path::TotalFlink => {
            let total_flink = r.memory(&TM_TOTAL_FLINK_MEMORY)?;
            let flink = derive_from_total_flink(r, total_flink, TM_TOTAL_FLINK_MEMORY.key)?;
            let jvm = OPTIONS.jvm_from_total_flink(r, total_flink, &[TM_TOTAL_FLINK_MEMORY.key])?;
            (flink, jvm)
        }
        Path::TotalProcess => {
            let total_process = r.memory(&TM_TOTAL_PROCESS_MEMORY)?;
            let jvm = OPTIONS.jvm_from_total_process(r, total_process)?;
            // from_total_process checked metaspace + overhead <= total process.
            let total_flink = MemorySize::new(
                total_process.bytes() - jvm.metaspace.bytes() - jvm.overhead.bytes(),
            );
            let flink = derive_from_total_flink(r, total_flink, TM_TOTAL_PROCESS_MEMORY.key)?;
            (flink, jvm)
        }
    };
    let cpu_cores = cpu_cores(r)?;
    let num_task_slots = r.integer(&TM_NUM_TASK_SLOTS)?;
    let external_resources = external_resources(r);
    let segment_size = page_size(r)?;
    let memory_limit_factor = r.limit_factor(&K8S_TM_MEMORY_LIMIT_FACTOR)?;
    let total_flink = flink.total();
    let total_process = sum(
        &[total_flink, jvm.metaspace, jvm.overhead],
        &[TM_TOTAL_PROCESS_MEMORY.key],
    )?;
    Ok(TaskManagerPlan {
        total_process_memory: total_process.bytes(),
        total_flink_memory: total_flink.bytes(),
        framework_heap: flink.framework_heap.bytes(),
        task_heap: flink.task_heap.bytes(),
        framework_off_heap: flink.framework_off_heap.bytes(),
        task_off_heap: flink.task_off_heap.bytes(),
        managed: flink.managed.bytes(),
        network: flink.network.bytes(),
        jvm_metaspace: jvm.metaspace.bytes(),
        jvm_overhead: jvm.overhead.bytes(),
        segment_size,
        network_buffers: flink.network.bytes() / segment_size,
        cpu_cores,
        num_task_slots,
        external_resources,
        host: HostProfile::Jvm,
        memory_limit_factor,
        warnings: core::mem::take(&mut r.warnings),
        sources: core::mem::take(&mut r.sources),
    })
}

/// Keys that size the Total Flink Memory on the fine-grained path.
fn fine_grained_keys(r: &Reader<'_>) -> Vec<&'static str> {
    let mut keys = vec![
        TM_TASK_HEAP_MEMORY.key,
        TM_MANAGED_MEMORY_SIZE.key,
        TM_FRAMEWORK_HEAP_MEMORY.key,
        TM_FRAMEWORK_OFF_HEAP_MEMORY.key,
        TM_TASK_OFF_HEAP_MEMORY.key,
    ];
    if r.contains(&TM_TOTAL_FLINK_MEMORY) {
        keys.insert(0, TM_TOTAL_FLINK_MEMORY.key);
    }
    keys
}

/// Flink's `getCpuCores`: `taskmanager.cpu.cores`, else `taskmanager.numberOfTaskSlots`, must be
/// positive; then `new CPUResource(cores)`, whose `BigDecimal.valueOf` rejects NaN and the
/// infinities with a `NumberFormatException` (not a configuration error, so not prefixed).
fn cpu_cores(r: &mut Reader<'_>) -> Result<CpuCores, ConfigError> {
    let (cores, key, text) = if r.contains(&TM_CPU_CORES) {
        let text = r
            .config()
            .lookup(&TM_CPU_CORES)
            .map(|l| l.value.to_owned())
            .unwrap_or_default();
        let cores = r
            .config()
            .double(&TM_CPU_CORES)?
            .map_or(f64::NAN, |(v, _)| v);
        (cores, TM_CPU_CORES.key, text)
    } else {
        let slots = r
            .config()
            .integer(&TM_NUM_TASK_SLOTS)?
            .map_or(1, |(v, _)| v);
        (f64::from(slots), TM_NUM_TASK_SLOTS.key, slots.to_string())
    };
    if cores <= 0.0 {
        return Err(ConfigError::new(
            ConfigErrorKind::InvalidValue,
            format!(
                "TaskExecutors need to be started with a positive number of CPU cores. Please configure {} accordingly.",
                TM_CPU_CORES.key
            ),
        )
        .with_value(key, text)
        .with_keys([key])
        .illegal_configuration());
    }
    CpuCores::new(cores).ok_or_else(|| {
        let first = java_double_to_string(cores).chars().next().unwrap_or('N');
        ConfigError::new(
            ConfigErrorKind::InvalidValue,
            format!(
                "Character {first} is neither a decimal digit number, decimal point, nor \"e\" notation exponential mark."
            ),
        )
        .with_value(key, text)
        .with_keys([key])
    })
}

/// The configured `external-resources` list, unless it is `none` or empty (Flink's
/// `ExternalResourceUtils.getExternalResourceSet`).
fn external_resources(r: &Reader<'_>) -> Option<String> {
    let value = r
        .config()
        .lookup(&EXTERNAL_RESOURCES)?
        .value
        .trim()
        .to_owned();
    (value != "none" && !value.is_empty()).then_some(value)
}

/// Flink's `ConfigurationParserUtils.getPageSize`.
fn page_size(r: &mut Reader<'_>) -> Result<u64, ConfigError> {
    // `configuration.get(MEMORY_SEGMENT_SIZE)`: a bad value is Flink's unwrapped
    // "Could not parse value …", not a memory-configuration failure.
    let size = r.memory_get(&TM_MEMORY_SEGMENT_SIZE)?.bytes();
    let invalid = |why: String| {
        ConfigError::new(
            ConfigErrorKind::InvalidValue,
            format!(
                "Invalid configuration value for {} : {size} - {why}",
                TM_MEMORY_SEGMENT_SIZE.key
            ),
        )
        .with_keys([TM_MEMORY_SEGMENT_SIZE.key])
        .illegal_configuration()
    };
    if size > i32::MAX as u64 {
        return Err(ConfigError::new(
            ConfigErrorKind::InvalidValue,
            format!("Cannot downcast long value {size} to integer."),
        )
        .with_keys([TM_MEMORY_SEGMENT_SIZE.key]));
    }
    if size < MIN_PAGE_SIZE {
        return Err(invalid(format!(
            "Minimum memory segment size is {MIN_PAGE_SIZE}"
        )));
    }
    if !size.is_power_of_two() {
        return Err(invalid(
            "Memory segment size must be a power of 2.".to_owned(),
        ));
    }
    Ok(size)
}

fn network_range(r: &mut Reader<'_>) -> Result<RangeFraction, ConfigError> {
    read_range_fraction(
        r,
        Some((&TM_NETWORK_MEMORY_MIN, &TM_NETWORK_MEMORY_MAX)),
        &TM_NETWORK_MEMORY_FRACTION,
    )
}

/// Flink 1.20's `isUsingLegacyNetworkConfigs` (Flink 2.x never gets here with
/// `taskmanager.network.numberOfBuffers`: [`derive`] removed it).
fn is_using_legacy_network_configs(r: &Reader<'_>) -> bool {
    let any_network = r.contains(&TM_NETWORK_MEMORY_MIN)
        || r.contains(&TM_NETWORK_MEMORY_MAX)
        || r.contains(&TM_NETWORK_MEMORY_FRACTION);
    !any_network && r.contains(&TM_NETWORK_NUM_BUFFERS)
}

/// `taskmanager.network.numberOfBuffers` beside any new network option: Flink 1.20 ignores it
/// without a word (`isUsingLegacyNetworkConfigs`); the plan says so.
fn warn_if_legacy_network_ignored(r: &mut Reader<'_>) {
    let new = [
        &TM_NETWORK_MEMORY_MIN,
        &TM_NETWORK_MEMORY_MAX,
        &TM_NETWORK_MEMORY_FRACTION,
    ]
    .into_iter()
    .find(|o| r.contains(o));
    if let (Some(new), true) = (new, r.contains(&TM_NETWORK_NUM_BUFFERS)) {
        r.warn(format!(
            "'{}' is NOT applied: '{}' is set, and Flink reads the legacy number of network \
             buffers only when none of the network memory options is. Remove '{}'.",
            TM_NETWORK_NUM_BUFFERS.key, new.key, TM_NETWORK_NUM_BUFFERS.key
        ));
    }
}

/// Legacy network memory: `taskmanager.network.numberOfBuffers × segment size`.
fn legacy_network_memory(r: &mut Reader<'_>) -> Result<MemorySize, ConfigError> {
    let buffers = r.integer(&TM_NETWORK_NUM_BUFFERS)?;
    r.warn(format!(
        "'{}' sizes network memory as Flink 1.20 does; Flink 2.x no longer reads it and would \
         ignore it (plan with --flink-version 2 to see that).",
        TM_NETWORK_NUM_BUFFERS.key
    ));
    let page = page_size(r)?;
    if buffers < 0 {
        return Err(ConfigError::new(
            ConfigErrorKind::InvalidValue,
            format!(
                "The configured number of network buffers ({buffers}) must not be negative: bytes must be >= 0."
            ),
        )
        .with_keys([TM_NETWORK_NUM_BUFFERS.key]));
    }
    // |buffers| < 2^31 and page < 2^31: the product fits a long.
    Ok(MemorySize::new(buffers as u64 * page))
}

fn managed_absolute_or_fraction(
    r: &mut Reader<'_>,
    base: MemorySize,
) -> Result<MemorySize, ConfigError> {
    if r.contains(&TM_MANAGED_MEMORY_SIZE) {
        r.memory(&TM_MANAGED_MEMORY_SIZE)
    } else {
        let range = read_range_fraction(r, None, &TM_MANAGED_MEMORY_FRACTION)?;
        derive_with_fraction(r, "managed memory", base, &range)
    }
}

fn managed_key(r: &Reader<'_>) -> &'static str {
    if r.contains(&TM_MANAGED_MEMORY_SIZE) {
        TM_MANAGED_MEMORY_SIZE.key
    } else {
        TM_MANAGED_MEMORY_FRACTION.key
    }
}

/// Path A: task heap and managed memory configured; network is the rest of a configured Total
/// Flink Memory, or the inverse fraction of everything else.
fn derive_from_required_fine_grained(r: &mut Reader<'_>) -> Result<FlinkMemory, ConfigError> {
    let task_heap = r.memory(&TM_TASK_HEAP_MEMORY)?;
    let managed = r.memory(&TM_MANAGED_MEMORY_SIZE)?;
    let framework_heap = r.memory(&TM_FRAMEWORK_HEAP_MEMORY)?;
    let framework_off_heap = r.memory(&TM_FRAMEWORK_OFF_HEAP_MEMORY)?;
    let task_off_heap = r.memory(&TM_TASK_OFF_HEAP_MEMORY)?;
    let keys = fine_grained_keys(r);
    let components = [
        framework_heap,
        framework_off_heap,
        task_heap,
        task_off_heap,
        managed,
    ];
    let excluding_network = sum(&components, &keys)?;
    let network = if r.contains(&TM_TOTAL_FLINK_MEMORY) {
        let total_flink = r.memory(&TM_TOTAL_FLINK_MEMORY)?;
        network_as_remainder(r, components, excluding_network, total_flink, &keys)?
    } else if is_using_legacy_network_configs(r) {
        legacy_network_memory(r)?
    } else {
        let range = network_range(r)?;
        derive_with_inverse_fraction(r, "network memory", excluding_network, &range)?
    };
    let mut all_keys = keys.clone();
    all_keys.push(TM_NETWORK_MEMORY_FRACTION.key);
    sum(&[excluding_network, network], &all_keys)?;
    Ok(FlinkMemory {
        framework_heap,
        framework_off_heap,
        task_heap,
        task_off_heap,
        network,
        managed,
    })
}

/// Paths B and C: split a known Total Flink Memory. `total_key` is the option that sized it.
fn derive_from_total_flink(
    r: &mut Reader<'_>,
    total_flink: MemorySize,
    total_key: &'static str,
) -> Result<FlinkMemory, ConfigError> {
    let framework_heap = r.memory(&TM_FRAMEWORK_HEAP_MEMORY)?;
    let framework_off_heap = r.memory(&TM_FRAMEWORK_OFF_HEAP_MEMORY)?;
    let task_off_heap = r.memory(&TM_TASK_OFF_HEAP_MEMORY)?;
    if r.contains(&TM_TASK_HEAP_MEMORY) {
        let task_heap = r.memory(&TM_TASK_HEAP_MEMORY)?;
        let managed = managed_absolute_or_fraction(r, total_flink)?;
        let keys = [
            total_key,
            TM_TASK_HEAP_MEMORY.key,
            managed_key(r),
            TM_FRAMEWORK_HEAP_MEMORY.key,
            TM_FRAMEWORK_OFF_HEAP_MEMORY.key,
            TM_TASK_OFF_HEAP_MEMORY.key,
        ];
        let components = [
            framework_heap,
            framework_off_heap,
            task_heap,
            task_off_heap,
            managed,
        ];
        let excluding_network = sum(&components, &keys)?;
        let network = network_as_remainder(r, components, excluding_network, total_flink, &keys)?;
        Ok(FlinkMemory {
            framework_heap,
            framework_off_heap,
            task_heap,
            task_off_heap,
            network,
            managed,
        })
    } else {
        let managed = managed_absolute_or_fraction(r, total_flink)?;
        let legacy = is_using_legacy_network_configs(r);
        let network = if legacy {
            legacy_network_memory(r)?
        } else {
            let range = network_range(r)?;
            derive_with_fraction(r, "network memory", total_flink, &range)?
        };
        let network_key = if legacy {
            TM_NETWORK_NUM_BUFFERS.key
        } else {
            TM_NETWORK_MEMORY_FRACTION.key
        };
        let keys = [
            total_key,
            managed_key(r),
            network_key,
            TM_FRAMEWORK_HEAP_MEMORY.key,
            TM_FRAMEWORK_OFF_HEAP_MEMORY.key,
            TM_TASK_OFF_HEAP_MEMORY.key,
        ];
        let excluding_task_heap = sum(
            &[
                framework_heap,
                framework_off_heap,
                task_off_heap,
                managed,
                network,
            ],
            &keys,
        )?;
        if excluding_task_heap > total_flink {
            return Err(ConfigError::new(
                ConfigErrorKind::Inconsistent,
                format!(
                    "Sum of configured Framework Heap Memory ({}), Framework Off-Heap Memory ({}), Task Off-Heap Memory ({}), Managed Memory ({}) and Network Memory ({}) exceed configured Total Flink Memory ({}).",
                    framework_heap.to_human_readable(),
                    framework_off_heap.to_human_readable(),
                    task_off_heap.to_human_readable(),
                    managed.to_human_readable(),
                    network.to_human_readable(),
                    total_flink.to_human_readable()
                ),
            )
            .with_keys(keys));
        }
        let task_heap = MemorySize::new(total_flink.bytes() - excluding_task_heap.bytes());
        Ok(FlinkMemory {
            framework_heap,
            framework_off_heap,
            task_heap,
            task_off_heap,
            network,
            managed,
        })
    }
}

#[allow(clippy::too_many_arguments)]
/// Network memory as the rest of a configured Total Flink Memory once the other five Flink
/// components (`[framework heap, framework off-heap, task heap, task off-heap, managed]`, summing
/// to `excluding_network`) are taken, checked against the network options (E1, then E4/E5/E6).
fn network_as_remainder(
    r: &mut Reader<'_>,
    components: [MemorySize; 5],
    excluding_network: MemorySize,
    total_flink: MemorySize,
    keys: &[&str],
) -> Result<MemorySize, ConfigError> {
    if excluding_network > total_flink {
        return Err(exceed_without_network(components, total_flink, keys));
    }
    let network = MemorySize::new(total_flink.bytes() - excluding_network.bytes());
    sanity_check_network_wrapped(r, network, total_flink, keys)?;
    Ok(network)
}

fn exceed_without_network(
    [framework_heap, framework_off_heap, task_heap, task_off_heap, managed]: [MemorySize; 5],
    total_flink: MemorySize,
    keys: &[&str],
) -> ConfigError {
    ConfigError::new(
        ConfigErrorKind::Inconsistent,
        format!(
            "Sum of configured Framework Heap Memory ({}), Framework Off-Heap Memory ({}), Task Heap Memory ({}), Task Off-Heap Memory ({}) and Managed Memory ({}) exceed configured Total Flink Memory ({}).",
            framework_heap.to_human_readable(),
            framework_off_heap.to_human_readable(),
            task_heap.to_human_readable(),
            task_off_heap.to_human_readable(),
            managed.to_human_readable(),
            total_flink.to_human_readable()
        ),
    )
    .with_keys(keys.iter().copied())
}

/// Flink's `sanityCheckNetworkMemoryWithExplicitlySetTotalFlinkAndHeapMemory`: the network check
/// wrapped in the "network is the rest" explanation.
fn sanity_check_network_wrapped(
    r: &mut Reader<'_>,
    network: MemorySize,
    total_flink: MemorySize,
    keys: &[&str],
) -> Result<(), ConfigError> {
    sanity_check_network(r, network, total_flink).map_err(|e| {
        if e.is_illegal_configuration() {
            e.wrapped(
                "If Total Flink, Task Heap and (or) Managed Memory sizes are explicitly configured then the Network Memory size is the rest of the Total Flink memory after subtracting all other configured types of memory, but the derived Network Memory is inconsistent with its configuration.",
            )
            .with_keys(keys.iter().copied())
        } else {
            e
        }
    })
}

fn sanity_check_network(
    r: &mut Reader<'_>,
    network: MemorySize,
    total_flink: MemorySize,
) -> Result<(), ConfigError> {
    if is_using_legacy_network_configs(r) {
        let configured = legacy_network_memory(r)?;
        if configured != network {
            return Err(ConfigError::new(
                ConfigErrorKind::Inconsistent,
                format!(
                    "Derived Network Memory size ({}) does not match configured Network Memory size ({}).",
                    network.to_human_readable(),
                    configured.to_human_readable()
                ),
            )
            .with_keys([TM_NETWORK_NUM_BUFFERS.key, TM_MEMORY_SEGMENT_SIZE.key]));
        }
    } else {
        let range = network_range(r)?;
        if network > range.max || network < range.min {
            return Err(ConfigError::new(
                ConfigErrorKind::Inconsistent,
                format!(
                    "Derived Network Memory size ({}) is not in configured Network Memory range [{}, {}].",
                    network.to_human_readable(),
                    range.min.to_human_readable(),
                    range.max.to_human_readable()
                ),
            )
            .with_keys([TM_NETWORK_MEMORY_MIN.key, TM_NETWORK_MEMORY_MAX.key]));
        }
        if r.contains(&TM_NETWORK_MEMORY_FRACTION)
            && total_flink.checked_multiply(range.fraction) != Some(network)
        {
            r.warn(format!(
                "The derived Network Memory size ({}) does not match the configured Network Memory fraction ({}) from the configured Total Flink Memory size ({}). The derived Network Memory size will be used.",
                network.to_human_readable(),
                java_double_to_string(range.fraction),
                total_flink.to_human_readable()
            ));
        }
    }
    Ok(())
}
