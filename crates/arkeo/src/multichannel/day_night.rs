//! Day-night cycling: the global status and settings (`GetGlobalDayNight`,
//! `SetGlobalDayNight`), whose six settings keys a channel's `"Day-Night"` reuses.
//!
//! ```text
//! {"day_night": {"status": {"isDay", "DelayTimer", "Elapsed Time (s)", "Sensor Value"},
//!                "settings": {"enable", "sensor", "threshold_value", "threshold_duration",
//!                             "night_algorithm", "night_jv"}}}
//! ```

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::{ProtocolError, Reply};

/// The day-night settings (global, or a channel's own). Every field is optional so a
/// partial update sends only what is set.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct DayNightSettings {
    /// `enable`: switch to the night algorithm when the sensor reads below the threshold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable: Option<bool>,
    /// `sensor`: the channel of the sensor that decides (an irradiance sensor).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sensor: Option<u32>,
    /// `threshold_value`, in the sensor's unit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold_value: Option<f64>,
    /// `threshold_duration`, in seconds the reading must stay across the threshold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold_duration: Option<f64>,
    /// `night_algorithm`: one of [`algorithm::ALL`](super::algorithm::ALL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub night_algorithm: Option<String>,
    /// `night_jv`: sweep at night too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub night_jv: Option<bool>,
    /// Fields this library does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl DayNightSettings {
    /// The JSON object to send with `SetGlobalDayNight` (only the fields that are set).
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

/// The day-night status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DayNightStatus {
    /// `isDay`.
    #[serde(rename = "isDay")]
    pub is_day: bool,
    /// `DelayTimer`: seconds the reading has been across the threshold.
    #[serde(rename = "DelayTimer", with = "crate::float::lenient", default)]
    pub delay_timer: f64,
    /// `"Elapsed Time (s)"`: seconds since the last switch.
    #[serde(rename = "Elapsed Time (s)", with = "crate::float::lenient", default)]
    pub elapsed_s: f64,
    /// `"Sensor Value"`: the deciding sensor's reading.
    #[serde(rename = "Sensor Value", with = "crate::float::lenient", default)]
    pub sensor_value: f64,
    /// Fields this library does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The `day_night` object of `GetGlobalDayNight` (and of the simulator's
/// `SetGlobalDayNight` reply).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DayNight {
    /// Where the cycle is.
    pub status: DayNightStatus,
    /// The global settings.
    pub settings: DayNightSettings,
    /// Fields this library does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl DayNight {
    /// Reads a `GetGlobalDayNight` reply.
    pub fn from_reply(reply: &Reply) -> Result<Self, ProtocolError> {
        reply.field_as("day_night", super::command::GET_GLOBAL_DAY_NIGHT)
    }
}
