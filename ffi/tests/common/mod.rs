//! Helpers the C ABI integration tests share (each test binary includes this module).

// Each binary uses what it needs of these.
#![allow(dead_code)]

use core::ffi::c_char;
use core::ptr::null_mut;
use membudget::*;

/// The calling thread's last error message (a size query, then a buffer of that size).
pub fn last_error() -> String {
    let mut need = 0usize;
    // SAFETY: a size query with a valid out-pointer.
    unsafe { mb_last_error_message(null_mut(), 0, &mut need) };
    let mut buf = vec![0u8; need];
    // SAFETY: `buf` has `need` bytes.
    let rc = unsafe { mb_last_error_message(buf.as_mut_ptr().cast(), buf.len(), &mut need) };
    assert_eq!(rc, MB_OK);
    String::from_utf8(buf[..need - 1].to_vec()).unwrap()
}

/// Options for a runtime that installs its plan into the process-wide budget
/// (`MB_RUNTIME_GLOBAL_BUDGET`), planned from `props` alone (no container, no environment).
/// `props` must outlive the call the options are passed to.
pub fn global_options(props: &[*const c_char]) -> mb_runtime_options {
    mb_runtime_options {
        properties: props.as_ptr(),
        properties_len: props.len() as u32,
        ignore_container: 1,
        flags: MB_RUNTIME_GLOBAL_BUDGET,
        ..Default::default()
    }
}

/// A runtime planned for a 1 GiB TaskManager process from that one property (no container, no
/// environment), made with `flags` (0, or `MB_RUNTIME_GLOBAL_BUDGET`).
pub fn runtime_1g(flags: u32) -> *mut mb_runtime {
    let props = [c"taskmanager.memory.process.size=1g".as_ptr()];
    let opts = mb_runtime_options {
        properties: props.as_ptr(),
        properties_len: 1,
        ignore_container: 1,
        flags,
        ..Default::default()
    };
    let mut rt = null_mut();
    // SAFETY: valid options and out-pointer.
    let rc = unsafe { mb_runtime_new(&opts, &mut rt) };
    assert_eq!(rc, MB_OK, "{}", last_error());
    rt
}
