//! Calls racing `mb_runtime_free` on other threads: each answers success, `MB_ERR_DESTROYED`
//! (it found the runtime shutting down) or `MB_ERR_INVALID_HANDLE` (it came after) — never
//! `MB_ERR_INVALID_ARGUMENT` — and once every thread is done the process-wide budget is exactly
//! where it started: nothing a racing call charged outlives the runtime. One test per binary:
//! it charges the process-wide budget (`MB_RUNTIME_GLOBAL_BUDGET`).
// Each step is a short sequence of C calls under one SAFETY argument.
#![allow(clippy::multiple_unsafe_ops_per_block)]

use core::ptr::null_mut;
use membudget::*;

mod common;
use membudget_allocator::{Budget, Category};
use std::sync::{Arc, Barrier};

const THREADS: usize = 4;

fn used() -> [u64; 5] {
    Category::ALL.map(|c| Budget::global().used(c))
}

fn runtime() -> *mut mb_runtime {
    common::runtime_1g(MB_RUNTIME_GLOBAL_BUDGET)
}

/// Reserves, releases, allocates, frees, takes pages and buffers on `rt` until the runtime is
/// gone; returns every status it saw that is not allowed.
fn hammer(rt: usize, start: &Barrier) -> Vec<(&'static str, i32)> {
    let rt = rt as *mut mb_runtime;
    let allowed = |rc: i32| rc == MB_OK || rc == MB_ERR_DESTROYED || rc == MB_ERR_INVALID_HANDLE;
    let mut bad = Vec::new();
    let mut pool = null_mut();
    // SAFETY: a live runtime (until the race) and a valid out-pointer.
    assert_eq!(unsafe { mb_local_pool_new(rt, 2, 8, &mut pool) }, MB_OK);
    start.wait();
    let mut gone = 0;
    while gone < 3 {
        let mut block = null_mut();
        let mut page = [mb_segment {
            ptr: null_mut(),
            size: 0,
            id: 0,
        }; 1];
        let mut buf = mb_buffer {
            ptr: null_mut(),
            capacity: 0,
            id: 0,
        };
        // SAFETY: handles are checked; out-pointers are valid.
        let statuses = unsafe {
            [
                ("mb_reserve", mb_reserve(rt, MB_CATEGORY_HEAP, 4096)),
                ("mb_release", mb_release(rt, MB_CATEGORY_HEAP, 4096)),
                (
                    "mb_alloc",
                    mb_alloc(rt, MB_CATEGORY_DIRECT, 256, 16, &mut block),
                ),
                ("mb_free", mb_free(rt, block)),
                (
                    "mb_managed_allocate_pages",
                    mb_managed_allocate_pages(rt, 9, 1, page.as_mut_ptr()),
                ),
                ("mb_managed_release", mb_managed_release(rt, page[0].id)),
                ("mb_buffer_request", mb_buffer_request(pool, &mut buf)),
                ("mb_buffer_recycle", mb_buffer_recycle(buf.id)),
            ]
        };
        for (what, rc) in statuses {
            // A release or free racing the shutdown answers DESTROYED (the free released it),
            // a call after it INVALID_HANDLE; a request may find the pool at its size.
            let backpressure = rc == MB_ERR_UNAVAILABLE && what == "mb_buffer_request";
            if !allowed(rc) && !backpressure {
                bad.push((what, rc));
            }
        }
        if statuses[0].1 == MB_ERR_INVALID_HANDLE {
            gone += 1;
        }
    }
    // SAFETY: a pool handle, freed as usual after its runtime.
    assert_eq!(unsafe { mb_local_pool_free(pool) }, MB_OK);
    bad
}

#[test]
fn calls_racing_the_free_answer_destroyed_or_invalid_and_leave_nothing_charged() {
    let before = used();
    for round in 0..if cfg!(miri) { 1 } else { 20 } {
        let rt = runtime() as usize;
        let start = Arc::new(Barrier::new(THREADS + 1));
        let threads: Vec<_> = (0..THREADS)
            .map(|_| {
                let start = start.clone();
                std::thread::spawn(move || hammer(rt, &start))
            })
            .collect();
        start.wait();
        std::thread::sleep(std::time::Duration::from_micros(200 * (round % 5)));
        // SAFETY: a live runtime handle.
        assert_eq!(unsafe { mb_runtime_free(rt as *mut mb_runtime) }, MB_OK);
        for t in threads {
            let bad = t.join().unwrap();
            assert!(bad.is_empty(), "round {round}: {bad:?}");
        }
        assert_eq!(used(), before, "round {round}: the budget is balanced");
    }
}
