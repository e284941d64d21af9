//! `LimitFactor`: Flink's `kubernetes.{taskmanager,jobmanager}.memory.limit-factor`.

use core::fmt;

use membudget_core::java_num::java_double_to_string;

/// How far above its memory request a Kubernetes container's memory limit is set: Flink's
/// `kubernetes.taskmanager.memory.limit-factor` / `kubernetes.jobmanager.memory.limit-factor`
/// (default 1.0: limit = request). Always finite and at least 1 (Flink rejects anything else),
/// so it compares as a plain number.
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd)]
pub struct LimitFactor(f64);

// Only finite values >= 1 are ever stored: equality is reflexive.
impl Eq for LimitFactor {}

impl Default for LimitFactor {
    fn default() -> Self {
        LimitFactor(1.0)
    }
}

impl LimitFactor {
    /// The factor, if Flink accepts it (`>= 1`; NaN fails Flink's check too).
    pub fn new(factor: f64) -> Option<LimitFactor> {
        (factor >= 1.0 && factor.is_finite()).then_some(LimitFactor(factor))
    }

    /// The factor.
    pub fn value(self) -> f64 {
        self.0
    }

    /// Flink's memory limit for a request of `mebibytes`: `(int) (mebibytes * factor)`
    /// (`KubernetesUtils.getResourceRequirements`; Java's cast saturates).
    pub fn limit_mebibytes(self, mebibytes: u64) -> u64 {
        let limit = (mebibytes as f64 * self.0) as i32;
        u64::try_from(limit).unwrap_or(0)
    }

    /// The limit for a request of `bytes` that is not a whole number of mebibytes:
    /// `bytes × factor`, rounded down (saturating).
    pub fn limit_bytes(self, bytes: u64) -> u64 {
        (bytes as f64 * self.0) as u64
    }
}

impl fmt::Display for LimitFactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&java_double_to_string(self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flinks_rules() {
        assert_eq!(LimitFactor::default().limit_mebibytes(1728), 1728);
        let f = LimitFactor::new(1.1).unwrap();
        assert_eq!(f.limit_mebibytes(1728), 1900);
        assert_eq!(
            LimitFactor::new(2.0).unwrap().limit_mebibytes(1 << 40),
            i32::MAX as u64
        );
        for bad in [0.99, 0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert_eq!(LimitFactor::new(bad), None, "{bad}");
        }
    }
}
