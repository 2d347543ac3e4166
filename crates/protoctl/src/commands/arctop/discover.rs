//! `protoctl arctop discover`: one line per Arctop server mDNS finds.

use std::time::Duration;

use arctop::discovery::{Browser, Server};
use clap::Args;
use serde_json::json;

use crate::exit::CliError;
use crate::output::Output;

/// Arguments of `protoctl arctop discover`.
#[derive(Debug, Args)]
pub(crate) struct DiscoverArgs {
    /// How long to browse, in seconds.
    #[arg(long, value_name = "SECS", default_value = "5", value_parser = super::seconds)]
    timeout: Duration,
}

/// Prints servers as they are found; exit 3 when none answered within the timeout.
pub(crate) async fn run(args: DiscoverArgs, out: &mut Output) -> Result<(), CliError> {
    let deadline = tokio::time::Instant::now() + args.timeout;
    let mut browser = Browser::start()?;
    let mut found = 0usize;
    while let Some(server) = browser.next_until(deadline).await? {
        found += 1;
        out.event(human(&server), &record(&server))?;
    }
    if found == 0 {
        return Err(arctop::Error::NoServerFound {
            after: args.timeout,
        }
        .into());
    }
    Ok(())
}

fn human(server: &Server) -> String {
    let addrs: Vec<String> = server
        .socket_addrs()
        .iter()
        .map(ToString::to_string)
        .collect();
    format!("{}  {}  {}", server.name, server.host, addrs.join(", "))
}

fn record(server: &Server) -> serde_json::Value {
    json!({
        "name": server.name,
        "host": server.host,
        "addresses": server.addresses,
        "port": server.port,
    })
}
