//! Reading a configuration file in any of the three formats.

use std::fs;
use std::path::{Path, PathBuf};

use super::appsettings::parse_appsettings;
use super::flink_conf::{parse_flink_conf, SkippedLine};
use super::keys::is_option_key;
use super::nested_yaml::parse_nested_yaml;
use super::{FileFormat, RawEntry, SourceError};

/// How the format of a file was decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FormatOrigin {
    /// Given explicitly (`--config-format`).
    Given,
    /// Implied by a conventional file name (`flink-conf.yaml`, `config.yaml`, `*.json`).
    FileName,
    /// Guessed from the content (the plan says so).
    Guessed,
}

/// The entries of one configuration file.
#[derive(Clone, Debug)]
pub struct ConfigFile {
    /// The file.
    pub path: PathBuf,
    /// The format it was read as.
    pub format: FileFormat,
    /// How that format was decided.
    pub format_origin: FormatOrigin,
    /// Every `key = value` in file order (later duplicates win), memory options or not.
    pub entries: Vec<RawEntry>,
    /// The `appsettings.json` section that was read (`Flink`, or the one asked for).
    pub section: Option<String>,
    /// Whether the file holds nothing but whitespace and comments.
    pub is_blank: bool,
    /// Lines Flink skips (flat format only).
    pub skipped: Vec<SkippedLine>,
}

/// Largest configuration file read: Flink's memory configuration is a few kilobytes, so a larger
/// file (or a device such as `/dev/zero`) is the wrong path, refused before it fills memory.
pub(crate) const MAX_CONFIG_FILE_BYTES: u64 = 16 << 20;

/// The text of `path`, at most [`MAX_CONFIG_FILE_BYTES`].
fn read_capped(path: &Path) -> std::io::Result<String> {
    use std::io::Read;
    let mut text = String::new();
    fs::File::open(path)?
        .take(MAX_CONFIG_FILE_BYTES + 1)
        .read_to_string(&mut text)?;
    if text.len() as u64 > MAX_CONFIG_FILE_BYTES {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "it is larger than {} MiB, and a memory configuration is a few kilobytes: is it \
                 the right file?",
                MAX_CONFIG_FILE_BYTES >> 20
            ),
        ));
    }
    Ok(text)
}

impl ConfigFile {
    /// Reads and parses `path`, choosing the format with [`FileFormat::detect`].
    ///
    /// # Errors
    /// [`SourceError::Io`] if the file cannot be read, [`SourceError::Syntax`] if it is not
    /// valid YAML/JSON.
    pub fn load(path: &Path) -> Result<ConfigFile, SourceError> {
        ConfigFile::load_with(path, None, None)
    }

    /// Reads and parses `path` as `format` (when given; otherwise as its conventional name
    /// says, otherwise as guessed from the content), reading only `section` of an
    /// `appsettings.json` (when given; otherwise its `"Flink"` section when it has one).
    ///
    /// # Errors
    /// [`SourceError::Io`] if the file cannot be read, [`SourceError::Syntax`] if it is not
    /// valid in its format or has no such section.
    pub fn load_with(
        path: &Path,
        format: Option<FileFormat>,
        section: Option<&str>,
    ) -> Result<ConfigFile, SourceError> {
        let text = read_capped(path).map_err(|source| SourceError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let (format, origin) = match (format, FileFormat::from_file_name(path)) {
            (Some(f), _) => (f, FormatOrigin::Given),
            (None, Some(f)) => (f, FormatOrigin::FileName),
            (None, None) => (FileFormat::sniff(&text), FormatOrigin::Guessed),
        };
        let mut file = ConfigFile::parse_section(path, format, &text, section)?;
        file.format_origin = origin;
        Ok(file)
    }

    /// Parses `text` as `format`; `path` only names the file in messages and sources.
    ///
    /// # Errors
    /// [`SourceError::Syntax`] if the text is not valid in `format`.
    pub fn parse(path: &Path, format: FileFormat, text: &str) -> Result<ConfigFile, SourceError> {
        ConfigFile::parse_section(path, format, text, None)
    }

    fn parse_section(
        path: &Path,
        format: FileFormat,
        text: &str,
        section: Option<&str>,
    ) -> Result<ConfigFile, SourceError> {
        let origin = path.display().to_string();
        let syntax = |message: String| SourceError::Syntax {
            origin: origin.clone(),
            format,
            message,
        };
        let (entries, skipped, section) = match format {
            FileFormat::FlinkConf => {
                let (entries, skipped) = parse_flink_conf(text);
                (entries, skipped, None)
            }
            FileFormat::NestedYaml => (parse_nested_yaml(text).map_err(syntax)?, vec![], None),
            FileFormat::AppSettingsJson => {
                let (entries, used) =
                    parse_appsettings(text, &is_option_key, section).map_err(syntax)?;
                (entries, vec![], used)
            }
        };
        let is_blank = text.lines().all(|line| {
            let t = line.trim();
            t.is_empty() || t.starts_with('#') || t.starts_with("//")
        });
        Ok(ConfigFile {
            path: path.to_path_buf(),
            format,
            format_origin: FormatOrigin::Given,
            entries,
            section,
            is_blank,
            skipped,
        })
    }
}
