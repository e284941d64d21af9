//! JobManager derivation (Flink's `JobManagerProcessUtils` + `JobManagerFlinkMemoryUtils`).

use crate::error::{ConfigError, ConfigErrorKind};
use crate::legacy_heap::LegacyHeap;
use crate::options::*;
use crate::plan::JobManagerPlan;
use crate::process::{Path, ProcessOptions};
use crate::range_fraction::sum;
use crate::reader::Reader;
use crate::removed::ignored_by_flink_2;
use crate::{Configuration, Deployment, FlinkTarget, HostProfile, MemorySize, Role};

const OPTIONS: ProcessOptions = ProcessOptions {
    required_fine_grained: &[&JM_JVM_HEAP_MEMORY],
    total_flink: &JM_TOTAL_FLINK_MEMORY,
    total_process: &JM_TOTAL_PROCESS_MEMORY,
    metaspace: &JM_JVM_METASPACE,
    overhead_min: &JM_JVM_OVERHEAD_MIN,
    overhead_max: &JM_JVM_OVERHEAD_MAX,
    overhead_fraction: &JM_JVM_OVERHEAD_FRACTION,
};

/// `jobmanager.heap.size` / `.mb` / `FLINK_JM_HEAP` become the deployment's target
/// (standalone: the JVM heap; Kubernetes, YARN: `jobmanager.memory.process.size`).
fn legacy_heap(deployment: Deployment) -> LegacyHeap {
    LegacyHeap {
        target: deployment.legacy_heap_target(Role::JobManager),
        heap: &JM_LEGACY_HEAP_MEMORY,
        heap_mb: &JM_LEGACY_HEAP_MEMORY_MB,
    }
}

/// Derives a JobManager plan for `target`.
///
/// Flink 1.20 maps the legacy heap inside `processSpecFromConfigWithNewOptionToInterpretLegacyHeap`,
/// which prefixes configuration errors with `JobManager memory configuration failed: `; Flink
/// 2.x calls `processSpecFromConfig` directly: no legacy keys, no prefix.
pub(crate) fn derive(
    config: &Configuration,
    target: FlinkTarget,
) -> Result<JobManagerPlan, ConfigError> {
    let mut r = Reader::new(config);
    if target.version.reads_legacy_keys() {
        legacy_heap(target.deployment)
            .map(&mut r)
            .and_then(|()| derive_mapped(&mut r))
            .map_err(|e| e.prefixed_if_illegal_configuration(Role::JobManager.error_prefix()))
    } else {
        for (key, warning) in ignored_by_flink_2(Role::JobManager, r.config()) {
            r.warn(warning);
            r.remove(key);
        }
        derive_mapped(&mut r)
    }
}

fn derive_mapped(r: &mut Reader<'_>) -> Result<JobManagerPlan, ConfigError> {
    let (heap, off_heap, jvm) = match OPTIONS.path(r)? {
        Path::FineGrained => {
            let (heap, off_heap) = derive_from_heap(r)?;
            let mut keys = vec![JM_JVM_HEAP_MEMORY.key, JM_OFF_HEAP_MEMORY.key];
            if r.contains(&JM_TOTAL_FLINK_MEMORY) {
                keys.insert(0, JM_TOTAL_FLINK_MEMORY.key);
            }
            let total_flink = sum(&[heap, off_heap], &keys)?;
            let jvm = OPTIONS.jvm_from_total_flink(r, total_flink, &keys)?;
            (heap, off_heap, jvm)
        }
        Path::TotalFlink => {
            let total_flink = r.memory(&JM_TOTAL_FLINK_MEMORY)?;
            let (heap, off_heap) =
                derive_from_total_flink(r, total_flink, JM_TOTAL_FLINK_MEMORY.key)?;
            let jvm = OPTIONS.jvm_from_total_flink(r, total_flink, &[JM_TOTAL_FLINK_MEMORY.key])?;
            (heap, off_heap, jvm)
        }
        Path::TotalProcess => {
            let total_process = r.memory(&JM_TOTAL_PROCESS_MEMORY)?;
            let jvm = OPTIONS.jvm_from_total_process(r, total_process)?;
            let total_flink = MemorySize::new(
                total_process.bytes() - jvm.metaspace.bytes() - jvm.overhead.bytes(),
            );
            let (heap, off_heap) =
                derive_from_total_flink(r, total_flink, JM_TOTAL_PROCESS_MEMORY.key)?;
            (heap, off_heap, jvm)
        }
    };
    let jvm_direct_memory_limit = r.boolean(&JM_JVM_DIRECT_MEMORY_LIMIT_ENABLED)?;
    let memory_limit_factor = r.limit_factor(&K8S_JM_MEMORY_LIMIT_FACTOR)?;
    let total_flink = MemorySize::new(heap.bytes() + off_heap.bytes());
    let total_process = sum(
        &[total_flink, jvm.metaspace, jvm.overhead],
        &[JM_TOTAL_PROCESS_MEMORY.key],
    )?;
    Ok(JobManagerPlan {
        total_process_memory: total_process.bytes(),
        total_flink_memory: total_flink.bytes(),
        jvm_heap: heap.bytes(),
        off_heap: off_heap.bytes(),
        jvm_metaspace: jvm.metaspace.bytes(),
        jvm_overhead: jvm.overhead.bytes(),
        jvm_direct_memory_limit,
        host: HostProfile::Jvm,
        memory_limit_factor,
        warnings: core::mem::take(&mut r.warnings),
        sources: core::mem::take(&mut r.sources),
    })
}

/// Path A: the JVM heap is configured.
fn derive_from_heap(r: &mut Reader<'_>) -> Result<(MemorySize, MemorySize), ConfigError> {
    let heap = r.memory(&JM_JVM_HEAP_MEMORY)?;
    let mut off_heap = r.memory(&JM_OFF_HEAP_MEMORY)?;
    if r.contains(&JM_TOTAL_FLINK_MEMORY) {
        let total_flink = r.memory(&JM_TOTAL_FLINK_MEMORY)?;
        if r.contains(&JM_OFF_HEAP_MEMORY) {
            let keys = [
                JM_JVM_HEAP_MEMORY.key,
                JM_OFF_HEAP_MEMORY.key,
                JM_TOTAL_FLINK_MEMORY.key,
            ];
            if heap.checked_add(off_heap) != Some(total_flink) {
                return Err(ConfigError::new(
                    ConfigErrorKind::Inconsistent,
                    format!(
                        "Sum of the configured JVM Heap Memory ({}) and the configured Off-heap Memory ({}) does not match the configured Total Flink Memory ({}). Please, make the configuration consistent or configure only one option: either JVM Heap or Total Flink Memory.",
                        heap.to_human_readable(),
                        off_heap.to_human_readable(),
                        total_flink.to_human_readable()
                    ),
                )
                .with_keys(keys));
            }
        } else {
            if total_flink < heap {
                return Err(ConfigError::new(
                    ConfigErrorKind::Inconsistent,
                    format!(
                        "The configured JVM Heap Memory ({}) exceeds the configured Total Flink Memory ({}). Please, make the configuration consistent or configure only one option: either JVM Heap or Total Flink Memory.",
                        heap.to_human_readable(),
                        total_flink.to_human_readable()
                    ),
                )
                .with_keys([JM_JVM_HEAP_MEMORY.key, JM_TOTAL_FLINK_MEMORY.key]));
            }
            let default_off_heap = off_heap;
            off_heap = MemorySize::new(total_flink.bytes() - heap.bytes());
            if off_heap != default_off_heap {
                r.warn(format!(
                    "The Off-Heap Memory size ({}) is derived the configured Total Flink Memory size ({}) minus the configured JVM Heap Memory size ({}). The default Off-Heap Memory size ({}) is ignored.",
                    off_heap.to_human_readable(),
                    total_flink.to_human_readable(),
                    heap.to_human_readable(),
                    default_off_heap.to_human_readable()
                ));
            }
        }
    }
    verify_heap(r, heap);
    Ok((heap, off_heap))
}

/// Paths B and C: the heap is the Total Flink Memory minus the off-heap memory (J3).
fn derive_from_total_flink(
    r: &mut Reader<'_>,
    total_flink: MemorySize,
    total_key: &'static str,
) -> Result<(MemorySize, MemorySize), ConfigError> {
    let off_heap = r.memory(&JM_OFF_HEAP_MEMORY)?;
    if total_flink <= off_heap {
        return Err(ConfigError::new(
            ConfigErrorKind::Inconsistent,
            format!(
                "The configured Total Flink Memory ({}) is less than the configured Off-heap Memory ({}).",
                total_flink.to_human_readable(),
                off_heap.to_human_readable()
            ),
        )
        .with_keys([total_key, JM_OFF_HEAP_MEMORY.key]));
    }
    let heap = MemorySize::new(total_flink.bytes() - off_heap.bytes());
    verify_heap(r, heap);
    Ok((heap, off_heap))
}

fn verify_heap(r: &mut Reader<'_>, heap: MemorySize) {
    if heap.bytes() < JM_MIN_JVM_HEAP_SIZE {
        r.warn(format!(
            "The configured or derived JVM heap memory size ({}) is less than its recommended minimum value ({})",
            heap.to_human_readable(),
            MemorySize::new(JM_MIN_JVM_HEAP_SIZE).to_human_readable()
        ));
    }
}
