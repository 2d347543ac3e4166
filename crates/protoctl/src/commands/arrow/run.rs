//! `protoctl arrow run`: the Arrow client, glue over `arrow_client`. The flags and the
//! config file become the library's [`Settings`] (flags over the file), those a
//! [`ClientConfig`](arrow_client::client::ClientConfig); the client runs on
//! [`Client::spawn`]; its events are printed; SIGINT/SIGTERM stop it in order and SIGHUP
//! reloads its services; the outcome becomes the exit code.
//!
//! # Events never wait for stdout
//!
//! The client's events go through its bounded [`event_queue`] to a writer on a thread of
//! its own: a stdout that is slow or never read (a stuck pipe) blocks only that thread,
//! never the client's connection (which runs on this command's one-thread runtime) nor
//! the signals. When the queue is full, events are dropped and counted, and an
//! `events_dropped` event says how many once the writer catches up. Human lines show
//! control characters from the service (a REDIRECT target, an error text) escaped.
//!
//! # Output
//!
//! One line per event: the library's [`ClientEvent`]s (their JSON and text are defined
//! there), and two of the command's own, [`RunEvent::Reloaded`] and
//! [`RunEvent::ReloadFailed`]:
//!
//! ```text
//! {"event":"reloaded","services":[{"svc_id":23517,"type":"tcp","locked":false,"addr":"127.0.0.1:22","path":""}],"restart_needed":["window"]}
//! {"event":"reload_failed","error":"config file /etc/protoctl/arrow.toml:4:1: unknown field `bogus_key`, ..."}
//! ```

use std::ffi::OsStr;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use arrow_client::client::{Client, ClientEvent, ClientHandle, DEFAULT_EVENT_QUEUE, event_queue};
use arrow_client::connection::ConnectionConfig;
use arrow_client::identity::MacAddr;
use arrow_client::service_table::{Service, ServiceKind, ServiceSpec};
use arrow_client::settings::Settings;
use clap::Args;
use serde::Serialize;
use tokio::sync::mpsc;

use crate::duration::{VALUE_NAME as DURATION, interval};
use crate::exit::CliError;
use crate::output::Output;
use crate::signals::{Signal, Signals};

/// Arguments of `protoctl arrow run`.
#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// TOML file with any of these options and the services (see docs/operations.md);
    /// flags override it, and a list flag (--ca, --tcp, ...) replaces the file's list of
    /// that kind. Read again on SIGHUP to reload the services.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The Arrow Service, HOST:PORT (HOST must match its certificate).
    #[arg(long, value_name = "HOST:PORT")]
    server: Option<String>,
    /// CA certificate(s) (PEM) the service's certificate must chain to; repeatable.
    #[arg(long, value_name = "FILE")]
    ca: Vec<PathBuf>,
    /// Also trust the platform's root certificates.
    #[arg(long)]
    system_roots: bool,
    /// Directory holding the client identity, status file and lock (one client per
    /// directory).
    #[arg(long, value_name = "DIR")]
    state_dir: Option<PathBuf>,
    /// Expose a plain TCP service; repeatable.
    #[arg(long, value_name = "HOST:PORT", value_parser = ServiceParser(ServiceKind::Tcp))]
    tcp: Vec<ServiceSpec>,
    /// Expose an HTTP service; repeatable.
    #[arg(long, value_name = "HOST:PORT", value_parser = ServiceParser(ServiceKind::Http))]
    http: Vec<ServiceSpec>,
    /// Expose an RTSP stream, `rtsp://[USER:PASS@]HOST[:PORT]/path` (port 554 if left
    /// out); credentials make it a locked service and are never sent; repeatable.
    #[arg(long, value_name = "URL", value_parser = ServiceParser(ServiceKind::Rtsp))]
    rtsp: Vec<ServiceSpec>,
    /// Expose an MJPEG stream, `http://[USER:PASS@]HOST[:PORT]/path` (port 80 if left
    /// out); credentials make it a locked service and are never sent; repeatable.
    #[arg(long, value_name = "URL", value_parser = ServiceParser(ServiceKind::Mjpeg))]
    mjpeg: Vec<ServiceSpec>,
    /// MAC address to register with [default: the first network card's].
    #[arg(long, value_name = "MAC")]
    mac: Option<MacAddr>,
    /// Session window in bytes, both directions (1..=65536) [default: 65536].
    #[arg(long, value_name = "BYTES", value_parser = window)]
    window: Option<u32>,
    /// Local connections at once (sessions open, connecting or still closing), 1..=16384; a
    /// CONNECT over it is refused with HUP 3. Lowered at start to fit the open-file limit
    /// with descriptors to spare [default: 256].
    #[arg(long, value_name = "N", value_parser = max_sessions)]
    max_sessions: Option<usize>,
    /// Gateway mode: allow services on other hosts than this one (REGISTER flag 0x1).
    /// Without it, sessions to non-loopback addresses are refused.
    #[arg(long)]
    gateway: bool,
    /// Time between PINGs to the service [default: 20s].
    #[arg(long, value_name = DURATION, value_parser = interval)]
    ping_interval: Option<Duration>,
    /// A PING not answered within this ends the connection [default: 15s].
    #[arg(long, value_name = DURATION, value_parser = interval)]
    ping_timeout: Option<Duration>,
    /// Shortest wait before reconnecting [default: 1s].
    #[arg(long, value_name = DURATION, value_parser = interval)]
    reconnect_min: Option<Duration>,
    /// Longest wait before reconnecting (backoff doubles up to this, with full jitter)
    /// [default: 1m].
    #[arg(long, value_name = DURATION, value_parser = interval)]
    reconnect_max: Option<Duration>,
    /// Discovery: scan the LAN for cameras at start, every 5 minutes and on each
    /// SCAN_NETWORK, and answer GET_SCAN_REPORT with what was found (docs/discovery.md).
    #[arg(long)]
    discovery: bool,
    /// Scan only this interface's subnet; repeatable [default: every non-loopback one].
    #[arg(long, value_name = "IF")]
    discovery_interface: Vec<String>,
    /// The most addresses one scan may sweep, 1 to 65536 (a /16) [default: 1024, a /22].
    #[arg(long, value_name = "N", value_parser = super::scan::max_hosts)]
    discovery_max_hosts: Option<usize>,
    /// Connect and register once, then exit: 0 registered, 1 refused (any refusal code),
    /// 3 transport failure (a server or service host that does not resolve included), 4
    /// protocol violation.
    #[arg(long)]
    once: bool,
}

impl RunArgs {
    /// What the flags say, as a layer of settings.
    fn flags(&self) -> Settings {
        Settings {
            server: self.server.clone(),
            ca: self.ca.clone(),
            system_roots: self.system_roots.then_some(true),
            state_dir: self.state_dir.clone(),
            services: [&self.tcp, &self.http, &self.rtsp, &self.mjpeg]
                .into_iter()
                .flatten()
                .cloned()
                .collect(),
            mac: self.mac,
            window: self.window,
            gateway: self.gateway.then_some(true),
            max_sessions: self.max_sessions,
            ping_interval: self.ping_interval,
            ping_timeout: self.ping_timeout,
            reconnect_min: self.reconnect_min,
            reconnect_max: self.reconnect_max,
            discovery: self.discovery.then_some(true),
            discovery_interfaces: self.discovery_interface.clone(),
            discovery_max_hosts: self.discovery_max_hosts,
        }
    }

    /// The flags over the config file (read again at each call), checked.
    fn settings(&self) -> Result<Settings, arrow_client::Error> {
        let file = match &self.config {
            Some(path) => Settings::load(path)?,
            None => Settings::default(),
        };
        let settings = self.flags().or(file);
        settings.check()?;
        Ok(settings)
    }
}

/// `--window`: the library's range.
fn window(text: &str) -> Result<u32, String> {
    let bytes: i64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a whole number of bytes"))?;
    ConnectionConfig::checked_capacity(bytes)
}

/// `--max-sessions`: the library's range.
fn max_sessions(text: &str) -> Result<usize, String> {
    let n: i64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a whole number of sessions"))?;
    ConnectionConfig::checked_max_sessions(n)
}

/// `--tcp`, `--http`, `--rtsp`, `--mjpeg`: a [`ServiceSpec`] from the start. A mistake is
/// a usage error naming the flag, and never quotes the value clap would (it may hold a
/// camera password): the library's message shows the URL without credentials.
#[derive(Clone)]
struct ServiceParser(ServiceKind);

impl clap::builder::TypedValueParser for ServiceParser {
    type Value = ServiceSpec;

    fn parse_ref(
        &self,
        _cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &OsStr,
    ) -> Result<ServiceSpec, clap::Error> {
        let flag = arg.map_or_else(|| "the service".to_string(), ToString::to_string);
        let invalid = |why: String| {
            clap::Error::raw(
                clap::error::ErrorKind::ValueValidation,
                format!("{flag}: {why}\n"),
            )
        };
        let text = value
            .to_str()
            .ok_or_else(|| invalid("not valid UTF-8".into()))?;
        let spec = match self.0 {
            ServiceKind::Rtsp | ServiceKind::Mjpeg => ServiceSpec::url(self.0, text),
            _ => ServiceSpec::host_port(self.0, text),
        };
        spec.map_err(|e| match e {
            arrow_client::Error::Config(why) => invalid(why),
            other => invalid(other.to_string()),
        })
    }
}

/// One line of `arrow run`'s output: a client event, or one of the command's own.
#[derive(Debug, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub(crate) enum RunEvent {
    /// SIGHUP: the config file was read again and its services sent with UPDATE.
    Reloaded {
        /// The services now, resolved.
        services: Vec<Service>,
        /// Options that changed but wait for a restart (config keys).
        restart_needed: Vec<&'static str>,
    },
    /// SIGHUP: the config file did not load (or its services did not resolve); nothing
    /// changed.
    ReloadFailed {
        /// Why.
        error: String,
    },
    /// What the client reported.
    #[serde(untagged)]
    Client(ClientEvent),
}

impl fmt::Display for RunEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunEvent::Client(event) => event.fmt(f),
            RunEvent::Reloaded { services, .. } => {
                write!(f, "SIGHUP: {} service(s) reloaded", services.len())
            }
            RunEvent::ReloadFailed { error } => write!(
                f,
                "SIGHUP: reload failed ({error}), keeping the current services"
            ),
        }
    }
}

/// The command's own events wait here for the writer (only SIGHUP makes them).
const OWN_EVENTS: usize = 16;

/// After the client stopped, how long the writer may take to write the events still
/// queued (a stdout nobody reads must not keep the process from exiting).
const WRITER_GRACE: Duration = Duration::from_secs(5);

/// The writer of stdout, on a thread of its own: it writes the client's events and the
/// command's own until both senders are gone. A reader that goes away
/// (`protoctl --json arrow run | head -1`) ends the event stream, not the client: writing
/// stops, one warning goes to stderr, and the client runs on until a signal stops it in
/// order. Any other write error is sent back, and the command stops the client.
fn spawn_writer(
    json: bool,
    mut client: mpsc::Receiver<ClientEvent>,
    mut own: mpsc::Receiver<RunEvent>,
) -> Result<tokio::sync::oneshot::Receiver<Result<(), CliError>>, CliError> {
    let (done_tx, done) = tokio::sync::oneshot::channel();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .map_err(|e| CliError::local(format!("cannot start the event writer: {e}")))?;
    std::thread::Builder::new()
        .name("arrow-run-events".into())
        .spawn(move || {
            let mut out = Output::stdout(json);
            let result = runtime.block_on(async {
                loop {
                    // The command's own first: a reload's report is queued before the
                    // client hears of the new services, so `reloaded` comes before its
                    // `table_replaced`, as it always did.
                    let event = tokio::select! {
                        biased;
                        Some(event) = own.recv() => event,
                        Some(event) = client.recv() => RunEvent::Client(event),
                        else => return Ok(()),
                    };
                    match print(&mut out, &event) {
                        Err(e) if e.is_stdout_closed() => {
                            tracing::warn!(
                                "stdout was closed by its reader: events are no longer written \
                                 there; the client keeps running (logs still go to stderr, \
                                 status.json is kept)"
                            );
                            return Ok(());
                        }
                        other => other?,
                    }
                }
            });
            let _ = done_tx.send(result);
        })
        .map_err(|e| CliError::local(format!("cannot start the event writer: {e}")))?;
    Ok(done)
}

/// One event on stdout: JSON as is, the human line with control characters escaped (the
/// service chooses some of its text).
fn print(out: &mut Output, event: &RunEvent) -> Result<(), CliError> {
    if out.is_json() {
        out.json_line(event)
    } else {
        out.text_line(crate::escape::escape_controls(&event.to_string()))
    }
}

pub(crate) async fn run(args: RunArgs, out: &mut Output) -> Result<(), CliError> {
    let settings = args.settings()?;
    let mut config = settings.client_config()?;
    config.once = args.once;
    // --once registers and exits: a signal simply ends it.
    let mut signals = if args.once {
        None
    } else {
        Some(Signals::new()?)
    };
    let (tx, events) = event_queue(DEFAULT_EVENT_QUEUE);
    let (own, own_rx) = mpsc::channel(OWN_EVENTS);
    let mut written = spawn_writer(out.is_json(), events, own_rx)?;
    let mut writer_done = false;
    let mut writer_error = None;
    let client = Client::spawn(config, tx)?;
    let handle = client.handle();
    let done = client.join();
    tokio::pin!(done);
    // A reload runs beside the loop (resolving and probing the new services can take a
    // while): signals, events and the client's end are handled meanwhile.
    let mut reloading: Option<std::pin::Pin<Box<dyn Future<Output = Reloaded> + Send + '_>>> = None;
    loop {
        tokio::select! {
            applied = async { reloading.as_mut().expect("guarded").await }, if reloading.is_some() => {
                reloading = None;
                report_reload(applied, &own);
            }
            signal = Signals::next_of(&mut signals) => match signal {
                Signal::Stop(name) => {
                    tracing::info!(signal = name, "shutting down");
                    handle.shutdown();
                }
                Signal::Reload if reloading.is_some() => {
                    tracing::warn!("SIGHUP: a reload is under way already; send it again after");
                }
                Signal::Reload => reloading = Some(Box::pin(reload(&args, &settings, &handle))),
            },
            finished = &mut written, if !writer_done => {
                writer_done = true;
                if let Ok(Err(e)) = finished {
                    tracing::error!(error = ?e, "stdout failed: stopping the client");
                    writer_error = Some(e);
                    handle.shutdown();
                }
            }
            result = &mut done => {
                drop(own);
                if !writer_done {
                    match tokio::time::timeout(WRITER_GRACE, &mut written).await {
                        Ok(Ok(Err(e))) => writer_error = Some(e),
                        Ok(_) => {}
                        Err(_) => tracing::warn!(
                            "stdout did not take the last events in time: exiting without them"
                        ),
                    }
                }
                result.map_err(CliError::from)?;
                return writer_error.map_or(Ok(()), Err);
            }
        }
    }
}

/// What a reload did: the options that wait for a restart and the table sent, or why
/// nothing changed.
type Reloaded =
    Result<(Vec<&'static str>, arrow_client::service_table::ServiceTable), arrow_client::Error>;

/// SIGHUP: the config file again; its services go to the client (resolved first). What
/// does not load or resolve changes nothing; options other than the services wait for a
/// restart.
async fn reload(args: &RunArgs, running: &Settings, handle: &ClientHandle) -> Reloaded {
    match args.settings() {
        Ok(reloaded) => handle
            .update_services(reloaded.services.clone())
            .await
            .map(|table| (running.changed_outside_services(&reloaded), table)),
        Err(e) => Err(e),
    }
}

/// Says what a reload did, on stderr and stdout; the options that wait for a restart are
/// named. The writer being behind by [`OWN_EVENTS`] reports costs the report on stdout
/// (stderr has it).
fn report_reload(applied: Reloaded, out: &mpsc::Sender<RunEvent>) {
    let event = match applied {
        Ok((restart_needed, table)) => {
            if !restart_needed.is_empty() {
                tracing::warn!(
                    keys = %restart_needed.join(", "),
                    "SIGHUP: only the services are reloaded; the other changed options take \
                     effect at the next restart"
                );
            }
            RunEvent::Reloaded {
                services: table.services().to_vec(),
                restart_needed,
            }
        }
        Err(e) => {
            let error = crate::exit::chain(&e);
            tracing::error!(%error, "SIGHUP: reload failed, keeping the current services");
            RunEvent::ReloadFailed { error }
        }
    };
    let _ = out.try_send(event);
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{CommandFactory, Parser};

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        run: RunArgs,
    }

    fn parse(flags: &[&str]) -> Result<RunArgs, clap::Error> {
        Cli::try_parse_from(std::iter::once("run").chain(flags.iter().copied())).map(|c| c.run)
    }

    #[test]
    fn the_help_states_the_librarys_defaults() {
        let help = Cli::command().render_long_help().to_string();
        let help = help.split_whitespace().collect::<Vec<_>>().join(" ");
        let defaults = Settings::default();
        for want in [
            format!(
                "[default: {}]",
                humantime::format_duration(defaults.ping_interval())
            ),
            format!(
                "[default: {}]",
                humantime::format_duration(defaults.ping_timeout())
            ),
            format!(
                "[default: {}]",
                humantime::format_duration(defaults.reconnect_min())
            ),
            format!(
                "[default: {}]",
                humantime::format_duration(defaults.reconnect_max())
            ),
            format!("[default: {}]", defaults.window()),
            format!("[default: {}]", defaults.max_sessions()),
            format!("(1..={})", ConnectionConfig::MAX_CAPACITY),
        ] {
            assert!(help.contains(&want), "--help lacks {want}");
        }
    }

    #[test]
    fn flags_become_a_layer_of_settings_with_typed_services() {
        let args = parse(&[
            "--server",
            "h:1",
            "--tcp",
            "127.0.0.1:22",
            "--rtsp",
            "rtsp://u:p@cam/live",
            "--http",
            "[::1]:80",
            "--ping-interval",
            "1",
            "--ping-timeout",
            "2s",
            "--gateway",
        ])
        .unwrap();
        let flags = args.flags();
        let kinds: Vec<ServiceKind> = flags.services.iter().map(|s| s.kind).collect();
        assert_eq!(
            kinds,
            [ServiceKind::Tcp, ServiceKind::Http, ServiceKind::Rtsp]
        );
        assert!(flags.services[2].locked);
        assert_eq!(flags.ping_interval, Some(Duration::from_secs(1)));
        assert_eq!(flags.ping_timeout, Some(Duration::from_secs(2)));
        assert_eq!((flags.gateway, flags.system_roots), (Some(true), None));
        assert_eq!(
            flags.window, None,
            "not given: the file or the default decides"
        );
    }

    #[test]
    fn a_bad_flag_value_names_the_flag_and_never_the_password() {
        let cases: [(&[&str], &str); 8] = [
            (
                &["--tcp", "nohost"],
                "--tcp <HOST:PORT>: tcp service \"nohost\": expected HOST:PORT",
            ),
            (
                &["--rtsp", "rtsp://admin:hunter2@h:99999/x"],
                "--rtsp <URL>: rtsp service \"rtsp://***@h:99999/x\"",
            ),
            (&["--window", "0"], "must be 1..=65536 bytes, not 0"),
            (&["--window", "65537"], "not 65537"),
            (&["--max-sessions", "0"], "must be 1..=16384, not 0"),
            (&["--max-sessions", "1000000"], "not 1000000"),
            (
                &["--max-sessions", "lots"],
                "not a whole number of sessions",
            ),
            (&["--ping-interval", "500000000000years"], "up to 1 day"),
        ];
        for (flags, want) in cases {
            let err = parse(flags)
                .err()
                .unwrap_or_else(|| panic!("{flags:?} accepted"));
            let text = err.to_string();
            assert_eq!(err.exit_code(), 2, "{flags:?}");
            assert!(text.contains(want), "{flags:?}: {text}");
            assert!(!text.contains("hunter2"), "{text}");
        }
    }

    #[test]
    fn human_lines_escape_the_control_characters_a_service_may_send() {
        let cases = [
            (
                "redirected to b.example.com:8900",
                "redirected to b.example.com:8900",
            ),
            (
                "redirected to evil\x1b[2J\nfake line",
                "redirected to evil\\u{1b}[2J\\nfake line",
            ),
            ("kamera café ☕", "kamera café ☕"),
            ("tab\there\u{7f}", "tab\\there\\u{7f}"),
        ];
        for (text, want) in cases {
            assert_eq!(crate::escape::escape_controls(text), want, "{text:?}");
        }
        let line = RunEvent::Client(ClientEvent::Disconnected {
            reason: "redirected to a\x1b]0;owned\x07b".into(),
            disconnect: None,
        });
        assert_eq!(
            crate::escape::escape_controls(&line.to_string()),
            "disconnected: redirected to a\\u{1b}]0;owned\\u{7}b"
        );
    }

    #[test]
    fn the_commands_own_events_are_tagged_like_the_clients() {
        let failed = RunEvent::ReloadFailed { error: "no".into() };
        assert_eq!(
            serde_json::to_string(&failed).unwrap(),
            r#"{"event":"reload_failed","error":"no"}"#
        );
        let reloaded = RunEvent::Reloaded {
            services: Vec::new(),
            restart_needed: vec!["window"],
        };
        assert_eq!(
            serde_json::to_string(&reloaded).unwrap(),
            r#"{"event":"reloaded","services":[],"restart_needed":["window"]}"#
        );
        let client = ClientEvent::Stopping;
        assert_eq!(
            serde_json::to_string(&RunEvent::Client(client.clone())).unwrap(),
            r#"{"event":"stopping"}"#
        );
        assert_eq!(
            RunEvent::Client(client).to_string(),
            "stopping: no new sessions, closing the open ones"
        );
    }
}
