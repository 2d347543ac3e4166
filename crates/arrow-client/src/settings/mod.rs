//! The options of a client as a person gives them: flags, a config file (`file`, behind
//! the `config-file` feature), or code, merged into one [`ClientConfig`].
//!
//! Each option of a [`Settings`] is optional: `None` (or an empty list) means "not given
//! here", so layers merge ([`Settings::or`]: the command line over the file) and the
//! library's defaults fill the rest ([`ConnectionConfig::default`],
//! [`ReconnectPolicy::default`]: defined once, there). Lists follow one rule, kind by kind:
//! a `ca` list given in the upper layer replaces the lower layer's, and services of one
//! kind (`tcp`, `http`, `rtsp`, `mjpeg`) replace the lower layer's services of that kind
//! only, keeping its others. So what a command line says about a list is exactly what
//! runs, and a file's entry can always be overridden. The switches (`system_roots`,
//! `gateway`, `discovery`) are on when either layer turns them on.
//!
//! Messages name an option the way both the command line and the file spell it,
//! `--reconnect-min (`reconnect_min`)`.
//!
//! ```
//! use arrow_client::settings::Settings;
//!
//! let file = Settings { server: Some("arrow.example.com:8900".into()), ..Settings::default() };
//! let flags = Settings { window: Some(4096), ..Settings::default() };
//! let merged = flags.or(file);
//! assert_eq!(merged.server.as_deref(), Some("arrow.example.com:8900"));
//! assert_eq!(merged.window(), 4096);
//! assert_eq!(merged.ping_interval(), std::time::Duration::from_secs(20));
//! ```

#[cfg(feature = "config-file")]
pub mod file;

use std::path::PathBuf;
use std::time::Duration;

use crate::Error;
use crate::client::ClientConfig;
use crate::connection::ConnectionConfig;
use crate::discovery::ScanConfig;
use crate::identity::MacAddr;
use crate::reconnect::ReconnectPolicy;
use crate::service_table::{ServiceKind, ServiceSpec, split_host_port};
use crate::tls::{SystemRoots, client_config_with};

/// A client's options, each as given or not given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settings {
    /// `--server` / `server`: the Arrow Service, `HOST:PORT`.
    pub server: Option<String>,
    /// `--ca` / `ca`: CA files (PEM) the service's certificate must chain to.
    pub ca: Vec<PathBuf>,
    /// `--system-roots` / `system_roots`: also trust the platform's roots.
    pub system_roots: Option<bool>,
    /// `--state-dir` / `state_dir`: identity, status file and lock.
    pub state_dir: Option<PathBuf>,
    /// `--tcp`, `--http`, `--rtsp`, `--mjpeg` / `[[service]]`.
    pub services: Vec<ServiceSpec>,
    /// `--mac` / `mac`: the MAC to register with.
    pub mac: Option<MacAddr>,
    /// `--window` / `window`: session capacity in bytes, 1..=65,536.
    pub window: Option<u32>,
    /// `--gateway` / `gateway`: sessions may reach other hosts (REGISTER flag 0x1).
    pub gateway: Option<bool>,
    /// `--max-sessions` / `max_sessions`: local sockets at once (sessions open,
    /// connecting or still closing), 1..=16,384.
    pub max_sessions: Option<usize>,
    /// `--ping-interval` / `ping_interval`.
    pub ping_interval: Option<Duration>,
    /// `--ping-timeout` / `ping_timeout`.
    pub ping_timeout: Option<Duration>,
    /// `--reconnect-min` / `reconnect_min`.
    pub reconnect_min: Option<Duration>,
    /// `--reconnect-max` / `reconnect_max`.
    pub reconnect_max: Option<Duration>,
    /// `--discovery` / `discovery`: scan the LAN for cameras.
    pub discovery: Option<bool>,
    /// `--discovery-interface` / `discovery_interface`: the interfaces whose subnets are
    /// scanned (every non-loopback one when empty).
    pub discovery_interfaces: Vec<String>,
    /// `--discovery-max-hosts` / `discovery_max_hosts`: the most addresses one scan may
    /// sweep.
    pub discovery_max_hosts: Option<usize>,
}

/// The command line's list when it has one, else the file's.
fn list<T>(upper: Vec<T>, lower: Vec<T>) -> Vec<T> {
    if upper.is_empty() { lower } else { upper }
}

impl Settings {
    /// These settings over `base`: every option given here wins; lists and switches follow
    /// the rules in the [module docs](self).
    pub fn or(self, base: Settings) -> Settings {
        let kinds: Vec<ServiceKind> = self.services.iter().map(|s| s.kind).collect();
        let mut services: Vec<ServiceSpec> = base
            .services
            .into_iter()
            .filter(|s| !kinds.contains(&s.kind))
            .collect();
        services.extend(self.services);
        let on = |a: Option<bool>, b: Option<bool>| match (a, b) {
            (Some(true), _) | (_, Some(true)) => Some(true),
            (a, b) => a.or(b),
        };
        Settings {
            server: self.server.or(base.server),
            ca: list(self.ca, base.ca),
            system_roots: on(self.system_roots, base.system_roots),
            state_dir: self.state_dir.or(base.state_dir),
            services,
            mac: self.mac.or(base.mac),
            window: self.window.or(base.window),
            gateway: on(self.gateway, base.gateway),
            max_sessions: self.max_sessions.or(base.max_sessions),
            ping_interval: self.ping_interval.or(base.ping_interval),
            ping_timeout: self.ping_timeout.or(base.ping_timeout),
            reconnect_min: self.reconnect_min.or(base.reconnect_min),
            reconnect_max: self.reconnect_max.or(base.reconnect_max),
            discovery: on(self.discovery, base.discovery),
            discovery_interfaces: list(self.discovery_interfaces, base.discovery_interfaces),
            discovery_max_hosts: self.discovery_max_hosts.or(base.discovery_max_hosts),
        }
    }

    /// Discovery is on (default: off).
    pub fn discovery(&self) -> bool {
        self.discovery.unwrap_or(false)
    }

    /// What a scan covers, when discovery is on.
    pub fn scan(&self) -> Option<ScanConfig> {
        self.discovery().then(|| ScanConfig {
            interfaces: self.discovery_interfaces.clone(),
            max_hosts: self
                .discovery_max_hosts
                .unwrap_or(ScanConfig::default().max_hosts),
            ..ScanConfig::default()
        })
    }

    /// Also trust the platform's roots (default: no).
    pub fn system_roots(&self) -> bool {
        self.system_roots.unwrap_or(false)
    }

    /// Gateway mode (default: [`ConnectionConfig::default`]'s, off).
    pub fn gateway(&self) -> bool {
        self.gateway.unwrap_or(ConnectionConfig::default().gateway)
    }

    /// The session window in bytes (default: 65,536).
    pub fn window(&self) -> u32 {
        self.window.unwrap_or(ConnectionConfig::default().capacity)
    }

    /// The session limit (default: 256, [`ConnectionConfig::DEFAULT_MAX_SESSIONS`]).
    pub fn max_sessions(&self) -> usize {
        self.max_sessions
            .unwrap_or(ConnectionConfig::default().max_sessions)
    }

    /// Time between PINGs (default: 20 s).
    pub fn ping_interval(&self) -> Duration {
        self.ping_interval
            .unwrap_or(ConnectionConfig::default().ping_interval)
    }

    /// A PING not answered within this ends the connection (default: 15 s).
    pub fn ping_timeout(&self) -> Duration {
        self.ping_timeout
            .unwrap_or(ConnectionConfig::default().ping_timeout)
    }

    /// Shortest wait before reconnecting (default: 1 s).
    pub fn reconnect_min(&self) -> Duration {
        self.reconnect_min.unwrap_or(ReconnectPolicy::default().min)
    }

    /// Longest wait before reconnecting (default: 60 s).
    pub fn reconnect_max(&self) -> Duration {
        self.reconnect_max.unwrap_or(ReconnectPolicy::default().max)
    }

    /// The connection's window, timers and gateway mode.
    pub fn connection(&self) -> ConnectionConfig {
        ConnectionConfig {
            capacity: self.window(),
            ping_interval: self.ping_interval(),
            ping_timeout: self.ping_timeout(),
            gateway: self.gateway(),
            max_sessions: self.max_sessions(),
            ..ConnectionConfig::default()
        }
    }

    /// The backoff bounds.
    pub fn reconnect(&self) -> ReconnectPolicy {
        ReconnectPolicy::new(self.reconnect_min(), self.reconnect_max())
    }

    /// Checks what is required (`server`, `state_dir`, `ca` or `system_roots`) and the
    /// rules between options: a server `HOST:PORT`, a window in range, no zero timer (a
    /// zero reconnect wait would be a tight loop), the backoff range the right way round.
    pub fn check(&self) -> Result<(), Error> {
        let missing =
            |what: &str| Error::Config(format!("{what} is required (flag or config file)"));
        let server = self
            .server
            .as_deref()
            .ok_or_else(|| missing("--server (`server`)"))?;
        if self.state_dir.is_none() {
            return Err(missing("--state-dir (`state_dir`)"));
        }
        if self.ca.is_empty() && !self.system_roots() {
            return Err(missing("--ca (`ca`) or --system-roots (`system_roots`)"));
        }
        if !matches!(split_host_port(server), Some((_, Some(port))) if port != 0) {
            return Err(Error::Config(format!(
                "--server (`server`) {server:?}: expected HOST:PORT (e.g. arrow.example.com:8900, [::1]:8900)"
            )));
        }
        ConnectionConfig::checked_capacity(i64::from(self.window()))
            .map_err(|why| Error::Config(format!("--window (`window`) {why}")))?;
        ConnectionConfig::checked_max_sessions(
            i64::try_from(self.max_sessions()).unwrap_or(i64::MAX),
        )
        .map_err(|why| Error::Config(format!("--max-sessions (`max_sessions`) {why}")))?;
        let zero = [
            ("--ping-interval (`ping_interval`)", self.ping_interval()),
            ("--ping-timeout (`ping_timeout`)", self.ping_timeout()),
            ("--reconnect-min (`reconnect_min`)", self.reconnect_min()),
        ];
        for (name, value) in zero {
            if value.is_zero() {
                return Err(Error::Config(format!("{name} must be more than 0")));
            }
        }
        if self.reconnect_min() > self.reconnect_max() {
            return Err(Error::Config(format!(
                "--reconnect-min ({}) is more than --reconnect-max ({})",
                humantime::format_duration(self.reconnect_min()),
                humantime::format_duration(self.reconnect_max())
            )));
        }
        Ok(())
    }

    /// The client's configuration: [`check`](Self::check)ed, the CA files read (a file
    /// that cannot be used is an error naming it), defaults filled in.
    pub fn client_config(&self) -> Result<ClientConfig, Error> {
        self.check()?;
        let (Some(server), Some(state_dir)) = (&self.server, &self.state_dir) else {
            unreachable!("check() requires both");
        };
        let tls = client_config_with(&self.ca, SystemRoots::from(self.system_roots()))?;
        let mut config = ClientConfig::new(server.clone(), tls);
        config.state_dir = Some(state_dir.clone());
        config.mac = self.mac;
        config.services = self.services.clone();
        config.connection = self.connection();
        config.reconnect = self.reconnect();
        config.discovery = self.scan();
        Ok(config)
    }

    /// The options whose value differs in `reloaded`, apart from the services: a running
    /// client takes new services ([`ClientHandle::update_services`]), the others wait for a
    /// restart (and the user should be told which).
    ///
    /// [`ClientHandle::update_services`]: crate::client::ClientHandle::update_services
    pub fn changed_outside_services(&self, reloaded: &Settings) -> Vec<&'static str> {
        let changed = [
            ("server", self.server != reloaded.server),
            ("ca", self.ca != reloaded.ca),
            (
                "system_roots",
                self.system_roots() != reloaded.system_roots(),
            ),
            ("state_dir", self.state_dir != reloaded.state_dir),
            ("mac", self.mac != reloaded.mac),
            ("window", self.window() != reloaded.window()),
            ("gateway", self.gateway() != reloaded.gateway()),
            (
                "max_sessions",
                self.max_sessions() != reloaded.max_sessions(),
            ),
            (
                "ping_interval",
                self.ping_interval() != reloaded.ping_interval(),
            ),
            (
                "ping_timeout",
                self.ping_timeout() != reloaded.ping_timeout(),
            ),
            (
                "reconnect_min",
                self.reconnect_min() != reloaded.reconnect_min(),
            ),
            (
                "reconnect_max",
                self.reconnect_max() != reloaded.reconnect_max(),
            ),
            ("discovery", self.discovery() != reloaded.discovery()),
            (
                "discovery_interface",
                self.discovery_interfaces != reloaded.discovery_interfaces,
            ),
            (
                "discovery_max_hosts",
                self.discovery_max_hosts != reloaded.discovery_max_hosts,
            ),
        ];
        changed
            .into_iter()
            .filter_map(|(key, differs)| differs.then_some(key))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn tcp(s: &str) -> ServiceSpec {
        ServiceSpec::host_port(ServiceKind::Tcp, s).unwrap()
    }

    fn http(s: &str) -> ServiceSpec {
        ServiceSpec::host_port(ServiceKind::Http, s).unwrap()
    }

    fn rtsp(s: &str) -> ServiceSpec {
        ServiceSpec::url(ServiceKind::Rtsp, s).unwrap()
    }

    fn mjpeg(s: &str) -> ServiceSpec {
        ServiceSpec::url(ServiceKind::Mjpeg, s).unwrap()
    }

    /// What a config file gave.
    fn file() -> Settings {
        Settings {
            server: Some("file.example:8900".into()),
            ca: vec![PathBuf::from("/etc/p/file-ca.pem")],
            state_dir: Some("/var/lib/file".into()),
            mac: Some(MacAddr([2, 0, 0, 0, 0, 0x0f])),
            window: Some(1000),
            ping_interval: Some(Duration::from_secs(5)),
            ping_timeout: Some(Duration::from_secs(4)),
            reconnect_min: Some(Duration::from_secs(2)),
            reconnect_max: Some(Duration::from_secs(10)),
            services: vec![
                tcp("127.0.0.1:22"),
                http("127.0.0.1:80"),
                rtsp("rtsp://u:p@127.0.0.1/live"),
            ],
            ..Settings::default()
        }
    }

    fn of_kind(s: &Settings, kind: ServiceKind) -> Vec<String> {
        s.services
            .iter()
            .filter(|spec| spec.kind == kind)
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn nothing_given_means_the_library_defaults() {
        let s = Settings::default();
        let (c, r) = (ConnectionConfig::default(), ReconnectPolicy::default());
        assert_eq!(s.window(), c.capacity);
        assert_eq!(s.ping_interval(), c.ping_interval);
        assert_eq!(s.ping_timeout(), c.ping_timeout);
        assert_eq!(s.reconnect_min(), r.min);
        assert_eq!(s.reconnect_max(), r.max);
        assert!(!s.gateway() && !s.system_roots());
        assert_eq!(
            (s.window(), s.ping_interval(), s.ping_timeout()),
            (65_536, Duration::from_secs(20), Duration::from_secs(15))
        );
        assert_eq!(
            (s.reconnect_min(), s.reconnect_max()),
            (Duration::from_secs(1), Duration::from_secs(60))
        );
    }

    #[test]
    fn an_option_given_above_wins_over_the_one_below() {
        type Check = fn(&Settings) -> bool;
        let cases: [(Settings, Check); 10] = [
            (
                Settings {
                    server: Some("flag:1".into()),
                    ..Settings::default()
                },
                |s| s.server.as_deref() == Some("flag:1"),
            ),
            (
                Settings {
                    state_dir: Some("/flag".into()),
                    ..Settings::default()
                },
                |s| s.state_dir.as_deref() == Some(Path::new("/flag")),
            ),
            (
                Settings {
                    mac: Some(MacAddr([2, 0, 0, 0, 0, 0xaa])),
                    ..Settings::default()
                },
                |s| s.mac == Some(MacAddr([2, 0, 0, 0, 0, 0xaa])),
            ),
            (
                Settings {
                    window: Some(7),
                    ..Settings::default()
                },
                |s| s.window() == 7,
            ),
            (
                Settings {
                    ping_interval: Some(Duration::from_secs(9)),
                    ..Settings::default()
                },
                |s| s.ping_interval() == Duration::from_secs(9),
            ),
            (
                Settings {
                    ping_timeout: Some(Duration::from_secs(8)),
                    ..Settings::default()
                },
                |s| s.ping_timeout() == Duration::from_secs(8),
            ),
            (
                Settings {
                    reconnect_min: Some(Duration::from_secs(1)),
                    ..Settings::default()
                },
                |s| s.reconnect_min() == Duration::from_secs(1),
            ),
            (
                Settings {
                    reconnect_max: Some(Duration::from_secs(3600)),
                    ..Settings::default()
                },
                |s| s.reconnect_max() == Duration::from_secs(3600),
            ),
            (
                Settings {
                    gateway: Some(true),
                    ..Settings::default()
                },
                Settings::gateway,
            ),
            (
                Settings {
                    system_roots: Some(true),
                    ..Settings::default()
                },
                Settings::system_roots,
            ),
        ];
        for (upper, check) in cases {
            let text = format!("{upper:?}");
            let merged = upper.or(file());
            assert!(check(&merged), "{text}: {merged:?}");
        }
        // Nothing above: the file's values.
        let merged = Settings::default().or(file());
        assert_eq!(merged, file());
    }

    #[test]
    fn a_list_given_above_replaces_the_list_of_that_kind_only() {
        let flags = Settings {
            ca: vec!["/flag-ca.pem".into()],
            ..Settings::default()
        };
        assert_eq!(flags.or(file()).ca, vec![PathBuf::from("/flag-ca.pem")]);
        let flags = Settings {
            system_roots: Some(true),
            ..Settings::default()
        };
        assert_eq!(
            flags.or(file()).ca,
            file().ca,
            "system_roots adds to the file's ca"
        );

        let flags = Settings {
            services: vec![tcp("127.0.0.1:2222")],
            ..Settings::default()
        };
        let s = flags.or(file());
        assert_eq!(of_kind(&s, ServiceKind::Tcp), vec!["127.0.0.1:2222"]);
        assert_eq!(
            of_kind(&s, ServiceKind::Http),
            vec!["127.0.0.1:80"],
            "other kinds kept"
        );
        assert_eq!(
            of_kind(&s, ServiceKind::Rtsp),
            vec!["rtsp://***@127.0.0.1:554/live"]
        );

        let flags = Settings {
            services: vec![
                rtsp("rtsp://127.0.0.1/a"),
                mjpeg("http://127.0.0.1/m"),
                http("127.0.0.1:81"),
            ],
            ..Settings::default()
        };
        let s = flags.or(file());
        assert_eq!(of_kind(&s, ServiceKind::Tcp), vec!["127.0.0.1:22"]);
        assert_eq!(of_kind(&s, ServiceKind::Http), vec!["127.0.0.1:81"]);
        assert_eq!(
            of_kind(&s, ServiceKind::Rtsp),
            vec!["rtsp://127.0.0.1:554/a"]
        );
        assert_eq!(
            of_kind(&s, ServiceKind::Mjpeg),
            vec!["http://127.0.0.1:80/m"]
        );
    }

    #[test]
    fn switches_are_on_when_either_says_so() {
        let cases = [
            (None, Some(false), false),
            (None, Some(true), true),
            (Some(true), Some(false), true),
            (Some(true), None, true),
            (None, None, false),
        ];
        for (upper, lower, want) in cases {
            let merged = Settings {
                gateway: upper,
                ..Settings::default()
            }
            .or(Settings {
                gateway: lower,
                ..Settings::default()
            });
            assert_eq!(merged.gateway(), want, "{upper:?} over {lower:?}");
        }
    }

    #[test]
    fn a_reload_names_the_options_that_wait_for_a_restart() {
        let first = file();
        assert!(first.changed_outside_services(&first).is_empty());
        let mut second = file();
        second.window = Some(2000);
        second.ping_timeout = Some(Duration::from_secs(3));
        second.services[0] = tcp("127.0.0.1:2222");
        second.discovery = Some(true);
        second.discovery_interfaces = vec!["eth1".into()];
        second.discovery_max_hosts = Some(512);
        assert_eq!(
            first.changed_outside_services(&second),
            vec![
                "window",
                "ping_timeout",
                "discovery",
                "discovery_interface",
                "discovery_max_hosts"
            ],
            "a service change is not one of them"
        );
        // The same value spelled out or left to the default is no change.
        let explicit = Settings {
            window: Some(65_536),
            ..Settings::default()
        };
        assert!(
            Settings::default()
                .changed_outside_services(&explicit)
                .is_empty()
        );
    }

    fn base() -> Settings {
        Settings {
            server: Some("h:1".into()),
            ca: vec!["c".into()],
            state_dir: Some("s".into()),
            ..Settings::default()
        }
    }

    #[test]
    fn what_is_required_and_what_is_refused() {
        let cases: [(Settings, &str); 8] = [
            (
                Settings {
                    server: None,
                    ..base()
                },
                "--server (`server`) is required",
            ),
            (
                Settings {
                    state_dir: None,
                    ..base()
                },
                "--state-dir (`state_dir`) is required",
            ),
            (
                Settings {
                    ca: vec![],
                    ..base()
                },
                "--ca (`ca`) or --system-roots",
            ),
            (
                Settings {
                    ping_interval: Some(Duration::ZERO),
                    ..base()
                },
                "--ping-interval (`ping_interval`) must be more than 0",
            ),
            (
                Settings {
                    ping_timeout: Some(Duration::ZERO),
                    ..base()
                },
                "--ping-timeout (`ping_timeout`) must be more than 0",
            ),
            (
                Settings {
                    reconnect_min: Some(Duration::ZERO),
                    ..base()
                },
                "--reconnect-min (`reconnect_min`) must be more than 0",
            ),
            (
                Settings {
                    reconnect_min: Some(Duration::from_secs(120)),
                    ..base()
                },
                "--reconnect-min (2m) is more than --reconnect-max (1m)",
            ),
            (
                Settings {
                    window: Some(65_537),
                    ..base()
                },
                "--window (`window`) must be 1..=65536 bytes, not 65537",
            ),
        ];
        for (settings, want) in cases {
            let err = settings.check().unwrap_err();
            assert!(matches!(err, Error::Config(_)), "{err:?}");
            assert!(err.to_string().contains(want), "{settings:?}: {err}");
        }
        assert!(base().check().is_ok());
        let roots_only = Settings {
            ca: vec![],
            system_roots: Some(true),
            ..base()
        };
        assert!(roots_only.check().is_ok());
    }

    #[test]
    fn server_must_be_host_and_port() {
        let cases = [
            ("arrow.example.com:8900", true),
            ("127.0.0.1:1", true),
            ("[::1]:8900", true),
            ("arrow.example.com", false),
            ("arrow.example.com:", false),
            (":8900", false),
            ("host:0", false),
            ("host:65536", false),
            ("::1:8900", false),
            ("[::1]", false),
        ];
        for (server, ok) in cases {
            let s = Settings {
                server: Some(server.into()),
                ..base()
            };
            let result = s.check();
            assert_eq!(result.is_ok(), ok, "{server}: {result:?}");
            if let Err(e) = result {
                assert!(e.to_string().contains("expected HOST:PORT"), "{e}");
            }
        }
    }

    #[test]
    fn the_client_config_carries_every_option() {
        let dir = tempfile::tempdir().unwrap();
        let ca = dir.path().join("ca.pem");
        std::fs::write(
            &ca,
            crate::dev_service::DevCertificates::generate(&["h".into()])
                .unwrap()
                .ca_pem,
        )
        .unwrap();
        let settings = Settings {
            ca: vec![ca],
            gateway: Some(true),
            ..file()
        };
        let config = settings.client_config().unwrap();
        assert_eq!(config.server, "file.example:8900");
        assert_eq!(
            config.state_dir.as_deref(),
            Some(Path::new("/var/lib/file"))
        );
        assert_eq!(config.mac, settings.mac);
        assert_eq!(config.services, settings.services);
        assert_eq!(config.connection.capacity, 1000);
        assert_eq!(config.connection.ping_interval, Duration::from_secs(5));
        assert_eq!(config.connection.ping_timeout, Duration::from_secs(4));
        assert!(config.connection.gateway);
        assert_eq!(
            config.reconnect,
            ReconnectPolicy::new(Duration::from_secs(2), Duration::from_secs(10))
        );
        assert!(!config.once);
        // A CA file that cannot be used is an error naming it.
        let err = Settings {
            ca: vec![dir.path().join("missing.pem")],
            ..file()
        }
        .client_config()
        .unwrap_err();
        assert!(err.to_string().contains("missing.pem"), "{err}");
    }
}
