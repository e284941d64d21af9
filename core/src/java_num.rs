//! Java number formatting and parsing rules that Flink's messages and arithmetic depend on.
//!
//! Flink reads fractions with `Float.parseFloat`, widens them to `double`, multiplies sizes with
//! `BigDecimal.valueOf(double)` (the shortest decimal string of the double) and prints doubles
//! with `Double.toString` and sizes with `String.format("%.3f")` (half-up rounding of the
//! shortest decimal digits). Everything here is built on one source of those digits,
//! `shortest_decimal`: `ryu`'s shortest round-trip digits, which break a tie between two
//! shortest candidates to the even one as Java does. Rust's own `{}` / `{:e}` break it upwards
//! (`0.1861f32 as f64` prints `…563`, Java `…562`), which moved a derived size by a byte.
//!
//! [`MemorySize`](crate::MemorySize) prints and multiplies with these; the model reads fraction,
//! integer and boolean options and prints fractions in its messages with them.

/// Java's `String.trim()`: strips every char `<= ' '` from both ends.
pub fn java_trim(s: &str) -> &str {
    s.trim_matches(|c: char| c <= ' ')
}

/// The shortest decimal digits of a finite `|d|` as `(digits, exponent)` such that
/// `|d| == digits × 10^exponent` (digits without leading or trailing zeros, `"0"` for zero).
fn shortest_decimal(d: f64) -> (String, i32) {
    // ryu prints "0.18610000610351562", "5.0", "1e20" or "1.5e-7".
    let mut buffer = ryu::Buffer::new();
    let s = buffer.format_finite(d.abs());
    let (mantissa, exp) = s.split_once('e').unwrap_or((s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let all = format!("{int_part}{frac_part}");
    let significant = all.trim_start_matches('0');
    let digits = significant.trim_end_matches('0');
    if digits.is_empty() {
        return ("0".to_owned(), 0);
    }
    // Each trailing zero dropped raises the exponent by one (at most a few hundred: no
    // overflow for a double's exponent range).
    let dropped = (significant.len() - digits.len()) as i32;
    (digits.to_owned(), exp - frac_part.len() as i32 + dropped)
}

/// A finite `|d|` in plain notation from its shortest digits: `0.18610000610351562`, `5`,
/// `100000000000000000000` (what `{}` prints, with Java's choice of digits).
fn plain_decimal(d: f64) -> String {
    let (digits, exp) = shortest_decimal(d);
    if exp >= 0 {
        return format!("{digits}{}", "0".repeat(exp as usize));
    }
    let fraction_digits = exp.unsigned_abs() as usize;
    if digits.len() > fraction_digits {
        let (int_part, frac_part) = digits.split_at(digits.len() - fraction_digits);
        format!("{int_part}.{frac_part}")
    } else {
        let zeros = "0".repeat(fraction_digits - digits.len());
        format!("0.{zeros}{digits}")
    }
}

/// `BigDecimal.valueOf(bytes).multiply(BigDecimal.valueOf(multiplier)).longValue()` with
/// Flink's overflow check (`> Long.MAX_VALUE` fails). Returns `None` on overflow, and for a
/// negative or non-finite `multiplier` (Flink rejects those before multiplying).
pub fn multiply_exact(bytes: u64, multiplier: f64) -> Option<u64> {
    if !multiplier.is_finite() || multiplier < 0.0 {
        return None;
    }
    if bytes == 0 || multiplier == 0.0 {
        return Some(0);
    }
    let (digits, exp) = shortest_decimal(multiplier);
    // At most 17 significant digits: < 10^17 < 2^57; bytes <= 2^64: product < 2^121.
    let mantissa: u128 = digits.parse().ok()?;
    let product = u128::from(bytes) * mantissa;
    let limit = i64::MAX as u128;
    let value = if exp >= 0 {
        let mut v = product;
        for _ in 0..exp {
            v = v.checked_mul(10)?;
            if v > limit {
                return None;
            }
        }
        v
    } else {
        let neg = exp.unsigned_abs();
        if neg > 38 {
            // 10^39 > 2^121 > product: the truncated quotient is zero.
            0
        } else {
            product / 10u128.pow(neg)
        }
    };
    if value > limit {
        None
    } else {
        Some(value as u64)
    }
}

/// Java's `Double.toString(d)`: plain notation with at least one fractional digit for
/// `10^-3 <= |d| < 10^7`, otherwise computerized scientific notation (`1.0E7`, `1.5E-4`).
pub fn java_double_to_string(d: f64) -> String {
    if d.is_nan() {
        return "NaN".to_owned();
    }
    if d.is_infinite() {
        return if d > 0.0 { "Infinity" } else { "-Infinity" }.to_owned();
    }
    let sign = if d.is_sign_negative() { "-" } else { "" };
    let a = d.abs();
    if a == 0.0 {
        return format!("{sign}0.0");
    }
    if (1e-3..1e7).contains(&a) {
        let plain = plain_decimal(a);
        if plain.contains('.') {
            format!("{sign}{plain}")
        } else {
            format!("{sign}{plain}.0")
        }
    } else {
        let (digits, exp) = shortest_decimal(a);
        let sci_exp = exp + digits.len() as i32 - 1;
        let (first, rest) = digits.split_at(1);
        let rest = if rest.is_empty() { "0" } else { rest };
        format!("{sign}{first}.{rest}E{sci_exp}")
    }
}

/// Java's `String.format(Locale.ROOT, "%.3f", v)` for a finite, non-negative `v`: the shortest
/// decimal digits of `v`, rounded half-up to three fractional digits.
pub fn java_format_3f(v: f64) -> String {
    let plain = plain_decimal(v);
    let (int_part, frac_part) = plain.split_once('.').unwrap_or((plain.as_str(), ""));
    if frac_part.len() <= 3 {
        return format!("{int_part}.{frac_part:0<3}");
    }
    let round_up = frac_part.as_bytes()[3] >= b'5';
    let mut digits: Vec<u8> = int_part.bytes().chain(frac_part.bytes().take(3)).collect();
    if round_up {
        let mut i = digits.len();
        loop {
            if i == 0 {
                digits.insert(0, b'1');
                break;
            }
            i -= 1;
            if digits[i] == b'9' {
                digits[i] = b'0';
            } else {
                digits[i] += 1;
                break;
            }
        }
    }
    let split = digits.len() - 3;
    let (i, f) = digits.split_at(split);
    format!(
        "{}.{}",
        String::from_utf8_lossy(i),
        String::from_utf8_lossy(f)
    )
}

/// Java's `Float.parseFloat(s)`: decimal forms, hexadecimal forms (`0x1p-2`, `0x1.8P3`),
/// `NaN`, `Infinity`, an optional `f`/`d` suffix, surrounding whitespace (Java's trim). The
/// result is correctly rounded to `float` directly (no detour through `double`).
pub fn java_parse_float(s: &str) -> Option<f32> {
    java_parse_floating::<f32>(s)
}

/// Java's `Double.parseDouble(s)`, same accepted forms as [`java_parse_float`].
pub fn java_parse_double(s: &str) -> Option<f64> {
    java_parse_floating::<f64>(s)
}

/// A binary floating-point format: significand bits (with the hidden bit) and the smallest
/// normal exponent.
trait Binary: Sized {
    const PRECISION: i64;
    const MIN_EXP: i64;
    const MAX_EXP: i64;
    fn from_f64_exact(v: f64) -> Self;
}

impl Binary for f32 {
    const PRECISION: i64 = 24;
    const MIN_EXP: i64 = -126;
    const MAX_EXP: i64 = 127;
    fn from_f64_exact(v: f64) -> Self {
        v as f32
    }
}

impl Binary for f64 {
    const PRECISION: i64 = 53;
    const MIN_EXP: i64 = -1022;
    const MAX_EXP: i64 = 1023;
    fn from_f64_exact(v: f64) -> Self {
        v
    }
}

/// Java's hexadecimal floating-point literal body (after the sign, before any `f`/`d`):
/// `0x` digits [`.` digits] `p` [sign] decimal exponent, at least one hex digit.
fn parse_hex_floating<F: Binary>(body: &str) -> Option<F> {
    let rest = body
        .strip_prefix("0x")
        .or_else(|| body.strip_prefix("0X"))?;
    let (digits, exp) = rest.split_once(['p', 'P'])?;
    let (int_part, frac_part) = digits.split_once('.').unwrap_or((digits, ""));
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    let all_hex = |s: &str| s.bytes().all(|b| b.is_ascii_hexdigit());
    if !all_hex(int_part) || !all_hex(frac_part) {
        return None;
    }
    let exp_digits = exp.strip_prefix(['+', '-']).unwrap_or(exp);
    if exp_digits.is_empty() || !exp_digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // Huge exponents only saturate (to 0 or infinity).
    let exp: i64 = exp.parse::<i64>().unwrap_or(if exp.starts_with('-') {
        -(1 << 40)
    } else {
        1 << 40
    });
    // The significand: up to 30 hex digits (120 bits) exactly, later non-zero digits as a
    // sticky bit.
    let mut mantissa: u128 = 0;
    let mut sticky = false;
    let mut exp2 = exp;
    let mut kept = 0;
    for (i, c) in int_part.chars().chain(frac_part.chars()).enumerate() {
        let d = c.to_digit(16)? as u128;
        let in_fraction = i >= int_part.len();
        if mantissa == 0 && d == 0 {
            if in_fraction {
                exp2 -= 4;
            }
            continue;
        }
        if kept < 30 {
            mantissa = mantissa << 4 | d;
            kept += 1;
            if in_fraction {
                exp2 -= 4;
            }
        } else {
            sticky |= d != 0;
            if !in_fraction {
                exp2 += 4;
            }
        }
    }
    Some(round_binary::<F>(mantissa, sticky, exp2))
}

/// `mantissa × 2^exp2` (plus a sticky "something non-zero below") rounded to nearest-even in
/// `F`, with gradual underflow and overflow to infinity.
fn round_binary<F: Binary>(mantissa: u128, sticky: bool, exp2: i64) -> F {
    if mantissa == 0 {
        return F::from_f64_exact(0.0);
    }
    let bits = 128 - i64::from(mantissa.leading_zeros());
    let top = bits - 1 + exp2; // the value lies in [2^top, 2^(top+1))
    if top > F::MAX_EXP {
        return F::from_f64_exact(f64::INFINITY);
    }
    let keep = if top >= F::MIN_EXP {
        F::PRECISION
    } else {
        F::PRECISION - (F::MIN_EXP - top)
    };
    let shift = bits - keep;
    let (mut q, scale) = if shift <= 0 {
        (mantissa, exp2)
    } else {
        let (q, rem_cmp) = if shift > bits {
            (0u128, core::cmp::Ordering::Less)
        } else if shift == bits {
            let half = 1u128 << (bits - 1);
            (
                0,
                mantissa.cmp(&half).then(if sticky {
                    core::cmp::Ordering::Greater
                } else {
                    core::cmp::Ordering::Equal
                }),
            )
        } else {
            let q = mantissa >> shift;
            let rem = mantissa & ((1u128 << shift) - 1);
            let half = 1u128 << (shift - 1);
            let ord = rem.cmp(&half).then(if sticky {
                core::cmp::Ordering::Greater
            } else {
                core::cmp::Ordering::Equal
            });
            (q, ord)
        };
        let q = match rem_cmp {
            core::cmp::Ordering::Greater => q + 1,
            core::cmp::Ordering::Equal if q & 1 == 1 => q + 1,
            _ => q,
        };
        (q, exp2 + shift)
    };
    if q == 0 {
        return F::from_f64_exact(0.0);
    }
    // A carry may add a bit: renormalise (still exact in f64, which spans every f32/f64 value).
    let mut scale = scale;
    while q >= 1u128 << 64 {
        q >>= 1;
        scale += 1;
    }
    let q_bits = 64 - i64::from((q as u64).leading_zeros());
    if q_bits - 1 + scale > F::MAX_EXP {
        return F::from_f64_exact(f64::INFINITY);
    }
    let mut v = q as f64;
    // Scale by 2^scale in steps that stay within f64's range.
    let mut s = scale;
    while s > 0 {
        let step = s.min(1000);
        v *= 2f64.powi(step as i32);
        s -= step;
    }
    while s < 0 {
        let step = (-s).min(1000);
        v /= 2f64.powi(step as i32);
        s += step;
    }
    F::from_f64_exact(v)
}

fn java_parse_floating<F>(s: &str) -> Option<F>
where
    F: core::str::FromStr + core::ops::Neg<Output = F> + From<f32> + Binary,
{
    let t = java_trim(s);
    let (negative, body) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let signed = |v: F| if negative { -v } else { v };
    if body == "NaN" {
        return Some(F::from(f32::NAN));
    }
    if body == "Infinity" {
        return Some(signed(F::from(f32::INFINITY)));
    }
    let body = body
        .strip_suffix(['f', 'F', 'd', 'D'])
        .filter(|b| !b.is_empty())
        .unwrap_or(body);
    if body.starts_with("0x") || body.starts_with("0X") {
        return parse_hex_floating::<F>(body).map(signed);
    }
    if body.is_empty()
        || !body
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
        || !body.bytes().any(|b| b.is_ascii_digit())
        || body.starts_with(['e', 'E'])
    {
        return None;
    }
    // Only one sign is allowed before the number; signs may appear after the exponent marker.
    let mantissa_end = body.find(['e', 'E']).unwrap_or(body.len());
    if body[..mantissa_end].contains(['+', '-']) {
        return None;
    }
    body.parse::<F>().ok().map(signed)
}

/// Java's `Integer.parseInt(s)`: an optional sign and decimal digits, nothing else — not even
/// surrounding whitespace (Flink's file readers trim values; a `-D` value arrives as given).
pub fn java_parse_int(s: &str) -> Option<i32> {
    s.parse::<i32>().ok()
}

/// Flink's boolean parsing (`ConfigurationUtils.convertToBoolean`): `true`/`false`,
/// case-insensitive, untrimmed.
pub fn java_parse_bool(s: &str) -> Option<bool> {
    if s.eq_ignore_ascii_case("true") {
        Some(true)
    } else if s.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_widening_matches_java() {
        assert_eq!(java_double_to_string(0.1f32 as f64), "0.10000000149011612");
        assert_eq!(java_double_to_string(0.4f32 as f64), "0.4000000059604645");
        let f = 0.1f32 as f64;
        assert_eq!(java_double_to_string(f / (1.0 - f)), "0.11111111295076065");
        assert_eq!(java_double_to_string(1.0), "1.0");
        assert_eq!(java_double_to_string(-0.5), "-0.5");
        assert_eq!(java_double_to_string(1.5e-4), "1.5E-4");
        assert_eq!(java_double_to_string(1e7), "1.0E7");
        assert_eq!(java_double_to_string(f64::NAN), "NaN");
        assert_eq!(java_double_to_string(0.0), "0.0");
    }

    #[test]
    fn multiply_is_exact_decimal_truncation() {
        let f = 0.1f32 as f64;
        assert_eq!(multiply_exact(1342177280, f), Some(134217730));
        assert_eq!(multiply_exact(1342177280, 0.4f32 as f64), Some(536870920));
        assert_eq!(multiply_exact(10, 0.5), Some(5));
        assert_eq!(multiply_exact(3, 0.5), Some(1));
        assert_eq!(multiply_exact(i64::MAX as u64, 1.0), Some(i64::MAX as u64));
        assert_eq!(multiply_exact(i64::MAX as u64, 2.0), None);
        assert_eq!(multiply_exact(u64::MAX, 1e-300), Some(0));
        assert_eq!(multiply_exact(5, 1e20), None);
        assert_eq!(multiply_exact(5, 0.0), Some(0));
        assert_eq!(multiply_exact(5, -0.0), Some(0));
        assert_eq!(multiply_exact(5, -0.5), None);
        assert_eq!(multiply_exact(5, f64::NAN), None);
        assert_eq!(multiply_exact(5, f64::INFINITY), None);
    }

    #[test]
    fn format_3f_rounds_half_up() {
        assert_eq!(java_format_3f(1.0009765625), "1.001");
        assert_eq!(java_format_3f(953.67431640625), "953.674");
        assert_eq!(java_format_3f(1024.0), "1024.000");
        assert_eq!(java_format_3f(0.0005), "0.001");
        assert_eq!(java_format_3f(9.9995), "10.000");
        assert_eq!(java_format_3f(999.9999), "1000.000");
        assert_eq!(java_format_3f(1.25), "1.250");
    }

    #[test]
    fn parse_float_like_java() {
        assert_eq!(java_parse_float("0.1"), Some(0.1f32));
        assert_eq!(java_parse_float(" 0.5f "), Some(0.5f32));
        assert_eq!(java_parse_float(".5"), Some(0.5f32));
        assert_eq!(java_parse_float("-0.1"), Some(-0.1f32));
        assert_eq!(java_parse_float("1e-1"), Some(0.1f32));
        assert!(java_parse_float("NaN").unwrap().is_nan());
        assert_eq!(java_parse_float("Infinity"), Some(f32::INFINITY));
        assert_eq!(java_parse_float("inf"), None);
        assert_eq!(java_parse_float("nan"), None);
        assert_eq!(java_parse_float("abc"), None);
        assert_eq!(java_parse_float(""), None);
        assert_eq!(java_parse_float("f"), None);
        assert_eq!(java_parse_float("--1"), None);
        assert_eq!(java_parse_float("1-1"), None);
        assert_eq!(java_parse_double("1.5"), Some(1.5));
        assert_eq!(java_parse_double("-0.1"), Some(-0.1));
    }

    #[test]
    fn hex_floats_like_java() {
        // Each against Java's Float.parseFloat / Double.parseDouble.
        assert_eq!(java_parse_float("0x1p-2"), Some(0.25));
        assert_eq!(java_parse_float(" 0X1.8P1f "), Some(3.0));
        assert_eq!(java_parse_float("-0x.8p0"), Some(-0.5));
        assert_eq!(java_parse_double("0x1.fffffffffffffp1023"), Some(f64::MAX));
        assert_eq!(java_parse_double("0x1p-1074"), Some(f64::from_bits(1)));
        assert_eq!(java_parse_double("0x1p-1076"), Some(0.0));
        assert_eq!(java_parse_double("0x1.8p-1075"), Some(f64::from_bits(1)));
        assert_eq!(java_parse_double("0x1p1024"), Some(f64::INFINITY));
        assert_eq!(java_parse_float("0x1p-149"), Some(f32::from_bits(1)));
        assert_eq!(java_parse_float("0x1.fffffffp0"), Some(2.0));
        // Rounded to float directly: 1 + 2^-24 + 2^-60 rounds up, a detour through double
        // (which drops 2^-60) would round to even (down).
        assert_eq!(
            java_parse_float("0x1.000001000000001p0"),
            Some(1.0 + f32::EPSILON)
        );
        assert_eq!(java_parse_float("0x1.000001p0"), Some(1.0));
        assert_eq!(
            java_parse_double("0x123456789abcdef0123456789abcdefp-120"),
            Some((0x123456789abcdef0123456789abcdefu128 as f64) / 2f64.powi(120))
        );
        for bad in [
            "0x", "0xp1", "0x1", "0x1p", "0x1.p", "0xgp1", "0x1p1.5", "0x1e1",
        ] {
            assert_eq!(java_parse_double(bad), None, "{bad}");
        }
    }

    #[test]
    fn parse_int_and_bool() {
        assert_eq!(java_parse_int("10"), Some(10));
        // Integer.parseInt does not trim (Flink 1.20.3 rejects `-D ...numberOfBuffers= 2048 `).
        assert_eq!(java_parse_int(" 10 "), None);
        assert_eq!(java_parse_int("+5"), Some(5));
        assert_eq!(java_parse_int("-5"), Some(-5));
        assert_eq!(java_parse_int("2147483648"), None);
        assert_eq!(java_parse_int("1.0"), None);
        assert_eq!(java_parse_bool("TRUE"), Some(true));
        assert_eq!(java_parse_bool("False"), Some(false));
        assert_eq!(java_parse_bool("yes"), None);
        assert_eq!(java_parse_bool(" true"), None);
    }
}
