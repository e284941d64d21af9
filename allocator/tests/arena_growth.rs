//! The mimalloc backing's arenas: a full arena gets a successor whose blocks keep their
//! category, and a block no arena can hold is refused cleanly.
#![cfg(feature = "mimalloc")]

use membudget_allocator::{with_category, Budget, Category, Mimalloc, QuotaAllocator, Quotas};
use std::alloc::Layout;

#[global_allocator]
static A: QuotaAllocator = QuotaAllocator::new();

#[test]
fn arenas_grow_and_oversized_blocks_are_refused() {
    let b = Budget::global();
    // A 400 MiB quota sizes the first managed arena at the 1 GiB minimum.
    b.set_quotas(Quotas::unlimited().with(Category::Managed, 400 << 20));
    let first: Vec<u8> = with_category(Category::Managed, || Vec::with_capacity(1 << 20));
    b.set_quotas(Quotas::unlimited());
    // 24 × 64 MiB (virtual, never touched) cannot fit in 1 GiB: a second arena is added.
    let blocks: Vec<Vec<u8>> = with_category(Category::Managed, || {
        (0..24).map(|_| Vec::with_capacity(64 << 20)).collect()
    });
    let arenas: Vec<_> = Mimalloc
        .arenas()
        .filter(|(c, _, _)| *c == Category::Managed)
        .collect();
    assert!(arenas.len() >= 2, "{arenas:?}");
    for v in blocks.iter().chain([&first]) {
        let layout = Layout::array::<u8>(v.capacity()).unwrap();
        // SAFETY: a live block of `A` with this layout.
        let c = unsafe { A.category_of(v.as_ptr() as *mut u8, layout) };
        assert_eq!(c, Category::Managed);
    }
    let expected = (1u64 << 20) + 24 * (64 << 20) + 24 * core::mem::size_of::<Vec<u8>>() as u64;
    assert_eq!(b.used(Category::Managed), expected);
    drop(blocks);
    drop(first);
    assert_eq!(b.used(Category::Managed), 0);

    // No arena (at most 16 GiB) can hold a 9 GiB block: null, nothing charged.
    let mut v: Vec<u8> = Vec::new();
    let r = with_category(Category::Managed, || v.try_reserve_exact(9 << 30));
    // Refused by the backing (no arena can hold it), not by a quota: an allocation error.
    assert!(format!("{:?}", r.unwrap_err()).contains("AllocError"));
    assert_eq!(b.used(Category::Managed), 0);
}
