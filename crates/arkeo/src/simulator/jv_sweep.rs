//! JV sweeps, shared by both simulated instruments: the plan of a measurement (its scans,
//! their points, the time each point takes), what has been measured after some time, and
//! the parameters derived from the measured points.

use std::time::Duration;

use super::cell::CellModel;
use super::limits::MAX_SCAN_POINTS;
use super::outcome::Failure;
use crate::jv::{DataColumn, JvParameters, JvScan, Quantity};

/// The direction of one scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    /// From the low voltage to the high one.
    Forward,
    /// From the high voltage to the low one.
    Reverse,
}

impl Direction {
    /// The name the scans and channel states carry.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Direction::Forward => "forward",
            Direction::Reverse => "reverse",
        }
    }
}

/// One scan of the plan.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Scan {
    pub(crate) direction: Direction,
    pub(crate) low: f64,
    pub(crate) step: f64,
    pub(crate) points: usize,
    /// Its position in the measurement, from 0.
    pub(crate) sweep_index: usize,
}

impl Scan {
    /// The voltage of point `i`.
    pub(crate) fn voltage(&self, i: usize) -> f64 {
        let k = match self.direction {
            Direction::Forward => i,
            Direction::Reverse => self.points - 1 - i.min(self.points - 1),
        };
        self.low + self.step * k as f64
    }
}

/// A whole measurement: its scans, and the instrument time one point takes.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Sweep {
    pub(crate) scans: Vec<Scan>,
    pub(crate) point_period: Duration,
}

/// How far a sweep got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Position {
    /// The scan being measured (the last one once finished).
    pub(crate) scan: usize,
    /// Points measured in that scan.
    pub(crate) done: usize,
    /// Points measured in all scans.
    pub(crate) total_done: usize,
    /// Every point is measured.
    pub(crate) finished: bool,
}

impl Sweep {
    /// Plans scans from `low` to `high` volts in `step` volt steps, in `order`, each point
    /// taking `point_period`. Refuses (101) a range or step that makes no sweep, or more
    /// than [`MAX_SCAN_POINTS`] points a scan, before allocating anything for them.
    pub(crate) fn plan(
        low: f64,
        high: f64,
        step: f64,
        order: &[Direction],
        point_period: Duration,
    ) -> Result<Sweep, Failure> {
        if !(low.is_finite() && high.is_finite() && step.is_finite()) || step <= 0.0 {
            return Err(Failure::invalid(
                "Invalid parameters: the sweep needs finite voltages and a positive step",
            ));
        }
        if high <= low {
            return Err(Failure::invalid(format!(
                "Invalid parameters: the sweep's end ({high} V) must be above its start ({low} V)"
            )));
        }
        let count = ((high - low) / step + 1e-9).floor() + 1.0;
        if count > MAX_SCAN_POINTS as f64 {
            return Err(Failure::invalid(format!(
                "Invalid parameters: {count} points a scan, over the limit of {MAX_SCAN_POINTS}"
            )));
        }
        let points = (count as usize).max(2);
        let scans = order
            .iter()
            .enumerate()
            .map(|(sweep_index, &direction)| Scan {
                direction,
                low,
                step,
                points,
                sweep_index,
            })
            .collect();
        Ok(Sweep {
            scans,
            point_period: point_period.max(Duration::from_micros(1)),
        })
    }

    /// Points in all scans.
    pub(crate) fn total_points(&self) -> usize {
        self.scans.iter().map(|s| s.points).sum()
    }

    /// How long the whole measurement takes.
    pub(crate) fn duration(&self) -> Duration {
        self.point_period
            .checked_mul(u32::try_from(self.total_points()).unwrap_or(u32::MAX))
            .unwrap_or(Duration::MAX)
    }

    /// What is measured `elapsed` after the first point started (point k is done at
    /// (k + 1) periods).
    pub(crate) fn position(&self, elapsed: Duration) -> Position {
        let total = self.total_points();
        // A hair of slack so a point due exactly now is not lost to rounding.
        let measured = (elapsed.as_secs_f64() / self.point_period.as_secs_f64() + 1e-9).floor();
        let mut left = if measured >= total as f64 {
            total
        } else {
            measured as usize
        };
        let total_done = left;
        for (i, scan) in self.scans.iter().enumerate() {
            if left < scan.points || i + 1 == self.scans.len() {
                return Position {
                    scan: i,
                    done: left.min(scan.points),
                    total_done,
                    finished: total_done == total,
                };
            }
            left -= scan.points;
        }
        Position {
            scan: 0,
            done: 0,
            total_done: 0,
            finished: true,
        }
    }

    /// The scans as measured up to `position`: complete ones, then the partial one (a scan
    /// without any point yet is left out).
    pub(crate) fn measured(
        &self,
        position: Position,
        cell: &CellModel,
        irradiance_mw_cm2: f64,
    ) -> Vec<JvScan> {
        self.scans
            .iter()
            .take(position.scan + 1)
            .enumerate()
            .filter_map(|(i, scan)| {
                let done = if i < position.scan {
                    scan.points
                } else {
                    position.done
                };
                (done > 0).then(|| measure_scan(scan, done, cell, irradiance_mw_cm2))
            })
            .collect()
    }
}

/// The columns of JV data: voltage in V, current density in mA/cm^2.
pub(crate) fn data_schema() -> Vec<DataColumn> {
    vec![
        DataColumn::new("Voltage", "V"),
        DataColumn::new("Current", "mA/cm^2"),
    ]
}

/// The first `done` points of `scan` on `cell`, with their derived parameters.
pub(crate) fn measure_scan(
    scan: &Scan,
    done: usize,
    cell: &CellModel,
    irradiance_mw_cm2: f64,
) -> JvScan {
    let data: Vec<Vec<f64>> = (0..done.min(scan.points))
        .map(|i| {
            let v = round(scan.voltage(i), 6);
            vec![v, round(cell.current(v), 6)]
        })
        .collect();
    let points: Vec<(f64, f64)> = data.iter().map(|r| (r[0], r[1])).collect();
    JvScan {
        name: scan.direction.name().to_string(),
        sweep_indices: vec![scan.sweep_index as u32],
        data_schema: data_schema(),
        data,
        parameters: derive_parameters(&points, irradiance_mw_cm2),
        extra: Default::default(),
    }
}

/// The parameters of a curve, derived from its points alone (so a partial or dark curve
/// gets NaN where a value cannot be derived). `irradiance` in mW/cm² gives the efficiency.
pub(crate) fn derive_parameters(points: &[(f64, f64)], irradiance_mw_cm2: f64) -> JvParameters {
    let mut sorted = points.to_vec();
    sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
    let pairs = || sorted.windows(2).map(|w| (w[0], w[1]));

    let jsc = pairs()
        .find(|(a, b)| a.0 <= 0.0 && 0.0 <= b.0)
        .map_or(f64::NAN, |(a, b)| interpolate(a.0, a.1, b.0, b.1, 0.0));
    let voc_pair = pairs().find(|(a, b)| a.1 > 0.0 && b.1 <= 0.0);
    let voc = voc_pair.map_or(f64::NAN, |(a, b)| interpolate(a.1, a.0, b.1, b.0, 0.0));
    let r_series = voc_pair.map_or(f64::NAN, |(a, b)| slope_ohm_cm2(a, b));
    let r_shunt = pairs()
        .find(|(a, b)| a.0 <= 0.0 && 0.0 <= b.0)
        .map_or(f64::NAN, |(a, b)| slope_ohm_cm2(a, b));
    let (v_mpp, j_mpp) = sorted.iter().filter(|(v, j)| *v >= 0.0 && *j >= 0.0).fold(
        (f64::NAN, f64::NAN),
        |best, &(v, j)| {
            if best.0.is_nan() || v * j > best.0 * best.1 {
                (v, j)
            } else {
                best
            }
        },
    );
    let p_mpp = v_mpp * j_mpp;
    let ff = if voc * jsc > 0.0 {
        100.0 * p_mpp / (voc * jsc)
    } else {
        f64::NAN
    };
    let efficiency = if irradiance_mw_cm2 > 0.0 && p_mpp > 0.0 {
        100.0 * p_mpp / irradiance_mw_cm2
    } else {
        f64::NAN
    };
    let q = |value: f64, unit: &str| Some(Quantity::new(round(value, 4), unit));
    JvParameters {
        voc: q(voc, "V"),
        jsc: q(jsc, "mA/cm^2"),
        v_mpp: q(v_mpp, "V"),
        j_mpp: q(j_mpp, "mA/cm^2"),
        p_mpp: q(p_mpp, "mW/cm^2"),
        r_series: q(r_series, "Ohm*cm^2"),
        r_shunt: q(r_shunt, "Ohm*cm^2"),
        fill_factor: q(ff, "%"),
        efficiency: q(efficiency, "%"),
        extra: Default::default(),
    }
}

/// `x` rounded to `digits` decimals (non-finite values as they are), as an instrument
/// prints its readings.
pub(crate) fn round(x: f64, digits: i32) -> f64 {
    if !x.is_finite() {
        return x;
    }
    let k = 10f64.powi(digits);
    let r = (x * k).round() / k;
    if r.is_finite() { r } else { x }
}

/// y at x on the line through (x1, y1) and (x2, y2).
fn interpolate(x1: f64, y1: f64, x2: f64, y2: f64, x: f64) -> f64 {
    if x2 == x1 {
        return y1;
    }
    y1 + (y2 - y1) * (x - x1) / (x2 - x1)
}

/// |dV/dJ| between two points, in Ω·cm² (V over mA/cm², times 1000); infinite when the
/// current does not change.
fn slope_ohm_cm2(a: (f64, f64), b: (f64, f64)) -> f64 {
    let dj = (b.1 - a.1).abs();
    if dj == 0.0 {
        f64::INFINITY
    } else {
        1000.0 * (b.0 - a.0).abs() / dj
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FW_RV: [Direction; 2] = [Direction::Forward, Direction::Reverse];

    fn sweep() -> Sweep {
        Sweep::plan(-0.1, 1.2, 0.02, &FW_RV, Duration::from_millis(100)).unwrap()
    }

    #[test]
    fn a_plan_has_its_points_and_duration() {
        let s = sweep();
        assert_eq!(s.scans[0].points, 66);
        assert_eq!(s.total_points(), 132);
        assert_eq!(s.duration(), Duration::from_millis(13_200));
        assert!(
            (s.scans[1].voltage(0) - 1.2).abs() < 1e-9,
            "reverse starts high"
        );
    }

    #[test]
    fn impossible_plans_are_refused_before_allocating() {
        let cases = [
            (0.0, 1.0, 0.0),
            (1.0, 0.0, 0.1),
            (0.0, 1e9, 1e-6),
            (f64::NAN, 1.0, 0.1),
        ];
        for (low, high, step) in cases {
            let r = Sweep::plan(low, high, step, &FW_RV, Duration::from_millis(1));
            assert!(r.is_err(), "{low} {high} {step}");
        }
    }

    #[test]
    fn position_walks_through_the_scans() {
        let s = sweep();
        let at = |ms| s.position(Duration::from_millis(ms));
        assert_eq!(at(0).total_done, 0);
        assert_eq!((at(1_050).scan, at(1_050).done), (0, 10));
        assert_eq!((at(6_600).scan, at(6_600).done), (1, 0));
        assert_eq!((at(7_000).scan, at(7_000).done), (1, 4));
        assert!(at(13_200).finished);
        assert_eq!(at(99_000).total_done, 132);
    }

    #[test]
    fn parameters_of_a_full_curve_are_physical_and_a_partial_one_lacks_voc() {
        let s = sweep();
        let cell = CellModel::PEROVSKITE;
        let full = s.measured(s.position(s.duration()), &cell, 100.0);
        assert_eq!(full.len(), 2);
        let p = &full[0].parameters;
        let voc = p.voc.as_ref().unwrap().value;
        assert!((1.05..1.2).contains(&voc), "{voc}");
        let ff = p.fill_factor.as_ref().unwrap().value;
        assert!((70.0..90.0).contains(&ff), "{ff}");
        let eff = p.efficiency.as_ref().unwrap().value;
        assert!((15.0..25.0).contains(&eff), "{eff}");
        let partial = s.measured(s.position(Duration::from_millis(2_000)), &cell, 100.0);
        assert_eq!(partial[0].data.len(), 20);
        assert!(partial[0].parameters.voc.as_ref().unwrap().value.is_nan());
    }

    #[test]
    fn a_dark_curve_has_no_fill_factor_or_efficiency() {
        let s = sweep();
        let dark = CellModel::PEROVSKITE.under(0.0);
        let scans = s.measured(s.position(s.duration()), &dark, 0.0);
        let p = &scans[0].parameters;
        assert!(p.fill_factor.as_ref().unwrap().value.is_nan());
        assert!(p.efficiency.as_ref().unwrap().value.is_nan());
    }
}
