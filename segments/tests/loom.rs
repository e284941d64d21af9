//! Loom model checks of the page source and the memory manager
//! (`RUSTFLAGS="--cfg membudget_loom" cargo test --release -p membudget-segments --test loom`).
//!
//! What is modelled: the shipped `PageSource` (its free-list and chunk locks, the hot-page
//! slot, the lock-free counters, chunk mapping, returns from any thread), the `MemoryManager`'s
//! lock-free capacity, owner table, per-owner page accounts (the count that keeps an account
//! alive and the detach that hands the table's reference to its pages) and the per-thread
//! cache of the last account (a `loom::thread_local!` under loom), and the shared-resource
//! table with its condition variable — all over loom's atomics, mutexes and condvars
//! (`src/sync.rs`). The budget charged is the allocator crate's, over loom atomics too. Not
//! modelled: `std::sync::Arc` reference counts (std's are trusted; that an account is freed
//! exactly once, by its last page or its release, is checked by the crate's unit tests and
//! under Miri), and the memory inside pages (plain bytes written by one owner at a time).
#![cfg(membudget_loom)]

use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::sync::Arc;
use loom::thread;
use membudget_allocator::{Budget, Category, Quotas, SharedBudget};
use membudget_segments::{MemoryManager, OwnerId, PageSource, PageSourceConfig};

const PAGE: usize = 4096;

fn budget(quota: u64) -> SharedBudget {
    SharedBudget::from(Budget::new(
        Quotas::unlimited()
            .with(Category::Managed, quota)
            .with(Category::Network, quota),
    ))
}

/// Two threads take and return pages of one source (the first take maps the only chunk): no
/// page is handed out twice, and at the end every page is idle and nothing is charged.
#[test]
fn page_source_takes_and_returns_across_threads() {
    loom::model(|| {
        let b = budget(2 * PAGE as u64);
        let mut c = PageSourceConfig::new(PAGE, Category::Network, b.clone());
        c.chunk_size = 2 * PAGE;
        let s = PageSource::new(c).unwrap();
        let hs: Vec<_> = (0..2u64)
            .map(|t| {
                let s = s.clone();
                thread::spawn(move || {
                    let mut p = s.try_allocate().unwrap();
                    p.put_u64(0, t);
                    thread::yield_now();
                    assert_eq!(p.get_u64(0), t, "a page was shared");
                })
            })
            .collect();
        for h in hs {
            h.join().unwrap();
        }
        assert_eq!(b.used(Category::Network), 0);
        assert_eq!(s.pages_outstanding(), 0);
        assert_eq!(s.pages_idle(), s.pages_total());
        assert_eq!(s.bytes_mapped(), 2 * PAGE, "one chunk, mapped once");
    });
}

/// Two owners race for the last page while a third thread releases the first owner: exactly
/// one allocation succeeds, and every byte comes back exactly once.
#[test]
fn manager_allocations_race_for_the_last_page() {
    loom::model(|| {
        let b = budget(PAGE as u64);
        let mm = MemoryManager::new(PAGE as u64, PAGE, b.clone()).unwrap();
        let hs: Vec<_> = (0..2u64)
            .map(|o| {
                let mm = mm.clone();
                thread::spawn(move || {
                    let r = mm.allocate_pages(OwnerId(o), 1);
                    let ok = r.is_ok();
                    drop(r);
                    mm.release_all(OwnerId(o));
                    ok
                })
            })
            .collect();
        let ok: Vec<bool> = hs.into_iter().map(|h| h.join().unwrap()).collect();
        assert!(ok.iter().any(|x| *x), "one of them gets the page");
        assert!(mm.verify_empty());
        assert_eq!(b.used(Category::Managed), 0);
    });
}

/// A page dropped on another thread after its owner was released credits the manager, the
/// budget and the source exactly once, racing with a reservation of the same bytes.
#[test]
fn pages_return_exactly_once_after_release_all() {
    loom::model(|| {
        let b = budget(2 * PAGE as u64);
        let mm = MemoryManager::new(2 * PAGE as u64, PAGE, b.clone()).unwrap();
        let page = mm.allocate_pages(OwnerId(1), 1).unwrap().pop().unwrap();
        let dropper = thread::spawn(move || drop(page));
        mm.release_all(OwnerId(1));
        let reserved = mm.reserve_memory(OwnerId(2), 2 * PAGE as u64).is_ok();
        dropper.join().unwrap();
        if reserved {
            assert_eq!(b.used(Category::Managed), 2 * PAGE as u64);
            mm.release_all_memory(OwnerId(2));
        }
        assert!(mm.verify_empty());
        assert_eq!(b.used(Category::Managed), 0);
        assert_eq!(mm.page_source().pages_outstanding(), 0);
    });
}

/// A page allocated (through the allocating thread's cached owner account) while another
/// thread releases its owner: the page is counted by exactly one of the release (as still
/// alive) and the owner's new account, and is credited exactly once when dropped.
#[test]
fn single_page_racing_an_owner_release_is_counted_once() {
    loom::model(|| {
        let b = budget(2 * PAGE as u64);
        let mm = MemoryManager::new(2 * PAGE as u64, PAGE, b.clone()).unwrap();
        // The first page makes the owner's account this thread's cached one.
        let first = mm.allocate_page(OwnerId(1)).unwrap();
        drop(first);
        let releaser = {
            let mm = mm.clone();
            thread::spawn(move || mm.release_all(OwnerId(1)))
        };
        let page = mm.allocate_page(OwnerId(1)).unwrap();
        let reported = releaser.join().unwrap();
        let still_owned = mm.owner_usage(OwnerId(1)).pages;
        assert_eq!(
            reported + still_owned,
            1,
            "released as alive {reported}, owned now {still_owned}"
        );
        drop(page);
        assert!(mm.verify_empty());
        assert_eq!(b.used(Category::Managed), 0);
        assert_eq!(mm.owner_usage(OwnerId(1)).pages, 0);
    });
}

/// Concurrent first callers of one shared resource: one initialization (run without the
/// table lock), both get a lease on it, and the memory is back once both close.
#[test]
fn shared_resource_is_initialized_once() {
    loom::model(|| {
        let b = budget(4 * PAGE as u64);
        let mm = MemoryManager::new(4 * PAGE as u64, PAGE, b.clone()).unwrap();
        let inits = Arc::new(AtomicUsize::new(0));
        let hs: Vec<_> = (0..2)
            .map(|_| {
                let (mm, inits) = (mm.clone(), inits.clone());
                thread::spawn(move || {
                    let lease = mm
                        .get_shared_memory_resource::<u64, String, _>("cache", 0.5, |bytes| {
                            inits.fetch_add(1, Ordering::Relaxed);
                            Ok(bytes)
                        })
                        .unwrap();
                    // Kept open until both threads are joined.
                    lease
                })
            })
            .collect();
        let leases: Vec<_> = hs.into_iter().map(|h| h.join().unwrap()).collect();
        assert!(leases.iter().all(|l| **l == 2 * PAGE as u64));
        assert_eq!(inits.load(Ordering::Relaxed), 1);
        drop(leases);
        assert!(mm.verify_empty());
        assert_eq!(b.used(Category::Managed), 0);
    });
}

/// A page returned while another thread gives the idle memory back: whichever goes first, the
/// page ends idle and uncharged, and a later `release_idle_memory` unmaps the whole chunk (a
/// page left hot by the race is not lost to it).
#[test]
fn page_return_racing_release_idle_memory() {
    loom::model(|| {
        let b = budget(2 * PAGE as u64);
        let mut c = PageSourceConfig::new(PAGE, Category::Network, b.clone());
        c.chunk_size = 2 * PAGE;
        let s = PageSource::new(c).unwrap();
        let mut p = s.try_allocate().unwrap();
        p.put_u64(0, 1);
        let returner = thread::spawn(move || drop(p));
        let releaser = {
            let s = s.clone();
            thread::spawn(move || s.release_idle_memory())
        };
        returner.join().unwrap();
        let unmapped = releaser.join().unwrap();
        assert_eq!(b.used(Category::Network), 0);
        assert_eq!(s.pages_outstanding(), 0);
        assert_eq!(s.pages_idle(), s.pages_total());
        assert_eq!(unmapped + s.release_idle_memory(), 2 * PAGE);
        assert_eq!(s.bytes_mapped(), 0);
        let mut again = s.try_allocate_many(2).unwrap();
        again[0].put_u64(0, 2);
        again[1].put_u64(0, 3);
        assert_eq!(again[0].get_u64(0), 2, "a page was handed out twice");
    });
}
