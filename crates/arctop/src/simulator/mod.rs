//! The built-in phone simulator: a real Stream Server that speaks the protocol as the app
//! does (modified UTF-8 frames), checks the API key, then streams generated data or a
//! recording until `--count` values or shutdown, and ends each session with
//! `sessionComplete`.
//!
//! Unlike the app, which stops after one session, the simulator keeps accepting clients
//! (each gets a fresh session) until it is shut down; sessions run concurrently.
//!
//! # Limits
//!
//! Every connection costs bounded memory, and so does the whole simulator:
//!
//! | limit | default | field |
//! | --- | --- | --- |
//! | concurrent connections; one more is closed at once, unread ([`SimulatorEvent::OverCapacity`]) | 64 | [`SimulatorConfig::max_connections`] |
//! | time to send a whole `auth` frame (silent or stalled mid-frame clients get `auth-failed` and are closed) | 10 s | [`SimulatorConfig::auth_timeout`] |
//! | size of the `auth` frame read (checked from the 2-byte header, before any allocation) | 4,096 bytes | [`SimulatorConfig::max_auth_request`] |
//! | time a write may wait for a client that does not read; then the connection is closed and nothing more is buffered | 30 s | [`SimulatorConfig::write_timeout`] |
//! | pause after a failed `accept` (out of file descriptors): doubles from 10 ms to 1 s, one warning per second | fixed | [`AcceptBackoff`] |
//!
//! A session buffers at most 32 KiB of frames plus one frame (at most 64 KiB) before it
//! waits for the socket; after `auth` it reads nothing more from the client (the protocol
//! has the client send nothing), so data a client sends then stays in the kernel's socket
//! buffer. In total: about `max_connections` × 100 KiB.

mod accept_backoff;
mod feed;
mod generator;
mod handshake;
mod replay;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::BytesMut;
use futures::StreamExt;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::codec::FramedRead;

pub use accept_backoff::{AcceptBackoff, AcceptRetry};
pub use handshake::{Handshake, HandshakePhase, Verdict};
pub use replay::{MAX_GAP, ReplayItem, parse_recording, replay_length};

use self::feed::{Feed, Poll};
use crate::Error;
#[cfg(feature = "mdns")]
use crate::discovery::Advertisement;
use crate::discovery::SERVICE_NAME;
use crate::frame;
use crate::message::ApiKey;

/// What the simulator streams.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Source {
    /// Generated data (see the generator's docs): focus, enjoyment, zone_state drifting
    /// around 50, heart_rate, avg_motion, occasional qa and connection events.
    Generated,
    /// A recording, with its original timing.
    Replay(Arc<Vec<ReplayItem>>),
}

/// How the simulator behaves.
#[derive(Debug, Clone)]
pub struct SimulatorConfig {
    /// The key clients must send.
    pub api_key: ApiKey,
    /// `valueChange` messages per second for generated data; 0 (or anything not a positive
    /// number) is as fast as the socket takes them; below [`MIN_RATE`] counts as
    /// [`MIN_RATE`].
    pub rate: f64,
    /// End each session with `sessionComplete` after this many values.
    pub count: Option<u64>,
    /// What to stream.
    pub source: Source,
    /// How long a client has to send `auth`.
    pub auth_timeout: Duration,
    /// Publish the server by mDNS under this instance name (`ArctopService`).
    pub advertise: Option<String>,
    /// Where to report what happens (connections, auth, session ends).
    pub observer: Option<mpsc::UnboundedSender<SimulatorEvent>>,
    /// At most this many clients are served at once; one more is closed as soon as it is
    /// accepted (0 closes every client). Default [`DEFAULT_MAX_CONNECTIONS`].
    pub max_connections: usize,
    /// The largest `auth` frame read from a client, in bytes; a longer one is refused
    /// before anything is allocated for it. Default [`DEFAULT_MAX_AUTH_REQUEST`].
    pub max_auth_request: usize,
    /// How long one write may wait for a client that does not read; then the session ends
    /// ([`SimulatorEvent::ClientGone`]) instead of buffering more. Default
    /// [`DEFAULT_WRITE_TIMEOUT`].
    pub write_timeout: Duration,
}

/// The default of [`SimulatorConfig::max_connections`].
pub const DEFAULT_MAX_CONNECTIONS: usize = 64;
/// The default of [`SimulatorConfig::max_auth_request`]: an `auth` request is a short
/// JSON object.
pub const DEFAULT_MAX_AUTH_REQUEST: usize = 4096;
/// The default of [`SimulatorConfig::write_timeout`].
pub const DEFAULT_WRITE_TIMEOUT: Duration = Duration::from_secs(30);

impl SimulatorConfig {
    /// Generated data at 10 values/s, no count, 10 s auth timeout, not advertised, and the
    /// default limits (64 connections, 4,096-byte `auth` frames, 30 s write timeout).
    pub fn new(api_key: ApiKey) -> Self {
        SimulatorConfig {
            api_key,
            rate: 10.0,
            count: None,
            source: Source::Generated,
            auth_timeout: Duration::from_secs(10),
            advertise: None,
            observer: None,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_auth_request: DEFAULT_MAX_AUTH_REQUEST,
            write_timeout: DEFAULT_WRITE_TIMEOUT,
        }
    }

    /// Advertises as `ArctopService`.
    #[must_use]
    pub fn advertised(mut self) -> Self {
        self.advertise = Some(SERVICE_NAME.to_string());
        self
    }
}

/// What happened in the simulator, for its operator.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SimulatorEvent {
    /// Published by mDNS under this full name.
    Advertised {
        /// The DNS-SD full name.
        fullname: String,
    },
    /// A client connected.
    Connected {
        /// Its address.
        peer: SocketAddr,
    },
    /// The client's key was accepted.
    AuthAccepted {
        /// Its address.
        peer: SocketAddr,
    },
    /// The client's key was refused (or it sent no `auth`): `auth-failed`, then close.
    AuthRefused {
        /// Its address.
        peer: SocketAddr,
        /// Why.
        reason: String,
    },
    /// The session ended with `sessionComplete`.
    SessionComplete {
        /// Its address.
        peer: SocketAddr,
        /// The `valueChange` messages sent.
        values: u64,
    },
    /// A client connected while [`SimulatorConfig::max_connections`] were being served:
    /// it was closed at once, without a word.
    OverCapacity {
        /// Its address.
        peer: SocketAddr,
        /// The cap.
        max: usize,
    },
    /// The client went away before the end (or did not read for
    /// [`SimulatorConfig::write_timeout`] and was closed).
    ClientGone {
        /// Its address.
        peer: SocketAddr,
        /// What the socket said.
        reason: String,
    },
}

/// A bound simulator, not yet serving.
#[derive(Debug)]
pub struct Simulator {
    listener: TcpListener,
    config: Arc<SimulatorConfig>,
    stop: watch::Sender<bool>,
}

/// Stops a running simulator: every session sends `sessionComplete` and closes.
#[derive(Debug, Clone)]
pub struct ShutdownHandle(Arc<watch::Sender<bool>>);

impl ShutdownHandle {
    /// Asks the simulator to stop.
    pub fn shutdown(&self) {
        self.0.send_replace(true);
    }
}

/// A simulator serving on a tokio task. Dropping it shuts the simulator down.
#[derive(Debug)]
pub struct RunningSimulator {
    addr: SocketAddr,
    handle: ShutdownHandle,
    task: Option<tokio::task::JoinHandle<Result<(), Error>>>,
}

impl RunningSimulator {
    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A handle to stop it.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        self.handle.clone()
    }

    /// Shuts it down and waits until every session has ended.
    pub async fn stop(mut self) -> Result<(), Error> {
        self.handle.shutdown();
        match self.task.take() {
            Some(task) => task
                .await
                .map_err(|e| Error::Io(std::io::Error::other(e.to_string())))?,
            None => Ok(()),
        }
    }
}

impl Drop for RunningSimulator {
    fn drop(&mut self) {
        self.handle.shutdown();
    }
}

impl Simulator {
    /// Listens on `addr` (`HOST:PORT`; port 0 for any).
    pub async fn bind(addr: &str, config: SimulatorConfig) -> Result<Self, Error> {
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| Error::Bind {
                addr: addr.to_string(),
                source,
            })?;
        Ok(Simulator {
            listener,
            config: Arc::new(config),
            stop: watch::channel(false).0,
        })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> Result<SocketAddr, Error> {
        Ok(self.listener.local_addr()?)
    }

    /// A handle to stop it once it runs.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        ShutdownHandle(Arc::new(self.stop.clone()))
    }

    /// Serves on a new tokio task.
    pub fn spawn(self) -> Result<RunningSimulator, Error> {
        let addr = self.local_addr()?;
        let handle = self.shutdown_handle();
        let task = tokio::spawn(self.run());
        Ok(RunningSimulator {
            addr,
            handle,
            task: Some(task),
        })
    }

    /// Serves clients until shut down, then waits (up to 5 s) for the sessions to end.
    pub async fn run(self) -> Result<(), Error> {
        #[cfg(feature = "mdns")]
        let _advertisement = match &self.config.advertise {
            Some(instance) => {
                let addr = self.local_addr()?;
                let ips: Vec<std::net::IpAddr> = if addr.ip().is_unspecified() {
                    Vec::new()
                } else {
                    vec![addr.ip()]
                };
                let ad = Advertisement::publish(instance, addr.port(), &ips)?;
                tracing::info!(name = ad.fullname(), "advertised by mDNS");
                notify(
                    &self.config,
                    SimulatorEvent::Advertised {
                        fullname: ad.fullname().to_string(),
                    },
                );
                Some(ad)
            }
            None => None,
        };
        #[cfg(not(feature = "mdns"))]
        if self.config.advertise.is_some() {
            return Err(Error::Config(
                "advertising by mDNS needs arctop's feature mdns".into(),
            ));
        }
        let mut stop = self.stop.subscribe();
        let mut sessions = JoinSet::new();
        let slots = Arc::new(Semaphore::new(self.config.max_connections));
        let mut backoff = AcceptBackoff::new();
        loop {
            // Reap finished sessions as we go.
            while sessions.try_join_next().is_some() {}
            let accepted = tokio::select! {
                accepted = self.listener.accept() => accepted,
                _ = stop.wait_for(|stopped| *stopped) => break,
            };
            let (socket, peer) = match accepted {
                Ok(pair) => {
                    backoff.succeeded();
                    pair
                }
                Err(e) => {
                    let retry = backoff.failed(clock());
                    if let Some(not_logged) = retry.log {
                        tracing::warn!(error = %e, pause_ms = retry.delay.as_millis() as u64, not_logged, "accept failed; pausing");
                    }
                    tokio::select! {
                        _ = tokio::time::sleep(retry.delay) => continue,
                        _ = stop.wait_for(|stopped| *stopped) => break,
                    }
                }
            };
            let Ok(slot) = slots.clone().try_acquire_owned() else {
                let max = self.config.max_connections;
                tracing::info!(%peer, max, "over the connection cap: closed");
                notify(&self.config, SimulatorEvent::OverCapacity { peer, max });
                drop(socket);
                continue;
            };
            tracing::info!(%peer, "client connected");
            notify(&self.config, SimulatorEvent::Connected { peer });
            let config = self.config.clone();
            let stop = self.stop.subscribe();
            sessions.spawn(async move {
                let event = serve(socket, peer, &config, stop).await;
                drop(slot);
                notify(&config, event);
            });
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while let Ok(Some(_)) = tokio::time::timeout_at(deadline, sessions.join_next()).await {}
        sessions.abort_all();
        Ok(())
    }
}

fn notify(config: &SimulatorConfig, event: SimulatorEvent) {
    if let Some(observer) = &config.observer {
        let _ = observer.send(event);
    }
}

/// The runtime's clock as a std instant, for the sans-IO parts (follows a paused clock).
fn clock() -> std::time::Instant {
    Instant::now().into_std()
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Flush at least this often when streaming at full speed.
const FLUSH_AT: usize = 32 * 1024;

/// One client's session, from `auth` to `sessionComplete`.
async fn serve(
    socket: TcpStream,
    peer: SocketAddr,
    config: &SimulatorConfig,
    mut stop: watch::Receiver<bool>,
) -> SimulatorEvent {
    let _ = socket.set_nodelay(true);
    let (read, mut write) = socket.into_split();
    let codec = frame::codec().with_max_payload(config.max_auth_request.min(frame::MAX_PAYLOAD));
    let mut frames = FramedRead::with_capacity(read, codec, 512);
    let mut out = BytesMut::with_capacity(FLUSH_AT * 2);
    let timeout = config.write_timeout;

    // The handshake.
    let mut handshake = Handshake::new(config.api_key.clone(), clock(), config.auth_timeout);
    let verdict = loop {
        let Some(deadline) = handshake.poll_timeout() else {
            break Verdict::Ignore;
        };
        match tokio::time::timeout_at(deadline.into(), frames.next()).await {
            Err(_) => match handshake.handle_timeout(deadline.max(clock())) {
                Verdict::Ignore => continue,
                verdict => break verdict,
            },
            Ok(None) => {
                return SimulatorEvent::ClientGone {
                    peer,
                    reason: "closed before auth".into(),
                };
            }
            Ok(Some(Err(e))) => break handshake.handle_frame_error(&e),
            Ok(Some(Ok(payload))) => break handshake.handle_frame(&payload),
        }
    };
    drop(frames); // nothing more is read: the client sends nothing after auth
    Handshake::reply(&verdict, &mut out);
    if let Verdict::Refuse(reason) = verdict {
        tracing::info!(%peer, %reason, "auth refused");
        let _ = flush(&mut write, &mut out, timeout).await;
        let _ = write.shutdown().await;
        return SimulatorEvent::AuthRefused { peer, reason };
    }
    tracing::info!(%peer, "auth accepted");
    if let Some(observer) = &config.observer {
        let _ = observer.send(SimulatorEvent::AuthAccepted { peer });
    }

    // The stream: each message made and stamped when it is due; a sessionComplete last,
    // whether the source ends, a shutdown comes (in a pause too) or a message fails.
    let mut feed = Feed::new(
        &config.source,
        value_interval(config.rate),
        config.count,
        clock(),
    );
    loop {
        if *stop.borrow() {
            break;
        }
        match feed.poll(clock(), now_ms()) {
            Poll::Done => break,
            Poll::Wait(at) => {
                // Paced: flush what is pending, then wait for the slot (or a shutdown).
                if let Err(e) = flush(&mut write, &mut out, timeout).await {
                    return gone(peer, &e);
                }
                tokio::select! {
                    _ = tokio::time::sleep_until(Instant::from_std(at)) => {}
                    _ = stop.wait_for(|stopped| *stopped) => break,
                }
            }
            Poll::Send(message) => {
                if let Err(e) = frame::encode_modified(&message.text, &mut out) {
                    tracing::warn!(error = %e, "message too large to send; skipped");
                    continue;
                }
                feed.written(&message);
                if (out.len() >= FLUSH_AT || message.paced)
                    && let Err(e) = flush(&mut write, &mut out, timeout).await
                {
                    return gone(peer, &e);
                }
            }
        }
    }
    if let Some(end) = feed.finish(now_ms()) {
        // A few bytes: it always fits a frame.
        if frame::encode_modified(&end.text, &mut out).is_ok() {
            feed.written(&end);
        }
    }
    let values = feed.values();
    if let Err(e) = flush(&mut write, &mut out, timeout).await {
        return gone(peer, &e);
    }
    let _ = write.shutdown().await;
    tracing::info!(%peer, values, "session complete");
    SimulatorEvent::SessionComplete { peer, values }
}

fn gone(peer: SocketAddr, e: &std::io::Error) -> SimulatorEvent {
    tracing::info!(%peer, error = %e, "client gone");
    SimulatorEvent::ClientGone {
        peer,
        reason: e.to_string(),
    }
}

/// Writes what is pending; a client that does not take it within `timeout` is an error
/// (the session ends rather than buffer more).
async fn flush(
    write: &mut tokio::net::tcp::OwnedWriteHalf,
    out: &mut BytesMut,
    timeout: Duration,
) -> std::io::Result<()> {
    if !out.is_empty() {
        match tokio::time::timeout(timeout, write.write_all(out)).await {
            Ok(written) => written?,
            Err(_) => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!("the client did not read for {}s", timeout.as_secs_f64()),
                ));
            }
        }
        out.clear();
    }
    Ok(())
}

/// The slowest generated stream: one value every 1,000 s.
pub const MIN_RATE: f64 = 0.001;

/// Time between generated values at `rate` per second; `None` for as fast as the socket
/// takes them. Never panics, whatever the rate (`Duration::from_secs_f64` would on an
/// absurd one).
fn value_interval(rate: f64) -> Option<Duration> {
    (rate > 0.0).then(|| Duration::from_secs_f64(1.0 / rate.max(MIN_RATE)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_rate_gives_an_interval_without_panicking() {
        let cases = [
            (10.0, Some(Duration::from_millis(100))),
            (0.0, None),
            (-5.0, None),
            (f64::NAN, None),
            (1e-300, Some(Duration::from_secs(1000))),
            (f64::MIN_POSITIVE, Some(Duration::from_secs(1000))),
            (f64::INFINITY, Some(Duration::ZERO)),
        ];
        for (rate, want) in cases {
            assert_eq!(value_interval(rate), want, "{rate}");
        }
    }
}
