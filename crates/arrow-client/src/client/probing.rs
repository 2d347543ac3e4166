//! What probing found for configured stream services whose URL named no path, shared by the
//! reconnect loop and [`ClientHandle::update_services`](super::ClientHandle::update_services)
//! so that a reload keeps the paths found and probes only the services new to it.
//!
//! A camera is probed once per address. One that did not answer (off at boot, say) is
//! asked again on a later attempt, at most every [`RETRY_NOT_FOUND`]; until then it is
//! announced with its configured type and path `/`.

use std::collections::HashMap;
use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::Error;
use crate::discovery::{ScanConfig, probe_stream};
use crate::service_table::{Probed, ServiceSpec, ServiceTable};

/// How long a camera that gave no stream path is left alone before it is probed again.
pub(crate) const RETRY_NOT_FOUND: Duration = Duration::from_secs(300);

/// Findings by service and address, with when each was made.
#[derive(Clone, Default)]
pub(crate) struct ProbeCache(Arc<Mutex<Findings>>);

/// What each probe found (nothing, for a camera that gave no path), and when.
type Findings = HashMap<(ServiceSpec, SocketAddr), (Option<Probed>, Instant)>;

impl ProbeCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, Findings> {
        self.0
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
        for (spec, addr) in resolved.iter().filter(|(s, _)| s.find_path) {
            let key = (spec.clone(), *addr);
            let known = match self.lock().get(&key) {
                Some((Some(_), _)) => true,
                Some((None, at)) => at.elapsed() < RETRY_NOT_FOUND,
                None => false,
            };
            if known {
                continue;
            }
            let finding = probe_stream(spec.kind, *addr, &scan).await;
            match &finding {
                Some((t, path)) => {
                    tracing::info!(service = %spec, found = %t, path, "probed the stream's path")
                }
                None => tracing::warn!(
                    service = %spec,
                    "the camera named no stream path and none was found: announced with path / \
                     (asked again later)"
                ),
            }
            self.lock().insert(key, (finding, Instant::now()));
        }
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
