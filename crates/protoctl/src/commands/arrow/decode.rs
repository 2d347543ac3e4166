//! `protoctl arrow decode [--hex] [--max-body BYTES] [FILE|-]`.

use std::io::Read;
use std::path::PathBuf;

use arrow_codec::{ArrowCodec, Message};
use bytes::BytesMut;
use clap::Args;
use serde_json::{Map, Value, json};

use crate::commands::input::open_bytes;
use crate::exit::CliError;
use crate::output::Output;

/// Arguments of `protoctl arrow decode`.
#[derive(Debug, Args)]
pub(crate) struct DecodeArgs {
    /// The input is hex text (whitespace ignored), not raw bytes.
    #[arg(long)]
    hex: bool,
    /// Largest message body accepted, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = ArrowCodec::DEFAULT_MAX_BODY)]
    max_body: u32,
    /// The capture to read; `-` is stdin.
    #[arg(default_value = "-")]
    input: PathBuf,
}

/// The JSON line describing one message.
fn message_record(offset: u64, size: u64, msg: &Message) -> Result<Value, CliError> {
    let mut record = Map::new();
    record.insert("offset".into(), json!(offset));
    record.insert("size".into(), json!(size));
    match serde_json::to_value(msg) {
        Ok(Value::Object(fields)) => record.extend(fields),
        Ok(other) => {
            record.insert("message".into(), other);
        }
        Err(e) => return Err(CliError::local(format!("cannot serialize message: {e}"))),
    }
    Ok(Value::Object(record))
}

/// The error for a bad message starting at `start`, with the stream offset of the exact
/// byte when the error names one.
fn bad_message(start: u64, e: arrow_codec::Error) -> CliError {
    let at = match &e {
        arrow_codec::Error::Decode(d) => d
            .offset()
            .map(|inner| format!(" (stream byte {})", start + inner as u64))
            .unwrap_or_default(),
        _ => String::new(),
    };
    CliError::from(e).context(format_args!("bad message at byte offset {start}{at}"))
}

pub(super) fn run(args: DecodeArgs, out: &mut Output) -> Result<(), CliError> {
    let mut codec = ArrowCodec::new().with_max_body(args.max_body);
    let mut reader = open_bytes(&args.input, args.hex)?;

    // Streamed in chunks so a large capture is never held whole.
    let mut buf = BytesMut::with_capacity(64 * 1024);
    let mut chunk = vec![0u8; 64 * 1024];
    let mut fed: u64 = 0;
    let mut start: u64 = 0;
    let mut messages: u64 = 0;
    loop {
        let n = reader
            .read(&mut chunk)
            .map_err(|e| CliError::local(format!("cannot read {}: {e}", args.input.display())))?;
        buf.extend_from_slice(&chunk[..n]);
        fed += n as u64;
        loop {
            let next = if n == 0 {
                codec.decode_message_eof(&mut buf)
            } else {
                codec.decode_message(&mut buf)
            };
            match next.map_err(|e| bad_message(start, e))? {
                Some(msg) => {
                    let end = fed - buf.len() as u64;
                    out.json_line_buffered(&message_record(start, end - start, &msg)?)?;
                    start = end;
                    messages += 1;
                }
                None => break,
            }
        }
        if n == 0 {
            break;
        }
    }
    tracing::info!(messages, bytes = start, "decoded");
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_codec::ControlMessage;

    #[test]
    fn message_record_puts_offset_and_size_first() {
        let record = message_record(7, 15, &Message::Control(ControlMessage::ping(2))).unwrap();
        assert_eq!(
            serde_json::to_string(&record).unwrap(),
            r#"{"offset":7,"size":15,"kind":"control","msg_id":2,"type":"PING"}"#
        );
    }
}
