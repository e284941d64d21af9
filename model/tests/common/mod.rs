//! Helpers shared by the derivation tests.
#![allow(dead_code)]

use membudget_model::{
    derive, ConfigError, Configuration, JobManagerPlan, MemoryPlan, MemorySize, Role,
    TaskManagerPlan,
};

/// Bytes of a Flink size string.
pub fn b(s: &str) -> u64 {
    MemorySize::parse(s).unwrap().bytes()
}

/// A configuration of `-D` pairs.
pub fn conf(pairs: &[(&str, &str)]) -> Configuration {
    pairs.iter().copied().collect()
}

/// `base` with `custom` added on top (Flink's `config.addAll(customConfig)`).
pub fn with(base: &[(&str, &str)], custom: &[(&str, &str)]) -> Configuration {
    let mut c = conf(base);
    for (k, v) in custom {
        c.set(*k, *v, membudget_model::Source::Dynamic);
    }
    c
}

pub fn tm(c: &Configuration) -> Result<TaskManagerPlan, ConfigError> {
    derive(Role::TaskManager, c).map(|p| match p {
        MemoryPlan::TaskManager(p) => p,
        MemoryPlan::JobManager(_) => unreachable!(),
    })
}

pub fn jm(c: &Configuration) -> Result<JobManagerPlan, ConfigError> {
    derive(Role::JobManager, c).map(|p| match p {
        MemoryPlan::JobManager(p) => p,
        MemoryPlan::TaskManager(_) => unreachable!(),
    })
}

/// Flink's `MemorySize.multiply(float)` for expectations.
pub fn mul(bytes: u64, fraction: f32) -> u64 {
    MemorySize::new(bytes)
        .checked_multiply(f64::from(fraction))
        .unwrap()
        .bytes()
}

/// Every sum invariant of a TaskManager plan ([`MemoryPlan::check`]).
pub fn assert_tm_sums(p: &TaskManagerPlan) {
    if let Err(e) = MemoryPlan::TaskManager(p.clone()).check() {
        panic!("{e}\n{p:?}");
    }
}

/// Every sum invariant of a JobManager plan ([`MemoryPlan::check`]).
pub fn assert_jm_sums(p: &JobManagerPlan) {
    if let Err(e) = MemoryPlan::JobManager(p.clone()).check() {
        panic!("{e}\n{p:?}");
    }
}
