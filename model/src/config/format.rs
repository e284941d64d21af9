//! Which of the three file formats a configuration file is in.

use std::fmt;
use std::path::Path;
use std::str::FromStr;

/// A configuration file format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileFormat {
    /// Flink's flat `flink-conf.yaml`: one `key: value` per line, parsed line by line.
    FlinkConf,
    /// Flink 1.19+/2.x `config.yaml`: standard YAML, nested keys flattened with dots.
    NestedYaml,
    /// .NET `appsettings.json`: nested JSON objects flattened with dots.
    AppSettingsJson,
}

impl fmt::Display for FileFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FileFormat::FlinkConf => "flat flink-conf.yaml",
            FileFormat::NestedYaml => "nested config.yaml",
            FileFormat::AppSettingsJson => "appsettings.json",
        })
    }
}

impl FileFormat {
    /// Every format.
    pub const ALL: [FileFormat; 3] = [
        FileFormat::FlinkConf,
        FileFormat::NestedYaml,
        FileFormat::AppSettingsJson,
    ];

    /// The name `--config-format` takes: `flink-conf`, `config-yaml` or `json`.
    pub const fn name(self) -> &'static str {
        match self {
            FileFormat::FlinkConf => "flink-conf",
            FileFormat::NestedYaml => "config-yaml",
            FileFormat::AppSettingsJson => "json",
        }
    }

    /// The format a conventional file name implies: `flink-conf.yaml` (or `.yml`) is flat,
    /// `config.yaml` (or `.yml`) is nested, `*.json` is JSON; `None` for any other name.
    pub fn from_file_name(path: &Path) -> Option<FileFormat> {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        if name.ends_with(".json") {
            Some(FileFormat::AppSettingsJson)
        } else if name == "flink-conf.yaml" || name == "flink-conf.yml" {
            Some(FileFormat::FlinkConf)
        } else if name == "config.yaml" || name == "config.yml" {
            Some(FileFormat::NestedYaml)
        } else {
            None
        }
    }

    /// The format of `path` with contents `text`: from the name when it is conventional (see
    /// [`from_file_name`](Self::from_file_name)), else guessed with [`sniff`](Self::sniff).
    pub fn detect(path: &Path, text: &str) -> FileFormat {
        FileFormat::from_file_name(path).unwrap_or_else(|| FileFormat::sniff(text))
    }

    /// A guess at the format of a text whose file name says nothing: text starting with `{`
    /// (after `//` comment lines) is JSON; YAML with an indented line, a list item, a flow
    /// mapping or list, or a document marker is nested; everything else is flat — including a
    /// flat file with a broken line such as `taskmanager.memory.process.size:` (a key without
    /// indented children is no evidence of nesting).
    pub fn sniff(text: &str) -> FileFormat {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        // JSON, possibly after .NET-style `//` comment lines.
        let mut rest = text.trim_start();
        while let Some(comment) = rest.strip_prefix("//") {
            rest = comment.split_once('\n').map_or("", |(_, r)| r).trim_start();
        }
        if rest.starts_with('{') {
            return FileFormat::AppSettingsJson;
        }
        for line in text.lines() {
            let content = line.split('#').next().unwrap_or("");
            if content.trim().is_empty() {
                continue;
            }
            let trimmed = content.trim();
            if line.starts_with([' ', '\t']) || trimmed == "---" || trimmed.starts_with('-') {
                return FileFormat::NestedYaml;
            }
            if trimmed.contains(": {") || trimmed.contains(": [") {
                return FileFormat::NestedYaml;
            }
        }
        FileFormat::FlinkConf
    }
}

impl FromStr for FileFormat {
    type Err = UnknownFileFormat;

    /// `flink-conf` (or `flat`), `config-yaml` (or `yaml`, `nested`), `json` (or
    /// `appsettings`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "flink-conf" | "flat" => Ok(FileFormat::FlinkConf),
            "config-yaml" | "yaml" | "nested" => Ok(FileFormat::NestedYaml),
            "json" | "appsettings" => Ok(FileFormat::AppSettingsJson),
            _ => Err(UnknownFileFormat(s.to_owned())),
        }
    }
}

/// A text that names no [`FileFormat`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownFileFormat(String);

impl fmt::Display for UnknownFileFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Unknown configuration format '{}': expected 'flink-conf', 'config-yaml' or 'json'.",
            self.0
        )
    }
}

impl std::error::Error for UnknownFileFormat {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_decide_first() {
        let flat = "a: 1\n";
        let nested = "a:\n  b: 1\n";
        assert_eq!(
            FileFormat::detect(Path::new("/x/appsettings.Production.json"), flat),
            FileFormat::AppSettingsJson
        );
        assert_eq!(
            FileFormat::detect(Path::new("conf/flink-conf.yaml"), nested),
            FileFormat::FlinkConf
        );
        assert_eq!(
            FileFormat::detect(Path::new("conf/config.yaml"), flat),
            FileFormat::NestedYaml
        );
        assert_eq!(
            FileFormat::detect(Path::new("my.yaml"), flat),
            FileFormat::FlinkConf
        );
        assert_eq!(
            FileFormat::detect(Path::new("my.yaml"), nested),
            FileFormat::NestedYaml
        );
    }

    #[test]
    fn sniffing() {
        assert_eq!(
            FileFormat::sniff("\u{feff} {\"a\": 1}"),
            FileFormat::AppSettingsJson
        );
        assert_eq!(
            FileFormat::sniff("# c\na.b: 1 # x\nc: 2\n"),
            FileFormat::FlinkConf
        );
        assert_eq!(
            FileFormat::sniff("taskmanager:\n  x: 1\n"),
            FileFormat::NestedYaml
        );
        assert_eq!(FileFormat::sniff("a: {b: 1}\n"), FileFormat::NestedYaml);
        assert_eq!(FileFormat::sniff("a: [1, 2]\n"), FileFormat::NestedYaml);
        assert_eq!(FileFormat::sniff("---\na: 1\n"), FileFormat::NestedYaml);
        assert_eq!(FileFormat::sniff(""), FileFormat::FlinkConf);
        // A flat file with a broken line stays flat.
        assert_eq!(
            FileFormat::sniff("a.b: 1\ntaskmanager.memory.process.size:\nc: 2\n"),
            FileFormat::FlinkConf
        );
        assert_eq!(
            FileFormat::sniff("taskmanager.memory.process.size:2g\n"),
            FileFormat::FlinkConf
        );
    }

    #[test]
    fn names_parse() {
        for f in FileFormat::ALL {
            assert_eq!(f.name().parse::<FileFormat>(), Ok(f));
        }
        assert!("toml".parse::<FileFormat>().is_err());
    }
}
