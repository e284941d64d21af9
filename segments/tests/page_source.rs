//! Behaviour of `PageSource`: carving, reuse, budget charging, all-or-nothing, purging.
// Plain threads and std atomics: not a loom model.
#![cfg(not(membudget_loom))]

use membudget_allocator::{Budget, Category, Quotas, SharedBudget};
use membudget_segments::{PageSource, PageSourceConfig, SegmentError};

const PAGE: usize = 4096;

fn budget(quota: u64) -> SharedBudget {
    SharedBudget::from(Budget::new(
        Quotas::unlimited().with(Category::Network, quota),
    ))
}

fn source(b: &SharedBudget, chunk: usize, retain: usize) -> PageSource {
    let mut c = PageSourceConfig::new(PAGE, Category::Network, b.clone());
    c.chunk_size = chunk;
    c.retain_bytes = retain;
    PageSource::new(c).unwrap()
}

#[test]
fn pages_are_aligned_distinct_and_charged() {
    let b = budget(u64::MAX);
    let s = source(&b, 4 * PAGE, usize::MAX);
    let pages = s.try_allocate_many(10).unwrap();
    let mut addrs: Vec<usize> = pages.iter().map(|p| p.as_ptr() as usize).collect();
    assert!(addrs.iter().all(|a| a % PAGE == 0));
    addrs.sort_unstable();
    addrs.dedup();
    assert_eq!(addrs.len(), 10, "every page distinct");
    assert_eq!(b.used(Category::Network), 10 * PAGE as u64);
    assert_eq!(s.pages_outstanding(), 10);
    assert_eq!(s.bytes_mapped(), 12 * PAGE, "three chunks of four pages");
    assert_eq!(s.pages_idle(), 2);
    drop(pages);
    assert_eq!(b.used(Category::Network), 0);
    assert_eq!(s.pages_outstanding(), 0);
    assert_eq!(s.pages_idle(), 12);
}

#[test]
fn freed_pages_are_reused_without_mapping_more() {
    let b = budget(u64::MAX);
    let s = source(&b, 4 * PAGE, usize::MAX);
    for _ in 0..if cfg!(miri) { 10 } else { 100 } {
        let p = s.try_allocate_many(4).unwrap();
        drop(p);
    }
    assert_eq!(s.bytes_mapped(), 4 * PAGE);
}

#[test]
fn segments_keep_contents_and_page_size() {
    let b = budget(u64::MAX);
    let s = source(&b, 8 * PAGE, usize::MAX);
    let mut pages = s.try_allocate_many(3).unwrap();
    for (i, p) in pages.iter_mut().enumerate() {
        assert_eq!(p.size(), PAGE);
        assert!(p.is_page());
        p.as_mut_slice().fill(i as u8 + 1);
    }
    for (i, p) in pages.iter().enumerate() {
        assert!(p.as_slice().iter().all(|&x| x == i as u8 + 1));
    }
}

#[test]
fn quota_refusal_takes_nothing() {
    let b = budget(3 * PAGE as u64);
    let s = source(&b, 16 * PAGE, usize::MAX);
    let held = s.try_allocate_many(2).unwrap();
    let e = s.try_allocate_many(2).unwrap_err();
    assert!(matches!(e, SegmentError::Quota(_)), "{e}");
    assert_eq!(
        e.to_string(),
        "Cannot reserve 8192 bytes of network memory (used: 8192, quota: 12288). \
         Increase 'taskmanager.memory.network.fraction' (or .min/.max)."
    );
    assert_eq!(b.used(Category::Network), 2 * PAGE as u64);
    assert_eq!(s.pages_outstanding(), 2);
    let one = s.try_allocate().unwrap();
    let e = s.try_allocate().unwrap_err();
    assert!(matches!(e, SegmentError::Quota(_)), "{e}");
    drop((held, one));
    assert_eq!(b.used(Category::Network), 0);
}

#[test]
fn invalid_page_sizes_are_rejected() {
    for bad in [0usize, 1, 2048, 4095, 5000, 3 * 4096] {
        let c = PageSourceConfig::new(bad, Category::Managed, SharedBudget::global());
        let e = PageSource::new(c).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "Invalid page size ('taskmanager.memory.segment-size'): {bad}. \
                 It must be a power of two of at least 4096 bytes."
            )
        );
    }
}

#[test]
fn idle_memory_past_the_high_water_mark_is_purged() {
    let b = budget(u64::MAX);
    let s = source(&b, 8 * PAGE, 2 * PAGE);
    let mut pages = s.try_allocate_many(8).unwrap();
    for p in &mut pages {
        p.as_mut_slice().fill(0xAB);
    }
    drop(pages);
    assert_eq!(s.pages_idle(), 8);
    assert_eq!(
        s.pages_idle_resident(),
        2,
        "only retain_bytes stay resident"
    );
    // Purged pages come back zeroed (MADV_DONTNEED on private anonymous memory; not under Miri,
    // where chunks are heap-backed and purging is a no-op).
    let pages = s.try_allocate_many(8).unwrap();
    let zeroed = pages
        .iter()
        .filter(|p| p.as_slice().iter().all(|&x| x == 0))
        .count();
    if cfg!(not(miri)) {
        assert_eq!(zeroed, 6);
    }
    assert_eq!(s.pages_idle_resident(), 0);
}

#[test]
fn segment_outlives_its_source_handle() {
    let b = budget(u64::MAX);
    let s = source(&b, 4 * PAGE, usize::MAX);
    let mut p = s.try_allocate().unwrap();
    drop(s);
    p.put_u64_be(PAGE - 8, 5);
    assert_eq!(p.get_u64_be(PAGE - 8), 5);
    drop(p);
    assert_eq!(b.used(Category::Network), 0);
}

#[test]
fn larger_pages_are_aligned_to_their_size() {
    let b = budget(u64::MAX);
    let mut c = PageSourceConfig::new(64 * 1024, Category::Network, b.clone());
    c.chunk_size = 256 * 1024;
    c.huge_pages = true;
    let s = PageSource::new(c).unwrap();
    let pages = s.try_allocate_many(5).unwrap();
    assert!(pages.iter().all(|p| p.as_ptr() as usize % (64 * 1024) == 0));
}

#[test]
fn concurrent_take_and_return_balances() {
    let b = budget(64 * PAGE as u64);
    let s = source(&b, 8 * PAGE, usize::MAX);
    let iters = if cfg!(miri) { 20 } else { 2000 };
    std::thread::scope(|scope| {
        for t in 0..4 {
            let s = s.clone();
            scope.spawn(move || {
                for i in 0..iters {
                    let n = (i + t) % 8 + 1;
                    if let Ok(mut pages) = s.try_allocate_many(n) {
                        for p in &mut pages {
                            p.put_u64(0, t as u64);
                        }
                        for p in &pages {
                            assert_eq!(p.get_u64(0), t as u64, "no page shared");
                        }
                    }
                }
            });
        }
    });
    assert_eq!(b.used(Category::Network), 0);
    assert_eq!(s.pages_outstanding(), 0);
    assert_eq!(s.pages_idle(), s.pages_total());
}

#[test]
fn batched_release_respects_the_high_water_mark() {
    let b = budget(u64::MAX);
    let s = source(&b, 8 * PAGE, 3 * PAGE);
    let mut pages = s.try_allocate_many(8).unwrap();
    for p in &mut pages {
        p.as_mut_slice().fill(0xCD);
    }
    s.release_many(pages);
    assert_eq!(b.used(Category::Network), 0);
    assert_eq!(s.pages_idle(), 8);
    assert_eq!(s.pages_outstanding(), 0);
    assert_eq!(s.pages_idle_resident(), 3);
    let pages = s.try_allocate_many(8).unwrap();
    let zeroed = pages
        .iter()
        .filter(|p| p.as_slice().iter().all(|&x| x == 0))
        .count();
    if cfg!(not(miri)) {
        assert_eq!(zeroed, 5, "pages past the mark were given back to the OS");
    }
}

#[test]
fn absurd_page_counts_are_refused_without_a_charge() {
    // An unlimited budget: only the request's own size can refuse it.
    let b = budget(u64::MAX);
    let s = source(&b, 4 * PAGE, usize::MAX);
    for n in [
        usize::MAX,
        usize::MAX / PAGE + 1,
        isize::MAX as usize / PAGE + 1,
    ] {
        let e = s.try_allocate_many(n).unwrap_err();
        assert!(
            matches!(e, SegmentError::TooManyPages { requested, page_size: PAGE } if requested == n),
            "{e:?}"
        );
        assert_eq!(
            e.to_string(),
            format!(
                "Cannot take {n} pages of 4096 bytes: together they would exceed the address \
                 space. Request fewer pages."
            )
        );
        assert_eq!(
            b.used(Category::Network),
            0,
            "nothing stays charged for {n}"
        );
    }
    // Addressable, but no list of that many segments can be allocated: a clean error too.
    // (Miri cannot simulate an allocation failure: it stops as out of resources.)
    if cfg!(not(miri)) {
        let n = isize::MAX as usize / PAGE;
        let e = s.try_allocate_many(n).unwrap_err();
        assert!(matches!(e, SegmentError::Os { .. }), "{e:?}");
        assert_eq!(b.used(Category::Network), 0);
    }
    assert_eq!(s.pages_outstanding(), 0);
    assert_eq!(s.bytes_mapped(), 0, "nothing was mapped");
    // The source still works.
    drop(s.try_allocate_many(3).unwrap());
    assert_eq!(b.used(Category::Network), 0);
}

#[test]
fn page_sizes_above_one_gib_are_rejected() {
    for bad in [2usize << 30, 1 << 40, 1 << 63] {
        let c = PageSourceConfig::new(bad, Category::Managed, SharedBudget::global());
        let e = PageSource::new(c).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "Invalid page size ('taskmanager.memory.segment-size'): {bad}. \
                 It must be at most 1073741824 bytes (1 GiB)."
            )
        );
    }
    let mut c = PageSourceConfig::new(PAGE, Category::Managed, SharedBudget::global());
    c.chunk_size = usize::MAX;
    let e = PageSource::new(c).unwrap_err();
    assert!(e.to_string().ends_with("It must be at most 1 TiB."), "{e}");
}

#[test]
fn release_idle_memory_unmaps_idle_chunks_and_purges_the_rest() {
    let b = budget(u64::MAX);
    let s = source(&b, 4 * PAGE, usize::MAX);
    let mut pages = s.try_allocate_many(12).unwrap();
    for p in &mut pages {
        p.as_mut_slice().fill(0xEE);
    }
    // Keep one page of the middle chunk; the other two chunks become wholly idle.
    let kept = pages.remove(5);
    drop(pages);
    assert_eq!(s.bytes_mapped(), 12 * PAGE);
    assert_eq!(s.release_idle_memory(), 8 * PAGE);
    assert_eq!(s.bytes_mapped(), 4 * PAGE);
    assert_eq!(s.pages_idle(), 3);
    assert_eq!(s.pages_idle_resident(), 0, "the rest was purged");
    drop(kept);
    assert_eq!(
        s.pages_idle_resident(),
        0,
        "pages coming back are purged too"
    );
    assert_eq!(s.release_idle_memory(), 4 * PAGE);
    assert_eq!(s.bytes_mapped(), 0);
    // Pages can still be taken.
    let again = s.try_allocate_many(2).unwrap();
    assert_eq!(s.bytes_mapped(), 4 * PAGE);
    drop(again);
    assert_eq!(b.used(Category::Network), 0);
}

#[test]
fn a_returned_page_is_the_next_one_taken_and_counts_as_idle() {
    let b = budget(u64::MAX);
    let s = source(&b, 4 * PAGE, usize::MAX);
    let mut p = s.try_allocate().unwrap();
    p.put_u64(0, 0xFEED);
    let addr = p.as_ptr();
    drop(p);
    assert_eq!(b.used(Category::Network), 0);
    assert_eq!(s.pages_idle(), 4);
    assert_eq!(s.pages_outstanding(), 0);
    assert_eq!(s.pages_idle_resident(), 1, "the returned page is resident");
    let p = s.try_allocate().unwrap();
    assert_eq!(p.as_ptr(), addr, "the warmest page is reused first");
    assert_eq!(p.get_u64(0), 0xFEED, "pages are not zeroed on reuse");
    assert_eq!(b.used(Category::Network), PAGE as u64);
    assert_eq!(s.pages_idle(), 3);
    assert_eq!(s.pages_idle_resident(), 0);
    assert_eq!(s.bytes_mapped(), 4 * PAGE);
}

#[test]
fn a_list_request_takes_the_returned_page_before_mapping_a_chunk() {
    let b = budget(u64::MAX);
    let s = source(&b, 4 * PAGE, usize::MAX);
    let mut three = s.try_allocate_many(3).unwrap();
    drop(three.pop());
    // One page in the free list, the one just returned beside it.
    let two = s.try_allocate_many(2).unwrap();
    assert_eq!(
        s.bytes_mapped(),
        4 * PAGE,
        "no chunk mapped for two idle pages"
    );
    assert_eq!(s.pages_idle(), 0);
    drop((three, two));
    assert_eq!(s.pages_idle(), 4);
    assert_eq!(b.used(Category::Network), 0);
}

#[test]
fn without_a_high_water_mark_no_returned_page_stays_resident() {
    let b = budget(u64::MAX);
    let s = source(&b, 4 * PAGE, 0);
    let mut p = s.try_allocate().unwrap();
    p.as_mut_slice().fill(0x5A);
    drop(p);
    assert_eq!(s.pages_idle(), 4);
    assert_eq!(s.pages_idle_resident(), 0);
    let p = s.try_allocate().unwrap();
    if cfg!(not(miri)) {
        assert!(p.as_slice().iter().all(|&x| x == 0), "given back to the OS");
    }
}

#[test]
fn release_idle_memory_reaches_the_last_returned_page() {
    let b = budget(u64::MAX);
    let s = source(&b, 4 * PAGE, usize::MAX);
    let mut p = s.try_allocate().unwrap();
    p.as_mut_slice().fill(0x11);
    drop(p);
    assert_eq!(s.release_idle_memory(), 4 * PAGE, "the whole chunk is idle");
    assert_eq!(s.bytes_mapped(), 0);
    assert_eq!(s.pages_idle(), 0);
    assert_eq!(s.pages_idle_resident(), 0);
    // Returned from now on, pages are purged and not kept hot.
    let p = s.try_allocate().unwrap();
    drop(p);
    assert_eq!(s.pages_idle_resident(), 0);
    assert_eq!(s.pages_idle(), 4);
}
