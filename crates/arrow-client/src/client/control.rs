//! The part of a running client that outlives each connection: the commands from its
//! handles, the current services, the status file and the event stream. The reconnect
//! loop ([`super::runtime`]) owns it and lends it to each connection's driver
//! ([`super::driver`]).

use std::path::PathBuf;
use std::time::{Instant, SystemTime};

use tokio::sync::{mpsc, watch};

use super::event::ClientEvent;
use super::event_queue::EventSender;
use super::scanning::{ScanState, Scanner};
use crate::discovery::FoundService;
use crate::discovery::sightings::Sightings;
use crate::service_table::{ServiceSpec, ServiceTable};
use crate::status_file::StatusFile;

/// How often sightings that only moved their times are written (well within
/// [`VISIBLE_FOR`](crate::discovery::sightings::VISIBLE_FOR)).
const SIGHTINGS_SAVE_EVERY: std::time::Duration = std::time::Duration::from_secs(600);

/// What a [`ClientHandle`](super::ClientHandle) tells the running client.
#[derive(Debug)]
pub(crate) enum Command {
    /// Use these services from now on (`table` is them, resolved just now).
    UpdateServices {
        specs: Vec<ServiceSpec>,
        table: ServiceTable,
    },
    /// Scan the LAN now (the same as the service's SCAN_NETWORK).
    ScanNow,
    /// Stop in an orderly way.
    Shutdown,
}

/// State shared by the reconnect loop and the connection drivers.
pub(crate) struct Control {
    /// Commands from the handles.
    pub(crate) commands: mpsc::UnboundedReceiver<Command>,
    /// The services as configured (resolved again on each attempt).
    pub(crate) specs: Vec<ServiceSpec>,
    /// The configured services of the current connection, resolved.
    pub(crate) static_table: ServiceTable,
    /// The table announced: the configured services and the visible discovered ones.
    /// Changed only through [`set_table`](Self::set_table), which publishes it.
    pub(crate) table: ServiceTable,
    /// The handles' view of `table`.
    pub(crate) table_watch: watch::Sender<ServiceTable>,
    /// The services scans found, and when (discovery on).
    pub(crate) sightings: Sightings,
    /// Where the sightings are kept (the state directory's `discovered.json`).
    pub(crate) sightings_file: Option<PathBuf>,
    /// When the sightings were last written.
    pub(crate) sightings_saved: Option<Instant>,
    /// Scans whose findings are in the sightings.
    pub(crate) scans_taken: u64,
    /// A shutdown was asked for (or every handle is gone).
    pub(crate) stopping: bool,
    /// Register once and leave.
    pub(crate) once: bool,
    /// The status file.
    pub(crate) status: StatusFile,
    /// Events for the user.
    pub(crate) events: EventSender,
    /// When the service accepted REGISTER on the current connection.
    pub(crate) registered_at: Option<Instant>,
    /// The scanner, when discovery is on.
    pub(crate) scanner: Option<Scanner>,
    /// Gateway mode: sessions to services on other hosts are allowed.
    pub(crate) gateway: bool,
    /// Told once that a scan found cameras on other hosts while gateway mode is off.
    pub(crate) warned_no_gateway: bool,
}

impl Control {
    /// The configured services (just resolved): the table announced is them and the
    /// visible discovered services.
    pub(crate) fn set_static_table(&mut self, table: ServiceTable) {
        self.set_table(table.with_discovered(&self.sightings.visible(SystemTime::now())));
        self.static_table = table;
    }

    /// The table announced from now on, published to the handles.
    fn set_table(&mut self, table: ServiceTable) {
        self.table_watch.send_if_modified(|published| {
            let changed = *published != table;
            if changed {
                published.clone_from(&table);
            }
            changed
        });
        self.table = table;
    }

    /// Takes the findings of a scan not taken yet: the new table when the visible services
    /// changed.
    pub(crate) fn take_scan(&mut self, state: &ScanState) -> Option<ServiceTable> {
        if state.scans <= self.scans_taken {
            return None;
        }
        self.scans_taken = state.scans;
        if !self.gateway
            && !self.warned_no_gateway
            && state.found.iter().any(|f| !f.addr.ip().is_loopback())
        {
            self.warned_no_gateway = true;
            tracing::warn!(
                "a scan found cameras on other hosts but gateway mode is off: they are \
                 announced, but sessions to them will be refused (turn gateway mode on)"
            );
        }
        self.record_scan(&state.found)
    }

    /// The scanner's latest findings, taken before a REGISTER is built.
    pub(crate) fn take_latest_scan(&mut self) {
        let state = match &mut self.scanner {
            Some(scanner) => scanner.state.borrow_and_update().clone(),
            None => return,
        };
        self.take_scan(&state);
    }

    /// The table again with the services visible now: the new table when one has expired.
    pub(crate) fn refresh_visible(&mut self) -> Option<ServiceTable> {
        let table = self
            .static_table
            .with_discovered(&self.sightings.visible(SystemTime::now()));
        (table != self.table).then(|| {
            self.set_table(table.clone());
            table
        })
    }

    /// A scan found `found`: the new table when the visible services changed.
    fn record_scan(&mut self, found: &[FoundService]) -> Option<ServiceTable> {
        let now = SystemTime::now();
        let changed = self.sightings.record(found, now);
        // Written when the set changes, else only now and then: a scan that sees the same
        // cameras again moves their times, and a restart within VISIBLE_FOR keeps them.
        let due = self
            .sightings_saved
            .is_none_or(|at| at.elapsed() >= SIGHTINGS_SAVE_EVERY);
        if changed || due {
            self.save_sightings();
        }
        let table = self
            .static_table
            .with_discovered(&self.sightings.visible(now));
        (table != self.table).then(|| {
            self.set_table(table.clone());
            table
        })
    }

    /// RESET_SVC_TABLE: the discovered services are forgotten.
    pub(crate) fn forget_discovered(&mut self) {
        self.sightings.clear();
        self.save_sightings();
        self.set_table(self.static_table.clone());
    }

    fn save_sightings(&mut self) {
        self.sightings_saved = Some(Instant::now());
        if let Some(path) = &self.sightings_file
            && let Err(e) =
                crate::identity::write_private(path, self.sightings.to_json().as_bytes())
        {
            tracing::warn!(path = %path.display(), error = %e, "cannot keep the discovered services");
        }
    }

    /// Reports an event (a user who stopped listening is not an error).
    pub(crate) fn event(&self, event: ClientEvent) {
        self.events.send(event);
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
                self.set_static_table(table);
                Some(self.table.clone())
            }
            Some(Command::ScanNow) => {
                match &self.scanner {
                    Some(scanner) => {
                        tracing::info!("a scan was asked for");
                        scanner.request();
                    }
                    None => tracing::debug!("a scan was asked for, but discovery is off"),
                }
                None
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
