//! Every configuration source — flat `flink-conf.yaml`, nested `config.yaml`,
//! `appsettings.json`, `MEMBUDGET_*`, `FLINK_PROPERTIES`, `FLINK_TM_HEAP`/`FLINK_JM_HEAP`, `-D` —
//! and their precedence, through `PlanRequest`.

use std::fs;
use std::path::{Path, PathBuf};

use membudget_model::{ConfigErrorKind, MemoryPlan, PlanRequest, Role, Source};

/// A request that sees only what the test gives it: no process environment, no container.
fn request(role: Role) -> PlanRequest {
    PlanRequest::new(role)
        .env_vars(Vec::<(String, String)>::new())
        .container(false)
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, text).unwrap();
    path
}

fn tm(plan: &MemoryPlan) -> &membudget_model::TaskManagerPlan {
    plan.as_taskmanager().unwrap()
}

fn source(plan: &MemoryPlan, key: &str) -> Source {
    plan.sources()
        .get(key)
        .unwrap_or_else(|| panic!("no source for {key}: {:?}", plan.sources()))
        .clone()
}

const FLAT: &str = "\
# Flink's flat configuration
jobmanager.rpc.address: localhost
taskmanager.numberOfTaskSlots: 4
taskmanager.memory.flink.size: 1280m   # the worked example
taskmanager.memory.managed.fraction: 0.5
taskmanager.memory.managed.consumer-weights: OPERATOR:70,STATE_BACKEND:70,PYTHON:30
";

#[test]
fn flat_flink_conf_yaml() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "flink-conf.yaml", FLAT);
    let plan = request(Role::TaskManager)
        .config_file(&path)
        .plan()
        .unwrap();
    // Reference doc: flink.size=1280m, managed.fraction=0.5.
    assert_eq!(tm(&plan).managed, 671088640);
    assert_eq!(tm(&plan).task_heap, 268435454);
    assert_eq!(
        source(&plan, "taskmanager.memory.flink.size"),
        Source::File(path.clone())
    );
    assert_eq!(
        source(&plan, "taskmanager.memory.managed.fraction"),
        Source::File(path)
    );
}

#[test]
fn flat_file_skipped_lines_become_warnings() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "flink-conf.yaml",
        "taskmanager.memory.process.size: 1536m\ntaskmanager.memory.managed.fraction:0.5\n",
    );
    let plan = request(Role::TaskManager)
        .config_file(&path)
        .plan()
        .unwrap();
    // The line without a space after ':' is ignored (as Flink does) but reported.
    assert_eq!(tm(&plan).managed, 456340282);
    assert!(
        plan.warnings()
            .iter()
            .any(|w| w.contains("line 2") && w.contains("missing space after ':'")),
        "{:?}",
        plan.warnings()
    );
}

#[test]
fn nested_config_yaml() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "config.yaml",
        "\
jobmanager:
  rpc:
    address: localhost
taskmanager:
  numberOfTaskSlots: 2
  memory:
    process:
      size: 1536m
    managed:
      consumer-weights: {OPERATOR: 70, STATE_BACKEND: 70}
env:
  java:
    opts:
      all: [-XX:+UseG1GC]
",
    );
    let plan = request(Role::TaskManager)
        .config_file(&path)
        .plan()
        .unwrap();
    // Reference doc: process.size=1536m.
    assert_eq!(tm(&plan).total_flink_memory, 1140850688);
    assert_eq!(tm(&plan).managed, 456340282);
    assert_eq!(
        source(&plan, "taskmanager.memory.process.size"),
        Source::File(path)
    );
}

#[test]
fn appsettings_json_nested_and_case_insensitive() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "appsettings.json",
        r#"{
  "Logging": { "LogLevel": { "Default": "Information" } },
  "TaskManager": {
    "Memory": {
      "Task.Heap.Size": "100m",
      "Managed": { "Size": "200m" }
    }
  }
}"#,
    );
    let plan = request(Role::TaskManager)
        .config_file(&path)
        .plan()
        .unwrap();
    // Reference doc: task.heap.size=100m, managed.size=200m.
    assert_eq!(tm(&plan).network, 67108864);
    assert_eq!(tm(&plan).total_flink_memory, 650117120);
    assert_eq!(tm(&plan).total_process_memory, 1119879168);
    assert_eq!(
        source(&plan, "taskmanager.memory.managed.size"),
        Source::File(path)
    );
}

#[test]
fn format_is_sniffed_for_other_names() {
    let dir = tempfile::tempdir().unwrap();
    let json = write(
        dir.path(),
        "memory.conf",
        r#"{"jobmanager": {"memory": {"process.size": "1600m"}}}"#,
    );
    let nested = write(
        dir.path(),
        "memory.yml",
        "jobmanager:\n  memory:\n    process.size: 1600m\n",
    );
    let flat = write(
        dir.path(),
        "memory.yml.txt",
        "jobmanager.memory.process.size: 1600m\n",
    );
    for path in [json, nested, flat] {
        let plan = request(Role::JobManager).config_file(&path).plan().unwrap();
        let jm = plan.as_jobmanager().unwrap();
        assert_eq!(jm.jvm_heap, 1073741824, "{}", path.display());
    }
}

#[test]
fn membudget_env_vars() {
    let plan = request(Role::TaskManager)
        .env_vars([
            ("MEMBUDGET_TASKMANAGER_MEMORY_PROCESS_SIZE", "1536m"),
            ("MEMBUDGET_QUOTA_HEAP", "12345"), // read by hosts, not an option
            ("MEMBUDGET_FAULT_PROBABILITY", "network=0.001"),
            ("MEMBUDGET_FAULT_SEED", "7"),
            ("MEMBUDGET_REPORT_REFUSALS", "1"),
            ("MEMBUDGET_LIBRARY", "/opt/membudget/lib"), // the Python host's
            ("MEMBUDGET_BUNDLE_LIBRARY", "/tmp/libmembudget.so"),
            ("MEMBUDGET_BLESS", "1"),
            ("HOME", "/root"),
        ])
        .plan()
        .unwrap();
    assert_eq!(tm(&plan).managed, 456340282);
    assert_eq!(
        source(&plan, "taskmanager.memory.process.size"),
        Source::Env("MEMBUDGET_TASKMANAGER_MEMORY_PROCESS_SIZE".into())
    );
}

#[test]
fn membudget_env_var_for_a_deprecated_key() {
    let plan = request(Role::TaskManager)
        .env_vars([
            ("MEMBUDGET_TASKMANAGER_MEMORY_PROCESS_SIZE", "1536m"),
            ("MEMBUDGET_TASKMANAGER_NETWORK_MEMORY_MIN", "200m"),
        ])
        .plan()
        .unwrap();
    assert_eq!(tm(&plan).network, 200 << 20);
}

#[test]
fn unknown_membudget_env_var_is_an_error_with_a_suggestion() {
    let err = request(Role::TaskManager)
        .env_vars([("MEMBUDGET_TASKMANAGER_MEMORY_FLINK_SIZ", "1g")])
        .plan()
        .unwrap_err();
    assert_eq!(err.kind(), ConfigErrorKind::UnknownKey);
    assert!(
        err.message().contains(
            "Did you mean MEMBUDGET_TASKMANAGER_MEMORY_FLINK_SIZE (sets 'taskmanager.memory.flink.size')"
        ),
        "{err}"
    );
    assert_eq!(err.key(), Some("MEMBUDGET_TASKMANAGER_MEMORY_FLINK_SIZ"));
}

#[test]
fn flink_properties() {
    let plan = request(Role::JobManager)
        .env_vars([(
            "FLINK_PROPERTIES",
            "jobmanager.rpc.address: jm\njobmanager.memory.process.size: 1600m\n",
        )])
        .plan()
        .unwrap();
    assert_eq!(plan.as_jobmanager().unwrap().jvm_heap, 1073741824);
    assert_eq!(
        source(&plan, "jobmanager.memory.process.size"),
        Source::Env("FLINK_PROPERTIES".into())
    );
}

#[test]
fn misspelt_key_in_flink_properties() {
    let err = request(Role::JobManager)
        .env_vars([("FLINK_PROPERTIES", "jobmanager.memory.proces.size: 1600m")])
        .plan()
        .unwrap_err();
    assert_eq!(
        err.message(),
        "Unknown memory option 'jobmanager.memory.proces.size' (in FLINK_PROPERTIES, line 1). \
         Did you mean 'jobmanager.memory.process.size'?"
    );
}

#[test]
fn flink_tm_heap_is_the_legacy_heap_size() {
    // Legacy taskmanager.heap.size maps to total Flink memory.
    let plan = request(Role::TaskManager)
        .env_vars([("FLINK_TM_HEAP", "1280m")])
        .plan()
        .unwrap();
    assert_eq!(tm(&plan).total_flink_memory, 1280 << 20);
    assert_eq!(tm(&plan).managed, 536870920);
    // The environment beats the file's legacy key (as Flink's config.sh did) ...
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "flink-conf.yaml", "taskmanager.heap.size: 2g\n");
    let plan = request(Role::TaskManager)
        .config_file(&path)
        .env_vars([("FLINK_TM_HEAP", "1280m")])
        .plan()
        .unwrap();
    assert_eq!(tm(&plan).total_flink_memory, 1280 << 20);
    // ... but not the new option.
    let plan = request(Role::TaskManager)
        .env_vars([("FLINK_TM_HEAP", "1280m")])
        .property("taskmanager.memory.flink.size", "1g")
        .plan()
        .unwrap();
    assert_eq!(tm(&plan).total_flink_memory, 1 << 30);
}

#[test]
fn flink_jm_heap_is_the_legacy_heap_size() {
    let plan = request(Role::JobManager)
        .env_vars([("FLINK_JM_HEAP", "1g")])
        .plan()
        .unwrap();
    let jm = plan.as_jobmanager().unwrap();
    assert_eq!(jm.jvm_heap, 1 << 30);
    assert_eq!(jm.off_heap, 128 << 20);
}

#[test]
fn precedence_file_env_dynamic() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "flink-conf.yaml",
        "taskmanager.memory.process.size: 1g\n\
         taskmanager.memory.managed.fraction: 0.1\n\
         taskmanager.memory.network.fraction: 0.2\n",
    );
    let env = [
        (
            "FLINK_PROPERTIES",
            "taskmanager.memory.process.size: 2g\ntaskmanager.memory.managed.fraction: 0.2",
        ),
        ("MEMBUDGET_TASKMANAGER_MEMORY_PROCESS_SIZE", "1536m"),
    ];
    let plan = request(Role::TaskManager)
        .config_file(&path)
        .env_vars(env)
        .dynamic_property("taskmanager.memory.managed.fraction=0.4")
        .plan()
        .unwrap();
    assert_eq!(
        source(&plan, "taskmanager.memory.process.size"),
        Source::Env("MEMBUDGET_TASKMANAGER_MEMORY_PROCESS_SIZE".into())
    );
    assert_eq!(
        source(&plan, "taskmanager.memory.managed.fraction"),
        Source::Dynamic
    );
    assert_eq!(
        source(&plan, "taskmanager.memory.network.fraction"),
        Source::File(path)
    );
    assert_eq!(
        source(&plan, "taskmanager.memory.framework.heap.size"),
        Source::Default
    );
    assert_eq!(tm(&plan).total_flink_memory, 1140850688);
    assert_eq!(tm(&plan).managed, 456340282);
}

#[test]
fn later_dynamic_properties_win() {
    let plan = request(Role::TaskManager)
        .dynamic_property("taskmanager.memory.process.size=1g")
        .property("taskmanager.memory.process.size", "1536m")
        .plan()
        .unwrap();
    assert_eq!(tm(&plan).total_process_memory, 1536 << 20);
}

#[test]
fn misspelt_memory_keys_are_errors_other_keys_are_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "flink-conf.yaml",
        "state.backend.type: rocksdb\ntaskmanager.memory.proces.size: 1g\n",
    );
    let err = request(Role::TaskManager)
        .config_file(&path)
        .plan()
        .unwrap_err();
    assert_eq!(err.kind(), ConfigErrorKind::UnknownKey);
    assert_eq!(
        err.message(),
        format!(
            "Unknown memory option 'taskmanager.memory.proces.size' (in {}:2). \
             Did you mean 'taskmanager.memory.process.size'?",
            path.display()
        )
    );
    assert_eq!(
        err.keys(),
        [
            "taskmanager.memory.proces.size",
            "taskmanager.memory.process.size"
        ]
    );

    let err = request(Role::TaskManager)
        .dynamic_property("taskmanager.memroy.process.size=1g")
        .plan()
        .unwrap_err();
    assert!(
        err.message()
            .ends_with("(given with -D). Did you mean 'taskmanager.memory.process.size'?"),
        "{err}"
    );
}

#[test]
fn every_real_memory_key_is_accepted() {
    for key in membudget_model::options::known_memory_keys() {
        let result = request(Role::TaskManager)
            .property("taskmanager.memory.process.size", "1536m")
            .property(*key, "1")
            .resolve();
        assert!(result.is_ok(), "{key}: {:?}", result.err());
    }
}

#[test]
fn bad_dynamic_property() {
    let err = request(Role::TaskManager)
        .dynamic_property("taskmanager.memory.process.size")
        .plan()
        .unwrap_err();
    assert_eq!(err.kind(), ConfigErrorKind::InvalidValue);
    assert!(err.message().contains("expected key=value"), "{err}");
}

#[test]
fn unreadable_and_invalid_files() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.yaml");
    let err = request(Role::TaskManager)
        .config_file(&missing)
        .plan()
        .unwrap_err();
    assert_eq!(err.kind(), ConfigErrorKind::Source);
    assert!(
        err.message().starts_with(&format!(
            "Cannot read configuration file {}",
            missing.display()
        )),
        "{err}"
    );

    let yaml = write(dir.path(), "config.yaml", "taskmanager:\n  memory: [\n");
    let err = request(Role::TaskManager)
        .config_file(&yaml)
        .plan()
        .unwrap_err();
    assert!(
        err.message().starts_with(&format!(
            "Cannot parse {} as nested config.yaml: ",
            yaml.display()
        )),
        "{err}"
    );

    let json = write(dir.path(), "appsettings.json", "{\"a\": }");
    let err = request(Role::TaskManager)
        .config_file(&json)
        .plan()
        .unwrap_err();
    assert!(
        err.message().starts_with(&format!(
            "Cannot parse {} as appsettings.json: ",
            json.display()
        )),
        "{err}"
    );
}

#[test]
fn values_are_checked_by_the_derivation_with_their_key() {
    let err = request(Role::TaskManager)
        .env_vars([("MEMBUDGET_TASKMANAGER_MEMORY_PROCESS_SIZE", "lots")])
        .plan()
        .unwrap_err();
    assert_eq!(err.key(), Some("taskmanager.memory.process.size"), "{err}");
}

#[test]
fn the_process_environment_is_read_by_default() {
    // Only checks that reading the real environment works; its content is the machine's.
    let result = PlanRequest::new(Role::TaskManager)
        .container(false)
        .property("taskmanager.memory.process.size", "1536m")
        .resolve();
    if let Err(e) = result {
        // Only a MEMBUDGET_* typo in the real environment could cause this.
        assert_eq!(e.kind(), ConfigErrorKind::UnknownKey, "{e}");
    }
}
