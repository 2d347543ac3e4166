//! The simulated All-in-One instrument: routines, temperature controller, multiplexer, LED.
//!
//! Sans-IO: [`AllInOneInstrument::handle`] takes a target, a command, the parameter object
//! and the instrument's clock, and returns the reply object (the envelope checks and the
//! request_id echo are the [`Instrument`](super::Instrument)'s). Each documented command
//! has its own handler, found in [`ROUTES`] by the target and command constants the
//! request builders of [`crate::all_in_one`] send; the routines' custom commands are
//! routed the same way in [`custom_commands`].

mod custom_commands;
mod devices;
mod main_target;
mod routine_data;
mod routine_plan;
mod routine_settings;
mod routine_state;
mod routine_target;

use serde_json::{Map, Value, json};

use super::Timing;
use super::clock::Moment;
use super::outcome::{Failure, Outcome, did_you_mean};
use super::params::short;
use crate::ErrorCode;
use crate::all_in_one::{custom, led, main, mux, routine, target, tmpctl};
use devices::{Led, Mux, TemperatureController};
use routine_state::ActiveRoutine;

/// The routines the simulated instrument offers (the names the vendor documents).
pub const ROUTINES: [&str; 11] = crate::all_in_one::routines::ALL;

/// One request, as a handler sees it: the parameter object and the instrument's clock.
pub(crate) struct Call<'a> {
    pub(crate) parameter: &'a Map<String, Value>,
    pub(crate) at: Moment,
}

/// A command handler.
pub(crate) type Handler = fn(&mut AllInOneInstrument, &Call<'_>) -> Outcome;

/// A documented command and its handler.
pub(crate) struct Route {
    pub(crate) target: &'static str,
    pub(crate) command: &'static str,
    pub(crate) handler: Handler,
}

const fn route(target: &'static str, command: &'static str, handler: Handler) -> Route {
    Route {
        target,
        command,
        handler,
    }
}

/// Every documented command of every target.
pub(crate) const ROUTES: &[Route] = &[
    route(
        target::MAIN,
        main::START_ROUTINE,
        main_target::start_routine,
    ),
    route(
        target::MAIN,
        main::GET_ACTIVE_ROUTINE,
        main_target::get_active_routine,
    ),
    route(
        target::MAIN,
        main::GET_AVAILABLE_ROUTINES,
        main_target::get_available_routines,
    ),
    route(
        target::ROUTINE,
        routine::START_MEASUREMENT,
        routine_target::start_measurement,
    ),
    route(
        target::ROUTINE,
        routine::STOP_MEASUREMENT,
        routine_target::stop_measurement,
    ),
    route(
        target::ROUTINE,
        routine::CLOSE_ROUTINE,
        routine_target::close_routine,
    ),
    route(
        target::ROUTINE,
        routine::APPLY_SETTINGS,
        routine_target::apply_settings,
    ),
    route(
        target::ROUTINE,
        routine::GET_SETTINGS,
        routine_target::get_settings,
    ),
    route(
        target::ROUTINE,
        routine::GET_TEST_STATUS,
        routine_target::get_test_status,
    ),
    route(
        target::ROUTINE,
        routine::GET_TEST_DATA,
        routine_target::get_test_data,
    ),
    route(target::ROUTINE, routine::SET_INFO, routine_target::set_info),
    route(
        target::ROUTINE,
        routine::CLEAR_ERRORS,
        routine_target::clear_errors,
    ),
    route(
        target::ROUTINE,
        routine::GET_CUSTOM_COMMANDS,
        routine_target::get_custom_commands,
    ),
    route(
        target::TMPCTL,
        tmpctl::SET_CONTROLLER,
        devices::tmpctl_set_controller,
    ),
    route(
        target::TMPCTL,
        tmpctl::GET_STATUS,
        devices::tmpctl_get_status,
    ),
    route(
        target::TMPCTL,
        tmpctl::SET_TEMPERATURE,
        devices::tmpctl_set_temperature,
    ),
    route(
        target::TMPCTL,
        tmpctl::SET_ENABLE,
        devices::tmpctl_set_enable,
    ),
    route(target::MUX, mux::CONNECT, devices::mux_connect),
    route(target::MUX, mux::DISCONNECT, devices::mux_disconnect),
    route(target::MUX, mux::GET_STATUS, devices::mux_get_status),
    route(target::MUX, mux::SET_STATUS, devices::mux_set_status),
    route(target::LED, led::GET_STATUS, devices::led_get_status),
    route(target::LED, led::SET_VALUES, devices::led_set_values),
];

/// The simulated All-in-One instrument. One per simulator, shared by its connections.
#[derive(Debug, Clone)]
pub struct AllInOneInstrument {
    pub(crate) timing: Timing,
    pub(crate) active: Option<ActiveRoutine>,
    pub(crate) tmpctl: TemperatureController,
    pub(crate) mux: Mux,
    pub(crate) led: Led,
}

/// For tests: one request to `sim` at `t` seconds on its clock, and the reply.
#[cfg(test)]
pub(crate) fn send_at(
    sim: &mut AllInOneInstrument,
    target: &str,
    command: &str,
    parameter: Value,
    t: f64,
) -> Value {
    let parameter = parameter.as_object().cloned().unwrap_or_default();
    sim.handle(
        target,
        command,
        &parameter,
        Moment::at_offset(std::time::Duration::from_secs_f64(t)),
    )
}

/// The `{"state": "OK"}` acknowledgement of commands that return nothing else.
pub(crate) fn ack() -> Outcome {
    Ok(json!({ "state": "OK" }))
}

impl AllInOneInstrument {
    /// LED channels on the simulated light source.
    pub const LED_CHANNELS: usize = devices::LED_CHANNELS;
    /// Relays on the simulated multiplexer.
    pub const RELAYS: usize = devices::RELAYS;

    /// A powered-on instrument with no routine open.
    pub fn new(timing: Timing) -> Self {
        AllInOneInstrument {
            timing,
            active: None,
            tmpctl: TemperatureController::new(),
            mux: Mux::new(),
            led: Led::new(),
        }
    }

    /// Answers one request whose envelope was checked: `parameter` is the request's
    /// parameter object.
    pub(crate) fn handle(
        &mut self,
        target_name: &str,
        command: &str,
        parameter: &Map<String, Value>,
        at: Moment,
    ) -> Value {
        self.settle(at);
        let call = Call { parameter, at };
        let outcome = match self.find(target_name, command) {
            Ok(handler) => handler(self, &call),
            Err(failure) => Err(failure),
        };
        match outcome {
            Ok(data) => json!({ "status": "OK", "data": data }),
            Err(f) => error_reply(f.code, &f.message),
        }
    }

    /// The handler of `command` on `target_name`: a documented command, or a custom command
    /// of the open routine.
    fn find(&self, target_name: &str, command: &str) -> Result<Handler, Failure> {
        if let Some(r) = ROUTES
            .iter()
            .find(|r| r.target == target_name && r.command == command)
        {
            return Ok(r.handler);
        }
        if !target::ALL.contains(&target_name) {
            return Err(Failure::invalid(format!(
                "Unknown target {}{} (targets: {})",
                short(target_name),
                did_you_mean(target_name, &target::ALL),
                target::ALL.join(", ")
            )));
        }
        if target_name == target::ROUTINE {
            let Some(active) = &self.active else {
                return Err(Failure::new(
                    ErrorCode::NO_ACTIVE_ROUTINE,
                    "No active routine",
                ));
            };
            if let Some(handler) = custom_commands::find(active.name, command) {
                return Ok(handler);
            }
            let mut known: Vec<&str> = ROUTES
                .iter()
                .filter(|r| r.target == target::ROUTINE)
                .map(|r| r.command)
                .collect();
            known.extend_from_slice(custom::commands_of(active.name));
            return Err(Failure::invalid(format!(
                "Unknown command {} for routine {}{}",
                short(command),
                active.name,
                did_you_mean(command, &known)
            )));
        }
        let known: Vec<&str> = ROUTES
            .iter()
            .filter(|r| r.target == target_name)
            .map(|r| r.command)
            .collect();
        Err(Failure::invalid(format!(
            "Unknown command {} for target {target_name}{}",
            short(command),
            did_you_mean(command, &known)
        )))
    }

    /// Brings the open routine up to `at`: a measurement that ended (or hit its compliance)
    /// leaves its data and, for a fault, the Error state.
    fn settle(&mut self, at: Moment) {
        let timing = self.timing;
        if let Some(active) = &mut self.active {
            active.settle(at, &timing);
        }
    }

    /// The routine, or error 4006.
    pub(crate) fn routine_mut(&mut self) -> Result<&mut ActiveRoutine, Failure> {
        self.active
            .as_mut()
            .ok_or_else(|| Failure::new(ErrorCode::NO_ACTIVE_ROUTINE, "No active routine"))
    }
}

/// An error reply in the All-in-One style (status in capitals, as most command pages show).
pub(crate) fn error_reply(code: ErrorCode, message: &str) -> Value {
    json!({ "status": "ERROR", "error": { "code": code.0, "message": message } })
}
