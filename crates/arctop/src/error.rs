//! The crate's error type, split by fault.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

/// Why a connection, a discovery or a simulator failed.
///
/// [`is_peer_fault`](Self::is_peer_fault), [`is_refusal`](Self::is_refusal) and friends say
/// whose fault it was; the CLI maps each to its exit code.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    // ---- the server said no
    /// The server answered `auth-failed`: the API key was refused.
    #[error("the server refused the API key (auth-failed)")]
    AuthFailed,

    // ---- the peer broke the protocol
    /// A frame announced more bytes than the configured maximum.
    #[error("frame announces {announced} bytes, over the limit of {max} bytes")]
    OversizeFrame {
        /// The length in the frame header.
        announced: u64,
        /// The configured maximum.
        max: usize,
    },
    /// The server sent stream data before answering the `auth` request.
    #[error("the server sent \"{command}\" before answering auth")]
    UnexpectedBeforeAuth {
        /// The command it sent.
        command: String,
    },

    /// The peer speaks another protocol (its first bytes look like HTTP, TLS or SSH): the
    /// address is not an Arctop Stream Server.
    #[error(
        "the server at this address speaks {protocol}, not the Arctop stream protocol: check the host and port"
    )]
    ForeignProtocol {
        /// What it speaks.
        protocol: wire::ForeignProtocol,
    },

    // ---- transport
    /// The connection closed before `sessionComplete`.
    #[error("{}", lost_text(*.during_auth, *.inside_frame))]
    ConnectionLost {
        /// True when it closed before the auth reply.
        during_auth: bool,
        /// `(received, expected)` bytes of the frame it cut, when it closed inside one.
        inside_frame: Option<(usize, usize)>,
    },
    /// No auth reply within the timeout.
    #[error("no auth reply within {}s", .after.as_secs_f64())]
    AuthTimeout {
        /// The timeout.
        after: Duration,
    },
    /// Authenticated, then no frame from the server within the idle timeout
    /// ([`ClientConfig::idle_timeout`](crate::ClientConfig::idle_timeout)): the phone is
    /// connected but silent.
    #[error("no frame from the server for {}s (idle timeout)", .after.as_secs_f64())]
    IdleTimeout {
        /// The idle timeout.
        after: Duration,
    },
    /// Connecting did not finish within the timeout.
    #[error("connecting to {addr} timed out after {}s", .after.as_secs_f64())]
    ConnectTimeout {
        /// The address tried.
        addr: SocketAddr,
        /// The timeout.
        after: Duration,
    },
    /// The TCP connection could not be made.
    #[error("cannot connect to {addr}: {source}")]
    Connect {
        /// The address tried.
        addr: SocketAddr,
        /// What the OS said.
        source: io::Error,
    },
    /// A host name did not resolve, or resolved to nothing.
    #[error("cannot resolve {addr}: {source}")]
    Resolve {
        /// The `HOST:PORT` given.
        addr: String,
        /// What the resolver said.
        source: io::Error,
    },
    /// Reading or writing the socket failed.
    #[error("transport: {0}")]
    Io(#[from] io::Error),
    /// mDNS found no Arctop server within the timeout.
    #[error("no Arctop server found by mDNS within {}s", .after.as_secs_f64())]
    NoServerFound {
        /// The discovery timeout.
        after: Duration,
    },
    /// mDNS found Arctop servers within the timeout, but none with the expected instance
    /// name ([`ClientConfig::expect_name`](crate::ClientConfig::expect_name)).
    #[error("no Arctop server named {expected:?} found by mDNS within {}s (found: {})", .after.as_secs_f64(), found_text(.found))]
    ExpectedServerNotFound {
        /// The instance name expected.
        expected: String,
        /// The discovery timeout.
        after: Duration,
        /// The instance names found and skipped.
        found: Vec<String>,
    },
    /// The mDNS daemon failed.
    #[error("mDNS: {0}")]
    Mdns(String),

    // ---- the caller
    /// A configuration value is unusable (bad address, bad replay file, ...).
    #[error("{0}")]
    Config(String),
    /// The simulator cannot listen on the address.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: String,
        /// What the OS said.
        source: io::Error,
    },
}

fn found_text(found: &[String]) -> String {
    if found.is_empty() {
        "none".into()
    } else {
        found.join(", ")
    }
}

fn lost_text(during_auth: bool, inside_frame: Option<(usize, usize)>) -> String {
    let when = if during_auth {
        "before the auth reply"
    } else {
        "before sessionComplete"
    };
    match inside_frame {
        Some((received, expected)) => format!(
            "connection lost {when}, inside a frame ({received} of {expected} bytes received)"
        ),
        None => format!("connection lost {when}"),
    }
}

impl Error {
    /// The server refused us (`auth-failed`).
    pub fn is_refusal(&self) -> bool {
        matches!(self, Error::AuthFailed)
    }

    /// The peer broke the protocol.
    pub fn is_peer_fault(&self) -> bool {
        matches!(
            self,
            Error::OversizeFrame { .. }
                | Error::UnexpectedBeforeAuth { .. }
                | Error::ForeignProtocol { .. }
        )
    }

    /// The caller's configuration is at fault.
    pub fn is_config(&self) -> bool {
        matches!(self, Error::Config(_) | Error::Bind { .. })
    }

    /// A timeout: connect, auth reply, idle, or discovery finding nothing.
    pub fn is_timeout(&self) -> bool {
        matches!(
            self,
            Error::AuthTimeout { .. }
                | Error::ConnectTimeout { .. }
                | Error::IdleTimeout { .. }
                | Error::NoServerFound { .. }
                | Error::ExpectedServerNotFound { .. }
        )
    }

    /// A transport failure or a timeout: worth a reconnect.
    pub fn is_transient(&self) -> bool {
        !self.is_refusal() && !self.is_peer_fault() && !self.is_config()
    }
}

#[cfg(feature = "mdns")]
impl From<mdns_sd::Error> for Error {
    fn from(e: mdns_sd::Error) -> Self {
        Error::Mdns(e.to_string())
    }
}
