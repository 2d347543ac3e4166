//! Synthetic measurement data: a JV curve from the ideal single-diode model with its
//! derived parameters, and a Gaussian luminescence spectrum.
//!
//! The model is ideal (no shunt), so the shunt resistance is `Infinity`, and a dark curve
//! has no fill factor (`NaN`): the non-finite values real data carries come out naturally.

use serde_json::{Value, json};

use crate::nonfinite::from_f64;

/// Thermal voltage at 300 K, in volts.
const VT: f64 = 0.025_852;

/// An ideal solar cell: J(V) = Jsc - J0 (exp(V / (n Vt)) - 1), in mA/cm².
#[derive(Debug, Clone, Copy)]
pub(crate) struct Cell {
    /// Short-circuit current density, mA/cm² (0 for a dark curve).
    pub(crate) jsc: f64,
    /// Saturation current density, mA/cm².
    pub(crate) j0: f64,
    /// Ideality factor.
    pub(crate) n: f64,
}

impl Cell {
    pub(crate) const PEROVSKITE: Cell = Cell {
        jsc: 22.5,
        j0: 1e-12,
        n: 1.4,
    };

    pub(crate) fn dark() -> Cell {
        Cell {
            jsc: 0.0,
            ..Cell::PEROVSKITE
        }
    }

    /// The same cell with its current scaled (light soaking, degradation).
    pub(crate) fn scaled(self, factor: f64) -> Cell {
        Cell {
            jsc: self.jsc * factor,
            ..self
        }
    }

    pub(crate) fn current(&self, v: f64) -> f64 {
        self.jsc - self.j0 * ((v / (self.n * VT)).exp() - 1.0)
    }

    pub(crate) fn voc(&self) -> f64 {
        self.n * VT * (self.jsc / self.j0 + 1.0).ln()
    }

    /// The maximum power point (V, J), searched on a fine grid up to Voc.
    pub(crate) fn mpp(&self) -> (f64, f64) {
        let voc = self.voc();
        (0..=1000)
            .map(|i| {
                let v = voc * f64::from(i) / 1000.0;
                (v, self.current(v))
            })
            .fold((0.0, 0.0), |best, (v, j)| {
                if v * j > best.0 * best.1 {
                    (v, j)
                } else {
                    best
                }
            })
    }
}

/// A JV sweep of `points` points from `v_start` to `v_end` (the last `fraction` of it
/// missing when a measurement was stopped early), with derived parameters.
pub(crate) fn jv_curve(
    cell: Cell,
    v_start: f64,
    v_end: f64,
    points: usize,
    fraction: f64,
) -> Value {
    let points = points.max(2);
    let taken = ((points as f64) * fraction.clamp(0.0, 1.0)).round() as usize;
    let step = (v_end - v_start) / (points - 1) as f64;
    let voltage: Vec<Value> = (0..taken)
        .map(|i| from_f64(v_start + step * i as f64))
        .collect();
    let current: Vec<Value> = (0..taken)
        .map(|i| from_f64(cell.current(v_start + step * i as f64)))
        .collect();
    let voc = cell.voc();
    let (vmpp, jmpp) = cell.mpp();
    let pmax = vmpp * jmpp;
    // 0/0 for a dark cell: NaN, as the instrument reports it.
    let ff = pmax / (voc * cell.jsc);
    json!({
        "voltage_V": voltage,
        "current_mA_cm2": current,
        "parameters": {
            "Voc_V": from_f64(voc),
            "Jsc_mA_cm2": from_f64(cell.jsc),
            "FF": from_f64(ff),
            "PCE_percent": from_f64(pmax), // under 100 mW/cm²
            "Vmpp_V": from_f64(vmpp),
            "Jmpp_mA_cm2": from_f64(jmpp),
            "Rs_ohm_cm2": 0.0,
            "Rsh_ohm_cm2": from_f64(f64::INFINITY),
        },
        "complete": fraction >= 1.0,
    })
}

/// A luminescence spectrum: a Gaussian peak at 780 nm over 600-900 nm. Without a
/// reference acquisition the PLQY cannot be computed and is NaN.
pub(crate) fn spectrum(reference_acquired: bool, fraction: f64) -> Value {
    let taken = (151.0 * fraction.clamp(0.0, 1.0)).round() as usize;
    let wavelength: Vec<f64> = (0..taken).map(|i| 600.0 + 2.0 * i as f64).collect();
    let counts: Vec<f64> = wavelength
        .iter()
        .map(|w| 40.0 + 12_000.0 * (-((w - 780.0) / 22.0).powi(2) / 2.0).exp())
        .collect();
    json!({
        "wavelength_nm": wavelength,
        "counts": counts,
        "peak_nm": 780.0,
        "fwhm_nm": 51.8,
        "PLQY": from_f64(if reference_acquired { 0.124 } else { f64::NAN }),
        "complete": fraction >= 1.0,
    })
}

/// A generic trace for the routines without a dedicated model.
pub(crate) fn trace(routine: &str, points: usize, fraction: f64) -> Value {
    let taken = ((points.max(2) as f64) * fraction.clamp(0.0, 1.0)).round() as usize;
    let x: Vec<f64> = (0..taken).map(|i| i as f64).collect();
    let y: Vec<f64> = x
        .iter()
        .map(|x| (x / 8.0).sin() * (-x / 80.0).exp())
        .collect();
    json!({ "routine": routine, "x": x, "y": y, "complete": fraction >= 1.0 })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nonfinite::as_f64;

    #[test]
    fn jv_parameters_are_physical() {
        let curve = jv_curve(Cell::PEROVSKITE, -0.1, 1.3, 71, 1.0);
        let p = &curve["parameters"];
        let voc = as_f64(&p["Voc_V"]).unwrap();
        let ff = as_f64(&p["FF"]).unwrap();
        assert!((1.0..1.3).contains(&voc), "{voc}");
        assert!((0.7..0.95).contains(&ff), "{ff}");
        assert_eq!(as_f64(&p["Rsh_ohm_cm2"]), Some(f64::INFINITY));
        assert_eq!(curve["voltage_V"].as_array().unwrap().len(), 71);
    }

    #[test]
    fn dark_curve_has_nan_fill_factor() {
        let curve = jv_curve(Cell::dark(), -0.1, 1.0, 10, 1.0);
        assert!(as_f64(&curve["parameters"]["FF"]).unwrap().is_nan());
    }

    #[test]
    fn stopped_early_gives_partial_data() {
        let curve = jv_curve(Cell::PEROVSKITE, 0.0, 1.0, 100, 0.25);
        assert_eq!(curve["voltage_V"].as_array().unwrap().len(), 25);
        assert_eq!(curve["complete"], false);
    }

    #[test]
    fn plqy_needs_a_reference() {
        assert!(as_f64(&spectrum(false, 1.0)["PLQY"]).unwrap().is_nan());
        assert_eq!(as_f64(&spectrum(true, 1.0)["PLQY"]), Some(0.124));
    }
}
