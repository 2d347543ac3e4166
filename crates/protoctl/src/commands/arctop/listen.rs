//! `protoctl arctop listen`: authenticate and print the stream until sessionComplete.
//!
//! `--json` (or `--format json`) prints every stream message received after auth-success
//! as the object it was, every field kept; text prints one readable line per event; csv
//! prints `timestamp,key,value` rows for `valueChange`. `--keys` limits the values printed
//! (not the recording); `--record FILE` writes every message as JSON Lines, which
//! `protoctl arctop serve --replay FILE` plays back.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::time::Duration;

use arctop::{ClientConfig, Event, Message, Reading, Received, Target};
use clap::{Args, ValueEnum};
use futures::{FutureExt, StreamExt};

use crate::exit::CliError;
use crate::output::Output;

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
    /// Print only these value keys (comma-separated), e.g. focus,enjoyment.
    #[arg(long, value_name = "k1,k2", value_delimiter = ',')]
    keys: Vec<String>,
    /// Output format [default: text, or json with --json].
    #[arg(long, value_enum)]
    format: Option<Format>,
    /// Also write every message received to FILE as JSON Lines (replayable by
    /// `arctop serve --replay`).
    #[arg(long, value_name = "FILE")]
    record: Option<PathBuf>,
    /// On a lost connection or a timeout, connect again with backoff (re-discovering when
    /// the address came from mDNS). Never after auth-failed.
    #[arg(long)]
    reconnect: bool,
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
}

pub(crate) async fn run(args: ListenArgs, out: &mut Output) -> Result<(), CliError> {
    let format = match (args.format, out.is_json()) {
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
    let record = match &args.record {
        Some(path) => Some(BufWriter::new(File::create(path).map_err(|e| {
            CliError::local(format!("cannot create {}: {e}", path.display()))
        })?)),
        None => None,
    };
    let target = match args.addr {
        Some(addr) => Target::Addr(addr),
        None => Target::Discover,
    };
    let mut config = ClientConfig::new(target, args.api_key);
    config.auth_timeout = args.timeout;
    config.connect_timeout = args.timeout;
    config.discover_timeout = args.discover_timeout;
    if args.reconnect {
        config.reconnect = Some(arctop::Backoff::default());
    }
    let mut printer = Printer {
        format,
        keys: args
            .keys
            .iter()
            .map(|k| k.trim().to_string())
            .filter(|k| !k.is_empty())
            .collect(),
        record,
        record_path: args.record.unwrap_or_default(),
        header_done: false,
        line: String::with_capacity(256),
    };

    let mut events = arctop::connect(config);
    let interrupted = tokio::signal::ctrl_c();
    tokio::pin!(interrupted);
    loop {
        // Write in batches while messages are ready; flush before waiting for more.
        let event = match events.next().now_or_never() {
            Some(event) => event,
            None => {
                printer.flush(out)?;
                tokio::select! {
                    event = events.next() => event,
                    _ = &mut interrupted => {
                        tracing::warn!("interrupted before sessionComplete");
                        break;
                    }
                }
            }
        };
        match event {
            None => break,
            Some(Ok(event)) => printer.event(event, out)?,
            Some(Err(e)) => {
                printer.flush(out)?;
                return Err(e.into());
            }
        }
    }
    printer.flush(out)
}

struct Printer {
    format: Format,
    keys: Vec<String>,
    record: Option<BufWriter<File>>,
    record_path: PathBuf,
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
        if let Some(record) = &mut self.record {
            serde_json::to_writer(&mut *record, &received.object)
                .map_err(std::io::Error::from)
                .and_then(|()| record.write_all(b"\n"))
                .map_err(|e| {
                    CliError::local(format!("cannot write {}: {e}", self.record_path.display()))
                })?;
        }
        if let Message::ValueChange { key, .. } = &received.message
            && !self.keys.is_empty()
            && !self.keys.iter().any(|k| k == key.as_str())
        {
            return Ok(());
        }
        self.line.clear();
        match self.format {
            Format::Json => return out.json_line_buffered(&received.object),
            Format::Text => human(&received.message, &mut self.line),
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

    fn flush(&mut self, out: &mut Output) -> Result<(), CliError> {
        if let Some(record) = &mut self.record {
            record.flush().map_err(|e| {
                CliError::local(format!("cannot write {}: {e}", self.record_path.display()))
            })?;
        }
        out.flush()
    }
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

/// One readable line for a message.
fn human(message: &Message, line: &mut String) {
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
