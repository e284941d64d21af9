//! Reading a configuration file in any of the three formats.

use std::fs;
use std::path::{Path, PathBuf};

use super::appsettings::parse_appsettings;
use super::flink_conf::parse_flink_conf;
use super::keys::is_option_key;
use super::nested_yaml::parse_nested_yaml;
use super::{FileFormat, RawEntry, SourceError};

/// The entries of one configuration file.
#[derive(Clone, Debug)]
pub struct ConfigFile {
    /// The file.
    pub path: PathBuf,
    /// The format it was read as.
    pub format: FileFormat,
    /// Every `key = value` in file order (later duplicates win), memory options or not.
    pub entries: Vec<RawEntry>,
    /// Lines that were skipped (flat format only).
    pub warnings: Vec<String>,
}

impl ConfigFile {
    /// Reads and parses `path`, choosing the format with [`FileFormat::detect`].
    ///
    /// # Errors
    /// [`SourceError::Io`] if the file cannot be read, [`SourceError::Syntax`] if it is not
    /// valid YAML/JSON.
    pub fn load(path: &Path) -> Result<ConfigFile, SourceError> {
        let text = fs::read_to_string(path).map_err(|source| SourceError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let format = FileFormat::detect(path, &text);
        ConfigFile::parse(path, format, &text)
    }

    /// Parses `text` as `format`; `path` only names the file in messages and sources.
    ///
    /// # Errors
    /// [`SourceError::Syntax`] if the text is not valid in `format`.
    pub fn parse(path: &Path, format: FileFormat, text: &str) -> Result<ConfigFile, SourceError> {
        let origin = path.display().to_string();
        let syntax = |message: String| SourceError::Syntax {
            origin: origin.clone(),
            format,
            message,
        };
        let (entries, warnings) = match format {
            FileFormat::FlinkConf => parse_flink_conf(text, &origin),
            FileFormat::NestedYaml => (
                parse_nested_yaml(text, &is_option_key).map_err(syntax)?,
                vec![],
            ),
            FileFormat::AppSettingsJson => (
                parse_appsettings(text, &is_option_key).map_err(syntax)?,
                vec![],
            ),
        };
        Ok(ConfigFile {
            path: path.to_path_buf(),
            format,
            entries,
            warnings,
        })
    }
}
