//! What probing found for configured stream services whose URL named no path, shared by the
//! reconnect loop and [`ClientHandle::update_services`](super::ClientHandle::update_services)
//! so that a reload keeps the paths found and probes only the services new to it.
//!
//! A camera is probed once per address. One that did not answer (off at boot, say), or
//! was not done within the probe timeout ([`DEFAULT_PROBE_TIMEOUT`] unless configured),
//! is asked again on a later attempt, at most every [`RETRY_NOT_FOUND`]; until then it is
//! announced with its configured type and path `/`. The streams to probe are probed side
//! by side, at most [`PROBES_AT_ONCE`] at a time, so one slow camera holds up the
//! connection to the service by one timeout at most.

use std::collections::HashMap;
use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;

use crate::Error;
use crate::discovery::{ScanConfig, probe_stream};
use crate::service_table::{Probed, ServiceSpec, ServiceTable};

/// How long a camera that gave no stream path is left alone before it is probed again.
pub(crate) const RETRY_NOT_FOUND: Duration = Duration::from_secs(300);

/// How long probing one stream may take, all its requests together, unless configured
/// ([`ClientConfig::probe_timeout`](super::ClientConfig::probe_timeout)). A camera on the
/// LAN answers the whole walk over the path list in well under a second.
pub(crate) const DEFAULT_PROBE_TIMEOUT: Duration = Duration::from_secs(15);

/// How many streams are probed at the same time.
pub(crate) const PROBES_AT_ONCE: usize = 16;

/// Findings by service and address, with when each was made.
#[derive(Clone)]
pub(crate) struct ProbeCache {
    findings: Arc<Mutex<Findings>>,
    timeout: Duration,
}

/// What each probe found (nothing, for a camera that gave no path), and when.
type Findings = HashMap<(ServiceSpec, SocketAddr), (Option<Probed>, Instant)>;

impl ProbeCache {
    /// An empty cache whose probes each end after `timeout`.
    pub(crate) fn new(timeout: Duration) -> Self {
        ProbeCache {
            findings: Arc::default(),
            timeout,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Findings> {
        self.findings
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The table of `resolved`: each path-less stream probed unless known (or not found
    /// less than [`RETRY_NOT_FOUND`] ago), and announced with what its probe found.
    pub(crate) async fn table(
        &self,
        resolved: Vec<(ServiceSpec, SocketAddr)>,
    ) -> Result<ServiceTable, Error> {
        let scan = ScanConfig::default();
        let pending: Vec<(ServiceSpec, SocketAddr)> = {
            let findings = self.lock();
            resolved
                .iter()
                .filter(|(spec, addr)| {
                    spec.find_path
                        && match findings.get(&(spec.clone(), *addr)) {
                            Some((Some(_), _)) => false,
                            Some((None, at)) => at.elapsed() >= RETRY_NOT_FOUND,
                            None => true,
                        }
                })
                .cloned()
                .collect()
        };
        let probes = pending.into_iter().map(|(spec, addr)| {
            let scan = &scan;
            async move {
                let probe = probe_stream(spec.kind, addr, scan);
                let finding = match tokio::time::timeout(self.timeout, probe).await {
                    Ok(Some((t, path))) => {
                        tracing::info!(service = %spec, found = %t, path, "probed the stream's path");
                        Some((t, path))
                    }
                    Ok(None) => {
                        tracing::warn!(
                            service = %spec,
                            "the camera named no stream path and none was found: announced \
                             with path / (asked again later)"
                        );
                        None
                    }
                    Err(_) => {
                        tracing::warn!(
                            service = %spec,
                            timeout = ?self.timeout,
                            "the camera was not done answering the probe for its stream path: \
                             announced with path / (asked again later)"
                        );
                        None
                    }
                };
                self.lock().insert((spec, addr), (finding, Instant::now()));
            }
        });
        futures::stream::iter(probes)
            .buffer_unordered(PROBES_AT_ONCE)
            .collect::<()>()
            .await;
        let cache = self.lock();
        let items: Vec<(ServiceSpec, SocketAddr, Option<Probed>)> = resolved
            .into_iter()
            .map(|(spec, addr)| {
                let finding = cache
                    .get(&(spec.clone(), addr))
                    .and_then(|(finding, _)| finding.clone());
                (spec, addr, finding)
            })
            .collect();
        drop(cache);
        ServiceTable::new_probed(without_collisions(items))
    }
}

/// Leaves out a probed path that another configured service of the same kind and address
/// names already (`rtsp://cam` probed to `/live.sdp` beside `rtsp://cam/live.sdp`): that
/// one keeps its configured path instead of making the table fail.
fn without_collisions(
    mut items: Vec<(ServiceSpec, SocketAddr, Option<Probed>)>,
) -> Vec<(ServiceSpec, SocketAddr, Option<Probed>)> {
    let configured: HashSet<(_, SocketAddr, String)> = items
        .iter()
        .filter(|(_, _, finding)| finding.is_none())
        .map(|(spec, addr, _)| (spec.kind, *addr, spec.path.clone()))
        .collect();
    let mut taken = configured;
    for (spec, addr, finding) in &mut items {
        if let Some((_, path)) = finding
            && !taken.insert((spec.kind, *addr, path.clone()))
        {
            tracing::warn!(
                service = %spec,
                path = %path,
                "the probed path is configured already: announced with its configured path"
            );
            *finding = None;
        }
    }
    items
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service_table::ServiceKind;
    use arrow_codec::ServiceType;

    #[test]
    fn a_probed_path_that_is_configured_already_is_left_out_and_the_table_is_made() {
        let addr: SocketAddr = "192.168.1.20:554".parse().unwrap();
        let bare = ServiceSpec::url(ServiceKind::Rtsp, "rtsp://192.168.1.20").unwrap();
        let named = ServiceSpec::url(ServiceKind::Rtsp, "rtsp://192.168.1.20/live.sdp").unwrap();
        let items = vec![
            (
                bare.clone(),
                addr,
                Some((ServiceType::Rtsp, "/live.sdp".to_string())),
            ),
            (named, addr, None),
        ];
        let items = without_collisions(items);
        assert_eq!(items[0].2, None, "{items:?}");
        let table = ServiceTable::new_probed(items).expect("no collision left");
        assert_eq!(table.len(), 2);
    }

    #[test]
    fn a_probed_path_nobody_else_names_is_kept() {
        let addr: SocketAddr = "192.168.1.20:554".parse().unwrap();
        let bare = ServiceSpec::url(ServiceKind::Rtsp, "rtsp://192.168.1.20").unwrap();
        let finding = Some((ServiceType::Rtsp, "/live.sdp".to_string()));
        let items = without_collisions(vec![(bare, addr, finding.clone())]);
        assert_eq!(items[0].2, finding);
    }
}
