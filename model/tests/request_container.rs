//! The container rule of `PlanRequest`: the cgroup limit sizes an unconfigured process, a
//! configured plan must fit under it, and without a limit the distribution defaults apply.

use std::path::PathBuf;

use membudget_model::{
    CgroupProbe, ConfigErrorKind, PlanRequest, Role, Source, JM_DISTRIBUTION_PROCESS_SIZE,
    TM_DISTRIBUTION_PROCESS_SIZE,
};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/cgroup")
        .join(name)
}

/// A request that reads no environment and the cgroup fixture `name`.
fn request(role: Role, name: &str) -> PlanRequest {
    let root = fixture(name);
    PlanRequest::new(role)
        .env_vars(Vec::<(String, String)>::new())
        .cgroup_roots(root.join("proc"), &root)
}

#[test]
fn unconfigured_taskmanager_takes_the_container_limit() {
    // v2_nested: the pod's memory.max is 2 GiB.
    let plan = request(Role::TaskManager, "v2_nested").plan().unwrap();
    assert_eq!(plan.total_process_memory(), 2 << 30);
    let file = fixture("v2_nested").join("sys/fs/cgroup/kubepods/pod1/memory.max");
    assert_eq!(
        plan.sources()["taskmanager.memory.process.size"],
        Source::Container(file.display().to_string())
    );
    // The same plan as configuring process.size by hand.
    let by_hand = request(Role::TaskManager, "none")
        .property("taskmanager.memory.process.size", "2g")
        .plan()
        .unwrap();
    assert_eq!(
        plan.to_json()["categories"],
        by_hand.to_json()["categories"]
    );
}

#[test]
fn unconfigured_jobmanager_takes_the_v1_container_limit() {
    // v1_nested: the parent cgroup caps at 3 GiB.
    let plan = request(Role::JobManager, "v1_nested").plan().unwrap();
    assert_eq!(plan.total_process_memory(), 3 << 30);
}

#[test]
fn partial_configuration_still_takes_the_limit() {
    // task.heap.size alone does not size the process (Flink needs managed.size with it).
    let plan = request(Role::TaskManager, "v2_nested")
        .property("taskmanager.memory.task.heap.size", "256m")
        .plan()
        .unwrap();
    assert_eq!(plan.total_process_memory(), 2 << 30);
    assert_eq!(plan.as_taskmanager().unwrap().task_heap, 256 << 20);
}

#[test]
fn configured_plan_that_fits_is_kept() {
    let plan = request(Role::TaskManager, "v2_nested")
        .property("taskmanager.memory.process.size", "1536m")
        .plan()
        .unwrap();
    assert_eq!(plan.total_process_memory(), 1536 << 20);
    assert_eq!(
        plan.sources()["taskmanager.memory.process.size"],
        Source::Dynamic
    );
}

#[test]
fn configured_plan_above_the_limit_would_be_oom_killed() {
    // v1_docker: 512 MiB; flink.size=1280m derives a 1728 MiB process.
    let err = request(Role::TaskManager, "v1_docker")
        .property("taskmanager.memory.flink.size", "1280m")
        .plan()
        .unwrap_err();
    assert_eq!(err.kind(), ConfigErrorKind::ContainerLimit);
    let file = fixture("v1_docker").join("sys/fs/cgroup/memory/memory.limit_in_bytes");
    assert_eq!(
        err.message(),
        format!(
            "TaskManager memory configuration failed: The configured Total Process Memory \
             (1.688gb (1811939328 bytes)) exceeds the container memory limit (512.000mb \
             (536870912 bytes), from cgroup v1 {}): the process would be OOM-killed. Lower \
             'taskmanager.memory.flink.size', or remove the sizing options to derive \
             'taskmanager.memory.process.size' from the container limit.",
            file.display()
        )
    );
    assert_eq!(err.keys(), ["taskmanager.memory.flink.size"]);
}

#[test]
fn fine_grained_jobmanager_above_the_limit() {
    let err = request(Role::JobManager, "v2_namespace")
        .property("jobmanager.memory.heap.size", "1g")
        .plan()
        .unwrap_err();
    assert_eq!(err.kind(), ConfigErrorKind::ContainerLimit);
    assert!(err
        .message()
        .starts_with("JobManager memory configuration failed: "));
    assert_eq!(err.keys(), ["jobmanager.memory.heap.size"]);
}

#[test]
fn no_limit_and_nothing_configured_uses_distribution_defaults() {
    for (name, role, size, bytes) in [
        (
            "v2_max",
            Role::TaskManager,
            TM_DISTRIBUTION_PROCESS_SIZE,
            1728u64 << 20,
        ),
        (
            "v1_huge",
            Role::JobManager,
            JM_DISTRIBUTION_PROCESS_SIZE,
            1600u64 << 20,
        ),
    ] {
        let plan = request(role, name).plan().unwrap();
        assert_eq!(plan.total_process_memory(), bytes, "{size}");
        let key = format!("{role}.memory.process.size");
        assert_eq!(plan.sources()[&key], Source::DistributionDefault);
    }
}

#[test]
fn without_container_or_distribution_defaults_flink_requires_a_size() {
    let err = request(Role::TaskManager, "v2_nested")
        .container(false)
        .distribution_defaults(false)
        .plan()
        .unwrap_err();
    assert!(
        err.message()
            .starts_with("TaskManager memory configuration failed: Either required fine-grained"),
        "{err}"
    );
    // Container off alone still falls back to the distribution default.
    let plan = request(Role::TaskManager, "v2_nested")
        .container(false)
        .plan()
        .unwrap();
    assert_eq!(plan.total_process_memory(), 1728 << 20);
}

#[test]
fn legacy_heap_counts_as_configured() {
    let plan = request(Role::TaskManager, "v2_nested")
        .env_vars([("FLINK_TM_HEAP", "1024m")])
        .plan()
        .unwrap();
    assert_eq!(plan.total_flink_memory(), 1 << 30);
}

#[test]
fn unreadable_limit_is_a_warning_not_a_failure() {
    let plan = request(Role::TaskManager, "bad_value").plan().unwrap();
    assert_eq!(plan.total_process_memory(), 1728 << 20);
    assert!(
        plan.warnings()
            .iter()
            .any(|w| w.starts_with("Container memory limit not detected: ") && w.contains("'lots'")),
        "{:?}",
        plan.warnings()
    );
}

#[test]
fn probe_with_physical_memory() {
    // v1_nested with 2 GiB of RAM: the 3 GiB parent limit means "no limit".
    let root = fixture("v1_nested");
    let plan = PlanRequest::new(Role::TaskManager)
        .env_vars(Vec::<(String, String)>::new())
        .cgroup_probe(CgroupProbe::with_roots(root.join("proc"), &root).physical_memory(2 << 30))
        .plan()
        .unwrap();
    assert_eq!(
        plan.sources()["taskmanager.memory.process.size"],
        Source::DistributionDefault
    );
}

#[test]
fn derivation_errors_say_the_size_came_from_the_container() {
    // v1_docker: 512 MiB is too small for a JobManager (off-heap 128m + metaspace 256m +
    // overhead 192m).
    let err = request(Role::JobManager, "v1_docker").plan().unwrap_err();
    let file = fixture("v1_docker").join("sys/fs/cgroup/memory/memory.limit_in_bytes");
    assert!(
        err.message()
            .starts_with("JobManager memory configuration failed: "),
        "{err}"
    );
    assert!(
        err.message().ends_with(&format!(
            "(Total Process Memory was taken from the container memory limit in {}; set \
             'jobmanager.memory.process.size' or raise the container limit.)",
            file.display()
        )),
        "{err}"
    );
    assert!(err
        .keys()
        .iter()
        .any(|k| k == "jobmanager.memory.process.size"));
}
