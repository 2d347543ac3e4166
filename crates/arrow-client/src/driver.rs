//! The tokio driver of one connection: owns the TLS stream and the local sockets, feeds
//! the sans-IO [`Connection`] and carries out what it returns. The reconnect loop around
//! it is [`crate::client`].
//!
//! One task per connection reads the TLS stream, runs the core and the timers, and writes
//! to the TLS stream with cancel-safe partial writes polled in the same `select!` as the
//! reads, so reading from the service (and so seeing its DATA_ACKs and PINGs) never waits
//! on a blocked write, and no message crosses a task boundary on its way out. Each local connection is a
//! `pump` task that reads the socket; bytes for it are written by this task straight to
//! the socket (`try_write`) while the pump holds none queued, and only the rest goes to
//! the pump, so in the common case a DATA message costs no task hop and its DATA_ACK
//! leaves in the same batch.
//!
//! The same `select!` takes the client's commands (a new service table, shutdown). After
//! an orderly shutdown ([`Disconnect::Shutdown`]) it writes what is queued and closes TLS
//! with close_notify, both bounded by [`CLOSE_TIMEOUT`].

use std::collections::HashMap;
use std::time::{Duration, Instant};

use arrow_codec::Register;
use bytes::{Buf, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio_util::codec::Decoder;
use tracing::Instrument;

use crate::client::Control;
pub use crate::client::{ClientConfig, ClientEvent, default_extended_info, run};
use crate::connection::{Connection, Disconnect, Event, LocalCommand, SessionHandle, State};
use crate::pump::{self, PumpCommand, PumpEvent, PumpHandle, Socket};
use crate::status::LinkState;
use crate::{Error, ProtocolViolation, wire};

/// Control bytes allowed to wait for the TLS writer beyond the session windows.
const CONTROL_BACKLOG: usize = 4 * 1024 * 1024;
/// After an orderly shutdown, how long writing what is queued and close_notify may take.
pub const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);

/// Runs one registered-or-registering connection.
pub(crate) struct Driver<'a, W> {
    conn: Connection,
    register: Register,
    pumps: HashMap<SessionHandle, PumpHandle>,
    pump_events_tx: pump::EventSender<SessionHandle>,
    pump_events: mpsc::UnboundedReceiver<(SessionHandle, PumpEvent)>,
    /// The TLS write half, written from the same task with cancel-safe `write` calls in
    /// the same `select!` as the reads: a blocked write never stops reading.
    writer: W,
    /// Encoded messages not yet taken by the TLS writer.
    out: BytesMut,
    /// Bytes went into TLS since the last flush.
    needs_flush: bool,
    events: mpsc::UnboundedSender<ClientEvent>,
    /// The client's side: commands, table, status file.
    control: &'a mut Control,
    /// `HOST:PORT` of this connection, for the status file.
    server: String,
    /// Byte totals of the client before this connection.
    base_bytes: (u64, u64),
}

impl<'a, W> Driver<'a, W>
where
    W: tokio::io::AsyncWrite + Unpin,
{
    pub(crate) fn new(
        conn: Connection,
        register: Register,
        writer: W,
        server: &str,
        control: &'a mut Control,
    ) -> Self {
        let (pump_events_tx, pump_events) = mpsc::unbounded_channel();
        let events = control.events.clone();
        let base_bytes = control.status.bytes();
        Driver {
            conn,
            register,
            pumps: HashMap::new(),
            pump_events_tx,
            pump_events,
            writer,
            out: BytesMut::with_capacity(64 * 1024),
            needs_flush: false,
            events,
            control,
            server: server.to_string(),
            base_bytes,
        }
    }

    /// Serves the connection until it ends; returns why.
    pub(crate) async fn serve<R>(&mut self, mut reader: R) -> Result<Disconnect, Error>
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
                if reason == Disconnect::Shutdown {
                    self.close_gracefully().await;
                }
                return Ok(reason);
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
                event = self.pump_events.recv() => {
                    // The driver holds a sender, so the channel never closes here.
                    if let Some((handle, event)) = event {
                        self.on_pump(handle, event)?;
                        // Drain what else is ready, bounded, before writing.
                        for _ in 0..256 {
                            match self.pump_events.try_recv() {
                                Ok((handle, event)) => self.on_pump(handle, event)?,
                                Err(_) => break,
                            }
                        }
                    }
                }
                () = sleep => self.conn.handle_timeout(Instant::now()),
                command = self.control.commands.recv(), if !self.control.stopping => {
                    if let Some(table) = self.control.apply(command) {
                        self.conn.update_table(table);
                    }
                    if self.control.stopping {
                        self.conn.shutdown(Instant::now());
                    }
                }
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

    fn on_pump(&mut self, handle: SessionHandle, event: PumpEvent) -> Result<(), Error> {
        match event {
            PumpEvent::Data(data) => {
                if let Some(local) = self.pumps.get_mut(&handle) {
                    local.read_by_pump(data.len() as u32);
                }
                if let Err(e) = self.conn.handle_local_data(handle, data) {
                    // A bug in this driver, never the peer's doing: end the session.
                    tracing::error!(error = %e, "local read beyond the window");
                    self.conn.handle_local_closed(Instant::now(), handle, false);
                }
            }
            PumpEvent::Delivered(n) => {
                if let Some(local) = self.pumps.get_mut(&handle) {
                    local.delivered(n);
                }
                self.conn.handle_local_delivered(handle, n);
            }
            PumpEvent::Connected(socket) => {
                if let Some(local) = self.pumps.get_mut(&handle) {
                    local.connected(socket);
                }
            }
            PumpEvent::Closed { clean } => {
                self.conn.handle_local_closed(Instant::now(), handle, clean);
            }
        }
        Ok(())
    }

    /// Carries out everything the core has queued.
    fn flush(&mut self) -> Result<(), Error> {
        // Bytes written straight to a local socket are acknowledged at once (a DATA_ACK),
        // and bytes read straight from one become DATA: go round until nothing new.
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
            let mut progressed = false;
            while let Some(command) = self.conn.poll_local() {
                match command {
                    LocalCommand::Open {
                        handle,
                        session,
                        svc_id,
                        addr,
                        credit,
                    } => {
                        let (tx, rx) = mpsc::unbounded_channel();
                        self.pumps.insert(handle, PumpHandle::new(tx, credit));
                        tokio::spawn(
                            pump::run(
                                handle,
                                Socket::Connect(addr),
                                credit,
                                rx,
                                self.pump_events_tx.clone(),
                            )
                            .instrument(tracing::debug_span!("session", session, svc_id)),
                        );
                    }
                    LocalCommand::Write { handle, data } => {
                        if let Some(local) = self.pumps.get_mut(&handle) {
                            let delivered = local.write(data);
                            if delivered > 0 {
                                self.conn.handle_local_delivered(handle, delivered);
                                progressed = true;
                            }
                        }
                    }
                    LocalCommand::Grant { handle, bytes } => {
                        if let Some(local) = self.pumps.get_mut(&handle) {
                            let conn = &mut self.conn;
                            local.grant(bytes, |data| {
                                if let Err(e) = conn.handle_local_data(handle, data) {
                                    tracing::error!(error = %e, "local read beyond the window");
                                    conn.handle_local_closed(Instant::now(), handle, false);
                                }
                                progressed = true;
                            });
                        }
                    }
                    LocalCommand::Close { handle } => {
                        if let Some(local) = self.pumps.remove(&handle) {
                            let _ = local.tx.send(PumpCommand::Close);
                        }
                    }
                }
            }
            while let Some(event) = self.conn.poll_event() {
                self.on_event(&event);
                let _ = self.events.send(ClientEvent::Connection(event));
            }
            let (up, down) = self.base_bytes;
            self.control
                .status
                .set_bytes(up + self.conn.bytes_up(), down + self.conn.bytes_down());
            if !progressed {
                return Ok(());
            }
        }
    }

    /// Logs an event in its span and keeps the status file current.
    fn on_event(&mut self, event: &Event) {
        match event {
            Event::Registered => {
                let now = Instant::now();
                self.control.registered_at = Some(now);
                self.control
                    .status
                    .set_state(LinkState::Connected, &self.server, None, None);
                tracing::info!("registered");
                if self.control.once {
                    self.conn.shutdown(now);
                }
            }
            Event::SessionOpened {
                session,
                svc_id,
                addr,
            } => {
                self.control
                    .status
                    .set_sessions(self.conn.active_sessions());
                tracing::debug_span!("session", session, svc_id)
                    .in_scope(|| tracing::debug!(%addr, "session opened"));
            }
            Event::SessionClosed {
                session,
                svc_id,
                end,
                bytes_up,
                bytes_down,
            } => {
                self.control
                    .status
                    .set_sessions(self.conn.active_sessions());
                tracing::debug_span!("session", session, svc_id).in_scope(|| {
                    tracing::debug!(end = end.name(), bytes_up, bytes_down, "session closed")
                });
            }
            Event::Refused { session, reason } => {
                tracing::info!(session, reason, "session refused with HUP 3");
            }
            Event::TableUpdated { services, reset } => {
                tracing::info!(services, reset, "service table sent with UPDATE");
            }
            _ => {}
        }
    }

    /// After an orderly shutdown: writes what is queued, then close_notify, bounded.
    async fn close_gracefully(&mut self) {
        let out = &mut self.out;
        let writer = &mut self.writer;
        let done = tokio::time::timeout(CLOSE_TIMEOUT, async {
            while !out.is_empty() {
                match writer.write(out).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => out.advance(n),
                }
            }
            let _ = writer.flush().await;
            let _ = writer.shutdown().await;
        })
        .await;
        if done.is_err() {
            tracing::debug!("the service did not take our last bytes in time");
        }
    }

    /// Closes every local connection (the core already told them to drain).
    pub(crate) fn shutdown(&mut self) {
        self.conn.close();
        let _ = self.flush();
        for (_, local) in self.pumps.drain() {
            let _ = local.tx.send(PumpCommand::Close);
        }
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
