//! Length-prefixed framing for the JSON device protocols.
//!
//! Both JSON protocols that protoctl speaks put each message in a frame made of a
//! big-endian unsigned length followed by exactly that many payload bytes:
//!
//! ```text
//!  Arctop (2-byte prefix)            ARKEO (4-byte prefix)
//! +--------+------------------+     +----------------+------------------+
//! | len:u16| payload (len B)  |     |    len:u32     | payload (len B)  |
//! +--------+------------------+     +----------------+------------------+
//! ```
//!
//! This crate does no I/O and needs no runtime. [`FrameCodec`] turns bytes into frames and
//! frames into bytes ([`decode_frame`](FrameCodec::decode_frame),
//! [`decode_frame_eof`](FrameCodec::decode_frame_eof),
//! [`encode_payload`](FrameCodec::encode_payload)); [`JsonCodec`] adds serde on top. A
//! caller feeds a [`BytesMut`](bytes::BytesMut) by hand with whatever bytes it has (read
//! from a socket or a file by the caller, or a test vector); with the `codec` feature both codecs are
//! also tokio-util `Decoder`s and `Encoder`s, so a tokio driver wraps a socket in `Framed`.
//!
//! The decoder contract is tokio-util's: `Ok(None)` means more bytes are needed,
//! `Ok(Some(frame))` means one whole frame was consumed, `Err` means the stream is corrupt
//! and must be dropped. The announced length is compared with the configured maximum
//! *before* any buffer grows, so a hostile prefix such as `7F FF FF FF` fails at once with
//! [`FrameError::Oversize`] instead of allocating two gigabytes. A stream that starts in
//! another protocol (a web server's `HTTP/1.1 400`, a TLS record, an SSH banner: the wrong
//! port) fails with [`FrameError::ForeignProtocol`], which names it.
//!
//! # Features
//!
//! | feature | default | gates | pulls in |
//! | --- | --- | --- | --- |
//! | `codec` | yes | `tokio_util::codec::{Decoder, Encoder}` for [`FrameCodec`] (`&[u8]`, `Bytes`, `Vec<u8>`) and [`JsonCodec`] | tokio-util |
//!
//! Without any feature the crate depends on bytes, serde, serde_json and thiserror only.
//!
//! # Example
//!
//! ```
//! use bytes::BytesMut;
//! use wire::{FrameCodec, PrefixWidth};
//!
//! let mut codec = FrameCodec::new(PrefixWidth::U16);
//! let mut buf = BytesMut::new();
//! codec.encode_payload(b"{\"command\":\"auth\"}", &mut buf)?;
//! assert_eq!(&buf[..2], &[0x00, 0x12]);
//!
//! let frame = codec.decode_frame(&mut buf)?.expect("one whole frame");
//! assert_eq!(&frame[..], b"{\"command\":\"auth\"}");
//! assert!(codec.decode_frame_eof(&mut buf)?.is_none(), "clean end between frames");
//! # Ok::<(), wire::FrameError>(())
//! ```
//!
//! `examples/frame_stream.rs` frames JSON messages into a byte stream and decodes them back
//! from any [`std::io::Read`], chunk by chunk, with no runtime.

mod error;
mod foreign_protocol;
mod frame_codec;
pub mod fuzzing;
mod json_codec;
mod prefix;
#[cfg(feature = "codec")]
mod tokio_codec;

pub use error::{FrameError, JsonFrameError};
pub use foreign_protocol::{ForeignProtocol, sniff_foreign_protocol};
pub use frame_codec::FrameCodec;
pub use json_codec::JsonCodec;
pub use prefix::PrefixWidth;
