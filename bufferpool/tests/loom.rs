//! Loom model checks of the lock-free request/recycle/availability paths
//! (`RUSTFLAGS="--cfg membudget_loom" cargo test --release -p membudget-bufferpool --test loom`).
//!
//! What is modelled: the shipped pools — `LocalBufferPool`/`NetworkBufferPool` request, recycle,
//! redistribution, listeners, destruction, the availability flag and its wakers, the blocking
//! wait — over loom atomics, mutexes and parking (`src/sync.rs`); the free lists are a port of
//! crossbeam's `ArrayQueue` algorithm onto loom atomics and cells (`src/queue.rs`; loom treats
//! `SeqCst` accesses as `AcqRel`, so the production no-op `fence_after_push` is modelled as the
//! `SeqCst` fence it stands for); the per-thread `LAST_POOL` recycle cache runs in loom's
//! thread-local storage. Not modelled: `std::sync::Arc`/`Weak` reference counts (loom's `Arc`
//! has no `Weak`/`new_cyclic`; std's are trusted, and loom still interleaves every atomic of
//! ours around them), and the slot headers' `UnsafeCell`s are std cells (the ownership protocol
//! of `slot.rs` is argued in prose, not checked by loom's cell tracking).
#![cfg(membudget_loom)]

use loom::thread;
use membudget_bufferpool::{LocalBufferPool, NetworkBufferPool};
use membudget_segments::MemorySegment;
use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

struct Unpark(thread::Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

/// Polls `f` on this loom thread, parking (a loom-visible block) between polls.
fn block_on<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    let waker = Waker::from(Arc::new(Unpark(thread::current())));
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
        thread::park();
    }
}

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
        assert!(
            pool.request_buffer().unwrap().is_some(),
            "available means a buffer is idle"
        );
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

/// `lazy_destroy` on another thread fails a parked blocking request.
#[test]
fn destroy_wakes_a_blocked_requester() {
    loom::model(|| {
        let net = network(1);
        let pool = Arc::new(net.create_buffer_pool(1, 1).unwrap());
        let held = pool.request_buffer().unwrap().unwrap();
        let p = pool.clone();
        let t = thread::spawn(move || p.lazy_destroy());
        assert!(pool.request_buffer_blocking().is_err());
        t.join().unwrap();
        drop(held);
        assert_eq!(net.available_segments(), 1);
    });
}

/// A timed request parked on an exhausted pool is woken by a recycle on another thread (the
/// deadline lies far beyond the model).
#[test]
fn timed_request_is_woken_by_recycle() {
    loom::model(|| {
        let net = network(1);
        let pool = net.create_buffer_pool(1, 1).unwrap();
        let a = pool.request_buffer().unwrap().unwrap();
        let idx = a.segment_index();
        let t = thread::spawn(move || drop(a));
        let b = pool
            .request_buffer_timeout(Duration::from_secs(3600))
            .unwrap();
        assert_eq!(b.map(|b| b.segment_index()), Some(idx));
        t.join().unwrap();
        assert_eq!(pool.num_waiters(), 0);
    });
}

/// `lazy_destroy` on another thread fails a parked timed request.
#[test]
fn destroy_fails_a_timed_request() {
    loom::model(|| {
        let net = network(1);
        let pool = Arc::new(net.create_buffer_pool(1, 1).unwrap());
        let held = pool.request_buffer().unwrap().unwrap();
        let p = pool.clone();
        let t = thread::spawn(move || p.lazy_destroy());
        assert!(pool
            .request_buffer_timeout(Duration::from_secs(3600))
            .is_err());
        t.join().unwrap();
        drop(held);
        assert_eq!(net.available_segments(), 1);
    });
}

/// A zero-timeout request racing a recycle: it gets the buffer or the buffer stays idle, and
/// it never leaves a waiter registered.
#[test]
fn zero_timeout_poll_racing_recycle_registers_nothing() {
    loom::model(|| {
        let net = network(1);
        let pool = net.create_buffer_pool(1, 1).unwrap();
        let a = pool.request_buffer().unwrap().unwrap();
        let t = thread::spawn(move || drop(a));
        let got = pool.request_buffer_timeout(Duration::ZERO).unwrap();
        assert_eq!(pool.num_waiters(), 0);
        t.join().unwrap();
        assert_eq!(usize::from(got.is_some()) + pool.available_segments(), 1);
    });
}

struct Take(std::sync::Mutex<Vec<membudget_bufferpool::Buffer>>);

impl membudget_bufferpool::BufferListener for Take {
    fn notify_buffer_available(
        &self,
        buffer: membudget_bufferpool::Buffer,
    ) -> Result<(), membudget_bufferpool::Buffer> {
        self.0.lock().unwrap().push(buffer);
        Ok(())
    }

    fn notify_buffer_destroyed(&self) {}
}

/// A listener registered while a buffer is recycled: the buffer ends up either with the
/// listener or idle in the pool (then registration was refused) — exactly once.
#[test]
fn listener_registration_racing_recycle_gets_the_buffer_exactly_once() {
    loom::model(|| {
        let net = network(1);
        let pool = net.create_buffer_pool(1, 1).unwrap();
        let held = pool.request_buffer().unwrap().unwrap();
        let t = thread::spawn(move || drop(held));
        let l = Arc::new(Take(std::sync::Mutex::new(Vec::new())));
        let registered = pool.add_buffer_listener(l.clone());
        t.join().unwrap();
        let with_listener = l.0.lock().unwrap().len();
        let idle = pool.available_segments();
        assert_eq!(with_listener + idle, 1, "registered: {registered}");
        if !registered {
            assert_eq!(idle, 1);
        }
    });
}

/// The per-thread recycle cache: one thread recycles two buffers into a pool (the second time
/// through its cached reference) while another destroys the pool; both segments end up in the
/// global pool exactly once, and nothing keeps the destroyed pool cached.
#[test]
fn cached_recycles_racing_destroy_return_every_segment_once() {
    loom::model(|| {
        let net = network(2);
        let pool = net.create_buffer_pool(2, 2).unwrap();
        let a = pool.request_buffer().unwrap().unwrap();
        let b = pool.request_buffer().unwrap().unwrap();
        let t = thread::spawn(move || {
            drop(a);
            drop(b);
        });
        pool.lazy_destroy();
        t.join().unwrap();
        drop(pool);
        assert_eq!(net.available_segments(), 2);
        assert_eq!(membudget_bufferpool::invariant_violations(), 0);
    });
}

/// A shrink (`set_num_buffers`) returning excess idle segments while a recycle gives one back
/// and the pool is destroyed: every segment reaches the global pool. (The soak test's "1023 of
/// 1024": a shrink that found the pool no longer over its size put the segment it had popped
/// back into the idle list after `lazy_destroy` had drained it, so nothing ever returned it.)
#[test]
fn shrink_racing_recycle_and_destroy_loses_no_segment() {
    loom::model(|| {
        let net = network(3);
        let pool = Arc::new(net.create_buffer_pool(1, 3).unwrap());
        let a = pool.request_buffer().unwrap().unwrap();
        let b = pool.request_buffer().unwrap().unwrap();
        // Lent: a, b; idle: one prefetched; requested 3 of size 3.
        let recycler = thread::spawn(move || drop(a));
        let p = pool.clone();
        let destroyer = thread::spawn(move || p.lazy_destroy());
        pool.set_num_buffers(2).unwrap();
        recycler.join().unwrap();
        destroyer.join().unwrap();
        drop(b);
        drop(pool);
        assert_eq!(net.available_segments(), 3, "every segment is back");
        assert_eq!(membudget_bufferpool::invariant_violations(), 0);
    });
}
