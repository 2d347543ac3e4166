//! Every outcome of every command maps to an exit code here, and only here.
//!
//! | code | meaning |
//! | --- | --- |
//! | 0 | success (also: stdout was closed by the reader, e.g. `| head`) |
//! | 1 | the peer answered "no": auth failure, error reply, refused registration |
//! | 2 | usage or local configuration error (clap uses 2 for bad flags too) |
//! | 3 | transport failure: refused, DNS, TLS, timeout, connection lost mid-exchange |
//! | 4 | the peer broke the protocol: bad or oversize frame, wrong reply shape or id |

use std::fmt;
use std::io;
use std::process::ExitCode;

/// Who is at fault, which decides the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fault {
    /// The peer answered "no" (exit 1).
    Refused,
    /// The user's flags, files or configuration (exit 2).
    Local,
    /// The network or TLS (exit 3).
    Transport,
    /// The peer broke the protocol (exit 4).
    Protocol,
    /// Our reader went away; not an error (exit 0, silent).
    StdoutClosed,
}

impl Fault {
    fn code(self) -> u8 {
        match self {
            Fault::StdoutClosed => 0,
            Fault::Refused => 1,
            Fault::Local => 2,
            Fault::Transport => 3,
            Fault::Protocol => 4,
        }
    }
}

/// A failed command: what went wrong, said once on stderr, and whose fault it was.
#[derive(Debug)]
pub(crate) struct CliError {
    fault: Fault,
    message: String,
}

impl CliError {
    pub(crate) fn new(fault: Fault, message: impl fmt::Display) -> Self {
        CliError {
            fault,
            message: message.to_string(),
        }
    }

    /// The peer answered "no" (exit 1).
    pub(crate) fn refused(message: impl fmt::Display) -> Self {
        Self::new(Fault::Refused, message)
    }

    /// Bad flags, unreadable input, bad configuration (exit 2).
    pub(crate) fn local(message: impl fmt::Display) -> Self {
        Self::new(Fault::Local, message)
    }

    /// Network or TLS failure (exit 3).
    pub(crate) fn transport(message: impl fmt::Display) -> Self {
        Self::new(Fault::Transport, message)
    }

    /// The peer broke the protocol (exit 4).
    pub(crate) fn protocol(message: impl fmt::Display) -> Self {
        Self::new(Fault::Protocol, message)
    }

    /// Adds what we were doing in front of the message.
    pub(crate) fn context(mut self, what: impl fmt::Display) -> Self {
        self.message = format!("{what}: {}", self.message);
        self
    }

    /// A failed write to stdout: a closed pipe ends the program quietly.
    pub(crate) fn stdout(e: io::Error) -> Self {
        if e.kind() == io::ErrorKind::BrokenPipe {
            Self::new(Fault::StdoutClosed, "")
        } else {
            Self::local(format!("cannot write to stdout: {e}"))
        }
    }

    /// The reader of stdout went away (a closed pipe): the end of a command's output, or,
    /// for a daemon, the end of its event stream only (arrow run).
    pub(crate) fn is_stdout_closed(&self) -> bool {
        self.fault == Fault::StdoutClosed
    }

    /// The process exit code this error ends with; a higher one is a worse outcome.
    pub(crate) fn exit_code(&self) -> u8 {
        self.fault.code()
    }

    #[cfg(test)]
    pub(crate) fn fault(&self) -> Fault {
        self.fault
    }
}

/// Formats an error with its chain of sources, on one line: errors quote what peers sent
/// (an instrument's message, a REDIRECT target), so control characters are escaped.
pub(crate) fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let next = s.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = s.source();
    }
    crate::escape::escape_controls(&text).into_owned()
}

impl From<wire::FrameError> for CliError {
    fn from(e: wire::FrameError) -> Self {
        let fault = match &e {
            wire::FrameError::Io(_) => Fault::Transport,
            wire::FrameError::EncodeOversize { .. } => Fault::Local,
            _ => Fault::Protocol,
        };
        Self::new(fault, chain(&e))
    }
}

impl From<wire::JsonFrameError> for CliError {
    fn from(e: wire::JsonFrameError) -> Self {
        match e {
            wire::JsonFrameError::Frame(e) => e.into(),
            wire::JsonFrameError::Encode(e) => Self::local(e),
            other => Self::protocol(chain(&other)),
        }
    }
}

impl From<arrow_codec::Error> for CliError {
    fn from(e: arrow_codec::Error) -> Self {
        let fault = match &e {
            arrow_codec::Error::Decode(_) => Fault::Protocol,
            arrow_codec::Error::Encode(_) => Fault::Local,
            arrow_codec::Error::Io(_) => Fault::Transport,
            _ => Fault::Protocol,
        };
        Self::new(fault, chain(&e))
    }
}

impl From<arkeo::Error> for CliError {
    fn from(e: arkeo::Error) -> Self {
        match &e {
            // The message and code go to stderr; the reply itself is data (stdout).
            arkeo::Error::Rejected(_) => Self::refused(chain(&e)),
            arkeo::Error::Usage(_) => Self::local(chain(&e)),
            arkeo::Error::Protocol(_) => Self::protocol(chain(&e)),
            // Connect, I/O, closed mid-reply, timeouts, a connection spoiled earlier.
            _ => Self::transport(chain(&e)),
        }
    }
}

#[cfg(test)]
mod arkeo_tests {
    use super::*;

    #[test]
    fn arkeo_errors_map_by_fault() {
        let rejected = arkeo::Error::Rejected(arkeo::Rejection {
            code: Some(arkeo::ErrorCode(4006)),
            message: "No active routine".into(),
            reply: serde_json::Map::new(),
        });
        let e = CliError::from(rejected);
        assert_eq!(e.fault(), Fault::Refused);
        assert!(e.message.contains("4006") && e.message.contains("No active routine"));
        let timeout = arkeo::Error::Timeout {
            waiting_for: "the reply".into(),
            after: std::time::Duration::from_secs(1),
        };
        assert_eq!(CliError::from(timeout).fault(), Fault::Transport);
        let closed = arkeo::Error::Closed {
            received: 0,
            expected: 0,
        };
        assert_eq!(CliError::from(closed).fault(), Fault::Transport);
        let io = arkeo::Error::Io(io::Error::from(io::ErrorKind::ConnectionReset));
        assert_eq!(CliError::from(io).fault(), Fault::Transport);
        let old =
            arkeo::reply::classify(b"\"OK\"", arkeo::Dialect::Multichannel, None).unwrap_err();
        let e = CliError::from(old);
        assert_eq!(e.fault(), Fault::Protocol);
        assert!(e.message.contains("older than API v0.5"), "{}", e.message);
    }
}

impl From<arctop::Error> for CliError {
    fn from(e: arctop::Error) -> Self {
        let fault = if e.is_refusal() {
            Fault::Refused
        } else if e.is_peer_fault() {
            Fault::Protocol
        } else if e.is_config() {
            Fault::Local
        } else {
            Fault::Transport
        };
        let message = match &e {
            arctop::Error::AuthFailed => {
                "authentication failed: the server refused the API key (auth-failed)".into()
            }
            _ => chain(&e),
        };
        Self::new(fault, message)
    }
}

impl From<arctop::lsl::LslError> for CliError {
    /// An outlet that cannot be opened (or pushed to) is this machine's problem: exit 2.
    fn from(e: arctop::lsl::LslError) -> Self {
        Self::local(chain(&e))
    }
}

impl From<arrow_client::Error> for CliError {
    fn from(e: arrow_client::Error) -> Self {
        use arrow_client::Error as E;
        let fault = match &e {
            // Refused registration (UNAUTHORIZED: not paired) and a service that does not
            // speak Arrow v2: exit 1, also for `arrow run --once`.
            E::Refused { .. } | E::UnsupportedVersion(_) => Fault::Refused,
            // A second client on a locked state directory too: exit 2, which a supervisor
            // does not restart into the same conflict.
            E::Config(_)
            | E::ConfigFile(_)
            | E::State { .. }
            | E::StateLocked { .. }
            | E::KeyExposed { .. } => Fault::Local,
            // A service host that does not resolve (yet) is DNS: exit 3 with --once.
            E::Io { .. }
            | E::Tls { .. }
            | E::Timeout(_)
            | E::Closed
            | E::Redirected(_)
            | E::Unresolved { .. } => Fault::Transport,
            E::Protocol(_) => Fault::Protocol,
            // A bug (the client task panicked): not a configuration error, so a supervisor
            // that never restarts on 2 restarts on this.
            E::Internal(_) => Fault::Transport,
            _ => Fault::Transport,
        };
        Self::new(fault, chain(&e))
    }
}

/// Prints the error (if any) on stderr and turns the outcome into the process exit code.
pub(crate) fn report(result: Result<(), CliError>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if e.fault != Fault::StdoutClosed {
                tracing::debug!(fault = ?e.fault, "command failed");
                // Line breaks of our own stay; any other control character is escaped.
                let message: Vec<_> = e
                    .message
                    .split('\n')
                    .map(crate::escape::escape_controls)
                    .collect();
                let _ = io::Write::write_all(
                    &mut io::stderr().lock(),
                    format!("protoctl: error: {}\n", message.join("\n")).as_bytes(),
                );
            }
            ExitCode::from(e.fault.code())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_follow_the_contract() {
        let cases = [
            (Fault::StdoutClosed, 0),
            (Fault::Refused, 1),
            (Fault::Local, 2),
            (Fault::Transport, 3),
            (Fault::Protocol, 4),
        ];
        for (fault, code) in cases {
            assert_eq!(fault.code(), code, "{fault:?}");
        }
    }

    #[test]
    fn frame_errors_map_by_fault() {
        let oversize = wire::FrameError::Oversize {
            announced: 9,
            max: 1,
        };
        assert_eq!(CliError::from(oversize).fault(), Fault::Protocol);
        let cut = wire::FrameError::EofMidFrame {
            received: 1,
            expected: 2,
        };
        assert_eq!(CliError::from(cut).fault(), Fault::Protocol);
        let io = wire::FrameError::Io(io::Error::from(io::ErrorKind::ConnectionReset));
        assert_eq!(CliError::from(io).fault(), Fault::Transport);
        let encode = wire::FrameError::EncodeOversize { len: 2, max: 1 };
        assert_eq!(CliError::from(encode).fault(), Fault::Local);
    }

    #[test]
    fn arctop_errors_map_by_fault() {
        use std::time::Duration;
        let cases = [
            (arctop::Error::AuthFailed, Fault::Refused),
            (
                arctop::Error::OversizeFrame {
                    announced: 9,
                    max: 1,
                },
                Fault::Protocol,
            ),
            (
                arctop::Error::UnexpectedBeforeAuth {
                    command: "qa".into(),
                },
                Fault::Protocol,
            ),
            (
                arctop::Error::ConnectionLost {
                    during_auth: false,
                    inside_frame: Some((3, 9)),
                },
                Fault::Transport,
            ),
            (
                arctop::Error::AuthTimeout {
                    after: Duration::from_secs(1),
                },
                Fault::Transport,
            ),
            (
                arctop::Error::NoServerFound {
                    after: Duration::from_secs(1),
                },
                Fault::Transport,
            ),
            (arctop::Error::Config("bad".into()), Fault::Local),
        ];
        for (error, fault) in cases {
            let text = error.to_string();
            assert_eq!(CliError::from(error).fault(), fault, "{text}");
        }
    }

    #[test]
    fn lsl_errors_are_local() {
        let width = arctop::lsl::LslError::Width {
            key: "motion".into(),
            channels: 3,
            got: 2,
        };
        let e = CliError::from(width);
        assert_eq!(e.fault(), Fault::Local);
        assert!(e.message.contains("motion"), "{}", e.message);
    }

    #[test]
    fn broken_pipe_is_quiet_success() {
        let e = CliError::stdout(io::Error::from(io::ErrorKind::BrokenPipe));
        assert_eq!(e.fault(), Fault::StdoutClosed);
        assert_eq!(e.fault().code(), 0);
    }
}
