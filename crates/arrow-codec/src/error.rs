//! Errors, split by fault: the peer broke the protocol ([`DecodeError`]), the caller asked
//! for something the wire cannot carry ([`EncodeError`]), or the transport failed
//! ([`Error::Io`], only when the codec is driven by tokio-util `Framed`).

use std::io;

/// The peer sent bytes that are not a valid Arrow v2 message.
///
/// Every variant names the message and field being parsed; `offset` is counted from the
/// first byte of the message's 11-byte header, so a stream reader adds the message's own
/// offset to point at the exact byte.
///
/// Errors found in the header ([`UnsupportedVersion`](Self::UnsupportedVersion),
/// [`Oversize`](Self::Oversize)) are raised before the body is buffered. All other errors
/// are found after the whole message was taken off the input, so a caller that drives
/// [`ArrowCodec`](crate::ArrowCodec) by hand may answer and carry on with the next message
/// ([`is_within_message`](Self::is_within_message)).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The header's version byte is not 2.
    #[error("unsupported protocol version {version} (expected 2)")]
    UnsupportedVersion {
        /// The version byte received.
        version: u8,
    },
    /// The header announces a body longer than the configured maximum. Nothing was
    /// buffered for it.
    #[error("message announces a body of {announced} bytes, over the limit of {max} bytes")]
    Oversize {
        /// The `body_size` field.
        announced: u32,
        /// The configured maximum body size.
        max: u32,
    },
    /// The stream ended inside a message (in its header or its body).
    #[error("stream ended inside a message: {received} of {expected} bytes received")]
    EofMidMessage {
        /// Bytes of the unfinished message (header included) that arrived.
        received: usize,
        /// Bytes the message would have had (header included); for a cut header, 11.
        expected: usize,
    },
    /// A control message (service id 0) whose body cannot hold `msg_id` and `type`.
    #[error("control message body of {body_size} bytes is shorter than msg_id + type (4 bytes)")]
    ControlTooShort {
        /// The `body_size` field.
        body_size: u32,
    },
    /// A fixed-size control message whose data has another length.
    #[error("{message} data must be {expected} bytes, got {actual}")]
    WrongLength {
        /// The message type name, e.g. `"HUP"`.
        message: &'static str,
        /// The length the message type has.
        expected: usize,
        /// The length received.
        actual: usize,
    },
    /// The body ended inside a field.
    #[error("{message} ends inside {field} at byte {offset} of the message")]
    Truncated {
        /// The message type name.
        message: &'static str,
        /// The field being read.
        field: &'static str,
        /// Where the field starts.
        offset: usize,
    },
    /// Bytes left in the body after the message was complete.
    #[error("{extra} trailing bytes after {message} at byte {offset} of the message")]
    TrailingBytes {
        /// The message type name.
        message: &'static str,
        /// Where the trailing bytes start.
        offset: usize,
        /// How many bytes are left over.
        extra: usize,
    },
    /// A NUL-terminated string without its NUL.
    #[error("{message} {field} at byte {offset} of the message has no terminating NUL")]
    MissingNul {
        /// The message type name.
        message: &'static str,
        /// The string field (`"path"`, `"extended_info"`, `"target"`).
        field: &'static str,
        /// Where the string starts.
        offset: usize,
    },
    /// A string field that is not UTF-8.
    #[error("{message} {field} at byte {offset} of the message is not UTF-8")]
    NotUtf8 {
        /// The message type name.
        message: &'static str,
        /// The string field.
        field: &'static str,
        /// Where the string starts.
        offset: usize,
    },
    /// An `ip_version` other than 4 or 6.
    #[error("{message} ip_version {version} at byte {offset} of the message is neither 4 nor 6")]
    BadIpVersion {
        /// The message type name.
        message: &'static str,
        /// The value received.
        version: u8,
        /// Where the `ip_version` byte is.
        offset: usize,
    },
    /// A service table that ends without its terminator record (id 0, type 0).
    #[error(
        "{message} service table has no terminator record (body ends at byte {offset} of the message)"
    )]
    MissingTerminator {
        /// The message type name.
        message: &'static str,
        /// Where the next record should have started.
        offset: usize,
    },
    /// A record count that cannot fit in the bytes left (checked before allocating).
    #[error(
        "{message} {field} {count} at byte {offset} of the message overruns the body: \
         {remaining} bytes left, each record takes at least {min_each}"
    )]
    CountOverrun {
        /// The message type name.
        message: &'static str,
        /// The count field (`"host_count"`, `"port_count"`).
        field: &'static str,
        /// The announced count.
        count: u32,
        /// Bytes left in the body after the count.
        remaining: usize,
        /// The smallest size of one record.
        min_each: usize,
        /// Where the count field is.
        offset: usize,
    },
}

impl DecodeError {
    /// Where in the message the error is, counted from the first header byte (`None` for
    /// errors about the header or the stream as a whole).
    pub fn offset(&self) -> Option<usize> {
        match self {
            DecodeError::Truncated { offset, .. }
            | DecodeError::TrailingBytes { offset, .. }
            | DecodeError::MissingNul { offset, .. }
            | DecodeError::NotUtf8 { offset, .. }
            | DecodeError::BadIpVersion { offset, .. }
            | DecodeError::MissingTerminator { offset, .. }
            | DecodeError::CountOverrun { offset, .. } => Some(*offset),
            _ => None,
        }
    }

    /// True when the error is inside one message whose bytes were already consumed: the
    /// stream is still in step and the next message can be decoded.
    pub fn is_within_message(&self) -> bool {
        !matches!(
            self,
            DecodeError::UnsupportedVersion { .. }
                | DecodeError::Oversize { .. }
                | DecodeError::EofMidMessage { .. }
        )
    }
}

/// The caller asked to encode something the Arrow v2 wire cannot carry. Nothing was written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// A session id does not fit in 24 bits.
    #[error("session id {session_id:#x} does not fit in 24 bits")]
    SessionIdOutOfRange {
        /// The session id given.
        session_id: u32,
    },
    /// A data message for service id 0, which is reserved for control messages.
    #[error("service id 0 is reserved for control messages; a data message needs another")]
    DataOnControlService,
    /// The body is longer than the limit (the codec's maximum, or `u32::MAX`).
    #[error("message body of {len} bytes is over the limit of {max} bytes")]
    BodyTooLarge {
        /// The body length.
        len: usize,
        /// The limit.
        max: u32,
    },
    /// A string that goes on the wire NUL-terminated contains a NUL.
    #[error("{message} {field} contains a NUL byte")]
    InteriorNul {
        /// The message type name.
        message: &'static str,
        /// The string field.
        field: &'static str,
    },
    /// More records than the count field can say.
    #[error("{message} has {count} entries in {field}, more than {max}")]
    TooMany {
        /// The message type name.
        message: &'static str,
        /// The count field.
        field: &'static str,
        /// How many entries were given.
        count: usize,
        /// The most the field can say.
        max: u64,
    },
    /// A service with id 0 and type 0 would be read back as the table terminator.
    #[error("{message} service #{index} has id 0 and type 0, which is the table terminator")]
    TerminatorInTable {
        /// The message type name.
        message: &'static str,
        /// Position of the service in the table.
        index: usize,
    },
}

/// Everything [`ArrowCodec`](crate::ArrowCodec) can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The peer broke the protocol.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// The caller asked for a message the wire cannot carry.
    #[error(transparent)]
    Encode(#[from] EncodeError),
    /// The underlying transport failed (only produced when used with tokio-util `Framed`).
    #[error("transport: {0}")]
    Io(#[from] io::Error),
}

impl Error {
    /// True when the peer broke the protocol.
    pub fn is_peer_fault(&self) -> bool {
        matches!(self, Error::Decode(_))
    }
}
