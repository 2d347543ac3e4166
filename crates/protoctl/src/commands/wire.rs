//! `protoctl wire decode|encode`: framing as a debugging aid for captured streams.

use std::io::{IsTerminal, Read};
use std::path::PathBuf;

use bytes::BytesMut;
use clap::{Args, Subcommand, ValueEnum};
use serde_json::{Map, Value, json};
use tokio_util::codec::Decoder;
use wire::{FrameCodec, PrefixWidth};

use crate::commands::input::{open_bytes, read_all};
use crate::exit::CliError;
use crate::output::Output;

/// `protoctl wire ...`
#[derive(Debug, Subcommand)]
pub(crate) enum WireCommand {
    /// Split a captured byte stream into frames, one JSON line per frame.
    ///
    /// Each line has the frame's byte `offset` (of its prefix) and payload `length`, and the
    /// payload as `json` when it parses as JSON, else as `text` (UTF-8) or `hex`. A bad frame
    /// is reported with its byte offset and exit code 4.
    Decode(DecodeArgs),
    /// Turn JSON Lines into length-prefixed frames (one frame per input line).
    Encode(EncodeArgs),
}

/// The prefix width, as a number of bytes.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum PrefixArg {
    /// 2-byte prefix (Arctop).
    #[value(name = "2")]
    Two,
    /// 4-byte prefix (ARKEO).
    #[value(name = "4")]
    Four,
}

impl From<PrefixArg> for PrefixWidth {
    fn from(p: PrefixArg) -> Self {
        match p {
            PrefixArg::Two => PrefixWidth::U16,
            PrefixArg::Four => PrefixWidth::U32,
        }
    }
}

/// Arguments of `protoctl wire decode`.
#[derive(Debug, Args)]
pub(crate) struct DecodeArgs {
    /// Bytes in the length prefix.
    #[arg(long, value_enum)]
    prefix: PrefixArg,
    /// The input is hex text (whitespace ignored), not raw bytes.
    #[arg(long)]
    hex: bool,
    /// Largest payload accepted, in bytes, up to what the prefix can say [default: 65535
    /// for --prefix 2, 16 MiB for 4].
    #[arg(long, value_name = "BYTES", value_parser = max_payload)]
    max_payload: Option<usize>,
    /// The capture to read; `-` is stdin.
    #[arg(default_value = "-")]
    input: PathBuf,
}

/// Arguments of `protoctl wire encode`.
#[derive(Debug, Args)]
pub(crate) struct EncodeArgs {
    /// Bytes in the length prefix.
    #[arg(long, value_enum)]
    prefix: PrefixArg,
    /// Write hex text instead of raw bytes.
    #[arg(long)]
    hex: bool,
    /// Frame each line as it is, without checking that it is JSON.
    #[arg(long)]
    raw: bool,
    /// JSON Lines to frame; `-` is stdin.
    #[arg(default_value = "-")]
    input: PathBuf,
}

/// `--max-payload`: 0 to 4 GiB - 1 (the 4-byte prefix's limit; a 2-byte prefix clamps it
/// further to 65,535).
fn max_payload(text: &str) -> Result<usize, String> {
    match text.parse::<u32>() {
        Ok(max) => Ok(max as usize),
        Err(_) => Err(format!(
            "{text:?}: the largest payload is a number of bytes from 0 to {}",
            u32::MAX
        )),
    }
}

pub(crate) fn run(cmd: WireCommand, out: &mut Output) -> Result<(), CliError> {
    match cmd {
        WireCommand::Decode(args) => decode(args, out),
        WireCommand::Encode(args) => encode(args, out),
    }
}

/// The JSON line describing one frame.
fn frame_record(offset: u64, payload: &[u8]) -> Value {
    let mut record = Map::new();
    record.insert("offset".into(), json!(offset));
    record.insert("length".into(), json!(payload.len()));
    match serde_json::from_slice::<Value>(payload) {
        Ok(value) => record.insert("json".into(), value),
        Err(_) => match std::str::from_utf8(payload) {
            Ok(text) => record.insert("text".into(), json!(text)),
            Err(_) => record.insert("hex".into(), json!(hex::encode(payload))),
        },
    };
    Value::Object(record)
}

fn decode(args: DecodeArgs, out: &mut Output) -> Result<(), CliError> {
    let width = PrefixWidth::from(args.prefix);
    let mut codec = FrameCodec::new(width);
    if let Some(max) = args.max_payload {
        codec = codec.with_max_payload(max);
    }
    let mut reader = open_bytes(&args.input, args.hex)?;

    // Streamed in chunks so a large capture is never held whole.
    let mut buf = BytesMut::with_capacity(64 * 1024);
    let mut chunk = vec![0u8; 64 * 1024];
    let mut offset: u64 = 0;
    let mut frames: u64 = 0;
    let bad = |offset: u64, e: wire::FrameError| {
        CliError::from(e).context(format_args!("bad frame at byte offset {offset}"))
    };
    loop {
        let n = reader
            .read(&mut chunk)
            .map_err(|e| CliError::local(format!("cannot read {}: {e}", args.input.display())))?;
        if n > 0 {
            buf.extend_from_slice(&chunk[..n]);
        }
        loop {
            let frame = if n == 0 {
                codec.decode_eof(&mut buf)
            } else {
                codec.decode(&mut buf)
            };
            match frame.map_err(|e| bad(offset, e))? {
                Some(payload) => {
                    out.json_line_buffered(&frame_record(offset, &payload))?;
                    offset += (width.size() + payload.len()) as u64;
                    frames += 1;
                }
                None => break,
            }
        }
        if n == 0 {
            break;
        }
    }
    tracing::info!(frames, bytes = offset, "decoded");
    out.flush()
}

fn encode(args: EncodeArgs, out: &mut Output) -> Result<(), CliError> {
    if !args.hex && std::io::stdout().is_terminal() {
        return Err(CliError::local(
            "refusing to write binary frames to a terminal: redirect stdout or add --hex",
        ));
    }
    let codec = FrameCodec::new(args.prefix.into());
    let text = read_all(&args.input)?;
    let mut frames = BytesMut::new();
    for (number, line) in text.split(|&b| b == b'\n').enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        if !args.raw {
            serde_json::from_slice::<serde::de::IgnoredAny>(line).map_err(|e| {
                CliError::local(format!(
                    "line {} is not JSON ({e}); use --raw to frame it anyway",
                    number + 1
                ))
            })?;
        }
        codec
            .encode_payload(line, &mut frames)
            .map_err(|e| CliError::from(e).context(format_args!("line {}", number + 1)))?;
    }
    if args.hex {
        for row in frames.chunks(32) {
            out.bytes(hex::encode(row).as_bytes())?;
            out.bytes(b"\n")?;
        }
    } else {
        out.bytes(&frames)?;
    }
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_record_prefers_json_then_text_then_hex() {
        assert_eq!(frame_record(0, b"{\"a\":1}")["json"]["a"], 1);
        assert_eq!(frame_record(5, b"plain")["text"], "plain");
        assert_eq!(frame_record(9, &[0xff, 0x00])["hex"], "ff00");
        assert_eq!(frame_record(9, &[0xff, 0x00])["offset"], 9);
    }
}
