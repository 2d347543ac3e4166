//! The client against the built-in simulator, a real server on 127.0.0.1 (and ::1).

use std::sync::Arc;
use std::time::Duration;

use arctop::simulator::{
    RunningSimulator, Simulator, SimulatorConfig, SimulatorEvent, Source, parse_recording,
};
use arctop::{ApiKey, ClientConfig, Error, Event, Message, Target};
use futures::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

use crate::support::{collect, commands, run};

async fn simulator(bind: &str, configure: impl FnOnce(&mut SimulatorConfig)) -> RunningSimulator {
    let mut config = SimulatorConfig::new(ApiKey::new("sim-key"));
    config.rate = 0.0;
    configure(&mut config);
    Simulator::bind(bind, config)
        .await
        .unwrap()
        .spawn()
        .unwrap()
}

fn client(sim: &RunningSimulator, key: &str) -> ClientConfig {
    ClientConfig::new(Target::Addr(sim.addr().to_string()), ApiKey::new(key))
}

#[test]
fn streams_count_values_then_session_complete() {
    run(async {
        let sim = simulator("127.0.0.1:0", |c| c.count = Some(200)).await;
        let (events, error) = collect(client(&sim, "sim-key")).await;
        assert!(error.is_none(), "{error:?}");
        let names = commands(&events);
        assert_eq!(names.iter().filter(|c| *c == "valueChange").count(), 200);
        assert_eq!(names.last().map(String::as_str), Some("sessionComplete"));
        assert!(names.contains(&"qa".to_string()) && names.contains(&"connection".to_string()));
        let keys: std::collections::BTreeSet<String> = events
            .iter()
            .filter_map(|e| match e {
                Event::Message(r) => match &r.message {
                    Message::ValueChange { key, .. } => Some(key.to_string()),
                    _ => None,
                },
                _ => None,
            })
            .collect();
        assert_eq!(
            keys.into_iter().collect::<Vec<_>>(),
            [
                "avg_motion",
                "enjoyment",
                "focus",
                "heart_rate",
                "zone_state"
            ]
        );
        sim.stop().await.unwrap();
    });
}

#[test]
fn wrong_key_is_refused_with_auth_failed() {
    run(async {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let sim = simulator("127.0.0.1:0", |c| c.observer = Some(tx)).await;
        let (events, error) = collect(client(&sim, "not-the-key")).await;
        assert!(events.is_empty());
        assert!(matches!(error, Some(Error::AuthFailed)), "{error:?}");
        let mut seen = Vec::new();
        while seen.len() < 2 {
            seen.push(rx.recv().await.unwrap());
        }
        assert!(matches!(seen[0], SimulatorEvent::Connected { .. }));
        assert!(
            matches!(&seen[1], SimulatorEvent::AuthRefused { reason, .. } if reason == "wrong API key"),
            "{seen:?}"
        );
    });
}

#[test]
fn auth_in_four_byte_utf8_gets_auth_failed_as_from_the_app() {
    run(async {
        let key = "sim-\u{1F600}";
        let sim = simulator("127.0.0.1:0", |c| {
            c.api_key = ApiKey::new(key);
            c.count = Some(1);
        })
        .await;
        // The right key, sent as plain UTF-8 (as the Unity example would): the app's
        // readUTF rejects the 4-byte sequence.
        let payload = format!(r#"{{"command":"auth","apiKey":"{key}"}}"#);
        let mut frame = (payload.len() as u16).to_be_bytes().to_vec();
        frame.extend_from_slice(payload.as_bytes());
        let mut socket = tokio::net::TcpStream::connect(sim.addr()).await.unwrap();
        socket.write_all(&frame).await.unwrap();
        let mut reply = Vec::new();
        socket.read_to_end(&mut reply).await.unwrap();
        assert_eq!(reply[2..], *br#"{"command":"auth-failed"}"#);
        // The library's client escapes the key: accepted.
        let mut events = arctop::connect(client(&sim, key));
        let first = events.next().await.unwrap().unwrap();
        assert!(matches!(first, Event::Connected { .. }), "{first:?}");
    });
}

#[test]
fn silent_client_is_refused_after_the_auth_timeout() {
    run(async {
        let sim = simulator("127.0.0.1:0", |c| {
            c.auth_timeout = Duration::from_millis(100)
        })
        .await;
        let mut socket = tokio::net::TcpStream::connect(sim.addr()).await.unwrap();
        let mut reply = Vec::new();
        socket.read_to_end(&mut reply).await.unwrap();
        assert_eq!(reply[2..], *br#"{"command":"auth-failed"}"#);
    });
}

#[test]
fn shutdown_ends_open_sessions_with_session_complete() {
    run(async {
        let sim = simulator("127.0.0.1:0", |c| c.rate = 200.0).await;
        let stop = sim.shutdown_handle();
        let mut events = arctop::connect(client(&sim, "sim-key"));
        let mut values = 0;
        let mut last = String::new();
        while let Some(event) = events.next().await {
            if let Event::Message(r) = event.unwrap() {
                last = r.message.command().to_string();
                if matches!(r.message, Message::ValueChange { .. }) {
                    values += 1;
                    if values == 3 {
                        stop.shutdown();
                    }
                }
            }
        }
        assert_eq!(last, "sessionComplete", "the stream ended cleanly");
        sim.stop().await.unwrap();
    });
}

#[test]
fn shutdown_in_the_pause_before_a_recordings_session_complete_still_sends_one() {
    run(async {
        // The recording's own sessionComplete comes 60 s after its value: the shutdown
        // lands in that pause.
        let recording = concat!(
            "{\"command\":\"valueChange\",\"timestamp\":1000,\"key\":\"focus\",\"value\":40}\n",
            "{\"command\":\"sessionComplete\",\"timestamp\":61000}\n",
        );
        let items = parse_recording(recording).unwrap();
        let sim = simulator("127.0.0.1:0", |c| {
            c.source = Source::Replay(Arc::new(items))
        })
        .await;
        let stop = sim.shutdown_handle();
        let mut events = arctop::connect(client(&sim, "sim-key"));
        let mut seen = Vec::new();
        while let Some(event) = events.next().await {
            if let Event::Message(r) = event.unwrap() {
                if matches!(r.message, Message::ValueChange { .. }) {
                    stop.shutdown();
                }
                seen.push(r.message.command().to_string());
            }
        }
        assert_eq!(seen, ["valueChange", "sessionComplete"]);
        sim.stop().await.unwrap();
    });
}

#[test]
fn a_recordings_final_session_complete_too_large_to_send_is_replaced() {
    run(async {
        let pad = "x".repeat(70_000);
        let recording = format!(
            "{{\"command\":\"valueChange\",\"timestamp\":1000,\"key\":\"focus\",\"value\":40}}\n\
             {{\"command\":\"sessionComplete\",\"timestamp\":1001,\"pad\":\"{pad}\"}}\n"
        );
        let items = parse_recording(&recording).unwrap();
        let sim = simulator("127.0.0.1:0", |c| {
            c.source = Source::Replay(Arc::new(items))
        })
        .await;
        let (events, error) = collect(client(&sim, "sim-key")).await;
        assert!(error.is_none(), "{error:?}");
        assert_eq!(commands(&events), ["valueChange", "sessionComplete"]);
    });
}

#[test]
fn replays_a_recording_in_order_as_modified_utf8() {
    run(async {
        let recording = concat!(
            "{\"command\":\"auth-success\"}\n",
            "{\"command\":\"valueChange\",\"timestamp\":1000,\"key\":\"focus\",\"value\":40}\n",
            "{\"command\":\"error\",\"timestamp\":1001,\"errorCode\":-7,\"message\":\"😀\\u0000\"}\n",
            "{\"command\":\"valueChange\",\"timestamp\":1003,\"key\":\"focus\",\"value\":[1,2,3]}\n",
            "{\"command\":\"sessionComplete\",\"timestamp\":1004}\n",
        );
        let items = parse_recording(recording).unwrap();
        let sim = simulator("127.0.0.1:0", |c| {
            c.source = Source::Replay(Arc::new(items))
        })
        .await;

        // On the wire: Java modified UTF-8 (the emoji as a surrogate pair; NUL is escaped
        // in JSON text, as the app's JSON writer does, so no C0 80 appears here).
        let mut raw = tokio::net::TcpStream::connect(sim.addr()).await.unwrap();
        let mut auth = bytes::BytesMut::new();
        arctop::session::Session::auth_request(&ApiKey::new("sim-key"), &mut auth).unwrap();
        raw.write_all(&auth).await.unwrap();
        let mut wire = Vec::new();
        raw.read_to_end(&mut wire).await.unwrap();
        assert!(wire.windows(6).any(|w| w == b"\xED\xA0\xBD\xED\xB8\x80"));
        assert!(
            !wire.windows(4).any(|w| w == "😀".as_bytes()),
            "no 4-byte UTF-8"
        );

        // Through the client: the recorded objects, in order, fields kept.
        let (events, error) = collect(client(&sim, "sim-key")).await;
        assert!(error.is_none(), "{error:?}");
        let objects: Vec<String> = events
            .iter()
            .filter_map(|e| match e {
                Event::Message(r) => Some(serde_json::to_string(&r.object).unwrap()),
                _ => None,
            })
            .collect();
        let expected: Vec<String> = recording
            .lines()
            .skip(1)
            .map(|l| {
                serde_json::to_string(&serde_json::from_str::<serde_json::Value>(l).unwrap())
                    .unwrap()
            })
            .collect();
        assert_eq!(objects, expected);
    });
}

#[test]
fn client_connects_over_ipv6_loopback() {
    run(async {
        let sim = simulator("[::1]:0", |c| c.count = Some(5)).await;
        assert!(sim.addr().is_ipv6());
        let (events, error) = collect(client(&sim, "sim-key")).await;
        assert!(error.is_none(), "{error:?}");
        assert!(matches!(events[0], Event::Connected { addr, .. } if addr.is_ipv6()));
    });
}

#[test]
fn concurrent_clients_each_get_a_whole_session() {
    run(async {
        let sim = simulator("127.0.0.1:0", |c| c.count = Some(50)).await;
        let a = collect(client(&sim, "sim-key"));
        let b = collect(client(&sim, "sim-key"));
        let ((ea, xa), (eb, xb)) = futures::join!(a, b);
        assert!(xa.is_none() && xb.is_none());
        for events in [ea, eb] {
            assert_eq!(
                commands(&events)
                    .iter()
                    .filter(|c| *c == "valueChange")
                    .count(),
                50
            );
        }
    });
}

#[test]
fn client_tries_every_address_of_a_discovered_server() {
    run(async {
        let sim = simulator("127.0.0.1:0", |c| c.count = Some(3)).await;
        // 127.0.0.2 is loopback too, but nothing listens there: refused, then the next.
        let addresses = vec!["127.0.0.2".parse().unwrap(), sim.addr().ip()];
        let server = arctop::Server::new(
            "ArctopService",
            "phone.local.",
            addresses,
            sim.addr().port(),
        );
        let config = ClientConfig::new(Target::Server(server.clone()), ApiKey::new("sim-key"));
        let (events, error) = collect(config).await;
        assert!(error.is_none(), "{error:?}");
        assert!(
            matches!(&events[0], Event::Connected { addr, server: Some(s) } if *addr == sim.addr() && *s == server),
            "{events:?}"
        );
    });
}
