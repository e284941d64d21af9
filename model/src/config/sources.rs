//! Collecting entries from every source, checking their keys, and merging them in order.

use std::path::Path;

use super::dynamic::parse_dynamic_property;
use super::env::env_entries;
use super::keys::{classify, KeyClass};
use super::{ConfigFile, FileFormat, RawEntry, SourceError};
use crate::{Configuration, Source};

/// The memory options each source sets, checked and kept per layer, so they merge in the fixed
/// order file < environment < `-D` whatever order they were added in.
///
/// # Examples
///
/// ```
/// use membudget_model::config::Sources;
/// use membudget_model::Source;
///
/// let mut sources = Sources::new();
/// sources.add_env([("MEMBUDGET_TASKMANAGER_MEMORY_PROCESS_SIZE".to_string(), "2g".to_string())])?;
/// sources.add_dynamic("taskmanager.memory.process.size=3g")?;
/// sources.add_dynamic("parallelism.default=4")?; // not a memory option: ignored
/// let config = sources.to_configuration();
/// let entry = config.get_raw("taskmanager.memory.process.size").unwrap();
/// assert_eq!((entry.value.as_str(), &entry.source), ("3g", &Source::Dynamic));
/// assert!(config.get_raw("parallelism.default").is_none());
/// # Ok::<(), membudget_model::config::SourceError>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct Sources {
    file: Vec<(&'static str, String, Source)>,
    env: Vec<(&'static str, String, Source)>,
    dynamic: Vec<(&'static str, String, Source)>,
    warnings: Vec<String>,
}

impl Sources {
    /// No entries: only the embedded defaults.
    pub fn new() -> Sources {
        Sources::default()
    }

    /// Adds the memory options of a parsed configuration file (appended after earlier files).
    ///
    /// # Errors
    /// [`SourceError::UnknownKey`] for a misspelt memory key.
    pub fn add_file(&mut self, file: &ConfigFile) -> Result<(), SourceError> {
        let ignore_case = file.format == FileFormat::AppSettingsJson;
        let source = Source::File(file.path.clone());
        for entry in &file.entries {
            let origin = match entry.line {
                Some(line) => format!("{}:{line}", file.path.display()),
                None => file.path.display().to_string(),
            };
            if let Some(key) = check(entry, ignore_case, || format!("in {origin}"))? {
                self.file.push((key, entry.value.clone(), source.clone()));
            }
        }
        self.warnings.extend(file.warnings.iter().cloned());
        Ok(())
    }

    /// Reads and adds a configuration file (see [`ConfigFile::load`]).
    ///
    /// # Errors
    /// The file cannot be read or parsed, or holds a misspelt memory key.
    pub fn add_file_path(&mut self, path: &Path) -> Result<(), SourceError> {
        let file = ConfigFile::load(path)?;
        self.add_file(&file)
    }

    /// Adds the environment (`FLINK_TM_HEAP`/`FLINK_JM_HEAP`, `FLINK_PROPERTIES`,
    /// `MEMBUDGET_*`), replacing any environment added before.
    ///
    /// # Errors
    /// An unknown `MEMBUDGET_*` variable, or a misspelt memory key in `FLINK_PROPERTIES`.
    pub fn add_env(
        &mut self,
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<(), SourceError> {
        let (entries, warnings) = env_entries(vars)?;
        self.env.clear();
        for e in entries {
            let var = e.var_name.clone();
            let origin = || match e.entry.line {
                Some(line) => format!("in {var}, line {line}"),
                None => format!("in {var}"),
            };
            if let Some(key) = check(&e.entry, false, origin)? {
                self.env
                    .push((key, e.entry.value.clone(), Source::Env(e.var_name.clone())));
            }
        }
        self.warnings.extend(warnings);
        Ok(())
    }

    /// Adds one `-D key=value` argument.
    ///
    /// # Errors
    /// The argument is not `key=value`, or the key is a misspelt memory key.
    pub fn add_dynamic(&mut self, argument: &str) -> Result<(), SourceError> {
        let entry = parse_dynamic_property(argument)?;
        self.add_entry_dynamic(&entry)
    }

    /// Adds one `-D` property given as key and value.
    ///
    /// # Errors
    /// The key is a misspelt memory key.
    pub fn add_property(&mut self, key: &str, value: &str) -> Result<(), SourceError> {
        self.add_entry_dynamic(&RawEntry::new(
            key.trim().to_owned(),
            value.trim().to_owned(),
        ))
    }

    fn add_entry_dynamic(&mut self, entry: &RawEntry) -> Result<(), SourceError> {
        if let Some(key) = check(entry, false, || "given with -D".to_owned())? {
            self.dynamic
                .push((key, entry.value.clone(), Source::Dynamic));
        }
        Ok(())
    }

    /// Lines the sources skipped (malformed `key: value` lines), for the plan's warnings.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// The merged configuration: file < environment < `-D`, later entries winning within a
    /// layer too.
    pub fn to_configuration(&self) -> Configuration {
        let mut config = Configuration::new();
        for (key, value, source) in self.file.iter().chain(&self.env).chain(&self.dynamic) {
            config.set(*key, value.clone(), source.clone());
        }
        config
    }
}

/// The canonical key of a memory option, `None` for a key to ignore.
fn check(
    entry: &RawEntry,
    ignore_case: bool,
    origin: impl FnOnce() -> String,
) -> Result<Option<&'static str>, SourceError> {
    match classify(&entry.key, ignore_case) {
        KeyClass::Memory(key) => Ok(Some(key)),
        KeyClass::Ignored => Ok(None),
        KeyClass::Misspelt(suggestion) => Err(SourceError::UnknownKey {
            key: entry.key.clone(),
            origin: origin(),
            suggestion,
        }),
    }
}
