//! TMPCTL: the temperature controller.

use serde_json::json;

use super::target;
use crate::Request;

/// `SetController`.
pub const SET_CONTROLLER: &str = "SetController";
/// `GetStatus`.
pub const GET_STATUS: &str = "GetStatus";
/// `SetTemperature`.
pub const SET_TEMPERATURE: &str = "SetTemperature";
/// `SetEnable`.
pub const SET_ENABLE: &str = "SetEnable";

/// `SetController {address, channel}`, both integers as in the vendor's example
/// (`{"address": 1, "channel": 1}`).
pub fn set_controller(address: u32, channel: u32) -> Request {
    Request::new(target::TMPCTL, SET_CONTROLLER)
        .parameter(json!({ "address": address, "channel": channel }))
}

/// `GetStatus` (its `data` is an array, one entry per controller: `address`, `channel`,
/// `name`, `DeviceStatus`, `LatestMeasurement`; read it as
/// `Vec<`[`TemperatureController`](super::TemperatureController)`>`).
pub fn get_status() -> Request {
    Request::new(target::TMPCTL, GET_STATUS)
}

/// `SetTemperature {temperature}` in degrees Celsius.
pub fn set_temperature(celsius: f64) -> Request {
    Request::new(target::TMPCTL, SET_TEMPERATURE).parameter(json!({ "temperature": celsius }))
}

/// `SetEnable {enable}`.
pub fn set_enable(enable: bool) -> Request {
    Request::new(target::TMPCTL, SET_ENABLE).parameter(json!({ "enable": enable }))
}
