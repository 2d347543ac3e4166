//! The client's scanner, when discovery is on: a task that scans the LAN
//! ([`crate::discovery`]) once at start, every [`PERIOD`] after, and whenever the service
//! sends SCAN_NETWORK, and publishes its state for the connection drivers: whether a scan
//! runs (STATUS's flag) and what the last one found (GET_SCAN_REPORT's answer).
//!
//! It outlives connections: a scan started on one connection is reported on the next.
//! Requests that come in while a scan runs are served by one scan after it, and requested
//! scans start at most once per [`REQUEST_GAP`], so a service that keeps asking cannot keep
//! the device sweeping its LAN.

use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use tokio::sync::{Notify, watch};
use tokio::time::Instant;

use super::event::ClientEvent;
use super::event_queue::EventSender;
use crate::discovery::{self, ScanConfig};
use crate::message::ScanFindings;

/// Time between two periodic scans.
pub(crate) const PERIOD: Duration = Duration::from_secs(300);

/// The least time between the starts of two scans the service asked for.
pub(crate) const REQUEST_GAP: Duration = Duration::from_secs(30);

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
    /// Holds at most one pending request, however many came.
    requests: Arc<Notify>,
    pub(crate) state: watch::Receiver<ScanState>,
    task: tokio::task::JoinHandle<()>,
}

impl Scanner {
    /// Starts the task: its first scan begins at once.
    pub(crate) fn spawn(config: ScanConfig, events: EventSender) -> Self {
        let requests = Arc::new(Notify::new());
        let (state_tx, state) = watch::channel(ScanState::default());
        let task = tokio::spawn(run(config, requests.clone(), state_tx, events));
        Scanner {
            requests,
            state,
            task,
        }
    }

    /// Asks for a scan (SCAN_NETWORK).
    pub(crate) fn request(&self) {
        self.requests.notify_one();
    }
}

impl Scanner {
    /// Ends the task and waits until it has ended: no scan event comes after this.
    pub(crate) async fn stop(mut self) {
        self.task.abort();
        let _ = (&mut self.task).await;
    }
}

impl Drop for Scanner {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn run(
    config: ScanConfig,
    requests: Arc<Notify>,
    state: watch::Sender<ScanState>,
    events: EventSender,
) {
    let mut last_requested: Option<Instant> = None;
    loop {
        state.send_modify(|s| s.running = true);
        events.send(ClientEvent::ScanStarted);
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
                let (hosts, services) = (wire.hosts.len(), wire.services.len());
                state.send_modify(|s| {
                    s.running = false;
                    s.findings = ScanFindings {
                        hosts: wire.hosts,
                        services: wire.services,
                    };
                    s.found = result.services;
                    s.scans += 1;
                });
                events.send(ClientEvent::ScanFinished {
                    hosts,
                    services,
                    cut_short: result.cut_short,
                });
            }
            Err(e) => {
                tracing::error!(error = %e, "the scan cannot run");
                state.send_modify(|s| s.running = false);
                events.send(ClientEvent::ScanFinished {
                    hosts: 0,
                    services: 0,
                    cut_short: true,
                });
            }
        }
        // A request that came during the scan is served by one more scan after it.
        let requested = if requests.notified().now_or_never().is_some() {
            true
        } else {
            tokio::select! {
                () = requests.notified() => true,
                () = tokio::time::sleep(PERIOD) => false,
            }
        };
        if requested {
            if let Some(at) = last_requested {
                tokio::time::sleep_until(at + REQUEST_GAP).await;
            }
            last_requested = Some(Instant::now());
        }
    }
}
