//! The workloads: alloc+free pairs of one size on one thread, and a larson-style churn in
//! which threads replace random blocks and swap their block arrays every round, so each frees
//! blocks another thread allocated.

use std::alloc::{GlobalAlloc, Layout};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Barrier, Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::allocators::keep;

/// Live blocks per thread in the churn workload (~5 MB per thread at ~1 KiB on average).
pub const CHURN_BLOCKS: usize = 5000;
/// Replacements per thread between array swaps.
const CHURN_ROUND: u64 = 20_000;
/// Block sizes of the churn workload: 16 ..= 2048 bytes.
const CHURN_SIZES: (usize, usize) = (16, 2048);

/// Runs `n` alloc+free pairs of `layout` through `a`; returns how many allocations were null.
#[inline(never)]
pub fn pairs<A: GlobalAlloc>(a: &A, layout: Layout, n: u64) -> u64 {
    let mut nulls = 0;
    for _ in 0..n {
        // SAFETY: the layouts used have a non-zero size.
        let p = keep(unsafe { a.alloc(layout) });
        if p.is_null() {
            nulls += 1;
        } else {
            // SAFETY: `p` was just allocated by `a` with `layout`.
            unsafe { a.dealloc(p, layout) };
        }
    }
    nulls
}

/// The churn workload's shape.
#[derive(Clone, Copy, Debug)]
pub struct ChurnSetup {
    /// Threads.
    pub threads: usize,
    /// How long to keep replacing blocks.
    pub duration: Duration,
}

/// A thread's live blocks: (address, size); addresses as integers so the arrays can move
/// between threads.
type Blocks = Vec<(usize, usize)>;

fn layout(size: usize) -> Layout {
    Layout::from_size_align(size, 8).expect("churn sizes are valid")
}

/// A small xorshift generator: the workload needs cheap, repeatable sizes, not quality.
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

fn random_size(state: &mut u64) -> usize {
    let (lo, hi) = CHURN_SIZES;
    lo + (next(state) % (hi - lo + 1) as u64) as usize
}

/// Runs the churn through `a`; returns (replacements done, wall nanoseconds, nulls).
pub fn churn<A: GlobalAlloc + Sync>(a: &A, setup: ChurnSetup) -> (u64, u64, u64) {
    let threads = setup.threads.max(1);
    let nulls = AtomicU64::new(0);
    let alloc = |size: usize| -> Option<(usize, usize)> {
        // SAFETY: non-zero size, alignment 8.
        let p = unsafe { a.alloc(layout(size)) };
        if p.is_null() {
            nulls.fetch_add(1, Ordering::Relaxed);
            None
        } else {
            Some((p as usize, size))
        }
    };
    let free = |(p, size): (usize, usize)| {
        // SAFETY: `p` is a live block of `a` allocated with this size and alignment 8.
        unsafe { a.dealloc(p as *mut u8, layout(size)) };
    };
    let arrays: Vec<Mutex<Blocks>> = (0..threads)
        .map(|t| {
            let mut rng = 0x2545_f491_4f6c_dd1d ^ (t as u64 + 1);
            Mutex::new(
                (0..CHURN_BLOCKS)
                    .filter_map(|_| alloc(random_size(&mut rng)))
                    .collect(),
            )
        })
        .collect();
    let barrier = Barrier::new(threads + 1);
    let stop = AtomicBool::new(false);
    let done = AtomicU64::new(0);
    let wall = std::thread::scope(|s| {
        for t in 0..threads {
            let (arrays, barrier, stop, done) = (&arrays, &barrier, &stop, &done);
            let (alloc, free) = (&alloc, &free);
            s.spawn(move || {
                let mut rng = 0x9e37_79b9_7f4a_7c15 ^ (t as u64 + 1);
                let mut round = 0;
                barrier.wait();
                loop {
                    // A different array every round: frees hit other threads' blocks.
                    let mut blocks = arrays[(t + round) % threads]
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner);
                    let mut replaced = 0;
                    for _ in 0..CHURN_ROUND {
                        if blocks.is_empty() {
                            break;
                        }
                        let i = (next(&mut rng) % blocks.len() as u64) as usize;
                        free(blocks.swap_remove(i));
                        if let Some(b) = alloc(random_size(&mut rng)) {
                            blocks.push(b);
                        }
                        replaced += 1;
                    }
                    drop(blocks);
                    done.fetch_add(replaced, Ordering::Relaxed);
                    round += 1;
                    barrier.wait(); // the round's work is done
                    barrier.wait(); // the coordinator has decided
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                }
            });
        }
        // The coordinator: starts the clock, and after each round decides whether to go on
        // (between the two barriers, so every thread sees the decision).
        barrier.wait();
        let start = Instant::now();
        loop {
            barrier.wait();
            let elapsed = start.elapsed();
            let stopping = elapsed >= setup.duration;
            stop.store(stopping, Ordering::Relaxed);
            barrier.wait();
            if stopping {
                break u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
            }
        }
    });
    for array in arrays {
        for b in array.into_inner().unwrap_or_else(PoisonError::into_inner) {
            free(b);
        }
    }
    (done.into_inner(), wall, nulls.into_inner())
}
