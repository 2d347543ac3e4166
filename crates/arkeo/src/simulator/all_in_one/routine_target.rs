//! ROUTINE: the documented commands of the open routine (4006 without one).

use serde_json::Value;

use super::routine_settings;
use super::routine_state::Run;
use super::{AllInOneInstrument, Call, ack};
use crate::ErrorCode;
use crate::all_in_one::{CustomCommands, custom};
use crate::simulator::outcome::{Failure, Outcome, to_json};
use crate::simulator::{params, schema};

fn not_ready() -> Failure {
    Failure::invalid("Routine is not Ready (Initializing): poll GetTestStatus")
}

/// `StartMeasurement`: Starting, then Running. Refused while initializing (101), while a
/// measurement runs (5005) and in the Error state (101, ClearErrors first).
pub(crate) fn start_measurement(sim: &mut AllInOneInstrument, call: &Call<'_>) -> Outcome {
    let timing = sim.timing;
    let temperature = sim.tmpctl.temperature(call.at.t);
    let active = sim.routine_mut()?;
    if active.initializing(call.at.t, &timing) {
        return Err(not_ready());
    }
    if active.is_measuring() {
        return Err(Failure::new(
            ErrorCode::ALREADY_RUNNING,
            "Measurement already running",
        ));
    }
    if let Some(error) = &active.error {
        return Err(Failure::invalid(format!(
            "Routine is in Error ({error}): ClearErrors first"
        )));
    }
    let plan = routine_settings::plan(active.name, &active.settings, &active.info, &timing)?;
    active.run = Some(Run {
        started: call.at.t,
        unix_started: call.at.unix,
        temperature,
        plan,
    });
    active.data = None;
    ack()
}

/// `StopMeasurement`: ends the measurement, keeping what it measured. The vendor: "returns
/// an error when the routine is not in the Starting or Running state"; the code is not
/// documented, so it is 101 like StartMeasurement's wrong states.
pub(crate) fn stop_measurement(sim: &mut AllInOneInstrument, call: &Call<'_>) -> Outcome {
    let timing = sim.timing;
    let active = sim.routine_mut()?;
    if !active.is_measuring() {
        let state = active.status(call.at, &timing).state;
        return Err(Failure::invalid(format!(
            "Routine is {} (not Starting or Running): no measurement to stop",
            state.as_str()
        )));
    }
    active.stop(call.at, &timing);
    ack()
}

/// `CloseRoutine`: closes the routine (a measurement in progress is abandoned).
pub(crate) fn close_routine(sim: &mut AllInOneInstrument, _: &Call<'_>) -> Outcome {
    sim.routine_mut()?;
    sim.active = None;
    ack()
}

/// `ApplySettings`: the parameter is a (partial) settings object, merged into the
/// routine's. The JV routines check it against the documented schema and refuse a sweep
/// that cannot run; settings are locked while measuring (5005).
pub(crate) fn apply_settings(sim: &mut AllInOneInstrument, call: &Call<'_>) -> Outcome {
    let timing = sim.timing;
    let active = sim.routine_mut()?;
    if active.initializing(call.at.t, &timing) {
        return Err(not_ready());
    }
    if active.is_measuring() {
        return Err(Failure::new(
            ErrorCode::ALREADY_RUNNING,
            "Measurement running: settings are locked",
        ));
    }
    schema::check(call.parameter, routine_settings::schema(active.name), "")?;
    let mut merged = active.settings.clone();
    schema::merge(&mut merged, call.parameter);
    schema::check_bounds(&merged)?;
    routine_settings::plan(active.name, &merged, &active.info, &timing)?;
    active.settings = merged;
    ack()
}

/// `GetSettings`: the routine's whole settings object.
pub(crate) fn get_settings(sim: &mut AllInOneInstrument, _: &Call<'_>) -> Outcome {
    Ok(Value::Object(sim.routine_mut()?.settings.clone()))
}

/// `GetTestStatus`: `{routine_status, routine_name, progress, error}`.
pub(crate) fn get_test_status(sim: &mut AllInOneInstrument, call: &Call<'_>) -> Outcome {
    let timing = sim.timing;
    to_json(&sim.routine_mut()?.status(call.at, &timing))
}

/// `GetTestData`: the measurement in progress so far, else the last one.
pub(crate) fn get_test_data(sim: &mut AllInOneInstrument, call: &Call<'_>) -> Outcome {
    let timing = sim.timing;
    Ok(sim.routine_mut()?.test_data(call.at, &timing))
}

/// `SetInfo {user_name?, device_name?, device_area?}`: recorded with the next data. Other
/// keys are refused.
pub(crate) fn set_info(sim: &mut AllInOneInstrument, call: &Call<'_>) -> Outcome {
    let p = call.parameter;
    params::only(p, &["user_name", "device_name", "device_area"])?;
    let user = p
        .contains_key("user_name")
        .then(|| params::text(p, "user_name"))
        .transpose()?;
    let device = p
        .contains_key("device_name")
        .then(|| params::text(p, "device_name"))
        .transpose()?;
    let area = params::optional_number(p, "device_area")?;
    if area.is_some_and(|a| !(a > 0.0 && a <= 10_000.0)) {
        return Err(Failure::invalid(
            "Invalid parameters: device_area must be above 0 cm2 (at most 10000)",
        ));
    }
    let active = sim.routine_mut()?;
    if let Some(user) = user {
        active.info.user_name = Some(user.to_string());
    }
    if let Some(device) = device {
        active.info.device_name = Some(device.to_string());
    }
    if area.is_some() {
        active.info.device_area = area;
    }
    ack()
}

/// `ClearErrors`: leaves the Error state.
pub(crate) fn clear_errors(sim: &mut AllInOneInstrument, _: &Call<'_>) -> Outcome {
    sim.routine_mut()?.error = None;
    ack()
}

/// `GetCustomCommands`: `{"CustomCommands": [...]}`.
pub(crate) fn get_custom_commands(sim: &mut AllInOneInstrument, _: &Call<'_>) -> Outcome {
    let active = sim.routine_mut()?;
    to_json(&CustomCommands {
        commands: custom::commands_of(active.name)
            .iter()
            .map(|c| c.to_string())
            .collect(),
        extra: Default::default(),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::simulator::Timing;
    use crate::simulator::all_in_one::send_at as send;

    #[test]
    fn stop_measurement_is_an_error_outside_starting_and_running() {
        let open = || vec![("MAIN", "StartRoutine", json!({"routine": "JV"}), 0.0)];
        let start = |t| ("ROUTINE", "StartMeasurement", json!({}), t);
        let compliance = (
            "ROUTINE",
            "ApplySettings",
            json!({"device_settings": {"Compliance (A)": 0.001}}),
            1.0,
        );
        // (setup, when StopMeasurement comes, the error code or None for an ack, the state
        // the message names)
        let cases = [
            (vec![], 1.0, Some(4006), "No active routine"),
            (open(), 0.1, Some(101), "Routine is Initializing"),
            (open(), 1.0, Some(101), "Routine is Ready"),
            ([open(), vec![start(1.0)]].concat(), 1.1, None, "Starting"),
            ([open(), vec![start(1.0)]].concat(), 3.0, None, "Running"),
            (
                [open(), vec![start(1.0)]].concat(),
                60.0,
                Some(101),
                "Routine is Ready",
            ),
            (
                [open(), vec![compliance, start(1.0)]].concat(),
                60.0,
                Some(101),
                "Routine is Error",
            ),
        ];
        for (setup, at, code, what) in cases {
            let mut sim = AllInOneInstrument::new(Timing::default());
            for (target, command, p, t) in setup {
                let reply = send(&mut sim, target, command, p, t);
                assert!(reply.get("error").is_none(), "{what}: {reply}");
            }
            let reply = send(&mut sim, "ROUTINE", "StopMeasurement", json!({}), at);
            match code {
                None => assert_eq!(reply["data"], json!({"state": "OK"}), "{what}"),
                Some(code) => {
                    assert_eq!(reply["error"]["code"], code, "{what}: {reply}");
                    let message = reply["error"]["message"].as_str().unwrap();
                    assert!(message.contains(what), "{what}: {message}");
                }
            }
        }
    }

    #[test]
    fn a_second_stop_measurement_is_an_error() {
        let mut sim = AllInOneInstrument::new(Timing::default());
        send(
            &mut sim,
            "MAIN",
            "StartRoutine",
            json!({"routine": "JV"}),
            0.0,
        );
        send(&mut sim, "ROUTINE", "StartMeasurement", json!({}), 1.0);
        let first = send(&mut sim, "ROUTINE", "StopMeasurement", json!({}), 3.0);
        assert_eq!(first["data"], json!({"state": "OK"}));
        let second = send(&mut sim, "ROUTINE", "StopMeasurement", json!({}), 3.1);
        assert_eq!(second["error"]["code"], 101, "{second}");
    }
}
