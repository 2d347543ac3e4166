//! Typed helpers for the Multichannel API: device, sensor, environment and day-night
//! commands, and the channel state reply.
//!
//! As for the All-in-One helpers, each builder returns a plain [`Request`]; any command
//! is also one `Request::command(name)` away.

use serde_json::{Value, json};

use crate::{ProtocolError, Reply, Request};

/// How a settings object travels: the vendor's pages disagree (an object on some, a
/// JSON-encoded string on others), and the instrument accepts what its version expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SettingsEncoding {
    /// `"settings": {...}` (the default).
    #[default]
    Object,
    /// `"settings": "{...}"`, the object serialized into a string.
    String,
}

fn settings_parameter(settings: &Value, encoding: SettingsEncoding) -> Value {
    match encoding {
        SettingsEncoding::Object => json!({ "settings": settings }),
        SettingsEncoding::String => json!({ "settings": settings.to_string() }),
    }
}

/// Reads a settings value sent either way: an object, or a string holding JSON.
pub fn settings_value(value: &Value) -> Option<Value> {
    match value {
        Value::String(s) => serde_json::from_str(s).ok(),
        Value::Object(_) => Some(value.clone()),
        _ => None,
    }
}

/// `SetChannelSettings {settings}` on these channels; partial settings are allowed.
pub fn set_channel_settings(
    indices: &[u32],
    settings: &Value,
    encoding: SettingsEncoding,
) -> Request {
    Request::command("SetChannelSettings")
        .indices(indices.iter().copied())
        .parameter(settings_parameter(settings, encoding))
}

/// `GetChannelSettings`.
pub fn get_channel_settings(indices: &[u32]) -> Request {
    Request::command("GetChannelSettings").indices(indices.iter().copied())
}

/// `StartMeasurement` (no indices: every enabled channel starts; 5005 when already
/// running, 5006 when no channel is enabled).
pub fn start_measurement() -> Request {
    Request::command("StartMeasurement")
}

/// `StopChannel`.
pub fn stop_channel(indices: &[u32]) -> Request {
    Request::command("StopChannel").indices(indices.iter().copied())
}

/// `ForceJV`: a JV sweep now on running channels.
pub fn force_jv(indices: &[u32]) -> Request {
    Request::command("ForceJV").indices(indices.iter().copied())
}

/// `GetChannelState`: read the reply with [`ChannelState::from_reply`].
pub fn get_channel_state(indices: &[u32]) -> Request {
    Request::command("GetChannelState").indices(indices.iter().copied())
}

/// `GetLatestJV`.
pub fn get_latest_jv(indices: &[u32]) -> Request {
    Request::command("GetLatestJV").indices(indices.iter().copied())
}

/// `GetIV`: live IV points (`schema`, `data`, `timestamp` at the top level).
pub fn get_iv(indices: &[u32]) -> Request {
    Request::command("GetIV").indices(indices.iter().copied())
}

/// `SetDeviceEnvironment {environment}` (5002 for an unknown environment).
pub fn set_device_environment(indices: &[u32], environment: &str) -> Request {
    Request::command("SetDeviceEnvironment")
        .indices(indices.iter().copied())
        .parameter(json!({ "environment": environment }))
}

/// `GetSensorsInfo`.
pub fn get_sensors_info() -> Request {
    Request::command("GetSensorsInfo")
}

/// `GetSensorsData`.
pub fn get_sensors_data() -> Request {
    Request::command("GetSensorsData")
}

/// `GetEnvironments`.
pub fn get_environments() -> Request {
    Request::command("GetEnvironments")
}

/// `GetGlobalDayNight`.
pub fn get_global_day_night() -> Request {
    Request::command("GetGlobalDayNight")
}

/// `SetGlobalDayNight {settings}`.
pub fn set_global_day_night(settings: &Value, encoding: SettingsEncoding) -> Request {
    Request::command("SetGlobalDayNight").parameter(settings_parameter(settings, encoding))
}

/// A channel's state (`idle`, `ready to start`, `running`, `stopped`, `error`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChannelStatus {
    /// Not measuring, not armed.
    Idle,
    /// Enabled and waiting for StartMeasurement.
    ReadyToStart,
    /// Measuring.
    Running,
    /// Stopped by StopChannel.
    Stopped,
    /// In error.
    Error,
    /// A state this library does not know, as sent.
    Other(String),
}

impl ChannelStatus {
    /// Reads a state name (case-insensitively; `ready_to_start` is accepted too).
    pub fn parse(name: &str) -> Self {
        match name.to_ascii_lowercase().replace('_', " ").as_str() {
            "idle" => ChannelStatus::Idle,
            "ready to start" => ChannelStatus::ReadyToStart,
            "running" => ChannelStatus::Running,
            "stopped" => ChannelStatus::Stopped,
            "error" => ChannelStatus::Error,
            _ => ChannelStatus::Other(name.to_string()),
        }
    }
}

/// One channel of a `GetChannelState` reply.
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelState {
    /// The channel number.
    pub index: u32,
    /// `enable`.
    pub enabled: bool,
    /// `state`.
    pub state: ChannelStatus,
    /// `measurement` (`jv` or `tracking`), when sent.
    pub measurement: Option<String>,
    /// The whole channel object, unknown fields included.
    pub raw: Value,
}

impl ChannelState {
    /// Reads every channel of a `GetChannelState` reply.
    pub fn from_reply(reply: &Reply) -> Result<Vec<Self>, ProtocolError> {
        let shape = |detail: String| ProtocolError::UnexpectedShape {
            command: "GetChannelState".into(),
            detail,
        };
        let channels = reply
            .get("channels")
            .and_then(Value::as_array)
            .ok_or_else(|| shape("no channels array".into()))?;
        channels
            .iter()
            .enumerate()
            .map(|(n, c)| {
                let index = c
                    .get("index")
                    .and_then(Value::as_u64)
                    .and_then(|i| u32::try_from(i).ok())
                    .ok_or_else(|| shape(format!("channel #{n} has no index")))?;
                let state = c
                    .get("state")
                    .and_then(Value::as_str)
                    .ok_or_else(|| shape(format!("channel {index} has no state")))?;
                Ok(ChannelState {
                    index,
                    enabled: c
                        .get("enable")
                        .or_else(|| c.get("enabled"))
                        .and_then(Value::as_bool)
                        .unwrap_or(false),
                    state: ChannelStatus::parse(state),
                    measurement: c
                        .get("measurement")
                        .and_then(Value::as_str)
                        .map(String::from),
                    raw: c.clone(),
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Dialect;

    #[test]
    fn settings_travel_as_object_or_string() {
        let settings = json!({"enable": true});
        let object = set_channel_settings(&[0, 1], &settings, SettingsEncoding::Object);
        assert_eq!(
            object.encode(Dialect::Multichannel, None).unwrap(),
            json!({"command":"SetChannelSettings","indices":[0,1],"parameter":{"settings":{"enable":true}}})
        );
        let string = set_channel_settings(&[0], &settings, SettingsEncoding::String);
        let sent = string.encode(Dialect::Multichannel, None).unwrap();
        assert_eq!(sent["parameter"]["settings"], "{\"enable\":true}");
        assert_eq!(
            settings_value(&sent["parameter"]["settings"]),
            Some(settings)
        );
    }

    #[test]
    fn channel_states_are_read_from_the_reply() {
        let reply = crate::reply::classify(
            br#"{"status":"ok","channels":[{"index":0,"enable":true,"state":"ready to start","measurement":"jv"},{"index":3,"enable":false,"state":"Idle"}]}"#,
            Dialect::Multichannel,
            None,
        )
        .unwrap();
        let states = ChannelState::from_reply(&reply).unwrap();
        assert_eq!(states[0].state, ChannelStatus::ReadyToStart);
        assert!(states[0].enabled);
        assert_eq!(states[1].index, 3);
        assert_eq!(states[1].state, ChannelStatus::Idle);
    }
}
