//! Golden vectors in `fixtures/arrow-client/`: the exact bytes this client sends, as hex.
//! `register.hex` is REGISTER for a fixed identity and service table (pins the window,
//! flags, extended_info, service ids and record order); `session.hex` is what the client
//! writes during one scripted session (data up, a coalesced DATA_ACK, HUP 0).
//!
//! `cargo xtask fixtures` regenerates them; without it, drift fails this test.

use golden::hex_lines;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Instant;

use arrow_client::client::Registration;
use arrow_client::connection::{Connection, ConnectionConfig, LocalCommand};
use arrow_client::identity::{Identity, MacAddr};
use arrow_client::message::{ControlIn, Incoming};
use arrow_client::service_table::{ServiceKind, ServiceSpec, ServiceTable};
use bytes::{Bytes, BytesMut};
use uuid::Uuid;

fn table() -> ServiceTable {
    let specs = [
        (
            ServiceSpec::host_port(ServiceKind::Tcp, "127.0.0.1:22").unwrap(),
            "127.0.0.1:22",
        ),
        (
            ServiceSpec::host_port(ServiceKind::Http, "127.0.0.1:80").unwrap(),
            "127.0.0.1:80",
        ),
        (
            ServiceSpec::url(ServiceKind::Rtsp, "rtsp://192.168.1.20/live.sdp").unwrap(),
            "192.168.1.20:554",
        ),
    ];
    ServiceTable::new(
        specs
            .into_iter()
            .map(|(s, a)| (s, a.parse::<SocketAddr>().unwrap()))
            .collect(),
    )
    .unwrap()
}

fn registration() -> Registration {
    Registration {
        identity: Identity {
            uuid: Uuid::from_bytes([0x11; 16]),
            key: [0x22; 16],
        },
        mac: MacAddr([2, 0, 0, 0, 0, 1]),
        capacity: ConnectionConfig::default().capacity,
        // The fixture was recorded in gateway mode (flag 0x1), as the reference client sends.
        gateway: true,
        extended_info: r#"{"client":{"id":"protoctl-arrow-client","version":"0.1.0","vendor":"protoctl"},"device":{"category":null,"type":null,"vendor":null}}"#.into(),
    }
}

fn session_bytes(registration: &Registration) -> BytesMut {
    let table = table();
    let register = registration.register(&table);
    let svc = table.services()[0].id;
    let mut conn = Connection::new(
        ConnectionConfig {
            capacity: 4096,
            ..ConnectionConfig::default()
        },
        table.clone(),
    );
    let now = Instant::now();
    let mut out = BytesMut::new();
    let drain = |conn: &mut Connection, out: &mut BytesMut| {
        while let Some(m) = conn.poll_transmit() {
            arrow_client::wire::encode(&m, &register, out).unwrap();
        }
    };
    conn.start(now);
    conn.poll_transmit(); // REGISTER is its own fixture.
    conn.handle_incoming(
        now,
        Incoming::Control {
            msg_id: 0,
            body: ControlIn::Ack { code: 0 },
        },
    );
    conn.handle_incoming(
        now,
        Incoming::Control {
            msg_id: 1,
            body: ControlIn::Connect {
                svc_id: svc,
                session: 0x0a0b0c,
            },
        },
    );
    let Some(LocalCommand::Open { handle, .. }) = conn.poll_local() else {
        panic!("Open")
    };
    conn.handle_incoming(
        now,
        Incoming::Data {
            svc_id: svc,
            session: 0x0a0b0c,
            payload: Bytes::from(vec![b'x'; 1024]),
        },
    );
    conn.handle_local_delivered(handle, 1024);
    conn.handle_local_data(handle, Bytes::from_static(b"SSH-2.0-OpenSSH_9.6\r\n"))
        .unwrap();
    conn.handle_incoming(
        now,
        Incoming::Control {
            msg_id: 2,
            body: ControlIn::Ping,
        },
    );
    conn.handle_local_closed(now, handle, true);
    drain(&mut conn, &mut out);
    out
}

#[test]
fn golden_client_bytes_match_fixtures() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/arrow-client");
    let update = std::env::var_os("PROTOCTL_UPDATE_FIXTURES").is_some();
    let registration = registration();
    let mut register = BytesMut::new();
    let msg = arrow_client::message::Outgoing::Register { msg_id: 0 };
    arrow_client::wire::encode(&msg, &registration.register(&table()), &mut register).unwrap();
    // The reference client's REGISTER header for its own 0x170-byte body starts the same way.
    assert_eq!(&register[..4], &[2, 0, 0, 0]);
    for (name, bytes) in [
        ("register", register),
        ("session", session_bytes(&registration)),
    ] {
        let path = dir.join(format!("{name}.hex"));
        let want = hex_lines(&bytes);
        if update {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, &want).unwrap();
            continue;
        }
        let have = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (run `cargo xtask fixtures`)", path.display()));
        assert_eq!(
            have,
            want,
            "{name}: the client's bytes drifted from {} (run `cargo xtask fixtures` if intended)",
            path.display()
        );
    }
}
