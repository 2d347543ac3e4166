//! Entry points for the fuzz targets, and for replaying their corpus under `cargo test`.
//!
//! They panic when an invariant breaks; on any input they must otherwise return.

use std::time::{Duration, Instant};

use bytes::BytesMut;

use crate::message::Message;
use crate::mutf8;
use crate::session::{Session, Step};
#[cfg(feature = "simulator")]
use crate::{
    message::ApiKey,
    session::Phase,
    simulator::{DEFAULT_MAX_AUTH_REQUEST, Handshake, HandshakePhase, Verdict},
};

/// Feeds `data` as a server's byte stream to a client session, whole and in chunks of a
/// size picked by the first byte, and checks both give the same steps and outcome. Every
/// payload that decodes also goes through the modified UTF-8 and message layers, which
/// must not panic, and decoded text must re-encode to text that decodes the same.
pub fn client_stream(data: &[u8]) {
    let Some((&control, stream)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(control) + 1;
    let whole = run(stream, stream.len().max(1));
    let chunked = run(stream, chunk);
    assert_eq!(whole, chunked, "steps depend on how the stream was split");
    if let Ok(text) = mutf8::decode(stream) {
        assert_eq!(
            mutf8::decode(&mutf8::encode(&text)).ok().as_deref(),
            Some(&*text)
        );
    }
    let _ = Message::parse(stream);
}

fn run(stream: &[u8], chunk: usize) -> Vec<String> {
    let now = Instant::now();
    let mut session = Session::new(now, Duration::from_secs(1));
    let mut codec = crate::frame::codec();
    let mut buf = BytesMut::new();
    let mut log = Vec::new();
    for piece in stream.chunks(chunk) {
        buf.extend_from_slice(piece);
        loop {
            match codec.decode_frame(&mut buf) {
                Ok(Some(payload)) => match session.handle_frame(&payload) {
                    Ok(Step::Message(r)) => log.push(format!("message {}", r.message.command())),
                    Ok(step) => log.push(format!("{step:?}")),
                    Err(e) => {
                        log.push(format!("error {e}"));
                        return log;
                    }
                },
                Ok(None) => break,
                Err(e) => {
                    log.push(format!("frame error {e}"));
                    return log;
                }
            }
        }
    }
    match codec.decode_frame_eof(&mut buf) {
        Ok(_) => log.push(format!(
            "eof {:?}",
            session.handle_eof(None).err().map(|e| e.to_string())
        )),
        Err(e) => log.push(format!("frame error {e}")),
    }
    log
}

/// The key the simulator session of [`simulator_session`] expects.
#[cfg(feature = "simulator")]
pub const FUZZ_KEY: &str = "fuzz-key";

/// A client's byte stream, with the clock moving, against ONE simulator session: the
/// first byte picks the chunk size, the second how far the clock moves after each chunk
/// (in 100 ms steps; the auth timeout is 10 s); the rest is what the client sends, framed
/// as the simulator frames it (auth frames up to [`DEFAULT_MAX_AUTH_REQUEST`] bytes).
///
/// Checks the session's invariants: at most one verdict, never taken back; `Accept` only
/// for an `auth` frame with the right key; the reply the simulator writes makes a client
/// [`Session`] authenticate (or fail with `auth-failed`) accordingly; later frames, framing
/// errors and timeouts are ignored once decided.
///
/// Needs the feature `simulator`.
#[cfg(feature = "simulator")]
pub fn simulator_session(data: &[u8]) {
    let [control, step, stream @ ..] = data else {
        return;
    };
    let chunk = usize::from(*control) + 1;
    let step = Duration::from_millis(u64::from(*step) * 100);
    let start = Instant::now();
    let mut now = start;
    let mut handshake = Handshake::new(ApiKey::new(FUZZ_KEY), now, Duration::from_secs(10));
    let mut codec = crate::frame::codec().with_max_payload(DEFAULT_MAX_AUTH_REQUEST);
    let mut buf = BytesMut::new();
    let mut verdict: Option<Verdict> = None;
    let record = |v: Verdict, payload: Option<&[u8]>, verdict: &mut Option<Verdict>| {
        if v == Verdict::Ignore {
            return;
        }
        assert!(
            verdict.is_none(),
            "a second verdict: {v:?} after {verdict:?}"
        );
        if v == Verdict::Accept {
            let auth = payload
                .and_then(|p| Message::parse(p).ok())
                .map(|r| r.message);
            assert!(
                matches!(&auth, Some(Message::Auth { api_key }) if api_key.expose() == FUZZ_KEY),
                "accepted {auth:?}"
            );
        }
        *verdict = Some(v);
    };
    let mut framing_failed = false;
    for piece in stream.chunks(chunk) {
        buf.extend_from_slice(piece);
        while !framing_failed {
            match codec.decode_frame(&mut buf) {
                Ok(Some(payload)) => {
                    let v = handshake.handle_frame(&payload);
                    record(v, Some(&payload), &mut verdict);
                }
                Ok(None) => break,
                Err(e) => {
                    // The simulator stops reading after a framing error.
                    let v = handshake.handle_frame_error(&e);
                    record(v, None, &mut verdict);
                    framing_failed = true;
                }
            }
        }
        now = now.checked_add(step).unwrap_or(now);
        let v = handshake.handle_timeout(now);
        record(v, None, &mut verdict);
        let decided = handshake.phase() != HandshakePhase::AwaitingAuth;
        assert_eq!(decided, verdict.is_some(), "phase and verdicts disagree");
        assert_eq!(handshake.poll_timeout().is_none(), decided);
    }
    if !framing_failed && let Err(e) = codec.decode_frame_eof(&mut buf) {
        // The client closed inside a frame.
        let v = handshake.handle_frame_error(&e);
        record(v, None, &mut verdict);
    }
    if verdict.is_none() {
        // The client went quiet (or closed between frames): the deadline decides.
        let v = handshake.handle_timeout(start + Duration::from_secs(10));
        assert!(matches!(v, Verdict::Refuse(_)), "{v:?}");
        verdict = Some(v);
    }
    let verdict = verdict.unwrap_or(Verdict::Ignore);

    // What the simulator writes back, read by a client.
    let mut reply = BytesMut::new();
    Handshake::reply(&verdict, &mut reply);
    let mut client = Session::new(start, Duration::from_secs(10));
    let mut client_codec = crate::frame::codec();
    let payload = client_codec
        .decode_frame(&mut reply)
        .ok()
        .flatten()
        .expect("the reply is one whole frame");
    assert!(reply.is_empty(), "the reply is one frame");
    match (verdict, client.handle_frame(&payload)) {
        (Verdict::Accept, Ok(Step::Authenticated)) => assert_eq!(client.phase(), Phase::Streaming),
        (Verdict::Refuse(_), Err(e)) => assert!(e.is_refusal(), "{e}"),
        (verdict, step) => panic!("the client read {step:?} for {verdict:?}"),
    }
}
