//! Exact attribution with the mimalloc backing: blocks charged in one scope on one thread are
//! credited to the same category when freed or reallocated on another thread in another scope.
#![cfg(feature = "mimalloc")]

use membudget_allocator::{with_category, Budget, Category, QuotaAllocator};
use std::alloc::Layout;

#[global_allocator]
static A: QuotaAllocator = QuotaAllocator::new();

const SIZES: &[usize] = &[
    1,
    7,
    16,
    100,
    4096,
    65_536,
    1 << 20,
    8 << 20,
    (32 << 20) + 5,
    64 << 20,
];

fn category_of(v: &Vec<u8>) -> Category {
    let layout = Layout::array::<u8>(v.capacity()).unwrap();
    // SAFETY: `v`'s buffer is a live block of the global allocator `A` with this layout.
    unsafe { A.category_of(v.as_ptr() as *mut u8, layout) }
}

/// The tests share the process budget: they run one at a time.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn used_all() -> [u64; Category::COUNT] {
    Category::ALL.map(|c| Budget::global().used(c))
}

#[test]
fn frees_and_reallocs_on_other_threads_are_credited_to_the_charged_category() {
    let _s = serial();
    let b = Budget::global();
    let non_heap = [
        Category::Direct,
        Category::Managed,
        Category::Network,
        Category::Overhead,
    ];
    for &cat in &non_heap {
        assert_eq!(b.used(cat), 0, "{cat} before");
        // Allocate every size in `cat`'s scope on thread A.
        let blocks = std::thread::spawn(move || {
            with_category(cat, || {
                let mut blocks = Vec::with_capacity(SIZES.len());
                for &n in SIZES {
                    let mut v = Vec::<u8>::with_capacity(n);
                    v.push(1);
                    blocks.push(v);
                }
                blocks
            })
        })
        .join()
        .unwrap();
        let expected: u64 = SIZES.iter().map(|&n| n as u64).sum::<u64>()
            + (SIZES.len() * core::mem::size_of::<Vec<u8>>()) as u64;
        assert_eq!(b.used(cat), expected, "{cat}: exact after allocating on A");
        for v in &blocks {
            assert_eq!(category_of(v), cat, "block of {} bytes", v.capacity());
        }
        // Thread B, in the heap scope, reallocates every block (grow, then shrink) and frees it.
        std::thread::spawn(move || {
            let mut blocks = blocks;
            for v in blocks.iter_mut() {
                let n = v.capacity();
                v.reserve_exact(n + 3000);
                assert_eq!(category_of(v), cat, "grown from {n}");
                v.shrink_to(n / 2 + 1);
                assert_eq!(category_of(v), cat, "shrunk from {n}");
            }
            let live: u64 = blocks.iter().map(|v| v.capacity() as u64).sum::<u64>()
                + (blocks.capacity() * core::mem::size_of::<Vec<u8>>()) as u64;
            assert_eq!(
                Budget::global().used(cat),
                live,
                "{cat}: exact after reallocs on B"
            );
            drop(blocks);
        })
        .join()
        .unwrap();
        assert_eq!(b.used(cat), 0, "{cat}: every block freed");
    }
    // A's and B's allowances went back at thread exit.
    for &cat in &non_heap {
        assert_eq!(b.usage(cat).allowances, 0, "{cat}: allowances returned");
    }
}

#[test]
fn heap_blocks_stay_heap_and_mixed_scopes_balance() {
    let _s = serial();
    let before = used_all();
    let v: Vec<u8> = Vec::with_capacity(1000);
    assert_eq!(category_of(&v), Category::Heap);
    std::thread::spawn(|| {
        let mut boxes: Vec<Box<[u8]>> = Vec::new();
        for (i, &n) in SIZES.iter().take(8).enumerate() {
            let cat = Category::ALL[i % Category::COUNT];
            boxes.push(with_category(cat, || vec![0u8; n].into_boxed_slice()));
        }
        drop(boxes);
    })
    .join()
    .unwrap();
    drop(v);
    let after = used_all();
    for c in [
        Category::Direct,
        Category::Managed,
        Category::Network,
        Category::Overhead,
    ] {
        assert_eq!(before[c.index()], after[c.index()], "{c}");
    }
}
