//! The timing and limits of a connection.

use std::time::Duration;

/// Timing and limits of a connection.
#[derive(Debug, Clone)]
pub struct ConnectionConfig {
    /// Session capacity in bytes, both directions (REGISTER's window_size + 1): 1..=65,536.
    pub capacity: u32,
    /// How long to wait for the ACK of REGISTER.
    pub handshake_timeout: Duration,
    /// Idle time between our PINGs.
    pub ping_interval: Duration,
    /// How long to wait for the ACK of a PING. A silent service is noticed within
    /// `ping_interval + ping_timeout` of its last answer (35 s with the defaults).
    pub ping_timeout: Duration,
    /// Local sockets allowed at once: sessions open or still connecting, and local
    /// connections whose session ended but which are still writing what they hold
    /// (reported with [`Connection::handle_local_released`] once gone). A CONNECT that
    /// would go over is answered with HUP 3. 1..=[`MAX_SESSIONS`](Self::MAX_SESSIONS).
    ///
    /// [`Connection::handle_local_released`]: super::Connection::handle_local_released
    pub max_sessions: usize,
    /// Gateway mode (REGISTER flag 0x1): sessions may reach services on other hosts.
    /// Without it a CONNECT for a service whose address is not a loopback address is
    /// answered with HUP 3, so the client never opens more of the network than this host.
    pub gateway: bool,
    /// Discovery is on: SCAN_NETWORK asks for a scan ([`Event::ScanRequested`]).
    ///
    /// [`Event::ScanRequested`]: super::Event::ScanRequested
    pub discovery: bool,
    /// On [`Connection::shutdown`](super::Connection::shutdown), how long open sessions
    /// get to deliver what they hold before they are hung up anyway.
    pub shutdown_grace: Duration,
}

impl ConnectionConfig {
    /// The largest session capacity: REGISTER's window_size is a `u16` holding the capacity
    /// minus 1.
    pub const MAX_CAPACITY: u32 = 65_536;

    /// The highest session limit a person may configure: beyond this, descriptors and
    /// memory, not the limit, decide what a hostile service can make the client hold.
    pub const MAX_SESSIONS: usize = 16_384;

    /// The default session limit: what a camera gateway needs (a few streams per camera,
    /// dozens of cameras), and a small fraction of the usual open-file limit of 1024.
    pub const DEFAULT_MAX_SESSIONS: usize = 256;

    /// `n` as a session limit, checked against `1..=`[`MAX_SESSIONS`](Self::MAX_SESSIONS);
    /// the error says the allowed range.
    pub fn checked_max_sessions(n: i64) -> Result<usize, String> {
        match usize::try_from(n) {
            Ok(limit @ 1..=Self::MAX_SESSIONS) => Ok(limit),
            _ => Err(format!("must be 1..={}, not {n}", Self::MAX_SESSIONS)),
        }
    }

    /// `bytes` as a session capacity, checked against `1..=`[`MAX_CAPACITY`](Self::MAX_CAPACITY);
    /// the error says the allowed range.
    pub fn checked_capacity(bytes: i64) -> Result<u32, String> {
        match u32::try_from(bytes) {
            Ok(capacity @ 1..=Self::MAX_CAPACITY) => Ok(capacity),
            _ => Err(format!(
                "must be 1..={} bytes, not {bytes}",
                Self::MAX_CAPACITY
            )),
        }
    }
}

impl Default for ConnectionConfig {
    fn default() -> Self {
        ConnectionConfig {
            capacity: Self::MAX_CAPACITY,
            handshake_timeout: Duration::from_secs(20),
            ping_interval: Duration::from_secs(20),
            ping_timeout: Duration::from_secs(15),
            max_sessions: Self::DEFAULT_MAX_SESSIONS,
            gateway: false,
            discovery: false,
            shutdown_grace: Duration::from_secs(3),
        }
    }
}
