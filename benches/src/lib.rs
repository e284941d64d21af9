//! Criterion benchmarks for membudget live in `benches/benches/`, one binary per topic, each
//! measuring membudget side by side with its baselines in the same run. This library holds what
//! several of them share: bare mimalloc as a `GlobalAlloc` (the baseline of the allocator
//! benches), the workloads the `alloc_shim_*` examples run under a `#[global_allocator]` for
//! `benches/callgrind-alloc.sh`, and [`Ratios`], which prints a bench's target ratios from the
//! medians of its own run.

pub mod alloc_workloads;
mod bare_mimalloc;
mod ratios;

pub use bare_mimalloc::BareMimalloc;
pub use ratios::Ratios;
