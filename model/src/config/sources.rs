//! Collecting entries from every source, checking their keys, and merging them in order.

use std::path::Path;

use super::dynamic::parse_dynamic_property;
use super::env::env_entries;
use super::file::FormatOrigin;
use super::keys::{classify, KeyClass};
use super::{ConfigFile, FileFormat, RawEntry, SourceError};
use crate::{Configuration, Source};

/// One layer's memory options: canonical key, value, source, whether it is a YAML float.
type Layer = Vec<(&'static str, String, Source, bool)>;

/// The memory options each source sets, checked and kept per layer, so they merge in the fixed
/// order file < environment < `-D` whatever order they were added in.
///
/// Nothing a source holds is dropped silently: a file without memory options, a line Flink
/// skips, a key with whitespace around it, a mapping under a scalar option and a key under a
/// memory namespace that membudget does not know each leave a warning, and those whose value
/// is not applied are also listed by [`not_applied`](Self::not_applied) (errors under
/// `--strict`). A near miss of a real key (at most two edits) is an error right away.
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
/// sources.add_dynamic("taskmanager.memory.new-option=1")?; // unknown: a warning
/// let config = sources.to_configuration();
/// let entry = config.get_raw("taskmanager.memory.process.size").unwrap();
/// assert_eq!((entry.value.as_str(), &entry.source), ("3g", &Source::Dynamic));
/// assert!(config.get_raw("parallelism.default").is_none());
/// assert_eq!(sources.not_applied().len(), 1);
/// # Ok::<(), membudget_model::config::SourceError>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct Sources {
    file: Layer,
    env: Layer,
    dynamic: Layer,
    warnings: Vec<String>,
    not_applied: Vec<String>,
}

/// The warning for a memory option set twice in one file (a flat file's repeated line, or a
/// nested file's key and a dotted key that flatten to the same option): Flink applies the later
/// value without a word.
fn twice(name: &str, key: &str, earlier: &RawEntry, later: &RawEntry) -> String {
    let at = |e: &RawEntry| {
        let line = e.line.map(|l| format!(" on line {l}")).unwrap_or_default();
        let written = if e.key == key {
            String::new()
        } else {
            format!(" (as '{}')", e.key)
        };
        format!("'{}'{line}{written}", e.value)
    };
    format!(
        "The memory option '{key}' is set twice in {name}: {} and then {}. Flink applies the \
         later value, so {} is NOT applied. Remove one of them.",
        at(earlier),
        at(later),
        at(earlier)
    )
}

impl Sources {
    /// No entries: only the embedded defaults.
    pub fn new() -> Sources {
        Sources::default()
    }

    /// Adds the memory options of a parsed configuration file (appended after earlier files).
    ///
    /// # Errors
    /// [`SourceError::UnknownKey`] for a near miss of a memory key.
    pub fn add_file(&mut self, file: &ConfigFile) -> Result<(), SourceError> {
        let ignore_case = file.format == FileFormat::AppSettingsJson;
        let source = Source::File(file.path.clone());
        let name = file.path.display().to_string();
        if file.format_origin == FormatOrigin::Guessed {
            self.warn(format!(
                "Read {name} as {}, guessed from its content (only flink-conf.yaml, config.yaml \
                 and *.json names say their format): pass --config-format to choose.",
                file.format
            ));
        }
        for skipped in &file.skipped {
            let text = format!(
                "Ignored line {} of {name} ('{}'): {}; Flink skips it too.",
                skipped.line, skipped.text, skipped.reason
            );
            match classify(&skipped.key, ignore_case) {
                KeyClass::Memory(key) => self.push_not_applied(format!(
                    "{text} It sets the memory option '{key}', which is therefore NOT applied."
                )),
                _ => self.warn(text),
            }
        }
        let before = self.file.len();
        // Where in `file.entries` each option this file adds came from.
        let mut positions = Vec::new();
        for (index, entry) in file.entries.iter().enumerate() {
            let origin = match entry.line {
                Some(line) => format!("in {name}:{line}"),
                None => format!("in {name}"),
            };
            if let Some(key) = self.check(entry, ignore_case, &origin)? {
                let repeated = self.file[before..]
                    .iter()
                    .position(|e| e.0 == key && e.1 != entry.value);
                if let Some(i) = repeated {
                    let earlier = &file.entries[positions[i]];
                    self.push_not_applied(twice(&name, key, earlier, entry));
                }
                positions.push(index);
                self.file
                    .push((key, entry.value.clone(), source.clone(), entry.yaml_float));
            }
        }
        if self.file.len() == before {
            let what = if file.is_blank {
                "is empty".to_owned()
            } else {
                format!("sets no memory option (read as {})", file.format)
            };
            let hint = match (file.format, &file.section) {
                (FileFormat::AppSettingsJson, None) => {
                    " (.NET settings: put them in a top-level \"Flink\" section, or pass \
                     --config-section NAME)"
                }
                _ => "",
            };
            self.push_not_applied(format!(
                "{name} {what}: nothing in it is applied to the plan{hint}."
            ));
        }
        Ok(())
    }

    /// Reads and adds a configuration file (see [`ConfigFile::load`]).
    ///
    /// # Errors
    /// The file cannot be read or parsed, or holds a near miss of a memory key.
    pub fn add_file_path(&mut self, path: &Path) -> Result<(), SourceError> {
        let file = ConfigFile::load(path)?;
        self.add_file(&file)
    }

    /// Adds the environment (`FLINK_TM_HEAP`/`FLINK_JM_HEAP`, `FLINK_PROPERTIES`,
    /// `MEMBUDGET_*`), replacing any environment added before.
    ///
    /// # Errors
    /// An unknown `MEMBUDGET_*` variable, or a near miss of a memory key in `FLINK_PROPERTIES`.
    pub fn add_env(
        &mut self,
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<(), SourceError> {
        let (entries, skipped) = env_entries(vars)?;
        self.env.clear();
        for (var, line) in skipped {
            let text = format!(
                "Ignored line {} of {var} ('{}'): {}; Flink skips it too.",
                line.line, line.text, line.reason
            );
            match classify(&line.key, false) {
                KeyClass::Memory(key) => self.push_not_applied(format!(
                    "{text} It sets the memory option '{key}', which is therefore NOT applied."
                )),
                _ => self.warn(text),
            }
        }
        for e in entries {
            let origin = match e.entry.line {
                Some(line) => format!("in {}, line {line}", e.var_name),
                None => format!("in {}", e.var_name),
            };
            if let Some(key) = self.check(&e.entry, false, &origin)? {
                self.env.push((
                    key,
                    e.entry.value.clone(),
                    Source::Env(e.var_name.clone()),
                    e.entry.yaml_float,
                ));
            }
        }
        Ok(())
    }

    /// Adds one `-D key=value` argument.
    ///
    /// # Errors
    /// The argument is not `key=value`, or the key is a near miss of a memory key.
    pub fn add_dynamic(&mut self, argument: &str) -> Result<(), SourceError> {
        let entry = parse_dynamic_property(argument)?;
        self.add_entry_dynamic(&entry)
    }

    /// Adds one `-D` property given as key and value (both exactly as given, like Flink).
    ///
    /// # Errors
    /// The key is a near miss of a memory key.
    pub fn add_property(&mut self, key: &str, value: &str) -> Result<(), SourceError> {
        self.add_entry_dynamic(&RawEntry::new(key.to_owned(), value.to_owned()))
    }

    fn add_entry_dynamic(&mut self, entry: &RawEntry) -> Result<(), SourceError> {
        if let Some(key) = self.check(entry, false, "given with -D")? {
            self.dynamic
                .push((key, entry.value.clone(), Source::Dynamic, false));
        }
        Ok(())
    }

    /// Everything the sources want the plan to mention, in the order found.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// The warnings about values that are not applied (errors under `--strict`).
    pub fn not_applied(&self) -> &[String] {
        &self.not_applied
    }

    /// The merged configuration: file < environment < `-D`, later entries winning within a
    /// layer too.
    pub fn to_configuration(&self) -> Configuration {
        let mut config = Configuration::new();
        for (key, value, source, yaml_float) in
            self.file.iter().chain(&self.env).chain(&self.dynamic)
        {
            if *yaml_float {
                config.set_yaml_float(*key, value.clone(), source.clone());
            } else {
                config.set(*key, value.clone(), source.clone());
            }
        }
        config
    }

    fn warn(&mut self, warning: String) {
        self.warnings.push(warning);
    }

    fn push_not_applied(&mut self, warning: String) {
        self.warnings.push(warning.clone());
        self.not_applied.push(warning);
    }

    /// The canonical key of a memory option; `None` for a key to ignore (with a warning when
    /// it looks like a memory option that will not be applied).
    fn check(
        &mut self,
        entry: &RawEntry,
        ignore_case: bool,
        origin: &str,
    ) -> Result<Option<&'static str>, SourceError> {
        let key = &entry.key;
        match classify(key, ignore_case) {
            KeyClass::Memory(k) => Ok(Some(k)),
            KeyClass::Ignored => Ok(None),
            KeyClass::Misspelt(suggestion) => Err(SourceError::UnknownKey {
                key: key.clone(),
                origin: origin.to_owned(),
                suggestion,
            }),
            KeyClass::Padded(k) => {
                self.push_not_applied(format!(
                    "Key '{key}' ({origin}) has whitespace around it: Flink does not recognise \
                     it as '{k}', so its value is NOT applied. Remove the whitespace."
                ));
                Ok(None)
            }
            KeyClass::NestedUnder(k) => {
                self.push_not_applied(format!(
                    "Key '{key}' ({origin}) puts a mapping under the option '{k}', which takes \
                     a single value: Flink flattens it to '{key}', which no option reads, so it \
                     is NOT applied. Write '{k}: <value>'."
                ));
                Ok(None)
            }
            KeyClass::Unknown => {
                self.push_not_applied(format!(
                    "Key '{key}' ({origin}) is not a memory option membudget knows; ignored (as \
                     Flink ignores keys it does not know)."
                ));
                Ok(None)
            }
        }
    }
}
