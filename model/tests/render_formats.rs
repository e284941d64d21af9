//! The text, env and k8s renderings (and the format dispatcher) for TaskManager and
//! JobManager plans.

use membudget_model::render::{render_env, render_k8s, render_text, OutputFormat, TextStyle};
use membudget_model::{MemoryPlan, PlanRequest, Role};

fn plan(role: Role, props: &[(&str, &str)]) -> MemoryPlan {
    let mut request = PlanRequest::new(role)
        .env_vars(Vec::<(String, String)>::new())
        .container(false);
    for (k, v) in props {
        request = request.property(*k, *v);
    }
    request.plan().unwrap()
}

fn tm_1280() -> MemoryPlan {
    plan(
        Role::TaskManager,
        &[("taskmanager.memory.flink.size", "1280m")],
    )
}

#[test]
fn text_tree_taskmanager() {
    let text = render_text(&tm_1280(), TextStyle::plain());
    let expected_tree = "\
Final TaskExecutor Memory configuration:
  Total Process Memory:              1.688gb (1811939328 bytes)
  ├─ Total Flink Memory:             1.250gb (1342177280 bytes)
  │  ├─ Total JVM Heap Memory:       512.000mb (536870902 bytes)
  │  │  ├─ Framework:                128.000mb (134217728 bytes)
  │  │  └─ Task:                     384.000mb (402653174 bytes)
  │  └─ Total Off-heap Memory:       768.000mb (805306378 bytes)
  │     ├─ Managed:                  512.000mb (536870920 bytes)
  │     └─ Total JVM Direct Memory:  256.000mb (268435458 bytes)
  │        ├─ Framework:             128.000mb (134217728 bytes)
  │        ├─ Task:                  0 bytes
  │        └─ Network:               128.000mb (134217730 bytes)  (4096 buffers of 32768 bytes)
  ├─ JVM Metaspace:                  256.000mb (268435456 bytes)
  └─ JVM Overhead:                   192.000mb (201326592 bytes)
";
    assert!(text.starts_with(expected_tree), "{text}");
    assert!(text.contains("\nmembudget quotas:\n  heap      512.000mb (536870902 bytes)\n"));
    assert!(text.contains("  overhead  448.000mb (469762048 bytes)\n"));
    assert!(text.contains("  total     1.688gb (1811939328 bytes)\n"));
    assert!(text.contains(
        "JVM arguments:\n  -Xmx536870902 -Xms536870902 -XX:MaxDirectMemorySize=268435458 \
         -XX:MaxMetaspaceSize=268435456\n"
    ));
    // Explicit sources come first, then Flink's defaults.
    assert!(
        text.contains(
            "Sources:\n  taskmanager.memory.flink.size               -D\n  \
             taskmanager.memory.framework.heap.size      default\n"
        ),
        "{text}"
    );
    assert!(text.contains("  taskmanager.memory.framework.heap.size      default\n"));
    assert!(!text.contains('\x1b'), "plain text has no escape sequences");
}

#[test]
fn text_shows_warnings_and_colours_on_request() {
    let p = plan(
        Role::TaskManager,
        &[("taskmanager.memory.process.size", "1536m")],
    );
    let text = render_text(&p, TextStyle::plain());
    if !p.warnings().is_empty() {
        assert!(text.contains("Warnings:\n  ! "), "{text}");
    }
    let coloured = render_text(&p, TextStyle::colored());
    assert!(coloured.contains("\x1b[1mFinal TaskExecutor Memory configuration:\x1b[0m"));
    // Colour never changes the words.
    let stripped = strip_ansi(&coloured);
    assert_eq!(stripped, text);
}

fn strip_ansi(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            for c in chars.by_ref() {
                if c == 'm' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[test]
fn text_tree_jobmanager() {
    let p = plan(
        Role::JobManager,
        &[("jobmanager.memory.process.size", "1600m")],
    );
    let text = render_text(&p, TextStyle::plain());
    let expected = "\
Final Master Memory configuration:
  Total Process Memory:   1.563gb (1677721600 bytes)
  ├─ Total Flink Memory:  1.125gb (1207959552 bytes)
  │  ├─ JVM Heap:         1024.000mb (1073741824 bytes)
  │  └─ Off-heap:         128.000mb (134217728 bytes)  (no -XX:MaxDirectMemorySize)
  ├─ JVM Metaspace:       256.000mb (268435456 bytes)
  └─ JVM Overhead:        192.000mb (201326592 bytes)
";
    assert!(text.starts_with(expected), "{text}");
    assert!(text.contains("  managed   0 bytes\n"));
    // The one explicit source is listed before the (alphabetically earlier) defaults.
    let width = "jobmanager.memory.enable-jvm-direct-memory-limit".len();
    assert!(
        text.contains(&format!(
            "Sources:\n  {:<width$}  -D\n",
            "jobmanager.memory.process.size"
        )),
        "{text}"
    );
}

#[test]
fn env_lines() {
    let env = render_env(&tm_1280());
    assert_eq!(
        env,
        "export MEMBUDGET_QUOTA_HEAP=536870902\n\
         export MEMBUDGET_QUOTA_DIRECT=134217728\n\
         export MEMBUDGET_QUOTA_MANAGED=536870920\n\
         export MEMBUDGET_QUOTA_NETWORK=134217730\n\
         export MEMBUDGET_QUOTA_OVERHEAD=469762048\n\
         export JVM_ARGS='-Xmx536870902 -Xms536870902 -XX:MaxDirectMemorySize=268435458 \
         -XX:MaxMetaspaceSize=268435456'\n\
         export DOTNET_GCHeapHardLimit=0x1FFFFFF6\n"
    );
    assert_eq!(0x1FFFFFF6, 536870902);
}

#[test]
fn env_quotas_sum_to_the_process_total() {
    let p = tm_1280();
    let sum: u64 = render_env(&p)
        .lines()
        .filter_map(|l| l.strip_prefix("export MEMBUDGET_QUOTA_"))
        .map(|l| l.split_once('=').unwrap().1.parse::<u64>().unwrap())
        .sum();
    assert_eq!(sum, p.total_process_memory());
}

#[test]
fn k8s_snippet() {
    assert_eq!(
        render_k8s(&tm_1280()),
        "# membudget: taskmanager total process memory = 1811939328 bytes\n\
         resources:\n  requests:\n    memory: \"1728Mi\"\n  limits:\n    memory: \"1728Mi\"\n"
    );
    // A total that is no whole number of KiB is written in bytes.
    let odd = plan(
        Role::TaskManager,
        &[
            ("taskmanager.memory.flink.size", "1280m"),
            ("taskmanager.memory.jvm-overhead.min", "1"),
            ("taskmanager.memory.jvm-overhead.max", "1"),
        ],
    );
    assert_eq!(odd.total_process_memory(), 1610612737);
    assert!(
        render_k8s(&odd).contains("    memory: \"1610612737\"\n"),
        "{}",
        render_k8s(&odd)
    );
}

#[test]
fn dispatcher_covers_every_format() {
    let p = tm_1280();
    for format in OutputFormat::ALL {
        let out = format.render(&p, TextStyle::plain());
        assert!(out.ends_with('\n'), "{format}");
        let expected_start = match format {
            OutputFormat::Text => "Final TaskExecutor",
            OutputFormat::Json => "{",
            OutputFormat::JvmArgs => "-Xmx536870902 ",
            OutputFormat::DynamicConfigs => "-D taskmanager.memory.framework.heap.size=134217728b",
            OutputFormat::Env => "export MEMBUDGET_QUOTA_HEAP=",
            OutputFormat::K8s => "# membudget:",
        };
        assert!(out.starts_with(expected_start), "{format}: {out}");
    }
    let json: serde_json::Value =
        serde_json::from_str(&OutputFormat::Json.render(&p, TextStyle::plain())).unwrap();
    assert_eq!(json, p.to_json());
}
