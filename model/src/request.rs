//! `PlanRequest`: everything that goes into a plan — role, sources, container — and the rules
//! that combine them.
//!
//! ```text
//!  Sources (file < env < -D) ──► Configuration ──┬─ sizing configured ──► derive ─► check ≤ limit
//!                                                 └─ nothing sizes it ──► process.size := cgroup
//!                                                                         limit, or 1728m / 1600m
//!                                                                         ──► derive
//! ```
//!
//! "Sizing configured" means one of the three ways to size the process is set (TaskManager:
//! `task.heap.size` + `managed.size`, `flink.size`, `process.size`, or the legacy
//! `taskmanager.heap.size(.mb)`/`FLINK_TM_HEAP`; JobManager: `heap.size`, `flink.size`,
//! `process.size`, or the legacy `jobmanager.heap.size(.mb)`/`FLINK_JM_HEAP`).

use std::path::PathBuf;

use crate::config::{ConfigFile, FileFormat, Sources};
use crate::error::ConfigErrorKind;
use crate::options::{self, ConfigOption};
use crate::removed::{ignored_by_flink_2, removed_keys};
use crate::shadowed::shadowed_keys;
use crate::{derive_for, CgroupProbe, ConfigError, Configuration, ContainerLimit, MemoryPlan};
use crate::{Deployment, FlinkTarget, FlinkVersion, HostProfile, MemorySize, Role, Source};

/// Flink's distribution default `taskmanager.memory.process.size` (`conf/config.yaml`).
pub const TM_DISTRIBUTION_PROCESS_SIZE: &str = "1728m";
/// Flink's distribution default `jobmanager.memory.process.size` (`conf/config.yaml`).
pub const JM_DISTRIBUTION_PROCESS_SIZE: &str = "1600m";

/// A dynamic property as it was given.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Property {
    /// `key=value` still to be split.
    Argument(String),
    /// Already split.
    KeyValue(String, String),
}

/// What goes into a plan, built step by step.
///
/// # Examples
///
/// ```
/// use membudget_model::{MemoryPlan, PlanRequest, Role};
///
/// let plan = PlanRequest::new(Role::TaskManager)
///     .environment(false)
///     .container(false)
///     .property("taskmanager.memory.process.size", "1536m")
///     .plan()?;
/// assert_eq!(plan.total_process_memory(), 1536 << 20);
/// # Ok::<(), membudget_model::ConfigError>(())
/// ```
#[derive(Clone, Debug)]
pub struct PlanRequest {
    role: Role,
    config_files: Vec<PathBuf>,
    properties: Vec<Property>,
    environment: bool,
    env_vars: Option<Vec<(String, String)>>,
    container: bool,
    distribution_defaults: bool,
    probe: CgroupProbe,
    target: FlinkTarget,
    host: HostProfile,
    strict: bool,
    config_format: Option<FileFormat>,
    config_section: Option<String>,
}

/// The merged configuration a plan is derived from, with what the container rule decided.
#[derive(Clone, Debug)]
pub struct Resolution {
    /// The role to plan for.
    pub role: Role,
    /// Every configured memory option with its source, after the container rule.
    pub configuration: Configuration,
    /// The container memory limit, if one was found (and detection was on).
    pub container_limit: Option<ContainerLimit>,
    /// Whether one of the role's sizing options was configured by the user.
    pub sizing_configured: bool,
    /// Things the plan should mention: skipped lines, a cgroup file that could not be read.
    pub warnings: Vec<String>,
    /// The Flink the plan is made for.
    pub target: FlinkTarget,
    /// The host profile the plan's quotas are drawn for.
    pub host: HostProfile,
}

impl PlanRequest {
    /// A request for `role` that reads the process environment and the container limit.
    pub fn new(role: Role) -> PlanRequest {
        PlanRequest {
            role,
            config_files: Vec::new(),
            properties: Vec::new(),
            environment: true,
            env_vars: None,
            container: true,
            distribution_defaults: true,
            probe: CgroupProbe::system(),
            target: FlinkTarget::default(),
            host: HostProfile::Jvm,
            strict: false,
            config_format: None,
            config_section: None,
        }
    }

    /// Plans with the semantics of this Flink release line (default: 1.20; see
    /// [`FlinkVersion`]).
    #[must_use]
    pub fn flink_version(mut self, version: FlinkVersion) -> PlanRequest {
        self.target.version = version;
        self
    }

    /// Plans for this deployment (default: standalone; see [`Deployment`]).
    #[must_use]
    pub fn deployment(mut self, deployment: Deployment) -> PlanRequest {
        self.target.deployment = deployment;
        self
    }

    /// Draws the quotas for this host (default: `jvm`; see [`HostProfile`]).
    #[must_use]
    pub fn host(mut self, host: HostProfile) -> PlanRequest {
        self.host = host;
        self
    }

    /// Makes every value that would not be applied an error instead of a warning: a file
    /// without memory options, a skipped line holding a memory key, a memory key membudget
    /// does not know, a key with whitespace around it, a mapping under a scalar option, a legacy
    /// option Flink 2.x no longer reads. Off by default.
    #[must_use]
    pub fn strict(mut self, strict: bool) -> PlanRequest {
        self.strict = strict;
        self
    }

    /// Reads every configuration file as `format`, whatever its name (by default the format
    /// comes from a conventional name — `flink-conf.yaml`, `config.yaml`, `*.json` — and is
    /// otherwise guessed from the content, with a warning saying so).
    #[must_use]
    pub fn config_format(mut self, format: FileFormat) -> PlanRequest {
        self.config_format = Some(format);
        self
    }

    /// Reads this section of `appsettings.json` files (`Outer:Inner` for a nested one; case is
    /// ignored) instead of the conventional top-level `"Flink"` section (or the whole document
    /// when there is none).
    #[must_use]
    pub fn config_section(mut self, section: impl Into<String>) -> PlanRequest {
        self.config_section = Some(section.into());
        self
    }

    /// Reads a configuration file (flat `flink-conf.yaml`, nested `config.yaml` or
    /// `appsettings.json`; see [`FileFormat`](crate::config::FileFormat)). Several files are
    /// read in order, later ones winning.
    #[must_use]
    pub fn config_file(mut self, path: impl Into<PathBuf>) -> PlanRequest {
        self.config_files.push(path.into());
        self
    }

    /// A dynamic property (`-D key=value`), the highest-precedence source.
    #[must_use]
    pub fn property(mut self, key: impl Into<String>, value: impl Into<String>) -> PlanRequest {
        self.properties
            .push(Property::KeyValue(key.into(), value.into()));
        self
    }

    /// A dynamic property as written after `-D` (`key=value`), split when the plan is made.
    #[must_use]
    pub fn dynamic_property(mut self, argument: impl Into<String>) -> PlanRequest {
        self.properties.push(Property::Argument(argument.into()));
        self
    }

    /// Whether to read the environment (`MEMBUDGET_*`, `FLINK_PROPERTIES`, `FLINK_TM_HEAP`,
    /// `FLINK_JM_HEAP`). On by default.
    #[must_use]
    pub fn environment(mut self, read: bool) -> PlanRequest {
        self.environment = read;
        self
    }

    /// Uses these variables as the environment instead of the process's (for tests and hosts
    /// that pass their own). Implies [`environment(true)`](Self::environment).
    #[must_use]
    pub fn env_vars<I, K, V>(mut self, vars: I) -> PlanRequest
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        self.env_vars = Some(
            vars.into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        );
        self.environment = true;
        self
    }

    /// Whether to detect the container (cgroup) memory limit. On by default.
    #[must_use]
    pub fn container(mut self, detect: bool) -> PlanRequest {
        self.container = detect;
        self
    }

    /// Whether a request that configures nothing (and finds no container limit) falls back to
    /// Flink's distribution default process size (1728m / 1600m). On by default; off gives
    /// Flink's own behaviour, the "Either required fine-grained memory ... need to be configured
    /// explicitly" error.
    #[must_use]
    pub fn distribution_defaults(mut self, fall_back: bool) -> PlanRequest {
        self.distribution_defaults = fall_back;
        self
    }

    /// Reads cgroup information below these roots instead of `/proc` and `/` (see
    /// [`CgroupProbe::with_roots`]).
    #[must_use]
    pub fn cgroup_roots(
        mut self,
        proc_root: impl Into<PathBuf>,
        fs_root: impl Into<PathBuf>,
    ) -> PlanRequest {
        self.probe = CgroupProbe::with_roots(proc_root, fs_root);
        self
    }

    /// Uses this probe for the container limit (e.g. with a fixed physical memory size).
    #[must_use]
    pub fn cgroup_probe(mut self, probe: CgroupProbe) -> PlanRequest {
        self.probe = probe;
        self
    }

    /// The role this request plans for.
    pub fn role(&self) -> Role {
        self.role
    }

    /// Merges the sources and applies the container rule, without deriving.
    ///
    /// # Errors
    /// A file that cannot be read or parsed, a misspelt memory key, an unknown `MEMBUDGET_*`
    /// variable, or a `-D` argument that is not `key=value`.
    pub fn resolve(&self) -> Result<Resolution, ConfigError> {
        let mut sources = Sources::new();
        let mut version_notes = Vec::new();
        for path in &self.config_files {
            let file =
                ConfigFile::load_with(path, self.config_format, self.config_section.as_deref())?;
            if self.target.version == FlinkVersion::V2 && file.format == FileFormat::FlinkConf {
                version_notes.push(format!(
                    "Flink 2.x reads only config.yaml (standard YAML), never a flat \
                     flink-conf.yaml; membudget reads {} as flat flink-conf.yaml because you gave \
                     it (migrate it with Flink's bin/migrate-config-file.sh).",
                    path.display()
                ));
            }
            sources.add_file(&file)?;
        }
        if self.environment {
            match &self.env_vars {
                Some(vars) => sources.add_env(vars.iter().cloned())?,
                None => sources
                    .add_env(std::env::vars_os().filter_map(|(k, v)| {
                        Some((k.into_string().ok()?, v.into_string().ok()?))
                    }))?,
            }
        }
        for property in &self.properties {
            match property {
                Property::Argument(arg) => sources.add_dynamic(arg)?,
                Property::KeyValue(k, v) => sources.add_property(k, v)?,
            }
        }
        let mut configuration = sources.to_configuration();
        let mut warnings = version_notes;
        warnings.extend(sources.warnings().iter().cloned());
        let mut not_applied = sources.not_applied().to_vec();
        let shadowed = shadowed_keys(&configuration);
        warnings.extend(shadowed.iter().cloned());
        not_applied.extend(shadowed);
        if self.target.version == FlinkVersion::V2 {
            not_applied.extend(
                ignored_by_flink_2(self.role, &configuration)
                    .into_iter()
                    .map(|(_, warning)| warning),
            );
        }
        if self.strict {
            if let Some(first) = not_applied.first() {
                let more = match not_applied.len() {
                    1 => String::new(),
                    n => format!(" ({} more like it)", n - 1),
                };
                return Err(ConfigError::new(
                    ConfigErrorKind::NotApplied,
                    format!("{first}{more} (--strict: a value that is not applied is an error)"),
                ));
            }
        }

        let container_limit = if self.container {
            match self.probe.detect() {
                Ok(limit) => limit,
                Err(e) => {
                    warnings.push(format!(
                        "Container memory limit not detected: {e} (or set '{}').",
                        self.role.process_size_key()
                    ));
                    None
                }
            }
        } else {
            None
        };

        let sizing_configured = sizing_configured(self.role, &configuration, self.target.version);
        if !sizing_configured {
            let key = process_size_option(self.role).key;
            match &container_limit {
                Some(limit) => configuration.set(
                    key,
                    limit.bytes.to_string(),
                    Source::Container(limit.file.display().to_string()),
                ),
                None if self.distribution_defaults => configuration.set(
                    key,
                    distribution_process_size(self.role),
                    Source::DistributionDefault,
                ),
                None => {}
            }
        }
        Ok(Resolution {
            role: self.role,
            configuration,
            container_limit,
            sizing_configured,
            warnings,
            target: self.target,
            host: self.host,
        })
    }

    /// Merges the sources, applies the container rule and derives the plan.
    ///
    /// # Errors
    /// Everything [`resolve`](Self::resolve) reports, every derivation error (Flink's texts),
    /// and a configured plan whose total process memory exceeds the container limit.
    pub fn plan(&self) -> Result<MemoryPlan, ConfigError> {
        self.resolve()?.plan()
    }
}

impl Resolution {
    /// Derives the plan and checks it against the container limit.
    ///
    /// # Errors
    /// Every derivation error, and a plan whose total process memory exceeds the container
    /// limit ("would be OOM-killed").
    pub fn plan(&self) -> Result<MemoryPlan, ConfigError> {
        let mut plan = derive_for(self.role, &self.configuration, self.target)
            .map_err(|e| self.explain_implicit_size(e))?
            .with_host(self.host);
        if let Some(limit) = &self.container_limit {
            let total = plan.total_process_memory();
            if total > limit.bytes {
                return Err(over_limit_error(
                    self.role,
                    &self.configuration,
                    total,
                    limit,
                ));
            }
        }
        for w in &self.warnings {
            plan.add_warning(w.clone());
        }
        Ok(plan)
    }

    /// When the process size was not configured but filled in (container limit, distribution
    /// default), a derivation error about it would name a value the user never wrote: say
    /// where it came from and how to override it.
    fn explain_implicit_size(&self, error: ConfigError) -> ConfigError {
        let key = process_size_option(self.role).key;
        // Only an error about sizes involves the filled-in process size (not, say, a fraction
        // outside [0, 1)).
        if !error.keys().iter().any(|k| k == key) {
            return error;
        }
        let note = match self.configuration.get_raw(key).map(|e| &e.source) {
            Some(Source::Container(file)) => format!(
                "(Total Process Memory was taken from the container memory limit in {file}; set \
                 '{key}' or raise the container limit.)"
            ),
            Some(Source::DistributionDefault) => format!(
                "(Total Process Memory is Flink's distribution default {}; set '{key}'.)",
                distribution_process_size(self.role)
            ),
            _ => return error,
        };
        error.with_note(&note)
    }
}

fn process_size_option(role: Role) -> &'static ConfigOption {
    match role {
        Role::TaskManager => &options::TM_TOTAL_PROCESS_MEMORY,
        Role::JobManager => &options::JM_TOTAL_PROCESS_MEMORY,
    }
}

fn distribution_process_size(role: Role) -> &'static str {
    match role {
        Role::TaskManager => TM_DISTRIBUTION_PROCESS_SIZE,
        Role::JobManager => JM_DISTRIBUTION_PROCESS_SIZE,
    }
}

/// The options that size a process on their own (the fine-grained pair counts only together).
fn sizing_options(role: Role) -> &'static [&'static ConfigOption] {
    match role {
        Role::TaskManager => &[
            &options::TM_TOTAL_PROCESS_MEMORY,
            &options::TM_TOTAL_FLINK_MEMORY,
            &options::TM_LEGACY_HEAP_MEMORY,
            &options::TM_LEGACY_HEAP_MEMORY_MB,
        ],
        Role::JobManager => &[
            &options::JM_TOTAL_PROCESS_MEMORY,
            &options::JM_TOTAL_FLINK_MEMORY,
            &options::JM_JVM_HEAP_MEMORY,
            &options::JM_LEGACY_HEAP_MEMORY,
            &options::JM_LEGACY_HEAP_MEMORY_MB,
        ],
    }
}

/// Whether `config` sizes a `role` process for `version` (Flink 2.x does not read the legacy
/// heap options, so they size nothing there).
fn sizing_configured(role: Role, config: &Configuration, version: FlinkVersion) -> bool {
    let fine_grained = role == Role::TaskManager
        && config.contains(&options::TM_TASK_HEAP_MEMORY)
        && config.contains(&options::TM_MANAGED_MEMORY_SIZE);
    fine_grained
        || sizing_options(role).iter().any(|o| {
            config.contains(o)
                && (version.reads_legacy_keys() || !removed_keys(role).any(|k| k == o.key))
        })
}

fn over_limit_error(
    role: Role,
    config: &Configuration,
    total: u64,
    limit: &ContainerLimit,
) -> ConfigError {
    let mut keys: Vec<&'static str> = sizing_options(role)
        .iter()
        .filter(|o| config.contains(o))
        .map(|o| o.key)
        .collect();
    if role == Role::TaskManager && keys.is_empty() {
        keys.extend([
            options::TM_TASK_HEAP_MEMORY.key,
            options::TM_MANAGED_MEMORY_SIZE.key,
        ]);
    }
    let process_key = process_size_option(role).key;
    let message = format!(
        "{}The configured Total Process Memory ({}) exceeds the container memory limit ({}, from \
         {} {}): the process would be OOM-killed. Lower {}, or remove the sizing options to \
         derive '{process_key}' from the container limit.",
        role.error_prefix(),
        MemorySize::from(total).to_human_readable(),
        MemorySize::from(limit.bytes).to_human_readable(),
        limit.version,
        limit.file.display(),
        keys.iter()
            .map(|k| format!("'{k}'"))
            .collect::<Vec<_>>()
            .join(" / "),
    );
    ConfigError::new(ConfigErrorKind::ContainerLimit, message).with_keys(keys)
}
