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
#[derive(Debug, Clone, PartialEq)]
pub struct ReplayItem {
    /// The pause after the previous message (from the `timestamp` fields; zero when either
    /// has none or time went backwards), at most [`MAX_GAP`].
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
        let ts = object.get("timestamp").and_then(Value::as_i64);
        let delay = match (last_ts, ts) {
            (Some(a), Some(b)) if b > a => {
                Duration::from_millis(u64::try_from(b - a).unwrap_or(0)).min(MAX_GAP)
            }
            _ => Duration::ZERO,
        };
        last_ts = ts.or(last_ts);
        items.push(ReplayItem { delay, object });
    }
    Ok(items)
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
}
