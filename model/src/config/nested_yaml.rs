//! Flink 1.19+/2.x `config.yaml`: standard YAML whose nested mappings are flattened with dots,
//! so `taskmanager: {memory: {process.size: 2g}}` is `taskmanager.memory.process.size: 2g`.
//!
//! Scalars become their YAML text (`0.4`, `true`, `1728m`); `null` values are skipped. Lists
//! become a flow-style string (`[a, b]`). A mapping under a key that is itself a memory option
//! (e.g. `taskmanager.memory.managed.consumer-weights: {OPERATOR: 70}`) is not flattened any
//! further: it is that option's value, written in flow style (`{OPERATOR: 70}`).

use serde_norway::Value;

use super::RawEntry;

/// The flattened entries of a nested YAML text, or the parser's message.
///
/// `is_leaf_key` says whether a (flattened) key is an option whose value may be a mapping.
pub(crate) fn parse_nested_yaml(
    text: &str,
    is_leaf_key: &dyn Fn(&str) -> bool,
) -> Result<Vec<RawEntry>, String> {
    let root: Value = serde_norway::from_str(text).map_err(|e| e.to_string())?;
    let mut entries = Vec::new();
    match root {
        Value::Null => {}
        Value::Mapping(map) => flatten(&map, "", is_leaf_key, &mut entries)?,
        other => {
            return Err(format!(
                "the document is a {} where a mapping of keys to values was expected",
                kind(&other)
            ))
        }
    }
    Ok(entries)
}

fn flatten(
    map: &serde_norway::Mapping,
    prefix: &str,
    is_leaf_key: &dyn Fn(&str) -> bool,
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
        match v {
            Value::Null => {}
            Value::Mapping(inner) if !is_leaf_key(&key) => flatten(inner, &key, is_leaf_key, out)?,
            Value::Tagged(tagged) => {
                let value = flow_text(&tagged.value);
                out.push(RawEntry::new(key, value));
            }
            other => {
                let value = flow_text(other);
                out.push(RawEntry::new(key, value));
            }
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

/// The text of a scalar, `None` for lists and mappings.
fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::Null => Some("null".to_owned()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
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
        let leaf = |k: &str| k == "taskmanager.memory.managed.consumer-weights";
        parse_nested_yaml(text, &leaf)
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
nothing: ~
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
    fn lists_and_option_maps_become_flow_strings() {
        let text = "\
env.java.opts: [-Xss1m, -Dx=y]
taskmanager.memory.managed.consumer-weights:
  OPERATOR: 70
  PYTHON: 30
";
        assert_eq!(
            pairs(text),
            vec![
                ("env.java.opts".into(), "[-Xss1m, -Dx=y]".into()),
                (
                    "taskmanager.memory.managed.consumer-weights".into(),
                    "{OPERATOR: 70, PYTHON: 30}".into()
                ),
            ]
        );
    }

    #[test]
    fn empty_and_invalid_documents() {
        assert!(pairs("").is_empty());
        assert!(pairs("# only a comment\n").is_empty());
        let none = |_: &str| false;
        let err = parse_nested_yaml("- a\n- b\n", &none).unwrap_err();
        assert!(err.contains("list"), "{err}");
        let err = parse_nested_yaml("a: [\n", &none).unwrap_err();
        assert!(!err.is_empty());
        let err = parse_nested_yaml("? [a]\n: 1\n", &none).unwrap_err();
        assert!(err.contains("keys must be scalars"), "{err}");
    }
}
