//! The channel commands: settings, start and stop, forced sweeps, state, JV and live IV.

use serde_json::{Map, Value, json};

use super::channel::Phase;
use super::channel_settings::{self, FIELDS};
use super::{Call, MultichannelInstrument, settings_object};
use crate::ErrorCode;
use crate::jv::DataColumn;
use crate::multichannel::{
    ChannelAck, ChannelStatus, ChannelTransition, ForceJvResult, IvReading, force_jv_result,
    transition_result,
};
use crate::simulator::clock::iso8601;
use crate::simulator::outcome::{Failure, Outcome, to_json};
use crate::simulator::schema;

/// `SetChannelSettings {settings}`: a partial settings object (or its JSON text), checked
/// against the documented schema and merged into each listed channel's, all or nothing.
///
/// `"Enable": true` makes an idle or stopped channel ready to start (the simulator's answer
/// to "how is a stopped channel restarted?"); `"Enable": false` makes a ready or stopped
/// one idle, and is refused on a running channel (StopChannel first). While a measurement
/// runs, a channel that becomes ready starts at once.
pub(crate) fn set_channel_settings(sim: &mut MultichannelInstrument, call: &Call<'_>) -> Outcome {
    let picked = call.channels(sim.channels.len())?;
    let update = settings_object(call.required_parameter()?)?;
    schema::check(&update, FIELDS, "")?;
    let enable = update.get("Enable").and_then(Value::as_bool);
    let mut changes = Vec::with_capacity(picked.len());
    for &i in &picked {
        let channel = &sim.channels[i];
        let mut merged = channel.settings.clone();
        schema::merge(&mut merged, &update);
        schema::check_bounds(&merged)?;
        let plan = channel_settings::plan(&merged)?;
        let phase = match (channel.phase, enable) {
            (Phase::Running { .. }, Some(false)) => {
                return Err(Failure::invalid(format!(
                    "Channel {i} is running: StopChannel before disabling it"
                )));
            }
            (Phase::Idle, _) if plan.enabled => Phase::Ready,
            (Phase::Ready, _) if !plan.enabled => Phase::Idle,
            (Phase::Stopped, Some(true)) => Phase::Ready,
            (Phase::Stopped, Some(false)) => Phase::Idle,
            (phase, _) => phase,
        };
        changes.push((i, merged, phase));
    }
    for (i, merged, phase) in changes {
        let channel = &mut sim.channels[i];
        channel.settings = merged;
        channel.phase = phase;
    }
    if sim.channels.iter().any(|c| c.is_running()) {
        for channel in sim.channels.iter_mut().filter(|c| c.phase == Phase::Ready) {
            channel.start(call.at.t);
        }
    }
    let acks: Vec<ChannelAck> = picked
        .iter()
        .map(|&i| ChannelAck {
            index: i as u32,
            result: "ok".into(),
            extra: Map::new(),
        })
        .collect();
    Ok(json!({ "channels": to_json(&acks)? }))
}

/// `GetChannelSettings`: `{channels: [{index, settings: {...the whole object...}}]}`.
pub(crate) fn get_channel_settings(sim: &mut MultichannelInstrument, call: &Call<'_>) -> Outcome {
    let picked = call.channels(sim.channels.len())?;
    let entries: Vec<Value> = picked
        .iter()
        .map(
            |&i| json!({ "index": i, "settings": Value::Object(sim.channels[i].settings.clone()) }),
        )
        .collect();
    Ok(json!({ "channels": entries }))
}

/// `StartMeasurement` (no indices): every channel that is ready to start starts with a
/// sweep. 5005 when a measurement is already running, 5006 when no channel is ready.
pub(crate) fn start_measurement(sim: &mut MultichannelInstrument, call: &Call<'_>) -> Outcome {
    if call.indices.is_some_and(|i| !i.is_null()) {
        return Err(Failure::invalid(
            "Invalid parameters: StartMeasurement takes no indices (it starts every channel that is ready to start)",
        ));
    }
    if sim.channels.iter().any(|c| c.is_running()) {
        return Err(Failure::new(
            ErrorCode::ALREADY_RUNNING,
            "Measurement already running",
        ));
    }
    if !sim.channels.iter().any(|c| c.phase == Phase::Ready) {
        return Err(Failure::new(
            ErrorCode::NO_CHANNEL_RUNNING,
            "No channel running, enable at least 1 channel",
        ));
    }
    let mut report = Vec::new();
    for channel in sim.channels.iter_mut().filter(|c| c.phase == Phase::Ready) {
        channel.start(call.at.t);
        report.push(ChannelTransition {
            index: channel.index as u32,
            enabled: true,
            previous_state: ChannelStatus::ReadyToStart,
            new_state: ChannelStatus::Running,
            result: transition_result::STARTED.into(),
            extra: Map::new(),
        });
    }
    Ok(json!({ "channels": to_json(&report)? }))
}

/// `StopChannel`: a running channel stops ("stopped"); any other is left as it is
/// ("ignored").
pub(crate) fn stop_channel(sim: &mut MultichannelInstrument, call: &Call<'_>) -> Outcome {
    let picked = call.channels(sim.channels.len())?;
    let report: Vec<ChannelTransition> = picked
        .iter()
        .map(|&i| {
            let channel = &mut sim.channels[i];
            let previous = channel.phase.status();
            let result = if channel.is_running() {
                channel.stop(call.at);
                transition_result::STOPPED
            } else {
                transition_result::IGNORED
            };
            ChannelTransition {
                index: i as u32,
                enabled: channel.enabled(),
                previous_state: previous,
                new_state: channel.phase.status(),
                result: result.into(),
                extra: Map::new(),
            }
        })
        .collect();
    Ok(json!({ "channels": to_json(&report)? }))
}

/// `ForceJV`: a tracking channel sweeps now ("ok"); otherwise "ignored" with the reason
/// ("not enabled", "not running", "already in JV").
pub(crate) fn force_jv(sim: &mut MultichannelInstrument, call: &Call<'_>) -> Outcome {
    let picked = call.channels(sim.channels.len())?;
    let report: Vec<ForceJvResult> = picked
        .iter()
        .map(|&i| {
            let channel = &mut sim.channels[i];
            let reason = if !channel.enabled() {
                Some(force_jv_result::NOT_ENABLED)
            } else if !channel.is_running() {
                Some(force_jv_result::NOT_RUNNING)
            } else if channel.in_jv() {
                Some(force_jv_result::ALREADY_IN_JV)
            } else {
                channel.force_jv(call.at.t);
                None
            };
            let state = channel.state(call.at);
            ForceJvResult {
                index: i as u32,
                enabled: channel.enabled(),
                state: state.state,
                measurement: state.measurement,
                result: if reason.is_some() {
                    force_jv_result::IGNORED
                } else {
                    force_jv_result::OK
                }
                .into(),
                reason: reason.map(String::from),
                extra: Map::new(),
            }
        })
        .collect();
    Ok(json!({ "channels": to_json(&report)? }))
}

/// `GetChannelState`: `{channels: [{index, enable, user, device, measurement, direction,
/// state}]}`.
pub(crate) fn get_channel_state(sim: &mut MultichannelInstrument, call: &Call<'_>) -> Outcome {
    let picked = call.channels(sim.channels.len())?;
    let states: Vec<_> = picked
        .iter()
        .map(|&i| sim.channels[i].state(call.at))
        .collect();
    Ok(json!({ "channels": to_json(&states)? }))
}

/// `GetLatestJV`: one JV object per listed channel (the sweep in progress is answered with
/// its partial curve).
pub(crate) fn get_latest_jv(sim: &mut MultichannelInstrument, call: &Call<'_>) -> Outcome {
    let picked = call.channels(sim.channels.len())?;
    // Gathered one channel at a time against the reply limit, so a request for many
    // channels of long scans is refused before its reply is built.
    let mut objects = Vec::with_capacity(picked.len());
    let mut estimate = 0usize;
    for &i in &picked {
        let jv = sim.channels[i].latest_jv(call.at);
        let points: usize = jv.scans.iter().map(|s| s.data.len()).sum();
        estimate = estimate.saturating_add(points.saturating_mul(BYTES_PER_POINT));
        if estimate > sim.reply_budget {
            return Err(Failure::invalid(format!(
                "Invalid parameters: the latest JV data of {} channels is over the reply limit of {} bytes: ask for fewer channels",
                picked.len(),
                sim.reply_budget
            )));
        }
        objects.push(jv);
    }
    Ok(json!({ "channels": to_json(&objects)? }))
}

/// A generous size of one `[V, J]` point in a reply, for the reply limit.
const BYTES_PER_POINT: usize = 48;

/// `GetIV`: `{schema: [{Voltage, V}, {Current, A}], data: [[V, I] per channel], timestamp}`
/// (NaN for a channel that is not running).
pub(crate) fn get_iv(sim: &mut MultichannelInstrument, call: &Call<'_>) -> Outcome {
    let picked = call.channels(sim.channels.len())?;
    let reading = IvReading {
        schema: vec![
            DataColumn::new("Voltage", "V"),
            DataColumn::new("Current", "A"),
        ],
        data: picked
            .iter()
            .map(|&i| {
                let (v, a) = sim.channels[i].live_iv(call.at);
                vec![v, a]
            })
            .collect(),
        timestamp: iso8601(call.at.unix),
        extra: Map::new(),
    };
    to_json(&reading)
}
