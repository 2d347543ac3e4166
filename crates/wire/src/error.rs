//! Errors of the framing and JSON layers.

use std::io;

use crate::ForeignProtocol;

/// Why a byte stream could not be framed, or a frame could not be written.
///
/// [`Oversize`](Self::Oversize), [`ForeignProtocol`](Self::ForeignProtocol) and
/// [`EofMidFrame`](Self::EofMidFrame) are the peer's fault;
/// [`EncodeOversize`](Self::EncodeOversize) is the caller's; [`Io`](Self::Io) is transport.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// The peer announced a payload longer than the configured maximum. Nothing was
    /// allocated for it.
    #[error("frame announces {announced} bytes, over the limit of {max} bytes")]
    Oversize {
        /// The length the prefix announced.
        announced: u64,
        /// The configured maximum payload length.
        max: usize,
    },
    /// The stream starts in another protocol: the peer is not a server (or client) of this
    /// one, typically because the port is wrong. Checked on the first bytes only.
    #[error(
        "the peer speaks {protocol}, not this length-prefixed protocol: check the host and port"
    )]
    ForeignProtocol {
        /// The protocol recognised.
        protocol: ForeignProtocol,
    },
    /// The stream ended inside a frame (in its prefix or its payload).
    #[error("stream ended inside a frame: {received} of {expected} bytes received")]
    EofMidFrame {
        /// Bytes of the unfinished frame (prefix included) that arrived.
        received: usize,
        /// Bytes the whole frame would have had (prefix included); for a cut prefix, the
        /// prefix length.
        expected: usize,
    },
    /// The caller asked to encode a payload longer than the limit or the prefix allows.
    #[error("payload of {len} bytes cannot be framed: the limit is {max} bytes")]
    EncodeOversize {
        /// The payload length.
        len: usize,
        /// The configured maximum (never more than the prefix can express).
        max: usize,
    },
    /// The underlying transport failed (only produced when used with tokio-util `Framed`).
    #[error("transport: {0}")]
    Io(#[from] io::Error),
}

impl FrameError {
    /// True when the peer broke the framing (oversize prefix, stream cut inside a frame).
    pub fn is_peer_fault(&self) -> bool {
        matches!(
            self,
            FrameError::Oversize { .. }
                | FrameError::ForeignProtocol { .. }
                | FrameError::EofMidFrame { .. }
        )
    }
}

/// Why a JSON frame could not be decoded or encoded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JsonFrameError {
    /// The framing layer failed.
    #[error(transparent)]
    Frame(#[from] FrameError),
    /// A whole frame arrived but its payload is not the JSON value expected.
    #[error("frame of {len} bytes is not the JSON expected: {source}")]
    Decode {
        /// The payload length.
        len: usize,
        /// What serde_json reported.
        source: serde_json::Error,
    },
    /// The value to send could not be serialized (the caller's fault).
    #[error("value cannot be serialized as JSON: {0}")]
    Encode(serde_json::Error),
}

impl From<io::Error> for JsonFrameError {
    fn from(e: io::Error) -> Self {
        JsonFrameError::Frame(FrameError::Io(e))
    }
}
