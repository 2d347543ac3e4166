//! The client's protocol state machine, sans I/O: feed it frames, timeouts and the end of
//! the stream; it says what happened and when it next needs the clock.
//!
//! ```text
//!   AwaitingAuthReply --auth-success--> Streaming --sessionComplete--> Complete
//!         |  auth-failed -> Error::AuthFailed
//!         |  deadline    -> Error::AuthTimeout
//!         |  data first  -> Error::UnexpectedBeforeAuth
//!   end of stream before Complete -> Error::ConnectionLost
//!   Streaming, no frame for the idle timeout (when set) -> Error::IdleTimeout
//! ```

use std::time::{Duration, Instant};

use bytes::BytesMut;
use serde_json::json;

use crate::Error;
use crate::frame::{self, EncodeError};
use crate::message::{ApiKey, Message, MessageError, Received};

/// Where a session is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// `auth` sent, waiting for the reply.
    AwaitingAuthReply,
    /// Authenticated: events flow.
    Streaming,
    /// `sessionComplete` received: the server closes next.
    Complete,
}

/// What one frame meant.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// `auth-success`: the stream starts.
    Authenticated,
    /// A stream message (the last one is `sessionComplete`, after which the phase is
    /// [`Phase::Complete`]).
    Message(Received),
    /// A frame that could not be read as a message; the stream goes on.
    Skipped {
        /// The payload length.
        len: usize,
        /// Why.
        error: MessageError,
    },
    /// A message that means nothing in the current phase (a `challenge` before the auth
    /// reply, anything after `sessionComplete`), passed on for logging.
    Ignored(Received),
}

/// One connection's protocol state.
#[derive(Debug, Clone)]
pub struct Session {
    phase: Phase,
    auth_timeout: Duration,
    auth_deadline: Instant,
    idle_timeout: Option<Duration>,
    last_frame: Instant,
}

impl Session {
    /// A session whose `auth` request goes out at `now`.
    pub fn new(now: Instant, auth_timeout: Duration) -> Self {
        Session {
            phase: Phase::AwaitingAuthReply,
            auth_timeout,
            auth_deadline: crate::deadline::deadline(now, auth_timeout),
            idle_timeout: None,
            last_frame: now,
        }
    }

    /// Once authenticated, no frame for `idle` ends the session with
    /// [`Error::IdleTimeout`] (`None`, the default: wait forever). Frames count when the
    /// driver reports them with [`frame_received`](Self::frame_received).
    #[must_use]
    pub fn with_idle_timeout(mut self, idle: Option<Duration>) -> Self {
        self.idle_timeout = idle;
        self
    }

    /// A frame arrived at `now` (call before [`handle_frame`](Self::handle_frame)): the
    /// idle deadline moves on.
    pub fn frame_received(&mut self, now: Instant) {
        self.last_frame = now;
    }

    fn idle_deadline(&self) -> Option<Instant> {
        let idle = self.idle_timeout?;
        // An idle timeout past the end of the clock is no deadline.
        self.last_frame.checked_add(idle)
    }

    /// The `auth` request frame to send first.
    pub fn auth_request(api_key: &ApiKey, dst: &mut BytesMut) -> Result<(), EncodeError> {
        frame::encode_ascii(&json!({"command": "auth", "apiKey": api_key.expose()}), dst)
    }

    /// The current phase.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// When [`handle_timeout`](Self::handle_timeout) must be called, if ever: the auth
    /// deadline, then (with an idle timeout) the idle deadline while streaming.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self.phase {
            Phase::AwaitingAuthReply => Some(self.auth_deadline),
            Phase::Streaming => self.idle_deadline(),
            Phase::Complete => None,
        }
    }

    /// The clock reached `now`: an error when the auth reply is overdue, or when the
    /// server has sent no frame for the idle timeout.
    pub fn handle_timeout(&mut self, now: Instant) -> Result<(), Error> {
        match self.phase {
            Phase::AwaitingAuthReply if now >= self.auth_deadline => Err(Error::AuthTimeout {
                after: self.auth_timeout,
            }),
            Phase::Streaming if self.idle_deadline().is_some_and(|due| now >= due) => {
                Err(Error::IdleTimeout {
                    after: self.idle_timeout.unwrap_or_default(),
                })
            }
            _ => Ok(()),
        }
    }

    /// One whole frame payload arrived.
    pub fn handle_frame(&mut self, payload: &[u8]) -> Result<Step, Error> {
        let received = match Message::parse(payload) {
            Ok(received) => received,
            Err(error) => {
                return Ok(Step::Skipped {
                    len: payload.len(),
                    error,
                });
            }
        };
        match self.phase {
            Phase::AwaitingAuthReply => match received.message {
                Message::AuthSuccess => {
                    self.phase = Phase::Streaming;
                    Ok(Step::Authenticated)
                }
                Message::AuthFailed => Err(Error::AuthFailed),
                Message::Challenge { .. } | Message::Unknown { .. } => Ok(Step::Ignored(received)),
                other => Err(Error::UnexpectedBeforeAuth {
                    command: other.command().to_string(),
                }),
            },
            Phase::Streaming => {
                if matches!(received.message, Message::SessionComplete { .. }) {
                    self.phase = Phase::Complete;
                }
                Ok(Step::Message(received))
            }
            Phase::Complete => Ok(Step::Ignored(received)),
        }
    }

    /// The stream ended; `inside_frame` is `(received, expected)` when it cut a frame.
    pub fn handle_eof(&self, inside_frame: Option<(usize, usize)>) -> Result<(), Error> {
        match self.phase {
            Phase::Complete => Ok(()),
            phase => Err(Error::ConnectionLost {
                during_auth: phase == Phase::AwaitingAuthReply,
                inside_frame,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Duration = Duration::from_secs(5);

    fn streaming(now: Instant) -> Session {
        let mut s = Session::new(now, T);
        assert_eq!(
            s.handle_frame(br#"{"command":"auth-success"}"#).unwrap(),
            Step::Authenticated
        );
        s
    }

    #[test]
    fn auth_success_then_messages_then_complete() {
        let now = Instant::now();
        let mut s = streaming(now);
        assert_eq!(s.poll_timeout(), None, "no deadline once authenticated");
        let step = s
            .handle_frame(br#"{"command":"valueChange","key":"focus","value":50}"#)
            .unwrap();
        assert!(matches!(step, Step::Message(_)));
        assert_eq!(s.phase(), Phase::Streaming);
        assert!(
            s.handle_eof(None).is_err(),
            "a drop while streaming is an error"
        );
        s.handle_frame(br#"{"command":"sessionComplete"}"#).unwrap();
        assert_eq!(s.phase(), Phase::Complete);
        assert!(s.handle_eof(None).is_ok());
    }

    #[test]
    fn auth_failed_is_a_refusal() {
        let mut s = Session::new(Instant::now(), T);
        let err = s.handle_frame(br#"{"command":"auth-failed"}"#).unwrap_err();
        assert!(err.is_refusal());
    }

    #[test]
    fn auth_deadline_fires_only_when_due() {
        let now = Instant::now();
        let mut s = Session::new(now, T);
        assert_eq!(s.poll_timeout(), Some(now + T));
        assert!(s.handle_timeout(now + T - Duration::from_millis(1)).is_ok());
        assert!(matches!(
            s.handle_timeout(now + T),
            Err(Error::AuthTimeout { after }) if after == T
        ));
    }

    #[test]
    fn idle_deadline_follows_the_last_frame_once_streaming() {
        const IDLE: Duration = Duration::from_secs(30);
        let t0 = Instant::now();
        let at = |s: u64| t0 + Duration::from_secs(s);
        let mut s = Session::new(t0, T).with_idle_timeout(Some(IDLE));
        assert_eq!(s.poll_timeout(), Some(at(5)), "the auth deadline first");
        s.frame_received(at(1));
        s.handle_frame(br#"{"command":"auth-success"}"#).unwrap();
        assert_eq!(s.poll_timeout(), Some(at(31)));
        assert!(s.handle_timeout(at(30)).is_ok());
        s.frame_received(at(30));
        s.handle_frame(b"garbage counts as a frame").unwrap();
        assert_eq!(s.poll_timeout(), Some(at(60)));
        assert!(s.handle_timeout(at(59)).is_ok());
        let err = s.handle_timeout(at(60)).unwrap_err();
        assert!(
            matches!(err, Error::IdleTimeout { after } if after == IDLE),
            "{err}"
        );
        assert!(err.is_timeout() && err.is_transient(), "{err}");
    }

    #[test]
    fn no_idle_deadline_without_an_idle_timeout_or_after_the_end() {
        let t0 = Instant::now();
        let mut s = streaming(t0);
        assert_eq!(s.poll_timeout(), None);
        assert!(s.handle_timeout(t0 + Duration::from_secs(1 << 40)).is_ok());
        let mut s = Session::new(t0, T).with_idle_timeout(Some(Duration::MAX));
        s.handle_frame(br#"{"command":"auth-success"}"#).unwrap();
        assert_eq!(s.poll_timeout(), None, "past the end of the clock");
        let mut s = Session::new(t0, T).with_idle_timeout(Some(Duration::from_secs(1)));
        s.handle_frame(br#"{"command":"auth-success"}"#).unwrap();
        s.handle_frame(br#"{"command":"sessionComplete"}"#).unwrap();
        assert_eq!(s.poll_timeout(), None);
    }

    #[test]
    fn challenge_and_invalid_frames_before_auth_reply_are_tolerated() {
        let mut s = Session::new(Instant::now(), T);
        assert!(matches!(
            s.handle_frame(br#"{"command":"challenge","challenge_data":1}"#)
                .unwrap(),
            Step::Ignored(_)
        ));
        assert!(matches!(
            s.handle_frame(b"not json").unwrap(),
            Step::Skipped { len: 8, .. }
        ));
        assert_eq!(s.phase(), Phase::AwaitingAuthReply);
    }

    #[test]
    fn data_before_auth_reply_is_a_protocol_error() {
        let mut s = Session::new(Instant::now(), T);
        let err = s
            .handle_frame(br#"{"command":"valueChange","key":"focus","value":1}"#)
            .unwrap_err();
        assert!(err.is_peer_fault(), "{err}");
    }

    #[test]
    fn invalid_json_mid_stream_is_skipped() {
        let mut s = streaming(Instant::now());
        assert!(matches!(
            s.handle_frame(b"{oops").unwrap(),
            Step::Skipped {
                len: 5,
                error: MessageError::Json { .. }
            }
        ));
        assert_eq!(s.phase(), Phase::Streaming);
    }

    #[test]
    fn eof_reports_the_cut_frame() {
        let s = streaming(Instant::now());
        let err = s.handle_eof(Some((3, 10))).unwrap_err();
        assert!(err.to_string().contains("3 of 10"), "{err}");
        let s = Session::new(Instant::now(), T);
        assert!(
            s.handle_eof(None)
                .unwrap_err()
                .to_string()
                .contains("auth reply")
        );
    }
}
