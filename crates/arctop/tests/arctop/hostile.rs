//! Hostile peers over real sockets on 127.0.0.1: scripted servers against the client, and
//! misbehaving clients against the simulator. Each asserts the outcome (a typed error, the
//! simulator still serving a good client) and is bounded by the test bound.

use std::time::Duration;

use arctop::simulator::{RunningSimulator, Simulator, SimulatorConfig, SimulatorEvent};
use arctop::{ApiKey, ClientConfig, Error, Event, Target};
use futures::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

use crate::support::{
    AUTH_SUCCESS, SESSION_COMPLETE, ScriptedPeer, Step, TEST_BOUND, app_frame, collect, commands,
    raw_frame, run,
};

const AUTH: &[u8] = br#"{"command":"auth","apiKey":"sim-key"}"#;
const AUTH_FAILED: &[u8] = br#"{"command":"auth-failed"}"#;

async fn simulator(
    configure: impl FnOnce(&mut SimulatorConfig),
) -> (RunningSimulator, mpsc::UnboundedReceiver<SimulatorEvent>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let mut config = SimulatorConfig::new(ApiKey::new("sim-key"));
    config.rate = 0.0;
    config.observer = Some(tx);
    configure(&mut config);
    let sim = Simulator::bind("127.0.0.1:0", config)
        .await
        .unwrap()
        .spawn()
        .unwrap();
    (sim, rx)
}

/// Waits for the first simulator event that `pick` accepts.
async fn first<T>(
    rx: &mut mpsc::UnboundedReceiver<SimulatorEvent>,
    mut pick: impl FnMut(&SimulatorEvent) -> Option<T>,
) -> T {
    loop {
        let event = rx.recv().await.expect("the simulator is running");
        if let Some(found) = pick(&event) {
            return found;
        }
    }
}

/// A good client reads `n` values from the simulator (which streams without end).
async fn good_client_reads(sim: &RunningSimulator, n: usize) {
    let config = ClientConfig::new(Target::Addr(sim.addr().to_string()), ApiKey::new("sim-key"));
    let mut events = arctop::connect(config);
    let mut messages = 0;
    while messages < n {
        match events.next().await {
            Some(Ok(Event::Message(_))) => messages += 1,
            Some(Ok(_)) => {}
            other => panic!("the good client was not served: {other:?}"),
        }
    }
}

/// Everything the simulator writes until it closes (a reset counts as the end).
async fn read_until_closed(socket: &mut TcpStream) -> Vec<u8> {
    let mut reply = Vec::new();
    let mut chunk = [0u8; 1024];
    while let Ok(n @ 1..) = socket.read(&mut chunk).await {
        reply.extend_from_slice(&chunk[..n]);
    }
    reply
}

#[test]
fn simulator_closes_connections_beyond_the_cap_and_serves_again_below_it() {
    run(async {
        let (sim, mut rx) = simulator(|c| c.max_connections = 2).await;
        // Two silent clients take both slots.
        let holders = [
            TcpStream::connect(sim.addr()).await.unwrap(),
            TcpStream::connect(sim.addr()).await.unwrap(),
        ];
        for _ in 0..2 {
            first(&mut rx, |e| {
                matches!(e, SimulatorEvent::Connected { .. }).then_some(())
            })
            .await;
        }
        let mut third = TcpStream::connect(sim.addr()).await.unwrap();
        let third_addr = third.local_addr().unwrap();
        let (peer, max) = first(&mut rx, |e| match e {
            SimulatorEvent::OverCapacity { peer, max } => Some((*peer, *max)),
            _ => None,
        })
        .await;
        assert_eq!((peer, max), (third_addr, 2));
        assert!(
            read_until_closed(&mut third).await.is_empty(),
            "closed without a word"
        );

        // One holder leaves: its slot frees and a good client is served.
        drop(holders);
        for _ in 0..2 {
            first(&mut rx, |e| {
                matches!(e, SimulatorEvent::ClientGone { .. }).then_some(())
            })
            .await;
        }
        good_client_reads(&sim, 10).await;
        sim.stop().await.unwrap();
    });
}

#[test]
fn simulator_drops_a_client_that_never_reads() {
    run(async {
        let (sim, mut rx) = simulator(|c| c.write_timeout = Duration::from_millis(200)).await;
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(4096).unwrap();
        let mut lazy = socket.connect(sim.addr()).await.unwrap();
        lazy.write_all(&raw_frame(AUTH)).await.unwrap();
        let lazy_addr = lazy.local_addr().unwrap();
        // It never reads: the simulator fills the socket, waits write_timeout, then closes.
        let reason = first(&mut rx, |e| match e {
            SimulatorEvent::ClientGone { peer, reason } if *peer == lazy_addr => {
                Some(reason.clone())
            }
            _ => None,
        })
        .await;
        assert!(reason.contains("did not read"), "{reason}");
        good_client_reads(&sim, 10).await;
        drop(lazy);
        sim.stop().await.unwrap();
    });
}

#[test]
fn simulator_refuses_a_client_that_stalls_mid_frame() {
    run(async {
        let (sim, mut rx) = simulator(|c| c.auth_timeout = Duration::from_millis(100)).await;
        let mut stalled = TcpStream::connect(sim.addr()).await.unwrap();
        stalled.write_all(&[0, 50, b'{', b'"']).await.unwrap();
        let reply = read_until_closed(&mut stalled).await;
        assert_eq!(reply, raw_frame(AUTH_FAILED));
        let reason = first(&mut rx, |e| match e {
            SimulatorEvent::AuthRefused { reason, .. } => Some(reason.clone()),
            _ => None,
        })
        .await;
        assert!(reason.contains("timeout"), "{reason}");
        good_client_reads(&sim, 10).await;
        sim.stop().await.unwrap();
    });
}

#[test]
fn simulator_refuses_garbage_and_oversize_requests_before_allocating() {
    run(async {
        let (sim, mut rx) = simulator(|_| {}).await;
        let cases: [(&str, Vec<u8>, &str); 5] = [
            // 0x4745 = 18,245 bytes announced: over the 4,096-byte auth limit.
            ("http", b"GET / HTTP/1.1\r\n\r\n".to_vec(), "bad frame"),
            ("tls", vec![0x16, 0x03, 0x01, 0x02, 0x00, 0x01], "bad frame"),
            ("64 KiB announced", vec![0xFF, 0xFF, b'{'], "bad frame"),
            ("not json", raw_frame(b"\xff\xfe\x00garbage"), "unreadable"),
            (
                "other command",
                raw_frame(br#"{"command":"qa"}"#),
                "expected auth",
            ),
        ];
        for (name, bytes, why) in cases {
            let mut socket = TcpStream::connect(sim.addr()).await.unwrap();
            socket.write_all(&bytes).await.unwrap();
            let reply = read_until_closed(&mut socket).await;
            assert_eq!(reply, raw_frame(AUTH_FAILED), "{name}");
            let reason = first(&mut rx, |e| match e {
                SimulatorEvent::AuthRefused { reason, .. } => Some(reason.clone()),
                _ => None,
            })
            .await;
            assert!(reason.contains(why), "{name}: {reason}");
        }
        good_client_reads(&sim, 10).await;
        sim.stop().await.unwrap();
    });
}

// ---- hostile servers against the client

/// A client of `peer`, run to its end: its events and the error that ended it.
async fn client_of(
    peer: &ScriptedPeer,
    configure: impl FnOnce(&mut ClientConfig),
) -> (Vec<Event>, Option<Error>) {
    let mut config = peer.config("k");
    configure(&mut config);
    collect(config).await
}

fn success_then(rest: &[u8]) -> Vec<u8> {
    let mut bytes = app_frame(AUTH_SUCCESS);
    bytes.extend_from_slice(rest);
    bytes
}

#[test]
fn client_turns_hostile_server_bytes_into_typed_errors() {
    run(async {
        // (name, what the server writes after reading auth, then closes; max_payload)
        let cases: [(&str, Vec<u8>, usize); 5] = [
            ("oversize frame", success_then(&[0x04, 0x01, b'{']), 1024),
            // A 2-byte length cannot announce 4 GB: FF FF FF FF is a 65,535-byte frame,
            // cut after 4 of its 65,537 bytes (header counted); with a smaller limit an
            // oversize one, refused before allocating.
            ("4 GB announced", success_then(&[0xFF; 4]), 1024),
            (
                "4 GB announced, whole limit",
                success_then(&[0xFF; 4]),
                65_535,
            ),
            (
                "http instead of auth reply",
                b"HTTP/1.1 400 Bad Request\r\n\r\n".to_vec(),
                65_535,
            ),
            (
                "tls alert instead of auth reply",
                vec![0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28],
                65_535,
            ),
        ];
        for (name, bytes, max_payload) in cases {
            let peer = ScriptedPeer::start(vec![vec![Step::Write(bytes)]]).await;
            let (_, error) = client_of(&peer, |c| c.max_payload = max_payload).await;
            let error = error.unwrap_or_else(|| panic!("{name}: no error"));
            match name {
                "oversize frame" => assert!(
                    matches!(
                        error,
                        Error::OversizeFrame {
                            announced: 1025,
                            max: 1024
                        }
                    ),
                    "{name}: {error:?}"
                ),
                "4 GB announced" => assert!(
                    matches!(
                        error,
                        Error::OversizeFrame {
                            announced: 65_535,
                            max: 1024
                        }
                    ),
                    "{name}: {error:?}"
                ),
                "4 GB announced, whole limit" => assert!(
                    matches!(
                        error,
                        Error::ConnectionLost {
                            during_auth: false,
                            inside_frame: Some((4, 65_537))
                        }
                    ),
                    "{name}: {error:?}"
                ),
                // The wrong port: the protocol is named, not read as a frame.
                "http instead of auth reply" => assert!(
                    matches!(
                        error,
                        Error::ForeignProtocol {
                            protocol: wire::ForeignProtocol::Http
                        }
                    ),
                    "{name}: {error:?}"
                ),
                _ => assert!(
                    matches!(
                        error,
                        Error::ForeignProtocol {
                            protocol: wire::ForeignProtocol::Tls
                        }
                    ),
                    "{name}: {error:?}"
                ),
            }
            peer.auths().await;
        }
    });
}

#[test]
fn client_skips_garbage_frames_and_survives_a_flood_of_unknown_keys() {
    run(async {
        let mut bytes = app_frame(AUTH_SUCCESS);
        bytes.extend(raw_frame(b"\x00\xff garbage"));
        for i in 0..5_000 {
            bytes.extend(app_frame(&format!(
                r#"{{"command":"valueChange","key":"unknown_{i}","value":{i},"timestamp":{i}}}"#
            )));
        }
        bytes.extend(app_frame(SESSION_COMPLETE));
        let peer = ScriptedPeer::start(vec![vec![Step::Write(bytes)]]).await;
        let (events, error) = client_of(&peer, |_| {}).await;
        assert!(error.is_none(), "{error:?}");
        let skipped = events
            .iter()
            .filter(|e| matches!(e, Event::Skipped { .. }))
            .count();
        let names = commands(&events);
        assert_eq!(skipped, 1);
        assert_eq!(names.len(), 5_001);
        assert_eq!(names.last().map(String::as_str), Some("sessionComplete"));
        peer.auths().await;
    });
}

/// Paused clock: the idle timeout passes without waiting for it.
#[test]
fn client_ends_a_silent_session_with_an_idle_timeout() {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap()
        .block_on(async {
            let peer = ScriptedPeer::start(vec![vec![
                Step::Write(success_then(&app_frame(
                    r#"{"command":"valueChange","key":"focus","value":50}"#,
                ))),
                Step::HoldOpen,
            ]])
            .await;
            let idle = Duration::from_secs(60);
            let (events, error) = tokio::time::timeout(
                TEST_BOUND.saturating_mul(10),
                client_of(&peer, |c| c.idle_timeout = Some(idle)),
            )
            .await
            .expect("bounded");
            assert!(matches!(events[0], Event::Connected { .. }), "{events:?}");
            assert_eq!(commands(&events), ["valueChange"]);
            assert!(
                matches!(error, Some(Error::IdleTimeout { after }) if after == idle),
                "{error:?}"
            );
            assert!(error.unwrap().is_timeout());
            peer.auths().await;
        });
}

/// With `announce_target`, the caller sees where the client connected before the API key
/// leaves: the server has received nothing until the stream is polled again.
#[test]
fn client_announces_its_target_before_sending_the_key() {
    run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut config = ClientConfig::new(Target::Addr(addr.to_string()), ApiKey::new("k"));
        config.announce_target = true;
        let mut events = arctop::connect(config);
        let first = events.next().await.unwrap().unwrap();
        assert!(
            matches!(first, Event::Connecting { addr: a, server: None } if a == addr),
            "{first:?}"
        );
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut byte = [0u8; 1];
        assert!(
            matches!(socket.try_read(&mut byte), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
            "the key was sent before the caller saw the target"
        );
        // Polling again sends the key.
        let reader = tokio::spawn(async move {
            let mut head = [0u8; 2];
            socket.read_exact(&mut head).await.unwrap();
            let mut payload = vec![0u8; usize::from(u16::from_be_bytes(head))];
            socket.read_exact(&mut payload).await.unwrap();
            socket.write_all(&app_frame(AUTH_SUCCESS)).await.unwrap();
            socket
                .write_all(&app_frame(SESSION_COMPLETE))
                .await
                .unwrap();
            payload
        });
        let mut kinds = Vec::new();
        while let Some(event) = events.next().await {
            kinds.push(match event.unwrap() {
                Event::Connected { .. } => "connected",
                Event::Message(_) => "message",
                other => panic!("unexpected {other:?}"),
            });
        }
        assert_eq!(kinds, ["connected", "message"]);
        assert_eq!(reader.await.unwrap(), br#"{"command":"auth","apiKey":"k"}"#);
    });
}
