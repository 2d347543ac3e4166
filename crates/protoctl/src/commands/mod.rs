//! The subcommands, one module per protocol; [`run`] dispatches a parsed
//! [`crate::cli::Command`] to its module.

pub(crate) mod arctop;
pub(crate) mod arkeo;
pub(crate) mod arrow;
mod completions;
pub(crate) mod demo;
mod input;
pub(crate) mod wire;

use crate::cli::Command;
use crate::exit::CliError;
use crate::output::Output;

/// Runs one command to its end.
pub(crate) async fn run(command: Command, out: &mut Output) -> Result<(), CliError> {
    match command {
        Command::Wire(cmd) => wire::run(cmd, out),
        Command::Arrow(cmd) => arrow::run(cmd, out).await,
        Command::Arkeo(cmd) => arkeo::run(cmd, out).await,
        Command::Arctop(cmd) => arctop::run(cmd, out).await,
        Command::Demo(args) => demo::run(args, out).await,
        Command::Completions { shell } => completions::run(shell, out),
    }
}
