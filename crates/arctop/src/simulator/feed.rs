//! What one session streams after `auth-success`, sans I/O: generated data or a recording,
//! paced, counted, and ended by exactly one `sessionComplete`.
//!
//! The driver polls with the clock ([`Feed::poll`]: a monotonic instant for the pacing,
//! wall-clock milliseconds for the stamps) and gets a message to send now, an instant to
//! wait for, or the end of the source. A message is made, and stamped, only when it is
//! due, as the app stamps a value when it sends it. The driver says which messages it
//! actually wrote ([`Feed::written`]); at the end (the source is done, or a shutdown at
//! any point, a pause included) [`Feed::finish`] gives the closing `sessionComplete`
//! unless one was written already.
//!
//! ```text
//!   poll --Wait(t)--> (sleep until t, or stop) --> poll
//!   poll --Send(m)--> encode m --ok--> written(m) --> poll
//!                            \--too large: skipped--> poll
//!   poll --Done / stop--> finish: sessionComplete, unless written(m) saw one
//! ```

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::Source;
use super::generator::Generator;
use super::replay::ReplayItem;

/// One message to send.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Outgoing {
    /// The JSON text.
    pub(crate) text: String,
    /// A `valueChange` (what `--count` counts).
    pub(crate) is_value: bool,
    /// A `sessionComplete` (or the draft `socketClosing`): the last message.
    pub(crate) is_end: bool,
    /// It came after a pause: send it at once rather than batch it.
    pub(crate) paced: bool,
}

/// What the driver does next.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Poll {
    /// Write this message now, then say so with [`Feed::written`].
    Send(Outgoing),
    /// Nothing is due before this instant: flush, wait, poll again.
    Wait(Instant),
    /// The source has nothing more: [`Feed::finish`].
    Done,
}

#[derive(Debug, Clone)]
enum Origin {
    Generated(Generator),
    Replay {
        items: Arc<Vec<ReplayItem>>,
        at: usize,
    },
}

/// One session's stream.
#[derive(Debug, Clone)]
pub(crate) struct Feed {
    origin: Origin,
    /// The pause before each generated value (`None`: no pause).
    interval: Option<Duration>,
    count: Option<u64>,
    /// When the next paced message is due, once its pause was added.
    next_at: Instant,
    /// The pending message's pause is already in `next_at`.
    scheduled: bool,
    values: u64,
    /// A `sessionComplete` was written: nothing may follow it.
    complete: bool,
}

impl Feed {
    /// A session streaming `source` that starts at `now`; generated values come one
    /// `interval` apart, and the session ends after `count` values.
    pub(crate) fn new(
        source: &Source,
        interval: Option<Duration>,
        count: Option<u64>,
        now: Instant,
    ) -> Self {
        let origin = match source {
            Source::Generated => Origin::Generated(Generator::new()),
            Source::Replay(items) => Origin::Replay {
                items: items.clone(),
                at: 0,
            },
        };
        Feed {
            origin,
            interval,
            count,
            next_at: now,
            scheduled: false,
            values: 0,
            complete: false,
        }
    }

    /// The `valueChange` messages written so far.
    pub(crate) fn values(&self) -> u64 {
        self.values
    }

    /// What to do at `now` (monotonic); a message sent now is stamped `wall_ms` (Unix
    /// milliseconds).
    pub(crate) fn poll(&mut self, now: Instant, wall_ms: i64) -> Poll {
        if self.complete || self.count.is_some_and(|count| self.values >= count) {
            return Poll::Done;
        }
        let pause = match &self.origin {
            Origin::Generated(generator) => self.interval.filter(|_| generator.next_is_value()),
            Origin::Replay { items, at } => match items.get(*at) {
                Some(item) => Some(item.delay).filter(|d| !d.is_zero()),
                None => return Poll::Done,
            },
        };
        if let Some(pause) = pause {
            if !self.scheduled {
                // Saturating: a schedule past the end of the clock waits at the last instant.
                self.next_at = self.next_at.checked_add(pause).unwrap_or(self.next_at);
                self.scheduled = true;
            }
            if now < self.next_at {
                return Poll::Wait(self.next_at);
            }
        }
        self.scheduled = false;
        let paced = pause.is_some();
        match &mut self.origin {
            Origin::Generated(generator) => {
                let generated = generator.next(wall_ms);
                Poll::Send(Outgoing {
                    text: generated.text,
                    is_value: generated.is_value,
                    is_end: false,
                    paced,
                })
            }
            Origin::Replay { items, at } => {
                let Some(item) = items.get(*at) else {
                    return Poll::Done;
                };
                *at += 1;
                Poll::Send(Outgoing {
                    text: serde_json::to_string(&item.object).unwrap_or_default(),
                    is_value: item.is_value(),
                    is_end: item.is_end(),
                    paced,
                })
            }
        }
    }

    /// `message` (from [`poll`](Self::poll) or [`finish`](Self::finish)) was written to
    /// the client. A message that could not be (too large for a frame) is just not
    /// reported: it does not count, and a `sessionComplete` that was not written does not
    /// end the session.
    pub(crate) fn written(&mut self, message: &Outgoing) {
        self.values += u64::from(message.is_value);
        self.complete |= message.is_end;
    }

    /// The closing `sessionComplete`, stamped `wall_ms`, unless one was written already.
    /// Called once the source is done or the simulator stops.
    pub(crate) fn finish(&self, wall_ms: i64) -> Option<Outgoing> {
        (!self.complete).then(|| Outgoing {
            text: format!(r#"{{"command":"sessionComplete","timestamp":{wall_ms}}}"#),
            is_value: false,
            is_end: true,
            paced: false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::Message;
    use crate::simulator::parse_recording;

    const WALL: i64 = 1_700_000_000_000;

    fn replay(text: &str) -> Source {
        Source::Replay(Arc::new(parse_recording(text).unwrap()))
    }

    fn sent(poll: Poll) -> Outgoing {
        match poll {
            Poll::Send(message) => message,
            other => panic!("expected a message, got {other:?}"),
        }
    }

    fn stamp(message: &Outgoing) -> Option<i64> {
        Message::parse(message.text.as_bytes())
            .unwrap()
            .message
            .timestamp()
    }

    /// A recorded value, then the recording's own sessionComplete 4 s later.
    const VALUE_THEN_END: &str = concat!(
        "{\"command\":\"valueChange\",\"timestamp\":1000,\"key\":\"focus\",\"value\":40}\n",
        "{\"command\":\"sessionComplete\",\"timestamp\":5000}\n",
    );

    #[test]
    fn a_value_is_stamped_when_it_is_due_not_when_its_wait_begins() {
        // 0.05 Hz: a value every 20 s, beyond the LSL clock map's 10 s lag.
        for interval in [Duration::from_millis(100), Duration::from_secs(20)] {
            let t0 = Instant::now();
            let mut feed = Feed::new(&Source::Generated, Some(interval), None, t0);
            // The headband connecting and a passed qa: at once.
            for _ in 0..3 {
                let message = sent(feed.poll(t0, WALL));
                assert!(!message.is_value && !message.paced);
                assert_eq!(stamp(&message), Some(WALL));
                feed.written(&message);
            }
            let ms = i64::try_from(interval.as_millis()).unwrap();
            for n in 1..=3u32 {
                let due = t0 + interval * n;
                let waited_from = due - interval;
                // Polled again and again while waiting: the same instant, nothing made.
                for _ in 0..2 {
                    assert_eq!(feed.poll(waited_from, WALL), Poll::Wait(due));
                }
                let wall = WALL + ms * i64::from(n);
                let value = sent(feed.poll(due, wall));
                assert!(value.is_value && value.paced);
                assert_eq!(stamp(&value), Some(wall), "{interval:?}, value {n}");
                feed.written(&value);
            }
            assert_eq!(feed.values(), 3);
        }
    }

    #[test]
    fn a_stop_in_the_pause_before_the_recordings_session_complete_still_ends_with_one() {
        let t0 = Instant::now();
        let mut feed = Feed::new(&replay(VALUE_THEN_END), None, None, t0);
        let value = sent(feed.poll(t0, WALL));
        feed.written(&value);
        assert_eq!(feed.poll(t0, WALL), Poll::Wait(t0 + Duration::from_secs(4)));
        // Stopped here, during the pause: the session still ends with sessionComplete.
        let end = feed.finish(WALL + 1).expect("a sessionComplete");
        assert!(end.is_end);
        assert_eq!(
            Message::parse(end.text.as_bytes()).unwrap().message,
            Message::SessionComplete {
                timestamp: Some(WALL + 1)
            }
        );
    }

    #[test]
    fn a_recorded_session_complete_that_was_not_written_is_replaced() {
        let t0 = Instant::now();
        let mut feed = Feed::new(&replay(VALUE_THEN_END), None, None, t0);
        let value = sent(feed.poll(t0, WALL));
        feed.written(&value);
        let later = t0 + Duration::from_secs(4);
        let recorded_end = sent(feed.poll(later, WALL));
        assert!(recorded_end.is_end && recorded_end.paced);
        // Not written (it did not fit a frame): the source is done, a new one closes.
        assert_eq!(feed.poll(later, WALL), Poll::Done);
        assert!(feed.finish(WALL).is_some_and(|end| end.is_end));
    }

    #[test]
    fn a_written_session_complete_is_the_last_message() {
        let text = format!("{VALUE_THEN_END}{{\"command\":\"qa\",\"passed\":true}}\n");
        let t0 = Instant::now();
        let mut feed = Feed::new(&replay(&text), None, None, t0);
        let later = t0 + Duration::from_secs(4);
        for _ in 0..2 {
            let message = sent(feed.poll(later, WALL));
            feed.written(&message);
        }
        assert_eq!(feed.poll(later, WALL), Poll::Done);
        assert_eq!(feed.finish(WALL), None);
    }

    #[test]
    fn count_ends_the_source_after_that_many_written_values() {
        let t0 = Instant::now();
        let mut feed = Feed::new(&Source::Generated, None, Some(10), t0);
        let mut unwritten = 0;
        loop {
            match feed.poll(t0, WALL) {
                Poll::Send(message) if message.is_value && unwritten < 2 => unwritten += 1,
                Poll::Send(message) => feed.written(&message),
                Poll::Wait(at) => panic!("no pause at rate 0, got one until {at:?}"),
                Poll::Done => break,
            }
        }
        assert_eq!(feed.values(), 10);
        assert!(feed.finish(WALL).is_some());
    }
}
