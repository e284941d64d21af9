//! The C ABI's round trips beside the same work in Rust: `mb_buffer_request` +
//! `mb_buffer_recycle` against `LocalBufferPool::request_buffer` + drop; the batch calls
//! `mb_buffer_request_many` + `mb_buffer_recycle_many` of 16 buffers against 16 requests and
//! 16 drops (reported per buffer); and `mb_reserve` + `mb_release` against
//! `Budget::try_charge` + `release`. The ratio `c_abi / rust` is the cost of the boundary
//! (handle lookup, buffer-id check, panic guard); the target is at most 1.5×. The C ABI
//! functions are called exactly as a C host calls them (same symbols, same arguments), and
//! every status is checked (one compare per call); the host-language numbers come from
//! `hosts/run.sh --perf` (through the host libraries). Instruction counts of the same loops:
//! `benches/examples/ffi_instructions.rs` (callgrind).
//!
//! Each group also has a `rust_plus_*` floor: the Rust round trip plus only the atomic
//! read-modify-writes the C ABI must add because C has no ownership types — for a buffer, one
//! compare-and-swap on a word of its own (the lease's, which lets one of two racing recycles of
//! an id win and refuses the other, where Rust's `Buffer` cannot be dropped twice); for a
//! reservation, the two updates of the host's own account (what it may release, and what the
//! runtime releases for it when freed), where a Rust caller keeps that account itself. No C ABI
//! keeping those promises can be faster than its floor.
//!
//! Run: `cargo bench -p membudget-benches --bench ffi -- --warm-up-time 1 --measurement-time 3`

// Each iteration is one C call sequence under one SAFETY argument, as a host would write it.
#![allow(clippy::multiple_unsafe_ops_per_block)]

use criterion::{black_box, criterion_main, Criterion, Throughput};
use membudget::{
    mb_buffer, mb_buffer_recycle, mb_buffer_recycle_many, mb_buffer_request,
    mb_buffer_request_many, mb_local_pool, mb_local_pool_free, mb_local_pool_new, mb_release,
    mb_reserve, mb_runtime, mb_runtime_free, mb_runtime_new, mb_runtime_options,
    MB_CATEGORY_DIRECT, MB_OK,
};
use membudget_allocator::{Budget, Category, Quotas, SharedBudget};
use membudget_bufferpool::NetworkBufferPool;
use std::ffi::c_char;
use std::ptr::null_mut;
use std::sync::atomic::{AtomicU64, Ordering};

/// Flink's default segment size.
const SEG: usize = 32 * 1024;
/// Buffers per batch call.
const BATCH: usize = 16;

/// Fails the benchmark on a status other than `MB_OK` (one compare; kept in release builds).
#[inline(always)]
fn ok(rc: i32) {
    if rc != MB_OK {
        failed(rc);
    }
}

#[cold]
#[inline(never)]
fn failed(rc: i32) -> ! {
    panic!("C ABI call failed with status {rc}");
}

const EMPTY: mb_buffer = mb_buffer {
    ptr: null_mut(),
    capacity: 0,
    id: 0,
};

fn local_pool(rt: *mut mb_runtime, min: u32, max: u32) -> *mut mb_local_pool {
    let mut pool = null_mut();
    // SAFETY: a live runtime and a valid out-pointer.
    ok(unsafe { mb_local_pool_new(rt, min, max, &mut pool) });
    pool
}

fn runtime() -> *mut mb_runtime {
    let props: [*const c_char; 1] = [c"taskmanager.memory.process.size=1g".as_ptr()];
    let opts = mb_runtime_options {
        properties: props.as_ptr(),
        properties_len: 1,
        ignore_container: 1,
        ..Default::default()
    };
    let mut rt = null_mut();
    // SAFETY: valid options and out-pointer.
    ok(unsafe { mb_runtime_new(&opts, &mut rt) });
    rt
}

fn buffers(c: &mut Criterion) {
    let mut g = c.benchmark_group("ffi_buffer_round_trip");
    let budget = SharedBudget::from(Budget::new(Quotas::unlimited()));
    let network = NetworkBufferPool::new(2048, SEG, budget).expect("network pool");
    let local = network.create_buffer_pool(1, 16).expect("local pool");
    g.bench_function("rust", |b| {
        b.iter(|| drop(black_box(local.request_buffer().unwrap().unwrap())))
    });
    let lease = AtomicU64::new(0);
    g.bench_function("rust_plus_one_cas", |b| {
        b.iter(|| {
            let buffer = black_box(local.request_buffer().unwrap().unwrap());
            // The lease's compare-and-swap, with its orderings; nothing else of the C ABI.
            let count = lease.load(Ordering::Acquire);
            let won = lease.compare_exchange(count, count + 1, Ordering::AcqRel, Ordering::Acquire);
            drop(black_box((buffer, won)));
        })
    });
    let rt = runtime();
    let pool = local_pool(rt, 1, 16);
    g.bench_function("c_abi", |b| {
        let mut buf = EMPTY;
        b.iter(|| {
            // SAFETY: a live pool and a valid out-pointer; the id was just issued.
            unsafe {
                ok(mb_buffer_request(pool, &mut buf));
                ok(mb_buffer_recycle(black_box(buf.id)));
            }
        })
    });
    g.finish();

    let mut g = c.benchmark_group("ffi_buffer_round_trip_batch16");
    g.throughput(Throughput::Elements(BATCH as u64));
    let local = network
        .create_buffer_pool(BATCH, BATCH)
        .expect("local pool");
    let mut held = Vec::with_capacity(BATCH);
    g.bench_function("rust", |b| {
        b.iter(|| {
            held.extend((0..BATCH).map(|_| local.request_buffer().unwrap().unwrap()));
            black_box(&held);
            held.clear();
        })
    });
    let batch_pool = local_pool(rt, BATCH as u32, BATCH as u32);
    g.bench_function("c_abi", |b| {
        let mut bufs = [EMPTY; BATCH];
        let mut ids = [0u64; BATCH];
        b.iter(|| {
            let mut got = 0;
            // SAFETY: a live pool; `bufs` and `ids` hold `BATCH` entries; the ids were just
            // issued.
            unsafe {
                ok(mb_buffer_request_many(
                    batch_pool,
                    BATCH as u32,
                    bufs.as_mut_ptr(),
                    &mut got,
                ));
                assert_eq!(got, BATCH as u32);
                for (id, b) in ids.iter_mut().zip(&bufs) {
                    *id = b.id;
                }
                ok(mb_buffer_recycle_many(black_box(ids.as_ptr()), got));
            }
        })
    });
    g.finish();
    // SAFETY: live handles.
    unsafe {
        ok(mb_local_pool_free(pool));
        ok(mb_local_pool_free(batch_pool));
        ok(mb_runtime_free(rt));
    }
}

fn reservations(c: &mut Criterion) {
    let mut g = c.benchmark_group("ffi_reserve_round_trip");
    let budget = Budget::new(Quotas::unlimited().with(Category::Direct, 1 << 30));
    g.bench_function("rust", |b| {
        b.iter(|| {
            budget
                .try_charge(Category::Direct, black_box(4096))
                .unwrap();
            budget.release(Category::Direct, black_box(4096));
        })
    });
    let host_account = AtomicU64::new(0);
    g.bench_function("rust_plus_host_account", |b| {
        b.iter(|| {
            budget
                .try_charge(Category::Direct, black_box(4096))
                .unwrap();
            // The host account's two updates, with their orderings; nothing else of the C ABI.
            let _ = black_box(host_account.fetch_update(
                Ordering::Release,
                Ordering::Relaxed,
                |held| held.checked_add(4096),
            ));
            let _ = black_box(host_account.fetch_update(
                Ordering::Acquire,
                Ordering::Relaxed,
                |held| held.checked_sub(4096),
            ));
            budget.release(Category::Direct, black_box(4096));
        })
    });
    let rt = runtime();
    g.bench_function("c_abi", |b| {
        b.iter(|| {
            // SAFETY: a live runtime handle.
            unsafe {
                ok(mb_reserve(rt, MB_CATEGORY_DIRECT, black_box(4096)));
                ok(mb_release(rt, MB_CATEGORY_DIRECT, black_box(4096)));
            }
        })
    });
    g.finish();
    // SAFETY: a live handle.
    ok(unsafe { mb_runtime_free(rt) });
}

/// Runs every group (a plain function instead of `criterion_group!`, which generates an
/// undocumented public item).
fn benches() {
    let mut c = Criterion::default().configure_from_args();
    buffers(&mut c);
    reservations(&mut c);
}

criterion_main!(benches);
