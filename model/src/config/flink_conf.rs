//! Flink's flat `flink-conf.yaml`, parsed line by line exactly as Flink 1.20's
//! `GlobalConfiguration.loadLegacyYAMLResource` does (it never used a real YAML parser for it).
//!
//! Lines end at `\n`, `\r` or `\r\n` (Java's `readLine`). Each line: everything from the first
//! `#` is a comment; the rest, trimmed the Java way (characters up to U+0020 only), is split at
//! the first `": "` into key and value (both trimmed). Lines without `": "`, or with an empty key
//! or value, are skipped — Flink only logs them, which hides typos such as
//! `taskmanager.memory.process.size:2g`, so membudget reports each one, and says so loudly when
//! the skipped line held a memory option.

use membudget_core::java_num::java_trim;

use super::RawEntry;

/// A line of a flat file that Flink skips.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SkippedLine {
    /// The 1-based line number.
    pub line: usize,
    /// The line without its comment, trimmed.
    pub text: String,
    /// Why Flink skips it.
    pub reason: &'static str,
    /// The key the line seems to set (the text before its first `:`, trimmed).
    pub key: String,
}

/// The entries of a flat `flink-conf.yaml` text, in file order, and the lines Flink skips.
pub(crate) fn parse_flink_conf(text: &str) -> (Vec<RawEntry>, Vec<SkippedLine>) {
    let mut entries = Vec::new();
    let mut skipped = Vec::new();
    for (index, line) in java_lines(text).enumerate() {
        let line_no = index + 1;
        let conf = java_trim(line.split('#').next().unwrap_or(""));
        if conf.is_empty() {
            continue;
        }
        let key_part = |s: &str| java_trim(s.split(':').next().unwrap_or(s)).to_owned();
        let Some((key, value)) = conf.split_once(": ") else {
            skipped.push(SkippedLine {
                line: line_no,
                text: conf.to_owned(),
                reason: "it is not a key-value pair (missing space after ':'?)",
                key: key_part(conf),
            });
            continue;
        };
        let (key, value) = (java_trim(key), java_trim(value));
        if key.is_empty() || value.is_empty() {
            skipped.push(SkippedLine {
                line: line_no,
                text: conf.to_owned(),
                reason: "its key or value is empty",
                key: key.to_owned(),
            });
            continue;
        }
        entries.push(RawEntry {
            key: key.to_owned(),
            value: value.to_owned(),
            line: Some(line_no),
            yaml_float: false,
        });
    }
    (entries, skipped)
}

/// Java's `BufferedReader.readLine` split: lines end at `\n`, `\r` or `\r\n`.
fn java_lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(text);
    std::iter::from_fn(move || {
        let s = rest?;
        match s.find(['\n', '\r']) {
            Some(i) => {
                let skip = if s[i..].starts_with("\r\n") { 2 } else { 1 };
                rest = Some(&s[i + skip..]).filter(|r| !r.is_empty());
                Some(&s[..i])
            }
            None => {
                rest = None;
                (!s.is_empty()).then_some(s)
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(text: &str) -> Vec<(String, String)> {
        parse_flink_conf(text)
            .0
            .into_iter()
            .map(|e| (e.key, e.value))
            .collect()
    }

    #[test]
    fn flink_line_rules() {
        let text = "# comment\n\
                    a.b: 1g # trailing comment\n\
                    \x20 c.d   :  2 mb  \n\
                    e: f: g\r\n\
                    \n\
                    url: http://x:80/#frag\rlast: 1";
        assert_eq!(
            pairs(text),
            vec![
                ("a.b".into(), "1g".into()),
                ("c.d".into(), "2 mb".into()),
                ("e".into(), "f: g".into()),
                ("url".into(), "http://x:80/".into()),
                ("last".into(), "1".into()),
            ]
        );
        // Java's trim keeps a non-breaking space: Flink then fails to parse the value.
        assert_eq!(pairs("a: 2g\u{a0}"), vec![("a".into(), "2g\u{a0}".into())]);
    }

    #[test]
    fn skipped_lines_keep_their_numbers_and_keys() {
        let (entries, skipped) =
            parse_flink_conf("a: 1\ntaskmanager.memory.process.size:2g\nb: \n");
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].line, Some(1));
        assert_eq!(
            skipped,
            vec![
                SkippedLine {
                    line: 2,
                    text: "taskmanager.memory.process.size:2g".into(),
                    reason: "it is not a key-value pair (missing space after ':'?)",
                    key: "taskmanager.memory.process.size".into(),
                },
                // "b: " trims to "b:", which has no ": " at all.
                SkippedLine {
                    line: 3,
                    text: "b:".into(),
                    reason: "it is not a key-value pair (missing space after ':'?)",
                    key: "b".into(),
                },
            ]
        );
    }

    #[test]
    fn later_duplicates_are_kept_in_order() {
        let p = pairs("k: 1\nk: 2\n");
        assert_eq!(p, vec![("k".into(), "1".into()), ("k".into(), "2".into())]);
    }
}
