//! When and where to connect next: the reconnect policy, sans-IO.
//!
//! The runtime tells a [`Reconnect`] when an attempt starts, when the service accepted
//! REGISTER and how the connection ended ([`Ended`]); it answers with a [`Plan`]: which
//! server, after how long, and what the link state is meanwhile. It takes the time and the
//! random number as arguments, so every rule below is pinned by tests without sleeping.
//!
//! # Backoff
//!
//! After the `n`-th failure in a row (counting from 0) the wait is drawn uniformly from
//! `[lo, min(hi, lo * 2^(n+1))]` ("full jitter" between the bounds), where
//! `lo = min(max(min, MIN_DELAY), MAX_WAIT)` and `hi = max(min(max, MAX_WAIT), lo)`.
//! [`MIN_DELAY`] is a floor that holds even with `--reconnect-min 0`, so the client never
//! spins; [`MAX_WAIT`] (a day) keeps an absurd setting from overflowing the clock. The count of failures goes back
//! to 0 once a connection has stayed registered for [`ReconnectPolicy::stable_after`]
//! (30 s, or `hi` when that is shorter): a link that flaps right after registering keeps
//! backing off.
//!
//! # REDIRECT
//!
//! A REDIRECT is followed at once, without a wait. At most [`MAX_REDIRECTS`] are followed
//! in a row, and never to a target already visited in the same chain (the configured
//! server included): either of those is a loop, and the client goes back to the configured
//! server after the usual backoff. When a redirected-to server fails, the next attempt goes
//! to the configured server too, also after the backoff.
//!
//! # Refusals
//!
//! - UNAUTHORIZED: the client is not paired yet. The link state is
//!   [`LinkState::Unauthorized`], the client keeps retrying with backoff for as long as it
//!   runs (the reference client gives up after 20 minutes), and the first refusal in a row
//!   carries [`Notice::NotPaired`] so the runtime says once, not on every attempt, what the
//!   user must do.
//! - UNSUPPORTED_PROTOCOL_VERSION: the service does not speak Arrow v2; retrying cannot
//!   help, so [`Reconnect::ended`] returns [`Fatal::UnsupportedVersion`].
//! - Any other code (INTERNAL_SERVER_ERROR, ...): retried with backoff.

use std::time::{Duration, Instant};

use crate::message::code;
use crate::status::LinkState;

/// The shortest wait between two attempts to the same server, whatever the settings.
pub const MIN_DELAY: Duration = Duration::from_millis(100);
/// Redirects followed in a row before going back to the configured server.
pub const MAX_REDIRECTS: usize = 3;
/// A connection registered this long resets the backoff (capped by the maximum wait).
pub const STABLE_AFTER: Duration = Duration::from_secs(30);

/// The bounds of the backoff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReconnectPolicy {
    /// Shortest wait (`--reconnect-min`; [`MIN_DELAY`] at least).
    pub min: Duration,
    /// Longest wait (`--reconnect-max`).
    pub max: Duration,
}

impl Default for ReconnectPolicy {
    /// 1 s to 60 s.
    fn default() -> Self {
        ReconnectPolicy {
            min: Duration::from_secs(1),
            max: Duration::from_secs(60),
        }
    }
}

/// The longest wait between attempts: a longer `min` or `max` counts as this.
pub const MAX_WAIT: Duration = Duration::from_secs(24 * 3600);

impl ReconnectPolicy {
    /// Waits between `min` and `max` (each at least 100 ms and at most [`MAX_WAIT`]).
    pub fn new(min: Duration, max: Duration) -> Self {
        ReconnectPolicy { min, max }
    }

    fn lo(&self) -> Duration {
        self.min.clamp(MIN_DELAY, MAX_WAIT)
    }

    fn hi(&self) -> Duration {
        self.max.min(MAX_WAIT).max(self.lo())
    }

    /// How long a connection must stay registered to reset the backoff.
    pub fn stable_after(&self) -> Duration {
        STABLE_AFTER.min(self.hi())
    }

    /// The upper bound of the wait after `failures` failures in a row.
    pub fn ceiling(&self, failures: u32) -> Duration {
        let factor = 1u32
            .checked_shl(failures.saturating_add(1))
            .unwrap_or(u32::MAX);
        self.lo().saturating_mul(factor).min(self.hi())
    }

    /// The wait after `failures` failures in a row; `random` is a uniformly random `u64`
    /// (0 gives the lower bound, `u64::MAX` the upper one).
    pub fn delay(&self, failures: u32, random: u64) -> Duration {
        let lo = self.lo();
        let span = (self.ceiling(failures) - lo).as_nanos();
        let offset = (span * u128::from(random)) >> 64;
        lo.saturating_add(Duration::from_nanos(
            u64::try_from(offset).unwrap_or(u64::MAX),
        ))
    }
}

/// How a connection attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended {
    /// Dial, TLS or the handshake failed, or the connection broke (registered or not).
    Lost,
    /// REGISTER was answered with this error code.
    Refused(u32),
    /// The service sent REDIRECT to `HOST:PORT`.
    Redirected(String),
}

/// Something the runtime should tell the user once.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Notice {
    /// The first UNAUTHORIZED in a row: the client must be paired.
    NotPaired,
    /// A REDIRECT was not followed: the target was already visited in this chain.
    RedirectLoop {
        /// The target.
        target: String,
    },
    /// A REDIRECT was not followed: too many in a row.
    TooManyRedirects {
        /// The target.
        target: String,
    },
    /// A server the client was redirected to does not speak Arrow v2: back to the
    /// configured server (only the configured server saying so is fatal).
    RedirectTargetUnsupported {
        /// The redirect target.
        target: String,
    },
}

/// What to do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The server to connect to, `HOST:PORT`.
    pub server: String,
    /// How long to wait first (zero after a REDIRECT).
    pub delay: Duration,
    /// The link state while waiting.
    pub state: LinkState,
    /// Something to report once.
    pub notice: Option<Notice>,
}

/// Retrying cannot help.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Fatal {
    /// The service answered REGISTER with UNSUPPORTED_PROTOCOL_VERSION.
    #[error(
        "the Arrow Service at {server} does not support Arrow protocol v2 \
         (ACK UNSUPPORTED_PROTOCOL_VERSION); this client cannot talk to it"
    )]
    UnsupportedVersion {
        /// The server that said so.
        server: String,
    },
}

/// The reconnect state of one client.
#[derive(Debug, Clone)]
pub struct Reconnect {
    policy: ReconnectPolicy,
    configured: String,
    current: String,
    failures: u32,
    redirects: Vec<String>,
    registered_at: Option<Instant>,
    not_paired_told: bool,
}

impl Reconnect {
    /// Starts with the configured server.
    pub fn new(policy: ReconnectPolicy, server: impl Into<String>) -> Self {
        let server = server.into();
        Reconnect {
            policy,
            current: server.clone(),
            configured: server,
            failures: 0,
            redirects: Vec::new(),
            registered_at: None,
            not_paired_told: false,
        }
    }

    /// Where the next attempt goes.
    pub fn server(&self) -> &str {
        &self.current
    }

    /// The configured server.
    pub fn configured(&self) -> &str {
        &self.configured
    }

    /// Failures in a row since the last stable connection.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// The service accepted REGISTER at `now`.
    pub fn registered(&mut self, now: Instant) {
        self.registered_at = Some(now);
        self.not_paired_told = false;
    }

    /// The attempt ended at `now`; `random` is a uniformly random `u64` for the jitter.
    pub fn ended(&mut self, now: Instant, how: Ended, random: u64) -> Result<Plan, Fatal> {
        let stable = self
            .registered_at
            .take()
            .is_some_and(|at| now.saturating_duration_since(at) >= self.policy.stable_after());
        if stable {
            self.failures = 0;
            self.redirects.clear();
        }
        let mut state = LinkState::Disconnected;
        let mut notice = None;
        match how {
            Ended::Redirected(target) => {
                let visited = target == self.configured
                    || target == self.current
                    || self.redirects.contains(&target);
                if visited {
                    notice = Some(Notice::RedirectLoop { target });
                } else if self.redirects.len() >= MAX_REDIRECTS {
                    notice = Some(Notice::TooManyRedirects { target });
                } else {
                    self.redirects.push(target.clone());
                    self.current = target.clone();
                    return Ok(Plan {
                        server: target,
                        delay: Duration::ZERO,
                        state: LinkState::Connecting,
                        notice: None,
                    });
                }
            }
            Ended::Refused(code::UNSUPPORTED_PROTOCOL_VERSION)
                if self.current == self.configured =>
            {
                return Err(Fatal::UnsupportedVersion {
                    server: self.current.clone(),
                });
            }
            Ended::Refused(code::UNSUPPORTED_PROTOCOL_VERSION) => {
                notice = Some(Notice::RedirectTargetUnsupported {
                    target: self.current.clone(),
                });
            }
            Ended::Refused(code::UNAUTHORIZED) => {
                state = LinkState::Unauthorized;
                if !self.not_paired_told {
                    self.not_paired_told = true;
                    notice = Some(Notice::NotPaired);
                }
            }
            Ended::Refused(_) | Ended::Lost => {}
        }
        self.current = self.configured.clone();
        self.redirects.clear();
        let delay = self.policy.delay(self.failures, random);
        self.failures = self.failures.saturating_add(1);
        Ok(Plan {
            server: self.current.clone(),
            delay,
            state,
            notice,
        })
    }
}

#[cfg(test)]
mod tests;
