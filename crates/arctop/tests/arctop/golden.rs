//! Golden vectors in `fixtures/arctop/`: `<case>.hex` is a byte stream as it crosses the
//! wire, `<case>.json` the messages it holds (`"writer": "app"` for Java modified UTF-8
//! frames, `"client"` for our ASCII-only JSON). Checked both ways: the bytes decode to the
//! messages, and the messages encode to the bytes.
//!
//! `cargo xtask fixtures` regenerates the files from [`cases`]; without it, any drift
//! between the table and the files fails this test.

use std::path::PathBuf;

use arctop::ApiKey;
use arctop::session::Session;
use bytes::BytesMut;
use serde_json::{Value, json};

enum Writer {
    App(Vec<&'static str>),
    Client(Value),
}

fn cases() -> Vec<(&'static str, Writer)> {
    vec![
        (
            "app-session",
            Writer::App(vec![
                r#"{"command":"auth-success"}"#,
                r#"{"command":"valueChange","timestamp":1700000000000,"key":"focus","value":51.5}"#,
                r#"{"command":"valueChange","timestamp":1700000000100,"key":"motion","value":[0.1,-0.2,9.8]}"#,
                r#"{"command":"qa","timestamp":1700000000200,"passed":false,"type":1}"#,
                r#"{"command":"sessionComplete","timestamp":1700000000500}"#,
            ]),
        ),
        (
            "app-modified-utf8",
            Writer::App(vec![
                "{\"command\":\"error\",\"errorCode\":-3,\"message\":\"😀 NUL:\0 é\"}",
            ]),
        ),
        (
            "client-auth-ascii",
            Writer::Client(json!({"command": "auth", "apiKey": "ключ-😀"})),
        ),
    ]
}

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/arctop")
}

#[test]
fn golden_vectors_match_fixtures() {
    for (name, writer) in cases() {
        let mut stream = BytesMut::new();
        let (kind, texts): (&str, Vec<String>) = match &writer {
            Writer::App(texts) => {
                for text in texts {
                    arctop::frame::encode_modified(text, &mut stream).unwrap();
                }
                ("app", texts.iter().map(|t| t.to_string()).collect())
            }
            Writer::Client(value) => {
                let key = value["apiKey"].as_str().unwrap();
                Session::auth_request(&ApiKey::new(key), &mut stream).unwrap();
                let text = String::from_utf8(arctop::ascii_json::to_vec(value).unwrap()).unwrap();
                ("client", vec![text])
            }
        };
        let meaning = json!({"writer": kind, "messages": texts});
        let bytes = golden::check_pair(&dir(), name, &stream, &meaning);

        // The committed bytes decode to the committed messages.
        let mut buf = BytesMut::from(&bytes[..]);
        let mut codec = arctop::frame::codec();
        let mut decoded = Vec::new();
        while let Some(frame) = codec.decode_frame_eof(&mut buf).unwrap() {
            if kind == "client" {
                assert!(frame.is_ascii(), "{name}: client frames are ASCII");
            }
            decoded.push(arctop::mutf8::decode(&frame).unwrap().into_owned());
            // And each is a message.
            arctop::Message::parse(&frame).unwrap();
        }
        assert_eq!(decoded, texts, "{name}: decoded messages");
    }
}
