//! Fuzzes `MemorySize` parsing against a simple reference model of Flink's rules, and checks
//! that every parsed size prints and re-parses to itself.
#![no_main]
use libfuzzer_sys::fuzz_target;
use membudget_model::MemorySize;

/// Flink's rules, written the slow obvious way: trim, leading digits, unit, checked product.
fn model(text: &str) -> Option<u64> {
    let t = text.trim_matches(|c: char| c <= ' ');
    let digits: String = t.chars().take_while(|c| c.is_ascii_digit()).collect();
    if digits.is_empty() {
        return None;
    }
    let unit = t[digits.len()..]
        .trim_matches(|c: char| c <= ' ')
        .to_lowercase();
    let multiplier: u128 = match unit.as_str() {
        "" | "b" | "bytes" => 1,
        "k" | "kb" | "kibibytes" => 1 << 10,
        "m" | "mb" | "mebibytes" => 1 << 20,
        "g" | "gb" | "gibibytes" => 1 << 30,
        "t" | "tb" | "tebibytes" => 1 << 40,
        _ => return None,
    };
    // Java's Long.parseLong accepts any number of leading zeros.
    let significant = digits.trim_start_matches('0');
    if significant.len() > 30 {
        return None;
    }
    let n: u128 = if significant.is_empty() {
        0
    } else {
        significant.parse().ok()?
    };
    if n > i64::MAX as u128 {
        return None;
    }
    let bytes = n * multiplier;
    (bytes <= i64::MAX as u128).then_some(bytes as u64)
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let parsed = MemorySize::parse(text).ok().map(MemorySize::bytes);
    assert_eq!(parsed, model(text), "input {text:?}");
    if let Some(bytes) = parsed {
        let size = MemorySize::new(bytes);
        assert_eq!(MemorySize::parse(&size.to_string()).unwrap(), size);
        let hr = size.to_human_readable();
        assert!(hr.ends_with("bytes") || hr.ends_with(" bytes)"), "{hr}");
    }
});
