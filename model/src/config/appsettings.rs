//! .NET `appsettings.json`: nested objects flattened with dots, as `Microsoft.Extensions.
//! Configuration` flattens them (with `:` there; `:` inside a key is read as a separator too).
//!
//! ```json
//! { "taskmanager": { "memory": { "process.size": "2g" } } }
//! ```
//! is `taskmanager.memory.process.size = 2g`. Numbers and booleans become their JSON text,
//! `null` is skipped, arrays are flattened by index (`key.0`, `key.1`) like .NET does — except
//! under a key that is itself a memory option, whose value is then the compact JSON text.
//! Matching keys against the memory options ignores case (.NET configuration keys are
//! case-insensitive); that happens when the entries are checked, not here.
//!
//! Like .NET's JSON configuration provider, `//` and `/* */` comments and trailing commas are
//! accepted (they are common in real `appsettings.json` files).
//!
//! .NET applications keep a library's settings in a section of their own, so a top-level
//! `"Flink"` object (any case) is unwrapped: `{"Flink": {"taskmanager.memory.process.size":
//! "4g"}}` is `taskmanager.memory.process.size = 4g`. Another section is picked by name
//! (`--config-section`; `Outer:Inner` for a nested one).

use serde_json::Value;

use super::RawEntry;

/// The conventional section of .NET applications' Flink settings.
pub const DEFAULT_SECTION: &str = "Flink";

/// The flattened entries of an `appsettings.json` text (of `section`, or of the conventional
/// `"Flink"` section when there is one), with the section path that was read; or the parser's
/// message.
pub(crate) fn parse_appsettings(
    text: &str,
    is_leaf_key: &dyn Fn(&str) -> bool,
    section: Option<&str>,
) -> Result<(Vec<RawEntry>, Option<String>), String> {
    // .NET accepts a UTF-8 byte-order mark and comments are rare; the BOM must not break us.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let text = strip_comments_and_trailing_commas(text);
    let root: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    let Value::Object(mut map) = root else {
        return Err("the document is not a JSON object".to_owned());
    };
    let mut used = None;
    match section {
        Some(path) => {
            let mut found = Vec::new();
            for part in path.split(':') {
                let Some((name, Value::Object(inner))) = map
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(part))
                    .map(|(k, v)| (k.clone(), v.clone()))
                else {
                    return Err(format!(
                        "there is no section '{path}' (no object '{part}'{})",
                        if found.is_empty() {
                            " at the top level".to_owned()
                        } else {
                            format!(" in '{}'", found.join(":"))
                        }
                    ));
                };
                found.push(name);
                map = inner;
            }
            used = Some(found.join(":"));
        }
        None => {
            let flink = map.iter().find_map(|(k, v)| match v {
                Value::Object(inner) if k.eq_ignore_ascii_case(DEFAULT_SECTION) => {
                    Some((k.clone(), inner.clone()))
                }
                _ => None,
            });
            if let Some((name, inner)) = flink {
                map = inner;
                used = Some(name);
            }
        }
    }
    let mut out = Vec::new();
    for (k, v) in &map {
        flatten(&k.replace(':', "."), v, is_leaf_key, &mut out);
    }
    Ok((out, used))
}

/// Blanks out `//` and `/* */` comments and commas directly before `}` or `]`, outside
/// strings. Removed characters become spaces (newlines are kept), so the parser's line and
/// column numbers still point into the original text.
fn strip_comments_and_trailing_commas(text: &str) -> String {
    let mut out: Vec<char> = text.chars().collect();
    let mut i = 0;
    let mut in_string = false;
    // Index of a comma that may turn out to be trailing.
    let mut pending_comma: Option<usize> = None;
    while i < out.len() {
        let c = out[i];
        if in_string {
            match c {
                '\\' => i += 1,
                '"' => in_string = false,
                _ => {}
            }
            i += 1;
            continue;
        }
        match (c, out.get(i + 1).copied()) {
            ('"', _) => {
                in_string = true;
                pending_comma = None;
            }
            ('/', Some('/')) => {
                while i < out.len() && out[i] != '\n' {
                    out[i] = ' ';
                    i += 1;
                }
                continue;
            }
            ('/', Some('*')) => {
                let mut closed = false;
                while i < out.len() {
                    if out[i] == '*' && out.get(i + 1) == Some(&'/') {
                        out[i] = ' ';
                        out[i + 1] = ' ';
                        i += 2;
                        closed = true;
                        break;
                    }
                    if out[i] != '\n' {
                        out[i] = ' ';
                    }
                    i += 1;
                }
                if !closed {
                    break;
                }
                continue;
            }
            (',', _) => pending_comma = Some(i),
            ('}' | ']', _) => {
                if let Some(comma) = pending_comma.take() {
                    out[comma] = ' ';
                }
            }
            (c, _) if c.is_whitespace() => {}
            _ => pending_comma = None,
        }
        i += 1;
    }
    out.into_iter().collect()
}

fn flatten(key: &str, value: &Value, is_leaf_key: &dyn Fn(&str) -> bool, out: &mut Vec<RawEntry>) {
    match value {
        Value::Null => {}
        Value::String(s) => out.push(RawEntry::new(key.to_owned(), s.clone())),
        Value::Bool(_) | Value::Number(_) => {
            out.push(RawEntry::new(key.to_owned(), value.to_string()))
        }
        Value::Object(_) | Value::Array(_) if is_leaf_key(key) => {
            out.push(RawEntry::new(key.to_owned(), value.to_string()));
        }
        Value::Object(map) => {
            for (k, v) in map {
                flatten(
                    &format!("{key}.{}", k.replace(':', ".")),
                    v,
                    is_leaf_key,
                    out,
                );
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                flatten(&format!("{key}.{i}"), v, is_leaf_key, out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(text: &str) -> Vec<(String, String)> {
        let leaf = |k: &str| k == "taskmanager.memory.managed.consumer-weights";
        parse_appsettings(text, &leaf, None)
            .unwrap()
            .0
            .into_iter()
            .map(|e| (e.key, e.value))
            .collect()
    }

    #[test]
    fn objects_flatten_with_dots() {
        let text = r#"{
            "Logging": { "LogLevel": { "Default": "Information" } },
            "taskmanager": { "memory": { "process.size": "2g", "managed": { "fraction": 0.25 } } },
            "jobmanager:memory:heap.size": "1g",
            "Hosts": ["a", "b"],
            "Nothing": null,
            "Flag": false
        }"#;
        assert_eq!(
            pairs(text),
            // serde_json's map is ordered by key.
            vec![
                ("Flag".into(), "false".into()),
                ("Hosts.0".into(), "a".into()),
                ("Hosts.1".into(), "b".into()),
                ("Logging.LogLevel.Default".into(), "Information".into()),
                ("jobmanager.memory.heap.size".into(), "1g".into()),
                ("taskmanager.memory.managed.fraction".into(), "0.25".into()),
                ("taskmanager.memory.process.size".into(), "2g".into()),
            ]
        );
    }

    #[test]
    fn option_valued_objects_stay_whole() {
        let text = "\u{feff}{\"taskmanager.memory.managed.consumer-weights\": {\"OPERATOR\": 70}}";
        assert_eq!(
            pairs(text),
            vec![(
                "taskmanager.memory.managed.consumer-weights".into(),
                "{\"OPERATOR\":70}".into()
            )]
        );
    }

    #[test]
    fn comments_and_trailing_commas_like_dotnet() {
        let text = r#"{
  // the worker's size
  "taskmanager": { "memory": { "process.size": "2g", } }, /* trailing */
  "Url": "http://x//y/*z*/", "Quote": "a\"//b",
}"#;
        assert_eq!(
            pairs(text),
            vec![
                ("Quote".into(), "a\"//b".into()),
                ("Url".into(), "http://x//y/*z*/".into()),
                ("taskmanager.memory.process.size".into(), "2g".into()),
            ]
        );
        // Positions in errors still point into the original text.
        let none = |_: &str| false;
        let err = parse_appsettings("{\n  /* c */ // c\n  \"a\": x\n}", &none, None).unwrap_err();
        assert!(err.contains("line 3 column 8"), "{err}");
        // An unterminated block comment is left for the parser to reject.
        assert!(parse_appsettings("{} /* open", &none, None).is_ok());
    }

    #[test]
    fn the_flink_section_is_unwrapped_and_others_can_be_picked() {
        let none = |_: &str| false;
        let text = r#"{
  "Logging": { "LogLevel": { "Default": "Information" } },
  "flink": { "taskmanager.memory.process.size": "4096m" },
  "App": { "Worker": { "taskmanager": { "memory": { "process.size": "2g" } } } }
}"#;
        let (entries, used) = parse_appsettings(text, &none, None).unwrap();
        assert_eq!(used.as_deref(), Some("flink"));
        assert_eq!(
            entries,
            vec![RawEntry::new(
                "taskmanager.memory.process.size".into(),
                "4096m".into()
            )]
        );
        let (entries, used) = parse_appsettings(text, &none, Some("app:worker")).unwrap();
        assert_eq!(used.as_deref(), Some("App:Worker"));
        assert_eq!(entries[0].value, "2g");
        let err = parse_appsettings(text, &none, Some("App:Nope")).unwrap_err();
        assert_eq!(
            err,
            "there is no section 'App:Nope' (no object 'Nope' in 'App')"
        );
        // Without a Flink section the whole document is read.
        let (entries, used) = parse_appsettings(r#"{"a": {"b": 1}}"#, &none, None).unwrap();
        assert_eq!((entries.len(), used), (1, None));
    }

    #[test]
    fn invalid_documents() {
        let none = |_: &str| false;
        assert!(parse_appsettings("[1]", &none, None)
            .unwrap_err()
            .contains("not a JSON object"));
        let err = parse_appsettings("{\"a\": ", &none, None).unwrap_err();
        assert!(err.contains("line 1"), "{err}");
    }
}
