//! Entry points for the fuzz targets in `fuzz/` (and the corpus replay under `cargo test`).

use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};

use crate::connection::{Connection, ConnectionConfig, LocalCommand, State};
use crate::message::{ControlIn, Incoming};
use crate::service_table::{ServiceKind, ServiceSpec, ServiceTable};
use crate::wire;

/// Feeds `data`, as bytes from an Arrow Service, to a registered connection whose local
/// connections echo everything at once, 16 bytes at a time through the decoder. Panics if
/// the core breaks one of its promises (a grant over the window, an unencodable message);
/// otherwise any input must be handled or refused.
pub fn service_bytes(data: &[u8]) {
    let addr = "127.0.0.1:7".parse().expect("literal address");
    let Ok(spec) = ServiceSpec::host_port(ServiceKind::Tcp, "127.0.0.1:7") else {
        return;
    };
    let Ok(table) = ServiceTable::new(vec![(spec, addr)]) else {
        return;
    };
    let register = arrow_codec::Register::new(
        uuid::Uuid::nil(),
        arrow_codec::ClientKey([0; 16]),
        arrow_codec::MacAddr([0; 6]),
    );
    let config = ConnectionConfig {
        capacity: 256,
        ..ConnectionConfig::default()
    };
    let mut conn = Connection::new(config, table);
    let mut now = Instant::now();
    conn.start(now);
    conn.handle_incoming(
        now,
        Incoming::Control {
            msg_id: 0,
            body: ControlIn::Ack { code: 0 },
        },
    );
    let mut codec = wire::client_codec();
    let mut input = BytesMut::new();
    let mut out = BytesMut::new();
    let mut credit = std::collections::HashMap::new();
    for chunk in data.chunks(16) {
        input.extend_from_slice(chunk);
        loop {
            match wire::next_incoming(&mut codec, &mut input, false) {
                Ok(Some(incoming)) => conn.handle_incoming(now, incoming),
                Ok(None) => break,
                Err(e) => {
                    conn.handle_violation(wire::violation(&e));
                    break;
                }
            }
        }
        now += Duration::from_secs(1);
        conn.handle_timeout(now);
        while let Some(message) = conn.poll_transmit() {
            wire::encode(&message, &register, &mut out)
                .expect("every message the core makes encodes");
        }
        out.clear();
        while let Some(command) = conn.poll_local() {
            match command {
                LocalCommand::Open {
                    handle, credit: c, ..
                } => {
                    assert!(c <= 256);
                    credit.insert(handle, c);
                }
                LocalCommand::Grant { handle, bytes } => {
                    let c = credit.entry(handle).or_insert(0);
                    *c += bytes;
                    assert!(*c <= 256, "granted more than the window");
                }
                LocalCommand::Write { handle, data } => {
                    // The local service took it all and echoes what it may.
                    conn.handle_local_delivered(handle, data.len() as u32);
                    let c = credit.entry(handle).or_insert(0);
                    let n = (*c as usize).min(data.len());
                    *c -= n as u32;
                    conn.handle_local_data(handle, Bytes::copy_from_slice(&data[..n]))
                        .expect("within the grant");
                }
                LocalCommand::Close { handle } => {
                    credit.remove(&handle);
                }
            }
        }
        while conn.poll_event().is_some() {}
        if conn.state() == State::Disconnected {
            return;
        }
    }
}

/// Feeds `data`, as what a host answered a probe, to every parser of the scanner: the RTSP
/// response and SDP check, the HTTP head, the path walks, the ONVIF answer, the
/// neighbour table and an ARP reply frame. Each prefix of the bytes is tried too (a response arrives in pieces).
/// Any input must be read or refused, never a panic.
pub fn scanner_answers(data: &[u8]) {
    use crate::discovery::{arp_sweep, http_probe, neighbours, onvif, rtsp_probe};
    let paths: Vec<String> = ["/a", "/11"].iter().map(|p| p.to_string()).collect();
    for end in [data.len() / 3, data.len() / 2, data.len()] {
        let part = &data[..end];
        if let rtsp_probe::Read::Done(answer, used) = rtsp_probe::read_response(part) {
            assert!(used <= part.len());
            let mut walk = rtsp_probe::RtspWalk::new(&paths, answer.server.as_deref());
            while walk.next_path().is_some() {
                walk.answer(Some(&answer));
            }
            let _ = walk.finding();
        }
        if let rtsp_probe::Read::Done(answer, used) = http_probe::read_head(part) {
            assert!(used <= part.len());
            let mut walk = http_probe::MjpegWalk::new(&paths, answer.server.as_deref());
            while walk.next_path().is_some() {
                walk.answer(Some(&answer));
            }
            let _ = walk.finding();
        }
    }
    let _ = rtsp_probe::has_supported_video(data);
    for found in onvif::read_matches(data, "urn:uuid:fuzz") {
        let _ = found.addresses();
    }
    let _ = neighbours::parse(&String::from_utf8_lossy(data));
    let _ = arp_sweep::parse_reply(data);
}

/// Feeds `data`, as bytes from a client, to the development service's handling of a
/// client connection, without sockets: REGISTER first, then every message (DATA, HUP,
/// DATA_ACK, UPDATE, STATUS, unknown types, ...) through its rules, and the limits on
/// services and queued bytes. Any input must be handled or end the connection, never a
/// panic. Needs the `dev-service` feature.
#[cfg(feature = "dev-service")]
pub fn dev_service_client_bytes(data: &[u8]) {
    crate::dev_service::client_bytes_without_io(data);
}
