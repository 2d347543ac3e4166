//! `protoctl completions SHELL`.

use clap::CommandFactory;
use clap_complete::Shell;

use crate::cli::Cli;
use crate::exit::CliError;
use crate::output::Output;

pub(crate) fn run(shell: Shell, out: &mut Output) -> Result<(), CliError> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "protoctl", &mut script);
    out.bytes(&script)
}
