//! `Source`: where a configuration value came from.

use core::fmt;
use std::path::PathBuf;

/// Where a configuration value came from. Later sources override earlier ones in this order:
/// embedded defaults < config file < environment < `-D`; the container limit and the
/// distribution defaults only fill in `process.size` when nothing sizes the process.
///
/// `Display` is for the text view (`file /etc/flink/config.yaml`); [`Source::short`] and the
/// serde form are the JSON contract (`file:/etc/flink/config.yaml`).
///
/// # Examples
///
/// ```
/// use membudget_model::Source;
///
/// assert_eq!(Source::Env("MEMBUDGET_TASKMANAGER_MEMORY_PROCESS_SIZE".into()).short(),
///            "env:MEMBUDGET_TASKMANAGER_MEMORY_PROCESS_SIZE");
/// assert_eq!(Source::Default.short(), "default");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Source {
    /// Flink's embedded default for the option.
    Default,
    /// Flink's distribution default (`process.size` 1728m for a TaskManager, 1600m for a
    /// JobManager), used when nothing is configured and there is no container limit.
    DistributionDefault,
    /// A configuration file.
    File(PathBuf),
    /// An environment variable (its name).
    Env(String),
    /// A dynamic property (`-D key=value`).
    Dynamic,
    /// The container memory limit (the cgroup file it was read from).
    Container(String),
}

impl Source {
    /// The short machine-readable form used in JSON: `default`, `distribution-default`,
    /// `file:<path>`, `env:<NAME>`, `dynamic`, `container:<cgroup file>`.
    pub fn short(&self) -> String {
        match self {
            Source::Default => "default".to_owned(),
            Source::DistributionDefault => "distribution-default".to_owned(),
            Source::File(path) => format!("file:{}", path.display()),
            Source::Env(name) => format!("env:{name}"),
            Source::Dynamic => "dynamic".to_owned(),
            Source::Container(file) => format!("container:{file}"),
        }
    }

    /// Whether the value was set explicitly (anything but [`Source::Default`]).
    pub fn is_explicit(&self) -> bool {
        !matches!(self, Source::Default)
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Default => f.write_str("default"),
            Source::DistributionDefault => f.write_str("Flink distribution default"),
            Source::File(path) => write!(f, "file {}", path.display()),
            Source::Env(name) => write!(f, "environment variable {name}"),
            Source::Dynamic => f.write_str("-D"),
            Source::Container(file) => write!(f, "container limit ({file})"),
        }
    }
}

impl serde::Serialize for Source {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.short())
    }
}
