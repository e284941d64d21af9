//! The JSON contract of a plan: keys, order, integers in bytes, categories, JVM args.

use membudget_model::{derive, Configuration, Role};

fn plan(role: Role, pairs: &[(&str, &str)]) -> membudget_model::MemoryPlan {
    let c: Configuration = pairs.iter().copied().collect();
    derive(role, &c).unwrap()
}

#[test]
fn taskmanager_json_contract() {
    let p = plan(
        Role::TaskManager,
        &[("taskmanager.memory.flink.size", "1280m")],
    );
    let v = p.to_json();
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    for k in [
        "role",
        "host",
        "total_process_memory",
        "total_flink_memory",
        "framework_heap",
        "task_heap",
        "framework_off_heap",
        "task_off_heap",
        "managed",
        "network",
        "jvm_metaspace",
        "jvm_overhead",
        "segment_size",
        "network_buffers",
        "cpu_cores",
        "num_task_slots",
        "categories",
        "jvm_args",
        "warnings",
        "sources",
    ] {
        assert!(keys.contains(&k), "missing {k}");
    }
    assert_eq!(keys.len(), 20);
    assert_eq!(v["role"], "taskmanager");
    assert_eq!(v["host"], "jvm");
    assert_eq!(v["cpu_cores"], 1.0);
    assert_eq!(v["num_task_slots"], 1);
    assert_eq!(v["total_process_memory"], 1811939328u64);
    assert_eq!(v["managed"], 536870920u64);
    assert_eq!(v["network"], 134217730u64);
    assert_eq!(v["task_heap"], 402653174u64);
    assert_eq!(v["segment_size"], 32768u64);
    assert_eq!(v["network_buffers"], 4096u64);
    assert_eq!(v["categories"]["heap"], 536870902u64);
    assert_eq!(v["categories"]["direct"], 134217728u64);
    assert_eq!(v["categories"]["managed"], 536870920u64);
    assert_eq!(v["categories"]["network"], 134217730u64);
    assert_eq!(v["categories"]["overhead"], 268435456u64 + 201326592);
    assert_eq!(
        v["jvm_args"],
        "-Xmx536870902 -Xms536870902 -XX:MaxDirectMemorySize=268435458 -XX:MaxMetaspaceSize=268435456"
    );
    assert_eq!(v["sources"]["taskmanager.memory.flink.size"], "dynamic");
    assert_eq!(
        v["sources"]["taskmanager.memory.framework.heap.size"],
        "default"
    );
    assert!(v["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .all(|w| w.is_string()));

    // The pretty string is the same document, keys in contract order.
    let text = p.to_json_string();
    let reparsed: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(reparsed, v);
    let pos = |k: &str| text.find(&format!("\"{k}\"")).unwrap();
    assert!(pos("role") < pos("total_process_memory"));
    assert!(pos("network_buffers") < pos("categories"));
    assert!(pos("jvm_args") < pos("warnings"));
    assert!(pos("warnings") < pos("sources"));
}

#[test]
fn jobmanager_json_contract() {
    let p = plan(
        Role::JobManager,
        &[("jobmanager.memory.process.size", "1600m")],
    );
    let v = p.to_json();
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys.len(), 12, "{keys:?}");
    assert_eq!(v["role"], "jobmanager");
    assert_eq!(v["host"], "jvm");
    assert_eq!(v["total_process_memory"], 1677721600u64);
    assert_eq!(v["total_flink_memory"], 1207959552u64);
    assert_eq!(v["jvm_heap"], 1073741824u64);
    assert_eq!(v["off_heap"], 134217728u64);
    assert_eq!(v["jvm_metaspace"], 268435456u64);
    assert_eq!(v["jvm_overhead"], 201326592u64);
    assert_eq!(v["categories"]["heap"], 1073741824u64);
    assert_eq!(v["categories"]["direct"], 134217728u64);
    assert_eq!(v["categories"]["managed"], 0);
    assert_eq!(v["categories"]["network"], 0);
    assert_eq!(v["categories"]["overhead"], 469762048u64);
    assert_eq!(
        v["jvm_args"],
        "-Xmx1073741824 -Xms1073741824 -XX:MaxMetaspaceSize=268435456"
    );
    // What BashJavaUtils GET_JM_RESOURCE_PARAMS prints (Flink 1.20.3 and 2.1.1).
    assert_eq!(
        p.dynamic_configs(),
        "-D jobmanager.memory.off-heap.size=134217728b -D jobmanager.memory.jvm-overhead.min=201326592b \
         -D jobmanager.memory.jvm-metaspace.size=268435456b -D jobmanager.memory.heap.size=1073741824b \
         -D jobmanager.memory.jvm-overhead.max=201326592b"
    );
}

#[test]
fn quotas_add_up_to_the_process() {
    for (role, pairs) in [
        (
            Role::TaskManager,
            vec![("taskmanager.memory.process.size", "4g")],
        ),
        (
            Role::JobManager,
            vec![("jobmanager.memory.flink.size", "1g")],
        ),
    ] {
        let p = plan(role, &pairs);
        assert_eq!(
            p.check(),
            Ok(()),
            "quotas sum to the total process memory, their total"
        );
    }
}

#[test]
fn plan_mutators_for_request_layer() {
    let mut p = plan(
        Role::TaskManager,
        &[("taskmanager.memory.process.size", "2g")],
    );
    p.add_warning("note");
    p.set_source(
        "taskmanager.memory.process.size",
        membudget_model::Source::Container("/sys/fs/cgroup/memory.max".into()),
    );
    let v = p.to_json();
    assert_eq!(v["warnings"].as_array().unwrap().last().unwrap(), "note");
    assert_eq!(
        v["sources"]["taskmanager.memory.process.size"],
        "container:/sys/fs/cgroup/memory.max"
    );
    assert_eq!(p.role(), Role::TaskManager);
    assert!(p.as_jobmanager().is_none());
}
