//! Criterion benchmarks for membudget live in `benches/benches/`, one binary per topic, each
//! measuring membudget side by side with its baselines in the same run.
