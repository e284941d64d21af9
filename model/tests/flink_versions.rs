//! Flink 1.20 and 2.x semantics (`--flink-version`) and the deployment's legacy heap mapping
//! (`--deployment`). Expected numbers and texts are what the real Flink 1.20.3 and 2.1.1 code
//! (`BashJavaUtils`, and for Kubernetes/YARN `processSpecFromConfigWithNewOptionToInterpretLegacyHeap`
//! / `getConfigurationMapLegacyTaskManagerHeapSizeToConfigOption` with `TOTAL_PROCESS_MEMORY`)
//! printed for the same input.

use membudget_model::{
    derive_for, ConfigErrorKind, Configuration, Deployment, FlinkTarget, FlinkVersion, MemoryPlan,
    PlanRequest, Role, Source,
};

fn conf(pairs: &[(&str, &str)]) -> Configuration {
    pairs.iter().copied().collect()
}

fn target(version: FlinkVersion, deployment: Deployment) -> FlinkTarget {
    FlinkTarget::new(version, deployment)
}

const V1: FlinkTarget = FlinkTarget::new(FlinkVersion::V1_20, Deployment::Standalone);
const V2: FlinkTarget = FlinkTarget::new(FlinkVersion::V2, Deployment::Standalone);

fn tm(c: &Configuration, t: FlinkTarget) -> MemoryPlan {
    derive_for(Role::TaskManager, c, t).unwrap()
}

#[test]
fn number_of_buffers_sizes_network_in_1_20_only() {
    let c = conf(&[
        ("taskmanager.memory.process.size", "4g"),
        ("taskmanager.network.numberOfBuffers", "4096"),
    ]);
    let v1 = tm(&c, V1);
    assert_eq!(v1.as_taskmanager().unwrap().network, 134217728);
    assert!(v1.warnings().iter().any(|w| w.starts_with(
        "'taskmanager.network.numberOfBuffers' sizes network memory as Flink 1.20 does; Flink 2.x no longer reads it"
    )), "{:?}", v1.warnings());
    let v2 = tm(&c, V2);
    assert_eq!(v2.as_taskmanager().unwrap().network, 359703515);
    assert!(v2.warnings().contains(&"'taskmanager.network.numberOfBuffers' is not read by Flink 2.x (removed in 2.0), so it is not applied: set 'taskmanager.memory.network.min' and 'taskmanager.memory.network.max' instead (or plan with --flink-version 1.20).".to_owned()), "{:?}", v2.warnings());
}

#[test]
fn legacy_heap_keys_are_ignored_by_flink_2_with_a_warning_each() {
    for (role, key, value) in [
        (Role::TaskManager, "taskmanager.heap.size", "1g"),
        (Role::TaskManager, "taskmanager.heap.mb", "1024"),
        (Role::JobManager, "jobmanager.heap.size", "1g"),
        (Role::JobManager, "jobmanager.heap.mb", "1024"),
    ] {
        // 1.20 sizes the process with it.
        assert!(
            derive_for(role, &conf(&[(key, value)]), V1).is_ok(),
            "{key}"
        );
        // 2.x does not: nothing sizes the process (Flink 2.1.1 fails the same way).
        let e = derive_for(role, &conf(&[(key, value)]), V2).unwrap_err();
        assert_eq!(e.kind(), ConfigErrorKind::MissingRequired, "{key}");
        // With something else sizing it, the plan notes the key it ignored.
        let sizing = role.process_size_key();
        let p = derive_for(role, &conf(&[(sizing, "2g"), (key, value)]), V2).unwrap();
        let warning = p
            .warnings()
            .iter()
            .find(|w| w.starts_with(&format!("'{key}' is not read by Flink 2.x")))
            .unwrap_or_else(|| panic!("{key}: {:?}", p.warnings()));
        assert!(warning.contains("so it is not applied"), "{warning}");
        assert_eq!(p.total_process_memory(), 2 << 30);
    }
}

#[test]
fn flink_tm_heap_is_named_when_flink_2_ignores_it() {
    let plan = PlanRequest::new(Role::TaskManager)
        .env_vars([("FLINK_TM_HEAP", "1g")])
        .container(false)
        .distribution_defaults(false)
        .flink_version(FlinkVersion::V2)
        .property("taskmanager.memory.process.size", "2g")
        .plan()
        .unwrap();
    assert!(
        plan.warnings()
            .iter()
            .any(|w| w
                .starts_with("FLINK_TM_HEAP ('taskmanager.heap.size') is not read by Flink 2.x")),
        "{:?}",
        plan.warnings()
    );
    // Without other sizing, 2.x falls back to the distribution default: FLINK_TM_HEAP sizes
    // nothing.
    let plan = PlanRequest::new(Role::TaskManager)
        .env_vars([("FLINK_TM_HEAP", "1g")])
        .container(false)
        .flink_version(FlinkVersion::V2)
        .plan()
        .unwrap();
    assert_eq!(plan.total_process_memory(), 1728 << 20);
    // --strict: a value that is not applied is an error naming it.
    let err = PlanRequest::new(Role::TaskManager)
        .env_vars([("FLINK_TM_HEAP", "1g")])
        .container(false)
        .flink_version(FlinkVersion::V2)
        .strict(true)
        .plan()
        .unwrap_err();
    assert_eq!(err.kind(), ConfigErrorKind::NotApplied);
    assert!(
        err.message()
            .starts_with("FLINK_TM_HEAP ('taskmanager.heap.size') is not read by Flink 2.x"),
        "{err}"
    );
}

#[test]
fn flink_2_drops_the_jobmanager_prefix() {
    let c = conf(&[("jobmanager.memory.process.size", "512m")]);
    let j3 = "The configured Total Flink Memory (64.000mb (67108864 bytes)) is less than the configured Off-heap Memory (128.000mb (134217728 bytes)).";
    let v1 = derive_for(Role::JobManager, &c, V1).unwrap_err();
    assert_eq!(
        v1.message(),
        format!("JobManager memory configuration failed: {j3}")
    );
    let v2 = derive_for(Role::JobManager, &c, V2).unwrap_err();
    assert_eq!(v2.message(), j3);
    // The TaskManager keeps its prefix in 2.x.
    let e = derive_for(
        Role::TaskManager,
        &conf(&[("taskmanager.memory.process.size", "300m")]),
        V2,
    )
    .unwrap_err();
    assert!(
        e.message()
            .starts_with("TaskManager memory configuration failed: "),
        "{e}"
    );
}

#[test]
fn prefixes_only_on_flinks_configuration_errors() {
    // A fraction that is no number is Flink's IllegalArgumentException: no prefix.
    let e = derive_for(
        Role::JobManager,
        &conf(&[
            ("jobmanager.memory.process.size", "1g"),
            ("jobmanager.memory.jvm-overhead.fraction", "x"),
        ]),
        V1,
    )
    .unwrap_err();
    assert_eq!(
        e.message(),
        "Could not parse value 'x' for key 'jobmanager.memory.jvm-overhead.fraction'."
    );
}

#[test]
fn deployments_map_the_legacy_heap_as_flink_does() {
    let tm_heap = conf(&[("taskmanager.heap.size", "1g")]);
    let jm_heap = conf(&[("jobmanager.heap.size", "1g")]);
    // Standalone (BashJavaUtils): TaskManager -> flink.size, JobManager -> heap.size.
    let p = tm(&tm_heap, V1);
    assert_eq!(p.total_flink_memory(), 1 << 30);
    assert_eq!(
        p.sources().get("taskmanager.memory.flink.size"),
        Some(&Source::Dynamic)
    );
    let p = derive_for(Role::JobManager, &jm_heap, V1).unwrap();
    assert_eq!(p.as_jobmanager().unwrap().jvm_heap, 1 << 30);
    // Kubernetes and YARN: both -> process.size.
    for d in [Deployment::Kubernetes, Deployment::Yarn] {
        let t = target(FlinkVersion::V1_20, d);
        let p = tm(&tm_heap, t);
        assert_eq!(p.total_process_memory(), 1 << 30, "{d}");
        assert!(p.warnings().iter().any(|w| w.starts_with(
            "'taskmanager.memory.process.size' is not specified, use the configured deprecated task manager heap value (1024.000mb (1073741824 bytes)) for it."
        )), "{:?}", p.warnings());
        let p = derive_for(Role::JobManager, &jm_heap, t).unwrap();
        assert_eq!(p.total_process_memory(), 1 << 30, "{d}");
        // Flink 1.20.3 on Kubernetes: heap 1g - 128m off-heap - 256m metaspace - 192m overhead.
        assert_eq!(p.as_jobmanager().unwrap().jvm_heap, 469762048);
    }
    // A configured target wins over the legacy key in every deployment.
    let both = conf(&[
        ("taskmanager.heap.size", "1g"),
        ("taskmanager.memory.process.size", "2g"),
    ]);
    let p = tm(&both, target(FlinkVersion::V1_20, Deployment::Kubernetes));
    assert_eq!(p.total_process_memory(), 2 << 30);
    // Flink 2.x reads no legacy key, whatever the deployment.
    let e = derive_for(
        Role::TaskManager,
        &tm_heap,
        target(FlinkVersion::V2, Deployment::Yarn),
    )
    .unwrap_err();
    assert_eq!(e.kind(), ConfigErrorKind::MissingRequired);
}

#[test]
fn legacy_mapping_errors_carry_flinks_prefixes() {
    for (d, text) in [
        (Deployment::Standalone, "TaskManager failed to map legacy JVM heap option to the new one: Configured total process memory size (-1MB) must not be less than 0."),
        (Deployment::Kubernetes, "TaskManager failed to map legacy JVM heap option to the new one: Configured total process memory size (-1MB) must not be less than 0."),
    ] {
        let e = derive_for(Role::TaskManager, &conf(&[("taskmanager.heap.mb", "-1")]), target(FlinkVersion::V1_20, d)).unwrap_err();
        assert_eq!(e.message(), text);
    }
    let e = derive_for(Role::JobManager, &conf(&[("jobmanager.heap.mb", "-1")]), V1).unwrap_err();
    assert_eq!(e.message(), "JobManager memory configuration failed: Configured total process memory size (-1MB) must not be less than 0.");
}

#[test]
fn plan_request_passes_version_and_deployment_through() {
    let plan = PlanRequest::new(Role::JobManager)
        .env_vars(Vec::<(String, String)>::new())
        .container(false)
        .deployment(Deployment::Kubernetes)
        .property("jobmanager.heap.size", "1g")
        .plan()
        .unwrap();
    assert_eq!(plan.total_process_memory(), 1 << 30);
    // Flink 2.x does not count a legacy key as sizing: the distribution default applies.
    let plan = PlanRequest::new(Role::JobManager)
        .env_vars(Vec::<(String, String)>::new())
        .container(false)
        .flink_version(FlinkVersion::V2)
        .property("jobmanager.heap.size", "1g")
        .plan()
        .unwrap();
    assert_eq!(plan.total_process_memory(), 1600 << 20);
}
