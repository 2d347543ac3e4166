//! Golden-vector files for the tests of every protoctl crate.
//!
//! A golden case is a pair of files in a `fixtures/<crate>/` folder: `<case>.hex`, the bytes
//! as hex text (32 bytes a line), and `<case>.json`, what those bytes mean. A test builds both
//! from its own table and calls [`check_pair`]: without `PROTOCTL_UPDATE_FIXTURES` any drift
//! between the table and the files fails the test; with it (`cargo xtask fixtures`) the files
//! are rewritten first. The test then decodes the committed bytes it gets back, so the check
//! runs both ways.

use std::path::Path;

/// The variable `cargo xtask fixtures` sets to rewrite the files.
pub const UPDATE_VAR: &str = "PROTOCTL_UPDATE_FIXTURES";

/// True when the files are to be rewritten from the tables.
pub fn update_requested() -> bool {
    std::env::var_os(UPDATE_VAR).is_some()
}

/// Bytes as hex text, 32 bytes a line, each line ended by a newline.
pub fn hex_lines(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2 + bytes.len() / 32 + 1);
    for line in bytes.chunks(32) {
        out.push_str(&hex::encode(line));
        out.push('\n');
    }
    out
}

/// Hex text back to bytes; white space is ignored.
///
/// # Panics
/// When the text is not hex (a broken fixture file).
pub fn unhex(text: &str) -> Vec<u8> {
    let digits: String = text.split_whitespace().collect();
    hex::decode(digits).unwrap_or_else(|e| panic!("fixture is not hex: {e}"))
}

/// Checks `<dir>/<name>.hex` against `bytes` and `<dir>/<name>.json` against `meaning`
/// (pretty-printed), rewriting both first when [`update_requested`]. Returns the committed
/// bytes for the caller to decode.
///
/// # Panics
/// When a file drifted from the table (the message says to run `cargo xtask fixtures`), or
/// cannot be written while updating.
pub fn check_pair(dir: &Path, name: &str, bytes: &[u8], meaning: &serde_json::Value) -> Vec<u8> {
    if update_requested() {
        let (hex, json) = render(bytes, meaning);
        std::fs::create_dir_all(dir).expect("create the fixtures folder");
        std::fs::write(dir.join(format!("{name}.hex")), hex).expect("write the .hex fixture");
        std::fs::write(dir.join(format!("{name}.json")), json).expect("write the .json fixture");
    }
    compare_pair(dir, name, bytes, meaning)
}

/// Like [`check_pair`], but never writes: for tests whose folder is rewritten elsewhere
/// (once, before any test reads it).
///
/// # Panics
/// When a file drifted from the table.
pub fn compare_pair(dir: &Path, name: &str, bytes: &[u8], meaning: &serde_json::Value) -> Vec<u8> {
    let (want_hex, want_json) = render(bytes, meaning);
    let have_hex = std::fs::read_to_string(dir.join(format!("{name}.hex"))).unwrap_or_default();
    let have_json = std::fs::read_to_string(dir.join(format!("{name}.json"))).unwrap_or_default();
    assert_eq!(
        have_hex, want_hex,
        "{name}.hex drifted: run `cargo xtask fixtures`"
    );
    assert_eq!(
        have_json, want_json,
        "{name}.json drifted: run `cargo xtask fixtures`"
    );
    unhex(&have_hex)
}

/// The two files' contents: hex lines, and pretty JSON ended by a newline.
fn render(bytes: &[u8], meaning: &serde_json::Value) -> (String, String) {
    let json = serde_json::to_string_pretty(meaning).expect("JSON value") + "\n";
    (hex_lines(bytes), json)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_lines_wrap_at_32_bytes_and_unhex_reverses_them() {
        let bytes: Vec<u8> = (0..70).collect();
        let text = hex_lines(&bytes);
        assert_eq!(
            text.lines().map(str::len).collect::<Vec<_>>(),
            vec![64, 64, 12]
        );
        assert_eq!(unhex(&text), bytes);
        assert_eq!(hex_lines(&[]), "");
    }
}
