//! The built-in instrument simulator: a real TCP server speaking either dialect.
//!
//! [`Instrument`] is the sans-IO core: request payload bytes and `now` in, reply payload
//! bytes out. It checks the envelope (5001 for a request that is not a JSON object, 101
//! for a missing command or target), accepts the legacy parameter names (`params`,
//! `data`) with a warning in its log, echoes the All-in-One request_id, and writes
//! non-finite numbers as bare `NaN`/`Infinity` like the real software.
//!
//! [`Simulator`] is the tokio server around it: any number of clients at once, all seeing
//! the same instrument (one lock, never held across an await).

mod all_in_one;
mod instrument;
mod multichannel;
mod server;
mod synthetic;

pub use all_in_one::{AllInOneInstrument, ROUTINES};
pub use instrument::{Instrument, SimulatorConfig, Timing};
pub use multichannel::{ENVIRONMENTS, MultichannelInstrument};
pub use server::Simulator;

use serde_json::{Map, Value};
/// `parameter[key]` as a string.
pub(crate) fn string_param<'a>(parameter: &'a Value, key: &str) -> Result<&'a str, String> {
    parameter
        .get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("Invalid parameters: {key} (a string) required"))
}

/// `parameter[key]` as a number.
pub(crate) fn number_param(parameter: &Value, key: &str) -> Result<f64, String> {
    parameter
        .get(key)
        .and_then(Value::as_f64)
        .ok_or_else(|| format!("Invalid parameters: {key} (a number) required"))
}

/// `parameter[key]` as a boolean.
pub(crate) fn bool_param(parameter: &Value, key: &str) -> Result<bool, String> {
    parameter
        .get(key)
        .and_then(Value::as_bool)
        .ok_or_else(|| format!("Invalid parameters: {key} (true or false) required"))
}

/// The parameter as an object.
pub(crate) fn object_param(parameter: &Value) -> Result<&Map<String, Value>, String> {
    parameter
        .as_object()
        .ok_or_else(|| "Invalid parameters: an object is required".to_string())
}
