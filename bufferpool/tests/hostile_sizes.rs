//! Hostile sizes: `0`, `1`, `usize::MAX` (and random values) in every public size and count
//! argument of `NetworkBufferPool`, `LocalBufferPool`, `BufferPoolConfig` and `Buffer`'s
//! fallible methods. Each call answers a typed error or a correct result — never a panic — and
//! the pools' bookkeeping and the network budget are unchanged once what succeeded is released.

mod common;

use common::{budget, network_used, SEG};
use membudget_bufferpool::{
    invariant_violations, BufferPoolConfig, BufferPoolError, NetworkBufferPool, UNBOUNDED,
};
use proptest::prelude::*;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Duration;

const COUNTS: [usize; 7] = [0, 1, 2, 3, u32::MAX as usize, usize::MAX - 1, usize::MAX];
const TIMEOUTS: [Duration; 3] = [Duration::ZERO, Duration::from_millis(1), Duration::MAX];

fn no_panic<R>(what: &str, f: impl FnOnce() -> R) -> R {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|_| panic!("{what} panicked"))
}

/// What must hold again after every hostile call: all `total` segments back and charged once.
fn settled(net: &NetworkBufferPool, total: usize, what: &str) {
    assert_eq!(net.available_segments(), total, "{what}: segments back");
    assert_eq!(net.required_segments(), 0, "{what}: nothing required");
    assert_eq!(net.registered_pools(), 0, "{what}: no pool left");
}

#[test]
fn network_pool_construction() {
    let b = budget();
    for n in COUNTS {
        for size in [0usize, 1, 4096, 32768, usize::MAX] {
            if n > 1 << 20 && size >= 4096 {
                // Valid sizes but absurd totals are covered below without mapping them.
                continue;
            }
            let r = no_panic("NetworkBufferPool::new", || {
                NetworkBufferPool::new(n, size, b.clone())
            });
            match r {
                Ok(net) => {
                    assert_eq!((net.total_segments(), net.segment_size()), (n, size));
                    drop(net);
                }
                Err(BufferPoolError::InvalidArgument(_) | BufferPoolError::OutOfMemory { .. }) => {}
                Err(e) => panic!("new({n}, {size}): {e}"),
            }
            assert_eq!(network_used(&b), 0, "new({n}, {size})");
        }
    }
    for n in [u32::MAX as usize, usize::MAX] {
        let e = NetworkBufferPool::new(n, 4096, b.clone()).unwrap_err();
        assert!(matches!(e, BufferPoolError::InvalidArgument(_)), "{e}");
    }
    assert_eq!(network_used(&b), 0);
}

#[test]
fn pool_shapes_and_exclusive_counts() {
    let total = 8;
    let net = NetworkBufferPool::new(total, SEG, budget()).unwrap();
    for min in COUNTS {
        for max in COUNTS.into_iter().chain([UNBOUNDED]) {
            for extra in [0usize, 1, usize::MAX] {
                let config = BufferPoolConfig::new(min, max)
                    .with_expected(min.saturating_add(extra))
                    .with_overdraft(extra)
                    .with_subpartitions(extra.min(4), extra);
                match no_panic("create_buffer_pool_with", || {
                    net.create_buffer_pool_with(config)
                }) {
                    Ok(pool) => {
                        assert!(pool.num_buffers() >= min && pool.num_buffers() <= max);
                        let held: Vec<_> = std::iter::from_fn(|| pool.request_buffer().unwrap())
                            .take(2 * total)
                            .collect();
                        assert!(held.len() <= total);
                        drop(held);
                    }
                    Err(
                        BufferPoolError::InvalidArgument(_)
                        | BufferPoolError::InsufficientBuffers { .. },
                    ) => {}
                    Err(e) => panic!("{config:?}: {e}"),
                }
                settled(&net, total, &format!("{config:?}"));
            }
        }
    }
    let _held = net.create_buffer_pool(1, 2).unwrap();
    for n in COUNTS {
        for t in TIMEOUTS {
            match no_panic("request_unpooled", || net.request_unpooled(n, t)) {
                Ok(v) => assert_eq!(v.len(), n),
                Err(BufferPoolError::InsufficientBuffers { required, .. }) => {
                    assert_eq!(required, n)
                }
                Err(BufferPoolError::Timeout { .. }) => {}
                Err(e) => panic!("request_unpooled({n}, {t:?}): {e}"),
            }
            assert_eq!(
                net.required_segments(),
                1,
                "request_unpooled({n}, {t:?}) rolled back"
            );
        }
    }
    drop(_held);
    settled(&net, total, "after exclusive requests");
    assert_eq!(invariant_violations(), 0);
}

#[test]
fn local_pool_counts_and_buffer_indices() {
    let total = 8;
    let net = NetworkBufferPool::new(total, SEG, budget()).unwrap();
    let pool = net
        .create_buffer_pool_with(BufferPoolConfig::new(2, 6).with_subpartitions(2, 3))
        .unwrap();
    for n in COUNTS {
        let r = no_panic("set_num_buffers", || pool.set_num_buffers(n));
        assert_eq!(r.is_ok(), n >= 2, "set_num_buffers({n})");
        assert!(pool.num_buffers() >= 2 && pool.num_buffers() <= 6);
        let r = no_panic("reserve_segments", || pool.reserve_segments(n));
        assert_eq!(r.is_ok(), n <= 2, "reserve_segments({n})");
        let r = no_panic("request_buffer_for", || pool.request_buffer_for(n));
        assert_eq!(r.is_ok(), n < 2, "request_buffer_for({n})");
        drop(r);
        assert_eq!(
            no_panic("subpartition_buffers", || pool.subpartition_buffers(n)),
            0
        );
        no_panic("set_max_overdraft_buffers", || {
            pool.set_max_overdraft_buffers(n)
        });
        let held: Vec<_> = std::iter::from_fn(|| pool.request_buffer().unwrap())
            .take(2 * total)
            .collect();
        assert!(held.len() <= total, "overdraft {n}");
        drop(held);
        pool.set_max_overdraft_buffers(0);
    }
    let mut b = pool.request_buffer().unwrap().unwrap();
    b.append(b"0123456789");
    for i in COUNTS {
        assert_eq!(
            b.try_set_reader_index(i).is_ok(),
            i <= 10,
            "reader index {i}"
        );
        b.set_reader_index(0);
        assert_eq!(b.try_set_size(i).is_ok(), i <= SEG, "size {i}");
        b.set_size(10);
        for len in COUNTS {
            let r = no_panic("try_read_only_slice", || b.try_read_only_slice(i, len));
            let fits = i <= 10 && len <= 10 - i;
            assert_eq!(r.is_ok(), fits, "slice {i}+{len}");
        }
    }
    assert_eq!(b.ref_count(), 1, "every slice was released");
    drop((b, pool));
    settled(&net, total, "local pool ops");
    assert_eq!(invariant_violations(), 0);
}

proptest! {
    #[test]
    fn random_counts(
        min in any::<usize>(),
        max in any::<usize>(),
        n in any::<usize>(),
        small in 0usize..12,
    ) {
        let total = 8;
        let net = NetworkBufferPool::new(total, SEG, budget()).unwrap();
        for (min, max) in [(min, max), (small, max), (small, small.saturating_add(n % 4))] {
            if let Ok(pool) = net.create_buffer_pool(min, max) {
                let _ = pool.set_num_buffers(n);
                let _ = pool.set_num_buffers(small);
                let _ = pool.reserve_segments(n);
            }
        }
        let _ = net.request_unpooled(n, Duration::ZERO);
        let _ = net.request_unpooled(small, Duration::ZERO);
        settled(&net, total, "random counts");
    }
}
