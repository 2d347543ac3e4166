//! The simulated Multichannel instrument: source-measure channels, sensors, environments,
//! day-night.
//!
//! Sans-IO: [`MultichannelInstrument::handle`] takes the command, the indices, the
//! parameter and the instrument's clock, and returns the reply object. Each documented
//! command has its own handler, found in [`ROUTES`] by the constants of
//! [`crate::multichannel::command`] the request builders send.
//!
//! Indices are required by every channel command and refused by the others; each channel
//! at most once, each within the instrument.

mod channel;
mod channel_commands;
mod channel_settings;
mod day_night;
mod indices;
mod sensors;

use serde_json::{Map, Value, json};

pub use sensors::ENVIRONMENTS;

pub(crate) use indices::IndicesField;

use super::clock::Moment;
use super::outcome::{Failure, Outcome, did_you_mean};
use super::params::short;
use crate::ErrorCode;
use crate::multichannel::command;
use channel::Channel;
use day_night::DayNightCycle;

/// One request, as a handler sees it.
pub(crate) struct Call<'a> {
    pub(crate) parameter: Option<&'a Value>,
    pub(crate) indices: Option<&'a IndicesField>,
    pub(crate) at: Moment,
}

impl Call<'_> {
    /// The listed channels (required).
    pub(crate) fn channels(&self, count: usize) -> Result<Vec<usize>, Failure> {
        match self.indices {
            Some(indices) if !indices.is_null() => indices.channels(count),
            _ => Err(Failure::invalid(
                "Invalid parameters: indices required (the channels to act on)",
            )),
        }
    }

    /// Refuses indices on a command that does not act on channels.
    pub(crate) fn no_indices(&self) -> Result<(), Failure> {
        match self.indices {
            Some(indices) if !indices.is_null() => Err(Failure::invalid(
                "Invalid parameters: this command takes no indices",
            )),
            _ => Ok(()),
        }
    }

    /// The parameter (required).
    pub(crate) fn required_parameter(&self) -> Result<&Value, Failure> {
        self.parameter
            .ok_or_else(|| Failure::invalid("Invalid parameters: parameter required"))
    }
}

/// `parameter.settings`: an object, or a string holding one (5001 when it is not JSON).
pub(crate) fn settings_object(parameter: &Value) -> Result<Map<String, Value>, Failure> {
    match parameter.get("settings") {
        Some(Value::Object(m)) => Ok(m.clone()),
        Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
            Ok(Value::Object(m)) => Ok(m),
            Ok(_) => Err(Failure::invalid(
                "Invalid parameters: settings must be an object",
            )),
            Err(e) => Err(Failure::new(
                ErrorCode::INVALID_JSON,
                format!("Invalid JSON in settings: {e}"),
            )),
        },
        Some(_) => Err(Failure::invalid(
            "Invalid parameters: settings must be an object (or its JSON text)",
        )),
        None => Err(Failure::invalid(
            "Invalid parameters: parameter.settings required",
        )),
    }
}

/// A command handler.
pub(crate) type Handler = fn(&mut MultichannelInstrument, &Call<'_>) -> Outcome;

/// Every documented command and its handler.
pub(crate) const ROUTES: &[(&str, Handler)] = &[
    (
        command::SET_CHANNEL_SETTINGS,
        channel_commands::set_channel_settings,
    ),
    (
        command::GET_CHANNEL_SETTINGS,
        channel_commands::get_channel_settings,
    ),
    (
        command::START_MEASUREMENT,
        channel_commands::start_measurement,
    ),
    (command::STOP_CHANNEL, channel_commands::stop_channel),
    (command::FORCE_JV, channel_commands::force_jv),
    (
        command::GET_CHANNEL_STATE,
        channel_commands::get_channel_state,
    ),
    (command::GET_LATEST_JV, channel_commands::get_latest_jv),
    (command::GET_IV, channel_commands::get_iv),
    (
        command::SET_DEVICE_ENVIRONMENT,
        sensors::set_device_environment,
    ),
    (command::GET_SENSORS_INFO, sensors::get_sensors_info),
    (command::GET_SENSORS_DATA, sensors::get_sensors_data),
    (command::GET_ENVIRONMENTS, sensors::get_environments),
    (
        command::GET_GLOBAL_DAY_NIGHT,
        day_night::get_global_day_night,
    ),
    (
        command::SET_GLOBAL_DAY_NIGHT,
        day_night::set_global_day_night,
    ),
];

/// The simulated Multichannel instrument. One per simulator, shared by its connections.
#[derive(Debug, Clone)]
pub struct MultichannelInstrument {
    pub(crate) channels: Vec<Channel>,
    pub(crate) day_night: DayNightCycle,
    /// The largest reply, in bytes: GetLatestJV stops gathering JV objects past it.
    pub(crate) reply_budget: usize,
}

impl MultichannelInstrument {
    /// An instrument with `channels` idle channels (1 to 64).
    pub fn new(channels: usize) -> Self {
        let count = channels.clamp(1, super::limits::MAX_CHANNELS);
        MultichannelInstrument {
            channels: (0..count)
                .map(|i| Channel::new(i, ENVIRONMENTS[0]))
                .collect(),
            day_night: DayNightCycle::new(),
            reply_budget: super::limits::MAX_REPLY,
        }
    }

    /// Answers one request.
    pub(crate) fn handle(
        &mut self,
        command: &str,
        indices: Option<&IndicesField>,
        parameter: Option<&Value>,
        at: Moment,
    ) -> Value {
        for channel in &mut self.channels {
            channel.settle(at);
        }
        let call = Call {
            parameter,
            indices,
            at,
        };
        let outcome = match ROUTES.iter().find(|(name, _)| *name == command) {
            Some((_, handler)) => handler(self, &call),
            None => Err(Failure::invalid(format!(
                "Not a valid command: {}{}",
                short(command),
                did_you_mean(command, &command::ALL)
            ))),
        };
        match outcome {
            Ok(Value::Object(mut payload)) => {
                let mut reply = Map::new();
                reply.insert("status".into(), "ok".into());
                reply.append(&mut payload);
                Value::Object(reply)
            }
            Ok(other) => json!({ "status": "ok", "result": other }),
            Err(f) => error_reply(f.code, &f.message),
        }
    }
}

/// An error reply in the Multichannel style.
pub(crate) fn error_reply(code: ErrorCode, message: &str) -> Value {
    json!({ "status": "error", "error": { "code": code.0, "message": message } })
}
