//! ROUTINE: the active routine (every command fails with 4006 without one).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::target;
use crate::Request;

/// `StartMeasurement`.
pub const START_MEASUREMENT: &str = "StartMeasurement";
/// `StopMeasurement`.
pub const STOP_MEASUREMENT: &str = "StopMeasurement";
/// `CloseRoutine`.
pub const CLOSE_ROUTINE: &str = "CloseRoutine";
/// `ApplySettings`.
pub const APPLY_SETTINGS: &str = "ApplySettings";
/// `GetSettings`.
pub const GET_SETTINGS: &str = "GetSettings";
/// `GetTestStatus`.
pub const GET_TEST_STATUS: &str = "GetTestStatus";
/// `GetTestData`.
pub const GET_TEST_DATA: &str = "GetTestData";
/// `SetInfo`.
pub const SET_INFO: &str = "SetInfo";
/// `ClearErrors`.
pub const CLEAR_ERRORS: &str = "ClearErrors";
/// `GetCustomCommands`.
pub const GET_CUSTOM_COMMANDS: &str = "GetCustomCommands";

/// `StartMeasurement`.
pub fn start_measurement() -> Request {
    Request::new(target::ROUTINE, START_MEASUREMENT)
}

/// `StopMeasurement`.
pub fn stop_measurement() -> Request {
    Request::new(target::ROUTINE, STOP_MEASUREMENT)
}

/// `CloseRoutine`.
pub fn close_routine() -> Request {
    Request::new(target::ROUTINE, CLOSE_ROUTINE)
}

/// `ApplySettings`: the settings object is the parameter itself (for the JV routines, a
/// [`JvSettings`](super::JvSettings) serialized; partial settings change only their keys).
pub fn apply_settings(settings: Value) -> Request {
    Request::new(target::ROUTINE, APPLY_SETTINGS).parameter(settings)
}

/// `GetSettings`: the routine's whole settings object.
pub fn get_settings() -> Request {
    Request::new(target::ROUTINE, GET_SETTINGS)
}

/// `GetTestStatus`: read the reply with [`TestStatus::from_reply`](super::TestStatus::from_reply).
pub fn get_test_status() -> Request {
    Request::new(target::ROUTINE, GET_TEST_STATUS)
}

/// `GetTestData`: for the JV routines a [`JvData`](crate::jv::JvData).
pub fn get_test_data() -> Request {
    Request::new(target::ROUTINE, GET_TEST_DATA)
}

/// `SetInfo`: any of user name, device name, device area.
pub fn set_info(
    user_name: Option<&str>,
    device_name: Option<&str>,
    device_area: Option<f64>,
) -> Request {
    set_info_from(&RoutineInfo {
        user_name: user_name.map(String::from),
        device_name: device_name.map(String::from),
        device_area,
    })
}

/// `SetInfo` from a [`RoutineInfo`] (only the fields that are set are sent).
pub fn set_info_from(info: &RoutineInfo) -> Request {
    let mut parameter = Map::new();
    if let Some(user) = &info.user_name {
        parameter.insert("user_name".into(), user.clone().into());
    }
    if let Some(device) = &info.device_name {
        parameter.insert("device_name".into(), device.clone().into());
    }
    if let Some(area) = info.device_area {
        parameter.insert("device_area".into(), area.into());
    }
    Request::new(target::ROUTINE, SET_INFO).parameter(Value::Object(parameter))
}

/// `ClearErrors`: leaves the Error state.
pub fn clear_errors() -> Request {
    Request::new(target::ROUTINE, CLEAR_ERRORS)
}

/// `GetCustomCommands`: the routine-specific commands
/// ([`CustomCommands`](super::CustomCommands)).
pub fn get_custom_commands() -> Request {
    Request::new(target::ROUTINE, GET_CUSTOM_COMMANDS)
}

/// Any routine-specific command by name (the typed ones are in [`custom`](super::custom)).
pub fn custom(command: &str, parameter: Value) -> Request {
    Request::new(target::ROUTINE, command).parameter(parameter)
}

/// What `SetInfo` records with the measurement: who measured which device of what area.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RoutineInfo {
    /// `user_name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    /// `device_name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_name: Option<String>,
    /// `device_area`, in cm².
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_area: Option<f64>,
}

impl RoutineInfo {
    /// True when no field is set (SetInfo would send `{}`).
    pub fn is_empty(&self) -> bool {
        self.user_name.is_none() && self.device_name.is_none() && self.device_area.is_none()
    }
}
