//! The Flink network-stack options that shape a result partition's buffer pool (from Flink's
//! `NettyShuffleEnvironmentOptions`), read from the same places as the plan: configuration
//! files < `FLINK_PROPERTIES` < `-D`.
//!
//! The memory model reads only memory options, so these four keys are picked out of the same
//! parsed files (the model's [`ConfigFile`]) here.

use std::path::{Path, PathBuf};

use membudget_model::config::{ConfigFile, FileFormat, FLINK_PROPERTIES};

use crate::bench::BenchError;

/// One integer option of Flink's network stack.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShuffleOption {
    /// The key, verbatim.
    pub key: &'static str,
    /// Flink's default.
    pub default: usize,
    /// The smallest valid value.
    pub min: usize,
}

/// `taskmanager.network.memory.buffers-per-channel`: exclusive buffers per channel (outgoing
/// channels use at least 1).
pub const BUFFERS_PER_CHANNEL: ShuffleOption = ShuffleOption {
    key: "taskmanager.network.memory.buffers-per-channel",
    default: 2,
    min: 0,
};

/// `taskmanager.network.memory.floating-buffers-per-gate`: floating buffers per result
/// partition / input gate.
pub const FLOATING_BUFFERS_PER_GATE: ShuffleOption = ShuffleOption {
    key: "taskmanager.network.memory.floating-buffers-per-gate",
    default: 8,
    min: 0,
};

/// `taskmanager.network.memory.max-buffers-per-channel`: buffers one subpartition may hold
/// before its pool reports unavailable.
pub const MAX_BUFFERS_PER_CHANNEL: ShuffleOption = ShuffleOption {
    key: "taskmanager.network.memory.max-buffers-per-channel",
    default: 10,
    min: 1,
};

/// `taskmanager.network.memory.max-overdraft-buffers-per-gate`: buffers a pipelined result
/// partition may take beyond its size (Flink 1.x default).
pub const MAX_OVERDRAFT_BUFFERS_PER_GATE: ShuffleOption = ShuffleOption {
    key: "taskmanager.network.memory.max-overdraft-buffers-per-gate",
    default: 5,
    min: 0,
};

/// A value and where it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Setting {
    /// The value.
    pub value: usize,
    /// `default`, `-D`, `FLINK_PROPERTIES` or the file (and line).
    pub source: String,
}

/// The four options, resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShuffleOptions {
    /// [`BUFFERS_PER_CHANNEL`].
    pub buffers_per_channel: Setting,
    /// [`FLOATING_BUFFERS_PER_GATE`].
    pub floating_buffers_per_gate: Setting,
    /// [`MAX_BUFFERS_PER_CHANNEL`].
    pub max_buffers_per_channel: Setting,
    /// [`MAX_OVERDRAFT_BUFFERS_PER_GATE`].
    pub max_overdraft_buffers_per_gate: Setting,
}

/// One `key = value` with its origin, in precedence order.
struct Entry {
    key: String,
    value: String,
    ignore_case: bool,
    origin: String,
}

impl ShuffleOptions {
    /// Reads the options from `files` (in order), the `FLINK_PROPERTIES` text, then the `-D`
    /// arguments; later sources win.
    ///
    /// # Errors
    /// [`BenchError::Invalid`] for an unreadable file, a `-D` argument that is not
    /// `key=value`, or a value that is not an integer within the option's range.
    pub fn read(
        files: &[PathBuf],
        flink_properties: Option<&str>,
        dynamic: &[String],
    ) -> Result<ShuffleOptions, BenchError> {
        let mut entries = Vec::new();
        for path in files {
            let file = ConfigFile::load(path).map_err(|e| BenchError::Invalid(e.to_string()))?;
            entries.extend(file_entries(&file, &path.display().to_string()));
        }
        if let Some(text) = flink_properties.filter(|t| !t.trim().is_empty()) {
            let file =
                ConfigFile::parse(Path::new(FLINK_PROPERTIES), FileFormat::sniff(text), text)
                    .map_err(|e| BenchError::Invalid(e.to_string()))?;
            entries.extend(file_entries(&file, FLINK_PROPERTIES));
        }
        for argument in dynamic {
            let (key, value) = argument.split_once('=').ok_or_else(|| {
                BenchError::Invalid(format!(
                    "Invalid dynamic property '-D {argument}': expected key=value, e.g. -D \
                     {}=4",
                    BUFFERS_PER_CHANNEL.key
                ))
            })?;
            entries.push(Entry {
                key: key.trim().to_owned(),
                value: value.trim().to_owned(),
                ignore_case: false,
                origin: "-D".to_owned(),
            });
        }
        Ok(ShuffleOptions {
            buffers_per_channel: resolve(BUFFERS_PER_CHANNEL, &entries)?,
            floating_buffers_per_gate: resolve(FLOATING_BUFFERS_PER_GATE, &entries)?,
            max_buffers_per_channel: resolve(MAX_BUFFERS_PER_CHANNEL, &entries)?,
            max_overdraft_buffers_per_gate: resolve(MAX_OVERDRAFT_BUFFERS_PER_GATE, &entries)?,
        })
    }
}

fn file_entries(file: &ConfigFile, name: &str) -> Vec<Entry> {
    let ignore_case = file.format == FileFormat::AppSettingsJson;
    file.entries
        .iter()
        .map(|e| Entry {
            key: e.key.clone(),
            value: e.value.clone(),
            ignore_case,
            origin: match e.line {
                Some(line) => format!("{name}:{line}"),
                None => name.to_owned(),
            },
        })
        .collect()
}

/// The last entry for `option` (or its default), parsed and range-checked.
fn resolve(option: ShuffleOption, entries: &[Entry]) -> Result<Setting, BenchError> {
    let entry = entries.iter().rev().find(|e| {
        if e.ignore_case {
            e.key.eq_ignore_ascii_case(option.key)
        } else {
            e.key == option.key
        }
    });
    let Some(entry) = entry else {
        return Ok(Setting {
            value: option.default,
            source: "default".to_owned(),
        });
    };
    // Flink reads these as Java ints.
    let parsed = entry.value.parse::<i32>().ok();
    match parsed.and_then(|v| usize::try_from(v).ok()) {
        Some(value) if value >= option.min => Ok(Setting {
            value,
            source: entry.origin.clone(),
        }),
        _ => Err(BenchError::Invalid(format!(
            "Invalid value '{}' for '{}' ({}): expected an integer of at least {} (Flink's \
             default is {}).",
            entry.value,
            option.key,
            if entry.origin == "-D" {
                "given with -D".to_owned()
            } else {
                format!("in {}", entry.origin)
            },
            option.min,
            option.default
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dynamic(args: &[&str]) -> Result<ShuffleOptions, BenchError> {
        let args: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
        ShuffleOptions::read(&[], None, &args)
    }

    #[test]
    fn defaults_are_flinks() {
        let o = dynamic(&[]).unwrap();
        assert_eq!(o.buffers_per_channel.source, "default");
        assert_eq!(o.buffers_per_channel.value, 2);
        assert_eq!(o.floating_buffers_per_gate.value, 8);
        assert_eq!(o.max_buffers_per_channel.value, 10);
        assert_eq!(o.max_overdraft_buffers_per_gate.value, 5);
    }

    #[test]
    fn later_sources_win() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("flink-conf.yaml");
        std::fs::write(
            &path,
            "taskmanager.network.memory.buffers-per-channel: 4\n\
             taskmanager.network.memory.floating-buffers-per-gate: 16\n\
             taskmanager.network.memory.max-buffers-per-channel: 12\n",
        )
        .unwrap();
        let o = ShuffleOptions::read(
            std::slice::from_ref(&path),
            Some("taskmanager.network.memory.floating-buffers-per-gate: 32"),
            &["taskmanager.network.memory.max-buffers-per-channel=20".to_owned()],
        )
        .unwrap();
        assert_eq!(o.buffers_per_channel.value, 4);
        assert_eq!(
            o.buffers_per_channel.source,
            format!("{}:1", path.display())
        );
        assert_eq!(o.floating_buffers_per_gate.value, 32);
        assert_eq!(o.floating_buffers_per_gate.source, "FLINK_PROPERTIES:1");
        assert_eq!(o.max_buffers_per_channel.value, 20);
        assert_eq!(o.max_buffers_per_channel.source, "-D");
    }

    #[test]
    fn appsettings_keys_ignore_case() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("appsettings.json");
        std::fs::write(
            &path,
            r#"{ "TaskManager": { "Network": { "Memory": { "Buffers-Per-Channel": 3 } } } }"#,
        )
        .unwrap();
        let o = ShuffleOptions::read(&[path], None, &[]).unwrap();
        assert_eq!(o.buffers_per_channel.value, 3);
    }

    #[test]
    fn bad_values_are_errors_naming_the_key() {
        let e = dynamic(&["taskmanager.network.memory.buffers-per-channel=-1"]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Invalid value '-1' for 'taskmanager.network.memory.buffers-per-channel' (given \
             with -D): expected an integer of at least 0 (Flink's default is 2)."
        );
        let e = dynamic(&["taskmanager.network.memory.max-buffers-per-channel=0"]).unwrap_err();
        assert!(e.to_string().contains("at least 1"), "{e}");
        let e = dynamic(&["taskmanager.network.memory.floating-buffers-per-gate=lots"]);
        assert!(e.is_err());
        assert!(dynamic(&["novalue"]).is_err());
    }
}
