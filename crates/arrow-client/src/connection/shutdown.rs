//! An orderly end: no new session, every open session hung up once what it holds was
//! delivered, then the connection closes.
//!
//! [`Connection::shutdown`] moves to [`State::Draining`]: a CONNECT is answered with HUP 3;
//! each session whose received bytes all reached its local service gets HUP 0 and its
//! local connection is closed (bytes read from it before went out first); the others keep
//! running until their bytes are delivered, or until [`ConnectionConfig::shutdown_grace`](super::ConnectionConfig::shutdown_grace)
//!  runs out and they get HUP 3. With no session left the
//! connection ends with [`Disconnect::Shutdown`]; the driver then writes what is queued
//! and closes TLS with close_notify.

use std::time::Instant;

use super::{Connection, Disconnect, SessionEnd, State, after};
use crate::message::code;

impl Connection {
    /// Starts an orderly shutdown (see the module docs). Before registration the
    /// connection simply ends.
    pub fn shutdown(&mut self, now: Instant) {
        match self.state {
            State::Idle | State::Handshake => self.disconnect(Disconnect::Shutdown),
            State::Established => {
                self.state = State::Draining;
                self.shutdown_deadline = Some(after(now, self.config.shutdown_grace));
                let mut open: Vec<u32> = self.sessions.keys().copied().collect();
                open.sort_unstable();
                for session in open {
                    self.end_if_flushed(now, session);
                }
                self.drained();
            }
            State::Draining | State::Disconnected => {}
        }
    }

    /// While draining: hangs up `session` once everything received was delivered.
    pub(super) fn end_if_flushed(&mut self, now: Instant, session: u32) {
        let flushed = self
            .sessions
            .get(&session)
            .is_some_and(|s| s.recv.queued() == 0);
        if flushed {
            self.end_session(now, session, SessionEnd::Shutdown, Some(code::NO_ERROR));
        }
    }

    /// While draining: ends the connection once no session is left.
    pub(super) fn drained(&mut self) {
        if self.state == State::Draining && self.sessions.is_empty() {
            self.disconnect(Disconnect::Shutdown);
        }
    }

    /// The grace period ran out: the sessions still open get HUP 3.
    pub(super) fn grace_expired(&mut self, now: Instant) {
        let mut open: Vec<u32> = self.sessions.keys().copied().collect();
        open.sort_unstable();
        for session in open {
            self.end_session(
                now,
                session,
                SessionEnd::Shutdown,
                Some(code::CONNECTION_ERROR),
            );
        }
        self.disconnect(Disconnect::Shutdown);
    }
}
