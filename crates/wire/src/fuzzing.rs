//! Entry points for the fuzz targets, and for replaying their corpus under `cargo test`.
//!
//! They panic when an invariant breaks; on any input they must otherwise return.

use bytes::{Bytes, BytesMut};

use crate::{ForeignProtocol, FrameCodec, FrameError, PrefixWidth};

/// Decodes `data` as a frame stream, whole and in chunks, and checks that both agree.
///
/// The first byte picks the prefix width (bit 0), a small maximum (bit 1) and the chunk
/// size for the second pass (the upper bits); the rest is the stream. Invariants checked:
/// no panic; chunked decoding yields the same frames and the same outcome as decoding all at
/// once; every frame re-encodes to exactly the bytes it came from; no frame exceeds the
/// maximum.
pub fn frame_stream(data: &[u8]) {
    let Some((&control, stream)) = data.split_first() else {
        return;
    };
    let width = if control & 1 == 0 {
        PrefixWidth::U16
    } else {
        PrefixWidth::U32
    };
    let max = if control & 2 == 0 { 1 << 20 } else { 64 };
    let chunk = usize::from(control >> 2) + 1;
    let codec = FrameCodec::new(width).with_max_payload(max);

    let whole = decode_in_chunks(codec.clone(), stream, stream.len().max(1));
    let chunked = decode_in_chunks(codec.clone(), stream, chunk);
    assert_eq!(
        whole.0, chunked.0,
        "frames depend on how the stream was split"
    );
    assert_eq!(
        whole.1, chunked.1,
        "outcome depends on how the stream was split"
    );

    let mut reencoded = BytesMut::new();
    for frame in &whole.0 {
        assert!(frame.len() <= max, "frame over the maximum");
        codec
            .encode_payload(frame, &mut reencoded)
            .expect("re-encode");
    }
    assert_eq!(
        &reencoded[..],
        &stream[..reencoded.len()],
        "re-encoding differs"
    );
}

/// How a decode ended, comparable across runs.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    CleanEof,
    Oversize(u64),
    EofMidFrame(usize, usize),
    /// The stream starts in another protocol (HTTP, TLS, SSH): the codec's sniffing of
    /// the first bytes, which must not depend on how they arrive either.
    Foreign(ForeignProtocol),
}

fn decode_in_chunks(mut codec: FrameCodec, stream: &[u8], chunk: usize) -> (Vec<Bytes>, Outcome) {
    let mut frames = Vec::new();
    let mut buf = BytesMut::new();
    for piece in stream.chunks(chunk) {
        buf.extend_from_slice(piece);
        loop {
            match codec.decode_frame(&mut buf) {
                Ok(Some(frame)) => frames.push(frame),
                Ok(None) => break,
                Err(e) => return (frames, outcome(e)),
            }
        }
    }
    loop {
        match codec.decode_frame_eof(&mut buf) {
            Ok(Some(frame)) => frames.push(frame),
            Ok(None) => return (frames, Outcome::CleanEof),
            Err(e) => return (frames, outcome(e)),
        }
    }
}

fn outcome(e: FrameError) -> Outcome {
    match e {
        FrameError::Oversize { announced, .. } => Outcome::Oversize(announced),
        FrameError::EofMidFrame { received, expected } => Outcome::EofMidFrame(received, expected),
        FrameError::ForeignProtocol { protocol } => Outcome::Foreign(protocol),
        other => panic!("decoding produced an unexpected error: {other}"),
    }
}
