//! `protoctl arctop serve`: the built-in phone simulator, a real Stream Server.
//!
//! Prints one line per happening (listening, advertised, client connected, auth accepted
//! or refused, session complete, client gone); with `--json` each is an object with an
//! `event` field. Runs until SIGINT (Ctrl-C) or SIGTERM, which end every open session with
//! sessionComplete and then print `stopped` (`{"event":"stopped","signal":"SIGTERM"}`);
//! SIGHUP is ignored.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use arctop::simulator::{Simulator, SimulatorConfig, SimulatorEvent, Source, parse_recording};
use clap::Args;
use serde_json::json;
use tokio::sync::mpsc;

use crate::exit::CliError;
use crate::output::Output;
use crate::signals::{Signal, Signals};

/// Arguments of `protoctl arctop serve`.
#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// Where to listen, e.g. 0.0.0.0:4567 (port 0: any free port, printed at start).
    #[arg(long, value_name = "ADDR")]
    bind: String,
    /// The key clients must send (or the ARCTOP_API_KEY environment variable).
    #[arg(
        long,
        value_name = "KEY",
        env = "ARCTOP_API_KEY",
        hide_env_values = true,
        value_parser = super::api_key
    )]
    api_key: arctop::ApiKey,
    /// Publish the server by mDNS as ArctopService (_http._tcp.local.).
    #[arg(long)]
    advertise: bool,
    /// Values per second; 0 streams as fast as the client reads.
    #[arg(long, value_name = "HZ", default_value_t = 10.0, value_parser = rate)]
    rate: f64,
    /// End each session with sessionComplete after N values [default: never].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    count: Option<u64>,
    /// Stream a recorded session (JSON Lines, as `arctop listen --json` or --record write
    /// them) with its original timing, instead of generated data.
    #[arg(long, value_name = "FILE")]
    replay: Option<PathBuf>,
    /// Clients served at once, 1 to 4096; one more is closed at once, unread.
    #[arg(long, value_name = "N", default_value_t = 64, value_parser = clap::value_parser!(u16).range(1..=4096))]
    max_connections: u16,
    /// A client must send its whole `auth` within this, or it gets auth-failed and is closed.
    #[arg(long, value_name = crate::duration::VALUE_NAME, default_value = "10", value_parser = crate::duration::interval)]
    auth_timeout: Duration,
    /// A client that does not read for this long is closed: nothing is buffered for it.
    #[arg(long, value_name = crate::duration::VALUE_NAME, default_value = "30", value_parser = crate::duration::interval)]
    write_timeout: Duration,
}

/// 0 (as fast as the client reads), or 0.001 (a value every 1,000 s) to 1,000,000 Hz.
fn rate(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(hz) if hz == 0.0 || (arctop::simulator::MIN_RATE..=1_000_000.0).contains(&hz) => Ok(hz),
        _ => Err(format!(
            "{text:?} is not a rate: 0 (as fast as the client reads) or 0.001 to 1000000 Hz"
        )),
    }
}

pub(crate) async fn run(args: ServeArgs, out: &mut Output) -> Result<(), CliError> {
    let source = match &args.replay {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| CliError::local(format!("cannot read {}: {e}", path.display())))?;
            let items =
                parse_recording(&text).map_err(|e| CliError::from(e).context(path.display()))?;
            Source::Replay(Arc::new(items))
        }
        None => Source::Generated,
    };
    let (events_tx, mut events) = mpsc::unbounded_channel();
    let mut config = SimulatorConfig::new(args.api_key);
    config.rate = args.rate;
    config.count = args.count;
    config.source = source;
    config.max_connections = usize::from(args.max_connections);
    config.auth_timeout = args.auth_timeout;
    config.write_timeout = args.write_timeout;
    config.observer = Some(events_tx);
    if args.advertise {
        config = config.advertised();
    }
    // Signals first: from here on SIGTERM stops the simulator in order.
    let mut signals = Signals::new()?;
    let simulator = Simulator::bind(&args.bind, config).await?;
    let addr = simulator.local_addr()?;
    out.event(
        format_args!("listening on {addr}"),
        &json!({"event": "listening", "addr": addr.to_string()}),
    )?;
    let stop = simulator.shutdown_handle();
    let server = tokio::spawn(simulator.run());
    tokio::pin!(server);
    let signal = loop {
        tokio::select! {
            Some(event) = events.recv() => report(&event, out)?,
            signal = signals.next() => if let Signal::Stop(name) = signal {
                tracing::info!("{name}: ending every session with sessionComplete");
                stop.shutdown();
                break name;
            },
            result = &mut server => {
                return result.map_err(|e| CliError::local(format!("simulator task failed: {e}")))?
                    .map_err(CliError::from);
            }
        }
    };
    let result = server
        .await
        .map_err(|e| CliError::local(format!("simulator task failed: {e}")))?;
    while let Ok(event) = events.try_recv() {
        report(&event, out)?;
    }
    result.map_err(CliError::from)?;
    out.event(
        format_args!("stopped ({signal})"),
        &json!({"event": "stopped", "signal": signal}),
    )
}

fn report(event: &SimulatorEvent, out: &mut Output) -> Result<(), CliError> {
    let (human, json) = match event {
        SimulatorEvent::Advertised { fullname } => (
            format!("advertised by mDNS as {fullname}"),
            json!({"event": "advertised", "name": fullname}),
        ),
        SimulatorEvent::Connected { peer } => (
            format!("{peer} connected"),
            json!({"event": "connected", "peer": peer.to_string()}),
        ),
        SimulatorEvent::AuthAccepted { peer } => (
            format!("{peer} authenticated"),
            json!({"event": "auth_accepted", "peer": peer.to_string()}),
        ),
        SimulatorEvent::AuthRefused { peer, reason } => (
            format!("{peer} refused: {reason}"),
            json!({"event": "auth_refused", "peer": peer.to_string(), "reason": reason}),
        ),
        SimulatorEvent::SessionComplete { peer, values } => (
            format!("{peer} session complete after {values} values"),
            json!({"event": "session_complete", "peer": peer.to_string(), "values": values}),
        ),
        SimulatorEvent::ClientGone { peer, reason } => (
            format!("{peer} gone: {reason}"),
            json!({"event": "client_gone", "peer": peer.to_string(), "reason": reason}),
        ),
        SimulatorEvent::OverCapacity { peer, max } => (
            format!("{peer} refused: {max} clients are being served (--max-connections)"),
            json!({"event": "over_capacity", "peer": peer.to_string(), "max": max}),
        ),
        other => (format!("{other:?}"), json!({"event": "other"})),
    };
    out.event(human, &json)
}
