//! `protoctl arctop listen`: authenticate and print the stream until sessionComplete.
//!
//! `--json` (or `--format json`) prints every stream message received after auth-success
//! as the object it was, every field kept; text prints one readable line per event; csv
//! prints `timestamp,key,value` rows for `valueChange`; tui draws a live terminal view
//! (text with a warning when stdout is not a terminal). `--keys` limits the values printed
//! (not the recording); `--record FILE` writes every message as JSON Lines, which
//! `protoctl arctop serve --replay FILE` plays back and `protoctl arctop plot` draws;
//! `--lsl` publishes the session as Lab Streaming Layer streams, whatever the format.
//!
//! SIGINT, SIGTERM and SIGHUP (and `q` or Ctrl-C in the live view) end it in order: what was
//! received is flushed to stdout and the record, and it exits 0.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use arctop::{ClientConfig, Event, EventStream, Message, Reading, Received, Target};
use clap::{Args, ValueEnum};
use futures::{FutureExt, StreamExt};

use super::taps::Taps;
use super::tui;
use crate::escape::escape_controls;
use crate::exit::CliError;
use crate::output::Output;
use crate::signals::{Signal, Signals};

/// Arguments of `protoctl arctop listen`.
#[derive(Debug, Args)]
pub(crate) struct ListenArgs {
    /// The server; without it, the first Arctop server mDNS finds.
    #[arg(long, value_name = "HOST:PORT", value_parser = super::host_port)]
    addr: Option<String>,
    /// The application's API key. Prefer the environment variable, which other users
    /// cannot see in the process list. Never logged.
    #[arg(
        long,
        value_name = "KEY",
        env = "ARCTOP_API_KEY",
        hide_env_values = true,
        value_parser = super::api_key
    )]
    api_key: arctop::ApiKey,
    /// How long to wait for the connection and for the auth reply (seconds, or with a
    /// unit: 500ms, 2m).
    #[arg(long, value_name = crate::duration::VALUE_NAME, default_value = "10", value_parser = crate::duration::interval)]
    timeout: Duration,
    /// How long to browse mDNS when no --addr is given.
    #[arg(long, value_name = crate::duration::VALUE_NAME, default_value = "5", value_parser = crate::duration::interval)]
    discover_timeout: Duration,
    /// Print (or show in the live view) only these value keys (comma-separated), e.g.
    /// focus,enjoyment.
    #[arg(long, value_name = "k1,k2", value_delimiter = ',')]
    keys: Vec<String>,
    /// Output format [default: text, or json with --json].
    #[arg(long, value_enum)]
    format: Option<Format>,
    /// Also write every message received to FILE as JSON Lines (replayable by
    /// `arctop serve --replay`, drawn by `arctop plot`).
    #[arg(long, value_name = "FILE")]
    record: Option<PathBuf>,
    /// On a lost connection or a timeout, connect again with backoff (re-discovering when
    /// the address came from mDNS). Never after auth-failed.
    #[arg(long)]
    reconnect: bool,
    /// After auth, a server silent this long (no message at all) ends the session: exit
    /// 3, or a reconnect with --reconnect [default: wait forever].
    #[arg(long, value_name = crate::duration::VALUE_NAME, value_parser = crate::duration::interval)]
    idle_timeout: Option<Duration>,
    /// Without --addr: take only the Arctop server whose mDNS instance name is NAME (as
    /// `arctop discover` lists it); others are skipped, and none by that name within
    /// --discover-timeout is exit 3. The API key goes to no other server.
    #[arg(long, value_name = "NAME", conflicts_with = "addr")]
    expect_name: Option<String>,
    /// Also publish the session as Lab Streaming Layer streams: one outlet per value key
    /// (`Arctop-<key>`, type Arctop, float32) and the events as Arctop-Markers (type
    /// Markers), stamped from each message's own time on LSL's clock.
    #[arg(long)]
    lsl: bool,
}

/// How messages are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    /// One readable line per event.
    Text,
    /// Each message as received, one JSON object per line.
    Json,
    /// `timestamp,key,value` rows for value changes.
    Csv,
    /// A live terminal view: a sparkline per key, connection and QA state, rate (text when
    /// stdout is not a terminal).
    Tui,
}

pub(crate) async fn run(args: ListenArgs, out: &mut Output) -> Result<(), CliError> {
    let mut format = match (args.format, out.is_json()) {
        (None, false) => Format::Text,
        (None | Some(Format::Json), true) => Format::Json,
        (Some(other), true) => {
            return Err(CliError::local(format!(
                "--json conflicts with --format {}",
                other
                    .to_possible_value()
                    .map_or_else(|| "?".to_string(), |v| v.get_name().to_string())
            )));
        }
        (Some(format), false) => format,
    };
    if format == Format::Tui && !std::io::stdout().is_terminal() {
        tracing::warn!("--format tui needs a terminal on stdout; printing text instead");
        format = Format::Text;
    }
    let mut taps = Taps::open(args.record, args.lsl)?;
    let (target, shown_target) = match args.addr {
        Some(addr) => (Target::Addr(addr.clone()), addr),
        None => (Target::Discover, "mDNS".to_string()),
    };
    let mut config = ClientConfig::new(target, args.api_key);
    config.auth_timeout = args.timeout;
    config.connect_timeout = args.timeout;
    config.discover_timeout = args.discover_timeout;
    config.idle_timeout = args.idle_timeout;
    config.expect_name = args.expect_name;
    // A server found by mDNS is named on stderr before the key goes to it.
    config.announce_target = matches!(config.target, Target::Discover);
    if args.reconnect {
        config.reconnect = Some(arctop::Backoff::default());
    }
    let keys: Vec<String> = args
        .keys
        .iter()
        .map(|k| k.trim().to_string())
        .filter(|k| !k.is_empty())
        .collect();
    let events = arctop::connect(config);
    let result = if format == Format::Tui {
        tui::run(events, &mut taps, shown_target, keys, out).await
    } else {
        let printer = Printer {
            format,
            keys,
            header_done: false,
            line: String::with_capacity(256),
        };
        print(events, printer, &mut taps, out).await
    };
    let closed = taps.close().await;
    result.and(closed)
}

/// The text, JSON and CSV loop: prints each event until the stream ends or a signal.
async fn print(
    mut events: EventStream,
    mut printer: Printer,
    taps: &mut Taps,
    out: &mut Output,
) -> Result<(), CliError> {
    let mut signals = Some(Signals::new()?);
    loop {
        // Write in batches while messages are ready; flush before waiting for more.
        let event = match events.next().now_or_never() {
            Some(event) => event,
            None => {
                taps.flush()?;
                out.flush()?;
                tokio::select! {
                    event = events.next() => event,
                    signal = Signals::next_of(&mut signals) => {
                        let name = match signal {
                            Signal::Stop(name) => name,
                            Signal::Reload => "SIGHUP",
                        };
                        tracing::warn!("{name}: interrupted before sessionComplete");
                        break;
                    }
                }
            }
        };
        match event {
            None => break,
            Some(Ok(event)) => {
                taps.event(&event)?;
                printer.event(event, out)?;
            }
            Some(Err(e)) => {
                taps.lost();
                out.flush()?;
                return Err(e.into());
            }
        }
    }
    out.flush()
}

struct Printer {
    format: Format,
    keys: Vec<String>,
    header_done: bool,
    line: String,
}

impl Printer {
    fn event(&mut self, event: Event, out: &mut Output) -> Result<(), CliError> {
        match event {
            Event::Message(received) => self.message(&received, out),
            Event::Connected { addr, server } => {
                let from = server.map(|s| format!(" ({}, found by mDNS)", s.name));
                tracing::info!(%addr, "connected and authenticated");
                self.status(
                    format_args!("connected to {addr}{}", from.unwrap_or_default()),
                    out,
                )
            }
            Event::Skipped { len, error } => {
                tracing::warn!("skipped a frame of {len} bytes: {error}");
                Ok(())
            }
            Event::Connecting { .. } | Event::ServerSkipped { .. } => {
                announce(&event);
                Ok(())
            }
            Event::Reconnecting {
                attempt,
                delay,
                cause,
            } => {
                tracing::warn!(
                    "{cause}; reconnecting in {:.1}s (attempt {attempt})",
                    delay.as_secs_f64()
                );
                self.status(
                    format_args!("reconnecting in {:.1}s: {cause}", delay.as_secs_f64()),
                    out,
                )
            }
            other => {
                tracing::debug!(?other, "event");
                Ok(())
            }
        }
    }

    /// A connection-status line: part of the human output only.
    fn status(&mut self, line: std::fmt::Arguments<'_>, out: &mut Output) -> Result<(), CliError> {
        if self.format == Format::Text {
            out.text_line(line)?;
        }
        Ok(())
    }

    fn message(&mut self, received: &Received, out: &mut Output) -> Result<(), CliError> {
        if let Message::ValueChange { key, .. } = &received.message
            && !self.keys.is_empty()
            && !self.keys.iter().any(|k| k == key.as_str())
        {
            return Ok(());
        }
        self.line.clear();
        match self.format {
            Format::Json => return out.json_line_buffered(&received.object),
            Format::Text | Format::Tui => human(&received.message, &mut self.line),
            Format::Csv => {
                if !self.header_done {
                    self.header_done = true;
                    out.bytes(b"timestamp,key,value\n")?;
                }
                if !csv(&received.message, &mut self.line) {
                    return Ok(());
                }
            }
        }
        self.line.push('\n');
        out.bytes(self.line.as_bytes())
    }
}

/// Says on stderr, whatever the output format, which server mDNS gave us before the API
/// key goes to it, and which ones `--expect-name` passed over. Nothing for `--addr`.
pub(super) fn announce(event: &Event) {
    let line = match event {
        Event::Connecting {
            addr,
            server: Some(server),
        } => format!(
            "chose the Arctop server {:?} ({}, {addr}) found by mDNS; sending the API key",
            server.name, server.host
        ),
        Event::ServerSkipped { server } => format!(
            "skipped the Arctop server {:?} ({}): not the --expect-name",
            server.name, server.host
        ),
        _ => return,
    };
    let line = format!("protoctl: {}\n", escape_controls(&line));
    let _ = std::io::Write::write_all(&mut std::io::stderr().lock(), line.as_bytes());
}

/// `HH:MM:SS.mmm` (UTC) of a Unix-milliseconds timestamp.
fn clock(timestamp: Option<i64>) -> String {
    match timestamp {
        Some(ms) => {
            let day_ms = ms.rem_euclid(86_400_000);
            format!(
                "{:02}:{:02}:{:02}.{:03}",
                day_ms / 3_600_000,
                day_ms / 60_000 % 60,
                day_ms / 1000 % 60,
                day_ms % 1000
            )
        }
        None => "--:--:--.---".into(),
    }
}

/// One readable line for a message, appended to `line` (which starts empty). Keys, error
/// messages, unknown commands are the phone's strings: their control characters are
/// escaped, so the line stays one line and never drives the terminal.
fn human(message: &Message, line: &mut String) {
    human_raw(message, line);
    if let Cow::Owned(escaped) = escape_controls(line) {
        *line = escaped;
    }
}

fn human_raw(message: &Message, line: &mut String) {
    let _ = write!(line, "{}  ", clock(message.timestamp()));
    let _ = match message {
        Message::ValueChange { key, value, .. } => {
            let note = if value.is_low_confidence() {
                "  (low confidence)"
            } else {
                ""
            };
            write!(line, "{key:<12} {value}{note}")
        }
        Message::Connection {
            previous, current, ..
        } => write!(line, "connection   {previous} -> {current}"),
        Message::Qa {
            passed: true,
            failure: None,
            ..
        } => write!(line, "qa           passed"),
        Message::Qa {
            passed, failure, ..
        } => write!(
            line,
            "qa           {} {}",
            if *passed { "passed" } else { "failed" },
            failure.map(|f| f.to_string()).unwrap_or_default()
        ),
        Message::Error { code, message, .. } => write!(line, "error        {code}: {message}"),
        Message::SessionComplete { .. } => write!(line, "session complete"),
        Message::Challenge { data } => write!(
            line,
            "challenge    {}",
            data.as_ref().map(ToString::to_string).unwrap_or_default()
        ),
        other => write!(
            line,
            "{:<12} {}",
            other.command(),
            serde_json::Value::Object(match other {
                Message::Unknown { object, .. } => object.clone(),
                _ => Default::default(),
            })
        ),
    };
}

/// A `timestamp,key,value` row for a value change; false for other messages.
fn csv(message: &Message, line: &mut String) -> bool {
    let Message::ValueChange {
        timestamp,
        key,
        value,
    } = message
    else {
        return false;
    };
    if let Some(ts) = timestamp {
        let _ = write!(line, "{ts}");
    }
    line.push(',');
    let key = key.as_str();
    if key.contains([',', '"', '\n', '\r']) {
        let _ = write!(line, "\"{}\"", key.replace('"', "\"\""));
    } else {
        line.push_str(key);
    }
    line.push(',');
    match value {
        Reading::Scalar(x) => {
            let _ = write!(line, "{x}");
        }
        Reading::Vector(xs) => {
            let items: Vec<String> = xs.iter().map(ToString::to_string).collect();
            let _ = write!(line, "\"{}\"", items.join(","));
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Message {
        Message::parse(text.as_bytes()).unwrap().message
    }

    #[test]
    fn human_lines_name_each_event() {
        let cases = [
            (
                r#"{"command":"valueChange","timestamp":3723004,"key":"focus","value":52.5}"#,
                "01:02:03.004  focus        52.5",
            ),
            (
                r#"{"command":"valueChange","key":"heart_rate","value":-1}"#,
                "--:--:--.---  heart_rate   -1  (low confidence)",
            ),
            (
                r#"{"command":"connection","previous":1,"current":2}"#,
                "--:--:--.---  connection   CONNECTING (1) -> CONNECTED (2)",
            ),
            (
                r#"{"command":"qa","passed":false,"type":1}"#,
                "--:--:--.---  qa           failed HEADBAND_OFF_HEAD (1)",
            ),
            (
                r#"{"command":"error","errorCode":-3,"message":"bad"}"#,
                "--:--:--.---  error        API_KEY_ERROR (-3): bad",
            ),
            (
                r#"{"command":"sessionComplete"}"#,
                "--:--:--.---  session complete",
            ),
            (
                r#"{"command":"brandNew","x":1}"#,
                r#"--:--:--.---  brandNew     {"command":"brandNew","x":1}"#,
            ),
            (
                r#"{"command":"error","errorCode":-3,"message":"bad\u001b[2J\nfocus 99"}"#,
                r"--:--:--.---  error        API_KEY_ERROR (-3): bad\u{1b}[2J\nfocus 99",
            ),
            (
                r#"{"command":"valueChange","key":"fo\rcus","value":1}"#,
                r"--:--:--.---  fo\rcus       1",
            ),
        ];
        for (text, expected) in cases {
            let mut line = String::new();
            human(&parse(text), &mut line);
            assert_eq!(line, expected);
        }
    }

    #[test]
    fn csv_rows_quote_what_needs_it() {
        let cases = [
            (
                r#"{"command":"valueChange","timestamp":5,"key":"focus","value":50}"#,
                Some("5,focus,50"),
            ),
            (
                r#"{"command":"valueChange","key":"motion","value":[1,2.5,3]}"#,
                Some(",motion,\"1,2.5,3\""),
            ),
            (
                r#"{"command":"valueChange","key":"a,\"b","value":"NaN"}"#,
                Some(",\"a,\"\"b\",NaN"),
            ),
            (r#"{"command":"qa","passed":true}"#, None),
        ];
        for (text, expected) in cases {
            let mut line = String::new();
            let wrote = csv(&parse(text), &mut line);
            assert_eq!(wrote.then_some(line.as_str()), expected, "{text}");
        }
    }
}
