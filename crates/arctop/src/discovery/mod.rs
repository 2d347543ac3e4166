//! Discovery (DNS-SD over multicast): what a server found by mDNS is ([`Server`]) and how
//! Arctop instances are named, always; browsing for servers (`discover`, `Browser`) and
//! advertising one (`Advertisement`) with mdns-sd, with the feature `mdns`.
//!
//! The app publishes `ArctopService` (older builds `NeuosService`) under `_http._tcp.local.`;
//! Android renames an instance on conflict (`ArctopService (2)`), so instances are matched
//! by prefix. There is no TXT record and no default port: the port comes from SRV.

#[cfg(feature = "mdns")]
mod advertise;
#[cfg(feature = "mdns")]
mod browse;

use std::net::{IpAddr, SocketAddr, SocketAddrV6};

#[cfg(feature = "mdns")]
pub use advertise::Advertisement;
#[cfg(feature = "mdns")]
pub use browse::{Browser, Chosen, discover, discover_first, discover_first_matching};

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

    /// Builds a server from a resolved answer: addresses sorted IPv4 first and deduplicated,
    /// the interface scope kept only for IPv6 link-local addresses.
    #[cfg(any(feature = "mdns", test))]
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

#[cfg(any(feature = "mdns", test))]
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
