//! Teardown through the C ABI: after `mb_runtime_free`, while threads that used the runtime
//! are still alive (one idle with the runtime and its pool in its per-thread caches, one
//! blocked in a request), the budget is balanced and the memory is back with the OS (RSS
//! within a few MiB of where it started) before those threads call again; then every
//! dependent handle answers "destroyed" (pools) or "invalid" (the runtime, its blocks), and a
//! buffer lent out before the free stays writable until recycled. One test per binary: it
//! measures the process RSS and charges the process-wide budget (`MB_RUNTIME_GLOBAL_BUDGET`).
// Each step is a short sequence of C calls under one SAFETY argument.
#![allow(clippy::multiple_unsafe_ops_per_block)]

use core::ptr::null_mut;
use membudget::*;

mod common;
use membudget_allocator::{process_rss, Budget, Category};
use std::sync::mpsc;
use std::time::Duration;

const MIB: u64 = 1 << 20;
const SEG: u64 = 32 * 1024;
/// Managed memory the worker writes and releases: the defect kept ~66 MB of it resident.
const MANAGED_PAGES: u32 = (100 * MIB / SEG) as u32;
/// Network buffers the worker writes (16 MiB) and recycles.
const BUFFERS: usize = 512;
/// How long the test waits for a worker before it fails (instead of hanging).
const WAIT: Duration = Duration::from_secs(60);

struct Report {
    pool_destroyed: bool,
    runtime_refused: bool,
    block_refused: bool,
}

/// A handle value that may cross threads (the C ABI's handles are thread-safe tokens).
#[derive(Clone, Copy)]
struct Token(usize);

fn runtime() -> *mut mb_runtime {
    common::runtime_1g(MB_RUNTIME_GLOBAL_BUDGET)
}

fn used() -> [u64; 5] {
    Category::ALL.map(|c| Budget::global().used(c))
}

/// Uses everything a host uses on `rt` (keeping a direct block), then waits, alive, for the
/// order to check what its handles answer.
fn worker(rt: Token, done: mpsc::Sender<()>, check: mpsc::Receiver<()>) -> Report {
    let rt = rt.0 as *mut mb_runtime;
    let (mut pool, mut block) = (null_mut(), null_mut());
    // SAFETY: a live runtime; every out-pointer is valid; pages and buffers are written only
    // within their size while held.
    unsafe {
        for _ in 0..10 {
            assert_eq!(mb_reserve(rt, MB_CATEGORY_HEAP, 1 << 20), MB_OK);
            assert_eq!(mb_release(rt, MB_CATEGORY_HEAP, 1 << 20), MB_OK);
        }
        assert_eq!(mb_reserve(rt, MB_CATEGORY_OVERHEAD, 12345), MB_OK);
        assert_eq!(mb_alloc(rt, MB_CATEGORY_DIRECT, MIB, 64, &mut block), MB_OK);
        block.write_bytes(1, MIB as usize);
        let mut pages = vec![
            mb_segment {
                ptr: null_mut(),
                size: 0,
                id: 0
            };
            MANAGED_PAGES as usize
        ];
        assert_eq!(
            mb_managed_allocate_pages(rt, 1, MANAGED_PAGES, pages.as_mut_ptr()),
            MB_OK
        );
        for p in &pages {
            p.ptr.write_bytes(2, p.size as usize);
        }
        assert_eq!(mb_managed_release_all(rt, 1), MB_OK);
        assert_eq!(
            mb_local_pool_new(rt, BUFFERS as u32, BUFFERS as u32, &mut pool),
            MB_OK
        );
        let mut bufs = vec![
            mb_buffer {
                ptr: null_mut(),
                capacity: 0,
                id: 0
            };
            BUFFERS
        ];
        let mut got = 0;
        assert_eq!(
            mb_buffer_request_many(pool, BUFFERS as u32, bufs.as_mut_ptr(), &mut got),
            MB_OK
        );
        assert_eq!(got as usize, BUFFERS);
        for b in &bufs {
            b.ptr.write_bytes(3, b.capacity as usize);
        }
        let ids: Vec<u64> = bufs.iter().map(|b| b.id).collect();
        assert_eq!(mb_buffer_recycle_many(ids.as_ptr(), got), MB_OK);
        // The last calls leave this runtime and this pool in the per-thread caches.
        assert_eq!(mb_buffer_request(pool, &mut bufs[0]), MB_OK);
        assert_eq!(mb_buffer_recycle(bufs[0].id), MB_OK);
        assert_eq!(mb_reserve(rt, MB_CATEGORY_HEAP, 1), MB_OK);
    }
    done.send(()).unwrap();
    check.recv().unwrap();
    let mut b = mb_buffer {
        ptr: null_mut(),
        capacity: 0,
        id: 0,
    };
    // SAFETY: handles are checked.
    let report = unsafe {
        Report {
            pool_destroyed: mb_buffer_request(pool, &mut b) == MB_ERR_DESTROYED,
            runtime_refused: mb_reserve(rt, MB_CATEGORY_HEAP, 1) == MB_ERR_INVALID_HANDLE,
            block_refused: mb_free(rt, block) == MB_ERR_INVALID_HANDLE,
        }
    };
    // The pool handle is freed as usual, after its runtime.
    // SAFETY: a live pool handle.
    assert_eq!(unsafe { mb_local_pool_free(pool) }, MB_OK);
    done.send(()).unwrap();
    // Stays alive until told to go.
    let _ = check.recv();
    report
}

#[test]
fn freeing_the_runtime_destroys_dependents_and_returns_memory_while_its_threads_live() {
    let before = used();
    let rss_before = process_rss().expect("RSS is readable on this platform");
    let rt = runtime();
    let token = Token(rt as usize);
    let (done_tx, done) = mpsc::channel();
    let (check, check_rx) = mpsc::channel();
    let user = std::thread::spawn(move || worker(token, done_tx, check_rx));
    done.recv_timeout(WAIT).expect("the worker failed");
    // This thread holds a buffer across the free; a third thread blocks in a request.
    let mut tight = null_mut();
    let mut held = mb_buffer {
        ptr: null_mut(),
        capacity: 0,
        id: 0,
    };
    // SAFETY: a live runtime and valid out-pointers.
    unsafe {
        assert_eq!(mb_local_pool_new(rt, 1, 1, &mut tight), MB_OK);
        assert_eq!(mb_buffer_request(tight, &mut held), MB_OK);
    }
    let tight_token = Token(tight as usize);
    let blocked = std::thread::spawn(move || {
        let mut b = mb_buffer {
            ptr: null_mut(),
            capacity: 0,
            id: 0,
        };
        // SAFETY: a pool handle value and a valid out-pointer.
        unsafe { mb_buffer_request_timeout(tight_token.0 as *const _, MB_WAIT_FOREVER, &mut b) }
    });
    let mut stats = mb_pool_stats {
        struct_size: core::mem::size_of::<mb_pool_stats>() as u32,
        ..Default::default()
    };
    let start = std::time::Instant::now();
    while stats.waiters == 0 {
        // SAFETY: a live pool and a valid out struct.
        assert_eq!(unsafe { mb_local_pool_stats(tight, &mut stats) }, MB_OK);
        assert!(start.elapsed() < WAIT, "the request never blocked");
        std::thread::yield_now();
    }
    let rss_used = process_rss().unwrap();
    // Released managed pages stay resident in the page source up to its 64 MiB high-water
    // mark; the buffers and the block too.
    assert!(
        rss_used > rss_before + 64 * MIB,
        "the pages and buffers were resident ({rss_before} -> {rss_used})"
    );
    assert_eq!(
        used()[Category::Overhead.index()] - before[Category::Overhead.index()],
        12345
    );

    // SAFETY: a live runtime handle.
    assert_eq!(unsafe { mb_runtime_free(rt) }, MB_OK);

    assert_eq!(
        blocked.join().unwrap(),
        MB_ERR_DESTROYED,
        "the blocked request woke"
    );
    let mut expected = before;
    expected[Category::Network.index()] += SEG;
    assert_eq!(used(), expected, "all released but the buffer still lent");
    // SAFETY: the buffer lent before the free stays valid until recycled, once.
    unsafe {
        held.ptr.write_bytes(5, held.capacity as usize);
        assert_eq!(*held.ptr.add(1000), 5);
        assert_eq!(mb_buffer_recycle(held.id), MB_OK);
        assert_eq!(mb_buffer_recycle(held.id), MB_ERR_INVALID_HANDLE);
        assert_eq!(mb_local_pool_free(tight), MB_OK);
    }
    assert_eq!(used(), before, "the budget is balanced");
    // The worker has not called since the free: its per-thread caches still name the runtime
    // and its pool, and pin none of their memory.
    assert!(!user.is_finished());
    let rss_after = process_rss().unwrap();
    assert!(
        rss_after < rss_before + 4 * MIB,
        "RSS {rss_after} is not within 4 MiB of {rss_before} (peak {rss_used}) while a thread \
         that used the runtime is alive"
    );
    check.send(()).unwrap();
    done.recv_timeout(WAIT).expect("the worker failed");
    drop(check);
    let report = user.join().unwrap();
    assert!(report.pool_destroyed, "its pool answers MB_ERR_DESTROYED");
    assert!(report.runtime_refused, "the freed runtime is refused");
    assert!(report.block_refused, "its block was freed with it");
}
