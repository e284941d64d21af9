//! One `key = value` read from a source.

/// One `key = value` as a source wrote it, before it is checked against the memory options.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawEntry {
    /// The key as written (flattened with dots for nested formats).
    pub key: String,
    /// The value as text: as written, or for a typed YAML scalar the text Java's `toString`
    /// gives the value Flink loads (`0x10` → `16`, `1e5` → `100000.0`).
    pub value: String,
    /// The 1-based line in a line-based source (flat `flink-conf.yaml`, `FLINK_PROPERTIES`).
    pub line: Option<usize>,
    /// Whether the value is a YAML floating-point scalar, which Flink holds as a `Double` (and
    /// narrows to `float` with a range check instead of parsing text).
    pub yaml_float: bool,
}

impl RawEntry {
    /// A text entry without a line number.
    pub fn new(key: String, value: String) -> RawEntry {
        RawEntry {
            key,
            value,
            line: None,
            yaml_float: false,
        }
    }
}
