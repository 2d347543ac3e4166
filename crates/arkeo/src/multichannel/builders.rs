//! A request builder for every Multichannel command.

use serde_json::{Value, json};

use super::command;
use super::settings_encoding::{SettingsEncoding, settings_parameter};
use crate::Request;

fn on(name: &str, indices: &[u32]) -> Request {
    Request::command(name).indices(indices.iter().copied())
}

/// `SetChannelSettings {settings}` on these channels; partial settings change only their
/// keys (build them with [`ChannelSettings`](super::ChannelSettings)).
pub fn set_channel_settings(
    indices: &[u32],
    settings: &Value,
    encoding: SettingsEncoding,
) -> Request {
    on(command::SET_CHANNEL_SETTINGS, indices).parameter(settings_parameter(settings, encoding))
}

/// `GetChannelSettings`: the whole settings object of each channel
/// ([`ChannelSettingsEntry`](super::ChannelSettingsEntry)).
pub fn get_channel_settings(indices: &[u32]) -> Request {
    on(command::GET_CHANNEL_SETTINGS, indices)
}

/// `StartMeasurement` (no indices: every channel that is ready to start starts; 5005 when
/// a measurement is already running, 5006 when no channel is enabled).
pub fn start_measurement() -> Request {
    Request::command(command::START_MEASUREMENT)
}

/// `StopChannel` ([`ChannelTransition`](super::ChannelTransition) per channel, result
/// "stopped" or "ignored").
pub fn stop_channel(indices: &[u32]) -> Request {
    on(command::STOP_CHANNEL, indices)
}

/// `ForceJV`: a JV sweep now on tracking channels ([`ForceJvResult`](super::ForceJvResult)).
pub fn force_jv(indices: &[u32]) -> Request {
    on(command::FORCE_JV, indices)
}

/// `GetChannelState`: read the reply with [`ChannelState::from_reply`](super::ChannelState::from_reply).
pub fn get_channel_state(indices: &[u32]) -> Request {
    on(command::GET_CHANNEL_STATE, indices)
}

/// `GetLatestJV`: one JV object per channel ([`latest_jv`](super::latest_jv)).
pub fn get_latest_jv(indices: &[u32]) -> Request {
    on(command::GET_LATEST_JV, indices)
}

/// `GetIV`: live IV points (`schema`, `data`, `timestamp` at the top level;
/// [`IvReading`](super::IvReading)).
pub fn get_iv(indices: &[u32]) -> Request {
    on(command::GET_IV, indices)
}

/// `SetDeviceEnvironment {environment}` (5002 for an unknown environment).
pub fn set_device_environment(indices: &[u32], environment: &str) -> Request {
    on(command::SET_DEVICE_ENVIRONMENT, indices).parameter(json!({ "environment": environment }))
}

/// `GetSensorsInfo` ([`SensorInfo`](super::SensorInfo)).
pub fn get_sensors_info() -> Request {
    Request::command(command::GET_SENSORS_INFO)
}

/// `GetSensorsData` ([`SensorsData`](super::SensorsData)).
pub fn get_sensors_data() -> Request {
    Request::command(command::GET_SENSORS_DATA)
}

/// `GetEnvironments` ([`Environment`](super::Environment)).
pub fn get_environments() -> Request {
    Request::command(command::GET_ENVIRONMENTS)
}

/// `GetGlobalDayNight` ([`DayNight`](super::DayNight)).
pub fn get_global_day_night() -> Request {
    Request::command(command::GET_GLOBAL_DAY_NIGHT)
}

/// `SetGlobalDayNight {settings}` (the six keys of
/// [`DayNightSettings`](super::DayNightSettings); partial settings allowed).
pub fn set_global_day_night(settings: &Value, encoding: SettingsEncoding) -> Request {
    Request::command(command::SET_GLOBAL_DAY_NIGHT)
        .parameter(settings_parameter(settings, encoding))
}
