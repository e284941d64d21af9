//! Loom model checks of the lock-free request/recycle/availability paths
//! (`RUSTFLAGS="--cfg membudget_loom" cargo test --release -p membudget-bufferpool --test loom`).
//!
//! What is modelled: the shipped pools — `LocalBufferPool`/`NetworkBufferPool` request, recycle,
//! redistribution, listeners, destruction, the availability flag and its wakers, the blocking
//! wait — over loom atomics, mutexes and parking (`src/sync.rs`), including the free and idle
//! lists (`src/queue.rs`, this crate's own batch queue, run as shipped) and the per-thread
//! stashes (`src/stash.rs`) with their binding to a pool in loom's thread-local storage
//! (`src/thread_cache.rs`): the models from "pools of 4" on use pools large enough to stash.
//! One substitution: the producer's no-op `fence_after_rmw` is the `SeqCst` fence it stands
//! for (loom treats `SeqCst` read-modify-writes as `AcqRel`). Not modelled: `std::sync::Arc`/
//! `Weak` reference counts (loom's `Arc` has no `Weak`/`new_cyclic`; std's are trusted, and
//! loom still interleaves every atomic of ours around them), and the slot headers'
//! `UnsafeCell`s are std cells (the ownership protocol of `slot.rs` is argued in prose, not
//! checked by loom's cell tracking).
//!
//! Depth: `LOOM_MAX_PREEMPTIONS=2` (`scripts/test-loom`). Loom 0.7 does not keep a
//! read-modify-write atomic against a concurrent plain store (tokio-rs/loom#254: it lets the
//! store land between the read and the write), so at depth 3 it explored histories no machine
//! has; every atomic these models share between a read-modify-write and a store is now written
//! by read-modify-writes only (`Availability::set_unavailable`).
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

/// `loom::model` for models whose executions take more than loom's default 1000 branches
/// (four requests, with the pool's cold paths between them).
fn long_model(f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    builder.max_branches = 20_000;
    builder.check(f);
}

/// Yields until `done` holds (loom runs the other threads meanwhile, up to their exit; a
/// condition that never holds fails the model for exceeding its branches).
fn eventually(done: impl Fn() -> bool) {
    while !done() {
        thread::yield_now();
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

/// One thread recycles two buffers into a pool while another destroys it; both segments end
/// up in the global pool exactly once.
#[test]
fn recycles_racing_destroy_return_every_segment_once() {
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

// The models below use pools of 4 (a stash holds up to size / 2 = 2 segments), so the
// per-thread stashes take part: segments stashed by a recycling thread, a stash handed to the
// idle list when full, stashes gathered by a starved requester, by `reconcile` and by
// `lazy_destroy`, and a stash returned when its thread exits.

/// A recycling thread stashes the first two buffers and hands the third to the idle list
/// with them (its stash is full); the requester gets all four buffers, parking whenever the
/// pool is exhausted, and none twice.
#[test]
fn stashed_recycles_reach_a_parked_requester_once() {
    long_model(|| {
        let net = network(4);
        let pool = Arc::new(net.create_buffer_pool(4, 4).unwrap());
        let a = pool.request_buffer().unwrap().unwrap();
        let b = pool.request_buffer().unwrap().unwrap();
        let c = pool.request_buffer().unwrap().unwrap();
        let t = thread::spawn(move || {
            drop(a);
            drop(b);
            drop(c);
        });
        let mut got = Vec::new();
        while got.len() < 4 {
            match pool.request_buffer().unwrap() {
                Some(x) => got.push(x),
                None => block_on(pool.available()),
            }
        }
        let mut seen: Vec<u32> = got.iter().map(|b| b.segment_index()).collect();
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen.len(), 4, "no segment handed out twice");
        t.join().unwrap();
        assert_eq!(pool.requested_segments(), 4);
        drop(got);
        assert_eq!(pool.available_segments(), 4);
    });
}

/// An exhausted pool: a thread whose stash is bound to the pool recycles a buffer into it and
/// stays alive; the requester parked on `available()` is woken and gets it (a stashed segment
/// is idle: the recycle that stashed it made the pool available).
#[test]
fn a_stashed_recycle_wakes_a_parked_requester_while_its_thread_lives() {
    long_model(|| {
        use loom::sync::atomic::{AtomicUsize, Ordering};
        let net = network(4);
        let pool = Arc::new(net.create_buffer_pool(4, 4).unwrap());
        let mut held: Vec<_> = (0..4)
            .map(|_| pool.request_buffer().unwrap().unwrap())
            .collect();
        let (x, a) = (held.pop().unwrap(), held.pop().unwrap());
        let index = a.segment_index();
        let step = Arc::new(AtomicUsize::new(0));
        let s = step.clone();
        let t = thread::spawn(move || {
            drop(x); // binds this thread's stash to the pool
            eventually(|| s.load(Ordering::Acquire) == 1);
            drop(a); // into the bound stash, the pool exhausted again
            eventually(|| s.load(Ordering::Acquire) == 2);
        });
        let take = || loop {
            match pool.request_buffer().unwrap() {
                Some(b) => break b,
                None => block_on(pool.available()),
            }
        };
        let x = take();
        step.store(1, Ordering::Release);
        let got = take();
        assert_eq!(got.segment_index(), index);
        step.store(2, Ordering::Release);
        t.join().unwrap();
        drop((x, got, held));
    });
}

/// A segment stashed by a thread that then exits goes back to the pool with the thread's
/// stash, while the pool is destroyed on another thread: every segment ends in the global
/// pool exactly once.
#[test]
fn a_stash_returned_at_thread_exit_racing_destroy_loses_nothing() {
    loom::model(|| {
        let net = network(4);
        let pool = Arc::new(net.create_buffer_pool(4, 4).unwrap());
        let a = pool.request_buffer().unwrap().unwrap();
        // Stashed on that thread (its stash binds to the pool), returned when it exits.
        let t = thread::spawn(move || drop(a));
        pool.lazy_destroy();
        t.join().unwrap();
        // Loom's `join` (like `std::thread::scope`'s) returns before the thread's locals are
        // dropped: until then its segment is counted idle, in its stash or the idle list.
        assert_eq!(net.available_segments() + pool.available_segments(), 4);
        eventually(|| net.available_segments() == 4);
        drop(pool);
        assert_eq!(membudget_bufferpool::invariant_violations(), 0);
    });
}

/// A listener registered while another thread stashes a recycled buffer: the buffer ends up
/// with the listener or idle in the pool (then registration was refused), exactly once.
#[test]
fn listener_registration_racing_a_stashed_recycle_gets_the_buffer_once() {
    loom::model(|| {
        let net = network(4);
        let pool = net.create_buffer_pool(4, 4).unwrap();
        let held: Vec<_> = (0..4)
            .map(|_| pool.request_buffer().unwrap().unwrap())
            .collect();
        let mut held = held.into_iter();
        let first = held.next().unwrap();
        let t = thread::spawn(move || drop(first));
        let l = Arc::new(Take(std::sync::Mutex::new(Vec::new())));
        let registered = pool.add_buffer_listener(l.clone());
        t.join().unwrap();
        let with_listener = l.0.lock().unwrap().len();
        let idle = pool.available_segments();
        assert_eq!(with_listener + idle, 1, "registered: {registered}");
        drop(held);
    });
}

/// A shrink racing a recycle that stashes: once both are done the pool holds no more than its
/// new size, and the excess reached the global pool.
#[test]
fn shrink_racing_a_stashed_recycle_returns_the_excess() {
    loom::model(|| {
        let net = network(4);
        let pool = net.create_buffer_pool(1, 4).unwrap();
        let held: Vec<_> = (0..4)
            .map(|_| pool.request_buffer().unwrap().unwrap())
            .collect();
        let mut held = held.into_iter();
        let first = held.next().unwrap();
        let t = thread::spawn(move || drop(first));
        pool.set_num_buffers(3).unwrap();
        t.join().unwrap();
        assert_eq!(pool.requested_segments(), 3, "the excess went back");
        assert_eq!(net.available_segments(), 1);
        drop(held);
    });
}
