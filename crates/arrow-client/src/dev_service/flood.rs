//! A hostile Arrow Service for tests and benchmarks: it registers each client that
//! connects, floods it with one kind of message a broken or malicious service could send,
//! then checks that the tunnel still works (an echo through a session) and keeps the
//! connection up, answering PINGs, until the client leaves or the service stops.
//!
//! # Use
//!
//! ```no_run
//! # async fn example(certs: arrow_client::dev_service::DevCertificates) -> Result<(), arrow_client::Error> {
//! use std::time::Duration;
//! use arrow_client::dev_service::flood::{FloodKind, FloodPlan, FloodService};
//!
//! // A flood of refused CONNECTs for 60 s (or 10 million messages, whichever comes first).
//! let plan = FloodPlan {
//!     duration: Duration::from_secs(60),
//!     messages: 10_000_000,
//!     ..FloodPlan::new(FloodKind::RefusedConnect)
//! };
//! let mut service = FloodService::bind(certs.server_config()?, plan).await?;
//! // Point a client (e.g. `protoctl arrow run --server 127.0.0.1:PORT --ca ca.pem --tcp
//! // ECHO_ADDR`, the client's first service must echo) at `service.local_addr()`.
//! let report = service.next_report().await.expect("a client came");
//! assert!(report.echoed, "the tunnel worked after the flood");
//! # Ok(()) }
//! ```
//!
//! The client's first service must be an echo service: the check after the flood opens a
//! session to it, sends [`PROBE`] and waits for it to come back. A benchmark that measures
//! the client's memory (`VmHWM`) and descriptors runs it against this service for each
//! [`FloodKind`] in turn. What every connection did is in its [`FloodReport`]; totals
//! while it runs are in [`FloodService::stats`].

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use arrow_codec::{
    ArrowCodec, Connect, ControlBody, ControlMessage, DataMessage, ErrorCode, Hup, Message,
    UnknownControl,
};
use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

use crate::Error;

/// What the check after the flood sends through a session, and expects back.
pub const PROBE: &[u8] = b"arrow flood probe: still serving?";
/// The session id of that check (the largest 24-bit id, never used by a flood); a retry
/// of the check uses the id below the last.
pub const PROBE_SESSION: u32 = 0xFF_FFFF;
/// Tries of the check (a client still closing the flood's sessions may refuse it).
const PROBE_ATTEMPTS: u32 = 32;
/// A service id no client announces (a flood of CONNECTs for it is refused).
const UNKNOWN_SVC: u16 = 0xFFFE;
/// A control type the protocol does not define.
const UNKNOWN_TYPE: u16 = 0x7A7A;
/// Messages encoded and written at once.
const BATCH: u64 = 256;
/// Every wait on the client (REGISTER, the check's echo) is bounded by this.
const CLIENT_WAIT: Duration = Duration::from_secs(20);

/// The kind of flood.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FloodKind {
    /// Control messages of a type nobody knows: each costs the client an
    /// UNSUPPORTED_METHOD answer.
    UnknownControl,
    /// CONNECTs for a service the client never announced: each is refused with HUP 3.
    RefusedConnect,
    /// DATA for sessions that were never opened: each is refused with HUP 3.
    UnknownSessionData,
    /// CONNECTs to the client's first service, [`FloodPlan::burst`] at a time, then a HUP
    /// for each: sessions open and close as fast as the service can ask, beyond the
    /// client's session limit.
    ConnectHupChurn,
}

impl FloodKind {
    /// Every kind, for a benchmark that runs them all.
    pub const ALL: [FloodKind; 4] = [
        FloodKind::UnknownControl,
        FloodKind::RefusedConnect,
        FloodKind::UnknownSessionData,
        FloodKind::ConnectHupChurn,
    ];

    /// A short name (`unknown_control`, `refused_connect`, `unknown_session_data`,
    /// `connect_hup_churn`).
    pub fn name(self) -> &'static str {
        match self {
            FloodKind::UnknownControl => "unknown_control",
            FloodKind::RefusedConnect => "refused_connect",
            FloodKind::UnknownSessionData => "unknown_session_data",
            FloodKind::ConnectHupChurn => "connect_hup_churn",
        }
    }
}

/// What the client did with a try of the check.
enum Probe {
    /// The probe came back on this session.
    Echoed(u32),
    /// The client hung this session up.
    Refused(u32),
}

/// What each client connection gets.
#[derive(Debug, Clone)]
pub struct FloodPlan {
    /// The kind.
    pub kind: FloodKind,
    /// The most messages the flood sends (a CONNECT and its HUP are two).
    pub messages: u64,
    /// The longest the flood lasts.
    pub duration: Duration,
    /// [`FloodKind::ConnectHupChurn`]: sessions opened before they are hung up.
    pub burst: u32,
}

impl FloodPlan {
    /// `kind`, 10,000 messages or 10 s, bursts of 512 sessions.
    pub fn new(kind: FloodKind) -> Self {
        FloodPlan {
            kind,
            messages: 10_000,
            duration: Duration::from_secs(10),
            burst: 512,
        }
    }
}

/// What one client connection went through.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct FloodReport {
    /// Flood messages sent.
    pub sent: u64,
    /// The check after the flood got its bytes back through a session.
    pub echoed: bool,
    /// HUPs the client had sent when the check ended (some may still be on their way).
    pub hups: u64,
    /// ACKs the client had sent by then (UNSUPPORTED_METHOD answers among them).
    pub acks: u64,
}

/// Totals over every connection so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct FloodStats {
    /// Clients that registered.
    pub connections: u64,
    /// Flood messages sent.
    pub sent: u64,
    /// Checks that got their echo.
    pub echoes: u64,
}

#[derive(Debug, Default)]
struct Counters {
    connections: AtomicU64,
    sent: AtomicU64,
    echoes: AtomicU64,
}

/// The hostile service, listening on 127.0.0.1.
#[derive(Debug)]
pub struct FloodService {
    addr: SocketAddr,
    counters: Arc<Counters>,
    reports: mpsc::Receiver<FloodReport>,
    task: tokio::task::JoinHandle<()>,
}

impl FloodService {
    /// Listens on an ephemeral port of 127.0.0.1 with this TLS configuration (e.g.
    /// [`DevCertificates::server_config`](super::DevCertificates::server_config)) and
    /// floods each client that registers as `plan` says.
    pub async fn bind(tls: Arc<rustls::ServerConfig>, plan: FloodPlan) -> Result<Self, Error> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| Error::io("binding the flood service", e))?;
        let addr = listener
            .local_addr()
            .map_err(|e| Error::io("binding the flood service", e))?;
        let counters = Arc::new(Counters::default());
        let (tx, reports) = mpsc::channel(64);
        let task = tokio::spawn(accept_loop(
            listener,
            TlsAcceptor::from(tls),
            plan,
            counters.clone(),
            tx,
        ));
        Ok(FloodService {
            addr,
            counters,
            reports,
            task,
        })
    }

    /// Where clients connect.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Totals so far.
    pub fn stats(&self) -> FloodStats {
        FloodStats {
            connections: self.counters.connections.load(Ordering::Relaxed),
            sent: self.counters.sent.load(Ordering::Relaxed),
            echoes: self.counters.echoes.load(Ordering::Relaxed),
        }
    }

    /// The report of the next connection whose flood and check are over (the connection
    /// stays up); `None` once the service stopped. (Reports beyond 64 unread are dropped.)
    pub async fn next_report(&mut self) -> Option<FloodReport> {
        self.reports.recv().await
    }

    /// Stops listening and drops every connection.
    pub async fn stop(mut self) {
        self.task.abort();
        let _ = (&mut self.task).await;
    }
}

impl Drop for FloodService {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn accept_loop(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    plan: FloodPlan,
    counters: Arc<Counters>,
    reports: mpsc::Sender<FloodReport>,
) {
    let mut clients = JoinSet::new();
    let mut backoff = crate::accept_backoff::AcceptBackoff::default();
    loop {
        tokio::select! {
            (tcp, _) = crate::accept_backoff::accept(&listener, &mut backoff, "the flood service") => {
                let (acceptor, plan, counters, reports) =
                    (acceptor.clone(), plan.clone(), counters.clone(), reports.clone());
                clients.spawn(async move {
                    let Ok(tls) = acceptor.accept(tcp).await else { return };
                    flood(tls, &plan, &counters, &reports).await;
                });
            }
            Some(_) = clients.join_next(), if !clients.is_empty() => {}
        }
    }
}

/// Registers the client, floods it, checks the tunnel and reports, then answers PINGs
/// until the client leaves.
async fn flood<S>(
    tls: S,
    plan: &FloodPlan,
    counters: &Counters,
    reports: &mpsc::Sender<FloodReport>,
) -> Option<()>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let (mut reader, mut writer) = tokio::io::split(tls);
    let mut codec = ArrowCodec::new();
    let mut input = BytesMut::with_capacity(64 * 1024);
    let register = tokio::time::timeout(CLIENT_WAIT, async {
        loop {
            if let Ok(Some(Message::Control(ControlMessage {
                body: ControlBody::Register(register),
                ..
            }))) = codec.decode_message(&mut input)
            {
                return Some(register);
            }
            match reader.read_buf(&mut input).await {
                Ok(0) | Err(_) => return None,
                Ok(_) => {}
            }
        }
    })
    .await
    .ok()
    .flatten()?;
    let svc = register.services.first().map_or(1, |s| s.svc_id);
    let mut out = BytesMut::new();
    encode(&ControlMessage::ack(0, ErrorCode::NoError), &mut out);
    writer.write_all(&out).await.ok()?;
    counters.connections.fetch_add(1, Ordering::Relaxed);

    // The client's side is read all along (a service that stops reading is a different
    // test): ACKs and HUPs are counted, PINGs answered, the check's echo noticed.
    let (pings_tx, mut pings) = mpsc::channel::<u16>(16);
    let (probe_tx, mut probes) = mpsc::channel::<Probe>(16);
    let answers = Arc::new((AtomicU64::new(0), AtomicU64::new(0)));
    let seen = answers.clone();
    let read_side = async move {
        let mut echoed = (0u32, Vec::new());
        loop {
            loop {
                match codec.decode_message(&mut input) {
                    Ok(Some(Message::Control(c))) => match c.body {
                        ControlBody::Ack(_) => {
                            seen.0.fetch_add(1, Ordering::Relaxed);
                        }
                        ControlBody::Hup(hup) => {
                            seen.1.fetch_add(1, Ordering::Relaxed);
                            if hup.session_id >= PROBE_SESSION - PROBE_ATTEMPTS {
                                let _ = probe_tx.try_send(Probe::Refused(hup.session_id));
                            }
                        }
                        ControlBody::Ping => {
                            let _ = pings_tx.try_send(c.msg_id);
                        }
                        _ => {}
                    },
                    Ok(Some(Message::Data(d)))
                        if d.session_id >= PROBE_SESSION - PROBE_ATTEMPTS =>
                    {
                        if echoed.0 != d.session_id {
                            echoed = (d.session_id, Vec::new());
                        }
                        if echoed.1.len() < PROBE.len() {
                            echoed.1.extend_from_slice(&d.body);
                            if echoed.1.len() >= PROBE.len() {
                                let _ = probe_tx.try_send(Probe::Echoed(d.session_id));
                            }
                        }
                    }
                    Ok(Some(_)) => {}
                    Ok(None) => break,
                    Err(_) => return,
                }
            }
            match reader.read_buf(&mut input).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            if input.capacity() - input.len() < 4096 {
                input.reserve(64 * 1024);
            }
        }
    };
    let write_side = async move {
        let sent = send_flood(&mut writer, plan, svc, counters, &mut pings).await;
        // The check: a session to the client's first service, the probe through it. A
        // client still closing the flood's sessions may refuse it (its session limit
        // counts them): then again, after a pause, on a new session id.
        let deadline = tokio::time::Instant::now() + CLIENT_WAIT;
        let mut out = BytesMut::new();
        let mut echoed = None;
        'attempts: for attempt in 0..PROBE_ATTEMPTS {
            let session = PROBE_SESSION - attempt;
            out.clear();
            encode(
                &ControlMessage {
                    msg_id: attempt as u16 + 1,
                    body: ControlBody::Connect(Connect {
                        svc_id: svc,
                        session_id: session,
                    }),
                },
                &mut out,
            );
            let data = Message::Data(DataMessage::new(svc, session, Bytes::from_static(PROBE)));
            let _ = data.encode(&mut out);
            answer_pings(&mut pings, &mut out);
            if writer.write_all(&out).await.is_err() {
                break;
            }
            loop {
                // PINGs are answered while the check waits, too.
                let probe = tokio::select! {
                    probe = tokio::time::timeout_at(deadline, probes.recv()) => probe,
                    Some(id) = pings.recv() => {
                        if !ack_ping(&mut writer, id).await {
                            break 'attempts;
                        }
                        continue;
                    }
                };
                match probe {
                    Ok(Some(Probe::Echoed(s))) if s == session => {
                        echoed = Some(session);
                        break 'attempts;
                    }
                    Ok(Some(Probe::Refused(s))) if s == session => break,
                    Ok(Some(_)) => {}
                    Ok(None) | Err(_) => break 'attempts,
                }
            }
            let pause = Duration::from_millis(10) * 2u32.pow(attempt.min(6));
            if tokio::time::Instant::now() + pause >= deadline {
                break;
            }
            let resume = tokio::time::Instant::now() + pause;
            while let Ok(Some(id)) = tokio::time::timeout_at(resume, pings.recv()).await {
                if !ack_ping(&mut writer, id).await {
                    break 'attempts;
                }
            }
        }
        if let Some(session) = echoed {
            counters.echoes.fetch_add(1, Ordering::Relaxed);
            out.clear();
            encode(
                &ControlMessage {
                    msg_id: 0xFFFF,
                    body: ControlBody::Hup(Hup {
                        session_id: session,
                        error: ErrorCode::NoError,
                    }),
                },
                &mut out,
            );
            let _ = writer.write_all(&out).await;
        }
        (sent, echoed.is_some(), writer, pings)
    };
    tokio::pin!(read_side);
    let (sent, echoed, mut writer, mut pings) = tokio::select! {
        done = write_side => done,
        // The client left during the flood.
        _ = &mut read_side => return None,
    };
    let _ = reports.try_send(FloodReport {
        sent,
        echoed,
        acks: answers.0.load(Ordering::Relaxed),
        hups: answers.1.load(Ordering::Relaxed),
    });
    // Keep the connection: answer PINGs until the client leaves.
    loop {
        tokio::select! {
            () = &mut read_side => return Some(()),
            Some(id) = pings.recv() => {
                if !ack_ping(&mut writer, id).await {
                    return None;
                }
            }
        }
    }
}

/// Answers one PING of the client's at once; false when the connection is gone.
async fn ack_ping<W>(writer: &mut W, id: u16) -> bool
where
    W: tokio::io::AsyncWrite + Unpin,
{
    let mut out = BytesMut::new();
    encode(&ControlMessage::ack(id, ErrorCode::NoError), &mut out);
    writer.write_all(&out).await.is_ok()
}

/// The ACKs of the client's PINGs read so far, added to `out`: a hostile service still
/// keeps the connection alive, or the client's keepalive would end the flood early.
fn answer_pings(pings: &mut mpsc::Receiver<u16>, out: &mut BytesMut) {
    while let Ok(id) = pings.try_recv() {
        encode(&ControlMessage::ack(id, ErrorCode::NoError), out);
    }
}

/// Writes the flood in batches (and the answers to PINGs between them); returns the
/// messages sent.
async fn send_flood<W>(
    writer: &mut W,
    plan: &FloodPlan,
    svc: u16,
    counters: &Counters,
    pings: &mut mpsc::Receiver<u16>,
) -> u64
where
    W: tokio::io::AsyncWrite + Unpin,
{
    let deadline = tokio::time::Instant::now() + plan.duration;
    let burst = u64::from(plan.burst.clamp(1, 0x10_0000));
    let mut sent = 0u64;
    let mut out = BytesMut::new();
    while sent < plan.messages && tokio::time::Instant::now() < deadline {
        out.clear();
        let batch = BATCH.min(plan.messages - sent);
        for i in sent..sent + batch {
            let msg_id = (i % 0xFFFF) as u16 + 1;
            // Session ids cycle below the check's.
            let session = (i % u64::from(PROBE_SESSION - PROBE_ATTEMPTS)) as u32 + 1;
            let message = match plan.kind {
                FloodKind::UnknownControl => Message::Control(ControlMessage {
                    msg_id,
                    body: ControlBody::Unknown(UnknownControl {
                        msg_type: UNKNOWN_TYPE,
                        data: Bytes::new(),
                    }),
                }),
                FloodKind::RefusedConnect => Message::Control(ControlMessage {
                    msg_id,
                    body: ControlBody::Connect(Connect {
                        svc_id: UNKNOWN_SVC,
                        session_id: session,
                    }),
                }),
                FloodKind::UnknownSessionData => Message::Data(DataMessage::new(
                    svc,
                    session,
                    Bytes::from_static(b"nobody opened this"),
                )),
                FloodKind::ConnectHupChurn => {
                    // CONNECT sessions 1..=burst, then HUP them, and again.
                    let cycle = i % (2 * burst);
                    let session = (cycle % burst) as u32 + 1;
                    let body = if cycle < burst {
                        ControlBody::Connect(Connect {
                            svc_id: svc,
                            session_id: session,
                        })
                    } else {
                        ControlBody::Hup(Hup {
                            session_id: session,
                            error: ErrorCode::NoError,
                        })
                    };
                    Message::Control(ControlMessage { msg_id, body })
                }
            };
            let _ = message.encode(&mut out);
        }
        answer_pings(pings, &mut out);
        if writer.write_all(&out).await.is_err() {
            break;
        }
        sent += batch;
        counters.sent.fetch_add(batch, Ordering::Relaxed);
        // The reading side shares this task: let it read the client's answers between
        // batches. A socket that always takes the batch would otherwise keep this loop
        // going until tokio's budget runs out, and the client, its answers unread, rightly
        // drops a service that does not read.
        tokio::task::yield_now().await;
    }
    if plan.kind == FloodKind::ConnectHupChurn {
        // Sessions still open from the last burst are hung up, so the check finds room.
        let cycle = sent % (2 * burst);
        let open = if cycle <= burst {
            1..=cycle
        } else {
            cycle - burst + 1..=burst
        };
        if !open.is_empty() {
            out.clear();
            for session in open {
                let session = session as u32;
                encode(
                    &ControlMessage {
                        msg_id: 1,
                        body: ControlBody::Hup(Hup {
                            session_id: session,
                            error: ErrorCode::NoError,
                        }),
                    },
                    &mut out,
                );
            }
            let _ = writer.write_all(&out).await;
        }
    }
    let _ = writer.flush().await;
    sent
}

fn encode(msg: &ControlMessage, out: &mut BytesMut) {
    let _ = msg.encode(out);
}
