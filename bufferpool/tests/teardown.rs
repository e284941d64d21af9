//! Teardown: after a `NetworkBufferPool` is dropped while threads that used it are still
//! alive, every local pool they hold answers "destroyed", buffers they still hold stay valid
//! until dropped, the network budget is balanced, and the memory is back with the OS (RSS
//! within a few MiB of where it started). One test per binary: it measures the process RSS.
#![cfg(not(membudget_loom))]

mod common;

use common::network_used;
use membudget_allocator::{process_rss, Budget, Category, Quotas, SharedBudget};
use membudget_bufferpool::{invariant_violations, Buffer, BufferPoolError, NetworkBufferPool};
use std::sync::mpsc;
use std::time::Duration;

const SEG: usize = 32 * 1024;
const SEGMENTS: usize = 2048; // 64 MiB
const MIB: u64 = 1 << 20;
/// How long the test waits for a worker before it fails (instead of hanging).
const WAIT: std::time::Duration = std::time::Duration::from_secs(60);

enum Order {
    Check,
    DropHeld,
}

#[test]
fn dropping_the_network_pool_destroys_dependents_and_returns_memory() {
    let budget = SharedBudget::from(Budget::new(
        Quotas::unlimited().with(Category::Network, (SEGMENTS * SEG) as u64),
    ));
    let rss_before = process_rss().expect("RSS is readable on this platform");
    let net = NetworkBufferPool::new(SEGMENTS, SEG, budget.clone()).unwrap();
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let (answer_tx, answer_rx) = mpsc::channel::<(bool, usize)>();
    let mut orders = Vec::new();
    let mut threads = Vec::new();
    for t in 0..4 {
        let pool = net.create_buffer_pool(1, SEGMENTS / 4).unwrap();
        let exclusive: Vec<Buffer> = net.request_unpooled(2, Duration::from_secs(1)).unwrap();
        let (order_tx, order_rx) = mpsc::channel::<Order>();
        orders.push(order_tx);
        let (done_tx, answer_tx) = (done_tx.clone(), answer_tx.clone());
        threads.push(std::thread::spawn(move || {
            // Use every buffer of the pool, writing all of it (so it is resident).
            let mut held: Vec<Buffer> =
                std::iter::from_fn(|| pool.request_buffer().unwrap()).collect();
            for b in &mut held {
                let n = b.capacity();
                b.as_mut_slice().unwrap().fill(t as u8 + 1);
                b.set_size(n);
            }
            // Keep one pooled and the exclusive buffers past the network pool's end.
            let keep = held.pop().unwrap();
            drop(held);
            let mut kept = vec![keep];
            kept.extend(exclusive);
            done_tx.send(()).unwrap();
            for order in order_rx {
                match order {
                    Order::Check => {
                        let destroyed =
                            matches!(pool.request_buffer(), Err(BufferPoolError::PoolDestroyed))
                                && pool.is_destroyed();
                        let intact = kept[0].as_slice().iter().all(|&x| x == t as u8 + 1);
                        answer_tx.send((destroyed && intact, kept.len())).unwrap();
                    }
                    Order::DropHeld => {
                        kept.clear();
                        answer_tx.send((true, 0)).unwrap();
                    }
                }
            }
        }));
    }
    for _ in 0..4 {
        done_rx.recv_timeout(WAIT).expect("a worker failed");
    }
    let rss_used = process_rss().unwrap();
    assert!(
        rss_used > rss_before + 48 * MIB,
        "the buffers were resident ({rss_before} -> {rss_used})"
    );
    drop(net);
    for o in &orders {
        o.send(Order::Check).unwrap();
    }
    for _ in 0..4 {
        let (ok, kept) = answer_rx.recv_timeout(WAIT).expect("a worker failed");
        assert!(
            ok,
            "a local pool of a dropped network pool must answer destroyed"
        );
        assert_eq!(kept, 3);
    }
    assert_eq!(
        network_used(&budget),
        4 * 3 * SEG as u64,
        "only the held buffers"
    );
    // While some segments are still held, the others' memory is already back with the OS.
    let rss_held = process_rss().unwrap();
    assert!(
        rss_held < rss_before + 4 * MIB,
        "RSS {rss_held} with 12 buffers held is not within 4 MiB of {rss_before}"
    );
    for o in &orders {
        o.send(Order::DropHeld).unwrap();
    }
    for _ in 0..4 {
        answer_rx.recv_timeout(WAIT).expect("a worker failed");
    }
    // The threads are still alive (waiting for orders).
    assert!(threads.iter().all(|t| !t.is_finished()));
    assert_eq!(network_used(&budget), 0, "the budget is balanced");
    let rss_after = process_rss().unwrap();
    assert!(
        rss_after < rss_before + 4 * MIB,
        "RSS {rss_after} is not within 4 MiB of {rss_before} (peak {rss_used})"
    );
    assert_eq!(invariant_violations(), 0);
    drop(orders);
    for t in threads {
        t.join().unwrap();
    }
}
