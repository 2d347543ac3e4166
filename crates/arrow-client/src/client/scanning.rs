//! The client's scanner, when discovery is on: a task that scans the LAN
//! ([`crate::discovery`]) once at start, every [`PERIOD`] after, and whenever the service
//! sends SCAN_NETWORK, and publishes its state for the connection drivers: whether a scan
//! runs (STATUS's flag) and what the last one found (GET_SCAN_REPORT's answer).
//!
//! It outlives connections: a scan started on one connection is reported on the next.
//! Requests that come in while a scan runs are served by one scan after it.

use std::time::Duration;

use tokio::sync::{mpsc, watch};

use super::event::ClientEvent;
use crate::discovery::{self, ScanConfig};
use crate::message::ScanFindings;

/// Time between two periodic scans.
pub(crate) const PERIOD: Duration = Duration::from_secs(300);

/// What the drivers see of the scanner.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ScanState {
    /// A scan runs now.
    pub(crate) running: bool,
    /// What the last finished scan found, as SCAN_REPORT carries it.
    pub(crate) findings: ScanFindings,
    /// The services it found.
    pub(crate) found: Vec<crate::discovery::FoundService>,
    /// Scans finished so far: a new value means new findings.
    pub(crate) scans: u64,
}

/// The handles of a running scanner task.
#[derive(Debug)]
pub(crate) struct Scanner {
    requests: mpsc::UnboundedSender<()>,
    pub(crate) state: watch::Receiver<ScanState>,
    task: tokio::task::JoinHandle<()>,
}

impl Scanner {
    /// Starts the task: its first scan begins at once.
    pub(crate) fn spawn(config: ScanConfig, events: mpsc::UnboundedSender<ClientEvent>) -> Self {
        let (requests, rx) = mpsc::unbounded_channel();
        let (state_tx, state) = watch::channel(ScanState::default());
        let task = tokio::spawn(run(config, rx, state_tx, events));
        Scanner {
            requests,
            state,
            task,
        }
    }

    /// Asks for a scan (SCAN_NETWORK).
    pub(crate) fn request(&self) {
        let _ = self.requests.send(());
    }
}

impl Drop for Scanner {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn run(
    config: ScanConfig,
    mut requests: mpsc::UnboundedReceiver<()>,
    state: watch::Sender<ScanState>,
    events: mpsc::UnboundedSender<ClientEvent>,
) {
    loop {
        state.send_modify(|s| s.running = true);
        let _ = events.send(ClientEvent::ScanStarted);
        match discovery::scan(&config, &|_| {}).await {
            Ok(result) => {
                for warning in &result.warnings {
                    tracing::warn!("scan: {warning}");
                }
                let wire = result.wire(0);
                tracing::info!(
                    hosts = wire.hosts.len(),
                    services = wire.services.len(),
                    "scan finished"
                );
                let _ = events.send(ClientEvent::ScanFinished {
                    hosts: wire.hosts.len(),
                    services: wire.services.len(),
                    cut_short: result.cut_short,
                });
                state.send_modify(|s| {
                    s.running = false;
                    s.findings = ScanFindings {
                        hosts: wire.hosts,
                        services: wire.services,
                    };
                    s.found = result.services;
                    s.scans += 1;
                });
            }
            Err(e) => {
                tracing::error!(error = %e, "the scan cannot run");
                let _ = events.send(ClientEvent::ScanFinished {
                    hosts: 0,
                    services: 0,
                    cut_short: true,
                });
                state.send_modify(|s| s.running = false);
            }
        }
        // Requests that came during the scan: served by one more scan, at once.
        let mut pending = false;
        while requests.try_recv().is_ok() {
            pending = true;
        }
        if pending {
            continue;
        }
        tokio::select! {
            request = requests.recv() => if request.is_none() { return },
            () = tokio::time::sleep(PERIOD) => {}
        }
    }
}
