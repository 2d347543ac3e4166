//! The tokio server around the sans-IO [`Instrument`]: any number of clients at once, all
//! seeing the same instrument (one lock, never held across an await).
//!
//! A request whose length prefix is over the limit is answered with error 101 and its
//! connection closed (its payload is never read, so nothing is allocated for it); the
//! other connections go on.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::codec::Decoder;
use wire::{FrameCodec, FrameError, PrefixWidth};

use super::{Fault, Instrument, Received, Response, SimulatorConfig};

/// A running simulator. Dropping it stops accepting; [`shutdown`](Self::shutdown) also
/// closes every connection and waits.
#[derive(Debug)]
pub struct Simulator {
    addr: SocketAddr,
    instrument: Arc<Mutex<Instrument>>,
    stop: watch::Sender<bool>,
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
        tracing::info!(%addr, dialect = %config.dialect, speed = config.timing.effective_speed(), "simulator listening");
        let task = tokio::spawn(accept_loop(listener, Arc::clone(&instrument), stopped));
        Ok(Simulator {
            addr,
            instrument,
            stop,
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

async fn accept_loop(
    listener: TcpListener,
    instrument: Arc<Mutex<Instrument>>,
    mut stopped: watch::Receiver<bool>,
) {
    let mut connections = tokio::task::JoinSet::new();
    let mut next_id = 0u64;
    loop {
        tokio::select! {
            _ = stopped.changed() => break,
            accepted = listener.accept() => match accepted {
                Ok((socket, peer)) => {
                    next_id += 1;
                    let id = next_id;
                    tracing::info!(%peer, connection = id, "client connected");
                    let instrument = Arc::clone(&instrument);
                    // Shutdown aborts these tasks (JoinSet::shutdown below): no per-read
                    // select on the stop signal in the hot loop.
                    connections.spawn(async move {
                        match serve_connection(socket, instrument, id).await {
                            Err(e) => tracing::info!(%peer, connection = id, "connection ended: {e}"),
                            Ok(()) => tracing::info!(%peer, connection = id, "client disconnected"),
                        }
                    });
                }
                Err(e) => tracing::warn!("accept failed: {e}"),
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    connections.shutdown().await;
}

async fn serve_connection(
    mut socket: TcpStream,
    instrument: Arc<Mutex<Instrument>>,
    connection: u64,
) -> Result<(), FrameError> {
    socket.set_nodelay(true)?;
    let max_request = lock(&instrument).max_request();
    let mut requests = FrameCodec::new(PrefixWidth::U32).with_max_payload(max_request);
    let replies = FrameCodec::new(PrefixWidth::U32);
    let mut read_buf = BytesMut::with_capacity(8 * 1024);
    let mut write_buf = BytesMut::with_capacity(8 * 1024);
    loop {
        loop {
            let frame = match requests.decode(&mut read_buf) {
                Ok(Some(frame)) => frame,
                Ok(None) => break,
                Err(FrameError::Oversize { announced, max }) => {
                    let reply = lock(&instrument).oversize_reply(announced, connection);
                    replies.encode_payload(&reply, &mut write_buf)?;
                    socket.write_all(&write_buf).await?;
                    let _ = socket.shutdown().await;
                    return Err(FrameError::Oversize { announced, max });
                }
                Err(e) => return Err(e),
            };
            let response = lock(&instrument).respond(&frame, Instant::now(), connection);
            match response {
                Response::Reply(reply) => replies.encode_payload(&reply, &mut write_buf)?,
                Response::Close => {
                    socket.write_all(&write_buf).await?;
                    tracing::info!(connection, "closing the connection (injected fault)");
                    return Ok(());
                }
            }
        }
        if !write_buf.is_empty() {
            socket.write_all(&write_buf).await?;
            write_buf.clear();
        }
        let n = socket.read_buf(&mut read_buf).await?;
        if n == 0 {
            return requests.decode_eof(&mut read_buf).map(|_| ());
        }
    }
}
