//! `QuotaAllocator<System>`: the same exact attribution through the per-block tag.
//!
//! Under Miri (`cargo +nightly miri test -p membudget-allocator --test system_backing`) only
//! `raw_calls_across_threads` runs: it drives the allocator through raw `GlobalAlloc` calls
//! (thread-local slots, the pthread exit key, the tag). The test through std collections is
//! skipped there: freeing the tagged prefix together with a block that a `Box`/`Vec` still
//! holds a protected reference to is rejected by Miri's aliasing models (Stacked and Tree
//! Borrows), a known limit of header-carrying allocators under Miri — which also rejects every
//! std `Box` freed through such a global allocator, so under Miri `A` is not installed.

use membudget_allocator::{with_category, Budget, Category, QuotaAllocator, Quotas};
use std::alloc::{Layout, System};

// Under Miri the process keeps the default allocator (see above); `A` is then only a static.
#[cfg_attr(not(miri), global_allocator)]
static A: QuotaAllocator<System> = QuotaAllocator::with_backing(System);

fn category_of<T>(v: &Vec<T>) -> Category {
    let layout = Layout::array::<T>(v.capacity()).unwrap();
    // SAFETY: a live block of `A` with this layout.
    unsafe { A.category_of(v.as_ptr() as *mut u8, layout) }
}

#[test]
#[cfg_attr(
    miri,
    ignore = "Miri's aliasing models reject freeing a tagged prefix under a Box"
)]
fn attribution_realloc_and_enforcement_with_system_backing() {
    let b = Budget::global();
    let sizes: &[usize] = if cfg!(miri) {
        &[1, 16, 100, 4096]
    } else {
        &[1, 7, 16, 100, 4096, 65_536, 1 << 20, 64 << 20]
    };
    let blocks = std::thread::spawn(move || {
        with_category(Category::Network, || {
            sizes
                .iter()
                .map(|&n| {
                    let mut v = Vec::<u8>::with_capacity(n);
                    v.push(7);
                    v
                })
                .collect::<Vec<_>>()
        })
    })
    .join()
    .unwrap();
    let data: u64 = sizes.iter().map(|&n| n as u64).sum();
    let outer = (sizes.len() * core::mem::size_of::<Vec<u8>>()) as u64;
    assert_eq!(b.used(Category::Network), data + outer);
    // Over-aligned blocks keep their tag too.
    let aligned: Vec<u128> = with_category(Category::Direct, || Vec::with_capacity(3));
    assert_eq!(category_of(&aligned), Category::Direct);
    assert_eq!(aligned.as_ptr() as usize % core::mem::align_of::<u128>(), 0);
    std::thread::spawn(move || {
        let mut blocks = blocks;
        for v in blocks.iter_mut() {
            let n = v.capacity();
            v.reserve_exact(n + 100);
            assert_eq!(v[0], 7, "contents survive realloc");
            assert_eq!(category_of(v), Category::Network);
            v.shrink_to(1);
            assert_eq!(category_of(v), Category::Network);
        }
    })
    .join()
    .unwrap();
    drop(aligned);
    assert_eq!(b.used(Category::Network), 0);
    assert_eq!(b.used(Category::Direct), 0);

    b.set_quotas(Quotas::unlimited().with(Category::Managed, 1000));
    let mut v: Vec<u8> = Vec::new();
    let failures = b.failures(Category::Managed);
    assert!(with_category(Category::Managed, || v.try_reserve_exact(1001)).is_err());
    assert_eq!(
        b.failures(Category::Managed),
        failures + 1,
        "refused by the quota"
    );
    assert!(with_category(Category::Managed, || v.try_reserve_exact(1000)).is_ok());
    drop(v);
    assert_eq!(b.used(Category::Managed), 0);
    b.set_quotas(Quotas::unlimited());
}

#[test]
fn raw_calls_across_threads() {
    use std::alloc::GlobalAlloc;
    static Q: QuotaAllocator<System> = QuotaAllocator::with_backing(System);
    let b = Budget::global();
    let before = b.used(Category::Overhead);
    let layouts = [
        Layout::from_size_align(1, 1).unwrap(),
        Layout::from_size_align(24, 8).unwrap(),
        Layout::from_size_align(100, 64).unwrap(),
    ];
    let blocks: Vec<(usize, Layout)> = std::thread::spawn(move || {
        let mut out = Vec::with_capacity(layouts.len());
        for l in layouts {
            // SAFETY: non-zero sizes.
            let p = with_category(Category::Overhead, || unsafe { Q.alloc_zeroed(l) });
            assert!(!p.is_null());
            assert_eq!(p as usize % l.align(), 0);
            out.push((p as usize, l));
        }
        out
    })
    .join()
    .unwrap();
    let total: u64 = layouts.iter().map(|l| l.size() as u64).sum();
    assert_eq!(b.used(Category::Overhead), before + total);
    std::thread::spawn(move || {
        for (p, l) in blocks {
            let p = p as *mut u8;
            // SAFETY: a live block of `Q` with layout `l`.
            assert_eq!(unsafe { Q.category_of(p, l) }, Category::Overhead);
            // SAFETY: as above; the new size is non-zero.
            let q = unsafe { Q.realloc(p, l, l.size() * 3) };
            assert!(!q.is_null());
            let l3 = Layout::from_size_align(l.size() * 3, l.align()).unwrap();
            // SAFETY: `q` is the live reallocated block, of layout `l3`.
            assert_eq!(unsafe { Q.category_of(q, l3) }, Category::Overhead);
            // SAFETY: as above.
            unsafe { Q.dealloc(q, l3) };
        }
    })
    .join()
    .unwrap();
    assert_eq!(b.used(Category::Overhead), before);
}

#[test]
fn attributed_raw_calls_across_threads() {
    use membudget_allocator::{ChildLimits, SharedBudget};
    use std::alloc::GlobalAlloc;
    static Q: QuotaAllocator<System> = QuotaAllocator::with_backing(System);
    let accounts = SharedBudget::from(Budget::new(Quotas::unlimited()));
    let tenant = accounts.child("tenant", ChildLimits::unlimited()).unwrap();
    let layouts = [
        Layout::from_size_align(1, 1).unwrap(),
        Layout::from_size_align(24, 8).unwrap(),
        Layout::from_size_align(100, 64).unwrap(),
        Layout::from_size_align(40, 4096).unwrap(),
    ];
    let mut blocks: Vec<(usize, Layout)> = Vec::with_capacity(layouts.len());
    {
        let _g = tenant.enter();
        for l in layouts {
            // SAFETY: non-zero sizes.
            let p = unsafe { Q.alloc_zeroed(l) };
            assert!(!p.is_null());
            assert_eq!(p as usize % l.align(), 0);
            // SAFETY: `l.size()` zeroed bytes at `p`.
            assert_eq!(unsafe { p.read() }, 0);
            // SAFETY: the first of them.
            unsafe { p.write(42) };
            blocks.push((p as usize, l));
        }
    }
    let total: u64 = layouts.iter().map(|l| l.size() as u64).sum();
    assert_eq!(tenant.used(Category::Heap), total);
    std::thread::spawn(move || {
        for (p, l) in blocks {
            let p = p as *mut u8;
            // SAFETY: a live block of `Q` with layout `l`; the new size is non-zero.
            let q = unsafe { Q.realloc(p, l, l.size() * 3) };
            assert!(!q.is_null());
            // SAFETY: the first byte survived the move.
            assert_eq!(unsafe { q.read() }, 42);
            let l3 = Layout::from_size_align(l.size() * 3, l.align()).unwrap();
            // SAFETY: `q` is the live reallocated block, of layout `l3`.
            unsafe { Q.dealloc(q, l3) };
        }
    })
    .join()
    .unwrap();
    assert_eq!(tenant.used(Category::Heap), 0);
    drop(tenant);
    assert_eq!(accounts.used(Category::Heap), 0);
}
