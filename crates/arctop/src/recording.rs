//! A recorded session read back for looking at it: the values of each key over time, the
//! connection, QA and error events, and where the session starts and ends.
//!
//! The input is JSON Lines as `protoctl arctop listen --record FILE` or `--json` writes
//! them (one stream message per line, as received). Sans I/O: text in, a [`Recording`] out.
//!
//! Time comes from the messages' own `timestamp` (Unix milliseconds): a message without
//! one is placed at the time of the message before it (the first ones at the start). A
//! recording with no timestamp at all is laid out by message order instead
//! ([`Clock::Order`]).

use serde_json::Value;

use crate::message::{ConnectionState, ErrorCode, Message, QaFailure, Reading, ValueKey, command};

/// A recorded session, ready to draw.
#[derive(Debug, Clone, PartialEq)]
pub struct Recording {
    /// One series per value key, in the order each key first appears.
    pub series: Vec<Series>,
    /// Connection, QA, error and end-of-session events, in recording order.
    pub marks: Vec<Mark>,
    /// What the time axis counts.
    pub clock: Clock,
}

/// What the time axis of a recording counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    /// Seconds since `start_ms`, from the messages' timestamps.
    Timestamps {
        /// The earliest timestamp (Unix milliseconds): time 0.
        start_ms: i64,
        /// The latest timestamp (Unix milliseconds).
        end_ms: i64,
    },
    /// No message had a timestamp: each message is one step, the first at 0.
    Order {
        /// How many messages the recording holds.
        messages: usize,
    },
}

impl Clock {
    /// The length of the time axis: seconds, or messages minus one.
    pub fn span(&self) -> f64 {
        match *self {
            Clock::Timestamps { start_ms, end_ms } => {
                end_ms.saturating_sub(start_ms) as f64 / 1000.0
            }
            Clock::Order { messages } => messages.saturating_sub(1) as f64,
        }
    }
}

/// The values of one key.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// The key.
    pub key: ValueKey,
    /// Its values in recording order.
    pub samples: Vec<Sample>,
}

impl Series {
    /// How many numbers one value holds: 1 for a scalar key, the longest vector otherwise.
    pub fn width(&self) -> usize {
        self.samples
            .iter()
            .map(|s| s.value.values().len())
            .max()
            .unwrap_or(1)
    }

    /// The smallest and largest value, leaving out low-confidence ones (-1, NaN), or
    /// `None` when no value is confident.
    pub fn confident_range(&self) -> Option<(f64, f64)> {
        self.samples
            .iter()
            .flat_map(|s| s.value.values().iter().copied())
            .filter(|x| !crate::message::is_low_confidence(*x) && x.is_finite())
            .fold(None, |range, x| match range {
                None => Some((x, x)),
                Some((lo, hi)) => Some((x.min(lo), x.max(hi))),
            })
    }
}

/// One value on the time axis.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Position on the time axis (see [`Clock`]).
    pub at: f64,
    /// The value as received.
    pub value: Reading,
}

/// An event on the time axis.
#[derive(Debug, Clone, PartialEq)]
pub struct Mark {
    /// Position on the time axis (see [`Clock`]).
    pub at: f64,
    /// What happened.
    pub event: MarkEvent,
}

/// What a [`Mark`] is.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum MarkEvent {
    /// The headband's connection state changed.
    Connection {
        /// Before.
        previous: ConnectionState,
        /// Now.
        current: ConnectionState,
    },
    /// A signal-quality verdict.
    Qa {
        /// True when the signal is good.
        passed: bool,
        /// Why it failed.
        failure: Option<QaFailure>,
    },
    /// The SDK reported an error.
    Error {
        /// The SDK's code.
        code: ErrorCode,
        /// Its description.
        message: String,
    },
    /// The session ended.
    SessionComplete,
}

impl MarkEvent {
    /// A short label: `CONNECTED`, `QA failed: MOTION_TOO_HIGH`, `error API_KEY_ERROR`.
    pub fn label(&self) -> String {
        match self {
            MarkEvent::Connection { current, .. } => match current.name() {
                Some(name) => name.to_string(),
                None => format!("connection {}", current.0),
            },
            MarkEvent::Qa { passed: true, .. } => "QA passed".into(),
            MarkEvent::Qa {
                failure: Some(failure),
                ..
            } => match failure.name() {
                Some(name) => format!("QA failed: {name}"),
                None => format!("QA failed: {}", failure.0),
            },
            MarkEvent::Qa { .. } => "QA failed".into(),
            MarkEvent::Error { code, .. } => match code.name() {
                Some(name) => format!("error {name}"),
                None => format!("error {}", code.0),
            },
            MarkEvent::SessionComplete => "session complete".into(),
        }
    }

    /// True for what needs attention: a lost or failed headband connection, a failed
    /// QA, an error.
    pub fn is_trouble(&self) -> bool {
        match self {
            MarkEvent::Connection { current, .. } => !matches!(
                *current,
                ConnectionState::CONNECTED | ConnectionState::CONNECTING
            ),
            MarkEvent::Qa { passed, .. } => !passed,
            MarkEvent::Error { .. } => true,
            MarkEvent::SessionComplete => false,
        }
    }
}

/// A line of a recording that cannot be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct RecordingError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong with it.
    pub reason: String,
}

impl Recording {
    /// Reads JSON Lines of stream messages. Blank lines and the handshake (`auth`,
    /// `auth-success`, `auth-failed`) are skipped; any other line must be a JSON object
    /// that types as a [`Message`].
    pub fn parse(text: &str) -> Result<Recording, RecordingError> {
        let mut timed: Vec<(Option<i64>, Message)> = Vec::new();
        for (index, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            let bad = |reason: String| RecordingError {
                line: index + 1,
                reason,
            };
            let object = match serde_json::from_str::<Value>(line) {
                Ok(Value::Object(object)) => object,
                Ok(_) => return Err(bad("not a JSON object".into())),
                Err(e) => return Err(bad(format!("not JSON: {e}"))),
            };
            let message = Message::from_object(&object).map_err(|e| bad(e.to_string()))?;
            if matches!(
                message.command(),
                command::AUTH | command::AUTH_SUCCESS | command::AUTH_FAILED
            ) {
                continue;
            }
            timed.push((message.timestamp(), message));
        }
        Ok(Recording::from_messages(timed))
    }

    /// Lays out messages, each with its timestamp (Unix milliseconds) if it has one.
    pub fn from_messages(messages: Vec<(Option<i64>, Message)>) -> Recording {
        let stamps = messages.iter().filter_map(|(ts, _)| *ts);
        let clock = match (stamps.clone().min(), stamps.max()) {
            (Some(start_ms), Some(end_ms)) => Clock::Timestamps { start_ms, end_ms },
            _ => Clock::Order {
                messages: messages.len(),
            },
        };
        let mut recording = Recording {
            series: Vec::new(),
            marks: Vec::new(),
            clock,
        };
        let mut last_at = 0.0;
        for (index, (ts, message)) in messages.into_iter().enumerate() {
            let at = match (clock, ts) {
                (Clock::Timestamps { start_ms, .. }, Some(ts)) => {
                    ts.saturating_sub(start_ms) as f64 / 1000.0
                }
                (Clock::Timestamps { .. }, None) => last_at,
                (Clock::Order { .. }, _) => index as f64,
            };
            last_at = at;
            recording.add(at, message);
        }
        recording
    }

    fn add(&mut self, at: f64, message: Message) {
        let event = match message {
            Message::ValueChange { key, value, .. } => {
                let sample = Sample { at, value };
                match self.series.iter_mut().find(|s| s.key == key) {
                    Some(series) => series.samples.push(sample),
                    None => self.series.push(Series {
                        key,
                        samples: vec![sample],
                    }),
                }
                return;
            }
            Message::Connection {
                previous, current, ..
            } => MarkEvent::Connection { previous, current },
            Message::Qa {
                passed, failure, ..
            } => MarkEvent::Qa { passed, failure },
            Message::Error { code, message, .. } => MarkEvent::Error { code, message },
            Message::SessionComplete { .. } => MarkEvent::SessionComplete,
            _ => return,
        };
        self.marks.push(Mark { at, event });
    }

    /// The keys that have values, in order of first appearance.
    pub fn keys(&self) -> Vec<&str> {
        self.series.iter().map(|s| s.key.as_str()).collect()
    }

    /// Keeps only the series of these keys, in the order given; the keys not recorded are
    /// returned as the error.
    pub fn select(&mut self, keys: &[String]) -> Result<(), Vec<String>> {
        let missing: Vec<String> = keys
            .iter()
            .filter(|k| !self.series.iter().any(|s| s.key.as_str() == k.as_str()))
            .cloned()
            .collect();
        if !missing.is_empty() {
            return Err(missing);
        }
        let mut kept = Vec::with_capacity(keys.len());
        for key in keys {
            if let Some(at) = self.series.iter().position(|s| s.key.as_str() == key) {
                kept.push(self.series.remove(at));
            }
        }
        self.series = kept;
        Ok(())
    }

    /// True when the recording ends with `sessionComplete`.
    pub fn is_complete(&self) -> bool {
        matches!(
            self.marks.last(),
            Some(Mark {
                event: MarkEvent::SessionComplete,
                ..
            })
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SESSION: &str = r#"{"command":"auth-success"}
{"command":"connection","timestamp":1000,"previous":1,"current":2}
{"command":"valueChange","timestamp":1000,"key":"focus","value":50}
{"command":"valueChange","timestamp":1500,"key":"heart_rate","value":71.5}

{"command":"valueChange","key":"focus","value":-1}
{"command":"qa","timestamp":2000,"passed":false,"type":2}
{"command":"valueChange","timestamp":2500,"key":"motion","value":[1,2,3]}
{"command":"brandNew","timestamp":2600}
{"command":"sessionComplete","timestamp":3000}
"#;

    #[test]
    fn a_session_becomes_series_and_marks_on_a_seconds_axis() {
        let recording = Recording::parse(SESSION).unwrap();
        assert_eq!(
            recording.clock,
            Clock::Timestamps {
                start_ms: 1000,
                end_ms: 3000
            }
        );
        assert_eq!(recording.clock.span(), 2.0);
        assert_eq!(recording.keys(), ["focus", "heart_rate", "motion"]);
        let focus: Vec<(f64, String)> = recording.series[0]
            .samples
            .iter()
            .map(|s| (s.at, s.value.to_string()))
            .collect();
        // The value without a timestamp sits at the time of the message before it.
        assert_eq!(focus, [(0.0, "50".into()), (0.5, "-1".into())]);
        assert_eq!(recording.series[2].width(), 3);
        let marks: Vec<(f64, String, bool)> = recording
            .marks
            .iter()
            .map(|m| (m.at, m.event.label(), m.event.is_trouble()))
            .collect();
        assert_eq!(
            marks,
            [
                (0.0, "CONNECTED".into(), false),
                (1.0, "QA failed: MOTION_TOO_HIGH".into(), true),
                (2.0, "session complete".into(), false),
            ]
        );
        assert!(recording.is_complete());
    }

    #[test]
    fn without_timestamps_the_axis_counts_messages() {
        let text = r#"{"command":"valueChange","key":"focus","value":1}
{"command":"valueChange","key":"focus","value":2}
{"command":"qa","passed":true}
"#;
        let recording = Recording::parse(text).unwrap();
        assert_eq!(recording.clock, Clock::Order { messages: 3 });
        assert_eq!(recording.clock.span(), 2.0);
        let at: Vec<f64> = recording.series[0].samples.iter().map(|s| s.at).collect();
        assert_eq!(at, [0.0, 1.0]);
        assert_eq!(recording.marks[0].at, 2.0);
        assert!(!recording.is_complete());
    }

    #[test]
    fn bad_lines_are_named_by_number() {
        let cases = [
            ("{\"command\":\"qa\"}\nnot json\n", 2, "not JSON"),
            ("[1]\n", 1, "not a JSON object"),
            ("\n\n{\"x\":1}\n", 3, "command"),
            ("{\"command\":\"valueChange\",\"value\":1}\n", 1, "key"),
        ];
        for (text, line, needle) in cases {
            let err = Recording::parse(text).unwrap_err();
            assert_eq!(err.line, line, "{text:?}");
            assert!(err.to_string().contains(needle), "{err}");
        }
    }

    #[test]
    fn absurd_timestamps_do_not_overflow() {
        let text = format!(
            "{{\"command\":\"valueChange\",\"timestamp\":{},\"key\":\"f\",\"value\":1}}\n\
             {{\"command\":\"valueChange\",\"timestamp\":{},\"key\":\"f\",\"value\":2}}\n",
            i64::MIN,
            i64::MAX
        );
        let recording = Recording::parse(&text).unwrap();
        assert!(recording.clock.span().is_finite() && recording.clock.span() > 0.0);
        assert!(recording.series[0].samples.iter().all(|s| s.at.is_finite()));
    }

    #[test]
    fn select_keeps_the_keys_asked_for_in_that_order() {
        let mut recording = Recording::parse(SESSION).unwrap();
        assert_eq!(
            recording.clone().select(&["focus".into(), "nope".into()]),
            Err(vec!["nope".to_string()])
        );
        recording
            .select(&["motion".into(), "focus".into()])
            .unwrap();
        assert_eq!(recording.keys(), ["motion", "focus"]);
    }

    #[test]
    fn confident_range_leaves_out_low_confidence_values() {
        let recording = Recording::parse(SESSION).unwrap();
        assert_eq!(recording.series[0].confident_range(), Some((50.0, 50.0)));
        assert_eq!(recording.series[2].confident_range(), Some((1.0, 3.0)));
        let text = r#"{"command":"valueChange","key":"x","value":"NaN"}"#;
        assert_eq!(
            Recording::parse(text).unwrap().series[0].confident_range(),
            None
        );
    }
}
