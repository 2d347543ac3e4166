//! STATUS (client to service): the answer to GET_STATUS.
//!
//! ```text
//! +----------------+------------------+---------------------+
//! | request_id u16 | status_flags u32 | active_sessions u32 |   10 bytes
//! +----------------+------------------+---------------------+
//! ```

use bytes::{BufMut, BytesMut};
use nom::Parser;
use nom::number::complete::{be_u16, be_u32};

use crate::error::DecodeError;
use crate::flags::StatusFlags;
use crate::parse::{expect_len, field, run_complete};

/// Bytes of STATUS data.
pub const STATUS_LEN: usize = 10;

/// STATUS data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Status {
    /// The msg_id of the GET_STATUS this answers.
    pub request_id: u16,
    /// Status flags (bit 0: the scanner is running).
    pub flags: StatusFlags,
    /// Number of active sessions.
    pub active_sessions: u32,
}

impl Status {
    pub(crate) fn put(&self, dst: &mut BytesMut) {
        dst.put_u16(self.request_id);
        dst.put_u32(self.flags.0);
        dst.put_u32(self.active_sessions);
    }

    pub(crate) fn parse(data: &[u8], base: usize) -> Result<Self, DecodeError> {
        expect_len("STATUS", data, STATUS_LEN)?;
        run_complete("STATUS", data, base, |i| {
            let (i, request_id) = field("request_id", be_u16).parse(i)?;
            let (i, flags) = field("status_flags", be_u32).parse(i)?;
            let (i, active_sessions) = field("active_sessions", be_u32).parse(i)?;
            Ok((
                i,
                Status {
                    request_id,
                    flags: StatusFlags(flags),
                    active_sessions,
                },
            ))
        })
    }
}
