//! The config file of an Arrow client (`protoctl arrow run --config`, and firmware that
//! reads the same file): TOML with every option of [`Settings`] and the services.
//!
//! ```toml
//! server = "arrow.example.com:8900"
//! ca = ["/etc/protoctl/arrow-ca.pem"]     # or one string; relative to this file
//! system_roots = false
//! state_dir = "/var/lib/protoctl-arrow"   # relative to this file
//! mac = "02:00:00:00:00:01"
//! window = 65536
//! gateway = false
//! max_sessions = 256                      # sockets at once, 1..=16384
//! ping_interval = "20s"                  # or 20: a bare number is seconds
//! ping_timeout = 15
//! reconnect_min = "1s"
//! reconnect_max = "60s"
//!
//! [[service]]
//! type = "rtsp"                           # rtsp | mjpeg | http | tcp
//! url = "rtsp://user:pass@127.0.0.1:554/live"
//!
//! [[service]]
//! type = "http"
//! address = "127.0.0.1:80"
//! ```
//!
//! Unknown keys and wrong types are errors ([`Error::ConfigFile`]) naming the file, the line
//! and column, and the key. Durations are read by [`crate::duration`], like the command
//! line's. Each service entry is checked here too, so a bad URL is reported at its line.
//! docs/operations.md is the user's reference for every key.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

use super::Settings;
use crate::Error;
use crate::connection::ConnectionConfig;
use crate::duration::{self, MAX_INTERVAL};
use crate::identity::MacAddr;
use crate::service_table::{ServiceKind, ServiceSpec};

/// The file as written; checked and turned into [`Settings`].
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    server: Option<String>,
    ca: Option<PathList>,
    system_roots: Option<bool>,
    state_dir: Option<PathBuf>,
    mac: Option<MacAddr>,
    window: Option<Window>,
    gateway: Option<bool>,
    max_sessions: Option<MaxSessions>,
    ping_interval: Option<HumanDuration>,
    ping_timeout: Option<HumanDuration>,
    reconnect_min: Option<HumanDuration>,
    reconnect_max: Option<HumanDuration>,
    discovery: Option<bool>,
    discovery_interface: Option<NameList>,
    discovery_max_hosts: Option<usize>,
    #[serde(default)]
    service: Vec<toml::Spanned<RawService>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawService {
    #[serde(rename = "type")]
    kind: RawKind,
    url: Option<String>,
    address: Option<String>,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum RawKind {
    Rtsp,
    Mjpeg,
    Http,
    Tcp,
}

impl From<RawKind> for ServiceKind {
    fn from(kind: RawKind) -> Self {
        match kind {
            RawKind::Rtsp => ServiceKind::Rtsp,
            RawKind::Mjpeg => ServiceKind::Mjpeg,
            RawKind::Http => ServiceKind::Http,
            RawKind::Tcp => ServiceKind::Tcp,
        }
    }
}

/// `ca = "one.pem"` or `ca = ["one.pem", "two.pem"]`.
struct PathList(Vec<PathBuf>);

impl<'de> Deserialize<'de> for PathList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = PathList;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a file name or a list of file names")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<PathList, E> {
                Ok(PathList(vec![PathBuf::from(v)]))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<PathList, A::Error> {
                let mut paths = Vec::new();
                while let Some(path) = seq.next_element::<String>()? {
                    paths.push(PathBuf::from(path));
                }
                Ok(PathList(paths))
            }
        }
        d.deserialize_any(V)
    }
}

/// `discovery_interface = "eth1"` or `["eth1", "eth2"]`.
struct NameList(Vec<String>);

impl<'de> Deserialize<'de> for NameList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = NameList;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an interface name or a list of them")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<NameList, E> {
                Ok(NameList(vec![v.to_string()]))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<NameList, A::Error> {
                let mut names = Vec::new();
                while let Some(name) = seq.next_element::<String>()? {
                    names.push(name);
                }
                Ok(NameList(names))
            }
        }
        d.deserialize_any(V)
    }
}

/// A duration: `"500ms"`, `"15s"`, `"2m"`, `"1h 30m"`, or seconds, `15`, `0.5`, `"20"`; more
/// than 0 and at most a day.
struct HumanDuration(Duration);

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = HumanDuration;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "a duration: {}", duration::FORMS)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<HumanDuration, E> {
                duration::parse_duration(v, MAX_INTERVAL)
                    .map(HumanDuration)
                    .map_err(E::custom)
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<HumanDuration, E> {
                duration::seconds(v, MAX_INTERVAL)
                    .map(HumanDuration)
                    .map_err(E::custom)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<HumanDuration, E> {
                self.visit_f64(v as f64)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<HumanDuration, E> {
                self.visit_f64(v as f64)
            }
        }
        d.deserialize_any(V)
    }
}

/// `window`, 1..=65536 ([`ConnectionConfig::checked_capacity`]).
struct Window(u32);

impl<'de> Deserialize<'de> for Window {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Window;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(
                    f,
                    "a whole number of bytes, 1..={}",
                    ConnectionConfig::MAX_CAPACITY
                )
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<Window, E> {
                ConnectionConfig::checked_capacity(n)
                    .map(Window)
                    .map_err(E::custom)
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<Window, E> {
                self.visit_i64(i64::try_from(n).unwrap_or(i64::MAX))
            }
        }
        d.deserialize_i64(V)
    }
}

/// `max_sessions`, 1..=16384 ([`ConnectionConfig::checked_max_sessions`]).
struct MaxSessions(usize);

impl<'de> Deserialize<'de> for MaxSessions {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = MaxSessions;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(
                    f,
                    "a whole number of sessions, 1..={}",
                    ConnectionConfig::MAX_SESSIONS
                )
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<MaxSessions, E> {
                ConnectionConfig::checked_max_sessions(n)
                    .map(MaxSessions)
                    .map_err(E::custom)
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<MaxSessions, E> {
                self.visit_i64(i64::try_from(n).unwrap_or(i64::MAX))
            }
        }
        d.deserialize_i64(V)
    }
}

/// `text` up to byte `offset`, moved back to a character boundary (never panics).
fn prefix(text: &str, offset: usize) -> &str {
    let mut end = offset.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// The key whose value starts at `offset`: the name before the last `=` on its line.
fn key_at(text: &str, offset: usize) -> Option<&str> {
    let before = prefix(text, offset);
    let before = &before[before.rfind('\n').map_or(0, |i| i + 1)..];
    let (key, _) = before.rsplit_once('=')?;
    let key = key.trim().trim_matches('"');
    let plain = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.');
    plain.then_some(key)
}

/// 1-based line and column of byte `offset` in `text`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = prefix(text, offset);
    let line = before.matches('\n').count() + 1;
    let column = before
        .rsplit_once('\n')
        .map_or(before, |(_, tail)| tail)
        .chars()
        .count()
        + 1;
    (line, column)
}

fn located(path: &Path, text: &str, span: Option<std::ops::Range<usize>>, what: &str) -> String {
    let at = match span {
        Some(span) => {
            let (line, column) = line_column(text, span.start);
            format!(":{line}:{column}")
        }
        None => String::new(),
    };
    format!("config file {}{at}: {what}", path.display())
}

fn relative_to(dir: &Path, path: PathBuf) -> PathBuf {
    if path.is_relative() {
        dir.join(path)
    } else {
        path
    }
}

/// A config file with camera credentials that every local user can read is reported (not
/// changed: the file belongs to whoever manages the device).
fn warn_if_world_readable(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(path) {
            let mode = meta.permissions().mode() & 0o7777;
            if mode & 0o004 != 0 {
                tracing::warn!(
                    path = %path.display(),
                    mode = %format_args!("{mode:04o}"),
                    "the config file holds service credentials and every local user can \
                     read it: chmod o-r (e.g. 0640 with the service's group)"
                );
            }
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

impl Settings {
    /// Reads and checks the config file at `path`. Relative paths in it are taken relative
    /// to its directory. A file that cannot be read or is wrong is an [`Error::ConfigFile`]
    /// naming the file (and the line, column and key); a file that holds camera
    /// credentials and every local user can read is reported with a warning.
    pub fn load(path: &Path) -> Result<Settings, Error> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::ConfigFile(format!(
                "config file {}: cannot read it: {e}",
                path.display()
            ))
        })?;
        let (settings, holds_credentials) = parse(path, &text).map_err(Error::ConfigFile)?;
        if holds_credentials {
            warn_if_world_readable(path);
        }
        Ok(settings)
    }

    /// Checks `text`, the contents of the config file at `path` (relative paths in it are
    /// taken relative to `path`'s directory).
    pub fn parse(path: &Path, text: &str) -> Result<Settings, Error> {
        parse(path, text)
            .map(|(settings, _)| settings)
            .map_err(Error::ConfigFile)
    }
}

/// The settings in `text`, and whether a service URL in it has credentials (so the file
/// should be private).
fn parse(path: &Path, text: &str) -> Result<(Settings, bool), String> {
    let raw: Raw = toml::from_str(text).map_err(|e| {
        let message = e.message().trim();
        // Errors about a value point at the value: say whose value it is. (Unknown or
        // missing keys point at the key or the table, and name it already.)
        match e.span().and_then(|span| key_at(text, span.start)) {
            Some(key) => located(path, text, e.span(), &format!("`{key}`: {message}")),
            None => located(path, text, e.span(), message),
        }
    })?;
    let dir = path.parent().unwrap_or(Path::new(""));
    let mut services = Vec::with_capacity(raw.service.len());
    let mut holds_credentials = false;
    for entry in &raw.service {
        let at = |what: String| located(path, text, Some(entry.span()), &what);
        let service = entry.get_ref();
        let kind = ServiceKind::from(service.kind);
        let is_url = matches!(kind, ServiceKind::Rtsp | ServiceKind::Mjpeg);
        let (wanted, unwanted, value, unwanted_given) = if is_url {
            ("url", "address", &service.url, service.address.is_some())
        } else {
            ("address", "url", &service.address, service.url.is_some())
        };
        let example = match kind {
            ServiceKind::Rtsp => "url = \"rtsp://[USER:PASS@]HOST[:PORT]/path\"",
            ServiceKind::Mjpeg => "url = \"http://[USER:PASS@]HOST[:PORT]/path\"",
            _ => "address = \"HOST:PORT\"",
        };
        if unwanted_given {
            return Err(at(format!(
                "a {} service takes `{wanted}`, not `{unwanted}` ({example})",
                kind.name()
            )));
        }
        let Some(value) = value else {
            return Err(at(format!(
                "a {} service needs `{wanted}` ({example})",
                kind.name()
            )));
        };
        let parsed = if is_url {
            ServiceSpec::url(kind, value)
        } else {
            ServiceSpec::host_port(kind, value)
        };
        let spec = match parsed {
            Ok(spec) => spec,
            Err(Error::Config(why)) => return Err(at(why)),
            Err(other) => return Err(at(other.to_string())),
        };
        holds_credentials |= spec.locked;
        services.push(spec);
    }
    let settings = Settings {
        server: raw.server,
        ca: raw
            .ca
            .map(|list| list.0)
            .unwrap_or_default()
            .into_iter()
            .map(|p| relative_to(dir, p))
            .collect(),
        system_roots: raw.system_roots,
        state_dir: raw.state_dir.map(|p| relative_to(dir, p)),
        services,
        mac: raw.mac,
        window: raw.window.map(|w| w.0),
        gateway: raw.gateway,
        max_sessions: raw.max_sessions.map(|n| n.0),
        ping_interval: raw.ping_interval.map(|d| d.0),
        ping_timeout: raw.ping_timeout.map(|d| d.0),
        reconnect_min: raw.reconnect_min.map(|d| d.0),
        reconnect_max: raw.reconnect_max.map(|d| d.0),
        discovery: raw.discovery,
        discovery_interfaces: raw.discovery_interface.map(|l| l.0).unwrap_or_default(),
        discovery_max_hosts: raw.discovery_max_hosts,
    };
    Ok((settings, holds_credentials))
}

#[cfg(test)]
mod tests {
    use super::*;

    const FULL: &str = r#"
server = "arrow.example.com:8900"
ca = ["certs/arrow-ca.pem", "/etc/ssl/extra.pem"]
system_roots = true
state_dir = "state"
mac = "02:00:00:00:00:01"
window = 32768
gateway = true
max_sessions = 300
ping_interval = "20s"
ping_timeout = "1m 30s"
reconnect_min = "500ms"
reconnect_max = "2m"
discovery = true
discovery_interface = ["eth1", "eth2"]
discovery_max_hosts = 4096

[[service]]
type = "rtsp"
url = "rtsp://user:pass@127.0.0.1:554/live"

[[service]]
type = "http"
address = "127.0.0.1:80"

[[service]]
type = "tcp"
address = "127.0.0.1:22"

[[service]]
type = "mjpeg"
url = "http://127.0.0.1:81/video.mjpg"

[[service]]
type = "rtsp"
url = "rtsp://127.0.0.1/second"
"#;

    fn spec(kind: ServiceKind, text: &str) -> ServiceSpec {
        match kind {
            ServiceKind::Rtsp | ServiceKind::Mjpeg => ServiceSpec::url(kind, text).unwrap(),
            _ => ServiceSpec::host_port(kind, text).unwrap(),
        }
    }

    fn parse_str(path: &str, text: &str) -> Result<Settings, String> {
        Settings::parse(Path::new(path), text).map_err(|e| e.to_string())
    }

    #[test]
    fn every_key_is_read() {
        let file = Settings::parse(Path::new("/etc/protoctl/arrow.toml"), FULL).unwrap();
        let want = Settings {
            server: Some("arrow.example.com:8900".into()),
            ca: vec![
                PathBuf::from("/etc/protoctl/certs/arrow-ca.pem"),
                PathBuf::from("/etc/ssl/extra.pem"),
            ],
            system_roots: Some(true),
            state_dir: Some(PathBuf::from("/etc/protoctl/state")),
            mac: Some(MacAddr([2, 0, 0, 0, 0, 1])),
            window: Some(32_768),
            gateway: Some(true),
            max_sessions: Some(300),
            ping_interval: Some(Duration::from_secs(20)),
            ping_timeout: Some(Duration::from_secs(90)),
            reconnect_min: Some(Duration::from_millis(500)),
            reconnect_max: Some(Duration::from_secs(120)),
            discovery: Some(true),
            discovery_interfaces: vec!["eth1".into(), "eth2".into()],
            discovery_max_hosts: Some(4096),
            services: vec![
                spec(ServiceKind::Rtsp, "rtsp://user:pass@127.0.0.1:554/live"),
                spec(ServiceKind::Http, "127.0.0.1:80"),
                spec(ServiceKind::Tcp, "127.0.0.1:22"),
                spec(ServiceKind::Mjpeg, "http://127.0.0.1:81/video.mjpg"),
                spec(ServiceKind::Rtsp, "rtsp://127.0.0.1/second"),
            ],
        };
        assert_eq!(file, want);
        assert!(file.services[0].locked, "credentials make it locked");
    }

    #[test]
    fn the_example_in_docs_operations_md_parses_and_sets_every_option() {
        let doc = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/operations.md");
        let doc = std::fs::read_to_string(doc).unwrap();
        let block = doc
            .split("```toml\n")
            .nth(1)
            .and_then(|rest| rest.split("```").next())
            .expect("a toml block in docs/operations.md");
        let file = Settings::parse(Path::new("/etc/protoctl/arrow.toml"), block).unwrap();
        assert!(file.server.is_some() && !file.ca.is_empty() && file.state_dir.is_some());
        assert!(file.system_roots.is_some() && file.gateway.is_some() && file.mac.is_some());
        assert!(file.window.is_some() && file.ping_interval.is_some());
        assert!(file.ping_timeout.is_some() && file.reconnect_min.is_some());
        assert!(file.reconnect_max.is_some());
        let count = |kind| file.services.iter().filter(|s| s.kind == kind).count();
        assert_eq!(
            [
                ServiceKind::Rtsp,
                ServiceKind::Mjpeg,
                ServiceKind::Http,
                ServiceKind::Tcp
            ]
            .map(count),
            [1, 1, 1, 1]
        );
        // Every key of the file format has a row in the table.
        for key in [
            "server",
            "ca",
            "system_roots",
            "state_dir",
            "mac",
            "window",
            "gateway",
            "max_sessions",
            "ping_interval",
            "ping_timeout",
            "reconnect_min",
            "reconnect_max",
            "discovery",
            "discovery_interface",
            "discovery_max_hosts",
            "[[service]]",
        ] {
            assert!(doc.contains(&format!("| `{key}` |")), "no row for {key}");
        }
    }

    #[test]
    fn only_urls_with_credentials_make_the_file_sensitive() {
        let cases = [
            ("", false),
            ("[[service]]\ntype = \"rtsp\"\nurl = \"rtsp://h/x\"", false),
            ("[[service]]\ntype = \"tcp\"\naddress = \"h:1\"", false),
            (
                "[[service]]\ntype = \"rtsp\"\nurl = \"rtsp://u:p@h/x\"",
                true,
            ),
            (
                "[[service]]\ntype = \"mjpeg\"\nurl = \"http://u@h/x\"",
                true,
            ),
        ];
        for (text, want) in cases {
            let (_, holds_credentials) = parse(Path::new("a.toml"), text).unwrap();
            assert_eq!(holds_credentials, want, "{text}");
        }
    }

    #[test]
    fn an_empty_file_gives_nothing() {
        let file = Settings::parse(Path::new("a.toml"), "").unwrap();
        assert_eq!(file, Settings::default());
    }

    #[test]
    fn one_ca_may_be_a_plain_string_and_paths_follow_the_file() {
        let cases = [
            ("/etc/p/a.toml", r#"ca = "ca.pem""#, "/etc/p/ca.pem"),
            ("/etc/p/a.toml", r#"ca = "/abs/ca.pem""#, "/abs/ca.pem"),
            ("a.toml", r#"ca = "ca.pem""#, "ca.pem"),
            ("conf/a.toml", r#"ca = "../ca.pem""#, "conf/../ca.pem"),
        ];
        for (file, text, want) in cases {
            let parsed = Settings::parse(Path::new(file), text).unwrap();
            assert_eq!(parsed.ca, vec![PathBuf::from(want)], "{file}: {text}");
        }
    }

    #[test]
    fn mistakes_name_the_file_line_column_and_key() {
        let cases = [
            ("sever = \"x:1\"", ":1:1:", "unknown field `sever`"),
            (
                "server = \"x:1\"\n\nonce = true",
                ":3:1:",
                "unknown field `once`",
            ),
            ("config = \"x\"", ":1:1:", "unknown field `config`"),
            (
                "window = \"big\"",
                ":1:10:",
                "`window`: invalid type: string \"big\"",
            ),
            (
                "window = 0",
                ":1:10:",
                "`window`: must be 1..=65536 bytes, not 0",
            ),
            ("window = 1.5", ":1:10:", "a whole number of bytes"),
            ("window = 65537", ":1:10:", "not 65537"),
            (
                "max_sessions = 0",
                ":1:16:",
                "`max_sessions`: must be 1..=16384, not 0",
            ),
            ("max_sessions = 100000", ":1:16:", "not 100000"),
            ("max_sessions = \"many\"", ":1:16:", "invalid type: string"),
            (
                "gateway = \"yes\"",
                ":1:11:",
                "`gateway`: invalid type: string",
            ),
            (
                "\n\n  state_dir = 7",
                ":3:15:",
                "`state_dir`: invalid type: integer",
            ),
            (
                "ping_interval = \"20 parsecs\"",
                ":1:17:",
                "invalid duration \"20 parsecs\"",
            ),
            (
                "ping_timeout = true",
                ":1:16:",
                "expected a duration: seconds",
            ),
            (
                "ping_timeout = 0",
                ":1:16:",
                "`ping_timeout`: invalid duration \"0\": must be more than 0",
            ),
            ("reconnect_min = -1", ":1:17:", "invalid duration \"-1\""),
            (
                "\nreconnect_max = \"500000000000years\"",
                ":2:17:",
                "`reconnect_max`: invalid duration \"500000000000years\": too long: the allowed \
                 range is more than 0 up to 1 day",
            ),
            (
                "ping_interval = \"1day 1s\"",
                ":1:17:",
                "`ping_interval`: invalid duration \"1day 1s\": too long",
            ),
            ("mac = \"nope\"", ":1:7:", "`mac`: not a MAC address"),
            (
                "ca = 3",
                ":1:6:",
                "`ca`: invalid type: integer `3`, expected a file name",
            ),
            ("ca = [3]", ":1:", "expected a string"),
            ("server = ", ":1:", "string"),
            (
                "[[service]]\ntype = \"rtsp\"\nurl = \"rtsp://h/x\"\nport = 1",
                ":4:1:",
                "unknown field `port`",
            ),
            (
                "[[service]]\ntype = \"ftp\"",
                ":2:8:",
                "`type`: unknown variant `ftp`",
            ),
            (
                "[[service]]\nurl = \"rtsp://h/x\"",
                ":1:1:",
                "missing field `type`",
            ),
            (
                "\n[[service]]\ntype = \"http\"\nurl = \"http://h/\"",
                ":2:1:",
                "takes `address`, not `url`",
            ),
            ("[[service]]\ntype = \"tcp\"", ":1:1:", "needs `address`"),
            ("[[service]]\ntype = \"mjpeg\"", ":1:1:", "needs `url`"),
            (
                "[[service]]\ntype = \"tcp\"\naddress = \"nohost\"",
                ":1:1:",
                "expected HOST:PORT",
            ),
            (
                "[[service]]\ntype = \"rtsp\"\nurl = \"http://u:pw@h/x\"",
                ":1:1:",
                "the scheme must be rtsp",
            ),
        ];
        for (text, at, what) in cases {
            let err = parse_str("/etc/p/arrow.toml", text).unwrap_err();
            assert!(
                err.starts_with(&format!("config file /etc/p/arrow.toml{at}")),
                "{text:?}: {err}"
            );
            assert!(err.contains(what), "{text:?}: {err}");
            assert!(!err.contains("pw@"), "{text:?}: {err}");
        }
    }

    #[test]
    fn durations_are_seconds_or_have_a_unit() {
        let cases = [
            ("ping_interval = 20", Duration::from_secs(20)),
            ("ping_interval = \"20\"", Duration::from_secs(20)),
            ("ping_interval = 0.5", Duration::from_millis(500)),
            ("ping_interval = \"0.5\"", Duration::from_millis(500)),
            ("ping_interval = \"500ms\"", Duration::from_millis(500)),
            ("ping_interval = \"1h 30m\"", Duration::from_secs(5400)),
            ("ping_interval = \"1d\"", Duration::from_secs(86_400)),
        ];
        for (text, want) in cases {
            let file = Settings::parse(Path::new("a.toml"), text).unwrap();
            assert_eq!(file.ping_interval, Some(want), "{text}");
        }
    }

    #[test]
    fn odd_input_is_an_error_not_a_panic() {
        let cases = [
            "\u{feff}server = \"h:1\"\nwindow = \"é\"",
            "é = 1",
            "server = \"é\"\nmac = \"éé:00:00:00:00:00\"",
            "[[service]]\ntype = \"rtsp\"\nurl = \"rtsp://é:ü@/x\"",
            "[[service]]\ntype = \"tcp\"\naddress = \"é\"",
            "ca = [\n  \"a\",\n  3,\n]",
            "[service]\ntype = \"tcp\"",
            "\0",
        ];
        for text in cases {
            let err = parse_str("x.toml", text).unwrap_err();
            assert!(err.starts_with("config file x.toml:"), "{text:?}: {err}");
        }
    }

    #[test]
    fn line_and_column_count_characters() {
        let text = "a\nbé c\n";
        // 4 is inside "é": counted as the character's start.
        let cases = [
            (0, (1, 1)),
            (2, (2, 1)),
            (4, (2, 2)),
            (6, (2, 4)),
            (9, (3, 1)),
            (99, (3, 1)),
        ];
        for (offset, want) in cases {
            assert_eq!(line_column(text, offset), want, "{offset}");
        }
    }

    #[test]
    fn an_unreadable_file_says_so() {
        let err = Settings::load(Path::new("/nonexistent/arrow.toml")).unwrap_err();
        assert!(matches!(err, Error::ConfigFile(_)), "{err:?}");
        let err = err.to_string();
        assert!(
            err.contains("config file /nonexistent/arrow.toml: cannot read it"),
            "{err}"
        );
    }
}
