//! `mb_runtime_options`: how a host asks for a runtime, read defensively from C memory.

use crate::call::Call;
use crate::error::Error;
use crate::struct_size::{fields, Fields};
use core::ffi::{c_char, CStr};
use membudget_model::config::FileFormat;
use membudget_model::{Deployment, FlinkVersion, HostProfile};
use std::path::PathBuf;

/// Role: a TaskManager plan (the default).
pub const MB_ROLE_TASKMANAGER: u32 = 0;
/// Role: a JobManager plan.
pub const MB_ROLE_JOBMANAGER: u32 = 1;

/// Flag: install the plan's quotas into the process-wide budget (the one the Rust global
/// allocator and every pool charge by default) and charge it, instead of an isolated budget
/// owned by the runtime. One live runtime at a time may: another with this flag is refused
/// (`MB_ERR_INVALID_ARGUMENT`) until the first is freed, as it would replace its quotas.
pub const MB_RUNTIME_GLOBAL_BUDGET: u32 = 1;

/// Flink version: plan with Flink 1.20's semantics (the default).
pub const MB_FLINK_1_20: u32 = 0;
/// Flink version: plan with Flink 2.x's semantics (2.0 to 2.3: the removed legacy keys are not
/// applied).
pub const MB_FLINK_2: u32 = 1;

/// Deployment: Flink's standalone scripts (the default; legacy heap keys map to the Flink or
/// heap size).
pub const MB_DEPLOYMENT_STANDALONE: u32 = 0;
/// Deployment: native Kubernetes (legacy heap keys map to the process size).
pub const MB_DEPLOYMENT_KUBERNETES: u32 = 1;
/// Deployment: YARN (legacy heap keys map to the process size).
pub const MB_DEPLOYMENT_YARN: u32 = 2;

/// Host profile: a JVM (the default): Flink's quotas as they are.
pub const MB_HOST_JVM: u32 = 0;
/// Host profile: a .NET runtime (the heap quota is the GC heap's hard limit).
pub const MB_HOST_DOTNET: u32 = 1;
/// Host profile: a native process (no metaspace: its share moves to the heap quota).
pub const MB_HOST_NATIVE: u32 = 2;

/// Config file format: from a conventional file name (`flink-conf.yaml`, `config.yaml`,
/// `*.json`), else guessed from the content with a plan warning saying so (the default).
pub const MB_CONFIG_FORMAT_AUTO: u32 = 0;
/// Config file format: Flink's flat `flink-conf.yaml`.
pub const MB_CONFIG_FORMAT_FLINK_CONF: u32 = 1;
/// Config file format: Flink 1.19+/2.x nested `config.yaml`.
pub const MB_CONFIG_FORMAT_CONFIG_YAML: u32 = 2;
/// Config file format: .NET `appsettings.json`.
pub const MB_CONFIG_FORMAT_JSON: u32 = 3;

/// Quota source: derive the plan from the options and enforce its quotas (the default).
pub const MB_QUOTAS_FROM_PLAN: u32 = 0;
/// Quota source: enforce the `MEMBUDGET_QUOTA_*` variables of the process environment (what
/// `membudget plan --format env` exports); no plan is derived (see `mb_runtime_options`).
pub const MB_QUOTAS_FROM_ENVIRONMENT: u32 = 1;

/// Options for `mb_runtime_new`. A zero-initialised struct with `struct_size` set is the
/// default: a TaskManager plan from Flink's defaults with Flink 1.20's semantics for a JVM in a
/// standalone deployment, the container limit applied, the process environment ignored, values
/// that are not applied reported as plan warnings, one-line errors, an isolated budget.
///
/// Fields past `struct_size` (a host compiled against an older, shorter struct) keep their
/// defaults, so the struct can grow. `struct_size` must end on a field (a size that cuts one
/// is refused); a larger size (a newer host) is accepted if the bytes this library does not
/// know are zero. The fields from `config_section` on are ABI 1.1.
///
/// With `quota_source = MB_QUOTAS_FROM_ENVIRONMENT` no plan is derived: the runtime enforces the
/// `MEMBUDGET_QUOTA_*` variables, its managed memory is `MEMBUDGET_QUOTA_MANAGED` bytes and its
/// network buffers split `MEMBUDGET_QUOTA_NETWORK` into Flink's default 32 KiB segments (both
/// variables must be set; `MEMBUDGET_QUOTA_ROLE` must match `role`). Every plan option must
/// then keep its default (it would not be applied), and `mb_plan_json`/`mb_jvm_args` answer
/// `MB_ERR_UNAVAILABLE`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct mb_runtime_options {
    /// `sizeof(mb_runtime_options)` as the host knows it.
    pub struct_size: u32,
    /// `MB_ROLE_TASKMANAGER` (0) or `MB_ROLE_JOBMANAGER` (1).
    pub role: u32,
    /// Path of a `flink-conf.yaml`, `config.yaml` or `appsettings.json`, UTF-8, or NULL.
    pub config_file: *const c_char,
    /// `properties_len` NUL-terminated UTF-8 strings `key=value` (like `-D key=value`), or NULL.
    pub properties: *const *const c_char,
    /// Number of entries in `properties`.
    pub properties_len: u32,
    /// 0: apply the container (cgroup) memory limit rule; 1: ignore any container limit.
    pub ignore_container: u32,
    /// 0: ignore the process environment; 1: read `MEMBUDGET_*`, `FLINK_PROPERTIES`,
    /// `FLINK_TM_HEAP`/`FLINK_JM_HEAP` like the CLI does.
    pub use_environment: u32,
    /// Bit set of `MB_RUNTIME_*` flags.
    pub flags: u32,
    /// The section of `appsettings*.json` to read (`Outer:Inner` for a nested one; case is
    /// ignored), UTF-8, or NULL for the conventional top-level `"Flink"` section (or the whole
    /// document when there is none).
    pub config_section: *const c_char,
    /// How to read `config_file`: `MB_CONFIG_FORMAT_*` (0: by its name, else guessed).
    pub config_format: u32,
    /// `MB_FLINK_1_20` (0) or `MB_FLINK_2` (1): whose semantics the plan follows.
    pub flink_version: u32,
    /// `MB_DEPLOYMENT_*` (0: standalone): how legacy heap keys are mapped.
    pub deployment: u32,
    /// `MB_HOST_*` (0: JVM): how the five quotas are drawn for the runtime enforcing them.
    pub host: u32,
    /// 1: a value that would not be applied (a file without memory options, a skipped line, an
    /// unknown memory key, a key Flink 2.x ignores) fails with `MB_ERR_CONFIG`; 0: it is a plan
    /// warning (see `mb_plan_json`).
    pub strict: u32,
    /// 1: configuration errors in Flink's layout (the message, `Caused by:` lines, the keys to
    /// change); 0: one line.
    pub verbose_errors: u32,
    /// `MB_QUOTAS_FROM_PLAN` (0) or `MB_QUOTAS_FROM_ENVIRONMENT` (1).
    pub quota_source: u32,
    /// Must be 0 (it keeps the struct free of padding and is kept for a later field).
    pub reserved: u32,
}

const _: () = assert!(core::mem::size_of::<mb_runtime_options>() == 80);

/// The fields of `mb_runtime_options`, in order (checked to tile the struct).
const FIELDS: &Fields = fields!(mb_runtime_options {
    struct_size,
    role,
    config_file,
    properties,
    properties_len,
    ignore_container,
    use_environment,
    flags,
    config_section,
    config_format,
    flink_version,
    deployment,
    host,
    strict,
    verbose_errors,
    quota_source,
    reserved,
});

impl Default for mb_runtime_options {
    fn default() -> Self {
        mb_runtime_options {
            struct_size: core::mem::size_of::<mb_runtime_options>() as u32,
            role: MB_ROLE_TASKMANAGER,
            config_file: core::ptr::null(),
            properties: core::ptr::null(),
            properties_len: 0,
            ignore_container: 0,
            use_environment: 0,
            flags: 0,
            config_section: core::ptr::null(),
            config_format: MB_CONFIG_FORMAT_AUTO,
            flink_version: MB_FLINK_1_20,
            deployment: MB_DEPLOYMENT_STANDALONE,
            host: MB_HOST_JVM,
            strict: 0,
            verbose_errors: 0,
            quota_source: MB_QUOTAS_FROM_PLAN,
            reserved: 0,
        }
    }
}

/// Which plan to make.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RoleCode {
    /// TaskManager.
    TaskManager,
    /// JobManager.
    JobManager,
}

/// `mb_runtime_options` read and validated into Rust values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RuntimeOptions {
    pub(crate) role: RoleCode,
    pub(crate) config_file: Option<PathBuf>,
    pub(crate) properties: Vec<(String, String)>,
    pub(crate) container: bool,
    pub(crate) environment: bool,
    pub(crate) global_budget: bool,
    pub(crate) plan: PlanOptions,
    pub(crate) verbose_errors: bool,
    pub(crate) quotas_from_environment: bool,
}

/// The plan options of ABI 1.1, as the model takes them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct PlanOptions {
    pub(crate) config_section: Option<String>,
    pub(crate) config_format: Option<FileFormat>,
    pub(crate) flink_version: FlinkVersion,
    pub(crate) deployment: Deployment,
    pub(crate) host: HostProfile,
    pub(crate) strict: bool,
}

/// Most `key=value` properties accepted (a guard against garbage lengths).
const MAX_PROPERTIES: u32 = 4096;

impl RuntimeOptions {
    /// Reads `options` (NULL = defaults).
    ///
    /// # Errors
    /// `MB_ERR_INVALID_ARGUMENT` naming the field and value that is wrong.
    ///
    /// # Safety
    /// `options` is NULL or points to `struct_size` readable bytes laid out as
    /// `mb_runtime_options` (as far as they go); its strings are NUL-terminated and its
    /// `properties` array has `properties_len` readable entries.
    ///
    /// `struct_size` is checked (see `struct_size.rs`): at least 8, whole fields only.
    pub(crate) unsafe fn read(
        call: Call,
        options: *const mb_runtime_options,
    ) -> Result<Self, Error> {
        let mut o = mb_runtime_options::default();
        if !options.is_null() {
            // SAFETY: at least the leading `struct_size` field is readable per the contract.
            let size = unsafe { options.cast::<u32>().read_unaligned() } as usize;
            let n = FIELDS.known_bytes(call, "options", size, 2)?;
            // SAFETY: the caller's struct has `size` readable bytes per the contract.
            unsafe { FIELDS.check_unknown_zero(call, "options", options.cast(), size) }?;
            // SAFETY: the caller's struct has `size >= n` readable bytes; `o` has `n` writable
            // bytes; they do not overlap (`o` is a local). `n` ends on a field, so only whole
            // fields are copied: every bit pattern of the integer fields is valid, and the
            // pointers are the host's whole pointers, used as the contract allows.
            unsafe {
                core::ptr::copy_nonoverlapping(
                    options.cast::<u8>(),
                    (&mut o as *mut mb_runtime_options).cast::<u8>(),
                    n,
                )
            };
        }
        let role = match o.role {
            MB_ROLE_TASKMANAGER => RoleCode::TaskManager,
            MB_ROLE_JOBMANAGER => RoleCode::JobManager,
            r => {
                return Err(Error::invalid(format!(
                    "mb_runtime_new: options->role is {r}; use 0 (MB_ROLE_TASKMANAGER) or 1 \
                     (MB_ROLE_JOBMANAGER)"
                )))
            }
        };
        let config_file = if o.config_file.is_null() {
            None
        } else {
            // SAFETY: non-null and NUL-terminated per the contract.
            let s = unsafe { utf8(o.config_file, "options->config_file")? };
            Some(PathBuf::from(s))
        };
        if o.properties_len > MAX_PROPERTIES {
            return Err(Error::invalid(format!(
                "mb_runtime_new: options->properties_len is {}; at most {MAX_PROPERTIES} \
                 properties are accepted",
                o.properties_len
            )));
        }
        if o.properties_len > 0 && o.properties.is_null() {
            return Err(Error::null("mb_runtime_new", "options->properties"));
        }
        let mut properties = Vec::with_capacity(o.properties_len as usize);
        for i in 0..o.properties_len as usize {
            // SAFETY: the array has `properties_len` readable entries per the contract.
            let p = unsafe { o.properties.wrapping_add(i).read() };
            if p.is_null() {
                return Err(Error::null(
                    "mb_runtime_new",
                    &format!("options->properties[{i}]"),
                ));
            }
            // SAFETY: non-null and NUL-terminated per the contract.
            let s = unsafe { utf8(p, "options->properties[i]")? };
            let Some((k, v)) = s.split_once('=') else {
                return Err(Error::invalid(format!(
                    "mb_runtime_new: options->properties[{i}] is '{s}'; expected 'key=value'"
                )));
            };
            // Exactly as given, like Flink's -D: a key with whitespace around it is not the
            // option (the plan says so), never silently trimmed into it.
            properties.push((k.to_string(), v.to_string()));
        }
        let known = MB_RUNTIME_GLOBAL_BUDGET;
        if o.flags & !known != 0 {
            return Err(Error::invalid(format!(
                "mb_runtime_new: options->flags {:#x} has unknown bits {:#x}",
                o.flags,
                o.flags & !known
            )));
        }
        // SAFETY: `o`'s strings are NUL-terminated per this function's contract.
        let plan = unsafe { PlanOptions::read(&o) }?;
        let quotas_from_environment = match o.quota_source {
            MB_QUOTAS_FROM_PLAN => false,
            MB_QUOTAS_FROM_ENVIRONMENT => true,
            v => return Err(out_of_range("quota_source", v, QUOTA_SOURCES)),
        };
        if o.reserved != 0 {
            return Err(out_of_range("reserved", o.reserved, "0"));
        }
        let options = RuntimeOptions {
            role,
            config_file,
            properties,
            // 0/1 switches: any other value is garbage, never read as "on".
            container: !switch("ignore_container", o.ignore_container)?,
            environment: switch("use_environment", o.use_environment)?,
            global_budget: o.flags & MB_RUNTIME_GLOBAL_BUDGET != 0,
            plan,
            verbose_errors: switch("verbose_errors", o.verbose_errors)?,
            quotas_from_environment,
        };
        if quotas_from_environment {
            options.check_no_plan_options()?;
        }
        if options.config_file.is_none() {
            let field = if options.plan.config_section.is_some() {
                Some("config_section")
            } else if options.plan.config_format.is_some() {
                Some("config_format")
            } else {
                None
            };
            if let Some(field) = field {
                return Err(Error::invalid(format!(
                    "mb_runtime_new: options->{field} is set but options->config_file is NULL, \
                     so it would not be applied; set config_file, or leave {field} at its default"
                )));
            }
        }
        Ok(options)
    }

    /// With quotas from the environment no plan is derived: a plan option other than its
    /// default would silently not be applied, so it is an error.
    fn check_no_plan_options(&self) -> Result<(), Error> {
        let set = if self.config_file.is_some() {
            Some("config_file is set")
        } else if !self.properties.is_empty() {
            Some("properties_len is not 0")
        } else if self.environment {
            Some("use_environment is 1")
        } else if self.plan != PlanOptions::default() {
            Some(
                "config_section, config_format, flink_version, deployment, host or strict is not \
                 its default",
            )
        } else {
            None
        };
        match set {
            Some(what) => Err(Error::invalid(format!(
                "mb_runtime_new: options->{what}, but options->quota_source is \
                 MB_QUOTAS_FROM_ENVIRONMENT: the quotas come from MEMBUDGET_QUOTA_* and no plan \
                 is derived, so it would not be applied; leave it at its default, or use \
                 MB_QUOTAS_FROM_PLAN"
            ))),
            None => Ok(()),
        }
    }
}

const CONFIG_FORMATS: &str = "0 (MB_CONFIG_FORMAT_AUTO), 1 (MB_CONFIG_FORMAT_FLINK_CONF), 2 \
                              (MB_CONFIG_FORMAT_CONFIG_YAML) or 3 (MB_CONFIG_FORMAT_JSON)";
const FLINK_VERSIONS: &str = "0 (MB_FLINK_1_20) or 1 (MB_FLINK_2)";
const DEPLOYMENTS: &str = "0 (MB_DEPLOYMENT_STANDALONE), 1 (MB_DEPLOYMENT_KUBERNETES) or 2 \
                           (MB_DEPLOYMENT_YARN)";
const HOSTS: &str = "0 (MB_HOST_JVM), 1 (MB_HOST_DOTNET) or 2 (MB_HOST_NATIVE)";
const QUOTA_SOURCES: &str = "0 (MB_QUOTAS_FROM_PLAN) or 1 (MB_QUOTAS_FROM_ENVIRONMENT)";

/// `MB_ERR_INVALID_ARGUMENT` for `options->field` holding `value`, none of `valid`.
#[cold]
fn out_of_range(field: &str, value: u32, valid: &str) -> Error {
    Error::invalid(format!(
        "mb_runtime_new: options->{field} is {value}; use {valid}"
    ))
}

/// A 0/1 field.
fn switch(field: &str, value: u32) -> Result<bool, Error> {
    match value {
        0 => Ok(false),
        1 => Ok(true),
        v => Err(out_of_range(field, v, "0 or 1")),
    }
}

impl PlanOptions {
    /// The ABI 1.1 plan fields of `o`.
    ///
    /// # Safety
    /// `o.config_section` is NULL or NUL-terminated.
    unsafe fn read(o: &mb_runtime_options) -> Result<PlanOptions, Error> {
        let config_section = if o.config_section.is_null() {
            None
        } else {
            // SAFETY: non-null and NUL-terminated per this function's contract.
            let s = unsafe { utf8(o.config_section, "options->config_section")? };
            if s.trim().is_empty() {
                return Err(Error::invalid(format!(
                    "mb_runtime_new: options->config_section is '{s}'; name a section (e.g. \
                     'Flink' or 'Outer:Inner'), or pass NULL for the conventional one"
                )));
            }
            Some(s.to_owned())
        };
        let config_format = match o.config_format {
            MB_CONFIG_FORMAT_AUTO => None,
            MB_CONFIG_FORMAT_FLINK_CONF => Some(FileFormat::FlinkConf),
            MB_CONFIG_FORMAT_CONFIG_YAML => Some(FileFormat::NestedYaml),
            MB_CONFIG_FORMAT_JSON => Some(FileFormat::AppSettingsJson),
            v => return Err(out_of_range("config_format", v, CONFIG_FORMATS)),
        };
        let flink_version = match o.flink_version {
            MB_FLINK_1_20 => FlinkVersion::V1_20,
            MB_FLINK_2 => FlinkVersion::V2,
            v => return Err(out_of_range("flink_version", v, FLINK_VERSIONS)),
        };
        let deployment = match o.deployment {
            MB_DEPLOYMENT_STANDALONE => Deployment::Standalone,
            MB_DEPLOYMENT_KUBERNETES => Deployment::Kubernetes,
            MB_DEPLOYMENT_YARN => Deployment::Yarn,
            v => return Err(out_of_range("deployment", v, DEPLOYMENTS)),
        };
        let host = match o.host {
            MB_HOST_JVM => HostProfile::Jvm,
            MB_HOST_DOTNET => HostProfile::Dotnet,
            MB_HOST_NATIVE => HostProfile::Native,
            v => return Err(out_of_range("host", v, HOSTS)),
        };
        Ok(PlanOptions {
            config_section,
            config_format,
            flink_version,
            deployment,
            host,
            strict: switch("strict", o.strict)?,
        })
    }
}

/// # Safety
/// `p` is non-null and NUL-terminated.
unsafe fn utf8<'a>(p: *const c_char, what: &str) -> Result<&'a str, Error> {
    // SAFETY: forwarded from this function's contract.
    let c = unsafe { CStr::from_ptr(p) };
    c.to_str().map_err(|e| {
        Error::invalid(format!(
            "mb_runtime_new: {what} is not valid UTF-8 (at byte {})",
            e.valid_up_to()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::MB_ERR_INVALID_ARGUMENT;

    const CALL: Call = Call::new("mb_runtime_new");

    /// `opts` copied into a buffer of exactly `size` bytes (at least 4, for `struct_size`),
    /// with `struct_size` set to `size`; past the real struct, `tail` fills the rest.
    fn torn(opts: &mb_runtime_options, size: usize, tail: u8) -> Vec<u8> {
        let full = core::mem::size_of::<mb_runtime_options>();
        let mut bytes = vec![tail; size.max(4)];
        // SAFETY: `opts` is a whole struct of `full` bytes; we copy at most that many.
        let src = unsafe {
            core::slice::from_raw_parts((opts as *const mb_runtime_options).cast::<u8>(), full)
        };
        let n = size.min(full);
        bytes[..n].copy_from_slice(&src[..n]);
        bytes[..4].copy_from_slice(&(size as u32).to_ne_bytes());
        bytes
    }

    #[test]
    fn a_struct_size_that_cuts_a_field_is_refused_never_copied() {
        let file = c"/nonexistent/flink-conf.yaml";
        let o = mb_runtime_options {
            config_file: file.as_ptr(),
            ..Default::default()
        };
        let ends = [
            8, 16, 24, 28, 32, 36, 40, 48, 52, 56, 60, 64, 68, 72, 76, 80,
        ];
        for size in 0..=96usize {
            let bytes = torn(&o, size, 0);
            // SAFETY: `bytes` holds `size` readable bytes (the struct as far as it goes).
            let r = unsafe { RuntimeOptions::read(CALL, bytes.as_ptr().cast()) };
            let whole = ends.contains(&size) || size > 80;
            match r {
                Ok(read) => {
                    assert!(whole, "size {size} was accepted");
                    let expected = (size >= 16).then(|| PathBuf::from(file.to_str().unwrap()));
                    assert_eq!(read.config_file, expected, "size {size}");
                }
                Err(e) => {
                    assert!(!whole, "size {size}: {}", e.message());
                    assert_eq!(e.status(), MB_ERR_INVALID_ARGUMENT);
                }
            }
        }
        let bytes = torn(&o, 12, 0);
        // SAFETY: as above.
        let e = unsafe { RuntimeOptions::read(CALL, bytes.as_ptr().cast()) }.unwrap_err();
        assert_eq!(
            e.message(),
            "mb_runtime_new: options->struct_size is 12, which ends inside field 'config_file' \
             (bytes 8..16); set it to sizeof(mb_runtime_options) (80), or to the end of a field \
             for an older layout"
        );
    }

    #[test]
    fn a_newer_hosts_larger_struct_needs_unknown_fields_at_zero() {
        let o = mb_runtime_options::default();
        let bytes = torn(&o, 96, 0);
        // SAFETY: `bytes` holds 96 readable bytes.
        assert!(unsafe { RuntimeOptions::read(CALL, bytes.as_ptr().cast()) }.is_ok());
        let bytes = torn(&o, 96, 1);
        // SAFETY: as above.
        let e = unsafe { RuntimeOptions::read(CALL, bytes.as_ptr().cast()) }.unwrap_err();
        assert!(
            e.message().contains("byte 80 is not zero"),
            "{}",
            e.message()
        );
        let bytes = torn(&o, 5000, 0);
        // SAFETY: `bytes` holds 5000 readable bytes.
        let e = unsafe { RuntimeOptions::read(CALL, bytes.as_ptr().cast()) }.unwrap_err();
        assert!(e.message().contains("at most 4096"), "{}", e.message());
    }

    #[test]
    fn null_and_zeroed_options_are_defaults() {
        // SAFETY: NULL is allowed.
        let d = unsafe { RuntimeOptions::read(CALL, core::ptr::null()) }.unwrap();
        assert_eq!(d.role, RoleCode::TaskManager);
        assert!(d.container && !d.environment && !d.global_budget);
        let o = mb_runtime_options::default();
        // SAFETY: a valid struct.
        assert_eq!(unsafe { RuntimeOptions::read(CALL, &o) }.unwrap(), d);
    }

    #[test]
    fn properties_and_bad_values() {
        let props = [c"a.b = 1g".as_ptr(), c"x=y=z".as_ptr()];
        let o = mb_runtime_options {
            role: MB_ROLE_JOBMANAGER,
            properties: props.as_ptr(),
            properties_len: 2,
            ..Default::default()
        };
        // SAFETY: a valid struct with two valid strings.
        let r = unsafe { RuntimeOptions::read(CALL, &o) }.unwrap();
        assert_eq!(r.role, RoleCode::JobManager);
        // Exactly as given, like Flink's -D (the plan warns about the padded key).
        assert_eq!(
            r.properties,
            vec![("a.b ".into(), " 1g".into()), ("x".into(), "y=z".into())]
        );
        let bad = [c"novalue".as_ptr()];
        let o = mb_runtime_options {
            properties: bad.as_ptr(),
            properties_len: 1,
            ..Default::default()
        };
        // SAFETY: as above.
        let e = unsafe { RuntimeOptions::read(CALL, &o) }.unwrap_err();
        assert_eq!(
            e.message(),
            "mb_runtime_new: options->properties[0] is 'novalue'; expected 'key=value'"
        );
        let o = mb_runtime_options {
            role: 9,
            ..Default::default()
        };
        // SAFETY: as above.
        assert!(unsafe { RuntimeOptions::read(CALL, &o) }.is_err());
        let o = mb_runtime_options {
            struct_size: 4,
            ..Default::default()
        };
        // SAFETY: as above.
        assert!(unsafe { RuntimeOptions::read(CALL, &o) }.is_err());
    }
}
