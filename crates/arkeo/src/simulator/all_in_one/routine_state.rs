//! The open routine and its measurement on the instrument's clock:
//!
//! ```text
//! StartRoutine -> Initializing (timing.initialize) -> Ready
//! StartMeasurement -> Starting (timing.start) -> Running (the sweep, or timing.measure)
//!   -> Ready with the data          (or Error when a point exceeds the compliance)
//! ```
//!
//! Nothing runs in the background: every state is computed from the clock when a request
//! arrives ([`ActiveRoutine::settle`] first, then the handler).

use std::time::Duration;

use serde_json::{Map, Value};

use super::routine_data;
use super::routine_plan::{Peripherals, RunPlan};
use super::routine_settings;
use crate::all_in_one::{Progress, RoutineInfo, RoutineState, TestStatus};
use crate::jv::{JvData, Quantity};
use crate::simulator::Timing;
use crate::simulator::clock::{Moment, iso8601};
use crate::simulator::jv_sweep::round;

/// A measurement in progress.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Run {
    pub(crate) started: Duration,
    pub(crate) unix_started: f64,
    pub(crate) temperature: f64,
    pub(crate) plan: RunPlan,
}

/// The open routine.
#[derive(Debug, Clone)]
pub(crate) struct ActiveRoutine {
    pub(crate) name: &'static str,
    pub(crate) opened: Duration,
    pub(crate) settings: Map<String, Value>,
    pub(crate) info: RoutineInfo,
    pub(crate) run: Option<Run>,
    /// The data of the last measurement that ended.
    pub(crate) data: Option<Value>,
    pub(crate) error: Option<String>,
    pub(crate) peripherals: Peripherals,
}

impl ActiveRoutine {
    /// `name` opened at instrument time `t`, with its default settings.
    pub(crate) fn open(name: &'static str, t: Duration) -> Self {
        ActiveRoutine {
            name,
            opened: t,
            settings: routine_settings::defaults(name),
            info: RoutineInfo::default(),
            run: None,
            data: None,
            error: None,
            peripherals: Peripherals::default(),
        }
    }

    /// Still initializing at `t`.
    pub(crate) fn initializing(&self, t: Duration, timing: &Timing) -> bool {
        t < self.opened.saturating_add(timing.initialize)
    }

    /// A measurement is starting or running.
    pub(crate) fn is_measuring(&self) -> bool {
        self.run.is_some()
    }

    /// Ends a measurement that is over at `at`: its data is kept, and a compliance fault
    /// leaves the Error state.
    pub(crate) fn settle(&mut self, at: Moment, timing: &Timing) {
        let Some(run) = &self.run else { return };
        let Some((end, fault)) = run.end(timing) else {
            return;
        };
        if at.t < end {
            return;
        }
        let end_moment = Moment {
            t: end,
            unix: at.unix_at(end),
        };
        self.data = Some(self.snapshot(run, end_moment, timing));
        self.error = fault;
        self.run = None;
    }

    /// Stops the measurement at `at`, keeping what it measured so far.
    pub(crate) fn stop(&mut self, at: Moment, timing: &Timing) {
        if let Some(run) = self.run.take() {
            self.data = Some(self.snapshot(&run, at, timing));
        }
    }

    /// The routine state and progress at `at`.
    pub(crate) fn status(&self, at: Moment, timing: &Timing) -> TestStatus {
        let (state, progress) = if self.initializing(at.t, timing) {
            (RoutineState::Initializing, None)
        } else if let Some(run) = &self.run {
            if at.t < run.started.saturating_add(timing.start) {
                (RoutineState::Starting, None)
            } else {
                (RoutineState::Running, Some(run.progress(at, timing)))
            }
        } else if self.error.is_some() {
            (RoutineState::Error, None)
        } else {
            (RoutineState::Ready, None)
        };
        TestStatus {
            state,
            routine_name: Some(self.name.to_string()),
            progress,
            error: self.error.clone().map(Value::String),
            extra: Map::new(),
        }
    }

    /// What `GetTestData` answers at `at`: the measurement in progress so far, else the
    /// last one, else (for a JV routine) an empty JV object.
    pub(crate) fn test_data(&self, at: Moment, timing: &Timing) -> Value {
        if let Some(run) = &self.run {
            return self.snapshot(run, at, timing);
        }
        match &self.data {
            Some(data) => data.clone(),
            None if routine_settings::is_jv(self.name) => serde_json::to_value(JvData {
                user: self.info.user_name.clone().unwrap_or_default(),
                device: self.info.device_name.clone().unwrap_or_default(),
                area_cm2: self.info.device_area,
                ..JvData::default()
            })
            .unwrap_or(Value::Null),
            None => routine_data::synthesize(self.name, 0.0, &self.peripherals),
        }
    }

    /// The data of `run` as measured by `at`.
    fn snapshot(&self, run: &Run, at: Moment, timing: &Timing) -> Value {
        let measuring_since = run.started.saturating_add(timing.start);
        match &run.plan {
            RunPlan::Sweep(s) => {
                let position = s.position(at.t.saturating_sub(measuring_since));
                let data = JvData {
                    user: self.info.user_name.clone().unwrap_or_default(),
                    device: self.info.device_name.clone().unwrap_or_default(),
                    area_cm2: Some(self.info.device_area.unwrap_or(s.area_cm2)),
                    temperature: Some((run.temperature * 100.0).round() / 100.0),
                    acquisition_time: Some(iso8601(run.unix_started)),
                    scans: s.sweep.measured(position, &s.cell, s.irradiance_mw_cm2),
                    extra: Map::new(),
                };
                serde_json::to_value(data).unwrap_or(Value::Null)
            }
            RunPlan::Timed { length } => {
                let done = at.t.saturating_sub(measuring_since).as_secs_f64();
                let fraction = (done / length.as_secs_f64().max(1e-9)).min(1.0);
                routine_data::synthesize(self.name, fraction, &self.peripherals)
            }
        }
    }
}

impl Run {
    /// When the measurement ends, and the error it ends with (a compliance fault).
    fn end(&self, timing: &Timing) -> Option<(Duration, Option<String>)> {
        let measuring_since = self.started.saturating_add(timing.start);
        Some(match &self.plan {
            RunPlan::Sweep(s) => match &s.fault {
                Some((points, message)) => (
                    measuring_since
                        .saturating_add(s.hold)
                        .saturating_add(s.sweep.point_period.saturating_mul(*points as u32 + 1)),
                    Some(message.clone()),
                ),
                None => (
                    measuring_since
                        .saturating_add(s.hold)
                        .saturating_add(s.sweep.duration()),
                    None,
                ),
            },
            RunPlan::Timed { length } => (measuring_since.saturating_add(*length), None),
        })
    }

    /// `GetTestStatus`'s progress while Running.
    fn progress(&self, at: Moment, timing: &Timing) -> Progress {
        let elapsed =
            at.t.saturating_sub(self.started.saturating_add(timing.start));
        match &self.plan {
            RunPlan::Sweep(s) => {
                let total = s.sweep.total_points();
                let position = s.position(elapsed);
                let scan = &s.sweep.scans[position.scan];
                let voltage = if elapsed < s.hold {
                    s.hold_voltage
                } else {
                    scan.voltage(position.done.saturating_sub(1))
                };
                Progress {
                    voltage: Some(Quantity::new(round(voltage, 4), "V")),
                    current: Some(Quantity::new(round(s.cell.current(voltage), 4), "mA/cm^2")),
                    direction: Some(scan.direction.name().to_string()),
                    points_done: Some(position.done as u64),
                    total_points: Some(scan.points as u64),
                    percent: Some(round(100.0 * position.total_done as f64 / total as f64, 1)),
                    sweep_index: Some(position.scan as u64),
                    total_scans: Some(s.sweep.scans.len() as u64),
                    extra: Map::new(),
                }
            }
            RunPlan::Timed { length } => Progress {
                percent: Some(round(
                    (100.0 * elapsed.as_secs_f64() / length.as_secs_f64().max(1e-9)).min(100.0),
                    1,
                )),
                ..Progress::default()
            },
        }
    }
}
