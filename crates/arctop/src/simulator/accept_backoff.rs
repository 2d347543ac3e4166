//! Backoff after failed `accept` calls, sans I/O: running out of file descriptors makes
//! every `accept` fail at once, and retrying immediately spins a core and floods the log.
//!
//! Each failure in a row doubles the pause (from [`AcceptBackoff::INITIAL`] up to
//! [`AcceptBackoff::MAX`]); a success resets it. A warning is logged at most once per
//! [`AcceptBackoff::MAX`] period, with the count of failures not logged since.

use std::time::{Duration, Instant};

/// What to do after a failed `accept`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AcceptRetry {
    /// Wait this long before accepting again.
    pub delay: Duration,
    /// `Some(n)`: log this failure now, noting `n` earlier failures that were not logged.
    /// `None`: stay quiet (one was logged less than a period ago).
    pub log: Option<u64>,
}

/// The pause state of an accept loop.
#[derive(Debug, Clone, Default)]
pub struct AcceptBackoff {
    /// The current pause (zero after a success).
    delay: Duration,
    /// No warning before this instant.
    quiet_until: Option<Instant>,
    /// Failures not logged since the last warning.
    suppressed: u64,
}

impl AcceptBackoff {
    /// The pause after the first failure in a row.
    pub const INITIAL: Duration = Duration::from_millis(10);
    /// The longest pause, and the shortest time between two warnings.
    pub const MAX: Duration = Duration::from_secs(1);

    /// A loop that has not failed yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// An `accept` failed at `now`.
    pub fn failed(&mut self, now: Instant) -> AcceptRetry {
        self.delay = if self.delay.is_zero() {
            Self::INITIAL
        } else {
            self.delay.saturating_mul(2).min(Self::MAX)
        };
        let log = if self.quiet_until.is_none_or(|until| now >= until) {
            self.quiet_until = now.checked_add(Self::MAX);
            Some(std::mem::take(&mut self.suppressed))
        } else {
            self.suppressed = self.suppressed.saturating_add(1);
            None
        };
        AcceptRetry {
            delay: self.delay,
            log,
        }
    }

    /// An `accept` succeeded: the next failure starts from [`INITIAL`](Self::INITIAL) again.
    /// (The log stays rate-limited across successes.)
    pub fn succeeded(&mut self) {
        self.delay = Duration::ZERO;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_double_up_to_the_cap_and_reset_on_success() {
        let now = Instant::now();
        let mut b = AcceptBackoff::new();
        let delays: Vec<u64> = (0..10)
            .map(|_| b.failed(now).delay.as_millis() as u64)
            .collect();
        assert_eq!(delays, [10, 20, 40, 80, 160, 320, 640, 1000, 1000, 1000]);
        b.succeeded();
        assert_eq!(b.failed(now).delay, AcceptBackoff::INITIAL);
    }

    #[test]
    fn warns_once_per_period_with_the_quiet_count() {
        let t0 = Instant::now();
        let mut b = AcceptBackoff::new();
        let ms = |n| t0 + Duration::from_millis(n);
        let logs: Vec<Option<u64>> = [0, 10, 30, 999, 1000, 1500, 2000]
            .into_iter()
            .map(|at| b.failed(ms(at)).log)
            .collect();
        assert_eq!(logs, [Some(0), None, None, None, Some(3), None, Some(1)]);
    }
}
