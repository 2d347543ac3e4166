//! A scripted malicious service: it registers the client, then sends what a broken or
//! hostile service might. The client answers per spec, or drops that connection and
//! reconnects; it never crashes.

use std::time::Duration;

use arrow_codec::{ArrowCodec, ControlBody, ControlMessage, ErrorCode, Message};
use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;
use tokio_util::codec::Decoder;

use crate::support::*;

/// One accepted, registered client connection, played by hand.
pub(crate) struct Peer {
    pub(crate) tls: TlsStream<TcpStream>,
    codec: ArrowCodec,
    input: BytesMut,
}

impl Peer {
    /// The next whole message from the client; `None` when it closed the connection.
    pub(crate) async fn recv(&mut self) -> Option<Message> {
        tokio::time::timeout(WAIT, async {
            loop {
                if let Some(m) = self
                    .codec
                    .decode(&mut self.input)
                    .expect("the client sends valid messages")
                {
                    return Some(m);
                }
                match self.tls.read_buf(&mut self.input).await {
                    Ok(0) | Err(_) => return None,
                    Ok(_) => {}
                }
            }
        })
        .await
        .expect("timed out waiting for the client")
    }

    /// The next control message that is not a PING (answered) or an ACK.
    pub(crate) async fn recv_control(&mut self) -> Option<ControlMessage> {
        loop {
            match self.recv().await? {
                Message::Control(c) if c.body == ControlBody::Ping => {
                    self.send(&ControlMessage::ack(c.msg_id, ErrorCode::NoError))
                        .await;
                }
                Message::Control(c) => return Some(c),
                Message::Data(_) => {}
            }
        }
    }

    pub(crate) async fn send(&mut self, msg: &ControlMessage) {
        let mut out = BytesMut::new();
        msg.encode(&mut out).unwrap();
        self.raw(&out).await;
    }

    pub(crate) async fn raw(&mut self, bytes: &[u8]) {
        let _ = self.tls.write_all(bytes).await;
        let _ = self.tls.flush().await;
    }
}

pub(crate) struct Scripted {
    pub(crate) listener: TcpListener,
    acceptor: TlsAcceptor,
}

impl Scripted {
    pub(crate) async fn new(certs: &arrow_client::dev_service::DevCertificates) -> Self {
        Scripted {
            listener: TcpListener::bind("127.0.0.1:0").await.unwrap(),
            acceptor: TlsAcceptor::from(certs.server_config().unwrap()),
        }
    }

    /// The listener's `HOST:PORT`.
    pub(crate) fn addr(&self) -> std::net::SocketAddr {
        self.listener.local_addr().unwrap()
    }

    /// Accepts the next connection and reads its REGISTER, not answered yet.
    pub(crate) async fn accept_register(&self) -> (Peer, arrow_codec::Register) {
        let (tcp, _) = tokio::time::timeout(WAIT, self.listener.accept())
            .await
            .expect("client connects")
            .unwrap();
        let tls = self.acceptor.accept(tcp).await.unwrap();
        let mut peer = Peer {
            tls,
            codec: ArrowCodec::new(),
            input: BytesMut::new(),
        };
        let Some(Message::Control(ControlMessage {
            msg_id: 0,
            body: ControlBody::Register(register),
        })) = peer.recv().await
        else {
            panic!("REGISTER first, with msg_id 0");
        };
        (peer, register)
    }

    /// Accepts the next connection and registers it; returns the peer and the client's
    /// first service id.
    pub(crate) async fn accept(&self) -> (Peer, u16) {
        let (mut peer, register) = self.accept_register().await;
        assert_eq!(register.window_size, 65_535);
        assert!(register.extended_info.contains("\"client\""));
        peer.send(&ControlMessage::ack(0, ErrorCode::NoError)).await;
        let svc = register.services.first().map_or(1, |s| s.svc_id);
        (peer, svc)
    }
}

/// Header bytes: version, svc_id, reserved, session_id (24 bits), body_size.
fn header(version: u8, svc: u16, session: u32, body_size: u32) -> Vec<u8> {
    let mut h = vec![version];
    h.extend_from_slice(&svc.to_be_bytes());
    h.push(0);
    h.extend_from_slice(&session.to_be_bytes()[1..]);
    h.extend_from_slice(&body_size.to_be_bytes());
    h
}

async fn setup() -> (Scripted, Client, Peer, u16, crate::support::Guard<()>) {
    let certs = certs();
    let scripted = Scripted::new(&certs).await;
    let (echo, echo_guard) = echo_server().await;
    let client = start_client(client_config(
        scripted.listener.local_addr().unwrap(),
        &certs,
        &[echo],
    ));
    let (peer, svc) = scripted.accept().await;
    (scripted, client, peer, svc, echo_guard)
}

/// After a fatal message, the client closes the connection and comes back with a new
/// REGISTER.
async fn expect_reconnect(scripted: &Scripted, mut peer: Peer) {
    while peer.recv().await.is_some() {}
    let _ = scripted.accept().await;
}

#[tokio::test]
async fn oversize_body_size_drops_the_connection_and_the_client_reconnects() {
    let (scripted, _client, mut peer, svc, _e) = setup().await;
    peer.raw(&header(2, svc, 1, 0xffff_fff0)).await;
    expect_reconnect(&scripted, peer).await;
}

#[tokio::test]
async fn truncated_message_then_close_the_client_reconnects() {
    let (scripted, _client, mut peer, _svc, _e) = setup().await;
    let mut bytes = header(2, 0, 0, 100);
    bytes.extend_from_slice(&[0, 1]);
    peer.raw(&bytes).await;
    let _ = peer.tls.shutdown().await;
    expect_reconnect(&scripted, peer).await;
}

#[tokio::test]
async fn wrong_version_drops_the_connection_and_the_client_reconnects() {
    let (scripted, _client, mut peer, _svc, _e) = setup().await;
    let mut bytes = header(3, 0, 0, 4);
    bytes.extend_from_slice(&[0, 9, 0, 1]);
    peer.raw(&bytes).await;
    expect_reconnect(&scripted, peer).await;
}

#[tokio::test]
async fn malformed_control_body_drops_the_connection() {
    let (scripted, _client, mut peer, _svc, _e) = setup().await;
    // A HUP whose data is 3 bytes instead of 8.
    let mut bytes = header(2, 0, 0, 7);
    bytes.extend_from_slice(&[0, 9, 0, 5, 0, 0, 1]);
    peer.raw(&bytes).await;
    expect_reconnect(&scripted, peer).await;
}

#[tokio::test]
async fn unknown_control_type_gets_unsupported_method_and_the_connection_stays() {
    let (_scripted, _client, mut peer, _svc, _e) = setup().await;
    let mut bytes = header(2, 0, 0, 7);
    bytes.extend_from_slice(&[0x12, 0x34, 0x00, 0x42, 1, 2, 3]);
    peer.raw(&bytes).await;
    let reply = peer.recv_control().await.expect("an answer");
    assert_eq!(
        reply,
        ControlMessage::ack(0x1234, ErrorCode::UnsupportedMethod)
    );
    // Still up: a PING is answered.
    peer.send(&ControlMessage::ping(7)).await;
    let Some(Message::Control(ack)) = peer.recv().await else {
        panic!("ACK")
    };
    assert_eq!(ack, ControlMessage::ack(7, ErrorCode::NoError));
}

#[tokio::test]
async fn client_only_types_and_extra_bytes_in_empty_messages_keep_the_connection() {
    let (_scripted, _client, mut peer, _svc, _e) = setup().await;
    // STATUS without its data: a type only a client sends, answered like an unknown one.
    let mut bytes = header(2, 0, 0, 4);
    bytes.extend_from_slice(&[0x00, 0x21, 0x00, 0x09]);
    // GET_STATUS with two bytes it should not have: answered with STATUS as usual.
    bytes.extend_from_slice(&header(2, 0, 0, 6));
    bytes.extend_from_slice(&[0x00, 0x22, 0x00, 0x08, 0xff, 0xff]);
    peer.raw(&bytes).await;
    let reply = peer.recv_control().await.expect("an answer");
    assert_eq!(
        reply,
        ControlMessage::ack(0x21, ErrorCode::UnsupportedMethod)
    );
    let reply = peer.recv_control().await.expect("an answer");
    assert!(
        matches!(reply.body, ControlBody::Status(ref s) if s.request_id == 0x22),
        "{reply:?}"
    );
    // PING with an extra byte: still a PING.
    let mut bytes = header(2, 0, 0, 5);
    bytes.extend_from_slice(&[0x00, 0x07, 0x00, 0x01, 0x00]);
    peer.raw(&bytes).await;
    let Some(Message::Control(ack)) = peer.recv().await else {
        panic!("ACK")
    };
    assert_eq!(ack, ControlMessage::ack(7, ErrorCode::NoError));
}

#[tokio::test]
async fn window_overrun_gets_hup_3() {
    let (_scripted, _client, mut peer, svc, _e) = setup().await;
    peer.send(&ControlMessage::connect(1, svc, 5)).await;
    // One byte over the 65,536-byte capacity, in one message.
    let mut bytes = header(2, svc, 5, 65_537);
    bytes.extend_from_slice(&vec![0u8; 65_537]);
    peer.raw(&bytes).await;
    let hup = peer.recv_control().await.expect("HUP");
    assert!(
        matches!(hup.body, ControlBody::Hup(h) if h.session_id == 5 && h.error == ErrorCode::ConnectionError),
        "{hup:?}"
    );
}

#[tokio::test]
async fn exactly_the_window_is_accepted() {
    let (_scripted, _client, mut peer, svc, _e) = setup().await;
    peer.send(&ControlMessage::connect(1, svc, 5)).await;
    let mut bytes = header(2, svc, 5, 65_536);
    bytes.extend_from_slice(&vec![7u8; 65_536]);
    peer.raw(&bytes).await;
    // The echo service sends it all back: the client forwards it within its window and
    // acknowledges what reached the echo service.
    let mut echoed = 0;
    let mut acked = 0;
    while echoed < 65_536 || acked < 65_536 {
        match peer.recv().await.expect("client stays connected") {
            Message::Data(d) => {
                assert_eq!(d.session_id, 5);
                echoed += d.body.len();
                // Let it send the rest.
                peer.send(&ControlMessage::data_ack(2, 5, d.body.len() as u32))
                    .await;
            }
            Message::Control(ControlMessage {
                body: ControlBody::DataAck(a),
                ..
            }) => acked += a.length as usize,
            Message::Control(ControlMessage {
                body: ControlBody::Hup(h),
                ..
            }) => panic!("unexpected {h:?}"),
            Message::Control(_) => {}
        }
    }
    assert_eq!(echoed, 65_536);
}

#[tokio::test]
async fn data_for_unknown_session_gets_hup() {
    let (_scripted, _client, mut peer, svc, _e) = setup().await;
    let mut bytes = header(2, svc, 0x00beef, 3);
    bytes.extend_from_slice(b"abc");
    peer.raw(&bytes).await;
    let hup = peer.recv_control().await.expect("HUP");
    assert!(
        matches!(hup.body, ControlBody::Hup(h) if h.session_id == 0x00beef),
        "{hup:?}"
    );
}

#[tokio::test]
async fn connect_for_unknown_service_gets_hup() {
    let (_scripted, _client, mut peer, svc, _e) = setup().await;
    peer.send(&ControlMessage::connect(1, svc.wrapping_add(1), 9))
        .await;
    let hup = peer.recv_control().await.expect("HUP");
    assert!(
        matches!(hup.body, ControlBody::Hup(h) if h.session_id == 9 && h.error == ErrorCode::ConnectionError),
        "{hup:?}"
    );
}

#[tokio::test]
async fn get_status_and_scan_report_are_answered() {
    let (_scripted, _client, mut peer, svc, _e) = setup().await;
    peer.send(&ControlMessage::connect(1, svc, 9)).await;
    peer.send(&ControlMessage::new(2, ControlBody::GetStatus))
        .await;
    let status = peer.recv_control().await.expect("STATUS");
    match status.body {
        ControlBody::Status(s) => {
            assert_eq!(s.request_id, 2);
            assert_eq!(s.active_sessions, 1);
            assert!(!s.flags.is_scanning());
        }
        other => panic!("{other:?}"),
    }
    peer.send(&ControlMessage::new(3, ControlBody::GetScanReport))
        .await;
    let report = peer.recv_control().await.expect("SCAN_REPORT");
    assert!(
        matches!(report.body, ControlBody::ScanReport(r) if r.request_id == 3 && r.hosts.is_empty() && r.services.is_empty())
    );
}

#[tokio::test]
async fn refused_registration_is_retried() {
    let certs = certs();
    let scripted = Scripted::new(&certs).await;
    let mut client = start_client(client_config(
        scripted.listener.local_addr().unwrap(),
        &certs,
        &[],
    ));
    let (tcp, _) = scripted.listener.accept().await.unwrap();
    let tls = scripted.acceptor.accept(tcp).await.unwrap();
    let mut peer = Peer {
        tls,
        codec: ArrowCodec::new(),
        input: BytesMut::new(),
    };
    assert!(matches!(
        peer.recv().await,
        Some(Message::Control(ControlMessage {
            body: ControlBody::Register(_),
            ..
        }))
    ));
    peer.send(&ControlMessage::ack(0, ErrorCode::Unauthorized))
        .await;
    let gone = wait_for(&mut client.events, |e| {
        matches!(e, arrow_client::client::ClientEvent::Disconnected { .. })
    })
    .await;
    assert!(format!("{gone:?}").contains("UNAUTHORIZED"), "{gone:?}");
    let _ = scripted.accept().await;
    let _ = Duration::ZERO;
}

/// A local service that writes `len` bytes as fast as it may.
async fn source_server(len: usize) -> (std::net::SocketAddr, crate::support::Guard<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        if let Ok((mut socket, _)) = listener.accept().await {
            let _ = socket.write_all(&vec![9u8; len]).await;
            let mut sink = Vec::new();
            let _ = socket.read_to_end(&mut sink).await;
        }
    });
    (addr, crate::support::Guard(task))
}

/// Reads data for `session` until a PING sent now is answered; returns the data bytes.
async fn data_until_pong(peer: &mut Peer, session: u32, ping_id: u16) -> usize {
    peer.send(&ControlMessage::ping(ping_id)).await;
    let mut total = 0;
    loop {
        match peer.recv().await.expect("client stays connected") {
            Message::Data(d) => {
                assert_eq!(d.session_id, session);
                total += d.body.len();
            }
            Message::Control(c) if c == ControlMessage::ack(ping_id, ErrorCode::NoError) => {
                return total;
            }
            Message::Control(_) => {}
        }
    }
}

#[tokio::test]
async fn the_client_never_sends_more_than_the_window_without_data_ack() {
    let certs = certs();
    let scripted = Scripted::new(&certs).await;
    let (source, _source) = source_server(1 << 20).await;
    let _client = start_client(client_config(
        scripted.listener.local_addr().unwrap(),
        &certs,
        &[source],
    ));
    let (mut peer, svc) = scripted.accept().await;
    peer.send(&ControlMessage::connect(1, svc, 3)).await;
    // Wait for the whole window, then make sure nothing more is on its way.
    let mut total = 0;
    let mut ping = 100;
    while total < 65_536 {
        assert!(ping < 300, "the window never filled: {total} bytes");
        total += data_until_pong(&mut peer, 3, ping).await;
        ping += 1;
    }
    total += data_until_pong(&mut peer, 3, ping).await;
    assert_eq!(
        total, 65_536,
        "exactly the window, no more, while the service acknowledges nothing"
    );
    // A DATA_ACK of 1,000 bytes lets at most 1,000 through (none while a small message of
    // the window is still in flight: no silly window). Two PINGs: a DATA message read after
    // the first one's answer comes before the second's.
    peer.send(&ControlMessage::data_ack(200, 3, 1_000)).await;
    let sliver =
        data_until_pong(&mut peer, 3, 300).await + data_until_pong(&mut peer, 3, 301).await;
    assert!(
        sliver == 0 || sliver == 1_000,
        "{sliver} bytes for a DATA_ACK of 1,000"
    );
    // Acknowledging everything in flight reopens the whole window: exactly 64 KiB more.
    let in_flight = 65_536 - 1_000 + sliver as u32;
    peer.send(&ControlMessage::data_ack(201, 3, in_flight))
        .await;
    let mut more = 0;
    let mut ping = 302;
    while more < 65_536 {
        assert!(ping < 600, "the granted bytes never came: {more}");
        more += data_until_pong(&mut peer, 3, ping).await;
        ping += 1;
    }
    more += data_until_pong(&mut peer, 3, ping).await;
    assert_eq!(more, 65_536);
}
