//! `-D key=value` dynamic properties (highest precedence).

use super::{RawEntry, SourceError};

/// Splits one `-D` argument at its first `=`. Neither key nor value is trimmed (Flink's command
/// line parser does not trim either: `' taskmanager.memory.process.size'` is not the option).
///
/// # Errors
/// [`SourceError::BadDynamicProperty`] when there is no `=` or the key is empty.
pub(crate) fn parse_dynamic_property(argument: &str) -> Result<RawEntry, SourceError> {
    let bad = || SourceError::BadDynamicProperty {
        argument: argument.to_owned(),
    };
    let (key, value) = argument.split_once('=').ok_or_else(bad)?;
    if key.trim().is_empty() {
        return Err(bad());
    }
    Ok(RawEntry::new(key.to_owned(), value.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_at_first_equals() {
        let e = parse_dynamic_property("a.b=x=y").unwrap();
        assert_eq!((e.key.as_str(), e.value.as_str()), ("a.b", "x=y"));
        let e = parse_dynamic_property(" a.b = x ").unwrap();
        assert_eq!((e.key.as_str(), e.value.as_str()), (" a.b ", " x "));
        let e = parse_dynamic_property("k=").unwrap();
        assert_eq!(e.value, "");
    }

    #[test]
    fn rejects_missing_equals_or_key() {
        for arg in ["novalue", "=1g", " =1g"] {
            let err = parse_dynamic_property(arg).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!(
                    "Invalid dynamic property '-D {arg}': expected key=value, \
                     e.g. -D taskmanager.memory.process.size=2g"
                )
            );
        }
    }
}
