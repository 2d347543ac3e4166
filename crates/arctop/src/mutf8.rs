//! Java *modified* UTF-8, the text encoding of the Arctop app's frames.
//!
//! The app writes frames with `DataOutputStream.writeUTF`, which differs from UTF-8 in two
//! ways: U+0000 is the two bytes `C0 80`, and a character outside the Basic Multilingual
//! Plane is its UTF-16 surrogate pair, each half encoded as three bytes (six in all).
//! Strict UTF-8 rejects both, so [`decode`] tries strict UTF-8 first (zero copy, the common
//! case) and falls back to modified UTF-8. [`encode`] writes what `writeUTF` writes.

use std::borrow::Cow;

/// Why a payload is neither UTF-8 nor Java modified UTF-8.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not UTF-8 nor modified UTF-8 at byte offset {offset}: {kind}")]
pub struct Mutf8Error {
    /// Offset of the first byte of the sequence that failed.
    pub offset: usize,
    /// What is wrong there.
    pub kind: Mutf8ErrorKind,
}

/// The ways a byte sequence can fail to decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Mutf8ErrorKind {
    /// A byte that cannot start a sequence (a stray continuation byte, `F8`..`FF`).
    #[error("invalid lead byte")]
    InvalidLead,
    /// The payload ends inside a multi-byte sequence.
    #[error("truncated sequence")]
    Truncated,
    /// A byte after the lead is not `10xxxxxx`.
    #[error("invalid continuation byte")]
    InvalidContinuation,
    /// A longer form than needed (other than `C0 80`, which is how NUL is written).
    #[error("overlong encoding")]
    Overlong,
    /// A high surrogate not followed by a low one, or a low one on its own.
    #[error("unpaired surrogate")]
    UnpairedSurrogate,
    /// A 4-byte sequence above U+10FFFF.
    #[error("code point out of range")]
    OutOfRange,
    /// A 4-byte sequence (lead `F0`..`FF`), as plain UTF-8 writes a character above
    /// U+FFFF: Java's `readUTF` takes those only as a surrogate pair (see
    /// [`check_read_utf`]).
    #[error("4-byte sequence, which readUTF rejects")]
    FourByteSequence,
}

/// Decodes a frame payload: strict UTF-8 when it is (borrowed, no copy), else Java modified
/// UTF-8 (`C0 80` for NUL, surrogate pairs as two 3-byte sequences).
///
/// The fallback also accepts ordinary 4-byte UTF-8 sequences, so a payload mixing both
/// forms still decodes.
///
/// ```
/// // "a", NUL, then U+1F600 as a surrogate pair: what Java's writeUTF produces.
/// let bytes = b"a\xC0\x80\xED\xA0\xBD\xED\xB8\x80";
/// assert_eq!(arctop::mutf8::decode(bytes).unwrap(), "a\u{0}\u{1F600}");
/// ```
pub fn decode(bytes: &[u8]) -> Result<Cow<'_, str>, Mutf8Error> {
    match std::str::from_utf8(bytes) {
        Ok(text) => Ok(Cow::Borrowed(text)),
        Err(e) => decode_modified(bytes, e.valid_up_to()).map(Cow::Owned),
    }
}

/// Decodes from `start`, everything before being known-valid UTF-8.
fn decode_modified(bytes: &[u8], start: usize) -> Result<String, Mutf8Error> {
    let mut out = String::with_capacity(bytes.len());
    // Valid UTF-8 prefix, copied as is.
    out.push_str(std::str::from_utf8(&bytes[..start]).unwrap_or_default());
    let mut i = start;
    while i < bytes.len() {
        let (unit, len) = read_unit(bytes, i)?;
        match unit {
            Unit::Scalar(c) => {
                out.push(c);
                i += len;
            }
            Unit::High(high) => {
                let low = match read_unit(bytes, i + len) {
                    Ok((Unit::Low(low), _)) => low,
                    _ => {
                        return Err(Mutf8Error {
                            offset: i,
                            kind: Mutf8ErrorKind::UnpairedSurrogate,
                        });
                    }
                };
                let code = 0x10000 + ((u32::from(high) - 0xD800) << 10) + (u32::from(low) - 0xDC00);
                // A pair always combines into a valid scalar value.
                out.push(char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER));
                i += len + 3;
            }
            Unit::Low(_) => {
                return Err(Mutf8Error {
                    offset: i,
                    kind: Mutf8ErrorKind::UnpairedSurrogate,
                });
            }
        }
    }
    Ok(out)
}

/// One decoded sequence.
enum Unit {
    Scalar(char),
    High(u16),
    Low(u16),
}

fn read_unit(bytes: &[u8], at: usize) -> Result<(Unit, usize), Mutf8Error> {
    let fail = |kind| Mutf8Error { offset: at, kind };
    let Some(&lead) = bytes.get(at) else {
        return Err(fail(Mutf8ErrorKind::Truncated));
    };
    let len = match lead {
        0x00..=0x7F => return Ok((Unit::Scalar(char::from(lead)), 1)),
        0xC0..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF7 => 4,
        _ => return Err(fail(Mutf8ErrorKind::InvalidLead)),
    };
    let Some(seq) = bytes.get(at..at + len) else {
        return Err(fail(Mutf8ErrorKind::Truncated));
    };
    if seq[1..].iter().any(|b| b & 0xC0 != 0x80) {
        return Err(fail(Mutf8ErrorKind::InvalidContinuation));
    }
    let tail = |k: usize| u32::from(seq[k] & 0x3F);
    let code = match len {
        2 => (u32::from(lead & 0x1F) << 6) | tail(1),
        3 => (u32::from(lead & 0x0F) << 12) | (tail(1) << 6) | tail(2),
        _ => (u32::from(lead & 0x07) << 18) | (tail(1) << 12) | (tail(2) << 6) | tail(3),
    };
    let minimum = match len {
        2 => 0x80,
        3 => 0x800,
        _ => 0x10000,
    };
    if code < minimum && !(len == 2 && code == 0) {
        return Err(fail(Mutf8ErrorKind::Overlong));
    }
    if code > 0x10FFFF {
        return Err(fail(Mutf8ErrorKind::OutOfRange));
    }
    let unit = match code {
        0xD800..=0xDBFF if len == 3 => Unit::High(code as u16),
        0xDC00..=0xDFFF if len == 3 => Unit::Low(code as u16),
        0xD800..=0xDFFF => return Err(fail(Mutf8ErrorKind::UnpairedSurrogate)),
        _ => Unit::Scalar(char::from_u32(code).ok_or_else(|| fail(Mutf8ErrorKind::OutOfRange))?),
    };
    Ok((unit, len))
}

/// Checks a payload the way the app's `DataInputStream.readUTF` reads it, which is how the
/// Stream Server reads a client's `auth` request.
///
/// `readUTF` takes 1-, 2- and 3-byte sequences only: a character above U+FFFF must come as
/// a surrogate pair (two 3-byte sequences), and the 4-byte form plain UTF-8 writes for it
/// is malformed input ([`Mutf8ErrorKind::FourByteSequence`]), as is a stray continuation
/// byte, a bad continuation byte or a sequence cut by the end of the payload. It does not
/// check for overlong forms or unpaired surrogates; [`decode`] does, so a payload that
/// passes here can still fail there.
///
/// ```
/// use arctop::mutf8::{Mutf8ErrorKind, check_read_utf};
/// // U+1F600 as writeUTF writes it (a surrogate pair) passes; as plain UTF-8 it does not.
/// assert!(check_read_utf(b"\xED\xA0\xBD\xED\xB8\x80").is_ok());
/// let err = check_read_utf("key 😀".as_bytes()).unwrap_err();
/// assert_eq!((err.offset, err.kind), (4, Mutf8ErrorKind::FourByteSequence));
/// ```
pub fn check_read_utf(bytes: &[u8]) -> Result<(), Mutf8Error> {
    let mut at = 0;
    while let Some(&lead) = bytes.get(at) {
        let fail = |kind| Mutf8Error { offset: at, kind };
        let len = match lead >> 4 {
            0..=7 => 1,
            12 | 13 => 2,
            14 => 3,
            15 => return Err(fail(Mutf8ErrorKind::FourByteSequence)),
            _ => return Err(fail(Mutf8ErrorKind::InvalidLead)),
        };
        let Some(seq) = bytes.get(at..at + len) else {
            return Err(fail(Mutf8ErrorKind::Truncated));
        };
        if seq[1..].iter().any(|b| b & 0xC0 != 0x80) {
            return Err(fail(Mutf8ErrorKind::InvalidContinuation));
        }
        at += len;
    }
    Ok(())
}

/// Encodes text as Java's `writeUTF` does: NUL as `C0 80`, characters above U+FFFF as two
/// 3-byte surrogates, everything else as in UTF-8. ASCII text (all we send) is unchanged.
pub fn encode(text: &str) -> Cow<'_, [u8]> {
    if !text.bytes().any(|b| b == 0 || b >= 0xF0) {
        return Cow::Borrowed(text.as_bytes());
    }
    let mut out = Vec::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\0' => out.extend_from_slice(&[0xC0, 0x80]),
            c if u32::from(c) > 0xFFFF => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let u = u32::from(*unit);
                    out.extend_from_slice(&[
                        0xE0 | (u >> 12) as u8,
                        0x80 | ((u >> 6) & 0x3F) as u8,
                        0x80 | (u & 0x3F) as u8,
                    ]);
                }
            }
            c => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_utf8_is_borrowed() {
        let text = "focus ünï ✓ 😀";
        assert!(matches!(decode(text.as_bytes()).unwrap(), Cow::Borrowed(t) if t == text));
    }

    #[test]
    fn decodes_modified_utf8_vectors() {
        let cases: [(&[u8], &str); 5] = [
            (b"\xC0\x80", "\0"),
            (b"a\xC0\x80b", "a\0b"),
            (b"\xED\xA0\xBD\xED\xB8\x80", "\u{1F600}"),
            (b"\xED\xA0\x80\xED\xB0\x80", "\u{10000}"),
            (b"\xED\xAF\xBF\xED\xBF\xBF", "\u{10FFFF}"),
        ];
        for (bytes, expected) in cases {
            assert_eq!(decode(bytes).unwrap(), expected, "{bytes:x?}");
        }
    }

    #[test]
    fn mixed_forms_decode() {
        // A strict 4-byte emoji and a modified NUL in one payload.
        assert_eq!(decode(b"\xF0\x9F\x98\x80\xC0\x80").unwrap(), "\u{1F600}\0");
    }

    #[test]
    fn rejects_broken_sequences_with_offsets() {
        let cases: [(&[u8], usize, Mutf8ErrorKind); 8] = [
            (b"ab\xFF", 2, Mutf8ErrorKind::InvalidLead),
            (b"a\x80", 1, Mutf8ErrorKind::InvalidLead),
            (b"a\xC3", 1, Mutf8ErrorKind::Truncated),
            (b"\xE2\x28\xA1", 0, Mutf8ErrorKind::InvalidContinuation),
            (b"\xC1\xBF", 0, Mutf8ErrorKind::Overlong),
            (b"x\xED\xA0\xBDy", 1, Mutf8ErrorKind::UnpairedSurrogate),
            (b"\xED\xB8\x80", 0, Mutf8ErrorKind::UnpairedSurrogate),
            (b"\xF4\x90\x80\x80", 0, Mutf8ErrorKind::OutOfRange),
        ];
        for (bytes, offset, kind) in cases {
            assert_eq!(
                decode(bytes).unwrap_err(),
                Mutf8Error { offset, kind },
                "{bytes:x?}"
            );
        }
    }

    #[test]
    fn read_utf_rejects_four_byte_sequences_and_broken_ones() {
        type Want = Result<(), (usize, Mutf8ErrorKind)>;
        let cases: [(&[u8], Want); 12] = [
            (b"plain", Ok(())),
            (b"a\xC0\x80b", Ok(())),
            ("ünï ✓".as_bytes(), Ok(())),
            (b"\xED\xA0\xBD\xED\xB8\x80", Ok(())),
            // Lenient where readUTF is: overlong forms, unpaired surrogates.
            (b"\xC1\xBF\xED\xB8\x80", Ok(())),
            (
                b"ab\xF0\x9F\x98\x80",
                Err((2, Mutf8ErrorKind::FourByteSequence)),
            ),
            (
                b"\xF4\x90\x80\x80",
                Err((0, Mutf8ErrorKind::FourByteSequence)),
            ),
            (b"x\xFF", Err((1, Mutf8ErrorKind::FourByteSequence))),
            (b"a\x80", Err((1, Mutf8ErrorKind::InvalidLead))),
            (b"a\xC3", Err((1, Mutf8ErrorKind::Truncated))),
            (b"\xE2\x82", Err((0, Mutf8ErrorKind::Truncated))),
            (
                b"\xE2\x28\xA1",
                Err((0, Mutf8ErrorKind::InvalidContinuation)),
            ),
        ];
        for (bytes, want) in cases {
            let got = check_read_utf(bytes).map_err(|e| (e.offset, e.kind));
            assert_eq!(got, want, "{bytes:x?}");
        }
    }

    #[test]
    fn encode_matches_java_write_utf() {
        assert_eq!(&*encode("plain"), b"plain");
        assert_eq!(&*encode("a\0b"), b"a\xC0\x80b");
        assert_eq!(&*encode("\u{1F600}"), b"\xED\xA0\xBD\xED\xB8\x80");
        assert_eq!(&*encode("é"), "é".as_bytes());
    }

    #[test]
    fn encode_then_decode_round_trips() {
        for text in [
            "",
            "\0\0",
            "ascii",
            "ünïcödé",
            "😀 and 🎉",
            "\u{FFFF}\u{10000}",
        ] {
            assert_eq!(decode(&encode(text)).unwrap(), text);
        }
    }
}
