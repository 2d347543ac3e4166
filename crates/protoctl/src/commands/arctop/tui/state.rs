//! What the live view shows, kept up to date from the client's events. Sans I/O: events
//! and the time they arrived go in; the view reads the state.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use arctop::message::{ConnectionState, QaFailure};
use arctop::{Event, Message, Reading, ValueKey};

/// Values kept per key: more than any terminal is wide.
pub(crate) const HISTORY: usize = 512;
/// Keys tracked: the first this many keys seen (the set is open: a server assigns
/// prediction ids); values of later keys are counted, not kept.
pub(crate) const MAX_KEYS: usize = 64;
/// Messages per second are counted over this window.
pub(crate) const RATE_WINDOW: Duration = Duration::from_secs(5);

/// The state of the connection to the server.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Link {
    /// Connecting (or discovering), not yet authenticated.
    Connecting,
    /// Authenticated: messages flow.
    Streaming,
    /// Lost; the next attempt follows.
    Reconnecting {
        /// 1 for the first retry.
        attempt: u32,
        /// What failed.
        cause: String,
    },
    /// `sessionComplete` received.
    Complete,
}

/// One value key's recent values.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct KeyTrack {
    pub(crate) key: ValueKey,
    /// One entry per value, oldest first: the number a sparkline draws (a vector's
    /// length), `None` for a low-confidence value.
    pub(crate) history: VecDeque<Option<f64>>,
    /// The latest value as received.
    pub(crate) latest: Reading,
}

impl KeyTrack {
    /// The range the sparkline spans: the key's known range, else its recent values'.
    pub(crate) fn range(&self) -> (f64, f64) {
        if let Some(range) = self.key.scale().and_then(|s| s.range) {
            return range;
        }
        let (lo, hi) = self
            .history
            .iter()
            .flatten()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &x| {
                (lo.min(x), hi.max(x))
            });
        if lo.is_finite() { (lo, hi) } else { (0.0, 1.0) }
    }
}

/// The live view's state.
#[derive(Debug, Clone)]
pub(crate) struct LiveState {
    /// Where we connect (`--addr`, or "mDNS"), then the server authenticated with.
    pub(crate) server: String,
    pub(crate) link: Link,
    /// The keys seen, in the order they first appeared: the first [`MAX_KEYS`].
    pub(crate) keys: Vec<KeyTrack>,
    /// Values of keys beyond the first [`MAX_KEYS`], dropped.
    pub(crate) untracked: u64,
    /// The headband's state from the latest `connection` message.
    pub(crate) headband: Option<ConnectionState>,
    /// The latest QA verdict: passed, and why not.
    pub(crate) qa: Option<(bool, Option<QaFailure>)>,
    /// The latest SDK error: code name or number, and its message.
    pub(crate) error: Option<String>,
    /// Stream messages received.
    pub(crate) messages: u64,
    /// Frames skipped as unreadable.
    pub(crate) skipped: u64,
    /// Show only these keys (`--keys`); every key when empty.
    only: Vec<String>,
    arrivals: VecDeque<Instant>,
}

impl LiveState {
    /// The state before the first event; `target` names where we connect.
    pub(crate) fn new(target: impl Into<String>) -> Self {
        LiveState {
            server: target.into(),
            link: Link::Connecting,
            keys: Vec::new(),
            untracked: 0,
            headband: None,
            qa: None,
            error: None,
            messages: 0,
            skipped: 0,
            only: Vec::new(),
            arrivals: VecDeque::new(),
        }
    }

    /// Shows only these value keys (`--keys`); every key when empty.
    pub(crate) fn only(mut self, keys: Vec<String>) -> Self {
        self.only = keys;
        self
    }

    /// One event of the client, arrived at `now`.
    pub(crate) fn on_event(&mut self, event: &Event, now: Instant) {
        match event {
            Event::Connected { addr, server } => {
                self.server = match server {
                    Some(server) => format!("{addr} ({})", server.name),
                    None => addr.to_string(),
                };
                self.link = Link::Streaming;
            }
            Event::Message(received) => {
                self.messages += 1;
                self.arrivals.push_back(now);
                self.forget_before(now);
                self.on_message(&received.message);
            }
            Event::Skipped { .. } => self.skipped += 1,
            // The server mDNS chose, shown before the key goes out.
            Event::Connecting {
                addr,
                server: Some(server),
            } => self.server = format!("{addr} ({}), authenticating", server.name),
            Event::Reconnecting { attempt, cause, .. } => {
                self.link = Link::Reconnecting {
                    attempt: *attempt,
                    cause: cause.to_string(),
                }
            }
            _ => {}
        }
    }

    fn on_message(&mut self, message: &Message) {
        match message {
            Message::ValueChange { key, value, .. } => {
                if !self.only.is_empty() && !self.only.iter().any(|k| k == key.as_str()) {
                    return;
                }
                let point = spark_value(value);
                let track = match self.keys.iter().position(|t| &t.key == key) {
                    Some(at) => &mut self.keys[at],
                    None if self.keys.len() == MAX_KEYS => {
                        self.untracked += 1;
                        return;
                    }
                    None => {
                        self.keys.push(KeyTrack {
                            key: key.clone(),
                            history: VecDeque::new(),
                            latest: value.clone(),
                        });
                        let last = self.keys.len() - 1;
                        &mut self.keys[last]
                    }
                };
                if track.history.len() == HISTORY {
                    track.history.pop_front();
                }
                track.history.push_back(point);
                track.latest = value.clone();
            }
            Message::Connection { current, .. } => self.headband = Some(*current),
            Message::Qa {
                passed, failure, ..
            } => self.qa = Some((*passed, *failure)),
            Message::Error { code, message, .. } => {
                self.error = Some(format!("{code}: {message}"));
            }
            Message::SessionComplete { .. } => self.link = Link::Complete,
            _ => {}
        }
    }

    /// Messages per second over the last [`RATE_WINDOW`] (shorter at the start).
    pub(crate) fn messages_per_second(&self, now: Instant) -> f64 {
        let Some(first) = self
            .arrivals
            .iter()
            .find(|&&t| now.saturating_duration_since(t) <= RATE_WINDOW)
        else {
            return 0.0;
        };
        let recent = self
            .arrivals
            .iter()
            .filter(|&&t| now.saturating_duration_since(t) <= RATE_WINDOW)
            .count();
        // At the start the window is as long as the stream is old (at least a second).
        let window = now
            .saturating_duration_since(*first)
            .max(Duration::from_secs(1))
            .min(RATE_WINDOW);
        recent as f64 / window.as_secs_f64()
    }

    fn forget_before(&mut self, now: Instant) {
        while self
            .arrivals
            .front()
            .is_some_and(|&t| now.saturating_duration_since(t) > RATE_WINDOW)
        {
            self.arrivals.pop_front();
        }
    }
}

/// The number a sparkline draws for a value: the value, a vector's length, `None` when
/// the value is low confidence.
fn spark_value(value: &Reading) -> Option<f64> {
    if value.is_low_confidence() {
        return None;
    }
    match value {
        Reading::Scalar(x) => x.is_finite().then_some(*x),
        Reading::Vector(xs) => {
            let length = xs.iter().map(|x| x * x).sum::<f64>().sqrt();
            length.is_finite().then_some(length)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arctop::Received;

    fn message(text: &str) -> Event {
        let received: Received = Message::parse(text.as_bytes()).unwrap();
        Event::Message(received)
    }

    #[test]
    fn events_update_keys_headband_qa_and_link() {
        let t0 = Instant::now();
        let mut state = LiveState::new("127.0.0.1:7000");
        assert_eq!(state.link, Link::Connecting);
        let events = [
            Event::Connected {
                addr: "127.0.0.1:7000".parse().unwrap(),
                server: None,
            },
            message(r#"{"command":"connection","previous":1,"current":2}"#),
            message(r#"{"command":"valueChange","key":"focus","value":52}"#),
            message(r#"{"command":"valueChange","key":"heart_rate","value":-1}"#),
            message(r#"{"command":"valueChange","key":"focus","value":"NaN"}"#),
            message(r#"{"command":"valueChange","key":"motion","value":[3,4,0]}"#),
            message(r#"{"command":"qa","passed":false,"type":1}"#),
            message(r#"{"command":"error","errorCode":-10,"message":"offline"}"#),
        ];
        for (i, event) in events.iter().enumerate() {
            state.on_event(event, t0 + Duration::from_millis(100 * i as u64));
        }
        assert_eq!(state.link, Link::Streaming);
        assert_eq!(state.server, "127.0.0.1:7000");
        assert_eq!(state.headband, Some(ConnectionState::CONNECTED));
        assert_eq!(state.qa, Some((false, Some(QaFailure::HEADBAND_OFF_HEAD))));
        assert_eq!(
            state.error.as_deref(),
            Some("SERVER_CONNECTION_ERROR (-10): offline")
        );
        assert_eq!(state.messages, 7);
        let keys: Vec<(&str, Vec<Option<f64>>)> = state
            .keys
            .iter()
            .map(|t| (t.key.as_str(), t.history.iter().copied().collect()))
            .collect();
        assert_eq!(
            keys,
            [
                ("focus", vec![Some(52.0), None]),
                ("heart_rate", vec![None]),
                ("motion", vec![Some(5.0)]),
            ]
        );
        state.on_event(&message(r#"{"command":"sessionComplete"}"#), t0);
        assert_eq!(state.link, Link::Complete);
    }

    #[test]
    fn history_keeps_the_latest_values() {
        let mut state = LiveState::new("x");
        let now = Instant::now();
        for i in 0..HISTORY + 10 {
            let text = format!(r#"{{"command":"valueChange","key":"p","value":{i}}}"#);
            state.on_event(&message(&text), now);
        }
        let history = &state.keys[0].history;
        assert_eq!(history.len(), HISTORY);
        assert_eq!(history.front(), Some(&Some(10.0)));
        assert_eq!(state.keys[0].range(), (10.0, (HISTORY + 9) as f64));
        assert_eq!(state.keys[0].latest, Reading::Scalar((HISTORY + 9) as f64));
    }

    #[test]
    fn keys_beyond_the_first_max_keys_are_counted_not_kept() {
        let mut state = LiveState::new("x");
        let now = Instant::now();
        for i in 0..MAX_KEYS + 1000 {
            let text = format!(r#"{{"command":"valueChange","key":"k{i}","value":1}}"#);
            state.on_event(&message(&text), now);
        }
        // A key already tracked still updates.
        state.on_event(
            &message(r#"{"command":"valueChange","key":"k0","value":2}"#),
            now,
        );
        assert_eq!(state.keys.len(), MAX_KEYS);
        assert_eq!(state.untracked, 1000);
        assert_eq!(state.keys[0].latest, Reading::Scalar(2.0));
        assert_eq!(state.messages, (MAX_KEYS + 1001) as u64);
    }

    #[test]
    fn only_the_keys_asked_for_are_shown() {
        let mut state = LiveState::new("x").only(vec!["heart_rate".into()]);
        for text in [
            r#"{"command":"valueChange","key":"focus","value":1}"#,
            r#"{"command":"valueChange","key":"heart_rate","value":70}"#,
        ] {
            state.on_event(&message(text), Instant::now());
        }
        let keys: Vec<&str> = state.keys.iter().map(|t| t.key.as_str()).collect();
        assert_eq!(keys, ["heart_rate"]);
        assert_eq!(state.messages, 2, "every message counts");
    }

    #[test]
    fn messages_per_second_counts_the_recent_window() {
        let t0 = Instant::now();
        let mut state = LiveState::new("x");
        let value = message(r#"{"command":"valueChange","key":"focus","value":1}"#);
        assert_eq!(state.messages_per_second(t0), 0.0);
        // 10 per second for 8 seconds.
        for i in 0..80 {
            state.on_event(&value, t0 + Duration::from_millis(100 * i));
        }
        let now = t0 + Duration::from_millis(7_900);
        let rate = state.messages_per_second(now);
        assert!((rate - 10.2).abs() < 0.01, "{rate}");
        // Quiet for a minute: nothing recent.
        assert_eq!(
            state.messages_per_second(now + Duration::from_secs(60)),
            0.0
        );
    }

    #[test]
    fn reconnecting_names_the_attempt_and_cause() {
        let mut state = LiveState::new("mDNS");
        state.on_event(
            &Event::Reconnecting {
                attempt: 2,
                delay: Duration::from_secs(1),
                cause: arctop::Error::AuthTimeout {
                    after: Duration::from_secs(10),
                },
            },
            Instant::now(),
        );
        assert_eq!(
            state.link,
            Link::Reconnecting {
                attempt: 2,
                cause: "no auth reply within 10s".into()
            }
        );
    }
}
