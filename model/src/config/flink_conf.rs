//! Flink's flat `flink-conf.yaml`, parsed line by line exactly as Flink's
//! `GlobalConfiguration.loadYAMLResource` does (it never used a real YAML parser for it).
//!
//! Each line: everything after the first `#` is a comment; the rest, trimmed, is split at the
//! first `": "` into key and value (both trimmed). Lines without `": "`, or with an empty key or
//! value, are skipped with a warning — Flink only logs them, which hides typos such as
//! `taskmanager.memory.process.size:2g`, so membudget reports them in the plan.

use super::RawEntry;

/// The entries of a flat `flink-conf.yaml` text, in file order, and the warnings for lines that
/// are not `key: value` pairs. `origin` names the file (or variable) in the warnings.
pub(crate) fn parse_flink_conf(text: &str, origin: &str) -> (Vec<RawEntry>, Vec<String>) {
    let mut entries = Vec::new();
    let mut warnings = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line_no = index + 1;
        let conf = line.split('#').next().unwrap_or("").trim();
        if conf.is_empty() {
            continue;
        }
        let Some((key, value)) = conf.split_once(": ") else {
            warnings.push(format!(
                "Ignored line {line_no} of {origin} ('{conf}'): it is not a key-value pair \
                 (missing space after ':'?)."
            ));
            continue;
        };
        let (key, value) = (key.trim(), value.trim());
        if key.is_empty() || value.is_empty() {
            warnings.push(format!(
                "Ignored line {line_no} of {origin} ('{conf}'): empty key or value."
            ));
            continue;
        }
        entries.push(RawEntry {
            key: key.to_owned(),
            value: value.to_owned(),
            line: Some(line_no),
        });
    }
    (entries, warnings)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(text: &str) -> Vec<(String, String)> {
        parse_flink_conf(text, "f")
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
                    e: f: g\n\
                    \n\
                    url: http://x:80/#frag\n";
        assert_eq!(
            pairs(text),
            vec![
                ("a.b".into(), "1g".into()),
                ("c.d".into(), "2 mb".into()),
                ("e".into(), "f: g".into()),
                ("url".into(), "http://x:80/".into()),
            ]
        );
    }

    #[test]
    fn malformed_lines_warn_with_line_numbers() {
        let (entries, warnings) = parse_flink_conf(
            "a: 1\ntaskmanager.memory.process.size:2g\nb: \n",
            "conf.yaml",
        );
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].line, Some(1));
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(
            warnings[0].contains("line 2 of conf.yaml"),
            "{}",
            warnings[0]
        );
        assert!(warnings[0].contains("missing space after ':'"));
        // "b: " trims to "b:", which has no ": " at all.
        assert!(warnings[1].contains("line 3"), "{}", warnings[1]);
    }

    #[test]
    fn later_duplicates_are_kept_in_order() {
        let p = pairs("k: 1\nk: 2\n");
        assert_eq!(p, vec![("k".into(), "1".into()), ("k".into(), "2".into())]);
    }
}
