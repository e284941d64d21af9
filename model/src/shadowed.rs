//! Deprecated keys that never apply because their option's own key is set too.

use crate::configuration::Configuration;
use crate::options::all_options;

/// A warning for each deprecated key `config` sets while an earlier key of the same option (its
/// own key, or a deprecated key before it) is set to another value: Flink reads an option's keys
/// in that order, whatever the sources' order, so a `-D` of the old key does not override the
/// new key from a file. Flink says nothing; the plan says the value is not applied.
pub(crate) fn shadowed_keys(config: &Configuration) -> Vec<String> {
    let mut out = Vec::new();
    for option in all_options() {
        let mut set = option.all_keys().filter_map(|k| {
            config
                .get_raw(k)
                .filter(|e| e.source.is_explicit())
                .map(|e| (k, e))
        });
        let Some((read, applied)) = set.next() else {
            continue;
        };
        for (key, e) in set.filter(|(_, e)| e.value != applied.value) {
            out.push(format!(
                "Key '{key}' ({}: '{}') is NOT applied: '{read}' is set too ({}: '{}'), and Flink \
                 reads an option's own key before its deprecated keys, whichever source is \
                 later. Remove '{key}', or set '{read}' to the value you want.",
                e.source, e.value, applied.source, applied.value
            ));
        }
    }
    out
}
