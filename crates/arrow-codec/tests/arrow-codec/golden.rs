//! Golden vectors in `fixtures/arrow/`: `<case>.hex` is the byte stream, `<case>.json` the
//! messages it holds. Checked both ways: the bytes decode to the messages, and the messages
//! encode to the bytes.
//!
//! `cargo xtask fixtures` regenerates the files from [`cases::all`]; without it, any drift
//! between the table and the files fails this test.

use golden::unhex;
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Once;

use arrow_codec::{ArrowCodec, ControlBody, Message, TABLE_TERMINATOR};
use bytes::BytesMut;
use tokio_util::codec::Decoder;

use crate::cases;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/arrow")
}

fn encode_all(messages: &[Message]) -> Vec<u8> {
    let mut out = BytesMut::new();
    for m in messages {
        m.encode(&mut out).expect("fixture message encodes");
    }
    out.to_vec()
}

fn decode_all(bytes: &[u8]) -> Vec<Message> {
    let mut buf = BytesMut::from(bytes);
    let mut codec = ArrowCodec::new();
    let mut out = Vec::new();
    while let Some(m) = codec.decode_eof(&mut buf).expect("fixture decodes") {
        out.push(m);
    }
    out
}

/// What a case's `.json` file says: the messages, in order.
fn meaning(messages: &[Message]) -> serde_json::Value {
    serde_json::to_value(messages).expect("messages serialize")
}

/// With `PROTOCTL_UPDATE_FIXTURES` set, rewrites the folder from the table, once per test
/// run, before any golden test reads it (they run in parallel).
fn regenerate_if_asked() {
    static ONCE: Once = Once::new();
    if !golden::update_requested() {
        return;
    }
    ONCE.call_once(|| {
        let _ = std::fs::remove_dir_all(dir());
        std::fs::create_dir_all(dir()).unwrap();
        for (name, messages) in cases::all() {
            golden::check_pair(&dir(), name, &encode_all(&messages), &meaning(&messages));
        }
    });
}

#[test]
fn golden_vectors_match_fixtures() {
    regenerate_if_asked();
    for (name, messages) in cases::all() {
        golden::compare_pair(&dir(), name, &encode_all(&messages), &meaning(&messages));
    }
}

/// Walks the folder: every `.hex` decodes to its `.json`, every `.json` encodes to its
/// `.hex`, and the folder holds exactly the cases of the table.
#[test]
fn golden_fixture_folder_decodes_and_encodes_both_ways() {
    regenerate_if_asked();
    let mut seen = BTreeSet::new();
    for entry in std::fs::read_dir(dir()).expect("fixtures/arrow exists") {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("hex") {
            continue;
        }
        let name = path.file_stem().unwrap().to_str().unwrap().to_owned();
        let bytes = unhex(&std::fs::read_to_string(&path).unwrap());
        let json = std::fs::read_to_string(path.with_extension("json"))
            .unwrap_or_else(|e| panic!("{name}.json: {e}"));
        let messages: Vec<Message> = serde_json::from_str(&json).unwrap();
        assert_eq!(decode_all(&bytes), messages, "{name}: hex decodes to json");
        assert_eq!(encode_all(&messages), bytes, "{name}: json encodes to hex");
        seen.insert(name);
    }
    let table: BTreeSet<String> = cases::all()
        .into_iter()
        .map(|(n, _)| n.to_owned())
        .collect();
    assert_eq!(
        seen, table,
        "fixtures/arrow holds exactly the cases of the table"
    );
}

#[test]
fn golden_register_header_matches_the_reference_capture() {
    regenerate_if_asked();
    let bytes = unhex(&std::fs::read_to_string(dir().join("register-real-client.hex")).unwrap());
    assert_eq!(hex::encode(&bytes[..11]), "0200000000000000000170");
    // msg_id 0, type REGISTER
    assert_eq!(&bytes[11..15], &[0, 0, 0, 2]);
    // window_size 65535, flags 0x1 after uuid, key, mac
    assert_eq!(&bytes[15 + 38..15 + 44], &[0xff, 0xff, 0, 0, 0, 1]);
}

#[test]
fn golden_empty_table_is_the_reference_terminator() {
    regenerate_if_asked();
    let reference = "000000000000000000000400000000000000000000000000000000000000";
    assert_eq!(hex::encode(TABLE_TERMINATOR), reference);
    let bytes = unhex(&std::fs::read_to_string(dir().join("update-empty.hex")).unwrap());
    assert_eq!(hex::encode(&bytes[15..]), reference);
    let bytes = unhex(&std::fs::read_to_string(dir().join("scan-report-empty.hex")).unwrap());
    // request_id, host_count 0, terminator
    assert_eq!(
        hex::encode(&bytes[15..]),
        format!("000f00000000{reference}")
    );
}

#[test]
fn golden_cases_cover_every_control_type() {
    let mut types = BTreeSet::new();
    for (_, messages) in cases::all() {
        for m in messages {
            if let Message::Control(c) = m {
                types.insert(match c.body {
                    ControlBody::Unknown(_) => "UNKNOWN",
                    other => other.control_type().name(),
                });
            }
        }
    }
    assert_eq!(
        types.len(),
        15,
        "14 known types and an unknown one: {types:?}"
    );
}
