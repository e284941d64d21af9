//! `membudget plan`.

use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;

use membudget_model::render::{OutputFormat, TextStyle};
use membudget_model::{MemorySize, PlanRequest, Resolution};

use crate::args::PlanArgs;

/// Exit status for an invalid configuration (like a usage error).
const EXIT_CONFIG: u8 = 2;

/// Builds the request from the arguments, derives the plan and prints it.
pub fn run(args: &PlanArgs) -> ExitCode {
    let mut request = PlanRequest::new(args.role)
        .container(!args.no_container)
        .distribution_defaults(!args.no_container)
        .flink_version(args.flink_version)
        .deployment(args.deployment)
        .host(args.host)
        .strict(args.strict);
    if let Some(format) = args.config_format {
        request = request.config_format(format);
    }
    if let Some(section) = &args.config_section {
        request = request.config_section(section);
    }
    if let Some(root) = &args.cgroup_root {
        request = request.cgroup_roots(root.join("proc"), root);
    }
    for file in &args.config {
        request = request.config_file(file);
    }
    for property in &args.dynamic {
        request = request.dynamic_property(property);
    }
    let outcome = request
        .resolve()
        .and_then(|resolution| resolution.plan().map(|plan| (resolution, plan)));
    let (resolution, plan) = match outcome {
        Ok(ok) => ok,
        Err(e) => {
            let stderr = io::stderr();
            let text = if args.verbose {
                e.verbose().to_string()
            } else {
                e.to_string()
            };
            let text = if stderr.is_terminal() {
                format!("\x1b[31m{text}\x1b[0m")
            } else {
                text
            };
            let _ = writeln!(stderr.lock(), "{text}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };

    let format = args.format;
    let stdout = io::stdout();
    let style = if stdout.is_terminal() {
        TextStyle::colored()
    } else {
        TextStyle::plain()
    };
    let mut out = format.render(&plan, style);
    if format == OutputFormat::Text {
        out.push_str(&container_note(&resolution, args.no_container));
    }
    let mut lock = stdout.lock();
    match lock.write_all(out.as_bytes()).and_then(|()| lock.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        // A closed pipe (`membudget plan | head`) is not an error worth a message.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            let _ = writeln!(io::stderr(), "membudget: cannot write the plan: {e}");
            ExitCode::FAILURE
        }
    }
}

/// One line about the container limit for the text view.
fn container_note(resolution: &Resolution, disabled: bool) -> String {
    if disabled {
        return "\nContainer: detection disabled (--no-container).\n".to_owned();
    }
    match &resolution.container_limit {
        Some(limit) => format!(
            "\nContainer: memory limit {} ({} {}){}.\n",
            MemorySize::from(limit.bytes).to_human_readable(),
            limit.version,
            limit.file.display(),
            if resolution.sizing_configured {
                "; the configured plan fits"
            } else {
                "; used as the total process memory"
            }
        ),
        None => "\nContainer: no memory limit found.\n".to_owned(),
    }
}
