//! Criterion benchmarks for membudget-segments (being built).
fn main() {}
