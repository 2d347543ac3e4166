//! mDNS discovery (DNS-SD over multicast) with mdns-sd: browsing for servers and
//! advertising the simulator.
//!
//! The app publishes `ArctopService` (older builds `NeuosService`) under `_http._tcp.local.`;
//! Android renames an instance on conflict (`ArctopService (2)`), so instances are matched
//! by prefix. There is no TXT record and no default port: the port comes from SRV.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr, SocketAddrV6};
use std::time::Duration;

use mdns_sd::{ResolvedService, ScopedIp, ServiceDaemon, ServiceEvent, ServiceInfo};
use tokio::time::Instant;

use crate::Error;

/// The DNS-SD service type the app publishes under.
pub const SERVICE_TYPE: &str = "_http._tcp.local.";
/// The instance name of current app builds.
pub const SERVICE_NAME: &str = "ArctopService";
/// The instance name of older app builds.
pub const LEGACY_SERVICE_NAME: &str = "NeuosService";

/// One server found by mDNS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Server {
    /// The instance name (`ArctopService`, `ArctopService (2)`, `NeuosService`, ...).
    pub name: String,
    /// The host name from SRV (`android-1234.local.`).
    pub host: String,
    /// Every address the host announced, IPv4 first. IPv6 link-local addresses carry the
    /// interface they were seen on in [`Server::socket_addrs`].
    pub addresses: Vec<IpAddr>,
    /// The TCP port from SRV.
    pub port: u16,
    scopes: Vec<u32>,
}

impl Server {
    /// A server with these fields (for tests and for callers that know a server).
    pub fn new(
        name: impl Into<String>,
        host: impl Into<String>,
        addresses: Vec<IpAddr>,
        port: u16,
    ) -> Self {
        let scopes = vec![0; addresses.len()];
        Server {
            name: name.into(),
            host: host.into(),
            addresses,
            port,
            scopes,
        }
    }

    /// The addresses to connect to, in order of preference (IPv4 first), with the
    /// interface scope on IPv6 link-local ones.
    pub fn socket_addrs(&self) -> Vec<SocketAddr> {
        self.addresses
            .iter()
            .zip(self.scopes.iter().chain(std::iter::repeat(&0)))
            .map(|(ip, &scope)| match ip {
                IpAddr::V6(v6) => SocketAddr::V6(SocketAddrV6::new(*v6, self.port, 0, scope)),
                v4 => SocketAddr::new(*v4, self.port),
            })
            .collect()
    }

    fn from_resolved(resolved: &ResolvedService) -> Self {
        let addresses = resolved.addresses.iter().map(|scoped| {
            let scope = match scoped {
                ScopedIp::V6(v6) => v6.scope_id().index,
                _ => 0,
            };
            (scoped.to_ip_addr(), scope)
        });
        Self::from_answer(&resolved.fullname, &resolved.host, resolved.port, addresses)
    }

    /// Builds a server from a resolved answer: addresses sorted IPv4 first and deduplicated,
    /// the interface scope kept only for IPv6 link-local addresses.
    fn from_answer(
        fullname: &str,
        host: &str,
        port: u16,
        addresses: impl Iterator<Item = (IpAddr, u32)>,
    ) -> Self {
        let mut pairs: Vec<(IpAddr, u32)> = addresses
            .map(|(ip, scope)| (ip, if is_link_local_v6(&ip) { scope } else { 0 }))
            .collect();
        pairs.sort_by_key(|(ip, _)| (ip.is_ipv6(), *ip));
        pairs.dedup_by_key(|(ip, _)| *ip);
        Server {
            name: instance_name(fullname),
            host: host.to_string(),
            addresses: pairs.iter().map(|(ip, _)| *ip).collect(),
            port,
            scopes: pairs.iter().map(|(_, s)| *s).collect(),
        }
    }
}

fn is_link_local_v6(ip: &IpAddr) -> bool {
    matches!(ip, IpAddr::V6(v6) if (v6.segments()[0] & 0xffc0) == 0xfe80)
}

/// The instance part of a full DNS-SD name (`ArctopService._http._tcp.local.` ->
/// `ArctopService`). DNS escapes (`\032` for a space, `\.`) are undone.
pub fn instance_name(fullname: &str) -> String {
    let instance = fullname
        .strip_suffix(SERVICE_TYPE)
        .map_or(fullname, |s| s.strip_suffix('.').unwrap_or(s));
    let mut out = String::with_capacity(instance.len());
    let mut chars = instance.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let digits: String = chars.clone().take(3).collect();
        if digits.len() == 3
            && digits.chars().all(|d| d.is_ascii_digit())
            && let Some(decoded) = digits.parse::<u8>().ok().map(char::from)
        {
            out.push(decoded);
            for _ in 0..3 {
                chars.next();
            }
            continue;
        }
        if let Some(next) = chars.next() {
            out.push(next);
        }
    }
    out
}

/// True when an instance name is an Arctop server: it starts with `ArctopService` or
/// `NeuosService` (Android appends ` (2)` and so on on conflict).
pub fn is_arctop_instance(instance: &str) -> bool {
    [SERVICE_NAME, LEGACY_SERVICE_NAME]
        .iter()
        .any(|prefix| instance.starts_with(prefix))
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

/// A published service. Dropping it unregisters the service and stops the daemon.
pub struct Advertisement {
    daemon: ServiceDaemon,
    fullname: String,
}

impl std::fmt::Debug for Advertisement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Advertisement")
            .field("fullname", &self.fullname)
            .finish()
    }
}

impl Advertisement {
    /// Publishes `instance` under `_http._tcp.local.` at `port`. With no addresses, every
    /// address of the host is announced and kept up to date.
    pub fn publish(instance: &str, port: u16, addresses: &[IpAddr]) -> Result<Self, Error> {
        let daemon = ServiceDaemon::new()?;
        let host = format!("protoctl-simulator-{port}.local.");
        let ips: Vec<IpAddr> = addresses.to_vec();
        let mut info = ServiceInfo::new(
            SERVICE_TYPE,
            instance,
            &host,
            &ips[..],
            port,
            None::<HashMap<String, String>>,
        )?;
        if addresses.is_empty() {
            info = info.enable_addr_auto();
        }
        let fullname = info.get_fullname().to_string();
        daemon.register(info)?;
        Ok(Advertisement { daemon, fullname })
    }

    /// The full DNS-SD name published.
    pub fn fullname(&self) -> &str {
        &self.fullname
    }
}

impl Drop for Advertisement {
    fn drop(&mut self) {
        if let Ok(done) = self.daemon.unregister(&self.fullname) {
            // Sends the goodbye packets; bounded so a stuck daemon cannot hang a drop.
            let _ = done.recv_timeout(Duration::from_secs(1));
        }
        let _ = self.daemon.shutdown();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_names_match_by_prefix() {
        let cases = [
            ("ArctopService", true),
            ("ArctopService (2)", true),
            ("NeuosService", true),
            ("NeuosService (3)", true),
            ("Arctop", false),
            ("MyPrinter", false),
            ("arctopservice", false),
        ];
        for (name, expected) in cases {
            assert_eq!(is_arctop_instance(name), expected, "{name}");
        }
    }

    #[test]
    fn instance_name_strips_type_and_escapes() {
        assert_eq!(
            instance_name("ArctopService._http._tcp.local."),
            "ArctopService"
        );
        assert_eq!(
            instance_name("ArctopService\\032(2)._http._tcp.local."),
            "ArctopService (2)"
        );
        assert_eq!(instance_name("a\\.b._http._tcp.local."), "a.b");
    }

    #[test]
    fn answers_list_ipv4_first_and_scope_link_local_ipv6() {
        let answer = [
            ("fe80::1".parse().unwrap(), 3),
            ("2001:db8::5".parse().unwrap(), 3),
            ("192.168.1.5".parse().unwrap(), 3),
            ("192.168.1.5".parse().unwrap(), 4),
        ];
        let server = Server::from_answer(
            "ArctopService\\032(2)._http._tcp.local.",
            "android-1.local.",
            4567,
            answer.into_iter(),
        );
        assert_eq!(server.name, "ArctopService (2)");
        assert_eq!(server.host, "android-1.local.");
        let addrs: Vec<String> = server
            .socket_addrs()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            addrs,
            ["192.168.1.5:4567", "[2001:db8::5]:4567", "[fe80::1%3]:4567"]
        );
    }

    #[test]
    fn socket_addrs_prefer_ipv4_and_keep_the_port() {
        let server = Server::new(
            "ArctopService",
            "phone.local.",
            vec!["192.168.1.5".parse().unwrap(), "::1".parse().unwrap()],
            4567,
        );
        let addrs = server.socket_addrs();
        assert_eq!(addrs[0], "192.168.1.5:4567".parse().unwrap());
        assert_eq!(addrs[1], "[::1]:4567".parse().unwrap());
    }
}
