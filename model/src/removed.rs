//! The Flink 1.x memory options that Flink 2.x no longer reads.

use crate::configuration::Configuration;
use crate::options::{self, ConfigOption};
use crate::{Role, Source};

/// One role's removed options, each with what replaces it.
fn removed_options(role: Role) -> &'static [(&'static ConfigOption, &'static str)] {
    match role {
        Role::TaskManager => &[
            (
                &options::TM_LEGACY_HEAP_MEMORY,
                "'taskmanager.memory.flink.size' or 'taskmanager.memory.process.size'",
            ),
            (
                &options::TM_LEGACY_HEAP_MEMORY_MB,
                "'taskmanager.memory.flink.size' or 'taskmanager.memory.process.size'",
            ),
            (
                &options::TM_NETWORK_NUM_BUFFERS,
                "'taskmanager.memory.network.min' and 'taskmanager.memory.network.max'",
            ),
        ],
        Role::JobManager => &[
            (
                &options::JM_LEGACY_HEAP_MEMORY,
                "'jobmanager.memory.heap.size' or 'jobmanager.memory.process.size'",
            ),
            (
                &options::JM_LEGACY_HEAP_MEMORY_MB,
                "'jobmanager.memory.heap.size' or 'jobmanager.memory.process.size'",
            ),
        ],
    }
}

/// The keys of `role`'s removed options that `config` sets, each with the warning that says it
/// is ignored. A legacy heap given as `FLINK_TM_HEAP` / `FLINK_JM_HEAP` is named as that
/// variable.
pub(crate) fn ignored_by_flink_2(
    role: Role,
    config: &Configuration,
) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    for (option, replacement) in removed_options(role) {
        let Some(entry) = config.get_raw(option.key) else {
            continue;
        };
        if !entry.source.is_explicit() {
            continue;
        }
        let what = match &entry.source {
            Source::Env(var) if !var.starts_with("MEMBUDGET_") && var != "FLINK_PROPERTIES" => {
                format!("{var} ('{}')", option.key)
            }
            _ => format!("'{}'", option.key),
        };
        out.push((
            option.key,
            format!(
                "{what} is not read by Flink 2.x (removed in 2.0), so it is not applied: set \
                 {replacement} instead (or plan with --flink-version 1.20)."
            ),
        ));
    }
    out
}

/// The keys of every removed option for `role`.
pub(crate) fn removed_keys(role: Role) -> impl Iterator<Item = &'static str> {
    removed_options(role).iter().map(|(o, _)| o.key)
}
