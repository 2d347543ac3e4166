//! The simulated sensors and environments, and their commands: GetSensorsInfo,
//! GetSensorsData, GetEnvironments, SetDeviceEnvironment.
//!
//! Four sensors: chamber irradiance (about 1000 W/m²), chamber temperature and humidity,
//! and an outdoor temperature on a daily cycle. Two environments group them: "Chamber A"
//! (sensors 0, 1, 2) and "Outdoor" (sensor 3). Every channel starts in "Chamber A".

use std::time::Duration;

use serde_json::{Map, Value, json};

use super::{Call, MultichannelInstrument};
use crate::ErrorCode;
use crate::multichannel::{
    ChannelAck, Environment, SchemaColumn, SensorCommon, SensorInfo, SensorOrigin, SensorSample,
    SensorsData,
};
use crate::simulator::outcome::{Failure, Outcome, did_you_mean, to_json};
use crate::simulator::params::{self, short};

/// The environments the simulator knows.
pub const ENVIRONMENTS: [&str; 2] = ["Chamber A", "Outdoor"];

/// The sensors: (channel, model, group, name, type, unit, external).
const SENSORS: [(u32, &str, &str, &str, &str, &str, bool); 4] = [
    (
        0,
        "SIM-PYR Irradiance",
        "Chamber A",
        "Irradiance",
        "Irradiance",
        "W/m2",
        false,
    ),
    (
        1,
        "SIM-TH Temperature",
        "Chamber A",
        "Temperature",
        "Temperature",
        "°C",
        false,
    ),
    (
        2,
        "SIM-TH Humidity",
        "Chamber A",
        "Humidity",
        "Humidity",
        "%",
        false,
    ),
    (
        3,
        "SIM-PT100 Temperature",
        "Outdoor",
        "Outdoor temperature",
        "Temperature",
        "°C",
        true,
    ),
];

/// The sensor channels of each environment, in [`ENVIRONMENTS`] order.
const ENVIRONMENT_SENSORS: [&[u32]; 2] = [&[0, 1, 2], &[3]];

/// True when `channel` is a sensor's channel.
pub(crate) fn is_sensor(channel: u64) -> bool {
    SENSORS.iter().any(|s| u64::from(s.0) == channel)
}

/// The value of sensor `channel` at instrument time `t` (NaN for no such sensor).
pub(crate) fn sensor_value(channel: u64, t: Duration) -> f64 {
    let s = t.as_secs_f64();
    let v = match channel {
        0 => 1000.0 + 5.0 * (s / 70.0).sin(),
        1 => 25.0 + 0.3 * (s / 110.0).sin(),
        2 => 41.0 + (s / 300.0).sin(),
        3 => 12.0 + 3.0 * (2.0 * std::f64::consts::PI * s / 86_400.0).sin(),
        _ => f64::NAN,
    };
    (v * 100.0).round() / 100.0
}

/// `GetSensorsInfo`: `{sensors: [{model, common {...}, specific {...}}]}`.
pub(crate) fn get_sensors_info(_: &mut MultichannelInstrument, call: &Call<'_>) -> Outcome {
    call.no_indices()?;
    let sensors: Vec<SensorInfo> = SENSORS
        .iter()
        .map(
            |&(channel, model, group, name, kind, unit, external)| SensorInfo {
                model: model.into(),
                common: SensorCommon {
                    group: group.into(),
                    name: name.into(),
                    channel,
                    sensor_type: kind.into(),
                    unit: unit.into(),
                    origin: SensorOrigin {
                        chamber: !external,
                        external,
                        extra: Map::new(),
                    },
                    extra: Map::new(),
                },
                specific: Map::new(),
                extra: Map::new(),
            },
        )
        .collect();
    Ok(json!({ "sensors": to_json(&sensors)? }))
}

/// `GetSensorsData`: `{schema: [{name, type}...], sensors: [[channel, value]...]}`.
pub(crate) fn get_sensors_data(_: &mut MultichannelInstrument, call: &Call<'_>) -> Outcome {
    call.no_indices()?;
    let column = |name: &str, kind: &str| SchemaColumn {
        name: name.into(),
        column_type: kind.into(),
        extra: Map::new(),
    };
    to_json(&SensorsData {
        schema: vec![column("channel", "uint16"), column("value", "float64")],
        sensors: SENSORS
            .iter()
            .map(|s| SensorSample {
                channel: s.0,
                value: sensor_value(u64::from(s.0), call.at.t),
            })
            .collect(),
        extra: Map::new(),
    })
}

/// `GetEnvironments`: `{environments: [{name, sensor_channels}]}`.
pub(crate) fn get_environments(_: &mut MultichannelInstrument, call: &Call<'_>) -> Outcome {
    call.no_indices()?;
    let environments: Vec<Environment> = ENVIRONMENTS
        .iter()
        .zip(ENVIRONMENT_SENSORS)
        .map(|(name, sensors)| Environment {
            name: name.to_string(),
            sensor_channels: sensors.to_vec(),
            extra: Map::new(),
        })
        .collect();
    Ok(json!({ "environments": to_json(&environments)? }))
}

/// `SetDeviceEnvironment {environment}` on the listed channels (5002 for an unknown name;
/// a legacy `parameters` key is read as `parameter`).
pub(crate) fn set_device_environment(sim: &mut MultichannelInstrument, call: &Call<'_>) -> Outcome {
    let picked = call.channels(sim.channels.len())?;
    let parameter = params::object(call.required_parameter()?)?;
    let name = params::text(parameter, "environment")?;
    let Some(&environment) = ENVIRONMENTS.iter().find(|e| **e == name) else {
        return Err(Failure::new(
            ErrorCode::INVALID_ENVIRONMENT,
            format!(
                "Invalid environment: {}{} (GetEnvironments lists them)",
                short(name),
                did_you_mean(name, &ENVIRONMENTS)
            ),
        ));
    };
    let mut acks = Vec::with_capacity(picked.len());
    for i in picked {
        sim.channels[i].environment = environment.to_string();
        let mut extra = Map::new();
        extra.insert("environment".into(), Value::from(environment));
        acks.push(ChannelAck {
            index: i as u32,
            result: "ok".into(),
            extra,
        });
    }
    Ok(json!({ "channels": to_json(&acks)? }))
}
