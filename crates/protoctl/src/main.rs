//! `protoctl`: one command line for the Arctop, ARKEO and Angelcam Arrow protocols.
//!
//! The binary is glue: it parses flags once ([`cli`]), sets up logging on stderr
//! ([`logging`]), runs one command ([`commands`]) that writes data to stdout through
//! [`output`], and maps the outcome to an exit code in one place ([`exit`]).

mod cli;
mod commands;
mod duration;
mod escape;
mod exit;
mod logging;
#[cfg(test)]
mod man;
mod output;
mod signals;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    logging::init(cli.global.quiet, cli.global.verbose, cli.global.log_format);
    let mut builder = if cli.command.wants_one_thread() {
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    };
    let runtime = match builder.enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            return exit::report(Err(exit::CliError::local(format!(
                "cannot start the async runtime: {e}"
            ))));
        }
    };
    let mut out = output::Output::stdout(cli.global.json);
    let result = runtime.block_on(commands::run(cli.command, &mut out));
    let result = result.and_then(|()| out.flush());
    // Background tasks (built-in peers) must not keep the process alive.
    runtime.shutdown_background();
    exit::report(result)
}
