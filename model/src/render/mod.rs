//! Renderings of a [`MemoryPlan`](crate::MemoryPlan) for people and for hosts.
//!
//! | format | for | produced by |
//! |---|---|---|
//! | `text` | people: Flink's "Final TaskExecutor Memory configuration" as a tree | [`render_text`] |
//! | `json` | machines (integers are bytes) | [`MemoryPlan::to_json_string`](crate::MemoryPlan::to_json_string) |
//! | `jvm-args` | `java` command lines | [`MemoryPlan::jvm_args`](crate::MemoryPlan::jvm_args) |
//! | `dynamic-configs` | Flink's TaskManager `-D` pins | [`MemoryPlan::dynamic_configs`](crate::MemoryPlan::dynamic_configs) |
//! | `env` | shells, .NET hosts | [`render_env`] |
//! | `k8s` | a container's `resources` (limit = request × limit factor) | [`render_k8s`] |
//! | `flink-deployment` | a Flink Kubernetes Operator `FlinkDeployment` | [`render_flink_deployment`] |

mod env;
mod flink_deployment;
mod format;
mod json;
mod k8s;
mod text;

pub use env::render_env;
pub use flink_deployment::render_flink_deployment;
pub use format::OutputFormat;
pub use k8s::render_k8s;
pub use text::{render_text, TextStyle};
