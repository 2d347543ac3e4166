//! The reconnect loop: resolve the services, dial, register, serve, and again, until shut
//! down (or, with `once`, until registered).
//!
//! Each attempt resolves the configured services first ([`crate::resolve`]); a host that
//! does not resolve ends the attempt like a lost connection. When and where the next
//! attempt goes is [`Reconnect`]'s decision, with a random number from the thread's RNG for
//! the jitter. Each connection is run by [`Driver`].

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use tracing::Instrument;

use super::config::ClientConfig;
use super::control::Control;
use super::dial::{Tcp, dial};
use super::driver::Driver;
use super::event::ClientEvent;
use super::probing::ProbeCache;
use super::registration::Registration;
use crate::Error;
use crate::connection::{Connection, ConnectionConfig, Disconnect};
use crate::message::code;
use crate::reconnect::{Ended, Notice, Reconnect};
use crate::resolve::{Resolve, resolve_specs};
use crate::service_table::ServiceTable;
use crate::state_lock::StateLock;
use crate::status::LinkState;

/// After an orderly close, how long to wait for the service to close its side.
const LINGER: Duration = Duration::from_secs(1);

/// What the runtime needs beyond [`Control`]: fixed for the client's life.
pub(crate) struct Runtime {
    pub(crate) tls: Arc<rustls::ClientConfig>,
    pub(crate) connection: ConnectionConfig,
    pub(crate) registration: Registration,
    pub(crate) identity_created: bool,
    pub(crate) resolver: Arc<dyn Resolve>,
    pub(crate) resolve_timeout: Duration,
    pub(crate) control: Control,
    pub(crate) reconnect: Reconnect,
    /// Held while the client runs; released when the runtime is dropped.
    pub(crate) _lock: Option<StateLock>,
    /// `started` was reported.
    pub(crate) started: bool,
    /// What probing found for services whose URL named no path (shared with the handles).
    pub(crate) probes: ProbeCache,
}

/// How one attempt ended, for the backoff and the user.
struct Outcome {
    ended: Ended,
    reason: String,
    disconnect: Option<Disconnect>,
}

impl Runtime {
    /// The runtime of `config`, whose identity and MAC are settled.
    pub(crate) fn new(
        config: ClientConfig,
        registration: Registration,
        identity_created: bool,
        control: Control,
        lock: Option<StateLock>,
        probes: ProbeCache,
    ) -> Self {
        Runtime {
            reconnect: Reconnect::new(config.reconnect.clone(), config.server.clone()),
            tls: config.tls,
            connection: config.connection,
            registration,
            identity_created,
            resolver: config.resolver,
            resolve_timeout: config.resolve_timeout,
            control,
            _lock: lock,
            started: false,
            probes,
        }
    }

    fn event(&self, event: ClientEvent) {
        self.control.event(event);
    }

    pub(crate) async fn run(mut self) -> Result<(), Error> {
        let writer = tokio::spawn(self.control.status.clone().run_writer());
        let result = self.serve().await;
        writer.abort();
        let server = self.reconnect.server().to_string();
        let last_error = result.as_ref().err().map(|e| e.to_string());
        self.control
            .status
            .set_state(LinkState::Stopped, &server, last_error, None);
        self.control.status.write_final();
        if let Some(scanner) = self.control.scanner.take() {
            scanner.stop().await;
        }
        self.event(ClientEvent::Stopped);
        result
    }

    /// Says once what the user must do about UNAUTHORIZED (never the key).
    fn tell_not_paired(&self) {
        let (uuid, mac) = (self.registration.identity.uuid, self.registration.mac);
        tracing::warn!(
            %uuid,
            %mac,
            "the Arrow Service refused this client: it is not paired yet. Pair uuid {uuid} / \
             MAC {mac} in the Angelcam account{}",
            if self.control.once {
                ""
            } else {
                "; the client keeps retrying until then"
            }
        );
        self.event(ClientEvent::NotPaired { uuid, mac });
    }

    async fn serve(&mut self) -> Result<(), Error> {
        loop {
            if self.control.stopping {
                return Ok(());
            }
            let server = self.reconnect.server().to_string();
            let outcome = match self.resolve().await {
                Ok(Some(table)) => {
                    self.control.set_static_table(table);
                    self.report_started();
                    self.attempt(&server).await?
                }
                // Stopped while resolving.
                Ok(None) => return Ok(()),
                Err(e @ Error::Unresolved { .. }) if !self.control.once => {
                    self.unresolved(e).await?;
                    continue;
                }
                Err(e) => return Err(e),
            };
            let Some(outcome) = outcome else {
                return Ok(());
            };
            let delay = self.plan_next(outcome)?;
            if let Some(delay) = delay {
                self.wait(delay, false).await;
            }
        }
    }

    /// The configured services, resolved (and path-less streams probed); `None` when a
    /// shutdown came first. New services given meanwhile start the lookups over, so the
    /// table returned is always of the latest services.
    async fn resolve(&mut self) -> Result<Option<ServiceTable>, Error> {
        'services: loop {
            let resolver = self.resolver.clone();
            let probes = self.probes.clone();
            let specs = self.control.specs.clone();
            let timeout = self.resolve_timeout;
            let lookups = async move {
                let resolved = resolve_specs(resolver.as_ref(), timeout, &specs).await?;
                probes.table(resolved).await
            };
            tokio::pin!(lookups);
            loop {
                tokio::select! {
                    table = &mut lookups => {
                        let table = table?;
                        if self.started && table != self.control.static_table {
                            tracing::info!(services = table.len(), "a service host resolved to a new address");
                        }
                        return Ok(Some(table));
                    }
                    command = self.control.commands.recv() => {
                        let replaced = self.control.apply(command).is_some();
                        if self.control.stopping {
                            return Ok(None);
                        }
                        if replaced {
                            continue 'services;
                        }
                    }
                }
            }
        }
    }

    fn report_started(&mut self) {
        if self.started {
            return;
        }
        self.started = true;
        let table = &self.control.static_table;
        if table.is_empty() {
            tracing::warn!("no service given: nothing to expose");
        }
        let remote: Vec<String> = table
            .services()
            .iter()
            .filter(|s| !s.addr.ip().is_loopback())
            .map(|s| format!("{} {}", s.kind.name(), s.addr))
            .collect();
        if !self.connection.gateway && !remote.is_empty() {
            tracing::warn!(
                services = %remote.join(", "),
                "gateway mode is off: sessions to these services on other hosts will be refused"
            );
        }
        self.event(ClientEvent::Started {
            uuid: self.registration.identity.uuid,
            mac: self.registration.mac,
            created: self.identity_created,
            gateway: self.connection.gateway,
            services: table.services().to_vec(),
        });
    }

    /// A service host did not resolve: this attempt failed. Says so, then waits for the
    /// next one (a new table during the wait starts it at once).
    async fn unresolved(&mut self, e: Error) -> Result<(), Error> {
        let Error::Unresolved { host, .. } = &e else {
            return Err(e);
        };
        let message = e.to_string();
        let plan = self
            .reconnect
            .ended(Instant::now(), Ended::Lost, rand::random::<u64>())
            .map_err(|fatal| Error::UnsupportedVersion(fatal.to_string()))?;
        tracing::warn!(
            host = %host,
            error = %message,
            retry_in_ms = u64::try_from(plan.delay.as_millis()).unwrap_or(u64::MAX),
            "a service host does not resolve: the client connects once it does"
        );
        self.control.status.set_state(
            LinkState::Disconnected,
            &plan.server,
            Some(message.clone()),
            SystemTime::now().checked_add(plan.delay),
        );
        self.event(ClientEvent::ServiceUnresolved {
            host: host.clone(),
            error: message,
            delay: plan.delay,
        });
        self.wait(plan.delay, true).await;
        Ok(())
    }

    /// One attempt to `server`: `None` when the client is done (shut down, or registered
    /// once), else how it ended.
    async fn attempt(&mut self, server: &str) -> Result<Option<Outcome>, Error> {
        self.control
            .status
            .set_state(LinkState::Connecting, server, None, None);
        self.event(ClientEvent::Connecting {
            server: server.to_string(),
        });
        let span = tracing::info_span!(
            "arrow_connection",
            server = %server,
            addr = tracing::field::Empty
        );
        let result = self.connect(server).instrument(span).await;
        if self.control.stopping && !self.control.once {
            return Ok(None);
        }
        let registered = self.control.registered_at.take();
        let outcome = match result {
            Ok(disconnect) => {
                let ended = match &disconnect {
                    Disconnect::Refused(code) => Ended::Refused(*code),
                    Disconnect::Redirected(to) => Ended::Redirected(to.clone()),
                    _ => Ended::Lost,
                };
                Outcome {
                    ended,
                    reason: describe(&disconnect),
                    disconnect: Some(disconnect),
                }
            }
            // A redirect target is the service's choice: a bad one is its fault.
            Err(e) if e.is_fatal() && server == self.reconnect.configured() => return Err(e),
            Err(e) => {
                if self.control.once && registered.is_none() {
                    return Err(e);
                }
                Outcome {
                    ended: Ended::Lost,
                    reason: e.to_string(),
                    disconnect: None,
                }
            }
        };
        if self.control.once {
            if registered.is_some() {
                return Ok(None);
            }
            match &outcome.disconnect {
                Some(Disconnect::Redirected(_)) => {}
                Some(d @ Disconnect::Refused(code::UNAUTHORIZED)) => {
                    self.tell_not_paired();
                    return Err(once_error(d, server));
                }
                Some(d) => return Err(once_error(d, server)),
                None => return Err(Error::Closed),
            }
        }
        if let Some(at) = registered {
            self.reconnect.registered(at);
        }
        Ok(Some(outcome))
    }

    /// Reports how the attempt ended and plans the next: the wait before it, `None` to go
    /// at once (a REDIRECT).
    fn plan_next(&mut self, outcome: Outcome) -> Result<Option<Duration>, Error> {
        let Outcome {
            ended,
            reason,
            disconnect,
        } = outcome;
        let server = self.reconnect.server().to_string();
        tracing::info!(%reason, "disconnected from the Arrow Service");
        self.event(ClientEvent::Disconnected {
            reason: reason.clone(),
            disconnect: disconnect.clone(),
        });
        let plan = self
            .reconnect
            .ended(Instant::now(), ended, rand::random::<u64>())
            .map_err(|fatal| {
                tracing::error!("{fatal}");
                Error::UnsupportedVersion(fatal.to_string())
            })?;
        match &plan.notice {
            Some(Notice::NotPaired) => self.tell_not_paired(),
            Some(Notice::RedirectLoop { target }) => {
                tracing::warn!(%target, "redirect loop: back to the configured server");
                self.event(ClientEvent::RedirectIgnored {
                    target: target.clone(),
                    reason: "redirect loop",
                });
            }
            Some(Notice::TooManyRedirects { target }) => {
                tracing::warn!(%target, "too many redirects: back to the configured server");
                self.event(ClientEvent::RedirectIgnored {
                    target: target.clone(),
                    reason: "too many redirects in a row",
                });
            }
            Some(Notice::RedirectTargetUnsupported { target }) => {
                tracing::warn!(
                    %target,
                    "the redirect target does not speak Arrow v2: back to the configured server"
                );
            }
            _ => {}
        }
        if plan.delay.is_zero() {
            return Ok(None);
        }
        if self.control.once {
            return Err(disconnect
                .as_ref()
                .map_or(Error::Closed, |d| once_error(d, &server)));
        }
        self.control.status.set_state(
            plan.state,
            &plan.server,
            Some(reason),
            SystemTime::now().checked_add(plan.delay),
        );
        self.event(ClientEvent::Retrying {
            server: plan.server.clone(),
            state: plan.state,
            delay: plan.delay,
        });
        Ok(Some(plan.delay))
    }

    /// Waits `delay` while taking commands; a shutdown ends the wait, and so does a new
    /// table when `new_table_ends_it` (after a lookup failure: the new services may well
    /// resolve).
    async fn wait(&mut self, delay: Duration, new_table_ends_it: bool) {
        let sleep = tokio::time::sleep(delay);
        tokio::pin!(sleep);
        while !self.control.stopping {
            tokio::select! {
                () = &mut sleep => break,
                command = self.control.commands.recv() => {
                    if self.control.apply(command).is_some() && new_table_ends_it {
                        break;
                    }
                }
            }
        }
    }

    /// One connection: dial, TLS, REGISTER, serve until it ends.
    async fn connect(&mut self, server: &str) -> Result<Disconnect, Error> {
        let dial = dial(&self.tls, server);
        tokio::pin!(dial);
        let tls = loop {
            tokio::select! {
                tls = &mut dial => break tls?,
                command = self.control.commands.recv() => {
                    self.control.apply(command);
                    if self.control.stopping {
                        return Ok(Disconnect::Shutdown);
                    }
                }
            }
        };
        let addr = tls.get_ref().0.get_ref().peer_addr().ok();
        if let Some(addr) = addr {
            tracing::Span::current().record("addr", tracing::field::display(addr));
            self.event(ClientEvent::Connected {
                server: server.to_string(),
                addr,
            });
        }
        // A scan that ended between connections: its services go in this REGISTER.
        self.control.take_latest_scan();
        let register = self.registration.register(&self.control.table);
        let (mut reader, writer) = tokio::io::split(tls);
        let conn = Connection::new(self.connection.clone(), self.control.table.clone());
        let mut driver = Driver::new(conn, register, writer, server, &mut self.control);
        let result = driver.serve(&mut reader).await;
        driver.shutdown();
        if matches!(result, Ok(Disconnect::Shutdown)) {
            drain_until_closed(&mut reader).await;
        }
        result
    }
}

/// The TLS stream to the service, read half.
type Reader = tokio::io::ReadHalf<tokio_rustls::client::TlsStream<Tcp>>;

/// After our close_notify: reads (and drops) what the service still sends until it closes
/// its side, bounded by [`LINGER`]. Closing a socket with unread bytes makes the kernel
/// answer with a TCP reset, and a service that is writing at that moment fails on the
/// reset before it reads our last DATA, HUPs and close_notify; waiting for its close
/// avoids that.
async fn drain_until_closed(reader: &mut Reader) {
    use tokio::io::AsyncReadExt;
    let mut buf = vec![0u8; 16 * 1024];
    let drained = tokio::time::timeout(LINGER, async {
        while let Ok(n) = reader.read(&mut buf).await {
            if n == 0 {
                break;
            }
        }
    })
    .await;
    if drained.is_err() {
        tracing::debug!("the service did not close its side in time");
    }
}

/// Why a `once` run failed, from how its connection ended.
fn once_error(d: &Disconnect, server: &str) -> Error {
    match d {
        Disconnect::Refused(c) if *c == code::UNSUPPORTED_PROTOCOL_VERSION => {
            Error::UnsupportedVersion(
                crate::reconnect::Fatal::UnsupportedVersion {
                    server: server.to_string(),
                }
                .to_string(),
            )
        }
        Disconnect::Refused(c) => Error::Refused {
            code: *c,
            reason: code::name(*c),
        },
        Disconnect::Violation(v) => Error::Protocol(v.clone()),
        Disconnect::Timeout(what) => Error::Timeout(what),
        Disconnect::Redirected(to) => Error::Redirected(to.clone()),
        _ => Error::Closed,
    }
}

fn describe(d: &Disconnect) -> String {
    match d {
        Disconnect::Refused(code) => Error::Refused {
            code: *code,
            reason: code::name(*code),
        }
        .to_string(),
        Disconnect::Violation(v) => format!("the Arrow Service broke the protocol: {v}"),
        Disconnect::Timeout(what) => format!("timeout: {what}"),
        Disconnect::Redirected(to) => format!("redirected to {to}"),
        Disconnect::Shutdown => "shut down".into(),
        _ => "connection closed".into(),
    }
}
