//! The sans-IO instrument of either dialect: request payload bytes and `now` in, reply
//! payload bytes out, with the envelope checks both dialects share.

use std::time::{Duration, Instant};

use serde_json::{Map, Value};

use super::all_in_one::{self, AllInOneInstrument};
use super::multichannel::{self, MultichannelInstrument};
use crate::nonfinite::to_lenient_json;
use crate::{Dialect, ErrorCode};

/// How long the simulated routines take in each phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// StartRoutine to Ready.
    pub initialize: Duration,
    /// StartMeasurement to Running.
    pub start: Duration,
    /// Running to done (Multichannel: the period of automatic JV sweeps).
    pub measure: Duration,
}

impl Timing {
    /// Close to a quick real sweep: 0.5 s to initialize, 0.25 s to start, 2.5 s to measure.
    pub const fn realistic() -> Self {
        Timing {
            initialize: Duration::from_millis(500),
            start: Duration::from_millis(250),
            measure: Duration::from_millis(2500),
        }
    }

    /// For tests and demos: 30 ms, 20 ms, 150 ms.
    pub const fn fast() -> Self {
        Timing {
            initialize: Duration::from_millis(30),
            start: Duration::from_millis(20),
            measure: Duration::from_millis(150),
        }
    }
}

impl Default for Timing {
    fn default() -> Self {
        Self::realistic()
    }
}

/// Simulator settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SimulatorConfig {
    /// The dialect served.
    pub dialect: Dialect,
    /// Routine phase durations.
    pub timing: Timing,
    /// Multichannel: the number of channels.
    pub channels: usize,
    /// The largest request accepted.
    pub max_request: usize,
}

impl SimulatorConfig {
    /// Realistic timing, 8 channels, 16 MiB requests.
    pub fn new(dialect: Dialect) -> Self {
        SimulatorConfig {
            dialect,
            timing: Timing::realistic(),
            channels: 8,
            max_request: 16 * 1024 * 1024,
        }
    }

    /// The same with other timing.
    #[must_use]
    pub fn timing(mut self, timing: Timing) -> Self {
        self.timing = timing;
        self
    }
}

/// The request fields either dialect may carry (absent ones are `None`).
#[derive(Debug, serde::Deserialize)]
struct Envelope {
    target: Option<Value>,
    command: Option<Value>,
    parameter: Option<Value>,
    params: Option<Value>,
    data: Option<Value>,
    indices: Option<Value>,
    request_id: Option<Value>,
}

/// The simulated instrument, either dialect, without I/O.
#[derive(Debug, Clone)]
pub enum Instrument {
    /// An All-in-One instrument.
    AllInOne(Box<AllInOneInstrument>),
    /// A Multichannel instrument.
    Multichannel(Box<MultichannelInstrument>),
}

impl Instrument {
    /// A fresh instrument. `unix_now` is the wall-clock time at `now` (seconds since the
    /// epoch), for timestamps in replies.
    pub fn new(config: &SimulatorConfig, now: Instant, unix_now: f64) -> Self {
        match config.dialect {
            Dialect::AllInOne => {
                Instrument::AllInOne(Box::new(AllInOneInstrument::new(config.timing)))
            }
            Dialect::Multichannel => Instrument::Multichannel(Box::new(
                MultichannelInstrument::new(config.timing, config.channels, now, unix_now),
            )),
        }
    }

    /// Answers one request payload with one reply payload.
    pub fn handle_payload(&mut self, payload: &[u8], now: Instant) -> Vec<u8> {
        let reply = self.handle_request(payload, now);
        to_lenient_json(&reply)
    }

    fn handle_request(&mut self, payload: &[u8], now: Instant) -> Value {
        let dialect = match self {
            Instrument::AllInOne(_) => Dialect::AllInOne,
            Instrument::Multichannel(_) => Dialect::Multichannel,
        };
        let error = |code: ErrorCode, message: &str| match dialect {
            Dialect::AllInOne => all_in_one::error_reply(code, message),
            Dialect::Multichannel => multichannel::error_reply(code, message),
        };
        // Fields are read straight into a struct (no map of the whole request); unknown
        // fields are ignored.
        let request: Envelope = match serde_json::from_slice(payload) {
            Ok(envelope) => envelope,
            Err(e) => {
                // "Not an object" only for well-formed JSON of another kind; an object that
                // fails (a number out of range, a bad string, a duplicate key) says why.
                let is_object = payload.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
                let other_json = serde_json::from_slice::<serde::de::IgnoredAny>(payload).is_ok();
                let message = if other_json && !is_object {
                    "Invalid JSON: request must be an object".to_string()
                } else {
                    format!("Invalid JSON: {e}")
                };
                return error(ErrorCode::INVALID_JSON, &message);
            }
        };
        let parameter = match (request.parameter, request.params, request.data) {
            (Some(p), _, _) => p,
            (None, Some(p), _) => {
                tracing::warn!(
                    "request uses the legacy key \"params\"; the API says \"parameter\""
                );
                p
            }
            (None, None, Some(p)) => {
                tracing::warn!("request uses the key \"data\"; the API says \"parameter\"");
                p
            }
            (None, None, None) => Value::Object(Map::new()),
        };
        let Some(command) = request.command.as_ref().and_then(Value::as_str) else {
            return error(
                ErrorCode::INVALID_PARAMETERS,
                "Invalid request: command missing",
            );
        };
        tracing::debug!(command, "request");
        match self {
            Instrument::AllInOne(sim) => {
                let mut reply = match request.target.as_ref().and_then(Value::as_str) {
                    Some(target) => sim.handle(target, command, &parameter, now),
                    None => error(
                        ErrorCode::INVALID_PARAMETERS,
                        "Invalid request: target missing",
                    ),
                };
                if let (Some(id), Value::Object(r)) = (request.request_id, &mut reply) {
                    r.insert("request_id".into(), id);
                }
                reply
            }
            Instrument::Multichannel(sim) => {
                sim.handle(command, request.indices.as_ref(), &parameter, now)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn aio() -> Instrument {
        Instrument::new(
            &SimulatorConfig::new(Dialect::AllInOne),
            Instant::now(),
            0.0,
        )
    }

    fn reply(sim: &mut Instrument, request: &str) -> Value {
        let bytes = sim.handle_payload(request.as_bytes(), Instant::now());
        serde_json::from_slice(&crate::nonfinite::to_strict_json(&bytes)).unwrap()
    }

    #[test]
    fn envelope_errors() {
        let mut sim = aio();
        let cases = [
            ("not json", 5001),
            ("[1,2]", 5001),
            (r#"{"target":"MAIN"}"#, 101),
            (r#"{"command":"GetActiveRoutine"}"#, 101),
        ];
        for (request, code) in cases {
            let r = reply(&mut sim, request);
            assert_eq!(r["error"]["code"], code, "{request}: {r}");
        }
    }

    #[test]
    fn invalid_json_says_why() {
        let mut sim = aio();
        let cases = [
            ("[1,2]", "request must be an object"),
            (" \"text\"", "request must be an object"),
            ("{oops", "key must be a string"),
            (
                r#"{"target":"LED","command":"SetValues","parameter":{"values":[1e999]}}"#,
                "number out of range",
            ),
            (
                r#"{"target":"MAIN","command":"A","command":"B"}"#,
                "duplicate field",
            ),
        ];
        for (request, why) in cases {
            let r = reply(&mut sim, request);
            assert_eq!(r["error"]["code"], 5001, "{request}: {r}");
            let message = r["error"]["message"].as_str().unwrap();
            assert!(message.contains(why), "{request}: {message}");
        }
    }

    #[test]
    fn request_id_is_echoed_as_sent() {
        let mut sim = aio();
        for id in [json!(7), json!("abc")] {
            let request = json!({"target":"MAIN","command":"GetActiveRoutine","parameter":{},"request_id":id});
            let r = reply(&mut sim, &request.to_string());
            assert_eq!(r["request_id"], id);
        }
    }

    #[test]
    fn legacy_params_key_is_accepted() {
        let mut sim = aio();
        let r = reply(
            &mut sim,
            r#"{"target":"MAIN","command":"StartRoutine","params":{"routine":"Luminescence"},"request_id":1001}"#,
        );
        assert_eq!(r["status"], "OK", "{r}");
        let r = reply(
            &mut sim,
            r#"{"target":"MAIN","command":"GetActiveRoutine"}"#,
        );
        assert_eq!(r["data"]["routine"], "Luminescence");
    }
}
