//! The devices beside the routines: the temperature controller (TMPCTL), the relay
//! multiplexer (MUX) and the LED light source (LED), and their command handlers.

use std::time::Duration;

use serde_json::{Value, json};

use super::{AllInOneInstrument, Call, ack};
use crate::ErrorCode;
use crate::all_in_one::MuxStatus;
use crate::simulator::outcome::{Failure, Outcome, to_json};
use crate::simulator::params;

/// LED channels on the simulated light source.
pub(crate) const LED_CHANNELS: usize = 4;
/// Relays on the simulated multiplexer.
pub(crate) const RELAYS: usize = 8;

/// A temperature controller relaxing towards its target with a 30 s time constant.
#[derive(Debug, Clone)]
pub(crate) struct TemperatureController {
    address: Option<String>,
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
            address: None,
            channel: 1,
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
    address: Option<String>,
    values: Vec<f64>,
}

impl Led {
    pub(crate) fn new() -> Self {
        Led {
            address: None,
            values: vec![0.0; LED_CHANNELS],
        }
    }
}

/// TMPCTL `SetController {address, channel}`.
pub(crate) fn tmpctl_set_controller(sim: &mut AllInOneInstrument, call: &Call<'_>) -> Outcome {
    let address = params::text(call.parameter, "address")?.to_string();
    let channel = params::number(call.parameter, "channel")?;
    if channel.fract() != 0.0 || !(0.0..=255.0).contains(&channel) {
        return Err(Failure::invalid(
            "Invalid parameters: channel must be a whole number from 0 to 255",
        ));
    }
    sim.tmpctl.address = Some(address);
    sim.tmpctl.channel = channel as u64;
    ack()
}

/// TMPCTL `GetStatus`: an array with the one controller.
pub(crate) fn tmpctl_get_status(sim: &mut AllInOneInstrument, call: &Call<'_>) -> Outcome {
    let c = &sim.tmpctl;
    Ok(json!([{
        "address": c.address,
        "channel": c.channel,
        "temperature": (c.temperature(call.at.t) * 100.0).round() / 100.0,
        "setpoint": c.setpoint,
        "enabled": c.enabled,
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

/// LED `GetStatus`: `{address, channels, values}`.
pub(crate) fn led_get_status(sim: &mut AllInOneInstrument, _: &Call<'_>) -> Outcome {
    Ok(json!({
        "address": sim.led.address,
        "channels": LED_CHANNELS,
        "values": sim.led.values,
    }))
}

/// LED `SetValues {address, values}`: one value in 0..=1 per channel (1001 for a wrong
/// count).
pub(crate) fn led_set_values(sim: &mut AllInOneInstrument, call: &Call<'_>) -> Outcome {
    let address = params::text(call.parameter, "address")?.to_string();
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
            format!("Expected {LED_CHANNELS} values, got {}", values.len()),
        ));
    }
    let values = values
        .iter()
        .map(Value::as_f64)
        .collect::<Option<Vec<f64>>>()
        .ok_or_else(|| Failure::invalid("Invalid parameters: values must be numbers"))?;
    if values.iter().any(|v| !(0.0..=1.0).contains(v)) {
        return Err(Failure::invalid(
            "Invalid parameters: values must be within 0..1",
        ));
    }
    sim.led.address = Some(address);
    sim.led.values = values;
    ack()
}
