//! One managed page allocated and released beside a `Vec<u8>` of the same 32 KiB, in a process
//! that has started a thread — as every stream processor has.
//!
//! glibc's `malloc` skips its arena lock until a process starts its first thread, and criterion
//! runs a bench on the main thread alone: the `Vec<u8>` baseline of `--bench segments`
//! (`segments/allocate_release/one_32KiB_page`) is that single-threaded fast path. A process
//! never goes back to it once a thread was started, so this comparison runs in a binary of its
//! own (started threads would change every group after it).
//!
//! `cargo bench -p membudget-benches --bench pages_threaded_process -- --warm-up-time 1 --measurement-time 3`

use criterion::{black_box, criterion_main, Criterion, Throughput};
use membudget_allocator::{Budget, SharedBudget};
use membudget_segments::{MemoryManager, OwnerId};

const PAGE: usize = 32 * 1024;

fn allocate_release(c: &mut Criterion) {
    std::thread::spawn(|| ())
        .join()
        .expect("a thread that does nothing");
    let mm = MemoryManager::new(
        256 * PAGE as u64,
        PAGE,
        SharedBudget::from(Budget::unlimited()),
    )
    .unwrap();
    // Chunks mapped and pages resident: steady state, as in `--bench segments`.
    drop(mm.allocate_pages(OwnerId(1), 128).unwrap());
    let mut g = c.benchmark_group("segments/allocate_release/one_32KiB_page_threaded_process");
    g.throughput(Throughput::Elements(1));
    g.bench_function("MemoryManager::allocate_page", |b| {
        b.iter(|| drop(black_box(mm.allocate_page(OwnerId(1)).unwrap())))
    });
    g.bench_function("Vec<u8>", |b| {
        b.iter(|| drop(black_box(Vec::<u8>::with_capacity(black_box(PAGE)))))
    });
    g.finish();
}

/// Runs the group (a plain function instead of `criterion_group!`, which generates an
/// undocumented public item).
fn benches() {
    let mut c = Criterion::default().configure_from_args();
    allocate_release(&mut c);
}

criterion_main!(benches);
