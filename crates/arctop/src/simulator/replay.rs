//! `--replay FILE`: a recorded session (JSON Lines, as `protoctl arctop listen --json` or
//! `--record` writes them) played back with its original timing.

use std::time::Duration;

use serde_json::{Map, Value};

use crate::Error;
use crate::message::command;

/// The longest pause replayed between two messages: a recording that spans a break is
/// not replayed as a dead stream.
pub const MAX_GAP: Duration = Duration::from_secs(60);

/// One recorded message and the pause before it.
///
/// Recordings come from peers, so their timestamps are not trusted. The pause is computed
/// without overflow and clamped, never an error:
///
/// - a `timestamp` that is not a usable number (a string, `null`, a number beyond
///   ±2^63 ms such as `1e308`) counts as absent: zero pause, and it is not the reference
///   for the next message;
/// - time going backwards (non-monotonic) gives a zero pause, and the earlier time becomes
///   the reference;
/// - negative timestamps are numbers like any other (the difference is taken in 128 bits);
/// - a pause longer than [`MAX_GAP`] is clamped to it.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplayItem {
    /// The pause after the previous message (from the `timestamp` fields; zero when either
    /// has no usable one or time went backwards), at most [`MAX_GAP`].
    pub delay: Duration,
    /// The object as recorded.
    pub object: Map<String, Value>,
}

impl ReplayItem {
    /// True for `valueChange`.
    pub fn is_value(&self) -> bool {
        self.command() == Some(command::VALUE_CHANGE)
    }

    /// True for `sessionComplete` (or the draft `socketClosing`).
    pub fn is_end(&self) -> bool {
        matches!(
            self.command(),
            Some(command::SESSION_COMPLETE | command::SOCKET_CLOSING)
        )
    }

    fn command(&self) -> Option<&str> {
        self.object.get("command").and_then(Value::as_str)
    }
}

/// Reads a recording. Handshake messages (`auth`, `auth-success`, `auth-failed`) are left
/// out: the simulator does its own handshake. Every other line must be a JSON object with a
/// `command` string.
pub fn parse_recording(text: &str) -> Result<Vec<ReplayItem>, Error> {
    let mut items = Vec::new();
    let mut last_ts: Option<i64> = None;
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let bad = |why: String| Error::Config(format!("replay line {}: {why}", number + 1));
        let object = match serde_json::from_str::<Value>(line) {
            Ok(Value::Object(object)) => object,
            Ok(_) => return Err(bad("not a JSON object".into())),
            Err(e) => return Err(bad(format!("not JSON: {e}"))),
        };
        let Some(name) = object.get("command").and_then(Value::as_str) else {
            return Err(bad("no \"command\" string".into()));
        };
        if matches!(
            name,
            command::AUTH | command::AUTH_SUCCESS | command::AUTH_FAILED
        ) {
            continue;
        }
        let ts = object.get("timestamp").and_then(timestamp_ms);
        let delay = match (last_ts, ts) {
            (Some(a), Some(b)) => gap(a, b),
            _ => Duration::ZERO,
        };
        last_ts = ts.or(last_ts);
        items.push(ReplayItem { delay, object });
    }
    Ok(items)
}

/// A recorded `timestamp` as whole Unix milliseconds, when it is a finite number within
/// the range of an `i64` (fractions are dropped).
fn timestamp_ms(value: &Value) -> Option<i64> {
    if let Some(ms) = value.as_i64() {
        return Some(ms);
    }
    let ms = value.as_f64()?.trunc();
    // i64::MAX is not exactly representable; the bounds below are the nearest f64 inside.
    (ms.is_finite() && (-9.223_372_036_854_775e18..=9.223_372_036_854_775e18).contains(&ms))
        .then_some(ms as i64)
}

/// The pause from `a` to `b` (milliseconds): zero when time went backwards, at most
/// [`MAX_GAP`]. Never overflows, whatever the two values.
fn gap(a: i64, b: i64) -> Duration {
    let diff = i128::from(b) - i128::from(a);
    let max = MAX_GAP.as_millis();
    let ms = u64::try_from(diff.clamp(0, i128::try_from(max).unwrap_or(i128::MAX))).unwrap_or(0);
    Duration::from_millis(ms)
}

/// The time a whole recording takes to replay: the sum of its pauses, saturating at
/// [`Duration::MAX`].
pub fn replay_length(items: &[ReplayItem]) -> Duration {
    items
        .iter()
        .fold(Duration::ZERO, |sum, item| sum.saturating_add(item.delay))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timing_comes_from_timestamps() {
        let text = r#"{"command":"auth-success"}
{"command":"valueChange","timestamp":1000,"key":"focus","value":50}
{"command":"qa","passed":true}

{"command":"valueChange","timestamp":1250,"key":"focus","value":51}
{"command":"valueChange","timestamp":1100,"key":"focus","value":52}
{"command":"valueChange","timestamp":999999999,"key":"focus","value":53}
{"command":"sessionComplete","timestamp":999999999}
"#;
        let items = parse_recording(text).unwrap();
        let delays: Vec<u64> = items.iter().map(|i| i.delay.as_millis() as u64).collect();
        assert_eq!(delays, [0, 0, 250, 0, 60_000, 0]);
        assert!(items[0].is_value() && !items[1].is_value());
        assert!(items[5].is_end());
    }

    #[test]
    fn bad_lines_are_named() {
        for (text, line) in [("{}\n", "line 1"), ("\n[1]\n", "line 2"), ("x", "line 1")] {
            let err = parse_recording(text).unwrap_err().to_string();
            assert!(err.contains(line), "{err}");
        }
    }

    fn delays(text: &str) -> Vec<u64> {
        parse_recording(text)
            .unwrap()
            .iter()
            .map(|i| i.delay.as_millis() as u64)
            .collect()
    }

    #[test]
    fn hostile_timestamps_give_zero_or_clamped_gaps() {
        let line = |ts: &str| format!("{{\"command\":\"valueChange\",\"timestamp\":{ts}}}\n");
        let cases: [(&[&str], &[u64]); 10] = [
            // backwards, then forward from the earlier time
            (&["5000", "1000", "1500"], &[0, 0, 500]),
            (&["1e308", "1000", "2000"], &[0, 0, 1000]),
            (&["1000", "1e308", "1100"], &[0, 0, 100]),
            (&["-1000", "1000"], &[0, 2000]),
            (
                &["-9223372036854775808", "9223372036854775807"],
                &[0, 60_000],
            ),
            (&["9223372036854775807", "-9223372036854775808"], &[0, 0]),
            (&["18446744073709551615", "1000", "1001"], &[0, 0, 1]),
            (
                &["\"1000\"", "null", "true", "1000", "1250"],
                &[0, 0, 0, 0, 250],
            ),
            (&["{}", "[1]", "1000.9", "1001.2"], &[0, 0, 0, 1]),
            (&["-1e308", "0", "60001"], &[0, 0, 60_000]),
        ];
        for (stamps, want) in cases {
            let text: String = stamps.iter().map(|ts| line(ts)).collect();
            assert_eq!(delays(&text), want, "{stamps:?}");
        }
    }

    #[test]
    fn replay_length_saturates() {
        let item = ReplayItem {
            delay: Duration::MAX,
            object: Map::new(),
        };
        assert_eq!(replay_length(&[item.clone(), item]), Duration::MAX);
        let text =
            "{\"command\":\"qa\",\"timestamp\":0}\n{\"command\":\"qa\",\"timestamp\":70000}\n";
        assert_eq!(replay_length(&parse_recording(text).unwrap()), MAX_GAP);
    }
}
