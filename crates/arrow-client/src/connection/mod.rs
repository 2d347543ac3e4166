//! The sans-IO connection core: handshake, control answers, the session table, flow
//! control, keepalive and an orderly shutdown. It never touches a socket or a clock.
//!
//! One file per concept: [`config`](ConnectionConfig) (timers and limits), `events` (what
//! the core hands its driver), `handshake` (REGISTER and its ACK), `control` (answers to
//! the service's control messages, service-table updates), `sessions` (the spec's session
//! rules and flow control), `keepalive` (PING and the timers), `shutdown` (draining the
//! sessions before the connection closes).
//!
//! # Driving it
//!
//! - Inputs: [`Connection::start`] once, [`handle_incoming`](Connection::handle_incoming)
//!   for each message from the Arrow Service, the `handle_local_*` methods for what happened
//!   on a local socket, [`handle_timeout`](Connection::handle_timeout) when the deadline
//!   from [`poll_timeout`](Connection::poll_timeout) passes, and the mutators
//!   [`update_table`](Connection::update_table) and [`shutdown`](Connection::shutdown).
//!   Each takes `now` where time matters.
//! - Outputs, drained after every input in this order: [`poll_transmit`](Connection::poll_transmit)
//!   (messages to write to the service, in order), [`poll_local`](Connection::poll_local)
//!   (commands for local sockets), [`poll_event`](Connection::poll_event) (things worth
//!   reporting), then [`poll_timeout`](Connection::poll_timeout) and
//!   [`close_reason`](Connection::close_reason).
//!
//! # The session rules (the spec's nine, and what it leaves open)
//!
//! 1. CONNECT for an unknown service: HUP 3 with that session id. So is a CONNECT for a
//!    service on another host while gateway mode is off ([`ConnectionConfig::gateway`]),
//!    and any CONNECT while shutting down.
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
//! Each session has a [`SendWindow`](crate::flow::SendWindow) and a
//! [`RecvWindow`](crate::flow::RecvWindow) of the declared capacity. Data over the receive
//! window is an overrun: HUP 3 and close. The driver may read from a local socket only as
//! many bytes as it was granted ([`LocalCommand::Open`]'s `credit` plus every
//! [`LocalCommand::Grant`]); that is the backpressure that keeps memory bounded.
//!
//! Both directions avoid the silly window: the service's acknowledgements go back to the
//! local reader in pieces of at least 16 KiB while data is in flight, with at most one
//! smaller message in flight ([`SendWindow`](crate::flow::SendWindow)); and our DATA_ACKs
//! are coalesced to an eighth of the window, what is left under that at the end of a burst
//! being acknowledged once everything received has reached the local service (a lone
//! request gets no DATA_ACK of its own).
//!
//! # Keepalive
//!
//! Once registered the client PINGs after [`ConnectionConfig::ping_interval`] without an
//! answered PING and ends the connection when the ACK does not come within
//! [`ConnectionConfig::ping_timeout`]: with the defaults (20 s + 15 s) a silent service is
//! noticed within 35 s of its last answer.

mod config;
mod control;
mod events;
mod handshake;
mod keepalive;
mod sessions;
mod shutdown;

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::{Duration, Instant};

pub use config::ConnectionConfig;
pub use events::{Disconnect, Event, LocalCommand, SessionEnd, SessionHandle, State, UsageError};

use crate::ProtocolViolation;
use crate::message::{Incoming, Outgoing, ScanFindings};
use crate::service_table::ServiceTable;
use sessions::Session;

/// How long a session this client hung up is remembered, to drop data still in flight.
pub const TOMBSTONE_TTL: Duration = Duration::from_secs(10);

/// `now + wait`, or a century from now for a wait so long that the clock cannot hold it
/// (a configured timeout of "forever" must not panic).
fn after(now: Instant, wait: Duration) -> Instant {
    const CENTURY: Duration = Duration::from_secs(100 * 365 * 24 * 3600);
    now.checked_add(wait.min(CENTURY)).unwrap_or(now)
}

/// The client side of one Arrow connection, without I/O.
#[derive(Debug)]
pub struct Connection {
    config: ConnectionConfig,
    table: ServiceTable,
    /// A table given during the handshake: announced with UPDATE once registered (the
    /// REGISTER on its way carries the old one).
    update_after_handshake: bool,
    state: State,
    close_reason: Option<Disconnect>,
    next_msg_id: u16,
    next_handle: u64,
    sessions: HashMap<u32, Session>,
    by_handle: HashMap<SessionHandle, u32>,
    /// Local connections told to close and not yet released by the driver: they still
    /// hold a socket, so they count against the session limit.
    closing: HashSet<SessionHandle>,
    tombstones: HashMap<u32, Instant>,
    tombstone_order: VecDeque<(u32, Instant)>,
    handshake_deadline: Option<Instant>,
    next_ping: Option<Instant>,
    ping_outstanding: Option<(u16, Instant)>,
    shutdown_deadline: Option<Instant>,
    bytes_up: u64,
    bytes_down: u64,
    transmit: VecDeque<Outgoing>,
    local: VecDeque<LocalCommand>,
    events: VecDeque<Event>,
    /// A scan runs (STATUS's flag).
    scanning: bool,
    /// The last scan's findings (GET_SCAN_REPORT's answer).
    findings: ScanFindings,
}

impl Connection {
    /// A connection for this service table, not started.
    pub fn new(config: ConnectionConfig, table: ServiceTable) -> Self {
        assert!(
            (1..=ConnectionConfig::MAX_CAPACITY).contains(&config.capacity),
            "capacity must be 1..=65536 (window_size + 1)"
        );
        Connection {
            config,
            table,
            update_after_handshake: false,
            state: State::Idle,
            close_reason: None,
            next_msg_id: 0,
            next_handle: 0,
            sessions: HashMap::new(),
            by_handle: HashMap::new(),
            closing: HashSet::new(),
            tombstones: HashMap::new(),
            tombstone_order: VecDeque::new(),
            handshake_deadline: None,
            next_ping: None,
            ping_outstanding: None,
            shutdown_deadline: None,
            bytes_up: 0,
            bytes_down: 0,
            transmit: VecDeque::new(),
            local: VecDeque::new(),
            events: VecDeque::new(),
            scanning: false,
            findings: ScanFindings::default(),
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

    /// Local sockets the session limit counts now: the open sessions (connecting
    /// included) and the closed ones whose socket the driver has not released yet.
    pub fn sockets_in_use(&self) -> usize {
        self.sessions.len() + self.closing.len()
    }

    /// Session bytes sent to the service on this connection.
    pub fn bytes_up(&self) -> u64 {
        self.bytes_up
    }

    /// Session bytes received from the service on this connection.
    pub fn bytes_down(&self) -> u64 {
        self.bytes_down
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

    /// Ends the connection from our side (the transport broke); every local connection is
    /// closed. For an orderly end use [`shutdown`](Self::shutdown).
    pub fn close(&mut self) {
        self.disconnect(Disconnect::Closed);
    }

    /// Handles one message from the Arrow Service.
    pub fn handle_incoming(&mut self, now: Instant, message: Incoming) {
        match self.state {
            State::Idle | State::Disconnected => {}
            State::Handshake => self.handle_in_handshake(now, message),
            State::Established | State::Draining => match message {
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

    fn disconnect(&mut self, reason: Disconnect) {
        if self.state == State::Disconnected {
            return;
        }
        self.state = State::Disconnected;
        self.close_reason = Some(reason);
        self.handshake_deadline = None;
        self.next_ping = None;
        self.ping_outstanding = None;
        self.shutdown_deadline = None;
        let mut sessions: Vec<_> = self.sessions.drain().collect();
        sessions.sort_by_key(|(id, _)| *id);
        self.by_handle.clear();
        for (session, s) in sessions {
            self.close_local(s.handle);
            self.events.push_back(Event::SessionClosed {
                session,
                svc_id: s.svc_id,
                end: SessionEnd::Disconnected,
                bytes_up: s.bytes_up,
                bytes_down: s.bytes_down,
            });
        }
    }

    /// Tells the driver to close a local connection; it counts against the session limit
    /// until the driver releases it.
    fn close_local(&mut self, handle: SessionHandle) {
        self.closing.insert(handle);
        self.local.push_back(LocalCommand::Close { handle });
    }

    /// The socket of a closed local connection is gone (its last bytes written, or it
    /// failed): it no longer counts against the session limit.
    pub fn handle_local_released(&mut self, handle: SessionHandle) {
        self.closing.remove(&handle);
    }

    fn msg_id(&mut self) -> u16 {
        let id = self.next_msg_id;
        self.next_msg_id = self.next_msg_id.wrapping_add(1);
        id
    }
}

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;
