//! The session messages: HUP, DATA_ACK and CONNECT. Each carries a 24-bit session id
//! behind a reserved byte (written 0, ignored on receipt).
//!
//! ```text
//! HUP       +----------+----------------+-----------------+
//!  8 bytes  | reserved | session_id u24 | error_code u32  |
//!           +----------+----------------+-----------------+
//! DATA_ACK  +----------+----------------+-----------------+
//!  8 bytes  | reserved | session_id u24 | length u32      |
//!           +----------+----------------+-----------------+
//! CONNECT   +------------+----------+----------------+
//!  6 bytes  | svc_id u16 | reserved | session_id u24 |
//!           +------------+----------+----------------+
//! ```

use bytes::{BufMut, BytesMut};
use nom::Parser;
use nom::number::complete::{be_u16, be_u32};

use crate::codes::ErrorCode;
use crate::error::{DecodeError, EncodeError};
use crate::header::{MAX_SESSION_ID, check_session_id};
use crate::parse::{expect_len, field, run_complete};

/// Bytes of HUP data.
pub const HUP_LEN: usize = 8;
/// Bytes of DATA_ACK data.
pub const DATA_ACK_LEN: usize = 8;
/// Bytes of CONNECT data.
pub const CONNECT_LEN: usize = 6;

/// HUP data: a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Hup {
    /// The session (24 bits).
    pub session_id: u32,
    /// Why: [`ErrorCode::NoError`] for a clean close, [`ErrorCode::ConnectionError`] else.
    pub error: ErrorCode,
}

/// DATA_ACK data: the sender accepts `length` more bytes on the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct DataAck {
    /// The session (24 bits).
    pub session_id: u32,
    /// Additional bytes the receiver of this message may send.
    pub length: u32,
}

/// CONNECT data: open a session to a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Connect {
    /// The service to connect to.
    pub svc_id: u16,
    /// The new session's id (24 bits, chosen by the Arrow Service).
    pub session_id: u32,
}

impl Hup {
    pub(crate) fn validate(&self) -> Result<(), EncodeError> {
        check_session_id(self.session_id)
    }

    pub(crate) fn put(&self, dst: &mut BytesMut) {
        dst.put_u32(self.session_id & MAX_SESSION_ID);
        dst.put_u32(self.error.code());
    }

    pub(crate) fn parse(data: &[u8], base: usize) -> Result<Self, DecodeError> {
        expect_len("HUP", data, HUP_LEN)?;
        run_complete("HUP", data, base, |i| {
            let (i, session) = field("session_id", be_u32).parse(i)?;
            let (i, error) = field("error", be_u32).parse(i)?;
            Ok((
                i,
                Hup {
                    session_id: session & MAX_SESSION_ID,
                    error: ErrorCode::from(error),
                },
            ))
        })
    }
}

impl DataAck {
    pub(crate) fn validate(&self) -> Result<(), EncodeError> {
        check_session_id(self.session_id)
    }

    pub(crate) fn put(&self, dst: &mut BytesMut) {
        dst.put_u32(self.session_id & MAX_SESSION_ID);
        dst.put_u32(self.length);
    }

    pub(crate) fn parse(data: &[u8], base: usize) -> Result<Self, DecodeError> {
        expect_len("DATA_ACK", data, DATA_ACK_LEN)?;
        run_complete("DATA_ACK", data, base, |i| {
            let (i, session) = field("session_id", be_u32).parse(i)?;
            let (i, length) = field("length", be_u32).parse(i)?;
            Ok((
                i,
                DataAck {
                    session_id: session & MAX_SESSION_ID,
                    length,
                },
            ))
        })
    }
}

impl Connect {
    pub(crate) fn validate(&self) -> Result<(), EncodeError> {
        check_session_id(self.session_id)
    }

    pub(crate) fn put(&self, dst: &mut BytesMut) {
        dst.put_u16(self.svc_id);
        dst.put_u32(self.session_id & MAX_SESSION_ID);
    }

    pub(crate) fn parse(data: &[u8], base: usize) -> Result<Self, DecodeError> {
        expect_len("CONNECT", data, CONNECT_LEN)?;
        run_complete("CONNECT", data, base, |i| {
            let (i, svc_id) = field("svc_id", be_u16).parse(i)?;
            let (i, session) = field("session_id", be_u32).parse(i)?;
            Ok((
                i,
                Connect {
                    svc_id,
                    session_id: session & MAX_SESSION_ID,
                },
            ))
        })
    }
}
