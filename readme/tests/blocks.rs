//! Every Rust snippet of README.md is one that `cargo test --doc` compiles and runs as printed:
//! a ```` ```rust ```` fence with no attribute (`ignore`, `no_run`, `compile_fail`, ...), and no
//! indented code block (rustdoc would take it for Rust; commands go in ```` ```sh ```` fences).

use std::path::Path;

/// The fence info strings of README.md with their line numbers, and the indented code blocks
/// outside fences.
fn scan(readme: &str) -> (Vec<(usize, String)>, Vec<usize>) {
    let (mut fences, mut indented) = (Vec::new(), Vec::new());
    let mut in_fence = false;
    let mut previous_blank = true;
    for (i, line) in readme.lines().enumerate() {
        if let Some(info) = line.strip_prefix("```") {
            if !in_fence {
                fences.push((i + 1, info.trim().to_owned()));
            }
            in_fence = !in_fence;
        } else if !in_fence && previous_blank && line.starts_with("    ") {
            let item = line.trim_start();
            if !(item.starts_with('-') || item.starts_with('*') || item.starts_with('|')) {
                indented.push(i + 1);
            }
        }
        previous_blank = line.trim().is_empty();
    }
    (fences, indented)
}

#[test]
fn every_rust_snippet_is_compiled_and_run() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md"))
            .unwrap();
    let (fences, indented) = scan(&readme);
    assert_eq!(
        indented,
        Vec::<usize>::new(),
        "indented code blocks in README.md (lines above): rustdoc runs them as Rust; fence them"
    );
    let rust: Vec<&(usize, String)> = fences
        .iter()
        .filter(|(_, info)| info.starts_with("rust") || info.starts_with("rs"))
        .collect();
    for (line, info) in &rust {
        assert_eq!(
            info, "rust",
            "README.md line {line}: ```{info} is not compiled and run as printed; use ```rust"
        );
    }
    assert!(rust.len() >= 6, "{} Rust snippets", rust.len());
}

#[test]
fn the_scan_finds_attributes_and_indented_blocks() {
    let (fences, indented) =
        scan("text\n\n    cargo run\n\n```rust,no_run\nlet x = 1;\n```\n\n- item\n    more\n");
    assert_eq!(fences, vec![(5, "rust,no_run".to_owned())]);
    assert_eq!(indented, vec![3]);
}
