//! Multi-threaded stress: producers and consumers move buffers through channels while pools
//! are created and destroyed concurrently; at the end every segment is back and the network
//! category holds exactly N segments (0 once the network pool is dropped).

mod common;

use common::{budget, network_used, SEG};
use membudget_bufferpool::{Buffer, BufferPoolConfig, NetworkBufferPool, UNBOUNDED};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

const N: usize = 64;

fn rounds() -> usize {
    if cfg!(miri) {
        20
    } else {
        30_000
    }
}

/// A tiny xorshift so the test needs no RNG crate and is reproducible per thread.
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

#[test]
fn pools_come_and_go_while_buffers_flow_and_nothing_is_lost() {
    let b = budget();
    let net = NetworkBufferPool::new(N, SEG, b.clone()).unwrap();
    let stop = AtomicBool::new(false);
    let moved = AtomicU64::new(0);
    let pairs = 3;
    std::thread::scope(|s| {
        for t in 0..pairs {
            let net = &net;
            let moved = &moved;
            let (tx, rx) = std::sync::mpsc::sync_channel::<Buffer>(8);
            // Consumer: checks payloads; a slice sometimes outlives its parent handle (but not
            // the next receive: holding buffers across receives would stall a small pool).
            s.spawn(move || {
                for (i, buf) in rx.into_iter().enumerate() {
                    let v = u64::from_le_bytes(buf.as_slice()[..8].try_into().unwrap());
                    assert_eq!(v >> 32, t as u64, "payload of another producer");
                    let slice = (i % 3 == 0).then(|| buf.read_only_slice(0, 8));
                    drop(buf);
                    if let Some(slice) = slice {
                        assert_eq!(slice.as_slice(), &v.to_le_bytes());
                    }
                    moved.fetch_add(1, Ordering::Relaxed);
                }
            });
            // Producer: a fresh pool every few hundred buffers, dropped with buffers in flight.
            s.spawn(move || {
                let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (t as u64 + 1));
                let mut i = 0u64;
                while i < rounds() as u64 {
                    let min = 1 + rng.below(3) as usize;
                    let max = if rng.below(4) == 0 {
                        UNBOUNDED
                    } else {
                        min + rng.below(8) as usize
                    };
                    let c = BufferPoolConfig::new(min, max).with_overdraft(rng.below(3) as usize);
                    let pool = match net.create_buffer_pool_with(c) {
                        Ok(p) => p,
                        Err(_) => {
                            std::thread::yield_now();
                            continue;
                        }
                    };
                    for _ in 0..(50 + rng.below(300)).min(rounds() as u64 - i) {
                        let size = pool.num_buffers();
                        assert!(size >= pool.min_buffers() && size <= pool.max_buffers());
                        let mut buf = pool.request_buffer_blocking().unwrap();
                        buf.append(&(((t as u64) << 32) | i).to_le_bytes());
                        tx.send(buf).unwrap();
                        i += 1;
                    }
                    drop(pool);
                }
            });
        }
        // Churn: pools and exclusive segments that only exist to force redistribution.
        let net = &net;
        let stop = &stop;
        s.spawn(move || {
            let mut rng = Rng(42);
            while !stop.load(Ordering::Relaxed) {
                let p = net.create_buffer_pool(1, 1 + rng.below(16) as usize);
                let ex = net.request_unpooled(rng.below(3) as usize, Duration::from_millis(5));
                if let Ok(p) = &p {
                    let held: Vec<_> = std::iter::from_fn(|| p.request_buffer().ok().flatten())
                        .take(rng.below(4) as usize)
                        .collect();
                    drop(held);
                }
                drop((p, ex));
                let required = net.required_segments();
                assert!(required <= N);
                assert!(net.count_buffers() <= N, "Σ pool sizes exceeds the total");
            }
        });
        // Stop the churn once the producers are done.
        s.spawn(|| {
            while moved.load(Ordering::Relaxed) < (pairs * rounds()) as u64 {
                std::thread::sleep(Duration::from_millis(1));
            }
            stop.store(true, Ordering::Relaxed);
        });
    });
    assert_eq!(moved.load(Ordering::Relaxed), (pairs * rounds()) as u64);
    assert_eq!(
        membudget_bufferpool::invariant_violations(),
        0,
        "no segment was refused by a free list or recycled twice"
    );
    assert_eq!(net.registered_pools(), 0);
    assert_eq!(net.required_segments(), 0);
    assert_eq!(
        net.available_segments(),
        N,
        "every segment is back in the global pool"
    );
    assert_eq!(network_used(&b), (N * SEG) as u64);
    // Every segment is distinct: take them all as exclusive segments.
    let all = net.request_unpooled(N, Duration::from_secs(1)).unwrap();
    let mut idx: Vec<u32> = all.iter().map(|b| b.segment_index()).collect();
    idx.sort_unstable();
    idx.dedup();
    assert_eq!(idx.len(), N);
    drop(all);
    drop(net);
    assert_eq!(network_used(&b), 0);
}
