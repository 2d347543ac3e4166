//! The tokio driver of the client: owns the TLS stream and the local sockets, feeds the
//! sans-IO [`Connection`] and carries out what it returns; reconnects after a disconnect.
//!
//! One task per connection reads the TLS stream, runs the core and the timers, and writes
//! to the TLS stream with cancel-safe partial writes polled in the same `select!` as the
//! reads, so reading from the service (and so seeing its DATA_ACKs and PINGs) never waits
//! on a blocked write, and no message crosses a task boundary on its way out. The local
//! connections are polled by the same task (`pump::LocalSockets`): a DATA message is written
//! to its local socket at once and its DATA_ACK leaves in the same batch, and bytes read
//! from a local socket become a DATA message without a task hop.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow_codec::{ClientKey, Register, RegisterFlags};
use bytes::{Buf, BytesMut};
use rustls_pki_types::ServerName;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio_rustls::TlsConnector;
use tokio_util::codec::Decoder;

use crate::connection::{
    Connection, ConnectionConfig, Disconnect, Event, LocalCommand, SessionHandle, State,
};
use crate::identity::{Identity, MacAddr};
use crate::pump::{LocalEvent, LocalSockets};
use crate::service_table::ServiceTable;
use crate::{Error, ProtocolViolation, wire};

/// How long the TCP connect and the TLS handshake to the service may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);
/// Control bytes allowed to wait for the TLS writer beyond the session windows.
const CONTROL_BACKLOG: usize = 4 * 1024 * 1024;
/// Redirects followed in a row before going back to the configured server.
const MAX_REDIRECTS: u32 = 3;

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
    /// Window, timers, limits.
    pub connection: ConnectionConfig,
    /// REGISTER flags (gateway by default, as the reference client).
    pub flags: RegisterFlags,
    /// REGISTER's extended_info JSON.
    pub extended_info: String,
    /// Delay before reconnecting after a disconnect.
    pub reconnect_delay: Duration,
}

impl std::fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientConfig")
            .field("server", &self.server)
            .field("identity", &self.identity)
            .field("mac", &self.mac)
            .field("table", &self.table)
            .field("connection", &self.connection)
            .finish_non_exhaustive()
    }
}

impl ClientConfig {
    /// A configuration with the defaults: window 65,536, gateway flag, this crate's
    /// extended_info, reconnect after 2 s.
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
            flags: RegisterFlags::GATEWAY,
            extended_info: default_extended_info(),
            reconnect_delay: Duration::from_secs(2),
        }
    }

    /// The REGISTER message this configuration sends.
    pub fn register(&self) -> Register {
        let mut register =
            Register::new(self.identity.uuid, ClientKey(self.identity.key), self.mac);
        register.window_size = u16::try_from(self.connection.capacity - 1).unwrap_or(u16::MAX);
        register.flags = self.flags;
        register.extended_info = self.extended_info.clone();
        register.services = self.table.records();
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
    /// Something the connection core reported (registered, sessions).
    Connection(Event),
    /// The connection ended; the client reconnects after the delay.
    Disconnected {
        /// Why, as text.
        reason: String,
        /// The same as a typed value, when the core ended it.
        disconnect: Option<Disconnect>,
    },
}

/// Runs the client until `stop` turns true: connect, serve, reconnect. Returns an error
/// only for what retrying cannot fix (configuration).
pub async fn run(
    config: ClientConfig,
    events: mpsc::UnboundedSender<ClientEvent>,
    mut stop: watch::Receiver<bool>,
) -> Result<(), Error> {
    let register = config.register();
    let mut target = config.server.clone();
    let mut redirects = 0;
    loop {
        if *stop.borrow() {
            return Ok(());
        }
        let _ = events.send(ClientEvent::Connecting {
            server: target.clone(),
        });
        let result = tokio::select! {
            r = connect_once(&config, &target, &register, &events) => r,
            _ = stop.wait_for(|s| *s) => return Ok(()),
        };
        let (reason, disconnect) = match result {
            Ok((disconnect, registered)) => {
                if registered {
                    redirects = 0;
                }
                (describe(&disconnect), Some(disconnect))
            }
            Err(e) if e.is_fatal() => return Err(e),
            Err(e) => (e.to_string(), None),
        };
        tracing::info!(%reason, "disconnected from the Arrow Service");
        let _ = events.send(ClientEvent::Disconnected {
            reason,
            disconnect: disconnect.clone(),
        });
        match disconnect {
            Some(Disconnect::Redirected(to)) if redirects < MAX_REDIRECTS => {
                redirects += 1;
                target = to;
                continue;
            }
            _ => target = config.server.clone(),
        }
        tokio::select! {
            _ = tokio::time::sleep(config.reconnect_delay) => {}
            _ = stop.wait_for(|s| *s) => return Ok(()),
        }
    }
}

fn describe(d: &Disconnect) -> String {
    match d {
        Disconnect::Refused(code) => crate::Error::Refused {
            code: *code,
            reason: crate::message::code::name(*code),
        }
        .to_string(),
        Disconnect::Violation(v) => format!("the Arrow Service broke the protocol: {v}"),
        Disconnect::Timeout(what) => format!("timeout: {what}"),
        Disconnect::Redirected(to) => format!("redirected to {to}"),
        Disconnect::Closed => "connection closed".into(),
    }
}

fn split_host(server: &str) -> Result<(String, u16), Error> {
    let bad = || Error::Config(format!("server {server:?}: expected HOST:PORT"));
    let (host, port) = server.rsplit_once(':').ok_or_else(bad)?;
    let port: u16 = port.parse().map_err(|_| bad())?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() {
        return Err(bad());
    }
    Ok((host.to_string(), port))
}

/// One connection: dial, TLS, REGISTER, serve until it ends. Returns why it ended and
/// whether it got registered.
async fn connect_once(
    config: &ClientConfig,
    server: &str,
    register: &Register,
    events: &mpsc::UnboundedSender<ClientEvent>,
) -> Result<(Disconnect, bool), Error> {
    let (host, port) = split_host(server)?;
    let name = ServerName::try_from(host.clone())
        .map_err(|e| Error::Config(format!("server name {host:?}: {e}")))?;
    let tcp = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect((host.as_str(), port)))
        .await
        .map_err(|_| Error::Timeout("connecting to the Arrow Service"))?
        .map_err(|e| Error::io(format!("connecting to {server}"), e))?;
    let _ = tcp.set_nodelay(true);
    let addr = tcp
        .peer_addr()
        .map_err(|e| Error::io(format!("connecting to {server}"), e))?;
    let tls = tokio::time::timeout(
        CONNECT_TIMEOUT,
        // rustls reads 4 KiB at a time: through a 64 KiB buffer a bulk transfer takes one
        // recv per 64 KiB instead of 16 (about a quarter less CPU per byte downstream).
        TlsConnector::from(config.tls.clone())
            .connect(name, tokio::io::BufReader::with_capacity(64 * 1024, tcp)),
    )
    .await
    .map_err(|_| Error::Timeout("TLS handshake with the Arrow Service"))?
    .map_err(|source| Error::Tls {
        server: server.to_string(),
        source,
    })?;
    let _ = events.send(ClientEvent::Connected {
        server: server.to_string(),
        addr,
    });
    let (reader, writer) = tokio::io::split(tls);
    let conn = Connection::new(config.connection.clone(), config.table.clone());
    let mut driver = Driver::new(conn, register.clone(), writer, events.clone());
    let result = driver.serve(reader).await;
    driver.shutdown();
    result
}

struct Driver<W> {
    conn: Connection,
    register: Register,
    /// The local connections, polled by this task.
    locals: LocalSockets<SessionHandle>,
    /// The TLS write half, written from the same task with cancel-safe `write` calls in
    /// the same `select!` as the reads: a blocked write never stops reading.
    writer: W,
    /// Encoded messages not yet taken by the TLS writer.
    out: BytesMut,
    /// Bytes went into TLS since the last flush.
    needs_flush: bool,
    events: mpsc::UnboundedSender<ClientEvent>,
    registered: bool,
}

impl<W> Driver<W>
where
    W: tokio::io::AsyncWrite + Unpin,
{
    fn new(
        conn: Connection,
        register: Register,
        writer: W,
        events: mpsc::UnboundedSender<ClientEvent>,
    ) -> Self {
        Driver {
            conn,
            register,
            locals: LocalSockets::new(),
            writer,
            out: BytesMut::with_capacity(64 * 1024),
            needs_flush: false,
            events,
            registered: false,
        }
    }

    async fn serve<R>(&mut self, mut reader: R) -> Result<(Disconnect, bool), Error>
    where
        R: tokio::io::AsyncRead + Unpin,
    {
        let mut codec = wire::client_codec();
        let mut input = BytesMut::with_capacity(64 * 1024);
        self.conn.start(Instant::now());
        loop {
            self.flush()?;
            if self.conn.state() == State::Disconnected {
                let reason = self
                    .conn
                    .close_reason()
                    .cloned()
                    .unwrap_or(Disconnect::Closed);
                return Ok((reason, self.registered));
            }
            let deadline = self.conn.poll_timeout();
            let sleep = async {
                match deadline {
                    Some(at) => tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                read = reader.read_buf(&mut input) => {
                    let n = read.map_err(|e| Error::io("reading from the Arrow Service", e))?;
                    let now = Instant::now();
                    loop {
                        let decoded = if n == 0 { codec.decode_eof(&mut input) } else { codec.decode(&mut input) };
                        match decoded {
                            Ok(Some(message)) => self.conn.handle_incoming(now, wire::incoming(message)),
                            Ok(None) => break,
                            Err(e) => {
                                self.conn.handle_violation(wire::violation(&e));
                                break;
                            }
                        }
                        if self.conn.state() == State::Disconnected {
                            break;
                        }
                    }
                    if n == 0 && self.conn.state() != State::Disconnected {
                        self.conn.close();
                    }
                    if input.capacity() - input.len() < 4096 {
                        input.reserve(64 * 1024);
                    }
                }
                () = std::future::poll_fn(|cx| self.locals.poll_io(cx)) => {
                    self.on_local_events();
                }
                () = sleep => self.conn.handle_timeout(Instant::now()),
                io = write_or_flush(&mut self.writer, &self.out), if !self.out.is_empty() || self.needs_flush => {
                    match io.map_err(|e| Error::io("writing to the Arrow Service", e))? {
                        Some(0) => return Err(Error::Closed),
                        Some(n) => {
                            self.out.advance(n);
                            self.needs_flush = true;
                        }
                        None => self.needs_flush = false,
                    }
                }
            }
        }
    }

    /// Hands what happened on local sockets to the core; true if anything did.
    fn on_local_events(&mut self) -> bool {
        let mut any = false;
        while let Some((handle, event)) = self.locals.pop_event() {
            any = true;
            match event {
                LocalEvent::Data(data) => {
                    if let Err(e) = self.conn.handle_local_data(handle, data) {
                        // A bug in this driver, never the peer's doing: end the session.
                        tracing::error!(error = %e, "local read beyond the window");
                        self.conn.handle_local_closed(Instant::now(), handle, false);
                    }
                }
                LocalEvent::Delivered(n) => self.conn.handle_local_delivered(handle, n),
                LocalEvent::Closed { clean } => {
                    self.conn.handle_local_closed(Instant::now(), handle, clean);
                }
            }
        }
        any
    }

    /// Carries out everything the core has queued.
    fn flush(&mut self) -> Result<(), Error> {
        loop {
            while let Some(message) = self.conn.poll_transmit() {
                if let Err(e) = wire::encode(&message, &self.register, &mut self.out) {
                    return Err(Error::Config(format!("cannot encode {message:?}: {e}")));
                }
            }
            let limit = CONTROL_BACKLOG
                + self.conn.active_sessions() * self.conn.config().capacity as usize;
            let queued = self.out.len();
            if queued > limit {
                self.conn
                    .handle_violation(ProtocolViolation::NotReading { queued });
            }
            while let Some(command) = self.conn.poll_local() {
                match command {
                    LocalCommand::Open {
                        handle,
                        addr,
                        credit,
                        ..
                    } => self.locals.connect(handle, addr, credit),
                    LocalCommand::Write { handle, data } => self.locals.write(handle, data),
                    LocalCommand::Grant { handle, bytes } => self.locals.grant(handle, bytes),
                    LocalCommand::Close { handle } => self.locals.close(handle),
                }
            }
            // Bytes written straight to a local socket are acknowledged (DATA_ACK), bytes
            // read straight from one become DATA: go round until nothing new.
            let progressed = self.on_local_events();
            while let Some(event) = self.conn.poll_event() {
                if event == Event::Registered {
                    self.registered = true;
                }
                let _ = self.events.send(ClientEvent::Connection(event));
            }
            if !progressed {
                return Ok(());
            }
        }
    }

    /// Closes every local connection (the core already told them to drain).
    fn shutdown(&mut self) {
        self.conn.close();
        let _ = self.flush();
        self.locals.close_all();
    }
}

/// One step of the writer: a partial write of `out` (cancel-safe: nothing is taken unless
/// it returns), or a flush once everything was written. `Some(n)` bytes written, `None`
/// flushed.
pub(crate) async fn write_or_flush<W>(writer: &mut W, out: &[u8]) -> std::io::Result<Option<usize>>
where
    W: tokio::io::AsyncWrite + Unpin,
{
    if out.is_empty() {
        writer.flush().await.map(|()| None)
    } else {
        writer.write(out).await.map(Some)
    }
}
