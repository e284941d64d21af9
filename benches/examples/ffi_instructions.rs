//! Instruction counts of one buffer round trip, through the C ABI and in Rust, for callgrind
//! (wall-clock ratios are in `benches/ffi.rs`; this counts what a round trip executes, free of
//! machine noise). Each mode runs its loop in one non-inlined function; callgrind counts only
//! inside it:
//!
//! ```text
//! cargo build --release -p membudget-benches --example ffi_instructions
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null --toggle-collect='ffi_instructions::loop_*' \
//!     target/release/examples/ffi_instructions c_abi 100000
//! ```
//!
//! Divide the reported `Collected` instructions by the iterations (the warm-up's included:
//! `n + 1000` single round trips, or `(n + 100) * 16` buffers for the batch modes). Modes:
//! `rust` (`LocalBufferPool::request_buffer` + drop), `c_abi` (`mb_buffer_request` +
//! `mb_buffer_recycle`), `rust_batch` (16 requests, then 16 drops), `c_abi_batch`
//! (`mb_buffer_request_many` + `mb_buffer_recycle_many` of 16), `rust_reserve`
//! (`Budget::try_charge` + `release` of 4 KiB) and `c_abi_reserve` (`mb_reserve` +
//! `mb_release` of 4 KiB; `n + 1000` round trips).

// One C call sequence per iteration under one SAFETY argument, as a host would write it.
#![allow(clippy::multiple_unsafe_ops_per_block)]

use membudget::{
    mb_buffer, mb_buffer_recycle, mb_buffer_recycle_many, mb_buffer_request,
    mb_buffer_request_many, mb_local_pool, mb_local_pool_free, mb_local_pool_new, mb_release,
    mb_reserve, mb_runtime, mb_runtime_free, mb_runtime_new, mb_runtime_options,
    MB_CATEGORY_DIRECT, MB_OK,
};
use membudget_allocator::{Budget, Category, Quotas, SharedBudget};
use membudget_bufferpool::{LocalBufferPool, NetworkBufferPool};
use std::ffi::c_char;
use std::hint::black_box;
use std::ptr::null_mut;

#[inline(never)]
fn loop_rust(pool: &LocalBufferPool, n: u64) {
    for _ in 0..n {
        drop(black_box(pool.request_buffer().unwrap().unwrap()));
    }
}

#[inline(never)]
fn loop_c_abi(pool: *mut mb_local_pool, n: u64) {
    let mut buf = mb_buffer {
        ptr: null_mut(),
        capacity: 0,
        id: 0,
    };
    for _ in 0..n {
        // SAFETY: a live pool and a valid out-pointer; the id was just issued.
        unsafe {
            assert_eq!(mb_buffer_request(pool, &mut buf), MB_OK);
            assert_eq!(mb_buffer_recycle(black_box(buf.id)), MB_OK);
        }
    }
}

/// Buffers per batch call in `c_abi_batch` (each iteration moves this many).
const BATCH: usize = 16;

#[inline(never)]
fn loop_c_abi_batch(pool: *mut mb_local_pool, n: u64) {
    let mut bufs = [mb_buffer {
        ptr: null_mut(),
        capacity: 0,
        id: 0,
    }; BATCH];
    let mut ids = [0u64; BATCH];
    for _ in 0..n {
        let mut got = 0;
        // SAFETY: a live pool; `bufs` and `ids` hold `BATCH` entries; the ids were just issued.
        unsafe {
            let rc = mb_buffer_request_many(pool, BATCH as u32, bufs.as_mut_ptr(), &mut got);
            assert!(rc == MB_OK && got == BATCH as u32);
            for (id, b) in ids.iter_mut().zip(&bufs) {
                *id = b.id;
            }
            assert_eq!(mb_buffer_recycle_many(black_box(ids.as_ptr()), got), MB_OK);
        }
    }
}

#[inline(never)]
fn loop_rust_batch(pool: &LocalBufferPool, n: u64) {
    let mut held = Vec::with_capacity(BATCH);
    for _ in 0..n {
        held.extend((0..BATCH).map(|_| pool.request_buffer().unwrap().unwrap()));
        black_box(&held);
        held.clear();
    }
}

#[inline(never)]
fn loop_rust_reserve(budget: &Budget, n: u64) {
    for _ in 0..n {
        budget
            .try_charge(Category::Direct, black_box(4096))
            .unwrap();
        budget.release(Category::Direct, black_box(4096));
    }
}

#[inline(never)]
fn loop_c_abi_reserve(rt: *mut mb_runtime, n: u64) {
    for _ in 0..n {
        // SAFETY: a live runtime handle.
        unsafe {
            assert_eq!(mb_reserve(rt, MB_CATEGORY_DIRECT, black_box(4096)), MB_OK);
            assert_eq!(mb_release(rt, MB_CATEGORY_DIRECT, black_box(4096)), MB_OK);
        }
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_else(|| "c_abi".into());
    let n: u64 = args
        .next()
        .map_or(100_000, |s| s.parse().expect("iterations"));
    match mode.as_str() {
        "rust" => {
            let budget = SharedBudget::from(Budget::new(Quotas::unlimited()));
            let network = NetworkBufferPool::new(2048, 32 * 1024, budget).expect("network pool");
            let local = network.create_buffer_pool(1, 16).expect("local pool");
            loop_rust(&local, 1000);
            loop_rust(&local, n);
        }
        "rust_batch" => {
            let budget = SharedBudget::from(Budget::new(Quotas::unlimited()));
            let network = NetworkBufferPool::new(2048, 32 * 1024, budget).expect("network pool");
            let local = network
                .create_buffer_pool(BATCH, BATCH)
                .expect("local pool");
            loop_rust_batch(&local, 100);
            loop_rust_batch(&local, n);
        }
        "rust_reserve" => {
            let budget = Budget::new(Quotas::unlimited().with(Category::Direct, 1 << 30));
            loop_rust_reserve(&budget, 1000);
            loop_rust_reserve(&budget, n);
        }
        "c_abi" | "c_abi_batch" | "c_abi_reserve" => {
            let props: [*const c_char; 1] = [c"taskmanager.memory.process.size=1g".as_ptr()];
            let opts = mb_runtime_options {
                properties: props.as_ptr(),
                properties_len: 1,
                ignore_container: 1,
                ..Default::default()
            };
            let (mut rt, mut pool) = (null_mut(), null_mut());
            // SAFETY: valid options, handles and out-pointers.
            unsafe {
                assert_eq!(mb_runtime_new(&opts, &mut rt), MB_OK);
                assert_eq!(
                    mb_local_pool_new(rt, BATCH as u32, BATCH as u32, &mut pool),
                    MB_OK
                );
            }
            if mode == "c_abi" {
                loop_c_abi(pool, 1000);
                loop_c_abi(pool, n);
            } else if mode == "c_abi_reserve" {
                loop_c_abi_reserve(rt, 1000);
                loop_c_abi_reserve(rt, n);
            } else {
                loop_c_abi_batch(pool, 100);
                loop_c_abi_batch(pool, n);
            }
            // SAFETY: live handles.
            unsafe {
                assert_eq!(mb_local_pool_free(pool), MB_OK);
                assert_eq!(mb_runtime_free(rt), MB_OK);
            }
        }
        other => panic!(
            "unknown mode {other}: use rust, c_abi, rust_batch, c_abi_batch, rust_reserve or \
             c_abi_reserve"
        ),
    }
}
