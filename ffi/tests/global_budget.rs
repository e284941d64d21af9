//! One runtime at a time enforces its plan through the process-wide budget
//! (`MB_RUNTIME_GLOBAL_BUDGET`): a second would silently replace the first's quotas. One test
//! per binary: it installs quotas into the process-wide budget.

use core::ffi::c_char;
use core::ptr::null_mut;
use membudget::*;
use membudget_allocator::{Budget, Category};

mod common;
use common::last_error;

fn global_runtime(size: &std::ffi::CStr) -> Result<*mut mb_runtime, (i32, String)> {
    let props: [*const c_char; 1] = [size.as_ptr()];
    let opts = common::global_options(&props);
    let mut rt = null_mut();
    // SAFETY: valid options and out-pointer.
    match unsafe { mb_runtime_new(&opts, &mut rt) } {
        MB_OK => Ok(rt),
        rc => Err((rc, last_error())),
    }
}

#[test]
fn a_second_runtime_on_the_process_budget_is_refused_until_the_first_is_freed() {
    let first = global_runtime(c"taskmanager.memory.process.size=2g").unwrap();
    let managed = Budget::global().quota(Category::Managed);
    let (rc, msg) = global_runtime(c"taskmanager.memory.process.size=1g").unwrap_err();
    assert_eq!(rc, MB_ERR_INVALID_ARGUMENT, "{msg}");
    assert!(msg.contains("MB_RUNTIME_GLOBAL_BUDGET"), "{msg}");
    assert_eq!(
        Budget::global().quota(Category::Managed),
        managed,
        "the first runtime's quotas stay"
    );
    // SAFETY: a checked handle.
    assert_eq!(unsafe { mb_runtime_free(first) }, MB_OK);
    let second = global_runtime(c"taskmanager.memory.process.size=1g").unwrap();
    assert!(Budget::global().quota(Category::Managed) < managed);
    // A runtime that fails to be made holds nothing.
    let (rc, _) = global_runtime(c"taskmanager.memory.process.size=1x").unwrap_err();
    assert_eq!(rc, MB_ERR_CONFIG);
    // SAFETY: a checked handle.
    assert_eq!(unsafe { mb_runtime_free(second) }, MB_OK);
    let third = global_runtime(c"taskmanager.memory.process.size=1g").unwrap();
    // SAFETY: a checked handle.
    assert_eq!(unsafe { mb_runtime_free(third) }, MB_OK);
}
