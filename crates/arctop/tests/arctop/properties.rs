//! Property tests: round trips and chunking invariance.

use arctop::session::{Session, Step};
use arctop::{ascii_json, mutf8};
use bytes::BytesMut;
use proptest::prelude::*;

use crate::support::app_frame;

proptest! {
    #[test]
    fn modified_utf8_round_trips(text in any::<String>()) {
        let encoded = mutf8::encode(&text);
        prop_assert!(!encoded.contains(&0), "no raw NUL in modified UTF-8");
        prop_assert!(!encoded.iter().any(|&b| b >= 0xF0), "no 4-byte sequences");
        prop_assert_eq!(mutf8::decode(&encoded).unwrap(), text.as_str());
    }

    #[test]
    fn ascii_json_is_ascii_and_round_trips(key in any::<String>(), value in any::<String>()) {
        let object = serde_json::json!({ key: value });
        let bytes = ascii_json::to_vec(&object).unwrap();
        prop_assert!(bytes.is_ascii());
        let back: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        prop_assert_eq!(back, object);
    }

    #[test]
    fn messages_do_not_depend_on_how_the_stream_is_split(
        texts in proptest::collection::vec(any::<String>(), 0..8),
        cuts in proptest::collection::vec(1usize..64, 1..16),
    ) {
        let mut stream = app_frame(r#"{"command":"auth-success"}"#);
        for text in &texts {
            let message = serde_json::json!({"command": "error", "errorCode": -1, "message": text});
            stream.extend(app_frame(&message.to_string()));
        }
        stream.extend(app_frame(r#"{"command":"sessionComplete"}"#));

        let decode = |chunks: &[usize]| {
            let mut session = Session::new(std::time::Instant::now(), std::time::Duration::from_secs(1));
            let mut codec = arctop::frame::codec();
            let mut buf = BytesMut::new();
            let mut out = Vec::new();
            let mut rest = &stream[..];
            let mut sizes = chunks.iter().cycle();
            while !rest.is_empty() {
                let n = (*sizes.next().unwrap()).min(rest.len());
                buf.extend_from_slice(&rest[..n]);
                rest = &rest[n..];
                while let Some(payload) = codec.decode_frame(&mut buf).unwrap() {
                    if let Step::Message(r) = session.handle_frame(&payload).unwrap() {
                        out.push(r.object);
                    }
                }
            }
            assert!(session.handle_eof(None).is_ok());
            out
        };
        let whole = decode(&[stream.len()]);
        prop_assert_eq!(whole.len(), texts.len() + 1);
        for (object, text) in whole.iter().zip(&texts) {
            prop_assert_eq!(object["message"].as_str(), Some(text.as_str()));
        }
        prop_assert_eq!(decode(&cuts), whole);
    }

    #[test]
    fn arbitrary_server_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..512)) {
        arctop::fuzzing::client_stream(&data);
    }
}

proptest! {
    /// The stateful simulator-session check holds for any client bytes, and for an auth
    /// frame (right key or not) followed by anything.
    #[test]
    fn simulator_session_invariants_hold(
        head in any::<[u8; 2]>(),
        right_key in any::<bool>(),
        tail in proptest::collection::vec(any::<u8>(), 0..256),
    ) {
        let mut data = head.to_vec();
        arctop::fuzzing::simulator_session(&[&data[..], &tail].concat());
        let key = if right_key { arctop::fuzzing::FUZZ_KEY } else { "other" };
        data.extend(app_frame(&format!(r#"{{"command":"auth","apiKey":"{key}"}}"#)));
        data.extend(tail);
        arctop::fuzzing::simulator_session(&data);
    }
}
