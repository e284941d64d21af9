//! `membudget plan` end to end: the binary with `--no-container -D ...`, every format, exit
//! status 2 with the error on stderr and nothing on stdout for bad configuration.

use std::process::{Command, Output};

use membudget_model::render::OutputFormat;
use membudget_model::{PlanRequest, Role};
use serde_json::Value;

/// Runs `membudget plan <args>` with an empty environment.
fn plan(args: &[&str]) -> Output {
    plan_env(args, &[])
}

fn plan_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_membudget"));
    cmd.arg("plan").args(args).env_clear();
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run membudget")
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).unwrap()
}

/// `plan --format json --no-container -D k=v ...` parsed; panics unless it succeeded. The
/// printed plan must be the model's plan for the same request, and that plan must pass
/// `MemoryPlan::check` (its sums add up).
fn json(role: &str, props: &[&str]) -> Value {
    let mut args = vec!["--role", role, "--format", "json", "--no-container"];
    for p in props {
        args.extend(["-D", p]);
    }
    let out = plan(&args);
    assert!(out.status.success(), "{:?}: {}", out.status, stderr(&out));
    assert!(out.stderr.is_empty(), "{}", stderr(&out));
    let printed: Value = serde_json::from_str(&stdout(&out)).unwrap();

    let mut request = PlanRequest::new(role.parse().unwrap())
        .environment(false)
        .container(false)
        .distribution_defaults(false);
    for p in props {
        request = request.dynamic_property(*p);
    }
    let expected = request.plan().unwrap();
    if let Err(e) = expected.check() {
        panic!("{e}\n{expected:?}");
    }
    assert_eq!(printed, expected.to_json());
    printed
}

/// Asserts the run failed with status 2, nothing on stdout, and returns stderr.
fn failure(out: &Output) -> String {
    assert_eq!(out.status.code(), Some(2), "stdout: {}", stdout(out));
    assert!(out.stdout.is_empty(), "stdout: {}", stdout(out));
    stderr(out)
}

#[test]
fn json_taskmanager_flink_size() {
    let j = json("taskmanager", &["taskmanager.memory.flink.size=1280m"]);
    assert_eq!(j["role"], "taskmanager");
    assert_eq!(j["managed"], 536870920u64);
    assert_eq!(j["network"], 134217730u64);
    assert_eq!(j["task_heap"], 402653174u64);
    assert_eq!(j["jvm_overhead"], 201326592u64);
    assert_eq!(j["total_process_memory"], 1811939328u64);
    assert_eq!(j["network_buffers"], 4096u64);
    assert_eq!(
        j["jvm_args"],
        "-Xmx536870902 -Xms536870902 -XX:MaxDirectMemorySize=268435458 -XX:MaxMetaspaceSize=268435456"
    );
    assert_eq!(j["categories"]["heap"], 536870902u64);
    assert_eq!(j["sources"]["taskmanager.memory.flink.size"], "dynamic");
}

#[test]
fn json_taskmanager_process_size_and_fine_grained() {
    let j = json("taskmanager", &["taskmanager.memory.process.size=1536m"]);
    assert_eq!(j["jvm_overhead"], 201326592u64);
    assert_eq!(j["total_flink_memory"], 1140850688u64);
    assert_eq!(j["managed"], 456340282u64);
    assert_eq!(j["network"], 114085070u64);
    assert_eq!(j["task_heap"], 301989880u64);

    let j = json(
        "taskmanager",
        &[
            "taskmanager.memory.task.heap.size=100m",
            "taskmanager.memory.managed.size=200m",
        ],
    );
    assert_eq!(j["network"], 67108864u64);
    assert_eq!(j["total_flink_memory"], 650117120u64);
    assert_eq!(j["total_process_memory"], 1119879168u64);
}

#[test]
fn json_jobmanager() {
    let j = json("jobmanager", &["jobmanager.memory.process.size=1600m"]);
    assert_eq!(j["role"], "jobmanager");
    assert_eq!(j["jvm_heap"], 1073741824u64);
    assert_eq!(j["off_heap"], 134217728u64);
    assert_eq!(j["jvm_metaspace"], 268435456u64);
    assert_eq!(j["jvm_overhead"], 201326592u64);
    assert_eq!(
        j["jvm_args"],
        "-Xmx1073741824 -Xms1073741824 -XX:MaxMetaspaceSize=268435456"
    );
    assert_eq!(j["categories"]["managed"], 0u64);
}

#[test]
fn invalid_configuration_exits_2_with_flinks_text() {
    let err = failure(&plan(&[
        "--role",
        "jobmanager",
        "--format",
        "json",
        "--no-container",
        "-D",
        "jobmanager.memory.process.size=512m",
    ]));
    assert!(
        err.starts_with(
            "JobManager memory configuration failed: The configured Total Flink Memory \
             (64.000mb (67108864 bytes)) is less than the configured Off-heap Memory \
             (128.000mb (134217728 bytes))."
        ),
        "{err}"
    );

    let err = failure(&plan(&[
        "--no-container",
        "-D",
        "taskmanager.memory.process.size=1000m",
        "-D",
        "taskmanager.memory.flink.size=800m",
        "-D",
        "taskmanager.memory.jvm-metaspace.size=100m",
        "-D",
        "taskmanager.memory.jvm-overhead.min=150m",
        "-D",
        "taskmanager.memory.jvm-overhead.max=200m",
        "-D",
        "taskmanager.memory.jvm-overhead.fraction=0.5",
    ]));
    assert!(
        err.contains(
            "Derived JVM Overhead size (100.000mb (104857600 bytes)) is not in configured JVM \
             Overhead range [150.000mb (157286400 bytes), 200.000mb (209715200 bytes)]."
        ),
        "{err}"
    );
}

#[test]
fn nothing_configured_without_container_is_flinks_e0() {
    let err = failure(&plan(&["--no-container", "--format", "json"]));
    assert!(
        err.starts_with(
            "TaskManager memory configuration failed: Either required fine-grained memory \
             (taskmanager.memory.task.heap.size and taskmanager.memory.managed.size), or Total \
             Flink Memory size (taskmanager.memory.flink.size), or Total Process Memory size \
             (taskmanager.memory.process.size) need to be configured explicitly."
        ),
        "{err}"
    );
}

#[test]
fn fresh_machine_without_configuration_prints_a_plan() {
    let out = plan(&[]);
    if !out.status.success() {
        // Only a container too small for any TaskManager may stop this, and it must say so.
        let err = failure(&out);
        assert!(err.contains("container memory limit"), "{err}");
        return;
    }
    let text = stdout(&out);
    assert!(
        text.starts_with("Final TaskExecutor Memory configuration:\n"),
        "{text}"
    );
    assert!(
        text.contains("taskmanager.memory.process.size  ")
            && (text.contains("Flink distribution default") || text.contains("container limit")),
        "{text}"
    );
    assert!(!text.contains('\x1b'), "piped output is plain");
}

#[test]
fn misspelt_key_and_bad_arguments_exit_2() {
    let err = failure(&plan(&[
        "--no-container",
        "-D",
        "taskmanager.memory.proces.size=1g",
    ]));
    assert_eq!(
        err.lines().next().unwrap(),
        "Unknown memory option 'taskmanager.memory.proces.size' (given with -D). Did you mean \
         'taskmanager.memory.process.size'?"
    );
    let err = failure(&plan(&["-D", "no-equals-sign"]));
    assert!(err.contains("expected key=value"), "{err}");
    let err = failure(&plan(&["--format", "yaml"]));
    assert!(err.contains("yaml"), "{err}");
    let err = failure(&plan(&["--role", "worker"]));
    assert!(err.contains("worker"), "{err}");
}

#[test]
fn unknown_membudget_variable_exits_2() {
    let err = failure(&plan_env(
        &["--no-container"],
        &[("MEMBUDGET_TASKMANAGER_MEMORY_PROCESS_SIZ", "1g")],
    ));
    assert!(
        err.contains("Did you mean MEMBUDGET_TASKMANAGER_MEMORY_PROCESS_SIZE"),
        "{err}"
    );
}

#[test]
fn environment_and_dynamic_precedence() {
    let out = plan_env(
        &["--no-container", "--format", "json"],
        &[("MEMBUDGET_TASKMANAGER_MEMORY_PROCESS_SIZE", "1536m")],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let j: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(j["total_flink_memory"], 1140850688u64);
    assert_eq!(
        j["sources"]["taskmanager.memory.process.size"],
        "env:MEMBUDGET_TASKMANAGER_MEMORY_PROCESS_SIZE"
    );

    let out = plan_env(
        &[
            "--no-container",
            "--format",
            "json",
            "-Dtaskmanager.memory.process.size=1728m",
        ],
        &[("MEMBUDGET_TASKMANAGER_MEMORY_PROCESS_SIZE", "1536m")],
    );
    let j: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(j["total_process_memory"], 1811939328u64);
    assert_eq!(j["sources"]["taskmanager.memory.process.size"], "dynamic");
}

#[test]
fn config_file_option() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.yaml");
    std::fs::write(&path, "jobmanager:\n  memory:\n    process.size: 1600m\n").unwrap();
    let out = plan(&[
        "--role",
        "jobmanager",
        "--no-container",
        "--config",
        path.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let j: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(j["jvm_heap"], 1073741824u64);
    assert_eq!(
        j["sources"]["jobmanager.memory.process.size"],
        format!("file:{}", path.display())
    );

    let err = failure(&plan(&["--config", "/nonexistent/flink-conf.yaml"]));
    assert!(
        err.starts_with("Cannot read configuration file /nonexistent/flink-conf.yaml"),
        "{err}"
    );
}

const TM: [&str; 3] = [
    "--no-container",
    "-D",
    "taskmanager.memory.flink.size=1280m",
];

fn format(name: &str) -> String {
    let mut args = TM.to_vec();
    args.extend(["--format", name]);
    let out = plan(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(out.stderr.is_empty());
    stdout(&out)
}

#[test]
fn every_format() {
    let text = format("text");
    assert!(text.contains("  │  │  └─ Task:                     384.000mb (402653174 bytes)\n"));
    assert!(text.contains("Container: detection disabled (--no-container).\n"));

    assert_eq!(
        format("jvm-args"),
        "-Xmx536870902 -Xms536870902 -XX:MaxDirectMemorySize=268435458 \
         -XX:MaxMetaspaceSize=268435456\n"
    );
    // Exactly what BashJavaUtils GET_TM_RESOURCE_PARAMS prints for flink.size=1280m (Flink
    // 1.20.3 and 2.1.1 alike): Flink's HashMap order, CPU cores, slots, external resources.
    assert_eq!(
        format("dynamic-configs"),
        "-D taskmanager.memory.network.min=134217730b -D taskmanager.cpu.cores=1.0 \
         -D taskmanager.memory.task.off-heap.size=0b \
         -D taskmanager.memory.jvm-metaspace.size=268435456b -D external-resources=none \
         -D taskmanager.memory.jvm-overhead.min=201326592b \
         -D taskmanager.memory.framework.off-heap.size=134217728b \
         -D taskmanager.memory.network.max=134217730b \
         -D taskmanager.memory.framework.heap.size=134217728b \
         -D taskmanager.memory.managed.size=536870920b \
         -D taskmanager.memory.task.heap.size=402653174b -D taskmanager.numberOfTaskSlots=1 \
         -D taskmanager.memory.jvm-overhead.max=201326592b\n"
    );
    let env = format("env");
    assert!(
        env.starts_with(
            "export MEMBUDGET_QUOTA_ROLE=taskmanager\nexport MEMBUDGET_QUOTA_HEAP=536870902\n"
        ),
        "{env}"
    );
    assert!(
        env.ends_with(
            "export JVM_ARGS='-Xmx536870902 -Xms536870902 -XX:MaxDirectMemorySize=268435458 \
             -XX:MaxMetaspaceSize=268435456'\n"
        ),
        "{env}"
    );
    let k8s = format("k8s");
    assert!(
        k8s.ends_with(
            "resources:\n  requests:\n    memory: \"1728Mi\"\n  limits:\n    memory: \"1728Mi\"\n"
        ),
        "{k8s}"
    );
    let j: Value = serde_json::from_str(&format("json")).unwrap();
    assert_eq!(j["total_process_memory"], 1811939328u64);
}

#[test]
fn jobmanager_dynamic_configs_are_flinks() {
    let out = plan(&[
        "--role",
        "jobmanager",
        "--no-container",
        "-D",
        "jobmanager.memory.process.size=1600m",
        "--format",
        "dynamic-configs",
    ]);
    assert!(out.status.success());
    assert_eq!(
        stdout(&out),
        "-D jobmanager.memory.off-heap.size=134217728b -D jobmanager.memory.jvm-overhead.min=201326592b \
         -D jobmanager.memory.jvm-metaspace.size=268435456b -D jobmanager.memory.heap.size=1073741824b \
         -D jobmanager.memory.jvm-overhead.max=201326592b\n"
    );
}

#[test]
fn env_output_can_be_sourced() {
    let env = format("env");
    let script = format!("{env}\nprintf '%s|%s' \"$JVM_ARGS\" \"$MEMBUDGET_QUOTA_NETWORK\"");
    let out = Command::new("sh").arg("-c").arg(&script).output();
    let Ok(out) = out else {
        return; // no POSIX shell on this machine
    };
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "-Xmx536870902 -Xms536870902 -XX:MaxDirectMemorySize=268435458 \
         -XX:MaxMetaspaceSize=268435456|134217730"
    );
}

fn cgroup_fixture(name: &str) -> String {
    format!(
        "{}/../model/tests/fixtures/cgroup/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

#[test]
fn container_limit_sizes_an_unconfigured_process() {
    let root = cgroup_fixture("v2_nested");
    let out = plan(&["--cgroup-root", &root, "--format", "json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let j: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(j["total_process_memory"], 2147483648u64);
    let source = j["sources"]["taskmanager.memory.process.size"]
        .as_str()
        .unwrap();
    assert!(
        source.starts_with("container:") && source.ends_with("kubepods/pod1/memory.max"),
        "{source}"
    );
    let text = stdout(&plan(&["--cgroup-root", &root]));
    assert!(
        text.contains("Container: memory limit 2.000gb (2147483648 bytes) (cgroup v2 "),
        "{text}"
    );
    assert!(
        text.ends_with("; used as the total process memory.\n"),
        "{text}"
    );
}

#[test]
fn configured_process_above_the_container_limit_exits_2() {
    let root = cgroup_fixture("v1_docker");
    let err = failure(&plan(&[
        "--cgroup-root",
        &root,
        "-D",
        "taskmanager.memory.process.size=1g",
    ]));
    assert!(err.contains("the process would be OOM-killed"), "{err}");
    // --no-container ignores the limit.
    let out = plan(&[
        "--cgroup-root",
        &root,
        "--no-container",
        "-D",
        "taskmanager.memory.process.size=1g",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn help_lists_the_models_roles_and_formats_with_their_descriptions() {
    let out = plan(&["--help"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let help = stdout(&out);
    for role in Role::ALL {
        assert!(help.contains(&format!("- {}:", role.name())), "{help}");
    }
    assert!(help.contains("A TaskManager (TaskExecutor)"), "{help}");
    for format in OutputFormat::ALL {
        assert!(help.contains(&format!("- {}:", format.name())), "{help}");
        assert!(help.contains(format.description()), "{help}");
    }
    assert!(help.contains("[default: taskmanager]") && help.contains("[default: text]"));
    // Names are exact, as before: no case folding on the command line.
    failure(&plan(&["--role", "JobManager"]));
    failure(&plan(&["--format", "JSON"]));
}
