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

fn cases() -> Vec<(&'static str, Dialect, Vec<Request>)> {
    use all_in_one::{led, main, routine, tmpctl};
    use multichannel::SettingsEncoding;
    vec![
        (
            "aio-routine",
            Dialect::AllInOne,
            vec![
                main::get_available_routines(),
                main::start_routine("JV"),
                routine::get_test_status(),
                routine::start_measurement(),
                routine::close_routine(),
            ],
        ),
        (
            "aio-errors",
            Dialect::AllInOne,
            vec![
                routine::get_test_status(),
                led::set_values("COM3", &[0.5]),
                tmpctl::get_status(),
                Request::new("NOPE", "Anything").request_id(77),
            ],
        ),
        (
            "mc-channels",
            Dialect::Multichannel,
            vec![
                multichannel::start_measurement(),
                multichannel::set_channel_settings(
                    &[0, 1],
                    &json!({"enable": true, "user": "ada"}),
                    SettingsEncoding::String,
                ),
                multichannel::start_measurement(),
                multichannel::start_measurement(),
                multichannel::get_channel_state(&[0, 2]),
                multichannel::get_iv(&[0, 2]),
                multichannel::set_device_environment(&[0], "mars"),
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
        // One fixed instant and wall-clock 0: the transcript is deterministic.
        let now = Instant::now();
        let config = SimulatorConfig::new(dialect).timing(Timing::fast());
        let mut sim = Instrument::new(&config, now, 0.0);
        let mut exchange = Exchange::new(dialect, 1 << 20);
        let mut stream = BytesMut::new();
        let mut transcript = Vec::new();
        for request in &requests {
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
