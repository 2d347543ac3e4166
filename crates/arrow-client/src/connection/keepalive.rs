//! The timers: the handshake deadline, PING after an idle interval and its ACK deadline,
//! the shutdown grace, and forgetting hung-up sessions.

use std::time::Instant;

use super::{Connection, Disconnect, State, after};
use crate::message::Outgoing;

impl Connection {
    /// When [`handle_timeout`](Self::handle_timeout) must be called next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.state == State::Disconnected {
            return None;
        }
        [
            self.handshake_deadline,
            self.next_ping,
            self.ping_outstanding.map(|(_, at)| at),
            self.shutdown_deadline,
            self.tombstone_order.front().map(|(_, at)| *at),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Runs the timers due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.expire_tombstones(now);
        match self.state {
            State::Handshake => {
                if self.handshake_deadline.is_some_and(|at| now >= at) {
                    self.disconnect(Disconnect::Timeout("no ACK to REGISTER"));
                }
            }
            State::Established | State::Draining => {
                if self.ping_outstanding.is_some_and(|(_, at)| now >= at) {
                    self.disconnect(Disconnect::Timeout("no ACK to PING"));
                    return;
                }
                if self.shutdown_deadline.is_some_and(|at| now >= at) {
                    self.grace_expired(now);
                    return;
                }
                if self.ping_outstanding.is_none() && self.next_ping.is_some_and(|at| now >= at) {
                    let msg_id = self.msg_id();
                    self.transmit.push_back(Outgoing::Ping { msg_id });
                    self.ping_outstanding = Some((msg_id, after(now, self.config.ping_timeout)));
                    self.next_ping = None;
                }
            }
            State::Idle | State::Disconnected => {}
        }
    }

    /// An ACK from the service: the answer to our PING re-arms the PING timer.
    pub(super) fn handle_ack(&mut self, now: Instant, msg_id: u16) {
        if self.ping_outstanding.is_some_and(|(id, _)| id == msg_id) {
            self.ping_outstanding = None;
            self.next_ping = Some(after(now, self.config.ping_interval));
        }
    }
}
