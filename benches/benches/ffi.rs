//! The C ABI's round trips beside the same work in Rust: `mb_buffer_request` +
//! `mb_buffer_recycle` against `LocalBufferPool::request_buffer` + drop, and `mb_reserve` +
//! `mb_release` against `Budget::try_charge` + `release`. The ratio `c_abi / rust` is the cost
//! of the boundary (handle lookup, id registry, panic guard); the target is at most 1.5×.
//! The C ABI functions are called exactly as a C host calls them (same symbols, same
//! arguments); the host-language numbers come from `hosts/run.sh --perf` (through the host
//! libraries).
//!
//! Run: `cargo bench -p membudget-benches --bench ffi -- --warm-up-time 1 --measurement-time 3`

// Each iteration is one C call sequence under one SAFETY argument, as a host would write it.
#![allow(clippy::multiple_unsafe_ops_per_block)]

use criterion::{black_box, criterion_main, Criterion};
use membudget::{
    mb_buffer, mb_buffer_recycle, mb_buffer_request, mb_local_pool_free, mb_local_pool_new,
    mb_release, mb_reserve, mb_runtime, mb_runtime_free, mb_runtime_new, mb_runtime_options,
    MB_CATEGORY_DIRECT, MB_OK,
};
use membudget_allocator::{Budget, Category, Quotas, SharedBudget};
use membudget_bufferpool::NetworkBufferPool;
use std::ffi::c_char;
use std::ptr::null_mut;

/// Flink's default segment size.
const SEG: usize = 32 * 1024;

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
    assert_eq!(unsafe { mb_runtime_new(&opts, &mut rt) }, MB_OK);
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
    let rt = runtime();
    let mut pool = null_mut();
    // SAFETY: a live runtime and a valid out-pointer.
    assert_eq!(unsafe { mb_local_pool_new(rt, 1, 16, &mut pool) }, MB_OK);
    g.bench_function("c_abi", |b| {
        let mut buf = mb_buffer {
            ptr: null_mut(),
            capacity: 0,
            id: 0,
        };
        b.iter(|| {
            // SAFETY: a live pool and a valid out-pointer; the id was just issued.
            unsafe {
                let rc = mb_buffer_request(pool, &mut buf);
                debug_assert_eq!(rc, MB_OK);
                black_box(mb_buffer_recycle(black_box(buf.id)))
            }
        })
    });
    g.finish();
    // SAFETY: live handles.
    unsafe {
        mb_local_pool_free(pool);
        mb_runtime_free(rt);
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
    let rt = runtime();
    g.bench_function("c_abi", |b| {
        b.iter(|| {
            // SAFETY: a live runtime handle.
            unsafe {
                black_box(mb_reserve(rt, MB_CATEGORY_DIRECT, black_box(4096)));
                black_box(mb_release(rt, MB_CATEGORY_DIRECT, black_box(4096)));
            }
        })
    });
    g.finish();
    // SAFETY: a live handle.
    unsafe { mb_runtime_free(rt) };
}

/// Runs every group (a plain function instead of `criterion_group!`, which generates an
/// undocumented public item).
fn benches() {
    let mut c = Criterion::default().configure_from_args();
    buffers(&mut c);
    reservations(&mut c);
}

criterion_main!(benches);
