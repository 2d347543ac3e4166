//! The sans-IO connection core: handshake, control answers, the session table and flow
//! control. It never touches a socket or a clock.
//!
//! # Driving it
//!
//! - Inputs: [`Connection::start`] once, [`handle_incoming`](Connection::handle_incoming)
//!   for each message from the Arrow Service, the `handle_local_*` methods for what happened
//!   on a local socket, [`handle_timeout`](Connection::handle_timeout) when the deadline
//!   from [`poll_timeout`](Connection::poll_timeout) passes. Each takes `now`.
//! - Outputs, drained after every input in this order: [`poll_transmit`](Connection::poll_transmit)
//!   (messages to write to the service, in order), [`poll_local`](Connection::poll_local)
//!   (commands for local sockets), [`poll_event`](Connection::poll_event) (things worth
//!   reporting), then [`poll_timeout`](Connection::poll_timeout) and
//!   [`close_reason`](Connection::close_reason).
//!
//! # The session rules (the spec's nine, and what it leaves open)
//!
//! 1. CONNECT for an unknown service: HUP 3 with that session id.
//! 2. CONNECT for a known service and a new session id: [`LocalCommand::Open`].
//! 3. CONNECT for a session id already in use: HUP 3, and the old local connection is closed
//!    too, so both ends agree the id is free.
//! 4. Data for an unknown session: HUP 3. Data for a session this client hung up in the
//!    last [`TOMBSTONE_TTL`] is dropped silently instead: the service sent it before our HUP
//!    reached it, and a second HUP would end the session twice.
//! 5. Data for a known session: [`LocalCommand::Write`].
//! 6. Local bytes go out as data messages with the session's service and session ids.
//! 7. HUP from the service: [`LocalCommand::Close`]; the local connection gets everything
//!    already received before it is closed.
//! 8. Local close: HUP 0 when clean, 3 on a failure, after every byte read was sent.
//!
//! # Flow control
//!
//! Each session has a [`SendWindow`] and a [`RecvWindow`] of the declared capacity. Data
//! over the receive window is an overrun: HUP 3 and close. The driver may read from a local
//! socket only as many bytes as it was granted ([`LocalCommand::Open`]'s `credit` plus every
//! [`LocalCommand::Grant`]); that is the backpressure that keeps memory bounded.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::ProtocolViolation;
use crate::flow::{RecvWindow, SendWindow};
use crate::message::{ControlIn, Incoming, Outgoing, code};
use crate::service_table::ServiceTable;

/// How long a session this client hung up is remembered, to drop data still in flight.
pub const TOMBSTONE_TTL: Duration = Duration::from_secs(10);
/// At most this many hung-up sessions are remembered.
const MAX_TOMBSTONES: usize = 4096;

/// Timing and limits of a connection.
#[derive(Debug, Clone)]
pub struct ConnectionConfig {
    /// Session capacity in bytes, both directions (REGISTER's window_size + 1): 1..=65,536.
    pub capacity: u32,
    /// How long to wait for the ACK of REGISTER.
    pub handshake_timeout: Duration,
    /// Idle time between our PINGs.
    pub ping_interval: Duration,
    /// How long to wait for the ACK of a PING.
    pub ping_timeout: Duration,
    /// Sessions allowed at once; a CONNECT over the limit is answered with HUP 3.
    pub max_sessions: usize,
}

impl Default for ConnectionConfig {
    fn default() -> Self {
        ConnectionConfig {
            capacity: 65_536,
            handshake_timeout: Duration::from_secs(20),
            ping_interval: Duration::from_secs(30),
            ping_timeout: Duration::from_secs(20),
            max_sessions: 16_384,
        }
    }
}

/// Identifies one local connection. Session ids can be reused by the service as soon as a
/// session ends; handles never are, so a late report from an old local socket cannot touch a
/// new session with the same id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionHandle(pub u64);

/// What the driver must do with local sockets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LocalCommand {
    /// Connect to `addr` for a new session; it may read up to `credit` bytes.
    Open {
        /// The new local connection.
        handle: SessionHandle,
        /// The session id.
        session: u32,
        /// The service id.
        svc_id: u16,
        /// Where to connect.
        addr: SocketAddr,
        /// Bytes it may read before the next [`LocalCommand::Grant`].
        credit: u32,
    },
    /// Write these bytes to the local connection, after those before.
    Write {
        /// The local connection.
        handle: SessionHandle,
        /// The bytes.
        data: Bytes,
    },
    /// The local connection may read this many more bytes.
    Grant {
        /// The local connection.
        handle: SessionHandle,
        /// Bytes.
        bytes: u32,
    },
    /// Stop reading, write what is queued, then close the local connection.
    Close {
        /// The local connection.
        handle: SessionHandle,
    },
}

/// Who ended a session and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionEnd {
    /// The local service closed it cleanly (we sent HUP 0).
    LocalClosed,
    /// The local connection failed or could not be made (we sent HUP 3).
    LocalFailed,
    /// The service hung up with this code.
    ServiceHup(u32),
    /// The service sent more than the window (we sent HUP 3).
    Overrun,
    /// A second CONNECT for the same id (we sent HUP 3).
    DuplicateConnect,
    /// The connection to the service ended.
    Disconnected,
}

impl SessionEnd {
    /// A short name for logs and JSON.
    pub fn name(self) -> &'static str {
        match self {
            SessionEnd::LocalClosed => "local_closed",
            SessionEnd::LocalFailed => "local_failed",
            SessionEnd::ServiceHup(_) => "service_hup",
            SessionEnd::Overrun => "window_overrun",
            SessionEnd::DuplicateConnect => "duplicate_connect",
            SessionEnd::Disconnected => "disconnected",
        }
    }
}

/// Things worth reporting.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// The service accepted REGISTER.
    Registered,
    /// A session started.
    SessionOpened {
        /// Session id.
        session: u32,
        /// Service id.
        svc_id: u16,
        /// Local address.
        addr: SocketAddr,
    },
    /// A session ended.
    SessionClosed {
        /// Session id.
        session: u32,
        /// Service id.
        svc_id: u16,
        /// Why.
        end: SessionEnd,
        /// Bytes sent to the service.
        bytes_up: u64,
        /// Bytes received from the service.
        bytes_down: u64,
    },
    /// A CONNECT or data message was refused with HUP 3 (unknown service or session,
    /// session limit).
    Refused {
        /// Session id.
        session: u32,
        /// Why.
        reason: &'static str,
    },
    /// A control message the client does not support was answered with UNSUPPORTED_METHOD.
    Unsupported {
        /// The message type.
        kind: String,
    },
}

/// Why the connection ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Disconnect {
    /// REGISTER was refused with this ACK code.
    Refused(u32),
    /// The service broke the protocol.
    Violation(ProtocolViolation),
    /// No answer in time (handshake or PING).
    Timeout(&'static str),
    /// The service redirected us.
    Redirected(String),
    /// The driver closed it (transport ended).
    Closed,
}

/// The connection's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Not started yet.
    Idle,
    /// REGISTER sent, waiting for its ACK.
    Handshake,
    /// Registered: sessions run.
    Established,
    /// Ended; see [`Connection::close_reason`].
    Disconnected,
}

/// Misuse of the core by its driver (a bug, never caused by the peer).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UsageError {
    /// The driver read more local bytes than it was granted.
    #[error("session {session}: {len} bytes read locally, {available} granted")]
    OverRead {
        /// Session id.
        session: u32,
        /// Bytes offered.
        len: u32,
        /// Bytes granted.
        available: u32,
    },
}

#[derive(Debug)]
struct Session {
    svc_id: u16,
    handle: SessionHandle,
    send: SendWindow,
    recv: RecvWindow,
    bytes_up: u64,
    bytes_down: u64,
}

/// The client side of one Arrow connection, without I/O.
#[derive(Debug)]
pub struct Connection {
    config: ConnectionConfig,
    table: ServiceTable,
    state: State,
    close_reason: Option<Disconnect>,
    next_msg_id: u16,
    next_handle: u64,
    sessions: HashMap<u32, Session>,
    by_handle: HashMap<SessionHandle, u32>,
    tombstones: HashMap<u32, Instant>,
    tombstone_order: VecDeque<(u32, Instant)>,
    handshake_deadline: Option<Instant>,
    next_ping: Option<Instant>,
    ping_outstanding: Option<(u16, Instant)>,
    transmit: VecDeque<Outgoing>,
    local: VecDeque<LocalCommand>,
    events: VecDeque<Event>,
}

impl Connection {
    /// A connection for this service table, not started.
    pub fn new(config: ConnectionConfig, table: ServiceTable) -> Self {
        assert!(
            (1..=65_536).contains(&config.capacity),
            "capacity must be 1..=65536 (window_size + 1)"
        );
        Connection {
            config,
            table,
            state: State::Idle,
            close_reason: None,
            next_msg_id: 0,
            next_handle: 0,
            sessions: HashMap::new(),
            by_handle: HashMap::new(),
            tombstones: HashMap::new(),
            tombstone_order: VecDeque::new(),
            handshake_deadline: None,
            next_ping: None,
            ping_outstanding: None,
            transmit: VecDeque::new(),
            local: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &ConnectionConfig {
        &self.config
    }

    /// The service table.
    pub fn table(&self) -> &ServiceTable {
        &self.table
    }

    /// The state.
    pub fn state(&self) -> State {
        self.state
    }

    /// Why the connection ended, once it has.
    pub fn close_reason(&self) -> Option<&Disconnect> {
        self.close_reason.as_ref()
    }

    /// Sessions open now.
    pub fn active_sessions(&self) -> usize {
        self.sessions.len()
    }

    /// Sends REGISTER (msg_id 0) and starts the handshake timer.
    pub fn start(&mut self, now: Instant) {
        if self.state != State::Idle {
            return;
        }
        let msg_id = self.msg_id();
        self.transmit.push_back(Outgoing::Register { msg_id });
        self.state = State::Handshake;
        self.handshake_deadline = Some(now + self.config.handshake_timeout);
    }

    /// The next message to write to the service.
    pub fn poll_transmit(&mut self) -> Option<Outgoing> {
        self.transmit.pop_front()
    }

    /// The next command for a local socket.
    pub fn poll_local(&mut self) -> Option<LocalCommand> {
        self.local.pop_front()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) must be called next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.state == State::Disconnected {
            return None;
        }
        [
            self.handshake_deadline,
            self.next_ping,
            self.ping_outstanding.map(|(_, at)| at),
            self.tombstone_order.front().map(|(_, at)| *at),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Runs the timers due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.expire_tombstones(now);
        match self.state {
            State::Handshake => {
                if self.handshake_deadline.is_some_and(|at| now >= at) {
                    self.disconnect(Disconnect::Timeout("no ACK to REGISTER"));
                }
            }
            State::Established => {
                if self.ping_outstanding.is_some_and(|(_, at)| now >= at) {
                    self.disconnect(Disconnect::Timeout("no ACK to PING"));
                    return;
                }
                if self.ping_outstanding.is_none() && self.next_ping.is_some_and(|at| now >= at) {
                    let msg_id = self.msg_id();
                    self.transmit.push_back(Outgoing::Ping { msg_id });
                    self.ping_outstanding = Some((msg_id, now + self.config.ping_timeout));
                    self.next_ping = None;
                }
            }
            State::Idle | State::Disconnected => {}
        }
    }

    /// Ends the connection from our side (the transport broke or the user stopped); every
    /// local connection is closed.
    pub fn close(&mut self) {
        self.disconnect(Disconnect::Closed);
    }

    /// Handles one message from the Arrow Service.
    pub fn handle_incoming(&mut self, now: Instant, message: Incoming) {
        match self.state {
            State::Idle | State::Disconnected => {}
            State::Handshake => self.handle_in_handshake(now, message),
            State::Established => match message {
                Incoming::Data {
                    svc_id: _,
                    session,
                    payload,
                } => self.handle_data(now, session, payload),
                Incoming::Control { msg_id, body } => self.handle_control(now, msg_id, body),
            },
        }
    }

    /// The message was a protocol violation the codec caught (bad version, oversize or
    /// malformed body): the connection ends.
    pub fn handle_violation(&mut self, violation: ProtocolViolation) {
        self.disconnect(Disconnect::Violation(violation));
    }

    fn handle_in_handshake(&mut self, now: Instant, message: Incoming) {
        match message {
            Incoming::Control {
                msg_id: 0,
                body: ControlIn::Ack { code },
            } => {
                self.handshake_deadline = None;
                if code == code::NO_ERROR {
                    self.state = State::Established;
                    self.next_ping = Some(now + self.config.ping_interval);
                    self.events.push_back(Event::Registered);
                } else {
                    self.disconnect(Disconnect::Refused(code));
                }
            }
            Incoming::Control { msg_id, body } => {
                let got = match body {
                    ControlIn::Ack { .. } => format!("ACK of msg_id {msg_id}"),
                    other => other.name(),
                };
                self.disconnect(Disconnect::Violation(
                    ProtocolViolation::UnexpectedInHandshake { got },
                ));
            }
            Incoming::Data { session, .. } => {
                self.disconnect(Disconnect::Violation(
                    ProtocolViolation::UnexpectedInHandshake {
                        got: format!("data for session {session}"),
                    },
                ));
            }
        }
    }

    fn handle_control(&mut self, now: Instant, msg_id: u16, body: ControlIn) {
        match body {
            ControlIn::Ping => self.transmit.push_back(Outgoing::Ack {
                msg_id,
                code: code::NO_ERROR,
            }),
            ControlIn::Ack { .. } => {
                if self.ping_outstanding.is_some_and(|(id, _)| id == msg_id) {
                    self.ping_outstanding = None;
                    self.next_ping = Some(now + self.config.ping_interval);
                }
            }
            ControlIn::GetStatus => {
                let id = self.msg_id();
                self.transmit.push_back(Outgoing::Status {
                    msg_id: id,
                    request_id: msg_id,
                    flags: 0,
                    active_sessions: u32::try_from(self.sessions.len()).unwrap_or(u32::MAX),
                });
            }
            ControlIn::GetScanReport => {
                let id = self.msg_id();
                self.transmit.push_back(Outgoing::ScanReport {
                    msg_id: id,
                    request_id: msg_id,
                });
            }
            // No scanner: nothing to scan, nothing discovered to forget.
            ControlIn::ScanNetwork | ControlIn::ResetSvcTable => {}
            ControlIn::Redirect { target } => self.disconnect(Disconnect::Redirected(target)),
            ControlIn::Hup { session, code } => self.handle_service_hup(session, code),
            ControlIn::DataAck { session, len } => {
                if let Some(s) = self.sessions.get_mut(&session) {
                    let granted = s.send.acknowledge(len);
                    if granted > 0 {
                        self.local.push_back(LocalCommand::Grant {
                            handle: s.handle,
                            bytes: granted,
                        });
                    }
                }
            }
            ControlIn::Connect { svc_id, session } => self.handle_connect(now, svc_id, session),
            ControlIn::Other { kind } => {
                self.transmit.push_back(Outgoing::Ack {
                    msg_id,
                    code: code::UNSUPPORTED_METHOD,
                });
                self.events.push_back(Event::Unsupported {
                    kind: ControlIn::Other { kind }.name(),
                });
            }
        }
    }

    fn handle_connect(&mut self, now: Instant, svc_id: u16, session: u32) {
        if self.sessions.contains_key(&session) {
            // Rule 3, and both ends agree the id is now free: the old session ends too. This
            // comes first: a HUP for the id ends the old session on the service's side
            // whatever the service id of the new CONNECT was.
            self.refuse(session, "session id already in use");
            self.end_session(now, session, SessionEnd::DuplicateConnect, None);
            return;
        }
        let Some(service) = self.table.get(svc_id) else {
            self.refuse(session, "unknown service");
            return;
        };
        let addr = service.addr;
        if self.sessions.len() >= self.config.max_sessions {
            self.refuse(session, "too many sessions");
            return;
        }
        self.forget_tombstone(session);
        let handle = SessionHandle(self.next_handle);
        self.next_handle += 1;
        let capacity = self.config.capacity;
        self.sessions.insert(
            session,
            Session {
                svc_id,
                handle,
                send: SendWindow::new(capacity),
                recv: RecvWindow::new(capacity),
                bytes_up: 0,
                bytes_down: 0,
            },
        );
        self.by_handle.insert(handle, session);
        self.local.push_back(LocalCommand::Open {
            handle,
            session,
            svc_id,
            addr,
            credit: capacity,
        });
        self.events.push_back(Event::SessionOpened {
            session,
            svc_id,
            addr,
        });
    }

    fn handle_data(&mut self, now: Instant, session: u32, payload: Bytes) {
        let Some(s) = self.sessions.get_mut(&session) else {
            if !self.tombstones.contains_key(&session) {
                self.refuse(session, "data for an unknown session");
            }
            return;
        };
        let len = u32::try_from(payload.len()).unwrap_or(u32::MAX);
        if s.recv.receive(len).is_err() {
            self.end_session(
                now,
                session,
                SessionEnd::Overrun,
                Some(code::CONNECTION_ERROR),
            );
            return;
        }
        s.bytes_down += u64::from(len);
        if !payload.is_empty() {
            self.local.push_back(LocalCommand::Write {
                handle: s.handle,
                data: payload,
            });
        }
    }

    fn handle_service_hup(&mut self, session: u32, code: u32) {
        // A HUP for an unknown session needs no answer (rule 9 is the service's side).
        if let Some(s) = self.sessions.remove(&session) {
            self.by_handle.remove(&s.handle);
            self.local
                .push_back(LocalCommand::Close { handle: s.handle });
            self.events.push_back(Event::SessionClosed {
                session,
                svc_id: s.svc_id,
                end: SessionEnd::ServiceHup(code),
                bytes_up: s.bytes_up,
                bytes_down: s.bytes_down,
            });
        }
    }

    /// Bytes read from a local connection. The driver must not read more than it was
    /// granted; reports for a connection whose session already ended are ignored.
    pub fn handle_local_data(
        &mut self,
        handle: SessionHandle,
        data: Bytes,
    ) -> Result<(), UsageError> {
        if self.state != State::Established {
            return Ok(());
        }
        let Some(&session) = self.by_handle.get(&handle) else {
            return Ok(());
        };
        let Some(s) = self.sessions.get_mut(&session) else {
            return Ok(());
        };
        let len = u32::try_from(data.len()).unwrap_or(u32::MAX);
        s.send.consume(len).map_err(|e| UsageError::OverRead {
            session,
            len,
            available: e.available,
        })?;
        s.bytes_up += u64::from(len);
        if !data.is_empty() {
            self.transmit.push_back(Outgoing::Data {
                svc_id: s.svc_id,
                session,
                payload: data,
            });
        }
        Ok(())
    }

    /// `n` bytes were written to a local connection.
    pub fn handle_local_delivered(&mut self, handle: SessionHandle, n: u32) {
        let Some(&session) = self.by_handle.get(&handle) else {
            return;
        };
        let Some(s) = self.sessions.get_mut(&session) else {
            return;
        };
        if let Some(len) = s.recv.deliver(n.min(s.recv.queued())) {
            let msg_id = self.msg_id();
            self.transmit.push_back(Outgoing::DataAck {
                msg_id,
                session,
                len,
            });
        }
    }

    /// The local service closed its side (`clean`), or the local connection failed or could
    /// not be made (`!clean`). Everything read before was already handed over, so it goes
    /// out before the HUP.
    pub fn handle_local_closed(&mut self, now: Instant, handle: SessionHandle, clean: bool) {
        let Some(&session) = self.by_handle.get(&handle) else {
            return;
        };
        let (end, code) = if clean {
            (SessionEnd::LocalClosed, code::NO_ERROR)
        } else {
            (SessionEnd::LocalFailed, code::CONNECTION_ERROR)
        };
        self.end_session(now, session, end, Some(code));
    }

    /// Ends a session: HUP with `hup` (if we are the ones hanging up), close the local
    /// connection, remember the id for a while.
    fn end_session(&mut self, now: Instant, session: u32, end: SessionEnd, hup: Option<u32>) {
        let Some(s) = self.sessions.remove(&session) else {
            return;
        };
        self.by_handle.remove(&s.handle);
        if let Some(code) = hup {
            let msg_id = self.msg_id();
            self.transmit.push_back(Outgoing::Hup {
                msg_id,
                session,
                code,
            });
            self.add_tombstone(session, now + TOMBSTONE_TTL);
        }
        self.local
            .push_back(LocalCommand::Close { handle: s.handle });
        self.events.push_back(Event::SessionClosed {
            session,
            svc_id: s.svc_id,
            end,
            bytes_up: s.bytes_up,
            bytes_down: s.bytes_down,
        });
    }

    fn refuse(&mut self, session: u32, reason: &'static str) {
        let msg_id = self.msg_id();
        self.transmit.push_back(Outgoing::Hup {
            msg_id,
            session,
            code: code::CONNECTION_ERROR,
        });
        self.events.push_back(Event::Refused { session, reason });
    }

    fn disconnect(&mut self, reason: Disconnect) {
        if self.state == State::Disconnected {
            return;
        }
        self.state = State::Disconnected;
        self.close_reason = Some(reason);
        self.handshake_deadline = None;
        self.next_ping = None;
        self.ping_outstanding = None;
        let mut sessions: Vec<_> = self.sessions.drain().collect();
        sessions.sort_by_key(|(id, _)| *id);
        self.by_handle.clear();
        for (session, s) in sessions {
            self.local
                .push_back(LocalCommand::Close { handle: s.handle });
            self.events.push_back(Event::SessionClosed {
                session,
                svc_id: s.svc_id,
                end: SessionEnd::Disconnected,
                bytes_up: s.bytes_up,
                bytes_down: s.bytes_down,
            });
        }
    }

    fn msg_id(&mut self) -> u16 {
        let id = self.next_msg_id;
        self.next_msg_id = self.next_msg_id.wrapping_add(1);
        id
    }

    fn add_tombstone(&mut self, session: u32, until: Instant) {
        self.tombstones.insert(session, until);
        self.tombstone_order.push_back((session, until));
        while self.tombstone_order.len() > MAX_TOMBSTONES {
            self.pop_tombstone();
        }
    }

    fn forget_tombstone(&mut self, session: u32) {
        self.tombstones.remove(&session);
    }

    fn pop_tombstone(&mut self) {
        if let Some((id, at)) = self.tombstone_order.pop_front()
            && self.tombstones.get(&id) == Some(&at)
        {
            self.tombstones.remove(&id);
        }
    }

    fn expire_tombstones(&mut self, now: Instant) {
        while self
            .tombstone_order
            .front()
            .is_some_and(|(_, at)| *at <= now)
        {
            self.pop_tombstone();
        }
    }
}

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;
