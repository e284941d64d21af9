//! `MemorySize` parse and print rules, ported from Flink's `MemorySizeTest`.

use membudget_model::{MemorySize, MemorySizeParseError};

fn bytes(s: &str) -> u64 {
    MemorySize::parse(s).unwrap().bytes()
}

#[test]
fn unit_conversions() {
    assert_eq!(MemorySize::new(955).mebibytes(), 0);
    assert_eq!(MemorySize::new(15 * 1024 * 1024).mebibytes(), 15);
    assert_eq!(MemorySize::new(2 * (1 << 40) + 10).mebibytes(), 2097152);
    assert_eq!(MemorySize::of_mebibytes(7).bytes(), 7 << 20);
}

#[test]
fn parse_bytes_and_units() {
    for s in ["1234", "1234b", "1234 b", "1234bytes", "1234 bytes"] {
        assert_eq!(bytes(s), 1234, "{s}");
    }
    for s in [
        "667766k",
        "667766 k",
        "667766kb",
        "667766 kb",
        "667766kibibytes",
        "667766 kibibytes",
    ] {
        assert_eq!(bytes(s), 667766 << 10, "{s}");
    }
    for s in [
        "7657623m",
        "7657623 m",
        "7657623mb",
        "7657623 mb",
        "7657623mebibytes",
        "7657623 mebibytes",
    ] {
        assert_eq!(bytes(s), 7657623 << 20, "{s}");
    }
    for s in [
        "987654g",
        "987654 g",
        "987654gb",
        "987654 gb",
        "987654gibibytes",
        "987654 gibibytes",
    ] {
        assert_eq!(bytes(s), 987654 << 30, "{s}");
    }
    for s in [
        "1234567t",
        "1234567 t",
        "1234567tb",
        "1234567 tb",
        "1234567tebibytes",
        "1234567 tebibytes",
    ] {
        assert_eq!(bytes(s), 1234567 << 40, "{s}");
    }
}

#[test]
fn upper_case_units_and_trimming() {
    assert_eq!(bytes("1 B"), 1);
    assert_eq!(bytes("1 K"), 1 << 10);
    assert_eq!(bytes("1 M"), 1 << 20);
    assert_eq!(bytes("1 G"), 1 << 30);
    assert_eq!(bytes("1 T"), 1 << 40);
    assert_eq!(bytes("      155      "), 155);
    assert_eq!(bytes("      155      bytes   "), 155);
    assert_eq!(bytes("\t128m\n"), 128 << 20);
}

#[test]
fn parse_invalid_with_flink_messages() {
    let err = |s: &str| MemorySize::parse(s).unwrap_err();
    assert_eq!(err(""), MemorySizeParseError::Empty);
    assert_eq!(
        err("     ").to_string(),
        "argument is an empty- or whitespace-only string"
    );
    assert_eq!(
        err("foobar or fubar or foo bazz").to_string(),
        "text does not start with a number"
    );
    assert_eq!(
        err("16 gjah").to_string(),
        "Memory size unit 'gjah' does not match any of the recognized units: (b | bytes) / (k | kb | kibibytes) / (m | mb | mebibytes) / (g | gb | gibibytes) / (t | tb | tebibytes)"
    );
    assert!(matches!(
        err("16 16 17 18 bytes"),
        MemorySizeParseError::UnknownUnit { .. }
    ));
    assert_eq!(err("-100 bytes"), MemorySizeParseError::NoNumber);
    assert_eq!(
        err("1.5g"),
        MemorySizeParseError::UnknownUnit { unit: ".5g".into() }
    );
}

#[test]
fn parse_overflows() {
    assert_eq!(
        MemorySize::parse("100000000000000000000000000000000 bytes")
            .unwrap_err()
            .to_string(),
        "The value '100000000000000000000000000000000' cannot be re represented as 64bit number (numeric overflow)."
    );
    assert_eq!(
        MemorySize::parse("100000000000000 tb").unwrap_err().to_string(),
        "The value '100000000000000 tb' cannot be re represented as 64bit number of bytes (numeric overflow)."
    );
    assert_eq!(bytes("9223372036854775807"), i64::MAX as u64);
    assert!(MemorySize::parse("9223372036854775808").is_err());
    assert_eq!(bytes("8388607t"), 8388607u64 << 40);
    assert!(MemorySize::parse("8388608t").is_err());
}

#[test]
fn human_readable_strings() {
    let hr = |b: u64| MemorySize::new(b).to_human_readable();
    assert_eq!(hr(0), "0 bytes");
    assert_eq!(hr(1), "1 bytes");
    assert_eq!(hr(1024), "1024 bytes");
    assert_eq!(hr(1025), "1.001kb (1025 bytes)");
    assert_eq!(hr(1536), "1.500kb (1536 bytes)");
    assert_eq!(hr(1_000_000), "976.563kb (1000000 bytes)");
    assert_eq!(hr(1_000_000_000), "953.674mb (1000000000 bytes)");
    assert_eq!(hr(1_000_000_000_000), "931.323gb (1000000000000 bytes)");
    assert_eq!(
        hr(1_000_000_000_000_000),
        "909.495tb (1000000000000000 bytes)"
    );
    assert_eq!(hr(1 << 30), "1024.000mb (1073741824 bytes)");
}

#[test]
fn to_string_uses_largest_exact_unit() {
    assert_eq!(MemorySize::parse("128m").unwrap().to_string(), "128 mb");
    assert_eq!(MemorySize::parse("1234 kb").unwrap().to_string(), "1234 kb");
    assert_eq!(MemorySize::new(1025).to_string(), "1025 bytes");
    assert_eq!(MemorySize::parse("3g").unwrap().to_string(), "3 gb");
    // Flink quirk: a whole number of TiB (and zero) prints in bytes.
    assert_eq!(
        MemorySize::parse("1t").unwrap().to_string(),
        "1099511627776 bytes"
    );
    assert_eq!(MemorySize::ZERO.to_string(), "0 bytes");
    // Display output parses back to the same size.
    for s in ["1", "4097", "128m", "1g", "1t", "3t"] {
        let m = MemorySize::parse(s).unwrap();
        assert_eq!(MemorySize::parse(&m.to_string()).unwrap(), m);
    }
}

#[test]
fn multiply_is_flinks_bigdecimal_multiply() {
    let m = MemorySize::new(100);
    assert_eq!(m.checked_multiply(0.5), Some(MemorySize::new(50)));
    assert_eq!(m.checked_multiply(-1.0), None);
    assert_eq!(MemorySize::MAX_VALUE.checked_multiply(2.0), None);
    assert_eq!(MemorySize::MAX_VALUE.checked_add(MemorySize::new(1)), None);
    assert_eq!(
        MemorySize::new(1342177280).checked_multiply(f64::from(0.1f32)),
        Some(MemorySize::new(134217730))
    );
}

#[test]
fn serde_round_trip() {
    let m = MemorySize::parse("128m").unwrap();
    assert_eq!(serde_json::to_string(&m).unwrap(), "134217728");
    let back: MemorySize = serde_json::from_str("134217728").unwrap();
    assert_eq!(back, m);
    let from_text: MemorySize = serde_json::from_str("\"128 mb\"").unwrap();
    assert_eq!(from_text, m);
    assert!(serde_json::from_str::<MemorySize>("\"lots\"").is_err());
    assert!(serde_json::from_str::<MemorySize>("-1").is_err());
}
