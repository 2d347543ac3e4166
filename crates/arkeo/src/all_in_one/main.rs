//! MAIN: routine selection.

use serde_json::json;

use super::target;
use crate::Request;

/// `StartRoutine`.
pub const START_ROUTINE: &str = "StartRoutine";
/// `GetActiveRoutine`.
pub const GET_ACTIVE_ROUTINE: &str = "GetActiveRoutine";
/// `GetAvailableRoutines`.
pub const GET_AVAILABLE_ROUTINES: &str = "GetAvailableRoutines";

/// `StartRoutine {routine}`: opens a routine; it then initializes (poll GetTestStatus).
pub fn start_routine(routine: &str) -> Request {
    Request::new(target::MAIN, START_ROUTINE).parameter(json!({ "routine": routine }))
}

/// `GetActiveRoutine`: `{"routine": NAME}`, `""` when none is open (read it with
/// [`ActiveRoutine`](super::ActiveRoutine)).
pub fn get_active_routine() -> Request {
    Request::new(target::MAIN, GET_ACTIVE_ROUTINE)
}

/// `GetAvailableRoutines`: the exact routine names this instrument offers
/// ([`AvailableRoutines`](super::AvailableRoutines)).
pub fn get_available_routines() -> Request {
    Request::new(target::MAIN, GET_AVAILABLE_ROUTINES)
}
