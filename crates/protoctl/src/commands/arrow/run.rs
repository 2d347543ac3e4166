//! `protoctl arrow run`: the Arrow client.

use std::net::SocketAddr;
use std::path::PathBuf;

use arrow_client::connection::{ConnectionConfig, Event, SessionEnd};
use arrow_client::driver::{self, ClientConfig, ClientEvent};
use arrow_client::identity::{Identity, MacAddr};
use arrow_client::service_table::{ServiceKind, ServiceSpec, ServiceTable};
use clap::Args;
use serde_json::json;
use tokio::sync::{mpsc, watch};

use crate::exit::CliError;
use crate::output::Output;

/// Arguments of `protoctl arrow run`.
#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// The Arrow Service, HOST:PORT (HOST must match its certificate).
    #[arg(long, value_name = "HOST:PORT")]
    server: String,
    /// CA certificate(s) (PEM) the service's certificate must chain to; repeatable.
    #[arg(long, value_name = "FILE", required = true)]
    ca: Vec<PathBuf>,
    /// Directory holding the client identity (UUID and key, created on first start).
    #[arg(long, value_name = "DIR")]
    state_dir: PathBuf,
    /// Expose a plain TCP service; repeatable.
    #[arg(long, value_name = "HOST:PORT")]
    tcp: Vec<String>,
    /// Expose an HTTP service; repeatable.
    #[arg(long, value_name = "HOST:PORT")]
    http: Vec<String>,
    /// Expose an RTSP stream, rtsp://HOST:PORT/path (port 554 if left out); repeatable.
    #[arg(long, value_name = "URL")]
    rtsp: Vec<String>,
    /// Expose an MJPEG stream, http://HOST:PORT/path (port 80 if left out); repeatable.
    #[arg(long, value_name = "URL")]
    mjpeg: Vec<String>,
    /// MAC address to register with [default: the first non-loopback interface's].
    #[arg(long, value_name = "MAC")]
    mac: Option<MacAddr>,
    /// Session window in bytes, both directions (1..=65536).
    #[arg(long, value_name = "BYTES", default_value_t = 65_536,
          value_parser = clap::value_parser!(u32).range(1..=65_536))]
    window: u32,
}

async fn resolve(spec: ServiceSpec) -> Result<(ServiceSpec, SocketAddr), CliError> {
    let addr = tokio::net::lookup_host((spec.host.as_str(), spec.port))
        .await
        .map_err(|e| CliError::local(format!("cannot resolve service {spec}: {e}")))?
        .next()
        .ok_or_else(|| CliError::local(format!("service {spec}: no address")))?;
    Ok((spec, addr))
}

pub(crate) async fn table(
    tcp: &[String],
    http: &[String],
    rtsp: &[String],
    mjpeg: &[String],
) -> Result<ServiceTable, CliError> {
    let mut specs = Vec::new();
    for s in tcp {
        specs.push(ServiceSpec::host_port(ServiceKind::Tcp, s)?);
    }
    for s in http {
        specs.push(ServiceSpec::host_port(ServiceKind::Http, s)?);
    }
    for s in rtsp {
        specs.push(ServiceSpec::url(ServiceKind::Rtsp, s)?);
    }
    for s in mjpeg {
        specs.push(ServiceSpec::url(ServiceKind::Mjpeg, s)?);
    }
    let mut resolved = Vec::with_capacity(specs.len());
    for spec in specs {
        resolved.push(resolve(spec).await?);
    }
    Ok(ServiceTable::new(resolved)?)
}

pub(crate) async fn run(args: RunArgs, out: &mut Output) -> Result<(), CliError> {
    let tls = arrow_client::tls::client_config(&args.ca)?;
    let table = table(&args.tcp, &args.http, &args.rtsp, &args.mjpeg).await?;
    let (identity, created) = Identity::load_or_create(&args.state_dir)?;
    let mac = args
        .mac
        .unwrap_or_else(|| super::identity::default_mac(&identity));
    if table.is_empty() {
        tracing::warn!("no service given (--tcp, --http, --rtsp, --mjpeg): nothing to expose");
    }
    let services: Vec<_> = table
        .services()
        .iter()
        .map(|s| json!({"svc_id": s.id, "type": s.kind.name(), "addr": s.addr.to_string(), "path": s.path}))
        .collect();
    out.event(
        format_args!(
            "client {} (mac {mac}{}) with {} service(s)",
            identity.uuid,
            if created { ", new identity" } else { "" },
            table.len()
        ),
        &json!({"event": "started", "uuid": identity.uuid, "mac": mac.to_string(), "created": created, "services": services}),
    )?;
    let mut config = ClientConfig::new(args.server, tls, identity, mac, table);
    config.connection = ConnectionConfig {
        capacity: args.window,
        ..ConnectionConfig::default()
    };
    let (events_tx, mut events) = mpsc::unbounded_channel();
    let (stop, stop_rx) = watch::channel(false);
    let mut client = tokio::spawn(driver::run(config, events_tx, stop_rx));
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let mut stopping = false;
    loop {
        tokio::select! {
            event = events.recv() => match event {
                Some(event) => report(out, &event)?,
                None => break,
            },
            _ = &mut ctrl_c, if !stopping => {
                stopping = true;
                let _ = stop.send(true);
            }
            done = &mut client => {
                while let Ok(event) = events.try_recv() {
                    report(out, &event)?;
                }
                return match done {
                    Ok(result) => result.map_err(CliError::from),
                    Err(e) => Err(CliError::local(format!("client task failed: {e}"))),
                };
            }
        }
    }
    Ok(())
}

fn end_name(end: SessionEnd) -> serde_json::Value {
    match end {
        SessionEnd::ServiceHup(code) => json!({"reason": end.name(), "code": code}),
        other => json!({"reason": other.name()}),
    }
}

fn report(out: &mut Output, event: &ClientEvent) -> Result<(), CliError> {
    match event {
        ClientEvent::Connecting { server } => out.event(
            format_args!("connecting to {server}"),
            &json!({"event": "connecting", "server": server}),
        ),
        ClientEvent::Connected { server, addr } => out.event(
            format_args!("connected to {server} ({addr}), registering"),
            &json!({"event": "connected", "server": server, "addr": addr.to_string()}),
        ),
        ClientEvent::Disconnected { reason, .. } => out.event(
            format_args!("disconnected: {reason}; reconnecting"),
            &json!({"event": "disconnected", "reason": reason}),
        ),
        ClientEvent::Connection(event) => match event {
            Event::Registered => out.event("registered", &json!({"event": "registered"})),
            Event::SessionOpened {
                session,
                svc_id,
                addr,
            } => out.event(
                format_args!("session {session} opened to service {svc_id} ({addr})"),
                &json!({"event": "session_opened", "session": session, "svc_id": svc_id, "addr": addr.to_string()}),
            ),
            Event::SessionClosed {
                session,
                svc_id,
                end,
                bytes_up,
                bytes_down,
            } => {
                let mut record = json!({"event": "session_closed", "session": session, "svc_id": svc_id,
                    "bytes_up": bytes_up, "bytes_down": bytes_down});
                if let (Some(r), serde_json::Value::Object(extra)) = (record.as_object_mut(), end_name(*end)) {
                    r.extend(extra);
                }
                out.event(
                    format_args!(
                        "session {session} closed ({}), {bytes_up} bytes up, {bytes_down} down",
                        end.name()
                    ),
                    &record,
                )
            }
            Event::Refused { session, reason } => out.event(
                format_args!("session {session} refused: {reason}"),
                &json!({"event": "session_refused", "session": session, "reason": reason}),
            ),
            Event::Unsupported { kind } => out.event(
                format_args!("answered {kind} with UNSUPPORTED_METHOD"),
                &json!({"event": "unsupported", "kind": kind}),
            ),
            _ => Ok(()),
        },
        _ => Ok(()),
    }
}
