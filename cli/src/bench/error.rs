//! `BenchError`: why a benchmark could not run or did not pass its checks.

use std::io;
use std::process::ExitCode;

/// A benchmark failure, with the exit status it maps to.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// The settings or the configuration cannot work (exit status 2, like `membudget plan`).
    #[error("{0}")]
    Invalid(String),
    /// A run broke an invariant: records lost, out of order, a buffer not returned, the budget
    /// unbalanced; or a worker thread failed (exit status 1).
    #[error("{0}")]
    Failed(String),
    /// Writing the results or the plot failed (exit status 1).
    #[error("{0}")]
    Io(String),
}

impl BenchError {
    /// The process exit status for this error.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            BenchError::Invalid(_) => ExitCode::from(2),
            BenchError::Failed(_) | BenchError::Io(_) => ExitCode::FAILURE,
        }
    }

    /// An I/O error while doing `what`.
    pub fn io(what: &str, e: impl std::fmt::Display) -> BenchError {
        BenchError::Io(format!("membudget bench: cannot {what}: {e}"))
    }
}

impl From<io::Error> for BenchError {
    fn from(e: io::Error) -> BenchError {
        BenchError::io("write the results", e)
    }
}
