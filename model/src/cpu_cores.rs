//! `CpuCores`: a TaskExecutor's CPU cores as Flink's `CPUResource` holds them.

use core::fmt;

use membudget_core::java_num::java_double_to_string;

/// A TaskExecutor's CPU cores: `taskmanager.cpu.cores`, else `taskmanager.numberOfTaskSlots`,
/// kept as Flink's `CPUResource` keeps it — the decimal value truncated to 8 fractional digits
/// (`BigDecimal.valueOf(d).setScale(8, RoundingMode.DOWN)`) — and printed as Java's
/// `Double.toString` does in Flink's dynamic configs (`1.0`, `0.5`, `1.12345678`).
///
/// Always finite and non-negative (Flink rejects anything else before building one), so it
/// compares as a plain number.
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd)]
pub struct CpuCores(f64);

// Only finite, non-negative values are ever stored: equality is reflexive.
impl Eq for CpuCores {}

impl CpuCores {
    /// Flink's `CPUResource(value)` for a finite, non-negative `value`; `None` otherwise (Flink's
    /// `BigDecimal.valueOf` fails on NaN and infinities).
    pub fn new(value: f64) -> Option<CpuCores> {
        if !value.is_finite() || value < 0.0 {
            return None;
        }
        // The shortest decimal digits of `value`, as BigDecimal.valueOf(double) reads them.
        let sci = format!("{value:e}");
        let (mantissa, exp) = sci.split_once('e')?;
        let exp: i32 = exp.parse().ok()?;
        let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        let mut digits = format!("{int_part}{frac_part}");
        let mut scale = frac_part.len() as i32 - exp; // value = digits × 10^-scale
        if scale > 8 {
            let drop = (scale - 8) as usize;
            digits.truncate(digits.len().saturating_sub(drop));
            scale = 8;
        }
        if digits.is_empty() {
            return Some(CpuCores(0.0));
        }
        let truncated: f64 = format!("{digits}e{}", -scale).parse().ok()?;
        Some(CpuCores(truncated))
    }

    /// The value.
    pub fn value(self) -> f64 {
        self.0
    }
}

impl fmt::Display for CpuCores {
    /// Java's `String.valueOf(double)`, as Flink prints `taskmanager.cpu.cores`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&java_double_to_string(self.0))
    }
}

impl serde::Serialize for CpuCores {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_f64(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn printed(v: f64) -> String {
        CpuCores::new(v).unwrap().to_string()
    }

    #[test]
    fn truncates_to_eight_decimals_like_cpu_resource() {
        // Each against BashJavaUtils' `-D taskmanager.cpu.cores=...` output.
        assert_eq!(printed(1.0), "1.0");
        assert_eq!(printed(0.5), "0.5");
        assert_eq!(printed(1.123456789), "1.12345678");
        assert_eq!(printed(4.0), "4.0");
        assert_eq!(printed(1e-9), "0.0");
        assert_eq!(printed(1e20), "1.0E20");
        // 12345678.999999998 (the double) truncated to 8 decimals.
        assert_eq!(printed(12345678.999999999), "1.234567899999999E7");
        assert_eq!(CpuCores::new(f64::NAN), None);
        assert_eq!(CpuCores::new(f64::INFINITY), None);
        assert_eq!(CpuCores::new(-1.0), None);
    }
}
