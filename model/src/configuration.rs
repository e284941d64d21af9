//! `Configuration`: a flat key → value map that remembers where each value came from.

use std::collections::BTreeMap;

use crate::error::{ConfigError, ConfigErrorKind};
use crate::options::ConfigOption;
use crate::{MemorySize, Source};
use membudget_core::java_num::{
    java_parse_bool, java_parse_double, java_parse_float, java_parse_int,
};

/// One configured value and where it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The raw value text.
    pub value: String,
    /// Where the value came from.
    pub source: Source,
    /// Whether the value is a YAML floating-point scalar (Flink holds a `Double`, not text).
    pub yaml_float: bool,
}

/// A flat configuration: `key -> Entry`. Nested file formats are flattened with dots before
/// they get here.
///
/// Only explicitly configured values belong here: defaults come from each
/// [`ConfigOption`], and an entry whose source is [`Source::Default`] does not count as
/// "configured" for [`Configuration::contains`] (it is still read as a value).
///
/// # Examples
///
/// ```
/// use membudget_model::{options, Configuration, MemorySize, Source};
///
/// let mut c = Configuration::new();
/// c.set("taskmanager.network.memory.min", "32m", Source::Dynamic);
/// assert!(c.contains(&options::TM_NETWORK_MEMORY_MIN)); // via the deprecated key
/// let (min, src) = c.memory_size(&options::TM_NETWORK_MEMORY_MIN).unwrap().unwrap();
/// assert_eq!((min, src), (MemorySize::of_mebibytes(32), Source::Dynamic));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Configuration {
    entries: BTreeMap<String, Entry>,
}

/// A value read through a [`ConfigOption`]: the value, its source and the key it was found
/// under (the option's key, one of its deprecated keys, or the option's key for a default).
#[derive(Clone, Debug, PartialEq)]
pub struct Lookup<'a> {
    /// The raw value text.
    pub value: &'a str,
    /// Where the value came from ([`Source::Default`] for the embedded default).
    pub source: Source,
    /// The key the value was found under.
    pub key: &'static str,
    /// Whether the value is a YAML floating-point scalar.
    pub yaml_float: bool,
}

impl Configuration {
    /// An empty configuration.
    pub fn new() -> Configuration {
        Configuration::default()
    }

    /// Sets `key` to `value` (a later set of the same key overrides an earlier one).
    pub fn set(&mut self, key: impl Into<String>, value: impl Into<String>, source: Source) {
        self.entries.insert(
            key.into(),
            Entry {
                value: value.into(),
                source,
                yaml_float: false,
            },
        );
    }

    /// Sets `key` to a YAML floating-point scalar, given as Java's `Double.toString` of it
    /// (as a nested `config.yaml` loads it): a `float` option narrows the `Double` with
    /// Flink's range check instead of parsing the text.
    pub fn set_yaml_float(
        &mut self,
        key: impl Into<String>,
        value: impl Into<String>,
        source: Source,
    ) {
        self.entries.insert(
            key.into(),
            Entry {
                value: value.into(),
                source,
                yaml_float: true,
            },
        );
    }

    /// Removes `key`, returning its entry.
    pub fn remove(&mut self, key: &str) -> Option<Entry> {
        self.entries.remove(key)
    }

    /// The entry stored under exactly `key`.
    pub fn get_raw(&self, key: &str) -> Option<&Entry> {
        self.entries.get(key)
    }

    /// Whether exactly `key` is present.
    pub fn contains_key(&self, key: &str) -> bool {
        self.entries.contains_key(key)
    }

    /// Flink's `Configuration.contains(option)`: the option's key or one of its deprecated keys
    /// is explicitly configured (entries with [`Source::Default`] do not count).
    pub fn contains(&self, option: &ConfigOption) -> bool {
        option
            .all_keys()
            .any(|k| self.entries.get(k).is_some_and(|e| e.source.is_explicit()))
    }

    /// All entries in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Entry)> {
        self.entries.iter().map(|(k, e)| (k.as_str(), e))
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The raw value of `option`: its key first, then its deprecated keys in order, then its
    /// default (with [`Source::Default`]). `None` if absent and without default.
    pub fn lookup(&self, option: &ConfigOption) -> Option<Lookup<'_>> {
        for key in option.all_keys() {
            if let Some(e) = self.entries.get(key) {
                return Some(Lookup {
                    value: &e.value,
                    source: e.source.clone(),
                    key,
                    yaml_float: e.yaml_float,
                });
            }
        }
        option.default.map(|d| Lookup {
            value: d,
            source: Source::Default,
            key: option.key,
            yaml_float: false,
        })
    }

    /// Reads `option` as a [`MemorySize`] (configured value or default).
    ///
    /// # Errors
    ///
    /// The value is not a valid size: the error names the option and the value, as Flink's
    /// `Cannot read memory size from config option '<key>'.`
    pub fn memory_size(
        &self,
        option: &ConfigOption,
    ) -> Result<Option<(MemorySize, Source)>, ConfigError> {
        self.read_memory(option).map_err(|(l, why)| {
            ConfigError::new(
                ConfigErrorKind::InvalidValue,
                format!(
                    "Cannot read memory size from config option '{}'.",
                    option.key
                ),
            )
            .with_cause(parse_failure(option, &l, &why))
            .with_keys([l.key])
            .illegal_configuration()
        })
    }

    /// Reads `option` as a [`MemorySize`] the way Flink's plain `Configuration.get` does (where
    /// Flink does not go through `ProcessMemoryUtils.getMemorySizeFromConfig`, e.g.
    /// `ConfigurationParserUtils.getPageSize`).
    ///
    /// # Errors
    ///
    /// The value is not a valid size: Flink's `Could not parse value '…' for key '…'.`, an
    /// `IllegalArgumentException` no memory-configuration message wraps.
    pub fn memory_size_get(
        &self,
        option: &ConfigOption,
    ) -> Result<Option<(MemorySize, Source)>, ConfigError> {
        self.read_memory(option)
            .map_err(|(l, why)| invalid_value(option, &l, &why))
    }

    /// `option`'s size (configured value or default), or where the value that does not parse
    /// came from and why: the two ways Flink reads a size differ only in that error.
    fn read_memory(
        &self,
        option: &ConfigOption,
    ) -> Result<Option<(MemorySize, Source)>, (Lookup<'_>, String)> {
        let Some(l) = self.lookup(option) else {
            return Ok(None);
        };
        match MemorySize::parse(l.value) {
            Ok(size) => Ok(Some((size, l.source))),
            Err(e) => Err((l, e.to_string())),
        }
    }

    /// Reads `option` as a Java `float` (configured value or default), returned widened to
    /// `f64` exactly as Flink does.
    ///
    /// # Errors
    ///
    /// The value is not a float (Java's `Float.parseFloat` rules).
    pub fn fraction(&self, option: &ConfigOption) -> Result<Option<(f64, Source)>, ConfigError> {
        let Some(l) = self.lookup(option) else {
            return Ok(None);
        };
        if l.yaml_float {
            // ConfigurationUtils.convertToFloat(Double): a range-checked narrowing cast.
            let d: f64 = l.value.parse().unwrap_or(f64::NAN);
            let fits =
                d == 0.0 || (f64::from(f32::from_bits(1))..=f64::from(f32::MAX)).contains(&d.abs());
            return if fits {
                Ok(Some((f64::from(d as f32), l.source)))
            } else {
                Err(invalid_value(
                    option,
                    &l,
                    &format!(
                        "Configuration value {} overflows/underflows the float type",
                        l.value
                    ),
                ))
            };
        }
        match java_parse_float(l.value) {
            Some(v) => Ok(Some((f64::from(v), l.source))),
            None => Err(invalid_value(option, &l, "not a floating point number")),
        }
    }

    /// Reads `option` as a Java `double` (configured value or default).
    ///
    /// # Errors
    ///
    /// The value is not a floating point number.
    pub fn double(&self, option: &ConfigOption) -> Result<Option<(f64, Source)>, ConfigError> {
        let Some(l) = self.lookup(option) else {
            return Ok(None);
        };
        match java_parse_double(l.value) {
            Some(v) => Ok(Some((v, l.source))),
            None => Err(invalid_value(option, &l, "not a floating point number")),
        }
    }

    /// Reads `option` as a Java `int` (configured value or default).
    ///
    /// # Errors
    ///
    /// The value is not a 32-bit integer.
    pub fn integer(&self, option: &ConfigOption) -> Result<Option<(i32, Source)>, ConfigError> {
        let Some(l) = self.lookup(option) else {
            return Ok(None);
        };
        match java_parse_int(l.value) {
            Some(v) => Ok(Some((v, l.source))),
            None => Err(invalid_value(option, &l, "not a 32-bit integer")),
        }
    }

    /// Reads `option` as a boolean (configured value or default).
    ///
    /// # Errors
    ///
    /// The value is neither `true` nor `false` (case-insensitive).
    pub fn boolean(&self, option: &ConfigOption) -> Result<Option<(bool, Source)>, ConfigError> {
        let Some(l) = self.lookup(option) else {
            return Ok(None);
        };
        match java_parse_bool(l.value) {
            Some(v) => Ok(Some((v, l.source))),
            None => Err(invalid_value(option, &l, &format!(
                "Unrecognized option for boolean: {}. Expected either true or false(case insensitive)",
                l.value
            ))),
        }
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Configuration {
    /// A configuration of `-D`-style pairs (every entry gets [`Source::Dynamic`]).
    fn from_iter<T: IntoIterator<Item = (K, V)>>(iter: T) -> Self {
        let mut c = Configuration::new();
        for (k, v) in iter {
            c.set(k, v, Source::Dynamic);
        }
        c
    }
}

/// Where a value came from, and the key it was written under when that is not the option's
/// own (a deprecated or fallback key): Flink's texts name only the option's key.
fn origin(option: &ConfigOption, l: &Lookup<'_>) -> String {
    if l.key == option.key {
        format!("from {}", l.source)
    } else {
        format!("from {}, written as '{}'", l.source, l.key)
    }
}

fn parse_failure(option: &ConfigOption, l: &Lookup<'_>, why: &str) -> String {
    format!(
        "Could not parse value '{}' for key '{}' ({}): {why}",
        l.value,
        option.key,
        origin(option, l)
    )
}

/// Flink's `Could not parse value '…' for key '…'.` (naming the option's key, as
/// `Configuration.getOptional` does); the key to change is the one the value was written under.
fn invalid_value(option: &ConfigOption, l: &Lookup<'_>, why: &str) -> ConfigError {
    ConfigError::new(
        ConfigErrorKind::InvalidValue,
        format!(
            "Could not parse value '{}' for key '{}'.",
            l.value, option.key
        ),
    )
    .with_cause(format!("{why} ({})", origin(option, l)))
    .with_keys([l.key])
}
