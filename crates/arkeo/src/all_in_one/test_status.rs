//! `GetTestStatus`: where the routine is, and how far its measurement got.
//!
//! ```text
//! {"routine_status": "Running", "routine_name": "JV", "error": null,
//!  "progress": {"voltage": {"value", "unit"}, "current": {"value", "unit"},
//!               "direction": "forward", "points done": 12, "total points": 66,
//!               "progres_pct": 9.1, "sweep_index": 0, "total_scans": 2}}
//! ```
//!
//! `progress` is `null` unless the routine is Running and `error` `null` unless it is in
//! Error. `progres_pct` is the vendor's spelling.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::jv::Quantity;
use crate::{ProtocolError, Reply};

/// Where a routine is, as `GetTestStatus` reports it (compared case-insensitively).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RoutineState {
    /// Hardware is being prepared; settings cannot be applied yet.
    Initializing,
    /// Settings may be applied and a measurement started (also after one ended).
    Ready,
    /// A measurement was asked for and is starting.
    Starting,
    /// A measurement is running.
    Running,
    /// The routine reported an error (see `error`; ClearErrors resets it).
    Error,
    /// A state this library does not know, as sent.
    Other(String),
}

impl RoutineState {
    /// Reads a state name.
    pub fn parse(name: &str) -> Self {
        match name.to_ascii_lowercase().as_str() {
            "initializing" | "initialising" => RoutineState::Initializing,
            "ready" => RoutineState::Ready,
            "starting" => RoutineState::Starting,
            "running" => RoutineState::Running,
            "error" => RoutineState::Error,
            _ => RoutineState::Other(name.to_string()),
        }
    }

    /// The documented spelling.
    pub fn as_str(&self) -> &str {
        match self {
            RoutineState::Initializing => "Initializing",
            RoutineState::Ready => "Ready",
            RoutineState::Starting => "Starting",
            RoutineState::Running => "Running",
            RoutineState::Error => "Error",
            RoutineState::Other(s) => s,
        }
    }
}

impl Serialize for RoutineState {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for RoutineState {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(|s| RoutineState::parse(&s))
    }
}

/// The `progress` of a running measurement. The JV routines fill every field; other
/// routines send at least the percentage. An older instrument that sends a bare number is
/// read as the percentage.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Progress {
    /// The voltage applied now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub voltage: Option<Quantity>,
    /// The current measured now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current: Option<Quantity>,
    /// The sweep direction, `"forward"` or `"reverse"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub direction: Option<String>,
    /// `"points done"` in the current scan.
    #[serde(rename = "points done", skip_serializing_if = "Option::is_none")]
    pub points_done: Option<u64>,
    /// `"total points"` of the current scan.
    #[serde(rename = "total points", skip_serializing_if = "Option::is_none")]
    pub total_points: Option<u64>,
    /// `"progres_pct"` (the vendor's spelling): 0 to 100 over the whole measurement.
    #[serde(
        rename = "progres_pct",
        with = "crate::float::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub percent: Option<f64>,
    /// The scan being measured, from 0.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sweep_index: Option<u64>,
    /// The scans the measurement has.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_scans: Option<u64>,
    /// Fields this library does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The object form of [`Progress`], as serde derives it.
#[derive(Deserialize)]
struct ProgressObject {
    #[serde(default)]
    voltage: Option<Quantity>,
    #[serde(default)]
    current: Option<Quantity>,
    #[serde(default)]
    direction: Option<String>,
    #[serde(rename = "points done", default)]
    points_done: Option<u64>,
    #[serde(rename = "total points", default)]
    total_points: Option<u64>,
    #[serde(
        rename = "progres_pct",
        alias = "progress_pct",
        with = "crate::float::option",
        default
    )]
    percent: Option<f64>,
    #[serde(default)]
    sweep_index: Option<u64>,
    #[serde(default)]
    total_scans: Option<u64>,
    #[serde(flatten)]
    extra: Map<String, Value>,
}

impl<'de> Deserialize<'de> for Progress {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        if let Some(percent) = crate::nonfinite::as_f64(&value) {
            return Ok(Progress {
                percent: Some(percent),
                ..Progress::default()
            });
        }
        let o = ProgressObject::deserialize(value).map_err(serde::de::Error::custom)?;
        Ok(Progress {
            voltage: o.voltage,
            current: o.current,
            direction: o.direction,
            points_done: o.points_done,
            total_points: o.total_points,
            percent: o.percent,
            sweep_index: o.sweep_index,
            total_scans: o.total_scans,
            extra: o.extra,
        })
    }
}

/// The reply to `GetTestStatus`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestStatus {
    /// `routine_status`.
    #[serde(rename = "routine_status")]
    pub state: RoutineState,
    /// `routine_name`.
    #[serde(default)]
    pub routine_name: Option<String>,
    /// `progress`: `None` unless Running.
    #[serde(default)]
    pub progress: Option<Progress>,
    /// `error`: `None` unless in Error (an empty string or `false` also reads as `None`).
    #[serde(default, deserialize_with = "error_value")]
    pub error: Option<Value>,
    /// Fields this library does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn error_value<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    let value = Option::<Value>::deserialize(d)?;
    Ok(value.filter(|e| !e.is_null() && e.as_str() != Some("") && *e != Value::Bool(false)))
}

impl TestStatus {
    /// Reads the `data` of a `GetTestStatus` reply.
    pub fn from_reply(reply: &Reply) -> Result<Self, ProtocolError> {
        reply.data_as(super::routine::GET_TEST_STATUS)
    }

    /// The percentage done, when the routine reports one.
    pub fn percent(&self) -> Option<f64> {
        self.progress.as_ref().and_then(|p| p.percent)
    }

    /// The error as text (a string as it is, anything else as JSON), when there is one.
    pub fn error_text(&self) -> Option<String> {
        self.error.as_ref().map(|e| match e {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Dialect;

    fn status(payload: &[u8]) -> TestStatus {
        let reply = crate::reply::classify(payload, Dialect::AllInOne, None).unwrap();
        TestStatus::from_reply(&reply).unwrap()
    }

    #[test]
    fn routine_states_parse_case_insensitively() {
        assert_eq!(RoutineState::parse("RUNNING"), RoutineState::Running);
        assert_eq!(RoutineState::parse("ready"), RoutineState::Ready);
        assert_eq!(
            RoutineState::parse("Calibrating"),
            RoutineState::Other("Calibrating".into())
        );
    }

    #[test]
    fn jv_progress_is_read_with_the_vendor_spelling() {
        let s = status(
            br#"{"status":"OK","data":{"routine_status":"Running","routine_name":"JV","error":null,
            "progress":{"voltage":{"value":0.42,"unit":"V"},"current":{"value":NaN,"unit":"mA/cm^2"},
            "direction":"forward","points done":12,"total points":66,"progres_pct":9.1,
            "sweep_index":0,"total_scans":2,"stage":"sweep"}}}"#,
        );
        assert_eq!(s.state, RoutineState::Running);
        let p = s.progress.as_ref().unwrap();
        assert_eq!(p.points_done, Some(12));
        assert_eq!(p.total_points, Some(66));
        assert_eq!(s.percent(), Some(9.1));
        assert!(p.current.as_ref().unwrap().value.is_nan());
        assert_eq!(p.extra["stage"], "sweep");
        assert_eq!(s.error, None);
    }

    #[test]
    fn bare_number_progress_and_empty_errors_are_absorbed() {
        let s = status(
            br#"{"status":"OK","data":{"routine_status":"Running","progress":42.5,"error":""}}"#,
        );
        assert_eq!(s.percent(), Some(42.5));
        assert_eq!(s.error, None);
        let s = status(
            br#"{"status":"OK","data":{"routine_status":"Error","progress":null,"error":"Compliance"}}"#,
        );
        assert_eq!(s.error_text().as_deref(), Some("Compliance"));
        assert_eq!(s.progress, None);
    }

    #[test]
    fn a_reply_without_routine_status_is_a_shape_error() {
        let reply = Reply::from_object(Map::new());
        assert!(TestStatus::from_reply(&reply).is_err());
        let reply =
            crate::reply::classify(br#"{"status":"OK","data":{}}"#, Dialect::AllInOne, None)
                .unwrap();
        let err = TestStatus::from_reply(&reply).unwrap_err();
        assert!(err.to_string().contains("routine_status"), "{err}");
    }
}
