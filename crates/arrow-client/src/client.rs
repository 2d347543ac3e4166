//! The client runtime: connect, register, serve, reconnect, until shut down.
//!
//! [`Client::spawn`] runs it on a task; the [`Client`] (and any [`ClientHandle`]) replaces
//! the service table ([`update_table`](ClientHandle::update_table): UPDATE on the live
//! connection, the new table in every later REGISTER) and stops it
//! ([`shutdown`](ClientHandle::shutdown): no new session, open sessions hung up once what
//! they hold is delivered, TLS closed with close_notify, status `stopped`).
//! [`register_once`] connects, registers and leaves, for install scripts and health checks.
//!
//! When and where to reconnect is [`crate::reconnect`]'s decision; each connection is run
//! by [`crate::driver`]. With [`ClientConfig::state_dir`] set, `status.json` there is kept
//! current (see [`crate::status`]).
//!
//! ```no_run
//! # async fn example(config: arrow_client::client::ClientConfig,
//! #                  new_table: arrow_client::service_table::ServiceTable) {
//! use arrow_client::client::Client;
//!
//! let (events, mut rx) = tokio::sync::mpsc::unbounded_channel();
//! let client = Client::spawn(config, events);
//! let handle = client.handle();
//! tokio::spawn(async move { while let Some(event) = rx.recv().await { println!("{event:?}"); } });
//! handle.update_table(new_table);
//! handle.shutdown();
//! client.join().await.unwrap();
//! # }
//! ```

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use arrow_codec::{ClientKey, Register, RegisterFlags};
use rustls_pki_types::ServerName;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tracing::Instrument;

use crate::Error;
use crate::connection::{Connection, ConnectionConfig, Disconnect, Event};
use crate::driver::Driver;
use crate::identity::{Identity, MacAddr};
use crate::message::code;
use crate::reconnect::{Ended, Notice, Reconnect, ReconnectPolicy};
use crate::service_table::ServiceTable;
use crate::status::LinkState;
use crate::status_file::StatusFile;

/// How long the TCP connect and the TLS handshake to the service may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);
/// After an orderly close, how long to wait for the service to close its side.
const LINGER: Duration = Duration::from_secs(1);

/// Everything the client needs to run.
#[derive(Clone)]
pub struct ClientConfig {
    /// The Arrow Service, `HOST:PORT`; HOST is also the name its certificate must carry.
    pub server: String,
    /// TLS settings (trusted CAs).
    pub tls: Arc<rustls::ClientConfig>,
    /// UUID and key.
    pub identity: Identity,
    /// The MAC sent in REGISTER.
    pub mac: MacAddr,
    /// The services.
    pub table: ServiceTable,
    /// Window, timers, limits, gateway mode (REGISTER flag 0x1 follows
    /// [`ConnectionConfig::gateway`]).
    pub connection: ConnectionConfig,
    /// REGISTER's extended_info JSON.
    pub extended_info: String,
    /// Backoff bounds.
    pub reconnect: ReconnectPolicy,
    /// Where to keep `status.json`; none when `None`.
    pub state_dir: Option<PathBuf>,
}

impl std::fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientConfig")
            .field("server", &self.server)
            .field("identity", &self.identity)
            .field("mac", &self.mac)
            .field("table", &self.table)
            .field("connection", &self.connection)
            .field("reconnect", &self.reconnect)
            .field("state_dir", &self.state_dir)
            .finish_non_exhaustive()
    }
}

impl ClientConfig {
    /// A configuration with the defaults: window 65,536, PING every 20 s with a 15 s
    /// timeout, no gateway mode, this crate's extended_info, backoff 1 s to 60 s, no
    /// status file.
    pub fn new(
        server: impl Into<String>,
        tls: Arc<rustls::ClientConfig>,
        identity: Identity,
        mac: MacAddr,
        table: ServiceTable,
    ) -> Self {
        ClientConfig {
            server: server.into(),
            tls,
            identity,
            mac,
            table,
            connection: ConnectionConfig::default(),
            extended_info: default_extended_info(),
            reconnect: ReconnectPolicy::default(),
            state_dir: None,
        }
    }

    /// The REGISTER message this configuration sends.
    pub fn register(&self) -> Register {
        self.register_with(&self.table)
    }

    /// The REGISTER message with another service table.
    pub fn register_with(&self, table: &ServiceTable) -> Register {
        let mut register =
            Register::new(self.identity.uuid, ClientKey(self.identity.key), self.mac);
        register.window_size = u16::try_from(self.connection.capacity - 1).unwrap_or(u16::MAX);
        register.flags = if self.connection.gateway {
            RegisterFlags::GATEWAY
        } else {
            RegisterFlags::default()
        };
        register.extended_info = self.extended_info.clone();
        register.services = table.records();
        register
    }
}

/// The extended_info this client sends: `{"client":{...},"device":{...}}`, compact.
pub fn default_extended_info() -> String {
    serde_json::json!({
        "client": {
            "id": "protoctl-arrow-client",
            "version": env!("CARGO_PKG_VERSION"),
            "vendor": "protoctl",
        },
        "device": { "category": null, "type": null, "vendor": null },
    })
    .to_string()
}

/// What the client reports while it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientEvent {
    /// Dialing the service.
    Connecting {
        /// `HOST:PORT`.
        server: String,
    },
    /// TLS is up and REGISTER was sent.
    Connected {
        /// `HOST:PORT`.
        server: String,
        /// The address dialed.
        addr: SocketAddr,
    },
    /// Something the connection core reported (registered, sessions, table updates).
    Connection(Event),
    /// The connection ended or could not be made.
    Disconnected {
        /// Why, as text.
        reason: String,
        /// The same as a typed value, when the core ended it.
        disconnect: Option<Disconnect>,
    },
    /// The next attempt is due after `delay`.
    Retrying {
        /// Where it goes.
        server: String,
        /// The wait.
        delay: Duration,
        /// The link state meanwhile (`disconnected` or `unauthorized`).
        state: LinkState,
    },
    /// The service refused REGISTER with UNAUTHORIZED: the client must be paired in the
    /// Angelcam account. Reported once per run of refusals, not per attempt.
    NotPaired {
        /// The client's UUID.
        uuid: uuid::Uuid,
        /// The MAC it registers with.
        mac: MacAddr,
    },
    /// A REDIRECT was not followed (a loop, or too many in a row).
    RedirectIgnored {
        /// The target.
        target: String,
        /// Why.
        reason: &'static str,
    },
    /// [`ClientHandle::update_table`] was applied (the service hears of it with UPDATE
    /// when connected).
    TableReplaced {
        /// Services in the new table.
        services: usize,
    },
    /// Shutting down: no new session; open ones end once flushed.
    Stopping,
    /// The client stopped.
    Stopped,
}

/// What a [`ClientHandle`] tells the running client.
#[derive(Debug)]
pub(crate) enum Command {
    /// Use this table from now on.
    UpdateTable(ServiceTable),
    /// Stop in an orderly way.
    Shutdown,
}

/// Tells a running client what to do; cheap to clone.
#[derive(Debug, Clone)]
pub struct ClientHandle {
    commands: mpsc::UnboundedSender<Command>,
}

impl ClientHandle {
    /// Replaces the service table: UPDATE on the live connection, the new table in every
    /// later REGISTER. Open sessions keep running.
    pub fn update_table(&self, table: ServiceTable) {
        let _ = self.commands.send(Command::UpdateTable(table));
    }

    /// Starts an orderly shutdown.
    pub fn shutdown(&self) {
        let _ = self.commands.send(Command::Shutdown);
    }
}

/// A client running on its own task.
#[derive(Debug)]
pub struct Client {
    handle: ClientHandle,
    task: tokio::task::JoinHandle<Result<(), Error>>,
}

impl Client {
    /// Starts the client; events go to `events`.
    pub fn spawn(config: ClientConfig, events: mpsc::UnboundedSender<ClientEvent>) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(run_until_shutdown(config, events, rx));
        Client {
            handle: ClientHandle { commands: tx },
            task,
        }
    }

    /// A handle for other tasks.
    pub fn handle(&self) -> ClientHandle {
        self.handle.clone()
    }

    /// See [`ClientHandle::update_table`].
    pub fn update_table(&self, table: ServiceTable) {
        self.handle.update_table(table);
    }

    /// See [`ClientHandle::shutdown`].
    pub fn shutdown(&self) {
        self.handle.shutdown();
    }

    /// Waits for the client to stop: `Ok` after a shutdown, `Err` for what retrying
    /// cannot fix (configuration, state directory, an unsupported protocol version).
    /// Dropping the [`Client`] and every [`ClientHandle`] shuts the client down too.
    pub async fn join(self) -> Result<(), Error> {
        let Client { handle, task } = self;
        let result = task.await;
        drop(handle);
        match result {
            Ok(result) => result,
            Err(e) => Err(Error::Internal(format!("the client task failed: {e}"))),
        }
    }
}

/// Runs the client until `stop` turns true (then shuts down in order). Returns an error
/// only for what retrying cannot fix.
pub async fn run(
    config: ClientConfig,
    events: mpsc::UnboundedSender<ClientEvent>,
    mut stop: watch::Receiver<bool>,
) -> Result<(), Error> {
    let (tx, rx) = mpsc::unbounded_channel();
    let main = run_until_shutdown(config, events, rx);
    tokio::pin!(main);
    tokio::select! {
        result = &mut main => return result,
        _ = stop.wait_for(|s| *s) => {}
    }
    let _ = tx.send(Command::Shutdown);
    main.await
}

/// Connects, registers and leaves (closing TLS properly), following REDIRECTs. `Ok` when
/// the service accepted REGISTER; [`Error::Refused`] when it refused (UNAUTHORIZED: not
/// paired); a transport, TLS or timeout error when it could not be reached.
pub async fn register_once(
    config: ClientConfig,
    events: mpsc::UnboundedSender<ClientEvent>,
) -> Result<(), Error> {
    let (_tx, rx) = mpsc::unbounded_channel();
    Runtime::new(config, events, rx, true).run().await
}

async fn run_until_shutdown(
    config: ClientConfig,
    events: mpsc::UnboundedSender<ClientEvent>,
    commands: mpsc::UnboundedReceiver<Command>,
) -> Result<(), Error> {
    Runtime::new(config, events, commands, false).run().await
}

/// The part of the runtime a connection driver reads and updates.
pub(crate) struct Control {
    /// Commands from the handles.
    pub(crate) commands: mpsc::UnboundedReceiver<Command>,
    /// The current table.
    pub(crate) table: ServiceTable,
    /// A shutdown was asked for (or every handle is gone).
    pub(crate) stopping: bool,
    /// Register once and leave.
    pub(crate) once: bool,
    /// The status file.
    pub(crate) status: StatusFile,
    /// Events for the user.
    pub(crate) events: mpsc::UnboundedSender<ClientEvent>,
    /// When the service accepted REGISTER on the current connection.
    pub(crate) registered_at: Option<Instant>,
}

impl Control {
    /// Applies a command: returns the new table to announce, if it brings one; a shutdown
    /// (or every handle gone) sets `stopping`.
    pub(crate) fn apply(&mut self, command: Option<Command>) -> Option<ServiceTable> {
        match command {
            Some(Command::UpdateTable(table)) => {
                let _ = self.events.send(ClientEvent::TableReplaced {
                    services: table.len(),
                });
                self.table = table.clone();
                Some(table)
            }
            Some(Command::Shutdown) | None => {
                if !self.stopping {
                    self.stopping = true;
                    let _ = self.events.send(ClientEvent::Stopping);
                }
                None
            }
        }
    }
}

struct Runtime {
    config: ClientConfig,
    control: Control,
    reconnect: Reconnect,
}

impl Runtime {
    fn new(
        config: ClientConfig,
        events: mpsc::UnboundedSender<ClientEvent>,
        commands: mpsc::UnboundedReceiver<Command>,
        once: bool,
    ) -> Self {
        let status = StatusFile::new(
            config.state_dir.clone(),
            &config.server,
            config.identity.uuid,
            config.mac.to_string(),
        );
        Runtime {
            reconnect: Reconnect::new(config.reconnect.clone(), config.server.clone()),
            control: Control {
                commands,
                table: config.table.clone(),
                stopping: false,
                once,
                status,
                events,
                registered_at: None,
            },
            config,
        }
    }

    fn event(&self, event: ClientEvent) {
        let _ = self.control.events.send(event);
    }

    async fn run(mut self) -> Result<(), Error> {
        let writer = self
            .config
            .state_dir
            .is_some()
            .then(|| tokio::spawn(self.control.status.clone().run_writer()));
        let result = self.serve().await;
        if let Some(writer) = writer {
            writer.abort();
        }
        let server = self.reconnect.server().to_string();
        let last_error = result.as_ref().err().map(|e| e.to_string());
        self.control
            .status
            .set_state(LinkState::Stopped, &server, last_error, None);
        self.control.status.write_final();
        self.event(ClientEvent::Stopped);
        result
    }

    /// Says once what the user must do about UNAUTHORIZED (never the key).
    fn tell_not_paired(&self) {
        let (uuid, mac) = (self.config.identity.uuid, self.config.mac);
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
            self.control
                .status
                .set_state(LinkState::Connecting, &server, None, None);
            self.event(ClientEvent::Connecting {
                server: server.clone(),
            });
            let span = tracing::info_span!(
                "arrow_connection",
                server = %server,
                addr = tracing::field::Empty
            );
            let outcome = self.connect(&server).instrument(span).await;
            if self.control.stopping && !self.control.once {
                return Ok(());
            }
            let registered = self.control.registered_at.take();
            let (ended, reason, disconnect) = match outcome {
                Ok(disconnect) => {
                    let ended = match &disconnect {
                        Disconnect::Refused(code) => Ended::Refused(*code),
                        Disconnect::Redirected(to) => Ended::Redirected(to.clone()),
                        _ => Ended::Lost,
                    };
                    (ended, describe(&disconnect), Some(disconnect))
                }
                // A redirect target is the service's choice: a bad one is its fault.
                Err(e) if e.is_fatal() && server == self.config.server => return Err(e),
                Err(e) => {
                    if self.control.once && registered.is_none() {
                        return Err(e);
                    }
                    (Ended::Lost, e.to_string(), None)
                }
            };
            if self.control.once {
                if registered.is_some() {
                    return Ok(());
                }
                match &disconnect {
                    Some(Disconnect::Redirected(_)) => {}
                    Some(d @ Disconnect::Refused(code::UNAUTHORIZED)) => {
                        self.tell_not_paired();
                        return Err(once_error(d, &server));
                    }
                    Some(d) => return Err(once_error(d, &server)),
                    None => return Err(Error::Closed),
                }
            }
            tracing::info!(%reason, "disconnected from the Arrow Service");
            self.event(ClientEvent::Disconnected {
                reason: reason.clone(),
                disconnect: disconnect.clone(),
            });
            let now = Instant::now();
            if let Some(at) = registered {
                self.reconnect.registered(at);
            }
            let plan = self
                .reconnect
                .ended(now, ended, rand::random::<u64>())
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
                continue;
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
                delay: plan.delay,
                state: plan.state,
            });
            let sleep = tokio::time::sleep(plan.delay);
            tokio::pin!(sleep);
            while !self.control.stopping {
                tokio::select! {
                    () = &mut sleep => break,
                    command = self.control.commands.recv() => {
                        self.control.apply(command);
                    }
                }
            }
        }
    }

    /// One connection: dial, TLS, REGISTER, serve until it ends.
    async fn connect(&mut self, server: &str) -> Result<Disconnect, Error> {
        let dial = dial(&self.config, server);
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
        let register = self.config.register_with(&self.control.table);
        let (mut reader, writer) = tokio::io::split(tls);
        let conn = Connection::new(self.config.connection.clone(), self.control.table.clone());
        let mut driver = Driver::new(conn, register, writer, server, &mut self.control);
        let result = driver.serve(&mut reader).await;
        driver.shutdown();
        if matches!(result, Ok(Disconnect::Shutdown)) {
            drain_until_closed(&mut reader).await;
        }
        result
    }
}

/// After our close_notify: reads (and drops) what the service still sends until it closes
/// its side, bounded by [`LINGER`]. Closing a socket with unread bytes makes the kernel
/// answer with a TCP reset, and a service that is writing at that moment fails on the
/// reset before it reads our last DATA, HUPs and close_notify; waiting for its close
/// avoids that.
async fn drain_until_closed<R: tokio::io::AsyncRead + Unpin>(reader: &mut R) {
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

/// Why `register_once` failed, from how its connection ended.
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

fn split_host(server: &str) -> Result<(String, u16), Error> {
    match crate::service_table::split_host_port(server) {
        Some((host, Some(port))) => Ok((host, port)),
        _ => Err(Error::Config(format!(
            "server {server:?}: expected HOST:PORT"
        ))),
    }
}

/// The TCP stream under TLS: rustls reads 4 KiB at a time, so through a 64 KiB buffer a
/// bulk transfer takes one `recv` per 64 KiB instead of 16 (about a quarter less CPU per
/// byte downstream).
type Tcp = tokio::io::BufReader<TcpStream>;

/// TCP (with TCP_NODELAY) and TLS to `server`, each bounded by [`CONNECT_TIMEOUT`].
async fn dial(config: &ClientConfig, server: &str) -> Result<TlsStream<Tcp>, Error> {
    let (host, port) = split_host(server)?;
    let name = ServerName::try_from(host.clone())
        .map_err(|e| Error::Config(format!("server name {host:?}: {e}")))?;
    let tcp = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect((host.as_str(), port)))
        .await
        .map_err(|_| Error::Timeout("connecting to the Arrow Service"))?
        .map_err(|e| Error::io(format!("connecting to {server}"), e))?;
    let _ = tcp.set_nodelay(true);
    tokio::time::timeout(
        CONNECT_TIMEOUT,
        TlsConnector::from(config.tls.clone())
            .connect(name, tokio::io::BufReader::with_capacity(64 * 1024, tcp)),
    )
    .await
    .map_err(|_| Error::Timeout("TLS handshake with the Arrow Service"))?
    .map_err(|source| Error::Tls {
        server: server.to_string(),
        source,
    })
}
