//! Which keys are memory options, which are someone else's, and which are near misses.
//!
//! A real Flink configuration holds hundreds of keys; membudget reads only the memory options.
//! Every key in [`known_memory_keys`] (all of Flink's `taskmanager.memory.*` /
//! `jobmanager.memory.*` keys, used or not) and every key or deprecated key of
//! [`all_options`] (which adds the legacy `taskmanager.heap.size`, `taskmanager.network.*`,
//! the CPU keys, …) is a memory option. Other keys, in order:
//!
//! | key | class | membudget | Flink |
//! |---|---|---|---|
//! | a known key with whitespace around it (`' taskmanager.memory.process.size'`) | [`KeyClass::Padded`] | warning (error with `--strict`): not applied | not recognised |
//! | a known key plus `.more` (a YAML mapping under a scalar option, flattened) | [`KeyClass::NestedUnder`] | warning (error with `--strict`): not applied | flattened, not recognised |
//! | at most two edits from a known key, or equal ignoring case | [`KeyClass::Misspelt`] | error: "did you mean" | ignored |
//! | any other key under a memory namespace (or a near miss of one) | [`KeyClass::Unknown`] | warning (error with `--strict`): ignored | ignored |
//! | anything else (`parallelism.default`, …) | [`KeyClass::Ignored`] | ignored | not a memory option |
//!
//! So a typo of a real key stops the plan (membudget's advantage over Flink's silence), while a
//! key from a newer Flink than membudget knows only warns.

use std::collections::HashMap;
use std::sync::OnceLock;

use membudget_core::keys;

use crate::options::{all_options, known_memory_keys};

/// The memory-option namespaces. A key under one of them must be a real option.
const MEMORY_PREFIXES: [&str; 2] = [keys::TM_MEMORY_PREFIX, keys::JM_MEMORY_PREFIX];

/// What a configuration key is to membudget.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum KeyClass {
    /// A memory option (or one of its deprecated keys), with its canonical spelling.
    Memory(&'static str),
    /// Not a memory option: membudget ignores it.
    Ignored,
    /// At most two edits from a real key (or equal ignoring case); the closest real key.
    Misspelt(&'static str),
    /// A real key with whitespace around it: Flink does not recognise it.
    Padded(&'static str),
    /// A real (scalar) key followed by `.more`: a mapping under a scalar option, flattened.
    NestedUnder(&'static str),
    /// Under a memory namespace, but no option membudget knows and no near miss of one.
    Unknown,
}

/// The most edits a key may be away from a real key to be taken for a typo of it.
const MAX_TYPO_EDITS: usize = 2;

/// Every accepted key, sorted and de-duplicated.
pub(crate) fn accepted_keys() -> &'static [&'static str] {
    static KEYS: OnceLock<Vec<&'static str>> = OnceLock::new();
    KEYS.get_or_init(|| {
        let mut keys: Vec<&'static str> = known_memory_keys().to_vec();
        for option in all_options() {
            keys.push(option.key);
            keys.extend_from_slice(option.deprecated_keys);
        }
        keys.sort_unstable();
        keys.dedup();
        keys
    })
}

fn lower_case_index() -> &'static HashMap<String, &'static str> {
    static INDEX: OnceLock<HashMap<String, &'static str>> = OnceLock::new();
    INDEX.get_or_init(|| {
        accepted_keys()
            .iter()
            .map(|k| (k.to_ascii_lowercase(), *k))
            .collect()
    })
}

/// Classifies `key`. With `ignore_case` (for .NET sources) `TaskManager.Memory.Process.Size`
/// is `taskmanager.memory.process.size`.
pub(crate) fn classify(key: &str, ignore_case: bool) -> KeyClass {
    let keys = accepted_keys();
    if let Ok(i) = keys.binary_search(&key) {
        return KeyClass::Memory(keys[i]);
    }
    let lower = key.to_ascii_lowercase();
    if let Some(k) = lower_case_index().get(&lower) {
        return if ignore_case {
            KeyClass::Memory(k)
        } else {
            // Flink's keys are case-sensitive: a near miss.
            KeyClass::Misspelt(k)
        };
    }
    let probe = if ignore_case { lower.as_str() } else { key };
    let trimmed = probe.trim();
    if trimmed != probe {
        if let Some(k) = exact(trimmed, ignore_case) {
            return KeyClass::Padded(k);
        }
    }
    if let Some(k) = scalar_prefix(probe, ignore_case) {
        return KeyClass::NestedUnder(k);
    }
    let (closest, edits) = closest_key(probe);
    if edits <= MAX_TYPO_EDITS {
        KeyClass::Misspelt(closest)
    } else if looks_like_memory_key(probe) {
        KeyClass::Unknown
    } else {
        KeyClass::Ignored
    }
}

fn exact(key: &str, ignore_case: bool) -> Option<&'static str> {
    let keys = accepted_keys();
    match keys.binary_search(&key) {
        Ok(i) => Some(keys[i]),
        Err(_) if ignore_case => lower_case_index().get(&key.to_ascii_lowercase()).copied(),
        Err(_) => None,
    }
}

/// The longest real key that `key` extends with `.more`.
fn scalar_prefix(key: &str, ignore_case: bool) -> Option<&'static str> {
    key.match_indices('.')
        .rev()
        .find_map(|(i, _)| exact(&key[..i], ignore_case))
}

/// Whether `key` is an exact memory option (whose value may be a structured value that a
/// nested file format must not flatten).
pub(crate) fn is_option_key(key: &str) -> bool {
    accepted_keys().binary_search(&key).is_ok()
        || lower_case_index().contains_key(&key.to_ascii_lowercase())
}

/// Under a memory prefix, or under a near miss of one (at most two edits away, ignoring case).
fn looks_like_memory_key(key: &str) -> bool {
    MEMORY_PREFIXES.iter().any(|prefix| {
        if key == *prefix || key.strip_prefix(prefix).is_some_and(|r| r.starts_with('.')) {
            return true;
        }
        // The first two segments of the key against the prefix.
        let mut dots = key.match_indices('.').map(|(i, _)| i);
        let head = match (dots.next(), dots.next()) {
            (Some(_), Some(end)) => &key[..end],
            (Some(_), None) => key,
            _ => return false,
        };
        strsim::levenshtein(&head.to_ascii_lowercase(), prefix) <= 2
    })
}

/// The accepted key closest to `key` (Levenshtein distance, then alphabetical) and its distance.
pub(crate) fn closest_key(key: &str) -> (&'static str, usize) {
    accepted_keys()
        .iter()
        .map(|k| (*k, strsim::levenshtein(key, k)))
        .min_by_key(|(_, d)| *d)
        .unwrap_or((keys::TM_TOTAL_PROCESS_MEMORY, usize::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_keys_are_accepted() {
        for key in [
            "taskmanager.memory.process.size",
            "taskmanager.memory.managed.consumer-weights",
            "taskmanager.memory.framework.off-heap.batch-shuffle.size",
            "jobmanager.memory.enable-jvm-direct-memory-limit",
            "taskmanager.network.numberOfBuffers",
            "taskmanager.heap.size",
            "jobmanager.heap.mb",
        ] {
            assert_eq!(classify(key, false), KeyClass::Memory(key), "{key}");
        }
    }

    #[test]
    fn other_keys_are_ignored() {
        for key in [
            "parallelism.default",
            "taskmanager.rpc.port",
            "jobmanager.rpc.address",
            "taskmanager.network.memory.buffers-per-channel",
            "state.backend.type",
            "x",
        ] {
            assert_eq!(classify(key, false), KeyClass::Ignored, "{key}");
        }
    }

    #[test]
    fn typos_suggest_the_closest_key() {
        assert_eq!(
            classify("taskmanager.memory.proces.size", false),
            KeyClass::Misspelt("taskmanager.memory.process.size")
        );
        assert_eq!(
            classify("taskmanager.memroy.process.size", false),
            KeyClass::Misspelt("taskmanager.memory.process.size")
        );
        assert_eq!(
            classify("jobmanger.memory.heap.size", false),
            KeyClass::Misspelt("jobmanager.memory.heap.size")
        );
        // Too far from any key to be a typo: a key membudget does not know.
        assert_eq!(classify("taskmanager.memory", false), KeyClass::Unknown);
        assert_eq!(
            classify("taskmanager.memory.network.new-option", false),
            KeyClass::Unknown
        );
        assert_eq!(
            classify("jobmanger.memory.something-else", false),
            KeyClass::Unknown
        );
        // A typo of a key outside the memory namespaces that membudget reads.
        assert_eq!(
            classify("taskmanager.numberOfTaskSlot", false),
            KeyClass::Misspelt("taskmanager.numberOfTaskSlots")
        );
    }

    #[test]
    fn padded_and_nested_keys_are_not_the_option() {
        assert_eq!(
            classify(" taskmanager.memory.process.size", false),
            KeyClass::Padded("taskmanager.memory.process.size")
        );
        assert_eq!(
            classify("taskmanager.memory.process.size\u{a0}", false),
            KeyClass::Padded("taskmanager.memory.process.size")
        );
        assert_eq!(
            classify("taskmanager.memory.managed.fraction.a", false),
            KeyClass::NestedUnder("taskmanager.memory.managed.fraction")
        );
        assert_eq!(
            classify(
                "taskmanager.memory.managed.consumer-weights.OPERATOR",
                false
            ),
            KeyClass::NestedUnder("taskmanager.memory.managed.consumer-weights")
        );
    }

    #[test]
    fn case_is_ignored_only_when_asked() {
        assert_eq!(
            classify("TaskManager.Memory.Process.Size", true),
            KeyClass::Memory("taskmanager.memory.process.size")
        );
        assert_eq!(
            classify("taskmanager.network.numberofbuffers", true),
            KeyClass::Memory("taskmanager.network.numberOfBuffers")
        );
        // Flink's keys are case-sensitive: in a Flink file this is a near miss.
        assert_eq!(
            classify("TaskManager.Memory.Process.Size", false),
            KeyClass::Misspelt("taskmanager.memory.process.size")
        );
    }
}
