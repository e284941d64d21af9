//! Hostile sizes: `0`, `1`, `usize::MAX`/`u64::MAX` (and random values) in every public size and
//! count argument of `PageSource`, `MemoryManager` and `MemorySegment`'s fallible accessors.
//! Each call answers a typed error or a correct result — never a panic — and the budget is
//! unchanged once what succeeded is released.

use membudget_allocator::{Budget, Category, Quotas, SharedBudget};
use membudget_segments::{
    MemoryAllocationError, MemoryManager, MemorySegment, OwnerId, PageSource, PageSourceConfig,
    SegmentError, SharedResourceError,
};
use proptest::prelude::*;
use std::panic::{catch_unwind, AssertUnwindSafe};

const USIZES: [usize; 6] = [0, 1, 2, 4096, usize::MAX - 1, usize::MAX];
const U64S: [u64; 5] = [0, 1, 4096, u64::MAX - 1, u64::MAX];
const FRACTIONS: [f64; 8] = [0.0, 1.0, -1.0, 1e-300, 0.5, 2.0, f64::NAN, f64::INFINITY];

fn no_panic<R>(what: &str, f: impl FnOnce() -> R) -> R {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|_| panic!("{what} panicked"))
}

fn budgets() -> Vec<SharedBudget> {
    vec![
        SharedBudget::from(Budget::unlimited()),
        SharedBudget::from(Budget::new(
            Quotas::unlimited()
                .with(Category::Managed, 1 << 20)
                .with(Category::Network, 1 << 20),
        )),
    ]
}

fn used(b: &SharedBudget) -> (u64, u64) {
    (b.used(Category::Managed), b.total_used())
}

#[test]
fn page_source_configs_and_counts() {
    for b in budgets() {
        for page_size in USIZES.into_iter().chain([1 << 40, 1 << 30, 8192]) {
            for chunk_size in USIZES {
                for retain in USIZES {
                    let mut c = PageSourceConfig::new(page_size, Category::Managed, b.clone());
                    c.chunk_size = chunk_size;
                    c.retain_bytes = retain;
                    let Ok(s) = no_panic("PageSource::new", || PageSource::new(c)) else {
                        continue;
                    };
                    assert!(s.page_size().is_power_of_two() && s.page_size() >= 4096);
                    for n in [
                        0usize,
                        1,
                        2,
                        usize::MAX,
                        usize::MAX / 2,
                        isize::MAX as usize,
                    ] {
                        let before = used(&b);
                        match no_panic("try_allocate_many", || s.try_allocate_many(n)) {
                            Ok(pages) => {
                                assert_eq!(pages.len(), n);
                                drop(pages);
                            }
                            Err(
                                SegmentError::TooManyPages { .. }
                                | SegmentError::Quota(_)
                                | SegmentError::Os { .. },
                            ) => {}
                            Err(e) => panic!("unexpected error for {n} pages: {e}"),
                        }
                        assert_eq!(used(&b), before, "{n} pages of {page_size}");
                    }
                    s.release_idle_memory();
                }
            }
        }
    }
}

fn manager_ops(mm: &MemoryManager, b: &SharedBudget, n: usize, bytes: u64) {
    let before = used(b);
    let owner = OwnerId(u64::MAX);
    match no_panic("allocate_pages", || mm.allocate_pages(owner, n)) {
        Ok(pages) => assert_eq!(pages.len(), n),
        Err(
            MemoryAllocationError::TooManyPages { .. }
            | MemoryAllocationError::InsufficientPages { .. }
            | MemoryAllocationError::ShutDown { .. }
            | MemoryAllocationError::Source(_),
        ) => {}
        Err(e) => panic!("allocate_pages({n}): {e}"),
    }
    match no_panic("reserve_memory", || mm.reserve_memory(owner, bytes)) {
        Ok(()) => {
            no_panic("release_memory", || mm.release_memory(owner, bytes));
        }
        Err(
            MemoryAllocationError::InsufficientBytes { .. }
            | MemoryAllocationError::ShutDown { .. }
            | MemoryAllocationError::Source(_),
        ) => {}
        Err(e) => panic!("reserve_memory({bytes}): {e}"),
    }
    no_panic("release_memory", || mm.release_memory(owner, bytes));
    assert_eq!(
        no_panic("release_all_memory", || mm.release_all_memory(owner)),
        0
    );
    assert_eq!(no_panic("release_all", || mm.release_all(owner)), 0);
    no_panic("release_owner", || mm.release_owner(owner));
    assert_eq!(used(b), before, "manager ops with {n} pages, {bytes} bytes");
}

#[test]
fn memory_manager_sizes_counts_and_fractions() {
    for b in budgets() {
        for total in U64S {
            for page_size in USIZES {
                let Ok(mm) = no_panic("MemoryManager::new", || {
                    MemoryManager::new(total, page_size, b.clone())
                }) else {
                    continue;
                };
                assert_eq!(mm.total_memory(), total);
                for n in USIZES {
                    for bytes in U64S {
                        manager_ops(&mm, &b, n, bytes);
                    }
                }
                for f in FRACTIONS {
                    let size = no_panic("compute_memory_size", || mm.compute_memory_size(f));
                    let pages =
                        no_panic("compute_number_of_pages", || mm.compute_number_of_pages(f));
                    let valid = f > 0.0 && f <= 1.0;
                    assert_eq!(size.is_ok(), valid, "fraction {f}");
                    assert_eq!(pages.is_ok(), valid, "fraction {f}");
                    if let Ok(size) = size {
                        assert!(size <= total);
                    }
                    let before = used(&b);
                    let r = no_panic("get_shared_memory_resource", || {
                        mm.get_shared_memory_resource::<u64, String, _>("kind", f, Ok)
                    });
                    match r {
                        Ok(lease) => assert!(valid && lease.size() <= total),
                        Err(SharedResourceError::Allocation(
                            MemoryAllocationError::InvalidFraction(e),
                        )) => {
                            assert!(!valid);
                            assert_eq!(
                                e.to_string(),
                                format!(
                                    "The fraction of memory to allocate should be within (0, 1], \
                                     was: {f}"
                                )
                            );
                        }
                        Err(SharedResourceError::Allocation(
                            MemoryAllocationError::InsufficientShared { .. }
                            | MemoryAllocationError::Source(_),
                        )) => assert!(valid),
                        Err(e) => panic!("fraction {f}: {e}"),
                    }
                    assert_eq!(used(&b), before, "shared resource of fraction {f}");
                }
                assert!(mm.verify_empty());
                mm.shutdown();
                manager_ops(&mm, &b, 1, 1);
            }
        }
    }
}

#[test]
fn segment_accessors_refuse_every_hostile_index() {
    for size in [0usize, 1, 64] {
        let mut seg = MemorySegment::wrap(vec![0u8; size]);
        for i in USIZES {
            let fits = |len: usize| i.checked_add(len).is_some_and(|end| end <= size);
            assert_eq!(seg.try_get_u8(i).is_ok(), fits(1));
            assert_eq!(seg.try_get_u64_be(i).is_ok(), fits(8));
            assert_eq!(seg.try_put_u32_le(i, 7).is_ok(), fits(4));
            let mut buf = [0u8; 3];
            assert_eq!(seg.try_get_bytes(i, &mut buf).is_ok(), fits(3));
            assert_eq!(seg.try_put_bytes(i, &buf).is_ok(), fits(3));
            for len in USIZES {
                let mut other = MemorySegment::wrap(vec![0u8; 64]);
                let r = no_panic("try_copy_to", || seg.try_copy_to(i, &mut other, 0, len));
                assert_eq!(r.is_ok(), fits(len) && len <= 64);
                let r = no_panic("try_compare", || seg.try_compare(&other, i, 0, len));
                assert_eq!(r.is_ok(), fits(len) && len <= 64);
                let r = no_panic("try_swap_bytes_within", || {
                    seg.try_swap_bytes_within(i, 0, len)
                });
                if fits(len) && len <= size {
                    // Overlapping ranges are refused; disjoint ones succeed.
                    if let Err(e) = r {
                        assert!(matches!(e, SegmentError::Overlap { .. }), "{e}");
                    }
                } else {
                    assert!(r.is_err());
                }
            }
        }
    }
    assert_eq!(MemorySegment::allocate_unpooled(0).size(), 0);
}

proptest! {
    #[test]
    fn random_counts_and_bytes(n in any::<usize>(), bytes in any::<u64>(), total in any::<u64>()) {
        let b = SharedBudget::from(Budget::new(Quotas::unlimited().with(Category::Managed, 1 << 24)));
        let mm = MemoryManager::new(total, 4096, b.clone()).unwrap();
        manager_ops(&mm, &b, n, bytes);
        manager_ops(&mm, &b, n % 64, bytes % (1 << 20));
        prop_assert!(mm.verify_empty());
    }
}
