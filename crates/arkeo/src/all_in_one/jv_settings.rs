//! The JV routines' settings object (`ApplySettings` parameter, `GetSettings` data), keys as
//! the vendor spells them:
//!
//! ```text
//! { "device_type": "NI-SMU",
//!   "device_settings": {"Compliance (A)"},
//!   "scan_settings": {
//!     "scan": {"Start (V)", "End (V)", "Step (V)", "Rate (V/s)", "Order", "Auto Voc",
//!              "Exceed Voc (%)"},
//!     "precondition": {"Condition", "Value", "Hold Time (s)", "Hold Voltage (V)"},
//!     "device": {"Area (cm2)", "Inverted"},
//!     "light": {"Source", "Irradiance (mW/cm2)", "Level (%)"},
//!     "light_config": {"LED Level"} },
//!   "sweep_settings": [] }
//! ```
//!
//! Every field is optional, so the same types build a partial `ApplySettings` (only what is
//! set is sent) and read a full `GetSettings`. Unknown keys are kept in `extra`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The values of `"Order"` the simulator accepts (the vendor shows "Forward then Reverse").
pub mod order {
    /// Forward, then reverse.
    pub const FORWARD_THEN_REVERSE: &str = "Forward then Reverse";
    /// Reverse, then forward.
    pub const REVERSE_THEN_FORWARD: &str = "Reverse then Forward";
    /// Forward only.
    pub const FORWARD: &str = "Forward";
    /// Reverse only.
    pub const REVERSE: &str = "Reverse";
    /// Every accepted order.
    pub const ALL: [&str; 4] = [FORWARD_THEN_REVERSE, REVERSE_THEN_FORWARD, FORWARD, REVERSE];
}

/// The settings of the JV and Dark JV routines.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct JvSettings {
    /// The source-measure unit, e.g. `"NI-SMU"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_type: Option<String>,
    /// The SMU's own settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_settings: Option<DeviceSettings>,
    /// The sweep, preconditioning, sample and light.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scan_settings: Option<ScanSettings>,
    /// Additional sweeps, as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sweep_settings: Option<Vec<Value>>,
    /// Fields this library does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `device_settings`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct DeviceSettings {
    /// `"Compliance (A)"`: the current limit.
    #[serde(
        rename = "Compliance (A)",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub compliance_a: Option<f64>,
    /// Fields this library does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `scan_settings`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ScanSettings {
    /// `scan`: the voltage sweep.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scan: Option<SweepSettings>,
    /// `precondition`: what happens before the sweep.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub precondition: Option<Precondition>,
    /// `device`: the sample.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<SampleSettings>,
    /// `light`: the light source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub light: Option<LightSource>,
    /// `light_config`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub light_config: Option<LightConfig>,
    /// Fields this library does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `scan_settings.scan`: the voltage sweep.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SweepSettings {
    /// `"Start (V)"`.
    #[serde(rename = "Start (V)", default, skip_serializing_if = "Option::is_none")]
    pub start_v: Option<f64>,
    /// `"End (V)"`.
    #[serde(rename = "End (V)", default, skip_serializing_if = "Option::is_none")]
    pub end_v: Option<f64>,
    /// `"Step (V)"`.
    #[serde(rename = "Step (V)", default, skip_serializing_if = "Option::is_none")]
    pub step_v: Option<f64>,
    /// `"Rate (V/s)"`.
    #[serde(
        rename = "Rate (V/s)",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub rate_v_per_s: Option<f64>,
    /// `"Order"`: one of [`order::ALL`].
    #[serde(rename = "Order", default, skip_serializing_if = "Option::is_none")]
    pub order: Option<String>,
    /// `"Auto Voc"`: end the sweep past Voc instead of at End.
    #[serde(rename = "Auto Voc", default, skip_serializing_if = "Option::is_none")]
    pub auto_voc: Option<bool>,
    /// `"Exceed Voc (%)"`: how far past Voc with Auto Voc.
    #[serde(
        rename = "Exceed Voc (%)",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub exceed_voc_pct: Option<f64>,
    /// Fields this library does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `scan_settings.precondition`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Precondition {
    /// `"Condition"`.
    #[serde(rename = "Condition", default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    /// `"Value"`.
    #[serde(rename = "Value", default, skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    /// `"Hold Time (s)"`.
    #[serde(
        rename = "Hold Time (s)",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub hold_time_s: Option<f64>,
    /// `"Hold Voltage (V)"`.
    #[serde(
        rename = "Hold Voltage (V)",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub hold_voltage_v: Option<f64>,
    /// Fields this library does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `scan_settings.device`: the sample.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SampleSettings {
    /// `"Area (cm2)"`.
    #[serde(
        rename = "Area (cm2)",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub area_cm2: Option<f64>,
    /// `"Inverted"`: the polarity is reversed.
    #[serde(rename = "Inverted", default, skip_serializing_if = "Option::is_none")]
    pub inverted: Option<bool>,
    /// Fields this library does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `scan_settings.light`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct LightSource {
    /// `"Source"`.
    #[serde(rename = "Source", default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// `"Irradiance (mW/cm2)"`.
    #[serde(
        rename = "Irradiance (mW/cm2)",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub irradiance_mw_cm2: Option<f64>,
    /// `"Level (%)"`.
    #[serde(rename = "Level (%)", default, skip_serializing_if = "Option::is_none")]
    pub level_pct: Option<f64>,
    /// Fields this library does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `scan_settings.light_config`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct LightConfig {
    /// `"LED Level"`.
    #[serde(rename = "LED Level", default, skip_serializing_if = "Option::is_none")]
    pub led_level: Option<f64>,
    /// Fields this library does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl JvSettings {
    /// A partial settings object that changes only the sweep range and step.
    pub fn sweep(start_v: f64, end_v: f64, step_v: f64) -> Self {
        JvSettings {
            scan_settings: Some(ScanSettings {
                scan: Some(SweepSettings {
                    start_v: Some(start_v),
                    end_v: Some(end_v),
                    step_v: Some(step_v),
                    ..SweepSettings::default()
                }),
                ..ScanSettings::default()
            }),
            ..JvSettings::default()
        }
    }

    /// The JSON object to send with `ApplySettings` (only the fields that are set).
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn partial_settings_send_only_what_is_set() {
        assert_eq!(
            JvSettings::sweep(0.0, 1.2, 0.01).to_value(),
            json!({"scan_settings": {"scan": {"Start (V)": 0.0, "End (V)": 1.2, "Step (V)": 0.01}}})
        );
    }

    #[test]
    fn full_settings_round_trip_with_unknown_keys() {
        let full = json!({
            "device_type": "NI-SMU", "device_settings": {"Compliance (A)": 0.1},
            "scan_settings": {
                "scan": {"Start (V)": -0.1, "End (V)": 1.2, "Step (V)": 0.02, "Rate (V/s)": 0.2,
                         "Order": "Forward then Reverse", "Auto Voc": false, "Exceed Voc (%)": 10},
                "precondition": {"Condition": "None", "Value": 0, "Hold Time (s)": 0, "Hold Voltage (V)": 0},
                "device": {"Area (cm2)": 0.1, "Inverted": false},
                "light": {"Source": "LED", "Irradiance (mW/cm2)": 100, "Level (%)": 100},
                "light_config": {"LED Level": 100, "Spectrum": "AM1.5G"}
            },
            "sweep_settings": [],
            "JV Timing": {"Delay (ms)": 10}
        });
        let typed: JvSettings = serde_json::from_value(full.clone()).unwrap();
        let scan = typed.scan_settings.as_ref().unwrap().scan.as_ref().unwrap();
        assert_eq!(scan.order.as_deref(), Some(order::FORWARD_THEN_REVERSE));
        assert!(typed.extra.contains_key("JV Timing"));
        let back = typed.to_value();
        assert_eq!(back["scan_settings"]["light_config"]["Spectrum"], "AM1.5G");
        assert_eq!(back["device_settings"]["Compliance (A)"], 0.1);
    }
}
