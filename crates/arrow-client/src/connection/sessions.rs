//! Sessions: the spec's rules for CONNECT, data and HUP, the local-socket reports, flow
//! control, and the ids of recently hung-up sessions (tombstones).

use std::time::Instant;

use bytes::Bytes;

use super::{
    Connection, Event, LocalCommand, SessionEnd, SessionHandle, State, TOMBSTONE_TTL, UsageError,
};
use crate::flow::{RecvWindow, SendWindow};
use crate::message::{Outgoing, code};

/// At most this many hung-up sessions are remembered.
const MAX_TOMBSTONES: usize = 4096;

/// One open session.
#[derive(Debug)]
pub(super) struct Session {
    pub(super) svc_id: u16,
    pub(super) handle: SessionHandle,
    pub(super) send: SendWindow,
    pub(super) recv: RecvWindow,
    pub(super) bytes_up: u64,
    pub(super) bytes_down: u64,
}

impl Connection {
    pub(super) fn handle_connect(&mut self, now: Instant, svc_id: u16, session: u32) {
        if self.sessions.contains_key(&session) {
            // Rule 3, and both ends agree the id is now free: the old session ends too. This
            // comes first: a HUP for the id ends the old session on the service's side
            // whatever the service id of the new CONNECT was.
            self.refuse(now, session, "session id already in use");
            self.end_session(now, session, SessionEnd::DuplicateConnect, None);
            return;
        }
        if self.state == State::Draining {
            self.refuse(now, session, "the client is shutting down");
            return;
        }
        let Some(service) = self.table.get(svc_id) else {
            self.refuse(now, session, "unknown service");
            return;
        };
        let addr = service.addr;
        if !self.config.gateway && !addr.ip().is_loopback() {
            self.refuse(
                now,
                session,
                "the service is on another host and gateway mode is off",
            );
            return;
        }
        if self.sockets_in_use() >= self.config.max_sessions {
            self.refuse(now, session, "too many sessions");
            return;
        }
        self.forget_tombstone(session);
        let handle = SessionHandle(self.next_handle);
        self.next_handle += 1;
        let capacity = self.config.capacity;
        self.sessions.insert(
            session,
            Session {
                svc_id,
                handle,
                send: SendWindow::new(capacity),
                recv: RecvWindow::new(capacity),
                bytes_up: 0,
                bytes_down: 0,
            },
        );
        self.by_handle.insert(handle, session);
        self.local.push_back(LocalCommand::Open {
            handle,
            session,
            svc_id,
            addr,
            credit: capacity,
        });
        self.events.push_back(Event::SessionOpened {
            session,
            svc_id,
            addr,
        });
    }

    pub(super) fn handle_data(&mut self, now: Instant, session: u32, payload: Bytes) {
        let Some(s) = self.sessions.get_mut(&session) else {
            if !self.tombstones.contains_key(&session) {
                self.refuse(now, session, "data for an unknown session");
            }
            return;
        };
        let len = u32::try_from(payload.len()).unwrap_or(u32::MAX);
        if s.recv.receive(len).is_err() {
            self.end_session(
                now,
                session,
                SessionEnd::Overrun,
                Some(code::CONNECTION_ERROR),
            );
            return;
        }
        s.bytes_down += u64::from(len);
        self.bytes_down += u64::from(len);
        if !payload.is_empty() {
            self.local.push_back(LocalCommand::Write {
                handle: s.handle,
                data: payload,
            });
        }
    }

    pub(super) fn handle_service_hup(&mut self, session: u32, code: u32) {
        // A HUP for an unknown session needs no answer (rule 9 is the service's side).
        if let Some(s) = self.sessions.remove(&session) {
            self.by_handle.remove(&s.handle);
            self.close_local(s.handle);
            self.events.push_back(Event::SessionClosed {
                session,
                svc_id: s.svc_id,
                end: SessionEnd::ServiceHup(code),
                bytes_up: s.bytes_up,
                bytes_down: s.bytes_down,
            });
        }
        self.drained();
    }

    /// Bytes read from a local connection. The driver must not read more than it was
    /// granted; reports for a connection whose session already ended are ignored.
    pub fn handle_local_data(
        &mut self,
        handle: SessionHandle,
        data: Bytes,
    ) -> Result<(), UsageError> {
        if !matches!(self.state, State::Established | State::Draining) {
            return Ok(());
        }
        let Some(&session) = self.by_handle.get(&handle) else {
            return Ok(());
        };
        let Some(s) = self.sessions.get_mut(&session) else {
            return Ok(());
        };
        let len = u32::try_from(data.len()).unwrap_or(u32::MAX);
        s.send.consume(len).map_err(|e| UsageError::OverRead {
            session,
            len,
            available: e.available,
        })?;
        s.bytes_up += u64::from(len);
        self.bytes_up += u64::from(len);
        if !data.is_empty() {
            self.transmit.push_back(Outgoing::Data {
                svc_id: s.svc_id,
                session,
                payload: data,
            });
        }
        Ok(())
    }

    /// `n` bytes were written to a local connection.
    pub fn handle_local_delivered(&mut self, handle: SessionHandle, n: u32) {
        let Some(&session) = self.by_handle.get(&handle) else {
            return;
        };
        let Some(s) = self.sessions.get_mut(&session) else {
            return;
        };
        if let Some(len) = s.recv.delivered_now(n) {
            let msg_id = self.msg_id();
            self.transmit.push_back(Outgoing::DataAck {
                msg_id,
                session,
                len,
            });
        }
        // While draining the deadline dates the tombstone (it no longer matters).
        if self.state == State::Draining
            && let Some(at) = self.shutdown_deadline
        {
            self.end_if_flushed(at, session);
            self.drained();
        }
    }

    /// The local service closed its side (`clean`), or the local connection failed or could
    /// not be made (`!clean`). Everything read before was already handed over, so it goes
    /// out before the HUP.
    pub fn handle_local_closed(&mut self, now: Instant, handle: SessionHandle, clean: bool) {
        let Some(&session) = self.by_handle.get(&handle) else {
            return;
        };
        let (end, code) = if clean {
            (SessionEnd::LocalClosed, code::NO_ERROR)
        } else {
            (SessionEnd::LocalFailed, code::CONNECTION_ERROR)
        };
        self.end_session(now, session, end, Some(code));
        self.drained();
    }

    /// Ends a session: HUP with `hup` (if we are the ones hanging up), close the local
    /// connection, remember the id for a while.
    pub(super) fn end_session(
        &mut self,
        now: Instant,
        session: u32,
        end: SessionEnd,
        hup: Option<u32>,
    ) {
        let Some(s) = self.sessions.remove(&session) else {
            return;
        };
        self.by_handle.remove(&s.handle);
        if let Some(code) = hup {
            let msg_id = self.msg_id();
            self.transmit.push_back(Outgoing::Hup {
                msg_id,
                session,
                code,
            });
            self.add_tombstone(session, now + TOMBSTONE_TTL);
        }
        self.close_local(s.handle);
        self.events.push_back(Event::SessionClosed {
            session,
            svc_id: s.svc_id,
            end,
            bytes_up: s.bytes_up,
            bytes_down: s.bytes_down,
        });
    }

    /// HUP 3 for a session we will not serve. Data for it that crosses the HUP (a
    /// service pipelines data right behind its CONNECT) is dropped like any hung-up
    /// session's: a second HUP for the id could end a new session the service opened
    /// under it.
    pub(super) fn refuse(&mut self, now: Instant, session: u32, reason: &'static str) {
        let msg_id = self.msg_id();
        self.transmit.push_back(Outgoing::Hup {
            msg_id,
            session,
            code: code::CONNECTION_ERROR,
        });
        self.add_tombstone(session, now + TOMBSTONE_TTL);
        self.events.push_back(Event::Refused { session, reason });
    }

    fn add_tombstone(&mut self, session: u32, until: Instant) {
        self.tombstones.insert(session, until);
        self.tombstone_order.push_back((session, until));
        while self.tombstone_order.len() > MAX_TOMBSTONES {
            self.pop_tombstone();
        }
    }

    fn forget_tombstone(&mut self, session: u32) {
        self.tombstones.remove(&session);
    }

    fn pop_tombstone(&mut self) {
        if let Some((id, at)) = self.tombstone_order.pop_front()
            && self.tombstones.get(&id) == Some(&at)
        {
            self.tombstones.remove(&id);
        }
    }

    pub(super) fn expire_tombstones(&mut self, now: Instant) {
        while self
            .tombstone_order
            .front()
            .is_some_and(|(_, at)| *at <= now)
        {
            self.pop_tombstone();
        }
    }
}
