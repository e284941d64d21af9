//! A hostile host against the C ABI: handles of the wrong type, stale and forged ids, extreme
//! sizes and counts, torn structs, re-entrant callbacks that free what they run on, and
//! batches mixing good and bad ids. After each scenario every call has answered a documented
//! status with a message, and the runtime's accounting is back to exactly 0.
// Each scenario is a sequence of C calls under one SAFETY argument.
#![allow(clippy::multiple_unsafe_ops_per_block)]

use core::ffi::{c_char, c_void};
use core::ptr::{null, null_mut};
use membudget::*;
use std::sync::atomic::{AtomicI32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};

mod common;
use common::last_error;

const CATEGORIES: [u32; 5] = [
    MB_CATEGORY_HEAP,
    MB_CATEGORY_DIRECT,
    MB_CATEGORY_MANAGED,
    MB_CATEGORY_NETWORK,
    MB_CATEGORY_OVERHEAD,
];

/// Asserts `rc` is `want` and the call left a non-empty message.
#[track_caller]
fn refused(rc: i32, want: i32) -> String {
    assert_eq!(rc, want, "status; last error: {}", last_error());
    let msg = last_error();
    assert!(!msg.is_empty(), "a refusal says why");
    msg
}

fn runtime() -> *mut mb_runtime {
    common::runtime_1g(0)
}

fn usage(rt: *const mb_runtime, category: u32) -> mb_category_usage {
    let mut u = mb_category_usage {
        struct_size: core::mem::size_of::<mb_category_usage>() as u32,
        ..Default::default()
    };
    // SAFETY: a valid out struct.
    assert_eq!(unsafe { mb_usage(rt, category, &mut u) }, MB_OK);
    u
}

/// Every category of `rt` is back to 0 bytes used, but the network pool's memory (charged
/// whole when the runtime is made, as Flink's `NetworkBufferPool` does).
#[track_caller]
fn balanced(rt: *const mb_runtime) {
    for c in CATEGORIES {
        let u = usage(rt, c);
        let pool = if c == MB_CATEGORY_NETWORK { u.quota } else { 0 };
        assert_eq!(
            (u.used, u.host_reserved, u.host_allocated),
            (pool, 0, 0),
            "category {c}"
        );
    }
}

fn stats(pool: *const mb_local_pool) -> mb_pool_stats {
    let mut s = mb_pool_stats {
        struct_size: core::mem::size_of::<mb_pool_stats>() as u32,
        ..Default::default()
    };
    // SAFETY: a valid out struct.
    assert_eq!(unsafe { mb_local_pool_stats(pool, &mut s) }, MB_OK);
    s
}

fn pool(rt: *const mb_runtime, min: u32, max: u32) -> *mut mb_local_pool {
    let mut p = null_mut();
    // SAFETY: a valid out-pointer.
    let rc = unsafe { mb_local_pool_new(rt, min, max, &mut p) };
    assert_eq!(rc, MB_OK, "{}", last_error());
    p
}

const NO_BUFFER: mb_buffer = mb_buffer {
    ptr: null_mut(),
    capacity: 0,
    id: 0,
};
const NO_SEGMENT: mb_segment = mb_segment {
    ptr: null_mut(),
    size: 0,
    id: 0,
};

fn request(p: *const mb_local_pool) -> mb_buffer {
    let mut b = NO_BUFFER;
    // SAFETY: a valid out-pointer.
    let rc = unsafe { mb_buffer_request(p, &mut b) };
    assert_eq!(rc, MB_OK, "{}", last_error());
    b
}

/// `mb_buffer_recycle`, which checks its id (callable from a thread inside an `unsafe` block).
fn recycle(id: u64) -> i32 {
    // SAFETY: every argument is checked.
    unsafe { mb_buffer_recycle(id) }
}

fn page(rt: *const mb_runtime, owner: u64) -> mb_segment {
    let mut s = [NO_SEGMENT];
    // SAFETY: `s` has room for one segment.
    let rc = unsafe { mb_managed_allocate_pages(rt, owner, 1, s.as_mut_ptr()) };
    assert_eq!(rc, MB_OK, "{}", last_error());
    s[0]
}

fn child(rt: *const mb_runtime, name: &str) -> *mut mb_budget_child {
    let name = std::ffi::CString::new(name).unwrap();
    let mut c = null_mut();
    // SAFETY: valid name and out-pointer; no limits.
    let rc = unsafe { mb_budget_child_new(rt, null(), name.as_ptr(), null(), null(), &mut c) };
    assert_eq!(rc, MB_OK, "{}", last_error());
    c
}

#[test]
fn handles_and_ids_of_one_type_are_refused_as_another() {
    let rt = runtime();
    let p = pool(rt, 1, 4);
    let c = child(rt, "c");
    let b = request(p);
    let s = page(rt, 1);
    // SAFETY: handles and ids are checked tokens; every out-pointer is valid.
    unsafe {
        let mut out = NO_BUFFER;
        let mut pout = null_mut();
        // A pool or child handle where a runtime is expected.
        refused(
            mb_reserve(p.cast(), MB_CATEGORY_DIRECT, 1),
            MB_ERR_INVALID_HANDLE,
        );
        refused(
            mb_reserve(c.cast(), MB_CATEGORY_DIRECT, 1),
            MB_ERR_INVALID_HANDLE,
        );
        refused(
            mb_local_pool_new(p.cast(), 1, 1, &mut pout),
            MB_ERR_INVALID_HANDLE,
        );
        refused(mb_runtime_free(p.cast()), MB_ERR_INVALID_HANDLE);
        refused(mb_runtime_free(c.cast()), MB_ERR_INVALID_HANDLE);
        // A runtime or child handle where a pool is expected.
        refused(
            mb_buffer_request(rt.cast(), &mut out),
            MB_ERR_INVALID_HANDLE,
        );
        refused(mb_local_pool_free(rt.cast()), MB_ERR_INVALID_HANDLE);
        refused(mb_local_pool_free(c.cast()), MB_ERR_INVALID_HANDLE);
        refused(mb_budget_child_free(p.cast()), MB_ERR_INVALID_HANDLE);
        refused(mb_budget_child_free(rt.cast()), MB_ERR_INVALID_HANDLE);
        // Handles, segment ids and buffer ids where a buffer id / a segment id is expected.
        for id in [rt.addr() as u64, p.addr() as u64, c.addr() as u64, s.id] {
            refused(mb_buffer_recycle(id), MB_ERR_INVALID_HANDLE);
        }
        for id in [rt.addr() as u64, p.addr() as u64, c.addr() as u64, b.id] {
            let rc = mb_managed_release(rt, id);
            assert!(
                rc == MB_ERR_INVALID_HANDLE || rc == MB_ERR_INVALID_ARGUMENT,
                "{rc}: {}",
                last_error()
            );
        }
        // Forged values near real ones: neighbours of each id in every bit.
        for base in [b.id, s.id, rt.addr() as u64, p.addr() as u64] {
            for bit in 0..64 {
                let forged = base ^ (1 << bit);
                let rc = mb_buffer_recycle(forged);
                assert_eq!(rc, MB_ERR_INVALID_HANDLE, "forged buffer id {forged:#x}");
                let rc = mb_managed_release(rt, forged);
                assert!(rc < 0, "forged segment id {forged:#x}");
                let rc =
                    mb_buffer_request(core::ptr::without_provenance(forged as usize), &mut out);
                assert!(rc < 0, "forged pool {forged:#x}");
            }
        }
        // The real ones still work after all that.
        assert_eq!(mb_buffer_recycle(b.id), MB_OK);
        assert_eq!(mb_managed_release(rt, s.id), MB_OK);
        assert_eq!(mb_budget_child_free(c), MB_OK);
        assert_eq!(mb_local_pool_free(p), MB_OK);
        balanced(rt);
        assert_eq!(mb_runtime_free(rt), MB_OK);
    }
}

#[test]
fn extreme_sizes_and_counts_charge_nothing() {
    let rt = runtime();
    // SAFETY: every argument is checked; out-pointers are valid.
    unsafe {
        for c in CATEGORIES {
            for bytes in [u64::MAX, u64::MAX / 2 + 1, 1 << 62, i64::MAX as u64] {
                let rc = mb_reserve(rt, c, bytes);
                assert_eq!(rc, MB_ERR_QUOTA_EXCEEDED, "reserve {bytes} of {c}");
                let rc = mb_release(rt, c, bytes);
                refused(rc, MB_ERR_INVALID_ARGUMENT);
            }
            assert_eq!(
                mb_reserve(rt, c, 0),
                MB_OK,
                "reserving 0 of {c} is a no-op: {}",
                last_error()
            );
            assert_eq!(mb_release(rt, c, 0), MB_OK);
            // Reserve a little, then over-release by a huge amount: refused, nothing released.
            if c != MB_CATEGORY_NETWORK {
                assert_eq!(mb_reserve(rt, c, 10), MB_OK, "{}", last_error());
                refused(mb_release(rt, c, 11), MB_ERR_INVALID_ARGUMENT);
                refused(mb_release(rt, c, u64::MAX), MB_ERR_INVALID_ARGUMENT);
                assert_eq!(usage(rt, c).host_reserved, 10);
                assert_eq!(mb_release(rt, c, 10), MB_OK);
            }
            for (size, align) in [
                (u64::MAX, 8),
                (u64::MAX - 7, 8),
                (isize::MAX as u64, 8),
                (isize::MAX as u64 + 1, 8),
                (1, 0),
                (1, 3),
                (1, 1 << 63),
                (1, u64::MAX),
                (0, 8),
                (u64::MAX, 1 << 16),
                (1 << 40, 1 << 16),
            ] {
                let mut p = null_mut();
                let rc = mb_alloc(rt, c, size, align, &mut p);
                assert!(
                    rc == MB_ERR_INVALID_ARGUMENT || rc == MB_ERR_QUOTA_EXCEEDED,
                    "alloc({size}, {align}) of {c}: {rc} {}",
                    last_error()
                );
                assert!(!last_error().is_empty());
                assert!(p.is_null(), "nothing written on failure");
            }
            refused(mb_reserve(rt, c + 5, 1), MB_ERR_INVALID_ARGUMENT);
        }
        refused(mb_reserve(rt, u32::MAX, 1), MB_ERR_INVALID_ARGUMENT);
        // Pools: minimums past the network buffers, min > max, all extremes.
        let mut p = null_mut();
        for (min, max) in [
            (u32::MAX, u32::MAX),
            (u32::MAX, u32::MAX - 1),
            (u32::MAX - 1, u32::MAX),
            (5, 4),
            (1 << 20, MB_UNBOUNDED),
        ] {
            let rc = mb_local_pool_new(rt, min, max, &mut p);
            assert!(
                rc == MB_ERR_INVALID_ARGUMENT || rc == MB_ERR_QUOTA_EXCEEDED,
                "pool({min}, {max}): {rc} {}",
                last_error()
            );
            assert!(p.is_null());
        }
        // Managed pages: zero pages (NULL allowed), one page into NULL, and one page more
        // than the memory has (all or nothing: nothing written, nothing charged).
        let mut segs = vec![NO_SEGMENT; 4];
        assert_eq!(
            mb_managed_allocate_pages(rt, 1, 0, segs.as_mut_ptr()),
            MB_OK,
            "zero pages is fine"
        );
        assert_eq!(mb_managed_allocate_pages(rt, 1, 0, null_mut()), MB_OK);
        refused(
            mb_managed_allocate_pages(rt, 1, 1, null_mut()),
            MB_ERR_NULL_POINTER,
        );
        let total = usage(rt, MB_CATEGORY_MANAGED).quota;
        let page_size = page(rt, 9).size;
        assert_eq!(mb_managed_release_all(rt, 9), MB_OK);
        let too_many = (total / page_size + 1) as u32;
        let mut big = vec![NO_SEGMENT; too_many as usize];
        refused(
            mb_managed_allocate_pages(rt, 1, too_many, big.as_mut_ptr()),
            MB_ERR_QUOTA_EXCEEDED,
        );
        assert!(big.iter().all(|s| s.id == 0), "nothing written");
        // Owners at the extremes.
        for owner in [0, u64::MAX] {
            let s = page(rt, owner);
            assert_eq!(mb_managed_release_all(rt, owner), MB_OK);
            refused(mb_managed_release(rt, s.id), MB_ERR_INVALID_HANDLE);
        }
        refused(mb_managed_release(rt, 0), MB_ERR_INVALID_HANDLE);
        refused(mb_managed_release(rt, u64::MAX), MB_ERR_INVALID_HANDLE);
        refused(mb_buffer_recycle(0), MB_ERR_INVALID_HANDLE);
        refused(mb_buffer_recycle(u64::MAX), MB_ERR_INVALID_HANDLE);
        // Child budgets: huge limits and reservations.
        let name = c"huge";
        let limits = [u64::MAX; 5];
        let reserved = [u64::MAX; 5];
        let mut out = null_mut();
        refused(
            mb_budget_child_new(
                rt,
                null(),
                name.as_ptr(),
                limits.as_ptr(),
                reserved.as_ptr(),
                &mut out,
            ),
            MB_ERR_QUOTA_EXCEEDED,
        );
        let reserved = [u64::MAX / 4; 5];
        refused(
            mb_budget_child_new(
                rt,
                null(),
                name.as_ptr(),
                limits.as_ptr(),
                reserved.as_ptr(),
                &mut out,
            ),
            MB_ERR_QUOTA_EXCEEDED,
        );
        balanced(rt);
        let c = child(rt, "c");
        for cat in CATEGORIES {
            refused(
                mb_budget_child_reserve(c, cat, u64::MAX),
                MB_ERR_QUOTA_EXCEEDED,
            );
            refused(
                mb_budget_child_release(c, cat, u64::MAX),
                MB_ERR_INVALID_ARGUMENT,
            );
            if cat != MB_CATEGORY_NETWORK {
                assert_eq!(
                    mb_budget_child_reserve(c, cat, 7),
                    MB_OK,
                    "{}",
                    last_error()
                );
                refused(mb_budget_child_release(c, cat, 8), MB_ERR_INVALID_ARGUMENT);
                assert_eq!(mb_budget_child_release(c, cat, 7), MB_OK);
            }
        }
        refused(mb_budget_child_reserve(c, 5, 1), MB_ERR_INVALID_ARGUMENT);
        assert_eq!(mb_budget_set_reclaim_wait(c, u32::MAX), MB_OK);
        assert_eq!(mb_budget_child_free(c), MB_OK);
        balanced(rt);
        assert_eq!(mb_runtime_free(rt), MB_OK);
    }
}

#[test]
fn torn_and_oversized_structs_are_refused_or_zero_filled() {
    let rt = runtime();
    // SAFETY: each struct lives in a buffer at least `struct_size` bytes long.
    unsafe {
        let full = core::mem::size_of::<mb_category_usage>();
        let mut raw = vec![0xAAu8; 4096 + 16];
        for size in [
            0usize,
            1,
            4,
            7,
            9,
            12,
            15,
            20,
            60,
            61,
            63,
            4097,
            u32::MAX as usize,
        ] {
            raw.fill(0xAA);
            raw[..4].copy_from_slice(&(size as u32).to_ne_bytes());
            let rc = mb_usage(rt, MB_CATEGORY_HEAP, raw.as_mut_ptr().cast());
            refused(rc, MB_ERR_INVALID_ARGUMENT);
            assert!(
                raw[4..].iter().all(|&b| b == 0xAA),
                "nothing written for {size}"
            );
        }
        for size in [8, 16, full, full + 8, 4096] {
            raw.fill(0xAA);
            raw[..4].copy_from_slice(&(size as u32).to_ne_bytes());
            assert_eq!(
                mb_usage(rt, MB_CATEGORY_HEAP, raw.as_mut_ptr().cast()),
                MB_OK
            );
            assert!(
                raw[size.max(full)..].iter().all(|&b| b == 0xAA),
                "past {size} untouched"
            );
            if size > full {
                assert!(
                    raw[full..size].iter().all(|&b| b == 0),
                    "a newer host's tail is 0"
                );
            }
        }
        let p = pool(rt, 1, 2);
        for size in [0usize, 4, 9, 12, 20, 4097] {
            raw.fill(0xAA);
            raw[..4].copy_from_slice(&(size as u32).to_ne_bytes());
            refused(
                mb_local_pool_stats(p, raw.as_mut_ptr().cast()),
                MB_ERR_INVALID_ARGUMENT,
            );
        }
        // The refusal struct.
        assert_eq!(
            mb_reserve(rt, MB_CATEGORY_DIRECT, u64::MAX),
            MB_ERR_QUOTA_EXCEEDED
        );
        for size in [0usize, 4, 12, 30, 41] {
            raw.fill(0xAA);
            raw[..4].copy_from_slice(&(size as u32).to_ne_bytes());
            let rc = mb_last_refusal(raw.as_mut_ptr().cast());
            assert_eq!(rc, MB_ERR_INVALID_ARGUMENT, "refusal struct_size {size}");
        }
        // Options: torn, garbage-sized, and larger with set bytes past the known fields.
        let opt_full = core::mem::size_of::<mb_runtime_options>();
        for size in [
            0usize,
            1,
            4,
            7,
            9,
            12,
            15,
            17,
            20,
            33,
            opt_full - 1,
            4097,
            u32::MAX as usize,
        ] {
            raw.fill(0);
            raw[..4].copy_from_slice(&(size as u32).to_ne_bytes());
            let mut out = null_mut();
            let rc = mb_runtime_new(raw.as_ptr().cast(), &mut out);
            refused(rc, MB_ERR_INVALID_ARGUMENT);
            assert!(out.is_null());
        }
        raw.fill(0);
        raw[..4].copy_from_slice(&((opt_full + 8) as u32).to_ne_bytes());
        raw[opt_full + 3] = 1;
        let mut out = null_mut();
        refused(
            mb_runtime_new(raw.as_ptr().cast(), &mut out),
            MB_ERR_INVALID_ARGUMENT,
        );
        assert_eq!(mb_local_pool_free(p), MB_OK);
        balanced(rt);
        assert_eq!(mb_runtime_free(rt), MB_OK);
    }
}

fn runtime_with(opts: &mb_runtime_options) -> Result<*mut mb_runtime, (i32, String)> {
    let mut rt = null_mut();
    // SAFETY: the caller's options are valid for the call.
    match unsafe { mb_runtime_new(opts, &mut rt) } {
        MB_OK => Ok(rt),
        rc => Err((rc, last_error())),
    }
}

#[test]
fn bad_option_strings_and_switches_are_refused() {
    let sized = [c"taskmanager.memory.process.size=1g".as_ptr()];
    let base = mb_runtime_options {
        ignore_container: 1,
        properties: sized.as_ptr(),
        properties_len: 1,
        ..Default::default()
    };
    let bad_utf8: &[u8] = b"taskmanager.memory.process.size=1\xffg\0";
    let props = [bad_utf8.as_ptr().cast::<c_char>()];
    let e = runtime_with(&mb_runtime_options {
        properties: props.as_ptr(),
        properties_len: 1,
        ..base
    })
    .unwrap_err();
    assert_eq!(e.0, MB_ERR_INVALID_ARGUMENT, "{}", e.1);
    assert!(e.1.contains("UTF-8"), "{}", e.1);
    // A path that is not UTF-8, one that does not exist, and a directory.
    for (path, want) in [
        (&b"/tmp/\xff\xfe.yaml\0"[..], MB_ERR_INVALID_ARGUMENT),
        (&b"/nonexistent/flink-conf.yaml\0"[..], MB_ERR_CONFIG),
        (&b"/tmp\0"[..], MB_ERR_CONFIG),
        (&b"\0"[..], MB_ERR_CONFIG),
    ] {
        let e = runtime_with(&mb_runtime_options {
            config_file: path.as_ptr().cast(),
            ..base
        })
        .unwrap_err();
        assert_eq!(e.0, want, "{:?}: {}", String::from_utf8_lossy(path), e.1);
    }
    // Properties that are not key=value, an empty key, a NULL entry.
    for p in [&b"no-equals-sign\0"[..], b"=1g\0", b"\0"] {
        let props = [p.as_ptr().cast::<c_char>()];
        let e = runtime_with(&mb_runtime_options {
            properties: props.as_ptr(),
            properties_len: 1,
            ..base
        })
        .unwrap_err();
        assert!(
            e.0 == MB_ERR_INVALID_ARGUMENT || e.0 == MB_ERR_CONFIG,
            "{:?}: {} {}",
            String::from_utf8_lossy(p),
            e.0,
            e.1
        );
    }
    let props = [c"taskmanager.memory.process.size=1g".as_ptr(), null()];
    let e = runtime_with(&mb_runtime_options {
        properties: props.as_ptr(),
        properties_len: 2,
        ..base
    })
    .unwrap_err();
    assert_eq!(e.0, MB_ERR_NULL_POINTER, "{}", e.1);
    // 0/1 switches with other values are refused, never read as "on".
    for edit in [
        (|o: &mut mb_runtime_options| o.ignore_container = 2) as fn(&mut mb_runtime_options),
        |o| o.use_environment = 7,
        |o| o.strict = 2,
        |o| o.verbose_errors = u32::MAX,
        |o| o.role = 2,
        |o| o.flags = 2,
        |o| o.reserved = 1,
        |o| o.host = 3,
        |o| o.deployment = 3,
        |o| o.flink_version = 2,
        |o| o.quota_source = 2,
    ] {
        let mut o = base;
        edit(&mut o);
        let e = runtime_with(&o).unwrap_err();
        assert_eq!(e.0, MB_ERR_INVALID_ARGUMENT, "{}", e.1);
        assert!(e.1.contains("options->"), "names the field: {}", e.1);
    }
}

#[test]
fn output_buffers_of_every_small_capacity() {
    let rt = runtime();
    // SAFETY: each buffer is valid for the length passed.
    unsafe {
        let mut need = 0usize;
        assert_eq!(
            mb_plan_json(rt, null_mut(), 0, &mut need),
            MB_ERR_BUFFER_TOO_SMALL
        );
        let full = need;
        assert!(full > 100);
        for len in [1usize, 2, 3, 100, full - 1] {
            let mut buf = vec![0x55u8; len + 8];
            let mut need2 = 0usize;
            let rc = mb_plan_json(rt, buf.as_mut_ptr().cast(), len, &mut need2);
            assert_eq!(rc, MB_ERR_BUFFER_TOO_SMALL, "len {len}");
            assert_eq!(need2, full);
            assert_eq!(buf[len - 1], 0, "NUL-terminated at the end");
            assert!(
                buf[len..].iter().all(|&b| b == 0x55),
                "nothing written past len"
            );
        }
        let mut buf = vec![0u8; full];
        assert_eq!(
            mb_plan_json(rt, buf.as_mut_ptr().cast(), full, null_mut()),
            MB_OK
        );
        refused(
            mb_plan_json(rt, null_mut(), 5, &mut need),
            MB_ERR_NULL_POINTER,
        );
        let mut dummy = 0u8;
        assert_eq!(
            mb_plan_json(rt, (&mut dummy as *mut u8).cast(), 0, &mut need),
            MB_ERR_BUFFER_TOO_SMALL
        );
        assert_eq!(dummy, 0, "a zero-length buffer is not written");
        for f in [
            mb_jvm_args as unsafe extern "C" fn(_, _, _, _) -> i32,
            mb_plan_json,
        ] {
            refused(f(null(), null_mut(), 0, &mut need), MB_ERR_NULL_POINTER);
            let forged = core::ptr::without_provenance::<mb_runtime>(0x10_0000_0001);
            refused(f(forged, null_mut(), 0, &mut need), MB_ERR_INVALID_HANDLE);
        }
        // The report of the budget tree, likewise.
        assert_eq!(
            mb_budget_report_json(rt, null(), null_mut(), 0, &mut need),
            MB_ERR_BUFFER_TOO_SMALL
        );
        let full = need;
        for len in [1usize, 2, full - 1] {
            let mut buf = vec![0x55u8; len + 8];
            assert_eq!(
                mb_budget_report_json(rt, null(), buf.as_mut_ptr().cast(), len, &mut need),
                MB_ERR_BUFFER_TOO_SMALL
            );
            assert_eq!(buf[len - 1], 0);
            assert!(buf[len..].iter().all(|&b| b == 0x55));
        }
        // The last error: a refused call's message into tiny buffers, which never changes it.
        refused(mb_reserve(rt, 99, 1), MB_ERR_INVALID_ARGUMENT);
        let msg = last_error();
        for len in [1usize, 2, 5] {
            let mut buf = vec![0x55u8; len + 8];
            let mut need = 0usize;
            let rc = mb_last_error_message(buf.as_mut_ptr().cast(), len, &mut need);
            assert_eq!(rc, MB_ERR_BUFFER_TOO_SMALL);
            assert_eq!(need, msg.len() + 1);
            assert_eq!(buf[len - 1], 0);
            assert!(buf[len..].iter().all(|&b| b == 0x55));
        }
        assert_eq!(last_error(), msg, "reading it never changes it");
        assert_eq!(
            mb_last_error_message(null_mut(), 3, null_mut()),
            MB_ERR_NULL_POINTER
        );
        assert_eq!(last_error(), msg);
        balanced(rt);
        assert_eq!(mb_runtime_free(rt), MB_OK);
    }
}

#[test]
fn batches_mixing_good_stale_forged_and_repeated_ids_recycle_every_good_one_once() {
    let rt = runtime();
    let p = pool(rt, 8, 8);
    // SAFETY: arrays are valid for the counts passed.
    unsafe {
        let mut bufs = [NO_BUFFER; 8];
        let mut got = 0;
        assert_eq!(
            mb_buffer_request_many(p, 8, bufs.as_mut_ptr(), &mut got),
            MB_OK
        );
        assert_eq!(got, 8);
        let s = stats(p);
        assert_eq!(s.available, 0);
        // Recycle one first so its id is stale in the batch.
        assert_eq!(mb_buffer_recycle(bufs[0].id), MB_OK);
        let ids = [
            bufs[0].id,     // stale
            bufs[1].id,     // good
            bufs[1].id,     // repeated in the same batch
            0,              // forged
            bufs[2].id ^ 1, // forged neighbour
            bufs[2].id,
            u64::MAX,
            bufs[3].id,
            bufs[4].id,
            bufs[4].id,
            bufs[5].id,
            bufs[6].id,
            bufs[7].id,
            bufs[7].id,
        ];
        let rc = mb_buffer_recycle_many(ids.as_ptr(), ids.len() as u32);
        let msg = refused(rc, MB_ERR_INVALID_HANDLE);
        assert!(msg.contains("7 of 14 ids refused"), "{msg}");
        assert!(msg.contains("ids[0]"), "{msg}");
        let s = stats(p);
        assert_eq!(s.available, 8, "every good buffer is back exactly once");
        assert_eq!(s.requested, 8);
        // None of them is recyclable again.
        for b in &bufs {
            refused(mb_buffer_recycle(b.id), MB_ERR_INVALID_HANDLE);
        }
        // A batch of only bad ids; then a batch whose only good ids repeat.
        let bad = [0u64, 1, 2, u64::MAX];
        refused(
            mb_buffer_recycle_many(bad.as_ptr(), 4),
            MB_ERR_INVALID_HANDLE,
        );
        let b = request(p);
        let twice = [b.id, b.id];
        let msg = refused(
            mb_buffer_recycle_many(twice.as_ptr(), 2),
            MB_ERR_INVALID_HANDLE,
        );
        assert!(msg.contains("1 of 2"), "{msg}");
        assert_eq!(stats(p).available, 8);
        // Null arrays.
        assert_eq!(mb_buffer_recycle_many(null(), 0), MB_OK);
        refused(mb_buffer_recycle_many(null(), 1), MB_ERR_NULL_POINTER);
        assert_eq!(mb_buffer_request_many(p, 0, null_mut(), &mut got), MB_OK);
        assert_eq!(got, 0);
        refused(
            mb_buffer_request_many(p, 1, null_mut(), &mut got),
            MB_ERR_NULL_POINTER,
        );
        refused(
            mb_buffer_request_many(p, 1, bufs.as_mut_ptr(), null_mut()),
            MB_ERR_NULL_POINTER,
        );
        assert_eq!(stats(p).available, 8);
        assert_eq!(mb_local_pool_free(p), MB_OK);
        balanced(rt);
        assert_eq!(mb_runtime_free(rt), MB_OK);
    }
}

#[test]
fn buffers_recycled_on_other_threads_after_their_pool_and_runtime_are_freed() {
    let rt = runtime();
    let p = pool(rt, 4, 4);
    let bufs: Vec<mb_buffer> = (0..4).map(|_| request(p)).collect();
    let ids: Vec<u64> = bufs.iter().map(|b| b.id).collect();
    // SAFETY: handles are checked tokens.
    unsafe {
        // Write into every buffer: it must stay valid until recycled.
        for b in &bufs {
            b.ptr.write_bytes(0x5A, b.capacity as usize);
        }
        assert_eq!(mb_local_pool_free(p), MB_OK);
        refused(mb_local_pool_free(p), MB_ERR_INVALID_HANDLE);
        let mut b = NO_BUFFER;
        refused(mb_buffer_request(p, &mut b), MB_ERR_INVALID_HANDLE);
        // One recycled on another thread with the pool gone, the runtime alive.
        let id0 = ids[0];
        std::thread::spawn(move || {
            assert_eq!(recycle(id0), MB_OK);
            assert_eq!(recycle(id0), MB_ERR_INVALID_HANDLE);
        })
        .join()
        .unwrap();
        assert_eq!(mb_runtime_free(rt), MB_OK);
        refused(mb_runtime_free(rt), MB_ERR_INVALID_HANDLE);
        for b in &bufs[1..] {
            assert!(
                core::slice::from_raw_parts(b.ptr, b.capacity as usize)
                    .iter()
                    .all(|&x| x == 0x5A),
                "a lent buffer stays valid after its runtime is freed"
            );
        }
        // The others recycled from several threads at once, each twice.
        let start = Arc::new(Barrier::new(3));
        let ok = Arc::new(AtomicUsize::new(0));
        let handles: Vec<_> = (0..3)
            .map(|_| {
                let (start, ok, ids) = (start.clone(), ok.clone(), ids.clone());
                std::thread::spawn(move || {
                    start.wait();
                    for &id in &ids[1..] {
                        match recycle(id) {
                            MB_OK => {
                                ok.fetch_add(1, Ordering::Relaxed);
                            }
                            rc => assert_eq!(rc, MB_ERR_INVALID_HANDLE),
                        }
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(ok.load(Ordering::Relaxed), 3, "each recycled exactly once");
    }
}

static CALLBACK_RAN: AtomicUsize = AtomicUsize::new(0);
static CALLBACK_STATUS: AtomicI32 = AtomicI32::new(1);
static CALLBACK_NESTED: AtomicI32 = AtomicI32::new(1);

/// A callback that frees the pool it was registered on (its address is `ctx`), then recycles
/// the buffer it got and asks the freed pool for another.
unsafe extern "C" fn frees_its_pool(ctx: *mut c_void, status: i32, buffer: *const mb_buffer) {
    CALLBACK_STATUS.store(status, Ordering::SeqCst);
    let p = ctx.cast::<mb_local_pool>();
    // SAFETY: checked handles; `buffer` is NULL or valid for this call.
    unsafe {
        let mut nested = mb_local_pool_free(p);
        if !buffer.is_null() {
            let id = (*buffer).id;
            nested |= mb_buffer_recycle(id);
            let mut b = NO_BUFFER;
            let again = mb_buffer_request(p, &mut b);
            assert_eq!(again, MB_ERR_INVALID_HANDLE);
        }
        CALLBACK_NESTED.store(nested, Ordering::SeqCst);
    }
    CALLBACK_RAN.fetch_add(1, Ordering::SeqCst);
}

/// A callback that frees the runtime (`ctx`) it runs under, and recycles its buffer.
unsafe extern "C" fn frees_its_runtime(ctx: *mut c_void, status: i32, buffer: *const mb_buffer) {
    CALLBACK_STATUS.store(status, Ordering::SeqCst);
    // SAFETY: checked handles; `buffer` is NULL or valid for this call.
    unsafe {
        let mut nested = mb_runtime_free(ctx.cast());
        if !buffer.is_null() {
            nested |= mb_buffer_recycle((*buffer).id);
        }
        CALLBACK_NESTED.store(nested, Ordering::SeqCst);
    }
    CALLBACK_RAN.fetch_add(1, Ordering::SeqCst);
}

// One test runs the callback scenarios: they share the statics above.
#[test]
fn callbacks_that_free_what_they_run_on() {
    // SAFETY: checked handles; the callbacks are safe to call once with their ctx.
    unsafe {
        // 1. A buffer is available at once: the callback runs inside the registering call and
        //    frees the pool from there.
        let rt = runtime();
        let p = pool(rt, 1, 1);
        let rc = mb_local_pool_on_available(p, Some(frees_its_pool), p.cast());
        assert_eq!(rc, MB_OK, "{}", last_error());
        assert_eq!(CALLBACK_RAN.swap(0, Ordering::SeqCst), 1);
        assert_eq!(CALLBACK_STATUS.load(Ordering::SeqCst), MB_OK);
        assert_eq!(CALLBACK_NESTED.load(Ordering::SeqCst), MB_OK);
        refused(mb_local_pool_free(p), MB_ERR_INVALID_HANDLE);
        balanced(rt);
        // 2. The callback waits; the buffer's recycle runs it, and it frees the pool.
        let p = pool(rt, 1, 1);
        let b = request(p);
        assert_eq!(
            mb_local_pool_on_available(p, Some(frees_its_pool), p.cast()),
            MB_OK
        );
        assert_eq!(CALLBACK_RAN.load(Ordering::SeqCst), 0);
        assert_eq!(mb_buffer_recycle(b.id), MB_OK, "{}", last_error());
        assert_eq!(CALLBACK_RAN.swap(0, Ordering::SeqCst), 1);
        assert_eq!(CALLBACK_STATUS.load(Ordering::SeqCst), MB_OK);
        assert_eq!(CALLBACK_NESTED.load(Ordering::SeqCst), MB_OK);
        balanced(rt);
        // 3. The callback waits; freeing the pool runs it with DESTROYED, and its own free of
        //    the pool is refused (already freed).
        let p = pool(rt, 1, 1);
        let b = request(p);
        assert_eq!(
            mb_local_pool_on_available(p, Some(frees_its_pool), p.cast()),
            MB_OK
        );
        assert_eq!(mb_local_pool_free(p), MB_OK);
        assert_eq!(CALLBACK_RAN.swap(0, Ordering::SeqCst), 1);
        assert_eq!(CALLBACK_STATUS.load(Ordering::SeqCst), MB_ERR_DESTROYED);
        assert_eq!(
            CALLBACK_NESTED.load(Ordering::SeqCst),
            MB_ERR_INVALID_HANDLE
        );
        assert_eq!(mb_buffer_recycle(b.id), MB_OK);
        balanced(rt);
        // 4. The callback frees the runtime from inside the recycle that runs it.
        let p = pool(rt, 1, 1);
        let b = request(p);
        assert_eq!(
            mb_local_pool_on_available(p, Some(frees_its_runtime), rt.cast()),
            MB_OK
        );
        assert_eq!(mb_buffer_recycle(b.id), MB_OK);
        assert_eq!(CALLBACK_RAN.swap(0, Ordering::SeqCst), 1);
        assert_eq!(CALLBACK_STATUS.load(Ordering::SeqCst), MB_OK);
        assert_eq!(CALLBACK_NESTED.load(Ordering::SeqCst), MB_OK);
        let mut b = NO_BUFFER;
        refused(mb_buffer_request(p, &mut b), MB_ERR_DESTROYED);
        refused(mb_runtime_free(rt), MB_ERR_INVALID_HANDLE);
        assert_eq!(mb_local_pool_free(p), MB_OK);
        // 5. The callback frees the runtime from inside the runtime's own free (DESTROYED).
        let rt = runtime();
        let p = pool(rt, 1, 1);
        let b = request(p);
        assert_eq!(
            mb_local_pool_on_available(p, Some(frees_its_runtime), rt.cast()),
            MB_OK
        );
        assert_eq!(mb_runtime_free(rt), MB_OK);
        assert_eq!(CALLBACK_RAN.swap(0, Ordering::SeqCst), 1);
        assert_eq!(CALLBACK_STATUS.load(Ordering::SeqCst), MB_ERR_DESTROYED);
        assert_eq!(
            CALLBACK_NESTED.load(Ordering::SeqCst),
            MB_ERR_INVALID_HANDLE
        );
        assert_eq!(mb_buffer_recycle(b.id), MB_OK);
        assert_eq!(mb_local_pool_free(p), MB_OK);
        // 6. Registering on a freed pool, and a NULL callback.
        let rt = runtime();
        let p = pool(rt, 1, 1);
        refused(
            mb_local_pool_on_available(p, None, null_mut()),
            MB_ERR_NULL_POINTER,
        );
        assert_eq!(mb_local_pool_free(p), MB_OK);
        refused(
            mb_local_pool_on_available(p, Some(frees_its_pool), p.cast()),
            MB_ERR_INVALID_HANDLE,
        );
        assert_eq!(CALLBACK_RAN.load(Ordering::SeqCst), 0);
        balanced(rt);
        assert_eq!(mb_runtime_free(rt), MB_OK);
    }
}

/// What the reclaim callbacks below act on: the child (`ctx` points to this).
struct Reclaim {
    rt: *mut mb_runtime,
    child: *mut mb_budget_child,
    held: AtomicU64,
    calls: AtomicUsize,
    nested: AtomicI32,
}

/// Releases what its child holds, after trying to reserve more through it (re-entrant).
unsafe extern "C" fn reclaim_reentrant(ctx: *mut c_void, category: u32, _bytes: u64) -> u64 {
    // SAFETY: `ctx` is a live `Reclaim` for the duration of the test.
    let r = unsafe { &*ctx.cast::<Reclaim>() };
    r.calls.fetch_add(1, Ordering::SeqCst);
    // SAFETY: checked handles.
    unsafe {
        let nested = mb_budget_child_reserve(r.child, category, 1);
        if nested == MB_OK {
            mb_budget_child_release(r.child, category, 1);
        }
        r.nested.store(nested, Ordering::SeqCst);
        let held = r.held.swap(0, Ordering::SeqCst);
        assert_eq!(mb_budget_child_release(r.child, category, held), MB_OK);
        held
    }
}

/// Frees its own child handle (what it reserved is released with it) and says so.
unsafe extern "C" fn reclaim_frees_itself(ctx: *mut c_void, _category: u32, _bytes: u64) -> u64 {
    // SAFETY: `ctx` is a live `Reclaim` for the duration of the test.
    let r = unsafe { &*ctx.cast::<Reclaim>() };
    r.calls.fetch_add(1, Ordering::SeqCst);
    // SAFETY: a checked handle.
    r.nested
        .store(unsafe { mb_budget_child_free(r.child) }, Ordering::SeqCst);
    r.held.swap(0, Ordering::SeqCst)
}

/// Frees the runtime the request runs under.
unsafe extern "C" fn reclaim_frees_runtime(ctx: *mut c_void, _category: u32, _bytes: u64) -> u64 {
    // SAFETY: `ctx` is a live `Reclaim` for the duration of the test.
    let r = unsafe { &*ctx.cast::<Reclaim>() };
    r.calls.fetch_add(1, Ordering::SeqCst);
    // SAFETY: a checked handle.
    r.nested
        .store(unsafe { mb_runtime_free(r.rt) }, Ordering::SeqCst);
    0
}

/// Claims to have freed far more than it did.
unsafe extern "C" fn reclaim_lies(ctx: *mut c_void, _category: u32, _bytes: u64) -> u64 {
    // SAFETY: `ctx` is a live `Reclaim` for the duration of the test.
    let r = unsafe { &*ctx.cast::<Reclaim>() };
    r.calls.fetch_add(1, Ordering::SeqCst);
    u64::MAX
}

fn limited_child(rt: *const mb_runtime, name: &str, limit: u64) -> *mut mb_budget_child {
    let name = std::ffi::CString::new(name).unwrap();
    let limits = [limit; 5];
    let mut c = null_mut();
    // SAFETY: valid name, limits and out-pointer.
    let rc =
        unsafe { mb_budget_child_new(rt, null(), name.as_ptr(), limits.as_ptr(), null(), &mut c) };
    assert_eq!(rc, MB_OK, "{}", last_error());
    c
}

fn child_under(parent: *const mb_budget_child, name: &str) -> *mut mb_budget_child {
    let name = std::ffi::CString::new(name).unwrap();
    let mut c = null_mut();
    // SAFETY: valid name and out-pointer.
    let rc = unsafe { mb_budget_child_new(null(), parent, name.as_ptr(), null(), null(), &mut c) };
    assert_eq!(rc, MB_OK, "{}", last_error());
    c
}

#[test]
fn reclaim_callbacks_that_reenter_free_themselves_free_the_runtime_or_lie() {
    const M: u32 = MB_CATEGORY_DIRECT;
    const LIMIT: u64 = 1000;
    // SAFETY: checked handles; each `Reclaim` outlives the callbacks registered with it.
    unsafe {
        let rt = runtime();
        let top = limited_child(rt, "top", LIMIT);
        let mk = |name: &str, held: u64, f: mb_reclaim_callback| {
            let c = child_under(top, name);
            assert_eq!(mb_budget_child_reserve(c, M, held), MB_OK);
            let r = Box::new(Reclaim {
                rt,
                child: c,
                held: AtomicU64::new(held),
                calls: AtomicUsize::new(0),
                nested: AtomicI32::new(1),
            });
            let r = Box::into_raw(r);
            assert_eq!(mb_budget_on_reclaim(c, f, r.cast()), MB_OK);
            r
        };
        let asker = child_under(top, "asker");
        // Re-entrant: reserving inside the callback must not deadlock; memory is freed.
        let a = mk("reentrant", 600, Some(reclaim_reentrant));
        assert_eq!(
            mb_budget_child_reserve(asker, M, 500),
            MB_OK,
            "{}",
            last_error()
        );
        assert_eq!((*a).calls.load(Ordering::SeqCst), 1);
        let nested = (*a).nested.load(Ordering::SeqCst);
        assert!(
            nested == MB_OK || nested == MB_ERR_QUOTA_EXCEEDED,
            "{nested}"
        );
        assert_eq!(mb_budget_child_release(asker, M, 500), MB_OK);
        let mut used = 0;
        assert_eq!(mb_budget_child_used(top, M, &mut used), MB_OK);
        assert_eq!(used, 0);
        assert_eq!(mb_budget_child_free((*a).child), MB_OK);
        drop(Box::from_raw(a));
        // A callback that frees its own child handle.
        let b = mk("self-freeing", 600, Some(reclaim_frees_itself));
        assert_eq!(
            mb_budget_child_reserve(asker, M, 500),
            MB_OK,
            "{}",
            last_error()
        );
        assert_eq!((*b).nested.load(Ordering::SeqCst), MB_OK);
        refused(mb_budget_child_free((*b).child), MB_ERR_INVALID_HANDLE);
        assert_eq!(mb_budget_child_release(asker, M, 500), MB_OK);
        assert_eq!(mb_budget_child_used(top, M, &mut used), MB_OK);
        assert_eq!(used, 0, "the freed child released what it held");
        // A liar: claims u64::MAX, frees nothing: refused after the wait, nothing charged.
        let l = mk("liar", 600, Some(reclaim_lies));
        assert_eq!(mb_budget_set_reclaim_wait(asker, 10), MB_OK);
        refused(
            mb_budget_child_reserve(asker, M, 500),
            MB_ERR_QUOTA_EXCEEDED,
        );
        assert!((*l).calls.load(Ordering::SeqCst) >= 1);
        assert_eq!(mb_budget_child_used(top, M, &mut used), MB_OK);
        assert_eq!(used, 600);
        assert_eq!(mb_budget_child_used(asker, M, &mut used), MB_OK);
        assert_eq!(used, 0);
        assert_eq!(mb_budget_child_free((*l).child), MB_OK);
        drop(Box::from_raw(l));
        // A callback that frees the runtime: the request answers DESTROYED or refused, and
        // nothing is left charged or crashes.
        let f = mk("runtime-freeing", 600, Some(reclaim_frees_runtime));
        let rc = mb_budget_child_reserve(asker, M, 500);
        assert!(
            rc == MB_ERR_DESTROYED || rc == MB_ERR_QUOTA_EXCEEDED,
            "{rc}: {}",
            last_error()
        );
        assert_eq!((*f).nested.load(Ordering::SeqCst), MB_OK);
        refused(mb_budget_child_reserve(asker, M, 1), MB_ERR_DESTROYED);
        assert_eq!(mb_budget_child_free((*f).child), MB_OK);
        assert_eq!(mb_budget_child_free(asker), MB_OK);
        assert_eq!(mb_budget_child_free(top), MB_OK);
        drop(Box::from_raw(f));
        drop(Box::from_raw(b));
    }
}

#[test]
fn calls_on_a_runtime_freed_by_another_thread_mid_use() {
    for _ in 0..20 {
        let rt = runtime();
        let p = pool(rt, 2, 8);
        let c = child(rt, "c");
        let (rt_a, p_a, c_a) = (rt.addr(), p.addr(), c.addr());
        let start = Arc::new(Barrier::new(4));
        let workers: Vec<_> = (0..3)
            .map(|_| {
                let start = start.clone();
                std::thread::spawn(move || {
                    let rt = core::ptr::without_provenance_mut::<mb_runtime>(rt_a);
                    let p = core::ptr::without_provenance_mut::<mb_local_pool>(p_a);
                    let c = core::ptr::without_provenance_mut::<mb_budget_child>(c_a);
                    start.wait();
                    let allowed = |rc: i32| {
                        rc == MB_OK || rc == MB_ERR_DESTROYED || rc == MB_ERR_INVALID_HANDLE
                    };
                    let unavailable_ok = |rc: i32| allowed(rc) || rc == MB_ERR_UNAVAILABLE;
                    for _ in 0..200 {
                        // SAFETY: checked handles; valid out-pointers.
                        unsafe {
                            let rc = mb_reserve(rt, MB_CATEGORY_HEAP, 64);
                            assert!(allowed(rc), "reserve {rc} {}", last_error());
                            if rc == MB_OK {
                                let rc = mb_release(rt, MB_CATEGORY_HEAP, 64);
                                assert!(allowed(rc), "release {rc} {}", last_error());
                            }
                            let mut b = NO_BUFFER;
                            let rc = mb_buffer_request(p, &mut b);
                            assert!(unavailable_ok(rc), "request {rc} {}", last_error());
                            if rc == MB_OK {
                                assert_eq!(mb_buffer_recycle(b.id), MB_OK);
                            }
                            let rc = mb_budget_child_reserve(c, MB_CATEGORY_DIRECT, 8);
                            assert!(allowed(rc), "child reserve {rc} {}", last_error());
                            if rc == MB_OK {
                                let rc = mb_budget_child_release(c, MB_CATEGORY_DIRECT, 8);
                                assert!(allowed(rc), "child release {rc} {}", last_error());
                            }
                            let mut s = [NO_SEGMENT];
                            let rc = mb_managed_allocate_pages(rt, 3, 1, s.as_mut_ptr());
                            assert!(allowed(rc), "pages {rc} {}", last_error());
                            if rc == MB_OK {
                                let rc = mb_managed_release(rt, s[0].id);
                                assert!(allowed(rc), "page release {rc} {}", last_error());
                            }
                            let mut u = mb_category_usage {
                                struct_size: core::mem::size_of::<mb_category_usage>() as u32,
                                ..Default::default()
                            };
                            let rc = mb_usage(rt, MB_CATEGORY_HEAP, &mut u);
                            assert!(allowed(rc), "usage {rc}");
                            let rc = mb_budget_report_json(rt, null(), null_mut(), 0, null_mut());
                            assert!(
                                rc == MB_ERR_BUFFER_TOO_SMALL || allowed(rc),
                                "report {rc} {}",
                                last_error()
                            );
                        }
                    }
                })
            })
            .collect();
        start.wait();
        std::thread::yield_now();
        // SAFETY: checked handles.
        unsafe {
            assert_eq!(mb_runtime_free(rt), MB_OK);
        }
        for w in workers {
            w.join().unwrap();
        }
        // SAFETY: checked handles.
        unsafe {
            assert_eq!(mb_local_pool_free(p), MB_OK);
            assert_eq!(mb_budget_child_free(c), MB_OK);
        }
    }
}

/// Claims to be freeing asynchronously (returns 0) and never does.
unsafe extern "C" fn reclaim_never(_ctx: *mut c_void, _category: u32, _bytes: u64) -> u64 {
    0
}

#[test]
fn a_request_waiting_for_reclaim_wakes_when_its_runtime_is_freed() {
    const M: u32 = MB_CATEGORY_DIRECT;
    let rt = runtime();
    let top = limited_child(rt, "top", 1000);
    let holder = child_under(top, "holder");
    let asker = child_under(top, "asker");
    // SAFETY: checked handles; the callback ignores its context.
    unsafe {
        assert_eq!(mb_budget_child_reserve(holder, M, 900), MB_OK);
        assert_eq!(
            mb_budget_on_reclaim(holder, Some(reclaim_never), null_mut()),
            MB_OK
        );
        assert_eq!(mb_budget_set_reclaim_wait(asker, 20_000), MB_OK);
    }
    let asker_a = asker.addr();
    let waiter = std::thread::spawn(move || {
        let asker = core::ptr::without_provenance::<mb_budget_child>(asker_a);
        let start = std::time::Instant::now();
        // SAFETY: a checked handle.
        let rc = unsafe { mb_budget_child_reserve(asker, M, 500) };
        (rc, start.elapsed(), last_error())
    });
    std::thread::sleep(std::time::Duration::from_millis(200));
    // SAFETY: checked handles.
    unsafe { assert_eq!(mb_runtime_free(rt), MB_OK) };
    let (rc, waited, msg) = waiter.join().unwrap();
    assert_eq!(rc, MB_ERR_DESTROYED, "{msg}");
    assert!(
        waited < std::time::Duration::from_secs(5),
        "woke when the runtime was freed, not after its reclaim wait: {waited:?}"
    );
    // SAFETY: checked handles.
    unsafe {
        assert_eq!(mb_budget_child_free(asker), MB_OK);
        assert_eq!(mb_budget_child_free(holder), MB_OK);
        assert_eq!(mb_budget_child_free(top), MB_OK);
    }
}

#[test]
fn freeing_a_child_while_other_threads_charge_it_leaves_nothing_charged() {
    const M: u32 = MB_CATEGORY_DIRECT;
    for _ in 0..20 {
        let rt = runtime();
        let top = limited_child(rt, "top", u64::MAX);
        let c = child_under(top, "c");
        let c_a = c.addr();
        let start = Arc::new(Barrier::new(4));
        let workers: Vec<_> = (0..3)
            .map(|_| {
                let start = start.clone();
                std::thread::spawn(move || {
                    let c = core::ptr::without_provenance::<mb_budget_child>(c_a);
                    start.wait();
                    for _ in 0..2000 {
                        // SAFETY: a checked handle.
                        let rc = unsafe { mb_budget_child_reserve(c, M, 16) };
                        match rc {
                            MB_OK => {
                                // SAFETY: a checked handle.
                                let rc = unsafe { mb_budget_child_release(c, M, 16) };
                                assert!(
                                    rc == MB_OK
                                        || rc == MB_ERR_DESTROYED
                                        || rc == MB_ERR_INVALID_HANDLE,
                                    "{rc} {}",
                                    last_error()
                                );
                            }
                            MB_ERR_DESTROYED | MB_ERR_INVALID_HANDLE => break,
                            rc => panic!("{rc} {}", last_error()),
                        }
                    }
                })
            })
            .collect();
        start.wait();
        // SAFETY: a checked handle.
        unsafe { assert_eq!(mb_budget_child_free(c), MB_OK) };
        for w in workers {
            w.join().unwrap();
        }
        let mut used = u64::MAX;
        // SAFETY: checked handles and a valid out-pointer.
        unsafe {
            assert_eq!(mb_budget_child_used(top, M, &mut used), MB_OK);
            assert_eq!(
                used, 0,
                "what the freed child's racing charges took is back"
            );
            assert_eq!(mb_budget_child_free(top), MB_OK);
        }
        balanced(rt);
        // SAFETY: a checked handle.
        unsafe { assert_eq!(mb_runtime_free(rt), MB_OK) };
    }
}

#[test]
fn blocks_and_pages_are_refused_on_the_wrong_runtime_and_when_interior() {
    let a = runtime();
    let b = runtime();
    // SAFETY: checked handles; blocks are looked up before any use.
    unsafe {
        let mut p = null_mut();
        assert_eq!(mb_alloc(a, MB_CATEGORY_DIRECT, 4096, 64, &mut p), MB_OK);
        refused(mb_free(b, p), MB_ERR_INVALID_ARGUMENT);
        refused(mb_free(a, p.add(1)), MB_ERR_INVALID_ARGUMENT);
        refused(mb_free(a, p.add(4096)), MB_ERR_INVALID_ARGUMENT);
        let mut local = 0u8;
        refused(mb_free(a, &mut local), MB_ERR_INVALID_ARGUMENT);
        assert_eq!(usage(a, MB_CATEGORY_DIRECT).host_allocated, 4096);
        assert_eq!(mb_free(a, p), MB_OK);
        refused(mb_free(a, p), MB_ERR_INVALID_ARGUMENT);
        assert_eq!(mb_free(a, null_mut()), MB_OK);
        refused(mb_free(null(), null_mut()), MB_ERR_NULL_POINTER);
        // Alignments: every power of two up to 64 KiB, none above.
        for shift in 0..=16 {
            let mut p = null_mut();
            let align = 1u64 << shift;
            assert_eq!(mb_alloc(a, MB_CATEGORY_OVERHEAD, 24, align, &mut p), MB_OK);
            assert_eq!(p.addr() as u64 % align, 0);
            assert_eq!(mb_free(a, p), MB_OK);
        }
        let mut p = null_mut();
        let msg = refused(
            mb_alloc(a, MB_CATEGORY_OVERHEAD, 24, 1 << 17, &mut p),
            MB_ERR_INVALID_ARGUMENT,
        );
        assert!(msg.contains("131072"), "{msg}");
        // A page of one runtime released on another.
        let s = page(a, 1);
        refused(mb_managed_release(b, s.id), MB_ERR_INVALID_ARGUMENT);
        assert_eq!(
            mb_managed_release_all(b, 1),
            MB_OK,
            "b's owner 1 holds nothing"
        );
        assert_eq!(usage(a, MB_CATEGORY_MANAGED).used, s.size);
        assert_eq!(mb_managed_release(a, s.id), MB_OK);
        refused(mb_managed_release(a, s.id), MB_ERR_INVALID_HANDLE);
        // A child of one runtime reported under the other.
        let c = child(a, "c");
        let mut need = 0usize;
        let msg = refused(
            mb_budget_report_json(b, c, null_mut(), 0, &mut need),
            MB_ERR_INVALID_ARGUMENT,
        );
        assert!(msg.contains("belongs to runtime"), "{msg}");
        let forged = core::ptr::without_provenance::<mb_runtime>(0x10_0000_0001);
        refused(
            mb_budget_report_json(forged, c, null_mut(), 0, &mut need),
            MB_ERR_INVALID_ARGUMENT,
        );
        let rc = mb_budget_report_json(a, c, null_mut(), 0, &mut need);
        assert_eq!(rc, MB_ERR_BUFFER_TOO_SMALL, "its own runtime: a size query");
        let rc = mb_budget_report_json(null(), c, null_mut(), 0, &mut need);
        assert_eq!(rc, MB_ERR_BUFFER_TOO_SMALL, "NULL: the child's own runtime");
        assert_eq!(mb_budget_child_free(c), MB_OK);
        balanced(a);
        balanced(b);
        assert_eq!(mb_runtime_free(a), MB_OK);
        assert_eq!(mb_runtime_free(b), MB_OK);
    }
}

static MANY_CALLS: AtomicUsize = AtomicUsize::new(0);
static MANY_DESTROYED: AtomicUsize = AtomicUsize::new(0);

unsafe extern "C" fn counts(_ctx: *mut c_void, status: i32, buffer: *const mb_buffer) {
    MANY_CALLS.fetch_add(1, Ordering::SeqCst);
    if status == MB_ERR_DESTROYED {
        assert!(buffer.is_null());
        MANY_DESTROYED.fetch_add(1, Ordering::SeqCst);
    } else {
        assert_eq!(status, MB_OK);
        // SAFETY: a buffer the callee owns now.
        assert_eq!(unsafe { mb_buffer_recycle((*buffer).id) }, MB_OK);
    }
}

#[test]
fn many_waiting_callbacks_each_run_once() {
    let rt = runtime();
    let p = pool(rt, 1, 1);
    let b = request(p);
    // SAFETY: checked handles; the callback may run on any thread.
    unsafe {
        for _ in 0..1000 {
            assert_eq!(
                mb_local_pool_on_available(p, Some(counts), null_mut()),
                MB_OK
            );
        }
        // The recycle hands the buffer to the first callback, which recycles it to the next...
        assert_eq!(mb_buffer_recycle(b.id), MB_OK);
        assert_eq!(MANY_CALLS.load(Ordering::SeqCst), 1000, "each ran once");
        assert_eq!(MANY_DESTROYED.load(Ordering::SeqCst), 0);
        for _ in 0..10 {
            let b = request(p);
            assert_eq!(
                mb_local_pool_on_available(p, Some(counts), null_mut()),
                MB_OK
            );
            assert_eq!(
                mb_local_pool_on_available(p, Some(counts), null_mut()),
                MB_OK
            );
            assert_eq!(mb_buffer_recycle(b.id), MB_OK);
        }
        assert_eq!(MANY_CALLS.load(Ordering::SeqCst), 1020);
        let b = request(p);
        for _ in 0..100 {
            assert_eq!(
                mb_local_pool_on_available(p, Some(counts), null_mut()),
                MB_OK
            );
        }
        assert_eq!(mb_runtime_free(rt), MB_OK);
        assert_eq!(MANY_DESTROYED.load(Ordering::SeqCst), 100);
        assert_eq!(mb_buffer_recycle(b.id), MB_OK);
        assert_eq!(MANY_CALLS.load(Ordering::SeqCst), 1120);
        assert_eq!(stats(p).destroyed, 1);
        assert_eq!(mb_local_pool_free(p), MB_OK);
    }
}

/// What a self-renewing callback works on: the pool (as an address) and how many rounds are left.
struct Renewing {
    pool: usize,
    left: AtomicUsize,
    ran: AtomicUsize,
    failed: AtomicI32,
}

/// An async host's loop: each buffer's callback registers the next request, then recycles the
/// buffer (which serves that request at once, on this thread).
unsafe extern "C" fn renews(ctx: *mut c_void, status: i32, buffer: *const mb_buffer) {
    // SAFETY: `ctx` is a live `Renewing` until the test ends.
    let r = unsafe { &*ctx.cast::<Renewing>() };
    r.ran.fetch_add(1, Ordering::SeqCst);
    if status != MB_OK {
        r.failed.store(status, Ordering::SeqCst);
        return;
    }
    let pool = core::ptr::without_provenance::<mb_local_pool>(r.pool);
    // SAFETY: checked handles; `buffer` is valid for this call.
    unsafe {
        let id = (*buffer).id;
        if r.left.fetch_sub(1, Ordering::SeqCst) > 1 {
            let rc = mb_local_pool_on_available(pool, Some(renews), ctx);
            if rc != MB_OK {
                r.failed.store(rc, Ordering::SeqCst);
            }
        }
        let rc = mb_buffer_recycle(id);
        if rc != MB_OK {
            r.failed.store(rc, Ordering::SeqCst);
        }
    }
}

#[test]
fn a_callback_that_requests_again_and_recycles_runs_in_constant_stack() {
    const ROUNDS: usize = 100_000;
    let rt = runtime();
    let p = pool(rt, 1, 1);
    let r = Renewing {
        pool: p.addr(),
        left: AtomicUsize::new(ROUNDS),
        ran: AtomicUsize::new(0),
        failed: AtomicI32::new(MB_OK),
    };
    let ctx = (&r as *const Renewing).cast_mut().cast();
    // SAFETY: checked handles; `r` outlives every callback (all run before the free below).
    unsafe {
        let b = request(p);
        assert_eq!(mb_local_pool_on_available(p, Some(renews), ctx), MB_OK);
        assert_eq!(mb_buffer_recycle(b.id), MB_OK);
        assert_eq!(r.ran.load(Ordering::SeqCst), ROUNDS);
        assert_eq!(r.failed.load(Ordering::SeqCst), MB_OK);
        assert_eq!(stats(p).available, 1, "the last buffer is back");
        assert_eq!(mb_local_pool_free(p), MB_OK);
        balanced(rt);
        assert_eq!(mb_runtime_free(rt), MB_OK);
    }
}

#[test]
fn releasing_pages_by_id_and_by_owner_at_once_returns_each_page_once() {
    const PAGES: u32 = 256;
    for _ in 0..20 {
        let rt = runtime();
        let mut segs = vec![NO_SEGMENT; PAGES as usize];
        // SAFETY: `segs` has room for PAGES segments.
        let rc = unsafe { mb_managed_allocate_pages(rt, 7, PAGES, segs.as_mut_ptr()) };
        assert_eq!(rc, MB_OK, "{}", last_error());
        let ids: Vec<u64> = segs.iter().map(|s| s.id).collect();
        let rt_a = rt.addr();
        let start = Arc::new(Barrier::new(3));
        let by_id = {
            let start = start.clone();
            std::thread::spawn(move || {
                let rt = core::ptr::without_provenance::<mb_runtime>(rt_a);
                start.wait();
                let mut ok = 0;
                for id in ids {
                    // SAFETY: a checked handle and id.
                    match unsafe { mb_managed_release(rt, id) } {
                        MB_OK => ok += 1,
                        rc => assert_eq!(rc, MB_ERR_INVALID_HANDLE, "{}", last_error()),
                    }
                }
                ok
            })
        };
        let by_owner = {
            let start = start.clone();
            std::thread::spawn(move || {
                let rt = core::ptr::without_provenance::<mb_runtime>(rt_a);
                start.wait();
                // SAFETY: a checked handle.
                assert_eq!(unsafe { mb_managed_release_all(rt, 7) }, MB_OK);
            })
        };
        start.wait();
        let _released_by_id = by_id.join().unwrap();
        by_owner.join().unwrap();
        assert_eq!(
            usage(rt, MB_CATEGORY_MANAGED).used,
            0,
            "every page back once"
        );
        // Every page can be taken again, each once.
        let total = usage(rt, MB_CATEGORY_MANAGED).quota / segs[0].size;
        let mut again = vec![NO_SEGMENT; total as usize];
        // SAFETY: `again` has room for `total` segments.
        let rc = unsafe { mb_managed_allocate_pages(rt, 8, total as u32, again.as_mut_ptr()) };
        assert_eq!(rc, MB_OK, "{}", last_error());
        let mut ptrs: Vec<usize> = again.iter().map(|s| s.ptr.addr()).collect();
        ptrs.sort_unstable();
        ptrs.dedup();
        assert_eq!(ptrs.len(), total as usize, "no page handed out twice");
        // SAFETY: checked handles.
        unsafe {
            assert_eq!(mb_managed_release_all(rt, 8), MB_OK);
            balanced(rt);
            assert_eq!(mb_runtime_free(rt), MB_OK);
        }
    }
}

#[test]
fn a_property_key_with_whitespace_is_not_the_option_as_in_flink() {
    let props = [
        c"taskmanager.memory.process.size=1g".as_ptr(),
        c" taskmanager.memory.managed.fraction =0.9".as_ptr(),
    ];
    let base = mb_runtime_options {
        properties: props.as_ptr(),
        properties_len: 2,
        ignore_container: 1,
        ..Default::default()
    };
    let rt = runtime_with(&base).unwrap();
    let mut need = 0usize;
    // SAFETY: a size query, then a buffer of that size.
    let json = unsafe {
        assert_eq!(
            mb_plan_json(rt, null_mut(), 0, &mut need),
            MB_ERR_BUFFER_TOO_SMALL
        );
        let mut buf = vec![0u8; need];
        assert_eq!(
            mb_plan_json(rt, buf.as_mut_ptr().cast(), need, null_mut()),
            MB_OK
        );
        buf.pop();
        String::from_utf8(buf).unwrap()
    };
    let plan: serde_json::Value = serde_json::from_str(&json).unwrap();
    let usage_managed = usage(rt, MB_CATEGORY_MANAGED).quota;
    assert_eq!(plan["managed"], usage_managed);
    assert_eq!(
        plan["sources"]["taskmanager.memory.managed.fraction"], "default",
        "not applied, as Flink would not: {json}"
    );
    let warnings = plan["warnings"].to_string();
    assert!(warnings.contains("whitespace around it"), "{warnings}");
    // SAFETY: a checked handle.
    unsafe { assert_eq!(mb_runtime_free(rt), MB_OK) };
    // Under strict it is an error.
    let e = runtime_with(&mb_runtime_options { strict: 1, ..base }).unwrap_err();
    assert_eq!(e.0, MB_ERR_CONFIG, "{}", e.1);
    assert!(e.1.contains("whitespace around it"), "{}", e.1);
}

#[test]
fn one_batch_recycles_buffers_of_several_pools_and_runtimes_each_to_its_own() {
    let a = runtime();
    let b = runtime();
    let (pa1, pa2, pb) = (pool(a, 3, 3), pool(a, 2, 2), pool(b, 4, 4));
    let mut ids = Vec::new();
    for (p, n) in [(pa1, 3), (pa2, 2), (pb, 4)] {
        for _ in 0..n {
            ids.push(request(p).id);
        }
    }
    // Interleaved pools (pa1: 0..3, pa2: 3..5, pb: 5..9), with pool pa2 and runtime b freed
    // first (their lent buffers stay valid), and one id of pb repeated.
    let mixed: Vec<u64> = [0, 3, 5, 1, 4, 6, 2, 7, 8, 7].map(|i| ids[i]).to_vec();
    // SAFETY: checked handles and ids; `mixed` is valid for its length.
    unsafe {
        assert_eq!(mb_local_pool_free(pa2), MB_OK);
        assert_eq!(mb_runtime_free(b), MB_OK);
        let rc = mb_buffer_recycle_many(mixed.as_ptr(), mixed.len() as u32);
        let msg = refused(rc, MB_ERR_INVALID_HANDLE);
        assert!(
            msg.starts_with("mb_buffer_recycle_many: 1 of 10 ids refused"),
            "{msg}"
        );
        for id in &ids {
            refused(mb_buffer_recycle(*id), MB_ERR_INVALID_HANDLE);
        }
        assert_eq!(stats(pa1).available, 3, "pa1's buffers are back in pa1");
        assert_eq!(mb_local_pool_free(pa1), MB_OK);
        assert_eq!(mb_local_pool_free(pb), MB_OK);
        balanced(a);
        let net = usage(a, MB_CATEGORY_NETWORK);
        assert_eq!(net.used, net.quota);
        assert_eq!(mb_runtime_free(a), MB_OK);
    }
}

#[test]
fn racing_frees_of_one_handle_succeed_exactly_once() {
    for _ in 0..50 {
        let rt = runtime();
        let p = pool(rt, 1, 2);
        let c = child(rt, "c");
        let held = request(p);
        let (rt_a, p_a, c_a) = (rt.addr(), p.addr(), c.addr());
        let start = Arc::new(Barrier::new(4));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let start = start.clone();
                std::thread::spawn(move || {
                    start.wait();
                    // SAFETY: checked handles.
                    unsafe {
                        [
                            mb_local_pool_free(core::ptr::without_provenance_mut(p_a)),
                            mb_budget_child_free(core::ptr::without_provenance_mut(c_a)),
                            mb_runtime_free(core::ptr::without_provenance_mut(rt_a)),
                        ]
                    }
                })
            })
            .collect();
        let results: Vec<[i32; 3]> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        for which in 0..3 {
            let ok = results.iter().filter(|r| r[which] == MB_OK).count();
            assert_eq!(ok, 1, "handle {which}: {results:?}");
            assert!(results
                .iter()
                .all(|r| r[which] == MB_OK || r[which] == MB_ERR_INVALID_HANDLE));
        }
        assert_eq!(recycle(held.id), MB_OK, "a lent buffer outlives every free");
    }
}
