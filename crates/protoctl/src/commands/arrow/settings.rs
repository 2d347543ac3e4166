//! The options of `protoctl arrow run`: its flags, and the settings they resolve to.
//!
//! Every option can come from a flag or from the TOML file given with `--config`; a flag
//! wins over the file, and the built-in default applies when neither gives it.
//!
//! Lists follow the same rule, kind by kind: `--ca` on the command line replaces the
//! file's `ca` list, and `--tcp` (`--http`, `--rtsp`, `--mjpeg`) replaces the file's
//! services of that type only, keeping its other services. So what a command line says
//! about a list is exactly what runs, and a file's entry can always be overridden. The
//! two switches `--system-roots` and `--gateway` can only turn an option on: it is on when
//! the flag or the file says so.

use std::path::PathBuf;
use std::time::Duration;

use arrow_client::identity::MacAddr;
use arrow_client::service_table::{redact_credentials, split_host_port};
use clap::Args;

use super::config::ConfigFile;
use crate::exit::CliError;

/// Default `--ping-interval`: with the default `--ping-timeout` a silent service is noticed
/// within 35 s (the reference client needs about 80 s).
pub(crate) const DEFAULT_PING_INTERVAL: Duration = Duration::from_secs(20);
/// Default `--ping-timeout`.
pub(crate) const DEFAULT_PING_TIMEOUT: Duration = Duration::from_secs(15);
/// Default `--reconnect-min`.
pub(crate) const DEFAULT_RECONNECT_MIN: Duration = Duration::from_secs(1);
/// Default `--reconnect-max`.
pub(crate) const DEFAULT_RECONNECT_MAX: Duration = Duration::from_secs(60);
/// Default `--window`.
pub(crate) const DEFAULT_WINDOW: u32 = 65_536;

/// The longest any duration option may be: past it a timer or a timestamp computed from
/// it would overflow (a panic, not a usage error), and no sane deployment waits longer.
pub(crate) const MAX_DURATION: Duration = Duration::from_secs(24 * 60 * 60);

/// A duration option's value: a humantime string no longer than [`MAX_DURATION`]. (Zero is
/// refused later, naming the option and its config key, see [`RunSettings::check`].)
pub(crate) fn bounded_duration(s: &str) -> Result<Duration, String> {
    let value =
        humantime::parse_duration(s).map_err(|e| format!("{e} (examples: 500ms, 15s, 2m)"))?;
    if value > MAX_DURATION {
        return Err(
            "too long: the allowed range is more than 0 up to 1 day (e.g. 500ms, 15s, 2m, 1h)"
                .into(),
        );
    }
    Ok(value)
}

/// Arguments of `protoctl arrow run`.
#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// TOML file with any of these options and the services (see docs/operations.md);
    /// flags override it, and a list flag (--ca, --tcp, ...) replaces the file's list of
    /// that kind. Read again on SIGHUP to reload the services.
    #[arg(long, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    /// The Arrow Service, HOST:PORT (HOST must match its certificate).
    #[arg(long, value_name = "HOST:PORT")]
    pub(crate) server: Option<String>,
    /// CA certificate(s) (PEM) the service's certificate must chain to; repeatable.
    #[arg(long, value_name = "FILE")]
    pub(crate) ca: Vec<PathBuf>,
    /// Also trust the platform's root certificates.
    #[arg(long)]
    pub(crate) system_roots: bool,
    /// Directory holding the client identity and status file.
    #[arg(long, value_name = "DIR")]
    pub(crate) state_dir: Option<PathBuf>,
    /// Expose a plain TCP service; repeatable.
    #[arg(long, value_name = "HOST:PORT")]
    pub(crate) tcp: Vec<String>,
    /// Expose an HTTP service; repeatable.
    #[arg(long, value_name = "HOST:PORT")]
    pub(crate) http: Vec<String>,
    /// Expose an RTSP stream, `rtsp://[USER:PASS@]HOST[:PORT]/path` (port 554 if left
    /// out); credentials make it a locked service and are never sent; repeatable.
    #[arg(long, value_name = "URL")]
    pub(crate) rtsp: Vec<String>,
    /// Expose an MJPEG stream, `http://[USER:PASS@]HOST[:PORT]/path` (port 80 if left
    /// out); credentials make it a locked service and are never sent; repeatable.
    #[arg(long, value_name = "URL")]
    pub(crate) mjpeg: Vec<String>,
    /// MAC address to register with [default: the first non-loopback interface's].
    #[arg(long, value_name = "MAC")]
    pub(crate) mac: Option<MacAddr>,
    /// Session window in bytes, both directions (1..=65536) [default: 65536].
    #[arg(long, value_name = "BYTES", value_parser = clap::value_parser!(u32).range(1..=65_536))]
    pub(crate) window: Option<u32>,
    /// Gateway mode: allow services on other hosts than this one (REGISTER flag 0x1).
    /// Without it, sessions to non-loopback addresses are refused.
    #[arg(long)]
    pub(crate) gateway: bool,
    /// Time between PINGs to the service [default: 20s].
    #[arg(long, value_name = "DURATION", value_parser = bounded_duration)]
    pub(crate) ping_interval: Option<Duration>,
    /// A PING not answered within this ends the connection [default: 15s].
    #[arg(long, value_name = "DURATION", value_parser = bounded_duration)]
    pub(crate) ping_timeout: Option<Duration>,
    /// Shortest wait before reconnecting [default: 1s].
    #[arg(long, value_name = "DURATION", value_parser = bounded_duration)]
    pub(crate) reconnect_min: Option<Duration>,
    /// Longest wait before reconnecting (backoff doubles up to this, with full jitter)
    /// [default: 60s].
    #[arg(long, value_name = "DURATION", value_parser = bounded_duration)]
    pub(crate) reconnect_max: Option<Duration>,
    /// Connect and register once, then exit: 0 registered, 1 refused (any refusal code),
    /// 3 transport failure (a server or service host that does not resolve included), 4
    /// protocol violation.
    #[arg(long)]
    pub(crate) once: bool,
}

/// The services to expose, by kind, as given (flags or config file). `Debug` hides the
/// credentials in RTSP and MJPEG URLs.
#[derive(Clone, Default, PartialEq, Eq)]
pub(crate) struct Services {
    /// `HOST:PORT` of plain TCP services.
    pub(crate) tcp: Vec<String>,
    /// `HOST:PORT` of HTTP services.
    pub(crate) http: Vec<String>,
    /// RTSP URLs.
    pub(crate) rtsp: Vec<String>,
    /// MJPEG URLs.
    pub(crate) mjpeg: Vec<String>,
}

impl std::fmt::Debug for Services {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let redacted = |urls: &[String]| -> Vec<String> {
            urls.iter().map(|u| redact_credentials(u)).collect()
        };
        f.debug_struct("Services")
            .field("tcp", &self.tcp)
            .field("http", &self.http)
            .field("rtsp", &redacted(&self.rtsp))
            .field("mjpeg", &redacted(&self.mjpeg))
            .finish()
    }
}

/// `HOST:PORT` or `[IPv6]:PORT`, with a non-zero port.
fn is_host_port(s: &str) -> bool {
    matches!(split_host_port(s), Some((_, Some(port))) if port != 0)
}

/// The command line's list when it has one, else the file's.
fn list<T: Clone>(flags: &[T], file: &[T]) -> Vec<T> {
    if flags.is_empty() {
        file.to_vec()
    } else {
        flags.to_vec()
    }
}

/// Everything `arrow run` needs, after merging the config file, the flags and defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RunSettings {
    /// The Arrow Service, `HOST:PORT`.
    pub(crate) server: String,
    /// CA files (PEM).
    pub(crate) ca: Vec<PathBuf>,
    /// Also trust the platform's roots.
    pub(crate) system_roots: bool,
    /// The state directory.
    pub(crate) state_dir: PathBuf,
    /// The services.
    pub(crate) services: Services,
    /// The MAC, when given.
    pub(crate) mac: Option<MacAddr>,
    /// Session window.
    pub(crate) window: u32,
    /// Gateway mode.
    pub(crate) gateway: bool,
    /// Time between PINGs.
    pub(crate) ping_interval: Duration,
    /// PING answer timeout.
    pub(crate) ping_timeout: Duration,
    /// Shortest reconnect wait.
    pub(crate) reconnect_min: Duration,
    /// Longest reconnect wait.
    pub(crate) reconnect_max: Duration,
    /// Register once and exit.
    pub(crate) once: bool,
}

impl RunSettings {
    /// Resolves the flags (and, with `--config`, the file) into settings. Called at start
    /// and again on SIGHUP (the file is read again each time).
    pub(crate) fn resolve(args: &RunArgs) -> Result<Self, CliError> {
        let file = match &args.config {
            Some(path) => ConfigFile::load(path)?,
            None => ConfigFile::default(),
        };
        let missing =
            |what: &str| CliError::local(format!("{what} is required (flag or config file)"));
        let server = args
            .server
            .clone()
            .or(file.server)
            .ok_or_else(|| missing("--server (`server`)"))?;
        let state_dir = args
            .state_dir
            .clone()
            .or(file.state_dir)
            .ok_or_else(|| missing("--state-dir (`state_dir`)"))?;
        let ca = list(&args.ca, &file.ca);
        let system_roots = args.system_roots || file.system_roots.unwrap_or(false);
        if ca.is_empty() && !system_roots {
            return Err(missing("--ca (`ca`) or --system-roots (`system_roots`)"));
        }
        let settings = RunSettings {
            server,
            ca,
            system_roots,
            state_dir,
            services: Services {
                tcp: list(&args.tcp, &file.services.tcp),
                http: list(&args.http, &file.services.http),
                rtsp: list(&args.rtsp, &file.services.rtsp),
                mjpeg: list(&args.mjpeg, &file.services.mjpeg),
            },
            mac: args.mac.or(file.mac),
            window: args.window.or(file.window).unwrap_or(DEFAULT_WINDOW),
            gateway: args.gateway || file.gateway.unwrap_or(false),
            ping_interval: args
                .ping_interval
                .or(file.ping_interval)
                .unwrap_or(DEFAULT_PING_INTERVAL),
            ping_timeout: args
                .ping_timeout
                .or(file.ping_timeout)
                .unwrap_or(DEFAULT_PING_TIMEOUT),
            reconnect_min: args
                .reconnect_min
                .or(file.reconnect_min)
                .unwrap_or(DEFAULT_RECONNECT_MIN),
            reconnect_max: args
                .reconnect_max
                .or(file.reconnect_max)
                .unwrap_or(DEFAULT_RECONNECT_MAX),
            once: args.once,
        };
        settings.check()?;
        Ok(settings)
    }

    /// The config keys whose value differs in `reloaded`, apart from the services: SIGHUP
    /// applies only the services, so these wait for a restart (and the user is told).
    pub(crate) fn changed_outside_services(&self, reloaded: &RunSettings) -> Vec<&'static str> {
        let changed = [
            ("server", self.server != reloaded.server),
            ("ca", self.ca != reloaded.ca),
            ("system_roots", self.system_roots != reloaded.system_roots),
            ("state_dir", self.state_dir != reloaded.state_dir),
            ("mac", self.mac != reloaded.mac),
            ("window", self.window != reloaded.window),
            ("gateway", self.gateway != reloaded.gateway),
            (
                "ping_interval",
                self.ping_interval != reloaded.ping_interval,
            ),
            ("ping_timeout", self.ping_timeout != reloaded.ping_timeout),
            (
                "reconnect_min",
                self.reconnect_min != reloaded.reconnect_min,
            ),
            (
                "reconnect_max",
                self.reconnect_max != reloaded.reconnect_max,
            ),
        ];
        changed
            .into_iter()
            .filter_map(|(key, differs)| differs.then_some(key))
            .collect()
    }

    /// The rules between options: no zero timer (a zero reconnect wait would be a tight
    /// loop), and the backoff range the right way round.
    fn check(&self) -> Result<(), CliError> {
        if !is_host_port(&self.server) {
            return Err(CliError::local(format!(
                "--server (`server`) {:?}: expected HOST:PORT (e.g. arrow.example.com:8900, [::1]:8900)",
                self.server
            )));
        }
        let zero = [
            ("--ping-interval (`ping_interval`)", self.ping_interval),
            ("--ping-timeout (`ping_timeout`)", self.ping_timeout),
            ("--reconnect-min (`reconnect_min`)", self.reconnect_min),
        ];
        for (name, value) in zero {
            if value.is_zero() {
                return Err(CliError::local(format!("{name} must be more than 0")));
            }
        }
        if self.reconnect_min > self.reconnect_max {
            return Err(CliError::local(format!(
                "--reconnect-min ({}) is more than --reconnect-max ({})",
                humantime::format_duration(self.reconnect_min),
                humantime::format_duration(self.reconnect_max)
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use std::path::Path;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        run: RunArgs,
    }

    fn args(flags: &[&str]) -> RunArgs {
        Cli::try_parse_from(std::iter::once("run").chain(flags.iter().copied()))
            .unwrap()
            .run
    }

    fn resolve(flags: &[&str]) -> Result<RunSettings, String> {
        RunSettings::resolve(&args(flags)).map_err(|e| format!("{e:?}"))
    }

    /// A config file in a temporary directory; the directory lives as long as the guard.
    fn config(text: &str) -> (tempfile::TempDir, String) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("arrow.toml");
        std::fs::write(&path, text).unwrap();
        let path = path.to_str().unwrap().to_string();
        (dir, path)
    }

    const FILE: &str = r#"
server = "file.example:8900"
ca = "file-ca.pem"
state_dir = "/var/lib/file"
mac = "02:00:00:00:00:0f"
window = 1000
ping_interval = "5s"
ping_timeout = "4s"
reconnect_min = "2s"
reconnect_max = "10s"
[[service]]
type = "tcp"
address = "127.0.0.1:22"
[[service]]
type = "http"
address = "127.0.0.1:80"
[[service]]
type = "rtsp"
url = "rtsp://u:p@127.0.0.1/live"
"#;

    #[test]
    fn flags_alone_with_defaults() {
        let s = resolve(&["--server", "h:1", "--ca", "ca.pem", "--state-dir", "st"]).unwrap();
        assert_eq!(s.server, "h:1");
        assert_eq!(s.ca, vec![PathBuf::from("ca.pem")]);
        assert_eq!(s.window, DEFAULT_WINDOW);
        assert_eq!(s.ping_interval, DEFAULT_PING_INTERVAL);
        assert_eq!(s.ping_timeout, DEFAULT_PING_TIMEOUT);
        assert_eq!(s.reconnect_min, DEFAULT_RECONNECT_MIN);
        assert_eq!(s.reconnect_max, DEFAULT_RECONNECT_MAX);
        assert!(!s.gateway && !s.system_roots && !s.once);
        assert_eq!(s.services, Services::default());
    }

    #[test]
    fn the_file_alone_gives_every_option() {
        let (dir, path) = config(FILE);
        let s = resolve(&["--config", &path]).unwrap();
        assert_eq!(s.server, "file.example:8900");
        assert_eq!(s.ca, vec![dir.path().join("file-ca.pem")]);
        assert_eq!(s.state_dir, PathBuf::from("/var/lib/file"));
        assert_eq!(s.mac, Some(MacAddr([2, 0, 0, 0, 0, 0x0f])));
        assert_eq!(s.window, 1000);
        assert_eq!(s.ping_interval, Duration::from_secs(5));
        assert_eq!(s.ping_timeout, Duration::from_secs(4));
        assert_eq!(s.reconnect_min, Duration::from_secs(2));
        assert_eq!(s.reconnect_max, Duration::from_secs(10));
        assert_eq!(s.services.tcp, vec!["127.0.0.1:22"]);
        assert_eq!(s.services.http, vec!["127.0.0.1:80"]);
        assert_eq!(s.services.rtsp, vec!["rtsp://u:p@127.0.0.1/live"]);
    }

    #[test]
    fn a_flag_wins_over_the_file() {
        let (_dir, path) = config(FILE);
        type Check = fn(&RunSettings) -> bool;
        let cases: [(&[&str], Check); 11] = [
            (&["--server", "flag:1"], |s| s.server == "flag:1"),
            (&["--state-dir", "/flag"], |s| {
                s.state_dir == Path::new("/flag")
            }),
            (&["--mac", "02:00:00:00:00:aa"], |s| {
                s.mac == Some(MacAddr([2, 0, 0, 0, 0, 0xaa]))
            }),
            (&["--window", "7"], |s| s.window == 7),
            (&["--ping-interval", "9s"], |s| {
                s.ping_interval == Duration::from_secs(9)
            }),
            (&["--ping-timeout", "8s"], |s| {
                s.ping_timeout == Duration::from_secs(8)
            }),
            (&["--reconnect-min", "1s"], |s| {
                s.reconnect_min == Duration::from_secs(1)
            }),
            (&["--reconnect-max", "1h"], |s| {
                s.reconnect_max == Duration::from_secs(3600)
            }),
            (&["--gateway"], |s| s.gateway),
            (&["--system-roots"], |s| s.system_roots),
            (&["--once"], |s| s.once),
        ];
        for (flags, check) in cases {
            let mut all = vec!["--config", path.as_str()];
            all.extend_from_slice(flags);
            let s = resolve(&all).unwrap();
            assert!(check(&s), "{flags:?}: {s:?}");
        }
    }

    #[test]
    fn a_list_on_the_command_line_replaces_the_files_list_of_that_kind_only() {
        let (dir, path) = config(FILE);
        let file_ca = dir.path().join("file-ca.pem");
        let s = resolve(&["--config", &path, "--ca", "/flag-ca.pem"]).unwrap();
        assert_eq!(s.ca, vec![PathBuf::from("/flag-ca.pem")]);
        let s = resolve(&["--config", &path, "--system-roots"]).unwrap();
        assert_eq!(s.ca, vec![file_ca], "--system-roots adds to the file's ca");

        let s = resolve(&["--config", &path, "--tcp", "127.0.0.1:2222"]).unwrap();
        assert_eq!(s.services.tcp, vec!["127.0.0.1:2222"]);
        assert_eq!(s.services.http, vec!["127.0.0.1:80"], "other kinds kept");
        assert_eq!(s.services.rtsp, vec!["rtsp://u:p@127.0.0.1/live"]);

        let s = resolve(&[
            "--config",
            &path,
            "--rtsp",
            "rtsp://127.0.0.1/a",
            "--mjpeg",
            "http://127.0.0.1/m",
            "--http",
            "127.0.0.1:81",
        ])
        .unwrap();
        assert_eq!(s.services.tcp, vec!["127.0.0.1:22"]);
        assert_eq!(s.services.http, vec!["127.0.0.1:81"]);
        assert_eq!(s.services.rtsp, vec!["rtsp://127.0.0.1/a"]);
        assert_eq!(s.services.mjpeg, vec!["http://127.0.0.1/m"]);
    }

    #[test]
    fn switches_are_on_when_either_says_so() {
        for (text, flag, want) in [
            ("gateway = false", None, false),
            ("gateway = true", None, true),
            ("gateway = false", Some("--gateway"), true),
            ("", Some("--gateway"), true),
        ] {
            let (_dir, path) = config(&format!("server = \"h:1\"\nca = \"c\"\n{text}"));
            let mut all = vec!["--config", path.as_str(), "--state-dir", "s"];
            all.extend(flag);
            assert_eq!(resolve(&all).unwrap().gateway, want, "{text} {flag:?}");
        }
    }

    #[test]
    fn the_file_is_read_again_on_each_resolve() {
        let (dir, path) = config("server = \"h:1\"\nca = \"c\"\nstate_dir = \"s\"\n");
        let args = args(&["--config", &path]);
        let first = RunSettings::resolve(&args).unwrap();
        assert!(first.services.tcp.is_empty());
        std::fs::write(
            dir.path().join("arrow.toml"),
            "server = \"h:1\"\nca = \"c\"\nstate_dir = \"s\"\n[[service]]\ntype = \"tcp\"\naddress = \"127.0.0.1:9\"\n",
        )
        .unwrap();
        let second = RunSettings::resolve(&args).unwrap();
        assert_eq!(second.services.tcp, vec!["127.0.0.1:9"]);
        std::fs::write(dir.path().join("arrow.toml"), "server = 1").unwrap();
        let err = format!("{:?}", RunSettings::resolve(&args).unwrap_err());
        assert!(err.contains("arrow.toml:1:10"), "{err}");
    }

    #[test]
    fn a_reload_names_the_options_that_wait_for_a_restart() {
        let (dir, path) = config(FILE);
        let args = args(&["--config", &path]);
        let first = RunSettings::resolve(&args).unwrap();
        assert!(first.changed_outside_services(&first).is_empty());
        let edited = FILE
            .replace("window = 1000", "window = 2000")
            .replace("ping_timeout = \"4s\"", "ping_timeout = \"3s\"")
            .replace("127.0.0.1:22", "127.0.0.1:2222");
        std::fs::write(dir.path().join("arrow.toml"), edited).unwrap();
        let second = RunSettings::resolve(&args).unwrap();
        assert_eq!(
            first.changed_outside_services(&second),
            vec!["window", "ping_timeout"],
            "a service change is not one of them"
        );
    }

    #[test]
    fn what_is_required_and_what_is_refused() {
        let base = ["--server", "h:1", "--ca", "c", "--state-dir", "s"];
        let cases: [(&[&str], &str); 8] = [
            (
                &["--ca", "c", "--state-dir", "s"],
                "--server (`server`) is required",
            ),
            (
                &["--server", "h:1", "--ca", "c"],
                "--state-dir (`state_dir`) is required",
            ),
            (
                &["--server", "h:1", "--state-dir", "s"],
                "--ca (`ca`) or --system-roots",
            ),
            (
                &["--ping-interval", "0s"],
                "--ping-interval (`ping_interval`) must be more than 0",
            ),
            (
                &["--ping-timeout", "0ms"],
                "--ping-timeout (`ping_timeout`) must be more than 0",
            ),
            (
                &["--reconnect-min", "0s"],
                "--reconnect-min (`reconnect_min`) must be more than 0",
            ),
            (
                &["--reconnect-min", "2m"],
                "--reconnect-min (2m) is more than --reconnect-max (1m)",
            ),
            (
                &["--config", "/nonexistent.toml"],
                "config file /nonexistent.toml: cannot read it",
            ),
        ];
        for (flags, want) in cases {
            let all: Vec<&str> = if flags.len() >= 4 {
                flags.to_vec()
            } else {
                base.iter().chain(flags).copied().collect()
            };
            let err = resolve(&all).unwrap_err();
            assert!(err.contains(want), "{flags:?}: {err}");
            assert!(err.contains("Local"), "{flags:?}: exit 2 expected, {err}");
        }
        assert!(resolve(&base).is_ok());
        assert!(resolve(&["--server", "h:1", "--system-roots", "--state-dir", "s"]).is_ok());
    }

    #[test]
    fn durations_are_bounded_at_parse_time_by_one_day() {
        let cases = [
            ("1ms", Some(Duration::from_millis(1))),
            ("24h", Some(MAX_DURATION)),
            ("1day", Some(MAX_DURATION)),
            ("24h 1ms", None),
            ("2days", None),
            ("200000000000years", None),
            ("500000000000years", None),
            ("99999999999999999999years", None),
        ];
        for (text, want) in cases {
            let got = bounded_duration(text);
            assert_eq!(got.as_ref().ok(), want.as_ref(), "{text}: {got:?}");
            if want.is_none() && text.ends_with("years") && text.len() < 20 {
                assert!(got.unwrap_err().contains("up to 1 day"), "{text}");
            }
        }
        for flag in [
            "--ping-interval",
            "--ping-timeout",
            "--reconnect-min",
            "--reconnect-max",
        ] {
            let err = Cli::try_parse_from(["run", flag, "500000000000years"])
                .err()
                .unwrap_or_else(|| panic!("{flag} accepted 500000000000years"));
            let text = err.to_string();
            assert!(
                text.contains(flag) && text.contains("up to 1 day"),
                "{text}"
            );
            assert_eq!(err.exit_code(), 2, "{flag}");
        }
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
            let result = resolve(&["--server", server, "--ca", "c", "--state-dir", "s"]);
            assert_eq!(result.is_ok(), ok, "{server}: {result:?}");
            if let Err(e) = result {
                assert!(e.contains("expected HOST:PORT"), "{e}");
            }
        }
    }

    #[test]
    fn debug_never_shows_credentials() {
        let (_dir, path) = config(FILE);
        let mut s = resolve(&["--config", &path]).unwrap();
        s.services
            .mjpeg
            .push("http://admin:hunter2@127.0.0.1/v.mjpg".into());
        let text = format!("{s:?}");
        assert!(
            !text.contains("u:p@") && !text.contains("hunter2"),
            "{text}"
        );
        assert!(text.contains("rtsp://***@127.0.0.1/live"), "{text}");
    }
}
