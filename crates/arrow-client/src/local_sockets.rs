//! Local TCP connections bridged to sessions, polled by the task that owns them.
//!
//! [`LocalSockets`] holds every local connection of one tunnel connection (the client's
//! connections to its local services, or the development service's user connections) and
//! is driven from its owner's task: no task and no channel per connection, so a byte read
//! from a local socket becomes a DATA message, and a DATA message becomes a write to a
//! local socket, without a task hop or a cross-thread wake-up.
//!
//! - Writes ([`LocalSockets::write`]) go to the socket at once while it takes them; the
//!   rest is queued and written (vectored) when the socket becomes writable.
//! - Reads happen only while the connection holds read credit ([`LocalSockets::grant`]):
//!   with none, the socket is not read and the kernel's buffers push back on the peer.
//!   A grant is read in the next poll, so grants that come together are read together.
//!   A socket gets one read per poll, in turn with the other ready sockets, so the message
//!   it made goes out before the next read; a lone socket reads half a window at a time
//!   (see `LONE_READ`). An idle connection holds no buffer: reads land in a few regions
//!   shared by all connections (`read_regions`).
//! - Readiness: each socket has its own waker; when tokio wakes it, the socket's key goes
//!   on a ready list and the owner's task is woken; [`LocalSockets::poll_io`] then does the
//!   I/O of exactly the sockets on that list.
//! - What happened (bytes read, bytes written, end of stream, failure) is queued as
//!   [`LocalEvent`]s, in order per connection, for the owner to take with
//!   [`LocalSockets::pop_event`].
//! - Closing ([`LocalSockets::close`]) hands the socket and the bytes still queued for it
//!   to a short-lived task that writes them, half-closes and waits briefly for the peer to
//!   finish, so closing never drops bytes already received nor resets the connection.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::io::{self, IoSlice};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use bytes::{Buf, BufMut, Bytes};
use futures::task::AtomicWaker;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::mpsc;

use crate::read_regions::ReadRegions;

/// Largest single read from a local socket (an Arrow session's whole window).
const MAX_READ: usize = 64 * 1024;
/// Largest read when the socket is the only one ready: half the window, so that a lone
/// session has two DATA messages in flight and the two ends of the tunnel work at once
/// (the peer delivers the first while this side reads and encrypts the second). When
/// other sockets are ready too, their messages keep the link busy and a read takes up to
/// [`MAX_READ`]: fewer, larger messages cost less per byte. Measured in
/// docs/arrow-efficiency.md.
const LONE_READ: usize = MAX_READ / 2;
/// Buffers in one vectored write.
const MAX_IOV: usize = 64;
/// How long a local connect may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a closed connection may take to accept the bytes still queued for it.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);
/// After our last byte, how long to wait for the local peer to close before dropping.
const LINGER: Duration = Duration::from_secs(2);

/// What happened on a local connection.
#[derive(Debug)]
pub(crate) enum LocalEvent {
    /// Bytes read from the socket (never more than the credit).
    Data(Bytes),
    /// Bytes written to the socket.
    Delivered(u32),
    /// The socket ended: `clean` for an orderly EOF, not for an error or failed connect.
    /// After an error nothing more is read or written; after an EOF queued bytes are still
    /// written.
    Closed { clean: bool },
    /// A connection closed with [`LocalSockets::close`] no longer holds a socket: its
    /// last bytes are written (or given up on) and the socket is gone. Comes once per
    /// `close` of a known key, after which nothing more is reported for it.
    Released,
}

/// The keys of sockets that became ready, and the owner's task to wake.
struct ReadyList<K> {
    keys: Mutex<Vec<K>>,
    owner: AtomicWaker,
}

/// The waker tokio holds for one socket: puts its key on the ready list (once until the
/// owner takes it) and wakes the owner.
struct SocketWaker<K> {
    key: K,
    queued: AtomicBool,
    list: Arc<ReadyList<K>>,
}

impl<K: Copy + Send + Sync + 'static> Wake for SocketWaker<K> {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if self.queue() {
            self.list.owner.wake();
        }
    }
}

impl<K: Copy> SocketWaker<K> {
    /// Puts the key on the ready list unless it is there already; true if it was not.
    /// From the owner's own task no wake-up is needed: it calls
    /// [`LocalSockets::poll_io`] (which takes the list) before it next waits.
    fn queue(&self) -> bool {
        let first = !self.queued.swap(true, Ordering::AcqRel);
        if first {
            self.list
                .keys
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(self.key);
        }
        first
    }
}

enum Stream {
    /// The connect is under way.
    Connecting,
    /// Connected.
    Open(TcpStream),
    /// Failed (reported); nothing more is read or written.
    Failed,
}

struct Local<K> {
    stream: Stream,
    notify: Arc<SocketWaker<K>>,
    waker: Waker,
    /// Bytes the socket has not taken yet, in order.
    pending: VecDeque<Bytes>,
    /// Bytes that may still be read.
    credit: u32,
    /// No EOF seen yet.
    read_open: bool,
    /// Closed by the owner while still connecting: drain and close once connected.
    closing: bool,
    /// Skipped for want of read budget; queued again when there is some.
    parked: bool,
}

/// Every local connection of one tunnel connection, keyed by `K`.
pub(crate) struct LocalSockets<K> {
    sockets: HashMap<K, Local<K>>,
    list: Arc<ReadyList<K>>,
    /// Keys taken from the ready list (reused buffer).
    scratch: Vec<K>,
    connected_tx: mpsc::UnboundedSender<(K, Option<TcpStream>)>,
    connected_rx: mpsc::UnboundedReceiver<(K, Option<TcpStream>)>,
    /// Closed connections whose finishing task is done (at most one message per socket).
    released_tx: mpsc::UnboundedSender<K>,
    released_rx: mpsc::UnboundedReceiver<K>,
    events: VecDeque<(K, LocalEvent)>,
    /// Where reads land (shared by every connection); each chunk read is split off.
    read_regions: ReadRegions,
    /// Largest read in this round of [`poll_io`](Self::poll_io): [`LONE_READ`] or
    /// [`MAX_READ`].
    read_cap: usize,
    /// Bytes that may be read before the owner's output has drained (`set_read_budget`).
    read_budget: usize,
    /// Sockets with credit skipped for want of budget.
    parked: Vec<K>,
}

impl<K> LocalSockets<K>
where
    K: Copy + Eq + Hash + Send + Sync + std::fmt::Debug + 'static,
{
    /// No connections.
    pub(crate) fn new() -> Self {
        let (connected_tx, connected_rx) = mpsc::unbounded_channel();
        let (released_tx, released_rx) = mpsc::unbounded_channel();
        LocalSockets {
            released_tx,
            released_rx,
            sockets: HashMap::new(),
            list: Arc::new(ReadyList {
                keys: Mutex::new(Vec::new()),
                owner: AtomicWaker::new(),
            }),
            scratch: Vec::new(),
            connected_tx,
            connected_rx,
            events: VecDeque::new(),
            read_regions: ReadRegions::new(),
            read_cap: LONE_READ,
            read_budget: usize::MAX,
            parked: Vec::new(),
        }
    }

    fn insert(&mut self, key: K, stream: Stream, credit: u32) {
        let notify = Arc::new(SocketWaker {
            key,
            queued: AtomicBool::new(false),
            list: self.list.clone(),
        });
        let waker = Waker::from(notify.clone());
        self.sockets.insert(
            key,
            Local {
                stream,
                notify,
                waker,
                pending: VecDeque::new(),
                credit,
                read_open: true,
                closing: false,
                parked: false,
            },
        );
    }

    /// Adds a connection to `addr` that may read `credit` bytes; the connect runs in the
    /// background, bytes written meanwhile are queued, a failure is a `Closed` event.
    pub(crate) fn connect(&mut self, key: K, addr: SocketAddr, credit: u32) {
        self.insert(key, Stream::Connecting, credit);
        let done = self.connected_tx.clone();
        tokio::spawn(async move {
            let stream = match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr)).await
            {
                Ok(Ok(stream)) => Some(stream),
                Ok(Err(e)) => {
                    tracing::debug!(%addr, error = %e, "local connect failed");
                    None
                }
                Err(_) => {
                    tracing::debug!(%addr, "local connect timed out");
                    None
                }
            };
            let _ = done.send((key, stream));
        });
    }

    /// Adds an accepted connection that may read `credit` bytes (the development service's
    /// users).
    #[cfg(feature = "dev-service")]
    pub(crate) fn accept(&mut self, key: K, stream: TcpStream, credit: u32) {
        let _ = stream.set_nodelay(true);
        self.insert(key, Stream::Open(stream), credit);
        self.drive(key);
    }

    /// Writes `data` after everything before it: now, as far as the socket takes it.
    pub(crate) fn write(&mut self, key: K, data: Bytes) {
        let Some(local) = self.sockets.get_mut(&key) else {
            return;
        };
        if data.is_empty() || matches!(local.stream, Stream::Failed) || local.closing {
            return;
        }
        local.pending.push_back(data);
        if local.pending.len() == 1 {
            self.drive(key);
        }
    }

    /// Allows `n` more bytes to be read. The read happens in the next
    /// [`poll_io`](Self::poll_io), not now: grants that come together (the DATA_ACKs of
    /// one window, handled in one go) become one read and one DATA message, not one each.
    /// Called from the owner's task, like every method here, so the owner is not woken:
    /// waking itself cost a spurious poll and often a worker thread's wake-up per grant.
    pub(crate) fn grant(&mut self, key: K, n: u32) {
        let Some(local) = self.sockets.get_mut(&key) else {
            return;
        };
        local.credit = local.credit.saturating_add(n);
        local.notify.queue();
    }

    /// How many bytes may be read (over all sockets) from now on: the owner's room for
    /// output it has not written yet. Reads stop when it is spent, so what is read waits in
    /// the socket's kernel buffer rather than in the owner's output; sockets skipped for it
    /// are read again once a budget is set that allows it.
    pub(crate) fn set_read_budget(&mut self, budget: usize) {
        self.read_budget = budget;
        if budget == 0 || self.parked.is_empty() {
            return;
        }
        for key in self.parked.drain(..) {
            if let Some(local) = self.sockets.get_mut(&key) {
                local.parked = false;
                local.notify.queue();
            }
        }
    }

    /// Stops reading and closes the connection once the bytes queued for it are written.
    /// Nothing more is reported for it but [`LocalEvent::Released`] once its socket is
    /// gone.
    pub(crate) fn close(&mut self, key: K) {
        let Some(mut local) = self.sockets.remove(&key) else {
            return;
        };
        match std::mem::replace(&mut local.stream, Stream::Failed) {
            Stream::Open(stream) => {
                finish(stream, local.pending, Some((key, self.released_tx.clone())));
            }
            Stream::Connecting => {
                // Kept until the connect ends, so what was queued still gets written.
                local.stream = Stream::Connecting;
                local.closing = true;
                self.sockets.insert(key, local);
            }
            Stream::Failed => self.events.push_back((key, LocalEvent::Released)),
        }
    }

    /// Closes every connection (as [`close`](Self::close)).
    pub(crate) fn close_all(&mut self) {
        let keys: Vec<K> = self.sockets.keys().copied().collect();
        for key in keys {
            self.close(key);
        }
        self.sockets.clear();
        // The owner is done with these connections: nothing more is reported.
        self.events.clear();
    }

    /// The next thing that happened, in order per connection.
    pub(crate) fn pop_event(&mut self) -> Option<(K, LocalEvent)> {
        self.events.pop_front()
    }

    /// Does the I/O of every socket that became ready (and finishes connects). Ready once
    /// there are events to take; otherwise the owner's task is woken when a socket it
    /// waits on becomes ready.
    pub(crate) fn poll_io(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        self.list.owner.register(cx.waker());
        while let Poll::Ready(Some((key, stream))) = self.connected_rx.poll_recv(cx) {
            self.on_connected(key, stream);
        }
        while let Poll::Ready(Some(key)) = self.released_rx.poll_recv(cx) {
            self.events.push_back((key, LocalEvent::Released));
        }
        {
            let mut keys = self.list.keys.lock().unwrap_or_else(|e| e.into_inner());
            std::mem::swap(&mut *keys, &mut self.scratch);
        }
        let mut keys = std::mem::take(&mut self.scratch);
        self.read_cap = if keys.len() > 1 { MAX_READ } else { LONE_READ };
        for key in keys.drain(..) {
            if let Some(local) = self.sockets.get(&key) {
                local.notify.queued.store(false, Ordering::Release);
                self.drive(key);
            }
        }
        self.scratch = keys;
        if self.events.is_empty() {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    }

    fn on_connected(&mut self, key: K, stream: Option<TcpStream>) {
        let Some(local) = self.sockets.get_mut(&key) else {
            return;
        };
        if !matches!(local.stream, Stream::Connecting) {
            return;
        }
        match stream {
            Some(stream) => {
                let _ = stream.set_nodelay(true);
                if local.closing {
                    if let Some(local) = self.sockets.remove(&key) {
                        finish(stream, local.pending, Some((key, self.released_tx.clone())));
                    }
                    return;
                }
                local.stream = Stream::Open(stream);
                self.drive(key);
            }
            None => {
                if local.closing {
                    self.sockets.remove(&key);
                    self.events.push_back((key, LocalEvent::Released));
                    return;
                }
                local.stream = Stream::Failed;
                local.pending.clear();
                self.events
                    .push_back((key, LocalEvent::Closed { clean: false }));
            }
        }
    }

    /// Writes what is queued and reads what the credit allows, until the socket would
    /// block (its waker is then registered) or there is nothing left to do.
    fn drive(&mut self, key: K) {
        let Some(local) = self.sockets.get_mut(&key) else {
            return;
        };
        let Stream::Open(stream) = &local.stream else {
            return;
        };
        let cap = self.read_cap.min(self.read_budget);
        if cap == 0 && local.credit > 0 && local.read_open && !local.parked {
            local.parked = true;
            self.parked.push(key);
        }
        let mut cx = Context::from_waker(&local.waker);
        let result = write_pending(stream, &mut cx, &mut local.pending, |n| {
            self.events.push_back((key, LocalEvent::Delivered(n)));
        })
        .and_then(|()| {
            read_credit(
                stream,
                &mut cx,
                &mut self.read_regions,
                cap,
                &mut local.credit,
                &mut local.read_open,
                |event| {
                    if let LocalEvent::Data(data) = &event {
                        self.read_budget = self.read_budget.saturating_sub(data.len());
                    }
                    self.events.push_back((key, event));
                },
            )
        });
        if matches!(result, Ok(true)) {
            // Read again in the next poll, once what this read produced has gone out and
            // every other ready socket had its turn.
            local.notify.queue();
        }
        if let Err(e) = result {
            tracing::debug!(?key, error = %e, "local connection failed");
            local.stream = Stream::Failed;
            local.pending.clear();
            self.events
                .push_back((key, LocalEvent::Closed { clean: false }));
        }
    }
}

impl<K> Drop for LocalSockets<K> {
    fn drop(&mut self) {
        // Let every open connection drain and close gracefully, when a runtime is there
        // to run that.
        if tokio::runtime::Handle::try_current().is_err() {
            return;
        }
        for (_, local) in self.sockets.drain() {
            if let Stream::Open(stream) = local.stream {
                finish::<()>(stream, local.pending, None);
            }
        }
    }
}

/// Writes `pending` (vectored) while the socket takes it; `delivered` gets the total.
fn write_pending(
    stream: &TcpStream,
    cx: &mut Context<'_>,
    pending: &mut VecDeque<Bytes>,
    delivered: impl FnOnce(u32),
) -> io::Result<()> {
    let mut written = 0usize;
    while !pending.is_empty() {
        match stream.poll_write_ready(cx) {
            Poll::Pending => break,
            Poll::Ready(ready) => ready?,
        }
        let result = if pending.len() == 1 {
            stream.try_write(&pending[0])
        } else {
            let mut iov = [IoSlice::new(&[]); MAX_IOV];
            let mut count = 0;
            for (slot, buf) in iov.iter_mut().zip(pending.iter()) {
                *slot = IoSlice::new(buf);
                count += 1;
            }
            stream.try_write_vectored(&iov[..count])
        };
        match result {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(mut n) => {
                written += n;
                while n > 0 {
                    let Some(front) = pending.front_mut() else {
                        break;
                    };
                    let step = n.min(front.len());
                    front.advance(step);
                    n -= step;
                    if front.is_empty() {
                        pending.pop_front();
                    }
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
    }
    if written > 0 {
        delivered(u32::try_from(written).unwrap_or(u32::MAX));
    }
    Ok(())
}

/// Reads one chunk of at most `cap` bytes within the credit, if there is one; the chunk (or
/// an EOF) goes to `event`. True when a chunk was read and credit is left: the socket may
/// hold more, and tokio reports it ready only after a read found it empty, so the caller
/// must come back.
fn read_credit(
    stream: &TcpStream,
    cx: &mut Context<'_>,
    regions: &mut ReadRegions,
    cap: usize,
    credit: &mut u32,
    read_open: &mut bool,
    mut event: impl FnMut(LocalEvent),
) -> io::Result<bool> {
    while *read_open && *credit > 0 && cap > 0 {
        match stream.poll_read_ready(cx) {
            Poll::Pending => break,
            Poll::Ready(ready) => ready?,
        }
        let want = (*credit as usize).min(cap);
        let buf = regions.room(want);
        match stream.try_read_buf(&mut (&mut *buf).limit(want)) {
            Ok(0) => {
                *read_open = false;
                event(LocalEvent::Closed { clean: true });
            }
            Ok(n) => {
                *credit -= n as u32;
                event(LocalEvent::Data(buf.split().freeze()));
                return Ok(*credit > 0);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
    }
    Ok(false)
}

/// Hands a closed connection to a task that writes what is still queued, half-closes and
/// waits (briefly) for the peer to finish, discarding what it still sends, so closing
/// never resets a connection with our bytes unread. Once the socket is dropped, its key
/// goes to `released` (when the owner wants to know).
fn finish<K: Send + 'static>(
    stream: TcpStream,
    pending: VecDeque<Bytes>,
    released: Option<(K, mpsc::UnboundedSender<K>)>,
) {
    tokio::spawn(async move {
        let _released = Released(released);
        let mut stream = stream;
        let drained = tokio::time::timeout(DRAIN_TIMEOUT, async {
            for data in pending {
                stream.write_all(&data).await?;
            }
            io::Result::Ok(())
        })
        .await;
        if !matches!(drained, Ok(Ok(()))) {
            return;
        }
        linger(&stream).await;
    });
}

/// Sends its key when dropped: after the socket it guards (declared after it), however the
/// task ends.
struct Released<K>(Option<(K, mpsc::UnboundedSender<K>)>);

impl<K> Drop for Released<K> {
    fn drop(&mut self) {
        if let Some((key, tx)) = self.0.take() {
            let _ = tx.send(key);
        }
    }
}

async fn linger(stream: &TcpStream) {
    if socket2::SockRef::from(stream)
        .shutdown(std::net::Shutdown::Write)
        .is_err()
    {
        return;
    }
    let mut scratch = [0u8; 4096];
    let _ = tokio::time::timeout(LINGER, async {
        loop {
            if stream.readable().await.is_err() {
                break;
            }
            match stream.try_read(&mut scratch) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(_) => break,
            }
        }
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    use tokio::io::AsyncWriteExt;
    use tokio::net::TcpListener;

    /// `n` local connections, each with `bytes` already written by its peer; the peers are
    /// returned so they stay open.
    async fn loaded(n: u32, bytes: usize) -> (LocalSockets<u32>, Vec<TcpStream>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut sockets = LocalSockets::new();
        let mut peers = Vec::new();
        for key in 0..n {
            sockets.connect(key, addr, 0);
            let (mut peer, _) = listener.accept().await.unwrap();
            peer.write_all(&vec![7u8; bytes]).await.unwrap();
            peers.push(peer);
        }
        // Every connect is reported before the first read is granted.
        std::future::poll_fn(|cx| {
            let _ = sockets.poll_io(cx);
            let open = sockets
                .sockets
                .values()
                .all(|l| matches!(l.stream, Stream::Open(_)));
            if open { Poll::Ready(()) } else { Poll::Pending }
        })
        .await;
        (sockets, peers)
    }

    /// The `Data` events of one poll that has any, by key and size.
    async fn one_poll(sockets: &mut LocalSockets<u32>) -> Vec<(u32, usize)> {
        std::future::poll_fn(|cx| sockets.poll_io(cx)).await;
        let mut reads = Vec::new();
        while let Some((key, event)) = sockets.pop_event() {
            if let LocalEvent::Data(data) = event {
                reads.push((key, data.len()));
            }
        }
        reads
    }

    #[tokio::test]
    async fn a_lone_socket_reads_half_a_window_per_poll() {
        let (mut sockets, _peers) = loaded(1, MAX_READ).await;
        sockets.grant(0, MAX_READ as u32);
        let mut total = 0;
        for _ in 0..MAX_READ {
            let reads = one_poll(&mut sockets).await;
            assert_eq!(reads.len(), 1, "one read per poll: {reads:?}");
            assert!(reads[0].1 <= LONE_READ, "{reads:?}");
            total += reads[0].1;
            if total == MAX_READ {
                break;
            }
        }
        assert_eq!(total, MAX_READ);
    }

    #[tokio::test]
    async fn no_read_without_budget_and_a_new_budget_reads_the_skipped_socket() {
        let (mut sockets, _peers) = loaded(1, 4096).await;
        sockets.set_read_budget(0);
        sockets.grant(0, MAX_READ as u32);
        // The grant is handled (the socket is ready) but nothing is read.
        let handled = std::future::poll_fn(|cx| Poll::Ready(sockets.poll_io(cx))).await;
        assert!(handled.is_pending());
        assert!(sockets.pop_event().is_none());
        sockets.set_read_budget(1000);
        let reads = one_poll(&mut sockets).await;
        assert_eq!(reads, [(0, 1000)], "the budget caps the read");
        assert_eq!(sockets.read_budget, 0);
    }

    #[tokio::test]
    async fn sockets_ready_together_take_turns_with_whole_window_reads() {
        let (mut sockets, _peers) = loaded(2, MAX_READ).await;
        sockets.grant(0, MAX_READ as u32);
        sockets.grant(1, MAX_READ as u32);
        let reads = one_poll(&mut sockets).await;
        // One read each in the first round, each allowed the whole window.
        let mut keys: Vec<u32> = reads.iter().map(|(k, _)| *k).collect();
        keys.sort_unstable();
        assert_eq!(keys, [0, 1], "{reads:?}");
        assert!(reads.iter().any(|(_, n)| *n > LONE_READ), "{reads:?}");
    }
}
