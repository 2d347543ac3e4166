//! The sans-IO session over a plain `std::net::TcpStream`: no tokio, no mDNS.
//!
//! A thread plays a phone on 127.0.0.1 (an ephemeral port) and answers as the app does:
//! `auth-success`, a few values in Java modified UTF-8, `sessionComplete`, then it closes.
//! The main thread is the client: it sends `auth`, feeds what it reads to the frame codec
//! and the [`Session`], and prints what each frame meant.
//!
//! ```sh
//! cargo run -p arctop --example session_over_std --no-default-features
//! ```

#![allow(clippy::print_stdout)] // an example talks to its user

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use arctop::session::{Phase, Session, Step};
use arctop::{ApiKey, Message, frame};
use bytes::BytesMut;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let phone = thread::spawn(move || play_phone(&listener));

    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut session = Session::new(Instant::now(), Duration::from_secs(5));
    let mut out = BytesMut::new();
    Session::auth_request(&ApiKey::new("demo-key"), &mut out)?;
    stream.write_all(&out)?;

    let mut codec = frame::codec();
    let mut buf = BytesMut::new();
    let mut chunk = [0u8; 4096];
    while session.phase() != Phase::Complete {
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            // The peer closed: an error when it cut a frame or came before sessionComplete.
            codec.decode_frame_eof(&mut buf)?;
            session.handle_eof(None)?;
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
        while let Some(payload) = codec.decode_frame(&mut buf)? {
            session.frame_received(Instant::now());
            match session.handle_frame(&payload)? {
                Step::Authenticated => println!("authenticated"),
                Step::Message(received) => match &received.message {
                    Message::ValueChange { key, value, .. } => {
                        println!("{} = {value}", key.as_str());
                    }
                    other => println!("{}", other.command()),
                },
                Step::Skipped { len, error } => println!("skipped a {len}-byte frame: {error}"),
                Step::Ignored(received) => println!("ignored {}", received.message.command()),
            }
        }
    }
    phone.join().expect("the phone thread")?;
    Ok(())
}

/// One session as the app serves it, on the first client that connects.
fn play_phone(listener: &TcpListener) -> std::io::Result<()> {
    let (mut client, _) = listener.accept()?;
    // The auth request: a 2-byte length, then the JSON (read and dropped here).
    let mut head = [0u8; 2];
    client.read_exact(&mut head)?;
    let mut auth = vec![0u8; usize::from(u16::from_be_bytes(head))];
    client.read_exact(&mut auth)?;

    let mut out = BytesMut::new();
    let messages = [
        r#"{"command":"auth-success"}"#.to_string(),
        r#"{"command":"valueChange","timestamp":1000,"key":"focus","value":52.5}"#.to_string(),
        r#"{"command":"valueChange","timestamp":1100,"key":"enjoyment","value":61.0}"#.to_string(),
        // A NUL inside a string: the app writes it as C0 80 (modified UTF-8).
        "{\"command\":\"valueChange\",\"timestamp\":1200,\"key\":\"flow\u{0}\",\"value\":1.0}"
            .to_string(),
        r#"{"command":"sessionComplete"}"#.to_string(),
    ];
    for text in &messages {
        frame::encode_modified(text, &mut out).map_err(std::io::Error::other)?;
    }
    client.write_all(&out)?;
    Ok(())
}
