//! The raw frame codec: prefix + payload, nothing else.

use bytes::{Buf, Bytes, BytesMut};

use crate::foreign_protocol::{Sniff, sniff};
use crate::{FrameError, PrefixWidth};

/// Default maximum payload for 4-byte prefixes: 16 MiB.
const DEFAULT_MAX_U32: usize = 16 * 1024 * 1024;

/// How much of an announced (and allowed) payload is reserved ahead of its arrival. Larger
/// frames grow the buffer as their bytes come in, so a peer cannot make us reserve more than
/// this by sending a prefix alone.
const RESERVE_AHEAD: usize = 1024 * 1024;

/// Sans-IO codec for big-endian length-prefixed frames.
///
/// Decoding ([`decode_frame`](Self::decode_frame), then
/// [`decode_frame_eof`](Self::decode_frame_eof) at the end of the stream) yields each
/// payload as [`Bytes`] split off the input buffer (no copy); encoding
/// ([`encode_payload`](Self::encode_payload)) takes a byte slice. With the `codec`
/// feature the same logic is also tokio-util's `Decoder` and `Encoder` (for `&[u8]`,
/// [`Bytes`] and `Vec<u8>`).
#[derive(Debug, Clone)]
pub struct FrameCodec {
    width: PrefixWidth,
    max_payload: usize,
    state: DecodeState,
    /// The start of the stream is still to be checked for a foreign protocol.
    sniff_start: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DecodeState {
    /// Waiting for a whole prefix.
    Head,
    /// The prefix was consumed; waiting for this many payload bytes.
    Payload(usize),
}

impl FrameCodec {
    /// A codec with the default maximum payload: 65,535 bytes for [`PrefixWidth::U16`] (all
    /// the prefix can say), 16 MiB for [`PrefixWidth::U32`].
    pub fn new(width: PrefixWidth) -> Self {
        let max_payload = match width {
            PrefixWidth::U16 => u16::MAX as usize,
            PrefixWidth::U32 => DEFAULT_MAX_U32,
        };
        FrameCodec {
            width,
            max_payload,
            state: DecodeState::Head,
            sniff_start: true,
        }
    }

    /// Sets the largest payload accepted when decoding and allowed when encoding.
    ///
    /// The value is clamped to what the prefix can express.
    #[must_use]
    pub fn with_max_payload(mut self, max: usize) -> Self {
        self.max_payload =
            max.min(usize::try_from(self.width.max_expressible()).unwrap_or(usize::MAX));
        self
    }

    /// Turns off the check of the stream's first bytes for another protocol (HTTP, TLS,
    /// SSH; see [`ForeignProtocol`](crate::ForeignProtocol)), for a decoder that starts
    /// in the middle of a stream.
    #[must_use]
    pub fn without_protocol_sniffing(mut self) -> Self {
        self.sniff_start = false;
        self
    }

    /// The prefix width.
    pub fn width(&self) -> PrefixWidth {
        self.width
    }

    /// The largest payload accepted or produced.
    pub fn max_payload(&self) -> usize {
        self.max_payload
    }

    /// True when no frame is half-way through decoding (the codec's own state; bytes may
    /// still wait in the caller's buffer).
    pub fn is_between_frames(&self) -> bool {
        self.state == DecodeState::Head
    }

    /// Encodes one payload into `dst`, reserving the exact size first.
    ///
    /// Fails with [`FrameError::EncodeOversize`] when the payload is over the maximum;
    /// nothing is written then.
    pub fn encode_payload(&self, payload: &[u8], dst: &mut BytesMut) -> Result<(), FrameError> {
        if payload.len() > self.max_payload {
            return Err(FrameError::EncodeOversize {
                len: payload.len(),
                max: self.max_payload,
            });
        }
        dst.reserve(self.width.size() + payload.len());
        self.width.write(payload.len(), dst);
        dst.extend_from_slice(payload);
        Ok(())
    }

    /// Takes one whole frame's payload off the front of `src`.
    ///
    /// `Ok(None)`: more bytes are needed (what is there stays or is kept in the codec's
    /// state); `Ok(Some(payload))`: one frame was consumed; `Err`: the stream is corrupt
    /// (over the maximum, or another protocol) and must be dropped.
    pub fn decode_frame(&mut self, src: &mut BytesMut) -> Result<Option<Bytes>, FrameError> {
        let len = match self.state {
            DecodeState::Payload(len) => len,
            DecodeState::Head => {
                if self.sniff_start {
                    match sniff(src) {
                        Sniff::Foreign(protocol) => {
                            return Err(FrameError::ForeignProtocol { protocol });
                        }
                        Sniff::NeedMore => return Ok(None),
                        Sniff::NotForeign => self.sniff_start = false,
                    }
                }
                let head = self.width.size();
                if src.len() < head {
                    return Ok(None);
                }
                let announced = self.width.read(&src[..head]);
                // The limit is checked before the buffer is asked to grow.
                let len = match usize::try_from(announced) {
                    Ok(len) if len <= self.max_payload => len,
                    _ => {
                        return Err(FrameError::Oversize {
                            announced,
                            max: self.max_payload,
                        });
                    }
                };
                src.advance(head);
                self.state = DecodeState::Payload(len);
                len
            }
        };
        if src.len() < len {
            src.reserve((len - src.len()).min(RESERVE_AHEAD));
            return Ok(None);
        }
        self.state = DecodeState::Head;
        Ok(Some(src.split_to(len).freeze()))
    }

    /// [`decode_frame`](Self::decode_frame) once the stream has ended: a frame still
    /// whole in `src` is returned, `Ok(None)` is a clean end between frames, and bytes
    /// that cannot become a frame any more are [`FrameError::EofMidFrame`].
    pub fn decode_frame_eof(&mut self, src: &mut BytesMut) -> Result<Option<Bytes>, FrameError> {
        if let Some(frame) = self.decode_frame(src)? {
            return Ok(Some(frame));
        }
        if self.sniff_start && !src.is_empty() {
            // The stream ended inside what might have been a signature: it was not one, so
            // the bytes are judged as a frame.
            self.sniff_start = false;
            if let Some(frame) = self.decode_frame(src)? {
                return Ok(Some(frame));
            }
        }
        let head = self.width.size();
        match self.state {
            DecodeState::Head if src.is_empty() => Ok(None),
            DecodeState::Head => Err(FrameError::EofMidFrame {
                received: src.len(),
                expected: head,
            }),
            DecodeState::Payload(len) => Err(FrameError::EofMidFrame {
                received: head + src.len(),
                expected: head + len,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    //! The spec matrix, for both prefix widths. Each case names the behaviour it pins.

    use super::*;
    use crate::ForeignProtocol;

    const WIDTHS: [PrefixWidth; 2] = [PrefixWidth::U16, PrefixWidth::U32];

    fn framed(width: PrefixWidth, payloads: &[&[u8]]) -> BytesMut {
        let codec = FrameCodec::new(width);
        let mut buf = BytesMut::new();
        for p in payloads {
            codec.encode_payload(p, &mut buf).unwrap();
        }
        buf
    }

    fn drain(codec: &mut FrameCodec, buf: &mut BytesMut) -> Vec<Bytes> {
        let mut out = Vec::new();
        while let Some(frame) = codec.decode_frame(buf).unwrap() {
            out.push(frame);
        }
        out
    }

    #[test]
    fn read_single_frame_one_chunk() {
        for width in WIDTHS {
            let mut buf = framed(width, &[b"hello"]);
            let mut codec = FrameCodec::new(width);
            assert_eq!(
                drain(&mut codec, &mut buf),
                vec![Bytes::from_static(b"hello")]
            );
            assert!(buf.is_empty());
            assert!(codec.decode_frame_eof(&mut buf).unwrap().is_none());
        }
    }

    #[test]
    fn read_single_frame_byte_by_byte() {
        for width in WIDTHS {
            let wire = framed(width, &[b"{\"a\":1}"]);
            let mut codec = FrameCodec::new(width);
            let mut buf = BytesMut::new();
            let mut frames = Vec::new();
            for (i, byte) in wire.iter().enumerate() {
                buf.extend_from_slice(&[*byte]);
                let got = codec.decode_frame(&mut buf).unwrap();
                if i + 1 < wire.len() {
                    assert!(got.is_none(), "{width}: frame before its last byte at {i}");
                } else {
                    frames.push(got.expect("frame at last byte"));
                }
            }
            assert_eq!(frames, vec![Bytes::from_static(b"{\"a\":1}")]);
        }
    }

    #[test]
    fn read_multiple_frames_one_chunk() {
        for width in WIDTHS {
            let mut buf = framed(width, &[b"one", b"", b"three"]);
            let mut codec = FrameCodec::new(width);
            let frames = drain(&mut codec, &mut buf);
            assert_eq!(
                frames,
                vec![
                    Bytes::from_static(b"one"),
                    Bytes::new(),
                    Bytes::from_static(b"three")
                ]
            );
        }
    }

    #[test]
    fn read_zero_length_frame() {
        for width in WIDTHS {
            let mut buf = BytesMut::from(&vec![0u8; width.size()][..]);
            let mut codec = FrameCodec::new(width);
            assert_eq!(codec.decode_frame(&mut buf).unwrap(), Some(Bytes::new()));
        }
    }

    #[test]
    fn read_incomplete_head_waits() {
        for width in WIDTHS {
            let mut buf = BytesMut::from(&[0u8][..]);
            let mut codec = FrameCodec::new(width);
            assert!(codec.decode_frame(&mut buf).unwrap().is_none());
            assert_eq!(buf.len(), 1, "a partial prefix stays in the buffer");
        }
    }

    #[test]
    fn read_incomplete_payload_waits() {
        for width in WIDTHS {
            let mut buf = framed(width, &[b"0123456789"]);
            buf.truncate(width.size() + 4);
            let mut codec = FrameCodec::new(width);
            assert!(codec.decode_frame(&mut buf).unwrap().is_none());
            assert!(!codec.is_between_frames());
            buf.extend_from_slice(b"456789");
            assert_eq!(
                codec.decode_frame(&mut buf).unwrap().unwrap(),
                &b"0123456789"[..]
            );
        }
    }

    #[test]
    fn read_oversize_rejected_before_allocation() {
        let cases: [(PrefixWidth, &[u8], usize); 3] = [
            (
                PrefixWidth::U32,
                &[0x7f, 0xff, 0xff, 0xff],
                16 * 1024 * 1024,
            ),
            (PrefixWidth::U32, &[0x00, 0x00, 0x04, 0x01], 1024),
            (PrefixWidth::U16, &[0x01, 0x00], 255),
        ];
        for (width, head, max) in cases {
            let mut codec = FrameCodec::new(width).with_max_payload(max);
            let mut buf = BytesMut::with_capacity(head.len());
            buf.extend_from_slice(head);
            let capacity_before = buf.capacity();
            let err = codec.decode_frame(&mut buf).unwrap_err();
            assert!(
                matches!(err, FrameError::Oversize { max: m, .. } if m == max),
                "{width}: {err}"
            );
            assert!(
                err.to_string().contains(&max.to_string()),
                "error names the limit"
            );
            assert_eq!(
                buf.capacity(),
                capacity_before,
                "no allocation for the payload"
            );
        }
    }

    #[test]
    fn read_payload_at_max_accepted() {
        for width in WIDTHS {
            let payload = vec![7u8; 300];
            let mut buf = framed(width, &[&payload]);
            let mut codec = FrameCodec::new(width).with_max_payload(300);
            assert_eq!(codec.decode_frame(&mut buf).unwrap().unwrap(), &payload[..]);
        }
    }

    #[test]
    fn encode_oversize_rejected() {
        let cases = [
            (FrameCodec::new(PrefixWidth::U16), 65_536),
            (FrameCodec::new(PrefixWidth::U32).with_max_payload(100), 101),
            (
                FrameCodec::new(PrefixWidth::U16).with_max_payload(1 << 30),
                65_536,
            ),
        ];
        for (codec, len) in cases {
            let mut buf = BytesMut::new();
            let err = codec.encode_payload(&vec![0u8; len], &mut buf).unwrap_err();
            assert!(matches!(err, FrameError::EncodeOversize { .. }), "{err}");
            assert!(buf.is_empty(), "nothing written on error, never truncated");
        }
    }

    #[test]
    fn encode_largest_u16_frame() {
        let codec = FrameCodec::new(PrefixWidth::U16);
        let mut buf = BytesMut::new();
        codec.encode_payload(&vec![b'x'; 65_535], &mut buf).unwrap();
        assert_eq!(&buf[..2], &[0xff, 0xff]);
        assert_eq!(buf.len(), 65_537);
    }

    #[test]
    fn eof_mid_payload_is_an_error() {
        for width in WIDTHS {
            let mut buf = framed(width, &[b"abcdef"]);
            buf.truncate(width.size() + 2);
            let mut codec = FrameCodec::new(width);
            let err = codec.decode_frame_eof(&mut buf).unwrap_err();
            assert!(
                matches!(err, FrameError::EofMidFrame { received, expected }
                    if received == width.size() + 2 && expected == width.size() + 6),
                "{width}: {err:?}"
            );
        }
    }

    #[test]
    fn eof_mid_head_is_an_error() {
        for width in WIDTHS {
            let mut buf = BytesMut::from(&[0u8][..]);
            let mut codec = FrameCodec::new(width);
            let err = codec.decode_frame_eof(&mut buf).unwrap_err();
            assert!(
                matches!(err, FrameError::EofMidFrame { received: 1, .. }),
                "{err:?}"
            );
        }
    }

    #[test]
    fn eof_between_frames_is_clean() {
        for width in WIDTHS {
            let mut buf = framed(width, &[b"x"]);
            let mut codec = FrameCodec::new(width);
            assert!(codec.decode_frame_eof(&mut buf).unwrap().is_some());
            assert!(codec.decode_frame_eof(&mut buf).unwrap().is_none());
        }
    }

    #[test]
    fn read_foreign_protocol_named_instead_of_a_frame() {
        let cases: [(&[u8], ForeignProtocol); 4] = [
            (b"HTTP/1.1 400 Bad Request\r\n\r\n", ForeignProtocol::Http),
            (b"SSH-2.0-OpenSSH_9.2p1 Debian\r\n", ForeignProtocol::Ssh),
            (
                &[0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x32],
                ForeignProtocol::Tls,
            ),
            (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", ForeignProtocol::Http),
        ];
        for width in WIDTHS {
            for (bytes, protocol) in cases {
                let mut codec = FrameCodec::new(width);
                let mut buf = BytesMut::from(bytes);
                let err = codec.decode_frame(&mut buf).unwrap_err();
                assert!(
                    matches!(err, FrameError::ForeignProtocol { protocol: p } if p == protocol),
                    "{width} {bytes:?}: {err}"
                );
                assert!(err.is_peer_fault());
                let text = err.to_string();
                assert!(
                    text.contains(protocol.name()) && text.contains("port"),
                    "{text}"
                );
            }
        }
    }

    #[test]
    fn read_foreign_protocol_found_byte_by_byte() {
        for width in WIDTHS {
            let mut codec = FrameCodec::new(width);
            let mut buf = BytesMut::new();
            let mut outcome = None;
            for byte in b"HTTP/1.0 200 OK\r\n" {
                buf.extend_from_slice(&[*byte]);
                match codec.decode_frame(&mut buf) {
                    Ok(None) => continue,
                    other => {
                        outcome = Some((buf.len(), other));
                        break;
                    }
                }
            }
            let (seen, result) = outcome.expect("decided before the end");
            assert_eq!(seen, 5, "{width}: decided at the fifth byte");
            assert!(matches!(
                result,
                Err(FrameError::ForeignProtocol {
                    protocol: ForeignProtocol::Http
                })
            ));
        }
    }

    #[test]
    fn read_signature_lookalike_later_in_stream_is_a_frame() {
        // Only the start of a stream is checked: a later frame whose prefix happens to be
        // "HT" (18,516 bytes) is an ordinary frame.
        let payload = vec![b'{'; 0x4854];
        let mut buf = framed(PrefixWidth::U16, &[b"{}", &payload]);
        let mut codec = FrameCodec::new(PrefixWidth::U16);
        assert_eq!(drain(&mut codec, &mut buf).len(), 2);
    }

    #[test]
    fn read_without_sniffing_takes_the_bytes_as_a_prefix() {
        let mut codec = FrameCodec::new(PrefixWidth::U32).without_protocol_sniffing();
        let mut buf = BytesMut::from(&b"HTTP/1.1 400"[..]);
        let err = codec.decode_frame(&mut buf).unwrap_err();
        assert!(matches!(
            err,
            FrameError::Oversize {
                announced: 1_213_486_160,
                ..
            }
        ));
    }

    #[test]
    fn eof_inside_a_signature_start_is_judged_as_a_frame() {
        let mut codec = FrameCodec::new(PrefixWidth::U16);
        let mut buf = BytesMut::from(&b"HTT"[..]);
        assert!(codec.decode_frame(&mut buf).unwrap().is_none());
        let err = codec.decode_frame_eof(&mut buf).unwrap_err();
        assert!(
            matches!(err, FrameError::EofMidFrame { received: 3, expected } if expected == 2 + 0x4854),
            "{err:?}"
        );
    }

    #[test]
    fn max_payload_is_clamped_to_prefix() {
        let codec = FrameCodec::new(PrefixWidth::U16).with_max_payload(usize::MAX);
        assert_eq!(codec.max_payload(), 65_535);
    }
}
