//! Demo part `arkeo`: both simulators on loopback; the All-in-One routine workflow with its
//! progress, then Multichannel channels enabled, started, and read live.

use std::time::Duration;

use arkeo::all_in_one::main;
use arkeo::multichannel::{self, ChannelState, SettingsEncoding};
use arkeo::simulator::{Simulator, SimulatorConfig, Timing};
use arkeo::workflow::{WorkflowEvent, WorkflowOptions};
use arkeo::{Client, Dialect};
use serde_json::{Value, json};

use super::Reporter;
use crate::commands::arkeo::payload;
use crate::exit::CliError;

async fn start(dialect: Dialect) -> Result<Simulator, CliError> {
    let config = SimulatorConfig::new(dialect).timing(Timing::fast());
    let loopback = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    Simulator::start(loopback, config)
        .await
        .map_err(|e| CliError::transport(format!("cannot start the {dialect} simulator: {e}")))
}

pub(crate) async fn run(report: &mut Reporter<'_>) -> Result<(), CliError> {
    all_in_one(report).await?;
    multichannel(report).await
}

async fn all_in_one(report: &mut Reporter<'_>) -> Result<(), CliError> {
    let sim = start(Dialect::AllInOne).await?;
    let addr = sim.local_addr();
    report.event(
        "simulator_listening",
        json!({ "dialect": "All-in-One", "addr": addr.to_string() }),
        format_args!("All-in-One simulator listening on {addr}"),
    )?;
    let mut client = Client::connect(&addr.to_string(), Dialect::AllInOne).await?;
    let routines = client.request(&main::get_available_routines()).await?;
    let names = routines
        .data()
        .and_then(|d| d.get("routines"))
        .cloned()
        .unwrap_or(Value::Null);
    report.event(
        "routines",
        json!({ "routines": names }),
        format_args!("available routines: {names}"),
    )?;

    let options = WorkflowOptions {
        poll_interval: Duration::from_millis(25),
        ..WorkflowOptions::default()
    };
    let mut events = Vec::new();
    let measurement = arkeo::workflow::measure(
        &mut client,
        "JV",
        Some(json!({ "scan_settings": { "scan": { "Start (V)": 0.0, "End (V)": 1.2, "Step (V)": 0.03 } } })),
        options,
        |e| events.push(e.clone()),
    )
    .await?;
    for event in events {
        let (name, fields) = match &event {
            WorkflowEvent::Progress { state, progress } => (
                "progress",
                json!({ "state": state.as_str(), "progress": progress }),
            ),
            other => ("workflow", json!({ "step": other.to_string() })),
        };
        report.event(name, fields, &event)?;
    }
    let scan = &measurement.data["scans"][0];
    let parameters = scan.get("parameters").cloned().unwrap_or(Value::Null);
    report.event(
        "jv_data",
        json!({ "points": scan["data"].as_array().map_or(0, Vec::len), "parameters": parameters }),
        format_args!("JV curve fetched; derived parameters {parameters}"),
    )?;
    let rejection = match client
        .request(&arkeo::all_in_one::routine::get_test_status())
        .await
    {
        Err(arkeo::Error::Rejected(rejection)) => rejection,
        Err(e) => return Err(e.into()),
        Ok(reply) => {
            return Err(CliError::protocol(format!(
                "GetTestStatus answered after CloseRoutine: {}",
                reply.into_value()
            )));
        }
    };
    report.event(
        "error_reply",
        json!({ "code": rejection.code.map(|c| c.0), "message": rejection.message }),
        format_args!("after CloseRoutine, GetTestStatus is refused: {rejection}"),
    )?;
    sim.shutdown().await;
    Ok(())
}

async fn multichannel(report: &mut Reporter<'_>) -> Result<(), CliError> {
    let sim = start(Dialect::Multichannel).await?;
    let addr = sim.local_addr();
    report.event(
        "simulator_listening",
        json!({ "dialect": "Multichannel", "addr": addr.to_string() }),
        format_args!("Multichannel simulator listening on {addr}"),
    )?;
    let mut client = Client::connect(&addr.to_string(), Dialect::Multichannel).await?;
    let settings = json!({ "Enable": true, "User": "demo", "Device": "cell-A" });
    client
        .request(&multichannel::set_channel_settings(
            &[0, 1],
            &settings,
            SettingsEncoding::Object,
        ))
        .await?;
    let started = client.request(&multichannel::start_measurement()).await?;
    report.event(
        "started",
        payload(&started),
        format_args!("channels 0 and 1 enabled and started"),
    )?;
    let states = client
        .request(&multichannel::get_channel_state(&[0, 1, 2]))
        .await?;
    for state in ChannelState::from_reply(&states).map_err(arkeo::Error::from)? {
        report.event(
            "channel_state",
            json!({ "index": state.index, "enabled": state.enabled, "state": format!("{:?}", state.state) }),
            format_args!("channel {}: {:?}", state.index, state.state),
        )?;
    }
    let iv = client.request(&multichannel::get_iv(&[0, 1, 2])).await?;
    report.event(
        "live_iv",
        payload(&iv),
        format_args!(
            "live IV (NaN on the idle channel 2): {}",
            iv.get("data").cloned().unwrap_or(Value::Null)
        ),
    )?;
    sim.shutdown().await;
    Ok(())
}
