//! Random sequences of service and local events against a model of both ends.
//!
//! Invariants checked after every step:
//! - never more than the window in flight in either direction;
//! - every byte is delivered once and in order, both ways;
//! - every session ends with exactly one HUP (ours or the service's), and every local
//!   connection opened is closed exactly once, with no command after its close.

use std::collections::HashMap;
use std::time::Duration;

use bytes::Bytes;
use proptest::prelude::*;

use super::tests::{Harness, control};
use super::*;
use crate::message::{ControlIn, Incoming, Outgoing};

const CAPACITY: u32 = 64;

#[derive(Debug, Clone)]
enum Op {
    Connect { sid: u32, known: bool },
    ServiceData { sid: u32, len: u32 },
    ServiceHup { sid: u32 },
    ServiceAck { sid: u32, len: u32 },
    LocalRead { sid: u32, len: u32 },
    LocalDeliver { sid: u32, len: u32 },
    LocalClose { sid: u32, clean: bool },
    Tick { secs: u64 },
}

fn op() -> impl Strategy<Value = Op> {
    let sid = 0u32..4;
    prop_oneof![
        (sid.clone(), prop::bool::weighted(0.9))
            .prop_map(|(sid, known)| Op::Connect { sid, known }),
        (sid.clone(), 0u32..=CAPACITY + 8).prop_map(|(sid, len)| Op::ServiceData { sid, len }),
        sid.clone().prop_map(|sid| Op::ServiceHup { sid }),
        (sid.clone(), 0u32..=CAPACITY).prop_map(|(sid, len)| Op::ServiceAck { sid, len }),
        (sid.clone(), 1u32..=CAPACITY).prop_map(|(sid, len)| Op::LocalRead { sid, len }),
        (sid.clone(), 1u32..=CAPACITY).prop_map(|(sid, len)| Op::LocalDeliver { sid, len }),
        (sid, any::<bool>()).prop_map(|(sid, clean)| Op::LocalClose { sid, clean }),
        (0u64..20).prop_map(|secs| Op::Tick { secs }),
    ]
}

/// One local connection as the driver sees it.
#[derive(Default)]
struct Local {
    credit: u32,
    read: Vec<u8>,
    written: Vec<u8>,
    /// Written to the "socket" (delivered) so far.
    delivered: usize,
    closed: bool,
}

/// One session as the service sees it (one lifecycle: from its CONNECT to a HUP).
#[derive(Default)]
struct ServiceSide {
    live: bool,
    /// The local connection the client opened for it, if any.
    handle: Option<SessionHandle>,
    /// Bytes it may still send (its view of our receive window).
    credit: u32,
    /// Bytes it sent within the window.
    sent: Vec<u8>,
    /// Bytes it received from us and has not acknowledged.
    unacked: u32,
    received: Vec<u8>,
    hups: u32,
}

struct Model {
    h: Harness,
    locals: HashMap<SessionHandle, Local>,
    current: HashMap<u32, SessionHandle>,
    service: HashMap<u32, ServiceSide>,
    pattern: u8,
}

impl Model {
    fn next_bytes(&mut self, len: u32) -> Vec<u8> {
        (0..len)
            .map(|_| {
                self.pattern = self.pattern.wrapping_add(1);
                self.pattern
            })
            .collect()
    }

    /// A lifecycle is over (or the test is): check it end to end.
    fn check_lifecycle(&self, side: &ServiceSide) {
        if side.live {
            assert_eq!(side.hups, 0);
        } else {
            assert_eq!(side.hups, 1, "a session ends with exactly one HUP");
        }
        if let Some(handle) = side.handle {
            let local = &self.locals[&handle];
            assert_eq!(local.written, side.sent, "downstream bytes: once, in order");
            assert_eq!(local.read, side.received, "upstream bytes: once, in order");
        }
    }

    fn apply(&mut self, op: Op) {
        let svc = self.h.svc;
        match op {
            Op::Connect { sid, known } => {
                let svc_id = if known { svc } else { svc.wrapping_add(1) };
                if let Some(old) = self.service.remove(&sid) {
                    if old.live {
                        // A duplicate CONNECT: rule 3 ends the old one with a HUP.
                        self.service.insert(sid, old);
                        self.h.feed(control(
                            1,
                            ControlIn::Connect {
                                svc_id,
                                session: sid,
                            },
                        ));
                        self.drain();
                        let old = self.service.remove(&sid).unwrap();
                        assert!(!old.live, "a duplicate CONNECT ends the old session");
                        self.check_lifecycle(&old);
                        return;
                    }
                    self.check_lifecycle(&old);
                }
                self.service.insert(
                    sid,
                    ServiceSide {
                        live: true,
                        credit: CAPACITY,
                        ..ServiceSide::default()
                    },
                );
                self.h.feed(control(
                    1,
                    ControlIn::Connect {
                        svc_id,
                        session: sid,
                    },
                ));
            }
            Op::ServiceData { sid, len } => {
                let data = self.next_bytes(len);
                if let Some(side) = self
                    .service
                    .get_mut(&sid)
                    .filter(|s| s.live && len <= s.credit)
                {
                    side.sent.extend_from_slice(&data);
                    side.credit -= len;
                }
                self.h.feed(Incoming::Data {
                    svc_id: svc,
                    session: sid,
                    payload: Bytes::from(data),
                });
            }
            Op::ServiceHup { sid } => {
                if let Some(side) = self.service.get_mut(&sid).filter(|s| s.live) {
                    side.live = false;
                    side.hups += 1;
                }
                self.h.feed(control(
                    2,
                    ControlIn::Hup {
                        session: sid,
                        code: 0,
                    },
                ));
            }
            Op::ServiceAck { sid, len } => {
                let Some(side) = self.service.get_mut(&sid).filter(|s| s.live) else {
                    return;
                };
                let len = len.min(side.unacked);
                side.unacked -= len;
                self.h
                    .feed(control(3, ControlIn::DataAck { session: sid, len }));
            }
            Op::LocalRead { sid, len } => {
                let Some(&handle) = self.current.get(&sid) else {
                    return;
                };
                let len = len.min(self.locals[&handle].credit);
                if len == 0 {
                    return;
                }
                let data = self.next_bytes(len);
                let local = self.locals.get_mut(&handle).unwrap();
                local.credit -= len;
                local.read.extend_from_slice(&data);
                self.h
                    .conn
                    .handle_local_data(handle, Bytes::from(data))
                    .expect("within the grant");
            }
            Op::LocalDeliver { sid, len } => {
                let Some(&handle) = self.current.get(&sid) else {
                    return;
                };
                let local = self.locals.get_mut(&handle).unwrap();
                let n = (len as usize).min(local.written.len() - local.delivered);
                if n == 0 {
                    return;
                }
                local.delivered += n;
                self.h.conn.handle_local_delivered(handle, n as u32);
            }
            Op::LocalClose { sid, clean } => {
                let Some(&handle) = self.current.get(&sid) else {
                    return;
                };
                self.h.conn.handle_local_closed(self.h.now, handle, clean);
            }
            Op::Tick { secs } => {
                self.h.now += Duration::from_secs(secs);
                self.h.conn.handle_timeout(self.h.now);
            }
        }
        self.drain();
    }

    fn drain(&mut self) {
        for out in self.h.transmit() {
            match out {
                Outgoing::Ping { msg_id } => {
                    self.h.feed(control(msg_id, ControlIn::Ack { code: 0 }));
                }
                Outgoing::Data {
                    session, payload, ..
                } => {
                    let side = self
                        .service
                        .get_mut(&session)
                        .expect("data only for sessions the service opened");
                    assert!(side.live, "data for a session after its HUP");
                    side.received.extend_from_slice(&payload);
                    side.unacked += payload.len() as u32;
                    assert!(
                        side.unacked <= CAPACITY,
                        "more than the window in flight upstream"
                    );
                }
                Outgoing::DataAck { session, len, .. } => {
                    let side = self
                        .service
                        .get_mut(&session)
                        .expect("ack for a known session");
                    assert!(side.live, "DATA_ACK after the session ended");
                    side.credit += len;
                    assert!(side.credit <= CAPACITY, "acknowledged more than was sent");
                }
                Outgoing::Hup { session, .. } => {
                    if let Some(side) = self.service.get_mut(&session).filter(|s| s.live) {
                        side.live = false;
                        side.hups += 1;
                    }
                }
                Outgoing::Ack { .. }
                | Outgoing::Status { .. }
                | Outgoing::ScanReport { .. }
                | Outgoing::Update { .. }
                | Outgoing::Register { .. } => {}
            }
        }
        for cmd in self.h.local() {
            match cmd {
                LocalCommand::Open {
                    handle,
                    session,
                    credit,
                    ..
                } => {
                    assert!(!self.locals.contains_key(&handle), "handle reused");
                    assert!(
                        !self.current.contains_key(&session),
                        "two live connections for one session"
                    );
                    assert_eq!(credit, CAPACITY);
                    self.locals.insert(
                        handle,
                        Local {
                            credit,
                            ..Local::default()
                        },
                    );
                    self.current.insert(session, handle);
                    let side = self.service.get_mut(&session).expect("opened by a CONNECT");
                    assert!(side.handle.is_none());
                    side.handle = Some(handle);
                }
                LocalCommand::Write { handle, data } => {
                    let local = self
                        .locals
                        .get_mut(&handle)
                        .expect("write to an opened connection");
                    assert!(!local.closed, "write after close");
                    local.written.extend_from_slice(&data);
                    let queued = local.written.len() - local.delivered;
                    assert!(
                        queued <= CAPACITY as usize,
                        "more than the window queued downstream"
                    );
                }
                LocalCommand::Grant { handle, bytes } => {
                    let local = self
                        .locals
                        .get_mut(&handle)
                        .expect("grant to an opened connection");
                    assert!(!local.closed, "grant after close");
                    local.credit += bytes;
                    assert!(local.credit <= CAPACITY, "granted more than the window");
                }
                LocalCommand::Close { handle } => {
                    let local = self
                        .locals
                        .get_mut(&handle)
                        .expect("close of an opened connection");
                    assert!(!local.closed, "closed twice");
                    local.closed = true;
                    self.current.retain(|_, h| *h != handle);
                }
            }
        }
        self.h.events();
        // The client's table and the service's view agree on which sessions are live.
        for (sid, handle) in &self.current {
            assert!(
                self.service
                    .get(sid)
                    .is_some_and(|s| s.live && s.handle == Some(*handle))
            );
        }
    }

    fn finish(self) {
        for side in self.service.values() {
            self.check_lifecycle(side);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn random_event_sequences_keep_the_invariants(ops in prop::collection::vec(op(), 1..120)) {
        let mut model = Model {
            h: Harness::with_capacity(CAPACITY),
            locals: HashMap::new(),
            current: HashMap::new(),
            service: HashMap::new(),
            pattern: 0,
        };
        for op in ops {
            model.apply(op);
        }
        model.finish();
    }
}
