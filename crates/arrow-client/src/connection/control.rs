//! Answers to the service's control messages, and the service table the service sees.
//!
//! PING gets ACK; GET_STATUS gets STATUS (request id, scanner flag while a scan runs,
//! active sessions); GET_SCAN_REPORT gets a SCAN_REPORT of the last scan
//! ([`Connection::set_scan_findings`]; empty before any); SCAN_NETWORK asks the driver for
//! a scan ([`Event::ScanRequested`]) when discovery is on, and is ignored otherwise, as the
//! spec allows; an unknown type gets ACK UNSUPPORTED_METHOD and the connection stays up.
//! REDIRECT ends the connection with the target.
//!
//! The table: [`Connection::update_table`] replaces it and announces it with UPDATE.
//! RESET_SVC_TABLE asks the client to drop what a scanner found and go back to the
//! configured table: the core drops the discovered services from its table and answers
//! with an UPDATE carrying the configured ones at once, so the service's view is the
//! configured table again whatever it held before (the reference client leaves the old
//! table live until it reconnects).

use std::time::Instant;

use super::{Connection, Disconnect, Event, LocalCommand, State};
use crate::message::{ControlIn, Outgoing, ScanFindings, code};
use crate::service_table::ServiceTable;

impl Connection {
    /// Whether a scan runs now (STATUS's scanner flag).
    pub fn set_scanning(&mut self, scanning: bool) {
        self.scanning = scanning;
    }

    /// What the last scan found: the answer to GET_SCAN_REPORT from now on.
    pub fn set_scan_findings(&mut self, findings: ScanFindings) {
        self.findings = findings;
    }

    /// Replaces the service table: later CONNECTs use it, and the service is told with
    /// UPDATE (at once when registered, right after the ACK during the handshake). Open
    /// sessions keep running, also to services no longer in the table.
    pub fn update_table(&mut self, table: ServiceTable) {
        self.table = table;
        match self.state {
            State::Idle => {}
            State::Handshake => self.update_after_handshake = true,
            State::Established | State::Draining => self.send_update(false),
            State::Disconnected => {}
        }
    }

    pub(super) fn send_update(&mut self, reset: bool) {
        let msg_id = self.msg_id();
        self.transmit.push_back(Outgoing::Update {
            msg_id,
            table: self.table.clone(),
        });
        self.events.push_back(Event::TableUpdated {
            services: self.table.len(),
            reset,
        });
    }

    pub(super) fn handle_control(&mut self, now: Instant, msg_id: u16, body: ControlIn) {
        match body {
            ControlIn::Ping => self.transmit.push_back(Outgoing::Ack {
                msg_id,
                code: code::NO_ERROR,
            }),
            ControlIn::Ack { .. } => self.handle_ack(now, msg_id),
            ControlIn::GetStatus => {
                let id = self.msg_id();
                self.transmit.push_back(Outgoing::Status {
                    msg_id: id,
                    request_id: msg_id,
                    flags: if self.scanning {
                        arrow_codec::StatusFlags::SCANNING.0
                    } else {
                        0
                    },
                    active_sessions: u32::try_from(self.sessions.len()).unwrap_or(u32::MAX),
                });
            }
            ControlIn::GetScanReport => {
                let id = self.msg_id();
                self.transmit.push_back(Outgoing::ScanReport {
                    msg_id: id,
                    request_id: msg_id,
                    findings: ScanFindings {
                        hosts: self.findings.hosts.clone(),
                        services: self.table.ids_of(&self.findings.services),
                    },
                });
            }
            // Without discovery there is nothing to scan: ignored, as the spec allows.
            ControlIn::ScanNetwork => {
                if self.config.discovery {
                    self.events.push_back(Event::ScanRequested);
                }
            }
            // Back to the configured services: what a scanner found is dropped.
            ControlIn::ResetSvcTable => {
                self.table = self.table.configured();
                self.send_update(true);
            }
            ControlIn::Redirect { target } => self.disconnect(Disconnect::Redirected(target)),
            ControlIn::Hup { session, code } => self.handle_service_hup(session, code),
            ControlIn::DataAck { session, len } => {
                if let Some(s) = self.sessions.get_mut(&session) {
                    let granted = s.send.acknowledge(len);
                    if granted > 0 {
                        self.local.push_back(LocalCommand::Grant {
                            handle: s.handle,
                            bytes: granted,
                        });
                    }
                }
            }
            ControlIn::Connect { svc_id, session } => self.handle_connect(now, svc_id, session),
            ControlIn::Other { kind } => {
                self.transmit.push_back(Outgoing::Ack {
                    msg_id,
                    code: code::UNSUPPORTED_METHOD,
                });
                self.events.push_back(Event::Unsupported {
                    kind: ControlIn::Other { kind }.name(),
                });
            }
        }
    }
}
