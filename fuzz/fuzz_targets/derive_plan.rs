//! Fuzzes the whole derivation with arbitrary key/value maps: never panics; every successful
//! plan satisfies the sum invariants and its JSON matches its fields; every error names a key.
#![no_main]
use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use membudget_allocator::Category;
use membudget_model::{derive, options, Configuration, MemoryPlan, Role, Source};

#[derive(Arbitrary, Debug)]
enum Value {
    Bytes(u64),
    Sized(u32, u8),
    Fraction(f32),
    Int(i32),
    Text(String),
}

impl Value {
    fn text(&self) -> String {
        match self {
            Value::Bytes(b) => b.to_string(),
            Value::Sized(n, u) => format!(
                "{n}{}",
                ["b", "k", "m", "g", "t", "kb", " mb"][*u as usize % 7]
            ),
            Value::Fraction(f) => f.to_string(),
            Value::Int(i) => i.to_string(),
            Value::Text(s) => s.clone(),
        }
    }
}

#[derive(Arbitrary, Debug)]
struct Input {
    jobmanager: bool,
    entries: Vec<(u8, Value)>,
}

fuzz_target!(|input: Input| {
    let keys = options::known_memory_keys();
    let mut config = Configuration::new();
    for (k, v) in &input.entries {
        config.set(keys[*k as usize % keys.len()], v.text(), Source::Dynamic);
    }
    let role = if input.jobmanager {
        Role::JobManager
    } else {
        Role::TaskManager
    };
    match derive(role, &config) {
        Ok(plan) => {
            match &plan {
                MemoryPlan::TaskManager(p) => {
                    assert_eq!(
                        p.total_flink_memory,
                        p.framework_heap
                            + p.task_heap
                            + p.framework_off_heap
                            + p.task_off_heap
                            + p.managed
                            + p.network
                    );
                    assert_eq!(
                        p.total_process_memory,
                        p.total_flink_memory + p.jvm_metaspace + p.jvm_overhead
                    );
                    assert!(p.segment_size >= 4096 && p.segment_size.is_power_of_two());
                    assert_eq!(p.network_buffers, p.network / p.segment_size);
                }
                MemoryPlan::JobManager(p) => {
                    assert_eq!(p.total_flink_memory, p.jvm_heap + p.off_heap);
                    assert_eq!(
                        p.total_process_memory,
                        p.total_flink_memory + p.jvm_metaspace + p.jvm_overhead
                    );
                }
            }
            assert!(plan.total_process_memory() <= i64::MAX as u64);
            let q = plan.quotas();
            let sum: u64 = Category::ALL.iter().map(|c| q.get(*c)).sum();
            assert_eq!(sum, plan.total_process_memory());
            assert_eq!(q.total(), plan.total_process_memory());
            let json = plan.to_json();
            assert_eq!(json["total_process_memory"], plan.total_process_memory());
            assert_eq!(json["categories"]["heap"], q.get(Category::Heap));
        }
        Err(e) => {
            assert!(!e.keys().is_empty(), "error without a key: {e}");
            assert!(!e.message().is_empty());
        }
    }
});
