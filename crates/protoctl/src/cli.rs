//! The command-line grammar: the top level here, each protocol's verbs in its module under
//! [`crate::commands`]. Flag names are a public contract: extend, never rename.

use clap::{Args, Parser, Subcommand};
use clap_complete::Shell;

use crate::commands::{arctop, arkeo, arrow, demo, wire};
use crate::logging::LogFormat;

/// The exit-code contract, shown under `protoctl --help`.
const EXIT_CODES: &str = "\
Exit codes (every command):
  0  success (also when the reader of stdout goes away, e.g. `| head`)
  1  the peer answered no: auth failure, error reply, refused registration
  2  usage or local configuration error
  3  transport: refused, DNS, TLS, timeout, connection lost mid-exchange
  4  the peer broke the protocol: bad or oversize frame, wrong reply shape or id

Durations (every --timeout, --ping-interval, ...): a bare number is seconds (10, 0.5), or
give a unit: 500ms, 15s, 2m, 1h, 3d.

Start with `protoctl demo`: every built-in peer on 127.0.0.1 and a client against it.";

/// Talk to Arctop, ARKEO and Angelcam Arrow devices, or to their built-in simulators.
#[derive(Debug, Parser)]
#[command(
    name = "protoctl",
    version,
    propagate_version = true,
    max_term_width = 100,
    after_help = EXIT_CODES
)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) global: GlobalArgs,
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Flags accepted before or after any subcommand.
#[derive(Debug, Args)]
pub(crate) struct GlobalArgs {
    /// Machine output: one JSON object per line on stdout.
    #[arg(long, global = true)]
    pub(crate) json: bool,
    /// More log detail on stderr (-v info, -vv debug, -vvv trace).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub(crate) verbose: u8,
    /// Only errors on stderr.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub(crate) quiet: bool,
    /// Log line format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub(crate) log_format: LogFormat,
}

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
    Completions {
        /// The shell to generate for.
        #[arg(value_enum)]
        shell: Shell,
    },
}

impl Command {
    /// Runs best on a current-thread runtime: `arrow run` is one connection-owning task,
    /// and on one thread its socket wake-ups cost no cross-thread hand-offs.
    pub(crate) fn wants_one_thread(&self) -> bool {
        matches!(self, Command::Arrow(arrow::ArrowCommand::Run(_)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
