//! Property tests: replies decode the same however the bytes are split, any number the
//! instrument writes (NaN and infinities included) comes back as the same f64, the
//! simulator answers each listed channel once or refuses the list, and partial settings
//! change only their keys.

use std::time::{Duration, Instant};

use arkeo::nonfinite::{as_f64, from_f64, to_lenient_json};
use arkeo::{Dialect, Exchange, Request};
use bytes::BytesMut;
use proptest::prelude::*;
use serde_json::{Value, json};

fn number() -> impl Strategy<Value = f64> {
    prop_oneof![
        -1e6..1e6f64,
        Just(f64::NAN),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        Just(0.0),
    ]
}

/// A reply as the instrument writes it: lenient JSON, framed.
fn reply_frame(values: &[f64], note: &str, id: u64) -> Vec<u8> {
    let reply = json!({
        "status": "OK",
        "data": { "values": values.iter().map(|&x| from_f64(x)).collect::<Vec<_>>(), "note": note },
        "request_id": id,
    });
    let payload = to_lenient_json(&reply);
    let mut out = (payload.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(&payload);
    out
}

fn same(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a == b || (a - b).abs() <= a.abs() * 1e-15
}

proptest! {
    #[test]
    fn reply_decodes_the_same_however_it_is_split(
        values in proptest::collection::vec(number(), 0..40),
        note in "[ -~]{0,40}",
        cuts in proptest::collection::vec(1usize..64, 0..8),
    ) {
        let bytes = reply_frame(&values, &note, 1);
        let now = Instant::now();
        let mut ex = Exchange::new(Dialect::AllInOne, 1 << 20);
        ex.send(&Request::new("ROUTINE", "GetTestData"), now, Duration::from_secs(1), &mut BytesMut::new()).unwrap();
        let mut buf = BytesMut::new();
        let mut rest = &bytes[..];
        let mut reply = None;
        for cut in cuts.iter().chain(std::iter::once(&usize::MAX)) {
            let (piece, tail) = rest.split_at((*cut).min(rest.len()));
            rest = tail;
            buf.extend_from_slice(piece);
            let got = ex.receive(&mut buf).unwrap();
            if rest.is_empty() {
                reply = got;
                break;
            }
            prop_assert!(got.is_none(), "a reply before its last byte");
        }
        let reply = reply.expect("a reply once every byte is in");
        let data = reply.data().unwrap();
        prop_assert_eq!(data["note"].as_str().unwrap(), note.as_str());
        let got: Vec<f64> = data["values"].as_array().unwrap().iter().map(|v| as_f64(v).unwrap()).collect();
        prop_assert_eq!(got.len(), values.len());
        for (g, v) in got.iter().zip(&values) {
            prop_assert!(same(*g, *v), "{} != {}", g, v);
        }
    }

    #[test]
    fn strings_that_look_like_tokens_stay_strings(text in "(NaN|Infinity|-Infinity|[a-z\\\\\"]){0,6}") {
        // Inside a JSON string the pre-pass must never rewrite anything.
        let payload = serde_json::to_vec(&json!({"status": "ok", "m": text})).unwrap();
        let reply = arkeo::reply::classify(&payload, Dialect::Multichannel, None).unwrap();
        prop_assert_eq!(reply.get("m"), Some(&Value::String(text)));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_bytes_are_classified_without_panic(data in proptest::collection::vec(any::<u8>(), 0..200)) {
        arkeo::fuzzing::payload(&data);
    }

    #[test]
    fn json_like_text_is_classified_without_panic(
        text in r#"[{}\[\]":, a-zNIfy0-9.\\-]{0,80}"#
    ) {
        arkeo::fuzzing::payload(text.as_bytes());
    }
}

/// One line of a session input: a request or reply of known shapes, or noise.
fn session_line() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(r#"{"command":"GetChannelState","indices":[0,1]}"#.to_string()),
        Just(r#"{"command":"SetChannelSettings","indices":[0],"parameter":{"settings":{"Enable":true}}}"#.to_string()),
        Just(r#"{"command":"StartMeasurement"}"#.to_string()),
        Just(r#"{"command":"GetLatestJV","indices":[0]}"#.to_string()),
        Just(r#"{"target":"MAIN","command":"StartRoutine","parameter":{"routine":"JV"}}"#.to_string()),
        Just(r#"{"target":"ROUTINE","command":"StartMeasurement","parameter":{}}"#.to_string()),
        Just(r#"{"status":"ok","data":{},"request_id":1}"#.to_string()),
        Just(r#"{"status":"error","error":{"code":101,"message":"m"}}"#.to_string()),
        Just("!eof".to_string()),
        Just("!timeout".to_string()),
        r#"#?[{}\[\]":, a-z0-9]{0,24}"#,
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn any_sequence_of_lines_keeps_both_sessions_sound(
        lines in proptest::collection::vec(session_line(), 0..24)
    ) {
        let data = lines.join("\n");
        arkeo::fuzzing::simulator_session(data.as_bytes());
        arkeo::fuzzing::exchange_session(data.as_bytes());
    }

    #[test]
    fn any_bytes_keep_both_sessions_sound(data in proptest::collection::vec(any::<u8>(), 0..300)) {
        arkeo::fuzzing::simulator_session(&data);
        arkeo::fuzzing::exchange_session(&data);
    }
}

/// One request to a sans-IO Multichannel simulator of 8 channels, classified.
fn multichannel_reply(
    sim: &mut arkeo::simulator::Instrument,
    request: &Request,
) -> Result<arkeo::Reply, arkeo::Error> {
    let mut bytes = Vec::new();
    request
        .write_json(Dialect::Multichannel, None, &mut bytes)
        .unwrap();
    let answer = sim.handle_payload(&bytes, Instant::now());
    arkeo::reply::classify(&answer, Dialect::Multichannel, None)
}

fn multichannel_sim() -> arkeo::simulator::Instrument {
    let config = arkeo::simulator::SimulatorConfig::new(Dialect::Multichannel).channels(8);
    arkeo::simulator::Instrument::new(&config, Instant::now(), 0.0)
}

proptest! {
    #[test]
    fn channel_state_answers_each_listed_channel_once_or_refuses(
        indices in proptest::collection::vec(0u32..12, 0..20),
    ) {
        let mut sim = multichannel_sim();
        let request = Request::command("GetChannelState").indices(indices.iter().copied());
        let unique: std::collections::BTreeSet<u32> = indices.iter().copied().collect();
        let valid = !indices.is_empty() && unique.len() == indices.len() && indices.iter().all(|&i| i < 8);
        match multichannel_reply(&mut sim, &request) {
            Ok(reply) => {
                prop_assert!(valid, "{:?} was accepted", indices);
                let states = arkeo::multichannel::ChannelState::from_reply(&reply).unwrap();
                let got: Vec<u32> = states.iter().map(|s| s.index).collect();
                prop_assert_eq!(got, indices);
            }
            Err(e) => {
                prop_assert!(!valid, "{:?} was refused: {}", indices, e);
                prop_assert_eq!(e.rejection().unwrap().code.map(|c| c.0), Some(101));
            }
        }
    }

    #[test]
    fn partial_channel_settings_change_only_their_keys(
        vmin in -1.0..0.0f64,
        step in 1.0..50.0f64,
        user in "[a-z]{0,8}",
        as_string in any::<bool>(),
    ) {
        use arkeo::multichannel::{self, ChannelSettingsEntry, SettingsEncoding};
        let mut sim = multichannel_sim();
        let update = json!({"JV": {"Vmin (V)": vmin, "Step (mV)": step}, "User": user});
        let encoding = if as_string { SettingsEncoding::String } else { SettingsEncoding::Object };
        multichannel_reply(&mut sim, &multichannel::set_channel_settings(&[3], &update, encoding)).unwrap();
        let reply = multichannel_reply(&mut sim, &multichannel::get_channel_settings(&[3])).unwrap();
        let settings = &ChannelSettingsEntry::from_reply(&reply).unwrap()[0].settings;
        let jv = settings.jv.as_ref().unwrap();
        prop_assert_eq!(jv.vmin_v, Some(vmin));
        prop_assert_eq!(jv.step_mv, Some(step));
        prop_assert_eq!(settings.user.as_deref(), Some(user.as_str()));
        // Everything else as it was.
        prop_assert_eq!(jv.vmax_v, Some(1.2));
        prop_assert_eq!(jv.scan_order.as_deref(), Some("FW then RV"));
        prop_assert_eq!(settings.enable, Some(false));
        prop_assert_eq!(settings.tracking.as_ref().unwrap().algorithm.as_deref(), Some("MPPT"));
        let other = multichannel_reply(&mut sim, &multichannel::get_channel_settings(&[2])).unwrap();
        let other = ChannelSettingsEntry::from_reply(&other).unwrap();
        prop_assert_eq!(other[0].settings.user.as_deref(), Some(""), "another channel unchanged");
    }
}
