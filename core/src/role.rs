//! `Role`: which Flink process a plan, and the budget made from it, is for.

use core::fmt;
use core::str::FromStr;

use crate::keys;

/// The Flink process a memory plan is derived for.
///
/// The role decides which configuration keys size the process, so it travels with the plan's
/// [`Quotas`](crate::Quotas) into a budget: a refusal names the keys of the process at hand.
///
/// # Examples
///
/// ```
/// use membudget_core::Role;
///
/// assert_eq!("jobmanager".parse::<Role>().unwrap(), Role::JobManager);
/// assert_eq!(Role::TaskManager.to_string(), "taskmanager");
/// assert_eq!(Role::JobManager.process_size_key(), "jobmanager.memory.process.size");
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// A TaskManager (TaskExecutor): the worker that runs tasks. The default: budgets made
    /// without a plan name TaskManager keys.
    #[default]
    TaskManager,
    /// A JobManager: the coordinator.
    JobManager,
}

impl Role {
    /// Both roles.
    pub const ALL: [Role; 2] = [Role::TaskManager, Role::JobManager];

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

    /// The key of this role's Total Process Memory (what bounds the whole process).
    pub const fn process_size_key(self) -> &'static str {
        match self {
            Role::TaskManager => keys::TM_TOTAL_PROCESS_MEMORY,
            Role::JobManager => keys::JM_TOTAL_PROCESS_MEMORY,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Role {
    type Err = ParseRoleError;

    /// `taskmanager` or `jobmanager` (case-insensitive).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| ParseRoleError(s.to_owned()))
    }
}

/// A text that names no [`Role`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseRoleError(String);

impl ParseRoleError {
    /// The text that was not a role.
    pub fn text(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ParseRoleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Unknown role '{}': expected 'taskmanager' or 'jobmanager'.",
            self.0
        )
    }
}

impl std::error::Error for ParseRoleError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_case_insensitively_and_names_the_bad_text() {
        assert_eq!("TaskManager".parse::<Role>(), Ok(Role::TaskManager));
        assert_eq!("JOBMANAGER".parse::<Role>(), Ok(Role::JobManager));
        let err = "worker".parse::<Role>().unwrap_err();
        assert_eq!(err.text(), "worker");
        assert_eq!(
            err.to_string(),
            "Unknown role 'worker': expected 'taskmanager' or 'jobmanager'."
        );
        for r in Role::ALL {
            assert_eq!(r.to_string().parse::<Role>(), Ok(r));
        }
    }
}
