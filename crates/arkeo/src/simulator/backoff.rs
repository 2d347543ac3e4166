//! The pause after a failed accept, without I/O: exponential from 10 ms to 1 s, reset by
//! the next successful accept, with one log line per backoff period instead of one per
//! failure.
//!
//! Running out of file descriptors makes every `accept` fail at once; retrying at once
//! spins a core and floods the log. The server asks [`AcceptBackoff::failed`] how long to
//! wait and whether to log, and calls [`AcceptBackoff::succeeded`] after an accept works.

use std::time::{Duration, Instant};

use super::limits::{ACCEPT_BACKOFF_MAX, ACCEPT_BACKOFF_MIN};

/// What to do after one failed accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackoffStep {
    /// Wait this long before accepting again.
    pub delay: Duration,
    /// Log this failure (with `suppressed` earlier ones not logged); `false`: stay quiet.
    pub log: bool,
    /// Failures since the last one logged, not counting this one.
    pub suppressed: u64,
}

/// Exponential backoff for the accept loop. Time is an argument.
#[derive(Debug, Clone)]
pub struct AcceptBackoff {
    min: Duration,
    max: Duration,
    next: Duration,
    /// When the current logging period ends (`None`: no failure since the last success).
    quiet_until: Option<Instant>,
    suppressed: u64,
}

impl Default for AcceptBackoff {
    fn default() -> Self {
        Self::new(ACCEPT_BACKOFF_MIN, ACCEPT_BACKOFF_MAX)
    }
}

impl AcceptBackoff {
    /// Backoff from `min` doubling up to `max` (`max` is raised to `min` when below it).
    pub fn new(min: Duration, max: Duration) -> Self {
        AcceptBackoff {
            min,
            max: max.max(min),
            next: min,
            quiet_until: None,
            suppressed: 0,
        }
    }

    /// An accept failed at `now`: how long to wait, and whether to log. The first failure
    /// after a success is logged; later ones at most once per `max` period.
    pub fn failed(&mut self, now: Instant) -> BackoffStep {
        let delay = self.next;
        self.next = self.next.saturating_mul(2).min(self.max);
        let log = self.quiet_until.is_none_or(|until| now >= until);
        let suppressed = if log {
            self.quiet_until = Some(now + self.max);
            std::mem::take(&mut self.suppressed)
        } else {
            self.suppressed = self.suppressed.saturating_add(1);
            self.suppressed
        };
        BackoffStep {
            delay,
            log,
            suppressed: if log { suppressed } else { 0 },
        }
    }

    /// An accept worked: the next failure waits `min` again and is logged.
    pub fn succeeded(&mut self) {
        self.next = self.min;
        self.quiet_until = None;
        self.suppressed = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn delays_double_from_ten_milliseconds_up_to_one_second() {
        let mut b = AcceptBackoff::default();
        let now = Instant::now();
        let delays: Vec<_> = (0..10).map(|_| b.failed(now).delay.as_millis()).collect();
        assert_eq!(delays, [10, 20, 40, 80, 160, 320, 640, 1000, 1000, 1000]);
    }

    #[test]
    fn a_success_resets_the_delay_and_the_log() {
        let mut b = AcceptBackoff::default();
        let now = Instant::now();
        for _ in 0..5 {
            b.failed(now);
        }
        b.succeeded();
        let step = b.failed(now);
        assert_eq!(step.delay, 10 * MS);
        assert!(step.log);
        assert_eq!(step.suppressed, 0);
    }

    #[test]
    fn failures_log_once_per_period_and_count_the_ones_not_logged() {
        let mut b = AcceptBackoff::default();
        let start = Instant::now();
        let cases = [
            (0, true, 0),
            (10, false, 0),
            (30, false, 0),
            (999, false, 0),
            (1000, true, 3),
            (1500, false, 0),
            (2000, true, 1),
        ];
        for (at_ms, log, suppressed) in cases {
            let step = b.failed(start + at_ms * MS);
            assert_eq!(
                (step.log, step.suppressed),
                (log, suppressed),
                "at {at_ms} ms"
            );
        }
    }

    #[test]
    fn a_maximum_below_the_minimum_is_the_minimum() {
        let mut b = AcceptBackoff::new(50 * MS, 5 * MS);
        let now = Instant::now();
        assert_eq!(b.failed(now).delay, 50 * MS);
        assert_eq!(b.failed(now).delay, 50 * MS);
    }
}
