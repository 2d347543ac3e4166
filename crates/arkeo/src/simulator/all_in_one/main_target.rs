//! MAIN: StartRoutine, GetActiveRoutine, GetAvailableRoutines.

use super::routine_state::ActiveRoutine;
use super::{AllInOneInstrument, Call, ROUTINES, ack};
use crate::ErrorCode;
use crate::all_in_one::{ActiveRoutine as ActiveRoutineReply, AvailableRoutines};
use crate::simulator::outcome::{Failure, Outcome, did_you_mean, to_json};
use crate::simulator::params::{self, short};

/// `StartRoutine {routine}`: opens the routine (exact name), which then initializes.
/// Another open routine is closed first, unless it is measuring (5005).
pub(crate) fn start_routine(sim: &mut AllInOneInstrument, call: &Call<'_>) -> Outcome {
    let name = params::text(call.parameter, "routine")?;
    let Some(&routine) = ROUTINES.iter().find(|r| **r == name) else {
        return Err(Failure::invalid(format!(
            "Unknown routine {}{} (GetAvailableRoutines lists them)",
            short(name),
            did_you_mean(name, &ROUTINES)
        )));
    };
    if let Some(active) = &sim.active
        && active.is_measuring()
    {
        return Err(Failure::new(
            ErrorCode::ALREADY_RUNNING,
            format!(
                "Routine {} is measuring: StopMeasurement and CloseRoutine first",
                active.name
            ),
        ));
    }
    sim.active = Some(ActiveRoutine::open(routine, call.at.t));
    ack()
}

/// `GetActiveRoutine`: `{"routine": NAME}`, `""` when none is open.
pub(crate) fn get_active_routine(sim: &mut AllInOneInstrument, _: &Call<'_>) -> Outcome {
    to_json(&ActiveRoutineReply {
        routine: sim
            .active
            .as_ref()
            .map(|a| a.name.to_string())
            .unwrap_or_default(),
        extra: Default::default(),
    })
}

/// `GetAvailableRoutines`: `{"routines": [...]}`.
pub(crate) fn get_available_routines(_: &mut AllInOneInstrument, _: &Call<'_>) -> Outcome {
    to_json(&AvailableRoutines {
        routines: ROUTINES.iter().map(|r| r.to_string()).collect(),
        extra: Default::default(),
    })
}
