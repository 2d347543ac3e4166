//! The devices beside the routines: the temperature controller (TMPCTL), the relay
//! multiplexer (MUX) and the LED light source (LED), and their command handlers.

use std::time::Duration;

use serde_json::{Value, json};

use super::{AllInOneInstrument, Call, ack};
use crate::ErrorCode;
use crate::all_in_one::MuxStatus;
use crate::simulator::clock::iso8601;
use crate::simulator::outcome::{Failure, Outcome, to_json};
use crate::simulator::params;

/// LED channels on the simulated light source (the vendor's SetValues example has 12).
pub(crate) const LED_CHANNELS: usize = 12;
/// The address of the simulated light source's one board.
pub(crate) const LED_BOARD: i64 = 1;
/// Addresses and channels accepted by TMPCTL SetController and LED SetValues.
const ADDRESSES: std::ops::RangeInclusive<i64> = 0..=255;
/// Within this many °C of its target an enabled controller reports "Stable".
const STABLE_BAND: f64 = 0.1;
/// Relays on the simulated multiplexer.
pub(crate) const RELAYS: usize = 8;

/// A temperature controller relaxing towards its target with a 30 s time constant.
#[derive(Debug, Clone)]
pub(crate) struct TemperatureController {
    address: i64,
    channel: u64,
    enabled: bool,
    setpoint: f64,
    /// The temperature when the target last changed, and when.
    from: f64,
    since: Duration,
}

impl TemperatureController {
    const AMBIENT: f64 = 25.0;
    const TAU_S: f64 = 30.0;

    pub(crate) fn new() -> Self {
        TemperatureController {
            address: 0,
            channel: 0,
            enabled: false,
            setpoint: Self::AMBIENT,
            from: Self::AMBIENT,
            since: Duration::ZERO,
        }
    }

    fn target(&self) -> f64 {
        if self.enabled {
            self.setpoint
        } else {
            Self::AMBIENT
        }
    }

    /// The temperature at instrument time `t`, in °C.
    pub(crate) fn temperature(&self, t: Duration) -> f64 {
        let dt = t.saturating_sub(self.since).as_secs_f64();
        self.target() + (self.from - self.target()) * (-dt / Self::TAU_S).exp()
    }

    fn retarget(&mut self, t: Duration, change: impl FnOnce(&mut Self)) {
        self.from = self.temperature(t);
        self.since = t;
        change(self);
    }
}

/// The relay multiplexer.
#[derive(Debug, Clone)]
pub(crate) struct Mux {
    connected: bool,
    relays: Vec<bool>,
}

impl Mux {
    pub(crate) fn new() -> Self {
        Mux {
            connected: false,
            relays: vec![false; RELAYS],
        }
    }
}

/// The LED light source.
#[derive(Debug, Clone)]
pub(crate) struct Led {
    values: Vec<f64>,
}

impl Led {
    pub(crate) fn new() -> Self {
        Led {
            values: vec![0.0; LED_CHANNELS],
        }
    }
}

/// TMPCTL `SetController {address, channel}`: two integers (0 to 255), as the vendor's
/// example sends them.
pub(crate) fn tmpctl_set_controller(sim: &mut AllInOneInstrument, call: &Call<'_>) -> Outcome {
    let address = params::integer(call.parameter, "address", ADDRESSES)?;
    let channel = params::integer(call.parameter, "channel", ADDRESSES)?;
    sim.tmpctl.address = address;
    sim.tmpctl.channel = channel as u64;
    ack()
}

/// TMPCTL `GetStatus`: an array with the one controller, in the vendor's shape. Simulated:
/// the object temperature, the target, the state ("Run" while enabled, else "Ready") and
/// "Stable"; the output stage, the fan and the sink are not (their documented defaults).
pub(crate) fn tmpctl_get_status(sim: &mut AllInOneInstrument, call: &Call<'_>) -> Outcome {
    let c = &sim.tmpctl;
    let temperature = (c.temperature(call.at.t) * 100.0).round() / 100.0;
    let (state, stable) = if c.enabled {
        let stable = (c.temperature(call.at.t) - c.setpoint).abs() <= STABLE_BAND;
        ("Run", if stable { "Stable" } else { "Not Stable" })
    } else {
        ("Ready", "Not Active")
    };
    Ok(json!([{
        "address": c.address,
        "channel": c.channel,
        "name": "",
        "DeviceStatus": {
            "State": state,
            "Error Number": 0,
            "Error Instance": 0,
            "Error Parameter": 0,
        },
        "LatestMeasurement": {
            "Time Stamp": iso8601(call.at.unix),
            "Temp. Measurement": {
                "Object Temperature": temperature,
                "Sink Temperature": TemperatureController::AMBIENT,
                "Stable": stable,
            },
            "Temp. Control": {
                "Target Object Temperature": c.setpoint,
                "(Ramp) Nominal Object Temperature": c.target(),
                "Thermal Power Model Current": 0,
            },
            "Output Stage Monitoring": {"Output Current": 0, "Output Voltage": 0},
            "Sink Temp. General": {"Temperature Selection": "External", "Fixed Temperature": 0},
            "Fan Controller": {
                "Relative Cooling Power": 0,
                "Nominal FAN Speed": 0,
                "Actual FAN Speed": 0,
                "FAN PWM Level": 0,
                "Enabled": 0,
                "Target Temperature": 0,
                "0% Speed": 0,
                "100% Speed": 0,
            },
        },
    }]))
}

/// TMPCTL `SetTemperature {temperature}` (-50 to 150 °C).
pub(crate) fn tmpctl_set_temperature(sim: &mut AllInOneInstrument, call: &Call<'_>) -> Outcome {
    let t = params::number(call.parameter, "temperature")?;
    if !(-50.0..=150.0).contains(&t) {
        return Err(Failure::invalid(
            "Invalid parameters: temperature out of -50..150",
        ));
    }
    sim.tmpctl.retarget(call.at.t, |c| c.setpoint = t);
    ack()
}

/// TMPCTL `SetEnable {enable}`.
pub(crate) fn tmpctl_set_enable(sim: &mut AllInOneInstrument, call: &Call<'_>) -> Outcome {
    let enable = params::boolean(call.parameter, "enable")?;
    sim.tmpctl.retarget(call.at.t, |c| c.enabled = enable);
    ack()
}

/// MUX `Connect`.
pub(crate) fn mux_connect(sim: &mut AllInOneInstrument, _: &Call<'_>) -> Outcome {
    sim.mux.connected = true;
    ack()
}

/// MUX `Disconnect`.
pub(crate) fn mux_disconnect(sim: &mut AllInOneInstrument, _: &Call<'_>) -> Outcome {
    sim.mux.connected = false;
    ack()
}

/// MUX `GetStatus`: `{connected, firmware, nrRelays, status}`.
pub(crate) fn mux_get_status(sim: &mut AllInOneInstrument, _: &Call<'_>) -> Outcome {
    to_json(&MuxStatus {
        connected: sim.mux.connected,
        firmware: "sim-1.0".into(),
        relays: RELAYS as u32,
        status: sim.mux.relays.clone(),
        extra: Default::default(),
    })
}

/// MUX `SetStatus {state}`: one boolean per relay, after Connect.
pub(crate) fn mux_set_status(sim: &mut AllInOneInstrument, call: &Call<'_>) -> Outcome {
    if !sim.mux.connected {
        return Err(Failure::invalid("MUX not connected: send Connect first"));
    }
    let state = call
        .parameter
        .get("state")
        .and_then(Value::as_array)
        .ok_or_else(|| {
            Failure::invalid("Invalid parameters: state (an array of booleans) required")
        })?;
    if state.len() != RELAYS {
        return Err(Failure::invalid(format!(
            "Invalid parameters: {RELAYS} relays, got {} states",
            state.len()
        )));
    }
    let state = state
        .iter()
        .map(Value::as_bool)
        .collect::<Option<Vec<bool>>>()
        .ok_or_else(|| {
            Failure::invalid("Invalid parameters: state must be an array of booleans")
        })?;
    sim.mux.relays = state;
    ack()
}

/// LED `GetStatus`: `{connected, driver, boards: [{address, connected, values}]}`, one
/// board at address 1.
pub(crate) fn led_get_status(sim: &mut AllInOneInstrument, _: &Call<'_>) -> Outcome {
    Ok(json!({
        "connected": true,
        "driver": "LVVISA",
        "boards": [{"address": LED_BOARD, "connected": true, "values": sim.led.values}],
    }))
}

/// LED `SetValues {address, values}`: one value per channel, coerced into 0..=1 as the
/// vendor documents; a wrong count is 1001 with the vendor's message, an address without a
/// board 101.
pub(crate) fn led_set_values(sim: &mut AllInOneInstrument, call: &Call<'_>) -> Outcome {
    let address = params::integer(call.parameter, "address", ADDRESSES)?;
    if address != LED_BOARD {
        return Err(Failure::invalid(format!(
            "Invalid parameters: no LED board at address {address} (boards: {LED_BOARD})"
        )));
    }
    let values = call
        .parameter
        .get("values")
        .and_then(Value::as_array)
        .ok_or_else(|| {
            Failure::invalid("Invalid parameters: values (an array of numbers) required")
        })?;
    if values.len() != LED_CHANNELS {
        return Err(Failure::new(
            ErrorCode::LED_VALUE_COUNT,
            format!(
                "Invalid array size: {}. Must match number of channels: {LED_CHANNELS}",
                values.len()
            ),
        ));
    }
    let values = values
        .iter()
        .map(|v| v.as_f64().filter(|v| !v.is_nan()))
        .collect::<Option<Vec<f64>>>()
        .ok_or_else(|| Failure::invalid("Invalid parameters: values must be numbers"))?;
    sim.led.values = values.into_iter().map(|v| v.clamp(0.0, 1.0)).collect();
    ack()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulator::Timing;
    use crate::simulator::all_in_one::send_at as send;

    fn refusal(reply: &Value) -> Option<(i64, String)> {
        let e = reply.get("error")?;
        Some((e["code"].as_i64()?, e["message"].as_str()?.to_string()))
    }

    #[test]
    fn set_controller_takes_the_vendors_integer_address_and_refuses_a_string() {
        let cases = [
            (json!({"address": 1, "channel": 1}), None),
            (json!({"address": 3, "channel": 0}), None),
            (
                json!({"address": "1", "channel": 1}),
                Some("address must be an integer from 0 to 255, got a string"),
            ),
            (
                json!({"address": 1, "channel": "1"}),
                Some("channel must be an integer from 0 to 255, got a string"),
            ),
            (
                json!({"address": 1, "channel": 256}),
                Some("channel must be an integer"),
            ),
            (
                json!({"Address": 1, "channel": 1}),
                Some("keys are case-sensitive"),
            ),
        ];
        for (p, want) in cases {
            let mut sim = AllInOneInstrument::new(Timing::default());
            let reply = send(&mut sim, "TMPCTL", "SetController", p.clone(), 0.0);
            match want {
                None => {
                    assert_eq!(reply["data"], json!({"state": "OK"}), "{p}");
                    let status = send(&mut sim, "TMPCTL", "GetStatus", json!({}), 0.0);
                    assert_eq!(status["data"][0]["address"], p["address"], "{p}");
                    assert_eq!(status["data"][0]["channel"], p["channel"], "{p}");
                }
                Some(want) => {
                    let (code, message) = refusal(&reply).unwrap();
                    assert_eq!(code, 101, "{p}");
                    assert!(message.contains(want), "{p}: {message}");
                }
            }
        }
    }

    #[test]
    fn tmpctl_status_has_the_vendors_shape_and_follows_the_simulation() {
        let mut sim = AllInOneInstrument::new(Timing::default());
        let status = |sim: &mut AllInOneInstrument, t| {
            send(sim, "TMPCTL", "GetStatus", json!({}), t)["data"][0].clone()
        };
        let idle = status(&mut sim, 0.0);
        assert_eq!(idle["DeviceStatus"]["State"], "Ready");
        let m = &idle["LatestMeasurement"];
        assert_eq!(m["Temp. Measurement"]["Stable"], "Not Active");
        assert_eq!(m["Temp. Measurement"]["Object Temperature"], 25.0);
        assert_eq!(m["Time Stamp"], "1970-01-01T00:00:00.000Z");
        send(
            &mut sim,
            "TMPCTL",
            "SetTemperature",
            json!({"temperature": 40}),
            0.0,
        );
        send(
            &mut sim,
            "TMPCTL",
            "SetEnable",
            json!({"enable": true}),
            0.0,
        );
        // (t, State, Stable, object temperature within)
        let cases = [
            (1.0, "Run", "Not Stable", 25.0..40.0),
            (30.0, "Run", "Not Stable", 30.0..40.0),
            (600.0, "Run", "Stable", 39.9..40.1),
        ];
        for (t, state, stable, range) in cases {
            let s = status(&mut sim, t);
            let m = &s["LatestMeasurement"];
            assert_eq!(s["DeviceStatus"]["State"], state, "{t}");
            assert_eq!(m["Temp. Measurement"]["Stable"], stable, "{t}");
            let temperature = m["Temp. Measurement"]["Object Temperature"]
                .as_f64()
                .unwrap();
            assert!(range.contains(&temperature), "{t}: {temperature}");
            assert_eq!(m["Temp. Control"]["Target Object Temperature"], 40.0, "{t}");
            assert!(m["Time Stamp"].as_str().unwrap().ends_with('Z'));
        }
    }

    #[test]
    fn led_status_is_one_board_at_address_1_with_12_channels() {
        let mut sim = AllInOneInstrument::new(Timing::default());
        let reply = send(&mut sim, "LED", "GetStatus", json!({}), 0.0);
        assert_eq!(
            reply["data"],
            json!({"connected": true, "driver": "LVVISA",
                   "boards": [{"address": 1, "connected": true, "values": vec![0.0; 12]}]})
        );
    }

    #[test]
    fn led_values_are_coerced_into_0_to_1_and_a_wrong_count_is_1001() {
        let twelve = |v: f64| json!([v, 0, 0.8, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        // (parameter, stored first value, or the refusal's code and message)
        type Want = Result<f64, (i64, &'static str)>;
        let cases: Vec<(Value, Want)> = vec![
            (json!({"address": 1, "values": twelve(0.5)}), Ok(0.5)),
            (json!({"address": 1, "values": twelve(1.5)}), Ok(1.0)),
            (json!({"address": 1, "values": twelve(-0.2)}), Ok(0.0)),
            (
                json!({"address": 1, "values": [0.5]}),
                Err((
                    1001,
                    "Invalid array size: 1. Must match number of channels: 12",
                )),
            ),
            (
                json!({"address": 1, "values": [0.5, 0.5, 0.5, 0.5]}),
                Err((
                    1001,
                    "Invalid array size: 4. Must match number of channels: 12",
                )),
            ),
            (
                json!({"address": 2, "values": twelve(0.5)}),
                Err((101, "no LED board at address 2")),
            ),
            (
                json!({"address": "1", "values": twelve(0.5)}),
                Err((
                    101,
                    "address must be an integer from 0 to 255, got a string",
                )),
            ),
            (
                json!({"address": 1, "values": twelve(0.5).as_array().unwrap().iter().map(|_| "x").collect::<Vec<_>>()}),
                Err((101, "values must be numbers")),
            ),
        ];
        for (p, want) in cases {
            let mut sim = AllInOneInstrument::new(Timing::default());
            let reply = send(&mut sim, "LED", "SetValues", p.clone(), 0.0);
            let status = send(&mut sim, "LED", "GetStatus", json!({}), 0.0);
            let values = &status["data"]["boards"][0]["values"];
            match want {
                Ok(first) => {
                    assert_eq!(reply["data"], json!({"state": "OK"}), "{p}");
                    assert_eq!(values[0], first, "{p}");
                    assert_eq!(values[2], 0.8, "{p}");
                }
                Err((code, message)) => {
                    let (c, m) = refusal(&reply).unwrap();
                    assert_eq!(c, code, "{p}");
                    assert!(m.contains(message), "{p}: {m}");
                    assert_eq!(values[0], 0.0, "{p}: nothing stored");
                }
            }
        }
    }
}
