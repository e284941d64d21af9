//! Criterion benchmarks for membudget-allocator (being built).
fn main() {}
