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
    for flag in [
        "--flink-version",
        "--deployment",
        "--host",
        "--strict",
        "--config-format",
        "--config-section",
        "--verbose",
    ] {
        assert!(help.contains(flag), "{flag}: {help}");
    }
    assert!(
        help.contains("[default: 1.20]") && help.contains("[default: jvm]"),
        "{help}"
    );
    // Names are exact, as before: no case folding on the command line.
    let err = failure(&plan(&["--role", "JobManager"]));
    assert!(
        err.contains("invalid value 'JobManager' for '--role"),
        "{err}"
    );
    let err = failure(&plan(&["--format", "JSON"]));
    assert!(err.contains("invalid value 'JSON' for '--format"), "{err}");
    for (flag, value) in [
        ("--flink-version", "1.19"),
        ("--deployment", "mesos"),
        ("--host", "wasm"),
        ("--config-format", "toml"),
    ] {
        let err = failure(&plan(&[flag, value]));
        assert!(
            err.contains(&format!("invalid value '{value}' for '{flag}")),
            "{err}"
        );
    }
}

#[test]
fn flink_version_2_ignores_legacy_keys_with_a_warning_and_strict_fails() {
    let args = [
        "--no-container",
        "--format",
        "json",
        "-D",
        "taskmanager.memory.process.size=4g",
        "-D",
        "taskmanager.network.numberOfBuffers=4096",
    ];
    let out = plan(&args);
    let j: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(j["network"], 134217728u64);
    let mut v2 = args.to_vec();
    v2.extend(["--flink-version", "2.1"]);
    let out = plan(&v2);
    assert!(out.status.success(), "{}", stderr(&out));
    let j: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(j["network"], 359703515u64);
    assert!(j["warnings"].as_array().unwrap().iter().any(|w| w
        .as_str()
        .unwrap()
        .starts_with("'taskmanager.network.numberOfBuffers' is not read by Flink 2.x")));
    v2.push("--strict");
    let err = failure(&plan(&v2));
    assert!(
        err.starts_with("'taskmanager.network.numberOfBuffers' is not read by Flink 2.x"),
        "{err}"
    );
}

#[test]
fn deployment_picks_the_legacy_heap_mapping() {
    let run = |deployment: &str| {
        let out = plan(&[
            "--no-container",
            "--deployment",
            deployment,
            "--format",
            "json",
            "-D",
            "taskmanager.heap.size=1g",
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
        serde_json::from_str::<Value>(&stdout(&out)).unwrap()
    };
    assert_eq!(run("standalone")["total_flink_memory"], 1u64 << 30);
    assert_eq!(run("kubernetes")["total_process_memory"], 1u64 << 30);
    assert_eq!(run("yarn")["total_process_memory"], 1u64 << 30);
}

#[test]
fn errors_are_one_line_unless_verbose() {
    let args = [
        "--no-container",
        "-D",
        "taskmanager.memory.flink.size=1280m",
        "-D",
        "taskmanager.memory.task.heap.size=324m",
        "-D",
        "taskmanager.memory.managed.size=200m",
        "-D",
        "taskmanager.memory.network.min=900m",
        "-D",
        "taskmanager.memory.network.max=1000m",
    ];
    let err = failure(&plan(&args));
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("inconsistent with its configuration. Derived Network Memory size (500.000mb (524288000 bytes)) is not in configured Network Memory range [900.000mb (943718400 bytes), 1000.000mb (1048576000 bytes)]. Change 'taskmanager.memory.network.min' (or 'taskmanager.memory.network.max', 'taskmanager.memory.flink.size')."), "{err}");
    let mut verbose = args.to_vec();
    verbose.push("--verbose");
    let err = failure(&plan(&verbose));
    assert!(
        err.contains("\nCaused by: Derived Network Memory size (500.000mb (524288000 bytes))"),
        "{err}"
    );
    assert!(
        err.contains("\nKeys to change: 'taskmanager.memory.network.min'"),
        "{err}"
    );
    // The managed-fraction example: one line, the value as written, the key that fixes it.
    let err = failure(&plan(&["-D", "taskmanager.memory.managed.fraction=1.5"]));
    assert_eq!(
        err,
        "TaskManager memory configuration failed: Inconsistently configured \
         taskmanager.memory.managed.fraction (1.5) and its min (0 bytes), max (8388608.000tb \
         (9223372036854775807 bytes)) value: fraction must be in range [0, 1). Change \
         'taskmanager.memory.managed.fraction'.\n"
    );
}

#[test]
fn config_section_format_and_empty_files() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("appsettings.json");
    std::fs::write(
        &json,
        r#"{"Flink": {"taskmanager.memory.process.size": "4096m"}}"#,
    )
    .unwrap();
    let out = plan(&[
        "--config",
        json.to_str().unwrap(),
        "--no-container",
        "--format",
        "k8s",
    ]);
    assert!(stdout(&out).contains("memory: \"4Gi\""), "{}", stdout(&out));
    let nested = dir.path().join("settings.json");
    std::fs::write(
        &nested,
        r#"{"Worker": {"taskmanager.memory.process.size": "2g"}}"#,
    )
    .unwrap();
    let out = plan(&[
        "--config",
        nested.to_str().unwrap(),
        "--config-section",
        "Worker",
        "--no-container",
        "--format",
        "jvm-args",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = dir.path().join("memory.txt");
    std::fs::write(&text, "taskmanager:\n  memory:\n    process.size: 2g\n").unwrap();
    let out = plan(&[
        "--config",
        text.to_str().unwrap(),
        "--config-format",
        "config-yaml",
        "--no-container",
        "--format",
        "json",
    ]);
    let j: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(j["total_process_memory"], 2u64 << 30);
    assert_eq!(j["warnings"].as_array().unwrap().len(), 0, "{j}");
    let empty = dir.path().join("flink-conf.yaml");
    std::fs::write(&empty, "").unwrap();
    let out = plan(&[
        "--config",
        empty.to_str().unwrap(),
        "--no-container",
        "-D",
        "taskmanager.memory.process.size=2g",
    ]);
    assert!(
        stdout(&out).contains(&format!(
            "! {} is empty: nothing in it is applied to the plan.",
            empty.display()
        )),
        "{}",
        stdout(&out)
    );
    let err = failure(&plan(&[
        "--config",
        empty.to_str().unwrap(),
        "--no-container",
        "--strict",
        "-D",
        "taskmanager.memory.process.size=2g",
    ]));
    assert!(err.contains("is empty"), "{err}");
}

#[test]
fn host_profiles_and_the_env_round_trip() {
    for host in ["jvm", "dotnet", "native"] {
        let args = [
            "--no-container",
            "--host",
            host,
            "-D",
            "taskmanager.memory.process.size=2g",
        ];
        let mut env_args = args.to_vec();
        env_args.extend(["--format", "env"]);
        let env = stdout(&plan(&env_args));
        // Sourced by a shell, read back by Quotas::from_env: the plan's quotas, role included.
        let script = format!("{env}\nenv");
        let Ok(out) = Command::new("sh")
            .arg("-c")
            .arg(&script)
            .env_clear()
            .output()
        else {
            return; // no POSIX shell on this machine
        };
        let vars: Vec<(String, String)> = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let quotas = membudget_model::Quotas::from_env_vars(vars).unwrap();
        let expected = PlanRequest::new(Role::TaskManager)
            .environment(false)
            .container(false)
            .host(host.parse().unwrap())
            .property("taskmanager.memory.process.size", "2g")
            .plan()
            .unwrap()
            .quotas();
        assert_eq!(quotas, expected, "{host}");
        assert_eq!(quotas.total(), 2 << 30);
        assert_eq!(env.contains("JVM_ARGS"), host == "jvm", "{env}");
        assert_eq!(
            env.contains("DOTNET_GCHeapHardLimit"),
            host == "dotnet",
            "{env}"
        );
        let mut json_args = args.to_vec();
        json_args.extend(["--format", "json"]);
        let j: Value = serde_json::from_str(&stdout(&plan(&json_args))).unwrap();
        assert_eq!(j["host"], host);
    }
}

#[test]
fn kubernetes_formats() {
    let out = plan(&[
        "--no-container",
        "-D",
        "taskmanager.memory.process.size=1728m",
        "-D",
        "kubernetes.taskmanager.memory.limit-factor=1.5",
        "--format",
        "k8s",
    ]);
    assert!(
        stdout(&out).ends_with("limits:\n    memory: \"2592Mi\"\n"),
        "{}",
        stdout(&out)
    );
    let out = plan(&[
        "--no-container",
        "--role",
        "jobmanager",
        "-D",
        "jobmanager.memory.process.size=1600m",
        "--format",
        "flink-deployment",
    ]);
    let text = stdout(&out);
    assert!(text.contains("kind: FlinkDeployment\n"), "{text}");
    assert!(
        text.contains("    jobmanager.memory.heap.size: \"1073741824b\"\n"),
        "{text}"
    );
    assert!(
        text.ends_with("  jobManager:\n    resource:\n      memory: \"1600m\"\n"),
        "{text}"
    );
}

#[test]
fn config_section_and_format_without_a_config_file_are_errors_not_ignored() {
    for args in [
        &["--config-section", "Flink"][..],
        &["--config-format", "json"][..],
    ] {
        let out = plan(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}");
        assert!(
            stderr(&out).contains("required arguments were not provided:\n  --config <FILE>"),
            "{args:?}: {}",
            stderr(&out)
        );
    }
}
