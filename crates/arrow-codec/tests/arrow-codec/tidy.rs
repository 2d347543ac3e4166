//! The crate's own rules, checked by `cargo test`: no I/O or clock in the library, and
//! every source file opens with module docs.

use std::path::{Path, PathBuf};

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn library_has_no_io_no_clock_and_module_docs_everywhere() {
    let mut files = Vec::new();
    sources(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut files,
    );
    assert!(files.len() >= 10, "sources went missing: {files:?}");
    let forbidden = [
        "tokio::net",
        "tokio::time",
        "tokio::spawn",
        "std::net::Tcp",
        "std::net::Udp",
        "Instant::now",
        "SystemTime::now",
        "std::fs",
    ];
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let name = file.display();
        assert!(text.starts_with("//!"), "{name} must open with module docs");
        for needle in forbidden {
            assert!(!text.contains(needle), "{name} uses {needle}");
        }
        let library = text.split("#[cfg(test)]").next().unwrap_or_default();
        assert!(
            !library.contains(".unwrap()"),
            "{name} unwraps outside tests"
        );
    }
}
