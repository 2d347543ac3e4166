//! Entry points for the fuzz targets, and for replaying their corpus under `cargo test`.
//!
//! They panic when an invariant breaks; on any input they must otherwise return.

use std::time::Instant;

use crate::nonfinite::to_strict_json;
use crate::simulator::{Instrument, SimulatorConfig};
use crate::{Dialect, Error, reply};

/// The `arkeo_payloads` target: `data` as a reply ([`reply_payload`]) and as a request
/// ([`simulator_request`]).
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
