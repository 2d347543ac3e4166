//! Simulator settings: the dialect, the phase durations and the speed factor, the channel
//! count and the bounds.

use std::time::Duration;

use super::limits;
use crate::Dialect;

/// How long the simulated instrument takes, in instrument time, and how fast its clock runs.
///
/// Every duration here, and every duration the settings imply (a JV sweep's points at its
/// scan rate, a tracking channel's JV interval, a test duration), is instrument time: the
/// host sees it divided by `speed`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timing {
    /// All-in-One: StartRoutine to Ready.
    pub initialize: Duration,
    /// All-in-One: StartMeasurement to Running.
    pub start: Duration,
    /// All-in-One: the length of a measurement of the routines without a sweep (the JV
    /// routines take as long as their sweep).
    pub measure: Duration,
    /// How many times faster than the host's clock the instrument's runs (1: real time).
    /// Clamped to [`Timing::MIN_SPEED`]..=[`Timing::MAX_SPEED`]; NaN reads as 1.
    pub speed: f64,
}

impl Timing {
    /// The slowest clock accepted.
    pub const MIN_SPEED: f64 = 1e-3;
    /// The fastest clock accepted.
    pub const MAX_SPEED: f64 = 1e6;

    /// Real time, close to a quick real instrument: 0.5 s to initialize, 0.25 s to start,
    /// 2.5 s for a measurement without a sweep.
    pub const fn realistic() -> Self {
        Timing {
            initialize: Duration::from_millis(500),
            start: Duration::from_millis(250),
            measure: Duration::from_millis(2500),
            speed: 1.0,
        }
    }

    /// For tests and demos: [`realistic`](Self::realistic) at speed 100 (a default JV
    /// measurement of two 66-point scans takes 0.13 s).
    pub const fn fast() -> Self {
        Timing {
            speed: 100.0,
            ..Self::realistic()
        }
    }

    /// The same durations at another speed.
    #[must_use]
    pub fn with_speed(mut self, speed: f64) -> Self {
        self.speed = speed;
        self
    }

    /// The speed actually used: clamped, NaN read as 1.
    pub fn effective_speed(&self) -> f64 {
        if self.speed.is_nan() {
            1.0
        } else {
            self.speed.clamp(Self::MIN_SPEED, Self::MAX_SPEED)
        }
    }
}

impl Default for Timing {
    fn default() -> Self {
        Self::realistic()
    }
}

/// Simulator settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SimulatorConfig {
    /// The dialect served.
    pub dialect: Dialect,
    /// Phase durations and speed.
    pub timing: Timing,
    /// Multichannel: the number of channels (clamped to 1..=64).
    pub channels: usize,
    /// The largest request payload accepted; a longer one is answered with an error and
    /// its connection closed. Default and maximum: 1 MiB.
    pub max_request: usize,
    /// How many received requests the simulator remembers
    /// ([`Simulator::received`](super::Simulator::received)). Default: 1024.
    pub journal: usize,
    /// The largest reply payload the simulator sends; a request whose reply would be
    /// longer is answered with error 101 instead (ask for fewer channels). Default and
    /// maximum: 16 MiB, the client's default reply limit.
    pub max_reply: usize,
    /// The most client connections served at once (clamped to 1..=4096). A connection
    /// accepted over the cap is closed at once, before reading anything from it.
    /// Default: 64.
    pub max_connections: usize,
    /// A connection that completes no request for this long is closed (a half-sent
    /// request or a reply the client does not read counts as idle). Default: 5 minutes.
    pub idle_timeout: Duration,
}

impl SimulatorConfig {
    /// Realistic timing, 8 channels, 1 MiB requests, 16 MiB replies, 64 connections
    /// closed after 5 idle minutes.
    pub fn new(dialect: Dialect) -> Self {
        SimulatorConfig {
            dialect,
            timing: Timing::realistic(),
            channels: 8,
            max_request: limits::MAX_REQUEST,
            journal: limits::JOURNAL,
            max_reply: limits::MAX_REPLY,
            max_connections: limits::MAX_CONNECTIONS,
            idle_timeout: limits::IDLE_TIMEOUT,
        }
    }

    /// The same with another request size limit (at most [`MAX_REQUEST`](super::MAX_REQUEST)).
    #[must_use]
    pub fn max_request(mut self, bytes: usize) -> Self {
        self.max_request = bytes;
        self
    }

    /// The same with another reply size limit (at most [`MAX_REPLY`](super::MAX_REPLY)).
    #[must_use]
    pub fn max_reply(mut self, bytes: usize) -> Self {
        self.max_reply = bytes;
        self
    }

    /// The same with another journal length.
    #[must_use]
    pub fn journal(mut self, requests: usize) -> Self {
        self.journal = requests;
        self
    }

    /// The same with another cap on concurrent connections.
    #[must_use]
    pub fn max_connections(mut self, connections: usize) -> Self {
        self.max_connections = connections;
        self
    }

    /// The same with another idle timeout.
    #[must_use]
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// The same with other timing.
    #[must_use]
    pub fn timing(mut self, timing: Timing) -> Self {
        self.timing = timing;
        self
    }

    /// The same with another speed factor.
    #[must_use]
    pub fn speed(mut self, speed: f64) -> Self {
        self.timing.speed = speed;
        self
    }

    /// The same with another channel count.
    #[must_use]
    pub fn channels(mut self, channels: usize) -> Self {
        self.channels = channels;
        self
    }

    pub(crate) fn channel_count(&self) -> usize {
        self.channels.clamp(1, limits::MAX_CHANNELS)
    }

    pub(crate) fn request_limit(&self) -> usize {
        self.max_request.min(limits::MAX_REQUEST)
    }

    pub(crate) fn reply_limit(&self) -> usize {
        // Room for the error reply that replaces an over-limit one.
        self.max_reply.clamp(1024, limits::MAX_REPLY)
    }

    pub(crate) fn connection_limit(&self) -> usize {
        self.max_connections.clamp(1, limits::MAX_CONNECTIONS_CAP)
    }
}
