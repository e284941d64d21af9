//! Instruction counts of one buffer request+recycle, `LocalBufferPool` beside the baselines of
//! `benches/bufferpool.rs`, for callgrind (the wall-clock ratios are in that bench; this shows
//! what a round trip executes, free of machine noise). Each mode's request and recycle are
//! non-inlined functions named `op_*`; callgrind counts only inside them:
//!
//! ```text
//! cargo build --release -p membudget-benches --example bufferpool_instructions
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null --toggle-collect='bufferpool_instructions::op_*' \
//!     target/release/examples/bufferpool_instructions pool 100000
//! ```
//!
//! Divide the reported `Collected` instructions by `n + 1000` (the warm-up included). Modes:
//! `pool`, `mutex` (`Mutex<VecDeque>`), `floor` (a bare `ArrayQueue`), each on one thread;
//! `pool_2threads`, `mutex_2threads`, `floor_2threads`: requested on one thread, recycled on
//! another (hand-off through a queue, outside the counted functions). Callgrind runs threads
//! one at a time, so the 2-thread modes count instructions, not cache-line transfers.

use crossbeam_queue::ArrayQueue;
use membudget_allocator::{Budget, Quotas, SharedBudget};
use membudget_bufferpool::{Buffer, LocalBufferPool, NetworkBufferPool};
use std::collections::VecDeque;
use std::hint::black_box;
use std::sync::Mutex;

const SEG: usize = 32 * 1024;
const POOL: usize = 256;

#[inline(never)]
fn op_pool_request(pool: &LocalBufferPool) -> Option<Buffer> {
    pool.request_buffer().unwrap()
}

#[inline(never)]
fn op_pool_recycle(buffer: Buffer) {
    drop(buffer);
}

#[inline(never)]
fn op_mutex_request(pool: &Mutex<VecDeque<usize>>) -> Option<usize> {
    pool.lock().unwrap().pop_front()
}

#[inline(never)]
fn op_mutex_recycle(pool: &Mutex<VecDeque<usize>>, i: usize) {
    pool.lock().unwrap().push_back(i);
}

#[inline(never)]
fn op_floor_request(q: &ArrayQueue<usize>) -> Option<usize> {
    q.pop()
}

#[inline(never)]
fn op_floor_recycle(q: &ArrayQueue<usize>, i: usize) {
    q.push(i).unwrap();
}

/// `n` round trips on this thread.
fn one_thread<T>(n: u64, request: impl Fn() -> Option<T>, recycle: impl Fn(T)) {
    for _ in 0..n {
        recycle(black_box(request().expect("a free buffer")));
    }
}

/// `n` items requested on this thread and recycled on another.
fn two_threads<T: Send>(
    n: u64,
    request: impl Fn() -> Option<T>,
    recycle: impl Fn(T) + Send + Sync,
) {
    let handoff = ArrayQueue::<T>::new(64);
    std::thread::scope(|s| {
        s.spawn(|| {
            let mut got = 0;
            while got < n {
                match handoff.pop() {
                    Some(x) => {
                        recycle(x);
                        got += 1;
                    }
                    None => std::thread::yield_now(),
                }
            }
        });
        for _ in 0..n {
            let mut item = loop {
                match request() {
                    Some(x) => break x,
                    None => std::thread::yield_now(),
                }
            };
            while let Err(back) = handoff.push(item) {
                item = back;
                std::thread::yield_now();
            }
        }
    });
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_else(|| "pool".into());
    let n: u64 = args
        .next()
        .map_or(100_000, |s| s.parse().expect("iterations"));
    let budget = SharedBudget::from(Budget::new(Quotas::unlimited()));
    let network = NetworkBufferPool::new(POOL, SEG, budget).expect("network pool");
    let pool = network.create_buffer_pool(POOL, POOL).expect("local pool");
    let mutex = Mutex::new((0..POOL).collect::<VecDeque<usize>>());
    let mut memory = vec![0u8; POOL * SEG];
    let floor = ArrayQueue::new(POOL);
    for chunk in memory.chunks_mut(SEG) {
        floor.push(chunk.as_mut_ptr() as usize).unwrap();
    }
    for n in [1000, n] {
        match mode.as_str() {
            "pool" => one_thread(n, || op_pool_request(&pool), op_pool_recycle),
            "mutex" => one_thread(
                n,
                || op_mutex_request(&mutex),
                |i| op_mutex_recycle(&mutex, i),
            ),
            "floor" => one_thread(
                n,
                || op_floor_request(&floor),
                |i| op_floor_recycle(&floor, i),
            ),
            "pool_2threads" => two_threads(n, || op_pool_request(&pool), op_pool_recycle),
            "mutex_2threads" => two_threads(
                n,
                || op_mutex_request(&mutex),
                |i| op_mutex_recycle(&mutex, i),
            ),
            "floor_2threads" => two_threads(
                n,
                || op_floor_request(&floor),
                |i| op_floor_recycle(&floor, i),
            ),
            other => panic!("unknown mode {other}: pool, mutex, floor or *_2threads"),
        }
    }
}
