//! Child budgets through the C ABI: limits at every level, refusals naming the budget and its
//! top consumers, reclaim callbacks (re-entrant ones too), the JSON report, and hostile
//! arguments (NULL, stale and forged handles, bad names and categories).
// Each test walks a sequence of C calls in one `unsafe` block with one SAFETY argument.
#![allow(clippy::multiple_unsafe_ops_per_block)]

use core::ffi::c_void;
use core::ptr::{null, null_mut};
use membudget::*;
use std::ffi::CString;

mod common;
use common::last_error;

const M: u32 = MB_CATEGORY_MANAGED;

fn runtime() -> *mut mb_runtime {
    common::runtime_1g(0)
}

fn child(
    rt: *const mb_runtime,
    parent: *const mb_budget_child,
    name: &str,
    managed_limit: u64,
) -> *mut mb_budget_child {
    let name = CString::new(name).unwrap();
    let mut limits = [u64::MAX; 5];
    limits[M as usize] = managed_limit;
    let mut out = null_mut();
    // SAFETY: valid name, 5 limits, NULL reserved, valid out.
    let rc = unsafe {
        mb_budget_child_new(rt, parent, name.as_ptr(), limits.as_ptr(), null(), &mut out)
    };
    assert_eq!(rc, MB_OK, "{}", last_error());
    out
}

fn used(c: *const mb_budget_child) -> u64 {
    let mut u = 0;
    // SAFETY: valid out-pointer.
    assert_eq!(unsafe { mb_budget_child_used(c, M, &mut u) }, MB_OK);
    u
}

fn report(rt: *const mb_runtime, c: *const mb_budget_child) -> serde_json::Value {
    let mut need = 0;
    // SAFETY: a size query, then a buffer of that size.
    unsafe {
        assert_eq!(
            mb_budget_report_json(rt, c, null_mut(), 0, &mut need),
            MB_ERR_BUFFER_TOO_SMALL
        );
        let mut buf = vec![0u8; need];
        assert_eq!(
            mb_budget_report_json(rt, c, buf.as_mut_ptr().cast(), need, &mut need),
            MB_OK
        );
        serde_json::from_slice(&buf[..need - 1]).unwrap()
    }
}

#[test]
fn levels_refusals_and_the_report() {
    let rt = runtime();
    let job = child(rt, null(), "job-1", 1 << 20);
    let slot = child(rt, job, "slot-0", 900 << 10);
    // SAFETY: live handles, valid arguments.
    unsafe {
        assert_eq!(mb_budget_child_reserve(slot, M, 512 << 10), MB_OK);
        assert_eq!(mb_budget_child_reserve(job, M, 256 << 10), MB_OK);
        assert_eq!((used(slot), used(job)), (512 << 10, 768 << 10));
        // The slot's limit.
        assert_eq!(
            mb_budget_child_reserve(slot, M, 400 << 10),
            MB_ERR_QUOTA_EXCEEDED
        );
        let e = last_error();
        assert!(e.contains("in budget 'job-1/slot-0'"), "{e}");
        assert!(
            e.contains("top consumers: 'job-1/slot-0/host' 524288"),
            "{e}"
        );
        let mut r = mb_refusal::default();
        assert_eq!(mb_last_refusal(&mut r), MB_OK);
        assert_eq!((r.limit, r.requested), (MB_LIMIT_BUDGET, 400 << 10));
        // The job's limit, reached through the slot.
        assert_eq!(
            mb_budget_child_reserve(slot, M, 256 << 10 | 1),
            MB_ERR_QUOTA_EXCEEDED
        );
        assert!(
            last_error().contains("in budget 'job-1'"),
            "{}",
            last_error()
        );
        let tree = report(rt, null());
        let job_r = &tree["children"][0];
        assert_eq!(job_r["name"], "job-1");
        let managed = job_r["categories"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["category"] == "managed")
            .unwrap();
        assert_eq!(managed["used"], 768 << 10);
        assert_eq!(managed["limit"], 1 << 20);
        assert_eq!(job_r["children"][0]["consumers"][0]["name"], "host");
        assert_eq!(report(rt, slot)["name"], "slot-0");
        // Releasing more than held is refused, nothing changes.
        assert_eq!(
            mb_budget_child_release(slot, M, 1 << 30),
            MB_ERR_INVALID_ARGUMENT
        );
        assert_eq!(used(slot), 512 << 10);
        // Freeing the job's handle keeps the slot working; its own reservation is released.
        assert_eq!(mb_budget_child_free(job), MB_OK);
        assert_eq!(used(slot), 512 << 10);
        assert_eq!(mb_budget_child_reserve(slot, M, 256 << 10), MB_OK);
        assert_eq!(mb_budget_child_free(slot), MB_OK);
        let mut u = mb_category_usage {
            struct_size: core::mem::size_of::<mb_category_usage>() as u32,
            ..Default::default()
        };
        assert_eq!(mb_usage(rt, M, &mut u), MB_OK);
        assert_eq!(u.used, 0, "every byte back once the last handle is freed");
        mb_runtime_free(rt);
    }
}

/// The context of [`release_self`]: the child to release from and how much it holds.
struct Spill {
    child: *const mb_budget_child,
    held: u64,
    calls: u32,
}

unsafe extern "C" fn release_self(ctx: *mut c_void, category: u32, _bytes: u64) -> u64 {
    // SAFETY: `ctx` is the `Spill` registered with this callback, used by one thread at a time.
    let s = unsafe { &mut *ctx.cast::<Spill>() };
    s.calls += 1;
    // Re-entrant: a reserve that cannot fit is refused at once (no recursion), then a release.
    // SAFETY: a live handle.
    unsafe {
        assert_eq!(
            mb_budget_child_reserve(s.child, category, 1 << 30),
            MB_ERR_QUOTA_EXCEEDED
        );
        assert_eq!(mb_budget_child_release(s.child, category, s.held), MB_OK);
    }
    std::mem::take(&mut s.held)
}

unsafe extern "C" fn frees_nothing(_: *mut c_void, _: u32, _: u64) -> u64 {
    0
}

#[test]
fn reclaim_callbacks_free_memory_for_a_request_or_time_out() {
    let rt = runtime();
    let slot = child(rt, null(), "slot", 1 << 20);
    let cache = child(rt, slot, "cache", u64::MAX);
    let op = child(rt, slot, "op", u64::MAX);
    let mut spill = Spill {
        child: cache,
        held: 900 << 10,
        calls: 0,
    };
    // SAFETY: live handles; `spill` outlives every call that may run the callback.
    unsafe {
        assert_eq!(mb_budget_child_reserve(cache, M, 900 << 10), MB_OK);
        assert_eq!(
            mb_budget_on_reclaim(cache, Some(release_self), (&raw mut spill).cast()),
            MB_OK
        );
        assert_eq!(
            mb_budget_child_reserve(op, M, 512 << 10),
            MB_OK,
            "{}",
            last_error()
        );
        assert_eq!(spill.calls, 1);
        assert_eq!(used(cache), 0);
        // A reclaimer that frees nothing: refused after the wait, saying so.
        assert_eq!(
            mb_budget_on_reclaim(cache, Some(frees_nothing), null_mut()),
            MB_OK
        );
        assert_eq!(mb_budget_child_reserve(cache, M, 400 << 10), MB_OK);
        assert_eq!(mb_budget_set_reclaim_wait(op, 20), MB_OK);
        assert_eq!(
            mb_budget_child_reserve(op, M, 200 << 10),
            MB_ERR_QUOTA_EXCEEDED
        );
        let e = last_error();
        assert!(e.contains("Reclaim freed 0 bytes in "), "{e}");
        // Removing the callback: refused at once.
        assert_eq!(mb_budget_on_reclaim(cache, None, null_mut()), MB_OK);
        assert_eq!(
            mb_budget_child_reserve(op, M, 200 << 10),
            MB_ERR_QUOTA_EXCEEDED
        );
        for c in [op, cache, slot] {
            assert_eq!(mb_budget_child_free(c), MB_OK);
        }
        mb_runtime_free(rt);
    }
}

#[test]
fn hostile_arguments_are_refused_cleanly() {
    let rt = runtime();
    let good = CString::new("ok").unwrap();
    let mut out = null_mut();
    // SAFETY: deliberately bad but memory-safe arguments.
    unsafe {
        assert_eq!(
            mb_budget_child_new(rt, null(), null(), null(), null(), &mut out),
            MB_ERR_NULL_POINTER
        );
        assert_eq!(
            mb_budget_child_new(rt, null(), good.as_ptr(), null(), null(), null_mut()),
            MB_ERR_NULL_POINTER
        );
        assert_eq!(
            mb_budget_child_new(null(), null(), good.as_ptr(), null(), null(), &mut out),
            MB_ERR_NULL_POINTER
        );
        for bad in ["", "a/b"] {
            let n = CString::new(bad).unwrap();
            assert_eq!(
                mb_budget_child_new(rt, null(), n.as_ptr(), null(), null(), &mut out),
                MB_ERR_INVALID_ARGUMENT
            );
        }
        let latin1 = [0xE9u8, 0];
        assert_eq!(
            mb_budget_child_new(rt, null(), latin1.as_ptr().cast(), null(), null(), &mut out),
            MB_ERR_INVALID_ARGUMENT
        );
        // A reserved minimum above its limit.
        let limits = [10u64; 5];
        let reserved = [11u64; 5];
        assert_eq!(
            mb_budget_child_new(
                rt,
                null(),
                good.as_ptr(),
                limits.as_ptr(),
                reserved.as_ptr(),
                &mut out
            ),
            MB_ERR_QUOTA_EXCEEDED
        );
        let c = child(rt, null(), "c", u64::MAX);
        assert_eq!(mb_budget_child_reserve(c, 99, 1), MB_ERR_INVALID_ARGUMENT);
        assert_eq!(mb_budget_child_used(c, M, null_mut()), MB_ERR_NULL_POINTER);
        assert_eq!(mb_budget_child_reserve(null(), M, 1), MB_ERR_NULL_POINTER);
        let forged = core::ptr::without_provenance::<mb_budget_child>(0xdead_beef);
        assert_eq!(mb_budget_child_reserve(forged, M, 1), MB_ERR_INVALID_HANDLE);
        assert_eq!(mb_budget_child_free(null_mut()), MB_OK);
        assert_eq!(mb_budget_child_free(c), MB_OK);
        // Stale: every call refuses it, a second free too.
        assert_eq!(mb_budget_child_reserve(c, M, 1), MB_ERR_INVALID_HANDLE);
        assert_eq!(
            mb_budget_on_reclaim(c, Some(frees_nothing), null_mut()),
            MB_ERR_INVALID_HANDLE
        );
        assert_eq!(
            mb_budget_report_json(rt, c, null_mut(), 0, null_mut()),
            MB_ERR_INVALID_HANDLE
        );
        assert_eq!(
            mb_budget_child_new(rt, c, good.as_ptr(), null(), null(), &mut out),
            MB_ERR_INVALID_HANDLE
        );
        assert_eq!(mb_budget_child_free(c), MB_ERR_INVALID_HANDLE);
        // A runtime handle is not a child handle.
        assert_eq!(
            mb_budget_child_reserve(rt.cast(), M, 1),
            MB_ERR_INVALID_HANDLE
        );
        // Children of a freed runtime answer MB_ERR_DESTROYED; freeing them still works.
        let orphan = child(rt, null(), "orphan", u64::MAX);
        let grandchild = child(null(), orphan, "grandchild", u64::MAX);
        assert_eq!(mb_budget_child_reserve(grandchild, M, 1), MB_OK);
        mb_runtime_free(rt);
        assert_eq!(mb_budget_child_reserve(orphan, M, 1), MB_ERR_DESTROYED);
        assert_eq!(mb_budget_child_release(grandchild, M, 1), MB_ERR_DESTROYED);
        assert!(last_error().contains("runtime this child budget belongs to was freed"));
        assert_eq!(mb_budget_child_free(grandchild), MB_OK);
        assert_eq!(mb_budget_child_free(orphan), MB_OK);
    }
}

#[test]
fn a_runtime_beside_a_parent_must_be_the_parents() {
    let (rt, other) = (runtime(), runtime());
    let parent = child(rt, null(), "parent", u64::MAX);
    let name = CString::new("kid").unwrap();
    let mut out = null_mut();
    // SAFETY: live, forged and freed handles; valid name and out-pointer.
    unsafe {
        // Another live runtime, a forged one: refused, naming both handles; nothing made.
        for wrong in [
            other.cast_const(),
            core::ptr::without_provenance::<mb_runtime>(0xdead_beef),
        ] {
            assert_eq!(
                mb_budget_child_new(wrong, parent, name.as_ptr(), null(), null(), &mut out),
                MB_ERR_INVALID_ARGUMENT
            );
            let e = last_error();
            assert!(
                e.contains(&format!(
                    "rt {wrong:p} is not the runtime parent {parent:p}"
                )),
                "{e}"
            );
            assert!(out.is_null());
        }
        assert_eq!(
            report(rt, parent)["children"].as_array().map(Vec::len),
            Some(0)
        );
        // NULL or the parent's own runtime: made under the parent.
        let a = child(null(), parent, "a", u64::MAX);
        let b = child(rt, parent, "b", u64::MAX);
        assert_eq!(mb_budget_child_reserve(b, M, 4096), MB_OK);
        assert_eq!(used(parent), 4096);
        for c in [a, b, parent] {
            assert_eq!(mb_budget_child_free(c), MB_OK);
        }
        // The other runtime, freed: still not the parent's.
        let parent = child(rt, null(), "parent", u64::MAX);
        assert_eq!(mb_runtime_free(other), MB_OK);
        assert_eq!(
            mb_budget_child_new(other, parent, name.as_ptr(), null(), null(), &mut out),
            MB_ERR_INVALID_ARGUMENT
        );
        assert_eq!(mb_budget_child_free(parent), MB_OK);
        assert_eq!(mb_runtime_free(rt), MB_OK);
    }
}
