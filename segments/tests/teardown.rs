//! Teardown: a `MemoryManager` shut down (and then dropped) while threads that used it are
//! still alive: their handles answer "shut down", byte reservations leave the budget, pages they
//! still hold stay valid until dropped, and the memory is back with the OS (RSS within a few MiB
//! of where it started) — already while those threads hold a page and a handle. One test per
//! binary: it measures the process RSS.
#![cfg(not(membudget_loom))]

use membudget_allocator::{process_rss, Budget, Category, Quotas, SharedBudget};
use membudget_segments::{MemoryAllocationError, MemoryManager, MemorySegment, OwnerId};
use std::sync::mpsc;

const PAGE: usize = 32 * 1024;
const TOTAL: u64 = 64 << 20;
const MIB: u64 = 1 << 20;
/// How long the test waits for a worker before it fails (instead of hanging).
const WAIT: std::time::Duration = std::time::Duration::from_secs(60);

enum Order {
    Check,
    Drop,
}

#[test]
fn shutdown_and_drop_return_everything_with_threads_alive() {
    let budget = SharedBudget::from(Budget::new(
        Quotas::unlimited().with(Category::Managed, TOTAL),
    ));
    let rss_before = process_rss().expect("RSS is readable on this platform");
    let mm = MemoryManager::new(TOTAL, PAGE, budget.clone()).unwrap();
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let (answer_tx, answer_rx) = mpsc::channel::<bool>();
    let mut orders = Vec::new();
    let mut threads = Vec::new();
    // Every worker fills its pages before any releases some: otherwise a late worker reuses an
    // early one's released (still resident) pages and fewer than 48 MiB were ever resident.
    let filled = std::sync::Arc::new(std::sync::Barrier::new(4));
    // One page each is left for the byte reservations.
    let pages_each = (TOTAL as usize / PAGE) / 4 - 1;
    for t in 0..4u64 {
        let mm = mm.clone();
        let (order_tx, order_rx) = mpsc::channel::<Order>();
        orders.push(order_tx);
        let (done_tx, answer_tx) = (done_tx.clone(), answer_tx.clone());
        let filled = filled.clone();
        threads.push(std::thread::spawn(move || {
            let owner = OwnerId(t);
            let mut pages: Vec<MemorySegment> = mm.allocate_pages(owner, pages_each).unwrap();
            for p in &mut pages {
                p.as_mut_slice().fill(t as u8 + 1);
            }
            mm.reserve_memory(owner, 1000).unwrap();
            filled.wait();
            let kept = pages.pop().unwrap();
            mm.release_many(pages);
            done_tx.send(()).unwrap();
            let mut kept = Some(kept);
            for order in order_rx {
                match order {
                    Order::Check => {
                        let refused = matches!(
                            mm.allocate_pages(owner, 1),
                            Err(MemoryAllocationError::ShutDown { .. })
                        ) && matches!(
                            mm.reserve_memory(owner, 1),
                            Err(MemoryAllocationError::ShutDown { .. })
                        );
                        let intact = kept
                            .as_ref()
                            .is_some_and(|p| p.as_slice().iter().all(|&x| x == t as u8 + 1));
                        answer_tx.send(refused && intact).unwrap();
                    }
                    Order::Drop => {
                        kept = None;
                        answer_tx.send(true).unwrap();
                    }
                }
            }
            // The thread's manager handle is dropped here, when it exits.
            drop(kept);
        }));
    }
    for _ in 0..4 {
        done_rx.recv_timeout(WAIT).expect("a worker failed");
    }
    let rss_used = process_rss().unwrap();
    assert!(rss_used > rss_before + 48 * MIB, "pages were resident");
    mm.shutdown();
    drop(mm);
    for o in &orders {
        o.send(Order::Check).unwrap();
    }
    for _ in 0..4 {
        assert!(
            answer_rx.recv_timeout(WAIT).expect("a worker failed"),
            "a handle of a shut-down manager must refuse"
        );
    }
    assert_eq!(
        budget.used(Category::Managed),
        4 * PAGE as u64,
        "reservations released; only the held pages remain"
    );
    let rss_held = process_rss().unwrap();
    assert!(
        rss_held < rss_before + 4 * MIB,
        "RSS {rss_held} with 4 pages and 4 handles alive is not within 4 MiB of {rss_before}"
    );
    for o in &orders {
        o.send(Order::Drop).unwrap();
    }
    for _ in 0..4 {
        answer_rx.recv_timeout(WAIT).expect("a worker failed");
    }
    assert!(
        threads.iter().all(|t| !t.is_finished()),
        "the threads are alive"
    );
    assert_eq!(budget.used(Category::Managed), 0, "the budget is balanced");
    let rss_after = process_rss().unwrap();
    assert!(
        rss_after < rss_before + 4 * MIB,
        "RSS {rss_after} vs {rss_before}"
    );
    drop(orders);
    for t in threads {
        t.join().unwrap();
    }
}
