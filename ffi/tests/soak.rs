//! Soak test of the C ABI (opt-in): 8 threads of mixed FFI traffic — reservations, direct
//! blocks, managed pages, local pools, single and batch buffer requests and recycles,
//! callbacks, blocking requests — with buffers and blocks handed to other threads to recycle
//! and free, while the main thread frees the runtime under them and makes a new one every few
//! seconds; 0.1% of the direct, managed, network and overhead charges fail on purpose. Runs for
//! `MEMBUDGET_SOAK_SECS` seconds (default 300). At the end every category of the process-wide
//! budget is exactly where it started, every buffer id ever recycled stays refused, no call
//! answered a status it may not, and the RSS is within a few MiB of where it started.
//!
//! ```text
//! MEMBUDGET_SOAK_SECS=300 cargo test --release -p membudget-ffi --test soak -- --ignored --nocapture
//! ```
//!
//! The companion `bufferpool/tests/soak.rs` soaks the Rust API (global allocator, pools,
//! managed memory) the same way.
// Each step is a short sequence of C calls under one SAFETY argument.
#![allow(clippy::multiple_unsafe_ops_per_block)]

use core::ffi::c_void;
use core::ptr::null_mut;
use membudget::*;
use membudget_allocator::{process_rss, Budget, Category};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::sync::{RwLock, RwLockReadGuard};
use std::time::{Duration, Instant};

const THREADS: usize = 8;
const MIB: u64 = 1 << 20;
const FAULTED: [Category; 4] = [
    Category::Direct,
    Category::Managed,
    Category::Network,
    Category::Overhead,
];

fn soak_secs() -> u64 {
    std::env::var("MEMBUDGET_SOAK_SECS")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(300)
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn runtime() -> Option<*mut mb_runtime> {
    let props = [
        c"taskmanager.memory.process.size=1g".as_ptr(),
        c"taskmanager.memory.network.min=32m".as_ptr(),
        c"taskmanager.memory.network.max=32m".as_ptr(),
        c"taskmanager.memory.managed.size=64m".as_ptr(),
    ];
    let opts = mb_runtime_options {
        properties: props.as_ptr(),
        properties_len: props.len() as u32,
        ignore_container: 1,
        flags: MB_RUNTIME_GLOBAL_BUDGET,
        ..Default::default()
    };
    let mut rt = null_mut();
    // SAFETY: valid options and out-pointer.
    match unsafe { mb_runtime_new(&opts, &mut rt) } {
        MB_OK => Some(rt),
        // An injected failure charging the network pool up front.
        MB_ERR_OUT_OF_MEMORY | MB_ERR_QUOTA_EXCEEDED => None,
        rc => panic!("mb_runtime_new: {rc}"),
    }
}

/// What is handed to another thread to finish.
enum Handoff {
    /// A buffer id to recycle.
    Buffer(u64),
    /// A block to free on the runtime it came from (the runtime may be gone by then).
    Block(usize, usize),
}

/// Counts shared by the threads.
#[derive(Default)]
struct Counts {
    calls: AtomicU64,
    refused: AtomicU64,
    destroyed: AtomicU64,
    callbacks: AtomicU64,
}

/// Buffers delivered to a thread's `on_available` callbacks (recycled by that thread), and
/// how many callbacks ran: the thread keeps this alive until every callback it registered has
/// run (the callback may run on another thread, the one recycling a buffer).
#[derive(Default)]
struct Delivered {
    ids: Mutex<Vec<u64>>,
    ran: AtomicU64,
}

unsafe extern "C" fn deliver(ctx: *mut c_void, status: i32, buffer: *const mb_buffer) {
    // SAFETY: `ctx` is the `Delivered` the registering thread keeps alive until this ran.
    let d = unsafe { &*(ctx as *const Delivered) };
    if status == MB_OK {
        // SAFETY: the library passes a live buffer description with `MB_OK`.
        let b = unsafe { &*buffer };
        // SAFETY: the callee owns the buffer: it may write all of it.
        unsafe { b.ptr.write_bytes(0x77, b.capacity as usize) };
        d.ids.lock().unwrap().push(b.id);
    } else {
        assert_eq!(status, MB_ERR_DESTROYED);
    }
    // Release: the registering thread's Acquire load sees the push before dropping `d`.
    d.ran.fetch_add(1, Ordering::Release);
}

/// One worker's holdings on the current runtime.
struct Held {
    rt: *mut mb_runtime,
    pool: *mut mb_local_pool,
    reserved: [u64; 5],
    blocks: Vec<*mut u8>,
    pages: Vec<u64>,
    buffers: Vec<u64>,
}

impl Held {
    fn new(rt: *mut mb_runtime) -> Held {
        Held {
            rt,
            pool: null_mut(),
            reserved: [0; 5],
            blocks: Vec::new(),
            pages: Vec::new(),
            buffers: Vec::new(),
        }
    }
}

/// Whether `rc` says the runtime (or the pool through it) is gone: the holdings on it are void
/// (blocks, pages and reservations went with it; lent buffers stay the host's).
fn gone(rc: i32) -> bool {
    rc == MB_ERR_DESTROYED || rc == MB_ERR_INVALID_HANDLE
}

/// Held (read) while a worker writes into memory its runtime owns (`mb_alloc` blocks, managed
/// pages), and (write) while the runtime is freed: freeing a runtime frees that memory at once,
/// so a host that wrote into it afterwards would have a use-after-free of its own. Calls are
/// made outside it, so they still race the free.
static FREEING: RwLock<()> = RwLock::new(());

/// `Some` (keeping the runtime from being freed) while `rt` is still the current runtime.
fn still_current(
    current: &AtomicUsize,
    rt: *mut mb_runtime,
) -> Option<RwLockReadGuard<'static, ()>> {
    let guard = FREEING.read().unwrap_or_else(|e| e.into_inner());
    (current.load(Ordering::Acquire) == rt as usize).then_some(guard)
}

#[allow(clippy::too_many_arguments)]
fn worker(
    me: usize,
    current: &AtomicUsize,
    stop: &AtomicBool,
    counts: &Counts,
    inbox: mpsc::Receiver<Handoff>,
    outboxes: Vec<mpsc::Sender<Handoff>>,
    recycled: &Mutex<Vec<u64>>,
    seed: u64,
) {
    let mut rng = Rng(seed ^ (me as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let delivered = Box::new(Delivered::default());
    let ctx = (&*delivered as *const Delivered)
        .cast_mut()
        .cast::<c_void>();
    let mut asked = 0u64;
    let mut h = Held::new(null_mut());
    let mut bufs = vec![
        mb_buffer {
            ptr: null_mut(),
            capacity: 0,
            id: 0
        };
        16
    ];
    let check = |what: &str, rc: i32, allowed: &[i32]| {
        counts.calls.fetch_add(1, Ordering::Relaxed);
        if rc == MB_ERR_QUOTA_EXCEEDED || rc == MB_ERR_UNAVAILABLE || rc == MB_ERR_TIMEOUT {
            counts.refused.fetch_add(1, Ordering::Relaxed);
        }
        if gone(rc) {
            counts.destroyed.fetch_add(1, Ordering::Relaxed);
        }
        assert!(
            rc == MB_OK || gone(rc) || allowed.contains(&rc),
            "thread {me}: {what} answered {rc}"
        );
        rc
    };
    while !stop.load(Ordering::Relaxed) {
        // Finish what others handed over.
        for h_in in inbox.try_iter() {
            // SAFETY: ids and blocks came from the library; a block's runtime may be gone, and
            // then the call is refused without touching it.
            unsafe {
                match h_in {
                    Handoff::Buffer(id) => {
                        check("mb_buffer_recycle", mb_buffer_recycle(id), &[]);
                        recycled.lock().unwrap().push(id);
                    }
                    Handoff::Block(rt, p) => {
                        check("mb_free", mb_free(rt as *mut _, p as *mut u8), &[]);
                    }
                }
            }
        }
        // Move to the current runtime when ours was freed (or at the start).
        let rt = current.load(Ordering::Acquire) as *mut mb_runtime;
        if rt != h.rt {
            // SAFETY: lent buffers stay valid after their runtime is freed; the pool is freed
            // as usual; everything else went with the runtime.
            unsafe {
                for id in h.buffers.drain(..) {
                    check("mb_buffer_recycle", mb_buffer_recycle(id), &[]);
                    recycled.lock().unwrap().push(id);
                }
                if !h.pool.is_null() {
                    check("mb_local_pool_free", mb_local_pool_free(h.pool), &[]);
                }
            }
            for id in delivered.ids.lock().unwrap().drain(..) {
                // SAFETY: delivered ids are the host's until recycled.
                check("mb_buffer_recycle", unsafe { mb_buffer_recycle(id) }, &[]);
                recycled.lock().unwrap().push(id);
            }
            h = Held::new(rt);
            if rt.is_null() {
                std::thread::yield_now();
                continue;
            }
            // SAFETY: a runtime handle (possibly freed meanwhile: refused).
            let rc = unsafe { mb_local_pool_new(rt, 4, 32, &mut h.pool) };
            if check("mb_local_pool_new", rc, &[MB_ERR_QUOTA_EXCEEDED]) != MB_OK {
                h.pool = null_mut();
            }
            continue;
        }
        let rt = h.rt;
        if rt.is_null() {
            // Between two runtimes.
            std::thread::yield_now();
            continue;
        }
        let c = rng.below(5) as u32;
        // SAFETY: every handle and id is checked by the library; memory is touched only while
        // the model says it is held.
        unsafe {
            match rng.below(16) {
                0 | 1 => {
                    let bytes = 1 + rng.below(64 * 1024);
                    if check(
                        "mb_reserve",
                        mb_reserve(rt, c, bytes),
                        &[MB_ERR_QUOTA_EXCEEDED],
                    ) == MB_OK
                    {
                        h.reserved[c as usize] += bytes;
                    }
                }
                2 => {
                    let bytes = h.reserved[c as usize].min(1 + rng.below(64 * 1024));
                    if check("mb_release", mb_release(rt, c, bytes), &[]) == MB_OK {
                        h.reserved[c as usize] -= bytes;
                    }
                }
                3 => {
                    let mut p = null_mut();
                    let size = 1 + rng.below(256 * 1024);
                    let rc = mb_alloc(rt, c, size, 1 << rng.below(12), &mut p);
                    if check("mb_alloc", rc, &[MB_ERR_QUOTA_EXCEEDED]) == MB_OK {
                        if let Some(_alive) = still_current(current, rt) {
                            p.write_bytes(0xA5, size as usize);
                        }
                        h.blocks.push(p);
                    }
                }
                4 => {
                    if let Some(p) = h.blocks.pop() {
                        if rng.below(2) == 0 {
                            check("mb_free", mb_free(rt, p), &[]);
                        } else {
                            let to = rng.below(THREADS as u64) as usize;
                            let _ = outboxes[to].send(Handoff::Block(rt as usize, p as usize));
                        }
                    }
                }
                5 => {
                    let n = 1 + rng.below(32) as u32;
                    let mut pages = vec![
                        mb_segment {
                            ptr: null_mut(),
                            size: 0,
                            id: 0
                        };
                        n as usize
                    ];
                    let rc = mb_managed_allocate_pages(rt, me as u64, n, pages.as_mut_ptr());
                    if check("mb_managed_allocate_pages", rc, &[MB_ERR_QUOTA_EXCEEDED]) == MB_OK {
                        let alive = still_current(current, rt);
                        for p in &pages {
                            if alive.is_some() {
                                p.ptr.write_bytes(0x5A, p.size as usize);
                            }
                            h.pages.push(p.id);
                        }
                    }
                }
                6 => {
                    if let Some(id) = h.pages.pop() {
                        check("mb_managed_release", mb_managed_release(rt, id), &[]);
                    }
                }
                7 => {
                    if check(
                        "mb_managed_release_all",
                        mb_managed_release_all(rt, me as u64),
                        &[],
                    ) == MB_OK
                    {
                        h.pages.clear();
                    }
                }
                8..=10 if !h.pool.is_null() => {
                    let rc = mb_buffer_request(h.pool, &mut bufs[0]);
                    if check("mb_buffer_request", rc, &[MB_ERR_UNAVAILABLE]) == MB_OK {
                        bufs[0].ptr.write_bytes(0x11, bufs[0].capacity as usize);
                        h.buffers.push(bufs[0].id);
                    }
                }
                11 if !h.pool.is_null() => {
                    let mut got = 0;
                    let n = 1 + rng.below(16) as u32;
                    let rc = mb_buffer_request_many(h.pool, n, bufs.as_mut_ptr(), &mut got);
                    check("mb_buffer_request_many", rc, &[MB_ERR_UNAVAILABLE]);
                    for b in &bufs[..got as usize] {
                        b.ptr.write_bytes(0x22, b.capacity as usize);
                        h.buffers.push(b.id);
                    }
                }
                12 => {
                    let n = h.buffers.len().min(rng.below(16) as usize);
                    let ids: Vec<u64> = h.buffers.drain(..n).collect();
                    check(
                        "mb_buffer_recycle_many",
                        mb_buffer_recycle_many(ids.as_ptr(), n as u32),
                        &[],
                    );
                    recycled.lock().unwrap().extend(ids);
                }
                13 => {
                    if let Some(id) = h.buffers.pop() {
                        let to = rng.below(THREADS as u64) as usize;
                        if outboxes[to].send(Handoff::Buffer(id)).is_err() {
                            check("mb_buffer_recycle", mb_buffer_recycle(id), &[]);
                        }
                    }
                }
                14 if !h.pool.is_null() => {
                    let rc = mb_buffer_request_timeout(h.pool, 1, &mut bufs[0]);
                    if check("mb_buffer_request_timeout", rc, &[MB_ERR_TIMEOUT]) == MB_OK {
                        h.buffers.push(bufs[0].id);
                    }
                }
                15 if !h.pool.is_null() => {
                    let rc = mb_local_pool_on_available(h.pool, Some(deliver), ctx);
                    if check("mb_local_pool_on_available", rc, &[]) == MB_OK {
                        counts.callbacks.fetch_add(1, Ordering::Relaxed);
                        asked += 1;
                    }
                    let ids: Vec<u64> = delivered.ids.lock().unwrap().drain(..).collect();
                    h.buffers.extend(ids);
                }
                _ => {
                    // A stale id is refused.
                    let stale = recycled.lock().unwrap().last().copied();
                    if let Some(id) = stale {
                        assert_eq!(mb_buffer_recycle(id), MB_ERR_INVALID_HANDLE);
                    }
                }
            }
        }
    }
    // Give everything back (this runtime may already be gone).
    // SAFETY: as above.
    unsafe {
        for id in h.buffers.drain(..) {
            check("mb_buffer_recycle", mb_buffer_recycle(id), &[]);
        }
        if !h.rt.is_null() {
            for p in h.blocks.drain(..) {
                check("mb_free", mb_free(h.rt, p), &[]);
            }
            for (c, r) in h.reserved.iter().enumerate() {
                check("mb_release", mb_release(h.rt, c as u32, *r), &[]);
            }
            check(
                "mb_managed_release_all",
                mb_managed_release_all(h.rt, me as u64),
                &[],
            );
        }
        if !h.pool.is_null() {
            // Runs every callback still registered on it (with MB_ERR_DESTROYED).
            check("mb_local_pool_free", mb_local_pool_free(h.pool), &[]);
        }
    }
    // A callback being served by another thread as the pool went may still be running.
    while delivered.ran.load(Ordering::Acquire) < asked {
        std::thread::yield_now();
    }
    for id in delivered.ids.lock().unwrap().drain(..) {
        // SAFETY: delivered ids are the host's until recycled.
        check("mb_buffer_recycle", unsafe { mb_buffer_recycle(id) }, &[]);
    }
    drop(delivered);
    // Whatever others handed over after they stopped.
    for h_in in inbox.try_iter() {
        // SAFETY: as above.
        unsafe {
            match h_in {
                Handoff::Buffer(id) => {
                    check("mb_buffer_recycle", mb_buffer_recycle(id), &[]);
                }
                Handoff::Block(rt, p) => {
                    check("mb_free", mb_free(rt as *mut _, p as *mut u8), &[]);
                }
            }
        }
    }
}

#[test]
#[ignore = "soak test: run with --ignored (MEMBUDGET_SOAK_SECS, default 300)"]
fn ffi_traffic_with_injected_failures_leaves_nothing_behind() {
    let secs = soak_secs();
    let seed = std::env::var("MEMBUDGET_SOAK_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5EED_5EED);
    let budget = Budget::global();
    let before: Vec<u64> = Category::ALL.iter().map(|&c| budget.used(c)).collect();
    let rss_before = process_rss().expect("RSS is readable on this platform");
    for c in FAULTED {
        budget.set_fault_probability(c, 0.001);
    }
    budget.set_fault_seed(seed);
    let current = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let counts = Arc::new(Counts::default());
    let recycled = Arc::new(Mutex::new(Vec::new()));
    let (senders, receivers): (Vec<_>, Vec<_>) =
        (0..THREADS).map(|_| mpsc::channel::<Handoff>()).unzip();
    let workers: Vec<_> = receivers
        .into_iter()
        .enumerate()
        .map(|(me, inbox)| {
            let (current, stop, counts, recycled) = (
                current.clone(),
                stop.clone(),
                counts.clone(),
                recycled.clone(),
            );
            let outboxes = senders.clone();
            std::thread::spawn(move || {
                worker(
                    me, &current, &stop, &counts, inbox, outboxes, &recycled, seed,
                )
            })
        })
        .collect();
    drop(senders);
    let start = Instant::now();
    let mut runtimes = 0u64;
    let mut rng = Rng(seed);
    while start.elapsed() < Duration::from_secs(secs) {
        let Some(rt) = runtime() else { continue };
        runtimes += 1;
        current.store(rt as usize, Ordering::Release);
        std::thread::sleep(Duration::from_millis(500 + rng.below(4500)));
        current.store(0, Ordering::Release);
        // Freed under the workers' feet: they see MB_ERR_DESTROYED or MB_ERR_INVALID_HANDLE
        // (only their writes into its memory wait, see `FREEING`).
        let writes = FREEING.write().unwrap_or_else(|e| e.into_inner());
        // SAFETY: a live runtime handle.
        assert_eq!(unsafe { mb_runtime_free(rt) }, MB_OK);
        drop(writes);
        // Keep the list of recycled ids bounded; the last ones are probed as stale.
        let mut r = recycled.lock().unwrap();
        let n = r.len();
        if n > 100_000 {
            r.drain(..n - 1000);
        }
    }
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.join().expect("a worker failed");
    }
    for c in FAULTED {
        budget.set_fault_probability(c, 0.0);
    }
    for id in recycled.lock().unwrap().iter().rev().take(1000) {
        // SAFETY: any value is checked.
        assert_eq!(unsafe { mb_buffer_recycle(*id) }, MB_ERR_INVALID_HANDLE);
    }
    let after: Vec<u64> = Category::ALL.iter().map(|&c| budget.used(c)).collect();
    drop(recycled);
    // The blocks of `mb_alloc` come from the C heap, whose per-thread arenas keep freed memory
    // for reuse; hand that back so the RSS shows what membudget itself keeps.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `malloc_trim` has no preconditions.
    unsafe {
        libc::malloc_trim(0)
    };
    let rss_after = process_rss().unwrap();
    println!(
        "soak: {secs} s, {runtimes} runtimes, {} calls, {} refused (quota, backpressure, \
         timeouts, injected), {} answered destroyed/invalid after a free, {} callbacks; \
         injected failures {:?}; RSS {} -> {} MiB",
        counts.calls.load(Ordering::Relaxed),
        counts.refused.load(Ordering::Relaxed),
        counts.destroyed.load(Ordering::Relaxed),
        counts.callbacks.load(Ordering::Relaxed),
        FAULTED.map(|c| budget.injected_failures(c)),
        rss_before / MIB,
        rss_after / MIB
    );
    assert_eq!(after, before, "every category is back where it started");
    assert!(
        FAULTED.iter().any(|&c| budget.injected_failures(c) > 0) || secs < 5,
        "failures were injected"
    );
    assert!(
        rss_after < rss_before + 8 * MIB,
        "RSS {rss_after} is not within 8 MiB of {rss_before}"
    );
}
