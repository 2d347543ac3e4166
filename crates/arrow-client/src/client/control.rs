//! The part of a running client that outlives each connection: the commands from its
//! handles, the current services, the status file and the event stream. The reconnect
//! loop ([`super::runtime`]) owns it and lends it to each connection's driver
//! ([`super::driver`]).

use std::time::Instant;

use tokio::sync::mpsc;

use super::event::ClientEvent;
use super::scanning::Scanner;
use crate::service_table::{ServiceSpec, ServiceTable};
use crate::status_file::StatusFile;

/// What a [`ClientHandle`](super::ClientHandle) tells the running client.
#[derive(Debug)]
pub(crate) enum Command {
    /// Use these services from now on (`table` is them, resolved just now).
    UpdateServices {
        specs: Vec<ServiceSpec>,
        table: ServiceTable,
    },
    /// Stop in an orderly way.
    Shutdown,
}

/// State shared by the reconnect loop and the connection drivers.
pub(crate) struct Control {
    /// Commands from the handles.
    pub(crate) commands: mpsc::UnboundedReceiver<Command>,
    /// The services as configured (resolved again on each attempt).
    pub(crate) specs: Vec<ServiceSpec>,
    /// The table of the current connection (or the last one resolved).
    pub(crate) table: ServiceTable,
    /// A shutdown was asked for (or every handle is gone).
    pub(crate) stopping: bool,
    /// Register once and leave.
    pub(crate) once: bool,
    /// The status file.
    pub(crate) status: StatusFile,
    /// Events for the user.
    pub(crate) events: mpsc::UnboundedSender<ClientEvent>,
    /// When the service accepted REGISTER on the current connection.
    pub(crate) registered_at: Option<Instant>,
    /// The scanner, when discovery is on.
    pub(crate) scanner: Option<Scanner>,
}

impl Control {
    /// Reports an event (a user who stopped listening is not an error).
    pub(crate) fn event(&self, event: ClientEvent) {
        let _ = self.events.send(event);
    }

    /// Applies a command: returns the new table to announce, if it brings one; a shutdown
    /// (or every handle gone) sets `stopping`.
    pub(crate) fn apply(&mut self, command: Option<Command>) -> Option<ServiceTable> {
        match command {
            Some(Command::UpdateServices { specs, table }) => {
                self.event(ClientEvent::TableReplaced {
                    services: table.len(),
                });
                self.specs = specs;
                self.table = table.clone();
                Some(table)
            }
            Some(Command::Shutdown) | None => {
                if !self.stopping {
                    self.stopping = true;
                    self.event(ClientEvent::Stopping);
                }
                None
            }
        }
    }
}
