//! The messages the connection core understands, independent of their byte layout.
//!
//! [`Incoming`] is what the Arrow Service can send a client; [`Outgoing`] is what the client
//! sends. The `wire` module maps them to and from `arrow-codec` messages; keeping the core on
//! these small types makes every rule testable without bytes.

use std::fmt;

use bytes::Bytes;

use crate::service_table::ServiceTable;

/// Control message types (the `type` field of a control message).
pub mod kind {
    /// ACK.
    pub const ACK: u16 = 0x0000;
    /// PING.
    pub const PING: u16 = 0x0001;
    /// REGISTER.
    pub const REGISTER: u16 = 0x0002;
    /// REDIRECT.
    pub const REDIRECT: u16 = 0x0003;
    /// UPDATE.
    pub const UPDATE: u16 = 0x0004;
    /// HUP.
    pub const HUP: u16 = 0x0005;
    /// RESET_SVC_TABLE.
    pub const RESET_SVC_TABLE: u16 = 0x0006;
    /// SCAN_NETWORK.
    pub const SCAN_NETWORK: u16 = 0x0007;
    /// GET_STATUS.
    pub const GET_STATUS: u16 = 0x0008;
    /// STATUS.
    pub const STATUS: u16 = 0x0009;
    /// GET_SCAN_REPORT.
    pub const GET_SCAN_REPORT: u16 = 0x000a;
    /// SCAN_REPORT.
    pub const SCAN_REPORT: u16 = 0x000b;
    /// DATA_ACK.
    pub const DATA_ACK: u16 = 0x000c;
    /// CONNECT.
    pub const CONNECT: u16 = 0x000d;
}

/// ACK and HUP error codes.
pub mod code {
    /// NO_ERROR.
    pub const NO_ERROR: u32 = 0;
    /// UNSUPPORTED_PROTOCOL_VERSION.
    pub const UNSUPPORTED_PROTOCOL_VERSION: u32 = 1;
    /// UNAUTHORIZED.
    pub const UNAUTHORIZED: u32 = 2;
    /// CONNECTION_ERROR.
    pub const CONNECTION_ERROR: u32 = 3;
    /// UNSUPPORTED_METHOD.
    pub const UNSUPPORTED_METHOD: u32 = 4;
    /// INTERNAL_SERVER_ERROR.
    pub const INTERNAL_SERVER_ERROR: u32 = 0xffff_ffff;

    /// The spec's name of a code.
    pub fn name(code: u32) -> &'static str {
        match code {
            NO_ERROR => "NO_ERROR",
            UNSUPPORTED_PROTOCOL_VERSION => "UNSUPPORTED_PROTOCOL_VERSION",
            UNAUTHORIZED => "UNAUTHORIZED",
            CONNECTION_ERROR => "CONNECTION_ERROR",
            UNSUPPORTED_METHOD => "UNSUPPORTED_METHOD",
            INTERNAL_SERVER_ERROR => "INTERNAL_SERVER_ERROR",
            _ => "unknown error code",
        }
    }
}

/// A message from the Arrow Service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming {
    /// Session data (service id != 0).
    Data {
        /// Service id from the header.
        svc_id: u16,
        /// Session id (24 bits).
        session: u32,
        /// The body.
        payload: Bytes,
    },
    /// A control message (service id 0).
    Control {
        /// Its msg_id.
        msg_id: u16,
        /// What it says.
        body: ControlIn,
    },
}

/// The body of a control message from the Arrow Service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ControlIn {
    /// ACK with an error code.
    Ack {
        /// The error code.
        code: u32,
    },
    /// PING.
    Ping,
    /// REDIRECT to `host:port`.
    Redirect {
        /// Where to.
        target: String,
    },
    /// HUP of a session.
    Hup {
        /// Session id.
        session: u32,
        /// Error code.
        code: u32,
    },
    /// RESET_SVC_TABLE.
    ResetSvcTable,
    /// SCAN_NETWORK.
    ScanNetwork,
    /// GET_STATUS.
    GetStatus,
    /// GET_SCAN_REPORT.
    GetScanReport,
    /// DATA_ACK: the service accepts `len` more bytes on `session`.
    DataAck {
        /// Session id.
        session: u32,
        /// Additional bytes.
        len: u32,
    },
    /// CONNECT: open `session` to service `svc_id`.
    Connect {
        /// Service id.
        svc_id: u16,
        /// Session id.
        session: u32,
    },
    /// Any other type: one the client does not support in this direction or does not know.
    Other {
        /// The type field.
        kind: u16,
    },
}

impl ControlIn {
    /// The spec's name of the message type.
    pub fn name(&self) -> String {
        match self {
            ControlIn::Ack { .. } => "ACK".into(),
            ControlIn::Ping => "PING".into(),
            ControlIn::Redirect { .. } => "REDIRECT".into(),
            ControlIn::Hup { .. } => "HUP".into(),
            ControlIn::ResetSvcTable => "RESET_SVC_TABLE".into(),
            ControlIn::ScanNetwork => "SCAN_NETWORK".into(),
            ControlIn::GetStatus => "GET_STATUS".into(),
            ControlIn::GetScanReport => "GET_SCAN_REPORT".into(),
            ControlIn::DataAck { .. } => "DATA_ACK".into(),
            ControlIn::Connect { .. } => "CONNECT".into(),
            ControlIn::Other { kind } => format!("control type {kind:#06x}"),
        }
    }
}

/// What the last scan found, as SCAN_REPORT carries it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScanFindings {
    /// One record per host.
    pub hosts: Vec<arrow_codec::HostRecord>,
    /// The services found.
    pub services: Vec<arrow_codec::Service>,
}

/// A message the client sends.
#[derive(Clone, PartialEq, Eq)]
pub enum Outgoing {
    /// REGISTER (the core fills it from its configuration).
    Register {
        /// Always 0: the first message of a connection.
        msg_id: u16,
    },
    /// ACK answering `msg_id`.
    Ack {
        /// The msg_id of the message answered.
        msg_id: u16,
        /// Error code.
        code: u32,
    },
    /// PING.
    Ping {
        /// Its msg_id.
        msg_id: u16,
    },
    /// STATUS answering GET_STATUS `request_id`.
    Status {
        /// Its own msg_id.
        msg_id: u16,
        /// The GET_STATUS msg_id.
        request_id: u16,
        /// Status flags (bit 0: a scan is running).
        flags: u32,
        /// Number of active sessions.
        active_sessions: u32,
    },
    /// SCAN_REPORT answering `request_id` with what the last scan found (empty before
    /// any, or without discovery).
    ScanReport {
        /// Its own msg_id.
        msg_id: u16,
        /// The GET_SCAN_REPORT msg_id.
        request_id: u16,
        /// The hosts and services.
        findings: ScanFindings,
    },
    /// HUP of a session.
    Hup {
        /// Its msg_id.
        msg_id: u16,
        /// Session id.
        session: u32,
        /// Error code (0 clean close, 3 failure).
        code: u32,
    },
    /// DATA_ACK: we accept `len` more bytes on `session`.
    DataAck {
        /// Its msg_id.
        msg_id: u16,
        /// Session id.
        session: u32,
        /// Bytes.
        len: u32,
    },
    /// Session data.
    Data {
        /// Service id.
        svc_id: u16,
        /// Session id.
        session: u32,
        /// The bytes.
        payload: Bytes,
    },
    /// UPDATE: the service table changed; this is the whole new table.
    Update {
        /// Its msg_id.
        msg_id: u16,
        /// The table.
        table: ServiceTable,
    },
}

impl fmt::Debug for Outgoing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outgoing::Register { msg_id } => write!(f, "REGISTER#{msg_id}"),
            Outgoing::Ack { msg_id, code } => write!(f, "ACK#{msg_id}({code})"),
            Outgoing::Ping { msg_id } => write!(f, "PING#{msg_id}"),
            Outgoing::Status {
                request_id,
                active_sessions,
                ..
            } => write!(f, "STATUS(req {request_id}, {active_sessions} active)"),
            Outgoing::ScanReport { request_id, .. } => write!(f, "SCAN_REPORT(req {request_id})"),
            Outgoing::Hup { session, code, .. } => write!(f, "HUP({session}, {code})"),
            Outgoing::DataAck { session, len, .. } => write!(f, "DATA_ACK({session}, {len})"),
            Outgoing::Update { msg_id, table } => {
                write!(f, "UPDATE#{msg_id}({} services)", table.len())
            }
            Outgoing::Data {
                svc_id,
                session,
                payload,
            } => write!(
                f,
                "DATA(svc {svc_id}, session {session}, {} bytes)",
                payload.len()
            ),
        }
    }
}
