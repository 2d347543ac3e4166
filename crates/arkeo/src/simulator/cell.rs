//! The simulated solar cell: the single-diode model with a shunt resistance,
//! J(V) = Jsc - J0 (exp(V / (n Vt)) - 1) - V / Rsh, current densities in mA/cm².
//!
//! A dark cell (Jsc 0) has no fill factor or efficiency (NaN), which is how the non-finite
//! numbers of real data come out of the simulator naturally.

/// Thermal voltage at 300 K, in volts.
const VT: f64 = 0.025_852;
/// The exponent is capped here so an absurd voltage gives a huge current, not infinity.
const MAX_EXPONENT: f64 = 700.0;

/// A solar cell under some light.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct CellModel {
    /// Short-circuit current density, mA/cm² (0 in the dark).
    pub(crate) jsc: f64,
    /// Saturation current density, mA/cm².
    pub(crate) j0: f64,
    /// Ideality factor.
    pub(crate) n: f64,
    /// Shunt resistance, Ω·cm².
    pub(crate) rsh: f64,
}

impl CellModel {
    /// A perovskite cell under 100 mW/cm² (one sun): Voc about 1.11 V, FF about 84 %.
    pub(crate) const PEROVSKITE: CellModel = CellModel {
        jsc: 22.5,
        j0: 1e-12,
        n: 1.4,
        rsh: 2000.0,
    };

    /// The same cell under `irradiance` mW/cm² (the photocurrent is proportional to it).
    pub(crate) fn under(self, irradiance_mw_cm2: f64) -> CellModel {
        self.scaled(irradiance_mw_cm2.max(0.0) / 100.0)
    }

    /// The same cell with its photocurrent scaled (degradation, light level).
    pub(crate) fn scaled(self, factor: f64) -> CellModel {
        CellModel {
            jsc: self.jsc * factor.max(0.0),
            ..self
        }
    }

    /// The current density at `v` volts, mA/cm².
    pub(crate) fn current(&self, v: f64) -> f64 {
        let exponent = (v / (self.n * VT)).min(MAX_EXPONENT);
        self.jsc - self.j0 * (exponent.exp() - 1.0) - 1000.0 * v / self.rsh
    }

    /// The open-circuit voltage (bisection; 0 for a dark cell).
    pub(crate) fn voc(&self) -> f64 {
        if self.jsc <= 0.0 {
            return 0.0;
        }
        let (mut low, mut high) = (0.0, 5.0);
        for _ in 0..60 {
            let mid = (low + high) / 2.0;
            if self.current(mid) > 0.0 {
                low = mid;
            } else {
                high = mid;
            }
        }
        (low + high) / 2.0
    }

    /// The maximum power point (V, J), on a fine grid up to Voc.
    pub(crate) fn mpp(&self) -> (f64, f64) {
        let voc = self.voc();
        (0..=2000)
            .map(|i| {
                let v = voc * f64::from(i) / 2000.0;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_perovskite_cell_is_physical() {
        let cell = CellModel::PEROVSKITE;
        let voc = cell.voc();
        assert!((1.05..1.2).contains(&voc), "{voc}");
        let (v, j) = cell.mpp();
        let ff = v * j / (voc * cell.jsc);
        assert!((0.75..0.9).contains(&ff), "{ff}");
        assert!(cell.current(1000.0).is_finite(), "no overflow to infinity");
    }

    #[test]
    fn light_scales_the_photocurrent() {
        let half = CellModel::PEROVSKITE.under(50.0);
        assert!((half.jsc - 11.25).abs() < 1e-9);
        assert_eq!(CellModel::PEROVSKITE.under(0.0).voc(), 0.0);
    }
}
