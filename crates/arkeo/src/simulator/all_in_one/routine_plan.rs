//! What a routine works with, shared by its state, its settings and its data: the
//! routine-specific hardware ([`Peripherals`]) and what a measurement does ([`RunPlan`]).

use std::time::Duration;

use crate::simulator::cell::CellModel;
use crate::simulator::jv_sweep::{Position, Sweep};

/// The state of the routine-specific hardware (laser, references, monochromator...).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Peripherals {
    pub(crate) laser_on: bool,
    pub(crate) laser_power_mw: f64,
    pub(crate) dark_acquired: bool,
    pub(crate) reference_acquired: bool,
    pub(crate) integration_ms: f64,
    pub(crate) averages: u32,
    pub(crate) wavelength_nm: f64,
    pub(crate) shutter_open: bool,
    pub(crate) calibrated: bool,
    pub(crate) current_a: f64,
    pub(crate) output_v: f64,
}

impl Default for Peripherals {
    fn default() -> Self {
        Peripherals {
            laser_on: false,
            laser_power_mw: 5.0,
            dark_acquired: false,
            reference_acquired: false,
            integration_ms: 100.0,
            averages: 1,
            wavelength_nm: 550.0,
            shutter_open: false,
            calibrated: false,
            current_a: 1e-3,
            output_v: 0.0,
        }
    }
}

/// A JV measurement's plan and device.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SweepRun {
    pub(crate) sweep: Sweep,
    /// Preconditioning before the first point.
    pub(crate) hold: Duration,
    pub(crate) hold_voltage: f64,
    pub(crate) cell: CellModel,
    pub(crate) irradiance_mw_cm2: f64,
    pub(crate) area_cm2: f64,
    /// Points measured before the compliance stops the measurement, with the message.
    pub(crate) fault: Option<(usize, String)>,
}

/// What a measurement does.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum RunPlan {
    /// A JV sweep (JV, Dark JV).
    Sweep(Box<SweepRun>),
    /// Any other routine: `length` of measuring.
    Timed { length: Duration },
}

impl SweepRun {
    /// The sweep's position `elapsed` after the measuring began (the hold first; never past
    /// a compliance fault).
    pub(super) fn position(&self, elapsed: Duration) -> Position {
        let position = self.sweep.position(elapsed.saturating_sub(self.hold));
        match &self.fault {
            Some((points, _)) if position.total_done >= *points => self
                .sweep
                .position(self.sweep.point_period.saturating_mul(*points as u32)),
            _ => position,
        }
    }
}
