//! One All-in-One request and reply with no runtime and no socket: the sans-IO
//! [`Exchange`] frames the request, and the reply bytes (here the ones an instrument would
//! send, written by hand) are decoded and classified: a success, then a rejection with
//! its error code.
//!
//! ```sh
//! cargo run -p arkeo --example request_reply --no-default-features
//! ```

#![allow(clippy::print_stdout)] // an example talks to its user

use std::time::{Duration, Instant};

use arkeo::exchange::DEFAULT_MAX_REPLY;
use arkeo::{Dialect, Error, Exchange, all_in_one};
use bytes::BytesMut;
use wire::{FrameCodec, PrefixWidth};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut exchange = Exchange::new(Dialect::AllInOne, DEFAULT_MAX_REPLY);
    let timeout = Duration::from_secs(5);

    // The request: a 4-byte length, then the JSON with the next request_id.
    let mut out = BytesMut::new();
    let request = all_in_one::main::get_available_routines();
    let id = exchange.send(&request, Instant::now(), timeout, &mut out)?;
    println!(
        "request {id:?}: {}",
        String::from_utf8_lossy(&out[4..]) // after the length prefix
    );

    // What the instrument answers, as it would arrive on the socket.
    let mut incoming = frame(r#"{"status":"OK","data":{"routines":["JV","MPPT"]},"request_id":1}"#);
    let reply = exchange.receive(&mut incoming)?.expect("one whole reply");
    println!(
        "status {}: {}",
        reply.status(),
        reply.data().map(ToString::to_string).unwrap_or_default()
    );

    // The next request is refused by the instrument: a typed error with its code.
    out.clear();
    exchange.send(
        &all_in_one::routine::get_test_status(),
        Instant::now(),
        timeout,
        &mut out,
    )?;
    let mut incoming = frame(
        r#"{"status":"error","error":{"code":4006,"message":"no active routine"},"request_id":2}"#,
    );
    match exchange.receive(&mut incoming) {
        Err(Error::Rejected(rejection)) => {
            println!("rejected: code {:?}, {}", rejection.code, rejection.message);
        }
        other => println!("unexpected: {other:?}"),
    }
    println!("still usable: {}", exchange.is_usable());
    Ok(())
}

/// One reply frame as the instrument writes it.
fn frame(json: &str) -> BytesMut {
    let mut buf = BytesMut::new();
    FrameCodec::new(PrefixWidth::U32)
        .encode_payload(json.as_bytes(), &mut buf)
        .expect("a small payload");
    buf
}
