//! Property tests: round trips and chunking invariance for both prefix widths.

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use wire::{FrameCodec, PrefixWidth};

fn width() -> impl Strategy<Value = PrefixWidth> {
    prop_oneof![Just(PrefixWidth::U16), Just(PrefixWidth::U32)]
}

fn payloads() -> impl Strategy<Value = Vec<Vec<u8>>> {
    prop::collection::vec(prop::collection::vec(any::<u8>(), 0..300), 0..12)
}

fn encode_all(codec: &FrameCodec, payloads: &[Vec<u8>]) -> BytesMut {
    let mut buf = BytesMut::new();
    for p in payloads {
        codec.encode_payload(p, &mut buf).unwrap();
    }
    buf
}

/// Decodes `stream` fed in pieces that end at each of `cuts` (sorted, deduplicated).
fn decode_split(width: PrefixWidth, stream: &[u8], cuts: &[usize]) -> Vec<Bytes> {
    let mut codec = FrameCodec::new(width);
    let mut buf = BytesMut::new();
    let mut frames = Vec::new();
    let mut start = 0;
    for &end in cuts.iter().chain(std::iter::once(&stream.len())) {
        buf.extend_from_slice(&stream[start..end]);
        start = end;
        while let Some(frame) = codec.decode_frame(&mut buf).unwrap() {
            frames.push(frame);
        }
    }
    assert!(codec.decode_frame_eof(&mut buf).unwrap().is_none());
    frames
}

proptest! {
    #[test]
    fn encode_then_decode_is_identity(width in width(), payloads in payloads()) {
        let codec = FrameCodec::new(width);
        let stream = encode_all(&codec, &payloads);
        let frames = decode_split(width, &stream, &[]);
        let frames: Vec<Vec<u8>> = frames.iter().map(|f| f.to_vec()).collect();
        prop_assert_eq!(frames, payloads);
    }

    #[test]
    fn any_split_decodes_to_the_same_frames(
        width in width(),
        payloads in payloads(),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..40),
    ) {
        let codec = FrameCodec::new(width);
        let stream = encode_all(&codec, &payloads);
        let mut cuts: Vec<usize> = cuts.iter().map(|i| i.index(stream.len() + 1)).collect();
        cuts.sort_unstable();
        cuts.dedup();
        prop_assert_eq!(decode_split(width, &stream, &cuts), decode_split(width, &stream, &[]));
    }

    #[test]
    fn arbitrary_bytes_never_panic(data in prop::collection::vec(any::<u8>(), 0..600)) {
        wire::fuzzing::frame_stream(&data);
    }
}
