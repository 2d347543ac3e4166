//! The documented All-in-One routine workflow, as one call.
//!
//! ```text
//! StartRoutine -> poll GetTestStatus until Ready -> ApplySettings -> StartMeasurement
//!   -> poll GetTestStatus (progress events) until it stops -> GetTestData -> CloseRoutine
//! ```
//!
//! The decision "has the measurement stopped?" is the pure [`MeasurementWatch`]; [`measure`]
//! drives it over a [`Client`]. When anything fails after the routine was opened, the
//! routine is stopped and closed on a best-effort basis, so the instrument is not left
//! holding it.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::all_in_one::{RoutineState, TestStatus, main, routine};
use crate::error::Rejection;
use crate::{Client, Error};

/// Polling and waiting limits of the workflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkflowOptions {
    /// Time between two GetTestStatus polls. Default: 500 ms.
    pub poll_interval: Duration,
    /// How long the routine may take to become Ready. Default: 2 min.
    pub ready_timeout: Duration,
    /// How long the measurement may run. Default: 1 h.
    pub measurement_timeout: Duration,
}

impl Default for WorkflowOptions {
    fn default() -> Self {
        WorkflowOptions {
            poll_interval: Duration::from_millis(500),
            ready_timeout: Duration::from_secs(120),
            measurement_timeout: Duration::from_secs(3600),
        }
    }
}

/// What the workflow is doing, for progress displays.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum WorkflowEvent {
    /// StartRoutine succeeded.
    RoutineStarted {
        /// The routine name.
        routine: String,
    },
    /// The routine is not Ready yet.
    Initializing {
        /// The state reported.
        state: RoutineState,
    },
    /// The routine is Ready.
    Ready,
    /// ApplySettings succeeded.
    SettingsApplied,
    /// StartMeasurement succeeded.
    MeasurementStarted,
    /// One poll during the measurement.
    Progress {
        /// The state reported.
        state: RoutineState,
        /// The progress reported (0 to 100), if any.
        progress: Option<f64>,
    },
    /// The measurement stopped.
    MeasurementFinished,
    /// GetTestData succeeded.
    DataFetched,
    /// CloseRoutine succeeded.
    RoutineClosed,
}

impl std::fmt::Display for WorkflowEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WorkflowEvent::RoutineStarted { routine } => write!(f, "routine {routine} started"),
            WorkflowEvent::Initializing { state } => {
                write!(f, "waiting for Ready ({})", state.as_str())
            }
            WorkflowEvent::Ready => f.write_str("routine Ready"),
            WorkflowEvent::SettingsApplied => f.write_str("settings applied"),
            WorkflowEvent::MeasurementStarted => f.write_str("measurement started"),
            WorkflowEvent::Progress {
                state,
                progress: Some(p),
            } => {
                write!(f, "{} {p:.0}%", state.as_str())
            }
            WorkflowEvent::Progress {
                state,
                progress: None,
            } => f.write_str(state.as_str()),
            WorkflowEvent::MeasurementFinished => f.write_str("measurement finished"),
            WorkflowEvent::DataFetched => f.write_str("data fetched"),
            WorkflowEvent::RoutineClosed => f.write_str("routine closed"),
        }
    }
}

/// The outcome of a routine run.
#[derive(Debug, Clone, PartialEq)]
pub struct Measurement {
    /// The routine name.
    pub routine: String,
    /// The last status polled.
    pub status: TestStatus,
    /// The `data` of GetTestData (an object or an array; NaN kept as `"NaN"`).
    pub data: Value,
}

/// What one poll during a measurement means.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Still starting or running: poll again.
    Continue,
    /// The measurement stopped.
    Finished,
    /// The routine reported an error.
    Failed,
}

/// Decides from successive GetTestStatus polls when a measurement has stopped.
///
/// The documented rule is "poll until not Running", but right after StartMeasurement an
/// instrument may still report Ready for a moment. So Ready (or an unknown state) counts as
/// *finished* once Starting or Running was seen, or after [`Self::GRACE_POLLS`] polls
/// without ever seeing them (a measurement faster than the poll interval).
#[derive(Debug, Clone, Default)]
pub struct MeasurementWatch {
    seen_active: bool,
    idle_polls: u32,
}

impl MeasurementWatch {
    /// Polls of a non-running state, without a running one seen, that end the wait.
    pub const GRACE_POLLS: u32 = 3;

    /// Feeds one polled status.
    pub fn observe(&mut self, status: &TestStatus) -> Verdict {
        match status.state {
            RoutineState::Error => Verdict::Failed,
            RoutineState::Starting | RoutineState::Running => {
                self.seen_active = true;
                Verdict::Continue
            }
            _ if self.seen_active => Verdict::Finished,
            _ => {
                self.idle_polls += 1;
                if self.idle_polls >= Self::GRACE_POLLS {
                    Verdict::Finished
                } else {
                    Verdict::Continue
                }
            }
        }
    }
}

fn routine_error(routine: &str, status: &TestStatus) -> Error {
    let detail = status
        .error
        .as_ref()
        .map(|e| match e {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .unwrap_or_else(|| "no details".into());
    Error::Rejected(Rejection {
        code: None,
        message: format!("routine {routine} reported an error: {detail}"),
        reply: serde_json::Map::new(),
    })
}

async fn status(client: &mut Client) -> Result<TestStatus, Error> {
    let reply = client.request(&routine::get_test_status()).await?;
    Ok(TestStatus::from_reply(&reply)?)
}

/// Runs `routine` with `settings` to its end and returns its data.
///
/// `on_event` sees every step. Errors are the client's; the routine entering its Error
/// state is an [`Error::Rejected`], a wait beyond the configured limits an
/// [`Error::Timeout`].
pub async fn measure(
    client: &mut Client,
    routine_name: &str,
    settings: Option<Value>,
    options: WorkflowOptions,
    mut on_event: impl FnMut(&WorkflowEvent),
) -> Result<Measurement, Error> {
    client.request(&main::start_routine(routine_name)).await?;
    on_event(&WorkflowEvent::RoutineStarted {
        routine: routine_name.to_string(),
    });
    let result = run_opened(client, routine_name, settings, options, &mut on_event).await;
    match result {
        Ok(measurement) => {
            client.request(&routine::close_routine()).await?;
            on_event(&WorkflowEvent::RoutineClosed);
            Ok(measurement)
        }
        Err(e) => {
            if !e.is_transport() && !matches!(e, Error::Protocol(_)) {
                // Best effort: leave the instrument free for the next user.
                let _ = client.request(&routine::stop_measurement()).await;
                let _ = client.request(&routine::close_routine()).await;
            }
            Err(e)
        }
    }
}

async fn run_opened(
    client: &mut Client,
    routine_name: &str,
    settings: Option<Value>,
    options: WorkflowOptions,
    on_event: &mut impl FnMut(&WorkflowEvent),
) -> Result<Measurement, Error> {
    let ready_by = Instant::now() + options.ready_timeout;
    loop {
        let s = status(client).await?;
        match s.state {
            RoutineState::Ready => break,
            RoutineState::Error => return Err(routine_error(routine_name, &s)),
            _ => on_event(&WorkflowEvent::Initializing { state: s.state }),
        }
        if Instant::now() >= ready_by {
            return Err(Error::Timeout {
                waiting_for: format!("routine {routine_name} to be Ready"),
                after: options.ready_timeout,
            });
        }
        tokio::time::sleep(options.poll_interval).await;
    }
    on_event(&WorkflowEvent::Ready);
    if let Some(settings) = settings {
        client.request(&routine::apply_settings(settings)).await?;
        on_event(&WorkflowEvent::SettingsApplied);
    }
    client.request(&routine::start_measurement()).await?;
    on_event(&WorkflowEvent::MeasurementStarted);

    let done_by = Instant::now() + options.measurement_timeout;
    let mut watch = MeasurementWatch::default();
    let last = loop {
        let s = status(client).await?;
        on_event(&WorkflowEvent::Progress {
            state: s.state.clone(),
            progress: s.progress,
        });
        match watch.observe(&s) {
            Verdict::Finished => break s,
            Verdict::Failed => return Err(routine_error(routine_name, &s)),
            Verdict::Continue => {}
        }
        if Instant::now() >= done_by {
            return Err(Error::Timeout {
                waiting_for: format!("the {routine_name} measurement to finish"),
                after: options.measurement_timeout,
            });
        }
        tokio::time::sleep(options.poll_interval).await;
    };
    on_event(&WorkflowEvent::MeasurementFinished);
    let reply = client.request(&routine::get_test_data()).await?;
    on_event(&WorkflowEvent::DataFetched);
    Ok(Measurement {
        routine: routine_name.to_string(),
        status: last,
        data: reply.data().cloned().unwrap_or(Value::Null),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn st(state: RoutineState) -> TestStatus {
        TestStatus {
            state,
            routine_name: None,
            progress: None,
            error: None,
        }
    }

    #[test]
    fn finished_once_running_was_seen_and_it_stopped() {
        let mut w = MeasurementWatch::default();
        assert_eq!(w.observe(&st(RoutineState::Ready)), Verdict::Continue);
        assert_eq!(w.observe(&st(RoutineState::Starting)), Verdict::Continue);
        assert_eq!(w.observe(&st(RoutineState::Running)), Verdict::Continue);
        assert_eq!(w.observe(&st(RoutineState::Ready)), Verdict::Finished);
    }

    #[test]
    fn ready_without_running_finishes_after_grace_polls() {
        let mut w = MeasurementWatch::default();
        for _ in 1..MeasurementWatch::GRACE_POLLS {
            assert_eq!(w.observe(&st(RoutineState::Ready)), Verdict::Continue);
        }
        assert_eq!(w.observe(&st(RoutineState::Ready)), Verdict::Finished);
    }

    #[test]
    fn error_state_fails_at_once() {
        let mut w = MeasurementWatch::default();
        assert_eq!(w.observe(&st(RoutineState::Running)), Verdict::Continue);
        assert_eq!(w.observe(&st(RoutineState::Error)), Verdict::Failed);
    }

    #[test]
    fn unknown_state_after_running_counts_as_stopped() {
        let mut w = MeasurementWatch::default();
        w.observe(&st(RoutineState::Running));
        assert_eq!(
            w.observe(&st(RoutineState::Other("Done".into()))),
            Verdict::Finished
        );
    }
}
