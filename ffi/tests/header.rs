//! Checks that `include/membudget.h` is exactly what cbindgen (pinned in Cargo.toml) generates
//! from the crate; `MEMBUDGET_BLESS=1` rewrites it.

use std::path::Path;

#[test]
fn header_is_up_to_date() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(dir.join("cbindgen.toml")).expect("cbindgen.toml");
    let mut generated = Vec::new();
    cbindgen::Builder::new()
        .with_crate(dir)
        .with_config(config)
        .generate()
        .expect("cbindgen failed to parse the crate")
        .write(&mut generated);
    let generated = String::from_utf8(generated).expect("UTF-8 header");
    let path = dir.join("include/membudget.h");
    if std::env::var_os("MEMBUDGET_BLESS").is_some_and(|v| v == "1") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &generated).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != generated {
        let first = committed
            .lines()
            .zip(generated.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| committed.lines().count().min(generated.lines().count()));
        let show = |s: &str| {
            s.lines()
                .skip(first.saturating_sub(2))
                .take(6)
                .collect::<Vec<_>>()
                .join("\n")
        };
        panic!(
            "{} is stale: it differs from what cbindgen generates from ffi/src, first at line {}.\n\
             --- committed ---\n{}\n--- generated ---\n{}\n\
             Regenerate it with: MEMBUDGET_BLESS=1 cargo test -p membudget-ffi --test header",
            path.display(),
            first + 1,
            show(&committed),
            show(&generated)
        );
    }
}
