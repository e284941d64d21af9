//! Which of the three file formats a configuration file is in.

use std::fmt;
use std::path::Path;

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
    /// The format of `path` with contents `text`.
    ///
    /// The name decides when it can: `*.json` is JSON, `flink-conf.yaml` is flat, `config.yaml`
    /// is nested. Any other name is sniffed: text starting with `{` (after `//` comment
    /// lines) is JSON; YAML with an indented key line, a key with no value on its line
    /// (`taskmanager:`), a flow mapping or a document marker is nested; everything else is flat.
    pub fn detect(path: &Path, text: &str) -> FileFormat {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        if name.ends_with(".json") {
            return FileFormat::AppSettingsJson;
        }
        if name == "flink-conf.yaml" || name == "flink-conf.yml" {
            return FileFormat::FlinkConf;
        }
        if name == "config.yaml" || name == "config.yml" {
            return FileFormat::NestedYaml;
        }
        FileFormat::sniff(text)
    }

    /// The format of a text whose file name says nothing (see [`detect`](Self::detect)).
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
            if trimmed.ends_with(':') || trimmed.contains(": {") || trimmed.contains(": [") {
                return FileFormat::NestedYaml;
            }
        }
        FileFormat::FlinkConf
    }
}

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
    }
}
