//! Peer input never panics the fake camera, and never grows what it keeps past its
//! bounds: random bytes, and random sequences of well-formed requests with random
//! headers, fed in random chunks to the RTSP and HTTP logic; random datagrams to the
//! WS-Discovery reader.
//!
//! Checked after every step: a step consumes at least one byte and no more than it was
//! given; "need more" only below the message bound; a rejection ends the connection.

use proptest::prelude::*;

use super::CameraKind;
use super::http::{self, HttpStep};
use super::onvif;
use super::rtsp::{MAX_MESSAGE, RtspConnection, RtspSeeds, RtspStep};

const SEEDS: RtspSeeds = RtspSeeds {
    session: 1,
    ssrc: 2,
    sequence: u16::MAX,
    timestamp: u32::MAX,
};

/// A request a client could send, with random parts where a peer has a say.
fn rtsp_request() -> impl Strategy<Value = Vec<u8>> {
    let method = prop::sample::select(vec![
        "OPTIONS",
        "DESCRIBE",
        "SETUP",
        "PLAY",
        "PAUSE",
        "TEARDOWN",
        "GET_PARAMETER",
        "RECORD",
    ]);
    let path = prop::sample::select(vec![
        "/live.sdp",
        "/live.sdp/",
        "/live.sdp/trackID=0",
        "/11",
        "/",
        "/live.sdp/x",
    ]);
    let header = prop::sample::select(vec![
        "Transport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n",
        "Transport: RTP/AVP/TCP;interleaved=254-255\r\n",
        "Transport: RTP/AVP;unicast;client_port=1-2\r\n",
        "Transport: ;;;\r\n",
        "Session: 0000000000000001\r\n",
        "Session: 0000000000000001;timeout=5\r\n",
        "Session: nope\r\n",
        "Content-Length: 3\r\n\r\nabc",
        "CSeq: x\r\n",
        "",
    ]);
    (
        method,
        path,
        prop::collection::vec(header, 0..3),
        any::<u16>(),
    )
        .prop_map(|(method, path, headers, cseq)| {
            let mut text =
                format!("{method} rtsp://127.0.0.1:554{path} RTSP/1.0\r\nCSeq: {cseq}\r\n");
            let mut body = None;
            for h in headers {
                match h.split_once("\r\n\r\n") {
                    Some((head, rest)) => {
                        text.push_str(head);
                        text.push_str("\r\n");
                        body = Some(rest);
                    }
                    None => text.push_str(h),
                }
            }
            text.push_str("\r\n");
            text.push_str(body.unwrap_or_default());
            text.into_bytes()
        })
}

/// SETUP and PLAY as a player sends them: random requests after them meet a playing
/// connection.
const SETUP_PLAY: &str = "SETUP rtsp://127.0.0.1:554/live.sdp/trackID=0 RTSP/1.0\r\nCSeq: 1\r\n\
    Transport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n\r\n\
    PLAY rtsp://127.0.0.1:554/live.sdp/ RTSP/1.0\r\nCSeq: 2\r\nSession: 0000000000000001\r\n\r\n";

/// A well-formed request, SETUP and PLAY, random bytes, or an interleaved frame.
fn rtsp_input() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        6 => rtsp_request(),
        2 => Just(SETUP_PLAY.as_bytes().to_vec()),
        1 => prop::collection::vec(any::<u8>(), 0..64),
        1 => prop::collection::vec(any::<u8>(), 0..8).prop_map(|d| {
            let mut frame = vec![b'$', 1, 0, d.len() as u8];
            frame.extend(d);
            frame
        }),
    ]
}

/// Feeds `inputs`, cut into `chunk`-byte reads, to one RTSP connection.
fn drive_rtsp(kind: CameraKind, inputs: &[Vec<u8>], chunk: usize) -> Result<(), TestCaseError> {
    let mut conn = RtspConnection::new(kind, "/live.sdp", "127.0.0.1".parse().unwrap(), SEEDS);
    let stream: Vec<u8> = inputs.concat();
    let mut input = Vec::new();
    for read in stream.chunks(chunk) {
        input.extend_from_slice(read);
        loop {
            match conn.receive(&input) {
                RtspStep::NeedMore => {
                    prop_assert!(input.len() < MAX_MESSAGE);
                    break;
                }
                RtspStep::Skipped { consumed } | RtspStep::Answered { consumed, .. } => {
                    prop_assert!(consumed > 0 && consumed <= input.len());
                    input.drain(..consumed);
                }
                RtspStep::Rejected { .. } => return Ok(()),
            }
            if conn.is_playing() {
                let frame = conn.next_frame();
                prop_assert!(frame.first() == Some(&b'$'));
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn rtsp_requests_in_any_order_and_any_reads_never_panic(
        inputs in prop::collection::vec(rtsp_input(), 1..12),
        chunk in 1usize..200,
        kind in prop::sample::select(vec![
            CameraKind::RtspH264, CameraKind::RtspAudioOnly, CameraKind::RtspLocked,
        ]),
    ) {
        drive_rtsp(kind, &inputs, chunk)?;
    }

    #[test]
    fn http_requests_of_any_bytes_never_panic(
        head in prop::collection::vec(any::<u8>(), 0..512),
        method in prop::sample::select(vec!["GET", "HEAD", "POST", "G\u{0}T"]),
        target in "[ -~]{0,40}",
        kind in prop::sample::select(vec![CameraKind::Mjpeg, CameraKind::MjpegLocked, CameraKind::Http]),
    ) {
        let well_formed = format!("{method} {target} HTTP/1.1\r\nHost: x\r\n\r\n").into_bytes();
        for input in [head, well_formed] {
            for len in 0..=input.len() {
                match http::answer(kind, "/mjpg/video.mjpg", &input[..len]) {
                    HttpStep::NeedMore => prop_assert!(len < http::MAX_REQUEST),
                    HttpStep::Answered(exchange) => prop_assert!(exchange.response.starts_with(b"HTTP/1.1 ")),
                    HttpStep::Rejected { response, .. } => prop_assert!(response.starts_with(b"HTTP/1.1 4")),
                }
            }
        }
    }

    #[test]
    fn ws_discovery_datagrams_of_any_bytes_never_panic(
        datagram in prop::collection::vec(any::<u8>(), 0..1024),
        cut in 0usize..2048,
        id in "[ -~]{0,64}",
    ) {
        let _ = onvif::parse_probe(&datagram);
        let probe = onvif::tests::probe(&quick_xml::escape::escape(id.as_str()), "<d:Types>dn:NetworkVideoTransmitter</d:Types>");
        let cut = cut.min(probe.len());
        let _ = onvif::parse_probe(&probe.as_bytes()[..cut]);
        if let Ok(whole) = onvif::parse_probe(probe.as_bytes()) {
            prop_assert_eq!(whole.message_id, id.trim());
        }
    }
}
