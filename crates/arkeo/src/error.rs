//! Errors, split by fault: the instrument said no, the peer broke the protocol, the caller
//! misused the API, the transport failed, or a deadline passed.

use std::fmt;
use std::io;
use std::time::Duration;

use serde_json::{Map, Value};

use crate::Dialect;

/// Everything a request can end in, other than a successful reply.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The instrument understood the request and refused it (an `error` object, or status
    /// `error`).
    #[error("{0}")]
    Rejected(Rejection),
    /// The peer broke the protocol: bad framing, a reply that is not a JSON object, a wrong
    /// request_id...
    #[error("protocol violation: {0}")]
    Protocol(#[from] ProtocolError),
    /// The caller asked for something the API cannot send.
    #[error("invalid request: {0}")]
    Usage(#[from] UsageError),
    /// No TCP connection could be made.
    #[error("cannot connect to {addr}: {source}")]
    Connect {
        /// The address as given.
        addr: String,
        /// What the OS said.
        source: io::Error,
    },
    /// Reading or writing the socket failed.
    #[error("transport: {0}")]
    Io(#[from] io::Error),
    /// The peer closed the connection before the whole reply arrived.
    #[error("{}", closed_message(*.received, *.expected))]
    Closed {
        /// Bytes of the unfinished reply frame that arrived (prefix included).
        received: usize,
        /// Bytes the frame announced (prefix included); 0 when not even a prefix came.
        expected: usize,
    },
    /// A deadline passed.
    #[error("timed out after {after:?} waiting for {waiting_for}")]
    Timeout {
        /// What we were waiting for ("the connection", "the reply to GetTestStatus"...).
        waiting_for: String,
        /// The configured limit.
        after: Duration,
    },
    /// An earlier failure left the connection out of step (a late reply could still
    /// arrive), so it refuses further requests: reconnect.
    #[error("connection unusable after an earlier failure ({reason}): reconnect")]
    Unusable {
        /// The earlier failure.
        reason: String,
    },
}

fn closed_message(received: usize, expected: usize) -> String {
    if expected == 0 && received == 0 {
        "connection closed by the instrument before it replied".to_string()
    } else {
        format!(
            "connection closed by the instrument in the middle of a reply ({received} of {expected} bytes)"
        )
    }
}

impl Error {
    /// The rejection, when the instrument refused the request.
    pub fn rejection(&self) -> Option<&Rejection> {
        match self {
            Error::Rejected(r) => Some(r),
            _ => None,
        }
    }

    /// True for failures of the network or of a deadline (as opposed to the instrument
    /// saying no or breaking the protocol).
    pub fn is_transport(&self) -> bool {
        matches!(
            self,
            Error::Connect { .. }
                | Error::Io(_)
                | Error::Closed { .. }
                | Error::Timeout { .. }
                | Error::Unusable { .. }
        )
    }
}

/// An error code from the instrument: kept as the number it sent, with the known ones named.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ErrorCode(pub i64);

/// The error codes seen in the vendor's documentation (no complete table is published).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KnownError {
    /// 101: invalid or missing parameters.
    InvalidParameters,
    /// 1001: LED `SetValues` with the wrong number of values.
    LedValueCount,
    /// 4006: a ROUTINE command without an active routine.
    NoActiveRoutine,
    /// 5001: the request (or a settings string) is not valid JSON.
    InvalidJson,
    /// 5002: unknown device environment.
    InvalidEnvironment,
    /// 5005: a measurement is already running.
    AlreadyRunning,
    /// 5006: no enabled channel to run.
    NoChannelRunning,
}

impl ErrorCode {
    /// 101: invalid or missing parameters.
    pub const INVALID_PARAMETERS: ErrorCode = ErrorCode(101);
    /// 1001: LED value count mismatch.
    pub const LED_VALUE_COUNT: ErrorCode = ErrorCode(1001);
    /// 4006: no active routine.
    pub const NO_ACTIVE_ROUTINE: ErrorCode = ErrorCode(4006);
    /// 5001: invalid JSON.
    pub const INVALID_JSON: ErrorCode = ErrorCode(5001);
    /// 5002: invalid environment.
    pub const INVALID_ENVIRONMENT: ErrorCode = ErrorCode(5002);
    /// 5005: already running.
    pub const ALREADY_RUNNING: ErrorCode = ErrorCode(5005);
    /// 5006: no channel running.
    pub const NO_CHANNEL_RUNNING: ErrorCode = ErrorCode(5006);

    /// The named meaning, for the codes the vendor documents.
    pub fn known(self) -> Option<KnownError> {
        Some(match self.0 {
            101 => KnownError::InvalidParameters,
            1001 => KnownError::LedValueCount,
            4006 => KnownError::NoActiveRoutine,
            5001 => KnownError::InvalidJson,
            5002 => KnownError::InvalidEnvironment,
            5005 => KnownError::AlreadyRunning,
            5006 => KnownError::NoChannelRunning,
            _ => return None,
        })
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The instrument's refusal: its code (when it sent one), its message, the whole reply.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejection {
    /// The error code, when the `error` object had a numeric one.
    pub code: Option<ErrorCode>,
    /// The message as sent (or a description of what was missing).
    pub message: String,
    /// The complete reply object, unknown fields included.
    pub reply: Map<String, Value>,
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.code {
            Some(code) => write!(f, "instrument error {code}: {}", self.message),
            None => write!(f, "instrument error: {}", self.message),
        }
    }
}

/// How the peer broke the protocol.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProtocolError {
    /// Bad framing (an oversize length prefix, typically). Nothing was allocated for it.
    #[error("bad frame: {0}")]
    Frame(wire::FrameError),
    /// A whole reply frame arrived but it is not JSON (even allowing NaN and Infinity).
    #[error("reply of {len} bytes is not JSON: {source}")]
    NotJson {
        /// The payload length.
        len: usize,
        /// What serde_json reported.
        source: serde_json::Error,
    },
    /// The reply is JSON but not an object.
    #[error("{}", not_object_message(*.dialect, .found, .preview))]
    NotAnObject {
        /// The dialect spoken.
        dialect: Dialect,
        /// The JSON type found ("string", "number", "array"...).
        found: &'static str,
        /// The start of the reply, for the message.
        preview: String,
    },
    /// The reply object has no `status` and no `error`.
    #[error("reply has no \"status\" field: {preview}")]
    MissingStatus {
        /// The start of the reply.
        preview: String,
    },
    /// `status` is neither "ok" nor "error" (in any letter case), or not a string.
    #[error("reply status {status} is neither \"ok\" nor \"error\"")]
    UnknownStatus {
        /// The status as sent (JSON text).
        status: String,
    },
    /// The reply echoes another request_id than the request carried.
    #[error("reply carries request_id {received} but the request had {sent}")]
    RequestIdMismatch {
        /// The id sent.
        sent: u64,
        /// The id received (JSON text).
        received: String,
    },
    /// A successful reply whose payload lacks what the command documents.
    #[error("reply to {command} is not shaped as documented: {detail}")]
    UnexpectedShape {
        /// The command answered.
        command: String,
        /// What is missing or of the wrong type.
        detail: String,
    },
    /// Bytes arrived while no request was waiting for them (a second reply, say).
    #[error("{len} unsolicited bytes arrived while no request was waiting for a reply")]
    Unsolicited {
        /// How many bytes (the payload, or whatever followed the reply).
        len: usize,
    },
}

fn not_object_message(dialect: Dialect, found: &str, preview: &str) -> String {
    match dialect {
        Dialect::Multichannel => format!(
            "reply is a JSON {found}, not an object ({preview}): a Multichannel server older \
             than API v0.5 answers without the JSON envelope; upgrade the instrument software"
        ),
        Dialect::AllInOne => {
            format!("reply is a JSON {found}, not the object the All-in-One API sends ({preview})")
        }
    }
}

/// The caller asked for something that cannot be sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct UsageError {
    message: String,
}

impl UsageError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        UsageError {
            message: message.into(),
        }
    }
}

/// At most this many characters of a reply go into an error message.
pub(crate) const PREVIEW_CHARS: usize = 80;

/// The start of `text`, cut at a character boundary, with an ellipsis when cut.
pub(crate) fn preview(text: &str) -> String {
    let mut chars = text.chars();
    let head: String = chars.by_ref().take(PREVIEW_CHARS).collect();
    if chars.next().is_some() {
        format!("{head}...")
    } else {
        head
    }
}
