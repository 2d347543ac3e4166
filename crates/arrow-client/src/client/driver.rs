//! The tokio driver of one connection: owns the TLS stream and the local sockets, feeds
//! the sans-IO [`Connection`] and carries out what it returns. The reconnect loop around
//! it is [`super::runtime`].
//!
//! One task per connection reads the TLS stream, runs the core and the timers, and writes
//! to the TLS stream with cancel-safe partial writes polled in the same `select!` as the
//! reads, so reading from the service (and so seeing its DATA_ACKs and PINGs) never waits
//! on a blocked write, and no message crosses a task boundary on its way out. The local
//! connections are polled by the same task (`local_sockets::LocalSockets`): a DATA message is written
//! to its local socket at once and its DATA_ACK leaves in the same batch, and bytes read
//! from a local socket become a DATA message without a task hop.
//!
//! The same `select!` takes the client's commands (a new service table, shutdown). After
//! an orderly shutdown ([`Disconnect::Shutdown`]) it writes what is queued and closes TLS
//! with close_notify, both bounded by [`CLOSE_TIMEOUT`].

use std::time::{Duration, Instant};

use arrow_codec::Register;
use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::control::Control;
use super::event::ClientEvent;
use super::event_queue::EventSender;
use super::event_throttle::{EventThrottle, THROTTLE_WINDOW};
use super::scanning::{ScanState, Scanner};
use crate::connection::{Connection, Disconnect, Event, LocalCommand, SessionHandle, State};
use crate::local_sockets::{LocalEvent, LocalSockets};
use crate::outbox::{Outbox, write_or_flush};
use crate::status::LinkState;
use crate::{Error, ProtocolViolation, wire};

/// Control bytes allowed to wait for the TLS writer beyond the session windows.
const CONTROL_BACKLOG: usize = 4 * 1024 * 1024;
/// After an orderly shutdown, how long writing what is queued and close_notify may take.
pub const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);

/// How often a connection looks for found services that are no longer visible.
const VISIBILITY_CHECK: Duration = Duration::from_secs(60);

/// Runs one registered-or-registering connection.
pub(crate) struct Driver<'a, W> {
    conn: Connection,
    register: Register,
    /// The local connections, polled by this task.
    locals: LocalSockets<SessionHandle>,
    /// The TLS write half, written from the same task with cancel-safe `write` calls in
    /// the same `select!` as the reads: a blocked write never stops reading.
    writer: W,
    /// Encoded messages not yet taken by the TLS writer.
    out: Outbox,
    /// Bytes went into TLS since the last flush.
    needs_flush: bool,
    events: EventSender,
    /// The client's side: commands, table, status file.
    control: &'a mut Control,
    /// `HOST:PORT` of this connection, for the status file.
    server: String,
    /// Byte totals of the client before this connection.
    base_bytes: (u64, u64),
    /// The budget of `session_refused` events and log lines.
    refusals: EventThrottle,
    /// The budget of `unsupported` events.
    unsupported: EventThrottle,
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
        let events = control.events.clone();
        let base_bytes = control.status.bytes();
        Driver {
            conn,
            register,
            locals: LocalSockets::new(),
            writer,
            out: Outbox::new(),
            needs_flush: false,
            events,
            control,
            server: server.to_string(),
            base_bytes,
            refusals: EventThrottle::default(),
            unsupported: EventThrottle::default(),
        }
    }

    /// Serves the connection until it ends; returns why.
    pub(crate) async fn serve<R>(&mut self, mut reader: R) -> Result<Disconnect, Error>
    where
        R: tokio::io::AsyncRead + Unpin,
    {
        let mut codec = wire::client_codec();
        let mut input = BytesMut::with_capacity(64 * 1024);
        let mut late_scan = None;
        if let Some(scanner) = &mut self.control.scanner {
            let state = scanner.state.borrow_and_update().clone();
            self.conn.set_scanning(state.running);
            self.conn.set_scan_findings(state.findings.clone());
            late_scan = Some(state);
        }
        // A scan that ended after the REGISTER was built: its services go in an UPDATE
        // right after the ACK (marking it seen without taking it would lose them).
        let late_table = late_scan.and_then(|state| self.control.take_scan(&state));
        self.conn.start(Instant::now());
        if let Some(table) = late_table {
            self.conn.update_table(table);
        }
        // Found services also leave the table when scans fail or stop: looked at each
        // minute.
        let mut expiry = tokio::time::interval_at(
            tokio::time::Instant::now() + VISIBILITY_CHECK,
            VISIBILITY_CHECK,
        );
        loop {
            self.flush()?;
            self.locals.set_read_budget(self.out.read_budget());
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
            let summary_due = self.summary_deadline();
            let summary = async {
                match summary_due {
                    Some(at) => tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                read = reader.read_buf(&mut input) => {
                    let n = read.map_err(|e| Error::io("reading from the Arrow Service", e))?;
                    let now = Instant::now();
                    loop {
                        match wire::next_incoming(&mut codec, &mut input, n == 0) {
                            Ok(Some(incoming)) => self.conn.handle_incoming(now, incoming),
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
                // `flush` at the top of the loop reports what was left out.
                () = summary => {}
                state = scan_state_changed(&mut self.control.scanner) => {
                    self.conn.set_scanning(state.running);
                    self.conn.set_scan_findings(state.findings.clone());
                    if let Some(table) = self.control.take_scan(&state) {
                        tracing::info!(services = table.len(), "the visible services changed");
                        self.conn.update_table(table);
                    }
                }
                _ = expiry.tick(), if self.control.scanner.is_some() => {
                    if let Some(table) = self.control.refresh_visible() {
                        tracing::info!(services = table.len(), "a found service is no longer visible");
                        self.conn.update_table(table);
                    }
                }
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
                LocalEvent::Released => self.conn.handle_local_released(handle),
            }
        }
        any
    }

    /// Carries out everything the core has queued.
    fn flush(&mut self) -> Result<(), Error> {
        loop {
            while let Some(message) = self.conn.poll_transmit() {
                if let Err(e) = wire::queue(&message, &self.register, &mut self.out) {
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
            self.report_suppressed(Instant::now());
            while let Some(event) = self.conn.poll_event() {
                if let Some(event) = self.on_event(event) {
                    self.events.send(event);
                }
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

    /// When the next summary of left-out events is due.
    fn summary_deadline(&self) -> Option<Instant> {
        match (self.refusals.deadline(), self.unsupported.deadline()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Reports the events a throttle left out, once their second is over.
    fn report_suppressed(&mut self, now: Instant) {
        if let Some(count) = self.refusals.poll_summary(now) {
            tracing::info!(count, "more sessions refused with HUP 3 in the last second");
            self.events.send(ClientEvent::EventsSuppressed {
                of: "session_refused",
                count,
            });
        }
        if let Some(count) = self.unsupported.poll_summary(now) {
            self.events.send(ClientEvent::EventsSuppressed {
                of: "unsupported",
                count,
            });
        }
    }

    /// Logs an event of the core in its span, keeps the status file current, and returns
    /// the user's view of it.
    fn on_event(&mut self, event: Event) -> Option<ClientEvent> {
        Some(match event {
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
                ClientEvent::Registered
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
                ClientEvent::SessionOpened {
                    session,
                    svc_id,
                    addr,
                }
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
                ClientEvent::SessionClosed {
                    session,
                    svc_id,
                    bytes_up,
                    bytes_down,
                    end,
                }
            }
            Event::Refused { session, reason } => {
                if !self.refusals.admit(Instant::now()) {
                    return None;
                }
                tracing::info!(session, reason, "session refused with HUP 3");
                ClientEvent::SessionRefused { session, reason }
            }
            Event::Unsupported { kind } => {
                if !self.unsupported.admit(Instant::now()) {
                    return None;
                }
                ClientEvent::Unsupported { kind }
            }
            Event::TableUpdated { services, reset } => {
                if reset {
                    self.control.forget_discovered();
                }
                tracing::info!(services, reset, "service table sent with UPDATE");
                ClientEvent::TableSent { services, reset }
            }
            Event::ScanRequested => {
                tracing::info!("the service asked for a scan");
                if let Some(scanner) = &self.control.scanner {
                    scanner.request();
                }
                return None;
            }
        })
    }

    /// After an orderly shutdown: writes what is queued, then close_notify, bounded.
    async fn close_gracefully(&mut self) {
        let out = &mut self.out;
        let writer = &mut self.writer;
        let done = tokio::time::timeout(CLOSE_TIMEOUT, async {
            while !out.is_empty() {
                match write_or_flush(writer, out).await {
                    Ok(Some(0)) | Err(_) => return,
                    Ok(Some(n)) => out.advance(n),
                    Ok(None) => {}
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

    /// Closes every local connection (the core already told them to drain), and reports
    /// the events a throttle still holds back.
    pub(crate) fn shutdown(&mut self) {
        self.conn.close();
        let _ = self.flush();
        self.locals.close_all();
        self.report_suppressed(Instant::now() + THROTTLE_WINDOW);
    }
}

/// The scanner's next state; never, without a scanner (or once it is gone).
async fn scan_state_changed(scanner: &mut Option<Scanner>) -> ScanState {
    if let Some(scanner) = scanner
        && scanner.state.changed().await.is_ok()
    {
        return scanner.state.borrow_and_update().clone();
    }
    std::future::pending().await
}
