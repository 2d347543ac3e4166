//! Entry points for the fuzz targets, and for replaying their corpus under `cargo test`.
//!
//! They panic when an invariant breaks; on any input they must otherwise return.

use std::time::{Duration, Instant};

use bytes::BytesMut;
use tokio_util::codec::Decoder;

use crate::message::Message;
use crate::mutf8;
use crate::session::{Session, Step};

/// Feeds `data` as a server's byte stream to a client session, whole and in chunks of a
/// size picked by the first byte, and checks both give the same steps and outcome. Every
/// payload that decodes also goes through the modified UTF-8 and message layers, which
/// must not panic, and decoded text must re-encode to text that decodes the same.
pub fn client_stream(data: &[u8]) {
    let Some((&control, stream)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(control) + 1;
    let whole = run(stream, stream.len().max(1));
    let chunked = run(stream, chunk);
    assert_eq!(whole, chunked, "steps depend on how the stream was split");
    if let Ok(text) = mutf8::decode(stream) {
        assert_eq!(
            mutf8::decode(&mutf8::encode(&text)).ok().as_deref(),
            Some(&*text)
        );
    }
    let _ = Message::parse(stream);
}

fn run(stream: &[u8], chunk: usize) -> Vec<String> {
    let now = Instant::now();
    let mut session = Session::new(now, Duration::from_secs(1));
    let mut codec = crate::frame::codec();
    let mut buf = BytesMut::new();
    let mut log = Vec::new();
    for piece in stream.chunks(chunk) {
        buf.extend_from_slice(piece);
        loop {
            match codec.decode(&mut buf) {
                Ok(Some(payload)) => match session.handle_frame(&payload) {
                    Ok(Step::Message(r)) => log.push(format!("message {}", r.message.command())),
                    Ok(step) => log.push(format!("{step:?}")),
                    Err(e) => {
                        log.push(format!("error {e}"));
                        return log;
                    }
                },
                Ok(None) => break,
                Err(e) => {
                    log.push(format!("frame error {e}"));
                    return log;
                }
            }
        }
    }
    match codec.decode_eof(&mut buf) {
        Ok(_) => log.push(format!(
            "eof {:?}",
            session.handle_eof(None).err().map(|e| e.to_string())
        )),
        Err(e) => log.push(format!("frame error {e}")),
    }
    log
}
