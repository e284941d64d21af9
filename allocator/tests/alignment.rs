//! Every category serves every alignment the heap serves (8 B … 2 MiB), blocks freed on another
//! thread credit exactly what they charged, and failures never make arenas grow.

use membudget_allocator::{with_category, Budget, Category, QuotaAllocator};
use std::alloc::{GlobalAlloc, Layout};

#[global_allocator]
static A: QuotaAllocator = QuotaAllocator::new();

static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// 8 B, 16 B, … 2 MiB.
fn alignments() -> impl Iterator<Item = usize> {
    (3..=21).map(|shift| 1usize << shift)
}

#[cfg(feature = "mimalloc")]
fn arena_count() -> usize {
    membudget_allocator::Mimalloc.arenas().count()
}

#[cfg(not(feature = "mimalloc"))]
fn arena_count() -> usize {
    0
}

/// Whether `c`'s usage can be checked to the byte here: the heap category also counts what the
/// test harness and `thread::spawn` allocate meanwhile.
fn exact(c: Category) -> bool {
    c != Category::Heap
}

/// A block's address, sendable to the freeing thread.
struct Block(usize, Layout);

#[test]
fn every_category_serves_every_alignment_freed_on_another_thread() {
    let _s = serial();
    let b = Budget::global();
    // One block per category first, so each has its first arena before counting.
    for c in Category::ALL {
        drop(with_category(c, || Vec::<u8>::with_capacity(64)));
    }
    let arenas = arena_count();
    for c in Category::ALL {
        for align in alignments() {
            for size in [24usize, align, 3 * align + 5] {
                let layout = Layout::from_size_align(size, align).unwrap();
                let before = b.used(c);
                let zeroed = size % 2 == 1;
                let p = with_category(c, || {
                    if zeroed {
                        // SAFETY: non-zero size.
                        unsafe { A.alloc_zeroed(layout) }
                    } else {
                        // SAFETY: non-zero size.
                        unsafe { A.alloc(layout) }
                    }
                });
                assert!(!p.is_null(), "{c}: {size} B aligned to {align} refused");
                assert_eq!(p as usize % align, 0, "{c}: misaligned block for {align}");
                // SAFETY: a live block of `A` with `layout`.
                assert_eq!(unsafe { A.category_of(p, layout) }, c);
                if zeroed {
                    // SAFETY: `size` bytes at `p` are ours.
                    let bytes = unsafe { std::slice::from_raw_parts(p, size) };
                    assert!(bytes.iter().all(|&x| x == 0), "{c}: zeroed block not zero");
                }
                // SAFETY: `size` bytes at `p` are ours.
                unsafe { p.write_bytes(0xA5, size) };
                if exact(c) {
                    assert_eq!(b.used(c) - before, size as u64, "{c}: charge of {layout:?}");
                }
                let block = Block(p as usize, layout);
                // Freed on another thread, in the heap scope.
                std::thread::spawn(move || {
                    let Block(p, layout) = block;
                    // SAFETY: a live block of `A` with `layout`, freed once.
                    unsafe { A.dealloc(p as *mut u8, layout) }
                })
                .join()
                .unwrap();
                if exact(c) {
                    assert_eq!(b.used(c), before, "{c}: credit of {layout:?}");
                }
            }
        }
    }
    assert_eq!(
        arena_count(),
        arenas,
        "no arena was added by these allocations"
    );
}

#[test]
fn overaligned_blocks_reallocate_within_their_category() {
    let _s = serial();
    let b = Budget::global();
    for c in Category::ALL {
        for align in [64usize << 10, 128 << 10, 2 << 20] {
            let layout = Layout::from_size_align(100, align).unwrap();
            let before = b.used(c);
            let p = with_category(c, || {
                // SAFETY: non-zero size.
                unsafe { A.alloc(layout) }
            });
            assert!(!p.is_null());
            // SAFETY: 100 bytes at `p` are ours.
            unsafe { p.write_bytes(7, 100) };
            // Grown and shrunk in the heap scope: the block keeps its category.
            // SAFETY: a live block with `layout`; non-zero new size.
            let q = unsafe { A.realloc(p, layout, 5 * align) };
            assert!(!q.is_null());
            assert_eq!(q as usize % align, 0);
            let grown = Layout::from_size_align(5 * align, align).unwrap();
            // SAFETY: a live block with `grown`.
            assert_eq!(unsafe { A.category_of(q, grown) }, c);
            // SAFETY: the first 100 bytes were copied.
            assert!(unsafe { std::slice::from_raw_parts(q, 100) }
                .iter()
                .all(|&x| x == 7));
            if exact(c) {
                assert_eq!(b.used(c) - before, 5 * align as u64);
            }
            // SAFETY: as above.
            let r = unsafe { A.realloc(q, grown, 10) };
            assert!(!r.is_null() && r as usize % align == 0);
            if exact(c) {
                assert_eq!(b.used(c) - before, 10);
            }
            // SAFETY: a live block of 10 bytes with this alignment, freed once.
            unsafe { A.dealloc(r, Layout::from_size_align(10, align).unwrap()) };
            if exact(c) {
                assert_eq!(b.used(c), before);
            }
        }
    }
}

/// A request no arena can hold fails without reserving arenas, however often it is repeated.
#[test]
fn refused_requests_do_not_grow_arenas() {
    let _s = serial();
    let b = Budget::global();
    for c in Category::ALL {
        drop(with_category(c, || Vec::<u8>::with_capacity(64)));
    }
    let arenas = arena_count();
    for c in Category::ALL {
        for _ in 0..5 {
            let before = b.used(c);
            let layout = Layout::from_size_align(40 << 30, 4 << 20).unwrap();
            let p = with_category(c, || {
                // SAFETY: non-zero size.
                unsafe { A.alloc(layout) }
            });
            if !p.is_null() {
                // SAFETY: a live block with `layout` (the heap may map it virtually).
                unsafe { A.dealloc(p, layout) };
            }
            if exact(c) {
                assert_eq!(b.used(c), before, "{c}: a refusal charges nothing");
            }
        }
    }
    assert_eq!(arena_count(), arenas);
}

/// Heap blocks take mimalloc's plain calls for word alignments and its aligned calls above;
/// growing and shrinking through odd sizes (mimalloc's word-sized classes) keeps each block's
/// alignment and contents.
#[test]
fn heap_blocks_keep_their_alignment_through_reallocation() {
    for align in [1usize, 8, 16, 32, 4096] {
        for zeroed in [false, true] {
            let layout = Layout::from_size_align(24, align).unwrap();
            let mut p = if zeroed {
                // SAFETY: a non-zero size.
                unsafe { A.alloc_zeroed(layout) }
            } else {
                // SAFETY: a non-zero size.
                unsafe { A.alloc(layout) }
            };
            assert!(!p.is_null() && p as usize % align == 0, "{align}: {p:?}");
            // SAFETY: 24 writable bytes.
            unsafe { p.write_bytes(0xA5, 24) };
            let mut size = 24;
            for next in [40usize, 1000, 100_000, 56, 24] {
                // SAFETY: a live block of `size` bytes with this alignment; non-zero size.
                let q =
                    unsafe { A.realloc(p, Layout::from_size_align(size, align).unwrap(), next) };
                assert!(
                    !q.is_null() && q as usize % align == 0,
                    "{align}: {size} -> {next}"
                );
                // SAFETY: the first min(size, next) ≥ 24 bytes were kept.
                assert!(unsafe { core::slice::from_raw_parts(q, 24) }
                    .iter()
                    .all(|&b| b == 0xA5));
                (p, size) = (q, next);
            }
            // SAFETY: a live block of `size` bytes with this alignment, freed once.
            unsafe { A.dealloc(p, Layout::from_size_align(size, align).unwrap()) };
        }
    }
}
