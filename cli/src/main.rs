//! The `membudget` command.
fn main() {}
