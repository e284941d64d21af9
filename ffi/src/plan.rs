//! Making the memory plan a runtime enforces (through `membudget-model`).

use crate::error::{Error, MB_ERR_CONFIG};
use crate::options::{RoleCode, RuntimeOptions};
use membudget_allocator::Quotas;
use membudget_model::{MemoryPlan, PlanRequest, Role};

/// Segment size when the plan has none (a JobManager): Flink's default, 32 KiB.
const DEFAULT_SEGMENT_SIZE: u64 = 32 * 1024;

/// What a runtime keeps of its plan.
#[derive(Clone, Debug)]
pub(crate) struct PlanOutput {
    /// Per-category quotas and the process total.
    pub(crate) quotas: Quotas,
    /// The plan as JSON (the CLI's `--format json`).
    pub(crate) json: String,
    /// The JVM arguments of the plan.
    pub(crate) jvm_args: String,
    /// Bytes per memory segment (`taskmanager.memory.segment-size`).
    pub(crate) segment_size: u64,
    /// Managed memory bytes.
    pub(crate) managed: u64,
    /// Network buffers (`network / segment_size`).
    pub(crate) network_buffers: u64,
}

impl PlanOutput {
    /// What a runtime keeps of `plan`.
    pub(crate) fn from_plan(plan: &MemoryPlan) -> PlanOutput {
        let (segment_size, managed, network_buffers) = match plan.as_taskmanager() {
            Some(tm) => (tm.segment_size, tm.managed, tm.network_buffers),
            None => (DEFAULT_SEGMENT_SIZE, 0, 0),
        };
        PlanOutput {
            quotas: plan.quotas(),
            json: plan.to_json_string(),
            jvm_args: plan.jvm_args(),
            segment_size,
            managed,
            network_buffers,
        }
    }
}

/// Derives the plan `options` ask for, the way `membudget plan` does: ignoring the container
/// also turns off the distribution-default fallback, exactly like `--no-container`.
///
/// # Errors
/// `MB_ERR_CONFIG` with the model's message (Flink's texts, naming the keys).
pub(crate) fn make(options: &RuntimeOptions) -> Result<PlanOutput, Error> {
    let role = match options.role {
        RoleCode::TaskManager => Role::TaskManager,
        RoleCode::JobManager => Role::JobManager,
    };
    let mut request = PlanRequest::new(role)
        .container(options.container)
        .distribution_defaults(options.container)
        .environment(options.environment);
    if let Some(file) = &options.config_file {
        request = request.config_file(file.clone());
    }
    for (key, value) in &options.properties {
        request = request.property(key.clone(), value.clone());
    }
    let plan = request
        .plan()
        .map_err(|e| Error::new(MB_ERR_CONFIG, e.to_string()))?;
    Ok(PlanOutput::from_plan(&plan))
}
