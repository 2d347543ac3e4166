//! Entry points for the fuzz targets, and for replaying their corpus under `cargo test`.
//!
//! They panic when an invariant breaks; on any input they must otherwise return.

use bytes::BytesMut;

use crate::{ArrowCodec, Message};

/// Decodes `data` as a message stream, whole and in chunks, and checks that both agree.
///
/// The first byte picks a small maximum body (bit 0) and the chunk size for the second
/// pass (the upper bits); the rest is the stream. Invariants checked: no panic; chunked
/// decoding yields the same messages and the same outcome as decoding all at once; every
/// message re-encodes, and the re-encoded bytes decode to the same message.
pub fn message_stream(data: &[u8]) {
    let Some((&control, stream)) = data.split_first() else {
        return;
    };
    let max = if control & 1 == 0 { 1 << 20 } else { 64 };
    let chunk = usize::from(control >> 1) + 1;
    let codec = ArrowCodec::new().with_max_body(max);

    let whole = decode_in_chunks(codec.clone(), stream, stream.len().max(1));
    let chunked = decode_in_chunks(codec.clone(), stream, chunk);
    assert_eq!(
        whole, chunked,
        "decoding depends on how the stream was split"
    );

    for msg in &whole.0 {
        let mut bytes = BytesMut::new();
        msg.encode(&mut bytes)
            .expect("a decoded message re-encodes");
        assert_eq!(bytes.len(), msg.encoded_len(), "encoded_len is exact");
        let again = Message::decode_exact(bytes.freeze()).expect("re-encoded bytes decode");
        assert_eq!(&again, msg, "re-encoding changes the message");
    }
}

/// Messages decoded, and how the stream ended (the error text, or `None` at a clean end).
type Outcome = (Vec<Message>, Option<String>);

fn decode_in_chunks(mut codec: ArrowCodec, stream: &[u8], chunk: usize) -> Outcome {
    let mut messages = Vec::new();
    let mut buf = BytesMut::new();
    for piece in stream.chunks(chunk) {
        buf.extend_from_slice(piece);
        loop {
            match codec.decode_message(&mut buf) {
                Ok(Some(msg)) => messages.push(msg),
                Ok(None) => break,
                Err(e) => return (messages, Some(e.to_string())),
            }
        }
    }
    loop {
        match codec.decode_message_eof(&mut buf) {
            Ok(Some(msg)) => messages.push(msg),
            Ok(None) => return (messages, None),
            Err(e) => return (messages, Some(e.to_string())),
        }
    }
}
