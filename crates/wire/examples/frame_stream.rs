//! Frames JSON messages into a byte stream, then reads them back from any `std::io::Read`
//! in small chunks, as from a socket: no runtime, no tokio.
//!
//! ```sh
//! cargo run -p wire --example frame_stream --no-default-features
//! ```

#![allow(clippy::print_stdout)] // an example talks to its user

use std::io::{Cursor, Read};

use bytes::BytesMut;
use serde_json::{Value, json};
use wire::{JsonCodec, PrefixWidth};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // ARKEO-style frames: a 4-byte big-endian length, then one JSON object.
    let codec: JsonCodec<Value> = JsonCodec::new(PrefixWidth::U32);
    let mut stream = BytesMut::new();
    for id in 1..=3 {
        let request = json!({"command": "GetStatus", "request_id": id});
        codec.encode_message(&request, &mut stream)?;
    }
    println!(
        "{} bytes on the wire: {:02x?}...",
        stream.len(),
        &stream[..8]
    );

    // The reading side: whatever arrives goes into a buffer, and every whole frame in it
    // comes out. Seven bytes at a time shows frames split across reads.
    let mut reader = Cursor::new(stream.freeze());
    let mut decoder: JsonCodec<Value> = JsonCodec::new(PrefixWidth::U32);
    let mut buf = BytesMut::new();
    let mut chunk = [0u8; 7];
    loop {
        let n = reader.read(&mut chunk)?;
        if n == 0 {
            // End of stream: a clean end between frames, or an error naming the cut.
            while let Some(message) = decoder.decode_message_eof(&mut buf)? {
                println!("decoded at the end: {message}");
            }
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
        while let Some(message) = decoder.decode_message(&mut buf)? {
            println!("decoded: {message}");
        }
    }
    Ok(())
}
