//! The sans-IO instrument of either dialect: request payload bytes and `now` in, reply
//! payload bytes out, with the envelope checks both dialects share, the journal of what
//! was received, and the faults a test injected.
//!
//! Envelope rules: a request over the size limit, not JSON, or not an object is refused
//! (101 for the size, 5001 otherwise); a request without a `command` gets 101. All-in-One
//! requests also need a `target` and a `parameter` object (`{}` when the command takes
//! none): the protocol says all fields but `request_id` are mandatory, so a missing one is
//! error 101, and the `request_id` is echoed as sent, errors included. The legacy names of
//! `parameter` (`params`, `data`, `parameters`) are accepted with a warning in the log.
//! Replies spell non-finite numbers as the bare `NaN`/`Infinity` the instrument writes.

use std::time::Instant;

use serde_json::Value;

use super::SimulatorConfig;
use super::all_in_one::{self, AllInOneInstrument};
use super::clock::SimClock;
use super::fault::{Fault, Faults};
use super::journal::{Journal, Received};
use super::multichannel::{self, IndicesField, MultichannelInstrument};
use crate::nonfinite::to_lenient_json;
use crate::{Dialect, ErrorCode};

/// What to do with one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    /// Send this reply payload.
    Reply(Vec<u8>),
    /// Close the connection without a reply (an injected [`Fault::CloseConnection`]).
    Close,
}

/// The request fields either dialect may carry (absent ones are `None`; unknown fields are
/// ignored). `indices` is read without keeping more than a channel count of entries.
#[derive(Debug, serde::Deserialize)]
struct Envelope {
    target: Option<Value>,
    command: Option<Value>,
    parameter: Option<Value>,
    params: Option<Value>,
    data: Option<Value>,
    parameters: Option<Value>,
    indices: Option<IndicesField>,
    request_id: Option<Value>,
}

#[derive(Debug, Clone)]
enum Model {
    AllInOne(Box<AllInOneInstrument>),
    Multichannel(Box<MultichannelInstrument>),
}

/// The simulated instrument, either dialect, without I/O.
#[derive(Debug, Clone)]
pub struct Instrument {
    model: Model,
    clock: SimClock,
    journal: Journal,
    faults: Faults,
    max_request: usize,
    max_reply: usize,
}

impl Instrument {
    /// A fresh instrument powered on at `now`; `unix_now` is the wall-clock time then
    /// (seconds since the epoch), for the timestamps in replies.
    pub fn new(config: &SimulatorConfig, now: Instant, unix_now: f64) -> Self {
        let model = match config.dialect {
            Dialect::AllInOne => Model::AllInOne(Box::new(AllInOneInstrument::new(config.timing))),
            Dialect::Multichannel => {
                let mut sim = MultichannelInstrument::new(config.channel_count());
                sim.reply_budget = config.reply_limit();
                Model::Multichannel(Box::new(sim))
            }
        };
        Instrument {
            model,
            clock: SimClock::new(now, unix_now, config.timing.effective_speed()),
            journal: Journal::new(config.journal),
            faults: Faults::default(),
            max_request: config.request_limit(),
            max_reply: config.reply_limit(),
        }
    }

    /// The dialect spoken.
    pub fn dialect(&self) -> Dialect {
        match self.model {
            Model::AllInOne(_) => Dialect::AllInOne,
            Model::Multichannel(_) => Dialect::Multichannel,
        }
    }

    /// The largest request payload accepted.
    pub fn max_request(&self) -> usize {
        self.max_request
    }

    /// The largest reply payload sent (a longer one is replaced by error 101).
    pub fn max_reply(&self) -> usize {
        self.max_reply
    }

    /// Makes the next request for `command` fail as `fault` says.
    pub fn inject_fault(&mut self, command: &str, fault: Fault) {
        self.faults.add(command, fault);
    }

    /// The requests received so far (the most recent ones, oldest first).
    pub fn received(&self) -> Vec<Received> {
        self.journal.entries()
    }

    /// Answers one request payload with one reply payload (a fault that closes the
    /// connection gives an empty payload here; see [`respond`](Self::respond)).
    pub fn handle_payload(&mut self, payload: &[u8], now: Instant) -> Vec<u8> {
        match self.respond(payload, now, 0) {
            Response::Reply(bytes) => bytes,
            Response::Close => Vec::new(),
        }
    }

    /// Answers one request payload that arrived on `connection`.
    pub fn respond(&mut self, payload: &[u8], now: Instant, connection: u64) -> Response {
        if payload.len() > self.max_request {
            return Response::Reply(self.oversize_reply(payload.len() as u64, connection));
        }
        let (mut reply, closed) = self.handle_request(payload, now, connection);
        if closed {
            self.journal.answered(None);
            return Response::Close;
        }
        let mut bytes = to_lenient_json(&reply);
        if bytes.len() > self.max_reply {
            let message = format!(
                "Invalid parameters: the reply would be {} bytes, over the limit of {} bytes (ask for fewer channels or less data)",
                bytes.len(),
                self.max_reply
            );
            tracing::warn!("{message}");
            let request_id = reply.get("request_id").cloned();
            reply = self.error(ErrorCode::INVALID_PARAMETERS, &message);
            if let (Some(id), Value::Object(r)) = (request_id, &mut reply) {
                r.insert("request_id".into(), id);
            }
            bytes = to_lenient_json(&reply);
        }
        let code = reply
            .get("error")
            .and_then(|e| e.get("code"))
            .and_then(Value::as_i64);
        self.journal.answered(code);
        Response::Reply(bytes)
    }

    /// The reply to a request whose length prefix announced `announced` bytes, over the
    /// limit: error 101 (the payload is not read; the server then closes the connection).
    pub fn oversize_reply(&mut self, announced: u64, connection: u64) -> Vec<u8> {
        self.journal.record(connection, None, "");
        self.journal.answered(Some(ErrorCode::INVALID_PARAMETERS.0));
        let message = format!(
            "Invalid request: {announced} bytes, over the limit of {} bytes (the connection is closed)",
            self.max_request
        );
        to_lenient_json(&self.error(ErrorCode::INVALID_PARAMETERS, &message))
    }

    fn error(&self, code: ErrorCode, message: &str) -> Value {
        match self.model {
            Model::AllInOne(_) => all_in_one::error_reply(code, message),
            Model::Multichannel(_) => multichannel::error_reply(code, message),
        }
    }

    /// The reply object, and whether the connection is to be closed instead.
    fn handle_request(&mut self, payload: &[u8], now: Instant, connection: u64) -> (Value, bool) {
        let request: Envelope = match serde_json::from_slice(payload) {
            Ok(envelope) => envelope,
            Err(e) => {
                self.journal.record(connection, None, "");
                // "Not an object" only for well-formed JSON of another kind; an object that
                // fails (a number out of range, a bad string, a duplicate key) says why.
                let is_object = payload.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
                let other_json = serde_json::from_slice::<serde::de::IgnoredAny>(payload).is_ok();
                let message = if other_json && !is_object {
                    "Invalid JSON: request must be an object".to_string()
                } else {
                    format!("Invalid JSON: {e}")
                };
                return (self.error(ErrorCode::INVALID_JSON, &message), false);
            }
        };
        let target = request.target.as_ref().and_then(Value::as_str);
        let Some(command) = request.command.as_ref().and_then(Value::as_str) else {
            self.journal.record(connection, target, "");
            return (
                self.error(
                    ErrorCode::INVALID_PARAMETERS,
                    "Invalid request: command missing",
                ),
                false,
            );
        };
        self.journal.record(connection, target, command);
        tracing::debug!(command, "request");
        let parameter = legacy_parameter(
            request.parameter,
            [
                ("params", request.params),
                ("data", request.data),
                ("parameters", request.parameters),
            ],
        );
        let mut reply = match self.faults.take(command) {
            Some(Fault::CloseConnection) => return (Value::Null, true),
            Some(Fault::Reject { code, message }) => self.error(code, &message),
            None => {
                let at = self.clock.at(now);
                match &mut self.model {
                    Model::AllInOne(sim) => match (target, &parameter) {
                        (None, _) => all_in_one::error_reply(
                            ErrorCode::INVALID_PARAMETERS,
                            "Invalid request: target missing",
                        ),
                        (_, None) => all_in_one::error_reply(
                            ErrorCode::INVALID_PARAMETERS,
                            "Invalid request: parameter missing (it is mandatory: send {} when the command takes none)",
                        ),
                        (Some(target), Some(Value::Object(p))) => {
                            sim.handle(target, command, p, at)
                        }
                        (Some(_), Some(_)) => all_in_one::error_reply(
                            ErrorCode::INVALID_PARAMETERS,
                            "Invalid request: parameter must be an object",
                        ),
                    },
                    Model::Multichannel(sim) => {
                        sim.handle(command, request.indices.as_ref(), parameter.as_ref(), at)
                    }
                }
            }
        };
        if let (Model::AllInOne(_), Some(id), Value::Object(r)) =
            (&self.model, request.request_id, &mut reply)
        {
            r.insert("request_id".into(), id);
        }
        (reply, false)
    }
}

/// `parameter`, or the first legacy name present (with a warning).
fn legacy_parameter<const N: usize>(
    parameter: Option<Value>,
    legacy: [(&str, Option<Value>); N],
) -> Option<Value> {
    if parameter.is_some() {
        return parameter;
    }
    legacy.into_iter().find_map(|(name, value)| {
        let value = value?;
        tracing::warn!("request uses the key \"{name}\"; the API says \"parameter\"");
        Some(value)
    })
}

/// The reply object of a payload, for tests.
#[cfg(test)]
pub(crate) fn reply_value(bytes: &[u8]) -> serde_json::Map<String, Value> {
    match serde_json::from_slice(&crate::nonfinite::to_strict_json(bytes)) {
        Ok(Value::Object(m)) => m,
        other => panic!("not a reply object: {other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::time::Duration;

    fn aio() -> Instrument {
        Instrument::new(
            &SimulatorConfig::new(Dialect::AllInOne),
            Instant::now(),
            0.0,
        )
    }

    fn reply(sim: &mut Instrument, request: &str) -> Value {
        Value::Object(reply_value(
            &sim.handle_payload(request.as_bytes(), Instant::now()),
        ))
    }

    #[test]
    fn envelope_errors() {
        let mut sim = aio();
        let cases = [
            ("not json", 5001),
            ("[1,2]", 5001),
            (r#"{"target":"MAIN"}"#, 101),
            (r#"{"command":"GetActiveRoutine","parameter":{}}"#, 101),
            (r#"{"target":"MAIN","command":"GetActiveRoutine"}"#, 101),
            (
                r#"{"target":"MAIN","command":"GetActiveRoutine","parameter":null}"#,
                101,
            ),
            (
                r#"{"target":"MAIN","command":"GetActiveRoutine","parameter":[1]}"#,
                101,
            ),
        ];
        for (request, code) in cases {
            let r = reply(&mut sim, request);
            assert_eq!(r["error"]["code"], code, "{request}: {r}");
        }
    }

    #[test]
    fn a_missing_parameter_names_the_rule() {
        let mut sim = aio();
        let r = reply(
            &mut sim,
            r#"{"target":"MAIN","command":"GetActiveRoutine","request_id":4}"#,
        );
        let message = r["error"]["message"].as_str().unwrap();
        assert!(message.contains("parameter missing"), "{message}");
        assert_eq!(r["request_id"], 4, "errors echo the request_id too");
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
            r#"{"target":"MAIN","command":"GetActiveRoutine","parameter":{}}"#,
        );
        assert_eq!(r["data"]["routine"], "Luminescence");
    }

    #[test]
    fn an_oversize_request_is_refused_without_being_parsed() {
        let config = SimulatorConfig {
            max_request: 64,
            ..SimulatorConfig::new(Dialect::Multichannel)
        };
        let mut sim = Instrument::new(&config, Instant::now(), 0.0);
        let big = format!(
            r#"{{"command":"GetEnvironments","pad":"{}"}}"#,
            "x".repeat(100)
        );
        let r = reply(&mut sim, &big);
        assert_eq!(r["error"]["code"], 101);
        assert!(
            r["error"]["message"]
                .as_str()
                .unwrap()
                .contains("over the limit of 64")
        );
    }

    #[test]
    fn a_reply_over_the_limit_becomes_error_101_and_keeps_the_request_id() {
        let config = SimulatorConfig::new(Dialect::Multichannel)
            .channels(64)
            .max_reply(1024);
        let mut sim = Instrument::new(&config, Instant::now(), 0.0);
        let all: Vec<usize> = (0..64).collect();
        let request = json!({"command": "GetChannelSettings", "indices": all}).to_string();
        let r = reply(&mut sim, &request);
        assert_eq!(r["error"]["code"], 101, "{r}");
        let message = r["error"]["message"].as_str().unwrap();
        assert!(message.contains("over the limit of 1024"), "{message}");
        // A small reply is still answered.
        let r = reply(
            &mut sim,
            r#"{"command":"GetChannelSettings","indices":[0]}"#,
        );
        assert_eq!(r["status"], "ok", "{r}");

        let config = SimulatorConfig::new(Dialect::AllInOne).max_reply(0);
        let mut sim = Instrument::new(&config, Instant::now(), 0.0);
        assert_eq!(sim.max_reply(), 1024, "room for the error reply");
        let r = reply(
            &mut sim,
            r#"{"target":"MAIN","command":"GetAvailableRoutines","parameter":{},"request_id":9}"#,
        );
        assert_eq!(r["request_id"], 9);
    }

    #[test]
    fn latest_jv_over_the_reply_limit_is_refused_before_it_is_built() {
        let config = SimulatorConfig::new(Dialect::Multichannel)
            .timing(crate::simulator::Timing::fast())
            .max_reply(2048);
        let start = Instant::now();
        let mut sim = Instrument::new(&config, start, 0.0);
        let at = |sim: &mut Instrument, secs: u64, request: &str| {
            let bytes = sim.handle_payload(request.as_bytes(), start + Duration::from_secs(secs));
            Value::Object(reply_value(&bytes))
        };
        let enable = r#"{"command":"SetChannelSettings","indices":[0,1],"parameter":{"settings":{"Enable":true}}}"#;
        assert_eq!(at(&mut sim, 0, enable)["status"], "ok");
        assert_eq!(
            at(&mut sim, 1, r#"{"command":"StartMeasurement"}"#)["status"],
            "ok"
        );
        // Long after both channels finished their JV at the fast speed.
        let r = at(
            &mut sim,
            600,
            r#"{"command":"GetLatestJV","indices":[0,1]}"#,
        );
        assert_eq!(r["error"]["code"], 101, "{r}");
        let message = r["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("over the reply limit of 2048"),
            "{message}"
        );
        // Channels without data still answer.
        let r = at(&mut sim, 600, r#"{"command":"GetLatestJV","indices":[5]}"#);
        assert_eq!(r["status"], "ok", "{r}");
    }

    #[test]
    fn faults_and_the_journal() {
        let mut sim = aio();
        sim.inject_fault(
            "GetActiveRoutine",
            Fault::Reject {
                code: ErrorCode(9999),
                message: "boom".into(),
            },
        );
        sim.inject_fault("GetAvailableRoutines", Fault::CloseConnection);
        let now = Instant::now();
        let get = br#"{"target":"MAIN","command":"GetActiveRoutine","parameter":{}}"#;
        let first = reply_value(&sim.handle_payload(get, now));
        assert_eq!(first["error"]["code"], 9999);
        let second = reply_value(&sim.handle_payload(get, now));
        assert_eq!(second["status"], "OK", "a fault fires once");
        let closed = sim.respond(
            br#"{"target":"MAIN","command":"GetAvailableRoutines","parameter":{}}"#,
            now,
            7,
        );
        assert_eq!(closed, Response::Close);
        let seen = sim.received();
        assert_eq!(seen.len(), 3);
        assert_eq!(seen[0].error, Some(9999));
        assert_eq!(seen[1].error, None);
        assert_eq!(seen[2].connection, 7);
        assert_eq!(seen[2].target.as_deref(), Some("MAIN"));
    }
}
