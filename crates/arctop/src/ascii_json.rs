//! ASCII-only JSON, the only JSON we send.
//!
//! The app reads frames with Java's `readUTF`, which rejects 4-byte UTF-8. Writing every
//! character outside ASCII as a `\uXXXX` escape (a surrogate pair above U+FFFF) makes the
//! payload valid UTF-8, valid modified UTF-8 and valid JSON at once.

use std::io;

use serde::Serialize;
use serde_json::ser::{Formatter, Serializer};

/// A serde_json formatter that escapes every non-ASCII character.
#[derive(Debug, Default, Clone, Copy)]
struct AsciiFormatter;

impl Formatter for AsciiFormatter {
    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let mut start = 0;
        for (i, c) in fragment.char_indices() {
            if c.is_ascii() {
                continue;
            }
            writer.write_all(&fragment.as_bytes()[start..i])?;
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                write!(writer, "\\u{unit:04x}")?;
            }
            start = i + c.len_utf8();
        }
        writer.write_all(&fragment.as_bytes()[start..])
    }
}

/// Serializes `value` as compact JSON containing only ASCII bytes, appended to `out`.
pub fn write<T: Serialize + ?Sized>(value: &T, out: &mut Vec<u8>) -> Result<(), serde_json::Error> {
    let mut serializer = Serializer::with_formatter(out, AsciiFormatter);
    value.serialize(&mut serializer)
}

/// Serializes `value` as compact ASCII-only JSON.
///
/// ```
/// let text = arctop::ascii_json::to_vec(&serde_json::json!({"k": "é😀"})).unwrap();
/// assert_eq!(text, br#"{"k":"\u00e9\ud83d\ude00"}"#);
/// ```
pub fn to_vec<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, serde_json::Error> {
    let mut out = Vec::with_capacity(128);
    write(value, &mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn non_ascii_is_escaped_and_round_trips() {
        let value = json!({"apiKey": "kéy-😀-\u{7f}", "n": [1, 2.5, null], "ok": true});
        let bytes = to_vec(&value).unwrap();
        assert!(bytes.is_ascii(), "{}", String::from_utf8_lossy(&bytes));
        let back: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(back, value);
    }

    #[test]
    fn ascii_text_is_compact_and_unchanged() {
        let bytes = to_vec(&json!({"command": "auth", "apiKey": "k\"\n"})).unwrap();
        assert_eq!(bytes, br#"{"command":"auth","apiKey":"k\"\n"}"#);
    }
}
