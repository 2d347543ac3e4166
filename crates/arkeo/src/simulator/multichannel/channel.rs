//! One simulated source-measure channel and its life on the instrument's clock:
//!
//! ```text
//! idle --"Enable": true--> ready to start --StartMeasurement (or a measurement already
//!   running)--> running: jv (one sweep) -> tracking (jvInterval) -> jv -> tracking ...
//!   --StopChannel / TestDuration over / one JV with TrackEnable false--> stopped
//! stopped --"Enable": true--> ready to start          ready to start --"Enable": false--> idle
//! ```
//!
//! Nothing runs in the background: [`Channel::settle`] brings a running channel up to the
//! time of the request, jumping over whole jv + tracking cycles at once, so a fast clock
//! costs a few steps per request however much instrument time passed.

use std::time::Duration;

use serde_json::{Map, Value};

use super::channel_settings::{self, ChannelPlan};
use crate::jv::JvData;
use crate::multichannel::{ChannelState, ChannelStatus, algorithm, measurement};
use crate::simulator::cell::CellModel;
use crate::simulator::clock::{Moment, iso8601};
use crate::simulator::jv_sweep::{Direction, Position, round};

/// Where a running channel is in its cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    /// Sweeping since this instrument time.
    Jv { since: Duration },
    /// Tracking since this instrument time.
    Tracking { since: Duration },
}

/// A channel's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    Idle,
    Ready,
    Running { started: Duration, stage: Stage },
    Stopped,
}

impl Phase {
    pub(crate) fn status(self) -> ChannelStatus {
        match self {
            Phase::Idle => ChannelStatus::Idle,
            Phase::Ready => ChannelStatus::ReadyToStart,
            Phase::Running { .. } => ChannelStatus::Running,
            Phase::Stopped => ChannelStatus::Stopped,
        }
    }
}

/// One channel.
#[derive(Debug, Clone)]
pub(crate) struct Channel {
    pub(crate) index: usize,
    pub(crate) settings: Map<String, Value>,
    pub(crate) phase: Phase,
    pub(crate) environment: String,
    /// The direction of the last point measured.
    direction: Direction,
    /// The last JV that ended (complete, or cut by a stop).
    latest_jv: Option<JvData>,
}

/// Instrument time `t` plus `d`, saturating.
fn after(t: Duration, d: Duration) -> Duration {
    t.saturating_add(d)
}

impl Channel {
    pub(crate) fn new(index: usize, environment: &str) -> Self {
        Channel {
            index,
            settings: channel_settings::defaults(),
            phase: Phase::Idle,
            environment: environment.to_string(),
            direction: Direction::Forward,
            latest_jv: None,
        }
    }

    /// The plan of the current settings (always valid: every update was checked).
    pub(crate) fn plan(&self) -> Option<ChannelPlan> {
        channel_settings::plan(&self.settings).ok()
    }

    pub(crate) fn enabled(&self) -> bool {
        self.settings
            .get("Enable")
            .and_then(Value::as_bool)
            .unwrap_or(false)
    }

    pub(crate) fn is_running(&self) -> bool {
        matches!(self.phase, Phase::Running { .. })
    }

    /// Starts measuring at `t`: a sweep first.
    pub(crate) fn start(&mut self, t: Duration) {
        self.phase = Phase::Running {
            started: t,
            stage: Stage::Jv { since: t },
        };
    }

    /// Stops at `at` (a sweep in progress is kept as the latest JV, cut where it was).
    pub(crate) fn stop(&mut self, at: Moment) {
        if let (
            Phase::Running {
                started,
                stage: Stage::Jv { since },
            },
            Some(plan),
        ) = (self.phase, self.plan())
        {
            let position = plan.sweep.position(at.t.saturating_sub(since));
            self.latest_jv = Some(self.jv_object(&plan, started, since, position, at));
        }
        self.phase = Phase::Stopped;
    }

    /// Starts a sweep now on a tracking channel.
    pub(crate) fn force_jv(&mut self, t: Duration) {
        if let Phase::Running { started, .. } = self.phase {
            self.phase = Phase::Running {
                started,
                stage: Stage::Jv { since: t },
            };
        }
    }

    /// Brings a running channel up to `at`.
    pub(crate) fn settle(&mut self, at: Moment) {
        let Phase::Running { started, mut stage } = self.phase else {
            return;
        };
        let Some(plan) = self.plan() else { return };
        let sweep = plan.sweep.duration();
        let cycle = sweep.saturating_add(plan.jv_interval);
        let test_end = plan.test_duration.map(|d| after(started, d));
        let horizon = test_end.map_or(at.t, |e| e.min(at.t));
        loop {
            let (since, end) = match stage {
                Stage::Jv { since } => (since, after(since, sweep)),
                Stage::Tracking { since } => (since, after(since, plan.jv_interval)),
            };
            if end > horizon {
                if test_end.is_some_and(|e| e <= at.t) {
                    // The test duration ended inside this stage.
                    let stop_at = Moment {
                        t: horizon,
                        unix: at.unix_at(horizon),
                    };
                    self.phase = Phase::Running { started, stage };
                    self.stop(stop_at);
                    return;
                }
                break;
            }
            match stage {
                Stage::Jv { .. } => {
                    let done = plan.sweep.position(sweep);
                    let end_moment = Moment {
                        t: end,
                        unix: at.unix_at(end),
                    };
                    self.latest_jv = Some(self.jv_object(&plan, started, since, done, end_moment));
                    if let Some(last) = plan.sweep.scans.last() {
                        self.direction = last.direction;
                    }
                    if !plan.track {
                        self.phase = Phase::Stopped;
                        return;
                    }
                    stage = Stage::Tracking { since: end };
                }
                Stage::Tracking { .. } => stage = Stage::Jv { since: end },
            }
            // Whole cycles before the horizon change nothing but the time: skip them.
            let start = match stage {
                Stage::Jv { since } | Stage::Tracking { since } => since,
            };
            let ahead = horizon.saturating_sub(start);
            if !cycle.is_zero() && ahead > cycle.saturating_mul(2) {
                let skip = (ahead.as_secs_f64() / cycle.as_secs_f64()).floor() - 1.0;
                let shift = Duration::try_from_secs_f64(skip * cycle.as_secs_f64())
                    .unwrap_or(Duration::ZERO);
                stage = match stage {
                    Stage::Jv { since } => Stage::Jv {
                        since: after(since, shift),
                    },
                    Stage::Tracking { since } => Stage::Tracking {
                        since: after(since, shift),
                    },
                };
            }
        }
        self.phase = Phase::Running { started, stage };
    }

    /// The cell at `t`: the plan's, aged 2 % of its photocurrent per hour of measuring.
    fn cell_at(plan: &ChannelPlan, started: Duration, t: Duration) -> CellModel {
        let hours = t.saturating_sub(started).as_secs_f64() / 3600.0;
        plan.cell.scaled((1.0 - 0.02 * hours).max(0.2))
    }

    fn jv_object(
        &self,
        plan: &ChannelPlan,
        started: Duration,
        since: Duration,
        position: Position,
        at: Moment,
    ) -> JvData {
        let cell = Self::cell_at(plan, started, since);
        JvData {
            user: plan.user.clone(),
            device: plan.device.clone(),
            area_cm2: Some(plan.area_cm2),
            temperature: None,
            acquisition_time: Some(iso8601(at.unix_at(since))),
            scans: plan.sweep.measured(position, &cell, plan.irradiance_mw_cm2),
            extra: Map::new(),
        }
    }

    /// The JV object GetLatestJV answers at `at`: the sweep in progress (partial), else the
    /// last one, else one without scans.
    pub(crate) fn latest_jv(&self, at: Moment) -> JvData {
        if let (
            Phase::Running {
                started,
                stage: Stage::Jv { since },
            },
            Some(plan),
        ) = (self.phase, self.plan())
        {
            let position = plan.sweep.position(at.t.saturating_sub(since));
            return self.jv_object(&plan, started, since, position, at);
        }
        if let Some(jv) = &self.latest_jv {
            return jv.clone();
        }
        let plan = self.plan();
        JvData {
            user: plan.as_ref().map(|p| p.user.clone()).unwrap_or_default(),
            device: plan.as_ref().map(|p| p.device.clone()).unwrap_or_default(),
            area_cm2: plan.map(|p| p.area_cm2),
            ..JvData::default()
        }
    }

    /// The live (voltage in V, current in A), NaN when the channel is not running.
    pub(crate) fn live_iv(&self, at: Moment) -> (f64, f64) {
        let (Phase::Running { started, stage }, Some(plan)) = (self.phase, self.plan()) else {
            return (f64::NAN, f64::NAN);
        };
        let cell = Self::cell_at(&plan, started, at.t);
        let (v, j) = match stage {
            Stage::Jv { since } => {
                let position = plan.sweep.position(at.t.saturating_sub(since));
                let scan = &plan.sweep.scans[position.scan];
                let v = scan.voltage(position.done.saturating_sub(1));
                (v, cell.current(v))
            }
            Stage::Tracking { .. } => match plan.algorithm.as_str() {
                algorithm::OPEN_CIRCUIT => (cell.voc(), 0.0),
                algorithm::SHORT_CIRCUIT => (0.0, cell.jsc),
                _ => cell.mpp(),
            },
        };
        (
            round(v * plan.series, 6),
            round(j * plan.area_cm2 / 1000.0 * plan.parallel, 9),
        )
    }

    /// The GetChannelState object.
    pub(crate) fn state(&self, at: Moment) -> ChannelState {
        let plan = self.plan();
        let (measuring, direction) = match (self.phase, &plan) {
            (
                Phase::Running {
                    stage: Stage::Jv { since },
                    ..
                },
                Some(plan),
            ) => {
                let position = plan.sweep.position(at.t.saturating_sub(since));
                (measurement::JV, plan.sweep.scans[position.scan].direction)
            }
            (
                Phase::Running {
                    stage: Stage::Tracking { .. },
                    ..
                },
                _,
            ) => (measurement::TRACKING, self.direction),
            _ => (measurement::JV, self.direction),
        };
        ChannelState {
            index: self.index as u32,
            enabled: self.enabled(),
            user: plan.as_ref().map(|p| p.user.clone()).unwrap_or_default(),
            device: plan.map(|p| p.device).unwrap_or_default(),
            measurement: Some(measuring.to_string()),
            direction: Some(direction.name().to_string()),
            state: self.phase.status(),
            extra: Map::new(),
        }
    }

    /// True while sweeping.
    pub(crate) fn in_jv(&self) -> bool {
        matches!(
            self.phase,
            Phase::Running {
                stage: Stage::Jv { .. },
                ..
            }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn at(secs: f64) -> Moment {
        Moment::at_offset(Duration::from_secs_f64(secs))
    }

    fn running(settings: Value) -> Channel {
        let mut c = Channel::new(0, "Chamber A");
        crate::simulator::schema::merge(&mut c.settings, settings.as_object().unwrap());
        c.start(Duration::ZERO);
        c
    }

    #[test]
    fn a_tracking_channel_alternates_sweeps_and_tracking() {
        // 132 points at 0.1 s: a 13.2 s sweep, then 60 s of tracking.
        let mut c = running(
            json!({"Enable": true, "Tracking": {"jvInterval": {"Value": 60, "Unit": "s"}}}),
        );
        c.settle(at(5.0));
        assert!(c.in_jv());
        assert_eq!(
            c.latest_jv(at(5.0)).scans[0].data.len(),
            50,
            "partial mid-scan"
        );
        c.settle(at(20.0));
        assert_eq!(c.state(at(20.0)).measurement.as_deref(), Some("tracking"));
        let first = c.latest_jv(at(20.0));
        assert_eq!(first.scans.len(), 2);
        c.settle(at(80.0));
        assert!(c.in_jv(), "the next sweep starts after jvInterval");
    }

    #[test]
    fn without_tracking_a_channel_stops_after_one_jv() {
        let mut c = running(json!({"Enable": true, "Tracking": {"TrackEnable": false}}));
        c.settle(at(14.0));
        assert_eq!(c.phase, Phase::Stopped);
        assert_eq!(c.latest_jv(at(14.0)).scans.len(), 2);
    }

    #[test]
    fn the_test_duration_stops_the_channel() {
        let mut c = running(
            json!({"Enable": true, "Tracking": {"TestDuration": {"Value": 1, "Unit": "min"}}}),
        );
        c.settle(at(3600.0));
        assert_eq!(c.phase, Phase::Stopped);
    }

    #[test]
    fn a_year_of_instrument_time_settles_in_a_few_steps() {
        let mut c =
            running(json!({"Enable": true, "Tracking": {"jvInterval": {"Value": 0, "Unit": "s"}}}));
        c.settle(at(365.0 * 86_400.0));
        assert!(c.is_running());
        let jv = c.latest_jv(at(365.0 * 86_400.0));
        assert!(!jv.scans.is_empty());
    }

    #[test]
    fn live_iv_follows_the_algorithm() {
        let mut c = running(
            json!({"Enable": true, "Tracking": {"Algorithm": "Open circuit", "jvInterval": {"Value": 1, "Unit": "h"}}}),
        );
        c.settle(at(20.0));
        let (v, i) = c.live_iv(at(20.0));
        assert!(v > 1.0 && i == 0.0, "{v} {i}");
        let idle = Channel::new(1, "Chamber A");
        assert!(idle.live_iv(at(1.0)).0.is_nan());
    }
}
