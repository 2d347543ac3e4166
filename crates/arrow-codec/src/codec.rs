//! The codec for whole messages: bytes in, [`Message`]s out, and back.

use bytes::{Buf, BytesMut};

use crate::control::{ControlMessage, control_prefix};
use crate::error::{DecodeError, Error};
use crate::header::{HEADER_LEN, Header};
use crate::message::Message;

/// How much of an announced (and allowed) body is reserved ahead of its arrival; larger
/// bodies grow the buffer as they come in.
const RESERVE_AHEAD: usize = 256 * 1024;

/// Sans-IO codec for Arrow v2 messages: bytes in, [`Message`]s out, and back.
///
/// The header is read as soon as its 11 bytes are there; its version and `body_size` are
/// checked at once (a header announcing `0xFFFFFFF0` bytes fails before anything is
/// buffered for it). Data bodies are split off the buffer without a copy; control bodies
/// are parsed and must be consumed exactly.
///
/// A [`DecodeError`] for which [`DecodeError::is_within_message`] is true leaves the codec
/// at the start of the next message: a caller driving [`decode_message`](Self::decode_message)
/// by hand may answer and go on (tokio-util `Framed` stops at the first error whatever the
/// kind).
///
/// Encoding checks the same `max_body`, so a peer using the same limit accepts what we send.
///
/// With the `codec` feature, tokio-util's `Decoder` is implemented for [`Message`] and
/// `Encoder` for [`Message`], [`ControlMessage`] and [`DataMessage`](crate::DataMessage), owned and borrowed.
/// Because of that, sink calls that take no item need the item type named,
/// e.g. `SinkExt::<Message>::close(&mut framed)`.
#[derive(Debug, Clone)]
pub struct ArrowCodec {
    max_body: u32,
    state: State,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Waiting for a whole header.
    Head,
    /// The header was consumed; waiting for its body.
    Body(Header),
}

impl Default for ArrowCodec {
    fn default() -> Self {
        Self::new()
    }
}

impl ArrowCodec {
    /// The default largest body: 1 MiB. The real client's data messages are at most its
    /// window (65,536 bytes); control messages are far smaller.
    pub const DEFAULT_MAX_BODY: u32 = 1024 * 1024;

    /// A codec with [`DEFAULT_MAX_BODY`](Self::DEFAULT_MAX_BODY).
    pub fn new() -> Self {
        ArrowCodec {
            max_body: Self::DEFAULT_MAX_BODY,
            state: State::Head,
        }
    }

    /// Sets the largest body accepted when decoding and allowed when encoding.
    #[must_use]
    pub fn with_max_body(mut self, max_body: u32) -> Self {
        self.max_body = max_body;
        self
    }

    /// The largest body accepted or produced.
    pub fn max_body(&self) -> u32 {
        self.max_body
    }

    /// True when no message is half-way through decoding (bytes may still wait in the
    /// caller's buffer).
    pub fn is_between_messages(&self) -> bool {
        self.state == State::Head
    }

    /// Encodes a control message with this codec's limit.
    pub fn encode_control(&self, msg: &ControlMessage, dst: &mut BytesMut) -> Result<(), Error> {
        let size = msg.checked_body_len(self.max_body)?;
        msg.put(size, dst);
        Ok(())
    }

    /// Encodes a data message from its parts with this codec's limit (header and body in
    /// one exact reservation, no intermediate buffer).
    pub fn encode_data(
        &self,
        svc_id: u16,
        session_id: u32,
        body: &[u8],
        dst: &mut BytesMut,
    ) -> Result<(), Error> {
        let header = Header::checked_data(svc_id, session_id, body.len(), self.max_body)?;
        dst.reserve(HEADER_LEN + body.len());
        header.put(dst);
        dst.extend_from_slice(body);
        Ok(())
    }

    /// Encodes any message with this codec's limit.
    pub fn encode_message(&self, msg: &Message, dst: &mut BytesMut) -> Result<(), Error> {
        Ok(msg.encode_with_limit(self.max_body, dst)?)
    }

    /// Decodes the next message from the front of `src`, consuming its bytes; `None` when
    /// `src` does not hold a whole message yet (the codec keeps a header it has read).
    /// This is tokio-util's `Decoder::decode` with the `codec` feature.
    pub fn decode_message(&mut self, src: &mut BytesMut) -> Result<Option<Message>, Error> {
        let header = match self.state {
            State::Body(header) => header,
            State::Head => {
                let Some(header) = Header::parse(src)? else {
                    return Ok(None);
                };
                // Checked before the buffer is asked to grow.
                if header.body_size > self.max_body {
                    return Err(DecodeError::Oversize {
                        announced: header.body_size,
                        max: self.max_body,
                    }
                    .into());
                }
                src.advance(HEADER_LEN);
                self.state = State::Body(header);
                header
            }
        };
        let size = header.body_size as usize;
        if src.len() < size {
            src.reserve((size - src.len()).min(RESERVE_AHEAD));
            return Ok(None);
        }
        self.state = State::Head;
        // Known control types are parsed straight from the buffer: only data bodies and
        // unknown control data are handed out as `Bytes`.
        if header.is_control() {
            let known = control_prefix(&src[..size])
                .is_ok_and(|(_, code)| ControlMessage::is_known_type(code));
            if known {
                let parsed = ControlMessage::decode_body_slice(&src[..size]);
                src.advance(size);
                return Ok(Some(Message::Control(parsed?)));
            }
        }
        let body = src.split_to(size).freeze();
        Ok(Some(Message::from_parts(header, body)?))
    }

    /// As [`decode_message`](Self::decode_message) once the stream has ended: bytes left
    /// that do not make a whole message are [`DecodeError::EofMidMessage`].
    pub fn decode_message_eof(&mut self, src: &mut BytesMut) -> Result<Option<Message>, Error> {
        if let Some(msg) = self.decode_message(src)? {
            return Ok(Some(msg));
        }
        match self.state {
            State::Head if src.is_empty() => Ok(None),
            State::Head => Err(DecodeError::EofMidMessage {
                received: src.len(),
                expected: HEADER_LEN,
            }
            .into()),
            State::Body(header) => Err(DecodeError::EofMidMessage {
                received: HEADER_LEN + src.len(),
                expected: header.message_len(),
            }
            .into()),
        }
    }
}
