//! One `key = value` read from a source.

/// One `key = value` as a source wrote it, before it is checked against the memory options.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawEntry {
    /// The key as written (flattened with dots for nested formats).
    pub key: String,
    /// The value as text.
    pub value: String,
    /// The 1-based line in a line-based source (flat `flink-conf.yaml`, `FLINK_PROPERTIES`).
    pub line: Option<usize>,
}

impl RawEntry {
    /// An entry without a line number.
    pub fn new(key: String, value: String) -> RawEntry {
        RawEntry {
            key,
            value,
            line: None,
        }
    }
}
