//! `protoctl arctop listen|discover|serve|plot`: the Arctop Stream Server client (printed,
//! in a live terminal view, or published to Lab Streaming Layer), mDNS discovery, the
//! built-in phone simulator, and recorded sessions drawn as SVG.

mod discover;
mod listen;
mod plot;
mod serve;
mod taps;
mod tui;

use clap::Subcommand;

use crate::exit::CliError;
use crate::output::Output;

/// `protoctl arctop ...`
#[derive(Debug, Subcommand)]
pub(crate) enum ArctopCommand {
    /// Connect (to --addr, or to the first server mDNS finds), authenticate and print the
    /// stream until sessionComplete (or show it live with --format tui, or publish it to
    /// Lab Streaming Layer with --lsl).
    ///
    /// Exit codes: 0 sessionComplete, or stopped by SIGINT, SIGTERM, SIGHUP (q or Ctrl-C in
    /// the live view); 1 auth-failed; 2 bad flags, unwritable --record, an LSL outlet that
    /// cannot be opened; 3 connection lost before sessionComplete (also inside a frame), no
    /// auth reply within --timeout, nothing discovered; 4 oversize frame, stream data before
    /// the auth reply.
    Listen(listen::ListenArgs),
    /// Browse mDNS for Arctop servers (ArctopService*, NeuosService*): one line per server.
    Discover(discover::DiscoverArgs),
    /// Run the built-in phone simulator: a real Stream Server streaming realistic data.
    Serve(serve::ServeArgs),
    /// Draw a recorded session (`listen --record`) as SVG: one panel per value key over
    /// time, connection and QA events marked, start and end labelled.
    ///
    /// Exit codes: 0 written; 2 unreadable or empty recording, a --keys key it does not
    /// hold, unwritable output.
    Plot(plot::PlotArgs),
}

pub(crate) async fn run(cmd: ArctopCommand, out: &mut Output) -> Result<(), CliError> {
    match cmd {
        ArctopCommand::Listen(args) => listen::run(args, out).await,
        ArctopCommand::Discover(args) => discover::run(args, out).await,
        ArctopCommand::Serve(args) => serve::run(args, out).await,
        ArctopCommand::Plot(args) => plot::run(args, out).await,
    }
}

/// Parses an API key into a type that never shows it in `Debug` output or logs.
fn api_key(text: &str) -> Result<arctop::ApiKey, String> {
    if text.is_empty() {
        return Err("the API key is empty".into());
    }
    Ok(arctop::ApiKey::new(text))
}

/// Checks that an address names its port: the Stream Server has no default port (the app
/// picks one; mDNS or the user must say which), so `--addr phone.local` is a usage error
/// rather than a failed lookup.
fn host_port(text: &str) -> Result<String, String> {
    match text.rsplit_once(':') {
        Some((host, port))
            if !host.is_empty()
                && (!host.contains(':') || host.starts_with('[') && host.ends_with(']'))
                && port.parse::<u16>().is_ok_and(|p| p != 0) =>
        {
            Ok(text.to_string())
        }
        _ => Err(format!(
            "{text:?} is not HOST:PORT (the Stream Server has no default port; \
             IPv6 as [ADDR]:PORT)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addr_must_name_a_port() {
        for good in ["127.0.0.1:4567", "phone.local:80", "[::1]:9"] {
            assert_eq!(host_port(good).as_deref(), Ok(good));
        }
        for bad in [
            "127.0.0.1",
            "phone.local",
            ":80",
            "host:0",
            "host:x",
            "::1",
            "",
        ] {
            assert!(host_port(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn api_key_is_redacted() {
        let key = api_key("s3cret").unwrap();
        assert!(!format!("{key:?}").contains("s3cret"));
        assert!(api_key("").is_err());
    }
}
