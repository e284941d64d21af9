//! Problems with configuration *sources* (files, environment, `-D`), before any derivation.

use std::fmt;
use std::io;
use std::path::PathBuf;

use membudget_core::keys::TM_TOTAL_PROCESS_MEMORY;

use super::FileFormat;

/// A configuration source that cannot be used.
#[derive(Debug)]
#[non_exhaustive]
pub enum SourceError {
    /// The configuration file could not be read.
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        source: io::Error,
    },
    /// The configuration file is not valid in its format.
    Syntax {
        /// The file (or variable) that holds the text.
        origin: String,
        /// The format it was read as.
        format: FileFormat,
        /// The parser's message.
        message: String,
    },
    /// A key that looks like a memory option but is none.
    UnknownKey {
        /// The key as written.
        key: String,
        /// Where it was written (file and line, variable, `-D`).
        origin: String,
        /// The closest real memory option.
        suggestion: &'static str,
    },
    /// A `MEMBUDGET_*` environment variable that maps to no memory option.
    UnknownEnvVar {
        /// The variable's name.
        name: String,
        /// The closest real variable name.
        suggestion: String,
        /// The option that variable sets.
        suggestion_key: &'static str,
    },
    /// A `-D` argument that is not `key=value`.
    BadDynamicProperty {
        /// The argument as given.
        argument: String,
    },
}

impl SourceError {
    /// The configuration key (or variable) to change.
    pub fn key(&self) -> Option<&str> {
        match self {
            SourceError::Io { .. } | SourceError::Syntax { .. } => None,
            SourceError::UnknownKey { key, .. } => Some(key),
            SourceError::UnknownEnvVar { name, .. } => Some(name),
            SourceError::BadDynamicProperty { argument } => Some(argument),
        }
    }
}

impl fmt::Display for SourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SourceError::Io { path, source } => {
                write!(
                    f,
                    "Cannot read configuration file {}: {source}",
                    path.display()
                )
            }
            SourceError::Syntax {
                origin,
                format,
                message,
            } => write!(f, "Cannot parse {origin} as {format}: {message}"),
            SourceError::UnknownKey {
                key,
                origin,
                suggestion,
            } => match key.strip_prefix('\u{feff}') {
                // Invisible in the key: name it.
                Some(rest) => write!(
                    f,
                    "Unknown memory option '\\u{{feff}}{rest}' ({origin}): the key starts with a \
                     UTF-8 byte order mark, which Flink reads as part of the key, so it would \
                     not apply '{suggestion}'. Save the file without the byte order mark."
                ),
                None => write!(
                    f,
                    "Unknown memory option '{key}' ({origin}). Did you mean '{suggestion}'?"
                ),
            },
            SourceError::UnknownEnvVar {
                name,
                suggestion,
                suggestion_key,
            } => write!(
                f,
                "Unknown environment variable {name}: no memory option is called that. \
                 Did you mean {suggestion} (sets '{suggestion_key}')?"
            ),
            SourceError::BadDynamicProperty { argument } => write!(
                f,
                "Invalid dynamic property '-D {argument}': expected key=value, \
                 e.g. -D {TM_TOTAL_PROCESS_MEMORY}=2g"
            ),
        }
    }
}

impl std::error::Error for SourceError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SourceError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

impl From<SourceError> for crate::ConfigError {
    fn from(e: SourceError) -> crate::ConfigError {
        use crate::error::ConfigErrorKind;
        let kind = match e {
            SourceError::UnknownKey { .. } | SourceError::UnknownEnvVar { .. } => {
                ConfigErrorKind::UnknownKey
            }
            SourceError::BadDynamicProperty { .. } => ConfigErrorKind::InvalidValue,
            SourceError::Io { .. } | SourceError::Syntax { .. } => ConfigErrorKind::Source,
        };
        let keys: Vec<String> = match &e {
            SourceError::UnknownKey {
                key, suggestion, ..
            } => {
                vec![key.clone(), (*suggestion).to_owned()]
            }
            SourceError::UnknownEnvVar {
                name,
                suggestion_key,
                ..
            } => vec![name.clone(), (*suggestion_key).to_owned()],
            _ => Vec::new(),
        };
        crate::ConfigError::new(kind, e.to_string()).with_keys(keys)
    }
}
