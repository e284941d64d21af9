//! Making the memory plan a runtime enforces (through `membudget-model`).

use crate::error::Error;
use crate::options::RuntimeOptions;
use membudget_allocator::Quotas;

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
}

/// Derives the plan `options` ask for.
///
/// # Errors
/// `MB_ERR_CONFIG` with the model's message.
pub(crate) fn make(options: &RuntimeOptions) -> Result<PlanOutput, Error> {
    // PENDING: membudget-model's PlanRequest has not landed yet; this placeholder is replaced
    // as soon as it does.
    let _ = options;
    Ok(PlanOutput {
        quotas: Quotas::unlimited(),
        json: "{}".to_string(),
        jvm_args: String::new(),
        segment_size: 32 * 1024,
    })
}
