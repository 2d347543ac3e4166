//! One local TCP connection bridged to a session: the tokio task that owns the socket.
//!
//! A single task per connection polls three things at once: commands from the connection
//! driver (bytes to write, read credit, close), the socket becoming writable while bytes
//! are queued, and the socket becoming readable while there is read credit. Reading never
//! waits for a blocked write and the other way round, and with no credit the task stops
//! reading (the kernel's buffers then push back on the local service). An idle connection
//! holds no buffer: one is allocated per read, sized by the credit.
//!
//! Its owner keeps a [`PumpHandle`]: once the pump reports the socket connected, the owner
//! writes to it directly while the pump holds nothing queued, and hands the pump only
//! what the socket did not take.

use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

/// Largest single read from a local socket.
const MAX_READ: usize = 64 * 1024;
/// How long a local connect may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// After our last byte, how long to wait for the local peer to close before dropping.
const LINGER: Duration = Duration::from_secs(2);

/// What the connection driver tells a pump.
#[derive(Debug)]
pub(crate) enum PumpCommand {
    /// Queue these bytes for the socket.
    Write(Bytes),
    /// Allow this many more bytes to be read.
    Grant(u32),
    /// Stop reading; write what is queued; close.
    Close,
}

/// What a pump tells the connection driver.
#[derive(Debug)]
pub(crate) enum PumpEvent {
    /// Bytes read from the socket.
    Data(Bytes),
    /// Bytes written to the socket.
    Delivered(u32),
    /// The socket ended: `clean` for an orderly EOF, not for an error or failed connect.
    Closed { clean: bool },
    /// The socket is connected (sent once, first). The driver may write to it directly
    /// with `try_write` while nothing it handed to the pump is still queued there, which
    /// keeps the bytes in order and saves a task hop per message.
    Connected(Arc<TcpStream>),
}

/// Where a pump's socket comes from.
pub(crate) enum Socket {
    /// Connect to this address first.
    Connect(SocketAddr),
    /// Already connected (the service side accepted it).
    Accepted(TcpStream),
}

/// The owner's side of one pump: its command channel and, once connected, the socket.
pub(crate) struct PumpHandle {
    /// Commands to its pump task.
    pub(crate) tx: mpsc::UnboundedSender<PumpCommand>,
    /// The socket, once connected: written directly while `queued` is 0.
    socket: Option<Arc<TcpStream>>,
    /// Bytes handed to the pump and not yet reported delivered.
    queued: u64,
    /// Read credit the pump holds, as far as its owner has seen its Data events: the
    /// owner reads the socket directly only while this is 0, so the pump has no read
    /// in flight and the bytes stay in order.
    pump_credit: u32,
}

impl PumpHandle {
    /// A handle for a pump not yet connected.
    pub(crate) fn new(tx: mpsc::UnboundedSender<PumpCommand>, credit: u32) -> Self {
        PumpHandle {
            tx,
            socket: None,
            queued: 0,
            pump_credit: credit,
        }
    }

    /// The pump reported `n` bytes read (a Data event).
    pub(crate) fn read_by_pump(&mut self, n: u32) {
        self.pump_credit = self.pump_credit.saturating_sub(n);
    }

    /// `n` more bytes may be read: while the pump holds no credit, reads the socket
    /// directly (passing each chunk to `data`) until it would block, and hands the credit
    /// left to the pump. End of stream and errors are left to the pump too: it reads
    /// again, gets them, and reports the close.
    pub(crate) fn grant(&mut self, mut n: u32, mut data: impl FnMut(Bytes)) {
        if self.pump_credit == 0
            && let Some(socket) = &self.socket
        {
            while n > 0 {
                let mut buf = BytesMut::with_capacity((n as usize).min(MAX_READ));
                match socket.try_read_buf(&mut buf) {
                    Ok(k) if k > 0 => {
                        n -= k as u32;
                        data(buf.freeze());
                    }
                    _ => break,
                }
            }
        }
        if n > 0 {
            self.pump_credit = self.pump_credit.saturating_add(n);
            let _ = self.tx.send(PumpCommand::Grant(n));
        }
    }

    /// The pump reported its socket connected.
    pub(crate) fn connected(&mut self, socket: Arc<TcpStream>) {
        self.socket = Some(socket);
    }

    /// The pump reported `n` of the bytes handed to it delivered.
    pub(crate) fn delivered(&mut self, n: u32) {
        self.queued = self.queued.saturating_sub(u64::from(n));
    }

    /// Writes what the socket takes now (only while the pump holds nothing, so the
    /// order stays), hands the rest to the pump, and returns the bytes delivered.
    pub(crate) fn write(&mut self, mut data: Bytes) -> u32 {
        let mut delivered = 0;
        if self.queued == 0
            && let Some(socket) = &self.socket
        {
            // An error is left to the pump: it gets the same error on the bytes
            // handed to it, and reports the close.
            while let Ok(n) = socket.try_write(&data) {
                if n == 0 {
                    break;
                }
                delivered += n as u32;
                data.advance(n);
                if data.is_empty() {
                    break;
                }
            }
        }
        if !data.is_empty() {
            self.queued += data.len() as u64;
            let _ = self.tx.send(PumpCommand::Write(data));
        }
        delivered
    }
}

pub(crate) type EventSender<K> = mpsc::UnboundedSender<(K, PumpEvent)>;

/// Runs one local connection to its end.
pub(crate) async fn run<K: Copy + Send + 'static>(
    key: K,
    socket: Socket,
    credit: u32,
    commands: mpsc::UnboundedReceiver<PumpCommand>,
    events: EventSender<K>,
) {
    let stream = match socket {
        Socket::Accepted(stream) => stream,
        Socket::Connect(addr) => {
            match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr)).await {
                Ok(Ok(stream)) => stream,
                Ok(Err(e)) => {
                    tracing::debug!(%addr, error = %e, "local connect failed");
                    let _ = events.send((key, PumpEvent::Closed { clean: false }));
                    return;
                }
                Err(_) => {
                    tracing::debug!(%addr, "local connect timed out");
                    let _ = events.send((key, PumpEvent::Closed { clean: false }));
                    return;
                }
            }
        }
    };
    let _ = stream.set_nodelay(true);
    let stream = Arc::new(stream);
    let _ = events.send((key, PumpEvent::Connected(stream.clone())));
    let mut pump = Pump {
        key,
        stream,
        credit,
        pending: VecDeque::new(),
        read_open: true,
        closing: false,
        events,
    };
    let clean = pump.run(commands).await.is_ok();
    if clean {
        pump.linger().await;
    }
}

struct Pump<K> {
    key: K,
    stream: Arc<TcpStream>,
    credit: u32,
    pending: VecDeque<Bytes>,
    read_open: bool,
    closing: bool,
    events: EventSender<K>,
}

impl<K: Copy> Pump<K> {
    fn emit(&self, event: PumpEvent) {
        let _ = self.events.send((self.key, event));
    }

    async fn run(&mut self, mut commands: mpsc::UnboundedReceiver<PumpCommand>) -> io::Result<()> {
        loop {
            if self.closing && self.pending.is_empty() {
                return Ok(());
            }
            let want_read = self.read_open && !self.closing && self.credit > 0;
            let want_write = !self.pending.is_empty();
            tokio::select! {
                command = commands.recv(), if !self.closing => match command {
                    Some(PumpCommand::Write(data)) => {
                        if !data.is_empty() {
                            self.pending.push_back(data);
                        }
                    }
                    Some(PumpCommand::Grant(n)) => self.credit = self.credit.saturating_add(n),
                    Some(PumpCommand::Close) | None => self.closing = true,
                },
                ready = self.stream.writable(), if want_write => {
                    ready?;
                    if let Err(e) = self.write_some() {
                        self.emit(PumpEvent::Closed { clean: false });
                        return Err(e);
                    }
                }
                ready = self.stream.readable(), if want_read => {
                    ready?;
                    if let Err(e) = self.read_some() {
                        self.emit(PumpEvent::Closed { clean: false });
                        return Err(e);
                    }
                }
            }
        }
    }

    fn write_some(&mut self) -> io::Result<()> {
        let mut written = 0u32;
        while let Some(front) = self.pending.front_mut() {
            match self.stream.try_write(front) {
                Ok(n) => {
                    written += n as u32;
                    front.advance(n);
                    if front.is_empty() {
                        self.pending.pop_front();
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => return Err(e),
            }
        }
        if written > 0 {
            self.emit(PumpEvent::Delivered(written));
        }
        Ok(())
    }

    fn read_some(&mut self) -> io::Result<()> {
        let want = (self.credit as usize).min(MAX_READ);
        let mut buf = BytesMut::with_capacity(want);
        match self.stream.try_read_buf(&mut buf) {
            Ok(0) => {
                self.read_open = false;
                self.emit(PumpEvent::Closed { clean: true });
                Ok(())
            }
            Ok(n) => {
                self.credit -= n as u32;
                self.emit(PumpEvent::Data(buf.freeze()));
                Ok(())
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Half-closes our side and waits (briefly) for the local peer to finish, discarding
    /// what it still sends, so closing never resets a connection with our bytes unread.
    async fn linger(&mut self) {
        if socket2::SockRef::from(&*self.stream)
            .shutdown(std::net::Shutdown::Write)
            .is_err()
        {
            return;
        }
        let mut scratch = [0u8; 4096];
        let _ = tokio::time::timeout(LINGER, async {
            loop {
                if self.stream.readable().await.is_err() {
                    break;
                }
                match self.stream.try_read(&mut scratch) {
                    Ok(0) => break,
                    Ok(_) => {}
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(_) => break,
                }
            }
        })
        .await;
    }
}
