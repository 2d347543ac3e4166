//! Errors, split by who is at fault.

use std::io;
use std::path::PathBuf;

/// Everything that can end an Arrow connection or stop the runtime from starting.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The Arrow Service broke the protocol (bad bytes, a message not allowed in this state).
    #[error("the Arrow Service broke the protocol: {0}")]
    Protocol(#[from] ProtocolViolation),
    /// The Arrow Service refused the registration (ACK with a non-zero code).
    #[error("the Arrow Service refused the registration: {reason} (code {code})")]
    Refused {
        /// The ACK's error code.
        code: u32,
        /// Its name in the spec.
        reason: &'static str,
    },
    /// The caller's configuration is unusable (bad flag value, unreadable file).
    #[error("configuration: {0}")]
    Config(String),
    /// The config file cannot be read or is wrong; the message names the file and, where
    /// it can, the line, the column and the key.
    #[error("{0}")]
    ConfigFile(String),
    /// A file in the state directory could not be read or written.
    #[error("state directory {path}: {source}")]
    State {
        /// The file or directory.
        path: PathBuf,
        /// What the OS said.
        source: io::Error,
    },
    /// Another client runs on the same state directory (it holds the directory's lock).
    #[error(
        "state directory {}: in use by another Arrow client{}; stop it or give another state directory",
        dir.display(),
        pid.map(|p| format!(" (pid {p})")).unwrap_or_default()
    )]
    StateLocked {
        /// The state directory.
        dir: PathBuf,
        /// The process holding it, when it wrote its PID.
        pid: Option<u32>,
    },
    /// A private key file to be reused can be read by its group or by others: refused, so
    /// a key that may have leaked is never put back into service silently.
    #[error(
        "{}: the private key is readable by group or others (mode {:04o}); `chmod 600 {}` if it is still secret, or delete the folder to make new keys",
        path.display(),
        mode,
        path.display()
    )]
    KeyExposed {
        /// The key file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// A service's host name did not resolve (yet): a transport problem, retried with the
    /// reconnect backoff (DNS may come up after the client, at boot).
    #[error("cannot resolve service {service}: {source}")]
    Unresolved {
        /// The service as configured (credentials never shown).
        service: String,
        /// Its host.
        host: String,
        /// What the resolver said.
        source: io::Error,
    },
    /// TCP to the Arrow Service failed or broke.
    #[error("transport: {context}: {source}")]
    Io {
        /// What we were doing.
        context: String,
        /// What the OS said.
        source: io::Error,
    },
    /// The TLS handshake failed (certificate not trusted, wrong host name, ...).
    #[error("TLS with {server}: {source}")]
    Tls {
        /// The server we were talking to.
        server: String,
        /// The TLS error.
        source: io::Error,
    },
    /// The Arrow Service did not answer in time.
    #[error("timeout: {0}")]
    Timeout(&'static str),

    /// A bug in this crate (the client task panicked): not the service's fault nor the
    /// configuration's, so a supervisor should restart the client.
    #[error("internal error: {0} (a bug in arrow-client: please report it)")]
    Internal(String),
    /// The Arrow Service closed the connection.
    #[error("the Arrow Service closed the connection")]
    Closed,
    /// The Arrow Service asked us to reconnect elsewhere.
    #[error("redirected to {0}")]
    Redirected(String),
    /// The Arrow Service does not speak Arrow v2 (ACK UNSUPPORTED_PROTOCOL_VERSION):
    /// retrying cannot help.
    #[error("{0}")]
    UnsupportedVersion(String),
}

/// How the Arrow Service broke the protocol. The connection is dropped after any of these.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProtocolViolation {
    /// The bytes did not parse as an Arrow v2 message.
    #[error("undecodable message: {0}")]
    Decode(String),
    /// During the handshake only the ACK of our REGISTER is allowed.
    #[error("{got} during the handshake (only the ACK of REGISTER is allowed)")]
    UnexpectedInHandshake {
        /// What arrived instead.
        got: String,
    },
    /// The service kept sending while not reading what we sent.
    #[error("the service does not read: {queued} bytes of control messages queued")]
    NotReading {
        /// Bytes waiting to be written.
        queued: usize,
    },
}

impl Error {
    pub(crate) fn io(context: impl Into<String>, source: io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }

    /// True when reconnecting cannot help without a change of configuration.
    pub fn is_fatal(&self) -> bool {
        matches!(
            self,
            Error::Config(_)
                | Error::ConfigFile(_)
                | Error::State { .. }
                | Error::StateLocked { .. }
                | Error::KeyExposed { .. }
                | Error::UnsupportedVersion(_)
        )
    }
}
