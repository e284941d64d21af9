//! `ConfigError`: an invalid memory configuration, with Flink's text and the keys to change.

use core::fmt;

/// What kind of configuration problem a [`ConfigError`] reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConfigErrorKind {
    /// A value cannot be parsed (bad size, fraction, integer or boolean).
    InvalidValue,
    /// None of the option sets that size the process is configured.
    MissingRequired,
    /// Configured values contradict each other or a derived value (Flink's
    /// `IllegalConfigurationException`).
    Inconsistent,
    /// A size computation overflows a Java `long`.
    Overflow,
    /// A key is not a known memory option (e.g. a misspelling).
    UnknownKey,
    /// A configuration source (file, environment) cannot be read.
    Source,
    /// The plan does not fit the container memory limit.
    ContainerLimit,
}

/// The Java exception Flink throws for an error. Flink's network check wraps only
/// `IllegalConfigurationException`s in its "Network Memory size is the rest" explanation;
/// value parsing (`IllegalArgumentException`) and overflow (`ArithmeticException`) pass
/// through unwrapped, so the derivation must know which is which.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum FlinkException {
    /// `IllegalConfigurationException`.
    IllegalConfiguration,
    /// `IllegalArgumentException` (including `NumberFormatException`).
    IllegalArgument,
    /// `ArithmeticException`.
    Arithmetic,
    /// None: one of membudget's own checks (key spelling, sources, container limit).
    Own,
}

impl FlinkException {
    /// What Flink throws for an error of `kind` unless the error says otherwise: inconsistent
    /// or missing options are configuration errors, unparsable values argument errors.
    const fn of(kind: ConfigErrorKind) -> FlinkException {
        match kind {
            ConfigErrorKind::MissingRequired | ConfigErrorKind::Inconsistent => {
                FlinkException::IllegalConfiguration
            }
            ConfigErrorKind::InvalidValue => FlinkException::IllegalArgument,
            ConfigErrorKind::Overflow => FlinkException::Arithmetic,
            ConfigErrorKind::UnknownKey
            | ConfigErrorKind::Source
            | ConfigErrorKind::ContainerLimit => FlinkException::Own,
        }
    }
}

/// An invalid memory configuration.
///
/// `Display` prints Flink's message on the first line (with Flink's
/// `TaskManager memory configuration failed: ` / `JobManager memory configuration failed: `
/// prefix where Flink has it), then one `Caused by: ...` line per wrapped cause, then a line
/// naming the keys to change.
///
/// # Examples
///
/// ```
/// use membudget_model::{derive, Configuration, Role};
///
/// let err = derive(Role::TaskManager, &Configuration::new()).unwrap_err();
/// assert!(err.message().starts_with("TaskManager memory configuration failed: Either required"));
/// assert!(err.keys().iter().any(|k| k == "taskmanager.memory.process.size"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConfigError {
    kind: ConfigErrorKind,
    exception: FlinkException,
    message: String,
    causes: Vec<String>,
    keys: Vec<String>,
}

impl ConfigError {
    /// An error of `kind` with `message` and no keys yet.
    pub fn new(kind: ConfigErrorKind, message: impl Into<String>) -> ConfigError {
        ConfigError {
            kind,
            exception: FlinkException::of(kind),
            message: message.into(),
            causes: Vec::new(),
            keys: Vec::new(),
        }
    }

    /// The same error, raised by Flink as an `IllegalConfigurationException` whatever its kind
    /// (e.g. an unreadable value of a memory option, which Flink's `getMemorySizeFromConfig`
    /// rethrows as one).
    #[must_use]
    pub(crate) fn illegal_configuration(mut self) -> ConfigError {
        self.exception = FlinkException::IllegalConfiguration;
        self
    }

    /// Whether Flink raises this error as an `IllegalConfigurationException`.
    pub(crate) fn is_illegal_configuration(&self) -> bool {
        self.exception == FlinkException::IllegalConfiguration
    }

    /// Adds keys the user can change to fix the problem (duplicates are dropped).
    #[must_use]
    pub fn with_keys<I, S>(mut self, keys: I) -> ConfigError
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        for k in keys {
            let k = k.into();
            if !self.keys.contains(&k) {
                self.keys.push(k);
            }
        }
        self
    }

    /// Wraps this error under a new top-level `message` (Flink's exception with a cause): the
    /// old message becomes the first cause.
    #[must_use]
    pub fn wrapped(mut self, message: impl Into<String>) -> ConfigError {
        let old = core::mem::replace(&mut self.message, message.into());
        self.causes.insert(0, old);
        self
    }

    /// Appends an innermost cause line (e.g. the parser's reason for rejecting a value).
    #[must_use]
    pub fn with_cause(mut self, cause: impl Into<String>) -> ConfigError {
        self.causes.push(cause.into());
        self
    }

    /// Prefixes the top-level message (e.g. `TaskManager memory configuration failed: `).
    #[must_use]
    pub fn prefixed(mut self, prefix: &str) -> ConfigError {
        self.message.insert_str(0, prefix);
        self
    }

    /// The kind of problem.
    pub fn kind(&self) -> ConfigErrorKind {
        self.kind
    }

    /// The top-level message: Flink's text, one line.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Wrapped causes, outermost first (e.g. the network range violation under Flink's
    /// "the derived Network Memory is inconsistent with its configuration").
    pub fn causes(&self) -> &[String] {
        &self.causes
    }

    /// The keys to change, most relevant first.
    pub fn keys(&self) -> &[String] {
        &self.keys
    }

    /// The most relevant key to change, if any.
    pub fn key(&self) -> Option<&str> {
        self.keys.first().map(String::as_str)
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        for cause in &self.causes {
            write!(f, "\nCaused by: {cause}")?;
        }
        if !self.keys.is_empty() {
            f.write_str("\nKeys to change: ")?;
            for (i, k) in self.keys.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "'{k}'")?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}
