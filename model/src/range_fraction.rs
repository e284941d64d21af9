//! Flink's `RangeFraction` and the capped fraction arithmetic of `ProcessMemoryUtils`.

use crate::error::{ConfigError, ConfigErrorKind};
use crate::options::ConfigOption;
use crate::reader::Reader;
use crate::MemorySize;
use membudget_core::java_num::java_double_to_string;

/// A component sized as a fraction of another, capped to `[min, max]`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RangeFraction {
    pub(crate) min: MemorySize,
    pub(crate) max: MemorySize,
    /// The configured `float` widened to `double`.
    pub(crate) fraction: f64,
    /// The fraction option (for error keys).
    pub(crate) fraction_option: &'static ConfigOption,
    /// The min/max options, if they are options (managed memory uses `[0, MAX]`).
    pub(crate) range_options: Option<(&'static ConfigOption, &'static ConfigOption)>,
}

impl RangeFraction {
    /// The keys a user changes to fix this range.
    pub(crate) fn keys(&self) -> Vec<&'static str> {
        let mut keys = vec![self.fraction_option.key];
        if let Some((min, max)) = self.range_options {
            keys.push(min.key);
            keys.push(max.key);
        }
        keys
    }
}

/// Flink's `getRangeFraction`: reads min, max (if options) and the fraction and validates
/// `min <= max` and `0 <= fraction < 1`.
pub(crate) fn read_range_fraction(
    r: &mut Reader<'_>,
    range: Option<(&'static ConfigOption, &'static ConfigOption)>,
    fraction_option: &'static ConfigOption,
) -> Result<RangeFraction, ConfigError> {
    let (min, max) = match range {
        Some((min_opt, max_opt)) => (r.memory(min_opt)?, r.memory(max_opt)?),
        None => (MemorySize::ZERO, MemorySize::MAX_VALUE),
    };
    let fraction = r.fraction(fraction_option)?;
    let written = r
        .config()
        .lookup(fraction_option)
        .map(|l| l.value.to_owned())
        .unwrap_or_default();
    let rf = RangeFraction {
        min,
        max,
        fraction,
        fraction_option,
        range_options: range,
    };
    // NaN fails `fraction >= 0`, exactly like Java.
    let valid = min <= max && (0.0..1.0).contains(&fraction);
    if !valid {
        let cause = if min > max {
            "min value must be less or equal to max value"
        } else {
            "fraction must be in range [0, 1)"
        };
        return Err(ConfigError::new(
            ConfigErrorKind::Inconsistent,
            format!(
                "Inconsistently configured {} ({}) and its min ({}), max ({}) value",
                fraction_option.key,
                java_double_to_string(fraction),
                min.to_human_readable(),
                max.to_human_readable()
            ),
        )
        .with_cause(cause)
        .with_keys(rf.keys())
        .with_echo(
            format!("({})", java_double_to_string(fraction)),
            &format!("({})", membudget_core::java_num::java_trim(&written)),
        ));
    }
    Ok(rf)
}

/// `MemorySize.multiply` with Flink's overflow as an error naming the fraction.
pub(crate) fn multiply(
    base: MemorySize,
    multiplier: f64,
    rf: &RangeFraction,
    description: &str,
) -> Result<MemorySize, ConfigError> {
    base.checked_multiply(multiplier).ok_or_else(|| {
        ConfigError::new(
            ConfigErrorKind::Overflow,
            format!(
                "Cannot derive {description} from {} with fraction {}: long overflow.",
                base.to_human_readable(),
                java_double_to_string(multiplier)
            ),
        )
        .with_keys(rf.keys())
    })
}

/// Flink's `deriveWithFraction`: `cap(base × fraction)`.
pub(crate) fn derive_with_fraction(
    r: &mut Reader<'_>,
    description: &str,
    base: MemorySize,
    rf: &RangeFraction,
) -> Result<MemorySize, ConfigError> {
    let relative = multiply(base, rf.fraction, rf, description)?;
    Ok(cap_to_min_max(r, description, relative, rf))
}

/// Flink's `deriveWithInverseFraction`: `cap(base × fraction / (1 − fraction))`, the division
/// in `double`.
pub(crate) fn derive_with_inverse_fraction(
    r: &mut Reader<'_>,
    description: &str,
    base: MemorySize,
    rf: &RangeFraction,
) -> Result<MemorySize, ConfigError> {
    let multiplier = rf.fraction / (1.0 - rf.fraction);
    let relative = multiply(base, multiplier, rf, description)?;
    Ok(cap_to_min_max(r, description, relative, rf))
}

fn cap_to_min_max(
    r: &mut Reader<'_>,
    description: &str,
    relative: MemorySize,
    rf: &RangeFraction,
) -> MemorySize {
    if relative > rf.max {
        r.warn(format!(
            "The derived from fraction {description} ({}) is greater than its max value {}, max value will be used instead",
            relative.to_human_readable(),
            rf.max.to_human_readable()
        ));
        rf.max
    } else if relative < rf.min {
        r.warn(format!(
            "The derived from fraction {description} ({}) is less than its min value {}, min value will be used instead",
            relative.to_human_readable(),
            rf.min.to_human_readable()
        ));
        rf.min
    } else {
        relative
    }
}

/// Flink's `MemorySize.add` (`Math.addExact`): the sum of `parts`, or an overflow error naming
/// `keys`.
pub(crate) fn sum(parts: &[MemorySize], keys: &[&str]) -> Result<MemorySize, ConfigError> {
    let mut total = MemorySize::ZERO;
    for p in parts {
        total = total.checked_add(*p).ok_or_else(|| {
            ConfigError::new(
                ConfigErrorKind::Overflow,
                format!(
                    "The sum of the memory sizes ({}) overflows a 64-bit long: long overflow.",
                    parts
                        .iter()
                        .map(|p| p.to_human_readable())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
            .with_keys(keys.iter().copied())
        })?;
    }
    Ok(total)
}
