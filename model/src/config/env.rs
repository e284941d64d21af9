//! Environment variables: `MEMBUDGET_<KEY>`, Flink's `FLINK_PROPERTIES`, and the legacy
//! `FLINK_TM_HEAP` / `FLINK_JM_HEAP`.
//!
//! Within the environment layer later entries win: `FLINK_TM_HEAP`/`FLINK_JM_HEAP` <
//! `FLINK_PROPERTIES` < `MEMBUDGET_*` (the most specific). Empty variables count as unset
//! (`MEMBUDGET_X=` in a compose file means "not set"). `FLINK_PROPERTIES` holds flat
//! `key: value` lines (parsed like `flink-conf.yaml`), or nested YAML when it is indented.
//!
//! `MEMBUDGET_<KEY>` names a memory option with its key upper-cased and `.`/`-` turned into
//! `_`: `MEMBUDGET_TASKMANAGER_MEMORY_PROCESS_SIZE=2g`. Names are resolved against the known
//! keys (a test checks no two keys share a name), so the mapping is unambiguous. An unknown
//! `MEMBUDGET_*` variable is an error suggesting the closest name — except the ones other parts
//! of membudget read: `MEMBUDGET_QUOTA_*` (written by `membudget plan --format env`) and the
//! others in [`membudget_core::NON_OPTION_VARS`] (fault injection, refusal reports, where the
//! Python host finds the library).

use std::collections::HashMap;
use std::sync::OnceLock;

use membudget_core::keys::{JM_LEGACY_HEAP_MEMORY, TM_LEGACY_HEAP_MEMORY, TM_TOTAL_PROCESS_MEMORY};

use super::flink_conf::{parse_flink_conf, SkippedLine};
use super::keys::accepted_keys;
use super::nested_yaml::parse_nested_yaml;
use super::{FileFormat, RawEntry, SourceError};

/// The prefix of membudget's own option variables.
pub const ENV_PREFIX: &str = "MEMBUDGET_";
/// Flink's docker-entrypoint variable holding extra `flink-conf.yaml` lines.
pub const FLINK_PROPERTIES: &str = "FLINK_PROPERTIES";
/// Legacy (Flink 1.x `config.sh`) TaskManager heap size, mapped to `taskmanager.heap.size`.
pub const FLINK_TM_HEAP: &str = "FLINK_TM_HEAP";
/// Legacy (Flink 1.x `config.sh`) JobManager heap size, mapped to `jobmanager.heap.size`.
pub const FLINK_JM_HEAP: &str = "FLINK_JM_HEAP";

/// `MEMBUDGET_` variables that belong to other parts of membudget: never options, never errors.
fn is_reserved(name: &str) -> bool {
    membudget_core::is_non_option_var(name)
}

/// The environment variable that sets `key`: `MEMBUDGET_` + key upper-cased, `.`/`-` → `_`.
pub fn env_var_name(key: &str) -> String {
    let mut name = String::with_capacity(ENV_PREFIX.len() + key.len());
    name.push_str(ENV_PREFIX);
    name.extend(key.chars().map(|c| match c {
        '.' | '-' => '_',
        c => c.to_ascii_uppercase(),
    }));
    name
}

fn env_index() -> &'static HashMap<String, &'static str> {
    static INDEX: OnceLock<HashMap<String, &'static str>> = OnceLock::new();
    INDEX.get_or_init(|| {
        accepted_keys()
            .iter()
            .map(|k| (env_var_name(k), *k))
            .collect()
    })
}

/// The option a `MEMBUDGET_*` variable sets, if any.
pub fn key_for_env_var(name: &str) -> Option<&'static str> {
    env_index().get(name).copied()
}

/// One entry from the environment, with the variable it came from.
#[derive(Debug)]
pub(crate) struct EnvEntry {
    pub(crate) entry: RawEntry,
    pub(crate) var_name: String,
}

/// The environment's entries and the `FLINK_PROPERTIES` lines Flink skips.
pub(crate) type EnvEntries = (Vec<EnvEntry>, Vec<(String, SkippedLine)>);

/// The entries the environment contributes, in precedence order (later wins), and the
/// `FLINK_PROPERTIES` lines Flink skips (with the variable's name).
///
/// # Errors
/// An unknown `MEMBUDGET_*` variable.
pub(crate) fn env_entries(
    vars: impl IntoIterator<Item = (String, String)>,
) -> Result<EnvEntries, SourceError> {
    let mut legacy = Vec::new();
    let mut properties = Vec::new();
    let mut own: Vec<(String, String)> = Vec::new();
    let mut warnings = Vec::new();
    for (name, value) in vars {
        if value.trim().is_empty() {
            continue;
        }
        match name.as_str() {
            FLINK_TM_HEAP | FLINK_JM_HEAP => {
                let key = if name == FLINK_TM_HEAP {
                    TM_LEGACY_HEAP_MEMORY
                } else {
                    JM_LEGACY_HEAP_MEMORY
                };
                legacy.push(EnvEntry {
                    entry: RawEntry::new(key.to_owned(), value.clone()),
                    var_name: name.clone(),
                });
            }
            FLINK_PROPERTIES => {
                // Flink's docker entrypoint appends these lines to the configuration file; they
                // are flat `key: value` lines unless they are indented (nested YAML).
                let entries = if FileFormat::sniff(&value) == FileFormat::FlinkConf {
                    let (entries, skipped) = parse_flink_conf(&value);
                    warnings.extend(
                        skipped
                            .into_iter()
                            .map(|s| (FLINK_PROPERTIES.to_owned(), s)),
                    );
                    entries
                } else {
                    parse_nested_yaml(&value).map_err(|message| SourceError::Syntax {
                        origin: FLINK_PROPERTIES.to_owned(),
                        format: FileFormat::NestedYaml,
                        message,
                    })?
                };
                properties.extend(entries.into_iter().map(|entry| EnvEntry {
                    entry,
                    var_name: FLINK_PROPERTIES.to_owned(),
                }));
            }
            _ if name.starts_with(ENV_PREFIX) && !is_reserved(&name) => own.push((name, value)),
            _ => {}
        }
    }
    legacy.sort_by(|a, b| a.var_name.cmp(&b.var_name));
    own.sort();
    let mut out = legacy;
    out.extend(properties);
    for (name, value) in own {
        let Some(key) = key_for_env_var(&name) else {
            let (suggestion, key) = closest_env_var(&name);
            return Err(SourceError::UnknownEnvVar {
                name,
                suggestion,
                suggestion_key: key,
            });
        };
        out.push(EnvEntry {
            entry: RawEntry::new(key.to_owned(), value),
            var_name: name,
        });
    }
    Ok((out, warnings))
}

fn closest_env_var(name: &str) -> (String, &'static str) {
    env_index()
        .iter()
        .min_by(|a, b| {
            strsim::levenshtein(name, a.0)
                .cmp(&strsim::levenshtein(name, b.0))
                .then_with(|| a.0.cmp(b.0))
        })
        .map(|(n, k)| (n.clone(), *k))
        .unwrap_or_else(|| {
            let key = TM_TOTAL_PROCESS_MEMORY;
            (env_var_name(key), key)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn names_are_unambiguous() {
        let mut seen: HashMap<String, &str> = HashMap::new();
        for key in accepted_keys() {
            if let Some(other) = seen.insert(env_var_name(key), key) {
                panic!("{key} and {other} share {}", env_var_name(key));
            }
        }
        assert_eq!(
            env_var_name("taskmanager.memory.jvm-overhead.min"),
            "MEMBUDGET_TASKMANAGER_MEMORY_JVM_OVERHEAD_MIN"
        );
        assert_eq!(
            key_for_env_var("MEMBUDGET_TASKMANAGER_NETWORK_NUMBEROFBUFFERS"),
            Some("taskmanager.network.numberOfBuffers")
        );
    }

    #[test]
    fn order_and_sources() {
        let (entries, warnings) = env_entries(vars(&[
            ("MEMBUDGET_TASKMANAGER_MEMORY_PROCESS_SIZE", " 2g "),
            (
                "FLINK_PROPERTIES",
                "taskmanager.memory.process.size: 1g\nbad line\n",
            ),
            ("FLINK_TM_HEAP", "512m"),
            ("PATH", "/bin"),
            ("MEMBUDGET_QUOTA_HEAP", "1"),
            ("MEMBUDGET_FAULT_PROBABILITY", "network=0.1"),
            ("MEMBUDGET_JOBMANAGER_MEMORY_HEAP_SIZE", ""),
        ]))
        .unwrap();
        let got: Vec<(&str, &str, &str)> = entries
            .iter()
            .map(|e| {
                (
                    e.entry.key.as_str(),
                    e.entry.value.as_str(),
                    e.var_name.as_str(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("taskmanager.heap.size", "512m", "FLINK_TM_HEAP"),
                ("taskmanager.memory.process.size", "1g", "FLINK_PROPERTIES"),
                (
                    "taskmanager.memory.process.size",
                    " 2g ",
                    "MEMBUDGET_TASKMANAGER_MEMORY_PROCESS_SIZE"
                ),
            ]
        );
        assert_eq!(warnings.len(), 1);
        assert_eq!(warnings[0].0, "FLINK_PROPERTIES");
        assert_eq!(
            (warnings[0].1.line, warnings[0].1.text.as_str()),
            (2, "bad line")
        );
    }

    #[test]
    fn nested_flink_properties() {
        let (entries, warnings) = env_entries(vars(&[(
            "FLINK_PROPERTIES",
            "taskmanager:\n  memory:\n    process.size: 2g\n",
        )]))
        .unwrap();
        assert!(warnings.is_empty());
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].entry.key, "taskmanager.memory.process.size");
        assert_eq!(entries[0].entry.value, "2g");
        let err = env_entries(vars(&[("FLINK_PROPERTIES", "a:\n  b: [\n")])).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("Cannot parse FLINK_PROPERTIES as nested config.yaml: "),
            "{err}"
        );
    }

    #[test]
    fn unknown_own_variable_suggests_closest() {
        let err =
            env_entries(vars(&[("MEMBUDGET_TASKMANAGER_MEMORY_PROCES_SIZE", "1g")])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Unknown environment variable MEMBUDGET_TASKMANAGER_MEMORY_PROCES_SIZE: no memory \
             option is called that. Did you mean MEMBUDGET_TASKMANAGER_MEMORY_PROCESS_SIZE \
             (sets 'taskmanager.memory.process.size')?"
        );
        assert_eq!(err.key(), Some("MEMBUDGET_TASKMANAGER_MEMORY_PROCES_SIZE"));
    }
}
