//! JobManager derivation: the reference's worked examples and Flink's
//! `JobManagerProcessUtilsTest` / `ProcessMemoryUtilsTestBase` cases, ported.

mod common;

use common::*;
use membudget_model::{ConfigErrorKind, JobManagerPlan, Source};

const JVM_HEAP: &str = "1152m";
const TOTAL_FLINK: &str = "1280m";
const TOTAL_PROCESS: &str = "1536m";

const HEAP: &str = "jobmanager.memory.heap.size";
const OFF: &str = "jobmanager.memory.off-heap.size";
const FLINK: &str = "jobmanager.memory.flink.size";
const PROCESS: &str = "jobmanager.memory.process.size";

#[derive(Clone, Copy, Debug)]
enum Base {
    JvmHeap,
    TotalFlink,
    TotalFlinkAndJvmHeap,
    TotalProcess,
}

const ALL: [Base; 4] = [
    Base::JvmHeap,
    Base::TotalFlink,
    Base::TotalFlinkAndJvmHeap,
    Base::TotalProcess,
];

fn base(b: Base) -> Vec<(&'static str, &'static str)> {
    match b {
        Base::JvmHeap => vec![(HEAP, JVM_HEAP)],
        Base::TotalFlink => vec![(FLINK, TOTAL_FLINK)],
        Base::TotalFlinkAndJvmHeap => vec![(FLINK, TOTAL_FLINK), (HEAP, JVM_HEAP)],
        Base::TotalProcess => vec![(PROCESS, TOTAL_PROCESS)],
    }
}

fn validate_in(bases: &[Base], custom: &[(&str, &str)], check: impl Fn(&JobManagerPlan)) {
    for &bb in bases {
        let p = jm(&with(&base(bb), custom)).unwrap_or_else(|e| panic!("{bb:?}: {e}"));
        match bb {
            Base::JvmHeap => assert_eq!(p.jvm_heap, b(JVM_HEAP)),
            Base::TotalFlink => assert_eq!(p.total_flink_memory, b(TOTAL_FLINK)),
            Base::TotalFlinkAndJvmHeap => {
                assert_eq!(p.total_flink_memory, b(TOTAL_FLINK));
                assert_eq!(p.jvm_heap, b(JVM_HEAP));
            }
            Base::TotalProcess => assert_eq!(p.total_process_memory, b(TOTAL_PROCESS)),
        }
        assert_jm_sums(&p);
        check(&p);
    }
}

/// Derives in `bases` with `custom` on top and checks each fails with Flink 1.20's prefix, an
/// inconsistency error whose message contains `expected`, and a key to change.
fn validate_fail_in(bases: &[Base], custom: &[(&str, &str)], expected: &str) {
    for &bb in bases {
        let e =
            jm(&with(&base(bb), custom)).expect_err(&format!("{bb:?} with {custom:?} should fail"));
        assert!(
            e.message()
                .starts_with("JobManager memory configuration failed: "),
            "{e}"
        );
        assert_eq!(
            e.kind(),
            membudget_model::ConfigErrorKind::Inconsistent,
            "{e}"
        );
        assert!(e.verbose().to_string().contains(expected), "{bb:?}: {e}");
        assert!(!e.keys().is_empty(), "{e}");
    }
}

// ----- worked examples -------------------------------------------------------------------------

#[test]
fn worked_process_size_1600m() {
    let p = jm(&conf(&[(PROCESS, "1600m")])).unwrap();
    assert_eq!(p.jvm_heap, 1073741824);
    assert_eq!(p.off_heap, 134217728);
    assert_eq!(p.jvm_metaspace, 268435456);
    assert_eq!(p.jvm_overhead, 201326592);
    assert_eq!(
        p.jvm_args(),
        "-Xmx1073741824 -Xms1073741824 -XX:MaxMetaspaceSize=268435456"
    );
    assert_jm_sums(&p);
}

#[test]
fn worked_process_size_512m_fails() {
    let e = jm(&conf(&[(PROCESS, "512m")])).unwrap_err();
    assert_eq!(
        e.message(),
        "JobManager memory configuration failed: The configured Total Flink Memory (64.000mb (67108864 bytes)) is less than the configured Off-heap Memory (128.000mb (134217728 bytes))."
    );
    assert!(e.keys().iter().any(|k| k == OFF));
    assert!(e.keys().iter().any(|k| k == PROCESS));
}

#[test]
fn direct_memory_limit_adds_max_direct_memory_size() {
    let p = jm(&conf(&[
        (PROCESS, "1600m"),
        ("jobmanager.memory.enable-jvm-direct-memory-limit", "TRUE"),
    ]))
    .unwrap();
    assert_eq!(
        p.jvm_args(),
        "-Xmx1073741824 -Xms1073741824 -XX:MaxDirectMemorySize=134217728 -XX:MaxMetaspaceSize=268435456"
    );
    let e = jm(&conf(&[
        (PROCESS, "1600m"),
        ("jobmanager.memory.enable-jvm-direct-memory-limit", "yes"),
    ]))
    .unwrap_err();
    assert_eq!(
        e.key(),
        Some("jobmanager.memory.enable-jvm-direct-memory-limit")
    );
}

#[test]
fn nothing_set_names_every_option() {
    let e = jm(&conf(&[])).unwrap_err();
    assert_eq!(e.kind(), ConfigErrorKind::MissingRequired);
    assert_eq!(
        e.message(),
        "JobManager memory configuration failed: Either required fine-grained memory (jobmanager.memory.heap.size), or Total Flink Memory size (jobmanager.memory.flink.size), or Total Process Memory size (jobmanager.memory.process.size) need to be configured explicitly."
    );
}

// ----- JobManagerProcessUtilsTest ----------------------------------------------------------

#[test]
fn config_jvm_heap_memory_and_small_heap_warning() {
    let p = jm(&conf(&[(HEAP, "50m")])).unwrap();
    assert_eq!(p.jvm_heap, b("50m"));
    assert!(p.warnings.contains(&"The configured or derived JVM heap memory size (50.000mb (52428800 bytes)) is less than its recommended minimum value (128.000mb (134217728 bytes))".to_owned()), "{:?}", p.warnings);
}

#[test]
fn config_off_heap_memory() {
    validate_in(
        &[Base::JvmHeap, Base::TotalFlink, Base::TotalProcess],
        &[(OFF, "100m")],
        |p| assert_eq!(p.off_heap, b("100m")),
    );
}

#[test]
fn flink_internal_memory_size_add_up_failure() {
    let e = jm(&conf(&[(FLINK, "199m"), (HEAP, "100m"), (OFF, "100m")])).unwrap_err();
    assert_eq!(
        e.message(),
        "JobManager memory configuration failed: Sum of the configured JVM Heap Memory (100.000mb (104857600 bytes)) and the configured Off-heap Memory (100.000mb (104857600 bytes)) does not match the configured Total Flink Memory (199.000mb (208666624 bytes)). Please, make the configuration consistent or configure only one option: either JVM Heap or Total Flink Memory."
    );
}

#[test]
fn heap_plus_off_heap_matching_total_flink_passes() {
    let p = jm(&conf(&[(FLINK, "200m"), (HEAP, "100m"), (OFF, "100m")])).unwrap();
    assert_eq!(p.total_flink_memory, b("200m"));
}

#[test]
fn jvm_heap_exceeds_total_flink_memory_failure() {
    let e = jm(&conf(&[(FLINK, "100m"), (HEAP, "150m")])).unwrap_err();
    assert_eq!(
        e.message(),
        "JobManager memory configuration failed: The configured JVM Heap Memory (150.000mb (157286400 bytes)) exceeds the configured Total Flink Memory (100.000mb (104857600 bytes)). Please, make the configuration consistent or configure only one option: either JVM Heap or Total Flink Memory."
    );
}

#[test]
fn off_heap_derived_from_jvm_heap_and_total_flink_memory() {
    let expected_off = b("100m") + b("128m");
    let total = b("150m") + expected_off;
    let p = jm(&conf(&[(FLINK, &format!("{total}b")), (HEAP, "150m")])).unwrap();
    assert_eq!(p.off_heap, expected_off);
    assert!(p.warnings.contains(&"The Off-Heap Memory size (228.000mb (239075328 bytes)) is derived the configured Total Flink Memory size (378.000mb (396361728 bytes)) minus the configured JVM Heap Memory size (150.000mb (157286400 bytes)). The default Off-Heap Memory size (128.000mb (134217728 bytes)) is ignored.".to_owned()), "{:?}", p.warnings);
}

// ----- ProcessMemoryUtilsTestBase (JobManager side) ------------------------------------------

#[test]
fn config_total_flink_and_process_memory() {
    assert_eq!(
        jm(&conf(&[(FLINK, "1g")])).unwrap().total_flink_memory,
        b("1g")
    );
    assert_eq!(
        jm(&conf(&[(PROCESS, "2g")])).unwrap().total_process_memory,
        b("2g")
    );
}

#[test]
fn config_jvm_metaspace_size() {
    validate_in(
        &ALL,
        &[("jobmanager.memory.jvm-metaspace.size", "50m")],
        |p| assert_eq!(p.jvm_metaspace, b("50m")),
    );
}

#[test]
fn config_jvm_overhead_range() {
    validate_in(
        &ALL,
        &[
            ("jobmanager.memory.jvm-overhead.max", "200m"),
            ("jobmanager.memory.jvm-overhead.min", "50m"),
        ],
        |p| assert!((b("50m")..=b("200m")).contains(&p.jvm_overhead)),
    );
}

#[test]
fn config_jvm_overhead_range_failure() {
    validate_fail_in(
        &ALL,
        &[
            ("jobmanager.memory.jvm-overhead.max", "50m"),
            ("jobmanager.memory.jvm-overhead.min", "200m"),
        ],
        "Inconsistently configured jobmanager.memory.jvm-overhead.fraction (0.10000000149011612) and its min (200.000mb (209715200 bytes)), max (50.000mb (52428800 bytes)) value",
    );
}

#[test]
fn config_jvm_overhead_fraction() {
    validate_in(
        &ALL,
        &[
            ("jobmanager.memory.jvm-overhead.max", "1t"),
            ("jobmanager.memory.jvm-overhead.min", "0"),
            ("jobmanager.memory.jvm-overhead.fraction", "0.2"),
        ],
        |p| assert_eq!(p.jvm_overhead, mul(p.total_process_memory, 0.2)),
    );
}

#[test]
fn config_jvm_overhead_fraction_failures() {
    for f in ["-0.1", "1.0", "NaN"] {
        validate_fail_in(
            &ALL,
            &[("jobmanager.memory.jvm-overhead.fraction", f)],
            "Inconsistently configured jobmanager.memory.jvm-overhead.fraction (",
        );
    }
}

#[test]
fn config_jvm_overhead_derive_from_process_and_flink_memory_size() {
    let mut pairs = vec![
        (PROCESS, "1000m"),
        (FLINK, "800m"),
        ("jobmanager.memory.jvm-metaspace.size", "100m"),
        ("jobmanager.memory.jvm-overhead.min", "50m"),
        ("jobmanager.memory.jvm-overhead.max", "200m"),
        ("jobmanager.memory.jvm-overhead.fraction", "0.5"),
    ];
    assert_eq!(jm(&conf(&pairs)).unwrap().jvm_overhead, b("100m"));
    pairs[3] = ("jobmanager.memory.jvm-overhead.min", "150m");
    let e = jm(&conf(&pairs)).unwrap_err();
    assert_eq!(
        e.message(),
        "JobManager memory configuration failed: Derived JVM Overhead size (100.000mb (104857600 bytes)) is not in configured JVM Overhead range [150.000mb (157286400 bytes), 200.000mb (209715200 bytes)]."
    );
}

#[test]
fn config_legacy_heap_size_mb_and_env() {
    for (key, value, source) in [
        ("jobmanager.heap.size", "1g", Source::Dynamic),
        ("jobmanager.heap.mb", "1024", Source::Dynamic),
        (
            "jobmanager.heap.size",
            "1g",
            Source::Env("FLINK_JM_HEAP".into()),
        ),
    ] {
        let mut c = conf(&[]);
        c.set(key, value, source.clone());
        let p = jm(&c).unwrap();
        assert_eq!(p.jvm_heap, b("1g"), "{key}");
        assert_eq!(p.sources.get(HEAP), Some(&source));
    }
}

#[test]
fn config_both_new_option_and_legacy_heap_size() {
    let p = jm(&conf(&[(HEAP, "1g"), ("jobmanager.heap.size", "2g")])).unwrap();
    assert_eq!(p.jvm_heap, b("1g"));
}

#[test]
fn legacy_heap_errors_are_prefixed() {
    let e = jm(&conf(&[("jobmanager.heap.mb", "-5")])).unwrap_err();
    assert_eq!(
        e.message(),
        "JobManager memory configuration failed: Configured total process memory size (-5MB) must not be less than 0."
    );
}

#[test]
fn config_total_process_memory_add_up_failure() {
    jm(&conf(&[
        (PROCESS, "699m"),
        (FLINK, "500m"),
        ("jobmanager.memory.jvm-metaspace.size", "100m"),
        ("jobmanager.memory.jvm-overhead.min", "100m"),
        ("jobmanager.memory.jvm-overhead.max", "100m"),
    ]))
    .unwrap_err();
}

#[test]
fn derived_total_process_greater_than_configured() {
    // Fine-grained: heap = 75m, off-heap = 75m (Flink's configWithFineGrainedOptions).
    let half = format!("{}b", b("150m") / 2);
    let e = jm(&conf(&[
        ("jobmanager.memory.jvm-metaspace.size", "100m"),
        (PROCESS, "200m"),
        (HEAP, &half),
        (OFF, &half),
    ]))
    .unwrap_err();
    assert_eq!(
        e.message(),
        "JobManager memory configuration failed: The configured Total Process Memory size (200.000mb (209715200 bytes)) is less than the sum of the derived Total Flink Memory size (150.000mb (157286400 bytes)) and the configured or default JVM Metaspace size (100.000mb (104857600 bytes))."
    );
    let e = jm(&conf(&[
        ("jobmanager.memory.jvm-metaspace.size", "100m"),
        (PROCESS, "200m"),
        (FLINK, "150m"),
    ]))
    .unwrap_err();
    assert!(e.message().contains("is less than the sum of the derived"));
}

#[test]
fn process_size_4g_matches_a_real_flink_log() {
    // "Final Master Memory configuration" of a Flink JobManager with 4g.
    let p = jm(&conf(&[(PROCESS, "4096m")])).unwrap();
    assert_eq!(p.total_flink_memory, 3597035104);
    assert_eq!(p.jvm_heap, 3462817376);
    assert_eq!(p.off_heap, 134217728);
    assert_eq!(p.jvm_overhead, 429496736);
}

#[test]
fn process_and_flink_size_match_a_real_flink_log() {
    // A Flink 1.11 "Final Master Memory configuration" with 2g process and 1280m Flink memory.
    let p = jm(&conf(&[(PROCESS, "2g"), (FLINK, "1280m")])).unwrap();
    assert_eq!(p.jvm_heap, 1207959552);
    assert_eq!(p.off_heap, 134217728);
    assert_eq!(p.jvm_overhead, 536870912);
}
