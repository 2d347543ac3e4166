//! `protoctl arrow encode [--hex] [FILE|-]`: JSON Lines of messages into Arrow bytes.

use std::io::IsTerminal;
use std::path::PathBuf;

use arrow_codec::Message;
use bytes::BytesMut;
use clap::Args;

use super::input::read_all;
use crate::exit::CliError;
use crate::output::Output;

/// Arguments of `protoctl arrow encode`.
#[derive(Debug, Args)]
pub(crate) struct EncodeArgs {
    /// Write hex text instead of raw bytes.
    #[arg(long)]
    hex: bool,
    /// JSON Lines, one message per line (`offset` and `size` are ignored); `-` is stdin.
    #[arg(default_value = "-")]
    input: PathBuf,
}

pub(super) fn run(args: EncodeArgs, out: &mut Output) -> Result<(), CliError> {
    if !args.hex && std::io::stdout().is_terminal() {
        return Err(CliError::local(
            "refusing to write binary messages to a terminal: redirect stdout or add --hex",
        ));
    }
    let text = read_all(&args.input)?;
    let mut wire = BytesMut::new();
    for (number, line) in text.split(|&b| b == b'\n').enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let msg: Message = serde_json::from_slice(line).map_err(|e| {
            CliError::local(format!("line {} is not an Arrow message: {e}", number + 1))
        })?;
        msg.encode(&mut wire).map_err(|e| {
            CliError::from(arrow_codec::Error::from(e)).context(format_args!("line {}", number + 1))
        })?;
    }
    if args.hex {
        for row in wire.chunks(32) {
            out.bytes(hex::encode(row).as_bytes())?;
            out.bytes(b"\n")?;
        }
    } else {
        out.bytes(&wire)?;
    }
    out.flush()
}
