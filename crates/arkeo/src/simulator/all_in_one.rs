//! The All-in-One instrument: routines, temperature controller, multiplexer, LED.
//!
//! Sans-IO: [`AllInOneInstrument::handle`] takes a request object and `now`, and returns
//! the reply object (the driver adds the request_id echo). Routines move through
//! Initializing, Ready, Starting and Running on the clock given by [`Timing`].

use std::time::Instant;

use serde_json::{Map, Value, json};

use super::synthetic::{Cell, jv_curve, spectrum, trace};
use super::{Timing, bool_param, number_param, object_param, string_param};
use crate::ErrorCode;

/// The routines the simulated instrument offers (the names the vendor documents).
pub const ROUTINES: [&str; 11] = [
    "JV",
    "Dark JV",
    "IPCE",
    "Luminescence",
    "Resistivity",
    "Photo-CELIV",
    "TCSPC",
    "MPPT",
    "Impedance",
    "Connection Test",
    "TPR",
];

fn custom_commands(routine: &str) -> &'static [&'static str] {
    match routine {
        "Luminescence" => &[
            "AcquireDark",
            "AcquireReference",
            "AcquireSingle",
            "AutoExposure",
            "SetLaser",
        ],
        "IPCE" => &[
            "SetShutter",
            "SetWavelength",
            "StartCalibration",
            "GetChopperFrequency",
            "GetMonochromatorStatus",
        ],
        "Resistivity" => &["ApplyCurrent"],
        "TCSPC" => &["GetRates", "SetLaser"],
        "Connection Test" => &["SetOutput"],
        _ => &[],
    }
}

fn default_settings(routine: &str) -> Map<String, Value> {
    let value = match routine {
        "JV" | "Dark JV" => json!({
            "v_start": -0.1, "v_end": 1.3, "points": 71, "scan_rate_mV_s": 100,
            "direction": "forward", "light_intensity_suns": if routine == "JV" { 1.0 } else { 0.0 }
        }),
        "Luminescence" => json!({ "exposure_ms": 100, "averages": 1, "laser_power_mW": 5.0 }),
        _ => json!({ "points": 50 }),
    };
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

#[derive(Debug, Clone)]
struct Run {
    started: Instant,
}

#[derive(Debug, Clone)]
struct ActiveRoutine {
    name: String,
    opened: Instant,
    settings: Map<String, Value>,
    info: Map<String, Value>,
    run: Option<Run>,
    data: Option<Value>,
    progress: f64,
    error: Option<String>,
    reference_acquired: bool,
}

#[derive(Debug, Clone)]
struct TemperatureController {
    address: Option<String>,
    channel: u64,
    enabled: bool,
    setpoint: f64,
    /// Temperature when the target last changed, and when.
    from: f64,
    since: Option<Instant>,
}

impl TemperatureController {
    const AMBIENT: f64 = 25.0;
    const TAU_S: f64 = 2.0;

    fn target(&self) -> f64 {
        if self.enabled {
            self.setpoint
        } else {
            Self::AMBIENT
        }
    }

    fn temperature(&self, now: Instant) -> f64 {
        let Some(since) = self.since else {
            return self.from;
        };
        let dt = now.saturating_duration_since(since).as_secs_f64();
        self.target() + (self.from - self.target()) * (-dt / Self::TAU_S).exp()
    }

    fn retarget(&mut self, now: Instant, change: impl FnOnce(&mut Self)) {
        self.from = self.temperature(now);
        self.since = Some(now);
        change(self);
    }
}

/// The simulated All-in-One instrument. One per simulator, shared by its connections.
#[derive(Debug, Clone)]
pub struct AllInOneInstrument {
    timing: Timing,
    active: Option<ActiveRoutine>,
    tmpctl: TemperatureController,
    mux_connected: bool,
    relays: Vec<bool>,
    led_address: Option<String>,
    led_values: Vec<f64>,
}

/// A reply under construction: `Ok(data)` or `Err((code, message))`.
type Outcome = Result<Value, (ErrorCode, String)>;

fn ack() -> Outcome {
    Ok(json!({ "state": "OK" }))
}

fn invalid(message: impl Into<String>) -> (ErrorCode, String) {
    (ErrorCode::INVALID_PARAMETERS, message.into())
}

impl AllInOneInstrument {
    /// LED channels on the simulated light source.
    pub const LED_CHANNELS: usize = 4;
    /// Relays on the simulated multiplexer.
    pub const RELAYS: usize = 8;

    /// A powered-on instrument with no routine open.
    pub fn new(timing: Timing) -> Self {
        AllInOneInstrument {
            timing,
            active: None,
            tmpctl: TemperatureController {
                address: None,
                channel: 1,
                enabled: false,
                setpoint: TemperatureController::AMBIENT,
                from: TemperatureController::AMBIENT,
                since: None,
            },
            mux_connected: false,
            relays: vec![false; Self::RELAYS],
            led_address: None,
            led_values: vec![0.0; Self::LED_CHANNELS],
        }
    }

    /// Answers one request (already checked to be an object with string `target` and
    /// `command`; `parameter` is `{}` when absent).
    pub fn handle(
        &mut self,
        target: &str,
        command: &str,
        parameter: &Value,
        now: Instant,
    ) -> Value {
        self.settle(now);
        let is = |name: &str| target.eq_ignore_ascii_case(name);
        let outcome = if is("MAIN") {
            self.main(command, parameter, now)
        } else if is("ROUTINE") {
            self.routine(command, parameter, now)
        } else if is("TMPCTL") {
            self.tmpctl(command, parameter, now)
        } else if is("MUX") {
            self.mux(command, parameter)
        } else if is("LED") {
            self.led(command, parameter)
        } else {
            return error_reply(
                ErrorCode::INVALID_PARAMETERS,
                &format!("Unknown target {target}"),
            );
        };
        match outcome {
            Ok(data) => json!({ "status": "OK", "data": data }),
            Err((code, message)) => error_reply(code, &message),
        }
    }

    /// Moves a finished measurement's data into place.
    fn settle(&mut self, now: Instant) {
        let timing = self.timing;
        let Some(active) = &mut self.active else {
            return;
        };
        let Some(run) = &active.run else { return };
        if now >= run.started + timing.start + timing.measure {
            active.data = Some(synthesize(active, 1.0));
            active.run = None;
            active.progress = 100.0;
        }
    }

    fn main(&mut self, command: &str, parameter: &Value, now: Instant) -> Outcome {
        match command {
            "StartRoutine" => {
                let name = string_param(parameter, "routine").map_err(invalid)?;
                let Some(name) = ROUTINES.iter().find(|r| r.eq_ignore_ascii_case(name)) else {
                    return Err(invalid(format!("Unknown routine {name}")));
                };
                if self.active.as_ref().is_some_and(|a| a.run.is_some()) {
                    return Err((
                        ErrorCode::ALREADY_RUNNING,
                        "A measurement is running: stop it first".into(),
                    ));
                }
                self.active = Some(ActiveRoutine {
                    name: (*name).to_string(),
                    opened: now,
                    settings: default_settings(name),
                    info: Map::new(),
                    run: None,
                    data: None,
                    progress: 0.0,
                    error: None,
                    reference_acquired: false,
                });
                ack()
            }
            "GetActiveRoutine" => Ok(json!({
                "routine": self.active.as_ref().map(|a| a.name.clone())
            })),
            "GetAvailableRoutines" => Ok(json!({ "routines": ROUTINES })),
            _ => Err(invalid(format!(
                "Unknown command {command} for target MAIN"
            ))),
        }
    }

    fn routine(&mut self, command: &str, parameter: &Value, now: Instant) -> Outcome {
        let timing = self.timing;
        let Some(active) = &mut self.active else {
            return Err((ErrorCode::NO_ACTIVE_ROUTINE, "No active routine".into()));
        };
        let initializing = now < active.opened + timing.initialize;
        match command {
            "GetTestStatus" => {
                let (state, progress) = if initializing {
                    ("Initializing", 0.0)
                } else if let Some(run) = &active.run {
                    let elapsed = now.saturating_duration_since(run.started);
                    if elapsed < timing.start {
                        ("Starting", 0.0)
                    } else {
                        let f = (elapsed - timing.start).as_secs_f64()
                            / timing.measure.as_secs_f64().max(1e-9);
                        ("Running", (f * 100.0).min(99.9))
                    }
                } else if active.error.is_some() {
                    ("Error", active.progress)
                } else {
                    ("Ready", active.progress)
                };
                Ok(json!({
                    "routine_status": state,
                    "routine_name": active.name,
                    "progress": (progress * 10.0).round() / 10.0,
                    "error": active.error,
                }))
            }
            "StartMeasurement" => {
                if active.run.is_some() {
                    return Err((
                        ErrorCode::ALREADY_RUNNING,
                        "Measurement already running".into(),
                    ));
                }
                if initializing {
                    return Err(invalid("Routine is not Ready (Initializing)"));
                }
                if active.error.is_some() {
                    return Err(invalid("Routine is in error: ClearErrors first"));
                }
                active.run = Some(Run { started: now });
                active.data = None;
                active.progress = 0.0;
                ack()
            }
            "StopMeasurement" => {
                if let Some(run) = active.run.take() {
                    let elapsed = now.saturating_duration_since(run.started);
                    let f = elapsed.saturating_sub(timing.start).as_secs_f64()
                        / timing.measure.as_secs_f64().max(1e-9);
                    active.data = Some(synthesize(active, f.min(1.0)));
                    active.progress = (f * 100.0).min(100.0);
                }
                ack()
            }
            "CloseRoutine" => {
                self.active = None;
                ack()
            }
            "ApplySettings" => {
                let settings = object_param(parameter).map_err(invalid)?;
                if active.run.is_some() {
                    return Err((
                        ErrorCode::ALREADY_RUNNING,
                        "Measurement running: settings are locked".into(),
                    ));
                }
                if initializing {
                    return Err(invalid("Routine is not Ready (Initializing)"));
                }
                if let Some(points) = settings.get("points")
                    && !points.as_u64().is_some_and(|p| (2..=100_000).contains(&p))
                {
                    return Err(invalid(
                        "Invalid parameters: points must be an integer from 2 to 100000",
                    ));
                }
                for (k, v) in settings {
                    active.settings.insert(k.clone(), v.clone());
                }
                ack()
            }
            "GetSettings" => Ok(Value::Object(active.settings.clone())),
            "GetTestData" => Ok(active.data.clone().unwrap_or_else(|| json!({}))),
            "SetInfo" => {
                let info = object_param(parameter).map_err(invalid)?;
                for (k, v) in info {
                    let ok = match k.as_str() {
                        "user_name" | "device_name" => v.is_string(),
                        "device_area" => v.as_f64().is_some_and(|a| a > 0.0),
                        _ => false,
                    };
                    if !ok {
                        return Err(invalid(format!("Invalid parameters: {k}")));
                    }
                }
                for (k, v) in info {
                    active.info.insert(k.clone(), v.clone());
                }
                ack()
            }
            "ClearErrors" => {
                active.error = None;
                ack()
            }
            "GetCustomCommands" => Ok(json!({ "CustomCommands": custom_commands(&active.name) })),
            other if custom_commands(&active.name).contains(&other) => {
                if other == "AcquireReference" {
                    active.reference_acquired = true;
                }
                ack()
            }
            other => Err(invalid(format!(
                "Unknown command {other} for routine {}",
                active.name
            ))),
        }
    }

    fn tmpctl(&mut self, command: &str, parameter: &Value, now: Instant) -> Outcome {
        match command {
            "GetStatus" => Ok(json!([{
                "address": self.tmpctl.address,
                "channel": self.tmpctl.channel,
                "temperature": (self.tmpctl.temperature(now) * 100.0).round() / 100.0,
                "setpoint": self.tmpctl.setpoint,
                "enabled": self.tmpctl.enabled,
            }])),
            "SetController" => {
                let address = string_param(parameter, "address")
                    .map_err(invalid)?
                    .to_string();
                let channel = number_param(parameter, "channel")
                    .ok()
                    .filter(|c| c.fract() == 0.0 && *c >= 0.0)
                    .ok_or_else(|| invalid("Invalid parameters: channel"))?;
                self.tmpctl.address = Some(address);
                self.tmpctl.channel = channel as u64;
                ack()
            }
            "SetTemperature" => {
                let t = number_param(parameter, "temperature").map_err(invalid)?;
                if !(-50.0..=150.0).contains(&t) {
                    return Err(invalid("Invalid parameters: temperature out of -50..150"));
                }
                self.tmpctl.retarget(now, |c| c.setpoint = t);
                ack()
            }
            "SetEnable" => {
                let enable = bool_param(parameter, "enable").map_err(invalid)?;
                self.tmpctl.retarget(now, |c| c.enabled = enable);
                ack()
            }
            _ => Err(invalid(format!(
                "Unknown command {command} for target TMPCTL"
            ))),
        }
    }

    fn mux(&mut self, command: &str, parameter: &Value) -> Outcome {
        match command {
            "Connect" => {
                self.mux_connected = true;
                ack()
            }
            "Disconnect" => {
                self.mux_connected = false;
                ack()
            }
            "GetStatus" => Ok(json!({
                "connected": self.mux_connected,
                "firmware": "sim-1.0",
                "nrRelays": Self::RELAYS,
                "status": self.relays,
            })),
            "SetStatus" => {
                if !self.mux_connected {
                    return Err(invalid("MUX not connected"));
                }
                let state = parameter
                    .get("state")
                    .and_then(Value::as_array)
                    .and_then(|s| s.iter().map(Value::as_bool).collect::<Option<Vec<bool>>>())
                    .ok_or_else(|| {
                        invalid("Invalid parameters: state must be an array of booleans")
                    })?;
                if state.len() != Self::RELAYS {
                    return Err(invalid(format!(
                        "Invalid parameters: {} relays, got {} states",
                        Self::RELAYS,
                        state.len()
                    )));
                }
                self.relays = state;
                ack()
            }
            _ => Err(invalid(format!("Unknown command {command} for target MUX"))),
        }
    }

    fn led(&mut self, command: &str, parameter: &Value) -> Outcome {
        match command {
            "GetStatus" => Ok(json!({
                "address": self.led_address,
                "channels": Self::LED_CHANNELS,
                "values": self.led_values,
            })),
            "SetValues" => {
                let address = string_param(parameter, "address")
                    .map_err(invalid)?
                    .to_string();
                let values = parameter
                    .get("values")
                    .and_then(Value::as_array)
                    .and_then(|s| s.iter().map(Value::as_f64).collect::<Option<Vec<f64>>>())
                    .ok_or_else(|| {
                        invalid("Invalid parameters: values must be an array of numbers")
                    })?;
                if values.len() != Self::LED_CHANNELS {
                    return Err((
                        ErrorCode::LED_VALUE_COUNT,
                        format!(
                            "Expected {} values, got {}",
                            Self::LED_CHANNELS,
                            values.len()
                        ),
                    ));
                }
                if values.iter().any(|v| !(0.0..=1.0).contains(v)) {
                    return Err(invalid("Invalid parameters: values must be within 0..1"));
                }
                self.led_address = Some(address);
                self.led_values = values;
                ack()
            }
            _ => Err(invalid(format!("Unknown command {command} for target LED"))),
        }
    }
}

/// The data of a routine run stopped at `fraction` (1.0: complete).
fn synthesize(active: &ActiveRoutine, fraction: f64) -> Value {
    let s = &active.settings;
    let num = |k: &str, default: f64| s.get(k).and_then(Value::as_f64).unwrap_or(default);
    let points = s.get("points").and_then(Value::as_u64).unwrap_or(71) as usize;
    match active.name.as_str() {
        "JV" | "Dark JV" => {
            let suns = num(
                "light_intensity_suns",
                if active.name == "JV" { 1.0 } else { 0.0 },
            );
            let cell = if suns <= 0.0 {
                Cell::dark()
            } else {
                Cell::PEROVSKITE.scaled(suns)
            };
            jv_curve(
                cell,
                num("v_start", -0.1),
                num("v_end", 1.3),
                points,
                fraction,
            )
        }
        "Luminescence" => spectrum(active.reference_acquired, fraction),
        other => trace(other, points, fraction),
    }
}

/// An error reply in the All-in-One style (status in capitals, as most command pages show).
pub(crate) fn error_reply(code: ErrorCode, message: &str) -> Value {
    json!({ "status": "ERROR", "error": { "code": code.0, "message": message } })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const TIMING: Timing = Timing {
        initialize: Duration::from_millis(100),
        start: Duration::from_millis(100),
        measure: Duration::from_millis(1000),
    };

    fn code(reply: &Value) -> Option<i64> {
        reply["error"]["code"].as_i64()
    }

    #[test]
    fn routine_commands_without_a_routine_fail_with_4006() {
        let mut sim = AllInOneInstrument::new(TIMING);
        for command in [
            "GetTestStatus",
            "StartMeasurement",
            "GetTestData",
            "CloseRoutine",
        ] {
            let reply = sim.handle("ROUTINE", command, &json!({}), Instant::now());
            assert_eq!(code(&reply), Some(4006), "{command}");
        }
    }

    #[test]
    fn routine_moves_through_its_states_on_the_clock() {
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let mut sim = AllInOneInstrument::new(TIMING);
        let status = |sim: &mut AllInOneInstrument, ms| {
            sim.handle("ROUTINE", "GetTestStatus", &json!({}), at(ms))["data"]["routine_status"]
                .as_str()
                .unwrap()
                .to_string()
        };
        let r = sim.handle("MAIN", "StartRoutine", &json!({"routine":"jv"}), t0);
        assert_eq!(r["status"], "OK", "{r}");
        assert_eq!(status(&mut sim, 50), "Initializing");
        let early = sim.handle("ROUTINE", "StartMeasurement", &json!({}), at(50));
        assert_eq!(code(&early), Some(101));
        assert_eq!(status(&mut sim, 150), "Ready");
        let r = sim.handle("ROUTINE", "StartMeasurement", &json!({}), at(200));
        assert_eq!(r["status"], "OK");
        assert_eq!(status(&mut sim, 250), "Starting");
        assert_eq!(status(&mut sim, 800), "Running");
        let again = sim.handle("ROUTINE", "StartMeasurement", &json!({}), at(800));
        assert_eq!(code(&again), Some(5005));
        assert_eq!(status(&mut sim, 1400), "Ready");
        let data = sim.handle("ROUTINE", "GetTestData", &json!({}), at(1400));
        assert_eq!(data["data"]["voltage_V"].as_array().unwrap().len(), 71);
        assert_eq!(data["data"]["parameters"]["Rsh_ohm_cm2"], "Infinity");
    }

    #[test]
    fn documented_error_codes() {
        let now = Instant::now();
        let mut sim = AllInOneInstrument::new(TIMING);
        let cases = [
            ("MAIN", "StartRoutine", json!({}), 101),
            ("MAIN", "StartRoutine", json!({"routine":"Nope"}), 101),
            (
                "LED",
                "SetValues",
                json!({"address":"A","values":[0.1]}),
                1001,
            ),
            (
                "LED",
                "SetValues",
                json!({"address":"A","values":[2,0,0,0]}),
                101,
            ),
            ("MUX", "SetStatus", json!({"state":[true]}), 101),
            (
                "TMPCTL",
                "SetTemperature",
                json!({"temperature":"hot"}),
                101,
            ),
            ("NOPE", "X", json!({}), 101),
        ];
        for (target, command, parameter, want) in cases {
            let reply = sim.handle(target, command, &parameter, now);
            assert_eq!(
                code(&reply),
                Some(want),
                "{target} {command} {parameter}: {reply}"
            );
            assert_eq!(reply["status"], "ERROR");
        }
    }

    #[test]
    fn tmpctl_status_is_an_array_approaching_the_setpoint() {
        let t0 = Instant::now();
        let mut sim = AllInOneInstrument::new(TIMING);
        sim.handle(
            "TMPCTL",
            "SetTemperature",
            &json!({"temperature": 60.0}),
            t0,
        );
        sim.handle("TMPCTL", "SetEnable", &json!({"enable": true}), t0);
        let later = sim.handle(
            "TMPCTL",
            "GetStatus",
            &json!({}),
            t0 + Duration::from_secs(2),
        );
        let t = later["data"][0]["temperature"].as_f64().unwrap();
        assert!(t > 25.0 && t < 60.0, "{t}");
    }
}
