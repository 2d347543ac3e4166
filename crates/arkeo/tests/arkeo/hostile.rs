//! Hostile clients against a running simulator over real sockets: each does its worst,
//! then a well-behaved client must still be served (issue 16, items 1 and 2).

use std::time::Duration;

use arkeo::Dialect;
use arkeo::multichannel;
use arkeo::simulator::{Simulator, SimulatorConfig, Timing};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::{client, frame, simulator_with, within};

/// The idle timeout of the tests that wait for it: long enough that a well-behaved client
/// on a loaded machine is not taken for idle, short enough to keep the tests quick.
const IDLE: Duration = Duration::from_secs(1);

fn config() -> SimulatorConfig {
    SimulatorConfig::new(Dialect::Multichannel).timing(Timing::fast())
}

/// A fresh well-behaved client gets its answer.
async fn a_good_client_is_served(sim: &Simulator) {
    let mut c = client(sim, Dialect::Multichannel).await;
    let reply = c
        .request(&multichannel::get_environments())
        .await
        .expect("a well-behaved client is served");
    assert!(reply.get("environments").is_some());
}

/// Reads one reply frame as JSON.
async fn read_reply(socket: &mut TcpStream) -> Value {
    let mut head = [0u8; 4];
    socket.read_exact(&mut head).await.unwrap();
    let len = u32::from_be_bytes(head) as usize;
    assert!(len < 64 * 1024, "a small reply, not {len} bytes");
    let mut payload = vec![0u8; len];
    socket.read_exact(&mut payload).await.unwrap();
    serde_json::from_slice(&payload).unwrap()
}

/// True once the simulator closed `socket` (end of stream or a reset), reading whatever
/// it still sends; a bounded number of reads.
async fn closed_by_simulator(socket: &mut TcpStream) -> bool {
    let mut buf = vec![0u8; 64 * 1024];
    for _ in 0..1024 {
        match socket.read(&mut buf).await {
            Ok(0) | Err(_) => return true,
            Ok(_) => {}
        }
    }
    false
}

fn indices_request(count: usize) -> Vec<u8> {
    let mut json = String::from(r#"{"command":"GetChannelState","indices":["#);
    json.push_str(&"0,".repeat(count - 1));
    json.push_str("0]}");
    frame(json.as_bytes())
}

#[tokio::test]
async fn an_oversized_frame_announcement_is_answered_101_and_closed() {
    within(async {
        let sim = simulator_with(config()).await;
        let mut socket = TcpStream::connect(sim.local_addr()).await.unwrap();
        socket.write_all(&u32::MAX.to_be_bytes()).await.unwrap();
        let reply = read_reply(&mut socket).await;
        assert_eq!(reply["error"]["code"], 101, "{reply}");
        assert!(closed_by_simulator(&mut socket).await);
        a_good_client_is_served(&sim).await;
        sim.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn half_a_million_repeated_indices_are_counted_and_refused_while_others_are_served() {
    within(async {
        let sim = simulator_with(config()).await;
        // 1 MB, just under the request limit: parsed, counted (not kept), refused.
        let hostile = tokio::spawn({
            let addr = sim.local_addr();
            async move {
                let mut socket = TcpStream::connect(addr).await.unwrap();
                socket.write_all(&indices_request(500_000)).await.unwrap();
                read_reply(&mut socket).await
            }
        });
        a_good_client_is_served(&sim).await;
        let reply = hostile.await.unwrap();
        assert_eq!(reply["error"]["code"], 101, "{reply}");
        let message = reply["error"]["message"].as_str().unwrap();
        assert!(message.contains("500000 indices"), "{message}");
        a_good_client_is_served(&sim).await;
        sim.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn seven_hundred_thousand_repeated_indices_are_refused_from_the_prefix_and_closed() {
    within(async {
        let sim = simulator_with(config()).await;
        let mut socket = TcpStream::connect(sim.local_addr()).await.unwrap();
        let request = indices_request(700_000);
        // The prefix alone is enough for the answer; the rest may be refused by a reset.
        socket.write_all(&request[..4]).await.unwrap();
        let reply = read_reply(&mut socket).await;
        assert_eq!(reply["error"]["code"], 101, "{reply}");
        let message = reply["error"]["message"].as_str().unwrap();
        assert!(message.contains("over the limit"), "{message}");
        let _ = socket.write_all(&request[4..]).await;
        assert!(closed_by_simulator(&mut socket).await);
        a_good_client_is_served(&sim).await;
        sim.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn connections_beyond_the_cap_are_closed_and_a_freed_slot_is_served() {
    within(async {
        let sim = simulator_with(config().max_connections(2)).await;
        let mut first = client(&sim, Dialect::Multichannel).await;
        let mut second = client(&sim, Dialect::Multichannel).await;
        first
            .request(&multichannel::get_environments())
            .await
            .unwrap();
        second
            .request(&multichannel::get_environments())
            .await
            .unwrap();
        assert_eq!(sim.connections(), 2);
        for _ in 0..5 {
            let mut extra = TcpStream::connect(sim.local_addr()).await.unwrap();
            let _ = extra
                .write_all(&frame(br#"{"command":"GetEnvironments"}"#))
                .await;
            assert!(
                closed_by_simulator(&mut extra).await,
                "over the cap: closed"
            );
        }
        assert_eq!(sim.connections(), 2);
        drop(first);
        sim.wait_for_connections(1).await;
        a_good_client_is_served(&sim).await;
        second
            .request(&multichannel::get_environments())
            .await
            .unwrap();
        sim.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn half_a_frame_then_a_stall_is_closed_after_the_idle_timeout() {
    within(async {
        let sim = simulator_with(config().idle_timeout(IDLE)).await;
        let mut staller = TcpStream::connect(sim.local_addr()).await.unwrap();
        let request = frame(br#"{"command":"GetEnvironments"}"#);
        staller.write_all(&request[..10]).await.unwrap();
        // Served while the stalled one waits.
        a_good_client_is_served(&sim).await;
        assert!(closed_by_simulator(&mut staller).await, "idle: closed");
        sim.wait_for_connections(0).await;
        a_good_client_is_served(&sim).await;
        sim.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn a_client_that_never_reads_its_replies_is_dropped_not_buffered() {
    within(async {
        let sim = simulator_with(config().idle_timeout(IDLE)).await;
        let socket = TcpStream::connect(sim.local_addr()).await.unwrap();
        let (mut reader, mut writer) = socket.into_split();
        // Requests for every channel's settings (about 4 KB of reply each), never read:
        // the simulator stops reading once its replies cannot be written.
        let one = frame(br#"{"command":"GetChannelSettings","indices":[0,1,2,3,4,5,6,7]}"#);
        let flood = one.repeat(20_000);
        let writing = tokio::spawn(async move {
            let _ = writer.write_all(&flood).await;
            writer
        });
        // Served meanwhile: the instrument lock is not held by the stalled connection.
        a_good_client_is_served(&sim).await;
        sim.wait_for_connections(0).await;
        let _writer = writing.await.unwrap();
        a_good_client_is_served(&sim).await;
        // What the simulator did send is far less than 20 000 replies.
        let mut received = 0usize;
        let mut buf = vec![0u8; 64 * 1024];
        for _ in 0..100_000 {
            match reader.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => received += n,
            }
        }
        assert!(received < 20_000 * 1024, "{received} bytes of replies");
        sim.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn garbage_bytes_are_answered_or_cut_off_and_others_are_served() {
    within(async {
        let sim = simulator_with(config()).await;
        // An HTTP client: "GET " read as a length prefix is over the limit.
        let mut http = TcpStream::connect(sim.local_addr()).await.unwrap();
        http.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let reply = read_reply(&mut http).await;
        assert_eq!(reply["error"]["code"], 101, "{reply}");
        assert!(closed_by_simulator(&mut http).await);
        // Garbage inside well-formed frames: 5001 each, the connection goes on.
        let mut garbage = TcpStream::connect(sim.local_addr()).await.unwrap();
        for payload in [&b"\xff\xfe\x00garbage"[..], b"{{{{", b"\"x\"", b""] {
            garbage.write_all(&frame(payload)).await.unwrap();
            let reply = read_reply(&mut garbage).await;
            assert_eq!(reply["error"]["code"], 5001, "{reply}");
        }
        garbage
            .write_all(&frame(br#"{"command":"GetEnvironments"}"#))
            .await
            .unwrap();
        assert_eq!(read_reply(&mut garbage).await["status"], "ok");
        a_good_client_is_served(&sim).await;
        sim.shutdown().await;
    })
    .await;
}
