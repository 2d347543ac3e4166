//! When `status.json` is written: a change of state at once, a change of the session
//! count or the byte counters at most once a [`period`](WriteCoalescer::new). Sans-IO:
//! it takes `now` and gives the deadline of the next write; the status file's writer task
//! ([`crate::status_file`]) sleeps until then and does the I/O.
//!
//! A write fsyncs the file and its directory, so a service that opens and closes sessions
//! as fast as it can would otherwise cost two fsyncs per session.

use std::time::{Duration, Instant};

/// What changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Change {
    /// The link state, server, last error or next attempt: written at once.
    State,
    /// The session count or the byte counters: written within a period of the last write.
    Counts,
}

/// Decides when the status file is written.
#[derive(Debug)]
pub(crate) struct WriteCoalescer {
    period: Duration,
    /// The last write.
    last: Option<Instant>,
    /// When the next write is due, if one is.
    due: Option<Instant>,
}

impl WriteCoalescer {
    /// Counts are written at most once per `period`.
    pub(crate) fn new(period: Duration) -> Self {
        WriteCoalescer {
            period,
            last: None,
            due: None,
        }
    }

    /// Something changed at `now`.
    pub(crate) fn changed(&mut self, now: Instant, change: Change) {
        let at = match (change, self.last) {
            (Change::State, _) | (Change::Counts, None) => now,
            (Change::Counts, Some(last)) => now.max(last + self.period),
        };
        self.due = Some(self.due.map_or(at, |due| due.min(at)));
    }

    /// True when a write is due at `now` (it is then taken as done).
    pub(crate) fn poll_write(&mut self, now: Instant) -> bool {
        match self.due {
            Some(due) if due <= now => {
                self.due = None;
                self.last = Some(now);
                true
            }
            _ => false,
        }
    }

    /// When the next write is due.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        self.due
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    /// Changes at milliseconds from the start.
    type Script<'a> = &'a [(u64, Change)];

    /// Runs `changes` (milliseconds from the start, what changed) and returns when writes
    /// happened, polling at each change and at each deadline.
    fn writes(changes: &[(u64, Change)]) -> Vec<u64> {
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let mut c = WriteCoalescer::new(SECOND);
        let mut written = Vec::new();
        let mut changes = changes.iter().peekable();
        // Bounded: each round takes a change or a deadline.
        for _ in 0..1000 {
            let next_change = changes.peek().map(|(ms, _)| at(*ms));
            let now = match (next_change, c.deadline()) {
                (Some(change), Some(due)) if due < change => due,
                (Some(change), _) => change,
                (None, Some(due)) => due,
                (None, None) => break,
            };
            if next_change == Some(now) {
                let (_, change) = changes.next().unwrap();
                c.changed(now, *change);
            }
            if c.poll_write(now) {
                written.push(u64::try_from((now - t0).as_millis()).unwrap());
            }
        }
        written
    }

    #[test]
    fn state_changes_are_written_at_once_and_counts_at_most_once_a_second() {
        use Change::{Counts, State};
        let cases: [(Script<'_>, &[u64]); 6] = [
            // The first change of counts is written at once.
            (&[(0, Counts)], &[0]),
            // A burst of session opens and closes: one write now, one a second later.
            (
                &[(0, Counts), (10, Counts), (20, Counts), (500, Counts)],
                &[0, 1000],
            ),
            // A state change never waits.
            (&[(0, Counts), (10, State), (20, State)], &[0, 10, 20]),
            // A state change carries the counts: nothing left to write after it.
            (&[(0, Counts), (100, Counts), (200, State)], &[0, 200]),
            // Counts after a state change wait for the period from that write.
            (&[(0, State), (300, Counts)], &[0, 1000]),
            // Quiet for longer than the period: at once again.
            (&[(0, Counts), (5000, Counts)], &[0, 5000]),
        ];
        for (changes, want) in cases {
            assert_eq!(writes(changes), want, "{changes:?}");
        }
    }

    #[test]
    fn nothing_is_due_without_a_change() {
        let mut c = WriteCoalescer::new(SECOND);
        let now = Instant::now();
        assert_eq!(c.deadline(), None);
        assert!(!c.poll_write(now));
        c.changed(now, Change::Counts);
        assert!(c.poll_write(now));
        assert!(!c.poll_write(now + SECOND * 10), "one write per change");
    }
}
