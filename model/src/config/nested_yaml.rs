//! Flink 1.19+/2.x `config.yaml`: standard YAML whose nested mappings are flattened with dots,
//! so `taskmanager: {memory: {process.size: 2g}}` is `taskmanager.memory.process.size: 2g`,
//! exactly as Flink's `GlobalConfiguration.loadYAMLResource` flattens it:
//!
//! - every mapping is flattened, even one under a key that is itself a scalar option
//!   (`taskmanager.memory.managed.fraction: {a: 1}` becomes
//!   `taskmanager.memory.managed.fraction.a`, which no option reads);
//! - lists become a flow-style string (`[a, b]`);
//! - scalars keep the value Flink's YAML parser gives them, as Java prints it: `0x10` is the
//!   integer 16, `1e5` the `Double` 100000.0, `"0x10"` (quoted) the string `0x10`;
//! - a null value (`~`, `null`, or nothing after the colon) fails the whole file, as Flink's
//!   `Configuration` rejects null values ("Error parsing YAML configuration.").

use membudget_core::java_num::java_double_to_string;
use serde_norway::Value;

use super::RawEntry;

/// The flattened entries of a nested YAML text, or what is wrong with it, after Flink's words
/// for every file it cannot load ("Error parsing YAML configuration").
pub(crate) fn parse_nested_yaml(text: &str) -> Result<Vec<RawEntry>, String> {
    let root: Value = serde_norway::from_str(text)
        .map_err(|e| format!("Error parsing YAML configuration: {e}"))?;
    let mut entries = Vec::new();
    match root {
        Value::Null => {}
        Value::Mapping(map) => flatten(&map, "", &mut entries)?,
        other => {
            return Err(format!(
                "Error parsing YAML configuration: the document is a {} where a mapping of \
                 keys to values was expected",
                kind(&other)
            ))
        }
    }
    Ok(entries)
}

fn flatten(
    map: &serde_norway::Mapping,
    prefix: &str,
    out: &mut Vec<RawEntry>,
) -> Result<(), String> {
    for (k, v) in map {
        let part = scalar_text(k).ok_or_else(|| {
            format!(
                "a {} is used as a key under '{prefix}'; keys must be scalars",
                kind(k)
            )
        })?;
        let key = if prefix.is_empty() {
            part
        } else {
            format!("{prefix}.{part}")
        };
        let v = match v {
            Value::Tagged(tagged) => &tagged.value,
            v => v,
        };
        match v {
            Value::Null => {
                return Err(format!(
                    "Error parsing YAML configuration: the value of '{key}' is null, and Flink \
                     rejects null values (\"Value must not be null.\"): remove the key or give \
                     it a value"
                ))
            }
            Value::Mapping(inner) => flatten(inner, &key, out)?,
            Value::Number(n) if n.is_f64() => out.push(RawEntry {
                key,
                value: flow_text(v),
                line: None,
                yaml_float: !n.is_i64() && !n.is_u64(),
            }),
            other => out.push(RawEntry::new(key, flow_text(other))),
        }
    }
    Ok(())
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Sequence(_) => "list",
        Value::Mapping(_) => "mapping",
        Value::Tagged(_) => "tagged value",
    }
}

/// The text Java's `toString` gives a scalar, `None` for lists and mappings.
fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::Null => Some("null".to_owned()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(match n.as_f64() {
            Some(f) if !n.is_i64() && !n.is_u64() => java_double_to_string(f),
            _ => n.to_string(),
        }),
        Value::String(s) => Some(s.clone()),
        Value::Tagged(t) => scalar_text(&t.value),
        Value::Sequence(_) | Value::Mapping(_) => None,
    }
}

/// Scalars as their text; lists and mappings in YAML flow style.
fn flow_text(v: &Value) -> String {
    if let Some(s) = scalar_text(v) {
        return s;
    }
    match v {
        Value::Sequence(items) => {
            let items: Vec<String> = items.iter().map(flow_text).collect();
            format!("[{}]", items.join(", "))
        }
        Value::Mapping(map) => {
            let items: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{}: {}", flow_text(k), flow_text(v)))
                .collect();
            format!("{{{}}}", items.join(", "))
        }
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(text: &str) -> Vec<(String, String)> {
        parse_nested_yaml(text)
            .unwrap()
            .into_iter()
            .map(|e| (e.key, e.value))
            .collect()
    }

    #[test]
    fn nested_and_dotted_keys_flatten_alike() {
        let text = "\
taskmanager:
  memory:
    process.size: 2g
    managed:
      fraction: 0.5
    jvm-overhead: {min: 100m, max: 1 gb}
jobmanager.memory.heap.size: 1024
parallelism.default: 4
flag: true
";
        assert_eq!(
            pairs(text),
            vec![
                ("taskmanager.memory.process.size".into(), "2g".into()),
                ("taskmanager.memory.managed.fraction".into(), "0.5".into()),
                ("taskmanager.memory.jvm-overhead.min".into(), "100m".into()),
                ("taskmanager.memory.jvm-overhead.max".into(), "1 gb".into()),
                ("jobmanager.memory.heap.size".into(), "1024".into()),
                ("parallelism.default".into(), "4".into()),
                ("flag".into(), "true".into()),
            ]
        );
    }

    #[test]
    fn lists_become_flow_strings_and_every_mapping_is_flattened() {
        let text = "\
env.java.opts: [-Xss1m, -Dx=y]
taskmanager.memory.managed.consumer-weights:
  OPERATOR: 70
  PYTHON: 30
taskmanager.memory.managed.fraction: {a: 1}
";
        assert_eq!(
            pairs(text),
            vec![
                ("env.java.opts".into(), "[-Xss1m, -Dx=y]".into()),
                (
                    "taskmanager.memory.managed.consumer-weights.OPERATOR".into(),
                    "70".into()
                ),
                (
                    "taskmanager.memory.managed.consumer-weights.PYTHON".into(),
                    "30".into()
                ),
                ("taskmanager.memory.managed.fraction.a".into(), "1".into()),
            ]
        );
    }

    #[test]
    fn scalars_are_the_values_flinks_parser_loads() {
        // What Flink 2.1's YamlParserUtils loads for each (class:toString, printed by a probe).
        let text =
            "a: 0x1F\nb: 0o17\nc: 017\nd: 1e5\ne: .5\nf: \"0x10\"\ng: 1_000\nh: +12\ni: 1.0e+5\n";
        assert_eq!(
            pairs(text),
            vec![
                ("a".into(), "31".into()),
                ("b".into(), "15".into()),
                // Flink loads the integer 17; the text 017 reads as 17 for every option kind.
                ("c".into(), "017".into()),
                ("d".into(), "100000.0".into()),
                ("e".into(), "0.5".into()),
                ("f".into(), "0x10".into()),
                ("g".into(), "1_000".into()),
                ("h".into(), "12".into()),
                ("i".into(), "100000.0".into()),
            ]
        );
        let floats: Vec<bool> = parse_nested_yaml("a: 0.1\nb: 1\nc: '0.1'\n")
            .unwrap()
            .into_iter()
            .map(|e| e.yaml_float)
            .collect();
        assert_eq!(floats, [true, false, false]);
    }

    #[test]
    fn null_values_fail_like_flink() {
        for text in ["a: ~\n", "a:\n", "x:\n  y: null\n"] {
            let err = parse_nested_yaml(text).unwrap_err();
            assert!(
                err.starts_with("Error parsing YAML configuration: the value of '"),
                "{err}"
            );
        }
        // A null inside a list is part of the list's text, not a value.
        assert_eq!(pairs("a: [x, ~]\n"), vec![("a".into(), "[x, null]".into())]);
    }

    #[test]
    fn empty_and_invalid_documents() {
        assert!(pairs("").is_empty());
        assert!(pairs("# only a comment\n").is_empty());
        let err = parse_nested_yaml("- a\n- b\n").unwrap_err();
        assert!(err.contains("list"), "{err}");
        assert!(
            err.starts_with("Error parsing YAML configuration: "),
            "{err}"
        );
        // A syntax error: Flink's words, then the parser's (where and what).
        for text in ["a: [\n", "a: 1\n b: 2\n", "a: b: c\n"] {
            let err = parse_nested_yaml(text).unwrap_err();
            assert!(
                err.starts_with("Error parsing YAML configuration: ") && err.contains("line"),
                "{err}"
            );
        }
        let err = parse_nested_yaml("? [a]\n: 1\n").unwrap_err();
        assert!(err.contains("keys must be scalars"), "{err}");
    }
}
