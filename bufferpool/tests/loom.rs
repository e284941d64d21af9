//! Loom model checks of the lock-free request/recycle/availability paths
//! (`RUSTFLAGS="--cfg membudget_loom" cargo test --release -p membudget-bufferpool --test loom`).
#![cfg(membudget_loom)]

use loom::future::block_on;
use loom::thread;
use membudget_bufferpool::{LocalBufferPool, NetworkBufferPool};
use membudget_segments::MemorySegment;
use std::sync::Arc;
use std::time::Duration;

fn network(n: usize) -> NetworkBufferPool {
    let segments = (0..n).map(|_| MemorySegment::wrap(vec![0u8; 64])).collect();
    NetworkBufferPool::from_segments(segments, Duration::from_secs(1)).unwrap()
}

/// A buffer recycled on another thread wakes the requester parked on `available()`.
#[test]
fn recycle_on_another_thread_wakes_the_waiting_requester() {
    loom::model(|| {
        let net = network(1);
        let pool = Arc::new(net.create_buffer_pool(1, 1).unwrap());
        let b = pool.request_buffer().unwrap().unwrap();
        let t = thread::spawn(move || drop(b));
        block_on(pool.available());
        assert!(pool.request_buffer().unwrap().is_some(), "available means a buffer is idle");
        t.join().unwrap();
    });
}

/// Two concurrent recyclers: both segments end up idle exactly once, none is lost.
#[test]
fn concurrent_recycles_lose_and_duplicate_nothing() {
    loom::model(|| {
        let net = network(2);
        let pool: Arc<LocalBufferPool> = Arc::new(net.create_buffer_pool(2, 2).unwrap());
        let a = pool.request_buffer().unwrap().unwrap();
        let b = pool.request_buffer().unwrap().unwrap();
        let ta = thread::spawn(move || drop(a));
        let tb = thread::spawn(move || drop(b));
        let mut got = Vec::new();
        while got.len() < 2 {
            match pool.request_buffer().unwrap() {
                Some(x) => got.push(x),
                None => block_on(pool.available()),
            }
        }
        assert_ne!(got[0].segment_index(), got[1].segment_index());
        ta.join().unwrap();
        tb.join().unwrap();
        assert_eq!(pool.requested_segments(), 2);
    });
}

/// A recycle racing with `lazy_destroy`: the segment reaches the global pool either way.
#[test]
fn recycle_racing_destroy_returns_the_segment_to_the_global_pool() {
    loom::model(|| {
        let net = network(2);
        let pool = net.create_buffer_pool(2, 2).unwrap();
        let a = pool.request_buffer().unwrap().unwrap();
        let t = thread::spawn(move || drop(a));
        pool.lazy_destroy();
        t.join().unwrap();
        assert_eq!(net.available_segments(), 2);
    });
}

/// A pool waiting on the empty global pool is woken by a segment another pool gives back,
/// fetches it and becomes available.
#[test]
fn global_subscription_refills_a_starved_pool() {
    loom::model(|| {
        let net = network(2);
        let a = net.create_buffer_pool(1, 2).unwrap();
        let a1 = a.request_buffer().unwrap().unwrap();
        let a2 = a.request_buffer().unwrap().unwrap();
        // B's minimum shrinks A to 1; both segments are lent by A, so B starts empty.
        let b = net.create_buffer_pool(1, 2).unwrap();
        assert_eq!(b.requested_segments(), 0);
        let t = thread::spawn(move || drop(a1));
        block_on(b.available());
        assert!(b.request_buffer().unwrap().is_some());
        t.join().unwrap();
        drop(a2);
    });
}

/// A parked `request_buffer_blocking` is woken by a recycle on another thread.
#[test]
fn blocking_request_is_woken_by_recycle() {
    loom::model(|| {
        let net = network(1);
        let pool = net.create_buffer_pool(1, 1).unwrap();
        let a = pool.request_buffer().unwrap().unwrap();
        let idx = a.segment_index();
        let t = thread::spawn(move || drop(a));
        let b = pool.request_buffer_blocking().unwrap();
        assert_eq!(b.segment_index(), idx);
        t.join().unwrap();
    });
}
