//! Any number of live threads charges through per-thread allowances (the registry of slots
//! grows past its first segment of 64, in segments of 128, 256, …), and the accounting stays
//! exact across them.

use membudget_allocator::{with_category, Budget, Category, QuotaAllocator};
use std::sync::{Arc, Barrier};

#[global_allocator]
static A: QuotaAllocator = QuotaAllocator::new();

/// More live threads than the registry's first segments hold (64 + 128 + 256 + 512).
const THREADS: usize = 1200;
const BLOCK: usize = 100;

#[test]
fn threads_past_the_first_segment_get_allowances_and_stay_exact() {
    let b = Budget::global();
    let ready = Arc::new(Barrier::new(THREADS + 1));
    let done = Arc::new(Barrier::new(THREADS + 1));
    let hs: Vec<_> = (0..THREADS)
        .map(|_| {
            let (ready, done) = (ready.clone(), done.clone());
            std::thread::Builder::new()
                .stack_size(64 << 10)
                .spawn(move || {
                    let v: Vec<u8> = with_category(Category::Network, || Vec::with_capacity(BLOCK));
                    ready.wait();
                    done.wait();
                    drop(v);
                })
                .expect("spawn")
        })
        .collect();
    ready.wait();
    // Every thread holds its block; each one charged it through an allowance of its own: it
    // drew a 1 MiB quantum (no quota is set) and spent 100 B of it. A thread without a slot
    // would charge the shared counter directly and hold no allowance.
    assert_eq!(b.used(Category::Network), (THREADS * BLOCK) as u64);
    let allowances = b.usage(Category::Network).allowances;
    assert_eq!(
        allowances,
        THREADS as u64 * ((1 << 20) - BLOCK as u64),
        "some of {THREADS} threads had no slot"
    );
    done.wait();
    for h in hs {
        h.join().unwrap();
    }
    assert_eq!(b.used(Category::Network), 0);
    assert_eq!(b.usage(Category::Network).allowances, 0);
}
