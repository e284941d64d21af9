//! Budget paths: the names from the top budget down to a child budget or consumer, joined by
//! `/`, as refusals and reports name them.
//!
//! A path must name one budget, and an error naming it must stay on one line. So a name that
//! is empty, or holds a `/`, a `"` or a control character, is written quoted and escaped as
//! Rust's `{:?}` writes a string: a child named `a/b` is `"a/b"`, never the path `a/b` of a
//! child `b` of a child `a`. Any other name is written as it is.

/// `name` as one segment of a path.
fn segment(name: &str) -> String {
    if name.is_empty() || name.chars().any(|c| c == '/' || c == '"' || c.is_control()) {
        format!("{name:?}")
    } else {
        name.to_owned()
    }
}

/// The path of a top-level budget named `name`.
pub(crate) fn top(name: &str) -> String {
    segment(name)
}

/// The path of `name` under the budget whose path is `parent`.
pub(crate) fn join(parent: &str, name: &str) -> String {
    format!("{parent}/{}", segment(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_could_be_read_as_more_segments_are_quoted() {
        assert_eq!(join(&top("job"), "slot-0"), "job/slot-0");
        // A child named "a/b" and a child "b" of a child "a" have different paths.
        assert_eq!(top("a/b"), r#""a/b""#);
        assert_eq!(join(&top("a"), "b"), "a/b");
        assert_eq!(join("job", ""), r#"job/"""#);
        assert_eq!(join("job", r#"say "hi""#), r#"job/"say \"hi\"""#);
        // A path stays on one line.
        assert_eq!(join("job", "x\ny"), r#"job/"x\ny""#);
        assert_eq!(join("job", "tab\there"), r#"job/"tab\there""#);
        // Non-ASCII names are fine as they are.
        assert_eq!(join("job", "fenêtre-agg"), "job/fenêtre-agg");
    }
}
