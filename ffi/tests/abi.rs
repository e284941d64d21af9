//! The C ABI driven from Rust: every function, its error paths, and balanced accounting.
// Each test walks a sequence of C calls in one `unsafe` block with one SAFETY argument.
#![allow(clippy::multiple_unsafe_ops_per_block)]

use core::ffi::{c_char, c_void};
use core::ptr::{null, null_mut};
use membudget::*;
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};

mod common;
use common::last_error;

/// A TaskManager runtime of 1 GiB process memory, no container, no environment.
fn runtime_with(props: &[&str]) -> Result<*mut mb_runtime, (i32, String)> {
    let owned: Vec<std::ffi::CString> = ["taskmanager.memory.process.size=1g"]
        .iter()
        .chain(props)
        .map(|s| std::ffi::CString::new(*s).unwrap())
        .collect();
    let ptrs: Vec<*const c_char> = owned.iter().map(|c| c.as_ptr()).collect();
    let opts = mb_runtime_options {
        properties: ptrs.as_ptr(),
        properties_len: ptrs.len() as u32,
        ignore_container: 1,
        ..Default::default()
    };
    let mut rt = null_mut();
    // SAFETY: valid options and out-pointer.
    match unsafe { mb_runtime_new(&opts, &mut rt) } {
        MB_OK => Ok(rt),
        rc => Err((rc, last_error())),
    }
}

fn usage(rt: *const mb_runtime, category: u32) -> mb_category_usage {
    let mut u = mb_category_usage {
        struct_size: core::mem::size_of::<mb_category_usage>() as u32,
        ..Default::default()
    };
    // SAFETY: valid out struct.
    assert_eq!(unsafe { mb_usage(rt, category, &mut u) }, MB_OK);
    u
}

#[test]
fn abi_version_and_plan() {
    assert_eq!(mb_abi_version(), MB_ABI_VERSION);
    let rt = runtime_with(&[]).unwrap();
    let mut need = 0;
    // SAFETY: size query.
    assert_eq!(
        // SAFETY: valid (or deliberately NULL/forged) arguments for the call.
        unsafe { mb_plan_json(rt, null_mut(), 0, &mut need) },
        MB_ERR_BUFFER_TOO_SMALL
    );
    let mut buf = vec![0u8; need];
    // SAFETY: `buf` has `need` bytes.
    assert_eq!(
        // SAFETY: valid (or deliberately NULL/forged) arguments for the call.
        unsafe { mb_plan_json(rt, buf.as_mut_ptr().cast(), need, &mut need) },
        MB_OK
    );
    let json = std::str::from_utf8(&buf[..need - 1]).unwrap();
    let plan = membudget_model::PlanRequest::new(membudget_model::Role::TaskManager)
        .container(false)
        .distribution_defaults(false)
        .environment(false)
        .property("taskmanager.memory.process.size", "1g")
        .plan()
        .unwrap();
    assert_eq!(
        json,
        plan.to_json_string(),
        "the CLI's JSON, made in one place"
    );
    let mut small = [0u8; 8];
    // SAFETY: `small` has 8 bytes.
    let rc = unsafe { mb_jvm_args(rt, small.as_mut_ptr().cast(), 8, &mut need) };
    assert_eq!(rc, MB_ERR_BUFFER_TOO_SMALL);
    assert_eq!(&small, b"-Xmx161\0");
    assert!(last_error().starts_with("mb_jvm_args: a buffer of 8 bytes is too small"));
    // Quotas come from the plan.
    assert_eq!(usage(rt, MB_CATEGORY_DIRECT).quota, 134217728);
    // The network pool is allocated up front, as in Flink.
    assert_eq!(usage(rt, MB_CATEGORY_NETWORK).used, 2048 * 32768);
    // SAFETY: a live handle.
    assert_eq!(unsafe { mb_runtime_free(rt) }, MB_OK);
}

#[test]
fn runtime_errors() {
    let (rc, msg) = runtime_with(&["taskmanager.memory.process.size=64m"]).unwrap_err();
    assert_eq!(rc, MB_ERR_CONFIG);
    assert!(
        msg.starts_with("TaskManager memory configuration failed"),
        "{msg}"
    );
    // SAFETY: NULL out.
    assert_eq!(
        // SAFETY: valid (or deliberately NULL/forged) arguments for the call.
        unsafe { mb_runtime_new(null(), null_mut()) },
        MB_ERR_NULL_POINTER
    );
    assert_eq!(last_error(), "mb_runtime_new: argument 'out' is NULL");
    let opts = mb_runtime_options {
        role: 7,
        ..Default::default()
    };
    let mut rt = null_mut();
    // SAFETY: valid struct.
    assert_eq!(
        // SAFETY: valid (or deliberately NULL/forged) arguments for the call.
        unsafe { mb_runtime_new(&opts, &mut rt) },
        MB_ERR_INVALID_ARGUMENT
    );
    // SAFETY: NULL is a no-op; forged handles are refused.
    unsafe {
        assert_eq!(mb_runtime_free(null_mut()), MB_OK);
        assert_eq!(
            mb_runtime_free(0x1234 as *mut mb_runtime),
            MB_ERR_INVALID_HANDLE
        );
        assert_eq!(
            mb_reserve(usize::MAX as *const mb_runtime, 0, 1),
            MB_ERR_INVALID_HANDLE
        );
    }
    let rt = runtime_with(&[]).unwrap();
    // SAFETY: double free is refused.
    unsafe {
        assert_eq!(mb_runtime_free(rt), MB_OK);
        assert_eq!(mb_runtime_free(rt), MB_ERR_INVALID_HANDLE);
        assert_eq!(mb_reserve(rt, 0, 1), MB_ERR_INVALID_HANDLE);
    }
    assert!(last_error().contains("already freed"), "{}", last_error());
}

#[test]
fn reserve_release_alloc_free() {
    let rt = runtime_with(&[]).unwrap();
    let quota = usage(rt, MB_CATEGORY_DIRECT).quota;
    // SAFETY: all pointers valid or deliberately NULL.
    unsafe {
        assert_eq!(
            mb_reserve(rt, MB_CATEGORY_DIRECT, quota + 1),
            MB_ERR_QUOTA_EXCEEDED
        );
        assert_eq!(
            last_error(),
            format!(
                "Cannot reserve {} bytes of direct memory (used: 0, quota: {quota}). Increase \
                 'taskmanager.memory.task.off-heap.size' (or \
                 'taskmanager.memory.framework.off-heap.size').",
                quota + 1
            )
        );
        assert_eq!(mb_reserve(rt, 9, 1), MB_ERR_INVALID_ARGUMENT);
        assert_eq!(mb_reserve(rt, MB_CATEGORY_DIRECT, 1000), MB_OK);
        assert_eq!(
            mb_release(rt, MB_CATEGORY_DIRECT, 1001),
            MB_ERR_INVALID_ARGUMENT
        );
        let mut p = null_mut();
        assert_eq!(mb_alloc(rt, MB_CATEGORY_DIRECT, 4096, 64, &mut p), MB_OK);
        assert_eq!(p as usize % 64, 0);
        p.write_bytes(0xAB, 4096);
        let u = usage(rt, MB_CATEGORY_DIRECT);
        assert_eq!(
            (u.used, u.host_reserved, u.host_allocated),
            (5096, 1000, 4096)
        );
        assert_eq!(
            mb_alloc(rt, MB_CATEGORY_DIRECT, quota, 8, &mut p),
            MB_ERR_QUOTA_EXCEEDED
        );
        assert_eq!(
            mb_alloc(rt, MB_CATEGORY_DIRECT, 0, 8, &mut p),
            MB_ERR_INVALID_ARGUMENT
        );
        assert_eq!(
            mb_alloc(rt, MB_CATEGORY_DIRECT, 8, 3, &mut p),
            MB_ERR_INVALID_ARGUMENT
        );
        assert_eq!(
            mb_alloc(rt, MB_CATEGORY_DIRECT, 8, 8, null_mut()),
            MB_ERR_NULL_POINTER
        );
        let mut q = null_mut();
        assert_eq!(mb_alloc(rt, MB_CATEGORY_HEAP, 100, 8, &mut q), MB_OK);
        assert_eq!(mb_free(rt, q), MB_OK);
        assert_eq!(
            mb_free(rt, q),
            MB_ERR_INVALID_ARGUMENT,
            "double free refused"
        );
        assert_eq!(mb_free(rt, null_mut()), MB_OK);
        assert_eq!(mb_free(rt, 0x10 as *mut u8), MB_ERR_INVALID_ARGUMENT);
        assert_eq!(mb_release(rt, MB_CATEGORY_DIRECT, 1000), MB_OK);
        // `p` is still held: freeing the runtime frees it and balances the books.
        assert_eq!(usage(rt, MB_CATEGORY_DIRECT).used, 4096);
        assert_eq!(usage(rt, MB_CATEGORY_HEAP).used, 0);
        let mut u = mb_category_usage {
            struct_size: 4,
            ..Default::default()
        };
        assert_eq!(mb_usage(rt, 0, &mut u), MB_ERR_INVALID_ARGUMENT);
        // Whole fields only: a size ending inside `used` is refused, and nothing is written.
        u.struct_size = 12;
        assert_eq!(
            mb_usage(rt, MB_CATEGORY_DIRECT, &mut u),
            MB_ERR_INVALID_ARGUMENT
        );
        assert!(
            last_error().contains("ends inside field 'used' (bytes 8..16)"),
            "{}",
            last_error()
        );
        assert_eq!((u.category, u.used), (0, 0));
        // An older host's shorter struct gets its fields only; a newer host's longer one gets
        // zeros past ours.
        u.struct_size = 16;
        u.peak = 77;
        assert_eq!(mb_usage(rt, MB_CATEGORY_DIRECT, &mut u), MB_OK);
        assert_eq!((u.category, u.used, u.peak), (MB_CATEGORY_DIRECT, 4096, 77));
        let mut longer = [0xFFu64; 12];
        longer[0] = 96;
        assert_eq!(
            mb_usage(rt, MB_CATEGORY_DIRECT, longer.as_mut_ptr().cast()),
            MB_OK
        );
        assert_eq!(longer[0], 96 | (u64::from(MB_CATEGORY_DIRECT) << 32));
        assert_eq!(longer[1], 4096);
        assert_eq!(&longer[9..], &[0, 0, 0]);
        assert_eq!(mb_usage(rt, 0, null_mut()), MB_ERR_NULL_POINTER);
        assert_eq!(mb_runtime_free(rt), MB_OK);
    }
}

#[test]
fn managed_pages() {
    let rt = runtime_with(&[]).unwrap();
    let other = runtime_with(&[]).unwrap();
    let mut segs = [mb_segment {
        ptr: null_mut(),
        size: 0,
        id: 0,
    }; 4];
    // SAFETY: `segs` has room for 4.
    unsafe {
        assert_eq!(
            mb_managed_allocate_pages(rt, 7, 4, segs.as_mut_ptr()),
            MB_OK
        );
        for s in &segs {
            assert_eq!(s.size, 32768);
            s.ptr.write_bytes(1, s.size as usize);
        }
        assert_eq!(usage(rt, MB_CATEGORY_MANAGED).used, 4 * 32768);
        assert_eq!(
            mb_managed_release(other, segs[0].id),
            MB_ERR_INVALID_ARGUMENT
        );
        assert_eq!(mb_managed_release(rt, segs[0].id), MB_OK);
        assert_eq!(mb_managed_release(rt, segs[0].id), MB_ERR_INVALID_HANDLE);
        assert_eq!(mb_managed_release(rt, 12345), MB_ERR_INVALID_HANDLE);
        assert_eq!(usage(rt, MB_CATEGORY_MANAGED).used, 3 * 32768);
        assert_eq!(mb_managed_release_all(rt, 7), MB_OK);
        assert_eq!(mb_managed_release(rt, segs[1].id), MB_ERR_INVALID_HANDLE);
        assert_eq!(usage(rt, MB_CATEGORY_MANAGED).used, 0);
        let too_many = (usage(rt, MB_CATEGORY_MANAGED).quota / 32768 + 1) as u32;
        let mut big = vec![segs[0]; too_many as usize];
        assert_eq!(
            mb_managed_allocate_pages(rt, 1, too_many, big.as_mut_ptr()),
            MB_ERR_QUOTA_EXCEEDED
        );
        assert_eq!(
            mb_managed_allocate_pages(rt, 1, 1, null_mut()),
            MB_ERR_NULL_POINTER
        );
        // Pages still held when the runtime goes are returned with it.
        assert_eq!(
            mb_managed_allocate_pages(rt, 2, 2, segs.as_mut_ptr()),
            MB_OK
        );
        assert_eq!(mb_runtime_free(rt), MB_OK);
        assert_eq!(mb_managed_release(other, segs[0].id), MB_ERR_INVALID_HANDLE);
        assert_eq!(mb_runtime_free(other), MB_OK);
    }
}

const EMPTY: mb_buffer = mb_buffer {
    ptr: null_mut(),
    capacity: 0,
    id: 0,
};

#[test]
fn buffers_request_recycle_and_errors() {
    let rt = runtime_with(&[]).unwrap();
    let mut pool = null_mut();
    // SAFETY: valid handles and out-pointers throughout.
    unsafe {
        assert_eq!(
            mb_local_pool_new(rt, 5, 1, &mut pool),
            MB_ERR_INVALID_ARGUMENT
        );
        assert_eq!(mb_local_pool_new(rt, 1, 2, &mut pool), MB_OK);
        let (mut a, mut b, mut c) = (EMPTY, EMPTY, EMPTY);
        assert_eq!(mb_buffer_request(pool, &mut a), MB_OK);
        assert_eq!(a.capacity, 32768);
        a.ptr.write_bytes(7, a.capacity as usize);
        assert_eq!(mb_buffer_request(pool, &mut b), MB_OK);
        assert_eq!(mb_buffer_request(pool, &mut c), MB_ERR_UNAVAILABLE);
        assert!(
            last_error().contains("has no buffer available (2 of 2 in use)"),
            "{}",
            last_error()
        );
        assert_eq!(mb_buffer_request_timeout(pool, 20, &mut c), MB_ERR_TIMEOUT);
        assert_eq!(mb_buffer_recycle(a.id), MB_OK);
        assert_eq!(
            mb_buffer_recycle(a.id),
            MB_ERR_INVALID_HANDLE,
            "double recycle"
        );
        assert_eq!(mb_buffer_recycle(0), MB_ERR_INVALID_HANDLE);
        assert_eq!(mb_buffer_recycle(u64::MAX), MB_ERR_INVALID_HANDLE);
        assert_eq!(mb_buffer_request_timeout(pool, 20, &mut c), MB_OK);
        assert_eq!(mb_buffer_request(pool, null_mut()), MB_ERR_NULL_POINTER);
        assert_eq!(mb_buffer_request(null(), &mut c), MB_ERR_NULL_POINTER);
        assert_eq!(
            mb_buffer_request(rt.cast(), &mut c),
            MB_ERR_INVALID_HANDLE,
            "runtime is not a pool"
        );
        // Free the pool with buffers out: they stay valid and return on recycle.
        assert_eq!(mb_local_pool_free(pool), MB_OK);
        assert_eq!(mb_local_pool_free(pool), MB_ERR_INVALID_HANDLE);
        assert_eq!(mb_local_pool_free(null_mut()), MB_OK);
        assert_eq!(mb_buffer_request(pool, &mut a), MB_ERR_INVALID_HANDLE);
        b.ptr.write_bytes(1, 10);
        assert_eq!(mb_buffer_recycle(b.id), MB_OK);
        assert_eq!(mb_buffer_recycle(c.id), MB_OK);
        assert_eq!(mb_runtime_free(rt), MB_OK);
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

/// Waits until `waiters` threads are blocked in a request on `pool` (observed through
/// `mb_local_pool_stats`, not assumed after a sleep); fails after 10 s.
fn await_waiters(pool: *const mb_local_pool, waiters: u64) {
    let start = std::time::Instant::now();
    while stats(pool).waiters != waiters {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(10),
            "{waiters} waiter(s) never blocked: {:?}",
            stats(pool)
        );
        std::thread::yield_now();
    }
}

#[test]
fn blocked_request_wakes_on_recycle_and_on_free() {
    let rt = runtime_with(&[]).unwrap();
    let mut pool = null_mut();
    let mut a = EMPTY;
    // SAFETY: valid handles and out-pointers throughout.
    unsafe {
        assert_eq!(mb_local_pool_new(rt, 1, 1, &mut pool), MB_OK);
        assert_eq!(mb_buffer_request(pool, &mut a), MB_OK);
    }
    assert_eq!(
        stats(pool),
        mb_pool_stats {
            struct_size: core::mem::size_of::<mb_pool_stats>() as u32,
            destroyed: 0,
            num_buffers: 1,
            requested: 1,
            available: 0,
            waiters: 0,
            min_buffers: 1,
            max_buffers: 1,
        }
    );
    let p = pool as usize;
    let waiter = std::thread::spawn(move || {
        let mut b = EMPTY;
        // SAFETY: valid pool handle value and out-pointer.
        let rc = unsafe {
            mb_buffer_request_timeout(p as *const mb_local_pool, MB_WAIT_FOREVER, &mut b)
        };
        (rc, b.id)
    });
    await_waiters(pool, 1);
    assert!(!waiter.is_finished(), "the waiter is blocked, not done");
    // SAFETY: a live id.
    assert_eq!(unsafe { mb_buffer_recycle(a.id) }, MB_OK);
    let (rc, id) = waiter.join().unwrap();
    assert_eq!(rc, MB_OK);
    assert_eq!(stats(pool).waiters, 0);
    let waiter = std::thread::spawn(move || {
        let mut b = EMPTY;
        // SAFETY: as above.
        unsafe { mb_buffer_request_timeout(p as *const mb_local_pool, 10_000, &mut b) }
    });
    await_waiters(pool, 1);
    // SAFETY: live handles.
    unsafe {
        assert_eq!(mb_local_pool_free(pool), MB_OK);
        assert_eq!(waiter.join().unwrap(), MB_ERR_DESTROYED);
        assert_eq!(mb_buffer_recycle(id), MB_OK);
        assert_eq!(usage(rt, MB_CATEGORY_NETWORK).used, 2048 * 32768);
        assert_eq!(mb_runtime_free(rt), MB_OK);
    }
}

#[test]
fn freeing_the_runtime_wakes_blocked_requests_with_destroyed() {
    let rt = runtime_with(&[]).unwrap();
    let mut pool = null_mut();
    let mut a = EMPTY;
    // SAFETY: valid handles and out-pointers throughout.
    unsafe {
        assert_eq!(mb_local_pool_new(rt, 1, 1, &mut pool), MB_OK);
        assert_eq!(mb_buffer_request(pool, &mut a), MB_OK);
    }
    let p = pool as usize;
    let waiters: Vec<_> = (0..2)
        .map(|_| {
            std::thread::spawn(move || {
                let mut b = EMPTY;
                // SAFETY: valid pool handle value and out-pointer.
                unsafe {
                    mb_buffer_request_timeout(p as *const mb_local_pool, MB_WAIT_FOREVER, &mut b)
                }
            })
        })
        .collect();
    await_waiters(pool, 2);
    // SAFETY: live handles.
    unsafe {
        assert_eq!(mb_runtime_free(rt), MB_OK);
        for w in waiters {
            assert_eq!(w.join().unwrap(), MB_ERR_DESTROYED);
        }
        let s = stats(pool);
        assert_eq!((s.destroyed, s.waiters), (1, 0));
        assert_eq!(mb_buffer_recycle(a.id), MB_OK);
        assert_eq!(mb_local_pool_free(pool), MB_OK);
        let mut s = mb_pool_stats {
            struct_size: core::mem::size_of::<mb_pool_stats>() as u32,
            ..Default::default()
        };
        assert_eq!(mb_local_pool_stats(pool, &mut s), MB_ERR_INVALID_HANDLE);
        s.struct_size = 12;
        assert_eq!(mb_local_pool_stats(pool, &mut s), MB_ERR_INVALID_ARGUMENT);
        assert_eq!(mb_local_pool_stats(pool, null_mut()), MB_ERR_NULL_POINTER);
    }
}

static CALLS: AtomicI32 = AtomicI32::new(0);
static LAST_STATUS: AtomicI32 = AtomicI32::new(1);
static GOT_ID: AtomicU64 = AtomicU64::new(0);

unsafe extern "C" fn on_buffer(ctx: *mut c_void, status: i32, buffer: *const mb_buffer) {
    assert_eq!(ctx as usize, 42);
    CALLS.fetch_add(1, Ordering::SeqCst);
    LAST_STATUS.store(status, Ordering::SeqCst);
    if !buffer.is_null() {
        // SAFETY: the library passes a live buffer description.
        GOT_ID.store(unsafe { (*buffer).id }, Ordering::SeqCst);
    }
}

#[test]
fn availability_callback() {
    let rt = runtime_with(&[]).unwrap();
    let mut pool = null_mut();
    let mut a = EMPTY;
    let ctx = 42usize as *mut c_void;
    // SAFETY: valid handles, a valid callback.
    unsafe {
        assert_eq!(mb_local_pool_new(rt, 1, 1, &mut pool), MB_OK);
        assert_eq!(
            mb_local_pool_on_available(pool, Some(on_buffer), ctx),
            MB_OK
        );
        assert_eq!(
            CALLS.load(Ordering::SeqCst),
            1,
            "available now: called at once"
        );
        assert_eq!(LAST_STATUS.load(Ordering::SeqCst), MB_OK);
        let first = GOT_ID.load(Ordering::SeqCst);
        assert_eq!(mb_buffer_request(pool, &mut a), MB_ERR_UNAVAILABLE);
        assert_eq!(
            mb_local_pool_on_available(pool, Some(on_buffer), ctx),
            MB_OK
        );
        assert_eq!(CALLS.load(Ordering::SeqCst), 1, "registered, not called");
        assert_eq!(mb_buffer_recycle(first), MB_OK);
        assert_eq!(
            CALLS.load(Ordering::SeqCst),
            2,
            "called by the recycling thread"
        );
        let second = GOT_ID.load(Ordering::SeqCst);
        assert_ne!(second, first);
        assert_eq!(
            mb_local_pool_on_available(pool, Some(on_buffer), ctx),
            MB_OK
        );
        assert_eq!(
            mb_local_pool_on_available(pool, None, ctx),
            MB_ERR_NULL_POINTER
        );
        assert_eq!(mb_local_pool_free(pool), MB_OK);
        assert_eq!(CALLS.load(Ordering::SeqCst), 3);
        assert_eq!(LAST_STATUS.load(Ordering::SeqCst), MB_ERR_DESTROYED);
        assert_eq!(mb_buffer_recycle(second), MB_OK);
        assert_eq!(mb_runtime_free(rt), MB_OK);
    }
}

#[test]
fn concurrent_buffers_and_reservations_balance() {
    let rt = runtime_with(&[]).unwrap() as usize;
    let mut pool = null_mut();
    // SAFETY: valid handle and out-pointer.
    assert_eq!(
        // SAFETY: valid (or deliberately NULL/forged) arguments for the call.
        unsafe { mb_local_pool_new(rt as *const mb_runtime, 2, 8, &mut pool) },
        MB_OK
    );
    let p = pool as usize;
    let n = if cfg!(miri) { 10 } else { 2000 };
    let hs: Vec<_> = (0..4)
        .map(|_| {
            std::thread::spawn(move || {
                for _ in 0..n {
                    let mut b = EMPTY;
                    // SAFETY: valid handle values and out-pointers.
                    unsafe {
                        if mb_buffer_request_timeout(p as *const mb_local_pool, 5_000, &mut b)
                            == MB_OK
                        {
                            assert_eq!(mb_buffer_recycle(b.id), MB_OK);
                        }
                        assert_eq!(
                            mb_reserve(rt as *const mb_runtime, MB_CATEGORY_HEAP, 100),
                            MB_OK
                        );
                        assert_eq!(
                            mb_release(rt as *const mb_runtime, MB_CATEGORY_HEAP, 100),
                            MB_OK
                        );
                    }
                }
            })
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
    assert_eq!(usage(rt as *const mb_runtime, MB_CATEGORY_HEAP).used, 0);
    // SAFETY: live handles.
    unsafe {
        assert_eq!(mb_local_pool_free(pool), MB_OK);
        assert_eq!(mb_runtime_free(rt as *mut mb_runtime), MB_OK);
    }
}

#[test]
fn freeing_the_runtime_first_shuts_its_pools_down() {
    let rt = runtime_with(&[]).unwrap();
    let (mut pool, mut other) = (null_mut(), null_mut());
    let (mut a, mut b) = (EMPTY, EMPTY);
    let mut segs = [mb_segment {
        ptr: null_mut(),
        size: 0,
        id: 0,
    }; 1];
    // SAFETY: valid handles and out-pointers; stale ones are refused.
    unsafe {
        assert_eq!(mb_local_pool_new(rt, 1, 4, &mut pool), MB_OK);
        assert_eq!(mb_local_pool_new(rt, 2, 2, &mut other), MB_OK);
        assert_eq!(mb_buffer_request(pool, &mut a), MB_OK);
        // `other` holds idle buffers it could hand out.
        assert_eq!(mb_buffer_request(other, &mut b), MB_OK);
        assert_eq!(mb_buffer_recycle(b.id), MB_OK);
        assert_eq!(
            mb_managed_allocate_pages(rt, 3, 1, segs.as_mut_ptr()),
            MB_OK
        );
        assert_eq!(mb_runtime_free(rt), MB_OK);
        // Every request through a pool of the freed runtime answers "destroyed", even one
        // whose pool still held idle buffers.
        for p in [pool, other] {
            assert_eq!(mb_buffer_request(p, &mut b), MB_ERR_DESTROYED);
            assert!(last_error().contains("destroyed"), "{}", last_error());
            assert_eq!(mb_buffer_request_timeout(p, 1000, &mut b), MB_ERR_DESTROYED);
            let mut got = 7;
            assert_eq!(
                mb_buffer_request_many(p, 1, &mut b, &mut got),
                MB_ERR_DESTROYED
            );
            assert_eq!(got, 0);
            assert_eq!(
                mb_local_pool_on_available(p, Some(on_destroyed), null_mut()),
                MB_ERR_DESTROYED
            );
        }
        let mut third = null_mut();
        assert_eq!(
            mb_local_pool_new(rt, 1, 1, &mut third),
            MB_ERR_INVALID_HANDLE
        );
        // Buffers lent out stay writable until recycled; pages were returned.
        a.ptr.write_bytes(3, a.capacity as usize);
        assert_eq!(mb_buffer_recycle(a.id), MB_OK);
        assert_eq!(mb_buffer_recycle(a.id), MB_ERR_INVALID_HANDLE);
        assert_eq!(mb_managed_release(rt, segs[0].id), MB_ERR_INVALID_HANDLE);
        assert_eq!(mb_local_pool_free(pool), MB_OK);
        assert_eq!(mb_local_pool_free(other), MB_OK);
        assert_eq!(mb_local_pool_free(pool), MB_ERR_INVALID_HANDLE);
    }
}

unsafe extern "C" fn on_destroyed(_: *mut c_void, _: i32, _: *const mb_buffer) {
    panic!("a callback on a destroyed pool is never registered");
}

#[test]
fn batch_calls_request_and_recycle_many() {
    let rt = runtime_with(&[]).unwrap();
    let mut pool = null_mut();
    let mut bufs = [EMPTY; 8];
    let mut got = 0u32;
    // SAFETY: valid handles and out-pointers; bad ids are refused.
    unsafe {
        assert_eq!(mb_local_pool_new(rt, 5, 5, &mut pool), MB_OK);
        assert_eq!(
            mb_buffer_request_many(pool, 8, bufs.as_mut_ptr(), &mut got),
            MB_OK
        );
        assert_eq!(got, 5, "stops at the first buffer not available now");
        let mut ids: Vec<u64> = bufs[..5].iter().map(|b| b.id).collect();
        for b in &bufs[..5] {
            assert_eq!(b.capacity, 32768);
            b.ptr.write_bytes(9, b.capacity as usize);
        }
        let distinct: std::collections::HashSet<_> = ids.iter().collect();
        assert_eq!(distinct.len(), 5);
        assert_eq!(
            mb_buffer_request_many(pool, 8, bufs.as_mut_ptr(), &mut got),
            MB_ERR_UNAVAILABLE
        );
        assert_eq!(got, 0);
        assert_eq!(mb_buffer_request_many(pool, 0, null_mut(), &mut got), MB_OK);
        assert_eq!(got, 0);
        assert_eq!(
            mb_buffer_request_many(pool, 1, null_mut(), &mut got),
            MB_ERR_NULL_POINTER
        );
        assert_eq!(
            mb_buffer_request_many(pool, 1, bufs.as_mut_ptr(), null_mut()),
            MB_ERR_NULL_POINTER
        );
        // A batch with a stale, a forged and a repeated id: every valid id is recycled, the
        // refusal names the first bad one, and nothing is freed twice.
        assert_eq!(mb_buffer_recycle(ids[0]), MB_OK);
        ids.push(ids[1]);
        ids.push(0x1234);
        assert_eq!(
            mb_buffer_recycle_many(ids.as_ptr(), ids.len() as u32),
            MB_ERR_INVALID_HANDLE
        );
        let msg = last_error();
        assert!(
            msg.starts_with("mb_buffer_recycle_many: 3 of 7 ids refused (the others were recycled); the first, ids[0]: invalid buffer id"),
            "{msg}"
        );
        assert_eq!(usage(rt, MB_CATEGORY_NETWORK).used, 2048 * 32768);
        assert_eq!(
            mb_buffer_request_many(pool, 8, bufs.as_mut_ptr(), &mut got),
            MB_OK
        );
        assert_eq!(got, 5, "all five came back, each once");
        let ids: Vec<u64> = bufs[..5].iter().map(|b| b.id).collect();
        assert_eq!(mb_buffer_recycle_many(ids.as_ptr(), 5), MB_OK);
        assert_eq!(
            mb_buffer_recycle_many(ids.as_ptr(), 5),
            MB_ERR_INVALID_HANDLE
        );
        assert_eq!(mb_buffer_recycle_many(null(), 0), MB_OK);
        assert_eq!(mb_buffer_recycle_many(null(), 1), MB_ERR_NULL_POINTER);
        assert_eq!(mb_local_pool_free(pool), MB_OK);
        assert_eq!(mb_runtime_free(rt), MB_OK);
    }
}

#[test]
fn buffer_ids_are_foreign_to_other_tables_and_stay_dead_when_leases_are_reused() {
    let rt = runtime_with(&[]).unwrap();
    let mut pool = null_mut();
    let mut a = EMPTY;
    let mut seg = [mb_segment {
        ptr: null_mut(),
        size: 0,
        id: 0,
    }; 1];
    // SAFETY: valid handles and out-pointers; ids of other kinds are refused.
    unsafe {
        assert_eq!(mb_local_pool_new(rt, 1, 1, &mut pool), MB_OK);
        assert_eq!(mb_buffer_request(pool, &mut a), MB_OK);
        assert_eq!(mb_managed_allocate_pages(rt, 1, 1, seg.as_mut_ptr()), MB_OK);
        // A buffer id is no segment id, and a segment id (or a handle) no buffer id.
        assert_eq!(mb_managed_release(rt, a.id), MB_ERR_INVALID_HANDLE);
        assert!(
            last_error().contains("not a segment id"),
            "{}",
            last_error()
        );
        assert_eq!(mb_buffer_recycle(seg[0].id), MB_ERR_INVALID_HANDLE);
        assert!(last_error().contains("not a buffer id"), "{}", last_error());
        assert_eq!(mb_buffer_recycle(pool as u64), MB_ERR_INVALID_HANDLE);
        assert_eq!(mb_buffer_recycle(rt as u64), MB_ERR_INVALID_HANDLE);
        assert_eq!(mb_buffer_recycle(a.id), MB_OK);
        assert_eq!(mb_local_pool_free(pool), MB_OK);
        assert_eq!(mb_runtime_free(rt), MB_OK);
    }
    // The next runtime reuses the freed runtime's leases: the old id stays refused.
    let rt = runtime_with(&[]).unwrap();
    let mut pool = null_mut();
    let mut held = Vec::new();
    // SAFETY: as above.
    unsafe {
        assert_eq!(mb_local_pool_new(rt, 64, 64, &mut pool), MB_OK);
        for _ in 0..64 {
            let mut b = EMPTY;
            assert_eq!(mb_buffer_request(pool, &mut b), MB_OK);
            held.push(b.id);
        }
        assert_eq!(mb_buffer_recycle(a.id), MB_ERR_INVALID_HANDLE);
        assert!(held.iter().all(|&id| id != a.id));
        assert_eq!(mb_buffer_recycle_many(held.as_ptr(), 64), MB_OK);
        assert_eq!(mb_local_pool_free(pool), MB_OK);
        assert_eq!(mb_runtime_free(rt), MB_OK);
    }
}

/// A change to a runtime's options.
type Edit = fn(&mut mb_runtime_options);

/// A runtime of `props` (no container, no environment) with `edit` applied to its options.
fn runtime_opts(
    props: &[&str],
    edit: impl FnOnce(&mut mb_runtime_options),
) -> Result<*mut mb_runtime, (i32, String)> {
    let owned: Vec<std::ffi::CString> = props
        .iter()
        .map(|s| std::ffi::CString::new(*s).unwrap())
        .collect();
    let ptrs: Vec<*const c_char> = owned.iter().map(|c| c.as_ptr()).collect();
    let mut opts = mb_runtime_options {
        properties: ptrs.as_ptr(),
        properties_len: ptrs.len() as u32,
        ignore_container: 1,
        ..Default::default()
    };
    edit(&mut opts);
    let mut rt = null_mut();
    // SAFETY: valid options (the strings outlive the call) and out-pointer.
    match unsafe { mb_runtime_new(&opts, &mut rt) } {
        MB_OK => Ok(rt),
        rc => Err((rc, last_error())),
    }
}

/// The runtime's plan as JSON text.
fn plan_json(rt: *const mb_runtime) -> String {
    let mut need = 0;
    // SAFETY: a size query, then a buffer of that size.
    unsafe {
        mb_plan_json(rt, null_mut(), 0, &mut need);
        let mut buf = vec![0u8; need];
        assert_eq!(
            mb_plan_json(rt, buf.as_mut_ptr().cast(), need, &mut need),
            MB_OK
        );
        String::from_utf8(buf[..need - 1].to_vec()).unwrap()
    }
}

/// The runtime's plan, parsed.
fn plan_value(rt: *const mb_runtime) -> serde_json::Value {
    serde_json::from_str(&plan_json(rt)).unwrap()
}

fn free(rt: *mut mb_runtime) {
    // SAFETY: a live handle of this test.
    assert_eq!(unsafe { mb_runtime_free(rt) }, MB_OK);
}

#[test]
fn abi_version_is_1_2() {
    assert_eq!(mb_abi_version() >> 16, 1);
    assert_eq!(mb_abi_version() & 0xFFFF, 2);
    assert_eq!(core::mem::size_of::<mb_runtime_options>(), 80);
}

/// The plan options of ABI 1.1 reach the plan: each runtime enforces what `PlanRequest` with
/// the same options plans.
#[test]
fn plan_options_reach_the_plan() {
    use membudget_model::{Deployment, FlinkVersion, HostProfile, PlanRequest, Role};
    let request = |props: &[(&str, &str)]| {
        let mut r = PlanRequest::new(Role::TaskManager)
            .container(false)
            .distribution_defaults(false)
            .environment(false);
        for (k, v) in props {
            r = r.property(*k, *v);
        }
        r
    };
    type Case = (&'static str, &'static [&'static str], Edit, PlanRequest);
    let cases: [Case; 4] = [
        (
            "host native",
            &["taskmanager.memory.process.size=1g"],
            |o| o.host = MB_HOST_NATIVE,
            request(&[("taskmanager.memory.process.size", "1g")]).host(HostProfile::Native),
        ),
        (
            "host dotnet",
            &["taskmanager.memory.process.size=1g"],
            |o| o.host = MB_HOST_DOTNET,
            request(&[("taskmanager.memory.process.size", "1g")]).host(HostProfile::Dotnet),
        ),
        (
            "kubernetes legacy heap",
            &["taskmanager.heap.size=2g"],
            |o| o.deployment = MB_DEPLOYMENT_KUBERNETES,
            request(&[("taskmanager.heap.size", "2g")]).deployment(Deployment::Kubernetes),
        ),
        (
            "flink 2 ignores numberOfBuffers",
            &[
                "taskmanager.memory.process.size=4g",
                "taskmanager.network.numberOfBuffers=4096",
            ],
            |o| o.flink_version = MB_FLINK_2,
            request(&[
                ("taskmanager.memory.process.size", "4g"),
                ("taskmanager.network.numberOfBuffers", "4096"),
            ])
            .flink_version(FlinkVersion::V2),
        ),
    ];
    for (name, props, edit, request) in cases {
        let plan = request.plan().unwrap();
        let rt = runtime_opts(props, edit).unwrap();
        for (i, c) in [
            MB_CATEGORY_HEAP,
            MB_CATEGORY_DIRECT,
            MB_CATEGORY_MANAGED,
            MB_CATEGORY_NETWORK,
            MB_CATEGORY_OVERHEAD,
        ]
        .into_iter()
        .enumerate()
        {
            assert_eq!(
                usage(rt, c).quota,
                plan.quotas().per_category()[i],
                "{name}: category {c}"
            );
        }
        assert_eq!(plan_json(rt), plan.to_json_string(), "{name}");
        free(rt);
    }
    // The same legacy key, standalone: a different plan.
    let rt = runtime_opts(&["taskmanager.heap.size=2g"], |_| {}).unwrap();
    assert_ne!(plan_value(rt)["total_process_memory"], 2u64 << 30);
    free(rt);
}

#[test]
fn config_format_and_section() {
    let dir = std::env::temp_dir().join(format!("mb-abi-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("settings.conf");
    std::fs::write(
        &file,
        r#"{"Custom": {"taskmanager.memory.process.size": "2g"}}"#,
    )
    .unwrap();
    let path = std::ffi::CString::new(file.to_str().unwrap()).unwrap();
    let rt = runtime_opts(&[], |o| {
        o.config_file = path.as_ptr();
        o.config_format = MB_CONFIG_FORMAT_JSON;
        o.config_section = c"Custom".as_ptr();
    })
    .unwrap();
    assert_eq!(plan_value(rt)["total_process_memory"], 2u64 << 30);
    free(rt);
    let (rc, msg) = runtime_opts(&[], |o| {
        o.config_file = path.as_ptr();
        o.config_format = MB_CONFIG_FORMAT_JSON;
        o.config_section = c"Other".as_ptr();
    })
    .unwrap_err();
    assert_eq!(rc, MB_ERR_CONFIG, "{msg}");
    assert!(msg.contains("there is no section 'Other'"), "{msg}");
    // A section without memory options is a warning, and under strict an error.
    std::fs::write(&file, r#"{"Custom": {"logging.level": "info"}}"#).unwrap();
    let props = ["taskmanager.memory.process.size=1g"];
    let with_section = |o: &mut mb_runtime_options| {
        o.config_file = path.as_ptr();
        o.config_format = MB_CONFIG_FORMAT_JSON;
        o.config_section = c"custom".as_ptr();
    };
    let rt = runtime_opts(&props, with_section).unwrap();
    let warnings = plan_value(rt)["warnings"].to_string();
    assert!(warnings.contains("settings.conf"), "{warnings}");
    free(rt);
    let (rc, msg) = runtime_opts(&props, |o| {
        with_section(o);
        o.strict = 1;
    })
    .unwrap_err();
    assert_eq!(rc, MB_ERR_CONFIG, "{msg}");
    assert!(
        msg.contains("settings.conf") && msg.contains("strict"),
        "{msg}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn strict_and_verbose() {
    let props = [
        "taskmanager.memory.process.size=1g",
        "taskmanager.memory.foo.bar=1",
    ];
    // Not strict: the unknown key is a plan warning.
    let rt = runtime_opts(&props, |_| {}).unwrap();
    let warnings = plan_value(rt)["warnings"].to_string();
    assert!(
        warnings.contains("'taskmanager.memory.foo.bar'"),
        "{warnings}"
    );
    free(rt);
    let (rc, msg) = runtime_opts(&props, |o| o.strict = 1).unwrap_err();
    assert_eq!(rc, MB_ERR_CONFIG);
    assert_eq!(
        msg,
        "Key 'taskmanager.memory.foo.bar' (given with -D) is not a memory option membudget \
         knows; ignored (as Flink ignores keys it does not know). (--strict: a value that is \
         not applied is an error)"
    );

    let bad = [
        "taskmanager.memory.process.size=1g",
        "taskmanager.memory.managed.fraction=1.5",
    ];
    let (_, one_line) = runtime_opts(&bad, |_| {}).unwrap_err();
    let (rc, verbose) = runtime_opts(&bad, |o| o.verbose_errors = 1).unwrap_err();
    assert_eq!(rc, MB_ERR_CONFIG);
    assert!(!one_line.contains('\n'), "{one_line}");
    assert!(
        verbose.contains("\nCaused by: fraction must be in range [0, 1)\n"),
        "{verbose}"
    );
    assert!(
        verbose.ends_with("Keys to change: 'taskmanager.memory.managed.fraction'"),
        "{verbose}"
    );
}

#[test]
fn bad_plan_options_name_the_field() {
    let props = ["taskmanager.memory.process.size=1g"];
    let cases: [(Edit, &str); 8] = [
        (
            |o| o.flink_version = 3,
            "options->flink_version is 3; use 0 (MB_FLINK_1_20) or 1 (MB_FLINK_2)",
        ),
        (
            |o| o.deployment = 3,
            "options->deployment is 3; use 0 (MB_DEPLOYMENT_STANDALONE)",
        ),
        (|o| o.host = 9, "options->host is 9; use 0 (MB_HOST_JVM)"),
        (|o| o.strict = 2, "options->strict is 2; use 0 or 1"),
        (
            |o| o.verbose_errors = 7,
            "options->verbose_errors is 7; use 0 or 1",
        ),
        (
            |o| o.config_format = 4,
            "options->config_format is 4; use 0 (MB_CONFIG_FORMAT_AUTO)",
        ),
        (
            |o| o.quota_source = 2,
            "options->quota_source is 2; use 0 (MB_QUOTAS_FROM_PLAN)",
        ),
        (
            |o| o.config_section = c"Flink".as_ptr(),
            "options->config_section is set but options->config_file is NULL, so it would not \
             be applied",
        ),
    ];
    for (edit, expected) in cases {
        let (rc, msg) = runtime_opts(&props, edit).unwrap_err();
        assert_eq!(rc, MB_ERR_INVALID_ARGUMENT, "{msg}");
        assert!(
            msg.starts_with(&format!("mb_runtime_new: {expected}")),
            "{msg}"
        );
    }
    let (rc, msg) = runtime_opts(&props, |o| o.config_section = c" ".as_ptr()).unwrap_err();
    assert_eq!(rc, MB_ERR_INVALID_ARGUMENT, "{msg}");
    // A host built against ABI 1.0 (a 40-byte struct) keeps every new field at its default.
    let rt = runtime_opts(&props, |o| {
        o.struct_size = 40;
        o.host = 9;
        o.strict = 2;
    })
    .unwrap();
    assert_eq!(plan_value(rt)["host"], "jvm");
    free(rt);
}

fn refusal() -> Result<mb_refusal, i32> {
    let mut r = mb_refusal::default();
    // SAFETY: a valid struct.
    match unsafe { mb_last_refusal(&mut r) } {
        MB_OK => Ok(r),
        rc => Err(rc),
    }
}

fn text(chars: &[c_char]) -> String {
    let bytes: Vec<u8> = chars
        .iter()
        .take_while(|c| **c != 0)
        .map(|c| *c as u8)
        .collect();
    String::from_utf8(bytes).unwrap()
}

#[test]
fn last_refusal_details() {
    let rt = runtime_with(&[]).unwrap();
    std::thread::spawn(|| assert_eq!(refusal().unwrap_err(), MB_ERR_UNAVAILABLE))
        .join()
        .unwrap();
    let quota = usage(rt, MB_CATEGORY_DIRECT).quota;
    // SAFETY: valid handle.
    unsafe {
        assert_eq!(mb_reserve(rt, MB_CATEGORY_DIRECT, 1000), MB_OK);
        assert_eq!(
            mb_reserve(rt, MB_CATEGORY_DIRECT, quota),
            MB_ERR_QUOTA_EXCEEDED
        );
    }
    let message = last_error();
    let r = refusal().unwrap();
    assert_eq!(
        (r.category, r.requested, r.used, r.quota, r.limit, r.role),
        (
            MB_CATEGORY_DIRECT,
            quota,
            1000,
            quota,
            MB_LIMIT_CATEGORY,
            MB_ROLE_TASKMANAGER
        )
    );
    assert_eq!(text(&r.key), "taskmanager.memory.task.off-heap.size");
    assert_eq!(text(&r.message), message);
    assert!(
        message.contains(&format!("(used: 1000, quota: {quota})")),
        "{message}"
    );

    // Other errors and successes leave it; asking never changes the last error.
    // SAFETY: valid handle and deliberately bad arguments.
    unsafe {
        assert_eq!(mb_reserve(rt, 9, 1), MB_ERR_INVALID_ARGUMENT);
        assert_eq!(mb_release(rt, MB_CATEGORY_DIRECT, 1000), MB_OK);
    }
    let invalid = last_error();
    assert_eq!(refusal().unwrap().requested, quota);
    assert_eq!(last_error(), invalid);

    // Only whole fields within struct_size are written; a size that cuts a field is refused.
    let mut small = mb_refusal {
        struct_size: 8,
        requested: 77,
        ..Default::default()
    };
    // SAFETY: a valid struct, larger than it claims.
    assert_eq!(unsafe { mb_last_refusal(&mut small) }, MB_OK);
    assert_eq!(
        (small.struct_size, small.category, small.requested),
        (8, 1, 77)
    );
    small.struct_size = 12;
    small.category = 0;
    // SAFETY: as above.
    let rc = unsafe { mb_last_refusal(&mut small) };
    assert_eq!(rc, MB_ERR_INVALID_ARGUMENT);
    assert_eq!(
        (small.category, small.requested),
        (0, 77),
        "nothing written"
    );
    small.struct_size = 4;
    // SAFETY: as above.
    unsafe {
        assert_eq!(mb_last_refusal(&mut small), MB_ERR_INVALID_ARGUMENT);
        assert_eq!(mb_last_refusal(null_mut()), MB_ERR_NULL_POINTER);
    }
    assert_eq!(last_error(), invalid);

    // The runtime's pools: all network buffers, all managed pages.
    let mut pool = null_mut();
    let buffers = usage(rt, MB_CATEGORY_NETWORK).quota / 32768;
    // SAFETY: valid handle and out-pointers.
    unsafe {
        assert_eq!(
            mb_local_pool_new(rt, buffers as u32 + 1, MB_UNBOUNDED, &mut pool),
            MB_ERR_QUOTA_EXCEEDED
        );
    }
    let r = refusal().unwrap();
    assert_eq!(
        (r.category, r.requested, r.used, r.quota, r.limit),
        (
            MB_CATEGORY_NETWORK,
            (buffers + 1) * 32768,
            0,
            buffers * 32768,
            MB_LIMIT_POOL
        )
    );
    assert_eq!(text(&r.key), "taskmanager.memory.network.fraction");
    assert_eq!(text(&r.message), last_error());
    let managed = usage(rt, MB_CATEGORY_MANAGED).quota;
    let pages = (managed / 32768 + 1) as u32;
    let mut segs = vec![
        mb_segment {
            ptr: null_mut(),
            size: 0,
            id: 0
        };
        pages as usize
    ];
    // SAFETY: room for `pages` segments.
    unsafe {
        assert_eq!(
            mb_managed_allocate_pages(rt, 1, pages, segs.as_mut_ptr()),
            MB_ERR_QUOTA_EXCEEDED
        );
    }
    let r = refusal().unwrap();
    assert_eq!(
        (r.category, r.requested, r.used, r.quota, r.limit),
        (
            MB_CATEGORY_MANAGED,
            pages as u64 * 32768,
            0,
            managed,
            MB_LIMIT_POOL
        )
    );
    assert_eq!(text(&r.key), "taskmanager.memory.managed.fraction");
    free(rt);
}

#[test]
fn jobmanager_refusals_name_jobmanager_keys() {
    let rt = runtime_opts(&["jobmanager.memory.process.size=1600m"], |o| {
        o.role = MB_ROLE_JOBMANAGER
    })
    .unwrap();
    // SAFETY: valid handle.
    let rc = unsafe { mb_reserve(rt, MB_CATEGORY_NETWORK, 1) };
    assert_eq!(rc, MB_ERR_QUOTA_EXCEEDED);
    let r = refusal().unwrap();
    assert_eq!(
        (r.role, r.quota, r.limit),
        (MB_ROLE_JOBMANAGER, 0, MB_LIMIT_CATEGORY)
    );
    assert_eq!(text(&r.key), "jobmanager.memory.off-heap.size");
    let total = usage(rt, MB_CATEGORY_HEAP).quota + usage(rt, MB_CATEGORY_DIRECT).quota;
    // SAFETY: valid handle.
    let rc = unsafe { mb_reserve(rt, MB_CATEGORY_OVERHEAD, total + (1 << 30)) };
    assert_eq!(rc, MB_ERR_QUOTA_EXCEEDED);
    assert_eq!(
        text(&refusal().unwrap().key),
        "jobmanager.memory.jvm-overhead.fraction"
    );
    free(rt);
}

#[test]
fn report_refusals_switch() {
    assert_eq!(mb_report_refusals(2), MB_ERR_INVALID_ARGUMENT);
    assert_eq!(last_error(), "mb_report_refusals: enabled is 2; use 0 or 1");
    assert_eq!(mb_report_refusals(0), MB_OK);
}
