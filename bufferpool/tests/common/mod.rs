//! Helpers shared by the integration tests: budgets, pools and a tiny `block_on`.
#![allow(dead_code)]

use membudget_allocator::{Budget, Category, Quotas, SharedBudget};
use membudget_bufferpool::{LocalBufferPool, NetworkBufferPool};
use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::Thread;
use std::time::{Duration, Instant};

/// Segment size used by the tests (the page source's minimum).
pub const SEG: usize = 4096;

/// An isolated budget with an unlimited network quota.
pub fn budget() -> SharedBudget {
    SharedBudget::from(Budget::new(Quotas::unlimited()))
}

/// `n` segments of [`SEG`] bytes on an isolated budget.
pub fn network(n: usize) -> NetworkBufferPool {
    NetworkBufferPool::new(n, SEG, budget()).expect("network pool")
}

/// Network bytes used in `b`.
pub fn network_used(b: &SharedBudget) -> u64 {
    b.used(Category::Network)
}

struct ThreadWaker(Thread);

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

/// Runs `f` to completion on this thread, parking between polls.
pub fn block_on<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    let waker = Waker::from(Arc::new(ThreadWaker(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::park();
    }
}

/// Waits (yielding, no fixed sleep) until `cond` holds; fails the test after 10 s.
pub fn wait_until(what: &str, cond: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !cond() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting until {what}"
        );
        std::thread::yield_now();
    }
}

/// Polls `f` once with a no-op waker.
pub fn poll_once<F: Future + Unpin>(f: &mut F) -> Poll<F::Output> {
    let waker = Waker::noop();
    let mut cx = Context::from_waker(waker);
    std::pin::Pin::new(f).poll(&mut cx)
}

/// Waits until `pool` has `n` registered waiters: observes a request parked (and so woken by
/// the next recycle) instead of guessing with a sleep. Fails after a minute.
pub fn wait_for_waiters(pool: &LocalBufferPool, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while pool.num_waiters() != n {
        assert!(
            Instant::now() < deadline,
            "{} waiters, expected {n}",
            pool.num_waiters()
        );
        std::thread::yield_now();
    }
}
