//! The 11-byte header in front of every message.
//!
//! ```text
//!  0         1          3          4             7                 11
//! +---------+----------+----------+-------------+-----------------+
//! | version | svc_id   | reserved | session_id  | body_size       |
//! | u8 = 2  | u16      | u8 = 0   | u24         | u32             |
//! +---------+----------+----------+-------------+-----------------+
//! ```
//!
//! All big-endian. The reserved byte is written as 0 and ignored on receipt.

use bytes::{BufMut, BytesMut};
use nom::Parser;
use nom::number::streaming::{be_u16, be_u24, be_u32, u8 as byte};

use crate::error::{DecodeError, EncodeError};

/// The protocol version this crate speaks, and the only one it accepts.
pub const VERSION: u8 = 2;

/// Bytes in a message header.
pub const HEADER_LEN: usize = 11;

/// The largest session id: session ids are 24 bits on the wire.
pub const MAX_SESSION_ID: u32 = 0x00ff_ffff;

/// Service id 0 carries control messages.
pub const CONTROL_SVC_ID: u16 = 0;

/// A decoded message header (the version is checked, not kept: it is always 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Header {
    /// Service id; 0 for control messages.
    pub svc_id: u16,
    /// Session id (24 bits; ignored for control messages).
    pub session_id: u32,
    /// Bytes of body after the header.
    pub body_size: u32,
}

impl Header {
    /// True for the control service (id 0).
    pub fn is_control(&self) -> bool {
        self.svc_id == CONTROL_SVC_ID
    }

    /// Bytes of the whole message, header included.
    pub fn message_len(&self) -> usize {
        HEADER_LEN + self.body_size as usize
    }

    /// Reads a header from the front of `src` (streaming: `Ok(None)` when fewer than 11
    /// bytes are there). Fails on a version other than 2 as soon as the first byte is
    /// there (a peer speaking another protocol is caught at once). Consumes nothing.
    pub fn parse(src: &[u8]) -> Result<Option<Header>, DecodeError> {
        if let Some(&version) = src.first()
            && version != VERSION
        {
            return Err(DecodeError::UnsupportedVersion { version });
        }
        match header(src) {
            Ok((_, (version, header))) if version == VERSION => Ok(Some(header)),
            Ok((_, (version, _))) => Err(DecodeError::UnsupportedVersion { version }),
            // Streaming parsers only fail by asking for more.
            Err(_) => Ok(None),
        }
    }

    /// The header of a data message carrying `body_len` bytes, checked against the wire:
    /// service id not 0, session id within 24 bits, body length within `u32`.
    pub fn data(svc_id: u16, session_id: u32, body_len: usize) -> Result<Header, EncodeError> {
        Self::checked_data(svc_id, session_id, body_len, u32::MAX)
    }

    /// Checks the fields of a data message header against the wire and `max_body`.
    pub(crate) fn checked_data(
        svc_id: u16,
        session_id: u32,
        body_len: usize,
        max_body: u32,
    ) -> Result<Header, EncodeError> {
        if svc_id == 0 {
            return Err(EncodeError::DataOnControlService);
        }
        check_session_id(session_id)?;
        match u32::try_from(body_len) {
            Ok(body_size) if body_size <= max_body => Ok(Header {
                svc_id,
                session_id,
                body_size,
            }),
            _ => Err(EncodeError::BodyTooLarge {
                len: body_len,
                max: max_body,
            }),
        }
    }

    /// The 11 header bytes, for a vectored write next to a body kept as it is. The session
    /// id is masked to 24 bits (build headers with [`Header::data`] to have it checked).
    pub fn to_array(&self) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        out[0] = VERSION;
        out[1..3].copy_from_slice(&self.svc_id.to_be_bytes());
        out[3..7].copy_from_slice(&(self.session_id & MAX_SESSION_ID).to_be_bytes());
        out[7..11].copy_from_slice(&self.body_size.to_be_bytes());
        out
    }

    /// Writes the header (reserving its 11 bytes). Fails when the session id is over 24
    /// bits; nothing is written then.
    pub fn encode(&self, dst: &mut BytesMut) -> Result<(), EncodeError> {
        check_session_id(self.session_id)?;
        dst.reserve(HEADER_LEN);
        self.put(dst);
        Ok(())
    }

    /// Writes the header with no checks (callers validated the session id).
    pub(crate) fn put(&self, dst: &mut BytesMut) {
        dst.put_u8(VERSION);
        dst.put_u16(self.svc_id);
        // reserved byte + 24-bit session id
        dst.put_u32(self.session_id & MAX_SESSION_ID);
        dst.put_u32(self.body_size);
    }
}

/// Fails for session ids over 24 bits.
pub(crate) fn check_session_id(session_id: u32) -> Result<(), EncodeError> {
    if session_id > MAX_SESSION_ID {
        Err(EncodeError::SessionIdOutOfRange { session_id })
    } else {
        Ok(())
    }
}

type StreamResult<'a, T> = nom::IResult<&'a [u8], T, nom::error::Error<&'a [u8]>>;

fn header(i: &[u8]) -> StreamResult<'_, (u8, Header)> {
    let (i, version) = byte.parse(i)?;
    let (i, svc_id) = be_u16.parse(i)?;
    let (i, _reserved) = byte.parse(i)?;
    let (i, session_id) = be_u24.parse(i)?;
    let (i, body_size) = be_u32.parse(i)?;
    Ok((
        i,
        (
            version,
            Header {
                svc_id,
                session_id,
                body_size,
            },
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_parses_the_reference_register_header() {
        let bytes = [
            0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x70,
        ];
        let header = Header::parse(&bytes).unwrap().unwrap();
        assert_eq!(
            header,
            Header {
                svc_id: 0,
                session_id: 0,
                body_size: 0x170
            }
        );
        let mut out = BytesMut::new();
        header.encode(&mut out).unwrap();
        assert_eq!(&out[..], &bytes);
    }

    #[test]
    fn header_array_matches_the_encoder() {
        let header = Header::data(0x1a2b, 0x00ab_cdef, 300).unwrap();
        let mut out = BytesMut::new();
        header.encode(&mut out).unwrap();
        assert_eq!(&header.to_array()[..], &out[..]);
        assert_eq!(
            Header::data(0, 1, 0),
            Err(EncodeError::DataOnControlService)
        );
        assert_eq!(
            Header::data(1, 0x0100_0000, 0),
            Err(EncodeError::SessionIdOutOfRange {
                session_id: 0x0100_0000
            })
        );
    }

    #[test]
    fn header_needs_all_eleven_bytes() {
        let bytes = [0x02, 0, 1, 0, 0, 0, 7, 0, 0, 0, 4];
        for cut in 0..HEADER_LEN {
            assert_eq!(Header::parse(&bytes[..cut]), Ok(None), "cut at {cut}");
        }
        assert!(Header::parse(&bytes).unwrap().is_some());
    }

    #[test]
    fn header_ignores_the_reserved_byte() {
        let bytes = [0x02, 0, 1, 0xff, 0, 0, 7, 0, 0, 0, 4];
        let header = Header::parse(&bytes).unwrap().unwrap();
        assert_eq!(header.session_id, 7);
    }

    #[test]
    fn header_rejects_other_versions_from_the_first_byte() {
        for version in [0u8, 1, 3, 0x16, 0xff] {
            let bytes = [version, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
            for len in [1, HEADER_LEN] {
                assert_eq!(
                    Header::parse(&bytes[..len]),
                    Err(DecodeError::UnsupportedVersion { version })
                );
            }
        }
    }

    #[test]
    fn header_encode_rejects_session_ids_over_24_bits() {
        let header = Header {
            svc_id: 1,
            session_id: 0x0100_0000,
            body_size: 0,
        };
        let mut out = BytesMut::new();
        assert_eq!(
            header.encode(&mut out),
            Err(EncodeError::SessionIdOutOfRange {
                session_id: 0x0100_0000
            })
        );
        assert!(out.is_empty());
    }
}
