//! `FlinkTarget`: the Flink a plan is made for — release line and deployment.

use crate::{Deployment, FlinkVersion};

/// The Flink a plan is made for: which release's semantics apply and how the process is
/// deployed (which decides what Flink 1.20's legacy heap options mean). The default is Flink
/// 1.20, standalone — what `bin/taskmanager.sh` and `bin/jobmanager.sh` compute.
///
/// # Examples
///
/// ```
/// use membudget_model::{derive_for, Configuration, Deployment, FlinkTarget, FlinkVersion, Role};
///
/// let config: Configuration = [("taskmanager.heap.size", "1g")].into_iter().collect();
/// let standalone = derive_for(Role::TaskManager, &config, FlinkTarget::default()).unwrap();
/// assert_eq!(standalone.total_flink_memory(), 1 << 30);
/// let k8s = FlinkTarget::new(FlinkVersion::V1_20, Deployment::Kubernetes);
/// assert_eq!(derive_for(Role::TaskManager, &config, k8s).unwrap().total_process_memory(), 1 << 30);
/// // Flink 2.x no longer reads taskmanager.heap.size: nothing sizes the process.
/// let v2 = FlinkTarget::new(FlinkVersion::V2, Deployment::Standalone);
/// assert!(derive_for(Role::TaskManager, &config, v2).is_err());
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct FlinkTarget {
    /// The release line.
    pub version: FlinkVersion,
    /// The deployment.
    pub deployment: Deployment,
}

impl FlinkTarget {
    /// A target of `version` deployed as `deployment`.
    pub const fn new(version: FlinkVersion, deployment: Deployment) -> FlinkTarget {
        FlinkTarget {
            version,
            deployment,
        }
    }
}
