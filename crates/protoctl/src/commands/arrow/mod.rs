//! `protoctl arrow ...`: the Angelcam Arrow v2 protocol.

mod decode;
mod encode;
mod input;

use clap::Subcommand;

use crate::exit::CliError;
use crate::output::Output;

/// `protoctl arrow ...`
#[derive(Debug, Subcommand)]
pub(crate) enum ArrowCommand {
    /// Decode a captured (decrypted) Arrow byte stream, one JSON line per message.
    ///
    /// Each line has the message's byte `offset` and `size` (header included), its `kind`
    /// (`control` or `data`), and its fields: for control messages `msg_id`, `type` and
    /// `data`; for data messages `svc_id`, `session_id` and the `body` as hex. A bad
    /// message is reported with its byte offset and exit code 4.
    Decode(decode::DecodeArgs),
    /// Turn JSON Lines (in the shape `arrow decode` prints) into Arrow messages.
    Encode(encode::EncodeArgs),
}

pub(crate) async fn run(cmd: ArrowCommand, out: &mut Output) -> Result<(), CliError> {
    match cmd {
        ArrowCommand::Decode(args) => decode::run(args, out),
        ArrowCommand::Encode(args) => encode::run(args, out),
    }
}
