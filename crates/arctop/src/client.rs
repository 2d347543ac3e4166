//! The tokio driver of a client: connects (to an address or a discovered server), sends
//! `auth`, and yields what the [`Session`] makes of each frame as a [`Stream`] of
//! [`Event`]s until `sessionComplete`, reconnecting with backoff when asked to.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::pin::Pin;
use std::time::Duration;

use bytes::BytesMut;
use futures::{Stream, StreamExt};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio_util::codec::FramedRead;
use wire::{FrameCodec, FrameError};

use crate::Error;
use crate::discovery::Server;
use crate::frame;
use crate::message::{ApiKey, MessageError, Received};
use crate::session::{Phase, Session, Step};

/// Where to connect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `HOST:PORT` (a name is resolved; every address is tried in turn).
    Addr(String),
    /// A server found earlier by [`discovery`](crate::discovery) (its addresses in turn).
    Server(Server),
    /// The first server mDNS finds (with [`ClientConfig::expect_name`], the first with
    /// that instance name); browsed afresh on every reconnect, so a server that came back
    /// on a new address or port is found there.
    Discover,
}

/// How long to wait between reconnect attempts: exponential from `initial` to `max`, each
/// delay jittered by up to a quarter either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The first delay.
    pub initial: Duration,
    /// The largest delay.
    pub max: Duration,
    /// Give up after this many failed attempts in a row (`None`: never).
    pub max_attempts: Option<u32>,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            initial: Duration::from_millis(500),
            max: Duration::from_secs(30),
            max_attempts: None,
        }
    }
}

impl Backoff {
    /// The delay before attempt `attempt` (1 for the first retry), without jitter.
    pub fn base_delay(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.saturating_sub(1).min(16));
        self.initial.saturating_mul(factor).min(self.max)
    }

    fn delay(&self, attempt: u32) -> Duration {
        self.jittered(attempt, rand::random_range(0.75..1.25))
    }

    /// The delay before attempt `attempt`, scaled by `jitter`; saturates at
    /// [`Duration::MAX`] (an absurd `initial` or `max` never panics).
    fn jittered(&self, attempt: u32, jitter: f64) -> Duration {
        let secs = self.base_delay(attempt).as_secs_f64() * jitter;
        Duration::try_from_secs_f64(secs).unwrap_or(if secs > 0.0 {
            Duration::MAX
        } else {
            Duration::ZERO
        })
    }
}

/// What a client needs to know.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Where to connect.
    pub target: Target,
    /// The API key (never logged).
    pub api_key: ApiKey,
    /// How long to wait for the auth reply.
    pub auth_timeout: Duration,
    /// How long a TCP connect may take.
    pub connect_timeout: Duration,
    /// How long to browse when [`Target::Discover`].
    pub discover_timeout: Duration,
    /// Reconnect on transport failures and timeouts (never after `auth-failed`).
    pub reconnect: Option<Backoff>,
    /// The largest frame payload accepted (at most 65,535).
    pub max_payload: usize,
    /// Once authenticated, no frame from the server for this long ends the session with
    /// [`Error::IdleTimeout`] (a reconnect, with [`reconnect`](Self::reconnect)). `None`,
    /// the default, waits forever (TCP keepalive still notices a vanished host).
    pub idle_timeout: Option<Duration>,
    /// With [`Target::Discover`]: accept only the mDNS instance with exactly this name
    /// (`ArctopService (2)`); others are skipped and reported as
    /// [`Event::ServerSkipped`]. `None`, the default, takes the first Arctop server.
    pub expect_name: Option<String>,
    /// Yield [`Event::Connecting`] (the chosen address and discovered server) after the
    /// TCP connect and before the API key is sent, on every attempt. `false`, the default,
    /// sends the key at once without that event.
    pub announce_target: bool,
}

impl ClientConfig {
    /// Defaults: 10 s auth and connect timeouts, 5 s discovery, no reconnect, 65,535-byte
    /// frames, no idle timeout, any instance name.
    pub fn new(target: Target, api_key: ApiKey) -> Self {
        ClientConfig {
            target,
            api_key,
            auth_timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(10),
            discover_timeout: Duration::from_secs(5),
            reconnect: None,
            max_payload: frame::MAX_PAYLOAD,
            idle_timeout: None,
            expect_name: None,
            announce_target: false,
        }
    }
}

/// What the stream yields.
#[derive(Debug)]
#[non_exhaustive]
pub enum Event {
    /// Discovery passed over this Arctop server: its instance name is not
    /// [`ClientConfig::expect_name`]. Comes before [`Event::Connecting`].
    ServerSkipped {
        /// The server passed over.
        server: Server,
    },
    /// With [`ClientConfig::announce_target`]: the TCP connection is up and the API key
    /// is not sent yet; it goes out when the stream is next polled (drop the stream
    /// instead to never send it). Every attempt yields one, before [`Event::Connected`].
    Connecting {
        /// The address connected to.
        addr: SocketAddr,
        /// The discovered server (name, host, addresses, port), when mDNS chose it.
        server: Option<Server>,
    },
    /// Authenticated: messages follow.
    Connected {
        /// The server's address.
        addr: SocketAddr,
        /// The discovered server, when the address came from mDNS.
        server: Option<Server>,
    },
    /// A stream message. After `sessionComplete` the stream ends.
    Message(Received),
    /// A frame that is not a readable message (invalid JSON, bad encoding): reported and
    /// skipped, the stream goes on.
    Skipped {
        /// The payload length.
        len: usize,
        /// Why it was skipped.
        error: MessageError,
    },
    /// The connection failed; the next attempt starts after `delay`.
    Reconnecting {
        /// 1 for the first retry after a failure.
        attempt: u32,
        /// The wait before it.
        delay: Duration,
        /// What failed.
        cause: Error,
    },
}

/// The events of a client, until `sessionComplete` (then `None`) or an error (the last
/// item).
pub type EventStream = Pin<Box<dyn Stream<Item = Result<Event, Error>> + Send>>;

/// Starts a client. Nothing happens until the stream is polled.
///
/// ```no_run
/// use futures::StreamExt;
/// use arctop::{ApiKey, ClientConfig, Event, Target};
///
/// # async fn run() -> Result<(), arctop::Error> {
/// let config = ClientConfig::new(Target::Addr("192.168.1.20:4567".into()), ApiKey::new("key"));
/// let mut events = arctop::connect(config);
/// while let Some(event) = events.next().await {
///     if let Event::Message(received) = event? {
///         println!("{:?}", received.message);
///     }
/// }
/// # Ok(()) }
/// ```
pub fn connect(config: ClientConfig) -> EventStream {
    let driver = Driver {
        config,
        conn: None,
        pending: VecDeque::new(),
        failures: 0,
        wait: None,
        done: false,
    };
    Box::pin(futures::stream::unfold(driver, |mut driver| async move {
        let item = driver.next().await?;
        Some((item, driver))
    }))
}

struct Connection {
    frames: FramedRead<TcpStream, FrameCodec>,
    session: Session,
    /// The auth request is not sent yet (the caller first sees [`Event::Connecting`]).
    auth_pending: bool,
    addr: SocketAddr,
    server: Option<Server>,
}

/// The runtime's clock as a std instant for the sans-IO session (follows a paused clock).
fn clock() -> std::time::Instant {
    tokio::time::Instant::now().into_std()
}

struct Driver {
    config: ClientConfig,
    conn: Option<Connection>,
    /// Events to yield before doing anything else.
    pending: VecDeque<Event>,
    /// Failed attempts in a row.
    failures: u32,
    /// Backoff to sleep before the next connect.
    wait: Option<Duration>,
    done: bool,
}

impl Driver {
    async fn next(&mut self) -> Option<Result<Event, Error>> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Some(Ok(event));
            }
            if self.done {
                return None;
            }
            let conn = match &mut self.conn {
                Some(conn) => conn,
                None => {
                    if let Some(wait) = self.wait.take() {
                        tokio::time::sleep(wait).await;
                    }
                    match self.open().await {
                        Ok((conn, skipped)) => {
                            self.pending.extend(
                                skipped
                                    .into_iter()
                                    .map(|server| Event::ServerSkipped { server }),
                            );
                            if self.config.announce_target {
                                self.pending.push_back(Event::Connecting {
                                    addr: conn.addr,
                                    server: conn.server.clone(),
                                });
                            }
                            self.conn = Some(conn);
                            continue;
                        }
                        Err(e) => return Some(self.fail(e)),
                    }
                }
            };
            if conn.auth_pending {
                let mut request = BytesMut::new();
                if let Err(e) = Session::auth_request(&self.config.api_key, &mut request) {
                    let e = Error::Config(format!("cannot encode the auth request: {e}"));
                    return Some(self.fail(e));
                }
                if let Err(e) = conn.frames.get_mut().write_all(&request).await {
                    return Some(self.fail(Error::Io(e)));
                }
                tracing::debug!(addr = %conn.addr, "auth sent");
                conn.session = Session::new(clock(), self.config.auth_timeout)
                    .with_idle_timeout(self.config.idle_timeout);
                conn.auth_pending = false;
            }
            let frame = match conn.session.poll_timeout() {
                Some(deadline) => {
                    match tokio::time::timeout_at(deadline.into(), conn.frames.next()).await {
                        Ok(frame) => frame,
                        Err(_) => {
                            let now = deadline.max(clock());
                            match conn.session.handle_timeout(now) {
                                Err(e) => return Some(self.fail(e)),
                                Ok(()) => continue,
                            }
                        }
                    }
                }
                None => conn.frames.next().await,
            };
            let step = match frame {
                Some(Ok(payload)) => {
                    conn.session.frame_received(clock());
                    conn.session.handle_frame(&payload)
                }
                Some(Err(FrameError::EofMidFrame { received, expected })) => {
                    Err(Error::ConnectionLost {
                        during_auth: conn.session.phase() == Phase::AwaitingAuthReply,
                        inside_frame: Some((received, expected)),
                    })
                }
                Some(Err(FrameError::Oversize { announced, max })) => {
                    Err(Error::OversizeFrame { announced, max })
                }
                Some(Err(FrameError::Io(e))) => Err(Error::Io(e)),
                Some(Err(FrameError::ForeignProtocol { protocol })) => {
                    Err(Error::ForeignProtocol { protocol })
                }
                Some(Err(other)) => Err(Error::Io(std::io::Error::other(other))),
                None => match conn.session.handle_eof(None) {
                    Ok(()) => {
                        self.done = true;
                        return None;
                    }
                    Err(e) => Err(e),
                },
            };
            match step {
                Ok(Step::Authenticated) => {
                    self.failures = 0;
                    tracing::info!(addr = %conn.addr, "authenticated");
                    return Some(Ok(Event::Connected {
                        addr: conn.addr,
                        server: conn.server.clone(),
                    }));
                }
                Ok(Step::Message(received)) => {
                    if conn.session.phase() == Phase::Complete {
                        tracing::info!("session complete");
                        self.done = true;
                        self.conn = None;
                    }
                    return Some(Ok(Event::Message(received)));
                }
                Ok(Step::Skipped { len, error }) => {
                    return Some(Ok(Event::Skipped { len, error }));
                }
                Ok(Step::Ignored(received)) => {
                    tracing::debug!(command = received.message.command(), "ignored");
                }
                Err(e) => return Some(self.fail(e)),
            }
        }
    }

    /// Ends the connection; either schedules a reconnect (and says so) or ends the stream.
    fn fail(&mut self, cause: Error) -> Result<Event, Error> {
        self.conn = None;
        let Some(backoff) = self.config.reconnect.filter(|_| cause.is_transient()) else {
            self.done = true;
            return Err(cause);
        };
        self.failures += 1;
        if backoff.max_attempts.is_some_and(|max| self.failures > max) {
            self.done = true;
            return Err(cause);
        }
        let delay = backoff.delay(self.failures);
        tracing::info!(attempt = self.failures, delay_ms = delay.as_millis() as u64, error = %cause, "reconnecting");
        self.wait = Some(delay);
        Ok(Event::Reconnecting {
            attempt: self.failures,
            delay,
            cause,
        })
    }

    /// Finds the target (browsing afresh for [`Target::Discover`]: nothing is cached
    /// between attempts) and connects; the auth request is not sent yet. Also returns the
    /// servers discovery skipped.
    async fn open(&mut self) -> Result<(Connection, Vec<Server>), Error> {
        let (addrs, server, skipped) = match &self.config.target {
            Target::Addr(text) => (resolve(text).await?, None, Vec::new()),
            Target::Server(server) => (server.socket_addrs(), Some(server.clone()), Vec::new()),
            #[cfg(not(feature = "mdns"))]
            Target::Discover => {
                return Err(Error::Config(
                    "finding a server by mDNS needs arctop's feature mdns".into(),
                ));
            }
            #[cfg(feature = "mdns")]
            Target::Discover => {
                let chosen = crate::discovery::discover_first_matching(
                    self.config.discover_timeout,
                    self.config.expect_name.as_deref(),
                )
                .await?;
                let server = chosen.server;
                tracing::info!(name = %server.name, host = %server.host, port = server.port, "discovered");
                (server.socket_addrs(), Some(server), chosen.skipped)
            }
        };
        let (stream, addr) = connect_any(&addrs, self.config.connect_timeout).await?;
        let codec = frame::codec().with_max_payload(self.config.max_payload);
        let conn = Connection {
            frames: FramedRead::with_capacity(stream, codec, 64 * 1024),
            // Replaced when the auth request goes out.
            session: Session::new(clock(), self.config.auth_timeout),
            auth_pending: true,
            addr,
            server,
        };
        Ok((conn, skipped))
    }
}

async fn resolve(text: &str) -> Result<Vec<SocketAddr>, Error> {
    let resolve_error = |source| Error::Resolve {
        addr: text.to_string(),
        source,
    };
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host(text)
        .await
        .map_err(resolve_error)?
        .collect();
    if addrs.is_empty() {
        return Err(resolve_error(std::io::Error::other("no address")));
    }
    Ok(addrs)
}

/// Connects to the first address that answers; the error of the last one otherwise.
async fn connect_any(
    addrs: &[SocketAddr],
    timeout: Duration,
) -> Result<(TcpStream, SocketAddr), Error> {
    let mut last = None;
    for &addr in addrs {
        match tokio::time::timeout(timeout, TcpStream::connect(addr)).await {
            Ok(Ok(stream)) => {
                configure(&stream);
                return Ok((stream, addr));
            }
            Ok(Err(source)) => last = Some(Error::Connect { addr, source }),
            Err(_) => {
                last = Some(Error::ConnectTimeout {
                    addr,
                    after: timeout,
                })
            }
        }
    }
    Err(last.unwrap_or_else(|| Error::Config("no address to connect to".into())))
}

/// No Nagle delay for the auth request; TCP keepalive so a vanished phone (killed app, lost
/// Wi-Fi: the server sends nothing) is noticed within about a minute.
fn configure(stream: &TcpStream) {
    let _ = stream.set_nodelay(true);
    let keepalive = socket2::TcpKeepalive::new()
        .with_time(Duration::from_secs(20))
        .with_interval(Duration::from_secs(5));
    #[cfg(any(target_os = "linux", target_os = "macos"))]
    let keepalive = keepalive.with_retries(6);
    let _ = socket2::SockRef::from(stream).set_tcp_keepalive(&keepalive);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let b = Backoff {
            initial: Duration::from_millis(500),
            max: Duration::from_secs(4),
            max_attempts: None,
        };
        let delays: Vec<u64> = (1..=6)
            .map(|a| b.base_delay(a).as_millis() as u64)
            .collect();
        assert_eq!(delays, [500, 1000, 2000, 4000, 4000, 4000]);
        assert_eq!(b.base_delay(u32::MAX), Duration::from_secs(4));
        for attempt in 1..10 {
            let d = b.delay(attempt);
            assert!(
                d >= b.base_delay(attempt).mul_f64(0.75)
                    && d <= b.base_delay(attempt).mul_f64(1.25)
            );
        }
    }

    #[test]
    fn an_absurd_backoff_saturates_instead_of_panicking() {
        let b = Backoff {
            initial: Duration::MAX,
            max: Duration::MAX,
            max_attempts: None,
        };
        for attempt in [1, 2, 40, u32::MAX] {
            assert_eq!(b.jittered(attempt, 1.2499), Duration::MAX, "{attempt}");
            assert!(b.jittered(attempt, 0.75) >= Duration::from_secs(u64::MAX / 2));
            // The random jitter too.
            assert!(b.delay(attempt) >= Duration::from_secs(u64::MAX / 2));
        }
        let zero = Backoff {
            initial: Duration::ZERO,
            ..b
        };
        assert_eq!(zero.jittered(3, 1.1), Duration::ZERO);
    }
}
