//! Property tests: any set of memory options written as a flat `flink-conf.yaml`, a nested
//! `config.yaml`, an `appsettings.json` or `MEMBUDGET_*` variables reads back as the same
//! key → value map, and format detection picks the right parser for each.

use std::collections::BTreeMap;
use std::path::Path;

use membudget_model::config::{env_var_name, ConfigFile, FileFormat, Sources};
use membudget_model::options::known_memory_keys;
use membudget_model::Source;
use proptest::prelude::*;

/// Known dotted keys that are not a dotted prefix of another known key (so they nest cleanly).
fn nestable_keys() -> Vec<&'static str> {
    let keys = known_memory_keys();
    keys.iter()
        .copied()
        .filter(|k| k.contains('.'))
        .filter(|k| {
            !keys
                .iter()
                .any(|other| other.len() > k.len() && other.starts_with(&format!("{k}.")))
        })
        .collect()
}

fn settings() -> impl Strategy<Value = BTreeMap<&'static str, String>> {
    let keys = nestable_keys();
    let value = "[1-9][0-9]{0,5}( ?(b|kb|m|mb|g|gb))?";
    prop::collection::btree_map(prop::sample::select(keys), value, 1..8)
}

fn as_map(file: &ConfigFile) -> BTreeMap<String, String> {
    file.entries
        .iter()
        .map(|e| (e.key.clone(), e.value.clone()))
        .collect()
}

fn expected(map: &BTreeMap<&'static str, String>) -> BTreeMap<String, String> {
    map.iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

fn nested_yaml(map: &BTreeMap<&'static str, String>) -> String {
    let mut root = serde_norway::Mapping::new();
    for (key, value) in map {
        let parts: Vec<&str> = key.split('.').collect();
        let mut node = &mut root;
        for part in &parts[..parts.len() - 1] {
            let entry = node
                .entry(serde_norway::Value::from(*part))
                .or_insert_with(|| serde_norway::Value::Mapping(Default::default()));
            node = entry.as_mapping_mut().unwrap();
        }
        node.insert(
            serde_norway::Value::from(parts[parts.len() - 1]),
            serde_norway::Value::from(value.as_str()),
        );
    }
    serde_norway::to_string(&root).unwrap()
}

fn nested_json(map: &BTreeMap<&'static str, String>) -> String {
    let mut root = serde_json::Map::new();
    for (key, value) in map {
        let parts: Vec<&str> = key.split('.').collect();
        let mut node = &mut root;
        for part in &parts[..parts.len() - 1] {
            node = node
                .entry(part.to_string())
                .or_insert_with(|| serde_json::Value::Object(Default::default()))
                .as_object_mut()
                .unwrap();
        }
        node.insert(parts[parts.len() - 1].to_string(), value.clone().into());
    }
    serde_json::to_string_pretty(&serde_json::Value::Object(root)).unwrap()
}

proptest! {
    #[test]
    fn flat_files_round_trip(map in settings()) {
        let text: String = map.iter().map(|(k, v)| format!("{k}: {v}  # note\n")).collect();
        prop_assert_eq!(FileFormat::sniff(&text), FileFormat::FlinkConf);
        let file = ConfigFile::parse(Path::new("flink-conf.yaml"), FileFormat::FlinkConf, &text).unwrap();
        prop_assert!(file.skipped.is_empty());
        prop_assert_eq!(as_map(&file), expected(&map));
    }

    #[test]
    fn nested_yaml_round_trips(map in settings()) {
        let text = nested_yaml(&map);
        prop_assert_eq!(FileFormat::sniff(&text), FileFormat::NestedYaml);
        let file = ConfigFile::parse(Path::new("config.yaml"), FileFormat::NestedYaml, &text).unwrap();
        prop_assert_eq!(as_map(&file), expected(&map));
    }

    #[test]
    fn appsettings_round_trips(map in settings()) {
        let text = nested_json(&map);
        prop_assert_eq!(FileFormat::sniff(&text), FileFormat::AppSettingsJson);
        let file = ConfigFile::parse(Path::new("appsettings.json"), FileFormat::AppSettingsJson, &text).unwrap();
        prop_assert_eq!(as_map(&file), expected(&map));
    }

    #[test]
    fn env_vars_round_trip(map in settings()) {
        let vars: Vec<(String, String)> =
            map.iter().map(|(k, v)| (env_var_name(k), v.clone())).collect();
        let mut sources = Sources::new();
        sources.add_env(vars).unwrap();
        let config = sources.to_configuration();
        for (key, value) in &map {
            let entry = config.get_raw(key).unwrap();
            prop_assert_eq!(&entry.value, value);
            prop_assert_eq!(&entry.source, &Source::Env(env_var_name(key)));
        }
    }
}
