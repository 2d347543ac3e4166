//! The routine-specific ("custom") commands, sent to the ROUTINE target while their routine
//! is open (`GetCustomCommands` lists them).
//!
//! The vendor documents the names and the replies of the "Get" commands and acquisitions,
//! not the parameter keys of the setters: the builders here send the keys the simulator
//! reads (`enable`, `power`, `open`, `wavelength`, `current`, `voltage`), written down in
//! docs/protocols/arkeo.md. Against another instrument version, check its page and use
//! [`routine::custom`](super::routine::custom) if it spells them otherwise.

use serde_json::{Map, Value, json};

use crate::Request;

fn command(name: &str, parameter: Value) -> Request {
    super::routine::custom(name, parameter)
}

fn laser(name: &str, enable: bool, power_mw: Option<f64>) -> Request {
    let mut parameter = Map::new();
    parameter.insert("enable".into(), enable.into());
    if let Some(power) = power_mw {
        parameter.insert("power".into(), power.into());
    }
    command(name, Value::Object(parameter))
}

/// The Luminescence routine's commands.
pub mod luminescence {
    use super::*;

    /// `AcquireDark`.
    pub const ACQUIRE_DARK: &str = "AcquireDark";
    /// `AcquireReference`.
    pub const ACQUIRE_REFERENCE: &str = "AcquireReference";
    /// `AcquireSingle`.
    pub const ACQUIRE_SINGLE: &str = "AcquireSingle";
    /// `AutoExposure`.
    pub const AUTO_EXPOSURE: &str = "AutoExposure";
    /// `SetLaser`.
    pub const SET_LASER: &str = "SetLaser";
    /// Every custom command of the routine.
    pub const ALL: [&str; 5] = [
        ACQUIRE_DARK,
        ACQUIRE_REFERENCE,
        ACQUIRE_SINGLE,
        AUTO_EXPOSURE,
        SET_LASER,
    ];

    /// `AcquireDark`: a dark spectrum, `{spectrum: [wavelengths, counts]}`
    /// ([`Spectrum`](crate::all_in_one::Spectrum)).
    pub fn acquire_dark() -> Request {
        command(ACQUIRE_DARK, json!({}))
    }

    /// `AcquireReference`: a reference spectrum, two rows like `AcquireDark`.
    pub fn acquire_reference() -> Request {
        command(ACQUIRE_REFERENCE, json!({}))
    }

    /// `AcquireSingle`: one spectrum, three rows (wavelengths, raw counts, dark-corrected).
    pub fn acquire_single() -> Request {
        command(ACQUIRE_SINGLE, json!({}))
    }

    /// `AutoExposure`: `{integration_time (ms), averages}`
    /// ([`AutoExposure`](crate::all_in_one::AutoExposure)).
    pub fn auto_exposure() -> Request {
        command(AUTO_EXPOSURE, json!({}))
    }

    /// `SetLaser {enable, power?}` (power in mW).
    pub fn set_laser(enable: bool, power_mw: Option<f64>) -> Request {
        laser(SET_LASER, enable, power_mw)
    }
}

/// The IPCE routine's commands.
pub mod ipce {
    use super::*;

    /// `SetShutter`.
    pub const SET_SHUTTER: &str = "SetShutter";
    /// `SetWavelength`.
    pub const SET_WAVELENGTH: &str = "SetWavelength";
    /// `StartCalibration`.
    pub const START_CALIBRATION: &str = "StartCalibration";
    /// `GetChopperFrequency`.
    pub const GET_CHOPPER_FREQUENCY: &str = "GetChopperFrequency";
    /// `GetMonochromatorStatus`.
    pub const GET_MONOCHROMATOR_STATUS: &str = "GetMonochromatorStatus";
    /// Every custom command of the routine.
    pub const ALL: [&str; 5] = [
        SET_SHUTTER,
        SET_WAVELENGTH,
        START_CALIBRATION,
        GET_CHOPPER_FREQUENCY,
        GET_MONOCHROMATOR_STATUS,
    ];

    /// `SetShutter {open}`.
    pub fn set_shutter(open: bool) -> Request {
        command(SET_SHUTTER, json!({ "open": open }))
    }

    /// `SetWavelength {wavelength}` in nm.
    pub fn set_wavelength(nm: f64) -> Request {
        command(SET_WAVELENGTH, json!({ "wavelength": nm }))
    }

    /// `StartCalibration`: measures the reference diode (IPCE data is NaN until then).
    pub fn start_calibration() -> Request {
        command(START_CALIBRATION, json!({}))
    }

    /// `GetChopperFrequency`: `{frequency}` ([`ChopperFrequency`](crate::all_in_one::ChopperFrequency)).
    pub fn get_chopper_frequency() -> Request {
        command(GET_CHOPPER_FREQUENCY, json!({}))
    }

    /// `GetMonochromatorStatus`: `{type, connected, wavelength, shutter, filter, grating,
    /// config}` ([`MonochromatorStatus`](crate::all_in_one::MonochromatorStatus)).
    pub fn get_monochromator_status() -> Request {
        command(GET_MONOCHROMATOR_STATUS, json!({}))
    }
}

/// The Resistivity routine's commands.
pub mod resistivity {
    use super::*;

    /// `ApplyCurrent`.
    pub const APPLY_CURRENT: &str = "ApplyCurrent";
    /// Every custom command of the routine.
    pub const ALL: [&str; 1] = [APPLY_CURRENT];

    /// `ApplyCurrent {current}` in A.
    pub fn apply_current(amperes: f64) -> Request {
        command(APPLY_CURRENT, json!({ "current": amperes }))
    }
}

/// The TCSPC routine's commands.
pub mod tcspc {
    use super::*;

    /// `GetRates`.
    pub const GET_RATES: &str = "GetRates";
    /// `SetLaser`.
    pub const SET_LASER: &str = "SetLaser";
    /// Every custom command of the routine.
    pub const ALL: [&str; 2] = [GET_RATES, SET_LASER];

    /// `GetRates`: `{sync_rate, input_rate, ratio}` ([`CountRates`](crate::all_in_one::CountRates)).
    pub fn get_rates() -> Request {
        command(GET_RATES, json!({}))
    }

    /// `SetLaser {enable, power?}` (power in mW).
    pub fn set_laser(enable: bool, power_mw: Option<f64>) -> Request {
        laser(SET_LASER, enable, power_mw)
    }
}

/// The Connection Test routine's commands.
pub mod connection_test {
    use super::*;

    /// `SetOutput`.
    pub const SET_OUTPUT: &str = "SetOutput";
    /// Every custom command of the routine.
    pub const ALL: [&str; 1] = [SET_OUTPUT];

    /// `SetOutput {voltage}` in V.
    pub fn set_output(volts: f64) -> Request {
        command(SET_OUTPUT, json!({ "voltage": volts }))
    }
}

/// The custom commands of `routine` (empty for routines without any).
pub fn commands_of(routine: &str) -> &'static [&'static str] {
    use super::routines;
    match routine {
        routines::LUMINESCENCE => &luminescence::ALL,
        routines::IPCE => &ipce::ALL,
        routines::RESISTIVITY => &resistivity::ALL,
        routines::TCSPC => &tcspc::ALL,
        routines::CONNECTION_TEST => &connection_test::ALL,
        _ => &[],
    }
}
