//! Behaviour of `MemoryManager` after Flink's `MemoryManagerTest`,
//! `MemoryManagerSharedResourcesTest` and the rules, with exact error texts.
// Plain threads and std atomics: not a loom model.
#![cfg(not(membudget_loom))]

use membudget_allocator::{Budget, Category, Quotas, SharedBudget};
use membudget_segments::{
    MemoryAllocationError, MemoryManager, OwnerId, SegmentError, SharedResourceError,
};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

const PAGE: usize = 4096;
const PAGES: u64 = 16;
const TOTAL: u64 = PAGES * PAGE as u64;

/// Collects log warnings so tests can assert the leak reports.
struct Capture(Mutex<Vec<String>>);

static LOG: Capture = Capture(Mutex::new(Vec::new()));

impl log::Log for Capture {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }
    fn log(&self, record: &log::Record<'_>) {
        if record.level() <= log::Level::Warn {
            self.0.lock().unwrap().push(record.args().to_string());
        }
    }
    fn flush(&self) {}
}

fn warnings_naming(owner: OwnerId) -> Vec<String> {
    let _ = log::set_logger(&LOG);
    log::set_max_level(log::LevelFilter::Warn);
    let tag = format!("{owner}");
    LOG.0
        .lock()
        .unwrap()
        .iter()
        .filter(|m| m.contains(&tag))
        .cloned()
        .collect()
}

fn install_logger() {
    let _ = log::set_logger(&LOG);
    log::set_max_level(log::LevelFilter::Warn);
}

fn manager() -> (MemoryManager, SharedBudget) {
    install_logger();
    let budget = SharedBudget::from(Budget::new(
        Quotas::unlimited().with(Category::Managed, TOTAL),
    ));
    (
        MemoryManager::new(TOTAL, PAGE, budget.clone()).unwrap(),
        budget,
    )
}

#[test]
fn allocate_and_drop_credits_everything() {
    let (mm, budget) = manager();
    let pages = mm.allocate_pages(OwnerId(1), 5).unwrap();
    assert_eq!(pages.len(), 5);
    assert!(pages.iter().all(|p| p.size() == PAGE));
    assert_eq!(mm.available_memory(), TOTAL - 5 * PAGE as u64);
    assert_eq!(budget.used(Category::Managed), 5 * PAGE as u64);
    assert_eq!(mm.owner_usage(1).pages, 5);
    drop(pages);
    assert_eq!(mm.owner_usage(1).pages, 0);
    assert!(mm.verify_empty());
    assert_eq!(budget.used(Category::Managed), 0);
}

#[test]
fn one_page_past_the_total_fails_and_allocates_nothing() {
    let (mm, budget) = manager();
    let e = mm
        .allocate_pages(OwnerId(7), PAGES as usize + 1)
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "Cannot allocate more segments 17 than the max number 16 for owner #7. \
         Increase 'taskmanager.memory.managed.fraction' (or 'taskmanager.memory.managed.size')."
    );
    assert!(mm.verify_empty());

    let held = mm.allocate_pages(OwnerId(7), 10).unwrap();
    let e = mm.allocate_pages(OwnerId(8), 7).unwrap_err();
    assert!(matches!(
        e,
        MemoryAllocationError::InsufficientPages {
            requested: 7,
            available_pages: 6,
            ..
        }
    ));
    assert_eq!(
        e.to_string(),
        "Could not allocate 7 pages for owner #8: only 6 pages (24576 bytes) of 65536 bytes of \
         managed memory are available. Increase 'taskmanager.memory.managed.fraction' \
         (or 'taskmanager.memory.managed.size'), or release memory first."
    );
    assert_eq!(
        mm.available_memory(),
        6 * PAGE as u64,
        "nothing of the 7 was taken"
    );
    assert_eq!(budget.used(Category::Managed), 10 * PAGE as u64);
    assert_eq!(mm.owner_usage(8).pages, 0);
    let rest = mm.allocate_pages(OwnerId(8), 6).unwrap();
    drop((held, rest));
    assert!(mm.verify_empty());
}

#[test]
fn zero_pages_is_empty() {
    let (mm, _) = manager();
    assert!(mm.allocate_pages(OwnerId(1), 0).unwrap().is_empty());
    assert!(mm.verify_empty());
}

#[test]
fn release_after_release_all_frees_each_page_once() {
    let (mm, budget) = manager();
    let owner = OwnerId(1001);
    let mut pages = mm.allocate_pages(owner, 3).unwrap();
    mm.release(pages.pop().unwrap());
    assert_eq!(mm.available_memory(), TOTAL - 2 * PAGE as u64);
    // The owner is released while two of its segments are still alive: they stay charged.
    assert_eq!(mm.release_all(owner), 2);
    assert_eq!(mm.available_memory(), TOTAL - 2 * PAGE as u64);
    let w = warnings_naming(owner);
    assert!(
        w.iter()
            .any(|m| m.contains("2 pages (8192 bytes)") && m.contains("memory leak")),
        "{w:?}"
    );
    // Releasing them afterwards is harmless and credits each page exactly once.
    mm.release(pages.pop().unwrap());
    assert_eq!(mm.available_memory(), TOTAL - PAGE as u64);
    mm.release_many(pages);
    assert!(mm.verify_empty());
    assert_eq!(budget.used(Category::Managed), 0);
    // Releasing the owner again is a no-op.
    assert_eq!(mm.release_all(owner), 0);
    assert!(mm.verify_empty());
}

#[test]
fn owner_release_frees_all_of_the_owner() {
    let (mm, budget) = manager();
    let a = OwnerId(2001);
    let b = OwnerId(2002);
    let pa = mm.allocate_pages(a, 4).unwrap();
    let pb = mm.allocate_pages(b, 2).unwrap();
    mm.reserve_memory(a, 1000).unwrap();
    mm.reserve_memory(b, 500).unwrap();
    drop(pa);
    let usage = mm.release_owner(a);
    assert_eq!((usage.pages, usage.reserved_bytes), (0, 1000));
    assert!(
        warnings_naming(a)
            .iter()
            .any(|m| m.contains("1000 reserved bytes")),
        "the owner still held reserved bytes: a leak report"
    );
    assert_eq!(mm.owner_usage(a).reserved_bytes, 0);
    assert_eq!(mm.available_memory(), TOTAL - 2 * PAGE as u64 - 500);
    assert_eq!(mm.owner_usage(b).pages, 2, "other owners untouched");
    drop(pb);
    assert_eq!(mm.release_all_memory(b), 500);
    assert!(mm.verify_empty());
    assert_eq!(budget.used(Category::Managed), 0);
}

#[test]
fn clean_owner_release_does_not_warn() {
    let (mm, _) = manager();
    let owner = OwnerId(2101);
    drop(mm.allocate_pages(owner, 2).unwrap());
    let usage = mm.release_owner(owner);
    assert_eq!((usage.pages, usage.reserved_bytes), (0, 0));
    assert!(warnings_naming(owner).is_empty());
}

#[test]
fn reservations_share_the_budget_with_pages() {
    let (mm, budget) = manager();
    let owner = OwnerId(3);
    mm.reserve_memory(owner, TOTAL - PAGE as u64).unwrap();
    let last = mm.allocate_pages(owner, 1).unwrap();
    assert_eq!(last.len(), 1);
    let e = mm.allocate_pages(owner, 1).unwrap_err();
    assert!(
        matches!(e, MemoryAllocationError::InsufficientPages { .. }),
        "{e}"
    );
    let e = mm.reserve_memory(OwnerId(4), 1).unwrap_err();
    assert_eq!(
        e.to_string(),
        "Could not reserve 1 bytes of managed memory for owner #4: only 0 of 65536 bytes are \
         remaining. Increase 'taskmanager.memory.managed.fraction' (or 'taskmanager.memory.managed.size'), or release \
         memory first."
    );
    mm.release_memory(owner, 100);
    assert_eq!(
        mm.owner_usage(owner).reserved_bytes,
        TOTAL - PAGE as u64 - 100
    );
    assert_eq!(budget.used(Category::Managed), TOTAL - 100);
    assert_eq!(mm.release_all_memory(owner), TOTAL - PAGE as u64 - 100);
    assert_eq!(mm.available_memory(), TOTAL - PAGE as u64);
    drop(last);
    assert!(mm.verify_empty());
}

#[test]
fn over_release_is_clamped_with_a_warning() {
    let (mm, budget) = manager();
    let owner = OwnerId(4001);
    mm.reserve_memory(owner, 300).unwrap();
    mm.reserve_memory(owner, 0).unwrap();
    mm.release_memory(owner, 1000);
    assert!(mm.verify_empty());
    assert_eq!(budget.used(Category::Managed), 0);
    assert!(warnings_naming(owner)
        .iter()
        .any(|m| m == "Trying to release more memory 1000 than it was reserved 300 so far for the owner #4001"));
    // Releasing for an owner that holds nothing changes nothing.
    mm.release_memory(OwnerId(4002), 5);
    assert!(mm.verify_empty());
}

#[test]
fn budget_quota_below_the_manager_total_refuses_cleanly() {
    install_logger();
    let budget = SharedBudget::from(Budget::new(
        Quotas::unlimited().with(Category::Managed, 2 * PAGE as u64),
    ));
    let mm = MemoryManager::new(TOTAL, PAGE, budget.clone()).unwrap();
    let e = mm.allocate_pages(OwnerId(1), 3).unwrap_err();
    assert!(
        matches!(e, MemoryAllocationError::Source(SegmentError::Quota(_))),
        "{e}"
    );
    assert_eq!(
        e.to_string(),
        "Cannot reserve 12288 bytes of managed memory (used: 0, quota: 8192). \
         Increase 'taskmanager.memory.managed.fraction' (or 'taskmanager.memory.managed.size')."
    );
    assert!(mm.verify_empty(), "the manager's capacity was rolled back");
    assert_eq!(mm.owner_usage(1).pages, 0);
    let e = mm.reserve_memory(OwnerId(1), 3 * PAGE as u64).unwrap_err();
    assert!(matches!(e, MemoryAllocationError::Source(_)), "{e}");
    assert!(mm.verify_empty());
    assert_eq!(budget.used(Category::Managed), 0);
}

#[test]
fn fractions_follow_flink_validation() {
    let (mm, _) = manager();
    for bad in [0.0, 1.1, -0.1, f64::NAN, f64::INFINITY] {
        let e = mm.compute_memory_size(bad).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("The fraction of memory to allocate should be within (0, 1], was: {bad}")
        );
        let e = mm.compute_number_of_pages(bad).unwrap_err();
        assert_eq!(e.fraction.to_bits(), bad.to_bits());
    }
    assert_eq!(mm.compute_memory_size(1.0).unwrap(), TOTAL);
    assert_eq!(
        mm.compute_memory_size(0.3).unwrap(),
        (TOTAL as f64 * 0.3) as u64
    );
    assert_eq!(mm.compute_number_of_pages(1.0).unwrap(), PAGES);
    assert_eq!(mm.compute_number_of_pages(0.3).unwrap(), 4);
    assert_eq!(mm.compute_number_of_pages(0.01).unwrap(), 0);
}

#[test]
fn shutdown_is_idempotent_and_refuses_requests() {
    let (mm, budget) = manager();
    let owner = OwnerId(5001);
    let mut pages = mm.allocate_pages(owner, 2).unwrap();
    mm.reserve_memory(owner, 123).unwrap();
    mm.shutdown();
    mm.shutdown();
    assert!(mm.is_shutdown());
    let e = mm.allocate_pages(owner, 1).unwrap_err();
    assert_eq!(
        e.to_string(),
        "The memory manager has been shut down; owner #5001 cannot allocate any more memory."
    );
    assert!(matches!(
        mm.reserve_memory(owner, 1),
        Err(MemoryAllocationError::ShutDown { .. })
    ));
    // Reservations were released; live pages stay valid until dropped.
    assert_eq!(mm.available_memory(), TOTAL - 2 * PAGE as u64);
    pages[1].put_u64_be(PAGE - 8, 9);
    assert_eq!(pages[1].get_u64_be(PAGE - 8), 9);
    assert!(!mm.verify_empty());
    drop(pages);
    assert!(mm.verify_empty());
    assert_eq!(budget.used(Category::Managed), 0);
    mm.release_memory(owner, 123); // after shutdown: nothing left, only a warning
    assert!(mm.verify_empty());
}

#[test]
fn invalid_page_size_is_rejected() {
    let e = MemoryManager::new(TOTAL, 1000, SharedBudget::global()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "Invalid page size ('taskmanager.memory.segment-size'): 1000. \
         It must be a power of two of at least 4096 bytes."
    );
}

#[test]
fn manager_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<MemoryManager>();
    check::<membudget_segments::MemorySegment>();
}

#[test]
fn shared_resource_is_freed_after_the_last_lease() {
    let (mm, budget) = manager();
    let inits = AtomicUsize::new(0);
    let init = |bytes: u64| {
        inits.fetch_add(1, Ordering::SeqCst);
        Ok::<_, String>(bytes)
    };
    let l1 = mm.get_shared_memory_resource("cache", 0.5, init).unwrap();
    let l2 = mm.get_shared_memory_resource("cache", 0.9, init).unwrap();
    assert_eq!(inits.load(Ordering::SeqCst), 1, "created once");
    assert_eq!((*l1, *l2), (TOTAL / 2, TOTAL / 2));
    assert_eq!(l2.size(), TOTAL / 2);
    assert_eq!(mm.available_memory(), TOTAL / 2);
    l1.close();
    assert_eq!(mm.available_memory(), TOTAL / 2, "one lease still open");
    drop(l2);
    assert!(mm.verify_empty());
    assert_eq!(budget.used(Category::Managed), 0);
    // A new lease after the last one closed creates the resource again.
    let l3 = mm.get_shared_memory_resource("cache", 0.25, init).unwrap();
    assert_eq!(inits.load(Ordering::SeqCst), 2);
    assert_eq!(*l3, TOTAL / 4);
}

#[test]
fn shared_resource_init_failure_undoes_the_reservation() {
    let (mm, _) = manager();
    let e = mm
        .get_shared_memory_resource::<u64, _, _>("rocksdb", 0.5, |_| Err("no native lib"))
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "Could not initialize the shared memory resource 'rocksdb': no native lib"
    );
    assert!(mm.verify_empty());
    let e = mm
        .get_shared_memory_resource::<u64, String, _>("rocksdb", 0.0, Ok)
        .unwrap_err();
    assert!(matches!(e, SharedResourceError::Allocation(_)), "{e}");
}

#[test]
fn shared_resource_type_mismatch_and_insufficient_memory() {
    let (mm, _) = manager();
    let _l = mm
        .get_shared_memory_resource::<u64, String, _>("a", 0.75, Ok)
        .unwrap();
    let e = mm
        .get_shared_memory_resource::<String, String, _>("a", 0.75, |_| Ok(String::new()))
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "The shared memory resource 'a' exists with type u64, but alloc::string::String was requested."
    );
    let e = mm
        .get_shared_memory_resource::<u64, String, _>("b", 0.5, Ok)
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "Could not reserve 32768 bytes of managed memory for the shared resource 'b': only 16384 \
         of 65536 bytes are remaining. Increase 'taskmanager.memory.managed.fraction' (or 'taskmanager.memory.managed.size'), \
         or lower the resource's fraction."
    );
}

/// A resource whose close fails.
struct FailsToClose;

impl Drop for FailsToClose {
    fn drop(&mut self) {
        panic!("close failed");
    }
}

#[test]
fn shared_resource_memory_is_released_even_if_closing_fails() {
    let (mm, budget) = manager();
    let lease = mm
        .get_shared_memory_resource::<FailsToClose, String, _>("bad", 0.5, |_| Ok(FailsToClose))
        .unwrap();
    let mm2 = mm.clone();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || lease.close()));
    let payload = r.expect_err("the close failure propagates");
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"close failed"));
    assert!(mm2.verify_empty(), "but the memory was released");
    assert_eq!(budget.used(Category::Managed), 0);
    // The table is usable afterwards.
    let again = mm
        .get_shared_memory_resource::<u64, String, _>("bad", 0.5, Ok)
        .unwrap();
    drop(again);
    assert!(mm.verify_empty());
}

#[test]
fn shared_leases_across_threads() {
    let (mm, _) = manager();
    let mm = Arc::new(mm);
    std::thread::scope(|s| {
        for _ in 0..4 {
            let mm = mm.clone();
            s.spawn(move || {
                for _ in 0..50 {
                    let l = mm
                        .get_shared_memory_resource::<u64, String, _>("t", 0.5, Ok)
                        .unwrap();
                    assert_eq!(*l, TOTAL / 2);
                }
            });
        }
    });
    assert!(mm.verify_empty());
}

#[test]
fn release_many_batches_mixed_owners_and_sources() {
    let (mm, budget) = manager();
    let (mm2, budget2) = manager();
    let mut all = mm.allocate_pages(OwnerId(6001), 3).unwrap();
    all.extend(mm2.allocate_pages(OwnerId(6002), 2).unwrap());
    all.push(membudget_segments::MemorySegment::wrap(vec![1u8; 10]));
    all.extend(mm.allocate_pages(OwnerId(6003), 4).unwrap());
    all.extend(mm.allocate_pages(OwnerId(6001), 1).unwrap());
    assert_eq!(mm.owner_usage(6001).pages, 4);
    assert_eq!(mm.available_memory(), TOTAL - 8 * PAGE as u64);
    mm.release_many(all);
    assert!(mm.verify_empty());
    assert!(
        mm2.verify_empty(),
        "pages of another manager went back to it"
    );
    assert_eq!(budget.used(Category::Managed), 0);
    assert_eq!(budget2.used(Category::Managed), 0);
    assert_eq!(mm.owner_usage(6001).pages, 0);
    assert_eq!(mm.page_source().pages_outstanding(), 0);
    assert_eq!(
        mm.page_source().pages_idle(),
        mm.page_source().pages_total()
    );
}

#[test]
fn shared_resource_init_panic_gives_the_memory_back() {
    let (mm, budget) = manager();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        mm.get_shared_memory_resource::<u64, String, _>("boom", 0.5, |_| panic!("init panicked"))
    }));
    let payload = r.expect_err("the init panic propagates");
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"init panicked"));
    assert!(mm.verify_empty());
    assert_eq!(budget.used(Category::Managed), 0);
    let l = mm
        .get_shared_memory_resource::<u64, String, _>("boom", 0.5, Ok)
        .unwrap();
    assert_eq!(*l, TOTAL / 2);
}

fn managed_budget() -> SharedBudget {
    SharedBudget::from(Budget::new(
        Quotas::unlimited().with(Category::Managed, TOTAL),
    ))
}

#[test]
fn dropping_the_last_handle_releases_reservations_and_idle_memory() {
    let budget = managed_budget();
    let mm = MemoryManager::new(TOTAL, PAGE, budget.clone()).unwrap();
    mm.reserve_memory(OwnerId(1), 1000).unwrap();
    let mut pages = mm.allocate_pages(OwnerId(2), 4).unwrap();
    let kept = pages.pop().unwrap();
    drop(pages);
    let clone = mm.clone();
    drop(mm);
    assert_eq!(
        budget.used(Category::Managed),
        1000 + PAGE as u64,
        "a clone is alive"
    );
    let source = clone.page_source().clone();
    drop(clone);
    // The manager is gone: its reservation left the budget; the live page stays valid.
    assert_eq!(budget.used(Category::Managed), PAGE as u64);
    assert_eq!(
        source.pages_idle_resident(),
        0,
        "idle pages went back to the OS"
    );
    kept.get_u8(0);
    drop(kept);
    assert_eq!(budget.used(Category::Managed), 0);
    assert_eq!(source.pages_idle_resident(), 0);
}

#[test]
fn shutdown_answers_shut_down_to_every_handle_and_returns_idle_memory() {
    let budget = managed_budget();
    let mm = MemoryManager::new(TOTAL, PAGE, budget.clone()).unwrap();
    drop(mm.allocate_pages(OwnerId(1), PAGES as usize).unwrap());
    let other = mm.clone();
    std::thread::scope(|s| {
        s.spawn(|| {
            mm.shutdown();
        });
    });
    assert!(matches!(
        other.allocate_pages(OwnerId(1), 1),
        Err(MemoryAllocationError::ShutDown { .. })
    ));
    assert!(matches!(
        other.reserve_memory(OwnerId(1), 1),
        Err(MemoryAllocationError::ShutDown { .. })
    ));
    assert_eq!(
        other.page_source().bytes_mapped(),
        0,
        "every idle chunk was unmapped"
    );
    assert_eq!(budget.used(Category::Managed), 0);
}

/// An initializer may get shared resources of other types (Flink's lock is re-entrant); one of
/// its own type is refused instead of deadlocking.
#[test]
fn shared_resource_initializers_may_get_other_resources() {
    let budget = managed_budget();
    let mm = MemoryManager::new(TOTAL, PAGE, budget.clone()).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let mm2 = mm.clone();
    // On another thread, so a deadlock fails the test instead of hanging it.
    let t = std::thread::spawn(move || {
        let outer = mm2
            .get_shared_memory_resource::<_, String, _>("outer", 0.5, |bytes| {
                let inner = mm2
                    .get_shared_memory_resource::<u64, String, _>("inner", 0.25, Ok)
                    .map_err(|e| e.to_string())?;
                let again = mm2.get_shared_memory_resource::<u64, String, _>("outer", 0.5, Ok);
                let err = again.map(|_| ()).unwrap_err();
                assert!(
                    matches!(err, SharedResourceError::Reentrant { .. }),
                    "{err:?}"
                );
                assert_eq!(
                    err.to_string(),
                    "The shared memory resource 'outer' was requested by its own initializer; \
                     an initializer may only get resources of other types."
                );
                Ok((bytes, inner))
            })
            .unwrap();
        tx.send((outer.0, outer.1.size())).unwrap();
        drop(outer);
    });
    let (outer_bytes, inner_bytes) = rx
        .recv_timeout(std::time::Duration::from_secs(10))
        .expect("the initializer deadlocked");
    t.join().unwrap();
    assert_eq!((outer_bytes, inner_bytes), (TOTAL / 2, TOTAL / 4));
    assert!(mm.verify_empty());
    assert_eq!(budget.used(Category::Managed), 0);
}

/// Two initializers that each get the other's type, at once: one is refused (it would wait for
/// the other, which waits for it), the other completes; nothing hangs and no memory stays.
#[test]
fn initializers_getting_each_others_types_at_once_do_not_deadlock() {
    let budget = managed_budget();
    let mm = MemoryManager::new(TOTAL, PAGE, budget.clone()).unwrap();
    let both_initializing = std::sync::Arc::new(std::sync::Barrier::new(2));
    let (tx, rx) = std::sync::mpsc::channel();
    for (mine, theirs) in [("a", "b"), ("b", "a")] {
        let (mm, both, tx) = (mm.clone(), both_initializing.clone(), tx.clone());
        // On other threads, so a deadlock fails the test instead of hanging it.
        std::thread::spawn(move || {
            let got = mm.get_shared_memory_resource::<_, String, _>(mine, 0.25, |bytes| {
                both.wait();
                let other = mm
                    .get_shared_memory_resource::<u64, String, _>(theirs, 0.25, Ok)
                    .map_err(|e| e.to_string())?;
                Ok((bytes, other))
            });
            tx.send(got.map(drop).map_err(|e| e.to_string())).unwrap();
        });
    }
    let results: Vec<_> = (0..2)
        .map(|_| {
            rx.recv_timeout(std::time::Duration::from_secs(10))
                .expect("the initializers deadlocked")
        })
        .collect();
    let refused: Vec<_> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert_eq!(refused.len(), 1, "{results:?}");
    assert!(refused[0].contains("would deadlock"), "{}", refused[0]);
    assert!(mm.verify_empty());
    assert_eq!(budget.used(Category::Managed), 0);
}

/// Concurrent first callers of one type share one initialization; a failed initialization
/// lets the next caller try.
#[test]
fn concurrent_callers_share_one_initialization() {
    let budget = managed_budget();
    let mm = MemoryManager::new(TOTAL, PAGE, budget.clone()).unwrap();
    let inits = AtomicUsize::new(0);
    let barrier = std::sync::Barrier::new(4);
    let leases: Vec<_> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..4)
            .map(|_| {
                s.spawn(|| {
                    barrier.wait();
                    mm.get_shared_memory_resource::<u64, String, _>("cache", 0.5, |b| {
                        inits.fetch_add(1, Ordering::SeqCst);
                        std::thread::yield_now();
                        Ok(b)
                    })
                    .unwrap()
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(inits.load(Ordering::SeqCst), 1);
    assert!(leases.iter().all(|l| **l == TOTAL / 2));
    assert_eq!(mm.available_memory(), TOTAL / 2);
    drop(leases);
    assert!(mm.verify_empty());
    let failed = mm.get_shared_memory_resource::<u64, &str, _>("x", 0.5, |_| Err("boom"));
    assert!(matches!(failed, Err(SharedResourceError::Init { .. })));
    let ok = mm
        .get_shared_memory_resource::<u64, &str, _>("x", 0.5, Ok)
        .unwrap();
    assert_eq!(*ok, TOTAL / 2);
    drop(ok);
    assert_eq!(budget.used(Category::Managed), 0);
}

#[test]
fn single_pages_are_charged_and_attributed_like_lists() {
    let (mm, budget) = manager();
    let owner = OwnerId(3001);
    let pages: Vec<_> = (0..PAGES)
        .map(|_| mm.allocate_page(owner).unwrap())
        .collect();
    assert_eq!(budget.used(Category::Managed), TOTAL);
    assert_eq!(mm.available_memory(), 0);
    assert_eq!(mm.owner_usage(owner).pages, PAGES);
    let e = mm.allocate_page(OwnerId(3002)).unwrap_err();
    assert!(matches!(
        e,
        MemoryAllocationError::InsufficientPages {
            requested: 1,
            available_pages: 0,
            ..
        }
    ));
    assert_eq!(mm.owner_usage(OwnerId(3002)).pages, 0);
    drop(pages);
    assert!(mm.verify_empty());
    assert_eq!(budget.used(Category::Managed), 0);
    assert_eq!(mm.owner_usage(owner).pages, 0);
}

/// A page allocated after its owner was released goes to the owner's new account, also on a
/// thread whose last page went to the old one: the released count and the owner's usage never
/// mix the two.
#[test]
fn pages_after_an_owner_release_start_a_new_account() {
    let (mm, budget) = manager();
    let owner = OwnerId(3101);
    let old = mm.allocate_page(owner).unwrap();
    assert_eq!(mm.release_all(owner), 1, "the live page is reported");
    let new = mm.allocate_page(owner).unwrap();
    assert_eq!(
        mm.owner_usage(owner).pages,
        1,
        "only the page after the release"
    );
    drop(old);
    assert_eq!(mm.owner_usage(owner).pages, 1);
    assert_eq!(mm.release_all(owner), 1);
    drop(new);
    assert_eq!(mm.owner_usage(owner).pages, 0);
    assert!(mm.verify_empty());
    assert_eq!(budget.used(Category::Managed), 0);
    // Two managers, one owner id: each page is attributed to its own manager's owner.
    let (other, _) = manager();
    let a = mm.allocate_page(owner).unwrap();
    let b = other.allocate_page(owner).unwrap();
    assert_eq!(mm.owner_usage(owner).pages, 1);
    assert_eq!(other.owner_usage(owner).pages, 1);
    drop((a, b));
    assert!(mm.verify_empty() && other.verify_empty());
}

#[test]
fn allocate_page_after_shutdown_is_refused() {
    let (mm, _) = manager();
    mm.shutdown();
    assert!(matches!(
        mm.allocate_page(OwnerId(1)),
        Err(MemoryAllocationError::ShutDown { .. })
    ));
}
