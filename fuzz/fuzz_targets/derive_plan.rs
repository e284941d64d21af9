//! Fuzzes the whole derivation with arbitrary key/value maps: never panics; every successful
//! plan passes `MemoryPlan::check` (the sum invariants) and its JSON matches its fields; every
//! error names a key.
#![no_main]
use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use membudget_model::{derive, options, Category, Configuration, Role, Source};

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
            if let Err(e) = plan.check() {
                panic!("{e}\n{plan:?}");
            }
            let q = plan.quotas();
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
