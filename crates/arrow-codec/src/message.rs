//! Whole messages: a control message (service id 0) or session data (any other id).

use bytes::{BufMut, Bytes, BytesMut};

use crate::control::ControlMessage;
use crate::error::{DecodeError, EncodeError};
use crate::header::{HEADER_LEN, Header};

/// Session data for one service session. The body is handed out as [`Bytes`] split off the
/// input buffer: decoding never copies it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct DataMessage {
    /// The service (never 0).
    pub svc_id: u16,
    /// The session (24 bits).
    pub session_id: u32,
    /// The payload.
    #[serde(with = "crate::hex_bytes")]
    pub body: Bytes,
}

impl DataMessage {
    /// A data message.
    pub fn new(svc_id: u16, session_id: u32, body: Bytes) -> Self {
        DataMessage {
            svc_id,
            session_id,
            body,
        }
    }

    /// Bytes of the whole message, header included.
    pub fn encoded_len(&self) -> usize {
        HEADER_LEN + self.body.len()
    }

    /// Writes header and body into `dst`, reserving the exact size first.
    pub fn encode(&self, dst: &mut BytesMut) -> Result<(), EncodeError> {
        encode_data(self.svc_id, self.session_id, &self.body, dst)
    }
}

/// Writes only the 11-byte header of a data message whose `body_len` bytes the caller
/// appends itself (for instance read straight from a socket into `dst`). Reserves the
/// header, not the body.
pub fn encode_data_header(
    svc_id: u16,
    session_id: u32,
    body_len: usize,
    dst: &mut BytesMut,
) -> Result<(), EncodeError> {
    let header = Header::checked_data(svc_id, session_id, body_len, u32::MAX)?;
    dst.reserve(HEADER_LEN);
    header.put(dst);
    Ok(())
}

/// Writes a whole data message (header and a copy of `body`) into `dst`, reserving the
/// exact size once. No intermediate buffer. Nothing is written when it fails.
pub fn encode_data(
    svc_id: u16,
    session_id: u32,
    body: &[u8],
    dst: &mut BytesMut,
) -> Result<(), EncodeError> {
    let header = Header::checked_data(svc_id, session_id, body.len(), u32::MAX)?;
    dst.reserve(HEADER_LEN + body.len());
    header.put(dst);
    dst.put_slice(body);
    Ok(())
}

/// Any Arrow v2 message.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Message {
    /// Service id 0: a control message.
    Control(ControlMessage),
    /// Any other service id: session data.
    Data(DataMessage),
}

impl Message {
    /// Bytes of the whole message, header included.
    pub fn encoded_len(&self) -> usize {
        match self {
            Message::Control(c) => c.encoded_len(),
            Message::Data(d) => d.encoded_len(),
        }
    }

    /// Writes the whole message into `dst`, reserving its exact size first. Nothing is
    /// written when it fails.
    pub fn encode(&self, dst: &mut BytesMut) -> Result<(), EncodeError> {
        self.encode_with_limit(u32::MAX, dst)
    }

    pub(crate) fn encode_with_limit(
        &self,
        max_body: u32,
        dst: &mut BytesMut,
    ) -> Result<(), EncodeError> {
        match self {
            Message::Control(c) => {
                let size = c.checked_body_len(max_body)?;
                c.put(size, dst);
            }
            Message::Data(d) => {
                let header = Header::checked_data(d.svc_id, d.session_id, d.body.len(), max_body)?;
                dst.reserve(HEADER_LEN + d.body.len());
                header.put(dst);
                dst.put_slice(&d.body);
            }
        }
        Ok(())
    }

    /// Builds a message from its header and its whole body (exactly `body_size` bytes).
    /// Data bodies are kept as they are; control bodies are parsed and must be consumed
    /// exactly.
    pub fn from_parts(header: Header, body: Bytes) -> Result<Message, DecodeError> {
        if header.is_control() {
            ControlMessage::decode_body(&body).map(Message::Control)
        } else {
            Ok(Message::Data(DataMessage {
                svc_id: header.svc_id,
                session_id: header.session_id,
                body,
            }))
        }
    }

    /// Decodes exactly one message that fills `bytes` (header and body, nothing more).
    pub fn decode_exact(bytes: Bytes) -> Result<Message, DecodeError> {
        let header = Header::parse(&bytes)?.ok_or(DecodeError::EofMidMessage {
            received: bytes.len(),
            expected: HEADER_LEN,
        })?;
        let expected = header.message_len();
        match bytes.len().cmp(&expected) {
            std::cmp::Ordering::Less => Err(DecodeError::EofMidMessage {
                received: bytes.len(),
                expected,
            }),
            std::cmp::Ordering::Greater => Err(DecodeError::TrailingBytes {
                message: "message",
                offset: expected,
                extra: bytes.len() - expected,
            }),
            std::cmp::Ordering::Equal => Message::from_parts(header, bytes.slice(HEADER_LEN..)),
        }
    }
}

impl From<ControlMessage> for Message {
    fn from(c: ControlMessage) -> Self {
        Message::Control(c)
    }
}

impl From<DataMessage> for Message {
    fn from(d: DataMessage) -> Self {
        Message::Data(d)
    }
}
