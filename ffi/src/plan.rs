//! Making the memory plan a runtime enforces (through `membudget-model`), or taking its quotas
//! from the environment.

use crate::error::{Error, MB_ERR_CONFIG, MB_ERR_INVALID_ARGUMENT};
use crate::options::{RoleCode, RuntimeOptions};
use membudget_allocator::{Category, Quotas};
use membudget_core::quota_env_var;
use membudget_model::{MemoryPlan, PlanRequest, Role};

/// Segment size when the plan has none (a JobManager, quotas from the environment): Flink's
/// default `taskmanager.memory.segment-size`, 32 KiB.
const DEFAULT_SEGMENT_SIZE: u64 = 32 * 1024;

/// What a runtime keeps of its plan.
#[derive(Clone, Debug)]
pub(crate) struct PlanOutput {
    /// Per-category quotas and the process total.
    pub(crate) quotas: Quotas,
    /// The plan as JSON (the CLI's `--format json`); `None` without a plan.
    pub(crate) json: Option<String>,
    /// The JVM arguments of the plan; `None` without a plan.
    pub(crate) jvm_args: Option<String>,
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
            json: Some(plan.to_json_string()),
            jvm_args: Some(plan.jvm_args()),
            segment_size,
            managed,
            network_buffers,
        }
    }
}

fn role(options: &RuntimeOptions) -> Role {
    match options.role {
        RoleCode::TaskManager => Role::TaskManager,
        RoleCode::JobManager => Role::JobManager,
    }
}

/// What `options` ask for: a plan derived as `membudget plan` does, or the quotas in the
/// environment.
///
/// # Errors
/// `MB_ERR_CONFIG` with the model's message (Flink's texts, naming the keys), or naming the
/// `MEMBUDGET_QUOTA_*` variable that is malformed or missing; `MB_ERR_INVALID_ARGUMENT` when
/// `options->role` is not the environment's.
pub(crate) fn make(options: &RuntimeOptions) -> Result<PlanOutput, Error> {
    if options.quotas_from_environment {
        from_environment(role(options))
    } else {
        derive(options)
    }
}

/// Derives the plan `options` ask for, the way `membudget plan` does: ignoring the container
/// also turns off the distribution-default fallback, exactly like `--no-container`.
fn derive(options: &RuntimeOptions) -> Result<PlanOutput, Error> {
    let plan_options = &options.plan;
    let mut request = PlanRequest::new(role(options))
        .container(options.container)
        .distribution_defaults(options.container)
        .environment(options.environment)
        .flink_version(plan_options.flink_version)
        .deployment(plan_options.deployment)
        .host(plan_options.host)
        .strict(plan_options.strict);
    if let Some(format) = plan_options.config_format {
        request = request.config_format(format);
    }
    if let Some(section) = &plan_options.config_section {
        request = request.config_section(section.clone());
    }
    if let Some(file) = &options.config_file {
        request = request.config_file(file.clone());
    }
    for (key, value) in &options.properties {
        request = request.property(key.clone(), value.clone());
    }
    let plan = request.plan().map_err(|e| {
        let message = if options.verbose_errors {
            e.verbose().to_string()
        } else {
            e.to_string()
        };
        Error::new(MB_ERR_CONFIG, message)
    })?;
    Ok(PlanOutput::from_plan(&plan))
}

/// The quotas `membudget plan --format env` exported (`MEMBUDGET_QUOTA_*`), with managed memory
/// and network buffers sized by them.
fn from_environment(role: Role) -> Result<PlanOutput, Error> {
    let quotas = Quotas::from_env().map_err(|e| Error::new(MB_ERR_CONFIG, e.to_string()))?;
    if quotas.role() != role {
        return Err(Error::new(
            MB_ERR_INVALID_ARGUMENT,
            format!(
                "mb_runtime_new: options->role is {role} but MEMBUDGET_QUOTA_ROLE is {}: the \
                 quotas in the environment are for another process; set options->role to match",
                quotas.role()
            ),
        ));
    }
    let sized = |category: Category| {
        let bytes = quotas.get(category);
        if bytes == u64::MAX {
            Err(Error::new(
                MB_ERR_CONFIG,
                format!(
                    "{} is not set: a runtime whose quotas come from the environment sizes its \
                     {category} memory by it. Export what `membudget plan --format env` prints \
                     (it sets every MEMBUDGET_QUOTA_* variable), or set it (0 for none).",
                    quota_env_var(category)
                ),
            ))
        } else {
            Ok(bytes)
        }
    };
    let managed = sized(Category::Managed)?;
    let network = sized(Category::Network)?;
    Ok(PlanOutput {
        quotas,
        json: None,
        jvm_args: None,
        segment_size: DEFAULT_SEGMENT_SIZE,
        managed,
        network_buffers: network / DEFAULT_SEGMENT_SIZE,
    })
}
