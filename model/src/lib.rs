//! Flink's process memory model for membudget.
//!
//! A Flink user sizes a worker with one number — `taskmanager.memory.process.size`, say — and
//! Flink derives heap, off-heap, managed, network, metaspace and overhead from it. This crate
//! derives *exactly the same numbers* (bit for bit: Flink's `float` fractions widened to
//! `double`, its `BigDecimal` multiply, its caps and checks), fails with Flink's error texts
//! plus the keys to change, and turns the result into the five quotas the rest of membudget
//! enforces.
//!
//! ```text
//!  Configuration ──► derive(role, &config) ──► MemoryPlan ──► quotas() / jvm_args() / to_json()
//!  (key → value,       (TaskManager: 3 paths,     (bytes per component,
//!   + Source)           JobManager: 3 paths)        warnings, sources)
//! ```
//!
//! ```
//! use membudget_model::{derive, Configuration, Role, Source};
//!
//! let mut config = Configuration::new();
//! config.set("taskmanager.memory.process.size", "1536m", Source::Dynamic);
//! let plan = derive(Role::TaskManager, &config).unwrap();
//! let tm = plan.as_taskmanager().unwrap();
//! assert_eq!(tm.total_flink_memory, 1140850688);
//! assert_eq!(tm.managed, 456340282);
//! assert_eq!(tm.network, 114085070);
//! assert_eq!(tm.task_heap, 301989880);
//! ```
//!
//! [`MemorySize`], [`Role`], [`Category`] and [`Quotas`] are the shared vocabulary of
//! `membudget-core`, re-exported here; the crate depends on no runtime crate, so planning (the
//! CLI) never links the allocator.
//!
//! # Fidelity notes
//!
//! Numbers, branch selection, checks and their order follow Flink's `ProcessMemoryUtils`,
//! `TaskExecutorFlinkMemoryUtils` and `JobManagerFlinkMemoryUtils`, for Flink 1.20 and 2.x
//! ([`FlinkVersion`]) and each [`Deployment`]'s legacy heap mapping ([`derive_for`]); the CLI's
//! tests compare the JVM arguments and dynamic configs with real `BashJavaUtils` output.
//! [`ConfigError::message`] is Flink's text except that options are named by their key where
//! Flink prints `ConfigOption.toString()` (`Key: '…' , default: … (fallback keys: […])`), and
//! Flink's "… JVM Metaspace size  (…)" double space is single. Its `Display` is one line (values
//! as written, the key to change); [`ConfigError::verbose`] is Flink's layout. Conditions Flink
//! only logs (capped fractions, fraction mismatches, small JobManager heap, derived off-heap,
//! deprecated keys, legacy heap mapping) become plan warnings with Flink's log text; values a
//! source holds but the plan does not apply are warnings too ([`config::Sources`]), errors with
//! [`PlanRequest::strict`]. README's "Differences from Flink" lists where membudget is
//! deliberately stricter.
#![deny(unsafe_op_in_unsafe_fn)]

mod check;
pub mod config;
mod configuration;
mod cpu_cores;
mod deployment;
mod derive;
mod error;
mod flink_version;
mod host;
mod java_hash_map;
mod jobmanager;
mod legacy_heap;
mod limit_factor;
pub mod options;
mod plan;
mod process;
mod range_fraction;
mod reader;
mod removed;
pub mod render;
mod request;
mod shadowed;
mod slot_managed;
mod source;
mod target;
mod taskmanager;

pub use check::PlanCheckError;
pub use config::{CgroupProbe, CgroupVersion, ContainerError, ContainerLimit};
pub use configuration::{Configuration, Entry, Lookup};
pub use cpu_cores::CpuCores;
pub use deployment::{Deployment, ParseDeploymentError};
pub use derive::{derive, derive_for};
pub use error::{ConfigError, ConfigErrorKind};
pub use flink_version::{FlinkVersion, ParseFlinkVersionError};
pub use host::{HostProfile, ParseHostProfileError};
pub use limit_factor::LimitFactor;
/// The vocabulary shared with the runtime crates (`membudget-core`), re-exported so a plan's
/// types are usable with this crate alone.
pub use membudget_core::{
    Category, MemorySize, MemorySizeParseError, ParseRoleError, Quotas, Role,
};
pub use options::{ConfigOption, OptionKind};
pub use plan::{JobManagerPlan, MemoryPlan, TaskManagerPlan};
pub use request::{
    PlanRequest, Resolution, JM_DISTRIBUTION_PROCESS_SIZE, TM_DISTRIBUTION_PROCESS_SIZE,
};
pub use slot_managed::{
    compute_memory_size, fraction_rounded_down, ConsumerWeights, ManagedMemoryUseCase,
    CONSUMER_WEIGHTS_KEY, DEFAULT_CONSUMER_WEIGHTS,
};
pub use source::Source;
pub use target::FlinkTarget;
