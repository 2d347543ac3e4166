//! Entry points for the fuzz targets, and for replaying their corpus under `cargo test`.
//!
//! They panic when an invariant breaks; on any input they must otherwise return.

use std::time::{Duration, Instant};

use bytes::BytesMut;

use crate::nonfinite::to_strict_json;
#[cfg(feature = "simulator")]
use crate::simulator::{Instrument, Response, SimulatorConfig, Timing};
use crate::{Dialect, Error, Exchange, Request, reply};

/// The `arkeo_payloads` target: `data` as a reply ([`reply_payload`]) and as a request
/// ([`simulator_request`]).
#[cfg(feature = "simulator")]
pub fn payload(data: &[u8]) {
    reply_payload(data);
    simulator_request(data);
}

/// Classifies `data` as a reply payload in both dialects, with and without a request_id,
/// and reads every successful reply with every typed reader.
///
/// Invariants: no panic; strict JSON passes through the NaN pre-pass unchanged; a reply
/// that classifies as success is a JSON object with a status of "ok" in some letter case.
pub fn reply_payload(data: &[u8]) {
    if serde_json::from_slice::<serde_json::Value>(data).is_ok() {
        assert_eq!(
            &*to_strict_json(data),
            data,
            "the pre-pass changed strict JSON"
        );
    }
    for dialect in [Dialect::AllInOne, Dialect::Multichannel] {
        for sent in [None, Some(1)] {
            match reply::classify(data, dialect, sent) {
                Ok(r) => {
                    assert!(r.status().eq_ignore_ascii_case("ok"), "success without ok");
                    typed_readers(&r);
                }
                Err(Error::Rejected(_) | Error::Protocol(_)) => {}
                Err(other) => panic!("classification produced a non-peer error: {other}"),
            }
        }
    }
}

/// Every typed reader on one reply: each may refuse it, none may panic.
fn typed_readers(reply: &crate::Reply) {
    use crate::all_in_one as a;
    use crate::multichannel as m;
    let _ = a::TestStatus::from_reply(reply);
    let _ = reply.data_as::<crate::jv::JvData>("GetTestData");
    let _ = reply.data_as::<a::JvSettings>("GetSettings");
    let _ = reply.data_as::<a::ActiveRoutine>("GetActiveRoutine");
    let _ = reply.data_as::<a::MonochromatorStatus>("GetMonochromatorStatus");
    let _ = reply.data_as::<a::Spectrum>("AcquireSingle");
    let _ = m::ChannelState::from_reply(reply);
    let _ = m::ChannelSettingsEntry::from_reply(reply);
    let _ = m::ChannelTransition::from_reply(reply);
    let _ = m::ForceJvResult::from_reply(reply);
    let _ = m::latest_jv(reply);
    let _ = m::IvReading::from_reply(reply);
    let _ = m::SensorInfo::from_reply(reply);
    let _ = m::SensorsData::from_reply(reply);
    let _ = m::Environment::from_reply(reply);
    let _ = m::DayNight::from_reply(reply);
}

/// Feeds `data` to both simulated instruments as a request payload.
///
/// Invariants: no panic; every reply is a JSON object (after the NaN pre-pass) with a
/// status.
#[cfg(feature = "simulator")]
pub fn simulator_request(data: &[u8]) {
    let now = Instant::now();
    for dialect in [Dialect::AllInOne, Dialect::Multichannel] {
        let mut sim = Instrument::new(&SimulatorConfig::new(dialect), now, 0.0);
        let reply = sim.handle_payload(data, now);
        let value: serde_json::Value =
            serde_json::from_slice(&to_strict_json(&reply)).expect("the reply is JSON");
        assert!(
            value.get("status").is_some(),
            "reply without status: {value}"
        );
    }
}

/// The most requests or replies one session input is split into (keeps each run short).
const MAX_STEPS: usize = 256;

/// The `arkeo_simulator_session` target: `data` split at newlines into request payloads
/// (one JSON request a line, so corpus files read like a conversation), fed in order to ONE
/// instrument of each dialect, its clock advancing 100 ms (10 s of instrument time at the
/// fast speed) per request, so routines start, run and finish across the sequence.
///
/// Invariants: no panic; every request gets a reply (no fault is injected, so never a
/// close), a JSON object with a status; no reply is over the instrument's reply limit; the
/// journal never holds more than its bound.
#[cfg(feature = "simulator")]
pub fn simulator_session(data: &[u8]) {
    let start = Instant::now();
    for dialect in [Dialect::AllInOne, Dialect::Multichannel] {
        let config = SimulatorConfig::new(dialect)
            .timing(Timing::fast())
            .max_reply(64 * 1024)
            .journal(16);
        let mut sim = Instrument::new(&config, start, 0.0);
        for (step, request) in data.split(|&b| b == b'\n').take(MAX_STEPS).enumerate() {
            let now = start + Duration::from_millis(100) * (step as u32);
            let Response::Reply(reply) = sim.respond(request, now, 1) else {
                panic!("a request closed the connection without an injected fault");
            };
            assert!(
                reply.len() <= sim.max_reply(),
                "a reply of {} bytes, over the limit of {}",
                reply.len(),
                sim.max_reply()
            );
            let value: serde_json::Value =
                serde_json::from_slice(&to_strict_json(&reply)).expect("the reply is JSON");
            assert!(
                value.get("status").is_some(),
                "reply without status: {value}"
            );
            assert!(sim.received().len() <= 16, "the journal outgrew its bound");
        }
    }
}

/// The `arkeo_exchange_session` target: the client side of one connection across a
/// sequence of replies. `data` is split at newlines; before each piece the exchange sends
/// a request if none is waiting, then the piece arrives: framed with its correct length
/// prefix, or as raw bytes when it starts with `#` (a bad prefix, a cut frame), or as an
/// event: `!eof` (the peer closed), `!timeout` (the deadline passed). Reply limit: 4 KiB.
///
/// Invariants: no panic; a reply answers the request in flight and frees the exchange; a
/// rejection leaves it usable; any other failure leaves it unusable, and then every send
/// is refused without writing anything; the request_ids of All-in-One grow by one.
pub fn exchange_session(data: &[u8]) {
    use crate::multichannel as m;
    let start = Instant::now();
    let timeout = Duration::from_secs(1);
    for dialect in [Dialect::AllInOne, Dialect::Multichannel] {
        let requests = match dialect {
            Dialect::AllInOne => vec![
                Request::new("MAIN", "GetActiveRoutine"),
                Request::new("ROUTINE", "GetTestStatus"),
                Request::new("ROUTINE", "GetTestData"),
            ],
            Dialect::Multichannel => vec![
                m::get_channel_state(&[0, 1]),
                m::get_latest_jv(&[0]),
                m::get_environments(),
            ],
        };
        let mut exchange = Exchange::new(dialect, 4096);
        let mut next_id = 1u64;
        let mut inbox = BytesMut::new();
        for (step, piece) in data.split(|&b| b == b'\n').take(MAX_STEPS).enumerate() {
            let now = start + Duration::from_millis(10) * (step as u32);
            if !exchange.is_waiting() {
                let mut out = BytesMut::new();
                let request = &requests[step % requests.len()];
                match exchange.send(request, now, timeout, &mut out) {
                    Ok(id) => {
                        assert!(exchange.is_usable() && exchange.is_waiting());
                        if dialect == Dialect::AllInOne {
                            assert_eq!(id, Some(next_id), "request_ids grow by one");
                            next_id += 1;
                        }
                    }
                    Err(Error::Unusable { .. }) => {
                        assert!(!exchange.is_usable());
                        assert!(out.is_empty(), "an unusable exchange wrote a request");
                        break;
                    }
                    Err(other) => panic!("send failed unexpectedly: {other}"),
                }
            }
            let outcome = match piece {
                b"!eof" => exchange.receive_eof(&mut inbox).map(Err),
                b"!timeout" => exchange.handle_timeout(now + timeout).map(Err),
                _ => {
                    match piece.strip_prefix(b"#") {
                        Some(raw) => inbox.extend_from_slice(raw),
                        None => {
                            let len = u32::try_from(piece.len()).unwrap_or(u32::MAX);
                            inbox.extend_from_slice(&len.to_be_bytes());
                            inbox.extend_from_slice(piece);
                        }
                    }
                    match exchange.receive(&mut inbox) {
                        Ok(None) => None,
                        Ok(Some(reply)) => Some(Ok(reply)),
                        Err(e) => Some(Err(e)),
                    }
                }
            };
            match outcome {
                None => assert!(exchange.is_usable()),
                Some(Ok(reply)) => {
                    assert!(
                        reply.status().eq_ignore_ascii_case("ok"),
                        "success without ok"
                    );
                    assert!(!exchange.is_waiting(), "answered but still waiting");
                }
                Some(Err(Error::Rejected(_))) => {
                    assert!(exchange.is_usable() && !exchange.is_waiting());
                }
                Some(Err(_)) => assert!(!exchange.is_usable(), "a failure left it usable"),
            }
            if !exchange.is_usable() {
                inbox.clear();
            }
        }
    }
}
