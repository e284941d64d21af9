//! The derivation entry point.

use crate::error::ConfigError;
use crate::plan::MemoryPlan;
use crate::{jobmanager, taskmanager, Configuration, FlinkTarget, Role};

/// Derives the memory plan of a `role` process from `config`, exactly as Flink does.
///
/// The branch is Flink's: (A) the fine-grained options (TaskManager: `task.heap.size` and
/// `managed.size`; JobManager: `heap.size`), else (B) `flink.size`, else (C) `process.size`.
/// Legacy keys (`taskmanager.heap.size`/`.mb` → `taskmanager.memory.flink.size`,
/// `jobmanager.heap.size`/`.mb` → `jobmanager.memory.heap.size`) are mapped first. Conditions
/// Flink only logs become [`MemoryPlan::warnings`].
///
/// # Errors
///
/// [`ConfigError`] with Flink's message when nothing sizes the process, a value cannot be
/// parsed, configured values are inconsistent, or a size overflows a Java `long`.
///
/// # Examples
///
/// ```
/// use membudget_model::{derive, Configuration, Role};
///
/// let config: Configuration = [("jobmanager.memory.process.size", "1600m")].into_iter().collect();
/// let plan = derive(Role::JobManager, &config).unwrap();
/// assert_eq!(plan.jvm_args(), "-Xmx1073741824 -Xms1073741824 -XX:MaxMetaspaceSize=268435456");
/// ```
pub fn derive(role: Role, config: &Configuration) -> Result<MemoryPlan, ConfigError> {
    derive_for(role, config, FlinkTarget::default())
}

/// Derives the memory plan of a `role` process from `config` as the Flink `target` does (see
/// [`FlinkVersion`](crate::FlinkVersion) and [`Deployment`](crate::Deployment) for what they
/// change: the legacy options and two error texts). [`derive()`] is Flink 1.20, standalone.
///
/// # Errors
///
/// As [`derive()`].
pub fn derive_for(
    role: Role,
    config: &Configuration,
    target: FlinkTarget,
) -> Result<MemoryPlan, ConfigError> {
    let plan = match role {
        Role::TaskManager => taskmanager::derive(config, target).map(MemoryPlan::TaskManager),
        Role::JobManager => jobmanager::derive(config, target).map(MemoryPlan::JobManager),
    }?;
    debug_assert_eq!(plan.check(), Ok(()), "derived {plan:?}");
    Ok(plan)
}
