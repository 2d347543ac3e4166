//! Control messages: the body of every message on service id 0.
//!
//! ```text
//!  0            2            4
//! +------------+------------+---------------------------------+
//! | msg_id u16 | type u16   | data (the rest of the body)     |
//! +------------+------------+---------------------------------+
//! ```
//!
//! One module per message family; empty-data messages (PING, RESET_SVC_TABLE,
//! SCAN_NETWORK, GET_STATUS, GET_SCAN_REPORT) and ACK live here.

mod redirect;
mod register;
mod scan_report;
mod session;
mod status;
mod update;

use std::fmt;

use bytes::{BufMut, Bytes, BytesMut};

pub use redirect::Redirect;
pub use register::{ClientKey, REGISTER_FIXED_LEN, Register};
pub use scan_report::{HOST_RECORD_FIXED_LEN, HostRecord, ScanReport};
pub use session::{CONNECT_LEN, Connect, DATA_ACK_LEN, DataAck, HUP_LEN, Hup};
pub use status::{STATUS_LEN, Status};
pub use update::Update;

use crate::codes::ErrorCode;
use crate::error::{DecodeError, EncodeError};
use crate::flags::StatusFlags;
use crate::header::{CONTROL_SVC_ID, HEADER_LEN, Header};
use crate::parse::expect_len;

/// Bytes of `msg_id` and `type` in front of a control message's data.
pub const CONTROL_PREFIX_LEN: usize = 4;

/// Bytes of ACK data.
pub const ACK_LEN: usize = 4;

/// Where a control message's data starts, counted from the header's first byte.
const DATA_BASE: usize = HEADER_LEN + CONTROL_PREFIX_LEN;

/// The `type` field of a control message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ControlType {
    /// `0x0000` ACK.
    Ack,
    /// `0x0001` PING.
    Ping,
    /// `0x0002` REGISTER.
    Register,
    /// `0x0003` REDIRECT.
    Redirect,
    /// `0x0004` UPDATE.
    Update,
    /// `0x0005` HUP.
    Hup,
    /// `0x0006` RESET_SVC_TABLE.
    ResetSvcTable,
    /// `0x0007` SCAN_NETWORK.
    ScanNetwork,
    /// `0x0008` GET_STATUS.
    GetStatus,
    /// `0x0009` STATUS.
    Status,
    /// `0x000a` GET_SCAN_REPORT.
    GetScanReport,
    /// `0x000b` SCAN_REPORT.
    ScanReport,
    /// `0x000c` DATA_ACK.
    DataAck,
    /// `0x000d` CONNECT.
    Connect,
    /// A type this crate does not know.
    Unknown(u16),
}

impl ControlType {
    /// Every known type, in code order.
    pub const KNOWN: [ControlType; 14] = [
        ControlType::Ack,
        ControlType::Ping,
        ControlType::Register,
        ControlType::Redirect,
        ControlType::Update,
        ControlType::Hup,
        ControlType::ResetSvcTable,
        ControlType::ScanNetwork,
        ControlType::GetStatus,
        ControlType::Status,
        ControlType::GetScanReport,
        ControlType::ScanReport,
        ControlType::DataAck,
        ControlType::Connect,
    ];

    /// The spec's name, e.g. `"RESET_SVC_TABLE"`; `"UNKNOWN"` for unknown types.
    pub fn name(self) -> &'static str {
        match self {
            ControlType::Ack => "ACK",
            ControlType::Ping => "PING",
            ControlType::Register => "REGISTER",
            ControlType::Redirect => "REDIRECT",
            ControlType::Update => "UPDATE",
            ControlType::Hup => "HUP",
            ControlType::ResetSvcTable => "RESET_SVC_TABLE",
            ControlType::ScanNetwork => "SCAN_NETWORK",
            ControlType::GetStatus => "GET_STATUS",
            ControlType::Status => "STATUS",
            ControlType::GetScanReport => "GET_SCAN_REPORT",
            ControlType::ScanReport => "SCAN_REPORT",
            ControlType::DataAck => "DATA_ACK",
            ControlType::Connect => "CONNECT",
            ControlType::Unknown(_) => "UNKNOWN",
        }
    }

    /// The number on the wire.
    pub fn code(self) -> u16 {
        u16::from(self)
    }
}

impl From<u16> for ControlType {
    fn from(code: u16) -> Self {
        match ControlType::KNOWN.get(usize::from(code)) {
            Some(known) => *known,
            None => ControlType::Unknown(code),
        }
    }
}

impl From<ControlType> for u16 {
    fn from(t: ControlType) -> u16 {
        match t {
            ControlType::Unknown(code) => code,
            // KNOWN is in code order, so the position is the code.
            known => ControlType::KNOWN
                .iter()
                .position(|k| *k == known)
                .map_or(0, |p| p as u16),
        }
    }
}

impl fmt::Display for ControlType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ControlType::Unknown(code) => write!(f, "UNKNOWN({code:#06x})"),
            known => f.write_str(known.name()),
        }
    }
}

/// A control message of a type this crate does not know, kept whole so the runtime can
/// answer it with ACK `UNSUPPORTED_METHOD` (see [`ControlMessage::unsupported_reply`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct UnknownControl {
    /// The `type` field.
    pub msg_type: u16,
    /// The data, as received (a slice of the input buffer, not a copy).
    #[serde(with = "crate::hex_bytes")]
    pub data: Bytes,
}

/// What a control message says: its type and its typed data.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "type", content = "data", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ControlBody {
    /// ACK: the answer to a request, with an error code.
    Ack(ErrorCode),
    /// PING: health check, ACK expected.
    Ping,
    /// REGISTER: the client's first message.
    Register(Register),
    /// REDIRECT: go to another service.
    Redirect(Redirect),
    /// UPDATE: the client's service table changed.
    Update(Update),
    /// HUP: a session ended.
    Hup(Hup),
    /// RESET_SVC_TABLE: drop services found by the scanner.
    ResetSvcTable,
    /// SCAN_NETWORK: scan the local network.
    ScanNetwork,
    /// GET_STATUS: STATUS expected.
    GetStatus,
    /// STATUS: the answer to GET_STATUS.
    Status(Status),
    /// GET_SCAN_REPORT: SCAN_REPORT expected.
    GetScanReport,
    /// SCAN_REPORT: the answer to GET_SCAN_REPORT.
    ScanReport(ScanReport),
    /// DATA_ACK: more window on a session.
    DataAck(DataAck),
    /// CONNECT: open a session.
    Connect(Connect),
    /// A type this crate does not know.
    Unknown(UnknownControl),
}

impl ControlBody {
    /// The message type.
    pub fn control_type(&self) -> ControlType {
        match self {
            ControlBody::Ack(_) => ControlType::Ack,
            ControlBody::Ping => ControlType::Ping,
            ControlBody::Register(_) => ControlType::Register,
            ControlBody::Redirect(_) => ControlType::Redirect,
            ControlBody::Update(_) => ControlType::Update,
            ControlBody::Hup(_) => ControlType::Hup,
            ControlBody::ResetSvcTable => ControlType::ResetSvcTable,
            ControlBody::ScanNetwork => ControlType::ScanNetwork,
            ControlBody::GetStatus => ControlType::GetStatus,
            ControlBody::Status(_) => ControlType::Status,
            ControlBody::GetScanReport => ControlType::GetScanReport,
            ControlBody::ScanReport(_) => ControlType::ScanReport,
            ControlBody::DataAck(_) => ControlType::DataAck,
            ControlBody::Connect(_) => ControlType::Connect,
            ControlBody::Unknown(u) => ControlType::Unknown(u.msg_type),
        }
    }

    /// The `type` field written on the wire (for [`Unknown`](Self::Unknown), its
    /// `msg_type`, whatever it is).
    fn wire_type(&self) -> u16 {
        match self {
            ControlBody::Unknown(u) => u.msg_type,
            known => known.control_type().code(),
        }
    }

    /// Bytes of the data on the wire (without `msg_id` and `type`).
    pub fn encoded_len(&self) -> usize {
        match self {
            ControlBody::Ack(_) => ACK_LEN,
            ControlBody::Ping
            | ControlBody::ResetSvcTable
            | ControlBody::ScanNetwork
            | ControlBody::GetStatus
            | ControlBody::GetScanReport => 0,
            ControlBody::Register(r) => r.encoded_len(),
            ControlBody::Redirect(r) => r.encoded_len(),
            ControlBody::Update(u) => u.encoded_len(),
            ControlBody::Hup(_) => HUP_LEN,
            ControlBody::Status(_) => STATUS_LEN,
            ControlBody::ScanReport(s) => s.encoded_len(),
            ControlBody::DataAck(_) => DATA_ACK_LEN,
            ControlBody::Connect(_) => CONNECT_LEN,
            ControlBody::Unknown(u) => u.data.len(),
        }
    }

    fn validate(&self) -> Result<(), EncodeError> {
        match self {
            ControlBody::Register(r) => r.validate(),
            ControlBody::Redirect(r) => r.validate(),
            ControlBody::Update(u) => u.validate(),
            ControlBody::Hup(h) => h.validate(),
            ControlBody::ScanReport(s) => s.validate(),
            ControlBody::DataAck(d) => d.validate(),
            ControlBody::Connect(c) => c.validate(),
            _ => Ok(()),
        }
    }

    fn put(&self, dst: &mut BytesMut) {
        match self {
            ControlBody::Ack(code) => dst.put_u32(code.code()),
            ControlBody::Ping
            | ControlBody::ResetSvcTable
            | ControlBody::ScanNetwork
            | ControlBody::GetStatus
            | ControlBody::GetScanReport => {}
            ControlBody::Register(r) => r.put(dst),
            ControlBody::Redirect(r) => r.put(dst),
            ControlBody::Update(u) => u.put(dst),
            ControlBody::Hup(h) => h.put(dst),
            ControlBody::Status(s) => s.put(dst),
            ControlBody::ScanReport(s) => s.put(dst),
            ControlBody::DataAck(d) => d.put(dst),
            ControlBody::Connect(c) => c.put(dst),
            ControlBody::Unknown(u) => dst.put_slice(&u.data),
        }
    }

    /// Parses `data` (the body after `msg_id` and `type`) as a message of type `code`;
    /// `None` for an unknown type, whose data the caller keeps as it sees fit.
    fn parse_known(code: u16, data: &[u8]) -> Option<Result<Self, DecodeError>> {
        let empty =
            |t: ControlType, value: ControlBody| expect_len(t.name(), data, 0).map(|()| value);
        Some(match ControlType::from(code) {
            ControlType::Ack => expect_len("ACK", data, ACK_LEN).map(|()| {
                let code = u32::from_be_bytes([data[0], data[1], data[2], data[3]]);
                ControlBody::Ack(ErrorCode::from(code))
            }),
            t @ ControlType::Ping => empty(t, ControlBody::Ping),
            ControlType::Register => Register::parse(data, DATA_BASE).map(ControlBody::Register),
            ControlType::Redirect => Redirect::parse(data, DATA_BASE).map(ControlBody::Redirect),
            ControlType::Update => Update::parse(data, DATA_BASE).map(ControlBody::Update),
            ControlType::Hup => Hup::parse(data, DATA_BASE).map(ControlBody::Hup),
            t @ ControlType::ResetSvcTable => empty(t, ControlBody::ResetSvcTable),
            t @ ControlType::ScanNetwork => empty(t, ControlBody::ScanNetwork),
            t @ ControlType::GetStatus => empty(t, ControlBody::GetStatus),
            ControlType::Status => Status::parse(data, DATA_BASE).map(ControlBody::Status),
            t @ ControlType::GetScanReport => empty(t, ControlBody::GetScanReport),
            ControlType::ScanReport => {
                ScanReport::parse(data, DATA_BASE).map(ControlBody::ScanReport)
            }
            ControlType::DataAck => DataAck::parse(data, DATA_BASE).map(ControlBody::DataAck),
            ControlType::Connect => Connect::parse(data, DATA_BASE).map(ControlBody::Connect),
            ControlType::Unknown(_) => return None,
        })
    }
}

/// The `msg_id` and `type` fields at the front of a control body.
pub(crate) fn control_prefix(body: &[u8]) -> Result<(u16, u16), DecodeError> {
    match body {
        [a, b, c, d, ..] => Ok((u16::from_be_bytes([*a, *b]), u16::from_be_bytes([*c, *d]))),
        _ => Err(DecodeError::ControlTooShort {
            body_size: body.len() as u32,
        }),
    }
}

/// `ControlBody::from(data)` for every message type that has data.
macro_rules! body_from {
    ($($variant:ident($ty:ty)),* $(,)?) => {
        $(
            impl From<$ty> for ControlBody {
                fn from(data: $ty) -> Self {
                    ControlBody::$variant(data)
                }
            }
        )*
    };
}

body_from!(
    Ack(ErrorCode),
    Register(Register),
    Redirect(Redirect),
    Update(Update),
    Hup(Hup),
    Status(Status),
    ScanReport(ScanReport),
    DataAck(DataAck),
    Connect(Connect),
    Unknown(UnknownControl),
);

/// One control message: its id and what it says.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ControlMessage {
    /// Message id, for pairing requests and answers (an ACK carries the id it answers).
    pub msg_id: u16,
    /// Type and data.
    #[serde(flatten)]
    pub body: ControlBody,
}

impl ControlMessage {
    /// A message with this id and body.
    pub fn new(msg_id: u16, body: ControlBody) -> Self {
        ControlMessage { msg_id, body }
    }

    /// ACK answering the message `msg_id`.
    pub fn ack(msg_id: u16, error: ErrorCode) -> Self {
        Self::new(msg_id, ControlBody::Ack(error))
    }

    /// PING.
    pub fn ping(msg_id: u16) -> Self {
        Self::new(msg_id, ControlBody::Ping)
    }

    /// HUP for a session.
    pub fn hup(msg_id: u16, session_id: u32, error: ErrorCode) -> Self {
        Self::new(msg_id, ControlBody::Hup(Hup { session_id, error }))
    }

    /// DATA_ACK granting `length` more bytes on a session.
    pub fn data_ack(msg_id: u16, session_id: u32, length: u32) -> Self {
        Self::new(msg_id, ControlBody::DataAck(DataAck { session_id, length }))
    }

    /// CONNECT opening a session.
    pub fn connect(msg_id: u16, svc_id: u16, session_id: u32) -> Self {
        Self::new(msg_id, ControlBody::Connect(Connect { svc_id, session_id }))
    }

    /// STATUS answering the GET_STATUS `request_id`.
    pub fn status(msg_id: u16, request_id: u16, flags: StatusFlags, active_sessions: u32) -> Self {
        Self::new(
            msg_id,
            ControlBody::Status(Status {
                request_id,
                flags,
                active_sessions,
            }),
        )
    }

    /// The message type.
    pub fn control_type(&self) -> ControlType {
        self.body.control_type()
    }

    /// The answer the spec requires to a message of unknown type: ACK with
    /// `UNSUPPORTED_METHOD` carrying this message's id. `None` for known types.
    pub fn unsupported_reply(&self) -> Option<ControlMessage> {
        match self.body {
            ControlBody::Unknown(_) => Some(Self::ack(self.msg_id, ErrorCode::UnsupportedMethod)),
            _ => None,
        }
    }

    /// Bytes of the message body (`msg_id`, `type` and data, without the 11-byte header).
    pub fn body_len(&self) -> usize {
        CONTROL_PREFIX_LEN + self.body.encoded_len()
    }

    /// Bytes of the whole message, header included.
    pub fn encoded_len(&self) -> usize {
        HEADER_LEN + self.body_len()
    }

    /// Checks that the message can be encoded, and returns its body length.
    pub(crate) fn checked_body_len(&self, max_body: u32) -> Result<u32, EncodeError> {
        self.body.validate()?;
        let len = self.body_len();
        match u32::try_from(len) {
            Ok(size) if size <= max_body => Ok(size),
            _ => Err(EncodeError::BodyTooLarge { len, max: max_body }),
        }
    }

    pub(crate) fn put(&self, body_size: u32, dst: &mut BytesMut) {
        let header = Header {
            svc_id: CONTROL_SVC_ID,
            session_id: 0,
            body_size,
        };
        dst.reserve(HEADER_LEN + body_size as usize);
        let start = dst.len();
        header.put(dst);
        dst.put_u16(self.msg_id);
        dst.put_u16(self.body.wire_type());
        self.body.put(dst);
        debug_assert_eq!(
            dst.len() - start,
            HEADER_LEN + body_size as usize,
            "{} wrote another size than it announced",
            self.control_type()
        );
    }

    /// Writes the whole message (header included) into `dst`, reserving its exact size
    /// first. Nothing is written when it fails.
    pub fn encode(&self, dst: &mut BytesMut) -> Result<(), EncodeError> {
        let body_size = self.checked_body_len(u32::MAX)?;
        self.put(body_size, dst);
        Ok(())
    }

    /// Parses a control message body (everything after the 11-byte header). The body must
    /// be consumed exactly. Unknown types keep their data as a slice of `body` (no copy).
    pub fn decode_body(body: &Bytes) -> Result<Self, DecodeError> {
        let (msg_id, code) = control_prefix(body)?;
        let body = match ControlBody::parse_known(code, &body[CONTROL_PREFIX_LEN..]) {
            Some(parsed) => parsed?,
            None => ControlBody::Unknown(UnknownControl {
                msg_type: code,
                data: body.slice(CONTROL_PREFIX_LEN..),
            }),
        };
        Ok(ControlMessage { msg_id, body })
    }

    /// Like [`decode_body`](Self::decode_body) from a plain slice; an unknown type's data
    /// is copied.
    pub fn decode_body_slice(body: &[u8]) -> Result<Self, DecodeError> {
        let (msg_id, code) = control_prefix(body)?;
        let data = &body[CONTROL_PREFIX_LEN..];
        let body = match ControlBody::parse_known(code, data) {
            Some(parsed) => parsed?,
            None => ControlBody::Unknown(UnknownControl {
                msg_type: code,
                data: Bytes::copy_from_slice(data),
            }),
        };
        Ok(ControlMessage { msg_id, body })
    }

    /// True when `code` is a control type this crate parses (as opposed to keeping it as
    /// [`ControlBody::Unknown`]).
    pub(crate) fn is_known_type(code: u16) -> bool {
        !matches!(ControlType::from(code), ControlType::Unknown(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_type_codes_follow_the_spec_table() {
        for (code, name) in [
            (0x0000u16, "ACK"),
            (0x0001, "PING"),
            (0x0002, "REGISTER"),
            (0x0003, "REDIRECT"),
            (0x0004, "UPDATE"),
            (0x0005, "HUP"),
            (0x0006, "RESET_SVC_TABLE"),
            (0x0007, "SCAN_NETWORK"),
            (0x0008, "GET_STATUS"),
            (0x0009, "STATUS"),
            (0x000a, "GET_SCAN_REPORT"),
            (0x000b, "SCAN_REPORT"),
            (0x000c, "DATA_ACK"),
            (0x000d, "CONNECT"),
        ] {
            let t = ControlType::from(code);
            assert_eq!(t.name(), name);
            assert_eq!(t.code(), code);
        }
        assert_eq!(ControlType::from(0x000e), ControlType::Unknown(0x000e));
        assert_eq!(ControlType::Unknown(0xbeef).code(), 0xbeef);
    }

    #[test]
    fn unknown_type_keeps_id_type_and_data_and_gets_unsupported_method() {
        let body = Bytes::from_static(&[0x00, 0x07, 0x00, 0x2a, 0xde, 0xad]);
        let msg = ControlMessage::decode_body(&body).unwrap();
        assert_eq!(msg.msg_id, 7);
        assert_eq!(
            msg.body,
            ControlBody::Unknown(UnknownControl {
                msg_type: 0x2a,
                data: Bytes::from_static(&[0xde, 0xad]),
            })
        );
        assert_eq!(
            msg.unsupported_reply(),
            Some(ControlMessage::ack(7, ErrorCode::UnsupportedMethod))
        );
        assert_eq!(ControlMessage::ping(1).unsupported_reply(), None);
    }
}
