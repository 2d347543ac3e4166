//! Peers' strings in human output: control characters written as escapes.

use std::borrow::Cow;

/// `text` with every control character (line breaks, escape sequences, NUL, DEL, the C1
/// controls) written as a Rust escape (`\n`, `\u{1b}`): for a peer's string in human
/// output, which must stay on its line and never reach the terminal as a control. Printable
/// text, including non-ASCII, is kept as it is.
pub(crate) fn escape_controls(text: &str) -> Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return Cow::Borrowed(text);
    }
    let mut escaped = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c.is_control() {
            escaped.extend(c.escape_default());
        } else {
            escaped.push(c);
        }
    }
    Cow::Owned(escaped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_in_peer_strings_are_escaped_and_text_is_kept() {
        let cases = [
            ("focus", "focus"),
            ("fokus ü 集中", "fokus ü 集中"),
            ("evil\u{1b}[2Jkey", "evil\\u{1b}[2Jkey"),
            ("two\nlines\r", "two\\nlines\\r"),
            ("nul\0del\u{7f}c1\u{9b}", "nul\\u{0}del\\u{7f}c1\\u{9b}"),
            ("tab\there", "tab\\there"),
        ];
        for (raw, shown) in cases {
            assert_eq!(escape_controls(raw), shown, "{raw:?}");
        }
        assert!(matches!(escape_controls("plain"), Cow::Borrowed(_)));
    }
}
