//! The documented Multichannel tracking sequence, as a sans-IO state machine ([`Tracker`])
//! (the tokio driver, `track`, is in `track_driver`, feature `client`):
//!
//! ```text
//! GetIV (sanity: the schema has Voltage and Current, one row per channel)
//!   -> SetChannelSettings (the settings with "Enable": true, on every listed channel)
//!   -> GetChannelSettings (what the channels now hold)
//!   -> poll GetChannelState until every channel is "ready to start" (or already running)
//!   -> StartMeasurement, unless one is already running (5005 counts as running)
//!   -> poll GetChannelState; GetLatestJV when a channel finishes a sweep; GetIV every
//!      iv_interval
//!   -> StopChannel on every listed channel: at the end of `duration`, on request (Ctrl-C),
//!      when every channel stopped by itself, and after a failure
//! ```
//!
//! A JV object is reported once, when it is complete: its channel is no longer sweeping
//! (GetLatestJV answers mid-scan with the partial curve) and it has the scans its ScanOrder
//! promises. A channel stopped in the middle of a sweep reports its partial curve.
//!
//! Time is an argument: the tracker says which request to send or until when to wait, and
//! is told each reply with the time it arrived.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::deadline::deadline;
use crate::error::UsageError;
use crate::jv::JvData;
use crate::multichannel::{
    self, ChannelSettingsEntry, ChannelState, ChannelStatus, ChannelTransition, IvReading,
    SettingsEncoding, scan_order,
};
use crate::{Error, ErrorCode, ProtocolError, Reply, Request};

/// What to track, and how often to look.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackOptions {
    /// The channels, each once.
    pub channels: Vec<u32>,
    /// One channel settings object in the vendor's schema, applied to every channel
    /// (`"Enable"` is set to true).
    pub settings: Value,
    /// How the settings travel (a JSON-encoded string for older software).
    pub encoding: SettingsEncoding,
    /// Time between two GetChannelState polls. Default: 1 s.
    pub poll_interval: Duration,
    /// How long the channels may take to be ready to start. Default: 1 min.
    pub ready_timeout: Duration,
    /// Time between two IV readings. Default: 10 s.
    pub iv_interval: Duration,
    /// How long to track once started; `None`: until stopped. Default: `None`.
    pub duration: Option<Duration>,
}

impl TrackOptions {
    /// Tracking `channels` with `settings`, the other options at their defaults.
    pub fn new(channels: Vec<u32>, settings: Value) -> Self {
        TrackOptions {
            channels,
            settings,
            encoding: SettingsEncoding::Object,
            poll_interval: Duration::from_secs(1),
            ready_timeout: Duration::from_secs(60),
            iv_interval: Duration::from_secs(10),
            duration: None,
        }
    }
}

/// What happened, in order.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum TrackEvent {
    /// The sanity GetIV passed.
    IvChecked {
        /// Its reply.
        reading: IvReading,
    },
    /// The settings were applied; what the channels now hold.
    SettingsApplied {
        /// Each channel's whole settings object.
        settings: Vec<ChannelSettingsEntry>,
    },
    /// A channel's state or measurement changed (also its first sighting).
    ChannelChanged {
        /// The new state.
        state: ChannelState,
    },
    /// The measurement runs.
    MeasurementStarted {
        /// One was already running (the channels started by themselves).
        already_running: bool,
    },
    /// A new complete JV measurement.
    Jv {
        /// The channel.
        channel: u32,
        /// The JV object.
        jv: JvData,
    },
    /// A periodic IV reading.
    Iv {
        /// The reply.
        reading: IvReading,
        /// `(channel, V, A)` per channel.
        points: Vec<(u32, f64, f64)>,
    },
    /// StopChannel answered.
    Stopped {
        /// Each channel's transition ("stopped" or "ignored").
        channels: Vec<ChannelTransition>,
    },
    /// The connection died while channels may run: stop them on a fresh connection
    /// ([`stop_channels_at`](super::stop_channels_at)).
    ChannelsLeftRunning {
        /// The channels.
        channels: Vec<u32>,
        /// Why.
        reason: String,
    },
}

/// Why tracking ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// The duration ended.
    Duration,
    /// [`Tracker::stop`] was called (Ctrl-C, SIGTERM).
    Requested,
    /// Every channel stopped by itself (test duration over, or tracking off).
    ChannelsDone,
    /// A failure (the error is returned).
    Failed,
}

/// The outcome of a tracking run.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackSummary {
    /// JV objects reported.
    pub jv_count: usize,
    /// IV readings reported.
    pub iv_count: usize,
    /// Why it ended.
    pub reason: StopReason,
    /// What StopChannel answered.
    pub stopped: Vec<ChannelTransition>,
}

/// What the driver does next.
#[derive(Debug, Clone, PartialEq)]
pub enum TrackStep {
    /// Send this request, then call [`Tracker::handle`] with its outcome.
    Send(Request),
    /// Nothing to send before this time (or before [`Tracker::stop`]).
    Wait(Instant),
    /// Finished: see [`Tracker::finish`].
    Done,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    CheckIv,
    Apply,
    ReadSettings,
    WaitReady { deadline: Instant },
    Start,
    Track,
    Stop,
    Done,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Pending {
    CheckIv,
    Apply,
    ReadSettings,
    ReadyState,
    Start,
    State,
    LatestJv(Vec<u32>),
    Iv,
    Stop,
}

/// The tracking sequence without I/O:
///
/// ```text
/// GetIV (sanity) -> SetChannelSettings ("Enable": true) -> GetChannelSettings
///   -> poll GetChannelState until ready to start (or running)
///   -> StartMeasurement unless one runs (5005 counts as running)
///   -> poll GetChannelState; GetLatestJV after each sweep; GetIV every iv_interval
///   -> StopChannel on every listed channel
/// ```
///
/// [`poll`](Self::poll) says what to send (or until when to wait), [`handle`](Self::handle)
/// takes the outcome, [`next_event`](Self::next_event) gives what happened. A JV object is
/// reported once, complete: its channel no longer sweeps and it has the scans its ScanOrder
/// promises (a channel stopped mid-sweep reports its partial curve).
#[derive(Debug)]
pub struct Tracker {
    options: TrackOptions,
    settings: Value,
    phase: Phase,
    pending: Option<Pending>,
    next_poll: Instant,
    next_iv: Instant,
    until: Option<Instant>,
    stop_requested: bool,
    reason: Option<StopReason>,
    failure: Option<Error>,
    states: BTreeMap<u32, ChannelState>,
    swept: BTreeSet<u32>,
    /// Channels seen running (or sweeping) in this run: a JV object read before that is
    /// the channel's previous one, not new.
    seen_running: BTreeSet<u32>,
    jv_due: BTreeSet<u32>,
    reported: BTreeMap<u32, String>,
    expected_scans: BTreeMap<u32, usize>,
    channels_done: bool,
    events: VecDeque<TrackEvent>,
    jv_count: usize,
    iv_count: usize,
    stopped: Vec<ChannelTransition>,
}

impl Tracker {
    /// A tracker starting at `now`. Refuses an empty or repeated channel list and settings
    /// that are not an object.
    pub fn new(options: TrackOptions, now: Instant) -> Result<Self, UsageError> {
        if options.channels.is_empty() {
            return Err(UsageError::new("tracking needs at least one channel"));
        }
        let unique: BTreeSet<u32> = options.channels.iter().copied().collect();
        if unique.len() != options.channels.len() {
            return Err(UsageError::new("each channel may be listed once"));
        }
        let mut settings = options.settings.clone();
        let Some(object) = settings.as_object_mut() else {
            return Err(UsageError::new(
                "the channel settings must be a JSON object in the vendor's schema",
            ));
        };
        object.insert("Enable".into(), Value::Bool(true));
        Ok(Tracker {
            options,
            settings,
            phase: Phase::CheckIv,
            pending: None,
            next_poll: now,
            next_iv: now,
            until: None,
            stop_requested: false,
            reason: None,
            failure: None,
            states: BTreeMap::new(),
            swept: BTreeSet::new(),
            seen_running: BTreeSet::new(),
            jv_due: BTreeSet::new(),
            reported: BTreeMap::new(),
            expected_scans: BTreeMap::new(),
            channels_done: false,
            events: VecDeque::new(),
            jv_count: 0,
            iv_count: 0,
            stopped: Vec::new(),
        })
    }

    /// Asks for the end: the next step stops every channel (once they were configured).
    pub fn stop(&mut self) {
        self.stop_requested = true;
    }

    /// The next event, oldest first.
    pub fn next_event(&mut self) -> Option<TrackEvent> {
        self.events.pop_front()
    }

    /// The next step at `now`.
    pub fn poll(&mut self, now: Instant) -> TrackStep {
        if self.pending.is_some() {
            // The driver must report the request in flight first.
            return TrackStep::Wait(deadline(now, self.options.poll_interval));
        }
        let channels = self.options.channels.clone();
        loop {
            match self.phase {
                Phase::CheckIv => {
                    if self.stop_requested {
                        self.reason = Some(StopReason::Requested);
                        self.phase = Phase::Done;
                        continue;
                    }
                    return self.send(Pending::CheckIv, multichannel::get_iv(&channels));
                }
                Phase::Apply => {
                    let request = multichannel::set_channel_settings(
                        &channels,
                        &self.settings,
                        self.options.encoding,
                    );
                    return self.send(Pending::Apply, request);
                }
                Phase::ReadSettings => {
                    let request = multichannel::get_channel_settings(&channels);
                    return self.send(Pending::ReadSettings, request);
                }
                Phase::WaitReady { .. } | Phase::Track if self.stop_requested => {
                    self.reason.get_or_insert(StopReason::Requested);
                    self.phase = Phase::Stop;
                }
                Phase::WaitReady { .. } => {
                    if now < self.next_poll {
                        return TrackStep::Wait(self.next_poll);
                    }
                    self.next_poll = deadline(now, self.options.poll_interval);
                    return self.send(
                        Pending::ReadyState,
                        multichannel::get_channel_state(&channels),
                    );
                }
                Phase::Start => {
                    return self.send(Pending::Start, multichannel::start_measurement());
                }
                Phase::Track => {
                    if !self.jv_due.is_empty() {
                        let due: Vec<u32> = std::mem::take(&mut self.jv_due).into_iter().collect();
                        let request = multichannel::get_latest_jv(&due);
                        return self.send(Pending::LatestJv(due), request);
                    }
                    if self.channels_done {
                        self.reason = Some(StopReason::ChannelsDone);
                        self.phase = Phase::Stop;
                        continue;
                    }
                    if self.until.is_some_and(|u| now >= u) {
                        self.reason = Some(StopReason::Duration);
                        self.phase = Phase::Stop;
                        continue;
                    }
                    if now >= self.next_iv {
                        self.next_iv = deadline(now, self.options.iv_interval);
                        return self.send(Pending::Iv, multichannel::get_iv(&channels));
                    }
                    if now >= self.next_poll {
                        self.next_poll = deadline(now, self.options.poll_interval);
                        return self
                            .send(Pending::State, multichannel::get_channel_state(&channels));
                    }
                    let wake = self.next_poll.min(self.next_iv);
                    return TrackStep::Wait(self.until.map_or(wake, |u| wake.min(u)));
                }
                Phase::Stop => {
                    return self.send(Pending::Stop, multichannel::stop_channel(&channels));
                }
                Phase::Done => return TrackStep::Done,
            }
        }
    }

    fn send(&mut self, pending: Pending, request: Request) -> TrackStep {
        self.pending = Some(pending);
        TrackStep::Send(request)
    }

    /// The outcome of the request [`poll`](Self::poll) asked for, at `now`;
    /// `connection_alive` is false when the connection can take no further request
    /// (`Client::is_usable`).
    pub fn handle(&mut self, result: Result<Reply, Error>, connection_alive: bool, now: Instant) {
        let Some(pending) = self.pending.take() else {
            return;
        };
        let outcome = match result {
            Ok(reply) => self.on_reply(&pending, &reply, now),
            Err(e) => Err(e),
        };
        let Err(error) = outcome else { return };
        if let (Pending::Start, Error::Rejected(r)) = (&pending, &error)
            && r.code == Some(ErrorCode::ALREADY_RUNNING)
        {
            self.events.push_back(TrackEvent::MeasurementStarted {
                already_running: true,
            });
            self.start_tracking(now);
            return;
        }
        self.fail(pending, error, connection_alive);
    }

    fn fail(&mut self, pending: Pending, error: Error, connection_alive: bool) {
        let configured = !matches!(pending, Pending::CheckIv);
        if !connection_alive {
            if configured && pending != Pending::Stop {
                self.events.push_back(TrackEvent::ChannelsLeftRunning {
                    channels: self.options.channels.clone(),
                    reason: error.to_string(),
                });
            }
            self.phase = Phase::Done;
        } else if configured && pending != Pending::Stop {
            self.phase = Phase::Stop;
        } else {
            self.phase = Phase::Done;
        }
        self.reason = Some(StopReason::Failed);
        self.failure.get_or_insert(error);
    }

    fn start_tracking(&mut self, now: Instant) {
        self.phase = Phase::Track;
        self.until = self.options.duration.map(|d| deadline(now, d));
        self.next_poll = now;
        self.next_iv = now;
    }

    fn on_reply(&mut self, pending: &Pending, reply: &Reply, now: Instant) -> Result<(), Error> {
        let channels = &self.options.channels.clone();
        match pending {
            Pending::CheckIv => {
                let reading = IvReading::from_reply(reply)?;
                if !reading.has_voltage_and_current() || reading.data.len() != channels.len() {
                    return Err(ProtocolError::UnexpectedShape {
                        command: multichannel::command::GET_IV.into(),
                        detail: format!(
                            "the sanity check wants Voltage and Current columns and {} rows",
                            channels.len()
                        ),
                    }
                    .into());
                }
                self.events.push_back(TrackEvent::IvChecked { reading });
                self.phase = Phase::Apply;
            }
            Pending::Apply => self.phase = Phase::ReadSettings,
            Pending::ReadSettings => {
                let settings = ChannelSettingsEntry::from_reply(reply)?;
                for entry in &settings {
                    let order = entry
                        .settings
                        .jv
                        .as_ref()
                        .and_then(|j| j.scan_order.as_deref());
                    let scans = match order {
                        Some(scan_order::FW_THEN_RV | scan_order::RV_THEN_FW) => Some(2),
                        Some(scan_order::FORWARD_ONLY | scan_order::REVERSE_ONLY) => Some(1),
                        _ => None,
                    };
                    if let Some(scans) = scans {
                        self.expected_scans.insert(entry.index, scans);
                    }
                }
                self.events
                    .push_back(TrackEvent::SettingsApplied { settings });
                self.phase = Phase::WaitReady {
                    deadline: deadline(now, self.options.ready_timeout),
                };
                self.next_poll = now;
            }
            Pending::ReadyState => {
                let states = self.observe(reply)?;
                if let Some(bad) = states.iter().find(|s| s.state == ChannelStatus::Error) {
                    return Err(channel_error(bad.index));
                }
                let ready = |s: &ChannelState| {
                    matches!(
                        s.state,
                        ChannelStatus::ReadyToStart | ChannelStatus::Running
                    )
                };
                if states.len() == channels.len() && states.iter().all(ready) {
                    if states.iter().any(|s| s.state == ChannelStatus::Running) {
                        self.events.push_back(TrackEvent::MeasurementStarted {
                            already_running: true,
                        });
                        self.start_tracking(now);
                    } else {
                        self.phase = Phase::Start;
                    }
                } else if let Phase::WaitReady { deadline } = self.phase
                    && now >= deadline
                {
                    return Err(Error::Timeout {
                        waiting_for: format!("channels {channels:?} to be ready to start"),
                        after: self.options.ready_timeout,
                    });
                }
            }
            Pending::Start => {
                self.events.push_back(TrackEvent::MeasurementStarted {
                    already_running: false,
                });
                self.start_tracking(now);
            }
            Pending::State => {
                let states = self.observe(reply)?;
                for s in &states {
                    if s.in_jv() {
                        self.swept.insert(s.index);
                    } else if self.swept.remove(&s.index) {
                        self.jv_due.insert(s.index);
                    }
                }
                let finished = |s: &ChannelState| {
                    matches!(
                        s.state,
                        ChannelStatus::Stopped | ChannelStatus::Idle | ChannelStatus::Error
                    )
                };
                if states.iter().all(finished) {
                    // A channel may have swept and stopped between two polls.
                    self.jv_due.extend(channels.iter().copied());
                    self.channels_done = true;
                }
            }
            Pending::LatestJv(due) => {
                let objects = multichannel::latest_jv(reply)?;
                for (&channel, jv) in due.iter().zip(objects) {
                    self.consider_jv(channel, jv);
                }
            }
            Pending::Iv => {
                let reading = IvReading::from_reply(reply)?;
                let points = reading.points(channels);
                self.iv_count += 1;
                self.events.push_back(TrackEvent::Iv { reading, points });
                // A sweep may have started and ended between two polls: look at least as
                // often as the IV readings.
                let idle: Vec<u32> = channels
                    .iter()
                    .copied()
                    .filter(|c| !self.states.get(c).is_some_and(ChannelState::in_jv))
                    .collect();
                self.jv_due.extend(idle);
            }
            Pending::Stop => {
                self.stopped = ChannelTransition::from_reply(reply)?;
                self.events.push_back(TrackEvent::Stopped {
                    channels: self.stopped.clone(),
                });
                self.phase = Phase::Done;
            }
        }
        Ok(())
    }

    /// Reads a GetChannelState reply, reporting each channel whose state or measurement
    /// changed.
    fn observe(&mut self, reply: &Reply) -> Result<Vec<ChannelState>, Error> {
        let states = ChannelState::from_reply(reply)?;
        for s in &states {
            let changed = self
                .states
                .get(&s.index)
                .is_none_or(|old| old.state != s.state || old.measurement != s.measurement);
            if changed {
                self.events
                    .push_back(TrackEvent::ChannelChanged { state: s.clone() });
            }
            if s.state == ChannelStatus::Running || s.in_jv() {
                self.seen_running.insert(s.index);
            }
            self.states.insert(s.index, s.clone());
        }
        Ok(states)
    }

    /// Reports `jv` when it is new and complete.
    fn consider_jv(&mut self, channel: u32, jv: JvData) {
        let Some(time) = jv.acquisition_time.clone() else {
            return;
        };
        if jv.scans.is_empty() || self.reported.get(&channel) == Some(&time) {
            return;
        }
        if !self.seen_running.contains(&channel) {
            // Measured before this run started: known, never reported.
            self.reported.insert(channel, time);
            return;
        }
        let state = self.states.get(&channel);
        let running = state.is_some_and(|s| s.state == ChannelStatus::Running);
        if state.is_some_and(ChannelState::in_jv) {
            return;
        }
        if running && !self.looks_complete(channel, &jv) {
            // Caught mid-sweep between two polls: the next look will see it complete.
            self.swept.insert(channel);
            return;
        }
        self.reported.insert(channel, time);
        self.jv_count += 1;
        self.events.push_back(TrackEvent::Jv { channel, jv });
    }

    fn looks_complete(&self, channel: u32, jv: &JvData) -> bool {
        let Some(&scans) = self.expected_scans.get(&channel) else {
            return true;
        };
        let lengths: Vec<usize> = jv.scans.iter().map(|s| s.data.len()).collect();
        lengths.len() == scans && lengths.windows(2).all(|w| w[0] == w[1])
    }

    /// The summary, or the first failure.
    pub fn finish(self) -> Result<TrackSummary, Error> {
        if let Some(error) = self.failure {
            return Err(error);
        }
        Ok(TrackSummary {
            jv_count: self.jv_count,
            iv_count: self.iv_count,
            reason: self.reason.unwrap_or(StopReason::Requested),
            stopped: self.stopped,
        })
    }
}

fn channel_error(index: u32) -> Error {
    Error::Rejected(crate::Rejection {
        code: None,
        message: format!("channel {index} is in error"),
        reply: serde_json::Map::new(),
    })
}
