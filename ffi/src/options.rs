//! `mb_runtime_options`: how a host asks for a runtime, read defensively from C memory.

use crate::error::Error;
use core::ffi::{c_char, CStr};
use std::path::PathBuf;

/// Role: a TaskManager plan (the default).
pub const MB_ROLE_TASKMANAGER: u32 = 0;
/// Role: a JobManager plan.
pub const MB_ROLE_JOBMANAGER: u32 = 1;

/// Flag: install the plan's quotas into the process-wide budget (the one the Rust global
/// allocator and every pool charge by default) and charge it, instead of an isolated budget
/// owned by the runtime.
pub const MB_RUNTIME_GLOBAL_BUDGET: u32 = 1;

/// Options for `mb_runtime_new`. A zero-initialised struct with `struct_size` set is the
/// default: a TaskManager plan from Flink's defaults, the container limit applied, the process
/// environment ignored, an isolated budget.
///
/// Fields past `struct_size` (a host compiled against an older, shorter struct) keep their
/// defaults, so the struct can grow.
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
}

const _: () = assert!(core::mem::size_of::<mb_runtime_options>() == 40);

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
    pub(crate) unsafe fn read(options: *const mb_runtime_options) -> Result<Self, Error> {
        let mut o = mb_runtime_options::default();
        if !options.is_null() {
            // SAFETY: at least the leading `struct_size` field is readable per the contract.
            let size = unsafe { options.cast::<u32>().read_unaligned() } as usize;
            if size < 8 {
                return Err(Error::invalid(format!(
                    "mb_runtime_new: options->struct_size is {size}; set it to \
                     sizeof(mb_runtime_options) ({})",
                    core::mem::size_of::<mb_runtime_options>()
                )));
            }
            let n = size.min(core::mem::size_of::<mb_runtime_options>());
            // SAFETY: the caller's struct has `size >= n` readable bytes; `o` has `n` writable
            // bytes; they do not overlap (`o` is a local). Every bit pattern of the fields'
            // integer types is valid, and the pointers are only used as the contract allows.
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
            properties.push((k.trim().to_string(), v.trim().to_string()));
        }
        let known = MB_RUNTIME_GLOBAL_BUDGET;
        if o.flags & !known != 0 {
            return Err(Error::invalid(format!(
                "mb_runtime_new: options->flags {:#x} has unknown bits {:#x}",
                o.flags,
                o.flags & !known
            )));
        }
        Ok(RuntimeOptions {
            role,
            config_file,
            properties,
            container: o.ignore_container == 0,
            environment: o.use_environment != 0,
            global_budget: o.flags & MB_RUNTIME_GLOBAL_BUDGET != 0,
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

    #[test]
    fn null_and_zeroed_options_are_defaults() {
        // SAFETY: NULL is allowed.
        let d = unsafe { RuntimeOptions::read(core::ptr::null()) }.unwrap();
        assert_eq!(d.role, RoleCode::TaskManager);
        assert!(d.container && !d.environment && !d.global_budget);
        let o = mb_runtime_options::default();
        // SAFETY: a valid struct.
        assert_eq!(unsafe { RuntimeOptions::read(&o) }.unwrap(), d);
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
        let r = unsafe { RuntimeOptions::read(&o) }.unwrap();
        assert_eq!(r.role, RoleCode::JobManager);
        assert_eq!(
            r.properties,
            vec![("a.b".into(), "1g".into()), ("x".into(), "y=z".into())]
        );
        let bad = [c"novalue".as_ptr()];
        let o = mb_runtime_options {
            properties: bad.as_ptr(),
            properties_len: 1,
            ..Default::default()
        };
        // SAFETY: as above.
        let e = unsafe { RuntimeOptions::read(&o) }.unwrap_err();
        assert_eq!(
            e.message(),
            "mb_runtime_new: options->properties[0] is 'novalue'; expected 'key=value'"
        );
        let o = mb_runtime_options {
            role: 9,
            ..Default::default()
        };
        // SAFETY: as above.
        assert!(unsafe { RuntimeOptions::read(&o) }.is_err());
        let o = mb_runtime_options {
            struct_size: 4,
            ..Default::default()
        };
        // SAFETY: as above.
        assert!(unsafe { RuntimeOptions::read(&o) }.is_err());
    }
}
