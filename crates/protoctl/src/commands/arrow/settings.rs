//! The options of `protoctl arrow run`: its flags, and the settings they resolve to.
//!
//! Every option can come from a flag or from the TOML file given with `--config`; a flag
//! wins over the file, and the built-in default applies when neither gives it.

use std::path::PathBuf;
use std::time::Duration;

use arrow_client::identity::MacAddr;
use clap::Args;

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

fn duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s).map_err(|e| format!("{e} (examples: 500ms, 15s, 2m)"))
}

/// Arguments of `protoctl arrow run`.
#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// TOML file with any of these options and the services; flags override it.
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
    /// Expose an RTSP stream, rtsp://[USER:PASS@]HOST[:PORT]/path (port 554 if left out);
    /// credentials make it a locked service; repeatable.
    #[arg(long, value_name = "URL")]
    pub(crate) rtsp: Vec<String>,
    /// Expose an MJPEG stream, http://[USER:PASS@]HOST[:PORT]/path (port 80 if left out);
    /// repeatable.
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
    #[arg(long, value_name = "DURATION", value_parser = duration)]
    pub(crate) ping_interval: Option<Duration>,
    /// A PING not answered within this ends the connection [default: 15s].
    #[arg(long, value_name = "DURATION", value_parser = duration)]
    pub(crate) ping_timeout: Option<Duration>,
    /// Shortest wait before reconnecting [default: 1s].
    #[arg(long, value_name = "DURATION", value_parser = duration)]
    pub(crate) reconnect_min: Option<Duration>,
    /// Longest wait before reconnecting (backoff doubles up to this, with full jitter)
    /// [default: 60s].
    #[arg(long, value_name = "DURATION", value_parser = duration)]
    pub(crate) reconnect_max: Option<Duration>,
    /// Connect and register once, then exit: 0 registered, 1 refused, 3 transport failure.
    #[arg(long)]
    pub(crate) once: bool,
}

/// The services to expose, by kind, as given (flags or config file).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
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
        // The config file is not read yet: flags and defaults only.
        let missing =
            |what: &str| CliError::local(format!("{what} is required (flag or config file)"));
        let server = args.server.clone().ok_or_else(|| missing("--server"))?;
        let state_dir = args
            .state_dir
            .clone()
            .ok_or_else(|| missing("--state-dir"))?;
        if args.ca.is_empty() && !args.system_roots {
            return Err(missing("--ca (or --system-roots)"));
        }
        Ok(RunSettings {
            server,
            ca: args.ca.clone(),
            system_roots: args.system_roots,
            state_dir,
            services: Services {
                tcp: args.tcp.clone(),
                http: args.http.clone(),
                rtsp: args.rtsp.clone(),
                mjpeg: args.mjpeg.clone(),
            },
            mac: args.mac,
            window: args.window.unwrap_or(DEFAULT_WINDOW),
            gateway: args.gateway,
            ping_interval: args.ping_interval.unwrap_or(DEFAULT_PING_INTERVAL),
            ping_timeout: args.ping_timeout.unwrap_or(DEFAULT_PING_TIMEOUT),
            reconnect_min: args.reconnect_min.unwrap_or(DEFAULT_RECONNECT_MIN),
            reconnect_max: args.reconnect_max.unwrap_or(DEFAULT_RECONNECT_MAX),
            once: args.once,
        })
    }
}
