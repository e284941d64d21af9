//! The derivation's view of a configuration: typed reads that record where each value came from
//! and collect the conditions Flink only logs.

use std::borrow::Cow;
use std::collections::BTreeMap;

use crate::error::{ConfigError, ConfigErrorKind};
use crate::options::ConfigOption;
use crate::{Configuration, LimitFactor, MemorySize, Source};

/// Reads options for one derivation, recording sources and warnings.
pub(crate) struct Reader<'a> {
    config: Cow<'a, Configuration>,
    pub(crate) sources: BTreeMap<String, Source>,
    pub(crate) warnings: Vec<String>,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(config: &'a Configuration) -> Reader<'a> {
        Reader {
            config: Cow::Borrowed(config),
            sources: BTreeMap::new(),
            warnings: Vec::new(),
        }
    }

    /// The configuration being read (after any legacy mapping).
    pub(crate) fn config(&self) -> &Configuration {
        &self.config
    }

    /// Sets a value on a private copy of the configuration (Flink's legacy-heap mapping copies
    /// the configuration before setting the new option).
    pub(crate) fn set(&mut self, key: &str, value: String, source: Source) {
        self.config.to_mut().set(key, value, source);
    }

    /// Removes a key from the private copy of the configuration (an option this Flink version
    /// does not read).
    pub(crate) fn remove(&mut self, key: &str) {
        if self.config.contains_key(key) {
            self.config.to_mut().remove(key);
        }
    }

    /// Flink's `Configuration.contains(option)`.
    pub(crate) fn contains(&self, option: &ConfigOption) -> bool {
        self.config.contains(option)
    }

    /// Records a warning once.
    pub(crate) fn warn(&mut self, warning: String) {
        if !self.warnings.contains(&warning) {
            self.warnings.push(warning);
        }
    }

    fn record(&mut self, option: &ConfigOption, found_under: &str, source: Source) {
        if found_under != option.key && source.is_explicit() {
            self.warn(format!(
                "Config uses deprecated configuration key '{found_under}' instead of proper key '{}'",
                option.key
            ));
        }
        self.sources.insert(option.key.to_owned(), source);
    }

    fn found_under(&self, option: &ConfigOption) -> &'static str {
        self.config
            .lookup(option)
            .map(|l| l.key)
            .unwrap_or(option.key)
    }

    /// Flink's `ProcessMemoryUtils.getMemorySizeFromConfig`: the configured value or default.
    pub(crate) fn memory(&mut self, option: &ConfigOption) -> Result<MemorySize, ConfigError> {
        match self.config.memory_size(option)? {
            Some((size, source)) => {
                let key = self.found_under(option);
                self.record(option, key, source);
                Ok(size)
            }
            None => Err(ConfigError::new(
                ConfigErrorKind::MissingRequired,
                format!(
                    "Cannot read memory size from config option '{}'.",
                    option.key
                ),
            )
            .with_cause("The memory option is not set and has no default value.")
            .with_keys([option.key])),
        }
    }

    /// Flink's plain `config.get(option)` of a memory option (configured value or default):
    /// a value it cannot parse fails as `Configuration.get` does, not as
    /// [`memory`](Self::memory).
    pub(crate) fn memory_get(&mut self, option: &ConfigOption) -> Result<MemorySize, ConfigError> {
        match self.config.memory_size_get(option)? {
            Some((size, source)) => {
                let key = self.found_under(option);
                self.record(option, key, source);
                Ok(size)
            }
            None => Err(missing(option)),
        }
    }

    /// `config.getFloat(option)` widened to `double`.
    pub(crate) fn fraction(&mut self, option: &ConfigOption) -> Result<f64, ConfigError> {
        let (v, source) = self
            .config
            .fraction(option)?
            .ok_or_else(|| missing(option))?;
        let key = self.found_under(option);
        self.record(option, key, source);
        Ok(v)
    }

    /// `config.getInteger(option)`.
    pub(crate) fn integer(&mut self, option: &ConfigOption) -> Result<i32, ConfigError> {
        let (v, source) = self
            .config
            .integer(option)?
            .ok_or_else(|| missing(option))?;
        let key = self.found_under(option);
        self.record(option, key, source);
        Ok(v)
    }

    /// `config.getBoolean(option)`.
    pub(crate) fn boolean(&mut self, option: &ConfigOption) -> Result<bool, ConfigError> {
        let (v, source) = self
            .config
            .boolean(option)?
            .ok_or_else(|| missing(option))?;
        let key = self.found_under(option);
        self.record(option, key, source);
        Ok(v)
    }
}

impl Reader<'_> {
    /// A Kubernetes memory limit factor (Flink checks it only when deploying to Kubernetes;
    /// membudget whenever it is set, since only a Kubernetes user sets it).
    pub(crate) fn limit_factor(
        &mut self,
        option: &'static ConfigOption,
    ) -> Result<LimitFactor, ConfigError> {
        let written = self
            .config
            .lookup(option)
            .map(|l| l.value.to_owned())
            .unwrap_or_default();
        let (factor, source) = self.config.double(option)?.ok_or_else(|| missing(option))?;
        if source.is_explicit() {
            self.sources.insert(option.key.to_owned(), source);
        }
        LimitFactor::new(factor).ok_or_else(|| {
            ConfigError::new(
                ConfigErrorKind::InvalidValue,
                format!("{} should be greater or equal to 1.", option.key),
            )
            .with_value(option.key, written)
            .with_keys([option.key])
        })
    }
}

fn missing(option: &ConfigOption) -> ConfigError {
    ConfigError::new(
        ConfigErrorKind::MissingRequired,
        format!(
            "The option '{}' is not set and has no default value.",
            option.key
        ),
    )
    .with_keys([option.key])
}
