//! `protoctl arrow run`: the Arrow client.

use std::net::SocketAddr;

use arrow_client::connection::{ConnectionConfig, Event, SessionEnd};
use arrow_client::driver::{self, ClientConfig, ClientEvent};
use arrow_client::identity::Identity;
use arrow_client::service_table::{ServiceKind, ServiceSpec, ServiceTable};
use serde_json::json;
use tokio::sync::{mpsc, watch};

use super::settings::{RunArgs, RunSettings};
use crate::exit::CliError;
use crate::output::Output;

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
    let args = RunSettings::resolve(&args)?;
    let tls = arrow_client::tls::client_config(&args.ca)?;
    let s = &args.services;
    let table = table(&s.tcp, &s.http, &s.rtsp, &s.mjpeg).await?;
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
        ping_interval: args.ping_interval,
        ping_timeout: args.ping_timeout,
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
