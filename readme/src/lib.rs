//! The repository's README.md as this crate's documentation, for its doctests only: every
//! ```` ```rust ```` block of the README is compiled and run by `cargo test --doc` (part of
//! `scripts/test`) exactly as printed, so the README's Rust cannot rot. `tests/blocks.rs` checks
//! that no block escapes that (no `ignore`/`no_run` attributes, no indented code blocks, which
//! rustdoc would also take for Rust).

/// README.md, included only when rustdoc collects doctests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct Readme;
