//! `Ratios`: prints, at the end of a bench binary, the ratios its targets are stated in (e.g.
//! "pool ≤ 1.3× the bare queue"), from the medians criterion measured in that same run
//! (`benches/ratios.py` prints them from the last runs of every bench).

use std::path::PathBuf;
use std::time::SystemTime;

/// Reads the medians criterion wrote during this run and prints ratios between them.
///
/// Only estimates written after [`Ratios::start`] count: a benchmark left out of this run
/// (a filter, `--test` mode) is reported as not measured instead of showing a stale figure.
pub struct Ratios {
    dir: PathBuf,
    started: SystemTime,
}

/// What criterion does to a group or function name to make a directory name of it.
fn filename_safe(name: &str) -> String {
    name.replace(
        &['?', '"', '/', '\\', '*', '<', '>', ':', '|', '^'][..],
        "_",
    )
}

impl Ratios {
    /// Starts the clock; call before running the benchmarks. Criterion's output directory is
    /// found as criterion finds it: `$CRITERION_HOME`, `$CARGO_TARGET_DIR/criterion`, or the
    /// `criterion` directory beside the bench binary's profile directory.
    pub fn start() -> Ratios {
        let dir = std::env::var_os("CRITERION_HOME")
            .map(PathBuf::from)
            .or_else(|| {
                std::env::var_os("CARGO_TARGET_DIR").map(|t| PathBuf::from(t).join("criterion"))
            })
            .or_else(|| {
                // <target>/<profile>/deps/<bench binary>
                let exe = std::env::current_exe().ok()?;
                Some(exe.parent()?.parent()?.parent()?.join("criterion"))
            })
            .unwrap_or_else(|| PathBuf::from("target/criterion"));
        Ratios {
            dir,
            started: SystemTime::now(),
        }
    }

    /// The median time per iteration (ns) criterion measured for `group`/`function` in this
    /// run, if it did.
    pub fn median_ns(&self, group: &str, function: &str) -> Option<f64> {
        let path = self
            .dir
            .join(filename_safe(group))
            .join(filename_safe(function))
            .join("new")
            .join("estimates.json");
        let modified = std::fs::metadata(&path).ok()?.modified().ok()?;
        if modified < self.started {
            return None;
        }
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).ok()?).ok()?;
        json["median"]["point_estimate"].as_f64()
    }

    /// Prints `numerator / denominator` of two benchmarks of `group` with both medians and
    /// the target the ratio is held to (e.g. "≤ 1.30").
    pub fn print(&self, group: &str, numerator: &str, denominator: &str, target: &str) {
        match (
            self.median_ns(group, numerator),
            self.median_ns(group, denominator),
        ) {
            (Some(a), Some(b)) if b > 0.0 => println!(
                "ratio {group}: {numerator} / {denominator} = {a:.2} ns / {b:.2} ns = {:.2} \
                 (target {target})",
                a / b
            ),
            _ => println!(
                "ratio {group}: {numerator} / {denominator}: not measured in this run \
                 (target {target})"
            ),
        }
    }
}
