//! Criterion benchmarks for membudget-bufferpool (being built).
fn main() {}
