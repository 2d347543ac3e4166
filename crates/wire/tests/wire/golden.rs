//! Golden vectors in `fixtures/wire/`: `<case>.hex` is the byte stream, `<case>.json` says
//! the prefix width and the frames it holds. Checked both ways: the bytes decode to the
//! frames, and the frames encode to the bytes.
//!
//! `cargo xtask fixtures` regenerates the files from [`cases`]; without it, any drift
//! between the table and the files fails this test.

use std::path::PathBuf;

use bytes::BytesMut;
use serde_json::json;
use wire::{FrameCodec, PrefixWidth};

fn cases() -> Vec<(&'static str, PrefixWidth, Vec<&'static str>)> {
    vec![
        (
            "u16-auth",
            PrefixWidth::U16,
            vec![r#"{"command":"auth","apiKey":"demo"}"#],
        ),
        (
            "u16-stream",
            PrefixWidth::U16,
            vec![
                r#"{"command":"auth-success"}"#,
                r#"{"command":"valueChange","key":"focus","value":51.5,"timestamp":1700000000000}"#,
                r#"{"command":"sessionComplete","timestamp":1700000000500}"#,
            ],
        ),
        ("u16-empty-frame", PrefixWidth::U16, vec![""]),
        (
            "u32-request-reply",
            PrefixWidth::U32,
            vec![
                r#"{"target":"MAIN","command":"GET_STATUS","parameter":{},"request_id":1}"#,
                r#"{"status":"OK","data":{"state":"Idle"},"request_id":1}"#,
            ],
        ),
        ("u32-empty-frame", PrefixWidth::U32, vec![""]),
    ]
}

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/wire")
}

#[test]
fn golden_vectors_match_fixtures() {
    for (name, width, frames) in cases() {
        let codec = FrameCodec::new(width);
        let mut stream = BytesMut::new();
        for f in &frames {
            codec.encode_payload(f.as_bytes(), &mut stream).unwrap();
        }
        let meaning = json!({ "prefix": width.size(), "frames": frames });
        let bytes = golden::check_pair(&dir(), name, &stream, &meaning);

        // The committed bytes decode to the committed frames.
        let mut buf = BytesMut::from(&bytes[..]);
        let mut decoder = FrameCodec::new(width);
        let mut decoded = Vec::new();
        while let Some(frame) = decoder.decode_frame_eof(&mut buf).unwrap() {
            decoded.push(String::from_utf8(frame.to_vec()).unwrap());
        }
        assert_eq!(decoded, frames, "{name}: decoded frames");
    }
}
