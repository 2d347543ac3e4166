//! `protoctl arctop discover`: one line per Arctop server mDNS finds.

use std::time::Duration;

use arctop::discovery::Server;
use clap::Args;
use serde_json::json;

use crate::escape::escape_controls;
use crate::exit::CliError;
use crate::output::Output;

/// Arguments of `protoctl arctop discover`.
#[derive(Debug, Args)]
pub(crate) struct DiscoverArgs {
    /// How long to browse (seconds, or with a unit: 500ms, 2m).
    #[arg(long, value_name = crate::duration::VALUE_NAME, default_value = "5", value_parser = crate::duration::interval)]
    timeout: Duration,
}

/// Browses for the whole timeout, then prints one line per server with every address it
/// announced; exit 3 when none answered.
pub(crate) async fn run(args: DiscoverArgs, out: &mut Output) -> Result<(), CliError> {
    let servers = arctop::discover(args.timeout).await?;
    if servers.is_empty() {
        return Err(arctop::Error::NoServerFound {
            after: args.timeout,
        }
        .into());
    }
    for server in &servers {
        out.event(human(server), &record(server))?;
    }
    Ok(())
}

fn human(server: &Server) -> String {
    let addrs: Vec<String> = server
        .socket_addrs()
        .iter()
        .map(ToString::to_string)
        .collect();
    // The instance and host names are whatever answered mDNS: one line, no controls.
    let line = format!("{}  {}  {}", server.name, server.host, addrs.join(", "));
    escape_controls(&line).into_owned()
}

fn record(server: &Server) -> serde_json::Value {
    json!({
        "name": server.name,
        "host": server.host,
        "addresses": server.addresses,
        "port": server.port,
    })
}
