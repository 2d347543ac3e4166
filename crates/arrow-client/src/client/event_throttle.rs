//! A per-second budget for events a service can cause at will (a refused CONNECT, an
//! unsupported control type): a flood costs a bounded number of events and log lines per
//! second, plus one summary of what was left out. Sans-IO: it takes `now` and gives the
//! deadline of its summary.

use std::time::{Duration, Instant};

/// The window of a budget.
pub(crate) const THROTTLE_WINDOW: Duration = Duration::from_secs(1);
/// Events of one kind reported per window; the rest are counted.
pub(crate) const THROTTLE_BUDGET: u32 = 10;

/// The budget of one kind of event.
#[derive(Debug)]
pub(crate) struct EventThrottle {
    budget: u32,
    window: Duration,
    /// When the current window began.
    started: Option<Instant>,
    /// Reported in the current window.
    passed: u32,
    /// Left out since the last summary.
    suppressed: u64,
}

impl EventThrottle {
    /// `budget` events per `window`.
    pub(crate) fn new(budget: u32, window: Duration) -> Self {
        EventThrottle {
            budget,
            window,
            started: None,
            passed: 0,
            suppressed: 0,
        }
    }

    /// True: report this event. False: it was counted for the summary. Take the summary
    /// ([`poll_summary`](Self::poll_summary)) first, so it comes before the next window's
    /// events.
    pub(crate) fn admit(&mut self, now: Instant) -> bool {
        if self
            .started
            .is_none_or(|at| now.saturating_duration_since(at) >= self.window)
        {
            self.started = Some(now);
            self.passed = 0;
        }
        if self.passed < self.budget {
            self.passed += 1;
            true
        } else {
            self.suppressed += 1;
            false
        }
    }

    /// The number left out, once their window is over.
    pub(crate) fn poll_summary(&mut self, now: Instant) -> Option<u64> {
        let due = self.deadline()?;
        if now < due {
            return None;
        }
        Some(std::mem::take(&mut self.suppressed))
    }

    /// When a summary is due, if one will be.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        if self.suppressed == 0 {
            return None;
        }
        self.started.map(|at| at + self.window)
    }
}

impl Default for EventThrottle {
    fn default() -> Self {
        EventThrottle::new(THROTTLE_BUDGET, THROTTLE_WINDOW)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flood_costs_the_budget_per_window_and_one_summary() {
        let t0 = Instant::now();
        let mut throttle = EventThrottle::new(3, Duration::from_secs(1));
        let admitted = (0..1000).filter(|_| throttle.admit(t0)).count();
        assert_eq!(admitted, 3);
        assert_eq!(
            throttle.poll_summary(t0),
            None,
            "not before the window ends"
        );
        let due = throttle.deadline().unwrap();
        assert_eq!(due, t0 + Duration::from_secs(1));
        assert_eq!(throttle.poll_summary(due), Some(997));
        assert_eq!(throttle.poll_summary(due), None, "once");
        assert_eq!(throttle.deadline(), None);
        // The next window has its budget again.
        assert!(throttle.admit(due));
    }

    #[test]
    fn events_under_the_budget_need_no_summary() {
        let t0 = Instant::now();
        let mut throttle = EventThrottle::new(3, Duration::from_secs(1));
        for i in 0..10 {
            assert!(throttle.admit(t0 + Duration::from_millis(400) * i));
        }
        assert_eq!(throttle.deadline(), None);
    }
}
