//! A `MemoryManager` made against a consumer of a child budget charges that budget (and every
//! ancestor), is refused by its limit, names the consumer, and gives everything back.
// Plain threads and std atomics: not a loom model.
#![cfg(not(membudget_loom))]

use membudget_allocator::{Budget, Category, ChildLimits, Limit, Quotas, SharedBudget};
use membudget_segments::{MemoryAllocationError, MemoryManager, OwnerId, SegmentError};

const PAGE: usize = 32 << 10;

#[test]
fn a_memory_manager_charges_its_slot_budget() {
    let process = SharedBudget::from(Budget::new(
        Quotas::unlimited().with(Category::Managed, 64 << 20),
    ));
    let slot = process
        .child(
            "slot-0",
            ChildLimits::unlimited().with(Category::Managed, 1 << 20),
        )
        .unwrap();
    // The manager could hand out 2 MiB, the slot allows 1 MiB.
    let mm = MemoryManager::new(2 << 20, PAGE, SharedBudget::from(slot.consumer("mm"))).unwrap();
    let pages = mm.allocate_pages(OwnerId(1), 16).unwrap();
    assert_eq!(slot.used(Category::Managed), 16 * PAGE as u64);
    mm.reserve_memory(OwnerId(2), 8 * PAGE as u64).unwrap();
    assert_eq!(slot.used(Category::Managed), 24 * PAGE as u64);
    let report = slot.report();
    assert_eq!(
        report.consumer_bytes("mm", Category::Managed),
        Some(24 * PAGE as u64)
    );
    match mm.allocate_pages(OwnerId(1), 16) {
        Err(MemoryAllocationError::Source(SegmentError::Quota(e))) => {
            assert_eq!(e.limit, Limit::Budget);
            assert_eq!(e.budget_name(), Some("slot-0"));
            assert_eq!(e.top_consumers()[0].name, "slot-0/mm");
        }
        other => panic!("expected the slot's limit, got {other:?}"),
    }
    drop(pages);
    mm.release_all_memory(OwnerId(2));
    assert_eq!(slot.used(Category::Managed), 0);
    assert!(mm.verify_empty());
    drop((mm, slot));
    assert_eq!(process.used(Category::Managed), 0);
    assert_eq!(process.release_errors(Category::Managed), 0);
}
