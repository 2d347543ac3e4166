//! Decodes a captured Arrow byte stream (what an Arrow Service sent a client right after
//! its REGISTER) into messages, fed in small chunks as from a socket, and encodes the
//! client's answers back: no runtime, no socket, no tokio.
//!
//! ```sh
//! cargo run -p arrow-codec --example decode_capture
//! ```

#![allow(clippy::print_stdout)] // an example talks to its user

use bytes::BytesMut;
use tokio_util::codec::{Decoder, Encoder};

use arrow_codec::{ArrowCodec, ControlBody, ControlMessage, ErrorCode, Message};

/// Service to client, as captured: each message is an 11-byte header (version 2, svc_id,
/// reserved, session_id u24, body_size u32) and its body.
#[rustfmt::skip]
const CAPTURE: &[u8] = &[
    // ACK msg_id 0 (the REGISTER accepted): msg_id, type 0x0000, error code 0
    2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 8,
    0, 0, 0, 0, 0, 0, 0, 0,
    // PING msg_id 1: msg_id, type 0x0001, no data
    2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4,
    0, 1, 0, 1,
    // CONNECT msg_id 2: type 0x000d, svc_id 1, reserved, session 0x000042
    2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 10,
    0, 2, 0, 0x0d, 0, 1, 0, 0, 0, 0x42,
    // data on svc_id 1, session 0x000042: 47 bytes of RTSP
    2, 0, 1, 0, 0, 0, 0x42, 0, 0, 0, 47,
    b'O', b'P', b'T', b'I', b'O', b'N', b'S', b' ',
    b'r', b't', b's', b'p', b':', b'/', b'/', b'1', b'2', b'7', b'.', b'0', b'.', b'0', b'.',
    b'1', b'/', b' ', b'R', b'T', b'S', b'P', b'/', b'1', b'.', b'0', b'\r', b'\n',
    b'C', b'S', b'e', b'q', b':', b' ', b'1', b'\r', b'\n', b'\r', b'\n',
    // a control type this crate does not know (0x0077), msg_id 3, two bytes of data
    2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 6,
    0, 3, 0, 0x77, 0xde, 0xad,
];

fn main() -> Result<(), arrow_codec::Error> {
    let mut codec = ArrowCodec::new();
    let mut buf = BytesMut::new();
    let mut answers = Vec::new();

    // Whatever arrives goes into the buffer and every whole message comes out. Five bytes
    // at a time shows headers and bodies split across reads.
    for chunk in CAPTURE.chunks(5) {
        buf.extend_from_slice(chunk);
        while let Some(message) = codec.decode(&mut buf)? {
            match message {
                Message::Control(control) => {
                    println!("control msg_id {}: {:?}", control.msg_id, control.body);
                    if control.body == ControlBody::Ping {
                        answers.push(ControlMessage::ack(control.msg_id, ErrorCode::NoError));
                    }
                    // An unknown type is answered, not fatal: ACK UNSUPPORTED_METHOD.
                    answers.extend(control.unsupported_reply());
                }
                Message::Data(data) => {
                    println!(
                        "data svc {} session {:#x}: {:?}",
                        data.svc_id,
                        data.session_id,
                        String::from_utf8_lossy(&data.body)
                    );
                }
            }
        }
    }
    // End of the capture: a clean end between messages, or an error naming the cut one.
    assert!(codec.decode_eof(&mut buf)?.is_none());

    // The client's answers, encoded back into bytes for the TLS stream.
    let mut out = BytesMut::new();
    for answer in answers {
        codec.encode(answer, &mut out)?;
    }
    println!("{} bytes to send: {:02x?}", out.len(), &out[..]);

    // The same bytes decode to the same answers.
    while let Some(message) = codec.decode(&mut out)? {
        println!("sent: {message:?}");
    }
    Ok(())
}
