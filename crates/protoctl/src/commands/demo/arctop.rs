//! Demo part `arctop`: the phone simulator on 127.0.0.1, a client with a wrong key (refused),
//! then a client with the right key reading a short session to sessionComplete.

use std::time::Duration;

use arctop::simulator::{Simulator, SimulatorConfig};
use arctop::{ApiKey, ClientConfig, Event, Message, Target};
use futures::StreamExt;
use serde_json::{Value, json};

use super::Reporter;
use crate::exit::CliError;

const KEY: &str = "demo-key";
const VALUES: u64 = 10;

pub(crate) async fn run(report: &mut Reporter<'_>) -> Result<(), CliError> {
    let mut config = SimulatorConfig::new(ApiKey::new(KEY));
    config.rate = 200.0;
    config.count = Some(VALUES);
    let simulator = Simulator::bind("127.0.0.1:0", config).await?.spawn()?;
    let addr = simulator.addr();
    report.event(
        "peer_listening",
        json!({ "addr": addr.to_string() }),
        format_args!("phone simulator listening on {addr}"),
    )?;

    let client = |key: &str| {
        let mut config = ClientConfig::new(Target::Addr(addr.to_string()), ApiKey::new(key));
        config.auth_timeout = Duration::from_secs(5);
        arctop::connect(config)
    };

    // A wrong key: the server answers auth-failed and closes.
    match client("wrong-key").next().await {
        Some(Err(arctop::Error::AuthFailed)) => report.event(
            "auth_refused",
            json!({}),
            "a wrong API key is refused with auth-failed",
        )?,
        other => {
            return Err(CliError::protocol(format!(
                "expected auth-failed for a wrong key, got {other:?}"
            )));
        }
    }

    let mut events = client(KEY);
    let mut values = 0u64;
    while let Some(event) = events.next().await {
        match event? {
            Event::Connected { addr, .. } => report.event(
                "authenticated",
                json!({ "addr": addr.to_string() }),
                format_args!("authenticated with {addr}"),
            )?,
            Event::Message(received) => {
                let human = match &received.message {
                    Message::ValueChange { key, value, .. } => {
                        values += 1;
                        format!("{key} = {value}")
                    }
                    Message::SessionComplete { .. } => "sessionComplete: the stream ends".into(),
                    other => format!(
                        "{} {}",
                        other.command(),
                        Value::Object(received.object.clone())
                    ),
                };
                report.event(
                    "message",
                    json!({ "message": Value::Object(received.object) }),
                    human,
                )?;
            }
            Event::Skipped { len, error } => {
                return Err(CliError::protocol(format!(
                    "the simulator sent an unreadable frame of {len} bytes: {error}"
                )));
            }
            _ => {}
        }
    }
    if values != VALUES {
        return Err(CliError::protocol(format!(
            "expected {VALUES} values before sessionComplete, got {values}"
        )));
    }
    simulator.stop().await?;
    report.event(
        "done",
        json!({ "values": values }),
        format_args!("session complete after {values} values"),
    )
}
