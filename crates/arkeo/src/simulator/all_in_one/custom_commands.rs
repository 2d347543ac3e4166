//! The routines' custom commands, one handler each, found by routine and command name.
//!
//! The vendor documents the replies of the acquisitions and "Get" commands; the setters'
//! parameter keys are the simulator's choice (see [`crate::all_in_one::custom`]).

use serde_json::json;

use super::routine_data::{dark_counts, reference_counts, sample_counts, wavelengths};
use super::routine_plan::Peripherals;
use super::routine_state::ActiveRoutine;
use super::{AllInOneInstrument, Call, Handler, ack};
use crate::all_in_one::custom::{connection_test, ipce, luminescence, resistivity, tcspc};
use crate::all_in_one::{
    AutoExposure, ChopperFrequency, CountRates, MonochromatorStatus, Spectrum, routines,
};
use crate::simulator::outcome::{Failure, Outcome, to_json};
use crate::simulator::params;

struct CustomRoute {
    routine: &'static str,
    command: &'static str,
    handler: Handler,
}

const fn custom(routine: &'static str, command: &'static str, handler: Handler) -> CustomRoute {
    CustomRoute {
        routine,
        command,
        handler,
    }
}

const CUSTOM_ROUTES: &[CustomRoute] = &[
    custom(
        routines::LUMINESCENCE,
        luminescence::ACQUIRE_DARK,
        acquire_dark,
    ),
    custom(
        routines::LUMINESCENCE,
        luminescence::ACQUIRE_REFERENCE,
        acquire_reference,
    ),
    custom(
        routines::LUMINESCENCE,
        luminescence::ACQUIRE_SINGLE,
        acquire_single,
    ),
    custom(
        routines::LUMINESCENCE,
        luminescence::AUTO_EXPOSURE,
        auto_exposure,
    ),
    custom(routines::LUMINESCENCE, luminescence::SET_LASER, set_laser),
    custom(routines::IPCE, ipce::SET_SHUTTER, set_shutter),
    custom(routines::IPCE, ipce::SET_WAVELENGTH, set_wavelength),
    custom(routines::IPCE, ipce::START_CALIBRATION, start_calibration),
    custom(
        routines::IPCE,
        ipce::GET_CHOPPER_FREQUENCY,
        get_chopper_frequency,
    ),
    custom(
        routines::IPCE,
        ipce::GET_MONOCHROMATOR_STATUS,
        get_monochromator_status,
    ),
    custom(
        routines::RESISTIVITY,
        resistivity::APPLY_CURRENT,
        apply_current,
    ),
    custom(routines::TCSPC, tcspc::GET_RATES, get_rates),
    custom(routines::TCSPC, tcspc::SET_LASER, set_laser),
    custom(
        routines::CONNECTION_TEST,
        connection_test::SET_OUTPUT,
        set_output,
    ),
];

/// The handler of `command` in `routine`, if it is one of its custom commands.
pub(crate) fn find(routine: &str, command: &str) -> Option<Handler> {
    CUSTOM_ROUTES
        .iter()
        .find(|r| r.routine == routine && r.command == command)
        .map(|r| r.handler)
}

/// The open routine's hardware, refused while the routine initializes.
fn hardware<'a>(
    sim: &'a mut AllInOneInstrument,
    call: &Call<'_>,
) -> Result<&'a mut ActiveRoutine, Failure> {
    let timing = sim.timing;
    let active = sim.routine_mut()?;
    if active.initializing(call.at.t, &timing) {
        return Err(Failure::invalid(
            "Routine is not Ready (Initializing): poll GetTestStatus",
        ));
    }
    Ok(active)
}

fn spectrum(rows: Vec<Vec<f64>>) -> Outcome {
    to_json(&Spectrum {
        spectrum: rows,
        extra: Default::default(),
    })
}

fn row(f: impl Fn(f64) -> f64) -> Vec<f64> {
    wavelengths().into_iter().map(f).collect()
}

/// Luminescence `AcquireDark`: `{spectrum: [wavelengths, dark]}`.
fn acquire_dark(sim: &mut AllInOneInstrument, call: &Call<'_>) -> Outcome {
    hardware(sim, call)?.peripherals.dark_acquired = true;
    spectrum(vec![wavelengths(), row(dark_counts)])
}

/// Luminescence `AcquireReference`: `{spectrum: [wavelengths, reference]}`.
fn acquire_reference(sim: &mut AllInOneInstrument, call: &Call<'_>) -> Outcome {
    let p = &mut hardware(sim, call)?.peripherals;
    p.reference_acquired = true;
    let p = p.clone();
    spectrum(vec![wavelengths(), row(|w| reference_counts(w, &p))])
}

/// Luminescence `AcquireSingle`: `{spectrum: [wavelengths, counts, counts - dark]}`.
fn acquire_single(sim: &mut AllInOneInstrument, call: &Call<'_>) -> Outcome {
    let p = hardware(sim, call)?.peripherals.clone();
    spectrum(vec![
        wavelengths(),
        row(|w| sample_counts(w, &p)),
        row(|w| sample_counts(w, &p) - dark_counts(w)),
    ])
}

/// Luminescence `AutoExposure`: picks the integration time that puts the peak near 60 % of
/// the detector's range.
fn auto_exposure(sim: &mut AllInOneInstrument, call: &Call<'_>) -> Outcome {
    let p: &mut Peripherals = &mut hardware(sim, call)?.peripherals;
    let per_ms = (sample_counts(780.0, p) - dark_counts(780.0)) / p.integration_ms;
    p.integration_ms = if per_ms > 0.0 {
        (0.6 * 65_535.0 / per_ms).clamp(1.0, 10_000.0).round()
    } else {
        10_000.0
    };
    p.averages = if p.integration_ms < 50.0 { 10 } else { 1 };
    to_json(&AutoExposure {
        integration_time: p.integration_ms,
        averages: p.averages,
        extra: Default::default(),
    })
}

/// Luminescence and TCSPC `SetLaser {enable, power?}` (power 0 to 100 mW).
fn set_laser(sim: &mut AllInOneInstrument, call: &Call<'_>) -> Outcome {
    params::only(call.parameter, &["enable", "power"])?;
    let enable = params::boolean(call.parameter, "enable")?;
    let power = params::optional_number(call.parameter, "power")?;
    if power.is_some_and(|p| !(0.0..=100.0).contains(&p)) {
        return Err(Failure::invalid(
            "Invalid parameters: power must be 0 to 100 mW",
        ));
    }
    let p = &mut hardware(sim, call)?.peripherals;
    p.laser_on = enable;
    if let Some(power) = power {
        p.laser_power_mw = power;
    }
    ack()
}

/// IPCE `SetShutter {open}`.
fn set_shutter(sim: &mut AllInOneInstrument, call: &Call<'_>) -> Outcome {
    params::only(call.parameter, &["open"])?;
    let open = params::boolean(call.parameter, "open")?;
    hardware(sim, call)?.peripherals.shutter_open = open;
    ack()
}

/// IPCE `SetWavelength {wavelength}` (200 to 2000 nm).
fn set_wavelength(sim: &mut AllInOneInstrument, call: &Call<'_>) -> Outcome {
    params::only(call.parameter, &["wavelength"])?;
    let nm = params::number(call.parameter, "wavelength")?;
    if !(200.0..=2000.0).contains(&nm) {
        return Err(Failure::invalid(
            "Invalid parameters: wavelength must be 200 to 2000 nm",
        ));
    }
    hardware(sim, call)?.peripherals.wavelength_nm = nm;
    ack()
}

/// IPCE `StartCalibration`: the reference diode is measured; EQE is defined from now on.
fn start_calibration(sim: &mut AllInOneInstrument, call: &Call<'_>) -> Outcome {
    hardware(sim, call)?.peripherals.calibrated = true;
    ack()
}

/// IPCE `GetChopperFrequency`: `{frequency}` in Hz.
fn get_chopper_frequency(sim: &mut AllInOneInstrument, call: &Call<'_>) -> Outcome {
    hardware(sim, call)?;
    to_json(&ChopperFrequency {
        frequency: 173.0,
        extra: Default::default(),
    })
}

/// IPCE `GetMonochromatorStatus`.
fn get_monochromator_status(sim: &mut AllInOneInstrument, call: &Call<'_>) -> Outcome {
    let p = &hardware(sim, call)?.peripherals;
    let wl = p.wavelength_nm;
    let filter = if wl < 400.0 {
        1
    } else if wl < 700.0 {
        2
    } else if wl < 1100.0 {
        3
    } else {
        4
    };
    let config = json!({
        "gratings": [{"index": 1, "lines_per_mm": 1200, "blaze_nm": 500},
                     {"index": 2, "lines_per_mm": 600, "blaze_nm": 1000}],
        "filters": [{"index": 1, "cut_on_nm": 0}, {"index": 2, "cut_on_nm": 400},
                    {"index": 3, "cut_on_nm": 700}, {"index": 4, "cut_on_nm": 1100}],
    });
    to_json(&MonochromatorStatus {
        model: "Simulated monochromator".into(),
        connected: true,
        wavelength: Some(wl),
        shutter: json!(if p.shutter_open { "open" } else { "closed" }),
        filter: json!(filter),
        grating: json!(if wl < 1000.0 { 1 } else { 2 }),
        config: config.as_object().cloned().unwrap_or_default(),
        extra: Default::default(),
    })
}

/// Resistivity `ApplyCurrent {current}` (at most 0.1 A either way).
fn apply_current(sim: &mut AllInOneInstrument, call: &Call<'_>) -> Outcome {
    params::only(call.parameter, &["current"])?;
    let amps = params::number(call.parameter, "current")?;
    if amps.abs() > 0.1 {
        return Err(Failure::invalid(
            "Invalid parameters: current must be within ±0.1 A",
        ));
    }
    hardware(sim, call)?.peripherals.current_a = amps;
    ack()
}

/// TCSPC `GetRates`: `{sync_rate, input_rate, ratio}` in counts/s.
fn get_rates(sim: &mut AllInOneInstrument, call: &Call<'_>) -> Outcome {
    let p = &hardware(sim, call)?.peripherals;
    let (sync, input) = if p.laser_on {
        (40e6, 2e5 * p.laser_power_mw / 5.0)
    } else {
        (0.0, 500.0)
    };
    let ratio = if sync > 0.0 { input / sync } else { 0.0 };
    to_json(&CountRates {
        sync_rate: sync,
        input_rate: input,
        ratio,
        extra: Default::default(),
    })
}

/// Connection Test `SetOutput {voltage}` (at most 10 V either way).
fn set_output(sim: &mut AllInOneInstrument, call: &Call<'_>) -> Outcome {
    params::only(call.parameter, &["voltage"])?;
    let volts = params::number(call.parameter, "voltage")?;
    if volts.abs() > 10.0 {
        return Err(Failure::invalid(
            "Invalid parameters: voltage must be within ±10 V",
        ));
    }
    hardware(sim, call)?.peripherals.output_v = volts;
    ack()
}
