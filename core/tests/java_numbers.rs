//! Flink's fraction arithmetic against what Java itself printed and computed
//! (`fixtures/java_numbers.tsv`, written by `scripts/java-number-fixtures` with OpenJDK 17):
//! `Double.toString` of a widened `float`, `MemorySize.multiply`'s `BigDecimal` product and
//! `"%.3f"`, for 4009 fractions — among them ties where Rust's own float formatting picks
//! other digits than Java's (`0.1861f32 as f64`: Rust `…563`, Java `…562`).

use membudget_core::java_num::{
    java_double_to_string, java_format_3f, java_parse_float, multiply_exact,
};

#[test]
fn fractions_print_and_multiply_as_java_does() {
    let text = include_str!("fixtures/java_numbers.tsv");
    let mut rows = 0;
    for line in text.lines() {
        let [written, bytes, to_string, product, format_3f] =
            line.split('\t').collect::<Vec<_>>()[..]
        else {
            panic!("malformed fixture row: {line:?}");
        };
        let d = f64::from(java_parse_float(written).expect(written));
        let bytes: u64 = bytes.parse().unwrap();
        assert_eq!(
            java_double_to_string(d),
            to_string,
            "Double.toString({written})"
        );
        assert_eq!(
            multiply_exact(bytes, d).map(|p| p.to_string()).as_deref(),
            Some(product),
            "{bytes} × {written}"
        );
        assert_eq!(
            java_format_3f(d * 1000.0),
            format_3f,
            "%.3f of {written} × 1000"
        );
        rows += 1;
    }
    assert!(rows >= 4000, "{rows} rows");
}
