//! `membudget plan --format jvm-args` / `--format dynamic-configs` against what the real
//! Flink's `BashJavaUtils` printed for the same input: the fixtures in
//! `tests/fixtures/bash_java_utils/` (`cases.tsv` lists the inputs; `scripts/flink-fixtures`
//! regenerates the `.out` files from Flink 1.20.3 and 2.1.1).

use std::fs;
use std::path::PathBuf;
use std::process::Command;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bash_java_utils")
}

struct Case {
    name: String,
    version: String,
    role: &'static str,
    props: Vec<String>,
}

fn cases() -> Vec<Case> {
    let text = fs::read_to_string(fixtures().join("cases.tsv")).unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let mut fields = l.split('\t');
            let name = fields.next().unwrap().to_owned();
            let version = fields.next().unwrap().to_owned();
            let role = match fields.next().unwrap() {
                "tm" => "taskmanager",
                _ => "jobmanager",
            };
            Case {
                name,
                version,
                role,
                props: fields.map(str::to_owned).collect(),
            }
        })
        .collect()
}

/// `membudget plan` for `case` in `format`: (exit code, stdout, stderr).
fn membudget(case: &Case, format: &str, verbose: bool) -> (i32, String, String) {
    let version = if case.version.starts_with("1.20") {
        "1.20"
    } else {
        "2"
    };
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_membudget"));
    cmd.env_clear().args([
        "plan",
        "--no-container",
        "--role",
        case.role,
        "--flink-version",
        version,
        "--format",
        format,
    ]);
    if verbose {
        cmd.arg("--verbose");
    }
    for p in &case.props {
        cmd.args(["-D", p]);
    }
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn jvm_args_and_dynamic_configs_equal_bash_java_utils() {
    let cases = cases();
    assert!(cases.len() >= 10);
    let mut plans = 0;
    for case in &cases {
        let flink = fs::read_to_string(fixtures().join(format!("{}.out", case.name)))
            .unwrap_or_else(|e| panic!("{}: {e} (run scripts/flink-fixtures)", case.name));
        let results: Vec<&str> = flink
            .lines()
            .filter_map(|l| l.strip_prefix("BASH_JAVA_UTILS_EXEC_RESULT:"))
            .collect();
        if let [jvm_args, dynamic_configs] = results[..] {
            let (code, out, err) = membudget(case, "jvm-args", false);
            assert_eq!(code, 0, "{}: {err}", case.name);
            assert_eq!(out.trim_end_matches('\n'), jvm_args, "{}", case.name);
            let (_, out, _) = membudget(case, "dynamic-configs", false);
            assert_eq!(out.trim_end_matches('\n'), dynamic_configs, "{}", case.name);
            plans += 1;
        } else {
            // Flink failed: so does membudget, with Flink's message as the first line of the
            // verbose layout.
            let exception = flink
                .lines()
                .find_map(|l| l.strip_prefix("Exception in thread \"main\" "))
                .unwrap_or_else(|| panic!("{}: neither a plan nor an exception", case.name));
            let message = exception.split_once(": ").unwrap().1;
            let (code, out, err) = membudget(case, "jvm-args", true);
            assert_eq!((code, out.as_str()), (2, ""), "{}: {err}", case.name);
            assert_eq!(err.lines().next().unwrap(), message, "{}", case.name);
            // The default layout is one line that starts the same way.
            let (_, _, one_line) = membudget(case, "jvm-args", false);
            assert_eq!(one_line.lines().count(), 1, "{}: {one_line}", case.name);
        }
    }
    assert!(plans >= 8, "{plans}");
}
