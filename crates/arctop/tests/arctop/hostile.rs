//! Hostile peers over real sockets on 127.0.0.1: scripted servers against the client, and
//! misbehaving clients against the simulator. Each asserts the outcome (a typed error, the
//! simulator still serving a good client) and is bounded by the test bound.

use std::time::Duration;

use arctop::simulator::{RunningSimulator, Simulator, SimulatorConfig, SimulatorEvent};
use arctop::{ApiKey, ClientConfig, Event, Target};
use futures::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

use crate::support::{raw_frame, run};

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
