//! `protoctl arrow run`: the Arrow client.

use std::net::SocketAddr;

use arrow_client::client::{Client, ClientConfig, ClientEvent};
use arrow_client::connection::{ConnectionConfig, Event, SessionEnd};
use arrow_client::identity::Identity;
use arrow_client::reconnect::ReconnectPolicy;
use arrow_client::service_table::{ServiceKind, ServiceSpec, ServiceTable};
use serde_json::json;
use tokio::sync::mpsc;

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

/// The services a session may not reach without `--gateway` (not on this host).
fn off_host(table: &ServiceTable) -> Vec<String> {
    table
        .services()
        .iter()
        .filter(|s| !s.addr.ip().is_loopback())
        .map(|s| format!("{} {}", s.kind.name(), s.addr))
        .collect()
}

fn warn_off_host(table: &ServiceTable, gateway: bool) {
    let remote = off_host(table);
    if !gateway && !remote.is_empty() {
        tracing::warn!(
            services = %remote.join(", "),
            "gateway mode is off (no --gateway): sessions to these services on other hosts \
             will be refused"
        );
    }
}

async fn settings_table(settings: &RunSettings) -> Result<ServiceTable, CliError> {
    let s = &settings.services;
    table(&s.tcp, &s.http, &s.rtsp, &s.mjpeg).await
}

/// stdout of the client: a reader that goes away (`protoctl --json arrow run | head -1`)
/// ends the event stream, not the client. Writing stops, one warning goes to stderr, and
/// the client runs on until a signal stops it in order (other commands end quietly).
struct Events<'a> {
    out: &'a mut Output,
    closed: bool,
}

impl<'a> Events<'a> {
    fn new(out: &'a mut Output) -> Self {
        Events { out, closed: false }
    }

    fn event(
        &mut self,
        human: impl std::fmt::Display,
        json: &serde_json::Value,
    ) -> Result<(), CliError> {
        if self.closed {
            return Ok(());
        }
        match self.out.event(human, json) {
            Err(e) if e.is_stdout_closed() => {
                self.closed = true;
                tracing::warn!(
                    "stdout was closed by its reader: events are no longer written there; \
                     the client keeps running (logs still go to stderr, status.json is kept)"
                );
                Ok(())
            }
            other => other,
        }
    }
}

pub(crate) async fn run(args: RunArgs, out: &mut Output) -> Result<(), CliError> {
    let out = &mut Events::new(out);
    let settings = RunSettings::resolve(&args)?;
    let tls = arrow_client::tls::client_config_with(&settings.ca, settings.system_roots.into())?;
    let table = settings_table(&settings).await?;
    let (identity, created) = Identity::load_or_create(&settings.state_dir)?;
    let mac = settings
        .mac
        .unwrap_or_else(|| super::identity::default_mac(&identity));
    if table.is_empty() {
        tracing::warn!("no service given (--tcp, --http, --rtsp, --mjpeg): nothing to expose");
    }
    warn_off_host(&table, settings.gateway);
    out.event(
        format_args!(
            "client {} (mac {mac}{}) with {} service(s)",
            identity.uuid,
            if created { ", new identity" } else { "" },
            table.len()
        ),
        &json!({"event": "started", "uuid": identity.uuid, "mac": mac.to_string(), "created": created,
            "gateway": settings.gateway, "services": services_json(&table)}),
    )?;
    let mut config = ClientConfig::new(settings.server.clone(), tls, identity, mac, table);
    config.connection = ConnectionConfig {
        capacity: settings.window,
        ping_interval: settings.ping_interval,
        ping_timeout: settings.ping_timeout,
        gateway: settings.gateway,
        ..ConnectionConfig::default()
    };
    config.reconnect = ReconnectPolicy::new(settings.reconnect_min, settings.reconnect_max);
    config.state_dir = Some(settings.state_dir.clone());
    let (events_tx, mut events) = mpsc::unbounded_channel();

    if settings.once {
        let once = arrow_client::client::register_once(config, events_tx);
        tokio::pin!(once);
        loop {
            tokio::select! {
                Some(event) = events.recv() => report(out, &event)?,
                result = &mut once => {
                    while let Ok(event) = events.try_recv() {
                        report(out, &event)?;
                    }
                    return result.map_err(CliError::from);
                }
            }
        }
    }

    let gateway = settings.gateway;
    let client = Client::spawn(config, events_tx);
    let handle = client.handle();
    let done = client.join();
    tokio::pin!(done);
    let mut signals = Signals::new()?;
    loop {
        tokio::select! {
            Some(event) = events.recv() => report(out, &event)?,
            signal = signals.next() => match signal {
                Signal::Stop(name) => {
                    tracing::info!(signal = name, "shutting down");
                    handle.shutdown();
                }
                Signal::Reload => match reload(&args).await {
                    Ok((reloaded, table)) => {
                        warn_off_host(&table, gateway);
                        let restart = settings.changed_outside_services(&reloaded);
                        if !restart.is_empty() {
                            tracing::warn!(
                                keys = %restart.join(", "),
                                "SIGHUP: only the services are reloaded; the other changed \
                                 options take effect at the next restart"
                            );
                        }
                        out.event(
                            format_args!("SIGHUP: {} service(s) reloaded", table.len()),
                            &json!({"event": "reloaded", "services": services_json(&table),
                                "restart_needed": restart}),
                        )?;
                        handle.update_table(table);
                    }
                    Err(e) => {
                        tracing::error!(error = %e.message(), "SIGHUP: reload failed, keeping the current services");
                        out.event(
                            format_args!("SIGHUP: reload failed ({}), keeping the current services", e.message()),
                            &json!({"event": "reload_failed", "error": e.message()}),
                        )?;
                    }
                },
            },
            result = &mut done => {
                while let Ok(event) = events.try_recv() {
                    report(out, &event)?;
                }
                return result.map_err(CliError::from);
            }
        }
    }
}

/// SIGHUP: the settings again (the config file is read again), and the table from them.
async fn reload(args: &RunArgs) -> Result<(RunSettings, ServiceTable), CliError> {
    let settings = RunSettings::resolve(args)?;
    let table = settings_table(&settings).await?;
    Ok((settings, table))
}

fn services_json(table: &ServiceTable) -> Vec<serde_json::Value> {
    table
        .services()
        .iter()
        .map(|s| json!({"svc_id": s.id, "type": s.kind.name(), "locked": s.locked, "addr": s.addr.to_string(), "path": s.path}))
        .collect()
}

enum Signal {
    /// SIGINT or SIGTERM.
    Stop(&'static str),
    /// SIGHUP.
    Reload,
}

#[cfg(unix)]
struct Signals {
    int: tokio::signal::unix::Signal,
    term: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
}

#[cfg(unix)]
impl Signals {
    fn new() -> Result<Self, CliError> {
        use tokio::signal::unix::{SignalKind, signal};
        let install = |kind: SignalKind| {
            signal(kind).map_err(|e| CliError::local(format!("cannot handle signals: {e}")))
        };
        Ok(Signals {
            int: install(SignalKind::interrupt())?,
            term: install(SignalKind::terminate())?,
            hup: install(SignalKind::hangup())?,
        })
    }

    async fn next(&mut self) -> Signal {
        tokio::select! {
            _ = self.int.recv() => Signal::Stop("SIGINT"),
            _ = self.term.recv() => Signal::Stop("SIGTERM"),
            _ = self.hup.recv() => Signal::Reload,
        }
    }
}

#[cfg(not(unix))]
struct Signals;

#[cfg(not(unix))]
impl Signals {
    fn new() -> Result<Self, CliError> {
        Ok(Signals)
    }

    async fn next(&mut self) -> Signal {
        let _ = tokio::signal::ctrl_c().await;
        Signal::Stop("Ctrl-C")
    }
}

fn end_name(end: SessionEnd) -> serde_json::Value {
    match end {
        SessionEnd::ServiceHup(code) => json!({"reason": end.name(), "code": code}),
        other => json!({"reason": other.name()}),
    }
}

fn report(out: &mut Events<'_>, event: &ClientEvent) -> Result<(), CliError> {
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
            format_args!("disconnected: {reason}"),
            &json!({"event": "disconnected", "reason": reason}),
        ),
        ClientEvent::Retrying {
            server,
            delay,
            state,
        } => out.event(
            format_args!(
                "{}: next attempt to {server} in {:.1} s",
                state.name(),
                delay.as_secs_f64()
            ),
            &json!({"event": "retrying", "server": server, "state": state.name(),
                "delay_ms": u64::try_from(delay.as_millis()).unwrap_or(u64::MAX)}),
        ),
        ClientEvent::NotPaired { uuid, mac } => out.event(
            format_args!(
                "not paired: add uuid {uuid} / MAC {mac} to the Angelcam account; retrying until then"
            ),
            &json!({"event": "not_paired", "uuid": uuid, "mac": mac.to_string()}),
        ),
        ClientEvent::RedirectIgnored { target, reason } => out.event(
            format_args!("redirect to {target} not followed: {reason}"),
            &json!({"event": "redirect_ignored", "target": target, "reason": reason}),
        ),
        ClientEvent::TableReplaced { services } => out.event(
            format_args!("service table replaced: {services} service(s)"),
            &json!({"event": "table_replaced", "services": services}),
        ),
        ClientEvent::Stopping => out.event(
            "stopping: no new sessions, closing the open ones",
            &json!({"event": "stopping"}),
        ),
        ClientEvent::Stopped => out.event("stopped", &json!({"event": "stopped"})),
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
            Event::TableUpdated { services, reset } => out.event(
                format_args!(
                    "UPDATE sent: {services} service(s){}",
                    if *reset { " (RESET_SVC_TABLE)" } else { "" }
                ),
                &json!({"event": "table_sent", "services": services, "reset": reset}),
            ),
            _ => Ok(()),
        },
        _ => Ok(()),
    }
}
