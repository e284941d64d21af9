//! TaskManager derivation: the reference's worked examples and Flink's
//! `TaskExecutorProcessUtilsTest` / `ProcessMemoryUtilsTestBase` cases, ported.

mod common;

use common::*;
use membudget_model::{ConfigErrorKind, CpuCores};

const TASK_HEAP: &str = "100m";
const MANAGED: &str = "200m";
const TOTAL_FLINK: &str = "1280m";
const TOTAL_PROCESS: &str = "1536m";

const TH: &str = "taskmanager.memory.task.heap.size";
const MAN: &str = "taskmanager.memory.managed.size";
const FLINK: &str = "taskmanager.memory.flink.size";
const PROCESS: &str = "taskmanager.memory.process.size";

/// The five base configurations of Flink's test (`validateInAllConfigurations`).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Base {
    TaskHeapAndManaged,
    TotalFlink,
    TotalFlinkAndTaskHeap,
    TotalFlinkAndManaged,
    TotalProcess,
}

const ALL: [Base; 5] = [
    Base::TaskHeapAndManaged,
    Base::TotalFlink,
    Base::TotalFlinkAndTaskHeap,
    Base::TotalFlinkAndManaged,
    Base::TotalProcess,
];
const WITHOUT_EXPLICIT_TASK_HEAP: [Base; 3] = [
    Base::TotalFlink,
    Base::TotalFlinkAndManaged,
    Base::TotalProcess,
];
const WITHOUT_EXPLICIT_MANAGED: [Base; 3] = [
    Base::TotalFlink,
    Base::TotalFlinkAndTaskHeap,
    Base::TotalProcess,
];

fn base(b: Base) -> Vec<(&'static str, &'static str)> {
    match b {
        Base::TaskHeapAndManaged => vec![(TH, TASK_HEAP), (MAN, MANAGED)],
        Base::TotalFlink => vec![(FLINK, TOTAL_FLINK)],
        Base::TotalFlinkAndTaskHeap => vec![(FLINK, TOTAL_FLINK), (TH, TASK_HEAP)],
        Base::TotalFlinkAndManaged => vec![(FLINK, TOTAL_FLINK), (MAN, MANAGED)],
        Base::TotalProcess => vec![(PROCESS, TOTAL_PROCESS)],
    }
}

/// Derives in `bases` with `custom` on top, checks the base's own values and the sums, then
/// runs `check`.
fn validate_in(
    bases: &[Base],
    custom: &[(&str, &str)],
    check: impl Fn(&membudget_model::TaskManagerPlan),
) {
    for &bb in bases {
        let p = tm(&with(&base(bb), custom)).unwrap_or_else(|e| panic!("{bb:?}: {e}"));
        match bb {
            Base::TaskHeapAndManaged => {
                assert_eq!(p.task_heap, b(TASK_HEAP));
                assert_eq!(p.managed, b(MANAGED));
            }
            Base::TotalFlink => assert_eq!(p.total_flink_memory, b(TOTAL_FLINK)),
            Base::TotalFlinkAndTaskHeap => {
                assert_eq!(p.total_flink_memory, b(TOTAL_FLINK));
                assert_eq!(p.task_heap, b(TASK_HEAP));
            }
            Base::TotalFlinkAndManaged => {
                assert_eq!(p.total_flink_memory, b(TOTAL_FLINK));
                assert_eq!(p.managed, b(MANAGED));
            }
            Base::TotalProcess => assert_eq!(p.total_process_memory, b(TOTAL_PROCESS)),
        }
        assert_tm_sums(&p);
        check(&p);
    }
}

/// Derives in `bases` with `custom` on top and checks each fails with Flink's prefix, an error
/// of `kind` whose message contains `expected`, and at least one key to change.
fn validate_fail_in(
    bases: &[Base],
    custom: &[(&str, &str)],
    kind: ConfigErrorKind,
    expected: &str,
) {
    for &bb in bases {
        let r = tm(&with(&base(bb), custom));
        let e = r.expect_err(&format!("{bb:?} with {custom:?} should fail"));
        assert!(
            e.message()
                .starts_with("TaskManager memory configuration failed: "),
            "{e}"
        );
        assert_eq!(e.kind(), kind, "{bb:?}: {e}");
        // Flink's texts (message and "Caused by" chain) hold the expected text.
        assert!(e.verbose().to_string().contains(expected), "{bb:?}: {e}");
        assert!(!e.keys().is_empty(), "{e}");
    }
}

// ----- worked examples of the reference ------------------------------------------------------

#[test]
fn worked_flink_size_1280m() {
    let p = tm(&conf(&[(FLINK, "1280m")])).unwrap();
    assert_eq!(p.managed, 536870920);
    assert_eq!(p.network, 134217730);
    assert_eq!(p.task_heap, 402653174);
    assert_eq!(p.jvm_overhead, 201326592);
    assert_eq!(p.total_process_memory, 1811939328);
    assert_eq!(p.network_buffers, 4096);
    assert_eq!(
        p.jvm_args(),
        "-Xmx536870902 -Xms536870902 -XX:MaxDirectMemorySize=268435458 -XX:MaxMetaspaceSize=268435456"
    );
    assert_tm_sums(&p);
}

#[test]
fn worked_process_size_1536m() {
    let p = tm(&conf(&[(PROCESS, "1536m")])).unwrap();
    assert_eq!(p.jvm_overhead, 201326592);
    assert_eq!(p.total_flink_memory, 1140850688);
    assert_eq!(p.managed, 456340282);
    assert_eq!(p.network, 114085070);
    assert_eq!(p.task_heap, 301989880);
    assert_tm_sums(&p);
}

#[test]
fn worked_fine_grained() {
    let p = tm(&conf(&[(TH, "100m"), (MAN, "200m")])).unwrap();
    assert_eq!(p.network, 67108864);
    assert_eq!(p.total_flink_memory, 650117120);
    assert_eq!(p.jvm_overhead, 201326592);
    assert_eq!(p.total_process_memory, 1119879168);
    assert_tm_sums(&p);
}

#[test]
fn worked_managed_fraction() {
    let p = tm(&conf(&[
        (FLINK, "1280m"),
        ("taskmanager.memory.managed.fraction", "0.5"),
    ]))
    .unwrap();
    assert_eq!(p.managed, 671088640);
    assert_eq!(p.task_heap, 268435454);
}

#[test]
fn worked_overhead_out_of_range() {
    let e = tm(&conf(&[
        (PROCESS, "1000m"),
        (FLINK, "800m"),
        ("taskmanager.memory.jvm-metaspace.size", "100m"),
        ("taskmanager.memory.jvm-overhead.min", "150m"),
        ("taskmanager.memory.jvm-overhead.max", "200m"),
        ("taskmanager.memory.jvm-overhead.fraction", "0.5"),
    ]))
    .unwrap_err();
    assert_eq!(
        e.message(),
        "TaskManager memory configuration failed: Derived JVM Overhead size (100.000mb (104857600 bytes)) is not in configured JVM Overhead range [150.000mb (157286400 bytes), 200.000mb (209715200 bytes)]."
    );
    assert!(e
        .keys()
        .iter()
        .any(|k| k == "taskmanager.memory.jvm-overhead.min"));
}

#[test]
fn worked_nothing_set() {
    let e = tm(&conf(&[])).unwrap_err();
    assert_eq!(e.kind(), ConfigErrorKind::MissingRequired);
    assert_eq!(
        e.message(),
        "TaskManager memory configuration failed: Either required fine-grained memory (taskmanager.memory.task.heap.size and taskmanager.memory.managed.size), or Total Flink Memory size (taskmanager.memory.flink.size), or Total Process Memory size (taskmanager.memory.process.size) need to be configured explicitly."
    );
    for k in [TH, MAN, FLINK, PROCESS] {
        assert!(e.keys().iter().any(|x| x == k), "{k}");
    }
}

#[test]
fn dynamic_configs_pin_every_component() {
    let p = tm(&conf(&[(FLINK, "1280m")])).unwrap();
    // BashJavaUtils' output for the same input (Flink 1.20.3, 2.1.1).
    assert_eq!(
        p.dynamic_configs(),
        "-D taskmanager.memory.network.min=134217730b -D taskmanager.cpu.cores=1.0 \
         -D taskmanager.memory.task.off-heap.size=0b \
         -D taskmanager.memory.jvm-metaspace.size=268435456b -D external-resources=none \
         -D taskmanager.memory.jvm-overhead.min=201326592b \
         -D taskmanager.memory.framework.off-heap.size=134217728b \
         -D taskmanager.memory.network.max=134217730b \
         -D taskmanager.memory.framework.heap.size=134217728b \
         -D taskmanager.memory.managed.size=536870920b \
         -D taskmanager.memory.task.heap.size=402653174b -D taskmanager.numberOfTaskSlots=1 \
         -D taskmanager.memory.jvm-overhead.max=201326592b"
    );
    // Feeding the dynamic configs back reproduces the plan exactly.
    let pairs: Vec<(String, String)> = p
        .dynamic_configs()
        .split("-D ")
        .filter(|s| !s.trim().is_empty())
        .map(|s| {
            let (k, v) = s.trim().split_once('=').unwrap();
            (k.to_owned(), v.to_owned())
        })
        .collect();
    let again = tm(&pairs.into_iter().collect()).unwrap();
    assert_eq!(again.total_process_memory, p.total_process_memory);
    assert_eq!(again.task_heap, p.task_heap);
    assert_eq!(again.network, p.network);
}

// ----- TaskExecutorProcessUtilsTest ----------------------------------------------------------

#[test]
fn config_framework_heap_memory() {
    validate_in(
        &ALL,
        &[("taskmanager.memory.framework.heap.size", "100m")],
        |p| assert_eq!(p.framework_heap, b("100m")),
    );
}

#[test]
fn config_framework_off_heap_memory() {
    validate_in(
        &ALL,
        &[("taskmanager.memory.framework.off-heap.size", "10m")],
        |p| assert_eq!(p.framework_off_heap, b("10m")),
    );
}

#[test]
fn config_task_heap_memory() {
    validate_in(&WITHOUT_EXPLICIT_TASK_HEAP, &[(TH, "50m")], |p| {
        assert_eq!(p.task_heap, b("50m"))
    });
}

#[test]
fn config_task_off_heap_memory() {
    validate_in(
        &ALL,
        &[("taskmanager.memory.task.off-heap.size", "50m")],
        |p| assert_eq!(p.task_off_heap, b("50m")),
    );
}

#[test]
fn config_network_memory_range() {
    validate_in(
        &ALL,
        &[
            ("taskmanager.memory.network.max", "500m"),
            ("taskmanager.memory.network.min", "200m"),
        ],
        |p| assert!((b("200m")..=b("500m")).contains(&p.network)),
    );
}

#[test]
fn derived_network_within_range_not_matching_fraction_passes_with_warning() {
    // Flink's setupConfigWithFlinkAndTaskHeapToDeriveGivenNetworkMem(400): 1280m flink, 200m
    // managed, task heap raised to 424m leaves 400m network.
    let p = tm(&conf(&[
        (FLINK, "1280m"),
        (TH, "424m"),
        (MAN, "200m"),
        ("taskmanager.memory.network.fraction", "0.001"),
    ]))
    .unwrap();
    assert_eq!(p.network, b("400m"));
    assert!(
        p.warnings
            .iter()
            .any(|w| w.starts_with("The derived Network Memory size (400.000mb (419430400 bytes)) does not match the configured Network Memory fraction (0.0010000000474974513)")),
        "{:?}",
        p.warnings
    );
}

#[test]
fn derived_network_less_than_min_fails() {
    let e = tm(&conf(&[
        (FLINK, "1280m"),
        (TH, "324m"),
        (MAN, "200m"),
        ("taskmanager.memory.network.min", "900m"),
        ("taskmanager.memory.network.max", "1000m"),
    ]))
    .unwrap_err();
    assert_eq!(
        e.message(),
        "TaskManager memory configuration failed: If Total Flink, Task Heap and (or) Managed Memory sizes are explicitly configured then the Network Memory size is the rest of the Total Flink memory after subtracting all other configured types of memory, but the derived Network Memory is inconsistent with its configuration."
    );
    assert_eq!(
        e.causes()[0],
        "Derived Network Memory size (500.000mb (524288000 bytes)) is not in configured Network Memory range [900.000mb (943718400 bytes), 1000.000mb (1048576000 bytes)]."
    );
    // Flink's "Caused by" chain is the verbose layout; the default is one line that still
    // carries the innermost cause.
    assert!(e
        .verbose()
        .to_string()
        .contains("\nCaused by: Derived Network Memory size"));
    assert!(!e.to_string().contains('\n'));
    assert!(e
        .to_string()
        .contains("Derived Network Memory size (500.000mb"));
}

#[test]
fn derived_network_greater_than_max_fails() {
    let e = tm(&conf(&[
        (FLINK, "1280m"),
        (TH, "324m"),
        (MAN, "200m"),
        ("taskmanager.memory.network.min", "100m"),
        ("taskmanager.memory.network.max", "150m"),
    ]))
    .unwrap_err();
    assert!(e.causes()[0].contains("is not in configured Network Memory range"));
}

#[test]
fn derived_network_not_matching_legacy_buffers_fails() {
    // 10 buffers of 16m = 160m, but the rest of Total Flink Memory is 176m.
    let e = tm(&conf(&[
        (FLINK, "1280m"),
        (TH, "648m"),
        (MAN, "200m"),
        ("taskmanager.memory.segment-size", "16m"),
        ("taskmanager.network.numberOfBuffers", "10"),
    ]))
    .unwrap_err();
    assert_eq!(
        e.causes()[0],
        "Derived Network Memory size (176.000mb (184549376 bytes)) does not match configured Network Memory size (160.000mb (167772160 bytes))."
    );
}

#[test]
fn config_network_memory_range_failure() {
    validate_fail_in(
        &ALL,
        &[
            ("taskmanager.memory.network.max", "50m"),
            ("taskmanager.memory.network.min", "200m"),
        ],
        ConfigErrorKind::Inconsistent,
        "Inconsistently configured taskmanager.memory.network.fraction (0.10000000149011612) and its min (200.000mb (209715200 bytes)), max (50.000mb (52428800 bytes)) value",
    );
    let e = tm(&with(
        &base(Base::TotalFlink),
        &[
            ("taskmanager.memory.network.max", "50m"),
            ("taskmanager.memory.network.min", "200m"),
        ],
    ))
    .unwrap_err();
    assert_eq!(
        e.message(),
        "TaskManager memory configuration failed: Inconsistently configured taskmanager.memory.network.fraction (0.10000000149011612) and its min (200.000mb (209715200 bytes)), max (50.000mb (52428800 bytes)) value"
    );
}

#[test]
fn config_network_memory_fraction() {
    validate_in(
        &[Base::TaskHeapAndManaged],
        &[
            ("taskmanager.memory.network.max", "1t"),
            ("taskmanager.memory.network.min", "0"),
            ("taskmanager.memory.network.fraction", "0.2"),
        ],
        |p| assert_eq!(p.network, mul(p.total_flink_memory, 0.2)),
    );
}

#[test]
fn config_network_memory_fraction_failure() {
    for f in ["-0.1", "1.0"] {
        validate_fail_in(
            &ALL,
            &[("taskmanager.memory.network.fraction", f)],
            ConfigErrorKind::Inconsistent,
            "Inconsistently configured taskmanager.memory.network.fraction (",
        );
    }
}

#[test]
fn config_network_memory_legacy_range_fraction() {
    validate_in(
        &ALL,
        &[
            ("taskmanager.network.memory.min", "200m"),
            ("taskmanager.network.memory.max", "500m"),
        ],
        |p| {
            assert!((b("200m")..=b("500m")).contains(&p.network));
            assert!(p.warnings.iter().any(
                |w| w.contains("deprecated configuration key 'taskmanager.network.memory.min'")
            ));
        },
    );
    validate_in(
        &[Base::TaskHeapAndManaged],
        &[
            ("taskmanager.network.memory.min", "0m"),
            ("taskmanager.network.memory.max", "1t"),
            ("taskmanager.network.memory.fraction", "0.2"),
        ],
        |p| assert_eq!(p.network, mul(p.total_flink_memory, 0.2)),
    );
}

#[test]
fn config_network_memory_legacy_num_of_buffers() {
    let custom = [
        ("taskmanager.memory.segment-size", "32k"),
        ("taskmanager.network.numberOfBuffers", "1024"),
    ];
    let check = |p: &membudget_model::TaskManagerPlan| {
        assert_eq!(p.network, 32 * 1024 * 1024);
        assert_eq!(p.network_buffers, 1024);
    };
    validate_in(&[Base::TaskHeapAndManaged], &custom, check);
    validate_in(&WITHOUT_EXPLICIT_TASK_HEAP, &custom, check);
}

#[test]
fn legacy_buffers_ignored_when_new_network_option_set() {
    let p = tm(&conf(&[
        (FLINK, "1280m"),
        ("taskmanager.network.numberOfBuffers", "1024"),
        ("taskmanager.memory.network.min", "64m"),
    ]))
    .unwrap();
    assert_eq!(p.network, 134217730);
}

#[test]
fn config_managed_memory_size() {
    validate_in(&WITHOUT_EXPLICIT_MANAGED, &[(MAN, "100m")], |p| {
        assert_eq!(p.managed, b("100m"))
    });
}

#[test]
fn config_managed_memory_legacy_size() {
    validate_in(
        &WITHOUT_EXPLICIT_MANAGED,
        &[("taskmanager.memory.size", "100m")],
        |p| {
            assert_eq!(p.managed, b("100m"));
            assert_eq!(p.sources.get(MAN), Some(&membudget_model::Source::Dynamic));
        },
    );
}

#[test]
fn deprecated_managed_key_selects_fine_grained_path() {
    let p = tm(&conf(&[(TH, "100m"), ("taskmanager.memory.size", "200m")])).unwrap();
    assert_eq!(p.total_flink_memory, 650117120);
}

#[test]
fn config_managed_memory_fraction() {
    validate_in(
        &WITHOUT_EXPLICIT_MANAGED,
        &[("taskmanager.memory.managed.fraction", "0.5")],
        |p| assert_eq!(p.managed, mul(p.total_flink_memory, 0.5)),
    );
}

#[test]
fn config_managed_memory_fraction_failure() {
    for f in ["-0.1", "1.0"] {
        validate_fail_in(
            &WITHOUT_EXPLICIT_MANAGED,
            &[("taskmanager.memory.managed.fraction", f)],
            ConfigErrorKind::Inconsistent,
            "Inconsistently configured taskmanager.memory.managed.fraction (",
        );
    }
    let e = tm(&conf(&[
        (FLINK, "1g"),
        ("taskmanager.memory.managed.fraction", "-0.1"),
    ]))
    .unwrap_err();
    assert_eq!(
        e.message(),
        "TaskManager memory configuration failed: Inconsistently configured taskmanager.memory.managed.fraction (-0.10000000149011612) and its min (0 bytes), max (8388608.000tb (9223372036854775807 bytes)) value"
    );
    assert_eq!(e.key(), Some("taskmanager.memory.managed.fraction"));
}

#[test]
fn flink_internal_memory_size_add_up_failure() {
    let e = tm(&conf(&[
        (FLINK, "499m"),
        ("taskmanager.memory.framework.heap.size", "100m"),
        (TH, "100m"),
        ("taskmanager.memory.task.off-heap.size", "100m"),
        ("taskmanager.memory.network.min", "100m"),
        ("taskmanager.memory.network.max", "100m"),
        (MAN, "100m"),
    ]))
    .unwrap_err();
    assert_eq!(
        e.message(),
        "TaskManager memory configuration failed: Sum of configured Framework Heap Memory (100.000mb (104857600 bytes)), Framework Off-Heap Memory (128.000mb (134217728 bytes)), Task Heap Memory (100.000mb (104857600 bytes)), Task Off-Heap Memory (100.000mb (104857600 bytes)) and Managed Memory (100.000mb (104857600 bytes)) exceed configured Total Flink Memory (499.000mb (523239424 bytes))."
    );
}

#[test]
fn flink_internal_memory_fraction_add_up_failure() {
    let custom = [
        ("taskmanager.memory.network.fraction", "0.6"),
        ("taskmanager.memory.managed.fraction", "0.6"),
    ];
    validate_fail_in(
        &[Base::TotalFlink, Base::TotalProcess],
        &custom,
        ConfigErrorKind::Inconsistent,
        "and Network Memory (",
    );
    let e = tm(&with(&base(Base::TotalFlink), &custom)).unwrap_err();
    assert!(e.message().starts_with(
        "TaskManager memory configuration failed: Sum of configured Framework Heap Memory (128.000mb (134217728 bytes)), Framework Off-Heap Memory (128.000mb (134217728 bytes)), Task Off-Heap Memory (0 bytes), Managed Memory ("
    ));
    assert!(
        e.message()
            .ends_with("exceed configured Total Flink Memory (1.250gb (1342177280 bytes))."),
        "{e}"
    );
}

#[test]
fn config_total_process_memory_legacy_size() {
    let p = tm(&conf(&[(PROCESS, "2g")])).unwrap();
    assert_eq!(p.total_process_memory, b("2g"));
}

#[test]
fn negative_cpu_cores_fail_in_all_configurations() {
    let cores = "TaskExecutors need to be started with a positive number of CPU cores. Please configure taskmanager.cpu.cores accordingly.";
    for custom in [
        ("taskmanager.cpu.cores", "-0.1"),
        ("taskmanager.cpu.cores", "0"),
        ("taskmanager.cpu.cores", "-Infinity"),
        ("taskmanager.numberOfTaskSlots", "0"),
    ] {
        validate_fail_in(&ALL, &[custom], ConfigErrorKind::InvalidValue, cores);
    }
}

/// Flink's `testConfigCpuCores`: configured cores are the TaskExecutor's cores.
#[test]
fn config_cpu_cores() {
    validate_in(&ALL, &[("taskmanager.cpu.cores", "1.0")], |p| {
        assert_eq!(p.cpu_cores, CpuCores::new(1.0).unwrap())
    });
    validate_in(
        &ALL,
        &[
            ("taskmanager.cpu.cores", "2.5"),
            ("taskmanager.numberOfTaskSlots", "3"),
        ],
        |p| {
            assert_eq!(p.cpu_cores, CpuCores::new(2.5).unwrap());
            assert_eq!(p.num_task_slots, 3);
        },
    );
}

/// Flink's `testConfigNoCpuCores`: without `taskmanager.cpu.cores`, the slots are the cores.
#[test]
fn config_no_cpu_cores() {
    validate_in(&ALL, &[("taskmanager.numberOfTaskSlots", "3")], |p| {
        assert_eq!(p.cpu_cores, CpuCores::new(3.0).unwrap());
        assert_eq!(p.num_task_slots, 3);
    });
}

/// `CPUResource` rejects NaN and infinite cores (`BigDecimal.valueOf` throws a
/// `NumberFormatException`, which Flink does not prefix), as Flink 1.20 and 2.1 print.
#[test]
fn non_finite_cpu_cores_fail_as_in_flink() {
    for (value, first) in [("NaN", 'N'), ("Infinity", 'I'), (" Infinity ", 'I')] {
        let e = tm(&with(
            &base(Base::TotalProcess),
            &[("taskmanager.cpu.cores", value)],
        ))
        .unwrap_err();
        assert_eq!(e.kind(), ConfigErrorKind::InvalidValue);
        assert_eq!(
            e.message(),
            format!("Character {first} is neither a decimal digit number, decimal point, nor \"e\" notation exponential mark.")
        );
        assert_eq!(e.key(), Some("taskmanager.cpu.cores"));
    }
    // Java's number syntax: a hexadecimal double is a valid number of cores.
    let p = tm(&with(
        &base(Base::TotalProcess),
        &[("taskmanager.cpu.cores", "0x1p1")],
    ))
    .unwrap();
    assert_eq!(p.cpu_cores, CpuCores::new(2.0).unwrap());
}

// ----- ProcessMemoryUtilsTestBase (TaskManager side) -----------------------------------------

#[test]
fn config_total_flink_memory() {
    let p = tm(&conf(&[(FLINK, "1g")])).unwrap();
    assert_eq!(p.total_flink_memory, b("1g"));
}

#[test]
fn config_jvm_metaspace_size() {
    validate_in(
        &ALL,
        &[("taskmanager.memory.jvm-metaspace.size", "50m")],
        |p| assert_eq!(p.jvm_metaspace, b("50m")),
    );
}

#[test]
fn config_jvm_overhead_range() {
    validate_in(
        &ALL,
        &[
            ("taskmanager.memory.jvm-overhead.max", "200m"),
            ("taskmanager.memory.jvm-overhead.min", "50m"),
        ],
        |p| assert!((b("50m")..=b("200m")).contains(&p.jvm_overhead)),
    );
}

#[test]
fn config_jvm_overhead_range_failure() {
    validate_fail_in(
        &ALL,
        &[
            ("taskmanager.memory.jvm-overhead.max", "50m"),
            ("taskmanager.memory.jvm-overhead.min", "200m"),
        ],
        ConfigErrorKind::Inconsistent,
        "Inconsistently configured taskmanager.memory.jvm-overhead.fraction (0.10000000149011612) and its min (200.000mb (209715200 bytes)), max (50.000mb (52428800 bytes)) value",
    );
}

#[test]
fn config_jvm_overhead_fraction() {
    validate_in(
        &ALL,
        &[
            ("taskmanager.memory.jvm-overhead.max", "1t"),
            ("taskmanager.memory.jvm-overhead.min", "0"),
            ("taskmanager.memory.jvm-overhead.fraction", "0.2"),
        ],
        |p| assert_eq!(p.jvm_overhead, mul(p.total_process_memory, 0.2)),
    );
}

#[test]
fn config_jvm_overhead_fraction_failures() {
    for f in ["-0.1", "1.0"] {
        validate_fail_in(
            &ALL,
            &[("taskmanager.memory.jvm-overhead.fraction", f)],
            ConfigErrorKind::Inconsistent,
            "Inconsistently configured taskmanager.memory.jvm-overhead.fraction (",
        );
    }
}

#[test]
fn config_jvm_overhead_derive_from_process_and_flink_memory_size() {
    let p = tm(&conf(&[
        (PROCESS, "1000m"),
        (FLINK, "800m"),
        ("taskmanager.memory.jvm-metaspace.size", "100m"),
        ("taskmanager.memory.jvm-overhead.min", "50m"),
        ("taskmanager.memory.jvm-overhead.max", "200m"),
        ("taskmanager.memory.jvm-overhead.fraction", "0.5"),
    ]))
    .unwrap();
    assert_eq!(p.jvm_overhead, b("100m"));
    assert!(p
        .warnings
        .iter()
        .any(|w| w.starts_with("The derived JVM Overhead size (100.000mb (104857600 bytes)) does not match the configured or default JVM Overhead fraction (0.5)")));
}

#[test]
fn config_legacy_heap_size_maps_to_total_flink() {
    for (key, value) in [
        ("taskmanager.heap.size", "1g"),
        ("taskmanager.heap.mb", "1024"),
    ] {
        let p = tm(&conf(&[(key, value)])).unwrap();
        assert_eq!(p.total_flink_memory, b("1g"), "{key}");
        assert!(p.sources.contains_key(key));
        assert!(p.warnings.iter().any(|w| w.starts_with(
            "'taskmanager.memory.flink.size' is not specified, use the configured deprecated task manager heap value (1024.000mb (1073741824 bytes)) for it."
        )));
    }
}

#[test]
fn config_legacy_heap_env() {
    let mut c = conf(&[]);
    c.set(
        "taskmanager.heap.size",
        "1g",
        membudget_model::Source::Env("FLINK_TM_HEAP".into()),
    );
    let p = tm(&c).unwrap();
    assert_eq!(p.total_flink_memory, b("1g"));
    assert_eq!(
        p.sources.get(FLINK),
        Some(&membudget_model::Source::Env("FLINK_TM_HEAP".into()))
    );
    c.set(
        "taskmanager.heap.size",
        "lots",
        membudget_model::Source::Env("FLINK_TM_HEAP".into()),
    );
    let e = tm(&c).unwrap_err();
    assert_eq!(
        e.message(),
        "TaskManager failed to map legacy JVM heap option to the new one: Cannot read total \
         process memory size from environment variable value lots."
    );
}

#[test]
fn config_both_new_option_and_legacy_heap_size() {
    let p = tm(&conf(&[(FLINK, "1g"), ("taskmanager.heap.size", "2g")])).unwrap();
    assert_eq!(p.total_flink_memory, b("1g"));
}

#[test]
fn legacy_heap_mb_negative_fails() {
    let e = tm(&conf(&[("taskmanager.heap.mb", "-1")])).unwrap_err();
    assert_eq!(
        e.message(),
        "TaskManager failed to map legacy JVM heap option to the new one: Configured total \
         process memory size (-1MB) must not be less than 0."
    );
}

#[test]
fn config_total_process_memory_add_up_failure() {
    let e = validate_fail_raw(&[
        (PROCESS, "699m"),
        (FLINK, "500m"),
        ("taskmanager.memory.jvm-metaspace.size", "100m"),
        ("taskmanager.memory.jvm-overhead.min", "100m"),
        ("taskmanager.memory.jvm-overhead.max", "100m"),
    ]);
    assert_eq!(e.kind(), ConfigErrorKind::Inconsistent);
    assert_eq!(
        e.message(),
        // As Flink 1.20.3 prints it: the Flink part is derived (and fails) first.
        "TaskManager memory configuration failed: Sum of configured Framework Heap Memory (128.000mb (134217728 bytes)), Framework Off-Heap Memory (128.000mb (134217728 bytes)), Task Off-Heap Memory (0 bytes), Managed Memory (200.000mb (209715203 bytes)) and Network Memory (64.000mb (67108864 bytes)) exceed configured Total Flink Memory (500.000mb (524288000 bytes))."
    );
}

fn validate_fail_raw(pairs: &[(&str, &str)]) -> membudget_model::ConfigError {
    tm(&conf(pairs)).expect_err("should fail")
}

#[test]
fn derived_total_process_greater_than_configured_with_fine_grained_options() {
    // Flink's configWithFineGrainedOptions: five components of 150m / 6 each.
    let part = format!("{}b", b("150m") / 6);
    let e = validate_fail_raw(&[
        ("taskmanager.memory.jvm-metaspace.size", "100m"),
        (PROCESS, "200m"),
        (TH, &part),
        ("taskmanager.memory.task.off-heap.size", &part),
        ("taskmanager.memory.framework.heap.size", &part),
        ("taskmanager.memory.framework.off-heap.size", &part),
        (MAN, &part),
    ]);
    assert!(
        e.message().contains("The configured Total Process Memory size (200.000mb (209715200 bytes)) is less than the sum of the derived Total Flink Memory size"),
        "{e}"
    );
}

#[test]
fn derived_total_process_greater_than_configured_with_total_flink() {
    let e = validate_fail_raw(&[
        ("taskmanager.memory.jvm-metaspace.size", "100m"),
        (PROCESS, "200m"),
        (FLINK, "150m"),
    ]);
    // Flink derives the Flink part first: the default network minimum does not fit.
    assert!(
        e.message()
            .contains("exceed configured Total Flink Memory (150.000mb (157286400 bytes))."),
        "{e}"
    );
    // With room for the Flink part, the process check fires.
    let e = validate_fail_raw(&[
        ("taskmanager.memory.jvm-metaspace.size", "100m"),
        (PROCESS, "600m"),
        (FLINK, "550m"),
    ]);
    assert_eq!(
        e.message(),
        "TaskManager memory configuration failed: The configured Total Process Memory size (600.000mb (629145600 bytes)) is less than the sum of the derived Total Flink Memory size (550.000mb (576716800 bytes)) and the configured or default JVM Metaspace size (100.000mb (104857600 bytes))."
    );
}

#[test]
fn metaspace_and_overhead_exceed_process() {
    let e = validate_fail_raw(&[(PROCESS, "300m")]);
    assert_eq!(
        e.message(),
        "TaskManager memory configuration failed: Sum of configured JVM Metaspace (256.000mb (268435456 bytes)) and JVM Overhead (192.000mb (201326592 bytes)) exceed configured Total Process Memory (300.000mb (314572800 bytes))."
    );
}

// ----- segment size and parse errors ---------------------------------------------------------

#[test]
fn segment_size_rules() {
    let e = validate_fail_raw(&[(FLINK, "1g"), ("taskmanager.memory.segment-size", "1k")]);
    assert_eq!(
        e.message(),
        "TaskManager memory configuration failed: Invalid configuration value for taskmanager.memory.segment-size : 1024 - Minimum memory segment size is 4096"
    );
    let e = validate_fail_raw(&[(FLINK, "1g"), ("taskmanager.memory.segment-size", "5000")]);
    assert_eq!(
        e.message(),
        "TaskManager memory configuration failed: Invalid configuration value for taskmanager.memory.segment-size : 5000 - Memory segment size must be a power of 2."
    );
    assert_eq!(e.key(), Some("taskmanager.memory.segment-size"));
    let p = tm(&conf(&[
        (FLINK, "1g"),
        ("taskmanager.memory.segment-size", "64kb"),
    ]))
    .unwrap();
    assert_eq!(p.segment_size, 65536);
    assert_eq!(p.network_buffers, p.network / 65536);
}

#[test]
fn unparsable_values_name_key_and_value() {
    let e = validate_fail_raw(&[(PROCESS, "1.5g")]);
    assert_eq!(
        e.message(),
        "TaskManager memory configuration failed: Cannot read memory size from config option 'taskmanager.memory.process.size'."
    );
    assert!(e.causes()[0]
        .contains("Could not parse value '1.5g' for key 'taskmanager.memory.process.size'"));
    assert_eq!(e.key(), Some(PROCESS));

    let e = validate_fail_raw(&[
        (FLINK, "1g"),
        ("taskmanager.memory.network.fraction", "lots"),
    ]);
    assert!(e
        .message()
        .contains("Could not parse value 'lots' for key 'taskmanager.memory.network.fraction'."));
    assert_eq!(e.key(), Some("taskmanager.memory.network.fraction"));
}

#[test]
fn huge_values_overflow_cleanly() {
    let e = validate_fail_raw(&[
        (FLINK, "8388607t"),
        ("taskmanager.memory.jvm-metaspace.size", "8388607t"),
    ]);
    assert_eq!(e.kind(), ConfigErrorKind::Overflow);
    assert!(!e.keys().is_empty());
}

#[test]
fn capped_fractions_are_warnings() {
    let p = tm(&conf(&[(FLINK, "1280m")])).unwrap();
    assert!(p.warnings.iter().any(|w| w
        == "The derived from fraction jvm overhead memory (170.667mb (178956973 bytes)) is less than its min value 192.000mb (201326592 bytes), min value will be used instead"), "{:?}", p.warnings);
}

#[test]
fn sources_record_defaults_and_explicit_values() {
    let p = tm(&conf(&[(PROCESS, "1536m")])).unwrap();
    assert_eq!(
        p.sources.get(PROCESS),
        Some(&membudget_model::Source::Dynamic)
    );
    assert_eq!(
        p.sources.get("taskmanager.memory.managed.fraction"),
        Some(&membudget_model::Source::Default)
    );
    assert_eq!(
        p.sources.get("taskmanager.memory.segment-size"),
        Some(&membudget_model::Source::Default)
    );
}

#[test]
fn network_check_wraps_only_illegal_configuration_errors() {
    let wrapped =
        "If Total Flink, Task Heap and (or) Managed Memory sizes are explicitly configured";
    // A bad min size is Flink's IllegalConfigurationException: wrapped.
    let e = validate_fail_raw(&[
        (FLINK, "1280m"),
        (TH, "100m"),
        (MAN, "200m"),
        ("taskmanager.memory.network.min", "lots"),
    ]);
    assert!(e.message().contains(wrapped), "{e}");
    assert!(e.causes()[0].starts_with(
        "Cannot read memory size from config option 'taskmanager.memory.network.min'."
    ));
    // A bad fraction is a plain parse failure: not wrapped.
    let e = validate_fail_raw(&[
        (FLINK, "1280m"),
        (TH, "100m"),
        (MAN, "200m"),
        ("taskmanager.memory.network.fraction", "lots"),
    ]);
    assert!(!e.message().contains(wrapped), "{e}");
}

#[test]
fn network_check_wraps_invalid_segment_sizes_but_not_downcast_failures() {
    let wrapped =
        "If Total Flink, Task Heap and (or) Managed Memory sizes are explicitly configured";
    let legacy = [
        (FLINK, "1280m"),
        (TH, "100m"),
        (MAN, "200m"),
        ("taskmanager.network.numberOfBuffers", "1024"),
    ];
    // getPageSize's IllegalConfigurationException: wrapped.
    let mut pairs = legacy.to_vec();
    pairs.push(("taskmanager.memory.segment-size", "1000"));
    let e = validate_fail_raw(&pairs);
    assert!(e.message().contains(wrapped), "{e}");
    assert!(
        e.causes()[0]
            .starts_with("Invalid configuration value for taskmanager.memory.segment-size"),
        "{e}"
    );
    // checkedDownCast's IllegalArgumentException: not wrapped.
    let mut pairs = legacy.to_vec();
    pairs.push(("taskmanager.memory.segment-size", "4g"));
    let e = validate_fail_raw(&pairs);
    assert!(!e.message().contains(wrapped), "{e}");
    assert!(
        e.message()
            .contains("Cannot downcast long value 4294967296"),
        "{e}"
    );
}

#[test]
fn distribution_default_matches_a_real_flink_log() {
    // "Final TaskExecutor Memory configuration" of a stock Flink TaskManager (1728m).
    let p = tm(&conf(&[(PROCESS, "1728m")])).unwrap();
    assert_eq!(p.total_process_memory, 1811939328);
    assert_eq!(p.total_flink_memory, 1342177280);
    assert_eq!(p.jvm_heap(), 536870902);
    assert_eq!(p.task_heap, 402653174);
    assert_eq!(p.managed + p.jvm_direct(), 805306378);
    assert_eq!(p.jvm_direct(), 268435458);
    assert_eq!(p.network, 134217730);
    assert_eq!(p.jvm_overhead, 201326592);
    assert!(p.warnings.contains(&"The derived from fraction jvm overhead memory (172.800mb (181193935 bytes)) is less than its min value 192.000mb (201326592 bytes), min value will be used instead".to_owned()), "{:?}", p.warnings);
}

#[test]
fn process_and_flink_size_match_a_real_flink_log() {
    // A Flink 1.11 TaskManager log with 4g process and 3g Flink memory.
    let p = tm(&conf(&[(PROCESS, "4g"), (FLINK, "3g")])).unwrap();
    assert_eq!(p.total_process_memory, 4294967296);
    assert_eq!(p.jvm_heap(), 1476394984);
    assert_eq!(p.task_heap, 1342177256);
    assert_eq!(p.managed, 1288490208);
    assert_eq!(p.jvm_direct(), 456340280);
    assert_eq!(p.managed + p.jvm_direct(), 1744830488);
    assert_eq!(p.jvm_overhead, 805306368);
}
