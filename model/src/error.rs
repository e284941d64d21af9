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
    /// A configured value would not be applied (a file without memory options, a skipped line
    /// holding a memory key, an unknown memory key, an option Flink 2.x no longer reads): a
    /// warning normally, this error under `--strict`.
    NotApplied,
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
            | ConfigErrorKind::ContainerLimit
            | ConfigErrorKind::NotApplied => FlinkException::Own,
        }
    }
}

/// An invalid memory configuration.
///
/// [`message`](Self::message) is Flink's text (with Flink's
/// `TaskManager memory configuration failed: ` / `JobManager memory configuration failed: `
/// prefix where Flink has it). `Display` is one line: that message with values echoed as the
/// user wrote them, the innermost cause, and the key to change. [`verbose`](Self::verbose) is
/// Flink's layout: the message, one `Caused by: ...` line per wrapped cause, then a line naming
/// every key to change.
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
    /// A value Flink prints in its own form (e.g. a `float` widened to `double`) and the text
    /// the user wrote for it.
    echo: Option<Box<(String, String)>>,
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
            echo: None,
        }
    }

    /// Says that `printed`, where the message shows it, is the value the user wrote as
    /// `written`: the one-line text shows `written`.
    #[must_use]
    pub(crate) fn with_echo(mut self, printed: String, written: &str) -> ConfigError {
        let written = membudget_core::java_num::java_trim(written);
        if printed != written && !written.is_empty() {
            self.echo = Some(Box::new((printed, written.to_owned())));
        }
        self
    }

    /// Records the value of `key` as written, for messages that do not show it (the one-line
    /// text appends it).
    #[must_use]
    pub(crate) fn with_value(mut self, key: &str, written: String) -> ConfigError {
        if !self.message.contains(&written) {
            self.causes.push(format!("'{key}' is {written}"));
        }
        self
    }

    /// Appends `note` (membudget's explanation) to the message.
    #[must_use]
    pub(crate) fn with_note(mut self, note: &str) -> ConfigError {
        self.message.push(' ');
        self.message.push_str(note);
        self
    }

    /// Prefixes the message when Flink raises this error as an `IllegalConfigurationException`
    /// (Flink's wrappers catch only those).
    #[must_use]
    pub(crate) fn prefixed_if_illegal_configuration(self, prefix: &str) -> ConfigError {
        if self.is_illegal_configuration() {
            self.prefixed(prefix)
        } else {
            self
        }
    }

    /// Flink's layout: the message, one `Caused by: ...` line per cause, then a line naming
    /// every key to change (what `--verbose` prints).
    pub fn verbose(&self) -> impl fmt::Display + '_ {
        Verbose(self)
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
    /// One line: the message and its causes (values as the user wrote them), then the key to
    /// change and at most two alternatives.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut line = self.message.clone();
        for cause in &self.causes {
            let cause = cause.trim_end_matches('.');
            if line.ends_with('.') {
                line.push(' ');
                let mut chars = cause.chars();
                if let Some(first) = chars.next() {
                    line.extend(first.to_uppercase());
                    line.push_str(chars.as_str());
                }
            } else {
                line.push_str(": ");
                line.push_str(cause);
            }
            line.push('.');
        }
        if let Some(echo) = &self.echo {
            let (printed, written) = &**echo;
            line = line.replacen(printed.as_str(), written, 1);
        }
        if !line.ends_with(['.', '?', ')']) {
            line.push('.');
        }
        f.write_str(&line)?;
        // A message that already names every key (a misspelt key and its suggestion, Flink's
        // "Either required ... need to be configured") needs no list.
        let named = self.keys.iter().all(|k| {
            self.message.contains(&format!("'{k}'")) || self.message.contains(&format!("({k}"))
        });
        if named {
            return Ok(());
        }
        if let Some((first, rest)) = self.keys.split_first() {
            write!(f, " Change '{first}'")?;
            if !rest.is_empty() {
                let rest: Vec<String> = rest.iter().take(2).map(|k| format!("'{k}'")).collect();
                write!(f, " (or {})", rest.join(", "))?;
            }
            f.write_str(".")?;
        }
        Ok(())
    }
}

/// [`ConfigError::verbose`].
struct Verbose<'a>(&'a ConfigError);

impl fmt::Display for Verbose<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let e = self.0;
        f.write_str(&e.message)?;
        for cause in &e.causes {
            write!(f, "\nCaused by: {cause}")?;
        }
        if !e.keys.is_empty() {
            f.write_str("\nKeys to change: ")?;
            for (i, k) in e.keys.iter().enumerate() {
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
