//! The output formats of `membudget plan` and one entry point that renders any of them.

use std::fmt;
use std::str::FromStr;

use super::{render_env, render_flink_deployment, render_k8s, render_text, TextStyle};
use crate::MemoryPlan;

/// A rendering of a plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OutputFormat {
    /// The human-readable tree.
    Text,
    /// The JSON machine contract.
    Json,
    /// JVM memory arguments.
    JvmArgs,
    /// Flink's TaskManager dynamic configs (empty for a JobManager).
    DynamicConfigs,
    /// Shell `export` lines.
    Env,
    /// A Kubernetes container `resources` snippet.
    K8s,
    /// A Flink Kubernetes Operator `FlinkDeployment` snippet.
    FlinkDeployment,
}

impl OutputFormat {
    /// Every format, in the order `--help` lists them.
    pub const ALL: [OutputFormat; 7] = [
        OutputFormat::Text,
        OutputFormat::Json,
        OutputFormat::JvmArgs,
        OutputFormat::DynamicConfigs,
        OutputFormat::Env,
        OutputFormat::K8s,
        OutputFormat::FlinkDeployment,
    ];

    /// The name used on the command line.
    pub const fn name(self) -> &'static str {
        match self {
            OutputFormat::Text => "text",
            OutputFormat::Json => "json",
            OutputFormat::JvmArgs => "jvm-args",
            OutputFormat::DynamicConfigs => "dynamic-configs",
            OutputFormat::Env => "env",
            OutputFormat::K8s => "k8s",
            OutputFormat::FlinkDeployment => "flink-deployment",
        }
    }

    /// One line saying what the format is for (the CLI's help for `--format <name>`).
    pub const fn description(self) -> &'static str {
        match self {
            OutputFormat::Text => {
                "A tree like Flink's \"Final TaskExecutor Memory configuration\" log, plus quotas \
                 and sources"
            }
            OutputFormat::Json => "The JSON plan (integers are bytes)",
            OutputFormat::JvmArgs => "JVM memory arguments (-Xmx ... -XX:MaxMetaspaceSize=...)",
            OutputFormat::DynamicConfigs => {
                "Flink's dynamic configs, as BashJavaUtils prints them (-D key=value ...)"
            }
            OutputFormat::Env => {
                "Shell export lines: MEMBUDGET_QUOTA_* (read back by Quotas::from_env), then \
                 JVM_ARGS (jvm host) or DOTNET_GCHeapHardLimit (dotnet host)"
            }
            OutputFormat::K8s => {
                "A Kubernetes container resources snippet (limit = request x memory limit-factor)"
            }
            OutputFormat::FlinkDeployment => {
                "A Flink Kubernetes Operator FlinkDeployment snippet (resource.memory and the \
                 memory keys in flinkConfiguration)"
            }
        }
    }

    /// `plan` in this format, ending with a newline. `style` only matters for
    /// [`OutputFormat::Text`].
    ///
    /// # Examples
    ///
    /// ```
    /// use membudget_model::render::{OutputFormat, TextStyle};
    /// use membudget_model::{PlanRequest, Role};
    ///
    /// let plan = PlanRequest::new(Role::JobManager)
    ///     .environment(false)
    ///     .container(false)
    ///     .property("jobmanager.memory.process.size", "1600m")
    ///     .plan()?;
    /// assert_eq!(
    ///     OutputFormat::JvmArgs.render(&plan, TextStyle::plain()),
    ///     "-Xmx1073741824 -Xms1073741824 -XX:MaxMetaspaceSize=268435456\n"
    /// );
    /// # Ok::<(), membudget_model::ConfigError>(())
    /// ```
    pub fn render(self, plan: &MemoryPlan, style: TextStyle) -> String {
        let mut out = match self {
            OutputFormat::Text => render_text(plan, style),
            OutputFormat::Json => plan.to_json_string(),
            OutputFormat::JvmArgs => plan.jvm_args(),
            OutputFormat::DynamicConfigs => plan.dynamic_configs(),
            OutputFormat::Env => render_env(plan),
            OutputFormat::K8s => render_k8s(plan),
            OutputFormat::FlinkDeployment => render_flink_deployment(plan),
        };
        if !out.ends_with('\n') {
            out.push('\n');
        }
        out
    }
}

impl fmt::Display for OutputFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An unknown format name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownFormat(pub String);

impl fmt::Display for UnknownFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = OutputFormat::ALL.iter().map(|o| o.name()).collect();
        write!(
            f,
            "Unknown output format '{}': expected one of {}",
            self.0,
            names.join(", ")
        )
    }
}

impl std::error::Error for UnknownFormat {}

impl FromStr for OutputFormat {
    type Err = UnknownFormat;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        OutputFormat::ALL
            .into_iter()
            .find(|f| f.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownFormat(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for f in OutputFormat::ALL {
            assert_eq!(f.name().parse::<OutputFormat>().unwrap(), f);
            assert_eq!(f.to_string(), f.name());
        }
        let err = "yaml".parse::<OutputFormat>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "Unknown output format 'yaml': expected one of text, json, jvm-args, \
             dynamic-configs, env, k8s, flink-deployment"
        );
    }
}
