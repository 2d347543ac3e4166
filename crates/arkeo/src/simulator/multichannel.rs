//! The Multichannel instrument: source-measure channels, sensors, environments, day-night.
//!
//! Sans-IO: [`MultichannelInstrument::handle`] takes the command, indices, parameter and
//! `now`, and returns the reply object.

use std::time::Instant;

use serde_json::{Map, Value, json};

use super::synthetic::{Cell, jv_curve};
use super::{Timing, string_param};
use crate::ErrorCode;
use crate::nonfinite::from_f64;

/// The device environments the simulator knows.
pub const ENVIRONMENTS: [&str; 3] = ["default", "chamber-a", "chamber-b"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Idle,
    ReadyToStart,
    Running,
    Stopped,
}

impl State {
    fn name(self) -> &'static str {
        match self {
            State::Idle => "idle",
            State::ReadyToStart => "ready to start",
            State::Running => "running",
            State::Stopped => "stopped",
        }
    }
}

#[derive(Debug, Clone)]
struct Channel {
    enabled: bool,
    user: String,
    device: String,
    measurement: String,
    direction: String,
    environment: String,
    settings: Map<String, Value>,
    state: State,
    started: Option<Instant>,
    latest_jv: Option<(Instant, Value)>,
}

impl Channel {
    fn new() -> Self {
        let settings = match json!({
            "jv_interval_s": 600, "v_start": -0.1, "v_end": 1.3, "points": 71,
            "tracking": "mpp", "area_cm2": 0.1
        }) {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        Channel {
            enabled: false,
            user: String::new(),
            device: String::new(),
            measurement: "tracking".into(),
            direction: "forward".into(),
            environment: "default".into(),
            settings,
            state: State::Idle,
            started: None,
            latest_jv: None,
        }
    }

    /// The cell degrades slowly while it runs (1% of current per simulated minute).
    fn cell(&self, now: Instant) -> Cell {
        let minutes = self
            .started
            .map(|s| now.saturating_duration_since(s).as_secs_f64() / 60.0)
            .unwrap_or(0.0);
        Cell::PEROVSKITE.scaled((1.0 - 0.01 * minutes).max(0.2))
    }

    fn jv(&self, now: Instant) -> Value {
        let num = |k: &str, d: f64| self.settings.get(k).and_then(Value::as_f64).unwrap_or(d);
        let points = self
            .settings
            .get("points")
            .and_then(Value::as_u64)
            .unwrap_or(71) as usize;
        jv_curve(
            self.cell(now),
            num("v_start", -0.1),
            num("v_end", 1.3),
            points,
            1.0,
        )
    }

    fn full_settings(&self) -> Value {
        let mut s = self.settings.clone();
        s.insert("enable".into(), self.enabled.into());
        s.insert("user".into(), self.user.clone().into());
        s.insert("device".into(), self.device.clone().into());
        s.insert("measurement".into(), self.measurement.clone().into());
        s.insert("direction".into(), self.direction.clone().into());
        s.insert("environment".into(), self.environment.clone().into());
        Value::Object(s)
    }
}

type Outcome = Result<Value, (ErrorCode, String)>;

fn invalid(message: impl Into<String>) -> (ErrorCode, String) {
    (ErrorCode::INVALID_PARAMETERS, message.into())
}

/// The simulated Multichannel instrument. One per simulator, shared by its connections.
#[derive(Debug, Clone)]
pub struct MultichannelInstrument {
    timing: Timing,
    created: Instant,
    unix_at_creation: f64,
    channels: Vec<Channel>,
    day_night: Map<String, Value>,
}

impl MultichannelInstrument {
    /// An instrument with `channels` idle channels. `unix_now` is the wall-clock time at
    /// `now`, for the timestamps in replies.
    pub fn new(timing: Timing, channels: usize, now: Instant, unix_now: f64) -> Self {
        let day_night = match json!({ "enabled": false, "day_minutes": 720, "night_minutes": 720 })
        {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        MultichannelInstrument {
            timing,
            created: now,
            unix_at_creation: unix_now,
            channels: (0..channels).map(|_| Channel::new()).collect(),
            day_night,
        }
    }

    fn timestamp(&self, now: Instant) -> f64 {
        let t = self.unix_at_creation + now.saturating_duration_since(self.created).as_secs_f64();
        (t * 1000.0).round() / 1000.0
    }

    /// Answers one request.
    pub fn handle(
        &mut self,
        command: &str,
        indices: Option<&Value>,
        parameter: &Value,
        now: Instant,
    ) -> Value {
        let outcome = self.dispatch(command, indices, parameter, now);
        match outcome {
            Ok(Value::Object(mut payload)) => {
                let mut reply = Map::new();
                reply.insert("status".into(), "ok".into());
                reply.append(&mut payload);
                Value::Object(reply)
            }
            Ok(other) => json!({ "status": "ok", "result": other }),
            Err((code, message)) => error_reply(code, &message),
        }
    }

    fn indices(
        &self,
        indices: Option<&Value>,
        required: bool,
    ) -> Result<Vec<usize>, (ErrorCode, String)> {
        let Some(indices) = indices.filter(|i| !i.is_null()) else {
            if required {
                return Err(invalid("Invalid parameters: indices required"));
            }
            return Ok((0..self.channels.len()).collect());
        };
        let list = indices
            .as_array()
            .ok_or_else(|| invalid("Invalid parameters: indices must be an array"))?;
        list.iter()
            .map(|i| {
                i.as_u64()
                    .map(|i| i as usize)
                    .filter(|&i| i < self.channels.len())
                    .ok_or_else(|| {
                        invalid(format!(
                            "Invalid parameters: channel index {i} (the instrument has {} channels)",
                            self.channels.len()
                        ))
                    })
            })
            .collect()
    }

    fn dispatch(
        &mut self,
        command: &str,
        indices: Option<&Value>,
        parameter: &Value,
        now: Instant,
    ) -> Outcome {
        match command {
            "SetChannelSettings" => {
                let picked = self.indices(indices, true)?;
                let settings = settings_param(parameter)?;
                // All or nothing: apply to copies, commit only when every channel took them.
                let mut updated = Vec::with_capacity(picked.len());
                for &i in &picked {
                    let mut channel = self.channels[i].clone();
                    apply_settings(&mut channel, &settings)?;
                    updated.push((i, channel));
                }
                for (i, channel) in updated {
                    self.channels[i] = channel;
                }
                Ok(
                    json!({ "channels": picked.iter().map(|i| json!({"index": i, "result": "ok"})).collect::<Vec<_>>() }),
                )
            }
            "GetChannelSettings" => {
                let picked = self.indices(indices, false)?;
                Ok(json!({ "channels": picked.iter().map(|&i| json!({
                    "index": i, "settings": self.channels[i].full_settings()
                })).collect::<Vec<_>>() }))
            }
            "StartMeasurement" => {
                if self.channels.iter().any(|c| c.state == State::Running) {
                    return Err((
                        ErrorCode::ALREADY_RUNNING,
                        "Measurement already running".into(),
                    ));
                }
                if !self.channels.iter().any(|c| c.enabled) {
                    return Err((
                        ErrorCode::NO_CHANNEL_RUNNING,
                        "No channel running, enable at least 1 channel".into(),
                    ));
                }
                let mut report = Vec::new();
                for (i, c) in self
                    .channels
                    .iter_mut()
                    .enumerate()
                    .filter(|(_, c)| c.enabled)
                {
                    let previous = c.state;
                    c.state = State::Running;
                    c.started = Some(now);
                    c.latest_jv = None;
                    report.push(json!({
                        "index": i, "enabled": true, "previous_state": previous.name(),
                        "new_state": "running", "result": "started"
                    }));
                }
                Ok(json!({ "channels": report }))
            }
            "StopChannel" => {
                let picked = self.indices(indices, true)?;
                let report: Vec<Value> = picked
                    .iter()
                    .map(|&i| {
                        let c = &mut self.channels[i];
                        let previous = c.state;
                        let result = if previous == State::Running {
                            c.state = State::Stopped;
                            "stopped"
                        } else {
                            "not running"
                        };
                        json!({
                            "index": i, "enabled": c.enabled, "previous_state": previous.name(),
                            "new_state": c.state.name(), "result": result
                        })
                    })
                    .collect();
                Ok(json!({ "channels": report }))
            }
            "ForceJV" => {
                let picked = self.indices(indices, true)?;
                let report: Vec<Value> = picked
                    .iter()
                    .map(|&i| {
                        let c = &mut self.channels[i];
                        if c.state == State::Running {
                            c.latest_jv = Some((now, c.jv(now)));
                            json!({ "index": i, "result": "ok" })
                        } else {
                            json!({ "index": i, "result": "not running" })
                        }
                    })
                    .collect();
                Ok(json!({ "channels": report }))
            }
            "GetChannelState" => {
                let picked = self.indices(indices, false)?;
                Ok(json!({ "channels": picked.iter().map(|&i| {
                    let c = &self.channels[i];
                    json!({
                        "index": i, "enable": c.enabled, "user": c.user, "device": c.device,
                        "measurement": c.measurement, "direction": c.direction,
                        "state": c.state.name(),
                    })
                }).collect::<Vec<_>>() }))
            }
            "GetLatestJV" => {
                let picked = self.indices(indices, false)?;
                let period = self.timing.measure;
                let mut report = Vec::new();
                for &i in &picked {
                    let c = &mut self.channels[i];
                    // A running channel sweeps once per measurement period.
                    if c.state == State::Running {
                        let due = match &c.latest_jv {
                            None => c.started.is_some_and(|s| now >= s + period),
                            Some((at, _)) => now >= *at + period,
                        };
                        if due {
                            c.latest_jv = Some((now, c.jv(now)));
                        }
                    }
                    let jv = c
                        .latest_jv
                        .as_ref()
                        .map_or(Value::Null, |(_, jv)| jv.clone());
                    report.push(json!({ "index": i, "timestamp": Value::Null, "jv": jv }));
                }
                let created = self.created;
                let base = self.unix_at_creation;
                for (entry, &i) in report.iter_mut().zip(&picked) {
                    if let Some((at, _)) = &self.channels[i].latest_jv {
                        let t = base + at.saturating_duration_since(created).as_secs_f64();
                        entry["timestamp"] = json!((t * 1000.0).round() / 1000.0);
                    }
                }
                Ok(json!({ "channels": report }))
            }
            "GetIV" => {
                let picked = self.indices(indices, false)?;
                let rows: Vec<Value> = picked
                    .iter()
                    .map(|&i| {
                        let c = &self.channels[i];
                        if c.state == State::Running {
                            let (v, j) = c.cell(now).mpp();
                            let area = c
                                .settings
                                .get("area_cm2")
                                .and_then(Value::as_f64)
                                .unwrap_or(0.1);
                            json!([i, from_f64(v), from_f64(j * area), from_f64(v * j * area)])
                        } else {
                            // No live point on an idle channel: NaN, as the instrument sends.
                            json!([
                                i,
                                from_f64(f64::NAN),
                                from_f64(f64::NAN),
                                from_f64(f64::NAN)
                            ])
                        }
                    })
                    .collect();
                Ok(json!({
                    "schema": ["index", "voltage_V", "current_mA", "power_mW"],
                    "data": rows,
                    "timestamp": self.timestamp(now),
                }))
            }
            "SetDeviceEnvironment" => {
                let picked = self.indices(indices, true)?;
                let environment = string_param(parameter, "environment").map_err(invalid)?;
                let Some(env) = ENVIRONMENTS
                    .iter()
                    .find(|e| e.eq_ignore_ascii_case(environment))
                else {
                    return Err((
                        ErrorCode::INVALID_ENVIRONMENT,
                        format!("Invalid environment: {environment}"),
                    ));
                };
                for &i in &picked {
                    self.channels[i].environment = (*env).to_string();
                }
                Ok(
                    json!({ "channels": picked.iter().map(|i| json!({"index": i, "environment": env, "result": "ok"})).collect::<Vec<_>>() }),
                )
            }
            "GetEnvironments" => Ok(json!({ "environments": ENVIRONMENTS.iter().map(|e| json!({
                "name": e, "channels": self.channels.iter().enumerate()
                    .filter(|(_, c)| c.environment == *e).map(|(i, _)| i).collect::<Vec<_>>()
            })).collect::<Vec<_>>() })),
            "GetSensorsInfo" => Ok(json!({ "sensors": [
                { "index": 0, "name": "irradiance", "unit": "W/m2" },
                { "index": 1, "name": "temperature", "unit": "degC" },
                { "index": 2, "name": "humidity", "unit": "%" },
            ] })),
            "GetSensorsData" => {
                let t = now.saturating_duration_since(self.created).as_secs_f64();
                let ts = self.timestamp(now);
                Ok(json!({ "sensors": [
                    { "index": 0, "value": 1000.0 + 5.0 * (t / 7.0).sin(), "timestamp": ts },
                    { "index": 1, "value": 25.0 + 0.3 * (t / 11.0).sin(), "timestamp": ts },
                    { "index": 2, "value": 41.0, "timestamp": ts },
                ] }))
            }
            "GetGlobalDayNight" => Ok(json!({ "day_night": self.day_night })),
            "SetGlobalDayNight" => {
                let settings = settings_param(parameter)?;
                for (k, v) in settings {
                    self.day_night.insert(k, v);
                }
                Ok(json!({ "day_night": self.day_night }))
            }
            _ => Err(invalid("Not a valid command")),
        }
    }
}

/// `parameter.settings` as an object or a JSON-encoded string (5001 when the string is
/// not JSON).
fn settings_param(parameter: &Value) -> Result<Map<String, Value>, (ErrorCode, String)> {
    match parameter.get("settings") {
        Some(Value::Object(m)) => Ok(m.clone()),
        Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
            Ok(Value::Object(m)) => Ok(m),
            Ok(_) => Err(invalid("Invalid parameters: settings must be an object")),
            Err(e) => Err((
                ErrorCode::INVALID_JSON,
                format!("Invalid JSON in settings: {e}"),
            )),
        },
        _ => Err(invalid("Invalid parameters: settings required")),
    }
}

fn apply_settings(
    c: &mut Channel,
    settings: &Map<String, Value>,
) -> Result<(), (ErrorCode, String)> {
    for (k, v) in settings {
        match k.as_str() {
            "enable" | "enabled" => {
                let on = v
                    .as_bool()
                    .ok_or_else(|| invalid("Invalid parameters: enable"))?;
                c.enabled = on;
                if c.state != State::Running {
                    c.state = if on { State::ReadyToStart } else { State::Idle };
                }
            }
            "user" | "device" => {
                let s = v
                    .as_str()
                    .ok_or_else(|| invalid(format!("Invalid parameters: {k}")))?;
                if k == "user" {
                    c.user = s.into();
                } else {
                    c.device = s.into();
                }
            }
            "measurement" => match v.as_str() {
                Some(m @ ("jv" | "tracking")) => c.measurement = m.into(),
                _ => {
                    return Err(invalid(
                        "Invalid parameters: measurement must be jv or tracking",
                    ));
                }
            },
            "direction" => match v.as_str() {
                Some(d @ ("forward" | "reverse")) => c.direction = d.into(),
                _ => {
                    return Err(invalid(
                        "Invalid parameters: direction must be forward or reverse",
                    ));
                }
            },
            "points" if !v.as_u64().is_some_and(|p| (2..=100_000).contains(&p)) => {
                return Err(invalid(
                    "Invalid parameters: points must be an integer from 2 to 100000",
                ));
            }
            _ => {
                c.settings.insert(k.clone(), v.clone());
            }
        }
    }
    Ok(())
}

/// An error reply in the Multichannel style.
pub(crate) fn error_reply(code: ErrorCode, message: &str) -> Value {
    json!({ "status": "error", "error": { "code": code.0, "message": message } })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn sim() -> (MultichannelInstrument, Instant) {
        let now = Instant::now();
        (
            MultichannelInstrument::new(Timing::fast(), 4, now, 1.7e9),
            now,
        )
    }

    fn code(reply: &Value) -> Option<i64> {
        reply["error"]["code"].as_i64()
    }

    #[test]
    fn start_needs_an_enabled_channel_and_not_twice() {
        let (mut sim, now) = sim();
        let r = sim.handle("StartMeasurement", None, &Value::Null, now);
        assert_eq!(code(&r), Some(5006), "{r}");
        let r = sim.handle(
            "SetChannelSettings",
            Some(&json!([0, 2])),
            &json!({"settings": "{\"enable\": true}"}),
            now,
        );
        assert_eq!(r["status"], "ok", "{r}");
        let r = sim.handle("StartMeasurement", None, &Value::Null, now);
        assert_eq!(r["channels"].as_array().unwrap().len(), 2, "{r}");
        assert_eq!(r["channels"][0]["previous_state"], "ready to start");
        let r = sim.handle("StartMeasurement", None, &Value::Null, now);
        assert_eq!(code(&r), Some(5005));
    }

    #[test]
    fn documented_error_codes() {
        let (mut sim, now) = sim();
        let cases = [
            (
                "SetDeviceEnvironment",
                Some(json!([0])),
                json!({"environment":"mars"}),
                5002,
            ),
            (
                "SetChannelSettings",
                Some(json!([0])),
                json!({"settings":"{not json"}),
                5001,
            ),
            ("SetChannelSettings", None, json!({"settings":{}}), 101),
            ("GetChannelState", Some(json!([9])), Value::Null, 101),
            (
                "SetChannelSettings",
                Some(json!([0])),
                json!({"settings":{"points": 1_000_000_000_000u64}}),
                101,
            ),
            ("Frobnicate", None, Value::Null, 101),
        ];
        for (command, indices, parameter, want) in cases {
            let r = sim.handle(command, indices.as_ref(), &parameter, now);
            assert_eq!(code(&r), Some(want), "{command}: {r}");
            assert_eq!(r["status"], "error");
        }
    }

    #[test]
    fn live_iv_is_nan_on_idle_channels_and_latest_jv_appears_on_running_ones() {
        let (mut sim, now) = sim();
        sim.handle(
            "SetChannelSettings",
            Some(&json!([1])),
            &json!({"settings":{"enable":true}}),
            now,
        );
        sim.handle("StartMeasurement", None, &Value::Null, now);
        let iv = sim.handle("GetIV", Some(&json!([0, 1])), &Value::Null, now);
        assert_eq!(iv["data"][0][1], "NaN", "{iv}");
        assert!(iv["data"][1][1].as_f64().unwrap() > 0.5);
        let later = now + Timing::fast().measure + Duration::from_millis(1);
        let jv = sim.handle("GetLatestJV", Some(&json!([0, 1])), &Value::Null, later);
        assert!(jv["channels"][0]["jv"].is_null());
        assert!(jv["channels"][1]["jv"]["parameters"].is_object(), "{jv}");
        assert!(jv["channels"][1]["timestamp"].as_f64().unwrap() > 1.7e9);
    }
}
