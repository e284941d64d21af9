//! Instruction counts of one 4 KiB reserve+release, on a flat `Budget` and through a consumer
//! three levels down a child-budget tree, for callgrind (wall-clock ratios are in
//! `benches/child_budgets.rs`; this counts what a round trip executes, free of machine noise).
//! Each mode runs its loop in one non-inlined function; callgrind counts only inside it:
//!
//! ```text
//! cargo build --release -p membudget-benches --example child_instructions
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null --toggle-collect='child_instructions::loop_*' \
//!     target/release/examples/child_instructions child 100000
//! ```
//!
//! Divide the reported `Collected` instructions by the iterations. Modes: `flat`, `child`.

use membudget_allocator::{Budget, Category, ChildLimits, MemoryConsumer, Quotas, SharedBudget};
use std::hint::black_box;

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

fn main() {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_default();
    let n: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(100_000);
    let process = SharedBudget::from(Budget::new(Quotas::unlimited().with(M, 1 << 30)));
    match mode.as_str() {
        "flat" => loop_flat(&process, n),
        "child" => {
            let mut handle = process
                .child("job", ChildLimits::unlimited().with(M, 512 << 20))
                .unwrap();
            for (name, limit) in [("slot", 256 << 20), ("op", 128 << 20)] {
                handle = handle
                    .child(name, ChildLimits::unlimited().with(M, limit))
                    .unwrap();
            }
            loop_child(&handle.consumer("bench"), n);
        }
        _ => {
            eprintln!("usage: child_instructions flat|child [iterations]");
            std::process::exit(2);
        }
    }
}
