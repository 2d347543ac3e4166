//! Replays the fuzz corpus (and any crash artifacts) through the fuzzing entry point.

use std::path::Path;

#[test]
fn fuzz_corpus_replays_without_panic() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let mut replayed = 0;
    for dir in [
        "corpus/arrow_client_session",
        "artifacts/arrow_client_session",
    ] {
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            arrow_client::fuzzing::service_bytes(&std::fs::read(&path).unwrap());
            replayed += 1;
        }
    }
    assert!(
        replayed >= 5,
        "the committed corpus went missing: {replayed} inputs"
    );
}

#[test]
fn the_dev_service_corpus_replays_without_panic() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let mut replayed = 0;
    for dir in ["corpus/dev_service_client", "artifacts/dev_service_client"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            arrow_client::fuzzing::dev_service_client_bytes(&std::fs::read(&path).unwrap());
            replayed += 1;
        }
    }
    assert!(
        replayed >= 10,
        "the committed corpus went missing: {replayed} inputs"
    );
}

#[test]
fn the_scanner_corpus_replays_without_panic() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let mut replayed = 0;
    for dir in ["corpus/scanner_answers", "artifacts/scanner_answers"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            arrow_client::fuzzing::scanner_answers(&std::fs::read(&path).unwrap());
            replayed += 1;
        }
    }
    assert!(
        replayed >= 8,
        "the committed corpus went missing: {replayed} inputs"
    );
}

proptest::proptest! {
    /// Between fuzzing runs: random bytes after a REGISTER reach the development
    /// service's message handling, and are handled or end the connection.
    #[test]
    fn any_client_bytes_after_register_are_handled(
        tail in proptest::collection::vec(proptest::num::u8::ANY, 0..512),
    ) {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
        let mut data = std::fs::read(root.join("corpus/dev_service_client/register-ping")).unwrap();
        data.extend_from_slice(&tail);
        arrow_client::fuzzing::dev_service_client_bytes(&data);
    }

    /// Between fuzzing runs: random answers, and answers that start like real ones, are
    /// read or refused without a panic.
    #[test]
    fn any_answer_to_a_probe_is_read_or_refused(
        prefix in proptest::sample::select(vec![
            &b"RTSP/1.0 200 OK\r\nContent-Length: 12\r\n\r\n"[..],
            &b"HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\n\r\n"[..],
            &b"<e:Envelope><e:Header><w:RelatesTo>urn:uuid:fuzz</w:RelatesTo></e:Header><d:ProbeMatch><d:XAddrs>"[..],
            &b"v=0\r\nm=video 0 RTP/AVP 96\r\na=rtpmap:"[..],
            &b""[..],
        ]),
        tail in proptest::collection::vec(proptest::num::u8::ANY, 0..512),
    ) {
        let mut data = prefix.to_vec();
        data.extend_from_slice(&tail);
        arrow_client::fuzzing::scanner_answers(&data);
    }
}
