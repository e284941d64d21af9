//! Every `$ membudget ...` example in README.md prints exactly what README shows.
//!
//! A README ```` ```text ```` block whose first line starts with `$ membudget` holds commands
//! (lines starting with `$ `), each followed by its expected output (stdout and stderr as a
//! terminal shows them) up to the next command; a blank line separates one example from the
//! next. Each command runs in `sh` from the repository root with the `membudget` binary under
//! test first on `PATH` and an otherwise empty environment.
//!
//! `$ membudget bench …` samples are measurements that differ from run to run: they are not
//! compared here; `tests/bench_cli.rs` runs the README's bench commands and checks their
//! output's shape instead.

use std::path::Path;
use std::process::Command;

struct Example {
    command: String,
    expected: String,
}

fn examples(readme: &str) -> Vec<Example> {
    let mut out = Vec::new();
    let mut lines = readme.lines().peekable();
    while let Some(line) = lines.next() {
        if line != "```text" || !lines.peek().is_some_and(|l| l.starts_with("$ membudget")) {
            continue;
        }
        let mut current: Option<Example> = None;
        for line in lines.by_ref() {
            if line == "```" {
                break;
            }
            if let Some(command) = line.strip_prefix("$ ") {
                out.extend(current.take());
                current = Some(Example {
                    command: command.to_owned(),
                    expected: String::new(),
                });
            } else if let Some(example) = current.as_mut() {
                example.expected.push_str(line);
                example.expected.push('\n');
            }
        }
        out.extend(current);
    }
    for example in &mut out {
        // The blank line that separates examples is not output.
        let trimmed = example.expected.trim_end_matches('\n').len();
        example.expected.truncate(trimmed);
    }
    out
}

#[test]
fn readme_examples_print_what_readme_shows() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let examples = examples(&readme);
    assert!(examples.len() >= 15, "{} examples", examples.len());
    let bin = Path::new(env!("CARGO_BIN_EXE_membudget")).parent().unwrap();
    let path = format!("{}:/usr/bin:/bin", bin.display());
    for example in examples {
        if example.command.starts_with("membudget bench") {
            continue;
        }
        let Ok(out) = Command::new("sh")
            .arg("-c")
            .arg(format!("({}) 2>&1", example.command))
            .current_dir(&root)
            .env_clear()
            .env("PATH", &path)
            .output()
        else {
            return; // no POSIX shell on this machine
        };
        let printed = String::from_utf8(out.stdout).unwrap();
        assert_eq!(
            printed.trim_end_matches('\n'),
            example.expected,
            "README example `$ {}` printed something else",
            example.command
        );
    }
}
