//! Writing a finished report to stdout.

use std::io::{self, Write};

use super::BenchError;

/// Writes `text` to stdout; a closed pipe (`membudget bench ... | head`) is not an error.
///
/// # Errors
/// [`BenchError::Io`] for any other write failure.
pub fn print(text: &str) -> Result<(), BenchError> {
    let stdout = io::stdout();
    let mut lock = stdout.lock();
    match lock.write_all(text.as_bytes()).and_then(|()| lock.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Groups the digits of `n` in threes: `12345678` → `12,345,678`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A duration in nanoseconds with a unit that keeps 3 significant digits: `850 ns`, `1.25 µs`,
/// `12.5 ms`.
pub fn nanos(ns: u64) -> String {
    let v = ns as f64;
    let (value, unit) = if ns < 1_000 {
        return format!("{ns} ns");
    } else if ns < 1_000_000 {
        (v / 1e3, "µs")
    } else if ns < 1_000_000_000 {
        (v / 1e6, "ms")
    } else {
        (v / 1e9, "s")
    };
    let decimals = if value < 10.0 {
        2
    } else if value < 100.0 {
        1
    } else {
        0
    };
    format!("{value:.decimals$} {unit}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_digits() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(12_345_678), "12,345,678");
    }

    #[test]
    fn scales_nanoseconds() {
        assert_eq!(nanos(850), "850 ns");
        assert_eq!(nanos(1_250), "1.25 µs");
        assert_eq!(nanos(12_500_000), "12.5 ms");
        assert_eq!(nanos(250_000), "250 µs");
        assert_eq!(nanos(3_000_000_000), "3.00 s");
    }
}
