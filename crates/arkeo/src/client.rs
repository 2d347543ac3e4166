//! The tokio driver: one TCP connection, one [`Exchange`], the socket I/O and the timers.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::exchange::{DEFAULT_MAX_REPLY, Exchange};
use crate::{Dialect, Error, Reply, Request};

/// Connect and request timeouts, and the reply size limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientOptions {
    /// How long a TCP connect may take. Default: 5 s.
    pub connect_timeout: Duration,
    /// How long a request may wait for its whole reply (sending included). Default: 10 s.
    pub request_timeout: Duration,
    /// The largest reply payload accepted, checked before allocating. Default: 16 MiB.
    pub max_reply: usize,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(10),
            max_reply: DEFAULT_MAX_REPLY,
        }
    }
}

/// A connection to an ARKEO instrument (or the simulator of the `simulator` feature).
///
/// Requests take `&mut self`, so one request is in flight at a time by construction: the
/// API forbids pipelining. Share a client between tasks behind a `tokio::sync::Mutex`.
#[derive(Debug)]
pub struct Client {
    stream: TcpStream,
    peer: SocketAddr,
    exchange: Exchange,
    options: ClientOptions,
    read_buf: BytesMut,
    write_buf: BytesMut,
}

impl Client {
    /// Connects with the default options.
    pub async fn connect(addr: &str, dialect: Dialect) -> Result<Client, Error> {
        Self::connect_with(addr, dialect, ClientOptions::default()).await
    }

    /// Connects to `addr` (`host:port`; a bare host gets the dialect's default port).
    pub async fn connect_with(
        addr: &str,
        dialect: Dialect,
        options: ClientOptions,
    ) -> Result<Client, Error> {
        let target = with_default_port(addr, dialect.default_port());
        let connect = TcpStream::connect(target.as_str());
        let stream = match tokio::time::timeout(options.connect_timeout, connect).await {
            Ok(Ok(stream)) => stream,
            Ok(Err(source)) => {
                return Err(Error::Connect {
                    addr: target,
                    source,
                });
            }
            Err(_) => {
                return Err(Error::Timeout {
                    waiting_for: format!("the connection to {target}"),
                    after: options.connect_timeout,
                });
            }
        };
        Self::from_stream(stream, dialect, options)
    }

    /// Wraps a connected stream.
    pub fn from_stream(
        stream: TcpStream,
        dialect: Dialect,
        options: ClientOptions,
    ) -> Result<Client, Error> {
        // Small request/reply frames: do not wait for Nagle.
        stream.set_nodelay(true)?;
        let peer = stream.peer_addr()?;
        tracing::debug!(%peer, %dialect, "connected");
        Ok(Client {
            stream,
            peer,
            exchange: Exchange::new(dialect, options.max_reply),
            options,
            read_buf: BytesMut::with_capacity(8 * 1024),
            write_buf: BytesMut::with_capacity(1024),
        })
    }

    /// The dialect spoken.
    pub fn dialect(&self) -> Dialect {
        self.exchange.dialect()
    }

    /// The instrument's address.
    pub fn peer_addr(&self) -> SocketAddr {
        self.peer
    }

    /// The options in use.
    pub fn options(&self) -> ClientOptions {
        self.options
    }

    /// False once a failure left the connection out of step (a timeout, a transport error,
    /// a protocol violation, an abandoned request): every further request fails with
    /// [`Error::Unusable`], so reconnect. A rejection (an error reply) keeps it usable.
    pub fn is_usable(&self) -> bool {
        self.exchange.is_usable() && !self.exchange.is_waiting()
    }

    /// Changes the largest reply payload accepted from now on (checked before allocating).
    pub fn set_max_reply(&mut self, max_reply: usize) {
        self.exchange.set_max_reply(max_reply);
        self.options.max_reply = max_reply;
    }

    /// Sends one request and waits for its reply, within the configured request timeout.
    pub async fn request(&mut self, request: &Request) -> Result<Reply, Error> {
        let timeout = self.options.request_timeout;
        self.request_within(request, timeout).await
    }

    /// Like [`request`](Self::request) with another timeout for this one request.
    ///
    /// Dropping the returned future before it completes (an outer timeout, a `select!`)
    /// abandons the request: its reply may still arrive, so later requests on this client
    /// fail with [`Error::Unusable`] instead of reading that stale reply. Reconnect.
    pub async fn request_within(
        &mut self,
        request: &Request,
        timeout: Duration,
    ) -> Result<Reply, Error> {
        // Still waiting here means the previous request's future was dropped mid-way.
        self.exchange.abandon();
        self.write_buf.clear();
        let id = self
            .exchange
            .send(request, Instant::now(), timeout, &mut self.write_buf)?;
        tracing::trace!(command = request.command_name(), ?id, "request");
        let deadline = self
            .exchange
            .deadline()
            .map(tokio::time::Instant::from_std)
            .unwrap_or_else(tokio::time::Instant::now);
        match tokio::time::timeout_at(deadline, self.exchange_io()).await {
            Ok(result) => result,
            Err(_) => Err(self
                .exchange
                .handle_timeout(Instant::now())
                .unwrap_or_else(|| Error::Timeout {
                    waiting_for: format!("the reply to {}", request.command_name()),
                    after: timeout,
                })),
        }
    }

    async fn exchange_io(&mut self) -> Result<Reply, Error> {
        if let Err(e) = self.stream.write_all(&self.write_buf).await {
            return Err(self.exchange.handle_transport_error(e));
        }
        loop {
            if let Some(reply) = self.exchange.receive(&mut self.read_buf)? {
                return Ok(reply);
            }
            match self.stream.read_buf(&mut self.read_buf).await {
                Ok(0) => {
                    return Err(self.exchange.receive_eof(&mut self.read_buf).unwrap_or(
                        Error::Closed {
                            received: 0,
                            expected: 0,
                        },
                    ));
                }
                Ok(_) => {}
                Err(e) => return Err(self.exchange.handle_transport_error(e)),
            }
        }
    }

    /// Convenience: an All-in-One request with a target, command and parameter.
    pub async fn call(
        &mut self,
        target: &str,
        command: &str,
        parameter: Value,
    ) -> Result<Reply, Error> {
        self.request(&Request::new(target, command).parameter(parameter))
            .await
    }

    /// Closes the connection (the API has no goodbye message).
    pub async fn close(mut self) -> Result<(), Error> {
        self.stream.shutdown().await?;
        Ok(())
    }
}

/// `host` becomes `host:port`; `host:port`, `[v6]:port` stay; a bare IPv6 address gets
/// brackets and the port.
pub fn with_default_port(addr: &str, port: u16) -> String {
    if addr.parse::<SocketAddr>().is_ok() {
        return addr.to_string();
    }
    if addr.parse::<std::net::Ipv6Addr>().is_ok() {
        return format!("[{addr}]:{port}");
    }
    if addr.starts_with('[') && addr.ends_with(']') {
        return format!("{addr}:{port}");
    }
    match addr.rsplit_once(':') {
        Some((_, p)) if p.parse::<u16>().is_ok() => addr.to_string(),
        _ => format!("{addr}:{port}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_port_is_added_only_when_missing() {
        let cases = [
            ("127.0.0.1", "127.0.0.1:6360"),
            ("127.0.0.1:7000", "127.0.0.1:7000"),
            ("localhost", "localhost:6360"),
            ("localhost:1", "localhost:1"),
            ("::1", "[::1]:6360"),
            ("[::1]", "[::1]:6360"),
            ("[::1]:9", "[::1]:9"),
        ];
        for (input, want) in cases {
            assert_eq!(with_default_port(input, 6360), want, "{input}");
        }
    }
}
