//! LED: the light source.

use serde_json::json;

use super::target;
use crate::Request;

/// `GetStatus`.
pub const GET_STATUS: &str = "GetStatus";
/// `SetValues`.
pub const SET_VALUES: &str = "SetValues";

/// `GetStatus`.
pub fn get_status() -> Request {
    Request::new(target::LED, GET_STATUS)
}

/// `SetValues {address, values}`: one value in 0..=1 per channel (a wrong count is error
/// 1001).
pub fn set_values(address: &str, values: &[f64]) -> Request {
    Request::new(target::LED, SET_VALUES).parameter(json!({ "address": address, "values": values }))
}
