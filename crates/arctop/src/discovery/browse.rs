//! Browsing for Arctop servers with mdns-sd (feature `mdns`).

use std::collections::HashMap;
use std::time::Duration;

use mdns_sd::{ResolvedService, ScopedIp, ServiceDaemon, ServiceEvent};
use tokio::time::Instant;

use super::{SERVICE_TYPE, Server, is_arctop_instance};
use crate::Error;

impl Server {
    pub(super) fn from_resolved(resolved: &ResolvedService) -> Self {
        let addresses = resolved.addresses.iter().map(|scoped| {
            let scope = match scoped {
                ScopedIp::V6(v6) => v6.scope_id().index,
                _ => 0,
            };
            (scoped.to_ip_addr(), scope)
        });
        Self::from_answer(&resolved.fullname, &resolved.host, resolved.port, addresses)
    }
}

/// A running browse for Arctop servers. Dropping it stops the browse and the daemon.
pub struct Browser {
    daemon: ServiceDaemon,
    events: mdns_sd::Receiver<ServiceEvent>,
    seen: HashMap<String, Server>,
}

impl std::fmt::Debug for Browser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Browser")
            .field("seen", &self.seen.len())
            .finish()
    }
}

impl Browser {
    /// Starts browsing `_http._tcp.local.` on every interface (loopback included).
    pub fn start() -> Result<Self, Error> {
        let daemon = ServiceDaemon::new()?;
        let events = daemon.browse(SERVICE_TYPE)?;
        Ok(Browser {
            daemon,
            events,
            seen: HashMap::new(),
        })
    }

    /// The next Arctop server resolved (or resolved again with other addresses or port),
    /// or `None` when `deadline` passes first.
    pub async fn next_until(&mut self, deadline: Instant) -> Result<Option<Server>, Error> {
        loop {
            let event = match tokio::time::timeout_at(deadline, self.events.recv_async()).await {
                Err(_) => return Ok(None),
                Ok(Err(_)) => return Err(Error::Mdns("the mDNS daemon stopped".into())),
                Ok(Ok(event)) => event,
            };
            let ServiceEvent::ServiceResolved(resolved) = event else {
                continue;
            };
            let server = Server::from_resolved(&resolved);
            if !is_arctop_instance(&server.name) {
                tracing::debug!(name = %server.name, "ignoring a non-Arctop _http._tcp service");
                continue;
            }
            if server.addresses.is_empty() || self.seen.get(&resolved.fullname) == Some(&server) {
                continue;
            }
            tracing::debug!(name = %server.name, host = %server.host, port = server.port, "found");
            self.seen.insert(resolved.fullname.clone(), server.clone());
            return Ok(Some(server));
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.daemon.stop_browse(SERVICE_TYPE);
        let _ = self.daemon.shutdown();
    }
}

/// Every Arctop server that answers within `timeout`, each once, in the order found.
pub async fn discover(timeout: Duration) -> Result<Vec<Server>, Error> {
    let deadline = Instant::from_std(crate::deadline::deadline(
        Instant::now().into_std(),
        timeout,
    ));
    let mut browser = Browser::start()?;
    let mut found: Vec<Server> = Vec::new();
    while let Some(server) = browser.next_until(deadline).await? {
        match found.iter_mut().find(|s| s.name == server.name) {
            Some(known) => *known = server,
            None => found.push(server),
        }
    }
    Ok(found)
}

/// The first Arctop server that answers, or [`Error::NoServerFound`] after `timeout`.
pub async fn discover_first(timeout: Duration) -> Result<Server, Error> {
    let deadline = Instant::from_std(crate::deadline::deadline(
        Instant::now().into_std(),
        timeout,
    ));
    let mut browser = Browser::start()?;
    browser
        .next_until(deadline)
        .await?
        .ok_or(Error::NoServerFound { after: timeout })
}

/// What [`discover_first_matching`] chose, and the instances it passed over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chosen {
    /// The server to connect to.
    pub server: Server,
    /// Arctop instances found first whose name was not the expected one, in the order
    /// found.
    pub skipped: Vec<Server>,
}

/// The first Arctop server that answers whose instance name is exactly `expect_name`
/// (any Arctop server when `None`). Every browse starts afresh, so a server that came
/// back on another address or port is found there. Instances with another name are
/// skipped and listed in [`Chosen::skipped`].
///
/// Fails with [`Error::NoServerFound`] when nothing answered within `timeout`, or
/// [`Error::ExpectedServerNotFound`] (naming what was found) when only other instances did.
pub async fn discover_first_matching(
    timeout: Duration,
    expect_name: Option<&str>,
) -> Result<Chosen, Error> {
    let deadline = Instant::from_std(crate::deadline::deadline(
        Instant::now().into_std(),
        timeout,
    ));
    let mut browser = Browser::start()?;
    let mut skipped: Vec<Server> = Vec::new();
    while let Some(server) = browser.next_until(deadline).await? {
        match expect_name {
            Some(expected) if server.name != expected => {
                tracing::info!(name = %server.name, expected, "skipping an Arctop server with another name");
                if !skipped.iter().any(|s| s.name == server.name) {
                    skipped.push(server);
                }
            }
            _ => return Ok(Chosen { server, skipped }),
        }
    }
    match expect_name {
        Some(expected) if !skipped.is_empty() => Err(Error::ExpectedServerNotFound {
            expected: expected.to_string(),
            after: timeout,
            found: skipped.into_iter().map(|s| s.name).collect(),
        }),
        _ => Err(Error::NoServerFound { after: timeout }),
    }
}
