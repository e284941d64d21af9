//! `mb_runtime_options`: how a host asks for a runtime, read defensively from C memory.

use crate::call::Call;
use crate::error::Error;
use crate::struct_size::{fields, Fields};
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
/// defaults, so the struct can grow. `struct_size` must end on a field (a size that cuts one
/// is refused); a larger size (a newer host) is accepted if the bytes this library does not
/// know are zero.
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
        for size in 0..=48usize {
            let bytes = torn(&o, size, 0);
            // SAFETY: `bytes` holds `size` readable bytes (the struct as far as it goes).
            let r = unsafe { RuntimeOptions::read(CALL, bytes.as_ptr().cast()) };
            let whole = [8, 16, 24, 28, 32, 36, 40].contains(&size) || size > 40;
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
             (bytes 8..16); set it to sizeof(mb_runtime_options) (40), or to the end of a field \
             for an older layout"
        );
    }

    #[test]
    fn a_newer_hosts_larger_struct_needs_unknown_fields_at_zero() {
        let o = mb_runtime_options::default();
        let bytes = torn(&o, 64, 0);
        // SAFETY: `bytes` holds 64 readable bytes.
        assert!(unsafe { RuntimeOptions::read(CALL, bytes.as_ptr().cast()) }.is_ok());
        let bytes = torn(&o, 64, 1);
        // SAFETY: as above.
        let e = unsafe { RuntimeOptions::read(CALL, bytes.as_ptr().cast()) }.unwrap_err();
        assert!(
            e.message().contains("byte 40 is not zero"),
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
