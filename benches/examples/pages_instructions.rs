//! Instruction counts of one managed page allocate+release, `MemoryManager::allocate_page` and
//! `PageSource::try_allocate` beside a `Vec<u8>` of the same size (the baselines of
//! `benches/segments.rs`, group `segments/allocate_release/one_32KiB_page`), for callgrind.
//! Each mode's allocate and release are non-inlined functions named `op_*`; callgrind counts
//! only inside them:
//!
//! ```text
//! cargo build --release -p membudget-benches --example pages_instructions
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null --toggle-collect='pages_instructions::op_*' \
//!     target/release/examples/pages_instructions manager 100000
//! ```
//!
//! Divide the reported `Collected` instructions by `n + 1000` (the warm-up included). Modes:
//! `manager` (one owner's page), `source` (a network page source's page), `vec` (a
//! `Vec<u8>` of 32 KiB from the system allocator), `manager64` (64 pages of one owner, allocated
//! and released as lists; divide by 64 for a page).

use membudget_allocator::{Budget, Category, SharedBudget};
use membudget_segments::{MemoryManager, MemorySegment, OwnerId, PageSource, PageSourceConfig};
use std::hint::black_box;

const PAGE: usize = 32 * 1024;

#[inline(never)]
fn op_manager_allocate(mm: &MemoryManager) -> MemorySegment {
    mm.allocate_page(OwnerId(1)).unwrap()
}

#[inline(never)]
fn op_manager_allocate_many(mm: &MemoryManager, n: usize) -> Vec<MemorySegment> {
    mm.allocate_pages(OwnerId(1), n).unwrap()
}

#[inline(never)]
fn op_manager_release_many(mm: &MemoryManager, pages: Vec<MemorySegment>) {
    mm.release_many(pages);
}

#[inline(never)]
fn op_source_allocate(source: &PageSource) -> MemorySegment {
    source.try_allocate().unwrap()
}

#[inline(never)]
fn op_release(page: MemorySegment) {
    drop(page);
}

#[inline(never)]
fn op_vec_allocate() -> Vec<u8> {
    Vec::with_capacity(black_box(PAGE))
}

#[inline(never)]
fn op_vec_release(v: Vec<u8>) {
    drop(v);
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_else(|| "manager".into());
    let n: u64 = args.next().map_or(100_000, |s| s.parse().expect("a count"));
    let budget = SharedBudget::from(Budget::unlimited());
    let mm = MemoryManager::new(256 * PAGE as u64, PAGE, budget.clone()).unwrap();
    let source = PageSource::new(PageSourceConfig::new(PAGE, Category::Network, budget)).unwrap();
    // Chunks mapped and pages resident: steady state, as in the criterion bench.
    drop(mm.allocate_pages(OwnerId(1), 128).unwrap());
    drop(source.try_allocate_many(128).unwrap());
    let rounds = n + 1000;
    match mode.as_str() {
        "manager" => (0..rounds).for_each(|_| op_release(black_box(op_manager_allocate(&mm)))),
        "manager64" => (0..rounds).for_each(|_| {
            op_manager_release_many(&mm, black_box(op_manager_allocate_many(&mm, 64)))
        }),
        "source" => (0..rounds).for_each(|_| op_release(black_box(op_source_allocate(&source)))),
        "vec" => (0..rounds).for_each(|_| op_vec_release(black_box(op_vec_allocate()))),
        other => panic!("unknown mode {other}: manager, manager64, source or vec"),
    }
    assert!(mm.verify_empty());
}
