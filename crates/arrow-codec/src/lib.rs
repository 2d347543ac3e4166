//! Every Angelcam Arrow protocol v2 message, parsed with nom and encoded back.
//!
//! Arrow tunnels TCP sessions between an Arrow Client (inside a camera network) and an
//! Arrow Service (in the cloud) over one TLS connection. Every message is an 11-byte header
//! and a body; service id 0 carries control messages, any other id carries session data:
//!
//! ```text
//!  0         1          3          4             7                 11
//! +---------+----------+----------+-------------+-----------------+---------------------+
//! | version | svc_id   | reserved | session_id  | body_size       | body (body_size B)  |
//! | u8 = 2  | u16      | u8 = 0   | u24         | u32             |                     |
//! +---------+----------+----------+-------------+-----------------+---------------------+
//!
//! control body (svc_id 0):  +------------+------------+------------------+
//!                           | msg_id u16 | type u16   | data             |
//!                           +------------+------------+------------------+
//! ```
//!
//! This crate does no I/O and reads no clock. [`ArrowCodec`] takes bytes from a
//! [`BytesMut`](bytes::BytesMut) and gives messages back ([`ArrowCodec::decode_message`],
//! [`ArrowCodec::encode_message`]); with the `codec` feature it is also tokio-util's
//! `Decoder` and `Encoder`, so a driver wraps a TLS stream in `Framed`.
//!
//! - Data messages ([`DataMessage`]) hand their body out as [`Bytes`](bytes::Bytes) split
//!   off the input buffer, never copied. [`encode_data`] and [`encode_data_header`] write
//!   a data message without building one.
//! - Control messages ([`ControlMessage`]) cover every type of the spec, both directions;
//!   a type this crate does not know decodes to [`ControlBody::Unknown`] with its msg_id,
//!   type and raw data, so the runtime can answer it with ACK `UNSUPPORTED_METHOD`
//!   ([`ControlMessage::unsupported_reply`]) instead of dropping the connection.
//! - [`ErrorCode`] and [`ServiceType`] keep values they do not know.
//! - Reserved bytes are written as 0 and ignored on receipt; session ids are 24 bits.
//! - Every length is checked before anything is allocated: the header's `body_size`
//!   against the codec's maximum, record counts against the bytes left. Bad input is a
//!   [`DecodeError`] naming the message, field and byte offset, never a panic.
//!
//! The byte layout of every message, and each choice made where the spec is silent, is in
//! `docs/protocols/arrow.md` of the repository.
//!
//! # Features
//!
//! | feature | default | gates | pulls in |
//! | --- | --- | --- | --- |
//! | `codec` | yes | `tokio_util::codec::{Decoder, Encoder}` for [`ArrowCodec`] (decoding [`Message`]; encoding [`Message`], [`ControlMessage`] and [`DataMessage`], owned or borrowed) | tokio-util |
//!
//! Every message, [`ArrowCodec`]'s own methods and the [`fuzzing`] entry points are always
//! built; without any feature the crate depends on bytes, hex, nom, serde, thiserror and
//! uuid only. `examples/decode_capture.rs` decodes a captured byte stream fed in small chunks
//! and encodes the answers back (`cargo run -p arrow-codec --example decode_capture`).
//!
//! # Example
//!
//! ```
//! use bytes::{Bytes, BytesMut};
//! use arrow_codec::{ArrowCodec, ControlBody, ControlMessage, ErrorCode, Message};
//!
//! let mut codec = ArrowCodec::new();
//! let mut wire = BytesMut::new();
//! codec.encode_control(&ControlMessage::ping(1), &mut wire)?;
//! arrow_codec::encode_data(1, 0x42, b"RTSP/1.0 200 OK\r\n", &mut wire)?;
//! assert_eq!(&wire[..11], &[2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4]);
//!
//! let Some(Message::Control(ping)) = codec.decode_message(&mut wire)? else { panic!() };
//! assert_eq!(ping.body, ControlBody::Ping);
//! let Some(Message::Data(data)) = codec.decode_message(&mut wire)? else { panic!() };
//! assert_eq!((data.svc_id, data.session_id), (1, 0x42));
//! assert_eq!(data.body, Bytes::from_static(b"RTSP/1.0 200 OK\r\n"));
//! assert!(codec.decode_message_eof(&mut wire)?.is_none(), "clean end between messages");
//!
//! // The answer to a PING: an ACK with the same msg_id.
//! let mut reply = BytesMut::new();
//! ControlMessage::ack(ping.msg_id, ErrorCode::NoError).encode(&mut reply)?;
//! assert_eq!(reply.len(), 11 + 4 + 4);
//! # Ok::<(), arrow_codec::Error>(())
//! ```

mod codec;
mod codes;
pub mod control;
mod error;
mod flags;
pub mod fuzzing;
mod header;
mod hex_bytes;
mod mac;
mod message;
mod parse;
mod service;
#[cfg(feature = "codec")]
mod tokio_codec;

pub use codec::ArrowCodec;
pub use codes::{ErrorCode, ServiceType};
pub use control::{
    ClientKey, Connect, ControlBody, ControlMessage, ControlType, DataAck, HostRecord, Hup,
    Redirect, Register, ScanReport, Status, UnknownControl, Update,
};
pub use error::{DecodeError, EncodeError, Error};
pub use flags::{HostFlags, RegisterFlags, StatusFlags};
pub use header::{CONTROL_SVC_ID, HEADER_LEN, Header, MAX_SESSION_ID, VERSION};
pub use mac::{MacAddr, ParseMacError};
pub use message::{DataMessage, Message, encode_data, encode_data_header};
pub use service::{SERVICE_RECORD_FIXED_LEN, Service, TABLE_TERMINATOR};
