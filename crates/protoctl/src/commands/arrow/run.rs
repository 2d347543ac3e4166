//! `protoctl arrow run`: the Arrow client.

use std::io;
use std::net::SocketAddr;
use std::time::SystemTime;

use arrow_client::client::{Client, ClientConfig, ClientEvent};
use arrow_client::connection::{ConnectionConfig, Event, SessionEnd};
use arrow_client::identity::{Identity, MacAddr};
use arrow_client::reconnect::ReconnectPolicy;
use arrow_client::service_table::{ServiceKind, ServiceSpec, ServiceTable};
use arrow_client::status::{LinkState, Status, rfc3339};
use serde_json::json;
use tokio::sync::mpsc;

use super::settings::{RunArgs, RunSettings};
use crate::exit::CliError;
use crate::output::Output;

/// Looks host names up: the system's resolver in the program; unit tests script their own.
trait Resolver {
    /// Every address of `host`, in the resolver's order.
    fn lookup(
        &self,
        host: &str,
        port: u16,
    ) -> impl std::future::Future<Output = io::Result<Vec<SocketAddr>>>;
}

/// The system's resolver (getaddrinfo), except for names under `.invalid`: RFC 6761 (6.4)
/// reserves them to never resolve, so they fail here at once, without a query leaving
/// the machine.
struct SystemResolver;

impl Resolver for SystemResolver {
    async fn lookup(&self, host: &str, port: u16) -> io::Result<Vec<SocketAddr>> {
        if is_under_invalid(host) {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                "names under .invalid never resolve (RFC 6761)",
            ));
        }
        Ok(tokio::net::lookup_host((host, port)).await?.collect())
    }
}

/// `host` is `invalid` or a name under it (any case, with or without the final dot).
fn is_under_invalid(host: &str) -> bool {
    let host = host.strip_suffix('.').unwrap_or(host);
    host.rsplit('.')
        .next()
        .is_some_and(|last| last.eq_ignore_ascii_case("invalid"))
}

/// The address a service is reached at, the same whatever order the resolver gives within
/// a family: the first IPv4 address when there is one (the service record's MAC is made
/// from IPv4 bytes, and `localhost` resolving to ::1 first must not break an IPv4-only
/// service), else the first IPv6 one.
fn preferred(addrs: &[SocketAddr]) -> Option<SocketAddr> {
    addrs
        .iter()
        .find(|a| a.is_ipv4())
        .or_else(|| addrs.first())
        .copied()
}

/// Why the service table could not be made.
#[derive(Debug)]
enum TableError {
    /// A service that is wrong as written: a configuration error (exit 2).
    Config(CliError),
    /// A service's host does not resolve (yet): a transport problem, exit 3 with `--once`,
    /// retried with backoff otherwise (DNS may come up after the client, e.g. at boot).
    Unresolved {
        /// The host name.
        host: String,
        /// What went wrong, naming the service.
        message: String,
    },
}

impl From<TableError> for CliError {
    fn from(e: TableError) -> Self {
        match e {
            TableError::Config(e) => e,
            TableError::Unresolved { message, .. } => CliError::transport(message),
        }
    }
}

async fn resolve(
    resolver: &impl Resolver,
    spec: ServiceSpec,
) -> Result<(ServiceSpec, SocketAddr), TableError> {
    let unresolved = |why: &dyn std::fmt::Display| TableError::Unresolved {
        host: spec.host.clone(),
        message: format!("cannot resolve service {spec}: {why}"),
    };
    let addrs = resolver
        .lookup(&spec.host, spec.port)
        .await
        .map_err(|e| unresolved(&e))?;
    let addr = preferred(&addrs).ok_or_else(|| unresolved(&"no address"))?;
    Ok((spec, addr))
}

async fn table(
    resolver: &impl Resolver,
    tcp: &[String],
    http: &[String],
    rtsp: &[String],
    mjpeg: &[String],
) -> Result<ServiceTable, TableError> {
    let config = |e: arrow_client::Error| TableError::Config(e.into());
    let mut specs = Vec::new();
    for s in tcp {
        specs.push(ServiceSpec::host_port(ServiceKind::Tcp, s).map_err(config)?);
    }
    for s in http {
        specs.push(ServiceSpec::host_port(ServiceKind::Http, s).map_err(config)?);
    }
    for s in rtsp {
        specs.push(ServiceSpec::url(ServiceKind::Rtsp, s).map_err(config)?);
    }
    for s in mjpeg {
        specs.push(ServiceSpec::url(ServiceKind::Mjpeg, s).map_err(config)?);
    }
    let mut resolved = Vec::with_capacity(specs.len());
    for spec in specs {
        resolved.push(resolve(resolver, spec).await?);
    }
    ServiceTable::new(resolved).map_err(config)
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

async fn settings_table(
    resolver: &impl Resolver,
    settings: &RunSettings,
) -> Result<ServiceTable, TableError> {
    let s = &settings.services;
    table(resolver, &s.tcp, &s.http, &s.rtsp, &s.mjpeg).await
}

/// The client, for the status file written while it waits for its service hosts (the
/// client core writes it from then on).
struct Who {
    uuid: uuid::Uuid,
    mac: MacAddr,
}

impl Who {
    /// Writes `status.json`: `disconnected` with the lookup's error and the next attempt
    /// while waiting, `stopped` when a signal ends the wait. A failed write is logged: the
    /// wait goes on.
    fn write_status(
        &self,
        settings: &RunSettings,
        state: LinkState,
        since: SystemTime,
        error: &str,
        next_attempt: Option<SystemTime>,
    ) {
        let now = SystemTime::now();
        let status = Status {
            state,
            server: settings.server.clone(),
            since: rfc3339(since),
            updated: rfc3339(now),
            pid: std::process::id(),
            uuid: self.uuid,
            mac: self.mac.to_string(),
            active_sessions: 0,
            bytes_up: 0,
            bytes_down: 0,
            last_error: Some(error.to_string()),
            next_attempt: next_attempt.map(rfc3339),
        };
        if let Err(e) = status.write(&settings.state_dir) {
            tracing::warn!(error = %crate::exit::chain(&e), "cannot write the status file");
        }
    }
}

/// Warns about the options a SIGHUP changed that only a restart applies.
fn warn_restart_needed(restart: &[&str]) {
    if !restart.is_empty() {
        tracing::warn!(
            keys = %restart.join(", "),
            "SIGHUP: only the services are reloaded; the other changed options take effect \
             at the next restart"
        );
    }
}

/// The service table once every service host resolves. While one does not (DNS not up
/// yet at boot, a name not published yet), the client is not started: a warning names the
/// host, and the lookup is tried again after the reconnect backoff (`reconnect_min` to
/// `reconnect_max`, full jitter). SIGINT/SIGTERM during the wait: `None`, a normal stop.
/// SIGHUP: the config file is read again and its services are tried at once (a file that
/// does not load changes nothing, as in a reload of a running client).
async fn services_once_resolved(
    resolver: &impl Resolver,
    args: &RunArgs,
    settings: &mut RunSettings,
    who: &Who,
    signals: &mut Signals,
    out: &mut Events<'_>,
) -> Result<Option<ServiceTable>, CliError> {
    use std::hash::BuildHasher;
    let random = std::hash::RandomState::new();
    let mut failures = 0u32;
    let since = SystemTime::now();
    loop {
        let (host, message) = match settings_table(resolver, settings).await {
            Ok(table) => return Ok(Some(table)),
            Err(TableError::Config(e)) => return Err(e),
            Err(TableError::Unresolved { host, message }) => (host, message),
        };
        let policy = ReconnectPolicy::new(settings.reconnect_min, settings.reconnect_max);
        let delay = policy.delay(failures, random.hash_one(failures));
        failures = failures.saturating_add(1);
        let delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
        who.write_status(
            settings,
            LinkState::Disconnected,
            since,
            &message,
            SystemTime::now().checked_add(delay),
        );
        tracing::warn!(
            host = %host,
            error = %message,
            retry_in_ms = delay_ms,
            "a service host does not resolve: the client starts once it does"
        );
        out.event(
            format_args!(
                "service host {host} does not resolve: next attempt in {:.1} s",
                delay.as_secs_f64()
            ),
            &json!({"event": "service_unresolved", "host": host, "error": message,
                "delay_ms": delay_ms}),
        )?;
        let wait = tokio::time::sleep(delay);
        tokio::pin!(wait);
        loop {
            tokio::select! {
                () = &mut wait => break,
                signal = signals.next() => match signal {
                    Signal::Stop(name) => {
                        tracing::info!(signal = name, "stopped while waiting for a service host to resolve");
                        who.write_status(settings, LinkState::Stopped, SystemTime::now(), &message, None);
                        out.event("stopped", &json!({"event": "stopped"}))?;
                        return Ok(None);
                    }
                    Signal::Reload => match RunSettings::resolve(args) {
                        Ok(reloaded) => {
                            warn_restart_needed(&settings.changed_outside_services(&reloaded));
                            settings.services = reloaded.services;
                            failures = 0;
                            break;
                        }
                        Err(e) => report_reload_failed(out, &e)?,
                    },
                },
            }
        }
    }
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
    let mut settings = RunSettings::resolve(&args)?;
    let tls = arrow_client::tls::client_config_with(&settings.ca, settings.system_roots.into())?;
    // Before any wait for DNS: a bad state directory is a configuration error, said now.
    let (identity, created) = Identity::load_or_create(&settings.state_dir)?;
    // Signals are handled from here on, the wait for service hosts included.
    let mut signals = if settings.once {
        None
    } else {
        Some(Signals::new()?)
    };
    let mac = settings
        .mac
        .unwrap_or_else(|| super::identity::default_mac(&identity));
    let table = match &mut signals {
        None => settings_table(&SystemResolver, &settings).await?,
        Some(signals) => {
            let who = Who {
                uuid: identity.uuid,
                mac,
            };
            match services_once_resolved(&SystemResolver, &args, &mut settings, &who, signals, out)
                .await?
            {
                Some(table) => table,
                None => return Ok(()),
            }
        }
    };
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

    // --once (no signal handling): register, report, exit.
    let Some(mut signals) = signals else {
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
    };

    let gateway = settings.gateway;
    let client = Client::spawn(config, events_tx);
    let handle = client.handle();
    let done = client.join();
    tokio::pin!(done);
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
                        warn_restart_needed(&restart);
                        out.event(
                            format_args!("SIGHUP: {} service(s) reloaded", table.len()),
                            &json!({"event": "reloaded", "services": services_json(&table),
                                "restart_needed": restart}),
                        )?;
                        handle.update_table(table);
                    }
                    Err(e) => report_reload_failed(out, &e)?,
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
    let table = settings_table(&SystemResolver, &settings).await?;
    Ok((settings, table))
}

/// A SIGHUP whose config file does not load: said on stderr and stdout; nothing changes.
fn report_reload_failed(out: &mut Events<'_>, e: &CliError) -> Result<(), CliError> {
    tracing::error!(error = %e.message(), "SIGHUP: reload failed, keeping the current services");
    out.event(
        format_args!(
            "SIGHUP: reload failed ({}), keeping the current services",
            e.message()
        ),
        &json!({"event": "reload_failed", "error": e.message()}),
    )
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exit::Fault;

    /// A resolver with a fixed answer per host; any other host does not resolve.
    struct Scripted(Vec<(&'static str, Vec<SocketAddr>)>);

    impl Resolver for Scripted {
        async fn lookup(&self, host: &str, _port: u16) -> io::Result<Vec<SocketAddr>> {
            self.0
                .iter()
                .find(|(name, _)| *name == host)
                .map(|(_, addrs)| addrs.clone())
                .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "unknown host"))
        }
    }

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(f)
    }

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn names_under_invalid_never_resolve_and_nothing_else_is_refused() {
        let cases = [
            ("cam.invalid", true),
            ("cam.INVALID.", true),
            ("invalid", true),
            ("a.b.invalid", true),
            ("invalid.example", false),
            ("cam.invalidx", false),
            ("localhost", false),
            ("127.0.0.1", false),
            ("::1", false),
        ];
        for (host, want) in cases {
            assert_eq!(is_under_invalid(host), want, "{host}");
        }
        let err = block_on(SystemResolver.lookup("cam.invalid", 554)).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
    }

    #[test]
    fn the_first_ipv4_address_is_preferred_else_the_first_ipv6() {
        let cases: [(&[&str], Option<&str>); 5] = [
            (&[], None),
            (&["[::1]:80", "127.0.0.1:80"], Some("127.0.0.1:80")),
            (
                &["[::1]:80", "192.0.2.7:80", "127.0.0.1:80"],
                Some("192.0.2.7:80"),
            ),
            (&["[2001:db8::2]:80", "[::1]:80"], Some("[2001:db8::2]:80")),
            (&["127.0.0.1:80"], Some("127.0.0.1:80")),
        ];
        for (addrs, want) in cases {
            let addrs: Vec<SocketAddr> = addrs.iter().map(|a| addr(a)).collect();
            assert_eq!(preferred(&addrs), want.map(addr), "{addrs:?}");
        }
    }

    #[test]
    fn an_unresolved_host_is_a_transport_problem_and_a_bad_service_a_config_error() {
        let resolver = Scripted(vec![(
            "cam.lan",
            vec![addr("[fe80::1]:554"), addr("10.0.0.9:554")],
        )]);
        let rtsp = |url: &str| vec![url.to_string()];
        let built = block_on(table(
            &resolver,
            &[],
            &[],
            &rtsp("rtsp://u:p@cam.lan/live"),
            &[],
        ))
        .unwrap();
        assert_eq!(built.services()[0].addr, addr("10.0.0.9:554"));

        let err = block_on(table(
            &resolver,
            &[],
            &[],
            &rtsp("rtsp://cam.gone/live"),
            &[],
        ))
        .unwrap_err();
        let TableError::Unresolved { host, message } = &err else {
            panic!("{err:?}");
        };
        assert_eq!(host, "cam.gone");
        assert!(message.contains("cam.gone") && message.contains("unknown host"));
        assert_eq!(CliError::from(err).fault(), Fault::Transport);

        let empty = Scripted(vec![("cam.lan", vec![])]);
        let err = block_on(table(&empty, &[], &[], &rtsp("rtsp://cam.lan/x"), &[])).unwrap_err();
        assert!(
            matches!(&err, TableError::Unresolved { message, .. } if message.contains("no address"))
        );

        let err = block_on(table(&resolver, &["no-port".into()], &[], &[], &[])).unwrap_err();
        assert!(matches!(&err, TableError::Config(_)), "{err:?}");
        assert_eq!(CliError::from(err).fault(), Fault::Local);
    }
}
