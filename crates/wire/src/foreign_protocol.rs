//! Recognising a peer that speaks another protocol from the first bytes of its stream.
//!
//! A client pointed at the wrong port reads, say, `HTTP/1.1 400 Bad Request` and, taken as
//! a length prefix, those bytes announce a frame of 1,213,486,160 bytes. Instead of that
//! absurd length, [`FrameCodec`](crate::FrameCodec) checks the start of each stream against
//! the protocols a wrong port usually answers in and names the one it found
//! ([`FrameError::ForeignProtocol`](crate::FrameError::ForeignProtocol)).
//!
//! No frame of either JSON protocol can start like one of these: its prefix would announce
//! at least 5,376 bytes whose payload starts with `{`, never with the rest of a signature.
//! Every signature is at most eight bytes, fewer than such a frame needs anyway, so waiting
//! for a whole signature never delays a real frame.

use std::fmt;

/// A protocol recognised at the start of a stream that should have been length-prefixed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ForeignProtocol {
    /// HTTP: a web server's response (`HTTP/`) or a client's request (`GET `, `POST `...).
    Http,
    /// A TLS record (handshake or alert, `0x16 0x03` or `0x15 0x03`): a TLS server or client.
    Tls,
    /// An SSH banner (`SSH-`).
    Ssh,
}

impl ForeignProtocol {
    /// The protocol's usual name.
    pub const fn name(self) -> &'static str {
        match self {
            ForeignProtocol::Http => "HTTP",
            ForeignProtocol::Tls => "TLS",
            ForeignProtocol::Ssh => "SSH",
        }
    }
}

impl fmt::Display for ForeignProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What the first bytes of a stream say so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sniff {
    /// The bytes start a foreign protocol.
    Foreign(ForeignProtocol),
    /// The bytes are the start of a signature: more are needed to tell.
    NeedMore,
    /// No signature starts like this.
    NotForeign,
}

/// Text signatures, with the protocol each one means.
const TEXT_SIGNATURES: [(&[u8], ForeignProtocol); 7] = [
    (b"HTTP/", ForeignProtocol::Http),
    (b"GET ", ForeignProtocol::Http),
    (b"POST ", ForeignProtocol::Http),
    (b"HEAD ", ForeignProtocol::Http),
    (b"PUT ", ForeignProtocol::Http),
    (b"OPTIONS ", ForeignProtocol::Http),
    (b"SSH-", ForeignProtocol::Ssh),
];

/// Looks at the first bytes of a stream (the whole of what arrived so far).
pub(crate) fn sniff(start: &[u8]) -> Sniff {
    let mut need_more = false;
    for (signature, protocol) in TEXT_SIGNATURES {
        let n = start.len().min(signature.len());
        if start[..n] == signature[..n] {
            if n == signature.len() {
                return Sniff::Foreign(protocol);
            }
            need_more = true;
        }
    }
    // A TLS record header: content type (0x15 alert, 0x16 handshake), then version 3.x
    // with x from 0 (SSL 3.0) to 4 (TLS 1.3).
    match start {
        [0x15 | 0x16, 0x03, 0x00..=0x04, ..] => return Sniff::Foreign(ForeignProtocol::Tls),
        [0x15 | 0x16] | [0x15 | 0x16, 0x03] => need_more = true,
        _ => {}
    }
    if need_more {
        Sniff::NeedMore
    } else {
        Sniff::NotForeign
    }
}

/// The foreign protocol the first bytes of a stream are in, if any.
///
/// `None` also when the bytes are too few to tell (the start of a signature); a decoder
/// that must decide waits for more, as [`FrameCodec`](crate::FrameCodec) does.
///
/// ```
/// use wire::{ForeignProtocol, sniff_foreign_protocol};
///
/// assert_eq!(sniff_foreign_protocol(b"HTTP/1.1 400 Bad Request"), Some(ForeignProtocol::Http));
/// assert_eq!(sniff_foreign_protocol(&[0x16, 0x03, 0x01, 0x02, 0x00]), Some(ForeignProtocol::Tls));
/// assert_eq!(sniff_foreign_protocol(b"SSH-2.0-OpenSSH_9.2"), Some(ForeignProtocol::Ssh));
/// assert_eq!(sniff_foreign_protocol(&[0x00, 0x12, b'{']), None);
/// ```
pub fn sniff_foreign_protocol(start: &[u8]) -> Option<ForeignProtocol> {
    match sniff(start) {
        Sniff::Foreign(protocol) => Some(protocol),
        Sniff::NeedMore | Sniff::NotForeign => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_bytes_name_the_protocol_or_ask_for_more() {
        let cases: [(&[u8], Sniff); 16] = [
            (
                b"HTTP/1.1 400 Bad Request\r\n",
                Sniff::Foreign(ForeignProtocol::Http),
            ),
            (b"HTTP/", Sniff::Foreign(ForeignProtocol::Http)),
            (b"HTTP", Sniff::NeedMore),
            (b"H", Sniff::NeedMore),
            (b"GET / HTTP/1.1\r\n", Sniff::Foreign(ForeignProtocol::Http)),
            (
                b"SSH-2.0-OpenSSH_9.2p1\r\n",
                Sniff::Foreign(ForeignProtocol::Ssh),
            ),
            (b"SS", Sniff::NeedMore),
            (
                &[0x16, 0x03, 0x01, 0x00, 0x2a],
                Sniff::Foreign(ForeignProtocol::Tls),
            ),
            (
                &[0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x32],
                Sniff::Foreign(ForeignProtocol::Tls),
            ),
            (&[0x16, 0x03], Sniff::NeedMore),
            (&[0x16], Sniff::NeedMore),
            (&[0x16, 0x03, 0x7b], Sniff::NotForeign),
            (&[0x00, 0x12, b'{'], Sniff::NotForeign),
            (&[0x48, 0x54, b'{'], Sniff::NotForeign),
            (b"", Sniff::NeedMore),
            (b"HTTX", Sniff::NotForeign),
        ];
        for (bytes, expected) in cases {
            assert_eq!(sniff(bytes), expected, "{bytes:?}");
        }
    }

    #[test]
    fn the_public_function_never_guesses_from_too_few_bytes() {
        assert_eq!(sniff_foreign_protocol(b"HTT"), None);
        assert_eq!(sniff_foreign_protocol(&[0x16, 0x03]), None);
        assert_eq!(sniff_foreign_protocol(b"SSH-"), Some(ForeignProtocol::Ssh));
    }
}
