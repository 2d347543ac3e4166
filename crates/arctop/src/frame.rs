//! Frames on the wire: a 2-byte big-endian length, then that many bytes of (modified)
//! UTF-8 JSON. Built on [`wire::FrameCodec`] with [`PrefixWidth::U16`].

use bytes::BytesMut;
use serde::Serialize;
use wire::{FrameCodec, FrameError, PrefixWidth};

use crate::{ascii_json, mutf8};

/// The largest payload a 2-byte length can announce, and the largest `writeUTF` writes.
pub const MAX_PAYLOAD: usize = u16::MAX as usize;

/// The frame codec of the protocol (2-byte prefix, up to [`MAX_PAYLOAD`] bytes).
pub fn codec() -> FrameCodec {
    FrameCodec::new(PrefixWidth::U16)
}

/// Why a value could not be framed for sending.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// The value cannot be serialized.
    #[error("cannot serialize: {0}")]
    Json(#[from] serde_json::Error),
    /// The encoded text is over [`MAX_PAYLOAD`].
    #[error(transparent)]
    Frame(#[from] FrameError),
}

/// Frames a value as a client sends it: compact JSON with every non-ASCII character
/// escaped, so the server's `readUTF` accepts it whatever the text.
pub fn encode_ascii(value: &impl Serialize, dst: &mut BytesMut) -> Result<(), EncodeError> {
    let text = ascii_json::to_vec(value)?;
    codec().encode_payload(&text, dst)?;
    Ok(())
}

/// Frames JSON text as the Android app does (`writeUTF`): Java modified UTF-8.
pub fn encode_modified(text: &str, dst: &mut BytesMut) -> Result<(), FrameError> {
    codec().encode_payload(&mutf8::encode(text), dst)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn client_frames_are_ascii() {
        let mut buf = BytesMut::new();
        encode_ascii(&json!({"command":"auth","apiKey":"ключ😀"}), &mut buf).unwrap();
        let len = usize::from(u16::from_be_bytes([buf[0], buf[1]]));
        assert_eq!(len, buf.len() - 2);
        assert!(buf[2..].is_ascii());
    }

    #[test]
    fn app_frames_use_modified_utf8() {
        let mut buf = BytesMut::new();
        encode_modified("{\"m\":\"\0😀\"}", &mut buf).unwrap();
        assert_eq!(&buf[..2], &[0, 16]);
        assert_eq!(&buf[8..10], &[0xC0, 0x80]);
    }

    #[test]
    fn largest_frame_and_one_more() {
        let mut buf = BytesMut::new();
        encode_modified(&"x".repeat(MAX_PAYLOAD), &mut buf).unwrap();
        assert_eq!(&buf[..2], &[0xFF, 0xFF]);
        assert!(encode_modified(&"x".repeat(MAX_PAYLOAD + 1), &mut BytesMut::new()).is_err());
        // A NUL takes two bytes in modified UTF-8: 32,768 of them do not fit.
        assert!(encode_modified(&"\0".repeat(32_768), &mut BytesMut::new()).is_err());
    }
}
