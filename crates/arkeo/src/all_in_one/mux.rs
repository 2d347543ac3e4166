//! MUX: the relay multiplexer.

use serde_json::json;

use super::target;
use crate::Request;

/// `Connect`.
pub const CONNECT: &str = "Connect";
/// `Disconnect`.
pub const DISCONNECT: &str = "Disconnect";
/// `GetStatus`.
pub const GET_STATUS: &str = "GetStatus";
/// `SetStatus`.
pub const SET_STATUS: &str = "SetStatus";

/// `Connect`.
pub fn connect() -> Request {
    Request::new(target::MUX, CONNECT)
}

/// `Disconnect`.
pub fn disconnect() -> Request {
    Request::new(target::MUX, DISCONNECT)
}

/// `GetStatus`: `{connected, firmware, nrRelays, status: [bool]}`
/// ([`MuxStatus`](super::MuxStatus)).
pub fn get_status() -> Request {
    Request::new(target::MUX, GET_STATUS)
}

/// `SetStatus {state: [bool]}`, one entry per relay.
pub fn set_status(state: &[bool]) -> Request {
    Request::new(target::MUX, SET_STATUS).parameter(json!({ "state": state }))
}
