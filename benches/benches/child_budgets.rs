//! Child budgets against their baselines, side by side in one run:
//! - `reserve_release_4KiB`: a 4 KiB reservation taken and dropped on a flat isolated `Budget`
//!   (`flat`) and through a consumer three levels down (process → job → slot → operator,
//!   `child_3_levels`), which charges every level's limit;
//! - `alloc_free_64B`: `QuotaAllocator` pairs on a thread with no child budget (`quota`) and
//!   with a three-level child budget entered as the thread's current budget (`child_entered`).
//!
//! `cargo bench -p membudget-benches --bench child_budgets -- --warm-up-time 1 --measurement-time 3`
use criterion::{criterion_main, Criterion};
use membudget_allocator::{
    Budget, Category, ChildLimits, MemoryConsumer, QuotaAllocator, Quotas, SharedBudget,
};
use std::alloc::{GlobalAlloc, Layout};
use std::hint::black_box;

static QUOTA_MIMALLOC: QuotaAllocator = QuotaAllocator::new();

const M: Category = Category::Managed;

/// A consumer three levels below an isolated budget of 1 GiB managed memory, with limits at
/// every level.
fn three_levels(process: &SharedBudget) -> MemoryConsumer {
    let job = process
        .child("job", ChildLimits::unlimited().with(M, 512 << 20))
        .unwrap();
    let slot = job
        .child("slot", ChildLimits::unlimited().with(M, 256 << 20))
        .unwrap();
    let op = slot
        .child("op", ChildLimits::unlimited().with(M, 128 << 20))
        .unwrap();
    op.consumer("bench")
}

fn reserve_release(c: &mut Criterion) {
    let mut g = c.benchmark_group("reserve_release_4KiB");
    let flat = Budget::new(Quotas::unlimited().with(M, 1 << 30));
    g.bench_function("flat", |b| {
        b.iter(|| drop(black_box(flat.try_reserve(M, 4096).unwrap())))
    });
    let process = SharedBudget::from(Budget::new(Quotas::unlimited().with(M, 1 << 30)));
    let consumer = three_levels(&process);
    g.bench_function("child_3_levels", |b| {
        b.iter(|| drop(black_box(consumer.try_reserve(M, 4096).unwrap())))
    });
    g.finish();
}

fn pairs(n: usize) {
    let layout = Layout::from_size_align(64, 8).unwrap();
    for _ in 0..n {
        // SAFETY: non-zero layout.
        let p = unsafe { QUOTA_MIMALLOC.alloc(layout) };
        black_box(p);
        if !p.is_null() {
            // SAFETY: `p` was just allocated by the same allocator with `layout`.
            unsafe { QUOTA_MIMALLOC.dealloc(p, layout) };
        }
    }
}

fn alloc_free(c: &mut Criterion) {
    let mut g = c.benchmark_group("alloc_free_64B");
    pairs(1000); // registers the thread
    g.bench_function("quota", |b| b.iter(|| pairs(1)));
    let process = SharedBudget::from(Budget::new(Quotas::unlimited()));
    let consumer = three_levels(&process);
    let _entered = consumer.budget().enter();
    g.bench_function("child_entered", |b| b.iter(|| pairs(1)));
    g.finish();
}

/// Runs every group (a plain function instead of `criterion_group!`, which generates an
/// undocumented public item).
fn benches() {
    let mut c = Criterion::default().configure_from_args();
    reserve_release(&mut c);
    alloc_free(&mut c);
}

criterion_main!(benches);
