//! `Deployment`: how the Flink process is started, which decides what the 1.x legacy heap
//! options mean.

use core::fmt;
use core::str::FromStr;

use crate::options::{self, ConfigOption};
use crate::Role;

/// How Flink starts the process. Flink 1.20 reads the legacy heap options
/// (`taskmanager.heap.size`/`.mb`, `jobmanager.heap.size`/`.mb`, `FLINK_TM_HEAP`,
/// `FLINK_JM_HEAP`) as a different new option per deployment:
///
/// | deployment | TaskManager legacy heap → | JobManager legacy heap → | where Flink does it |
/// |---|---|---|---|
/// | `standalone` | `taskmanager.memory.flink.size` | `jobmanager.memory.heap.size` | `BashJavaUtils` (the `bin/*.sh` scripts) |
/// | `kubernetes` | `taskmanager.memory.process.size` | `jobmanager.memory.process.size` | `AbstractContainerizedClusterClientFactory`, `ActiveResourceManagerFactory` |
/// | `yarn` | `taskmanager.memory.process.size` | `jobmanager.memory.process.size` | the same, plus `YarnClusterDescriptor` |
///
/// Flink 2.x reads none of the legacy options, so there the deployment changes nothing.
///
/// # Examples
///
/// ```
/// use membudget_model::{Deployment, Role};
///
/// assert_eq!(
///     Deployment::Kubernetes.legacy_heap_target(Role::TaskManager).key,
///     "taskmanager.memory.process.size"
/// );
/// assert_eq!("yarn".parse::<Deployment>().unwrap(), Deployment::Yarn);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Deployment {
    /// Flink's standalone scripts (`bin/taskmanager.sh`, `bin/jobmanager.sh`, docker images).
    #[default]
    Standalone,
    /// Flink's native Kubernetes integration (and the Kubernetes operator, which uses it).
    Kubernetes,
    /// YARN.
    Yarn,
}

impl Deployment {
    /// Every deployment.
    pub const ALL: [Deployment; 3] = [
        Deployment::Standalone,
        Deployment::Kubernetes,
        Deployment::Yarn,
    ];

    /// The name used on the command line and in JSON plans.
    pub const fn name(self) -> &'static str {
        match self {
            Deployment::Standalone => "standalone",
            Deployment::Kubernetes => "kubernetes",
            Deployment::Yarn => "yarn",
        }
    }

    /// The option a legacy heap value sets for `role` (when that option is not configured).
    pub const fn legacy_heap_target(self, role: Role) -> &'static ConfigOption {
        match (self, role) {
            (Deployment::Standalone, Role::TaskManager) => &options::TM_TOTAL_FLINK_MEMORY,
            (Deployment::Standalone, Role::JobManager) => &options::JM_JVM_HEAP_MEMORY,
            (_, Role::TaskManager) => &options::TM_TOTAL_PROCESS_MEMORY,
            (_, Role::JobManager) => &options::JM_TOTAL_PROCESS_MEMORY,
        }
    }
}

impl fmt::Display for Deployment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Deployment {
    type Err = ParseDeploymentError;

    /// `standalone`, `kubernetes` (or `k8s`), `yarn`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "k8s" {
            return Ok(Deployment::Kubernetes);
        }
        Deployment::ALL
            .into_iter()
            .find(|d| d.name() == s)
            .ok_or_else(|| ParseDeploymentError(s.to_owned()))
    }
}

/// A text that names no [`Deployment`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseDeploymentError(String);

impl fmt::Display for ParseDeploymentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Unknown deployment '{}': expected 'standalone', 'kubernetes' or 'yarn'.",
            self.0
        )
    }
}

impl std::error::Error for ParseDeploymentError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for d in Deployment::ALL {
            assert_eq!(d.name().parse::<Deployment>(), Ok(d));
        }
        assert_eq!("k8s".parse::<Deployment>(), Ok(Deployment::Kubernetes));
        assert!("mesos".parse::<Deployment>().is_err());
    }
}
