//! The handshake: REGISTER goes out as msg_id 0, and only its ACK may come back.

use std::time::Instant;

use super::{Connection, Disconnect, Event, State, after};
use crate::ProtocolViolation;
use crate::message::{ControlIn, Incoming, Outgoing, code};

impl Connection {
    /// Sends REGISTER (msg_id 0) and starts the handshake timer.
    pub fn start(&mut self, now: Instant) {
        if self.state != State::Idle {
            return;
        }
        let msg_id = self.msg_id();
        self.transmit.push_back(Outgoing::Register { msg_id });
        self.state = State::Handshake;
        self.handshake_deadline = Some(after(now, self.config.handshake_timeout));
    }

    pub(super) fn handle_in_handshake(&mut self, now: Instant, message: Incoming) {
        match message {
            Incoming::Control {
                msg_id: 0,
                body: ControlIn::Ack { code },
            } => {
                self.handshake_deadline = None;
                if code == code::NO_ERROR {
                    self.state = State::Established;
                    self.next_ping = Some(after(now, self.config.ping_interval));
                    self.events.push_back(Event::Registered);
                    if std::mem::take(&mut self.update_after_handshake) {
                        self.send_update(false);
                    }
                } else {
                    self.disconnect(Disconnect::Refused(code));
                }
            }
            Incoming::Control { msg_id, body } => {
                let got = match body {
                    ControlIn::Ack { .. } => format!("ACK of msg_id {msg_id}"),
                    other => other.name(),
                };
                self.disconnect(Disconnect::Violation(
                    ProtocolViolation::UnexpectedInHandshake { got },
                ));
            }
            Incoming::Data { session, .. } => {
                self.disconnect(Disconnect::Violation(
                    ProtocolViolation::UnexpectedInHandshake {
                        got: format!("data for session {session}"),
                    },
                ));
            }
        }
    }
}
