//! The tokio server around the sans-IO [`Instrument`]: any number of clients at once (up to
//! [`SimulatorConfig::max_connections`]), all seeing the same instrument (one lock, never
//! held across an await).
//!
//! Per connection, memory is bounded: a request whose length prefix is over the limit is
//! answered with error 101 and its connection closed (its payload is never read, so
//! nothing is allocated for it); replies are written out once 64 KiB wait, and no more is
//! read while a reply cannot be written, so a client that never reads its replies costs at
//! most one request and 64 KiB plus one reply; a connection that completes no request for
//! [`SimulatorConfig::idle_timeout`] is closed (a stalled half request, an unread reply).
//! In total: at most [`SimulatorConfig::max_connections`] of them; one accepted over the
//! cap is closed at once. A failed accept (out of descriptors) pauses the accept loop
//! ([`AcceptBackoff`]) instead of retrying at once.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use wire::{FrameCodec, FrameError, PrefixWidth};

use super::backoff::AcceptBackoff;
use super::limits::WRITE_BUFFER;
use super::{Fault, Instrument, Received, Response, SimulatorConfig};

/// A running simulator. Dropping it stops accepting; [`shutdown`](Self::shutdown) also
/// closes every connection and waits.
#[derive(Debug)]
pub struct Simulator {
    addr: SocketAddr,
    instrument: Arc<Mutex<Instrument>>,
    stop: watch::Sender<bool>,
    open: watch::Receiver<usize>,
    task: Option<JoinHandle<()>>,
}

impl Simulator {
    /// Binds `bind` (port 0 for an ephemeral port) and starts serving.
    pub async fn start(bind: SocketAddr, config: SimulatorConfig) -> std::io::Result<Simulator> {
        let listener = TcpListener::bind(bind).await?;
        let addr = listener.local_addr()?;
        let unix_now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);
        let instrument = Arc::new(Mutex::new(Instrument::new(
            &config,
            Instant::now(),
            unix_now,
        )));
        let (stop, stopped) = watch::channel(false);
        let (count, open) = watch::channel(0usize);
        let bounds = Bounds {
            max_connections: config.connection_limit(),
            idle_timeout: config.idle_timeout,
        };
        tracing::info!(
            %addr,
            dialect = %config.dialect,
            speed = config.timing.effective_speed(),
            max_connections = bounds.max_connections,
            idle_timeout = ?bounds.idle_timeout,
            "simulator listening"
        );
        let task = tokio::spawn(accept_loop(
            listener,
            Arc::clone(&instrument),
            stopped,
            Arc::new(count),
            bounds,
        ));
        Ok(Simulator {
            addr,
            instrument,
            stop,
            open,
            task: Some(task),
        })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The requests received so far, every connection together (the most recent
    /// [`SimulatorConfig::journal`] of them, oldest first).
    pub fn received(&self) -> Vec<Received> {
        lock(&self.instrument).received()
    }

    /// How many client connections are being served now.
    pub fn connections(&self) -> usize {
        *self.open.borrow()
    }

    /// Waits until at most `count` client connections are being served (for tests and
    /// orderly shutdowns: a closed client is noticed by the server a moment later).
    pub async fn wait_for_connections(&self, count: usize) {
        let mut open = self.open.clone();
        let _ = open.wait_for(|&n| n <= count).await;
    }

    /// Makes the next request for `command` (on any connection) fail as `fault` says.
    pub fn inject_fault(&self, command: &str, fault: Fault) {
        lock(&self.instrument).inject_fault(command, fault);
    }

    /// Stops accepting, closes every connection, and waits for the server task.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

fn lock(instrument: &Mutex<Instrument>) -> MutexGuard<'_, Instrument> {
    instrument.lock().unwrap_or_else(|p| p.into_inner())
}

/// The per-server bounds the accept loop and the connections keep.
#[derive(Debug, Clone, Copy)]
struct Bounds {
    max_connections: usize,
    idle_timeout: Duration,
}

/// One connection slot, given back when the connection's task ends (or is aborted).
struct Slot(Arc<watch::Sender<usize>>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.send_modify(|n| *n = n.saturating_sub(1));
    }
}

async fn accept_loop(
    listener: TcpListener,
    instrument: Arc<Mutex<Instrument>>,
    mut stopped: watch::Receiver<bool>,
    count: Arc<watch::Sender<usize>>,
    bounds: Bounds,
) {
    let mut connections = tokio::task::JoinSet::new();
    let mut next_id = 0u64;
    let mut backoff = AcceptBackoff::default();
    let mut refusing = false;
    loop {
        tokio::select! {
            _ = stopped.changed() => break,
            accepted = listener.accept() => match accepted {
                Ok((socket, peer)) => {
                    backoff.succeeded();
                    if *count.borrow() >= bounds.max_connections {
                        // Closed before anything is read: the client sees the connection
                        // end without a reply.
                        if !refusing {
                            tracing::warn!(max = bounds.max_connections, "connection cap reached: closing new connections until one ends");
                        }
                        refusing = true;
                        tracing::debug!(%peer, "connection over the cap closed");
                        drop(socket);
                        continue;
                    }
                    refusing = false;
                    count.send_modify(|n| *n += 1);
                    let slot = Slot(Arc::clone(&count));
                    next_id += 1;
                    let id = next_id;
                    tracing::info!(%peer, connection = id, "client connected");
                    let instrument = Arc::clone(&instrument);
                    // Shutdown aborts these tasks (JoinSet::shutdown below): no per-read
                    // select on the stop signal in the hot loop.
                    connections.spawn(async move {
                        let _slot = slot;
                        match serve_connection(socket, instrument, id, bounds.idle_timeout).await {
                            Err(e) => tracing::info!(%peer, connection = id, "connection ended: {e}"),
                            Ok(()) => tracing::info!(%peer, connection = id, "client disconnected"),
                        }
                    });
                }
                Err(e) => {
                    let step = backoff.failed(Instant::now());
                    if step.log {
                        tracing::warn!(
                            suppressed = step.suppressed,
                            "accept failed: {e}; pausing {:?} (further failures logged at most once a second)",
                            step.delay
                        );
                    }
                    tokio::select! {
                        _ = stopped.changed() => break,
                        _ = tokio::time::sleep(step.delay) => {}
                    }
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    connections.shutdown().await;
}

/// The error that ends an idle connection.
fn idle_error(idle: Duration, what: &str) -> FrameError {
    FrameError::Io(std::io::Error::new(
        std::io::ErrorKind::TimedOut,
        format!("{what} for {idle:?}: closing the idle connection"),
    ))
}

/// Writes `buf` out and clears it; a client that reads nothing for `idle` is dropped.
async fn flush(
    socket: &mut TcpStream,
    buf: &mut BytesMut,
    idle: Duration,
) -> Result<(), FrameError> {
    match tokio::time::timeout(idle, socket.write_all(buf)).await {
        Ok(written) => written?,
        Err(_) => return Err(idle_error(idle, "the client read no reply")),
    }
    buf.clear();
    Ok(())
}

async fn serve_connection(
    mut socket: TcpStream,
    instrument: Arc<Mutex<Instrument>>,
    connection: u64,
    idle: Duration,
) -> Result<(), FrameError> {
    socket.set_nodelay(true)?;
    let max_request = lock(&instrument).max_request();
    // As the instrument does, bytes of another protocol are read as a length prefix (an
    // HTTP client's "GET " is over the limit: error 101); naming the protocol is for clients.
    let mut requests = FrameCodec::new(PrefixWidth::U32)
        .with_max_payload(max_request)
        .without_protocol_sniffing();
    let replies = FrameCodec::new(PrefixWidth::U32);
    let mut read_buf = BytesMut::with_capacity(8 * 1024);
    let mut write_buf = BytesMut::with_capacity(8 * 1024);
    let mut deadline = tokio::time::Instant::from_std(crate::deadline::deadline(
        tokio::time::Instant::now().into_std(),
        idle,
    ));
    loop {
        loop {
            let frame = match requests.decode_frame(&mut read_buf) {
                Ok(Some(frame)) => frame,
                Ok(None) => break,
                Err(FrameError::Oversize { announced, max }) => {
                    let reply = lock(&instrument).oversize_reply(announced, connection);
                    replies.encode_payload(&reply, &mut write_buf)?;
                    flush(&mut socket, &mut write_buf, idle).await?;
                    let _ = socket.shutdown().await;
                    return Err(FrameError::Oversize { announced, max });
                }
                Err(e) => return Err(e),
            };
            deadline = tokio::time::Instant::from_std(crate::deadline::deadline(
                tokio::time::Instant::now().into_std(),
                idle,
            ));
            let response = lock(&instrument).respond(&frame, Instant::now(), connection);
            match response {
                Response::Reply(reply) => {
                    replies.encode_payload(&reply, &mut write_buf)?;
                    if write_buf.len() >= WRITE_BUFFER {
                        flush(&mut socket, &mut write_buf, idle).await?;
                    }
                }
                Response::Close => {
                    flush(&mut socket, &mut write_buf, idle).await?;
                    tracing::info!(connection, "closing the connection (injected fault)");
                    return Ok(());
                }
            }
        }
        if !write_buf.is_empty() {
            flush(&mut socket, &mut write_buf, idle).await?;
            deadline = deadline.max(tokio::time::Instant::from_std(crate::deadline::deadline(
                tokio::time::Instant::now().into_std(),
                idle,
            )));
        }
        let n = match tokio::time::timeout_at(deadline, socket.read_buf(&mut read_buf)).await {
            Ok(n) => n?,
            Err(_) => return Err(idle_error(idle, "no complete request")),
        };
        if n == 0 {
            return requests.decode_frame_eof(&mut read_buf).map(|_| ());
        }
    }
}
