//! `protoctl arrow serve`: the development Arrow Service.
//!
//! # Output
//!
//! JSON Lines whatever the mode, one per [`ServeEvent`]: the command's own `self_signed`
//! and `listening`, then the service's events (their fields are documented on
//! [`ServiceEvent`]):
//!
//! ```text
//! {"event":"self_signed","ca":"dev/ca.pem","created":true,"trust":"protoctl arrow run --server localhost:8900 --ca dev/ca.pem --state-dir DIR --tcp HOST:PORT"}
//! {"event":"listening","addr":"127.0.0.1:8900"}
//! {"event":"client_registered","client":1,"uuid":"…","mac":"02:…","window":65536,"extended_info":{…},"peer":"127.0.0.1:40312"}
//! {"event":"client_refused","uuid":"…","peer":"127.0.0.1:40314"}
//! {"event":"port_exposed","client":1,"svc_id":23517,"svc_type":"TCP","target":"127.0.0.1:22","port":41207}
//! {"event":"port_closed","client":1,"svc_id":23517,"port":41207}
//! {"event":"session_opened","client":1,"session":1,"svc_id":23517,"peer":"127.0.0.1:40400"}
//! {"event":"session_closed","client":1,"session":1,"reason":"user_closed","code":null,"bytes_to_client":5,"bytes_from_client":5}
//! {"event":"request_sent","client":1,"msg_id":4,"request":"GET_STATUS"}
//! {"event":"status","client":1,"request_id":4,"scanning":false,"active_sessions":0}
//! {"event":"scan_report","client":1,"request_id":5,"hosts":[...],"services":[...]}
//! {"event":"client_disconnected","client":1,"reason":"closed"}
//! ```
//!
//! Requests to the clients come as lines on stdin, `REQUEST [CLIENT]`: `scan_network`,
//! `get_status`, `get_scan_report`, `reset_svc_table`, to the client numbered CLIENT in the
//! events, or to every client. Answers are printed as they come.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use arrow_client::dev_service::{
    DevCertificates, DevService, ServiceConfig, ServiceEvent, ServiceRequest,
};
use arrow_client::tls::server_config_from_files;
use clap::Args;
use serde::Serialize;
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::duration::{VALUE_NAME as DURATION, interval};
use crate::exit::CliError;
use crate::output::Output;
use crate::signals::{Signal, Signals};

/// Arguments of `protoctl arrow serve`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("certificate").required(true).args(["cert", "self_signed"])))]
pub(crate) struct ServeArgs {
    /// Address to listen on for clients (TLS), e.g. 127.0.0.1:8900.
    #[arg(long, value_name = "ADDR")]
    bind: SocketAddr,
    /// Server certificate chain (PEM).
    #[arg(long, value_name = "FILE", requires = "key")]
    cert: Option<PathBuf>,
    /// Server private key (PEM).
    #[arg(long, value_name = "FILE", requires = "cert")]
    key: Option<PathBuf>,
    /// Make (or reuse) a development CA and server certificate in DIR; clients trust
    /// DIR/ca.pem.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["cert", "key"])]
    self_signed: Option<PathBuf>,
    /// Only accept clients with this UUID (repeatable) [default: accept every client].
    #[arg(long, value_name = "UUID")]
    allow: Vec<Uuid>,
    /// Client connections at once, 1..=4096; more are closed at once [default: 64].
    #[arg(long, value_name = "N", value_parser = bounded::<1, 4096>)]
    max_clients: Option<usize>,
    /// Services (each a listening port) one client may register, 1..=4096; a client
    /// announcing more is disconnected [default: 64].
    #[arg(long, value_name = "N", value_parser = bounded::<1, 4096>)]
    max_services: Option<usize>,
    /// Listening ports for every client's services together, 1..=65536; a client whose
    /// service would need one more is disconnected [default: 512]. Keep it below the open
    /// file limit (`ulimit -n`) less the client connections.
    #[arg(long, value_name = "N", value_parser = bounded::<1, 65536>)]
    max_ports: Option<usize>,
    /// Bytes that may wait for one client to read them, 65536..=1073741824; a client that
    /// lets more pile up is disconnected [default: 16777216].
    #[arg(long, value_name = "BYTES", value_parser = bounded::<65536, 1073741824>)]
    max_outbox: Option<usize>,
    /// How long a new connection may take to finish TLS and send REGISTER [default: 10s].
    #[arg(long, value_name = DURATION, value_parser = interval)]
    handshake_timeout: Option<Duration>,
}

/// A whole number in `MIN..=MAX`.
fn bounded<const MIN: usize, const MAX: usize>(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(n) if (MIN..=MAX).contains(&n) => Ok(n),
        _ => Err(format!(
            "must be a whole number, {MIN}..={MAX}, not {text:?}"
        )),
    }
}

/// One line of `arrow serve`'s output.
#[derive(Debug, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub(crate) enum ServeEvent {
    /// `--self-signed DIR`: the development CA clients must trust, and how.
    SelfSigned {
        /// DIR/ca.pem.
        ca: PathBuf,
        /// The CA was made by this start (clients must trust the new one).
        created: bool,
        /// A command line that trusts it.
        trust: String,
    },
    /// Accepting clients (TLS) on this address.
    Listening {
        /// The bound address (the real port when --bind asked for port 0).
        addr: SocketAddr,
    },
    /// What the service reported.
    #[serde(untagged)]
    Service(ServiceEvent),
}

pub(crate) async fn run(args: ServeArgs, out: &mut Output) -> Result<(), CliError> {
    // Bound first, so the trust hint names the real port when --bind asks for port 0.
    let listener = tokio::net::TcpListener::bind(args.bind)
        .await
        .map_err(|e| CliError::local(format!("cannot listen on {}: {e}", args.bind)))?;
    let port = listener
        .local_addr()
        .map_or(args.bind.port(), |addr| addr.port());
    let tls = match (&args.cert, &args.key, &args.self_signed) {
        (Some(cert), Some(key), _) => server_config_from_files(cert, key)?,
        (_, _, Some(dir)) => {
            let mut names = vec!["localhost".to_string(), "127.0.0.1".into(), "::1".into()];
            let ip = args.bind.ip();
            if !ip.is_unspecified() && !names.contains(&ip.to_string()) {
                names.push(ip.to_string());
            }
            let (certs, created) = DevCertificates::load_or_create_in(dir, &names)?;
            let ca = dir.join("ca.pem");
            let hint = format!(
                "protoctl arrow run --server localhost:{port} --ca {} --state-dir DIR --tcp HOST:PORT",
                ca.display()
            );
            tracing::warn!(
                "development CA in {}: clients trust it with `{hint}`",
                ca.display()
            );
            out.json_line(&ServeEvent::SelfSigned {
                ca,
                created,
                trust: hint,
            })?;
            certs.server_config()?
        }
        _ => {
            return Err(CliError::local(
                "give --cert and --key, or --self-signed DIR",
            ));
        }
    };
    let mut config = ServiceConfig::new(tls);
    if !args.allow.is_empty() {
        config.allow = Some(args.allow.iter().copied().collect::<HashSet<_>>());
    }
    config.max_clients = args.max_clients.unwrap_or(config.max_clients);
    config.max_services = args.max_services.unwrap_or(config.max_services);
    config.max_ports = args.max_ports.unwrap_or(config.max_ports);
    config.max_outbox = args.max_outbox.unwrap_or(config.max_outbox);
    config.handshake_timeout = args.handshake_timeout.unwrap_or(config.handshake_timeout);
    let (tx, mut events) = mpsc::unbounded_channel();
    let service = DevService::spawn(listener, config, tx)?;
    out.json_line(&ServeEvent::Listening {
        addr: service.local_addr(),
    })?;
    let mut signals = Signals::new()?;
    let mut commands = stdin_lines();
    loop {
        tokio::select! {
            Some(event) = events.recv() => out.json_line(&ServeEvent::Service(event))?,
            Some(line) = commands.recv() => match command(&line) {
                Ok(Some((request, client))) => service.request(client, request),
                Ok(None) => {}
                Err(why) => tracing::warn!("stdin: {why}"),
            },
            signal = signals.next() => if let Signal::Stop(_) = signal { break },
        }
    }
    service.stop().await;
    Ok(())
}

/// Lines of stdin, read on a thread of their own; the channel ends with stdin.
fn stdin_lines() -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel(16);
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if tx.blocking_send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// A line of stdin: `REQUEST [CLIENT]` (`scan_network`, `get_status`, `get_scan_report`,
/// `reset_svc_table`; a client number from the events, every client when left out). Blank
/// lines and `#` comments are nothing.
fn command(line: &str) -> Result<Option<(ServiceRequest, Option<u64>)>, String> {
    let line = line.split('#').next().unwrap_or("").trim();
    let mut words = line.split_whitespace();
    let Some(request) = words.next() else {
        return Ok(None);
    };
    let request: ServiceRequest = request.parse()?;
    let client = match words.next() {
        None => None,
        Some(n) => Some(
            n.parse::<u64>()
                .map_err(|_| format!("{n:?} is not a client number"))?,
        ),
    };
    if let Some(extra) = words.next() {
        return Err(format!("unexpected {extra:?} after the client number"));
    }
    Ok(Some((request, client)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limits_are_bounded_at_parse_time() {
        use clap::Parser;
        #[derive(Parser)]
        struct Cli {
            #[command(flatten)]
            serve: ServeArgs,
        }
        let parse = |extra: &[&str]| {
            let base = ["serve", "--bind", "127.0.0.1:0", "--self-signed", "d"];
            Cli::try_parse_from(base.iter().chain(extra)).map(|c| c.serve)
        };
        let args = parse(&[
            "--max-clients",
            "2",
            "--max-services",
            "3",
            "--max-outbox",
            "65536",
            "--handshake-timeout",
            "500ms",
        ])
        .unwrap();
        assert_eq!(
            (args.max_clients, args.max_services, args.max_outbox),
            (Some(2), Some(3), Some(65536))
        );
        assert_eq!(args.handshake_timeout, Some(Duration::from_millis(500)));
        for bad in [
            ["--max-clients", "0"],
            ["--max-clients", "100000"],
            ["--max-services", "0"],
            ["--max-ports", "0"],
            ["--max-ports", "70000"],
            ["--max-outbox", "10"],
            ["--max-outbox", "99999999999"],
            ["--handshake-timeout", "0"],
        ] {
            let err = parse(&bad)
                .err()
                .unwrap_or_else(|| panic!("{bad:?} accepted"));
            assert_eq!(err.exit_code(), 2, "{bad:?}");
        }
    }

    #[test]
    fn stdin_commands_name_a_request_and_maybe_a_client() {
        let cases = [
            (
                "get_status 2",
                Ok(Some((ServiceRequest::GetStatus, Some(2)))),
            ),
            (
                "scan-network",
                Ok(Some((ServiceRequest::ScanNetwork, None))),
            ),
            (
                "  GET_SCAN_REPORT 1  # the first client",
                Ok(Some((ServiceRequest::GetScanReport, Some(1)))),
            ),
            (
                "reset_svc_table",
                Ok(Some((ServiceRequest::ResetSvcTable, None))),
            ),
            ("", Ok(None)),
            ("# nothing", Ok(None)),
        ];
        for (line, want) in cases {
            assert_eq!(command(line), want, "{line}");
        }
        for bad in ["reboot", "get_status one", "get_status 1 2"] {
            assert!(command(bad).is_err(), "{bad}");
        }
    }
}
