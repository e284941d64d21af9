//! Criterion benchmarks for membudget-ffi (being built).
fn main() {}
