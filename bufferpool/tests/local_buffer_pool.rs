//! Behaviour of `LocalBufferPool`, modelled on Flink's `LocalBufferPoolTest` and
//! `LocalBufferPoolDestroyTest`.

mod common;

use common::{block_on, network, poll_once, wait_for_waiters, wait_until};
use membudget_bufferpool::{Buffer, BufferListener, BufferPoolConfig, BufferPoolError};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::time::{Duration, Instant};

#[test]
fn eager_prefetch_keeps_one_idle_segment_until_the_size_is_reached() {
    // Case 6.
    let n = 5;
    let net = network(10);
    let pool = net.create_buffer_pool(n, n).unwrap();
    assert_eq!(
        pool.requested_segments(),
        1,
        "one segment prefetched at creation"
    );
    let mut held = Vec::new();
    for i in 1..=n {
        held.push(pool.request_buffer().unwrap().expect("within size"));
        assert_eq!(
            pool.requested_segments(),
            (i + 1).min(n),
            "after request {i}"
        );
    }
    assert!(pool.request_buffer().unwrap().is_none(), "request N + 1");
    assert!(!pool.is_available());
    assert_eq!(net.available_segments(), 10 - n);
}

#[test]
fn shrinking_a_fully_lent_pool_returns_buffers_as_they_are_recycled() {
    // Case 7.
    let net = network(10);
    let pool = net.create_buffer_pool(1, 10).unwrap();
    assert_eq!(pool.num_buffers(), 10);
    let mut held: Vec<Buffer> = (0..10)
        .map(|_| pool.request_buffer().unwrap().unwrap())
        .collect();
    assert_eq!(net.available_segments(), 0);
    pool.set_num_buffers(5).unwrap();
    assert_eq!(
        pool.requested_segments(),
        10,
        "nothing changes while all are lent out"
    );
    assert_eq!(net.available_segments(), 0);
    for returned in 1..=5 {
        drop(held.pop());
        assert_eq!(
            net.available_segments(),
            returned,
            "excess goes to the global pool"
        );
        assert_eq!(pool.available_segments(), 0);
    }
    drop(held.pop());
    assert_eq!(net.available_segments(), 5);
    assert_eq!(
        pool.available_segments(),
        1,
        "within size: back to the local pool"
    );
    assert_eq!(pool.requested_segments(), 5);
}

#[test]
fn set_num_buffers_below_min_fails_and_max_caps() {
    // Case 8.
    let net = network(10);
    let pool = net.create_buffer_pool(1, 2).unwrap();
    let err = pool.set_num_buffers(0).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Buffer pool needs at least 1 buffers, but tried to set to 0"
    );
    pool.set_num_buffers(3).unwrap();
    assert_eq!(pool.num_buffers(), 2);
    let a = pool.request_buffer().unwrap();
    let b = pool.request_buffer().unwrap();
    assert!(a.is_some() && b.is_some());
    assert!(pool.request_buffer().unwrap().is_none());
}

#[test]
fn shrinking_below_lent_buffers_turns_them_into_overdraft() {
    // Case 9.
    let net = network(7);
    let pool = net
        .create_buffer_pool_with(BufferPoolConfig::new(4, 10).with_overdraft(2))
        .unwrap();
    assert_eq!(pool.num_buffers(), 7);
    let held: Vec<_> = (0..7)
        .map(|_| pool.request_buffer().unwrap().unwrap())
        .collect();
    pool.set_num_buffers(5).unwrap();
    assert_eq!(pool.requested_segments(), 7, "2 overdraft");
    assert_eq!(pool.available_segments(), 0);
    assert!(!pool.is_available());
    assert!(
        pool.request_buffer().unwrap().is_none(),
        "overdraft limit reached"
    );
    drop(held);
}

#[test]
fn overdraft_buffers_are_taken_when_the_size_is_reached_and_returned_on_recycle() {
    let net = network(10);
    let pool = net
        .create_buffer_pool_with(BufferPoolConfig::new(3, 3).with_overdraft(2))
        .unwrap();
    let normal: Vec<_> = (0..3)
        .map(|_| pool.request_buffer().unwrap().unwrap())
        .collect();
    let o1 = pool.request_buffer().unwrap().expect("overdraft 1");
    let o2 = pool.request_buffer().unwrap().expect("overdraft 2");
    assert!(
        pool.request_buffer().unwrap().is_none(),
        "overdraft exhausted"
    );
    assert_eq!(pool.requested_segments(), 5);
    drop(o1);
    drop(o2);
    assert_eq!(
        pool.requested_segments(),
        3,
        "overdraft goes back to the global pool"
    );
    assert_eq!(net.available_segments(), 7);
    drop(normal);
    assert_eq!(pool.available_segments(), 3);
}

#[test]
fn a_pool_never_hands_out_more_than_its_size() {
    let net = network(20);
    let pool = net.create_buffer_pool(3, 3).unwrap();
    let held: Vec<_> = std::iter::from_fn(|| pool.request_buffer().unwrap()).collect();
    assert_eq!(held.len(), 3);
    assert_eq!(net.available_segments(), 17);
}

#[test]
fn requests_after_destroy_fail_with_the_destroyed_error() {
    let net = network(4);
    let pool = net.create_buffer_pool(1, 4).unwrap();
    let lent = pool.request_buffer().unwrap().unwrap();
    pool.lazy_destroy();
    pool.lazy_destroy(); // once only
    assert!(pool.is_destroyed());
    let err = pool.request_buffer().unwrap_err();
    assert_eq!(err.to_string(), "Buffer pool has already been destroyed.");
    assert_eq!(net.registered_pools(), 0);
    assert_eq!(net.available_segments(), 3);
    drop(lent);
    assert_eq!(
        net.available_segments(),
        4,
        "recycled after destroy: back to the global pool"
    );
    assert!(pool.set_num_buffers(2).is_ok());
    assert_eq!(pool.requested_segments(), 0, "no prefetch after destroy");
}

#[test]
fn destroy_wakes_a_blocked_requester_with_the_error() {
    // LocalBufferPoolDestroyTest: a thread blocked in a request fails once the pool dies.
    let net = network(2);
    let pool = net.create_buffer_pool(1, 1).unwrap();
    let held = pool.request_buffer().unwrap().unwrap();
    std::thread::scope(|s| {
        let h = s.spawn(|| pool.request_buffer_blocking());
        wait_until("the requester waits", || pool.num_waiters() == 1);
        assert!(!h.is_finished(), "the requester is blocked");
        pool.lazy_destroy();
        let r = h.join().unwrap();
        assert!(matches!(r, Err(BufferPoolError::PoolDestroyed)), "{r:?}");
    });
    drop(held);
}

#[test]
fn blocking_request_parks_until_a_buffer_is_recycled() {
    let net = network(2);
    let pool = net.create_buffer_pool(1, 1).unwrap();
    let held = pool.request_buffer().unwrap().unwrap();
    let idx = held.segment_index();
    std::thread::scope(|s| {
        let h = s.spawn(|| pool.request_buffer_blocking().map(|b| b.segment_index()));
        wait_until("the requester waits", || pool.num_waiters() == 1);
        assert!(!h.is_finished(), "the requester is blocked");
        drop(held);
        assert_eq!(h.join().unwrap().unwrap(), idx);
    });
}

#[test]
fn timed_request_parks_until_a_buffer_is_recycled() {
    let net = network(2);
    let pool = net.create_buffer_pool(1, 1).unwrap();
    // `Duration::MAX` is past any `Instant`: it waits without limit.
    for timeout in [Duration::from_secs(600), Duration::MAX] {
        let held = pool.request_buffer().unwrap().unwrap();
        let idx = held.segment_index();
        std::thread::scope(|s| {
            let h = s.spawn(|| {
                let b = pool.request_buffer_timeout(timeout).unwrap();
                b.map(|b| b.segment_index())
            });
            wait_for_waiters(&pool, 1);
            drop(held);
            assert_eq!(h.join().unwrap(), Some(idx), "{timeout:?}");
        });
        assert_eq!(pool.num_waiters(), 0);
    }
}

#[test]
fn timed_request_times_out_and_leaves_nothing_registered() {
    let net = network(2);
    let pool = net.create_buffer_pool(1, 1).unwrap();
    let held = pool.request_buffer().unwrap().unwrap();
    let timeout = Duration::from_millis(20);
    let start = Instant::now();
    assert!(pool.request_buffer_timeout(timeout).unwrap().is_none());
    assert!(start.elapsed() >= timeout, "returned before its timeout");
    assert_eq!(pool.num_waiters(), 0, "a timed-out request left its waiter");
    drop(held);
    assert!(pool.is_available());
    assert!(pool.request_buffer_timeout(timeout).unwrap().is_some());
}

#[test]
fn zero_timeout_polls_without_registering() {
    let net = network(2);
    let pool = net.create_buffer_pool(1, 1).unwrap();
    let held = pool
        .request_buffer_timeout(Duration::ZERO)
        .unwrap()
        .expect("a buffer is idle");
    for _ in 0..3 {
        assert!(pool
            .request_buffer_timeout(Duration::ZERO)
            .unwrap()
            .is_none());
        assert_eq!(pool.num_waiters(), 0);
    }
    drop(held);
    assert!(pool
        .request_buffer_timeout(Duration::ZERO)
        .unwrap()
        .is_some());
}

#[test]
fn destroy_fails_a_timed_request_while_it_waits() {
    let net = network(2);
    let pool = net.create_buffer_pool(1, 1).unwrap();
    let held = pool.request_buffer().unwrap().unwrap();
    std::thread::scope(|s| {
        let h = s.spawn(|| pool.request_buffer_timeout(Duration::from_secs(600)));
        wait_for_waiters(&pool, 1);
        pool.lazy_destroy();
        let r = h.join().unwrap();
        assert!(matches!(r, Err(BufferPoolError::PoolDestroyed)), "{r:?}");
    });
    let r = pool.request_buffer_timeout(Duration::from_secs(600));
    assert!(matches!(r, Err(BufferPoolError::PoolDestroyed)), "{r:?}");
    drop(held);
    assert_eq!(net.available_segments(), 2);
}

#[test]
fn available_future_completes_when_a_buffer_comes_back() {
    let net = network(2);
    let pool = net.create_buffer_pool(1, 1).unwrap();
    let held = pool.request_buffer().unwrap().unwrap();
    let mut fut = pool.available();
    assert_eq!(poll_once(&mut fut), Poll::Pending);
    drop(held);
    assert_eq!(poll_once(&mut fut), Poll::Ready(()));
    std::thread::scope(|s| {
        let held = pool.request_buffer().unwrap().unwrap();
        let pool = &pool;
        s.spawn(move || {
            wait_until("the future waits", || pool.num_waiters() == 1);
            drop(held);
        });
        block_on(pool.available());
        assert_eq!(pool.num_waiters(), 0, "the woken future unregistered");
        assert!(pool.request_buffer().unwrap().is_some());
    });
}

#[test]
fn pool_grows_back_when_the_global_pool_gets_segments() {
    let net = network(2);
    let ex = net.request_unpooled(1, Duration::from_secs(1)).unwrap();
    let pool = net.create_buffer_pool(1, 2).unwrap();
    assert_eq!(
        pool.num_buffers(),
        1,
        "the other segment is required by the exclusive one"
    );
    let a = pool.request_buffer().unwrap().unwrap();
    assert!(
        pool.request_buffer().unwrap().is_none(),
        "the other segment is exclusive"
    );
    let mut fut = pool.available();
    assert_eq!(poll_once(&mut fut), Poll::Pending);
    drop(ex); // back to the global pool; the requirement drops, pool may grow to 2
    assert_eq!(pool.num_buffers(), 2);
    assert_eq!(
        poll_once(&mut fut),
        Poll::Ready(()),
        "prefetched the returned segment"
    );
    assert!(pool.request_buffer().unwrap().is_some());
    drop(a);
}

#[test]
fn subpartition_limit_makes_the_pool_unavailable_but_requests_still_succeed() {
    let net = network(10);
    let pool = net
        .create_buffer_pool_with(BufferPoolConfig::new(6, 6).with_subpartitions(2, 2))
        .unwrap();
    let a = pool.request_buffer_for(0).unwrap().unwrap();
    assert!(pool.is_available());
    let b = pool.request_buffer_for(0).unwrap().unwrap();
    assert_eq!(pool.subpartition_buffers(0), 2);
    assert!(!pool.is_available(), "subpartition 0 reached its limit");
    let c = pool.request_buffer_for(1).unwrap();
    assert!(c.is_some(), "idle segments are still handed out");
    drop(b);
    assert!(pool.is_available());
    assert_eq!(pool.subpartition_buffers(0), 1);
    assert!(matches!(
        pool.request_buffer_for(2),
        Err(BufferPoolError::InvalidArgument(_))
    ));
    drop((a, c));
    assert_eq!(
        pool.subpartition_buffers(0) + pool.subpartition_buffers(1),
        0
    );
}

#[derive(Default)]
struct Collect {
    got: Mutex<Vec<Buffer>>,
    destroyed: AtomicUsize,
    decline: bool,
}

impl BufferListener for Collect {
    fn notify_buffer_available(&self, buffer: Buffer) -> Result<(), Buffer> {
        if self.decline {
            return Err(buffer);
        }
        self.got.lock().unwrap().push(buffer);
        Ok(())
    }

    fn notify_buffer_destroyed(&self) {
        self.destroyed.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn listeners_get_recycled_buffers_and_are_told_of_destruction() {
    let net = network(2);
    let pool = net.create_buffer_pool(1, 1).unwrap();
    let held = pool.request_buffer().unwrap().unwrap();
    let l = Arc::new(Collect::default());
    let declining = Arc::new(Collect {
        decline: true,
        ..Collect::default()
    });
    assert!(pool.add_buffer_listener(declining.clone()));
    assert!(pool.add_buffer_listener(l.clone()));
    drop(held);
    assert_eq!(
        l.got.lock().unwrap().len(),
        1,
        "the declined buffer went to the next listener"
    );
    assert_eq!(pool.available_segments(), 0);
    // A buffer is available now? No: the listener holds it.
    let waiting = Arc::new(Collect::default());
    assert!(pool.add_buffer_listener(waiting.clone()));
    l.got.lock().unwrap().clear(); // recycles → goes to `waiting`
    assert_eq!(waiting.got.lock().unwrap().len(), 1);
    let late = Arc::new(Collect::default());
    assert!(pool.add_buffer_listener(late.clone()));
    pool.lazy_destroy();
    assert_eq!(late.destroyed.load(Ordering::SeqCst), 1);
    assert!(
        !pool.add_buffer_listener(Arc::new(Collect::default())),
        "destroyed"
    );
    drop(waiting.got.lock().unwrap().pop());
    assert_eq!(net.available_segments(), 2);
}

#[test]
fn listener_registration_is_refused_while_buffers_are_idle() {
    let net = network(2);
    let pool = net.create_buffer_pool(1, 1).unwrap();
    assert!(!pool.add_buffer_listener(Arc::new(Collect::default())));
}

#[test]
fn reserve_segments_fetches_up_to_the_minimum() {
    let net = network(10);
    let pool = net.create_buffer_pool(4, 4).unwrap();
    let err = pool.reserve_segments(5).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("Can not reserve more segments than number of minimum segments"),
        "{err}"
    );
    assert_eq!(pool.requested_segments(), 1);
    pool.reserve_segments(3).unwrap();
    assert_eq!(pool.requested_segments(), 3);
    assert_eq!(pool.available_segments(), 3);
    pool.reserve_segments(2).unwrap();
    assert_eq!(pool.requested_segments(), 3, "already held");
    pool.lazy_destroy();
    assert!(matches!(
        pool.reserve_segments(1),
        Err(BufferPoolError::PoolDestroyed)
    ));
}

#[test]
fn invalid_configs_are_rejected_with_flinks_texts() {
    let net = network(10);
    let err = net.create_buffer_pool(0, 5).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Minimum number of memory segments (0) should be larger than 0."
    );
    let err = net.create_buffer_pool(5, 4).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Maximum number of memory segments (4) should not be smaller than expected (5)."
    );
    let err = net
        .create_buffer_pool_with(BufferPoolConfig::new(2, 5).with_expected(1))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Minimum number of memory segments (2) should not be larger than expected (1)."
    );
    let err = net
        .create_buffer_pool_with(BufferPoolConfig::new(2, 5).with_subpartitions(3, 0))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Maximum number of buffers for each channel (0) should be larger than 0."
    );
    assert_eq!(net.required_segments(), 0);
}

#[test]
fn concurrent_requesters_and_recyclers_lose_nothing() {
    let net = network(8);
    let pool = net.create_buffer_pool(4, 8).unwrap();
    let rounds = if cfg!(miri) { 50 } else { 20_000 };
    let (tx, rx) = std::sync::mpsc::sync_channel::<Buffer>(4);
    std::thread::scope(|s| {
        s.spawn(|| {
            for b in rx {
                drop(b);
            }
        });
        for i in 0..rounds {
            let mut b = pool.request_buffer_blocking().unwrap();
            b.append(&(i as u64).to_le_bytes());
            tx.send(b).unwrap();
        }
        drop(tx);
    });
    assert_eq!(pool.requested_segments(), pool.available_segments());
    drop(pool);
    assert_eq!(net.available_segments(), 8);
}

/// An async consumer's loop: each buffer's listener registers the next one, then drops (recycles)
/// the buffer, which serves that listener at once, on this thread.
struct Renewing {
    pool: Arc<membudget_bufferpool::LocalBufferPool>,
    me: std::sync::Weak<Renewing>,
    left: AtomicUsize,
    ran: AtomicUsize,
}

impl BufferListener for Renewing {
    fn notify_buffer_available(&self, buffer: Buffer) -> Result<(), Buffer> {
        self.ran.fetch_add(1, Ordering::SeqCst);
        if self.left.fetch_sub(1, Ordering::SeqCst) > 1 {
            assert!(self.pool.add_buffer_listener(self.me.upgrade().unwrap()));
        }
        drop(buffer);
        Ok(())
    }

    fn notify_buffer_destroyed(&self) {}
}

#[test]
fn a_listener_that_registers_again_and_recycles_runs_in_constant_stack() {
    // Enough to overflow a thread's stack if notifications nested (fewer under Miri, where
    // each round is slow; the order of calls is what it checks there).
    const ROUNDS: usize = if cfg!(miri) { 100 } else { 100_000 };
    let net = network(2);
    let pool = Arc::new(net.create_buffer_pool(1, 1).unwrap());
    let r = Arc::new_cyclic(|me| Renewing {
        pool: Arc::clone(&pool),
        me: me.clone(),
        left: AtomicUsize::new(ROUNDS),
        ran: AtomicUsize::new(0),
    });
    let held = pool.request_buffer().unwrap().unwrap();
    assert!(pool.add_buffer_listener(r.clone()));
    drop(held);
    assert_eq!(r.ran.load(Ordering::SeqCst), ROUNDS);
    assert_eq!(pool.available_segments(), 1, "the last buffer is back");
}
