//! The subcommands. Each protocol has one module; `run` dispatches.

mod arctop;
mod arkeo;
mod arrow;
mod completions;
mod demo;
mod input;
mod wire;

use clap::Subcommand;

use crate::exit::CliError;
use crate::output::Output;

/// Every top-level verb.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Length-prefixed framing: decode a captured stream, encode JSON Lines into frames.
    #[command(subcommand)]
    Wire(wire::WireCommand),
    /// Angelcam Arrow v2: decode and encode captures, run a client or a development service.
    #[command(subcommand)]
    Arrow(arrow::ArrowCommand),
    /// ARKEO instruments (All-in-One and Multichannel APIs): send, run, measure, serve.
    #[command(subcommand)]
    Arkeo(arkeo::ArkeoCommand),
    /// Arctop Stream Server: listen to a stream, discover servers, run the phone simulator.
    #[command(subcommand)]
    Arctop(arctop::ArctopCommand),
    /// Run every built-in peer on 127.0.0.1 with a client against it, and show the traffic.
    Demo(demo::DemoArgs),
    /// Print a shell completion script.
    Completions(completions::CompletionsArgs),
}

impl Command {
    /// Runs best on a current-thread runtime: `arrow run` is one connection-owning task,
    /// and on one thread its socket wake-ups cost no cross-thread hand-offs.
    pub(crate) fn wants_one_thread(&self) -> bool {
        matches!(self, Command::Arrow(arrow::ArrowCommand::Run(_)))
    }
}

/// Runs one command to its end.
pub(crate) async fn run(command: Command, out: &mut Output) -> Result<(), CliError> {
    match command {
        Command::Wire(cmd) => wire::run(cmd, out),
        Command::Arrow(cmd) => arrow::run(cmd, out).await,
        Command::Arkeo(cmd) => arkeo::run(cmd, out).await,
        Command::Arctop(cmd) => arctop::run(cmd, out).await,
        Command::Demo(args) => demo::run(args, out).await,
        Command::Completions(args) => completions::run(args, out),
    }
}
