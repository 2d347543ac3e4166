//! The client's services: as configured ([`ServiceSpec`], parsed from a flag, a config
//! file or code) and as announced ([`ServiceTable`], each host resolved, with ids).
//!
//! # Locked services
//!
//! An RTSP or MJPEG URL with credentials (`rtsp://user:pass@10.0.0.5/live`) becomes a
//! *locked* service, type `LOCKED_RTSP` (0x0002) or `LOCKED_MJPEG` (0x0007): the camera
//! wants credentials the Arrow Service does not have, so the user enters them there. The
//! client drops the credentials as soon as the URL is parsed: they are never sent, never
//! stored in a [`ServiceSpec`] or [`Service`], so no `Debug`, `Display`, log line or error
//! message can show them (errors about such a URL print it as `rtsp://***@host/...`). The
//! record still carries the path, which the client knows.
//!
//! # Ids
//!
//! Each service gets a 16-bit id derived from a stable hash of (type, MAC, IP, port, path),
//! so a service keeps its id across restarts and the Arrow Service's references to it stay
//! valid. Id 0 is the control service and never used; colliding ids move to the next free
//! one, in an order that depends only on the services themselves. Records are sorted by id.

use std::fmt;
use std::net::{IpAddr, SocketAddr};

use crate::Error;
use crate::identity::MacAddr;

/// The kinds of service a client can expose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ServiceKind {
    /// RTSP (type 0x0001).
    Rtsp,
    /// HTTP (type 0x0005).
    Http,
    /// HTTP with a Motion JPEG endpoint (type 0x0006).
    Mjpeg,
    /// Plain TCP forwarding (type 0xffff).
    Tcp,
}

impl ServiceKind {
    /// The service type on the wire.
    pub fn code(self) -> u16 {
        match self {
            ServiceKind::Rtsp => 0x0001,
            ServiceKind::Http => 0x0005,
            ServiceKind::Mjpeg => 0x0006,
            ServiceKind::Tcp => 0xffff,
        }
    }

    /// The lowercase name used in flags and output.
    pub fn name(self) -> &'static str {
        match self {
            ServiceKind::Rtsp => "rtsp",
            ServiceKind::Http => "http",
            ServiceKind::Mjpeg => "mjpeg",
            ServiceKind::Tcp => "tcp",
        }
    }

    /// The service type on the wire for this kind, locked (credentials needed) or not.
    /// Only RTSP and MJPEG have a locked form; the others ignore `locked`.
    pub fn service_type(self, locked: bool) -> arrow_codec::ServiceType {
        use arrow_codec::ServiceType as T;
        match (self, locked) {
            (ServiceKind::Rtsp, true) => T::LockedRtsp,
            (ServiceKind::Mjpeg, true) => T::LockedMjpeg,
            _ => T::from(self.code()),
        }
    }

    fn default_port(self) -> u16 {
        match self {
            ServiceKind::Rtsp => 554,
            _ => 80,
        }
    }
}

/// One service as given on the command line, before it has an id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ServiceSpec {
    /// Its type.
    pub kind: ServiceKind,
    /// Host name or IP literal as given.
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// URL path with query (RTSP and MJPEG), empty otherwise.
    pub path: String,
    /// The URL had credentials: announced as a locked service. The credentials themselves
    /// are not kept.
    pub locked: bool,
    /// The URL named no path (`rtsp://cam:554`): the client asks the camera for its stream
    /// path and type once at start, as the scanner would (`/` until then, or when nothing
    /// is found).
    pub find_path: bool,
}

impl ServiceSpec {
    /// Parses `HOST:PORT` (for `--tcp` and `--http`; `[v6]:PORT` for IPv6).
    pub fn host_port(kind: ServiceKind, s: &str) -> Result<Self, Error> {
        let bad = || Error::Config(format!("{} service {s:?}: expected HOST:PORT", kind.name()));
        let (host, port) = split_host_port(s).ok_or_else(bad)?;
        let port = port.ok_or_else(bad)?;
        Ok(ServiceSpec {
            kind,
            host,
            port,
            path: String::new(),
            locked: false,
            find_path: false,
        })
    }

    /// Parses a URL `scheme://[USER[:PASS]@]HOST[:PORT][/path?query]` (for `--rtsp` and
    /// `--mjpeg`). Credentials make the service locked and are dropped here; an error
    /// message never repeats them.
    pub fn url(kind: ServiceKind, s: &str) -> Result<Self, Error> {
        let bad = |why: &str| {
            Error::Config(format!(
                "{} service {:?}: {why}",
                kind.name(),
                redact_credentials(s)
            ))
        };
        let (scheme, rest) = s
            .split_once("://")
            .ok_or_else(|| bad("expected a URL such as rtsp://HOST:PORT/path"))?;
        let expected: &[&str] = match kind {
            ServiceKind::Rtsp => &["rtsp"],
            _ => &["http"],
        };
        if !expected.contains(&scheme.to_ascii_lowercase().as_str()) {
            return Err(bad(&format!("the scheme must be {}", expected[0])));
        }
        let (authority, path, find_path) = match rest.find(['/', '?', '#']) {
            Some(i) => (&rest[..i], &rest[i..], false),
            None => (rest, "/", true),
        };
        if path.contains('#') {
            return Err(bad("a fragment (#...) is not part of a stream URL"));
        }
        // `rtsp://user:pa/ss@cam/` reads as host `user`, port `pa`..., path `/ss@cam/`:
        // a '@' in the first path segment with none in the authority is credentials whose
        // password holds a '/', which must be percent-encoded.
        if !authority.contains('@')
            && path
                .trim_start_matches('/')
                .split(['/', '?'])
                .next()
                .is_some_and(|segment| segment.contains('@'))
        {
            return Err(bad(
                "a '@' in the path's first segment looks like credentials holding a '/', \
                 which must be percent-encoded (%2F) in the password",
            ));
        }
        let (locked, authority) = match authority.rsplit_once('@') {
            Some(("", _)) => return Err(bad("empty credentials before '@'")),
            Some((_credentials, host)) => (true, host),
            None => (false, authority),
        };
        let (host, port) = split_host_port(authority).ok_or_else(|| {
            bad(if path.contains('@') {
                "expected HOST[:PORT] after the scheme \
                 (a '/', '?' or '#' in the credentials must be percent-encoded)"
            } else {
                "expected HOST[:PORT] after the scheme"
            })
        })?;
        let path = if path.starts_with('?') {
            format!("/{path}")
        } else {
            path.to_string()
        };
        if path.contains('\0') {
            return Err(bad("NUL in the path"));
        }
        Ok(ServiceSpec {
            kind,
            host,
            port: port.unwrap_or(kind.default_port()),
            path,
            locked,
            find_path,
        })
    }

    /// The service type on the wire (locked or not).
    pub fn service_type(&self) -> arrow_codec::ServiceType {
        self.kind.service_type(self.locked)
    }
}

/// `s` with everything between `://` and the last `@` replaced by `***`, so a URL can be
/// quoted in a message without its credentials (also when it is malformed).
pub fn redact_credentials(s: &str) -> String {
    let Some(at) = s.rfind('@') else {
        return s.to_string();
    };
    let start = s.find("://").map_or(0, |i| i + 3).min(at);
    format!("{}***{}", &s[..start], &s[at..])
}

/// Splits `HOST[:PORT]` (`[IPv6][:PORT]` for an IPv6 address) into the host, without
/// brackets, and the port if one is given. `None` when it is neither (an empty host, a bad
/// port, an IPv6 address without brackets).
pub fn split_host_port(s: &str) -> Option<(String, Option<u16>)> {
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p.parse().ok()?),
            None if after.is_empty() => None,
            None => return None,
        };
        (host.to_string(), port)
    } else {
        match s.rsplit_once(':') {
            Some((host, port)) if !host.contains(':') => {
                (host.to_string(), Some(port.parse().ok()?))
            }
            Some(_) => return None,
            None => (s.to_string(), None),
        }
    };
    (!host.is_empty()).then_some((host, port))
}

impl fmt::Display for ServiceSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        let lock = if self.locked { "***@" } else { "" };
        match self.kind {
            ServiceKind::Rtsp => write!(f, "rtsp://{lock}{host}:{}{}", self.port, self.path),
            ServiceKind::Mjpeg => write!(f, "http://{lock}{host}:{}{}", self.port, self.path),
            ServiceKind::Http | ServiceKind::Tcp => write!(f, "{host}:{}", self.port),
        }
    }
}

/// What probing a camera found for a stream whose URL named no path: its wire type and
/// path.
pub type Probed = (arrow_codec::ServiceType, String);

/// One record of the service table, with its id and resolved address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    /// The service id (never 0).
    pub id: u16,
    /// Its type.
    pub kind: ServiceKind,
    /// The MAC announced for it: `ff:ff` and the last four bytes of its IP, as the reference
    /// client does for services given by hand.
    pub mac: MacAddr,
    /// Where sessions connect to.
    pub addr: SocketAddr,
    /// URL path (RTSP, MJPEG), empty otherwise.
    pub path: String,
    /// Announced as locked (the URL had credentials, which the client did not keep).
    pub locked: bool,
    /// Its type on the wire (for a discovered RTSP service, Unknown or Unsupported RTSP
    /// too).
    pub wire_type: arrow_codec::ServiceType,
    /// Found by the scanner, not configured.
    pub discovered: bool,
}

/// The kind of a wire type: the RTSP types are RTSP, the MJPEG ones MJPEG.
fn kind_of(service_type: arrow_codec::ServiceType) -> ServiceKind {
    use arrow_codec::ServiceType as T;
    match service_type {
        T::Rtsp | T::LockedRtsp | T::UnknownRtsp | T::UnsupportedRtsp => ServiceKind::Rtsp,
        T::Mjpeg | T::LockedMjpeg => ServiceKind::Mjpeg,
        T::Http => ServiceKind::Http,
        _ => ServiceKind::Tcp,
    }
}

/// As JSON: `{"svc_id":7,"type":"rtsp","locked":false,"addr":"10.0.0.5:554","path":"/live"}`
/// (the form of `arrow run`'s events).
impl serde::Serialize for Service {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut record = s.serialize_struct("Service", 6)?;
        record.serialize_field("svc_id", &self.id)?;
        record.serialize_field("type", self.kind.name())?;
        record.serialize_field("locked", &self.locked)?;
        record.serialize_field("addr", &self.addr.to_string())?;
        record.serialize_field("path", &self.path)?;
        if self.discovered {
            record.serialize_field("discovered", &true)?;
        }
        record.end()
    }
}

impl Service {
    /// The service type on the wire: `LOCKED_RTSP`/`LOCKED_MJPEG` for locked services,
    /// Unknown and Unsupported RTSP for what the scanner found so.
    pub fn service_type(&self) -> arrow_codec::ServiceType {
        self.wire_type
    }
}

/// The client's services, sorted by id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceTable {
    services: Vec<Service>,
}

impl ServiceTable {
    /// Builds the table from services whose host is already resolved.
    ///
    /// Fails when the same service is given twice or there are more than 65,535.
    pub fn new(resolved: Vec<(ServiceSpec, SocketAddr)>) -> Result<Self, Error> {
        Self::new_probed(resolved.into_iter().map(|(s, a)| (s, a, None)).collect())
    }

    /// [`new`](Self::new), where a service may carry what probing the camera found: its
    /// wire type and stream path (for a URL that named no path).
    pub fn new_probed(
        resolved: Vec<(ServiceSpec, SocketAddr, Option<Probed>)>,
    ) -> Result<Self, Error> {
        let mut items: Vec<(
            ServiceKind,
            MacAddr,
            SocketAddr,
            String,
            bool,
            arrow_codec::ServiceType,
        )> = resolved
            .into_iter()
            .map(|(spec, addr, probed)| {
                let (wire_type, path) = match probed {
                    Some((t, path)) => (t, path),
                    None => (spec.service_type(), spec.path),
                };
                let locked = matches!(
                    wire_type,
                    arrow_codec::ServiceType::LockedRtsp | arrow_codec::ServiceType::LockedMjpeg
                );
                (
                    spec.kind,
                    manual_mac(addr.ip()),
                    addr,
                    path,
                    locked,
                    wire_type,
                )
            })
            .collect();
        // Order by content first so the collision walk below is independent of flag order.
        items.sort_by(|a, b| {
            (a.0, a.1, a.2.ip(), a.2.port(), &a.3, a.4, u16::from(a.5)).cmp(&(
                b.0,
                b.1,
                b.2.ip(),
                b.2.port(),
                &b.3,
                b.4,
                u16::from(b.5),
            ))
        });
        // The same stream with and without credentials is still one service.
        for pair in items.windows(2) {
            let (a, b) = (&pair[0], &pair[1]);
            if (a.0, a.1, a.2, &a.3) == (b.0, b.1, b.2, &b.3) {
                return Err(Error::Config(format!(
                    "service {} {} given twice",
                    pair[0].0.name(),
                    pair[0].2
                )));
            }
        }
        if items.len() > usize::from(u16::MAX) {
            return Err(Error::Config("more than 65,535 services".into()));
        }
        let mut used = std::collections::BTreeSet::new();
        let mut services = Vec::with_capacity(items.len());
        for (kind, mac, addr, path, locked, wire_type) in items {
            let id = allocate_id(&mut used, wire_type, mac, addr, &path);
            services.push(Service {
                id,
                kind,
                mac,
                addr,
                path,
                locked,
                wire_type,
                discovered: false,
            });
        }
        services.sort_by_key(|s| s.id);
        Ok(ServiceTable { services })
    }

    /// This table with the services a scan found beside it. The configured services keep
    /// their ids; each found one gets the stable id of its type, MAC, address and path
    /// (moved to the next free one on a collision); one at the address and port of a
    /// configured service is left out (the user's word wins).
    pub fn with_discovered(&self, found: &[crate::discovery::FoundService]) -> ServiceTable {
        let mut used: std::collections::BTreeSet<u16> =
            self.services.iter().map(|s| s.id).collect();
        let taken: std::collections::BTreeSet<SocketAddr> =
            self.services.iter().map(|s| s.addr).collect();
        let mut found: Vec<&crate::discovery::FoundService> =
            found.iter().filter(|f| !taken.contains(&f.addr)).collect();
        found.sort_by(|a, b| {
            (u16::from(a.service_type), a.mac, a.addr, &a.path).cmp(&(
                u16::from(b.service_type),
                b.mac,
                b.addr,
                &b.path,
            ))
        });
        // One per address and type (the sightings give one already; a caller may not).
        let mut seen = std::collections::HashSet::new();
        found.retain(|f| seen.insert((f.addr, u16::from(f.service_type))));
        let mut services = self.services.clone();
        for f in found
            .into_iter()
            .take(usize::from(u16::MAX).saturating_sub(services.len()))
        {
            let id = allocate_id(&mut used, f.service_type, f.mac, f.addr, &f.path);
            services.push(Service {
                id,
                kind: kind_of(f.service_type),
                mac: f.mac,
                addr: f.addr,
                path: f.path.clone(),
                locked: matches!(
                    f.service_type,
                    arrow_codec::ServiceType::LockedRtsp | arrow_codec::ServiceType::LockedMjpeg
                ),
                wire_type: f.service_type,
                discovered: true,
            });
        }
        services.sort_by_key(|s| s.id);
        ServiceTable { services }
    }

    /// The configured services only (what RESET_SVC_TABLE goes back to).
    pub fn configured(&self) -> ServiceTable {
        ServiceTable {
            services: self
                .services
                .iter()
                .filter(|s| !s.discovered)
                .cloned()
                .collect(),
        }
    }

    /// The services, sorted by id.
    pub fn services(&self) -> &[Service] {
        &self.services
    }

    /// The service with this id.
    pub fn get(&self, id: u16) -> Option<&Service> {
        self.services
            .binary_search_by_key(&id, |s| s.id)
            .ok()
            .map(|i| &self.services[i])
    }

    /// A scan's service records with the ids this table gives the same services (same
    /// type and address; for a service at the address of a configured one, the configured
    /// one's id), so that SCAN_REPORT names the ids CONNECT answers for. A record the table
    /// does not hold keeps its own id. Sorted by id.
    pub fn ids_of(&self, records: &[arrow_codec::Service]) -> Vec<arrow_codec::Service> {
        let mut records: Vec<arrow_codec::Service> = records
            .iter()
            .map(|r| {
                let addr = SocketAddr::new(r.ip, r.port);
                let same = self
                    .services
                    .iter()
                    .find(|s| s.addr == addr && s.wire_type == r.svc_type)
                    .or_else(|| self.services.iter().find(|s| s.addr == addr));
                let mut r = r.clone();
                if let Some(s) = same {
                    r.svc_id = s.id;
                }
                r
            })
            .collect();
        records.sort_by_key(|r| r.svc_id);
        records
    }

    /// The records REGISTER carries, in id order.
    pub fn records(&self) -> Vec<arrow_codec::Service> {
        self.services
            .iter()
            .map(|s| {
                arrow_codec::Service::new(s.id, s.service_type(), s.addr.ip(), s.addr.port())
                    .with_mac(s.mac)
                    .with_path(s.path.clone())
            })
            .collect()
    }

    /// Number of services.
    pub fn len(&self) -> usize {
        self.services.len()
    }

    /// True when there is no service.
    pub fn is_empty(&self) -> bool {
        self.services.is_empty()
    }
}

/// `ff:ff` + the last four bytes of the address.
fn manual_mac(ip: IpAddr) -> MacAddr {
    let tail = match ip {
        IpAddr::V4(v4) => v4.octets(),
        IpAddr::V6(v6) => {
            let o = v6.octets();
            [o[12], o[13], o[14], o[15]]
        }
    };
    MacAddr([0xff, 0xff, tail[0], tail[1], tail[2], tail[3]])
}

/// The stable id of a service, moved to the next free one while it is in `used` (which
/// then holds it).
fn allocate_id(
    used: &mut std::collections::BTreeSet<u16>,
    service_type: arrow_codec::ServiceType,
    mac: MacAddr,
    addr: SocketAddr,
    path: &str,
) -> u16 {
    let mut id = stable_id(service_type.into(), mac, addr, path);
    while !used.insert(id) {
        id = id.checked_add(1).unwrap_or(1);
    }
    id
}

/// The records of services a scan found, by id: ids from the same stable hash as
/// configured services, over the host's real MAC, in an order that depends only on the
/// services.
pub fn discovered_records(found: &[crate::discovery::FoundService]) -> Vec<arrow_codec::Service> {
    let mut found = found.to_vec();
    found.sort_by(|a, b| {
        (u16::from(a.service_type), a.mac, a.addr, &a.path).cmp(&(
            u16::from(b.service_type),
            b.mac,
            b.addr,
            &b.path,
        ))
    });
    let mut used = std::collections::BTreeSet::new();
    let mut records: Vec<arrow_codec::Service> = found
        .iter()
        .map(|s| {
            let id = allocate_id(&mut used, s.service_type, s.mac, s.addr, &s.path);
            arrow_codec::Service::new(id, s.service_type, s.addr.ip(), s.addr.port())
                .with_mac(s.mac)
                .with_path(s.path.clone())
        })
        .collect();
    records.sort_by_key(|r| r.svc_id);
    records
}

/// FNV-1a over the service's identity, folded to 16 bits; never 0.
fn stable_id(service_type: u16, mac: MacAddr, addr: SocketAddr, path: &str) -> u16 {
    let mut hash: u32 = 0x811c_9dc5;
    let mut eat = |bytes: &[u8]| {
        for b in bytes {
            hash ^= u32::from(*b);
            hash = hash.wrapping_mul(0x0100_0193);
        }
    };
    eat(&service_type.to_be_bytes());
    eat(&mac.0);
    match addr.ip() {
        IpAddr::V4(v4) => eat(&v4.octets()),
        IpAddr::V6(v6) => eat(&v6.octets()),
    }
    eat(&addr.port().to_be_bytes());
    eat(path.as_bytes());
    let folded = ((hash >> 16) ^ (hash & 0xffff)) as u16;
    if folded == 0 { 1 } else { folded }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(kind: ServiceKind, s: &str) -> ServiceSpec {
        match kind {
            ServiceKind::Tcp | ServiceKind::Http => ServiceSpec::host_port(kind, s).unwrap(),
            _ => ServiceSpec::url(kind, s).unwrap(),
        }
    }

    fn resolved(specs: &[ServiceSpec]) -> Vec<(ServiceSpec, SocketAddr)> {
        specs
            .iter()
            .map(|s| {
                let ip: IpAddr = s.host.parse().unwrap();
                (s.clone(), SocketAddr::new(ip, s.port))
            })
            .collect()
    }

    #[test]
    fn flags_parse_into_specs() {
        let cases = [
            (ServiceKind::Tcp, "127.0.0.1:22", "127.0.0.1", 22, ""),
            (ServiceKind::Http, "[::1]:8080", "::1", 8080, ""),
            (
                ServiceKind::Rtsp,
                "rtsp://10.0.0.5/live.sdp?a=1",
                "10.0.0.5",
                554,
                "/live.sdp?a=1",
            ),
            (
                ServiceKind::Rtsp,
                "rtsp://10.0.0.5:8554",
                "10.0.0.5",
                8554,
                "/",
            ),
            (
                ServiceKind::Mjpeg,
                "http://cam.local:81/video.mjpg",
                "cam.local",
                81,
                "/video.mjpg",
            ),
        ];
        for (kind, text, host, port, path) in cases {
            let s = spec(kind, text);
            assert_eq!(
                (s.host.as_str(), s.port, s.path.as_str()),
                (host, port, path),
                "{text}"
            );
        }
        let bad = [
            (ServiceKind::Tcp, "127.0.0.1"),
            (ServiceKind::Tcp, ":80"),
            (ServiceKind::Tcp, "host:99999"),
            (ServiceKind::Rtsp, "http://x/y"),
            (ServiceKind::Rtsp, "10.0.0.5/x"),
            (ServiceKind::Mjpeg, "http://@x/y"),
            (ServiceKind::Rtsp, "rtsp://u:p@/y"),
            (ServiceKind::Rtsp, "rtsp://x/y#frag"),
        ];
        for (kind, text) in bad {
            let result = match kind {
                ServiceKind::Tcp | ServiceKind::Http => ServiceSpec::host_port(kind, text),
                _ => ServiceSpec::url(kind, text),
            };
            assert!(result.is_err(), "{text}");
        }
    }

    #[test]
    fn credentials_make_a_locked_service() {
        let cases = [
            ("rtsp://10.0.0.5/live", ServiceKind::Rtsp, false, 0x0001),
            (
                "rtsp://user:pass@10.0.0.5/live",
                ServiceKind::Rtsp,
                true,
                0x0002,
            ),
            (
                "rtsp://user@10.0.0.5:8554/live",
                ServiceKind::Rtsp,
                true,
                0x0002,
            ),
            (
                "rtsp://u:p@ss@10.0.0.5/live",
                ServiceKind::Rtsp,
                true,
                0x0002,
            ),
            (
                "http://10.0.0.5/video.mjpg",
                ServiceKind::Mjpeg,
                false,
                0x0006,
            ),
            (
                "http://admin:secret@10.0.0.5/video.mjpg",
                ServiceKind::Mjpeg,
                true,
                0x0007,
            ),
        ];
        for (url, kind, locked, code) in cases {
            let s = spec(kind, url);
            assert_eq!(s.host, "10.0.0.5", "{url}");
            assert!(
                s.path.ends_with("/live") || s.path.ends_with(".mjpg"),
                "{url}"
            );
            assert_eq!(s.locked, locked, "{url}");
            assert_eq!(u16::from(s.service_type()), code, "{url}");
            let t = ServiceTable::new(resolved(std::slice::from_ref(&s))).unwrap();
            let record = &t.records()[0];
            assert_eq!(u16::from(record.svc_type), code, "{url}");
            assert_eq!(record.path, s.path, "{url}: the path is still announced");
        }
    }

    #[test]
    fn credentials_never_appear_in_debug_display_records_or_errors() {
        let secret = "s3cr3t-pw";
        let url = format!("rtsp://admin:{secret}@10.0.0.5/live");
        let s = spec(ServiceKind::Rtsp, &url);
        let t = ServiceTable::new(resolved(std::slice::from_ref(&s))).unwrap();
        let mut wire = Vec::new();
        for record in t.records() {
            wire.extend_from_slice(format!("{record:?}").as_bytes());
        }
        let texts = [
            format!("{s:?}"),
            s.to_string(),
            format!("{t:?}"),
            String::from_utf8(wire).unwrap(),
        ];
        for text in &texts {
            assert!(!text.contains(secret) && !text.contains("admin"), "{text}");
        }
        assert_eq!(s.to_string(), "rtsp://***@10.0.0.5:554/live");
        // Malformed URLs with credentials: the error quotes the URL without them.
        for bad in [
            format!("rtsp://admin:{secret}@10.0.0.5:99999/live"),
            format!("http://admin:{secret}@10.0.0.5/x"),
            format!("rtsp://admin:{secret}/x@/y"),
        ] {
            let err = ServiceSpec::url(ServiceKind::Rtsp, &bad)
                .unwrap_err()
                .to_string();
            assert!(!err.contains(secret) && !err.contains("admin"), "{err}");
            assert!(err.contains("***@"), "{err}");
        }
        for url in [
            "rtsp://u:pa/ss@h/x",
            "rtsp://u:1234/x@cam/",
            "rtsp://u:1234/x@cam",
        ] {
            let err = ServiceSpec::url(ServiceKind::Rtsp, url).unwrap_err();
            assert!(err.to_string().contains("percent-encoded"), "{url}: {err}");
            assert!(!err.to_string().contains("1234"), "{url}: {err}");
        }
        // Percent-encoded, it is the camera `cam` with credentials.
        let spec = ServiceSpec::url(ServiceKind::Rtsp, "rtsp://u:1234%2Fx@cam/").unwrap();
        assert_eq!((spec.host.as_str(), spec.locked), ("cam", true));
    }

    #[test]
    fn redaction_keeps_scheme_and_host() {
        let cases = [
            ("rtsp://u:p@h/x", "rtsp://***@h/x"),
            ("rtsp://h/x", "rtsp://h/x"),
            ("u:p@h", "***@h"),
            ("rtsp://a@b@h/", "rtsp://***@h/"),
        ];
        for (input, want) in cases {
            assert_eq!(redact_credentials(input), want, "{input}");
        }
    }

    #[test]
    fn locked_and_unlocked_ids_differ_and_unlocked_ids_did_not_move() {
        let open = spec(ServiceKind::Rtsp, "rtsp://127.0.0.1/a");
        let locked = spec(ServiceKind::Rtsp, "rtsp://u:p@127.0.0.1/a");
        let a = ServiceTable::new(resolved(std::slice::from_ref(&open))).unwrap();
        let b = ServiceTable::new(resolved(std::slice::from_ref(&locked))).unwrap();
        assert_ne!(a.services()[0].id, b.services()[0].id);
        // Credentials changed (or added later) keep the locked id: they are not hashed.
        let other = spec(ServiceKind::Rtsp, "rtsp://x:y@127.0.0.1/a");
        let c = ServiceTable::new(resolved(&[other])).unwrap();
        assert_eq!(b, c);
        // The same stream with and without credentials is one service given twice.
        assert!(ServiceTable::new(resolved(&[open, locked])).is_err());
    }

    #[test]
    fn ids_are_stable_and_independent_of_flag_order() {
        let specs = vec![
            spec(ServiceKind::Tcp, "127.0.0.1:22"),
            spec(ServiceKind::Http, "127.0.0.1:80"),
            spec(ServiceKind::Rtsp, "rtsp://127.0.0.1/a"),
        ];
        let a = ServiceTable::new(resolved(&specs)).unwrap();
        let mut reversed = specs.clone();
        reversed.reverse();
        let b = ServiceTable::new(resolved(&reversed)).unwrap();
        assert_eq!(a, b);
        assert!(a.services().windows(2).all(|w| w[0].id < w[1].id));
        assert!(a.services().iter().all(|s| s.id != 0));
        // A pinned value: changing the hash would renumber every deployed client's services.
        assert_eq!(
            stable_id(
                ServiceKind::Tcp.code(),
                MacAddr([0xff, 0xff, 127, 0, 0, 1]),
                "127.0.0.1:22".parse().unwrap(),
                ""
            ),
            a.services()
                .iter()
                .find(|s| s.kind == ServiceKind::Tcp)
                .unwrap()
                .id
        );
    }

    #[test]
    fn manual_services_get_ffff_mac() {
        let t = ServiceTable::new(resolved(&[spec(ServiceKind::Tcp, "10.1.2.3:9")])).unwrap();
        assert_eq!(t.services()[0].mac, MacAddr([0xff, 0xff, 10, 1, 2, 3]));
    }

    #[test]
    fn duplicate_service_is_refused() {
        let s = spec(ServiceKind::Tcp, "127.0.0.1:22");
        assert!(ServiceTable::new(resolved(&[s.clone(), s])).is_err());
    }

    #[test]
    fn colliding_ids_move_to_the_next_free_one() {
        let many: Vec<ServiceSpec> = (1..=2000u16)
            .map(|p| spec(ServiceKind::Tcp, &format!("127.0.0.1:{p}")))
            .collect();
        let t = ServiceTable::new(resolved(&many)).unwrap();
        let mut ids: Vec<u16> = t.services().iter().map(|s| s.id).collect();
        ids.dedup();
        assert_eq!(ids.len(), 2000);
        for s in t.services() {
            assert_eq!(t.get(s.id), Some(s));
        }
    }

    #[test]
    fn discovered_services_join_beside_the_configured_ones_which_keep_their_ids() {
        use crate::discovery::FoundService;
        let configured = ServiceTable::new(resolved(&[
            spec(ServiceKind::Rtsp, "rtsp://10.0.0.5/live"),
            spec(ServiceKind::Tcp, "10.0.0.6:22"),
        ]))
        .unwrap();
        let mac = MacAddr([2, 0, 0, 0, 0, 9]);
        let found = [
            FoundService {
                service_type: arrow_codec::ServiceType::UnknownRtsp,
                addr: "10.0.0.9:554".parse().unwrap(),
                path: String::new(),
                mac,
            },
            // At the address of a configured service: the user's word wins.
            FoundService {
                service_type: arrow_codec::ServiceType::Rtsp,
                addr: "10.0.0.5:554".parse().unwrap(),
                path: "/other".into(),
                mac,
            },
        ];
        let joined = configured.with_discovered(&found);
        assert_eq!(joined.len(), 3);
        for s in configured.services() {
            assert_eq!(joined.get(s.id), Some(s), "configured ids unchanged");
        }
        let new = joined.services().iter().find(|s| s.discovered).unwrap();
        assert_eq!(new.service_type(), arrow_codec::ServiceType::UnknownRtsp);
        assert_eq!((new.kind, new.mac), (ServiceKind::Rtsp, mac));
        assert_eq!(configured.with_discovered(&found), joined, "stable");
        assert_eq!(joined.configured(), configured);
        let json = serde_json::to_string(new).unwrap();
        assert!(json.ends_with(r#""discovered":true}"#), "{json}");
    }

    #[test]
    fn a_scan_report_names_the_ids_the_table_gives_its_services() {
        use crate::discovery::FoundService;
        let mac = MacAddr([2, 0, 0, 0, 0, 9]);
        let found = FoundService {
            service_type: arrow_codec::ServiceType::Rtsp,
            addr: "10.0.0.9:554".parse().unwrap(),
            path: "/live.sdp".into(),
            mac,
        };
        let own_id = discovered_records(std::slice::from_ref(&found))[0].svc_id;
        // A configured service whose id is the found one's: in the table the found service
        // moves to the next free id, which the report must name too.
        let (host, port) = (1..=255u8)
            .flat_map(|h| (1..=u16::MAX).map(move |p| (h, p)))
            .find(|&(h, p)| {
                let addr = SocketAddr::from(([127, 0, 0, h], p));
                let mac = MacAddr([0xff, 0xff, 127, 0, 0, h]);
                stable_id(ServiceKind::Tcp.code(), mac, addr, "") == own_id
            })
            .expect("some address collides within 16 bits");
        let configured = ServiceTable::new(resolved(&[spec(
            ServiceKind::Tcp,
            &format!("127.0.0.{host}:{port}"),
        )]))
        .unwrap();
        assert_eq!(configured.services()[0].id, own_id);
        let table = configured.with_discovered(std::slice::from_ref(&found));
        let in_table = table.services().iter().find(|s| s.discovered).unwrap().id;
        assert_ne!(in_table, own_id);
        let report = table.ids_of(&discovered_records(std::slice::from_ref(&found)));
        assert_eq!(report.len(), 1);
        assert_eq!(report[0].svc_id, in_table);
        assert_eq!(table.get(report[0].svc_id).unwrap().addr, found.addr);
    }

    #[test]
    fn only_a_url_without_a_path_asks_for_one() {
        let cases = [
            ("rtsp://cam", true, "/"),
            ("rtsp://cam:8554", true, "/"),
            ("rtsp://u:p@cam", true, "/"),
            ("rtsp://cam/", false, "/"),
            ("rtsp://cam/live.sdp", false, "/live.sdp"),
            ("rtsp://cam?x=1", false, "/?x=1"),
        ];
        for (url, find, path) in cases {
            let spec = ServiceSpec::url(ServiceKind::Rtsp, url).unwrap();
            assert_eq!((spec.find_path, spec.path.as_str()), (find, path), "{url}");
        }
        assert!(
            !ServiceSpec::host_port(ServiceKind::Http, "cam:80")
                .unwrap()
                .find_path
        );
    }
}
