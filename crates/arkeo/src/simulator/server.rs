//! The tokio server around the sans-IO [`Instrument`]: any number of clients at once, all
//! seeing the same instrument (one lock, never held across an await).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::codec::Decoder;
use wire::{FrameCodec, PrefixWidth};

use super::{Instrument, SimulatorConfig};

/// A running simulator. Dropping it stops accepting; [`shutdown`](Self::shutdown) also
/// closes every connection and waits.
#[derive(Debug)]
pub struct Simulator {
    addr: SocketAddr,
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
        tracing::info!(%addr, dialect = %config.dialect, "simulator listening");
        let task = tokio::spawn(accept_loop(listener, instrument, config, stopped));
        Ok(Simulator {
            addr,
            stop,
            task: Some(task),
        })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
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

async fn accept_loop(
    listener: TcpListener,
    instrument: Arc<Mutex<Instrument>>,
    config: SimulatorConfig,
    mut stopped: watch::Receiver<bool>,
) {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            _ = stopped.changed() => break,
            accepted = listener.accept() => match accepted {
                Ok((socket, peer)) => {
                    tracing::info!(%peer, "client connected");
                    let instrument = Arc::clone(&instrument);
                    // Shutdown aborts these tasks (JoinSet::shutdown below): no per-read
                    // select on the stop signal in the hot loop.
                    connections.spawn(async move {
                        if let Err(e) = serve_connection(socket, instrument, config).await {
                            tracing::info!(%peer, "connection ended: {e}");
                        } else {
                            tracing::info!(%peer, "client disconnected");
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
    config: SimulatorConfig,
) -> Result<(), wire::FrameError> {
    socket.set_nodelay(true)?;
    let mut codec = FrameCodec::new(PrefixWidth::U32).with_max_payload(config.max_request);
    let mut read_buf = BytesMut::with_capacity(8 * 1024);
    let mut write_buf = BytesMut::with_capacity(8 * 1024);
    loop {
        while let Some(frame) = codec.decode(&mut read_buf)? {
            let reply = {
                let mut guard = instrument.lock().unwrap_or_else(|p| p.into_inner());
                guard.handle_payload(&frame, Instant::now())
            };
            codec.encode_payload(&reply, &mut write_buf)?;
        }
        if !write_buf.is_empty() {
            socket.write_all(&write_buf).await?;
            write_buf.clear();
        }
        let n = socket.read_buf(&mut read_buf).await?;
        if n == 0 {
            return codec.decode_eof(&mut read_buf).map(|_| ());
        }
    }
}
