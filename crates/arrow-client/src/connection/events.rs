//! What the core hands its driver: local-socket commands, events worth reporting, why a
//! connection ended, and the connection's state.

use std::net::SocketAddr;

use crate::ProtocolViolation;

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
        data: bytes::Bytes,
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
#[non_exhaustive]
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
    /// The client shut down: HUP 0 once everything received was delivered locally, HUP 3
    /// when the grace period ran out first.
    Shutdown,
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
            SessionEnd::Shutdown => "shutdown",
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
    /// session limit, a service on another host without gateway mode, shutting down).
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
    /// The service asked for a scan (SCAN_NETWORK) and discovery is on.
    ScanRequested,
    /// The service table changed (a new table, or RESET_SVC_TABLE) and UPDATE was sent.
    TableUpdated {
        /// Services in the table now.
        services: usize,
        /// True when the service asked for it with RESET_SVC_TABLE.
        reset: bool,
    },
}

/// Why the connection ended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
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
    /// The client shut down ([`Connection::shutdown`](super::Connection::shutdown)) and
    /// every session has ended.
    Shutdown,
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
    /// Shutting down: no new session, the open ones end once flushed.
    Draining,
    /// Ended; see [`Connection::close_reason`](super::Connection::close_reason).
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
