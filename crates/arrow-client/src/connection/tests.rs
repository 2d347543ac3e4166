//! Every session rule and flow-control rule, one test each, without a socket.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::*;
use crate::message::{ControlIn, Incoming, Outgoing, ScanFindings, code};
use crate::service_table::{ServiceKind, ServiceSpec, ServiceTable};

pub(super) fn table() -> ServiceTable {
    let spec = ServiceSpec::host_port(ServiceKind::Tcp, "127.0.0.1:7").unwrap();
    let addr: SocketAddr = "127.0.0.1:7".parse().unwrap();
    ServiceTable::new(vec![(spec, addr)]).unwrap()
}

pub(super) struct Harness {
    pub(super) conn: Connection,
    pub(super) now: Instant,
    pub(super) svc: u16,
}

pub(super) fn control(msg_id: u16, body: ControlIn) -> Incoming {
    Incoming::Control { msg_id, body }
}

impl Harness {
    pub(super) fn with_capacity(capacity: u32) -> Self {
        let config = ConnectionConfig {
            capacity,
            ..ConnectionConfig::default()
        };
        let table = table();
        let svc = table.services()[0].id;
        let mut h = Harness {
            conn: Connection::new(config, table),
            now: Instant::now(),
            svc,
        };
        h.conn.start(h.now);
        assert_eq!(h.transmit(), vec![Outgoing::Register { msg_id: 0 }]);
        h.feed(control(0, ControlIn::Ack { code: 0 }));
        assert_eq!(h.conn.state(), State::Established);
        assert_eq!(h.events(), vec![Event::Registered]);
        h
    }

    pub(super) fn new() -> Self {
        Self::with_capacity(1000)
    }

    pub(super) fn feed(&mut self, message: Incoming) {
        self.conn.handle_incoming(self.now, message);
    }

    pub(super) fn transmit(&mut self) -> Vec<Outgoing> {
        std::iter::from_fn(|| self.conn.poll_transmit()).collect()
    }

    pub(super) fn local(&mut self) -> Vec<LocalCommand> {
        std::iter::from_fn(|| self.conn.poll_local()).collect()
    }

    pub(super) fn events(&mut self) -> Vec<Event> {
        std::iter::from_fn(|| self.conn.poll_event()).collect()
    }

    /// CONNECT `session` to the known service; returns its handle.
    pub(super) fn open(&mut self, session: u32) -> SessionHandle {
        self.feed(control(
            50,
            ControlIn::Connect {
                svc_id: self.svc,
                session,
            },
        ));
        let cmds = self.local();
        match cmds.as_slice() {
            [
                LocalCommand::Open {
                    handle,
                    session: s,
                    credit,
                    ..
                },
            ] => {
                assert_eq!(*s, session);
                assert_eq!(*credit, self.conn.config().capacity);
                self.events();
                *handle
            }
            other => panic!("expected Open, got {other:?}"),
        }
    }

    pub(super) fn data(&mut self, session: u32, len: usize) {
        self.feed(Incoming::Data {
            svc_id: self.svc,
            session,
            payload: Bytes::from(vec![7u8; len]),
        });
    }
}

fn hups(out: &[Outgoing]) -> Vec<(u32, u32)> {
    out.iter()
        .filter_map(|m| match m {
            Outgoing::Hup { session, code, .. } => Some((*session, *code)),
            _ => None,
        })
        .collect()
}

// ---- handshake -------------------------------------------------------------------------

#[test]
fn register_is_msg_id_0_and_only_its_ack_is_accepted() {
    let mut conn = Connection::new(ConnectionConfig::default(), table());
    let now = Instant::now();
    conn.start(now);
    assert_eq!(conn.poll_transmit(), Some(Outgoing::Register { msg_id: 0 }));
    conn.handle_incoming(now, control(0, ControlIn::Ping));
    assert_eq!(conn.state(), State::Disconnected);
    assert!(matches!(
        conn.close_reason(),
        Some(Disconnect::Violation(
            ProtocolViolation::UnexpectedInHandshake { .. }
        ))
    ));
    assert_eq!(
        conn.poll_transmit(),
        None,
        "no answer to a message not allowed yet"
    );
}

#[test]
fn ack_with_the_wrong_msg_id_in_handshake_is_a_violation() {
    let mut conn = Connection::new(ConnectionConfig::default(), table());
    let now = Instant::now();
    conn.start(now);
    conn.handle_incoming(now, control(1, ControlIn::Ack { code: 0 }));
    assert_eq!(conn.state(), State::Disconnected);
}

#[test]
fn data_in_handshake_is_a_violation() {
    let mut conn = Connection::new(ConnectionConfig::default(), table());
    let now = Instant::now();
    conn.start(now);
    conn.handle_incoming(
        now,
        Incoming::Data {
            svc_id: 1,
            session: 1,
            payload: Bytes::from_static(b"x"),
        },
    );
    assert_eq!(conn.state(), State::Disconnected);
}

#[test]
fn refused_register_disconnects_with_the_code() {
    let mut conn = Connection::new(ConnectionConfig::default(), table());
    let now = Instant::now();
    conn.start(now);
    conn.handle_incoming(
        now,
        control(
            0,
            ControlIn::Ack {
                code: code::UNAUTHORIZED,
            },
        ),
    );
    assert_eq!(conn.close_reason(), Some(&Disconnect::Refused(2)));
}

#[test]
fn handshake_times_out() {
    let mut conn = Connection::new(ConnectionConfig::default(), table());
    let now = Instant::now();
    conn.start(now);
    let deadline = conn.poll_timeout().unwrap();
    assert_eq!(deadline, now + Duration::from_secs(20));
    conn.handle_timeout(deadline - Duration::from_millis(1));
    assert_eq!(conn.state(), State::Handshake);
    conn.handle_timeout(deadline);
    assert_eq!(
        conn.close_reason(),
        Some(&Disconnect::Timeout("no ACK to REGISTER"))
    );
    assert_eq!(conn.poll_timeout(), None);
}

// ---- control answers -------------------------------------------------------------------

#[test]
fn ping_gets_ack_with_its_msg_id() {
    let mut h = Harness::new();
    h.feed(control(42, ControlIn::Ping));
    assert_eq!(
        h.transmit(),
        vec![Outgoing::Ack {
            msg_id: 42,
            code: 0
        }]
    );
}

#[test]
fn get_status_gets_status_with_request_id_and_active_sessions() {
    let mut h = Harness::new();
    h.open(1);
    h.open(2);
    h.feed(control(9, ControlIn::GetStatus));
    match h.transmit().as_slice() {
        [
            Outgoing::Status {
                request_id: 9,
                flags: 0,
                active_sessions: 2,
                ..
            },
        ] => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn get_scan_report_gets_an_empty_report() {
    let mut h = Harness::new();
    h.feed(control(5, ControlIn::GetScanReport));
    assert!(matches!(
        h.transmit().as_slice(),
        [Outgoing::ScanReport { request_id: 5, .. }]
    ));
}

#[test]
fn scan_network_gets_no_answer() {
    let mut h = Harness::new();
    h.feed(control(3, ControlIn::ScanNetwork));
    assert!(h.transmit().is_empty());
    assert!(
        h.events().is_empty(),
        "discovery off: ignored, as the spec allows"
    );
    assert_eq!(h.conn.state(), State::Established);
}

#[test]
fn with_discovery_scan_network_asks_for_a_scan_and_status_and_report_follow_the_scanner() {
    let mut h = Harness::new();
    h.conn.config.discovery = true;
    h.feed(control(3, ControlIn::ScanNetwork));
    assert!(h.transmit().is_empty(), "no ACK is expected");
    assert_eq!(h.events(), vec![Event::ScanRequested]);

    // While the scan runs, STATUS's flag S is 1.
    h.conn.set_scanning(true);
    h.feed(control(4, ControlIn::GetStatus));
    assert!(matches!(
        h.transmit().as_slice(),
        [Outgoing::Status {
            request_id: 4,
            flags: 1,
            ..
        }]
    ));
    // Once it ended, the flag is 0 and GET_SCAN_REPORT answers with what it found.
    let findings = ScanFindings {
        hosts: vec![arrow_codec::HostRecord {
            flags: arrow_codec::HostFlags::ARP,
            mac: arrow_codec::MacAddr([2, 0, 0, 0, 0, 9]),
            ip: "10.99.0.10".parse().unwrap(),
            ports: vec![554],
        }],
        services: vec![
            arrow_codec::Service::new(
                77,
                arrow_codec::ServiceType::Rtsp,
                "10.99.0.10".parse().unwrap(),
                554,
            )
            .with_path("/live.sdp"),
        ],
    };
    h.conn.set_scanning(false);
    h.conn.set_scan_findings(findings.clone());
    h.feed(control(5, ControlIn::GetStatus));
    h.feed(control(6, ControlIn::GetScanReport));
    match h.transmit().as_slice() {
        [
            Outgoing::Status { flags: 0, .. },
            Outgoing::ScanReport {
                request_id: 6,
                findings: got,
                ..
            },
        ] => assert_eq!(got, &findings),
        other => panic!("{other:?}"),
    }
}

#[test]
fn unknown_control_type_gets_unsupported_method_and_the_connection_stays() {
    let mut h = Harness::new();
    for kind in [0x0002, 0x0004, 0x0009, 0x000b, 0x00ff, 0xffff] {
        h.feed(control(77, ControlIn::Other { kind }));
        assert_eq!(
            h.transmit(),
            vec![Outgoing::Ack {
                msg_id: 77,
                code: code::UNSUPPORTED_METHOD
            }],
            "{kind:#x}"
        );
    }
    assert_eq!(h.conn.state(), State::Established);
}

#[test]
fn redirect_ends_the_connection_with_the_target() {
    let mut h = Harness::new();
    let handle = h.open(1);
    h.feed(control(
        3,
        ControlIn::Redirect {
            target: "other:8900".into(),
        },
    ));
    assert_eq!(
        h.conn.close_reason(),
        Some(&Disconnect::Redirected("other:8900".into()))
    );
    assert_eq!(h.local(), vec![LocalCommand::Close { handle }]);
}

#[test]
fn msg_ids_count_up_from_register() {
    let mut h = Harness::new();
    h.open(1);
    h.feed(control(1, ControlIn::GetStatus));
    h.feed(control(2, ControlIn::GetScanReport));
    let ids: Vec<u16> = h
        .transmit()
        .iter()
        .map(|m| match m {
            Outgoing::Status { msg_id, .. } | Outgoing::ScanReport { msg_id, .. } => *msg_id,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(ids, vec![1, 2]);
}

// ---- keepalive -------------------------------------------------------------------------

#[test]
fn ping_goes_out_after_the_interval_and_its_ack_rearms_it() {
    let mut h = Harness::new();
    let at = h.conn.poll_timeout().unwrap();
    assert_eq!(at, h.now + Duration::from_secs(20));
    h.conn.handle_timeout(at);
    let ping_id = match h.transmit().as_slice() {
        [Outgoing::Ping { msg_id }] => *msg_id,
        other => panic!("{other:?}"),
    };
    h.now = at;
    h.feed(control(ping_id, ControlIn::Ack { code: 0 }));
    assert_eq!(h.conn.poll_timeout(), Some(at + Duration::from_secs(20)));
}

#[test]
fn unanswered_ping_ends_the_connection() {
    let mut h = Harness::new();
    let at = h.conn.poll_timeout().unwrap();
    h.conn.handle_timeout(at);
    h.transmit();
    let deadline = h.conn.poll_timeout().unwrap();
    assert_eq!(deadline, at + Duration::from_secs(15));
    h.feed(control(999, ControlIn::Ack { code: 0 }));
    h.conn.handle_timeout(deadline);
    assert_eq!(
        h.conn.close_reason(),
        Some(&Disconnect::Timeout("no ACK to PING"))
    );
}

// ---- the nine session rules ------------------------------------------------------------

#[test]
fn rule1_connect_for_unknown_service_gets_hup() {
    let mut h = Harness::new();
    h.feed(control(
        1,
        ControlIn::Connect {
            svc_id: h.svc.wrapping_add(1),
            session: 5,
        },
    ));
    assert_eq!(hups(&h.transmit()), vec![(5, code::CONNECTION_ERROR)]);
    assert!(h.local().is_empty());
    assert_eq!(h.conn.active_sessions(), 0);
}

#[test]
fn rule2_connect_for_known_service_opens_a_local_connection() {
    let mut h = Harness::new();
    h.feed(control(
        1,
        ControlIn::Connect {
            svc_id: h.svc,
            session: 0xabcdef,
        },
    ));
    let cmds = h.local();
    assert!(matches!(
        cmds.as_slice(),
        [LocalCommand::Open { session: 0xabcdef, credit: 1000, addr, .. }] if addr.port() == 7
    ));
    assert!(h.transmit().is_empty());
    assert_eq!(h.conn.active_sessions(), 1);
}

#[test]
fn rule3_duplicate_connect_gets_hup_and_closes_the_old_session() {
    let mut h = Harness::new();
    let old = h.open(8);
    h.feed(control(
        1,
        ControlIn::Connect {
            svc_id: h.svc,
            session: 8,
        },
    ));
    assert_eq!(hups(&h.transmit()), vec![(8, code::CONNECTION_ERROR)]);
    assert_eq!(h.local(), vec![LocalCommand::Close { handle: old }]);
    assert_eq!(h.conn.active_sessions(), 0);
    // Data the service sent before it saw our HUP is dropped, not answered with a second
    // HUP (the id is a tombstone like any session we hung up).
    h.data(8, 10);
    assert!(h.transmit().is_empty());
    assert!(h.local().is_empty());
    // Both ends agree the id is free: a new CONNECT opens a fresh session.
    let new = h.open(8);
    assert_ne!(new, old);
}

#[test]
fn rule3_duplicate_connect_for_another_service_still_ends_the_old_session() {
    // Found by the proptest: answering "unknown service" alone would leave the old local
    // connection running while the service, seeing the HUP, considers the id free.
    let mut h = Harness::new();
    let old = h.open(8);
    h.feed(control(
        1,
        ControlIn::Connect {
            svc_id: h.svc.wrapping_add(1),
            session: 8,
        },
    ));
    assert_eq!(hups(&h.transmit()), vec![(8, code::CONNECTION_ERROR)]);
    assert_eq!(h.local(), vec![LocalCommand::Close { handle: old }]);
    assert_eq!(h.conn.active_sessions(), 0);
}

#[test]
fn rule4_data_for_unknown_session_gets_hup() {
    let mut h = Harness::new();
    h.data(31, 10);
    assert_eq!(hups(&h.transmit()), vec![(31, code::CONNECTION_ERROR)]);
    assert!(h.local().is_empty());
}

#[test]
fn rule4_data_racing_our_hup_is_dropped_not_hung_up_twice() {
    let mut h = Harness::new();
    let handle = h.open(3);
    h.conn.handle_local_closed(h.now, handle, true);
    assert_eq!(hups(&h.transmit()), vec![(3, 0)]);
    h.local();
    h.data(3, 10);
    assert!(
        h.transmit().is_empty(),
        "no second HUP for the same session"
    );
    // After the tombstone expires, the spec's rule applies again.
    h.now += TOMBSTONE_TTL;
    h.conn.handle_timeout(h.now);
    h.data(3, 10);
    assert_eq!(hups(&h.transmit()), vec![(3, code::CONNECTION_ERROR)]);
}

#[test]
fn a_refused_connect_is_hung_up_once_and_the_data_behind_it_dropped() {
    let mut h = Harness::new();
    // A CONNECT for a service we do not have, with data pipelined right behind it.
    h.feed(control(
        50,
        ControlIn::Connect {
            svc_id: h.svc.wrapping_add(1),
            session: 6,
        },
    ));
    h.data(6, 10);
    h.data(6, 10);
    assert_eq!(hups(&h.transmit()), vec![(6, code::CONNECTION_ERROR)]);
    assert!(h.local().is_empty());
    // The id is free again for a CONNECT the service means.
    let handle = h.open(6);
    h.data(6, 10);
    assert!(h.transmit().is_empty(), "the new session is not hung up");
    assert!(
        h.local()
            .iter()
            .any(|c| matches!(c, LocalCommand::Write { handle: w, .. } if *w == handle))
    );
}

#[test]
fn rule4_data_for_an_unknown_session_is_hung_up_once_not_per_message() {
    let mut h = Harness::new();
    h.data(31, 10);
    h.data(31, 10);
    h.data(31, 10);
    assert_eq!(hups(&h.transmit()), vec![(31, code::CONNECTION_ERROR)]);
}

#[test]
fn rule5_data_for_known_session_goes_to_its_local_connection() {
    let mut h = Harness::new();
    let a = h.open(1);
    let b = h.open(2);
    h.data(2, 3);
    h.data(1, 4);
    assert_eq!(
        h.local(),
        vec![
            LocalCommand::Write {
                handle: b,
                data: Bytes::from(vec![7; 3])
            },
            LocalCommand::Write {
                handle: a,
                data: Bytes::from(vec![7; 4])
            },
        ]
    );
}

#[test]
fn rule6_local_data_goes_out_with_svc_and_session_ids() {
    let mut h = Harness::new();
    let handle = h.open(0x123456);
    h.conn
        .handle_local_data(handle, Bytes::from_static(b"hello"))
        .unwrap();
    assert_eq!(
        h.transmit(),
        vec![Outgoing::Data {
            svc_id: h.svc,
            session: 0x123456,
            payload: Bytes::from_static(b"hello")
        }]
    );
}

#[test]
fn rule7_hup_from_service_closes_the_local_connection_after_queued_data() {
    let mut h = Harness::new();
    let handle = h.open(4);
    h.data(4, 5);
    h.feed(control(
        2,
        ControlIn::Hup {
            session: 4,
            code: 0,
        },
    ));
    assert_eq!(
        h.local(),
        vec![
            LocalCommand::Write {
                handle,
                data: Bytes::from(vec![7; 5])
            },
            LocalCommand::Close { handle },
        ],
        "data already received is written before the close"
    );
    assert!(h.transmit().is_empty(), "no HUP back");
    assert!(h.events().iter().any(|e| matches!(
        e,
        Event::SessionClosed {
            end: SessionEnd::ServiceHup(0),
            ..
        }
    )));
}

#[test]
fn rule8_local_clean_close_sends_hup_0_after_the_data() {
    let mut h = Harness::new();
    let handle = h.open(4);
    h.conn
        .handle_local_data(handle, Bytes::from_static(b"last"))
        .unwrap();
    h.conn.handle_local_closed(h.now, handle, true);
    let out = h.transmit();
    assert!(matches!(out[0], Outgoing::Data { .. }));
    assert_eq!(hups(&out[1..]), vec![(4, code::NO_ERROR)]);
    assert_eq!(h.local(), vec![LocalCommand::Close { handle }]);
}

#[test]
fn rule8_local_failure_sends_hup_3() {
    let mut h = Harness::new();
    let handle = h.open(4);
    h.conn.handle_local_closed(h.now, handle, false);
    assert_eq!(hups(&h.transmit()), vec![(4, code::CONNECTION_ERROR)]);
}

#[test]
fn hup_from_service_for_unknown_session_is_ignored() {
    let mut h = Harness::new();
    h.feed(control(
        2,
        ControlIn::Hup {
            session: 99,
            code: 0,
        },
    ));
    assert!(h.transmit().is_empty());
    assert!(h.local().is_empty());
}

#[test]
fn late_reports_from_an_old_local_connection_do_not_touch_a_reused_session_id() {
    let mut h = Harness::new();
    let old = h.open(6);
    h.feed(control(
        2,
        ControlIn::Hup {
            session: 6,
            code: 0,
        },
    ));
    h.local();
    let new = h.open(6);
    h.conn
        .handle_local_data(old, Bytes::from_static(b"stale"))
        .unwrap();
    h.conn.handle_local_closed(h.now, old, false);
    h.conn.handle_local_delivered(old, 10);
    assert!(h.transmit().is_empty());
    assert_eq!(h.conn.active_sessions(), 1);
    h.conn
        .handle_local_data(new, Bytes::from_static(b"fresh"))
        .unwrap();
    assert_eq!(h.transmit().len(), 1);
}

#[test]
fn session_limit_refuses_with_hup() {
    let config = ConnectionConfig {
        max_sessions: 1,
        capacity: 100,
        ..ConnectionConfig::default()
    };
    let t = table();
    let svc = t.services()[0].id;
    let mut conn = Connection::new(config, t);
    let now = Instant::now();
    conn.start(now);
    conn.handle_incoming(now, control(0, ControlIn::Ack { code: 0 }));
    conn.poll_transmit();
    conn.handle_incoming(
        now,
        control(
            1,
            ControlIn::Connect {
                svc_id: svc,
                session: 1,
            },
        ),
    );
    conn.handle_incoming(
        now,
        control(
            2,
            ControlIn::Connect {
                svc_id: svc,
                session: 2,
            },
        ),
    );
    let out: Vec<_> = std::iter::from_fn(|| conn.poll_transmit()).collect();
    assert_eq!(hups(&out), vec![(2, code::CONNECTION_ERROR)]);
}

/// The limit counts sockets, not sessions: one whose session ended but which is still
/// writing its last bytes holds a descriptor until the driver releases it.
#[test]
fn session_limit_counts_every_socket_until_the_driver_releases_it() {
    let mut h = Harness::new();
    h.conn.config.max_sessions = 2;
    let a = h.open(1);
    let _b = h.open(2);
    let svc = h.svc;
    let connect_known = |session| {
        control(
            61,
            ControlIn::Connect {
                svc_id: svc,
                session,
            },
        )
    };
    // Full: refused with the protocol's answer.
    h.feed(connect_known(3));
    assert_eq!(hups(&h.transmit()), vec![(3, code::CONNECTION_ERROR)]);
    assert_eq!(
        h.events(),
        vec![Event::Refused {
            session: 3,
            reason: "too many sessions"
        }]
    );
    // The service hangs up session 1: its socket is closing, still counted.
    h.feed(control(
        62,
        ControlIn::Hup {
            session: 1,
            code: 0,
        },
    ));
    assert_eq!(h.local(), vec![LocalCommand::Close { handle: a }]);
    h.events();
    assert_eq!((h.conn.active_sessions(), h.conn.sockets_in_use()), (1, 2));
    h.feed(connect_known(4));
    assert_eq!(hups(&h.transmit()), vec![(4, code::CONNECTION_ERROR)]);
    h.events();
    // Released: room again.
    h.conn.handle_local_released(a);
    assert_eq!(h.conn.sockets_in_use(), 1);
    h.feed(connect_known(5));
    assert!(hups(&h.transmit()).is_empty());
    assert!(matches!(
        h.local().as_slice(),
        [LocalCommand::Open { session: 5, .. }]
    ));
    // A release for a handle never closed, or twice, changes nothing.
    h.conn.handle_local_released(a);
    h.conn.handle_local_released(SessionHandle(999));
    assert_eq!(h.conn.sockets_in_use(), 2);
}

#[test]
fn the_session_limit_is_checked_at_parse_time() {
    let cases = [
        (1, Ok(1)),
        (256, Ok(256)),
        (16_384, Ok(16_384)),
        (0, Err("must be 1..=16384, not 0")),
        (-1, Err("must be 1..=16384, not -1")),
        (16_385, Err("must be 1..=16384, not 16385")),
    ];
    for (n, want) in cases {
        assert_eq!(
            ConnectionConfig::checked_max_sessions(n),
            want.map_err(String::from),
            "{n}"
        );
    }
    assert_eq!(ConnectionConfig::default().max_sessions, 256);
}

#[test]
fn disconnect_closes_every_local_connection() {
    let mut h = Harness::new();
    let a = h.open(1);
    let b = h.open(2);
    h.conn.close();
    let mut closed = h.local();
    closed.sort_by_key(|c| match c {
        LocalCommand::Close { handle } => *handle,
        _ => SessionHandle(u64::MAX),
    });
    assert_eq!(
        closed,
        vec![
            LocalCommand::Close { handle: a },
            LocalCommand::Close { handle: b }
        ]
    );
    assert_eq!(h.conn.active_sessions(), 0);
    h.feed(control(1, ControlIn::Ping));
    assert!(
        h.transmit().is_empty(),
        "nothing accepted once disconnected"
    );
}

// ---- flow control ----------------------------------------------------------------------

#[test]
fn data_up_to_the_window_is_accepted_one_more_byte_is_overrun() {
    let mut h = Harness::with_capacity(65_536);
    let handle = h.open(1);
    h.data(1, 65_536);
    assert!(h.transmit().is_empty());
    assert_eq!(h.local().len(), 1);
    h.data(1, 1);
    assert_eq!(hups(&h.transmit()), vec![(1, code::CONNECTION_ERROR)]);
    assert_eq!(h.local(), vec![LocalCommand::Close { handle }]);
    assert!(h.events().iter().any(|e| matches!(
        e,
        Event::SessionClosed {
            end: SessionEnd::Overrun,
            ..
        }
    )));
}

#[test]
fn one_oversize_message_is_overrun() {
    let mut h = Harness::with_capacity(100);
    h.open(1);
    h.data(1, 101);
    assert_eq!(hups(&h.transmit()), vec![(1, code::CONNECTION_ERROR)]);
}

#[test]
fn data_ack_is_sent_after_delivery_and_coalesced() {
    let mut h = Harness::with_capacity(1000);
    let handle = h.open(1);
    for _ in 0..10 {
        h.data(1, 100);
    }
    h.local();
    assert!(
        h.transmit().is_empty(),
        "nothing acknowledged before it reached the local service"
    );
    for _ in 0..10 {
        h.conn.handle_local_delivered(handle, 50);
    }
    let acks: Vec<u32> = h
        .transmit()
        .iter()
        .map(|m| match m {
            Outgoing::DataAck {
                session: 1, len, ..
            } => *len,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        acks,
        vec![150, 150, 150],
        "one DATA_ACK per eighth of the window, not per write"
    );
    // The acknowledged bytes reopened the window: 450 more fit, 451 do not.
    h.data(1, 450);
    assert!(h.transmit().is_empty());
    h.data(1, 1);
    assert_eq!(hups(&h.transmit()).len(), 1);
}

#[test]
fn local_reads_beyond_the_grant_are_refused() {
    let mut h = Harness::with_capacity(10);
    let handle = h.open(1);
    h.conn
        .handle_local_data(handle, Bytes::from(vec![1; 10]))
        .unwrap();
    let err = h
        .conn
        .handle_local_data(handle, Bytes::from(vec![1; 1]))
        .unwrap_err();
    assert!(matches!(err, UsageError::OverRead { available: 0, .. }));
}

#[test]
fn data_ack_from_service_grants_local_reads_clamped_to_in_flight() {
    let mut h = Harness::with_capacity(100);
    let handle = h.open(1);
    h.conn
        .handle_local_data(handle, Bytes::from(vec![1; 80]))
        .unwrap();
    h.transmit();
    h.feed(control(
        3,
        ControlIn::DataAck {
            session: 1,
            len: 30,
        },
    ));
    h.feed(control(
        4,
        ControlIn::DataAck {
            session: 1,
            len: 1_000_000,
        },
    ));
    h.feed(control(
        5,
        ControlIn::DataAck {
            session: 1,
            len: 10,
        },
    ));
    assert_eq!(
        h.local(),
        vec![
            LocalCommand::Grant { handle, bytes: 30 },
            LocalCommand::Grant { handle, bytes: 50 },
        ],
        "a service cannot inflate the window past the capacity"
    );
}

/// The silly-window case of issue 17: the service acknowledges what it received in small
/// pieces (600 bytes at a time), and the local source always has more. The DATA messages
/// do not shrink to the size of the pieces: at most one under 16 KiB per window.
#[test]
fn a_service_acking_in_small_pieces_gets_no_stream_of_small_data_messages() {
    let mut h = Harness::with_capacity(65_536);
    let handle = h.open(1);
    // What the local reader may read (the Open's credit, then the grants).
    let mut credit = 65_536u32;
    let mut unacked_at_service = 0u32;
    let mut sizes = Vec::new();
    for _ in 0..2_000 {
        // A fast source: the reader takes all its credit (at most 64 KiB a read).
        if credit > 0 {
            let n = credit.min(64 * 1024);
            credit -= n;
            h.conn
                .handle_local_data(handle, Bytes::from(vec![1; n as usize]))
                .unwrap();
        }
        for out in h.transmit() {
            if let Outgoing::Data { payload, .. } = out {
                sizes.push(payload.len());
                unacked_at_service += payload.len() as u32;
            }
        }
        // The service acknowledges 600 bytes (or what is left).
        let ack = unacked_at_service.min(600);
        if ack > 0 {
            unacked_at_service -= ack;
            h.feed(control(
                3,
                ControlIn::DataAck {
                    session: 1,
                    len: ack,
                },
            ));
        }
        for cmd in h.local() {
            if let LocalCommand::Grant { bytes, .. } = cmd {
                credit += bytes;
            }
        }
    }
    assert!(
        sizes.len() > 10,
        "the transfer went on: {} messages",
        sizes.len()
    );
    // At most one message under 16 KiB is in flight at a time (a window is 64 KiB): the
    // messages do not shrink to the size of the acknowledgement pieces.
    let small = sizes[1..].iter().filter(|&&n| n < 16 * 1024).count();
    let windows = sizes.iter().sum::<usize>() / 65_536;
    assert!(
        small <= windows,
        "{small} small messages in {windows} windows: {sizes:?}"
    );
    let average = sizes.iter().sum::<usize>() / sizes.len();
    assert!(average >= 12 * 1024, "average {average}");
}

#[test]
fn with_nothing_in_flight_a_small_local_read_goes_out_at_once() {
    let mut h = Harness::with_capacity(65_536);
    let handle = h.open(1);
    h.conn
        .handle_local_data(handle, Bytes::from_static(b"OPTIONS * RTSP/1.0\r\n\r\n"))
        .unwrap();
    assert!(matches!(
        h.transmit().as_slice(),
        [Outgoing::Data { payload, .. }] if payload.len() == 22
    ));
    // Acknowledged: the whole window is the reader's again, so the next small request
    // goes out at once too.
    h.feed(control(
        3,
        ControlIn::DataAck {
            session: 1,
            len: 24,
        },
    ));
    assert_eq!(h.local(), vec![LocalCommand::Grant { handle, bytes: 22 }]);
}

fn data_acks(out: &[Outgoing]) -> Vec<u32> {
    out.iter()
        .filter_map(|o| match o {
            Outgoing::DataAck { len, .. } => Some(*len),
            _ => None,
        })
        .collect()
}

#[test]
fn acks_are_coalesced_while_deliveries_lag_and_the_rest_goes_once_everything_is_delivered() {
    let mut h = Harness::with_capacity(65_536);
    let handle = h.open(1);
    // Ten messages of 1,000 bytes come before the local service takes any of them.
    for _ in 0..10 {
        h.data(1, 1_000);
    }
    let mut acks = Vec::new();
    for _ in 0..10 {
        h.conn.handle_local_delivered(handle, 1_000);
        acks.extend(data_acks(&h.transmit()));
    }
    assert_eq!(
        acks,
        vec![9_000, 1_000],
        "one past the threshold, then the tail of the burst"
    );
}

#[test]
fn bytes_not_yet_delivered_are_not_acknowledged() {
    let mut h = Harness::with_capacity(65_536);
    let handle = h.open(1);
    h.data(1, 300);
    h.conn.handle_local_delivered(handle, 100);
    assert!(
        data_acks(&h.transmit()).is_empty(),
        "200 bytes still on their way to the local service"
    );
    h.conn.handle_local_delivered(handle, 200);
    assert!(
        data_acks(&h.transmit()).is_empty(),
        "a lone 300-byte message: no DATA_ACK of its own"
    );
}

/// Over a WAN the DATA_ACKs of a window come in a burst: the sliver that ends it goes out
/// with them rather than wait a whole round trip for the next burst.
#[test]
fn the_sliver_that_ends_a_window_goes_out_with_its_burst() {
    let mut h = Harness::with_capacity(65_536);
    let handle = h.open(1);
    h.conn
        .handle_local_data(handle, Bytes::from(vec![1; 60_000]))
        .unwrap();
    h.conn
        .handle_local_data(handle, Bytes::from(vec![1; 5_536]))
        .unwrap();
    h.transmit();
    h.feed(control(
        3,
        ControlIn::DataAck {
            session: 1,
            len: 60_000,
        },
    ));
    h.feed(control(
        4,
        ControlIn::DataAck {
            session: 1,
            len: 5_536,
        },
    ));
    assert_eq!(
        h.local(),
        vec![
            LocalCommand::Grant {
                handle,
                bytes: 60_000
            },
            LocalCommand::Grant {
                handle,
                bytes: 5_536
            },
        ]
    );
}

#[test]
fn data_ack_for_unknown_session_is_ignored() {
    let mut h = Harness::new();
    h.feed(control(
        3,
        ControlIn::DataAck {
            session: 77,
            len: 5,
        },
    ));
    assert!(h.transmit().is_empty());
    assert!(h.local().is_empty());
}

// ---- keepalive in virtual time ---------------------------------------------------------

/// Runs the timers from `h.now` until `until`, answering every PING while `answering`.
fn run_timers(h: &mut Harness, until: Instant, answering: bool) {
    for _ in 0..10_000 {
        let Some(at) = h.conn.poll_timeout() else {
            return;
        };
        if at > until {
            h.now = until;
            return;
        }
        h.now = at;
        h.conn.handle_timeout(at);
        for out in h.transmit() {
            if let (true, Outgoing::Ping { msg_id }) = (answering, out) {
                h.feed(control(msg_id, ControlIn::Ack { code: 0 }));
            }
        }
        if h.conn.state() == State::Disconnected {
            return;
        }
    }
    panic!("timers never settled");
}

#[test]
fn defaults_notice_a_silent_service_within_40_seconds() {
    let mut h = Harness::new();
    // An hour of a service that answers: the connection stays.
    let start = h.now;
    run_timers(&mut h, start + Duration::from_secs(3600), true);
    assert_eq!(h.conn.state(), State::Established);
    // Then silence, starting at any point of the PING cycle.
    for offset in [0, 1, 7, 19, 20, 21, 34] {
        let mut h = Harness::new();
        let start = h.now;
        run_timers(&mut h, start + Duration::from_secs(offset), true);
        let silent_from = h.now;
        run_timers(&mut h, silent_from + Duration::from_secs(120), false);
        assert_eq!(
            h.conn.close_reason(),
            Some(&Disconnect::Timeout("no ACK to PING")),
            "offset {offset}"
        );
        let noticed = h.now - silent_from;
        assert!(
            noticed <= Duration::from_secs(40),
            "offset {offset}: {noticed:?}"
        );
    }
}

#[test]
fn default_timers_are_20_and_15_seconds() {
    let c = ConnectionConfig::default();
    assert_eq!(c.ping_interval, Duration::from_secs(20));
    assert_eq!(c.ping_timeout, Duration::from_secs(15));
    assert!(!c.gateway, "gateway mode is opt-in");
}

// ---- gateway mode ----------------------------------------------------------------------

fn remote_table() -> ServiceTable {
    let spec = ServiceSpec::host_port(ServiceKind::Tcp, "192.0.2.10:80").unwrap();
    ServiceTable::new(vec![(spec, "192.0.2.10:80".parse().unwrap())]).unwrap()
}

fn registered(config: ConnectionConfig, table: ServiceTable) -> (Connection, Instant) {
    let mut conn = Connection::new(config, table);
    let now = Instant::now();
    conn.start(now);
    conn.handle_incoming(now, control(0, ControlIn::Ack { code: 0 }));
    while conn.poll_transmit().is_some() {}
    while conn.poll_event().is_some() {}
    (conn, now)
}

#[test]
fn without_gateway_mode_a_service_on_another_host_is_refused_with_hup_3() {
    let table = remote_table();
    let svc_id = table.services()[0].id;
    let (mut conn, now) = registered(ConnectionConfig::default(), table);
    conn.handle_incoming(now, control(1, ControlIn::Connect { svc_id, session: 4 }));
    let out: Vec<_> = std::iter::from_fn(|| conn.poll_transmit()).collect();
    assert_eq!(hups(&out), vec![(4, code::CONNECTION_ERROR)]);
    assert_eq!(conn.poll_local(), None, "no local connection is made");
    assert!(matches!(
        conn.poll_event(),
        Some(Event::Refused { session: 4, reason }) if reason.contains("gateway")
    ));
}

#[test]
fn with_gateway_mode_a_service_on_another_host_is_opened() {
    let table = remote_table();
    let svc_id = table.services()[0].id;
    let config = ConnectionConfig {
        gateway: true,
        ..ConnectionConfig::default()
    };
    let (mut conn, now) = registered(config, table);
    conn.handle_incoming(now, control(1, ControlIn::Connect { svc_id, session: 4 }));
    assert!(matches!(
        conn.poll_local(),
        Some(LocalCommand::Open { session: 4, .. })
    ));
}

// ---- service table: UPDATE and RESET_SVC_TABLE -----------------------------------------

fn two_services() -> ServiceTable {
    let a = ServiceSpec::host_port(ServiceKind::Tcp, "127.0.0.1:7").unwrap();
    let b = ServiceSpec::host_port(ServiceKind::Http, "127.0.0.1:80").unwrap();
    ServiceTable::new(vec![
        (a, "127.0.0.1:7".parse().unwrap()),
        (b, "127.0.0.1:80".parse().unwrap()),
    ])
    .unwrap()
}

#[test]
fn a_new_table_is_sent_with_update_and_used_for_later_connects() {
    let mut h = Harness::new();
    let old = h.svc;
    let table = two_services();
    let http = table
        .services()
        .iter()
        .find(|s| s.kind == ServiceKind::Http)
        .unwrap()
        .id;
    h.conn.update_table(table.clone());
    assert!(matches!(
        h.transmit().as_slice(),
        [Outgoing::Update { table: t, .. }] if *t == table
    ));
    assert_eq!(
        h.events(),
        vec![Event::TableUpdated {
            services: 2,
            reset: false
        }]
    );
    h.feed(control(
        5,
        ControlIn::Connect {
            svc_id: http,
            session: 8,
        },
    ));
    assert!(matches!(
        h.local().as_slice(),
        [LocalCommand::Open { session: 8, .. }]
    ));
    let _ = old;
}

#[test]
fn a_table_given_during_the_handshake_is_sent_right_after_the_ack() {
    let mut conn = Connection::new(ConnectionConfig::default(), table());
    let now = Instant::now();
    conn.start(now);
    assert_eq!(conn.poll_transmit(), Some(Outgoing::Register { msg_id: 0 }));
    conn.update_table(two_services());
    assert_eq!(
        conn.poll_transmit(),
        None,
        "nothing but REGISTER before its ACK"
    );
    conn.handle_incoming(now, control(0, ControlIn::Ack { code: 0 }));
    assert!(
        matches!(conn.poll_transmit(), Some(Outgoing::Update { msg_id: 1, table }) if table.len() == 2)
    );
}

#[test]
fn reset_svc_table_sends_update_with_the_configured_table() {
    let mut h = Harness::new();
    h.conn.update_table(two_services());
    h.transmit();
    h.events();
    h.feed(control(9, ControlIn::ResetSvcTable));
    assert!(matches!(
        h.transmit().as_slice(),
        [Outgoing::Update { table, .. }] if *table == two_services()
    ));
    assert_eq!(
        h.events(),
        vec![Event::TableUpdated {
            services: 2,
            reset: true
        }]
    );
    assert_eq!(h.conn.state(), State::Established);
}

// ---- orderly shutdown ------------------------------------------------------------------

#[test]
fn shutdown_hangs_up_flushed_sessions_with_hup_0_and_ends_the_connection() {
    let mut h = Harness::new();
    let a = h.open(1);
    let b = h.open(2);
    h.conn.shutdown(h.now);
    let out = h.transmit();
    assert_eq!(hups(&out), vec![(1, 0), (2, 0)]);
    let mut closed = h.local();
    closed.sort_by_key(|c| format!("{c:?}"));
    assert_eq!(
        closed,
        vec![
            LocalCommand::Close { handle: a },
            LocalCommand::Close { handle: b }
        ]
    );
    assert_eq!(h.conn.close_reason(), Some(&Disconnect::Shutdown));
}

#[test]
fn shutdown_waits_for_received_bytes_to_reach_the_local_service() {
    let mut h = Harness::new();
    let a = h.open(1);
    h.data(1, 300);
    h.local();
    h.conn.shutdown(h.now);
    assert_eq!(h.conn.state(), State::Draining);
    assert!(
        hups(&h.transmit()).is_empty(),
        "not before the bytes are delivered"
    );
    // Meanwhile: a CONNECT is refused, local bytes still go out.
    h.feed(control(
        7,
        ControlIn::Connect {
            svc_id: h.svc,
            session: 3,
        },
    ));
    assert_eq!(hups(&h.transmit()), vec![(3, code::CONNECTION_ERROR)]);
    h.conn
        .handle_local_data(a, Bytes::from_static(b"last words"))
        .unwrap();
    assert!(matches!(
        h.transmit().as_slice(),
        [Outgoing::Data { session: 1, .. }]
    ));
    h.conn.handle_local_delivered(a, 200);
    assert!(hups(&h.transmit()).is_empty());
    h.conn.handle_local_delivered(a, 100);
    assert_eq!(hups(&h.transmit()), vec![(1, 0)]);
    assert_eq!(h.local(), vec![LocalCommand::Close { handle: a }]);
    assert_eq!(h.conn.close_reason(), Some(&Disconnect::Shutdown));
}

#[test]
fn shutdown_grace_running_out_hangs_up_with_hup_3() {
    let mut h = Harness::new();
    h.open(1);
    h.data(1, 10);
    h.conn.shutdown(h.now);
    let grace = h.now + ConnectionConfig::default().shutdown_grace;
    assert_eq!(h.conn.poll_timeout(), Some(grace));
    h.conn.handle_timeout(grace);
    assert_eq!(hups(&h.transmit()), vec![(1, code::CONNECTION_ERROR)]);
    assert_eq!(h.conn.close_reason(), Some(&Disconnect::Shutdown));
}

#[test]
fn shutdown_before_registration_ends_at_once() {
    let mut conn = Connection::new(ConnectionConfig::default(), table());
    let now = Instant::now();
    conn.start(now);
    conn.shutdown(now);
    assert_eq!(conn.close_reason(), Some(&Disconnect::Shutdown));
    assert_eq!(conn.poll_timeout(), None);
}

#[test]
fn byte_totals_count_both_directions_across_sessions() {
    let mut h = Harness::new();
    let a = h.open(1);
    h.open(2);
    h.data(1, 100);
    h.data(2, 50);
    h.conn
        .handle_local_data(a, Bytes::from_static(b"12345"))
        .unwrap();
    assert_eq!((h.conn.bytes_up(), h.conn.bytes_down()), (5, 150));
}
