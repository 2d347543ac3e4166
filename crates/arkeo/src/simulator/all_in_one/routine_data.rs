//! Synthetic data of the routines without a sweep, in the shapes the vendor documents:
//!
//! | routine | data |
//! | --- | --- |
//! | Luminescence | `wavelengths`, `dark`, `reference`, `spectrum`, `irradiance`, `absorbance`, `transmittance` (the last two empty without a reference) |
//! | IPCE | `{name, columns, data}` (EQE NaN until StartCalibration, and below 320 nm) |
//! | TCSPC | `{"Offset", "Resolution", "Histogram"}` |
//! | Resistivity | `{"Voltage (V)", "Current (A)", "2D Sheet resistance (Ohm/Sq)", "Corrected 2D Sheet Resistance (Ohm/Sq)"}` |
//! | Connection Test | `{"Voltage (V)", "Current (A)"}` |
//! | Impedance | `{data_columns, scans: [{iteration {light, offset, frequency}, data}]}` (Z'' is -Infinity at 0 Hz) |
//! | MPPT, Photo-CELIV, TPR | `{data_columns, data}` (undocumented: the simulator's choice) |
//!
//! `fraction` is how much of the measurement is done (arrays are that much filled).

use serde_json::{Value, json};

use super::routine_plan::Peripherals;
use crate::all_in_one::routines;
use crate::nonfinite::from_f64;

/// Points of a luminescence spectrum (400 to 1000 nm in 2 nm steps).
const SPECTRUM_POINTS: usize = 301;

/// The luminescence wavelengths, in nm.
pub(crate) fn wavelengths() -> Vec<f64> {
    (0..SPECTRUM_POINTS)
        .map(|i| 400.0 + 2.0 * i as f64)
        .collect()
}

/// The detector's dark counts at `wavelength`.
pub(crate) fn dark_counts(wavelength: f64) -> f64 {
    900.0 + 0.05 * (wavelength - 400.0)
}

/// The white reference lamp's counts (dark included).
pub(crate) fn reference_counts(wavelength: f64, p: &Peripherals) -> f64 {
    dark_counts(wavelength)
        + 30_000.0 * p.integration_ms / 100.0 * (-((wavelength - 650.0) / 260.0).powi(2)).exp()
}

/// The sample's counts (dark included): photoluminescence at 780 nm when the laser is on.
pub(crate) fn sample_counts(wavelength: f64, p: &Peripherals) -> f64 {
    let laser = if p.laser_on {
        p.laser_power_mw / 5.0
    } else {
        0.0
    };
    dark_counts(wavelength)
        + laser * 12_000.0 * p.integration_ms / 100.0
            * (-((wavelength - 780.0) / 22.0).powi(2) / 2.0).exp()
}

fn take<T: Clone>(items: &[T], fraction: f64) -> Vec<T> {
    let n = (items.len() as f64 * fraction.clamp(0.0, 1.0)).round() as usize;
    items[..n.min(items.len())].to_vec()
}

fn luminescence(fraction: f64, p: &Peripherals) -> Value {
    let wl = wavelengths();
    let dark: Vec<f64> = wl.iter().map(|&w| dark_counts(w)).collect();
    let spectrum: Vec<f64> = wl.iter().map(|&w| sample_counts(w, p)).collect();
    let reference: Vec<f64> = wl.iter().map(|&w| reference_counts(w, p)).collect();
    let irradiance: Vec<f64> = spectrum
        .iter()
        .zip(&dark)
        .map(|(s, d)| (s - d) * 1e-6)
        .collect();
    let (absorbance, transmittance): (Vec<Value>, Vec<Value>) = if p.reference_acquired {
        spectrum
            .iter()
            .zip(&reference)
            .zip(&dark)
            .map(|((s, r), d)| {
                let t = (s - d) / (r - d);
                (from_f64(-t.log10()), from_f64(t))
            })
            .unzip()
    } else {
        (Vec::new(), Vec::new())
    };
    json!({
        "wavelengths": take(&wl, fraction),
        "dark": if p.dark_acquired { dark.clone() } else { Vec::new() },
        "reference": if p.reference_acquired { reference } else { Vec::new() },
        "spectrum": take(&spectrum, fraction),
        "irradiance": take(&irradiance, fraction),
        "absorbance": take(&absorbance, fraction),
        "transmittance": take(&transmittance, fraction),
    })
}

fn ipce(fraction: f64, p: &Peripherals) -> Value {
    let rows: Vec<Value> = (0..56)
        .map(|i| {
            let wl = 300.0 + 10.0 * i as f64;
            // A reference diode without signal below 320 nm, and no EQE before calibration.
            let eqe = if !p.calibrated || wl < 320.0 {
                f64::NAN
            } else {
                85.0 / (1.0 + (-(wl - 380.0) / 12.0).exp()) / (1.0 + ((wl - 790.0) / 15.0).exp())
            };
            let current = if eqe.is_nan() { 0.0 } else { eqe * 1e-8 };
            json!([wl, from_f64(eqe), current])
        })
        .collect();
    json!({
        "name": "IPCE",
        "columns": ["Wavelength (nm)", "EQE (%)", "Current (A)"],
        "data": take(&rows, fraction),
    })
}

fn tcspc(fraction: f64, p: &Peripherals) -> Value {
    let resolution = 0.1;
    let counts = fraction.clamp(0.0, 1.0);
    let histogram: Vec<u64> = (0..1000)
        .map(|i| {
            let t = i as f64 * resolution;
            let signal = if p.laser_on && t >= 2.0 {
                5000.0 * (-(t - 2.0) / 25.0).exp()
            } else {
                0.0
            };
            ((signal + 3.0) * counts).round() as u64
        })
        .collect();
    json!({ "Offset": 2.0, "Resolution": resolution, "Histogram": histogram })
}

fn resistivity(p: &Peripherals) -> Value {
    let sheet = 45.0;
    json!({
        "Voltage (V)": p.current_a * sheet / 4.532,
        "Current (A)": p.current_a,
        "2D Sheet resistance (Ohm/Sq)": sheet,
        "Corrected 2D Sheet Resistance (Ohm/Sq)": sheet * 0.98,
    })
}

fn connection_test(p: &Peripherals) -> Value {
    json!({ "Voltage (V)": p.output_v, "Current (A)": p.output_v / 10.0 })
}

fn impedance(fraction: f64) -> Value {
    // Rs + (Rp || Cp) + a blocking Cs: at 0 Hz, Z'' is -Infinity.
    let (rs, rp, cp, cs) = (20.0, 1000.0, 1e-7, 1e-5);
    let rows: Vec<Value> = (0..41)
        .map(|i| {
            let f = if i == 40 {
                0.0
            } else {
                1e6 * 10f64.powf(-(i as f64) / 6.5)
            };
            let w = 2.0 * std::f64::consts::PI * f;
            let denom = 1.0 + (w * rp * cp).powi(2);
            let re = rs + rp / denom;
            let im = if f == 0.0 {
                f64::NEG_INFINITY
            } else {
                -w * rp * rp * cp / denom - 1.0 / (w * cs)
            };
            json!([f, re, from_f64(im)])
        })
        .collect();
    json!({
        "data_columns": [{"name": "Frequency", "unit": "Hz"}, {"name": "Z'", "unit": "Ohm"},
                         {"name": "Z''", "unit": "Ohm"}],
        "scans": [{"iteration": {"light": 100.0, "offset": 0.0, "frequency": 1e6},
                   "data": take(&rows, fraction)}],
    })
}

fn trace(columns: Value, fraction: f64, row: impl Fn(f64) -> Value) -> Value {
    let rows: Vec<Value> = (0..60).map(|i| row(i as f64)).collect();
    json!({ "data_columns": columns, "data": take(&rows, fraction) })
}

/// The data of `routine` with `fraction` of its measurement done.
pub(crate) fn synthesize(routine: &str, fraction: f64, p: &Peripherals) -> Value {
    match routine {
        routines::LUMINESCENCE => luminescence(fraction, p),
        routines::IPCE => ipce(fraction, p),
        routines::TCSPC => tcspc(fraction, p),
        routines::RESISTIVITY => resistivity(p),
        routines::CONNECTION_TEST => connection_test(p),
        routines::IMPEDANCE => impedance(fraction),
        routines::MPPT => trace(
            json!([{"name": "Time", "unit": "s"}, {"name": "Voltage", "unit": "V"},
                   {"name": "Current", "unit": "mA/cm^2"}, {"name": "Power", "unit": "mW/cm^2"}]),
            fraction,
            |i| {
                let j = 21.0 * (1.0 - 0.001 * i);
                json!([i, 0.95, j, 0.95 * j])
            },
        ),
        routines::PHOTO_CELIV => trace(
            json!([{"name": "Time", "unit": "s"}, {"name": "Current", "unit": "A"}]),
            fraction,
            |i| {
                json!([
                    i * 1e-7,
                    1e-4 * (1.0 - (-i / 8.0).exp()) + 2e-4 * (-i / 15.0).exp()
                ])
            },
        ),
        _ => trace(
            json!([{"name": "Time", "unit": "s"}, {"name": "Signal", "unit": "V"}]),
            fraction,
            |i| json!([i * 1e-6, (i / 8.0).sin() * (-i / 80.0).exp()]),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absorbance_needs_a_reference() {
        let mut p = Peripherals::default();
        let data = synthesize(routines::LUMINESCENCE, 1.0, &p);
        assert_eq!(
            data["wavelengths"].as_array().unwrap().len(),
            SPECTRUM_POINTS
        );
        assert!(data["absorbance"].as_array().unwrap().is_empty());
        p.reference_acquired = true;
        let data = synthesize(routines::LUMINESCENCE, 1.0, &p);
        assert_eq!(
            data["transmittance"].as_array().unwrap().len(),
            SPECTRUM_POINTS
        );
    }

    #[test]
    fn ipce_is_nan_until_calibrated_and_impedance_has_an_infinity() {
        let mut p = Peripherals::default();
        let data = synthesize(routines::IPCE, 1.0, &p);
        assert_eq!(data["data"][20][1], "NaN");
        p.calibrated = true;
        let data = synthesize(routines::IPCE, 1.0, &p);
        assert!(data["data"][20][1].as_f64().unwrap() > 50.0);
        assert_eq!(data["data"][0][1], "NaN", "no reference signal at 300 nm");
        let z = synthesize(routines::IMPEDANCE, 1.0, &p);
        assert_eq!(z["scans"][0]["data"][40][2], "-Infinity");
    }

    #[test]
    fn partial_measurements_fill_part_of_the_arrays() {
        let data = synthesize(routines::MPPT, 0.5, &Peripherals::default());
        assert_eq!(data["data"].as_array().unwrap().len(), 30);
    }
}
