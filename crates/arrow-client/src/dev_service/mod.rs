//! The development Arrow Service: the other side of the protocol, for developing and
//! testing without the cloud.
//!
//! A TLS listener accepts clients; each REGISTER is accepted (or refused with
//! `UNAUTHORIZED` for a UUID outside the allow-list), and every service of every client is
//! exposed on its own TCP port on the loopback interface. A connection to that port becomes
//! a CONNECT and a session, with flow control both ways: the service never sends more than
//! the client's window un-acknowledged, acknowledges what it wrote to the user's socket, and
//! hangs up a session the client overruns. It PINGs each client and drops those that stop
//! answering.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use arrow_codec::{ArrowCodec, ControlBody, ControlMessage, ErrorCode, Message, Register};
use bytes::{Bytes, BytesMut};
use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio_rustls::TlsAcceptor;
use uuid::Uuid;

use crate::Error;
use crate::accept_backoff::{AcceptBackoff, accept};

mod certificates;
pub mod flood;
pub use certificates::DevCertificates;

/// The TLS layer reads a client's TCP stream through a buffer this large: rustls asks for
/// 4 KiB at a time, and one `recv` per 64 KiB instead of per 4 KiB roughly halves the
/// system calls of a bulk transfer.
const TLS_READ_BUFFER: usize = 64 * 1024;
use crate::flow::{RecvWindow, SendWindow};
use crate::local_sockets::{LocalEvent, LocalSockets};
use crate::outbox::Outbox;

/// How the development service behaves.
#[derive(Clone)]
pub struct ServiceConfig {
    /// TLS certificate and key.
    pub tls: Arc<rustls::ServerConfig>,
    /// When set, only these client UUIDs may register.
    pub allow: Option<HashSet<Uuid>>,
    /// Where client services are exposed (a port each).
    pub expose_ip: IpAddr,
    /// Idle time between PINGs to a client.
    pub ping_interval: Duration,
    /// How long a PING may go unanswered.
    pub ping_timeout: Duration,
    /// Client connections at once (handshaking or registered); one more is closed at once.
    pub max_clients: usize,
    /// Services one client may register (REGISTER or UPDATE), each a listening port; a
    /// client announcing more is disconnected.
    pub max_services: usize,
    /// Listening ports for all clients' services together, so that the descriptors they
    /// take stay within the process's limit; a client whose service would need one more is
    /// disconnected.
    pub max_ports: usize,
    /// Bytes waiting for a client to read them; a client that lets more pile up does not
    /// read and is disconnected.
    pub max_outbox: usize,
    /// How long a new connection may take to finish TLS and send REGISTER.
    pub handshake_timeout: Duration,
}

impl std::fmt::Debug for ServiceConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceConfig")
            .field("allow", &self.allow)
            .field("expose_ip", &self.expose_ip)
            .field("max_clients", &self.max_clients)
            .field("max_services", &self.max_services)
            .field("max_ports", &self.max_ports)
            .field("max_outbox", &self.max_outbox)
            .field("handshake_timeout", &self.handshake_timeout)
            .finish_non_exhaustive()
    }
}

impl ServiceConfig {
    /// The default of [`max_clients`](Self::max_clients).
    pub const DEFAULT_MAX_CLIENTS: usize = 64;
    /// The default of [`max_services`](Self::max_services).
    pub const DEFAULT_MAX_SERVICES: usize = 64;
    /// The default of [`max_ports`](Self::max_ports): half of the usual 1024 descriptors.
    pub const DEFAULT_MAX_PORTS: usize = 512;
    /// The default of [`max_outbox`](Self::max_outbox): 16 MiB.
    pub const DEFAULT_MAX_OUTBOX: usize = 16 * 1024 * 1024;
    /// The default of [`handshake_timeout`](Self::handshake_timeout).
    pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

    /// Defaults: anyone may register, services exposed on 127.0.0.1, PING every 30 s, 64
    /// clients of 64 services each and 512 exposed ports in all, 16 MiB unread per client,
    /// 10 s for TLS and REGISTER.
    pub fn new(tls: Arc<rustls::ServerConfig>) -> Self {
        ServiceConfig {
            tls,
            allow: None,
            expose_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
            ping_interval: Duration::from_secs(30),
            ping_timeout: Duration::from_secs(20),
            max_clients: Self::DEFAULT_MAX_CLIENTS,
            max_services: Self::DEFAULT_MAX_SERVICES,
            max_ports: Self::DEFAULT_MAX_PORTS,
            max_outbox: Self::DEFAULT_MAX_OUTBOX,
            handshake_timeout: Self::DEFAULT_HANDSHAKE_TIMEOUT,
        }
    }
}

/// One registered service as the development service sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExposedService {
    /// The client's service id.
    pub svc_id: u16,
    /// Its type name (`TCP`, `HTTP`, ...).
    pub svc_type: String,
    /// Its address inside the client's network.
    pub target: String,
    /// The local port that reaches it through the tunnel.
    pub port: u16,
}

/// What the development service can ask a connected client, on request
/// ([`DevService::request`]): the control messages the Arrow Service sends to a client's
/// scanner and about its state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceRequest {
    /// SCAN_NETWORK: scan your LAN (no answer expected).
    ScanNetwork,
    /// GET_STATUS: answered with STATUS ([`ServiceEvent::Status`]).
    GetStatus,
    /// GET_SCAN_REPORT: answered with SCAN_REPORT ([`ServiceEvent::ScanReport`]).
    GetScanReport,
    /// RESET_SVC_TABLE: drop what your scanner found and send your table again (UPDATE).
    ResetSvcTable,
}

impl ServiceRequest {
    /// Every request, by its command name (`scan_network`, `get_status`,
    /// `get_scan_report`, `reset_svc_table`).
    pub const ALL: [(&'static str, ServiceRequest); 4] = [
        ("scan_network", ServiceRequest::ScanNetwork),
        ("get_status", ServiceRequest::GetStatus),
        ("get_scan_report", ServiceRequest::GetScanReport),
        ("reset_svc_table", ServiceRequest::ResetSvcTable),
    ];

    fn body(self) -> ControlBody {
        match self {
            ServiceRequest::ScanNetwork => ControlBody::ScanNetwork,
            ServiceRequest::GetStatus => ControlBody::GetStatus,
            ServiceRequest::GetScanReport => ControlBody::GetScanReport,
            ServiceRequest::ResetSvcTable => ControlBody::ResetSvcTable,
        }
    }
}

impl std::str::FromStr for ServiceRequest {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let name = s.trim().to_ascii_lowercase().replace('-', "_");
        Self::ALL
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, r)| *r)
            .ok_or_else(|| {
                let names: Vec<&str> = Self::ALL.iter().map(|(n, _)| *n).collect();
                format!("unknown request {s:?} (one of: {})", names.join(", "))
            })
    }
}

/// What the development service reports: one JSON line each on the command line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ServiceEvent {
    /// A client registered.
    ClientRegistered {
        /// Connection number.
        client: u64,
        /// Its UUID.
        uuid: Uuid,
        /// Its MAC.
        mac: String,
        /// Session capacity it declared.
        window: u32,
        /// Its extended_info: the JSON it sent, or the text when it is not JSON.
        extended_info: serde_json::Value,
        /// Its peer address.
        peer: SocketAddr,
    },
    /// A client was refused.
    ClientRefused {
        /// Its UUID.
        uuid: Uuid,
        /// Its peer address.
        peer: SocketAddr,
    },
    /// A client service is reachable on a local port.
    PortExposed {
        /// Connection number.
        client: u64,
        /// The service.
        #[serde(flatten)]
        service: ExposedService,
    },
    /// A client service is no longer exposed: an UPDATE left it out.
    PortClosed {
        /// Connection number.
        client: u64,
        /// The service id.
        svc_id: u16,
        /// The port that was closed.
        port: u16,
    },
    /// A session started.
    SessionOpened {
        /// Connection number.
        client: u64,
        /// Session id.
        session: u32,
        /// Service id.
        svc_id: u16,
        /// The user's address.
        peer: SocketAddr,
    },
    /// A session ended.
    SessionClosed {
        /// Connection number.
        client: u64,
        /// Session id.
        session: u32,
        /// Who ended it: `client_hup`, `user_closed`, `user_failed`, `window_overrun`,
        /// `disconnected`.
        reason: String,
        /// HUP code, when there was one.
        code: Option<u32>,
        /// Bytes from the user to the client.
        bytes_to_client: u64,
        /// Bytes from the client to the user.
        bytes_from_client: u64,
    },
    /// A request was sent to a client ([`DevService::request`]).
    RequestSent {
        /// Connection number.
        client: u64,
        /// The request's msg_id (its answer carries it as `request_id`).
        msg_id: u16,
        /// The message type, e.g. `SCAN_NETWORK`.
        request: String,
    },
    /// A client answered GET_STATUS.
    Status {
        /// Connection number.
        client: u64,
        /// The GET_STATUS msg_id.
        request_id: u16,
        /// The client's scanner runs (flag S).
        scanning: bool,
        /// Its open sessions.
        active_sessions: u32,
    },
    /// A client answered GET_SCAN_REPORT.
    ScanReport {
        /// Connection number.
        client: u64,
        /// The GET_SCAN_REPORT msg_id.
        request_id: u16,
        /// The hosts its last scan found.
        hosts: Vec<arrow_codec::HostRecord>,
        /// The services its last scan found.
        services: Vec<arrow_codec::Service>,
    },
    /// A client connection ended.
    ClientDisconnected {
        /// Connection number.
        client: u64,
        /// Why.
        reason: String,
    },
}

/// A running development service.
#[derive(Debug)]
pub struct DevService {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    requests: tokio::sync::broadcast::Sender<(Option<u64>, ServiceRequest)>,
    task: tokio::task::JoinHandle<()>,
}

impl DevService {
    /// Starts serving on `listener`; events go to `events`.
    pub fn spawn(
        listener: TcpListener,
        config: ServiceConfig,
        events: mpsc::UnboundedSender<ServiceEvent>,
    ) -> Result<Self, Error> {
        let addr = listener
            .local_addr()
            .map_err(|e| Error::io("listening", e))?;
        let (stop, stop_rx) = watch::channel(false);
        let (requests, _) = tokio::sync::broadcast::channel(64);
        let task = tokio::spawn(accept_loop(
            listener,
            config,
            events,
            stop_rx,
            requests.clone(),
        ));
        Ok(DevService {
            addr,
            stop,
            requests,
            task,
        })
    }

    /// The TLS listener's address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Sends `request` to the registered client numbered `client` (as in the events), or to
    /// every registered client with `None`. Answers come as events.
    pub fn request(&self, client: Option<u64>, request: ServiceRequest) {
        let _ = self.requests.send((client, request));
    }

    /// Stops accepting and drops every client connection and exposed port.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// What the service tells one client's task: stop, and the requests to send it.
struct Steering {
    stop: watch::Receiver<bool>,
    requests: tokio::sync::broadcast::Receiver<(Option<u64>, ServiceRequest)>,
    ports: PortBudget,
}

/// The exposed ports of every client together, against [`ServiceConfig::max_ports`].
#[derive(Clone)]
struct PortBudget {
    in_use: Arc<std::sync::atomic::AtomicUsize>,
    max: usize,
}

impl PortBudget {
    fn new(max: usize) -> Self {
        PortBudget {
            in_use: Arc::default(),
            max,
        }
    }

    /// Takes one port; false (nothing taken) when all are in use.
    fn try_take(&self) -> bool {
        use std::sync::atomic::Ordering;
        self.in_use
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.max).then_some(n + 1)
            })
            .is_ok()
    }

    fn give_back(&self, ports: usize) {
        self.in_use
            .fetch_sub(ports, std::sync::atomic::Ordering::AcqRel);
    }
}

async fn accept_loop(
    listener: TcpListener,
    config: ServiceConfig,
    events: mpsc::UnboundedSender<ServiceEvent>,
    mut stop: watch::Receiver<bool>,
    requests: tokio::sync::broadcast::Sender<(Option<u64>, ServiceRequest)>,
) {
    let acceptor = TlsAcceptor::from(config.tls.clone());
    let ports = PortBudget::new(config.max_ports);
    let mut next_client = 1u64;
    let mut clients = tokio::task::JoinSet::new();
    let client_stop = stop.clone();
    let mut backoff = AcceptBackoff::default();
    let mut turned_away = false;
    loop {
        tokio::select! {
            (tcp, peer) = accept(&listener, &mut backoff, "the development service") => {
                if clients.len() >= config.max_clients {
                    // Closed at once; logged once per run of refusals.
                    drop(tcp);
                    if !turned_away {
                        tracing::warn!(
                            %peer,
                            max_clients = config.max_clients,
                            "too many client connections: new ones are closed until one ends"
                        );
                    }
                    turned_away = true;
                    continue;
                }
                turned_away = false;
                let _ = tcp.set_nodelay(true);
                let client = next_client;
                next_client += 1;
                let acceptor = acceptor.clone();
                let config = config.clone();
                let events = events.clone();
                let steering = Steering {
                    stop: client_stop.clone(),
                    requests: requests.subscribe(),
                    ports: ports.clone(),
                };
                clients.spawn(async move {
                    let reason = match serve_client(client, tcp, peer, acceptor, &config, &events, steering).await {
                        Ok(()) => "closed".to_string(),
                        Err(e) => e.to_string(),
                    };
                    let _ = events.send(ServiceEvent::ClientDisconnected { client, reason });
                });
            }
            Some(_) = clients.join_next(), if !clients.is_empty() => {}
            _ = stop.wait_for(|s| *s) => break,
        }
    }
    clients.shutdown().await;
}

struct UserSession {
    svc_id: u16,
    send: SendWindow,
    recv: RecvWindow,
    to_client: u64,
    from_client: u64,
}

/// Bytes read from the user's socket become a DATA message.
fn to_client(
    svc_id: u16,
    send: &mut SendWindow,
    total: &mut u64,
    session: u32,
    data: Bytes,
    out: &mut Outbox,
) {
    let len = data.len() as u32;
    if send.consume(len).is_err() {
        tracing::error!(session, "user read beyond the client's window");
        return;
    }
    *total += u64::from(len);
    let _ = out.data(svc_id, session, data);
}

struct ClientConn<'a> {
    client: u64,
    capacity: u32,
    events: &'a mpsc::UnboundedSender<ServiceEvent>,
    sessions: HashMap<u32, UserSession>,
    next_session: u32,
    next_msg_id: u16,
    out: Outbox,
    /// The users' connections, polled by this task.
    users: LocalSockets<u32>,
    /// The service table of an UPDATE not yet applied to the exposed ports.
    table_update: Option<Vec<arrow_codec::Service>>,
}

impl ClientConn<'_> {
    fn msg_id(&mut self) -> u16 {
        let id = self.next_msg_id;
        self.next_msg_id = self.next_msg_id.wrapping_add(1);
        id
    }

    fn control(&mut self, msg: ControlMessage) {
        let _ = msg.encode(self.out.control());
    }

    fn hup(&mut self, session: u32, code: ErrorCode) {
        let id = self.msg_id();
        self.control(ControlMessage::hup(id, session, code));
    }

    fn close_session(&mut self, session: u32, reason: &str, code: Option<u32>) {
        if let Some(s) = self.sessions.remove(&session) {
            self.users.close(session);
            let _ = self.events.send(ServiceEvent::SessionClosed {
                client: self.client,
                session,
                reason: reason.to_string(),
                code,
                bytes_to_client: s.to_client,
                bytes_from_client: s.from_client,
            });
        }
    }

    fn open_session(&mut self, svc_id: u16, user: TcpStream, peer: SocketAddr) {
        let _ = user.set_nodelay(true);
        let mut session = self.next_session;
        while self.sessions.contains_key(&session) || session == 0 {
            session = (session + 1) & arrow_codec::MAX_SESSION_ID;
        }
        self.next_session = (session + 1) & arrow_codec::MAX_SESSION_ID;
        let id = self.msg_id();
        self.control(ControlMessage::connect(id, svc_id, session));
        self.users.accept(session, user, self.capacity);
        self.sessions.insert(
            session,
            UserSession {
                svc_id,
                send: SendWindow::new(self.capacity),
                recv: RecvWindow::new(self.capacity),
                to_client: 0,
                from_client: 0,
            },
        );
        let _ = self.events.send(ServiceEvent::SessionOpened {
            client: self.client,
            session,
            svc_id,
            peer,
        });
    }

    /// `n` bytes reached the user's socket: acknowledge them when the window says so, and
    /// the tail of a burst once everything received has been delivered (it would otherwise
    /// hold back the client's window for a whole round trip).
    fn delivered(&mut self, session: u32, n: u32) {
        let Some(s) = self.sessions.get_mut(&session) else {
            return;
        };
        if let Some(len) = s.recv.delivered_now(n) {
            let id = self.msg_id();
            self.control(ControlMessage::data_ack(id, session, len));
        }
    }

    /// Turns what happened on users' sockets into messages.
    fn on_user_events(&mut self) {
        while let Some((session, event)) = self.users.pop_event() {
            let Some(s) = self.sessions.get_mut(&session) else {
                continue;
            };
            match event {
                LocalEvent::Data(data) => to_client(
                    s.svc_id,
                    &mut s.send,
                    &mut s.to_client,
                    session,
                    data,
                    &mut self.out,
                ),
                LocalEvent::Delivered(n) => self.delivered(session, n),
                LocalEvent::Closed { clean } => {
                    let code = if clean {
                        ErrorCode::NoError
                    } else {
                        ErrorCode::ConnectionError
                    };
                    self.hup(session, code);
                    let reason = if clean { "user_closed" } else { "user_failed" };
                    self.close_session(session, reason, Some(code.code()));
                }
                LocalEvent::Released => {}
            }
        }
    }

    /// Handles one message from the client; `Err` ends the connection.
    fn on_message(&mut self, message: Message, ping: &mut Option<u16>) -> Result<(), String> {
        match message {
            Message::Data(data) => {
                let session = data.session_id;
                let Some(s) = self.sessions.get_mut(&session) else {
                    // Rule 9: data for a session we do not know.
                    self.hup(session, ErrorCode::ConnectionError);
                    return Ok(());
                };
                let len = data.body.len() as u32;
                if s.recv.receive(len).is_err() {
                    self.hup(session, ErrorCode::ConnectionError);
                    self.close_session(session, "window_overrun", Some(3));
                    return Ok(());
                }
                s.from_client += u64::from(len);
                self.users.write(session, data.body);
            }
            Message::Control(msg) => match msg.body {
                ControlBody::Ping => {
                    self.control(ControlMessage::ack(msg.msg_id, ErrorCode::NoError))
                }
                ControlBody::Ack(_) => {
                    if *ping == Some(msg.msg_id) {
                        *ping = None;
                    }
                }
                ControlBody::Hup(hup) => {
                    self.close_session(hup.session_id, "client_hup", Some(hup.error.code()));
                }
                ControlBody::DataAck(ack) => {
                    if let Some(s) = self.sessions.get_mut(&ack.session_id) {
                        let granted = s.send.acknowledge(ack.length);
                        if granted > 0 {
                            self.users.grant(ack.session_id, granted);
                        }
                    }
                }
                ControlBody::Register(_) => return Err("REGISTER after the handshake".into()),
                ControlBody::Update(update) => self.table_update = Some(update.services),
                ControlBody::Status(status) => {
                    let _ = self.events.send(ServiceEvent::Status {
                        client: self.client,
                        request_id: status.request_id,
                        scanning: status.flags.0 & arrow_codec::StatusFlags::SCANNING.0 != 0,
                        active_sessions: status.active_sessions,
                    });
                }
                ControlBody::ScanReport(report) => {
                    let _ = self.events.send(ServiceEvent::ScanReport {
                        client: self.client,
                        request_id: report.request_id,
                        hosts: report.hosts,
                        services: report.services,
                    });
                }
                _ => self.control(ControlMessage::ack(
                    msg.msg_id,
                    ErrorCode::UnsupportedMethod,
                )),
            },
        }
        Ok(())
    }
}

/// The client's first message, if whole in `input`: it must be REGISTER.
fn decode_register(
    codec: &mut ArrowCodec,
    input: &mut BytesMut,
) -> Result<Option<(u16, Register)>, String> {
    match codec.decode_message(input) {
        Ok(Some(Message::Control(ControlMessage {
            msg_id,
            body: ControlBody::Register(register),
        }))) => Ok(Some((msg_id, register))),
        Ok(Some(other)) => Err(format!("expected REGISTER, got {other:?}")),
        Ok(None) => Ok(None),
        Err(e) => Err(e.to_string()),
    }
}

/// Checks a client's service table (REGISTER's or an UPDATE's) against the limit; the
/// error ends the client's connection.
fn check_services(services: &[arrow_codec::Service], max_services: usize) -> Result<(), String> {
    if services.len() > max_services {
        return Err(format!(
            "the client announced {} services, more than the {} allowed",
            services.len(),
            max_services
        ));
    }
    Ok(())
}

/// Feeds `data`, as bytes from a client, to the service's handling of a client
/// connection without any socket: the REGISTER check, then every message through the
/// connection's rules (with no user connected), UPDATE tables through the service limit,
/// the outbox limit. Bytes come 16 at a time; the outbox is taken as written after each.
/// For [`crate::fuzzing::dev_service_client_bytes`].
pub(crate) fn client_bytes_without_io(data: &[u8]) {
    let (events, mut seen) = mpsc::unbounded_channel();
    let mut codec = ArrowCodec::new().with_max_body(256 * 1024);
    let mut input = BytesMut::new();
    let mut chunks = data.chunks(16);
    let capacity = loop {
        let Some(chunk) = chunks.next() else { return };
        input.extend_from_slice(chunk);
        match decode_register(&mut codec, &mut input) {
            Ok(Some((_, register))) => {
                if check_services(&register.services, ServiceConfig::DEFAULT_MAX_SERVICES).is_err()
                {
                    return;
                }
                break u32::from(register.window_size) + 1;
            }
            Ok(None) => {}
            Err(_) => return,
        }
    };
    let mut conn = ClientConn {
        client: 1,
        capacity,
        events: &events,
        sessions: HashMap::new(),
        next_session: 1,
        next_msg_id: 0,
        out: Outbox::new(),
        users: LocalSockets::new(),
        table_update: None,
    };
    let mut ping = None;
    for chunk in std::iter::once(&[][..]).chain(chunks) {
        input.extend_from_slice(chunk);
        if let Some(Err(_)) = codec_drain(&mut codec, &mut input, &mut conn, &mut ping) {
            return;
        }
        if let Some(services) = conn.table_update.take()
            && check_services(&services, ServiceConfig::DEFAULT_MAX_SERVICES).is_err()
        {
            return;
        }
        assert!(
            conn.out.len() <= ServiceConfig::DEFAULT_MAX_OUTBOX,
            "answers to 16 bytes cannot fill the outbox"
        );
        let queued = conn.out.len();
        conn.out.advance(queued);
        while seen.try_recv().is_ok() {}
    }
}

async fn read_register<R: tokio::io::AsyncRead + Unpin>(
    reader: &mut R,
    codec: &mut ArrowCodec,
    input: &mut BytesMut,
) -> Result<(u16, Register), String> {
    loop {
        if let Some(register) = decode_register(codec, input)? {
            return Ok(register);
        }
        let n = reader.read_buf(input).await.map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("closed before REGISTER".into());
        }
    }
}

async fn serve_client(
    client: u64,
    tcp: TcpStream,
    peer: SocketAddr,
    acceptor: TlsAcceptor,
    config: &ServiceConfig,
    events: &mpsc::UnboundedSender<ServiceEvent>,
    steering: Steering,
) -> Result<(), String> {
    let Steering {
        mut stop,
        mut requests,
        ports: budget,
    } = steering;
    // TLS and REGISTER within one timeout: a connection that never finishes either holds
    // a client slot no longer than that.
    let handshake_deadline = tokio::time::Instant::now() + config.handshake_timeout;
    let tls = tokio::time::timeout_at(
        handshake_deadline,
        acceptor.accept(tokio::io::BufReader::with_capacity(TLS_READ_BUFFER, tcp)),
    )
    .await
    .map_err(|_| "TLS handshake timed out".to_string())?
    .map_err(|e| format!("TLS: {e}"))?;
    let (mut reader, writer) = tokio::io::split(tls);
    let mut codec = ArrowCodec::new().with_max_body(256 * 1024);
    let mut input = BytesMut::with_capacity(16 * 1024);
    let (msg_id, register) = tokio::time::timeout_at(
        handshake_deadline,
        read_register(&mut reader, &mut codec, &mut input),
    )
    .await
    .map_err(|_| "no REGISTER in time".to_string())??;

    let mut writer = writer;
    let mut needs_flush = false;

    let allowed = config
        .allow
        .as_ref()
        .is_none_or(|a| a.contains(&register.uuid));
    if !allowed {
        let mut out = BytesMut::new();
        let _ = ControlMessage::ack(msg_id, ErrorCode::Unauthorized).encode(&mut out);
        let _ = tokio::time::timeout(Duration::from_secs(5), async {
            writer.write_all(&out).await?;
            writer.shutdown().await
        })
        .await;
        let _ = events.send(ServiceEvent::ClientRefused {
            uuid: register.uuid,
            peer,
        });
        return Err("refused: not in the allow-list".into());
    }
    let mut out = Outbox::new();
    let _ = ControlMessage::ack(msg_id, ErrorCode::NoError).encode(out.control());
    let capacity = u32::from(register.window_size) + 1;
    let _ = events.send(ServiceEvent::ClientRegistered {
        client,
        uuid: register.uuid,
        mac: register.mac.to_string(),
        window: capacity,
        extended_info: serde_json::from_str(&register.extended_info)
            .unwrap_or_else(|_| serde_json::Value::String(register.extended_info.clone())),
        peer,
    });

    // One listener per registered service; an UPDATE opens and closes them to match.
    let (user_tx, mut user_rx) = mpsc::unbounded_channel::<(u16, TcpStream, SocketAddr)>();
    let mut ports = ExposedPorts {
        client,
        budget,
        max_services: config.max_services,
        expose_ip: config.expose_ip,
        events,
        user_tx,
        listeners: tokio::task::JoinSet::new(),
        open: HashMap::new(),
    };
    ports.apply(&register.services).await?;

    let mut conn = ClientConn {
        client,
        capacity,
        events,
        sessions: HashMap::new(),
        next_session: 1,
        next_msg_id: 0,
        out,
        users: LocalSockets::new(),
        table_update: None,
    };
    let mut ping: Option<u16> = None;
    let mut requests_open = true;
    let mut ping_timer = tokio::time::interval_at(
        tokio::time::Instant::now() + config.ping_interval,
        config.ping_interval,
    );
    let mut ping_deadline: Option<tokio::time::Instant> = None;
    let result = loop {
        if let Some(Err(e)) = codec_drain(&mut codec, &mut input, &mut conn, &mut ping) {
            break Err(e);
        }
        conn.on_user_events();
        if let Some(services) = conn.table_update.take()
            && let Err(e) = ports.apply(&services).await
        {
            break Err(e);
        }
        conn.users.set_read_budget(conn.out.read_budget());
        if conn.out.len() > config.max_outbox {
            break Err(format!(
                "the client does not read: {} bytes queued for it, more than {}",
                conn.out.len(),
                config.max_outbox
            ));
        }
        let deadline = ping_deadline;
        tokio::select! {
            read = reader.read_buf(&mut input) => match read {
                Ok(0) => break Ok(()),
                Ok(_) => {}
                Err(e) => break Err(format!("read: {e}")),
            },
            () = std::future::poll_fn(|cx| conn.users.poll_io(cx)) => {}
            Some((svc_id, user, peer)) = user_rx.recv() => conn.open_session(svc_id, user, peer),
            _ = ping_timer.tick() => {
                if ping.is_none() {
                    let id = conn.msg_id();
                    conn.control(ControlMessage::ping(id));
                    ping = Some(id);
                    ping_deadline = Some(tokio::time::Instant::now() + config.ping_timeout);
                }
            }
            () = async { match deadline { Some(at) => tokio::time::sleep_until(at).await, None => std::future::pending().await } } => {
                if ping.is_some() {
                    break Err("no ACK to PING".into());
                }
                ping_deadline = None;
            }
            io = crate::outbox::write_or_flush(&mut writer, &conn.out), if !conn.out.is_empty() || needs_flush => {
                match io {
                    Ok(Some(0)) => break Err("write: connection closed".into()),
                    Ok(Some(n)) => {
                        conn.out.advance(n);
                        needs_flush = true;
                    }
                    Ok(None) => needs_flush = false,
                    Err(e) => break Err(format!("write: {e}")),
                }
            }
            request = requests.recv(), if requests_open => match request {
                Ok((target, request)) if target.is_none_or(|t| t == client) => {
                    let msg_id = conn.msg_id();
                    let message = ControlMessage::new(msg_id, request.body());
                    let _ = events.send(ServiceEvent::RequestSent {
                        client,
                        msg_id,
                        request: message.control_type().to_string(),
                    });
                    conn.control(message);
                }
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(tokio::sync::broadcast::error::RecvError::Closed) => requests_open = false,
            },
            // Listener tasks that ended (a port closed by an UPDATE) are reaped.
            Some(_) = ports.listeners.join_next(), if !ports.listeners.is_empty() => {}
            _ = stop.wait_for(|s| *s) => break Ok(()),
        }
    };
    let open: Vec<u32> = conn.sessions.keys().copied().collect();
    for session in open {
        conn.close_session(session, "disconnected", None);
    }
    ports.listeners.shutdown().await;
    result
}

/// The local ports exposing one client's services: one listener task per service id.
struct ExposedPorts<'a> {
    client: u64,
    /// Every client's ports together.
    budget: PortBudget,
    /// Services a client may register.
    max_services: usize,
    expose_ip: IpAddr,
    events: &'a mpsc::UnboundedSender<ServiceEvent>,
    /// Accepted users go here, tagged with the service id.
    user_tx: mpsc::UnboundedSender<(u16, TcpStream, SocketAddr)>,
    listeners: tokio::task::JoinSet<()>,
    /// Service id to its port and listener task.
    open: HashMap<u16, (u16, tokio::task::AbortHandle)>,
}

impl Drop for ExposedPorts<'_> {
    /// The client is gone: its ports go back to the budget (their listener tasks end with
    /// the `JoinSet`).
    fn drop(&mut self) {
        self.budget.give_back(self.open.len());
    }
}

impl ExposedPorts<'_> {
    /// Makes the exposed ports match `services` (REGISTER's table, or an UPDATE's): a
    /// listener for each new service id, none for a service id left out. Sessions already
    /// open are not touched.
    async fn apply(&mut self, services: &[arrow_codec::Service]) -> Result<(), String> {
        check_services(services, self.max_services)?;
        let wanted: HashSet<u16> = services.iter().map(|s| s.svc_id).collect();
        let mut gone: Vec<u16> = self
            .open
            .keys()
            .filter(|id| !wanted.contains(id))
            .copied()
            .collect();
        gone.sort_unstable();
        for svc_id in gone {
            if let Some((port, task)) = self.open.remove(&svc_id) {
                task.abort();
                self.budget.give_back(1);
                let _ = self.events.send(ServiceEvent::PortClosed {
                    client: self.client,
                    svc_id,
                    port,
                });
            }
        }
        for service in services {
            if !self.open.contains_key(&service.svc_id) {
                self.expose(service).await?;
            }
        }
        Ok(())
    }

    async fn expose(&mut self, service: &arrow_codec::Service) -> Result<(), String> {
        if !self.budget.try_take() {
            return Err(format!(
                "the service already exposes {} ports, all it may (--max-ports)",
                self.budget.max
            ));
        }
        let listener = match TcpListener::bind(SocketAddr::new(self.expose_ip, 0)).await {
            Ok(listener) => listener,
            Err(e) => {
                self.budget.give_back(1);
                return Err(format!("cannot expose a port: {e}"));
            }
        };
        let port = match listener.local_addr() {
            Ok(local) => local.port(),
            Err(e) => {
                self.budget.give_back(1);
                return Err(e.to_string());
            }
        };
        let addr = SocketAddr::new(service.ip, service.port);
        let target = if service.path.is_empty() {
            addr.to_string()
        } else {
            format!("{addr}{}", service.path)
        };
        let _ = self.events.send(ServiceEvent::PortExposed {
            client: self.client,
            service: ExposedService {
                svc_id: service.svc_id,
                svc_type: service.svc_type.to_string(),
                target,
                port,
            },
        });
        let tx = self.user_tx.clone();
        let svc_id = service.svc_id;
        let task = self.listeners.spawn(async move {
            let mut backoff = AcceptBackoff::default();
            loop {
                let (user, peer) = accept(&listener, &mut backoff, "an exposed port").await;
                if tx.send((svc_id, user, peer)).is_err() {
                    break;
                }
            }
        });
        self.open.insert(svc_id, (port, task));
        Ok(())
    }
}

/// Decodes and handles every whole message in `input`.
fn codec_drain(
    codec: &mut ArrowCodec,
    input: &mut BytesMut,
    conn: &mut ClientConn<'_>,
    ping: &mut Option<u16>,
) -> Option<Result<(), String>> {
    loop {
        match codec.decode_message(input) {
            Ok(Some(message)) => {
                if let Err(e) = conn.on_message(message, ping) {
                    return Some(Err(e));
                }
            }
            Ok(None) => return None,
            Err(e) => return Some(Err(format!("the client broke the protocol: {e}"))),
        }
    }
}
