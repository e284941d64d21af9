//! Behaviour of `NetworkBufferPool`, modelled on Flink's `NetworkBufferPoolTest`.

mod common;

use common::{budget, network, network_used, poll_once, wait_until, SEG};
use membudget_allocator::{Budget, Category, Quotas, SharedBudget};
use membudget_bufferpool::{BufferPoolConfig, BufferPoolError, NetworkBufferPool, UNBOUNDED};
use std::task::Poll;
use std::time::Duration;

const INSUFFICIENT_11_OF_10: &str = "Insufficient number of network buffers: required 11, but \
only 10 available. The total number of network buffers is currently set to 10 of 4096 bytes \
each. You can increase this number by setting the configuration keys \
'taskmanager.memory.network.fraction', 'taskmanager.memory.network.min', and \
'taskmanager.memory.network.max'.";

#[test]
fn segments_are_charged_to_the_network_category_up_front() {
    let b = budget();
    let net = NetworkBufferPool::new(10, SEG, b.clone()).unwrap();
    assert_eq!(network_used(&b), 10 * SEG as u64);
    assert_eq!(net.total_segments(), 10);
    assert_eq!(net.available_segments(), 10);
    assert_eq!(net.total_memory(), 10 * SEG as u64);
    drop(net);
    assert_eq!(network_used(&b), 0);
}

#[test]
fn a_budget_too_small_is_a_clear_error_and_nothing_stays_charged() {
    let b = SharedBudget::from(Budget::new(
        Quotas::unlimited().with(Category::Network, 5 * SEG as u64),
    ));
    let err = NetworkBufferPool::new(10, SEG, b.clone()).unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(
            err,
            BufferPoolError::OutOfMemory {
                required: 40960,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(text.starts_with("Could not allocate enough memory segments for NetworkBufferPool (required (in bytes): 40960"), "{text}");
    assert!(text.contains("network"), "{text}");
    assert_eq!(network_used(&b), 0);
}

#[test]
fn destroyed_pool_refuses_new_pools_and_counts_zero() {
    // Case 1.
    let net = network(10);
    net.destroy();
    assert!(net.is_destroyed());
    assert_eq!(net.total_segments(), 0);
    assert_eq!(net.available_segments(), 0);
    let err = net.create_buffer_pool(1, 1).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Network buffer pool has already been destroyed."
    );
    assert!(matches!(
        net.request_unpooled(1, Duration::from_millis(1)),
        Err(BufferPoolError::NetworkPoolDestroyed)
    ));
}

#[test]
fn destroy_frees_idle_segments_and_later_recycled_ones() {
    let b = budget();
    let net = NetworkBufferPool::new(4, SEG, b.clone()).unwrap();
    let ex = net.request_unpooled(1, Duration::from_secs(1)).unwrap();
    net.destroy();
    assert_eq!(
        network_used(&b),
        SEG as u64,
        "only the exclusive segment is still out"
    );
    drop(ex);
    assert_eq!(network_used(&b), 0);
}

#[test]
fn exclusive_request_beyond_total_fails_and_changes_nothing() {
    // Case 2.
    let net = network(10);
    let err = net
        .request_unpooled(11, Duration::from_secs(1))
        .unwrap_err();
    assert_eq!(err.to_string(), INSUFFICIENT_11_OF_10);
    assert_eq!(net.available_segments(), 10);
    assert_eq!(net.required_segments(), 0);
    assert!(net
        .request_unpooled(0, Duration::from_secs(1))
        .unwrap()
        .is_empty());
}

#[test]
fn exclusive_request_times_out_with_the_option_name_and_rolls_back() {
    // Case 3.
    let net = network(10);
    let pool = net.create_buffer_pool(1, 10).unwrap();
    let held: Vec<_> = (0..10)
        .map(|_| pool.request_buffer().unwrap().unwrap())
        .collect();
    let err = net
        .request_unpooled(2, Duration::from_millis(50))
        .unwrap_err();
    assert!(matches!(err, BufferPoolError::Timeout { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.starts_with("Timeout triggered when requesting exclusive buffers: The total number of network buffers is currently set to 10 of 4096 bytes each."), "{text}");
    assert!(text.ends_with("or you may increase the timeout which is 50ms by setting the key 'taskmanager.network.memory.exclusive-buffers-request-timeout-ms'."), "{text}");
    assert_eq!(
        net.required_segments(),
        1,
        "the exclusive requirement was rolled back"
    );
    assert_eq!(pool.num_buffers(), 10, "the pool got its buffers back");
    drop(held);
    drop(pool);
    assert_eq!(net.available_segments(), 10);
}

#[test]
fn exclusive_request_waits_for_recycled_buffers() {
    let net = network(4);
    let pool = net.create_buffer_pool(1, 4).unwrap();
    let held: Vec<_> = (0..4)
        .map(|_| pool.request_buffer().unwrap().unwrap())
        .collect();
    let before = net.num_waiters();
    std::thread::scope(|s| {
        let h = s.spawn(|| net.request_unpooled(2, Duration::from_secs(10)));
        wait_until("the exclusive request waits", || net.num_waiters() > before);
        assert!(!h.is_finished(), "the request is blocked");
        drop(held);
        let got = h.join().unwrap().unwrap();
        assert_eq!(got.len(), 2);
    });
    assert_eq!(net.required_segments(), 1);
}

#[test]
fn exclusive_segments_count_against_minimums_until_recycled() {
    let net = network(10);
    let ex = net.request_unpooled(8, Duration::from_secs(1)).unwrap();
    assert_eq!(net.required_segments(), 8);
    let err = net.create_buffer_pool(3, 3).unwrap_err();
    assert!(matches!(
        err,
        BufferPoolError::InsufficientBuffers {
            required: 3,
            available: 2,
            ..
        }
    ));
    net.recycle_unpooled(ex);
    assert_eq!(net.required_segments(), 0);
    assert_eq!(net.available_segments(), 10);
    net.create_buffer_pool(3, 3).unwrap();
}

#[test]
fn availability_follows_the_free_list() {
    // Case 4.
    let net = network(2);
    assert!(net.is_available());
    let a = net.request_unpooled(1, Duration::from_secs(1)).unwrap();
    assert!(net.is_available());
    let b = net.request_unpooled(1, Duration::from_secs(1)).unwrap();
    assert!(!net.is_available());
    let mut fut = net.available();
    assert_eq!(poll_once(&mut fut), Poll::Pending);
    drop(a);
    assert!(net.is_available());
    assert_eq!(poll_once(&mut fut), Poll::Ready(()));
    drop(b);
}

#[test]
fn available_future_is_woken_from_another_thread() {
    let net = network(1);
    let ex = net.request_unpooled(1, Duration::from_secs(1)).unwrap();
    std::thread::scope(|s| {
        let net = &net;
        s.spawn(move || {
            wait_until("the future waits", || net.num_waiters() == 1);
            drop(ex);
        });
        common::block_on(net.available());
    });
    assert_eq!(net.available_segments(), 1);
}

#[test]
fn insufficient_minimums_name_the_config_keys() {
    let net = network(10);
    let _a = net.create_buffer_pool(6, 6).unwrap();
    let err = net.create_buffer_pool(5, 5).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Insufficient number of network buffers: required 5, but only 4 available. The total \
         number of network buffers is currently set to 10 of 4096 bytes each. You can increase \
         this number by setting the configuration keys 'taskmanager.memory.network.fraction', \
         'taskmanager.memory.network.min', and 'taskmanager.memory.network.max'."
    );
}

#[test]
fn destroy_all_buffer_pools_destroys_lazily_and_checks_bookkeeping() {
    let net = network(10);
    let a = net.create_buffer_pool(2, 5).unwrap();
    let b = net.create_buffer_pool(3, UNBOUNDED).unwrap();
    let lent = a.request_buffer().unwrap().unwrap();
    net.destroy_all_buffer_pools().unwrap();
    assert!(a.is_destroyed() && b.is_destroyed());
    assert_eq!(net.registered_pools(), 0);
    assert_eq!(net.required_segments(), 0);
    assert_eq!(net.available_segments(), 9);
    drop(lent);
    assert_eq!(net.available_segments(), 10);
    assert!(matches!(
        a.request_buffer(),
        Err(BufferPoolError::PoolDestroyed)
    ));

    let ex = net.request_unpooled(1, Duration::from_secs(1)).unwrap();
    let err = net.destroy_all_buffer_pools().unwrap_err();
    assert_eq!(
        err.to_string(),
        "NetworkBufferPool is not empty after destroying all LocalBufferPools (pools: 0, required buffers: 1)"
    );
    drop(ex);
    net.destroy_all_buffer_pools().unwrap();
}

#[test]
fn usage_warning_above_100_percent_once_and_back_to_normal() {
    let net = network(10);
    assert_eq!(net.usage_warning(), None);
    let a = net
        .create_buffer_pool_with(BufferPoolConfig::new(1, 20))
        .unwrap();
    assert_eq!(net.estimated_requested_usage_percent(), 200);
    let w = net.usage_warning().expect("warning at 200%");
    assert_eq!(
        w,
        "Memory usage [200%] is too high to satisfy all of the requests. This can severely \
         impact network throughput. Please consider increasing available network memory, or \
         decreasing configured size of network buffer pools. (totalMemory=40.000kb (40960 \
         bytes), requestedMemory=80.000kb (81920 bytes), missingMemory=40.000kb (40960 bytes))"
    );
    assert_eq!(net.usage_warning(), None, "same usage: no repeat");
    // Unbounded pools count their expected size.
    let b = net.create_buffer_pool(2, UNBOUNDED).unwrap();
    assert_eq!(net.estimated_requested_segments(), 22);
    drop(a);
    assert_eq!(net.estimated_requested_usage_percent(), 20);
    assert_eq!(
        net.usage_warning().as_deref(),
        Some("Memory usage [20%] went back to normal")
    );
    assert_eq!(net.usage_warning(), None);
    drop(b);
}

#[test]
fn segment_indices_are_never_handed_out_twice() {
    let net = network(16);
    let pool = net.create_buffer_pool(4, 16).unwrap();
    let ex = net.request_unpooled(4, Duration::from_secs(1)).unwrap();
    let mut seen = std::collections::HashSet::new();
    let mut held = Vec::new();
    while let Some(b) = pool.request_buffer().unwrap() {
        assert!(
            seen.insert(b.segment_index()),
            "segment {} handed out twice",
            b.segment_index()
        );
        held.push(b);
    }
    for b in &ex {
        assert!(seen.insert(b.segment_index()));
    }
    assert_eq!(seen.len(), 16);
}

#[test]
fn usage_warning_prints_sizes_like_flink_at_unit_boundaries() {
    // 256 × 4 KiB = exactly 1 MiB: Flink prints it in KiB ("1024.000kb"), not "1.000mb".
    let net = network(256);
    let pool = net
        .create_buffer_pool_with(BufferPoolConfig::new(1, 512))
        .unwrap();
    let w = net.usage_warning().expect("warning at 200%");
    assert!(
        w.ends_with(
            "(totalMemory=1024.000kb (1048576 bytes), requestedMemory=2.000mb (2097152 bytes), \
             missingMemory=1024.000kb (1048576 bytes))"
        ),
        "{w}"
    );
    drop(pool);
}

#[test]
fn hostile_counts_are_clear_errors_and_change_nothing() {
    let b = budget();
    let net = NetworkBufferPool::new(10, SEG, b.clone()).unwrap();
    let _pool = net.create_buffer_pool(2, 4).unwrap();
    // A minimum that overflows `required + min`.
    let err = net.create_buffer_pool(usize::MAX, UNBOUNDED).unwrap_err();
    assert!(
        matches!(
            err,
            BufferPoolError::InsufficientBuffers {
                required: usize::MAX,
                available: 8,
                total: 10,
                ..
            }
        ),
        "{err:?}"
    );
    // An exclusive request that overflows `required + n`.
    let err = net
        .request_unpooled(usize::MAX, Duration::from_secs(1))
        .unwrap_err();
    assert!(
        matches!(
            err,
            BufferPoolError::InsufficientBuffers {
                required: usize::MAX,
                available: 8,
                ..
            }
        ),
        "{err:?}"
    );
    // A timeout too long to be a deadline waits without one (here: not at all).
    let got = net.request_unpooled(1, Duration::MAX).unwrap();
    drop(got);
    assert_eq!(net.required_segments(), 2);
    assert_eq!(net.registered_pools(), 1);
    assert_eq!(network_used(&b), 10 * SEG as u64);
    drop(net);
    assert_eq!(network_used(&b), 0);
    assert_eq!(membudget_bufferpool::invariant_violations(), 0);
}

#[test]
fn hostile_pool_sizes_are_refused_before_anything_is_allocated() {
    let b = budget();
    let err = NetworkBufferPool::new(usize::MAX, 4096, b.clone()).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "Number of network buffers ({}) must be less than 4294967295.",
            usize::MAX
        )
    );
    let err = NetworkBufferPool::new(u32::MAX as usize, 4096, b.clone()).unwrap_err();
    assert!(
        matches!(err, BufferPoolError::InvalidArgument(_)),
        "{err:?}"
    );
    for bad in [0usize, 1, 4095, usize::MAX] {
        let err = NetworkBufferPool::new(1, bad, b.clone()).unwrap_err();
        assert!(
            err.to_string().starts_with(&format!(
                "Invalid page size ('taskmanager.memory.segment-size'): {bad}."
            )),
            "{err}"
        );
    }
    assert_eq!(network_used(&b), 0);
}

#[test]
fn an_empty_pool_reports_its_configured_segment_size() {
    let net = NetworkBufferPool::new(0, 32768, budget()).unwrap();
    assert_eq!(net.segment_size(), 32768);
    assert_eq!(net.total_segments(), 0);
    let err = net.create_buffer_pool(1, 1).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Insufficient number of network buffers: required 1, but only 0 available. The total \
         number of network buffers is currently set to 0 of 32768 bytes each. You can increase \
         this number by setting the configuration keys 'taskmanager.memory.network.fraction', \
         'taskmanager.memory.network.min', and 'taskmanager.memory.network.max'."
    );
}
