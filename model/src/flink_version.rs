//! `FlinkVersion`: which Flink release's memory semantics a plan follows.

use core::fmt;
use core::str::FromStr;

/// The Flink release line whose memory semantics a plan follows.
///
/// The derivation (every option, default, branch and check) is the same; they differ in the
/// legacy options and in two texts:
///
/// | | Flink 1.20 | Flink 2.x (2.0 – 2.3) |
/// |---|---|---|
/// | `taskmanager.heap.size` / `.mb`, `FLINK_TM_HEAP` | mapped (see [`Deployment`](crate::Deployment)) | not read: ignored with a warning |
/// | `jobmanager.heap.size` / `.mb`, `FLINK_JM_HEAP` | mapped | not read: ignored with a warning |
/// | `taskmanager.network.numberOfBuffers` | sizes network memory when no `taskmanager.memory.network.*` is set | not read: ignored with a warning |
/// | JobManager errors | prefixed `JobManager memory configuration failed: ` | no prefix |
///
/// # Examples
///
/// ```
/// use membudget_model::FlinkVersion;
///
/// assert_eq!("2".parse::<FlinkVersion>().unwrap(), FlinkVersion::V2);
/// assert_eq!("2.1".parse::<FlinkVersion>().unwrap(), FlinkVersion::V2);
/// assert_eq!(FlinkVersion::default().to_string(), "1.20");
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum FlinkVersion {
    /// Flink 1.20 (the last 1.x release, long-term support): legacy keys still mapped.
    #[default]
    V1_20,
    /// Flink 2.0 – 2.3: the 1.x legacy memory keys are gone.
    V2,
}

impl FlinkVersion {
    /// Both versions, oldest first.
    pub const ALL: [FlinkVersion; 2] = [FlinkVersion::V1_20, FlinkVersion::V2];

    /// The name used on the command line and in JSON plans: `1.20` or `2`.
    pub const fn name(self) -> &'static str {
        match self {
            FlinkVersion::V1_20 => "1.20",
            FlinkVersion::V2 => "2",
        }
    }

    /// Whether this version still reads the 1.x legacy heap and network-buffer keys.
    pub const fn reads_legacy_keys(self) -> bool {
        matches!(self, FlinkVersion::V1_20)
    }
}

impl fmt::Display for FlinkVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for FlinkVersion {
    type Err = ParseFlinkVersionError;

    /// `1.20` (or `1.20.x`), `2` (or `2.0` … `2.3`, `2.x.y`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut parts = s.split('.');
        let version = match (parts.next(), parts.next()) {
            (Some("1"), Some("20")) => FlinkVersion::V1_20,
            (Some("2"), None) => FlinkVersion::V2,
            (Some("2"), Some("0" | "1" | "2" | "3")) => FlinkVersion::V2,
            _ => return Err(ParseFlinkVersionError(s.to_owned())),
        };
        if parts.any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit())) {
            return Err(ParseFlinkVersionError(s.to_owned()));
        }
        Ok(version)
    }
}

/// A text that names no supported [`FlinkVersion`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseFlinkVersionError(String);

impl fmt::Display for ParseFlinkVersionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Unsupported Flink version '{}': expected '1.20' or '2' (2.0 – 2.3).",
            self.0
        )
    }
}

impl std::error::Error for ParseFlinkVersionError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_release_lines() {
        for (s, v) in [
            ("1.20", FlinkVersion::V1_20),
            ("1.20.3", FlinkVersion::V1_20),
            ("2", FlinkVersion::V2),
            ("2.0", FlinkVersion::V2),
            ("2.3", FlinkVersion::V2),
            ("2.1.1", FlinkVersion::V2),
        ] {
            assert_eq!(s.parse::<FlinkVersion>(), Ok(v), "{s}");
        }
        for s in ["1.19", "3", "2.4", "", "1.20.", "2.x", "1"] {
            assert!(s.parse::<FlinkVersion>().is_err(), "{s}");
        }
        assert_eq!(
            "1.19".parse::<FlinkVersion>().unwrap_err().to_string(),
            "Unsupported Flink version '1.19': expected '1.20' or '2' (2.0 – 2.3)."
        );
    }
}
