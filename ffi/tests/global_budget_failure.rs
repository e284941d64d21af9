//! A runtime that fails to be made after installing its plan into the process-wide budget
//! (`MB_RUNTIME_GLOBAL_BUDGET`) puts the budget's quotas back: a failed `mb_runtime_new`
//! changes nothing. One test per binary: it installs quotas into the process-wide budget.

use core::ffi::c_char;
use core::ptr::null_mut;
use membudget::*;
use membudget_allocator::{Budget, Category, Quotas};

mod common;

#[test]
fn a_global_runtime_whose_pools_fail_leaves_the_process_quotas_as_they_were() {
    let before = Quotas::unlimited();
    Budget::global().set_quotas(before);
    // Network memory the process already uses: the plan's 1 GiB process has far less network
    // quota, so its network pool cannot be charged once the plan's quotas are in.
    let used = 4u64 << 30;
    Budget::global()
        .try_charge(Category::Network, used)
        .expect("unlimited");
    let props: [*const c_char; 1] = [c"taskmanager.memory.process.size=1g".as_ptr()];
    let opts = common::global_options(&props);
    let mut rt = null_mut();
    // SAFETY: valid options and out-pointer.
    let rc = unsafe { mb_runtime_new(&opts, &mut rt) };
    assert_ne!(rc, MB_OK, "the network pool cannot be charged");
    assert!(rt.is_null());
    assert_eq!(Budget::global().quotas(), before, "the quotas are put back");
    // The process-wide budget is free for the next runtime, once the usage is gone.
    Budget::global().release(Category::Network, used);
    // SAFETY: valid options and out-pointer.
    assert_eq!(unsafe { mb_runtime_new(&opts, &mut rt) }, MB_OK);
    assert!(Budget::global().quota(Category::Network) < u64::MAX);
    // SAFETY: a live runtime.
    assert_eq!(unsafe { mb_runtime_free(rt) }, MB_OK);
}
