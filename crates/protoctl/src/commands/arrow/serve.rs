//! `protoctl arrow serve`: the development Arrow Service.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::PathBuf;

use arrow_client::service::{DevService, ServiceConfig};
use arrow_client::tls::{DevCertificates, server_config_from_files};
use clap::Args;
use serde_json::json;
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::exit::CliError;
use crate::output::Output;

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
            out.json_line(
                &json!({"event": "self_signed", "ca": ca, "created": created, "trust": hint}),
            )?;
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
    let (tx, mut events) = mpsc::unbounded_channel();
    let service = DevService::spawn(listener, config, tx)?;
    out.json_line(&json!({"event": "listening", "addr": service.local_addr().to_string()}))?;
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    loop {
        tokio::select! {
            Some(event) = events.recv() => out.json_line(&event)?,
            _ = &mut ctrl_c => break,
        }
    }
    service.stop().await;
    Ok(())
}
