//! Pool creation, destruction and redistribution, modelled on Flink's `BufferPoolFactoryTest`.

mod common;

use common::network;
use membudget_bufferpool::{BufferPoolConfig, BufferPoolError, LocalBufferPool, UNBOUNDED};
use proptest::prelude::*;

#[test]
fn three_buffers_are_shared_by_one_two_and_three_pools() {
    // Case 5.
    let net = network(3);
    let first = net.create_buffer_pool(1, 10).unwrap();
    assert_eq!(first.num_buffers(), 3);
    let second = net.create_buffer_pool(1, 10).unwrap();
    assert_eq!(first.num_buffers() + second.num_buffers(), 3);
    assert!(first.num_buffers() != 3 && second.num_buffers() != 3);
    let third = net.create_buffer_pool(1, 10).unwrap();
    assert_eq!(
        [
            first.num_buffers(),
            second.num_buffers(),
            third.num_buffers()
        ],
        [1, 1, 1]
    );
    assert_eq!(
        net.available_segments(),
        0,
        "every pool prefetched its one buffer"
    );
    drop(third);
    assert_eq!(first.num_buffers() + second.num_buffers(), 3);
}

#[test]
fn required_more_than_available_is_refused() {
    let net = network(10);
    let _a = net.create_buffer_pool(5, 5).unwrap();
    assert!(matches!(
        net.create_buffer_pool(6, 6),
        Err(BufferPoolError::InsufficientBuffers {
            required: 6,
            available: 5,
            total: 10,
            ..
        })
    ));
    net.create_buffer_pool(5, 5).unwrap();
}

#[test]
fn fixed_size_pools_keep_their_size() {
    let net = network(10);
    let fixed = net.create_buffer_pool(3, 3).unwrap();
    let resizable = net.create_buffer_pool(1, UNBOUNDED).unwrap();
    assert_eq!(fixed.num_buffers(), 3);
    assert_eq!(resizable.num_buffers(), 7);
    drop(fixed);
    assert_eq!(resizable.num_buffers(), 10);
}

#[test]
fn bounded_pools_are_capped_and_the_rest_goes_to_others() {
    let net = network(10);
    let small = net.create_buffer_pool(1, 2).unwrap();
    let big = net.create_buffer_pool(1, UNBOUNDED).unwrap();
    assert_eq!(small.num_buffers(), 2);
    assert_eq!(big.num_buffers(), 8);
}

#[test]
fn sizes_follow_expected_weights() {
    let net = network(100);
    let light = net
        .create_buffer_pool_with(BufferPoolConfig::new(1, UNBOUNDED).with_expected(1))
        .unwrap();
    let heavy = net
        .create_buffer_pool_with(BufferPoolConfig::new(1, UNBOUNDED).with_expected(3))
        .unwrap();
    assert_eq!((light.num_buffers(), heavy.num_buffers()), (25, 75));
}

#[test]
fn destroying_a_pool_redistributes_its_buffers() {
    let net = network(6);
    let a = net.create_buffer_pool(1, 6).unwrap();
    let b = net.create_buffer_pool(1, 6).unwrap();
    assert_eq!(a.num_buffers() + b.num_buffers(), 6);
    b.lazy_destroy();
    assert_eq!(a.num_buffers(), 6);
    assert_eq!(net.registered_pools(), 1);
    assert_eq!(net.count_buffers(), 6);
}

#[test]
fn exclusive_segments_shrink_resizable_pools() {
    let net = network(10);
    let a = net.create_buffer_pool(2, 10).unwrap();
    assert_eq!(a.num_buffers(), 10);
    let ex = net
        .request_unpooled(5, std::time::Duration::from_secs(1))
        .unwrap();
    assert_eq!(a.num_buffers(), 5);
    drop(ex);
    assert_eq!(a.num_buffers(), 10);
}

fn check_sizes(net_total: usize, pools: &[LocalBufferPool]) -> Result<(), TestCaseError> {
    let sum: usize = pools.iter().map(|p| p.num_buffers()).sum();
    prop_assert!(sum <= net_total, "Σ sizes {} > total {}", sum, net_total);
    for p in pools {
        prop_assert!(p.num_buffers() >= p.min_buffers() && p.num_buffers() <= p.max_buffers());
        prop_assert!(p.requested_segments() <= p.num_buffers());
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(if cfg!(miri) { 4 } else { 64 }))]

    /// Random creation/destruction: Σ sizes ≤ total, every pool within [min, max], and all
    /// segments back in the global pool at the end.
    #[test]
    fn random_pool_churn_keeps_the_invariants(
        ops in proptest::collection::vec((0usize..4, 1usize..5, 0usize..6, 0usize..8), 1..30)
    ) {
        let total = 24;
        let net = network(total);
        let mut pools: Vec<LocalBufferPool> = Vec::new();
        for (op, min, extra, pick) in ops {
            match op {
                0 | 1 => {
                    let max = if extra == 5 { UNBOUNDED } else { min + extra };
                    let c = BufferPoolConfig::new(min, max).with_expected(min + extra % 3);
                    match net.create_buffer_pool_with(c) {
                        Ok(p) => pools.push(p),
                        Err(BufferPoolError::InsufficientBuffers { .. }) => {
                            let req: usize = pools.iter().map(|p| p.min_buffers()).sum();
                            prop_assert!(req + min > total);
                        }
                        Err(BufferPoolError::InvalidArgument(_)) => {}
                        Err(e) => return Err(TestCaseError::fail(e.to_string())),
                    }
                }
                2 if !pools.is_empty() => {
                    let i = pick % pools.len();
                    drop(pools.swap_remove(i));
                }
                _ => {}
            }
            check_sizes(total, &pools)?;
        }
        drop(pools);
        prop_assert_eq!(net.available_segments(), total);
        prop_assert_eq!(net.required_segments(), 0);
    }
}
