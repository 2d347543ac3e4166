//! `protoctl demo`: each protocol's built-in peer on 127.0.0.1 and a client against it.
//!
//! Every part is one module with `async fn run(&mut Reporter)`: it starts its peer on an
//! ephemeral loopback port, drives a client through a short exchange, reports what the
//! client sees, and stops its peer. Parts run one after another; the first failure ends the
//! demo with that part's exit code. SIGINT or SIGTERM stops it in order: the part running
//! is dropped with its peer, one `stopped` line says so, and the exit code is 0.

mod arctop;
mod arkeo;
mod arrow;
mod discovery;
mod wire_echo;

use std::fmt;

use clap::{Args, ValueEnum};
use serde_json::{Map, Value};

use crate::exit::CliError;
use crate::output::Output;
use crate::signals::{Signal, Signals};

/// Arguments of `protoctl demo`.
#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// Run only these parts (comma-separated) [default: all].
    #[arg(long, value_enum, value_delimiter = ',')]
    only: Vec<Part>,
}

/// One protocol's part of the demo.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Part {
    /// JSON over 4-byte length-prefixed frames, against an echo peer.
    Wire,
    /// The Arctop phone simulator, a refused key, then a session to sessionComplete.
    Arctop,
    /// ARKEO All-in-One routine workflow and Multichannel channels, against the simulator.
    Arkeo,
    /// Arrow v2: a development Arrow Service, a client, and an HTTP request through the
    /// tunnel to a local web server.
    Arrow,
    /// Arrow camera discovery on loopback addresses: fake cameras, a scan that types them,
    /// a client that finds them and an MJPEG stream through the tunnel.
    Discovery,
}

impl Part {
    const ALL: &'static [Part] = &[
        Part::Wire,
        Part::Arctop,
        Part::Arkeo,
        Part::Arrow,
        Part::Discovery,
    ];

    fn name(self) -> &'static str {
        match self {
            Part::Wire => "wire",
            Part::Arctop => "arctop",
            Part::Arkeo => "arkeo",
            Part::Arrow => "arrow",
            Part::Discovery => "discovery",
        }
    }
}

/// Writes what one part's client sees: `[part] message`, or with `--json`
/// `{"demo":"part","event":"...",...fields}`.
pub(crate) struct Reporter<'a> {
    part: &'static str,
    out: &'a mut Output,
}

impl Reporter<'_> {
    /// Reports one event with its fields.
    pub(crate) fn event(
        &mut self,
        event: &str,
        fields: Value,
        human: impl fmt::Display,
    ) -> Result<(), CliError> {
        let mut record = Map::new();
        record.insert("demo".into(), self.part.into());
        record.insert("event".into(), event.into());
        if let Value::Object(fields) = fields {
            record.extend(fields);
        }
        let line = format!("[{}] {human}", self.part);
        self.out.event(line, &Value::Object(record))
    }
}

pub(crate) async fn run(args: DemoArgs, out: &mut Output) -> Result<(), CliError> {
    let parts = if args.only.is_empty() {
        Part::ALL.to_vec()
    } else {
        args.only
    };
    let mut signals = Signals::new()?;
    let stop = async {
        loop {
            if let Signal::Stop(name) = signals.next().await {
                return name;
            }
        }
    };
    let signal = tokio::select! {
        result = run_parts(parts, out) => return result,
        name = stop => name,
    };
    // The part that was running is dropped here, its peer and client with it.
    Reporter { part: "demo", out }.event(
        "stopped",
        serde_json::json!({ "signal": signal }),
        format_args!("stopped by {signal}"),
    )
}

async fn run_parts(parts: Vec<Part>, out: &mut Output) -> Result<(), CliError> {
    for part in parts {
        let mut reporter = Reporter {
            part: part.name(),
            out,
        };
        match part {
            Part::Wire => wire_echo::run(&mut reporter).await,
            Part::Arctop => arctop::run(&mut reporter).await,
            Part::Arkeo => arkeo::run(&mut reporter).await,
            Part::Arrow => arrow::run(&mut reporter).await,
            Part::Discovery => discovery::run(&mut reporter).await,
        }
        .map_err(|e| e.context(format_args!("demo part {}", part.name())))?;
    }
    Ok(())
}

/// Where a demo's events come from: a service's or camera's channel, or a client's bounded
/// event queue.
trait EventSource<E> {
    fn next_event(&mut self) -> impl Future<Output = Option<E>>;
}

impl<E> EventSource<E> for tokio::sync::mpsc::UnboundedReceiver<E> {
    fn next_event(&mut self) -> impl Future<Output = Option<E>> {
        self.recv()
    }
}

impl<E> EventSource<E> for tokio::sync::mpsc::Receiver<E> {
    fn next_event(&mut self) -> impl Future<Output = Option<E>> {
        self.recv()
    }
}

/// The first event on `events` that `pick` turns into a value; a transport error naming
/// `what` when none comes within `wait` (or the events end).
async fn first_event<E, T>(
    wait: std::time::Duration,
    what: &str,
    events: &mut impl EventSource<E>,
    mut pick: impl FnMut(E) -> Option<T>,
) -> Result<T, CliError> {
    let found = async {
        loop {
            if let Some(value) = pick(events.next_event().await?) {
                return Some(value);
            }
        }
    };
    tokio::time::timeout(wait, found)
        .await
        .ok()
        .flatten()
        .ok_or_else(|| CliError::transport(format!("timed out waiting for {what}")))
}
