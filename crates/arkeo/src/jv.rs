//! JV data as both APIs report it: the All-in-One JV routine's `GetTestData`, and each
//! channel's object in the Multichannel `GetLatestJV` reply.
//!
//! ```text
//! { "user", "device", "area_cm2", "temperature", "acquisition_time": ISO-8601,
//!   "scans": [ { "name": "forward" | "reverse", "sweep_indices": [...],
//!                "data_schema": [ {"name": "Voltage", "unit": "V"},
//!                                 {"name": "Current", "unit": "mA/cm^2"} ],
//!                "data": [[V, J], ...],
//!                "parameters": { "voc": {"value", "unit"}, "jsc", "v_mpp", "j_mpp", "p_mpp",
//!                                "r_series", "r_shunt", "fill factor", "efficiency" } } ] }
//! ```
//!
//! Every struct keeps the fields it does not know in `extra`, and every float accepts the
//! `NaN`/`Infinity` the instrument writes (see [`float`](crate::float)).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A value with its unit, `{"value": 1.08, "unit": "V"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Quantity {
    /// The number (NaN when the instrument could not derive it).
    #[serde(with = "crate::float::lenient")]
    pub value: f64,
    /// The unit as sent ("V", "mA/cm^2", "%"...).
    #[serde(default)]
    pub unit: String,
    /// Fields this library does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Quantity {
    /// A quantity without extra fields.
    pub fn new(value: f64, unit: impl Into<String>) -> Self {
        Quantity {
            value,
            unit: unit.into(),
            extra: Map::new(),
        }
    }
}

/// A column of a data table, `{"name": "Voltage", "unit": "V"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataColumn {
    /// The column name.
    pub name: String,
    /// Its unit.
    #[serde(default)]
    pub unit: String,
    /// Fields this library does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl DataColumn {
    /// A column without extra fields.
    pub fn new(name: impl Into<String>, unit: impl Into<String>) -> Self {
        DataColumn {
            name: name.into(),
            unit: unit.into(),
            extra: Map::new(),
        }
    }
}

/// The parameters derived from one scan. Each is optional: a dark or partial scan may lack
/// some, and a newer instrument may add others (kept in `extra`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct JvParameters {
    /// Open-circuit voltage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voc: Option<Quantity>,
    /// Short-circuit current density.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jsc: Option<Quantity>,
    /// Voltage at the maximum power point.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub v_mpp: Option<Quantity>,
    /// Current density at the maximum power point.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub j_mpp: Option<Quantity>,
    /// Power density at the maximum power point.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p_mpp: Option<Quantity>,
    /// Series resistance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub r_series: Option<Quantity>,
    /// Shunt resistance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub r_shunt: Option<Quantity>,
    /// `"fill factor"`.
    #[serde(
        rename = "fill factor",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub fill_factor: Option<Quantity>,
    /// Power conversion efficiency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub efficiency: Option<Quantity>,
    /// Fields this library does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One scan (sweep direction) of a JV measurement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JvScan {
    /// `"forward"` or `"reverse"`.
    pub name: String,
    /// The sweeps this scan belongs to.
    #[serde(default)]
    pub sweep_indices: Vec<u32>,
    /// The columns of `data` (Voltage in V, Current in mA/cm^2).
    #[serde(default)]
    pub data_schema: Vec<DataColumn>,
    /// One row per point, in `data_schema` order.
    #[serde(with = "crate::float::rows", default)]
    pub data: Vec<Vec<f64>>,
    /// What the instrument derived from the scan.
    #[serde(default)]
    pub parameters: JvParameters,
    /// Fields this library does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl JvScan {
    /// The position of the column `name` (compared case-insensitively) in `data_schema`.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.data_schema
            .iter()
            .position(|c| c.name.eq_ignore_ascii_case(name))
    }

    /// The (voltage, current) points, read through `data_schema` (the first two columns
    /// when it names neither). Rows too short are skipped.
    pub fn points(&self) -> Vec<(f64, f64)> {
        let v = self.column("Voltage").unwrap_or(0);
        let j = self.column("Current").unwrap_or(1);
        self.data
            .iter()
            .filter_map(|row| Some((*row.get(v)?, *row.get(j)?)))
            .collect()
    }
}

/// A JV measurement: the All-in-One JV routine's data, or a Multichannel channel's latest JV
/// object.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct JvData {
    /// The user name recorded with the measurement.
    #[serde(default)]
    pub user: String,
    /// The device (sample) name.
    #[serde(default)]
    pub device: String,
    /// The active area in cm².
    #[serde(with = "crate::float::option", default)]
    pub area_cm2: Option<f64>,
    /// The temperature, when the instrument reports one (All-in-One).
    #[serde(
        with = "crate::float::option",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub temperature: Option<f64>,
    /// When the measurement was taken, ISO-8601 as sent (`None` before any measurement).
    #[serde(default)]
    pub acquisition_time: Option<String>,
    /// The scans, in the order measured.
    #[serde(default)]
    pub scans: Vec<JvScan>,
    /// Fields this library does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl JvData {
    /// The scan named `name` ("forward" or "reverse", compared case-insensitively).
    pub fn scan(&self, name: &str) -> Option<&JvScan> {
        self.scans
            .iter()
            .find(|s| s.name.eq_ignore_ascii_case(name))
    }

    /// The largest power density any scan reports at its maximum power point, NaN when none
    /// does.
    pub fn max_power(&self) -> f64 {
        self.scans
            .iter()
            .filter_map(|s| s.parameters.p_mpp.as_ref().map(|q| q.value))
            .filter(|p| !p.is_nan())
            .fold(f64::NAN, f64::max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> Value {
        json!({
            "user": "ada", "device": "cell-7", "area_cm2": 0.1, "temperature": 25.0,
            "acquisition_time": "2025-01-02T03:04:05.000Z",
            "scans": [{
                "name": "reverse", "sweep_indices": [1],
                "data_schema": [{"name": "Current", "unit": "mA/cm^2"}, {"name": "Voltage", "unit": "V"}],
                "data": [[20.0, 0.0], ["NaN", 0.5]],
                "parameters": {"voc": {"value": 1.1, "unit": "V"},
                               "fill factor": {"value": "NaN", "unit": "%"},
                               "p_mpp": {"value": 18.5, "unit": "mW/cm^2"},
                               "new_one": {"value": 1, "unit": "x"}},
                "operator_note": "kept"
            }],
            "firmware": "9.9"
        })
    }

    #[test]
    fn unknown_fields_are_kept_at_every_level() {
        let data: JvData = serde_json::from_value(sample()).unwrap();
        assert_eq!(data.extra["firmware"], "9.9");
        assert_eq!(data.scans[0].extra["operator_note"], "kept");
        assert!(data.scans[0].parameters.extra.contains_key("new_one"));
        assert!(
            data.scans[0]
                .parameters
                .fill_factor
                .as_ref()
                .unwrap()
                .value
                .is_nan()
        );
        // Written back, every key is where it was.
        let back = serde_json::to_value(&data).unwrap();
        assert_eq!(back["scans"][0]["parameters"]["new_one"]["unit"], "x");
        assert_eq!(back["firmware"], "9.9");
    }

    #[test]
    fn points_follow_the_schema() {
        let data: JvData = serde_json::from_value(sample()).unwrap();
        let points = data.scan("REVERSE").unwrap().points();
        assert_eq!(points[0], (0.0, 20.0));
        assert!(points[1].1.is_nan());
        assert_eq!(data.max_power(), 18.5);
    }
}
