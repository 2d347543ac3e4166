//! The documented All-in-One routine workflow, as one call.
//!
//! ```text
//! StartRoutine -> poll GetTestStatus until Ready -> SetInfo (when given) -> ApplySettings
//!   -> StartMeasurement -> poll GetTestStatus (progress events) until it stops
//!   -> GetTestData -> CloseRoutine
//! ```
//!
//! The decision "has the measurement stopped?" is the pure [`MeasurementWatch`]; [`measure`]
//! drives it over a [`Client`]. When anything fails after the routine was opened (an error
//! reply, the routine's Error state, the workflow's own ready or measurement timeout), the
//! routine is stopped and closed on the same connection, so the instrument is not left
//! holding it. Only a dead connection (a transport failure, a protocol violation, a request
//! timeout) skips that: [`WorkflowEvent::RoutineLeftOpen`] tells the caller to close it on a
//! fresh connection ([`close_routine_at`](super::close_routine_at)).

use std::time::Duration;

use serde_json::Value;
use tokio::time::Instant;

use crate::deadline::deadline;

use crate::all_in_one::{RoutineInfo, RoutineState, TestStatus, main, routine};
use crate::error::Rejection;
use crate::{Client, Error, ErrorCode};

/// Polling, waiting and size limits of the workflow, and what SetInfo records.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkflowOptions {
    /// Time between two GetTestStatus polls. Default: 500 ms.
    pub poll_interval: Duration,
    /// How long the routine may take to become Ready. Default: 2 min.
    pub ready_timeout: Duration,
    /// How long the measurement may run. Default: 1 h.
    pub measurement_timeout: Duration,
    /// The largest reply accepted from the start of the workflow on (GetTestData can be
    /// large); `None` keeps the client's limit. Default: `None`.
    pub max_reply: Option<usize>,
    /// Sent with SetInfo once the routine is Ready, before the settings; `None` (or an
    /// empty one) sends nothing. Default: `None`.
    pub info: Option<RoutineInfo>,
}

impl Default for WorkflowOptions {
    fn default() -> Self {
        WorkflowOptions {
            poll_interval: Duration::from_millis(500),
            ready_timeout: Duration::from_secs(120),
            measurement_timeout: Duration::from_secs(3600),
            max_reply: None,
            info: None,
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
    /// SetInfo succeeded.
    InfoSet,
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
    /// CloseRoutine succeeded (at the end, or after a failure).
    RoutineClosed,
    /// The routine could not be closed: the connection died (`connection_lost`: close it on
    /// a fresh connection), or the instrument refused CloseRoutine.
    RoutineLeftOpen {
        /// Why.
        reason: String,
        /// The connection is dead: the caller should close the routine on a fresh one.
        connection_lost: bool,
    },
}

impl std::fmt::Display for WorkflowEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WorkflowEvent::RoutineStarted { routine } => write!(f, "routine {routine} started"),
            WorkflowEvent::Initializing { state } => {
                write!(f, "waiting for Ready ({})", state.as_str())
            }
            WorkflowEvent::Ready => f.write_str("routine Ready"),
            WorkflowEvent::InfoSet => f.write_str("info set"),
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
            WorkflowEvent::RoutineLeftOpen { reason, .. } => {
                write!(f, "the routine may still be open: {reason}")
            }
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
    /// The `data` of GetTestData (an object or an array; NaN kept as `"NaN"`). For the JV
    /// routines read it as [`JvData`](crate::jv::JvData).
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
    let detail = status.error_text().unwrap_or_else(|| "no details".into());
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

/// Runs `routine_name` with `settings` to its end and returns its data.
///
/// `on_event` sees every step. Errors are the client's; the routine entering its Error
/// state is an [`Error::Rejected`], a wait beyond the configured limits an
/// [`Error::Timeout`]. After any failure past StartRoutine the routine is stopped and
/// closed, unless the connection is dead ([`WorkflowEvent::RoutineLeftOpen`]).
pub async fn measure(
    client: &mut Client,
    routine_name: &str,
    settings: Option<Value>,
    options: WorkflowOptions,
    mut on_event: impl FnMut(&WorkflowEvent),
) -> Result<Measurement, Error> {
    if let Some(max) = options.max_reply {
        client.set_max_reply(max);
    }
    client.request(&main::start_routine(routine_name)).await?;
    on_event(&WorkflowEvent::RoutineStarted {
        routine: routine_name.to_string(),
    });
    match run_opened(client, routine_name, settings, &options, &mut on_event).await {
        Ok(measurement) => {
            close(client, &mut on_event).await?;
            Ok(measurement)
        }
        Err(e) => {
            if client.is_usable() {
                // Best effort: leave the instrument free for the next user. Nothing may
                // be running, so StopMeasurement's answer does not matter.
                let _ = client.request(&routine::stop_measurement()).await;
                let _ = close(client, &mut on_event).await;
            } else {
                on_event(&WorkflowEvent::RoutineLeftOpen {
                    reason: e.to_string(),
                    connection_lost: true,
                });
            }
            Err(e)
        }
    }
}

/// CloseRoutine, with its event. A 4006 answer (no routine open: someone else closed it)
/// counts as closed.
async fn close(
    client: &mut Client,
    on_event: &mut impl FnMut(&WorkflowEvent),
) -> Result<(), Error> {
    match client.request(&routine::close_routine()).await {
        Ok(_) => {
            on_event(&WorkflowEvent::RoutineClosed);
            Ok(())
        }
        Err(Error::Rejected(r)) if r.code == Some(ErrorCode::NO_ACTIVE_ROUTINE) => {
            on_event(&WorkflowEvent::RoutineClosed);
            Ok(())
        }
        Err(e) => {
            on_event(&WorkflowEvent::RoutineLeftOpen {
                reason: format!("CloseRoutine failed: {e}"),
                connection_lost: !client.is_usable(),
            });
            Err(e)
        }
    }
}

async fn run_opened(
    client: &mut Client,
    routine_name: &str,
    settings: Option<Value>,
    options: &WorkflowOptions,
    on_event: &mut impl FnMut(&WorkflowEvent),
) -> Result<Measurement, Error> {
    let ready_by = Instant::from_std(deadline(Instant::now().into_std(), options.ready_timeout));
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
    if let Some(info) = options.info.as_ref().filter(|i| !i.is_empty()) {
        client.request(&routine::set_info_from(info)).await?;
        on_event(&WorkflowEvent::InfoSet);
    }
    if let Some(settings) = settings {
        client.request(&routine::apply_settings(settings)).await?;
        on_event(&WorkflowEvent::SettingsApplied);
    }
    client.request(&routine::start_measurement()).await?;
    on_event(&WorkflowEvent::MeasurementStarted);

    let done_by = Instant::from_std(deadline(
        Instant::now().into_std(),
        options.measurement_timeout,
    ));
    let mut watch = MeasurementWatch::default();
    let last = loop {
        let s = status(client).await?;
        on_event(&WorkflowEvent::Progress {
            state: s.state.clone(),
            progress: s.percent(),
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
            extra: serde_json::Map::new(),
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
