//! `MemorySize`: a number of bytes with Flink's parse and print rules.

use core::fmt;
use core::str::FromStr;

use crate::java_num::{java_format_3f, java_trim, multiply_exact};

/// The units Flink accepts, in ascending order: `(names, multiplier)`. The second name is the
/// one Flink prints.
const UNITS: [(&[&str], u64); 5] = [
    (&["b", "bytes"], 1),
    (&["k", "kb", "kibibytes"], 1 << 10),
    (&["m", "mb", "mebibytes"], 1 << 20),
    (&["g", "gb", "gibibytes"], 1 << 30),
    (&["t", "tb", "tebibytes"], 1 << 40),
];

/// Flink's list of recognised units, as printed in its error message.
const ALL_UNITS: &str = "(b | bytes) / (k | kb | kibibytes) / (m | mb | mebibytes) / \
                         (g | gb | gibibytes) / (t | tb | tebibytes)";

/// A number of bytes, parsed and printed exactly like Flink's `MemorySize`.
///
/// Sizes are plain byte counts; units are powers of 1024. Flink keeps sizes in a Java `long`,
/// so every size this crate derives is at most [`MemorySize::MAX_VALUE`] (`i64::MAX` bytes).
///
/// # Examples
///
/// ```
/// use membudget_core::MemorySize;
///
/// let size: MemorySize = " 128 MB ".parse().unwrap();
/// assert_eq!(size.bytes(), 128 << 20);
/// assert_eq!(size.to_string(), "128 mb");
/// assert_eq!(MemorySize::new(1025).to_human_readable(), "1.001kb (1025 bytes)");
/// assert!("1.5g".parse::<MemorySize>().is_err());
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MemorySize(u64);

impl MemorySize {
    /// Zero bytes.
    pub const ZERO: MemorySize = MemorySize(0);

    /// The largest size Flink can represent: `Long.MAX_VALUE` bytes (`MemorySize.MAX_VALUE`).
    pub const MAX_VALUE: MemorySize = MemorySize(i64::MAX as u64);

    /// A size of `bytes` bytes.
    #[inline]
    pub const fn new(bytes: u64) -> MemorySize {
        MemorySize(bytes)
    }

    /// A size of `mebibytes` MiB (`mebibytes << 20`, saturating).
    pub const fn of_mebibytes(mebibytes: u64) -> MemorySize {
        MemorySize(mebibytes.saturating_mul(1 << 20))
    }

    /// The size in bytes.
    #[inline]
    pub const fn bytes(self) -> u64 {
        self.0
    }

    /// The size in whole mebibytes (rounded down).
    pub const fn mebibytes(self) -> u64 {
        self.0 >> 20
    }

    /// Parses Flink's size syntax: a decimal number of bytes followed by an optional unit.
    ///
    /// Surrounding whitespace is ignored; the unit is case-insensitive and may be separated by
    /// whitespace. Units: `b|bytes`, `k|kb|kibibytes`, `m|mb|mebibytes`, `g|gb|gibibytes`,
    /// `t|tb|tebibytes`; no unit means bytes.
    ///
    /// # Errors
    ///
    /// [`MemorySizeParseError`] with Flink's text when the text is blank, does not start with
    /// a digit (so negative and fractional values fail), names an unknown unit, or when the
    /// number or the number of bytes does not fit a Java `long`.
    pub fn parse(text: &str) -> Result<MemorySize, MemorySizeParseError> {
        let trimmed = java_trim(text);
        if trimmed.is_empty() {
            return Err(MemorySizeParseError::Empty);
        }
        let digits_end = trimmed
            .bytes()
            .position(|b| !b.is_ascii_digit())
            .unwrap_or(trimmed.len());
        let number = &trimmed[..digits_end];
        let unit = java_trim(&trimmed[digits_end..]).to_lowercase();
        if number.is_empty() {
            return Err(MemorySizeParseError::NoNumber);
        }
        let value: i64 = number
            .parse()
            .map_err(|_| MemorySizeParseError::NumberOverflow {
                number: number.to_owned(),
            })?;
        let multiplier = if unit.is_empty() {
            1
        } else {
            UNITS
                .iter()
                .find(|(names, _)| names.contains(&unit.as_str()))
                .map(|(_, m)| *m as i64)
                .ok_or(MemorySizeParseError::UnknownUnit { unit })?
        };
        let bytes =
            value
                .checked_mul(multiplier)
                .ok_or_else(|| MemorySizeParseError::BytesOverflow {
                    text: text.to_owned(),
                })?;
        Ok(MemorySize(bytes as u64))
    }

    /// Flink's `toHumanReadableString`: `"<n> bytes"` up to 1024 bytes, otherwise the value in
    /// the largest unit strictly below it with three decimals (Java's `%.3f`: half-up), then
    /// the exact byte count: `1.001kb (1025 bytes)`, `1024.000mb (1073741824 bytes)`. Every
    /// size in a membudget message is printed this way, so a Flink user reads the same text.
    pub fn to_human_readable(self) -> String {
        let unit = UNITS.iter().rev().find(|(_, m)| self.0 > *m);
        match unit {
            Some((names, multiplier)) if *multiplier > 1 => {
                let approximate = self.0 as f64 / *multiplier as f64;
                format!(
                    "{}{} ({} bytes)",
                    java_format_3f(approximate),
                    names[1],
                    self.0
                )
            }
            _ => format!("{} bytes", self.0),
        }
    }

    /// `self + other`, or `None` when the sum exceeds [`MemorySize::MAX_VALUE`] (Flink's
    /// `Math.addExact` on `long`).
    pub fn checked_add(self, other: MemorySize) -> Option<MemorySize> {
        self.0
            .checked_add(other.0)
            .filter(|b| *b <= Self::MAX_VALUE.0)
            .map(MemorySize)
    }

    /// `self - other`, or `None` when `other > self`.
    pub fn checked_sub(self, other: MemorySize) -> Option<MemorySize> {
        self.0.checked_sub(other.0).map(MemorySize)
    }

    /// Flink's `MemorySize.multiply(double)`: the exact decimal product of the byte count and the
    /// shortest decimal string of `multiplier`, truncated toward zero. `None` when `multiplier`
    /// is negative or not finite, or when the product exceeds [`MemorySize::MAX_VALUE`].
    pub fn checked_multiply(self, multiplier: f64) -> Option<MemorySize> {
        if !multiplier.is_finite() || multiplier < 0.0 {
            return None;
        }
        multiply_exact(self.0, multiplier).map(MemorySize)
    }
}

impl fmt::Display for MemorySize {
    /// Flink's `toString`: the byte count in the largest unit that divides it exactly, e.g.
    /// `128 mb`, `1025 bytes`. Like Flink, a multiple of 1 TiB (and zero) prints in bytes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let first_inexact = UNITS.iter().position(|(_, m)| self.0 % m != 0);
        let (names, multiplier) = match first_inexact {
            Some(0) | None => UNITS[0],
            Some(i) => UNITS[i - 1],
        };
        write!(f, "{} {}", self.0 / multiplier, names[1])
    }
}

impl FromStr for MemorySize {
    type Err = MemorySizeParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        MemorySize::parse(s)
    }
}

impl From<u64> for MemorySize {
    fn from(bytes: u64) -> Self {
        MemorySize(bytes)
    }
}

impl From<MemorySize> for u64 {
    fn from(size: MemorySize) -> Self {
        size.0
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for MemorySize {
    /// Serialises as the byte count (an integer), the JSON contract's unit.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(self.0)
    }
}

#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for MemorySize {
    /// Accepts a byte count (integer) or a Flink size string such as `"128m"`.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = MemorySize;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number of bytes or a memory size string such as \"128m\"")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<MemorySize, E> {
                Ok(MemorySize(v))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<MemorySize, E> {
                u64::try_from(v)
                    .map(MemorySize)
                    .map_err(|_| E::custom("a memory size must not be negative"))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<MemorySize, E> {
                MemorySize::parse(v).map_err(E::custom)
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

/// Why a text is not a memory size. `Display` gives Flink's message.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum MemorySizeParseError {
    /// The text is empty or only whitespace.
    Empty,
    /// The text does not start with a digit (e.g. `-1m`, `m`, `.5g`).
    NoNumber,
    /// The number itself does not fit a Java `long`.
    NumberOverflow {
        /// The digits that overflowed.
        number: String,
    },
    /// The unit is not one of Flink's units.
    UnknownUnit {
        /// The lower-cased unit text.
        unit: String,
    },
    /// The number of bytes (number × unit) does not fit a Java `long`.
    BytesOverflow {
        /// The whole text that was parsed.
        text: String,
    },
}

impl fmt::Display for MemorySizeParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MemorySizeParseError::Empty => {
                f.write_str("argument is an empty- or whitespace-only string")
            }
            MemorySizeParseError::NoNumber => f.write_str("text does not start with a number"),
            MemorySizeParseError::NumberOverflow { number } => write!(
                f,
                "The value '{number}' cannot be re represented as 64bit number (numeric overflow)."
            ),
            MemorySizeParseError::UnknownUnit { unit } => write!(
                f,
                "Memory size unit '{unit}' does not match any of the recognized units: {ALL_UNITS}"
            ),
            MemorySizeParseError::BytesOverflow { text } => write!(
                f,
                "The value '{text}' cannot be re represented as 64bit number of bytes (numeric overflow)."
            ),
        }
    }
}

impl std::error::Error for MemorySizeParseError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_readable_examples() {
        assert_eq!(MemorySize::new(0).to_human_readable(), "0 bytes");
        assert_eq!(MemorySize::new(1024).to_human_readable(), "1024 bytes");
        assert_eq!(
            MemorySize::new(1025).to_human_readable(),
            "1.001kb (1025 bytes)"
        );
        assert_eq!(
            MemorySize::new(1_000_000_000).to_human_readable(),
            "953.674mb (1000000000 bytes)"
        );
        assert_eq!(
            MemorySize::new(1 << 30).to_human_readable(),
            "1024.000mb (1073741824 bytes)"
        );
        assert_eq!(
            MemorySize::MAX_VALUE.to_human_readable(),
            "8388608.000tb (9223372036854775807 bytes)"
        );
    }

    /// The sizes the buffer pool's usage warning prints, against Flink's output: the unit is
    /// the largest one the size strictly exceeds, so exact powers stay in the unit below.
    #[test]
    fn human_readable_matches_flink_at_unit_boundaries() {
        let hr = |b: u64| MemorySize::new(b).to_human_readable();
        assert_eq!(hr(0), "0 bytes");
        assert_eq!(hr(1023), "1023 bytes");
        assert_eq!(hr(1024), "1024 bytes");
        assert_eq!(hr(1 << 20), "1024.000kb (1048576 bytes)");
        assert_eq!(hr(1 << 30), "1024.000mb (1073741824 bytes)");
        assert_eq!(hr(3 << 29), "1.500gb (1610612736 bytes)");
        assert_eq!(hr(1 << 40), "1024.000gb (1099511627776 bytes)");
        assert_eq!(hr((1 << 40) + 1), "1.000tb (1099511627777 bytes)");
        // Java's %.3f rounds half-up: 1088 bytes are exactly 1.0625 KiB (half-even: 1.062).
        assert_eq!(hr(1088), "1.063kb (1088 bytes)");
        assert_eq!(hr(1048063), "1023.499kb (1048063 bytes)");
        // What the buffer pool printed before sharing this formatter.
        assert_eq!(hr(100), "100 bytes");
        assert_eq!(hr(32 * 1024), "32.000kb (32768 bytes)");
        assert_eq!(hr(3 << 20), "3.000mb (3145728 bytes)");
    }
}
