//! `membudget bench alloc`: what the exact accounting costs — alloc+free pairs and a
//! cross-thread churn through `QuotaAllocator`, bare mimalloc and the system allocator, in one
//! process.

mod allocators;
mod report;
mod runner;
mod workload;

pub use runner::run;
