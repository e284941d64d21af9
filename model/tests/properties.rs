//! Property tests: random valid configurations derive plans whose components add up to the
//! totals exactly; random (often invalid) configurations never panic and every error names the
//! key to change.

mod common;

use common::{assert_jm_sums, assert_tm_sums, jm, tm};
use membudget_model::{derive, options, Configuration, MemoryPlan, MemorySize, Role, Source};
use proptest::prelude::*;

fn size_text(bytes: u64, unit: usize) -> String {
    // Express `bytes` in a unit that divides it, in one of Flink's spellings.
    const UNITS: [(&str, u64); 5] = [
        ("b", 1),
        ("k", 1 << 10),
        ("mb", 1 << 20),
        ("g", 1 << 30),
        ("t", 1 << 40),
    ];
    let (name, m) = UNITS[unit % UNITS.len()];
    if bytes % m == 0 {
        format!("{}{name}", bytes / m)
    } else {
        format!("{bytes}")
    }
}

fn fraction_text(f: f32) -> String {
    format!("{f}")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(if cfg!(miri) { 8 } else { 512 }))]

    /// Any process size of 2g..1t with managed/network fractions below 0.5/0.3 is valid, and
    /// the plan adds up exactly.
    #[test]
    fn tm_process_size_plans_add_up(
        process in (2u64 << 30)..(1u64 << 40),
        unit in 0usize..5,
        managed in 0.0f32..0.5,
        network in 0.0f32..0.3,
        overhead in 0.0f32..0.5,
    ) {
        let mut c = Configuration::new();
        c.set("taskmanager.memory.process.size", size_text(process, unit), Source::Dynamic);
        c.set("taskmanager.memory.managed.fraction", fraction_text(managed), Source::Dynamic);
        c.set("taskmanager.memory.network.fraction", fraction_text(network), Source::Dynamic);
        c.set("taskmanager.memory.jvm-overhead.fraction", fraction_text(overhead), Source::Dynamic);
        let p = tm(&c).unwrap();
        prop_assert_eq!(p.total_process_memory, process);
        assert_tm_sums(&p);
        // The derived plan, fed back as Flink's dynamic configs, is a fixed point.
        let mut again: Configuration = Configuration::new();
        for part in p.dynamic_configs().split("-D ").filter(|s| !s.trim().is_empty()) {
            let (k, v) = part.trim().split_once('=').unwrap();
            again.set(k, v, Source::Dynamic);
        }
        let q = tm(&again).unwrap();
        prop_assert_eq!(q.total_process_memory, p.total_process_memory);
        prop_assert_eq!(q.task_heap, p.task_heap);
        prop_assert_eq!(q.network, p.network);
        prop_assert_eq!(q.jvm_overhead, p.jvm_overhead);
    }

    /// Total Flink Memory of 1g..1t always yields a plan whose Flink part is exactly that size.
    #[test]
    fn tm_flink_size_plans_add_up(flink in (1u64 << 30)..(1u64 << 40), managed in 0.0f32..0.6) {
        let mut c = Configuration::new();
        c.set("taskmanager.memory.flink.size", format!("{flink}"), Source::File("conf.yaml".into()));
        c.set("taskmanager.memory.managed.fraction", fraction_text(managed), Source::Dynamic);
        let p = tm(&c).unwrap();
        prop_assert_eq!(p.total_flink_memory, flink);
        assert_tm_sums(&p);
    }

    /// Fine-grained task heap + managed memory always works and the network memory is the
    /// inverse fraction of everything else, capped to its range.
    #[test]
    fn tm_fine_grained_plans_add_up(task_heap in 0u64..(1u64 << 38), managed in 0u64..(1u64 << 38)) {
        let mut c = Configuration::new();
        c.set("taskmanager.memory.task.heap.size", format!("{task_heap}b"), Source::Dynamic);
        c.set("taskmanager.memory.managed.size", format!("{managed}"), Source::Dynamic);
        let p = tm(&c).unwrap();
        prop_assert_eq!(p.task_heap, task_heap);
        prop_assert_eq!(p.managed, managed);
        prop_assert!(p.network >= 64 << 20);
        assert_tm_sums(&p);
    }

    /// JobManager process sizes of 1g..1t are valid and add up.
    #[test]
    fn jm_plans_add_up(process in (1u64 << 30)..(1u64 << 40), unit in 0usize..5, limit: bool) {
        let mut c = Configuration::new();
        c.set("jobmanager.memory.process.size", size_text(process, unit), Source::Dynamic);
        c.set("jobmanager.memory.enable-jvm-direct-memory-limit", limit.to_string(), Source::Dynamic);
        let p = jm(&c).unwrap();
        prop_assert_eq!(p.total_process_memory, process);
        prop_assert_eq!(p.jvm_args().contains("MaxDirectMemorySize"), limit);
        assert_jm_sums(&p);
    }

    /// Random assignments of random (often nonsensical) values to memory keys: no panic; a plan
    /// adds up; an error names at least one key, which also appears in its text.
    #[test]
    fn random_configs_never_panic_and_errors_name_keys(
        role_is_tm: bool,
        entries in proptest::collection::vec((0usize..64, value_strategy()), 0..8),
    ) {
        let keys = options::known_memory_keys();
        let mut c = Configuration::new();
        for (k, v) in entries {
            c.set(keys[k % keys.len()], v, Source::Dynamic);
        }
        let role = if role_is_tm { Role::TaskManager } else { Role::JobManager };
        match derive(role, &c) {
            Ok(MemoryPlan::TaskManager(p)) => assert_tm_sums(&p),
            Ok(MemoryPlan::JobManager(p)) => assert_jm_sums(&p),
            Err(e) => {
                prop_assert!(!e.keys().is_empty(), "no key in {}", e);
                let text = e.to_string();
                // The one line names the key to change (quoted, or in Flink's own
                // parentheses); the verbose layout names every key.
                let first = e.key().unwrap();
                prop_assert!(text.contains(&format!("'{first}'")) || text.contains(&format!("({first}")), "{}", text);
                prop_assert!(!text.contains('\n'), "{}", text);
                let verbose = e.verbose().to_string();
                prop_assert!(e.keys().iter().all(|k| verbose.contains(&format!("'{k}'"))), "{}", verbose);
                prop_assert!(!e.message().is_empty());
            }
        }
    }

    /// `Display` (Flink's `toString`) parses back to the same size.
    #[test]
    fn memory_size_display_round_trips(bytes in 0u64..=(i64::MAX as u64)) {
        let m = MemorySize::new(bytes);
        prop_assert_eq!(MemorySize::parse(&m.to_string()).unwrap(), m);
        let hr = m.to_human_readable();
        if bytes > 1024 {
            let suffix = format!(" ({bytes} bytes)");
            prop_assert!(hr.ends_with(&suffix), "{}", hr);
        } else {
            prop_assert_eq!(hr, format!("{bytes} bytes"));
        }
    }

    /// Parsing arbitrary text never panics.
    #[test]
    fn memory_size_parse_never_panics(s in "\\PC{0,24}") {
        let _ = MemorySize::parse(&s);
    }

    /// Multiplying by a fraction below one never exceeds the base and never overflows.
    #[test]
    fn multiply_by_fraction_is_bounded(bytes in 0u64..=(i64::MAX as u64), f in 0.0f32..1.0) {
        let r = MemorySize::new(bytes).checked_multiply(f64::from(f)).unwrap();
        prop_assert!(r.bytes() <= bytes);
        // Within one part in 2^40 of the floating point product.
        let approx = bytes as f64 * f64::from(f);
        prop_assert!((r.bytes() as f64 - approx).abs() <= approx / (1u64 << 40) as f64 + 1.0);
    }
}

fn value_strategy() -> impl Strategy<Value = String> {
    prop_oneof![
        (0u64..(1u64 << 42)).prop_map(|b| format!("{b}")),
        (0u64..4096, 0usize..5).prop_map(|(n, u)| format!("{n}{}", ["b", "k", "m", "g", "t"][u])),
        (-1.0f32..1.5).prop_map(|f| format!("{f}")),
        prop_oneof![
            Just("true"),
            Just("false"),
            Just("NaN"),
            Just("-1"),
            Just(""),
            Just("1.5g")
        ]
        .prop_map(str::to_owned),
        "[0-9a-z. -]{0,8}",
    ]
}
