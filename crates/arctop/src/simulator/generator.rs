//! Realistic generated data: what a headband session looks like on the stream.
//!
//! focus, enjoyment and zone_state drift around the neutral 50 (a mean-reverting random
//! walk in 0..100), heart_rate around 70 bpm, avg_motion in 1..4; now and then a value is
//! -1 (low confidence). The session opens with the headband connecting and a passed QA;
//! QA verdicts follow every 40 values and a short connection drop every 300.

use std::fmt::Write as _;

/// The keys cycled through, one value each per round.
const KEYS: [&str; 5] = [
    "focus",
    "enjoyment",
    "zone_state",
    "heart_rate",
    "avg_motion",
];

/// One outgoing message of the generator, as JSON text.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Generated {
    pub(crate) text: String,
    /// True for a `valueChange` (what `--count` and `--rate` count).
    pub(crate) is_value: bool,
}

/// The generator's state. Takes the clock as an argument; randomness from `rand`.
#[derive(Debug, Clone)]
pub(crate) struct Generator {
    levels: [f64; 3],
    heart_rate: f64,
    motion: f64,
    values: u64,
    pending: Vec<String>,
}

impl Generator {
    pub(crate) fn new() -> Self {
        Generator {
            levels: [50.0; 3],
            heart_rate: 70.0,
            motion: 1.5,
            values: 0,
            pending: vec![
                r#"{"command":"connection","previous":0,"current":1}"#.into(),
                r#"{"command":"connection","previous":1,"current":2}"#.into(),
                r#"{"command":"qa","passed":true,"type":0}"#.into(),
            ],
        }
    }

    /// Whether [`next`](Self::next) gives a `valueChange` (paced by `--rate`) rather than
    /// a pending `connection` or `qa` (sent at once), so the pause can be taken before the
    /// message is made and stamped.
    pub(crate) fn next_is_value(&self) -> bool {
        self.pending.is_empty()
    }

    /// The next message, stamped `now_ms` (Unix milliseconds): call it when the message
    /// is sent.
    pub(crate) fn next(&mut self, now_ms: i64) -> Generated {
        if !self.pending.is_empty() {
            let raw = self.pending.remove(0);
            return Generated {
                text: stamp(&raw, now_ms),
                is_value: false,
            };
        }
        let n = self.values;
        self.values += 1;
        if n > 0 && n.is_multiple_of(40) {
            let failure = if rand::random_range(0..10) == 0 { 2 } else { 0 };
            self.pending.push(format!(
                r#"{{"command":"qa","passed":{},"type":{failure}}}"#,
                failure == 0
            ));
        }
        if n > 0 && n.is_multiple_of(300) {
            self.pending
                .push(r#"{"command":"connection","previous":2,"current":4}"#.into());
            self.pending
                .push(r#"{"command":"connection","previous":4,"current":2}"#.into());
        }
        let slot = (n % KEYS.len() as u64) as usize;
        let value = match slot {
            0..=2 => {
                let level = &mut self.levels[slot];
                *level += rand::random_range(-3.0..3.0) + (50.0 - *level) * 0.05;
                *level = level.clamp(0.0, 100.0);
                *level
            }
            3 => {
                self.heart_rate += rand::random_range(-1.5..1.5) + (70.0 - self.heart_rate) * 0.1;
                self.heart_rate
            }
            _ => {
                self.motion = (self.motion + rand::random_range(-0.3..0.3)).clamp(1.0, 4.0);
                self.motion
            }
        };
        let value = if rand::random_range(0..50) == 0 {
            -1.0
        } else {
            (value * 100.0).round() / 100.0
        };
        let mut text = String::with_capacity(96);
        let _ = write!(
            text,
            r#"{{"command":"valueChange","timestamp":{now_ms},"key":"{}","value":{value}}}"#,
            KEYS[slot]
        );
        Generated {
            text,
            is_value: true,
        }
    }
}

/// Adds `"timestamp":now_ms` as the second field of a `{"command":...}` object.
fn stamp(raw: &str, now_ms: i64) -> String {
    match raw.find(',') {
        Some(at) => format!("{},\"timestamp\":{now_ms}{}", &raw[..at], &raw[at..]),
        None => raw.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{Message, Reading};

    #[test]
    fn values_drift_in_range_and_parse() {
        let mut g = Generator::new();
        let mut values = 0;
        let mut others = 0;
        for i in 0..2000 {
            let is_value = g.next_is_value();
            let out = g.next(1_700_000_000_000 + i);
            assert_eq!(out.is_value, is_value);
            let received = Message::parse(out.text.as_bytes()).unwrap();
            assert_eq!(received.message.timestamp(), Some(1_700_000_000_000 + i));
            match received.message {
                Message::ValueChange {
                    key,
                    value: Reading::Scalar(v),
                    ..
                } => {
                    assert!(out.is_value);
                    values += 1;
                    let range = match key.as_str() {
                        "heart_rate" => 30.0..=200.0,
                        "avg_motion" => 1.0..=4.0,
                        _ => 0.0..=100.0,
                    };
                    assert!(v == -1.0 || range.contains(&v), "{key} = {v}");
                }
                Message::Qa { .. } | Message::Connection { .. } => {
                    assert!(!out.is_value);
                    others += 1;
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        assert!(values > 1900 && others > 10, "{values} {others}");
    }
}
