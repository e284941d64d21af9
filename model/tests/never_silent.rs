//! Never silently wrong: every value a source holds is applied, or the plan says why not (a
//! warning, an error under `--strict`). And Flink's own input tolerance: what Flink accepts is
//! accepted, what it rejects is rejected.

use std::fs;
use std::path::{Path, PathBuf};

use membudget_core::{Category, IncreaseHint};
use membudget_model::config::FileFormat;
use membudget_model::{ConfigErrorKind, HostProfile, MemoryPlan, PlanRequest, Role};

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

fn warning<'a>(plan: &'a MemoryPlan, start: &str) -> &'a str {
    plan.warnings()
        .iter()
        .find(|w| w.contains(start))
        .unwrap_or_else(|| panic!("no warning with {start:?}: {:?}", plan.warnings()))
}

#[test]
fn dotnet_flink_section_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "appsettings.json",
        r#"{ "Logging": { "LogLevel": { "Default": "Information" } },
             "Flink": { "TaskManager": { "Memory": { "Process": { "Size": "4096m" } } } } }"#,
    );
    let plan = request(Role::TaskManager)
        .config_file(&path)
        .plan()
        .unwrap();
    assert_eq!(plan.total_process_memory(), 4096 << 20);
    // Another section by name (nested, any case).
    let path = write(
        dir.path(),
        "appsettings.Production.json",
        r#"{ "App": { "Worker": { "taskmanager.memory.process.size": "2g" } } }"#,
    );
    let plan = request(Role::TaskManager)
        .config_file(&path)
        .config_section("app:worker")
        .plan()
        .unwrap();
    assert_eq!(plan.total_process_memory(), 2 << 30);
    let err = request(Role::TaskManager)
        .config_file(&path)
        .config_section("Flink")
        .plan()
        .unwrap_err();
    assert_eq!(err.kind(), ConfigErrorKind::Source);
    assert!(
        err.message()
            .ends_with("there is no section 'Flink' (no object 'Flink' at the top level)"),
        "{err}"
    );
}

#[test]
fn a_file_without_memory_options_is_a_warning_or_with_strict_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let empty = write(dir.path(), "flink-conf.yaml", "# nothing yet\n\n");
    let plan = request(Role::TaskManager)
        .config_file(&empty)
        .plan()
        .unwrap();
    // The distribution default sizes the plan, and the plan says the file did nothing.
    assert_eq!(plan.total_process_memory(), 1728 << 20);
    assert_eq!(
        warning(&plan, "is empty"),
        format!(
            "{} is empty: nothing in it is applied to the plan.",
            empty.display()
        )
    );
    let err = request(Role::TaskManager)
        .config_file(&empty)
        .strict(true)
        .plan()
        .unwrap_err();
    assert_eq!(err.kind(), ConfigErrorKind::NotApplied);
    assert!(
        err.message()
            .ends_with("(--strict: a value that is not applied is an error)"),
        "{err}"
    );

    // .NET settings outside a Flink section: the hint says where they belong.
    let json = write(
        dir.path(),
        "appsettings.json",
        r#"{"Logging": {"Level": "Info"}}"#,
    );
    let plan = request(Role::TaskManager)
        .config_file(&json)
        .plan()
        .unwrap();
    assert!(warning(&plan, "sets no memory option").contains("top-level \"Flink\" section"));
}

#[test]
fn a_misnamed_flat_file_stays_flat_and_its_bad_memory_line_is_loud() {
    let dir = tempfile::tempdir().unwrap();
    let text = "taskmanager.memory.managed.fraction: 0.5\ntaskmanager.memory.process.size:4096m\n";
    let path = write(dir.path(), "worker.conf", text);
    let plan = request(Role::TaskManager)
        .config_file(&path)
        .plan()
        .unwrap();
    // Guessed flat (not nested: the broken line is no evidence of nesting), and says so.
    assert!(warning(&plan, "guessed from its content").contains("as flat flink-conf.yaml"));
    // Flink skips the broken line; the plan says that process.size was not applied.
    assert_eq!(
        warning(&plan, "Ignored line 2"),
        format!(
            "Ignored line 2 of {} ('taskmanager.memory.process.size:4096m'): it is not a key-value \
             pair (missing space after ':'?); Flink skips it too. It sets the memory option \
             'taskmanager.memory.process.size', which is therefore NOT applied.",
            path.display()
        )
    );
    assert_eq!(plan.total_process_memory(), 1728 << 20);
    // Named flink-conf.yaml: the same, minus the guess.
    let named = write(dir.path(), "flink-conf.yaml", text);
    let plan = request(Role::TaskManager)
        .config_file(&named)
        .plan()
        .unwrap();
    assert!(!plan.warnings().iter().any(|w| w.contains("guessed")));
    assert!(warning(&plan, "Ignored line 2").contains("NOT applied"));
    let err = request(Role::TaskManager)
        .config_file(&named)
        .strict(true)
        .plan()
        .unwrap_err();
    assert!(err.message().starts_with("Ignored line 2 of "), "{err}");
    // A skipped line without a memory key is only a warning, even with --strict.
    let other = write(
        dir.path(),
        "other/flink-conf.yaml".replace('/', "_").as_str(),
        "taskmanager.memory.process.size: 2g\nstate.backend:rocksdb\n",
    );
    let plan = request(Role::TaskManager)
        .config_file(&other)
        .config_format(FileFormat::FlinkConf)
        .strict(true)
        .plan()
        .unwrap();
    assert!(warning(&plan, "Ignored line 2").ends_with("Flink skips it too."));
}

#[test]
fn config_format_overrides_the_guess() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "memory.txt",
        "taskmanager:\n  memory:\n    process.size: 2g\n",
    );
    let plan = request(Role::TaskManager)
        .config_file(&path)
        .config_format(FileFormat::NestedYaml)
        .plan()
        .unwrap();
    assert_eq!(plan.total_process_memory(), 2 << 30);
    assert!(!plan.warnings().iter().any(|w| w.contains("guessed")));
    // Read as flat, the same text has no memory option (Flink's flat parser skips every line).
    let plan = request(Role::TaskManager)
        .config_file(&path)
        .config_format(FileFormat::FlinkConf)
        .plan()
        .unwrap();
    assert!(warning(&plan, "sets no memory option").contains("read as flat flink-conf.yaml"));
}

#[test]
fn unknown_keys_near_misses_error_others_warn() {
    // Within two edits of a real key: an error with a suggestion.
    for (typo, real) in [
        (
            "taskmanager.memory.proces.size",
            "taskmanager.memory.process.size",
        ),
        (
            "taskmanager.memroy.process.size",
            "taskmanager.memory.process.size",
        ),
        ("jobmanager.memory.heap.sise", "jobmanager.memory.heap.size"),
        (
            "TaskManager.memory.process.size",
            "taskmanager.memory.process.size",
        ),
    ] {
        let err = request(Role::TaskManager)
            .property("taskmanager.memory.process.size", "2g")
            .property(typo, "1g")
            .plan()
            .unwrap_err();
        assert_eq!(err.kind(), ConfigErrorKind::UnknownKey, "{typo}");
        assert_eq!(
            err.to_string(),
            format!("Unknown memory option '{typo}' (given with -D). Did you mean '{real}'?")
        );
    }
    // A key from a newer Flink: a warning, and the plan goes on.
    let plan = request(Role::TaskManager)
        .property("taskmanager.memory.process.size", "2g")
        .property("taskmanager.memory.network.buffer-debloat.new-thing", "1")
        .plan()
        .unwrap();
    assert_eq!(
        warning(&plan, "buffer-debloat"),
        "Key 'taskmanager.memory.network.buffer-debloat.new-thing' (given with -D) is not a \
         memory option membudget knows; ignored (as Flink ignores keys it does not know)."
    );
    let err = request(Role::TaskManager)
        .property("taskmanager.memory.process.size", "2g")
        .property("taskmanager.memory.network.buffer-debloat.new-thing", "1")
        .strict(true)
        .plan()
        .unwrap_err();
    assert_eq!(err.kind(), ConfigErrorKind::NotApplied);
}

#[test]
fn whitespace_in_keys_and_values_as_flink_reads_it() {
    // A padded key is not the option in Flink: not applied, and said so.
    let plan = request(Role::TaskManager)
        .dynamic_property(" taskmanager.memory.process.size=4g")
        .plan()
        .unwrap();
    assert_eq!(plan.total_process_memory(), 1728 << 20);
    assert!(warning(&plan, "has whitespace around it").contains("NOT applied"));
    // Flink: nothing sizes the process.
    let err = request(Role::TaskManager)
        .distribution_defaults(false)
        .dynamic_property(" taskmanager.memory.process.size=4g")
        .plan()
        .unwrap_err();
    assert_eq!(err.kind(), ConfigErrorKind::MissingRequired);
    // Surrounding ASCII whitespace in a value is trimmed (Java's trim) ...
    let plan = request(Role::TaskManager)
        .dynamic_property("taskmanager.memory.process.size= 4g ")
        .plan()
        .unwrap();
    assert_eq!(plan.total_process_memory(), 4 << 30);
    // ... a non-breaking space is not (Flink 1.20.3 fails the same way).
    let err = request(Role::TaskManager)
        .dynamic_property("taskmanager.memory.process.size=4g\u{a0}")
        .plan()
        .unwrap_err();
    assert_eq!(err.kind(), ConfigErrorKind::InvalidValue);
    assert_eq!(
        err.message(),
        "TaskManager memory configuration failed: Cannot read memory size from config option 'taskmanager.memory.process.size'."
    );
}

#[test]
fn yaml_as_flinks_loader_reads_it() {
    let dir = tempfile::tempdir().unwrap();
    // A null value fails the whole file, as Flink's loader does.
    let path = write(
        dir.path(),
        "config.yaml",
        "taskmanager.memory.process.size: 2g\nstate.backend: ~\n",
    );
    let err = request(Role::TaskManager)
        .config_file(&path)
        .plan()
        .unwrap_err();
    assert_eq!(err.kind(), ConfigErrorKind::Source);
    assert!(
        err.message()
            .contains("Error parsing YAML configuration: the value of 'state.backend' is null"),
        "{err}"
    );
    // A mapping under a scalar option is flattened and ignored, as Flink does: the default
    // applies, and the plan says so.
    let path = write(
        dir.path(),
        "config.yaml",
        "taskmanager.memory.process.size: 2g\ntaskmanager.memory.managed.fraction: {a: 1}\n",
    );
    let plan = request(Role::TaskManager)
        .config_file(&path)
        .plan()
        .unwrap();
    // Flink 2.1.1 prints network.min=166429984b for this file.
    assert_eq!(plan.as_taskmanager().unwrap().network, 166429984);
    assert!(warning(
        &plan,
        "puts a mapping under the option 'taskmanager.memory.managed.fraction'"
    )
    .contains("NOT applied"));
    // YAML numbers are the values Flink loads: 0x80000000 is 2 GiB.
    let path = write(
        dir.path(),
        "config.yaml",
        "taskmanager.memory.process.size: 0x80000000\n",
    );
    let plan = request(Role::TaskManager)
        .config_file(&path)
        .plan()
        .unwrap();
    assert_eq!(plan.total_process_memory(), 2 << 30);
    // A YAML float is narrowed to a Java float with Flink's range check.
    let path = write(
        dir.path(),
        "config.yaml",
        "taskmanager.memory.process.size: 2g\ntaskmanager.memory.managed.fraction: 1e-50\n",
    );
    let err = request(Role::TaskManager)
        .config_file(&path)
        .plan()
        .unwrap_err();
    assert_eq!(
        err.message(),
        "Could not parse value '1.0E-50' for key 'taskmanager.memory.managed.fraction'."
    );
    assert!(
        err.to_string()
            .contains("overflows/underflows the float type"),
        "{err}"
    );
}

#[test]
fn java_number_syntax() {
    // Float.parseFloat accepts hexadecimal floats: 0x1p-2 is 0.25 (Flink 1.20.3: managed
    // 416074956 bytes for a 2g process).
    let plan = request(Role::TaskManager)
        .property("taskmanager.memory.process.size", "2g")
        .property("taskmanager.memory.managed.fraction", "0x1p-2")
        .plan()
        .unwrap();
    assert_eq!(plan.as_taskmanager().unwrap().managed, 416074956);
    // ... and an f/d suffix.
    let plan = request(Role::TaskManager)
        .property("taskmanager.memory.process.size", "2g")
        .property("taskmanager.memory.managed.fraction", "0.25f")
        .plan()
        .unwrap();
    assert_eq!(plan.as_taskmanager().unwrap().managed, 416074956);
}

#[test]
fn one_line_errors_echo_values_as_written() {
    let err = request(Role::TaskManager)
        .property("taskmanager.memory.managed.fraction", "1.5")
        .plan()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "TaskManager memory configuration failed: Inconsistently configured \
         taskmanager.memory.managed.fraction (1.5) and its min (0 bytes), max (8388608.000tb \
         (9223372036854775807 bytes)) value: fraction must be in range [0, 1). Change \
         'taskmanager.memory.managed.fraction'."
    );
    let err = request(Role::TaskManager)
        .property("taskmanager.memory.process.size", "2g")
        .property("taskmanager.memory.network.fraction", "-0.1")
        .plan()
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("taskmanager.memory.network.fraction (-0.1) and its min"),
        "{err}"
    );
    // Flink's own text keeps the widened float, and the verbose layout has the chain.
    assert!(err.message().contains("(-0.10000000149011612)"));
    assert!(err
        .verbose()
        .to_string()
        .contains("\nCaused by: fraction must be in range [0, 1)\nKeys to change: "));
}

#[test]
fn jobmanager_errors_and_hints_name_jobmanager_keys() {
    let err = request(Role::JobManager)
        .property("jobmanager.memory.process.size", "512m")
        .plan()
        .unwrap_err();
    assert!(
        err.to_string().ends_with(
            "Change 'jobmanager.memory.process.size' (or 'jobmanager.memory.off-heap.size')."
        ),
        "{err}"
    );
    // A JobManager's quotas carry its role, so a refusal names jobmanager.memory.* keys.
    let plan = request(Role::JobManager)
        .property("jobmanager.memory.process.size", "1600m")
        .host(HostProfile::Native)
        .plan()
        .unwrap();
    let quotas = plan.quotas();
    for c in Category::ALL {
        let hint = IncreaseHint::category(quotas.role(), c).to_string();
        assert!(hint.contains("'jobmanager.memory."), "{hint}");
        assert!(!hint.contains("taskmanager."), "{hint}");
    }
    assert_eq!(
        IncreaseHint::process(quotas.role()).to_string(),
        "Increase 'jobmanager.memory.process.size'."
    );
    // The filled-in process size is explained with the role's key.
    let err = PlanRequest::new(Role::JobManager)
        .env_vars(Vec::<(String, String)>::new())
        .container(false)
        .property("jobmanager.memory.off-heap.size", "2g")
        .plan()
        .unwrap_err();
    assert!(err.message().ends_with("(Total Process Memory is Flink's distribution default 1600m; set 'jobmanager.memory.process.size'.)"), "{err}");
}

#[test]
fn an_option_set_twice_in_one_file_warns_that_the_earlier_value_is_not_applied() {
    let dir = tempfile::tempdir().unwrap();
    let flat = write(
        dir.path(),
        "flink-conf.yaml",
        "taskmanager.memory.process.size: 1g\ntaskmanager.memory.process.size: 2g\n",
    );
    let nested = write(
        dir.path(),
        "config.yaml",
        "taskmanager:\n  memory:\n    process.size: 1g\ntaskmanager.memory.process.size: 2g\n",
    );
    let json = write(
        dir.path(),
        "appsettings.json",
        r#"{ "Flink": { "TaskManager.Memory.Process.Size": "1g",
                        "taskmanager.memory.process.size": "2g" } }"#,
    );
    let texts = [
        "The memory option 'taskmanager.memory.process.size' is set twice in {}: '1g' on line 1 \
         and then '2g' on line 2. Flink applies the later value, so '1g' on line 1 is NOT \
         applied. Remove one of them.",
        "The memory option 'taskmanager.memory.process.size' is set twice in {}: '1g' and then \
         '2g'. Flink applies the later value, so '1g' is NOT applied. Remove one of them.",
        "The memory option 'taskmanager.memory.process.size' is set twice in {}: '1g' (as \
         'TaskManager.Memory.Process.Size') and then '2g'. Flink applies the later value, so \
         '1g' (as 'TaskManager.Memory.Process.Size') is NOT applied. Remove one of them.",
    ];
    for (path, text) in [flat, nested, json].iter().zip(texts) {
        let plan = request(Role::TaskManager).config_file(path).plan().unwrap();
        // The later value wins, as in Flink.
        assert_eq!(plan.total_process_memory(), 2 << 30);
        let text = text.replace("{}", &path.display().to_string());
        assert_eq!(warning(&plan, "is set twice"), text);
        let err = request(Role::TaskManager)
            .config_file(path)
            .strict(true)
            .plan()
            .unwrap_err();
        assert_eq!(err.kind(), ConfigErrorKind::NotApplied, "{err}");
        assert!(err.message().starts_with(&text), "{err}");
    }
    // The same value twice loses nothing: no warning.
    let same = write(
        dir.path(),
        "flink-conf.yaml",
        "taskmanager.memory.process.size: 2g\ntaskmanager.memory.process.size: 2g\n",
    );
    let plan = request(Role::TaskManager)
        .config_file(&same)
        .plan()
        .unwrap();
    assert!(plan.warnings().is_empty(), "{:?}", plan.warnings());
}

#[test]
fn a_deprecated_key_beside_its_options_key_warns_that_it_is_not_applied() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "flink-conf.yaml",
        "taskmanager.memory.process.size: 4g\ntaskmanager.memory.network.min: 700m\n",
    );
    // A later source does not win: Flink reads the option's own key first.
    let plan = request(Role::TaskManager)
        .config_file(&path)
        .property("taskmanager.network.memory.min", "800m")
        .plan()
        .unwrap();
    assert_eq!(plan.quotas().get(Category::Network), 700 << 20);
    assert_eq!(
        warning(&plan, "taskmanager.network.memory.min"),
        format!(
            "Key 'taskmanager.network.memory.min' (-D: '800m') is NOT applied: \
             'taskmanager.memory.network.min' is set too (file {}: '700m'), and Flink reads an \
             option's own key before its deprecated keys, whichever source is later. Remove \
             'taskmanager.network.memory.min', or set 'taskmanager.memory.network.min' to the \
             value you want.",
            path.display()
        )
    );
    let err = request(Role::TaskManager)
        .config_file(&path)
        .property("taskmanager.network.memory.min", "800m")
        .strict(true)
        .plan()
        .unwrap_err();
    assert_eq!(err.kind(), ConfigErrorKind::NotApplied, "{err}");
    // Managed memory's deprecated key, in one source.
    let plan = request(Role::TaskManager)
        .property("taskmanager.memory.process.size", "2g")
        .property("taskmanager.memory.managed.size", "100m")
        .property("taskmanager.memory.size", "300m")
        .plan()
        .unwrap();
    assert_eq!(plan.quotas().get(Category::Managed), 100 << 20);
    warning(
        &plan,
        "Key 'taskmanager.memory.size' (-D: '300m') is NOT applied",
    );
    // Equal values lose nothing: no warning.
    let plan = request(Role::TaskManager)
        .property("taskmanager.memory.process.size", "2g")
        .property("taskmanager.memory.managed.size", "100m")
        .property("taskmanager.memory.size", "100m")
        .plan()
        .unwrap();
    assert!(plan.warnings().is_empty(), "{:?}", plan.warnings());
}

#[test]
fn legacy_heap_and_network_buffers_beside_their_replacements_warn_that_they_are_not_applied() {
    let plan = request(Role::TaskManager)
        .property("taskmanager.memory.flink.size", "2g")
        .property("taskmanager.heap.size", "3g")
        .plan()
        .unwrap();
    assert_eq!(plan.total_flink_memory(), 2 << 30);
    assert_eq!(
        warning(&plan, "'taskmanager.heap.size'"),
        "'taskmanager.heap.size' is NOT applied: 'taskmanager.memory.flink.size' is set, and \
         Flink maps the deprecated heap size only when it is not. Remove 'taskmanager.heap.size'."
    );
    let plan = request(Role::TaskManager)
        .property("taskmanager.heap.size", "3g")
        .property("taskmanager.heap.mb", "2000")
        .plan()
        .unwrap();
    assert_eq!(plan.total_flink_memory(), 3 << 30);
    assert_eq!(
        warning(&plan, "'taskmanager.heap.mb'"),
        "'taskmanager.heap.mb' is NOT applied: 'taskmanager.heap.size' is set too and Flink \
         reads it first. Remove 'taskmanager.heap.mb'."
    );
    let plan = request(Role::TaskManager)
        .property("taskmanager.memory.process.size", "2g")
        .property("taskmanager.network.numberOfBuffers", "100")
        .property("taskmanager.memory.network.min", "100m")
        .plan()
        .unwrap();
    assert_ne!(plan.quotas().get(Category::Network), 100 * 32768);
    assert_eq!(
        warning(&plan, "numberOfBuffers"),
        "'taskmanager.network.numberOfBuffers' is NOT applied: 'taskmanager.memory.network.min' \
         is set, and Flink reads the legacy number of network buffers only when none of the \
         network memory options is. Remove 'taskmanager.network.numberOfBuffers'."
    );
}

#[test]
fn a_byte_order_mark_before_the_first_key_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "flink-conf.yaml",
        "\u{feff}taskmanager.memory.process.size: 2g\n",
    );
    // Flink reads the mark as part of the key and would not apply it: an error that says so.
    let err = request(Role::TaskManager)
        .config_file(&path)
        .plan()
        .unwrap_err();
    assert!(
        err.message().starts_with(&format!(
            "Unknown memory option '\\u{{feff}}taskmanager.memory.process.size' (in {}:1): the \
             key starts with a UTF-8 byte order mark, which Flink reads as part of the key, so \
             it would not apply 'taskmanager.memory.process.size'. Save the file without the \
             byte order mark.",
            path.display()
        )),
        "{err}"
    );
}

#[test]
fn a_huge_or_endless_config_file_is_refused_before_it_fills_memory() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = "# a comment line\n".repeat((16 << 20) / 17 + 1);
    text.push_str("taskmanager.memory.process.size: 2g\n");
    let huge = write(dir.path(), "flink-conf.yaml", &text);
    let huge = huge.display().to_string();
    for path in ["/dev/zero", huge.as_str()] {
        let err = request(Role::TaskManager)
            .config_file(path)
            .config_format(FileFormat::FlinkConf)
            .plan()
            .unwrap_err();
        assert_eq!(err.kind(), ConfigErrorKind::Source, "{err}");
        assert_eq!(
            err.message(),
            format!(
                "Cannot read configuration file {path}: it is larger than 16 MiB, and a memory \
                 configuration is a few kilobytes: is it the right file?"
            ),
            "{err}"
        );
    }
}
