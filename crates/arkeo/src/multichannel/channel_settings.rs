//! A channel's settings object (API v0.5.0), keys as the vendor spells them:
//!
//! ```text
//! { "Enable", "User", "Device", "Note",
//!   "Channel":  {"VoltageLimit": "10 V", "CurrentLimit": range index, "Inverted"},
//!   "JV":       {"Vmin (V)", "Vmax (V)", "Step (mV)", "ScanRate (mV/s)", "VocDetect",
//!                "Overvoltage (%)", "ScanOrder"},
//!   "Tracking": {"TrackEnable", "Algorithm", "SaveInterval (s)",
//!                "jvInterval": {"Value", "Unit"}, "TestDuration": {"Value", "Unit"}},
//!   "Cell":     {"Type", "Area (cm2)", "NrCells"},
//!   "Day-Night": {"Use Global", "Settings": {enable, sensor, threshold_value,
//!                 threshold_duration, night_algorithm, night_jv}},
//!   "Light":    {"Irradiance", "Unit"} }
//! ```
//!
//! Every field is optional: the same types build a partial `SetChannelSettings` (missing
//! fields stay as they are on the instrument) and read the full object `GetChannelSettings`
//! returns. Keys this library does not know are kept in `extra` (newer software adds some,
//! such as "JV Timing", and drops others, such as "Perturbation (V)").

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::DayNightSettings;
use crate::{ProtocolError, Reply};

/// The values of `JV.ScanOrder`.
pub mod scan_order {
    /// Forward, then reverse.
    pub const FW_THEN_RV: &str = "FW then RV";
    /// Reverse, then forward.
    pub const RV_THEN_FW: &str = "RV then FW";
    /// Forward only.
    pub const FORWARD_ONLY: &str = "Forward only";
    /// Reverse only.
    pub const REVERSE_ONLY: &str = "Reverse only";
    /// Every documented order.
    pub const ALL: [&str; 4] = [FW_THEN_RV, RV_THEN_FW, FORWARD_ONLY, REVERSE_ONLY];
}

/// The values of `Tracking.Algorithm` (and of the day-night `night_algorithm`).
pub mod algorithm {
    /// Maximum power point tracking.
    pub const MPPT: &str = "MPPT";
    /// Held at open circuit.
    pub const OPEN_CIRCUIT: &str = "Open circuit";
    /// Held at short circuit.
    pub const SHORT_CIRCUIT: &str = "Short circuit";
    /// Held at a fixed voltage.
    pub const FIXED_VOLTAGE: &str = "Fixed Voltage";
    /// Held at a fixed current.
    pub const FIXED_CURRENT: &str = "Fixed Current";
    /// Constant output.
    pub const CONSTANT_OUTPUT: &str = "ConstantOutput";
    /// Every documented algorithm.
    pub const ALL: [&str; 6] = [
        MPPT,
        OPEN_CIRCUIT,
        SHORT_CIRCUIT,
        FIXED_VOLTAGE,
        FIXED_CURRENT,
        CONSTANT_OUTPUT,
    ];
}

/// The values of `Cell.Type`.
pub mod cell_type {
    /// A single cell.
    pub const CELL: &str = "Cell";
    /// Cells in parallel.
    pub const PARALLEL_MODULE: &str = "Parallel Module";
    /// Cells in series (Z interconnection).
    pub const Z_MODULE: &str = "Z Module";
    /// Cells in series (W interconnection).
    pub const W_MODULE: &str = "W Module";
    /// Every documented type.
    pub const ALL: [&str; 4] = [CELL, PARALLEL_MODULE, Z_MODULE, W_MODULE];
}

/// A channel's settings (API v0.5.0), keys as the vendor spells them:
///
/// ```text
/// { "Enable", "User", "Device", "Note",
///   "Channel":  {"VoltageLimit": "10 V", "CurrentLimit": range index, "Inverted"},
///   "JV":       {"Vmin (V)", "Vmax (V)", "Step (mV)", "ScanRate (mV/s)", "VocDetect",
///                "Overvoltage (%)", "ScanOrder"},
///   "Tracking": {"TrackEnable", "Algorithm", "SaveInterval (s)",
///                "jvInterval": {"Value", "Unit"}, "TestDuration": {"Value", "Unit"}},
///   "Cell":     {"Type", "Area (cm2)", "NrCells"},
///   "Day-Night": {"Use Global", "Settings": {enable, sensor, threshold_value,
///                 threshold_duration, night_algorithm, night_jv}},
///   "Light":    {"Irradiance", "Unit"} }
/// ```
///
/// Every field is optional: the same type builds a partial `SetChannelSettings` (missing
/// fields stay as they are on the instrument) and reads the full object
/// `GetChannelSettings` returns. Unknown keys are kept in `extra`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ChannelSettings {
    /// `"Enable"`: the channel takes part in measurements.
    #[serde(rename = "Enable", default, skip_serializing_if = "Option::is_none")]
    pub enable: Option<bool>,
    /// `"User"`.
    #[serde(rename = "User", default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// `"Device"`: the sample name.
    #[serde(rename = "Device", default, skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    /// `"Note"`.
    #[serde(rename = "Note", default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// `"Channel"`: the source-measure limits.
    #[serde(rename = "Channel", default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<ChannelLimits>,
    /// `"JV"`: the sweep.
    #[serde(rename = "JV", default, skip_serializing_if = "Option::is_none")]
    pub jv: Option<JvSweep>,
    /// `"Tracking"`: what happens between sweeps.
    #[serde(rename = "Tracking", default, skip_serializing_if = "Option::is_none")]
    pub tracking: Option<Tracking>,
    /// `"Cell"`: the device under test.
    #[serde(rename = "Cell", default, skip_serializing_if = "Option::is_none")]
    pub cell: Option<Cell>,
    /// `"Day-Night"`.
    #[serde(rename = "Day-Night", default, skip_serializing_if = "Option::is_none")]
    pub day_night: Option<ChannelDayNight>,
    /// `"Light"`.
    #[serde(rename = "Light", default, skip_serializing_if = "Option::is_none")]
    pub light: Option<Light>,
    /// Fields this library does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `"Channel"`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ChannelLimits {
    /// `"VoltageLimit"`, e.g. `"10 V"`.
    #[serde(
        rename = "VoltageLimit",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub voltage_limit: Option<String>,
    /// `"CurrentLimit"`: the index of the current range.
    #[serde(
        rename = "CurrentLimit",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub current_limit: Option<i64>,
    /// `"Inverted"`: the polarity is reversed.
    #[serde(rename = "Inverted", default, skip_serializing_if = "Option::is_none")]
    pub inverted: Option<bool>,
    /// Fields this library does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `"JV"`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct JvSweep {
    /// `"Vmin (V)"`.
    #[serde(rename = "Vmin (V)", default, skip_serializing_if = "Option::is_none")]
    pub vmin_v: Option<f64>,
    /// `"Vmax (V)"`.
    #[serde(rename = "Vmax (V)", default, skip_serializing_if = "Option::is_none")]
    pub vmax_v: Option<f64>,
    /// `"Step (mV)"`.
    #[serde(rename = "Step (mV)", default, skip_serializing_if = "Option::is_none")]
    pub step_mv: Option<f64>,
    /// `"ScanRate (mV/s)"`.
    #[serde(
        rename = "ScanRate (mV/s)",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub scan_rate_mv_per_s: Option<f64>,
    /// `"VocDetect"`: end the sweep past Voc instead of at Vmax.
    #[serde(rename = "VocDetect", default, skip_serializing_if = "Option::is_none")]
    pub voc_detect: Option<bool>,
    /// `"Overvoltage (%)"`: how far past Voc with VocDetect.
    #[serde(
        rename = "Overvoltage (%)",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub overvoltage_pct: Option<f64>,
    /// `"ScanOrder"`: one of [`scan_order::ALL`].
    #[serde(rename = "ScanOrder", default, skip_serializing_if = "Option::is_none")]
    pub scan_order: Option<String>,
    /// Fields this library does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `"Tracking"`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Tracking {
    /// `"TrackEnable"`: track between sweeps (without it a channel stops after one JV).
    #[serde(
        rename = "TrackEnable",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub track_enable: Option<bool>,
    /// `"Algorithm"`: one of [`algorithm::ALL`].
    #[serde(rename = "Algorithm", default, skip_serializing_if = "Option::is_none")]
    pub algorithm: Option<String>,
    /// `"SaveInterval (s)"`.
    #[serde(
        rename = "SaveInterval (s)",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub save_interval_s: Option<f64>,
    /// `"jvInterval"`: time between two sweeps.
    #[serde(
        rename = "jvInterval",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub jv_interval: Option<TimeSpan>,
    /// `"TestDuration"`: how long the channel runs.
    #[serde(
        rename = "TestDuration",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub test_duration: Option<TimeSpan>,
    /// Fields this library does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A duration as the settings write it, `{"Value": 10, "Unit": "min"}`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct TimeSpan {
    /// `"Value"`.
    #[serde(rename = "Value", default, skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    /// `"Unit"`: `s`, `min`, `h` or `d` (the simulator also reads their long names).
    #[serde(rename = "Unit", default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// Fields this library does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl TimeSpan {
    /// A span of `value` `unit`s.
    pub fn new(value: f64, unit: &str) -> Self {
        TimeSpan {
            value: Some(value),
            unit: Some(unit.to_string()),
            extra: Map::new(),
        }
    }

    /// Seconds in one `unit`, for the unit names the simulator reads (case-insensitive).
    pub fn unit_seconds(unit: &str) -> Option<f64> {
        Some(match unit.trim().to_ascii_lowercase().as_str() {
            "s" | "sec" | "secs" | "second" | "seconds" => 1.0,
            "min" | "mins" | "minute" | "minutes" => 60.0,
            "h" | "hr" | "hrs" | "hour" | "hours" => 3600.0,
            "d" | "day" | "days" => 86_400.0,
            _ => return None,
        })
    }

    /// The span as a duration, when both fields are set, the unit is known and the value is
    /// a non-negative number that fits.
    pub fn duration(&self) -> Option<Duration> {
        let seconds = self.value? * Self::unit_seconds(self.unit.as_deref()?)?;
        Duration::try_from_secs_f64(seconds).ok()
    }
}

/// `"Cell"`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Cell {
    /// `"Type"`: one of [`cell_type::ALL`].
    #[serde(rename = "Type", default, skip_serializing_if = "Option::is_none")]
    pub cell_type: Option<String>,
    /// `"Area (cm2)"`.
    #[serde(
        rename = "Area (cm2)",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub area_cm2: Option<f64>,
    /// `"NrCells"`: cells in a module.
    #[serde(rename = "NrCells", default, skip_serializing_if = "Option::is_none")]
    pub nr_cells: Option<u32>,
    /// Fields this library does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `"Day-Night"` of one channel.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ChannelDayNight {
    /// `"Use Global"`: follow the instrument's day-night settings instead of `Settings`.
    #[serde(
        rename = "Use Global",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub use_global: Option<bool>,
    /// `"Settings"`: the channel's own day-night settings.
    #[serde(rename = "Settings", default, skip_serializing_if = "Option::is_none")]
    pub settings: Option<DayNightSettings>,
    /// Fields this library does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `"Light"`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Light {
    /// `"Irradiance"`.
    #[serde(
        rename = "Irradiance",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub irradiance: Option<f64>,
    /// `"Unit"`, e.g. `"mW/cm2"`.
    #[serde(rename = "Unit", default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// Fields this library does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ChannelSettings {
    /// Settings that only set `"Enable"`.
    pub fn enabled(enable: bool) -> Self {
        ChannelSettings {
            enable: Some(enable),
            ..ChannelSettings::default()
        }
    }

    /// The JSON object to send with `SetChannelSettings` (only the fields that are set).
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

/// One channel of a `GetChannelSettings` reply: `{"index", "settings": {...}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChannelSettingsEntry {
    /// The channel.
    pub index: u32,
    /// Its whole settings object.
    pub settings: ChannelSettings,
    /// Fields this library does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ChannelSettingsEntry {
    /// Reads every channel of a `GetChannelSettings` reply.
    pub fn from_reply(reply: &Reply) -> Result<Vec<Self>, ProtocolError> {
        reply.field_as("channels", super::command::GET_CHANNEL_SETTINGS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn partial_settings_send_only_what_is_set() {
        let settings = ChannelSettings {
            tracking: Some(Tracking {
                jv_interval: Some(TimeSpan::new(30.0, "s")),
                ..Tracking::default()
            }),
            ..ChannelSettings::enabled(true)
        };
        assert_eq!(
            settings.to_value(),
            json!({"Enable": true, "Tracking": {"jvInterval": {"Value": 30.0, "Unit": "s"}}})
        );
    }

    #[test]
    fn time_spans_convert_known_units_only() {
        let cases = [
            (TimeSpan::new(10.0, "min"), Some(600)),
            (TimeSpan::new(2.0, "Hours"), Some(7200)),
            (TimeSpan::new(1.0, "fortnight"), None),
            (TimeSpan::new(-1.0, "s"), None),
            (TimeSpan::default(), None),
        ];
        for (span, want) in cases {
            assert_eq!(span.duration().map(|d| d.as_secs()), want, "{span:?}");
        }
    }

    #[test]
    fn unknown_keys_survive_a_round_trip() {
        let full = json!({"Enable": false, "JV": {"Vmin (V)": 0, "Perturbation (V)": 0.01},
                          "JV Timing": {"Delay": 5}});
        let typed: ChannelSettings = serde_json::from_value(full).unwrap();
        assert_eq!(typed.jv.as_ref().unwrap().extra["Perturbation (V)"], 0.01);
        assert_eq!(typed.to_value()["JV Timing"]["Delay"], 5);
    }
}
