//! `ArrowCodec` as a tokio-util Decoder/Encoder: limits, end of stream, zero copy.

use arrow_codec::{
    ArrowCodec, ControlMessage, DataMessage, DecodeError, EncodeError, Error, Message,
};
use bytes::{Bytes, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

#[test]
fn oversize_header_fails_before_buffering() {
    let mut codec = ArrowCodec::new().with_max_body(1024);
    let mut buf = BytesMut::from(&[2u8, 0, 1, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xf0][..]);
    let capacity = buf.capacity();
    match codec.decode(&mut buf) {
        Err(Error::Decode(DecodeError::Oversize { announced, max })) => {
            assert_eq!((announced, max), (0xffff_fff0, 1024));
        }
        other => panic!("expected Oversize, got {other:?}"),
    }
    assert_eq!(
        buf.capacity(),
        capacity,
        "nothing reserved for the announced body"
    );
}

#[test]
fn max_body_is_inclusive() {
    let mut codec = ArrowCodec::new().with_max_body(4);
    let mut buf = BytesMut::new();
    codec
        .encode(
            DataMessage::new(1, 1, Bytes::from_static(b"abcd")),
            &mut buf,
        )
        .unwrap();
    assert!(codec.decode(&mut buf).unwrap().is_some());
    let too_big = DataMessage::new(1, 1, Bytes::from_static(b"abcde"));
    match codec.encode(too_big, &mut buf) {
        Err(Error::Encode(EncodeError::BodyTooLarge { len: 5, max: 4 })) => {}
        other => panic!("expected BodyTooLarge, got {other:?}"),
    }
    assert!(buf.is_empty(), "nothing written on failure");
}

#[test]
fn data_body_is_not_copied() {
    let mut wire = BytesMut::new();
    arrow_codec::encode_data(3, 9, &[7u8; 4096], &mut wire).unwrap();
    let start = wire.as_ptr() as usize;
    let mut codec = ArrowCodec::new();
    let Some(Message::Data(d)) = codec.decode(&mut wire).unwrap() else {
        panic!("data message expected")
    };
    assert_eq!(
        d.body.as_ptr() as usize,
        start + 11,
        "body points into the input buffer"
    );
    assert_eq!(d.body.len(), 4096);
}

#[test]
fn unknown_control_data_is_not_copied() {
    let bytes = Bytes::from_static(&[
        2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 6, 0, 1, 0x12, 0x34, 0xaa, 0xbb,
    ]);
    let msg = Message::decode_exact(bytes.clone()).unwrap();
    let Message::Control(ControlMessage {
        body: arrow_codec::ControlBody::Unknown(u),
        ..
    }) = msg
    else {
        panic!("unknown control expected")
    };
    assert_eq!(u.data.as_ptr(), bytes[15..].as_ptr());
}

#[test]
fn partial_input_waits_then_completes() {
    let mut whole = BytesMut::new();
    ControlMessage::ping(5).encode(&mut whole).unwrap();
    arrow_codec::encode_data(1, 2, b"hello", &mut whole).unwrap();
    let mut codec = ArrowCodec::new();
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    for byte in whole.iter() {
        buf.extend_from_slice(&[*byte]);
        while let Some(m) = codec.decode(&mut buf).unwrap() {
            out.push(m);
        }
    }
    assert!(codec.is_between_messages());
    assert_eq!(
        out,
        vec![
            Message::Control(ControlMessage::ping(5)),
            Message::Data(DataMessage::new(1, 2, Bytes::from_static(b"hello"))),
        ]
    );
}

#[test]
fn clean_eof_between_messages_is_none() {
    let mut codec = ArrowCodec::new();
    let mut buf = BytesMut::new();
    assert!(codec.decode_eof(&mut buf).unwrap().is_none());
}

#[test]
fn encoded_len_and_header_helpers_are_exact() {
    let mut buf = BytesMut::new();
    arrow_codec::encode_data_header(0x1a2b, 0x00ab_cdef, 3, &mut buf).unwrap();
    assert_eq!(hex::encode(&buf), "021a2b00abcdef00000003");
    buf.extend_from_slice(b"abc");
    let msg = Message::decode_exact(buf.freeze()).unwrap();
    assert_eq!(msg.encoded_len(), 14);
}

#[test]
fn decode_exact_rejects_short_and_long_input() {
    let mut buf = BytesMut::new();
    ControlMessage::ping(1).encode(&mut buf).unwrap();
    let bytes = buf.freeze();
    assert_eq!(
        Message::decode_exact(bytes.slice(..14)),
        Err(DecodeError::EofMidMessage {
            received: 14,
            expected: 15
        })
    );
    let mut long = bytes.to_vec();
    long.push(0);
    assert_eq!(
        Message::decode_exact(Bytes::from(long)),
        Err(DecodeError::TrailingBytes {
            message: "message",
            offset: 15,
            extra: 1
        })
    );
}
