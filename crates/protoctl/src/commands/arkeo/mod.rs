//! `protoctl arkeo send|run|measure|serve`: the ARKEO instrument APIs.
//!
//! Output: `send` prints the reply object (pretty; `--json`: one compact line); `run`
//! prints one reply line per request (JSON Lines whatever the mode); `measure` writes the
//! routine's data as JSON (to `--out` or stdout) with a progress bar on stderr; `serve`
//! prints the address it listens on, then logs. Error replies exit 1 (code and message on
//! stderr), transport and timeouts 3, protocol violations 4.

use std::io::BufRead;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use arkeo::simulator::{Simulator, SimulatorConfig, Timing};
use arkeo::{Client, ClientOptions, Dialect, Reply, Request};
use clap::{Args, Subcommand};
use serde_json::{Map, Value, json};

use crate::exit::CliError;
use crate::output::Output;
use crate::signals::{Signal, Signals};

mod measure;
mod track;

/// `protoctl arkeo ...`
#[derive(Debug, Subcommand)]
pub(crate) enum ArkeoCommand {
    /// Send one request and print the reply.
    ///
    /// All-in-One (default, port 6360): the request carries --target, --command, the
    /// parameter and a request_id. Multichannel (--multichannel, port 6340): --command,
    /// --indices and the parameter when given.
    Send(SendArgs),
    /// Send JSON Lines of requests over one connection, strictly in sequence, and print one
    /// reply line each.
    ///
    /// Each line is sent as soon as it is read (a pipe can drive the instrument
    /// interactively). The first error reply or bad line stops the run unless --keep-going;
    /// transport and protocol failures always stop it. The exit code is the worst outcome.
    Run(RunArgs),
    /// Run an All-in-One routine to its end: start it, wait until Ready, apply settings,
    /// measure with a progress bar, fetch the data, close it.
    ///
    /// Every failure (its own ready or measurement timeout included: exit 3) stops the
    /// measurement and closes the routine, on a fresh connection when the first one died.
    /// SIGINT or SIGTERM stops the measurement and closes the routine (on a fresh
    /// connection), then exits 2. --plot draws the JV curves with Voc, Jsc, FF and PCE.
    Measure(measure::MeasureArgs),
    /// Track Multichannel channels: GetIV check, SetChannelSettings ("Enable" true), wait for
    /// "ready to start", StartMeasurement unless one runs, then each new JV object and the
    /// periodic IV readings, until --duration ends (exit 0), SIGINT or SIGTERM (exit 0), or
    /// a failure; StopChannel on every listed channel at the end.
    ///
    /// --out DIR writes jv.jsonl and iv.jsonl (--format csv: jv.csv, iv.csv); a status line
    /// per channel on a terminal; --plot draws maximum power over time per channel.
    Track(track::TrackArgs),
    /// Run the built-in instrument simulator until interrupted.
    Serve(ServeArgs),
}

/// Where the instrument is, and which API it speaks.
#[derive(Debug, Args)]
pub(crate) struct ConnectArgs {
    /// The instrument: HOST or HOST:PORT [default port: 6360, or 6340 with --multichannel].
    #[arg(long, value_name = "HOST[:PORT]", default_value = "127.0.0.1")]
    addr: String,
    /// Speak the Multichannel API (port 6340) instead of All-in-One.
    #[arg(long)]
    multichannel: bool,
    /// How long to wait for the connection and for each reply (seconds, or with a unit:
    /// 500ms, 2m).
    #[arg(long, value_name = crate::duration::VALUE_NAME, default_value = "10", value_parser = crate::duration::interval)]
    timeout: Duration,
}

impl ConnectArgs {
    fn dialect(&self) -> Dialect {
        if self.multichannel {
            Dialect::Multichannel
        } else {
            Dialect::AllInOne
        }
    }

    async fn connect(&self) -> Result<Client, CliError> {
        let options = ClientOptions {
            connect_timeout: self.timeout,
            request_timeout: self.timeout,
            ..ClientOptions::default()
        };
        Ok(Client::connect_with(&self.addr, self.dialect(), options).await?)
    }
}

/// Arguments of `protoctl arkeo send`.
#[derive(Debug, Args)]
pub(crate) struct SendArgs {
    #[command(flatten)]
    connect: ConnectArgs,
    /// All-in-One target: MAIN, ROUTINE, TMPCTL, MUX, LED... [default: MAIN].
    #[arg(long, value_name = "T")]
    target: Option<String>,
    /// The command name (any name is sent as it is).
    #[arg(long, value_name = "C")]
    command: String,
    /// One parameter field; VALUE is JSON when it parses as JSON, else a string. Repeatable.
    #[arg(long = "param", value_name = "KEY=VALUE")]
    params: Vec<String>,
    /// The whole parameter as JSON (--param fields are added to it).
    #[arg(long, value_name = "JSON")]
    parameter: Option<String>,
    /// Channel indices (Multichannel), comma-separated.
    #[arg(long, value_name = "0,1,2", value_delimiter = ',', value_parser = channel_index)]
    indices: Option<Vec<u32>>,
    /// The request_id to send (All-in-One), 0 to 2^53-1 (what any JSON parser keeps
    /// exactly) [default: 1].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(0..=MAX_REQUEST_ID))]
    request_id: Option<u64>,
}

/// Arguments of `protoctl arkeo run`.
#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    #[command(flatten)]
    connect: ConnectArgs,
    /// Go on after an error reply (transport and protocol failures still stop).
    #[arg(long)]
    keep_going: bool,
    /// JSON Lines of requests ({"target","command","parameter","indices","request_id"});
    /// `-` is stdin.
    #[arg(value_name = "FILE|-")]
    input: PathBuf,
}

/// Arguments of `protoctl arkeo serve`.
#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// Simulate a Multichannel instrument instead of an All-in-One one.
    #[arg(long)]
    multichannel: bool,
    /// The address to listen on, e.g. 127.0.0.1:6360 (port 0: any free port).
    #[arg(long, value_name = "ADDR")]
    bind: SocketAddr,
    /// How many times faster than real time the instrument's clock runs (routines, JV
    /// sweeps, tracking intervals), for tests and demos: 0.001 to 1000000.
    #[arg(long, value_name = "FACTOR", default_value_t = 1.0, value_parser = speed)]
    speed: f64,
    /// Clients served at once, 1 to 4096; one more is closed at once.
    #[arg(long, value_name = "N", default_value_t = 64, value_parser = clap::value_parser!(u16).range(1..=4096))]
    max_connections: u16,
    /// A client with no whole request for this long (or that does not read its reply for
    /// this long) is closed.
    #[arg(long, value_name = crate::duration::VALUE_NAME, default_value = "5m", value_parser = crate::duration::interval)]
    idle_timeout: Duration,
}

/// The largest `--request-id`: 2^53 - 1, the largest integer every JSON parser keeps exactly.
const MAX_REQUEST_ID: u64 = (1 << 53) - 1;

/// A channel index (`--indices`, `--channels`): 0 to 65535, far above any instrument's
/// channel count, so that the instrument (not the flag) says which channels exist.
pub(super) fn channel_index(text: &str) -> Result<u32, String> {
    match text.trim().parse::<u32>() {
        Ok(index) if index <= u32::from(u16::MAX) => Ok(index),
        _ => Err(format!(
            "{text:?}: a channel index is a number from 0 to 65535"
        )),
    }
}

/// `--speed`: a finite factor within the simulator's range.
fn speed(text: &str) -> Result<f64, String> {
    let factor: f64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number"))?;
    if factor.is_finite() && (Timing::MIN_SPEED..=Timing::MAX_SPEED).contains(&factor) {
        Ok(factor)
    } else {
        Err(format!(
            "{text}: the speed factor must be {} to {}",
            Timing::MIN_SPEED,
            Timing::MAX_SPEED
        ))
    }
}

pub(crate) async fn run(cmd: ArkeoCommand, out: &mut Output) -> Result<(), CliError> {
    match cmd {
        ArkeoCommand::Send(args) => send(args, out).await,
        ArkeoCommand::Run(args) => run_lines(args, out).await,
        ArkeoCommand::Measure(args) => measure::run(args, out).await,
        ArkeoCommand::Track(args) => track::run(args, out).await,
        ArkeoCommand::Serve(args) => serve(args, out).await,
    }
}

/// A `--param` value: JSON when it parses, else the text as a string.
fn param_value(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_string()))
}

/// The parameter from `--parameter` and `--param`, or `None` when neither was given.
fn build_parameter(parameter: Option<&str>, params: &[String]) -> Result<Option<Value>, CliError> {
    let mut base = match parameter {
        None => None,
        Some(text) => Some(
            serde_json::from_str::<Value>(text)
                .map_err(|e| CliError::local(format!("--parameter is not JSON: {e}")))?,
        ),
    };
    if params.is_empty() {
        return Ok(base);
    }
    let object = match base.get_or_insert_with(|| Value::Object(Map::new())) {
        Value::Object(o) => o,
        _ => {
            return Err(CliError::local(
                "--param needs --parameter to be a JSON object",
            ));
        }
    };
    for param in params {
        let (key, value) = param
            .split_once('=')
            .ok_or_else(|| CliError::local(format!("--param {param}: expected KEY=VALUE")))?;
        object.insert(key.to_string(), param_value(value));
    }
    Ok(base)
}

pub(super) fn print_reply(out: &mut Output, reply: &Value) -> Result<(), CliError> {
    if out.is_json() {
        out.json_line(reply)
    } else {
        let pretty = serde_json::to_string_pretty(reply)
            .map_err(|e| CliError::local(format!("cannot format the reply: {e}")))?;
        out.text_line(pretty)
    }
}

async fn send(args: SendArgs, out: &mut Output) -> Result<(), CliError> {
    let dialect = args.connect.dialect();
    let mut request = match dialect {
        Dialect::AllInOne => Request::new(args.target.as_deref().unwrap_or("MAIN"), &args.command),
        Dialect::Multichannel => {
            if args.target.is_some() {
                tracing::warn!("--target is ignored by the Multichannel API");
            }
            Request::command(&args.command)
        }
    };
    if let Some(parameter) = build_parameter(args.parameter.as_deref(), &args.params)? {
        request = request.parameter(parameter);
    }
    if let Some(indices) = args.indices {
        request = request.indices(indices);
    }
    if let Some(id) = args.request_id {
        if dialect == Dialect::Multichannel {
            tracing::warn!("--request-id is ignored by the Multichannel API (it has none)");
        }
        request = request.request_id(id);
    }
    let mut client = args.connect.connect().await?;
    match client.request(&request).await {
        Ok(reply) => print_reply(out, &reply.into_value()),
        Err(arkeo::Error::Rejected(rejection)) => {
            print_reply(out, &Value::Object(rejection.reply.clone()))?;
            Err(arkeo::Error::Rejected(rejection).into())
        }
        Err(e) => Err(e.into()),
    }
}

/// One input line as a request, or why it is not one.
fn parse_line(line: &str) -> Result<Request, String> {
    let value: Value = serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
    Request::from_json(&value).map_err(|e| e.to_string())
}

/// The worst failure so far (by exit code: the exit code contract orders them), kept for
/// the end of `run`.
#[derive(Default)]
struct Worst(Option<CliError>);

impl Worst {
    fn record(&mut self, error: CliError) {
        if self
            .0
            .as_ref()
            .is_none_or(|worst| error.exit_code() > worst.exit_code())
        {
            self.0 = Some(error);
        }
    }
}

async fn run_lines(args: RunArgs, out: &mut Output) -> Result<(), CliError> {
    let input = args.input.display().to_string();
    let reader: Box<dyn BufRead + Send> = if input == "-" {
        Box::new(std::io::BufReader::new(std::io::stdin()))
    } else {
        let file = std::fs::File::open(&args.input)
            .map_err(|e| CliError::local(format!("cannot open {input}: {e}")))?;
        Box::new(std::io::BufReader::new(file))
    };
    let mut client = args.connect.connect().await?;
    // Lines are streamed: each request is sent as soon as its line arrives, so a script
    // (or a person) can drive the instrument interactively through a pipe. A thread does
    // the blocking reads and hands lines over; it ends when we stop listening.
    let (tx, mut lines) = tokio::sync::mpsc::channel::<std::io::Result<String>>(16);
    std::thread::spawn(move || {
        for line in reader.lines() {
            if tx.blocking_send(line).is_err() {
                break;
            }
        }
    });
    let mut worst = Worst::default();
    let (mut number, mut ok, mut failed) = (0usize, 0usize, 0usize);
    loop {
        let Some(line) = lines.recv().await else {
            break;
        };
        let line = line.map_err(|e| CliError::local(format!("cannot read {input}: {e}")))?;
        number += 1;
        if line.trim().is_empty() {
            continue;
        }
        let request = match parse_line(&line) {
            Ok(request) => request,
            Err(why) => {
                failed += 1;
                worst.record(CliError::local(format!("line {number}: {why}")));
                if args.keep_going {
                    tracing::warn!("line {number} skipped: {why}");
                    continue;
                }
                break;
            }
        };
        match client.request(&request).await {
            Ok(reply) => {
                ok += 1;
                out.json_line(&reply.into_value())?;
            }
            Err(e) => {
                failed += 1;
                if let Some(r) = e.rejection() {
                    out.json_line(&Value::Object(r.reply.clone()))?;
                }
                let fatal = !matches!(e, arkeo::Error::Rejected(_) | arkeo::Error::Usage(_));
                tracing::warn!("line {number}: request {} failed", request.command_name());
                worst.record(CliError::from(e).context(format_args!("line {number}")));
                if fatal || !args.keep_going {
                    break;
                }
            }
        }
    }
    tracing::info!(ok, failed, "run finished");
    match worst.0 {
        None => Ok(()),
        Some(error) => Err(error),
    }
}

pub(super) fn read_settings(path: &Path) -> Result<Value, CliError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::local(format!("cannot read {}: {e}", path.display())))?;
    let value: Value = serde_json::from_str(&text)
        .map_err(|e| CliError::local(format!("{} is not JSON: {e}", path.display())))?;
    if !value.is_object() {
        return Err(CliError::local(format!(
            "{}: the settings must be a JSON object",
            path.display()
        )));
    }
    Ok(value)
}

async fn serve(args: ServeArgs, out: &mut Output) -> Result<(), CliError> {
    let dialect = if args.multichannel {
        Dialect::Multichannel
    } else {
        Dialect::AllInOne
    };
    let config = SimulatorConfig::new(dialect)
        .timing(Timing::realistic().with_speed(args.speed))
        .max_connections(usize::from(args.max_connections))
        .idle_timeout(args.idle_timeout);
    let sim = Simulator::start(args.bind, config)
        .await
        .map_err(|e| CliError::local(format!("cannot listen on {}: {e}", args.bind)))?;
    let addr = sim.local_addr();
    out.event(
        format_args!("ARKEO {dialect} simulator listening on {addr} (Ctrl-C to stop)"),
        &json!({ "event": "listening", "dialect": dialect.name(), "addr": addr.to_string() }),
    )?;
    let mut signals = Signals::new()?;
    while !matches!(signals.next().await, Signal::Stop(_)) {}
    sim.shutdown().await;
    Ok(())
}

/// For the demo: the reply's payload without the envelope.
pub(crate) fn payload(reply: &Reply) -> Value {
    Value::Object(reply.payload())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn param_values_are_json_when_they_parse() {
        let cases = [
            ("5", json!(5)),
            ("true", json!(true)),
            ("[1,2]", json!([1, 2])),
            ("JV", json!("JV")),
            ("Dark JV", json!("Dark JV")),
            ("\"5\"", json!("5")),
        ];
        for (text, want) in cases {
            assert_eq!(param_value(text), want, "{text}");
        }
    }

    #[test]
    fn parameter_and_params_merge() {
        let got = build_parameter(Some(r#"{"a":1}"#), &["b=2".into(), "a=x".into()]).unwrap();
        assert_eq!(got, Some(json!({"a":"x","b":2})));
        assert_eq!(build_parameter(None, &[]).unwrap(), None);
        assert!(build_parameter(Some("[1]"), &["a=1".into()]).is_err());
        assert!(build_parameter(None, &["novalue".into()]).is_err());
        assert!(build_parameter(Some("{bad"), &[]).is_err());
    }
}
