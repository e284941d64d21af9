//! Instruction counts of one 4 KiB reserve+release, on a flat `Budget` and through a consumer
//! three levels down a child-budget tree, and of one 64 B `QuotaAllocator` alloc+free without
//! and with that tree's budget entered (the block then charged to it), for callgrind (wall-clock ratios are in
//! `benches/child_budgets.rs`; this counts what a round trip executes, free of machine noise).
//! Each mode runs its loop in one non-inlined function; callgrind counts only inside it:
//!
//! ```text
//! cargo build --release -p membudget-benches --example child_instructions
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null --toggle-collect='child_instructions::loop_*' \
//!     target/release/examples/child_instructions child 100000
//! ```
//!
//! Divide the reported `Collected` instructions by the iterations. Modes: `flat`, `child`,
//! `alloc`, `alloc_entered` (the tree under an isolated budget: the process budget is charged
//! too), `alloc_entered_process` (the tree under the process budget, which its charges are).

use membudget_allocator::{
    Budget, BudgetHandle, Category, ChildLimits, MemoryConsumer, QuotaAllocator, Quotas,
    SharedBudget,
};
use std::alloc::{GlobalAlloc, Layout};
use std::hint::black_box;

static Q: QuotaAllocator = QuotaAllocator::new();

const M: Category = Category::Managed;

#[inline(never)]
fn loop_flat(budget: &Budget, n: u64) {
    for _ in 0..n {
        drop(black_box(budget.try_reserve(M, 4096).unwrap()));
    }
}

#[inline(never)]
fn loop_child(consumer: &MemoryConsumer, n: u64) {
    for _ in 0..n {
        drop(black_box(consumer.try_reserve(M, 4096).unwrap()));
    }
}

#[inline(never)]
fn loop_alloc(n: u64) {
    let layout = Layout::from_size_align(64, 8).unwrap();
    for _ in 0..n {
        // SAFETY: a non-zero layout.
        let p = black_box(unsafe { Q.alloc(layout) });
        // SAFETY: the block just allocated with `layout` (never null here: nothing limits it).
        unsafe { Q.dealloc(p, layout) };
    }
}

/// `job → slot → op` under `process`, with managed limits at every level.
fn three_levels(process: &SharedBudget) -> BudgetHandle {
    let mut handle = process
        .child("job", ChildLimits::unlimited().with(M, 512 << 20))
        .unwrap();
    for (name, limit) in [("slot", 256 << 20), ("op", 128 << 20)] {
        handle = handle
            .child(name, ChildLimits::unlimited().with(M, limit))
            .unwrap();
    }
    handle
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_default();
    let n: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(100_000);
    let process = SharedBudget::from(Budget::new(Quotas::unlimited().with(M, 1 << 30)));
    match mode.as_str() {
        "flat" => loop_flat(&process, n),
        "child" => loop_child(&three_levels(&process).consumer("bench"), n),
        "alloc" => {
            loop_alloc(1000); // registers the thread
            loop_alloc(n);
        }
        "alloc_entered" | "alloc_entered_process" => {
            let root = if mode == "alloc_entered" {
                process
            } else {
                SharedBudget::from(Budget::global())
            };
            let op = three_levels(&root);
            let _entered = op.enter();
            loop_alloc(1000);
            loop_alloc(n);
        }
        _ => {
            eprintln!("usage: child_instructions flat|child|alloc|alloc_entered|alloc_entered_process [iterations]");
            std::process::exit(2);
        }
    }
}
