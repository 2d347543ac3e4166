//! LED: the light source.

use serde_json::json;

use super::target;
use crate::Request;

/// `GetStatus`.
pub const GET_STATUS: &str = "GetStatus";
/// `SetValues`.
pub const SET_VALUES: &str = "SetValues";

/// `GetStatus` (read its `data` as [`LedStatus`](super::LedStatus)).
pub fn get_status() -> Request {
    Request::new(target::LED, GET_STATUS)
}

/// `SetValues {address, values}`: the board's integer address and one value per channel,
/// 0 (off) to 1 (maximum); the instrument coerces values outside that range, and a count
/// other than its number of channels (12) is error 1001.
pub fn set_values(address: u32, values: &[f64]) -> Request {
    Request::new(target::LED, SET_VALUES).parameter(json!({ "address": address, "values": values }))
}
