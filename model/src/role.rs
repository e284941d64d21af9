//! `Role`: which Flink process a plan is for.

use core::fmt;
use core::str::FromStr;

use crate::error::{ConfigError, ConfigErrorKind};

/// The Flink process a memory plan is derived for.
///
/// # Examples
///
/// ```
/// use membudget_model::Role;
///
/// assert_eq!("jobmanager".parse::<Role>().unwrap(), Role::JobManager);
/// assert_eq!(Role::TaskManager.to_string(), "taskmanager");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// A TaskManager (TaskExecutor): the worker that runs tasks.
    TaskManager,
    /// A JobManager: the coordinator.
    JobManager,
}

impl Role {
    /// The lower-case name used on the command line and in JSON plans.
    pub const fn name(self) -> &'static str {
        match self {
            Role::TaskManager => "taskmanager",
            Role::JobManager => "jobmanager",
        }
    }

    /// The prefix Flink puts before this role's memory configuration errors.
    pub const fn error_prefix(self) -> &'static str {
        match self {
            Role::TaskManager => "TaskManager memory configuration failed: ",
            Role::JobManager => "JobManager memory configuration failed: ",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Role {
    type Err = ConfigError;

    /// `taskmanager` or `jobmanager` (case-insensitive).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.eq_ignore_ascii_case("taskmanager") {
            Ok(Role::TaskManager)
        } else if s.eq_ignore_ascii_case("jobmanager") {
            Ok(Role::JobManager)
        } else {
            Err(ConfigError::new(
                ConfigErrorKind::InvalidValue,
                format!("Unknown role '{s}': expected 'taskmanager' or 'jobmanager'."),
            ))
        }
    }
}
