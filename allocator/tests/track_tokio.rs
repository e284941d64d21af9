//! `in_category` on a multi-threaded tokio runtime: tasks that hop between worker threads
//! charge exactly their own allocations to their category, and leave the workers' scope alone.

use membudget_allocator::{
    current_category, in_category, Budget, BudgetHandle, Category, ChildLimits, QuotaAllocator,
    Quotas, SharedBudget,
};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};

#[global_allocator]
static A: QuotaAllocator = QuotaAllocator::new();

const BLOCK: usize = 256 << 10;

#[test]
fn tasks_hopping_threads_charge_their_own_category() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .build()
        .unwrap();
    let budget = Budget::global();
    let before = budget.used(Category::Network);
    let threads = Arc::new(Mutex::new(HashSet::new()));
    let slot = SharedBudget::from(Budget::new(Quotas::unlimited()))
        .child("slot", ChildLimits::unlimited())
        .unwrap();
    rt.block_on(async {
        let mut tasks = Vec::new();
        for i in 0..16 {
            let threads = Arc::clone(&threads);
            let slot = slot.clone();
            // Tracked tasks allocate network memory across awaits; untracked ones check that
            // the worker they run on is back in the heap scope.
            if i % 2 == 0 {
                let task = in_category(Category::Network, async move {
                    let mut held = Vec::new();
                    for _ in 0..20 {
                        assert_eq!(current_category(), Category::Network);
                        assert_eq!(BudgetHandle::current().unwrap().path(), "slot");
                        threads.lock().unwrap().insert(std::thread::current().id());
                        held.push(vec![1u8; BLOCK]);
                        tokio::task::yield_now().await;
                    }
                    held.len()
                })
                .in_budget(slot);
                tasks.push(tokio::spawn(task));
            } else {
                tasks.push(tokio::spawn(async move {
                    for _ in 0..20 {
                        assert_eq!(current_category(), Category::Heap);
                        assert!(BudgetHandle::current().is_none());
                        tokio::task::yield_now().await;
                    }
                    0
                }));
            }
        }
        // While they run, wait for all, then check the total they held at the end of each.
        for t in tasks {
            t.await.unwrap();
        }
    });
    let workers = threads.lock().unwrap().len();
    assert!(workers > 1, "tracked tasks ran on {workers} worker(s)");
    // The set grew inside the tasks (network memory): free it before comparing.
    drop(threads);
    drop(rt);
    // Everything the tasks allocated was charged to network and freed again.
    assert_eq!(budget.used(Category::Network), before);
    assert!(budget.peak(Category::Network) >= (8 * 20 * BLOCK) as u64 / 2);
    // ... and to the slot the tasks worked for, whichever worker polled them: at least the
    // blocks the 8 tracked tasks held at their end at once, all credited back.
    let peak = slot.report().category(Category::Network).unwrap().peak;
    assert!(peak >= (20 * BLOCK) as u64, "slot peak {peak}");
    assert_eq!(slot.used(Category::Network), 0);
}
