//! Golden transcripts in `fixtures/arkeo/`: what the client sends and what the simulator
//! answers, byte for byte. `<case>.hex` is the whole stream (request frame, reply frame,
//! ...); `<case>.json` holds the dialect and each payload as text (non-finite numbers
//! appear as the bare tokens the instrument writes).
//!
//! `cargo xtask fixtures` regenerates them; without it any drift fails this test. Each
//! reply must also classify (as a reply or a rejection, never a protocol violation).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use arkeo::simulator::{Instrument, SimulatorConfig, Timing};
use arkeo::{Dialect, Error, Exchange, Request, all_in_one, multichannel};
use bytes::BytesMut;
use serde_json::json;

/// Requests, each at its instrument time in seconds.
type Script = Vec<(f64, Request)>;

/// (name, dialect, script).
fn cases() -> Vec<(&'static str, Dialect, Script)> {
    use all_in_one::{JvSettings, led, main, order, routine, tmpctl};
    use multichannel::SettingsEncoding;
    let mut forward = JvSettings::sweep(0.0, 0.2, 0.1);
    if let Some(scan) = forward.scan_settings.as_mut().and_then(|s| s.scan.as_mut()) {
        scan.order = Some(order::FORWARD.into());
    }
    vec![
        (
            "aio-routine",
            Dialect::AllInOne,
            vec![
                (0.0, main::get_available_routines()),
                (0.0, main::start_routine("JV")),
                (0.1, routine::get_test_status()),
                (0.1, routine::start_measurement()),
                (1.0, routine::apply_settings(forward.to_value())),
                (1.0, routine::start_measurement()),
                (1.4, routine::get_test_status()),
                (5.0, routine::get_test_data()),
                (5.0, routine::close_routine()),
            ],
        ),
        (
            "aio-errors",
            Dialect::AllInOne,
            vec![
                (0.0, routine::get_test_status()),
                (0.0, led::set_values(1, &[0.5])),
                (0.0, tmpctl::get_status()),
                (0.0, Request::new("NOPE", "Anything").request_id(77)),
                (0.0, Request::new("main", "GetActiveRoutine")),
            ],
        ),
        (
            "mc-channels",
            Dialect::Multichannel,
            vec![
                (0.0, multichannel::start_measurement()),
                (
                    0.0,
                    multichannel::set_channel_settings(
                        &[0, 1],
                        &json!({"Enable": true, "User": "ada"}),
                        SettingsEncoding::String,
                    ),
                ),
                (0.0, multichannel::start_measurement()),
                (0.0, multichannel::start_measurement()),
                (1.0, multichannel::get_channel_state(&[0, 2])),
                (1.0, multichannel::get_iv(&[0, 2])),
                (1.0, multichannel::set_device_environment(&[0], "mars")),
                (1.0, multichannel::get_channel_state(&[0, 0])),
                (1.0, multichannel::stop_channel(&[0, 2])),
            ],
        ),
    ]
}

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/arkeo")
}

#[test]
fn golden_transcripts_match_fixtures() {
    for (name, dialect, requests) in cases() {
        // A fixed start, instrument seconds from it, wall-clock 0: the transcript is
        // deterministic.
        let start = Instant::now();
        let config = SimulatorConfig::new(dialect).timing(Timing::realistic());
        let mut sim = Instrument::new(&config, start, 0.0);
        let mut exchange = Exchange::new(dialect, 1 << 20);
        let mut stream = BytesMut::new();
        let mut transcript = Vec::new();
        for (seconds, request) in &requests {
            let now = start + Duration::from_secs_f64(*seconds);
            let mut sent = BytesMut::new();
            exchange
                .send(request, now, Duration::from_secs(1), &mut sent)
                .unwrap();
            let reply = sim.handle_payload(&sent[4..], now);
            let mut framed = BytesMut::new();
            framed.extend_from_slice(&(reply.len() as u32).to_be_bytes());
            framed.extend_from_slice(&reply);
            match exchange.receive(&mut framed.clone()) {
                Ok(Some(_)) | Err(Error::Rejected(_)) => {}
                other => panic!("{name}: {} -> {other:?}", request.command_name()),
            }
            transcript.push(json!({
                "at_s": seconds,
                "request": String::from_utf8(sent[4..].to_vec()).unwrap(),
                "reply": String::from_utf8(reply).unwrap(),
            }));
            stream.extend_from_slice(&sent);
            stream.extend_from_slice(&framed);
        }
        let meaning = json!({ "dialect": dialect.name(), "exchanges": transcript });
        golden::check_pair(&dir(), name, &stream, &meaning);
    }
}
