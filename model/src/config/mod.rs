//! Configuration sources and how they are merged.
//!
//! ```text
//!  embedded defaults  <  config file  <  environment  <  -D key=value      (later wins)
//!  (options.rs)          flink-conf.yaml   FLINK_TM_HEAP/FLINK_JM_HEAP
//!                        config.yaml       FLINK_PROPERTIES
//!                        appsettings.json  MEMBUDGET_<KEY>
//!
//!  and, when nothing sizes the process, the container's cgroup memory limit (cgroup.rs)
//! ```
//!
//! Every source yields [`RawEntry`]s (`key`, `value`); [`Sources`] checks each key — memory
//! options are kept with their [`Source`](crate::Source), other keys are ignored, misspelt
//! memory keys are errors with a "did you mean" — and builds the
//! [`Configuration`](crate::Configuration) the derivation reads.

mod appsettings;
mod cgroup;
mod dynamic;
mod entry;
mod env;
mod error;
mod file;
mod flink_conf;
mod format;
mod keys;
mod nested_yaml;
mod sources;

pub use appsettings::DEFAULT_SECTION;
pub use cgroup::{CgroupProbe, CgroupVersion, ContainerError, ContainerLimit};
pub use entry::RawEntry;
pub use env::{
    env_var_name, key_for_env_var, ENV_PREFIX, FLINK_JM_HEAP, FLINK_PROPERTIES, FLINK_TM_HEAP,
};
pub use error::SourceError;
pub use file::{ConfigFile, FormatOrigin};
pub use flink_conf::SkippedLine;
pub use format::{FileFormat, UnknownFileFormat};
pub use sources::Sources;
