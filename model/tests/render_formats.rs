//! The text, env and k8s renderings (and the format dispatcher) for TaskManager and
//! JobManager plans.

use membudget_model::render::{render_env, render_k8s, render_text, OutputFormat, TextStyle};
use membudget_model::{Category, HostProfile, Quotas};
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
    assert!(
        text.contains("\nmembudget quotas (jvm host):\n  heap      512.000mb (536870902 bytes)\n")
    );
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
        "export MEMBUDGET_QUOTA_ROLE=taskmanager\n\
         export MEMBUDGET_QUOTA_HEAP=536870902\n\
         export MEMBUDGET_QUOTA_DIRECT=134217728\n\
         export MEMBUDGET_QUOTA_MANAGED=536870920\n\
         export MEMBUDGET_QUOTA_NETWORK=134217730\n\
         export MEMBUDGET_QUOTA_OVERHEAD=469762048\n\
         export MEMBUDGET_QUOTA_TOTAL=1811939328\n\
         export JVM_ARGS='-Xmx536870902 -Xms536870902 -XX:MaxDirectMemorySize=268435458 \
         -XX:MaxMetaspaceSize=268435456'\n"
    );
    // .NET: the heap quota as the GC's hard limit (hexadecimal), no JVM arguments.
    let dotnet = render_env(&tm_1280().with_host(HostProfile::Dotnet));
    assert!(
        dotnet.ends_with(
            "export MEMBUDGET_QUOTA_TOTAL=1811939328\nexport DOTNET_GCHeapHardLimit=0x1FFFFFF6\n"
        ),
        "{dotnet}"
    );
    assert_eq!(0x1FFFFFF6, 536870902);
    // Native: the quotas only, the heap quota including metaspace's share.
    let native = render_env(&tm_1280().with_host(HostProfile::Native));
    assert!(
        native.contains("export MEMBUDGET_QUOTA_HEAP=805306358\n"),
        "{native}"
    );
    assert!(
        native.ends_with("export MEMBUDGET_QUOTA_TOTAL=1811939328\n"),
        "{native}"
    );
}

#[test]
fn env_quotas_sum_to_the_process_total() {
    for host in HostProfile::ALL {
        let p = tm_1280().with_host(host);
        let sum: u64 = render_env(&p)
            .lines()
            .filter_map(|l| l.strip_prefix("export MEMBUDGET_QUOTA_"))
            .filter(|l| !l.starts_with("TOTAL=") && !l.starts_with("ROLE="))
            .map(|l| l.split_once('=').unwrap().1.parse::<u64>().unwrap())
            .sum();
        assert_eq!(sum, p.total_process_memory(), "{host}");
    }
}

/// `plan --format env` → environment → `Quotas::from_env()` gives back `plan.quotas()`, role
/// included, for every host and role.
#[test]
fn env_round_trips_through_quotas_from_env() {
    let jm = plan(
        Role::JobManager,
        &[("jobmanager.memory.process.size", "1600m")],
    );
    for p in [tm_1280(), jm] {
        for host in HostProfile::ALL {
            let p = p.clone().with_host(host);
            let vars: Vec<(String, String)> = render_env(&p)
                .lines()
                .map(|l| {
                    let (k, v) = l.strip_prefix("export ").unwrap().split_once('=').unwrap();
                    (k.to_owned(), v.to_owned())
                })
                .collect();
            assert_eq!(Quotas::from_env_vars(vars), Ok(p.quotas()), "{host}");
        }
    }
}

#[test]
fn host_profiles_keep_flinks_components_and_the_total() {
    for (role, props) in [
        (
            Role::TaskManager,
            &[("taskmanager.memory.process.size", "4g")][..],
        ),
        (
            Role::JobManager,
            &[("jobmanager.memory.process.size", "2g")][..],
        ),
    ] {
        let jvm = plan(role, props);
        for host in HostProfile::ALL {
            let p = jvm.clone().with_host(host);
            assert_eq!(p.check(), Ok(()), "{host}");
            let q = p.quotas();
            let sum: u64 = Category::ALL.iter().map(|c| q.get(*c)).sum();
            assert_eq!(
                (sum, q.total()),
                (p.total_process_memory(), p.total_process_memory())
            );
            assert_eq!(q.role(), role);
            // Flink's components and JVM arguments never change with the host.
            assert_eq!(
                p.to_json()["total_flink_memory"],
                jvm.to_json()["total_flink_memory"]
            );
            assert_eq!(p.jvm_args(), jvm.jvm_args());
            assert_eq!(p.dynamic_configs(), jvm.dynamic_configs());
            for c in [Category::Direct, Category::Managed, Category::Network] {
                assert_eq!(q.get(c), jvm.quotas().get(c), "{host} {c}");
            }
        }
        let metaspace = 256 << 20;
        let native = jvm.clone().with_host(HostProfile::Native).quotas();
        let dotnet = jvm.clone().with_host(HostProfile::Dotnet).quotas();
        assert_eq!(
            native.get(Category::Heap),
            jvm.quotas().get(Category::Heap) + metaspace
        );
        assert_eq!(
            native.get(Category::Overhead),
            jvm.quotas().get(Category::Overhead) - metaspace
        );
        assert_eq!(dotnet, jvm.quotas());
    }
}

#[test]
fn k8s_snippet() {
    assert_eq!(
        render_k8s(&tm_1280()),
        "# membudget: taskmanager total process memory = 1811939328 bytes, memory limit factor 1.0\n\
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
            OutputFormat::DynamicConfigs => "-D taskmanager.memory.network.min=134217730b",
            OutputFormat::Env => "export MEMBUDGET_QUOTA_ROLE=taskmanager\n",
            OutputFormat::K8s => "# membudget:",
            OutputFormat::FlinkDeployment => "# membudget:",
        };
        assert!(out.starts_with(expected_start), "{format}: {out}");
    }
    let json: serde_json::Value =
        serde_json::from_str(&OutputFormat::Json.render(&p, TextStyle::plain())).unwrap();
    assert_eq!(json, p.to_json());
}

#[test]
fn k8s_limit_factor_multiplies_the_request_as_flink_does() {
    let p = plan(
        Role::TaskManager,
        &[
            ("taskmanager.memory.process.size", "1728m"),
            ("kubernetes.taskmanager.memory.limit-factor", "1.1"),
        ],
    );
    // KubernetesUtils.getResourceRequirements: (int) (1728 * 1.1) = 1900 MiB.
    assert_eq!(
        render_k8s(&p),
        "# membudget: taskmanager total process memory = 1811939328 bytes, memory limit factor 1.1\n\
         resources:\n  requests:\n    memory: \"1728Mi\"\n  limits:\n    memory: \"1900Mi\"\n"
    );
    let jm = plan(
        Role::JobManager,
        &[
            ("jobmanager.memory.process.size", "1600m"),
            ("kubernetes.jobmanager.memory.limit-factor", "2"),
            // The TaskManager's factor does not apply to a JobManager.
            ("kubernetes.taskmanager.memory.limit-factor", "3"),
        ],
    );
    assert!(
        render_k8s(&jm).ends_with("limits:\n    memory: \"3200Mi\"\n"),
        "{}",
        render_k8s(&jm)
    );
    // Flink rejects a factor below 1 (KubernetesTaskManagerParameters).
    let err = membudget_model::derive(
        Role::TaskManager,
        &[
            ("taskmanager.memory.process.size", "1728m"),
            ("kubernetes.taskmanager.memory.limit-factor", "0.5"),
        ]
        .into_iter()
        .collect(),
    )
    .unwrap_err();
    assert_eq!(
        err.message(),
        "kubernetes.taskmanager.memory.limit-factor should be greater or equal to 1."
    );
    assert_eq!(
        err.key(),
        Some("kubernetes.taskmanager.memory.limit-factor")
    );
}

#[test]
fn flink_deployment_pins_every_component() {
    let p = plan(
        Role::TaskManager,
        &[
            ("taskmanager.memory.process.size", "1728m"),
            ("kubernetes.taskmanager.memory.limit-factor", "1.5"),
        ],
    );
    assert_eq!(
        OutputFormat::FlinkDeployment.render(&p, TextStyle::plain()),
        "# membudget: taskmanager total process memory = 1811939328 bytes
apiVersion: flink.apache.org/v1beta1
kind: FlinkDeployment
spec:
  flinkConfiguration:
    taskmanager.memory.framework.heap.size: \"134217728b\"
    taskmanager.memory.task.heap.size: \"402653174b\"
    taskmanager.memory.framework.off-heap.size: \"134217728b\"
    taskmanager.memory.task.off-heap.size: \"0b\"
    taskmanager.memory.managed.size: \"536870920b\"
    taskmanager.memory.network.min: \"134217730b\"
    taskmanager.memory.network.max: \"134217730b\"
    taskmanager.memory.jvm-metaspace.size: \"268435456b\"
    taskmanager.memory.jvm-overhead.min: \"201326592b\"
    taskmanager.memory.jvm-overhead.max: \"201326592b\"
    kubernetes.taskmanager.memory.limit-factor: \"1.5\"
  taskManager:
    resource:
      memory: \"1728m\"
"
    );
    // What the operator hands Flink — resource.memory as process.size plus the pins — derives
    // exactly this plan again.
    let mut again: Vec<(String, String)> =
        vec![("taskmanager.memory.process.size".into(), "1728m".into())];
    for line in OutputFormat::FlinkDeployment
        .render(&p, TextStyle::plain())
        .lines()
    {
        if let Some((k, v)) = line.trim().split_once(": \"") {
            if k.contains('.') {
                again.push((k.to_owned(), v.trim_end_matches('"').to_owned()));
            }
        }
    }
    let again = membudget_model::derive(Role::TaskManager, &again.into_iter().collect()).unwrap();
    let numbers = |plan: &MemoryPlan| {
        let mut v = plan.to_json();
        let map = v.as_object_mut().unwrap();
        map.remove("sources");
        map.remove("warnings");
        v
    };
    assert_eq!(numbers(&again), numbers(&p));

    let jm = plan(
        Role::JobManager,
        &[
            ("jobmanager.memory.process.size", "1600m"),
            ("jobmanager.memory.enable-jvm-direct-memory-limit", "true"),
        ],
    );
    let out = OutputFormat::FlinkDeployment.render(&jm, TextStyle::plain());
    assert!(
        out.contains("    jobmanager.memory.heap.size: \"1073741824b\"\n"),
        "{out}"
    );
    assert!(
        out.contains("    jobmanager.memory.enable-jvm-direct-memory-limit: \"true\"\n"),
        "{out}"
    );
    assert!(
        out.ends_with("  jobManager:\n    resource:\n      memory: \"1600m\"\n"),
        "{out}"
    );
}
