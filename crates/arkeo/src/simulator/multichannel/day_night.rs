//! The global day-night cycle: GetGlobalDayNight and SetGlobalDayNight.
//!
//! It is day while day-night is disabled, or while the deciding sensor reads at least the
//! threshold. The simulated chamber irradiance stays near 1000 W/m², so with a threshold
//! below that it is always day; `Elapsed Time (s)` counts from the last switch (or power-on).

use std::time::Duration;

use serde_json::{Map, Value, json};

use super::channel_settings::DAY_NIGHT;
use super::sensors::{is_sensor, sensor_value};
use super::{Call, MultichannelInstrument, settings_object};
use crate::multichannel::{DayNight, DayNightSettings, DayNightStatus, algorithm};
use crate::simulator::clock::Moment;
use crate::simulator::outcome::{Failure, Outcome, to_json};
use crate::simulator::schema;

/// The day-night state.
#[derive(Debug, Clone)]
pub(crate) struct DayNightCycle {
    settings: Map<String, Value>,
    was_day: bool,
    since: Duration,
}

impl DayNightCycle {
    pub(crate) fn new() -> Self {
        let settings = json!({
            "enable": false, "sensor": 0, "threshold_value": 50.0, "threshold_duration": 60.0,
            "night_algorithm": algorithm::OPEN_CIRCUIT, "night_jv": false
        });
        DayNightCycle {
            settings: settings.as_object().cloned().unwrap_or_default(),
            was_day: true,
            since: Duration::ZERO,
        }
    }

    fn typed(&self) -> DayNightSettings {
        serde_json::from_value(Value::Object(self.settings.clone())).unwrap_or_default()
    }

    fn is_day(&self, t: Duration) -> (bool, f64) {
        let s = self.typed();
        let value = sensor_value(u64::from(s.sensor.unwrap_or(0)), t);
        let day = !s.enable.unwrap_or(false) || value >= s.threshold_value.unwrap_or(0.0);
        (day, value)
    }

    /// The `day_night` object at `at`.
    fn report(&mut self, at: Moment) -> Outcome {
        let (day, value) = self.is_day(at.t);
        if day != self.was_day {
            self.was_day = day;
            self.since = at.t;
        }
        let reply = DayNight {
            status: DayNightStatus {
                is_day: day,
                delay_timer: 0.0,
                elapsed_s: (at.t.saturating_sub(self.since).as_secs_f64() * 10.0).round() / 10.0,
                sensor_value: value,
                extra: Map::new(),
            },
            settings: self.typed(),
            extra: Map::new(),
        };
        Ok(json!({ "day_night": to_json(&reply)? }))
    }
}

/// `GetGlobalDayNight`: `{day_night: {status, settings}}`.
pub(crate) fn get_global_day_night(sim: &mut MultichannelInstrument, call: &Call<'_>) -> Outcome {
    call.no_indices()?;
    sim.day_night.report(call.at)
}

/// `SetGlobalDayNight {settings}`: a partial update of the six keys (the sensor must
/// exist); answers like GetGlobalDayNight.
pub(crate) fn set_global_day_night(sim: &mut MultichannelInstrument, call: &Call<'_>) -> Outcome {
    call.no_indices()?;
    let update = settings_object(call.required_parameter()?)?;
    schema::check(&update, DAY_NIGHT, "")?;
    if let Some(sensor) = update.get("sensor")
        && !sensor.as_u64().is_some_and(is_sensor)
    {
        return Err(Failure::invalid(format!(
            "Invalid parameters: sensor {sensor} is not a sensor channel (GetSensorsInfo lists them)"
        )));
    }
    let mut merged = sim.day_night.settings.clone();
    schema::merge(&mut merged, &update);
    schema::check_bounds(&merged)?;
    sim.day_night.settings = merged;
    sim.day_night.report(call.at)
}
