//! Typed helpers for the All-in-One API: request builders per target, typed replies.
//!
//! Every builder returns a plain [`Request`], so anything not covered here (a routine's
//! custom command, a command a newer instrument adds) is one `Request::new(target, command)`
//! away: the helpers never stand between the user and the wire.

use serde_json::{Map, Value, json};

use crate::nonfinite::as_f64;
use crate::{ProtocolError, Reply, Request};

/// The documented targets.
pub mod target {
    /// Routine selection: StartRoutine, GetActiveRoutine, GetAvailableRoutines.
    pub const MAIN: &str = "MAIN";
    /// The active routine: settings, measurement, status, data, custom commands.
    pub const ROUTINE: &str = "ROUTINE";
    /// The temperature controller.
    pub const TMPCTL: &str = "TMPCTL";
    /// The relay multiplexer.
    pub const MUX: &str = "MUX";
    /// The LED light source.
    pub const LED: &str = "LED";
}

/// MAIN: routine selection.
pub mod main {
    use super::*;

    /// `StartRoutine {routine}`: opens a routine; it then initializes (poll GetTestStatus).
    pub fn start_routine(routine: &str) -> Request {
        Request::new(target::MAIN, "StartRoutine").parameter(json!({ "routine": routine }))
    }

    /// `GetActiveRoutine`.
    pub fn get_active_routine() -> Request {
        Request::new(target::MAIN, "GetActiveRoutine")
    }

    /// `GetAvailableRoutines`: the exact routine names this instrument offers.
    pub fn get_available_routines() -> Request {
        Request::new(target::MAIN, "GetAvailableRoutines")
    }
}

/// ROUTINE: the active routine (every command fails with 4006 without one).
pub mod routine {
    use super::*;

    /// `StartMeasurement`.
    pub fn start_measurement() -> Request {
        Request::new(target::ROUTINE, "StartMeasurement")
    }

    /// `StopMeasurement`.
    pub fn stop_measurement() -> Request {
        Request::new(target::ROUTINE, "StopMeasurement")
    }

    /// `CloseRoutine`.
    pub fn close_routine() -> Request {
        Request::new(target::ROUTINE, "CloseRoutine")
    }

    /// `ApplySettings`: the settings object is the parameter itself.
    pub fn apply_settings(settings: Value) -> Request {
        Request::new(target::ROUTINE, "ApplySettings").parameter(settings)
    }

    /// `GetSettings`.
    pub fn get_settings() -> Request {
        Request::new(target::ROUTINE, "GetSettings")
    }

    /// `GetTestStatus`: read the reply with [`TestStatus::from_reply`].
    pub fn get_test_status() -> Request {
        Request::new(target::ROUTINE, "GetTestStatus")
    }

    /// `GetTestData`.
    pub fn get_test_data() -> Request {
        Request::new(target::ROUTINE, "GetTestData")
    }

    /// `SetInfo`: any of user name, device name, device area.
    pub fn set_info(
        user_name: Option<&str>,
        device_name: Option<&str>,
        device_area: Option<f64>,
    ) -> Request {
        let mut info = Map::new();
        if let Some(u) = user_name {
            info.insert("user_name".into(), u.into());
        }
        if let Some(d) = device_name {
            info.insert("device_name".into(), d.into());
        }
        if let Some(a) = device_area {
            info.insert("device_area".into(), a.into());
        }
        Request::new(target::ROUTINE, "SetInfo").parameter(Value::Object(info))
    }

    /// `ClearErrors`.
    pub fn clear_errors() -> Request {
        Request::new(target::ROUTINE, "ClearErrors")
    }

    /// `GetCustomCommands`: the routine-specific commands (`{"CustomCommands": [...]}`).
    pub fn get_custom_commands() -> Request {
        Request::new(target::ROUTINE, "GetCustomCommands")
    }

    /// A routine-specific custom command (AcquireDark, SetWavelength, ApplyCurrent...).
    pub fn custom(command: &str, parameter: Value) -> Request {
        Request::new(target::ROUTINE, command).parameter(parameter)
    }
}

/// TMPCTL: the temperature controller.
pub mod tmpctl {
    use super::*;

    /// `SetController {address, channel}`.
    pub fn set_controller(address: &str, channel: u32) -> Request {
        Request::new(target::TMPCTL, "SetController")
            .parameter(json!({ "address": address, "channel": channel }))
    }

    /// `GetStatus` (its `data` is an array).
    pub fn get_status() -> Request {
        Request::new(target::TMPCTL, "GetStatus")
    }

    /// `SetTemperature {temperature}` in degrees Celsius.
    pub fn set_temperature(celsius: f64) -> Request {
        Request::new(target::TMPCTL, "SetTemperature").parameter(json!({ "temperature": celsius }))
    }

    /// `SetEnable {enable}`.
    pub fn set_enable(enable: bool) -> Request {
        Request::new(target::TMPCTL, "SetEnable").parameter(json!({ "enable": enable }))
    }
}

/// MUX: the relay multiplexer.
pub mod mux {
    use super::*;

    /// `Connect`.
    pub fn connect() -> Request {
        Request::new(target::MUX, "Connect")
    }

    /// `Disconnect`.
    pub fn disconnect() -> Request {
        Request::new(target::MUX, "Disconnect")
    }

    /// `GetStatus`: `{connected, firmware, nrRelays, status: [bool]}`.
    pub fn get_status() -> Request {
        Request::new(target::MUX, "GetStatus")
    }

    /// `SetStatus {state: [bool]}`, one entry per relay.
    pub fn set_status(state: &[bool]) -> Request {
        Request::new(target::MUX, "SetStatus").parameter(json!({ "state": state }))
    }
}

/// LED: the light source.
pub mod led {
    use super::*;

    /// `GetStatus`.
    pub fn get_status() -> Request {
        Request::new(target::LED, "GetStatus")
    }

    /// `SetValues {address, values}`: one value in 0..=1 per channel (a wrong count is
    /// error 1001).
    pub fn set_values(address: &str, values: &[f64]) -> Request {
        Request::new(target::LED, "SetValues")
            .parameter(json!({ "address": address, "values": values }))
    }
}

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

/// The reply to `GetTestStatus`.
#[derive(Debug, Clone, PartialEq)]
pub struct TestStatus {
    /// `routine_status`.
    pub state: RoutineState,
    /// `routine_name`, when sent.
    pub routine_name: Option<String>,
    /// `progress`, when sent (0 to 100 on the simulator; NaN is kept).
    pub progress: Option<f64>,
    /// `error`, when sent and not null/empty.
    pub error: Option<Value>,
}

impl TestStatus {
    /// Reads the `data` of a `GetTestStatus` reply.
    pub fn from_reply(reply: &Reply) -> Result<Self, ProtocolError> {
        let shape = |detail: &str| ProtocolError::UnexpectedShape {
            command: "GetTestStatus".into(),
            detail: detail.into(),
        };
        let data = reply
            .data()
            .and_then(Value::as_object)
            .ok_or_else(|| shape("no data object"))?;
        let state = data
            .get("routine_status")
            .and_then(Value::as_str)
            .ok_or_else(|| shape("no routine_status string"))?;
        let error = data
            .get("error")
            .filter(|e| !e.is_null() && e.as_str() != Some("") && **e != Value::Bool(false))
            .cloned();
        Ok(TestStatus {
            state: RoutineState::parse(state),
            routine_name: data
                .get("routine_name")
                .and_then(Value::as_str)
                .map(String::from),
            progress: data.get("progress").and_then(as_f64),
            error,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Dialect;

    #[test]
    fn builders_produce_the_documented_envelopes() {
        let cases = [
            (
                main::start_routine("JV"),
                json!({"target":"MAIN","command":"StartRoutine","parameter":{"routine":"JV"}}),
            ),
            (
                routine::apply_settings(json!({"points":50})),
                json!({"target":"ROUTINE","command":"ApplySettings","parameter":{"points":50}}),
            ),
            (
                routine::get_test_status(),
                json!({"target":"ROUTINE","command":"GetTestStatus","parameter":{}}),
            ),
            (
                routine::set_info(Some("ada"), None, Some(0.1)),
                json!({"target":"ROUTINE","command":"SetInfo","parameter":{"user_name":"ada","device_area":0.1}}),
            ),
            (
                tmpctl::set_temperature(25.0),
                json!({"target":"TMPCTL","command":"SetTemperature","parameter":{"temperature":25.0}}),
            ),
            (
                mux::set_status(&[true, false]),
                json!({"target":"MUX","command":"SetStatus","parameter":{"state":[true,false]}}),
            ),
            (
                led::set_values("COM3", &[0.5, 1.0]),
                json!({"target":"LED","command":"SetValues","parameter":{"address":"COM3","values":[0.5,1.0]}}),
            ),
        ];
        for (request, want) in cases {
            assert_eq!(request.encode(Dialect::AllInOne, None).unwrap(), want);
        }
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
    fn test_status_reads_progress_and_errors() {
        let reply = crate::reply::classify(
            br#"{"status":"OK","data":{"routine_status":"Running","routine_name":"JV","progress":NaN,"error":""}}"#,
            Dialect::AllInOne,
            None,
        )
        .unwrap();
        let status = TestStatus::from_reply(&reply).unwrap();
        assert_eq!(status.state, RoutineState::Running);
        assert!(status.progress.unwrap().is_nan());
        assert_eq!(status.error, None);
        let bad = Reply::from_object(Map::new());
        assert!(TestStatus::from_reply(&bad).is_err());
    }
}
