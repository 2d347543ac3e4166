//! The server side of the `auth` handshake, sans I/O: feed it the client's frames (or a
//! framing error) and the clock; it says whether to accept, refuse or ignore, and writes
//! the reply frame.
//!
//! ```text
//!   AwaitingAuth --auth with the key--> Accepted   (auth-success, the stream starts)
//!        | wrong key, other command, unreadable frame (also one the app's
//!        | readUTF rejects: 4-byte UTF-8), bad framing,
//!        | no auth before the deadline  --> Refused (auth-failed, then close)
//!   Accepted / Refused: later frames are ignored (the client sends nothing after auth)
//! ```

use std::time::{Duration, Instant};

use bytes::BytesMut;
use wire::FrameError;

use crate::message::{ApiKey, Message};
use crate::{frame, mutf8};

/// The longest auth timeout honoured (about 30 years).
const FAR_FUTURE: Duration = Duration::from_secs(30 * 365 * 24 * 60 * 60);

/// Where a server-side handshake is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandshakePhase {
    /// Waiting for the client's `auth` frame.
    AwaitingAuth,
    /// The key matched: `auth-success` sent, the stream flows.
    Accepted,
    /// Refused: `auth-failed` sent, the connection closes.
    Refused,
}

/// What to do after an input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Send `auth-success` and start streaming.
    Accept,
    /// Send `auth-failed` and close; the reason is for the operator.
    Refuse(String),
    /// Nothing to do (input after the handshake was decided, which is discarded).
    Ignore,
}

/// One connection's handshake, on the server side.
#[derive(Debug, Clone)]
pub struct Handshake {
    api_key: ApiKey,
    phase: HandshakePhase,
    deadline: Instant,
}

impl Handshake {
    /// A handshake for a client that connected at `now`; it must send `auth` within
    /// `auth_timeout`.
    pub fn new(api_key: ApiKey, now: Instant, auth_timeout: Duration) -> Self {
        Handshake {
            api_key,
            phase: HandshakePhase::AwaitingAuth,
            // An absurd timeout is capped at 30 years rather than overflow the clock.
            deadline: now.checked_add(auth_timeout.min(FAR_FUTURE)).unwrap_or(now),
        }
    }

    /// The current phase.
    pub fn phase(&self) -> HandshakePhase {
        self.phase
    }

    /// When [`handle_timeout`](Self::handle_timeout) must be called, if ever.
    pub fn poll_timeout(&self) -> Option<Instant> {
        (self.phase == HandshakePhase::AwaitingAuth).then_some(self.deadline)
    }

    /// The clock reached `now`: a refusal when no `auth` came in time.
    pub fn handle_timeout(&mut self, now: Instant) -> Verdict {
        if self.phase == HandshakePhase::AwaitingAuth && now >= self.deadline {
            return self.decide(Err("no auth request within the timeout".into()));
        }
        Verdict::Ignore
    }

    /// One whole frame payload from the client.
    pub fn handle_frame(&mut self, payload: &[u8]) -> Verdict {
        if self.phase != HandshakePhase::AwaitingAuth {
            return Verdict::Ignore;
        }
        // The app reads the request with readUTF, which refuses what writeUTF would not
        // write (4-byte UTF-8 above all): such a request is unreadable, however good the
        // key in it.
        if let Err(e) = mutf8::check_read_utf(payload) {
            return self.decide(Err(format!("unreadable auth request: {e}")));
        }
        let outcome = match Message::parse(payload).map(|r| r.message) {
            Ok(Message::Auth { api_key }) if self.api_key.matches(api_key.expose()) => Ok(()),
            Ok(Message::Auth { .. }) => Err("wrong API key".into()),
            Ok(other) => Err(format!("expected auth, got {}", other.command())),
            Err(e) => Err(format!("unreadable auth request: {e}")),
        };
        self.decide(outcome)
    }

    /// The client's bytes could not be framed (an oversize length, a cut frame).
    pub fn handle_frame_error(&mut self, error: &FrameError) -> Verdict {
        if self.phase != HandshakePhase::AwaitingAuth {
            return Verdict::Ignore;
        }
        self.decide(Err(format!("bad frame: {error}")))
    }

    fn decide(&mut self, outcome: Result<(), String>) -> Verdict {
        match outcome {
            Ok(()) => {
                self.phase = HandshakePhase::Accepted;
                Verdict::Accept
            }
            Err(reason) => {
                self.phase = HandshakePhase::Refused;
                Verdict::Refuse(reason)
            }
        }
    }

    /// Writes the reply frame for a verdict, as the app does (nothing for
    /// [`Verdict::Ignore`]).
    pub fn reply(verdict: &Verdict, dst: &mut BytesMut) {
        let text = match verdict {
            Verdict::Accept => r#"{"command":"auth-success"}"#,
            Verdict::Refuse(_) => r#"{"command":"auth-failed"}"#,
            Verdict::Ignore => return,
        };
        // Both replies are a few bytes: they always fit a frame.
        let _ = frame::encode_modified(text, dst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Duration = Duration::from_secs(10);

    fn handshake(now: Instant) -> Handshake {
        Handshake::new(ApiKey::new("k"), now, T)
    }

    #[test]
    fn each_first_frame_gets_its_verdict() {
        let cases: [(&[u8], Verdict); 5] = [
            (br#"{"command":"auth","apiKey":"k"}"#, Verdict::Accept),
            (
                br#"{"command":"auth","apiKey":"x"}"#,
                Verdict::Refuse("wrong API key".into()),
            ),
            (
                br#"{"command":"qa","passed":true}"#,
                Verdict::Refuse("expected auth, got qa".into()),
            ),
            (b"", Verdict::Refuse(String::new())),
            (b"\xff\xfe", Verdict::Refuse(String::new())),
        ];
        for (payload, want) in cases {
            let mut h = handshake(Instant::now());
            let got = h.handle_frame(payload);
            match (&got, &want) {
                (Verdict::Refuse(_), Verdict::Refuse(w)) if w.is_empty() => {}
                _ => assert_eq!(got, want, "{payload:?}"),
            }
            let phase = if want == Verdict::Accept {
                HandshakePhase::Accepted
            } else {
                HandshakePhase::Refused
            };
            assert_eq!(h.phase(), phase);
            assert_eq!(h.poll_timeout(), None);
        }
    }

    #[test]
    fn an_auth_request_in_four_byte_utf8_is_refused_as_readutf_does() {
        let key = "k\u{1F600}";
        let mut h = Handshake::new(ApiKey::new(key), Instant::now(), T);
        // The right key, but the emoji as plain UTF-8: the app's readUTF rejects it.
        let plain = format!(r#"{{"command":"auth","apiKey":"{key}"}}"#);
        let verdict = h.handle_frame(plain.as_bytes());
        assert!(
            matches!(&verdict, Verdict::Refuse(r) if r.contains("readUTF")),
            "{verdict:?}"
        );
        assert_eq!(h.phase(), HandshakePhase::Refused);
        // As writeUTF writes it (a surrogate pair), or escaped as the client sends it: accepted.
        for payload in [
            crate::mutf8::encode(&plain).into_owned(),
            br#"{"command":"auth","apiKey":"k\ud83d\ude00"}"#.to_vec(),
        ] {
            let mut h = Handshake::new(ApiKey::new(key), Instant::now(), T);
            assert_eq!(h.handle_frame(&payload), Verdict::Accept, "{payload:x?}");
        }
    }

    #[test]
    fn frames_after_the_verdict_are_ignored() {
        let mut h = handshake(Instant::now());
        assert_eq!(
            h.handle_frame(br#"{"command":"auth","apiKey":"k"}"#),
            Verdict::Accept
        );
        assert_eq!(
            h.handle_frame(br#"{"command":"auth","apiKey":"x"}"#),
            Verdict::Ignore
        );
        assert_eq!(
            h.handle_frame_error(&FrameError::EofMidFrame {
                received: 1,
                expected: 2
            }),
            Verdict::Ignore
        );
        assert_eq!(h.phase(), HandshakePhase::Accepted);
    }

    #[test]
    fn no_auth_before_the_deadline_is_refused() {
        let now = Instant::now();
        let mut h = handshake(now);
        assert_eq!(h.poll_timeout(), Some(now + T));
        assert_eq!(
            h.handle_timeout(now + T - Duration::from_millis(1)),
            Verdict::Ignore
        );
        assert!(matches!(h.handle_timeout(now + T), Verdict::Refuse(r) if r.contains("timeout")));
        assert_eq!(h.handle_timeout(now + T + T), Verdict::Ignore);
    }

    #[test]
    fn an_absurd_timeout_does_not_overflow() {
        let now = Instant::now();
        let mut h = Handshake::new(ApiKey::new("k"), now, Duration::MAX);
        assert!(h.poll_timeout().is_some_and(|t| t > now));
        assert_eq!(h.handle_timeout(now + T), Verdict::Ignore);
    }

    #[test]
    fn replies_are_the_apps_frames() {
        let mut buf = BytesMut::new();
        Handshake::reply(&Verdict::Accept, &mut buf);
        Handshake::reply(&Verdict::Ignore, &mut buf);
        Handshake::reply(&Verdict::Refuse("x".into()), &mut buf);
        let mut want = BytesMut::new();
        frame::encode_modified(r#"{"command":"auth-success"}"#, &mut want).unwrap();
        frame::encode_modified(r#"{"command":"auth-failed"}"#, &mut want).unwrap();
        assert_eq!(buf, want);
    }
}
