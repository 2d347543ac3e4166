//! The typed stream message model: every command of the protocol, and an unknown variant
//! that keeps the whole object.
//!
//! Parsing is lenient where real peers are loose: `timestamp` may be missing, a value may be
//! `-1` (low confidence) or NaN in any spelling (`NaN` bare, `"NaN"`, `null`), keys and enum
//! codes are open sets. It is strict only where nothing sensible can be read: a payload that
//! is not JSON, not an object, has no `command`, or a known command without a field it
//! cannot do without (a `valueChange` without `key`).

use std::fmt;

use serde_json::{Map, Value, json};

use crate::mutf8::{self, Mutf8Error};

/// One message of the stream, typed.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Message {
    /// Client to server: the API key. The key is redacted from `Debug` output.
    Auth {
        /// The application's API key.
        api_key: ApiKey,
    },
    /// The server accepted the key; events follow.
    AuthSuccess,
    /// The server refused the key and closes the connection.
    AuthFailed,
    /// A new value for a key.
    ValueChange {
        /// Unix milliseconds, when the server sent one.
        timestamp: Option<i64>,
        /// What the value is of (`focus`, `heart_rate`, ...).
        key: ValueKey,
        /// The value.
        value: Reading,
    },
    /// The headband's connection state changed.
    Connection {
        /// Unix milliseconds, when the server sent one.
        timestamp: Option<i64>,
        /// The state before.
        previous: ConnectionState,
        /// The state now.
        current: ConnectionState,
    },
    /// A signal-quality verdict.
    Qa {
        /// Unix milliseconds, when the server sent one.
        timestamp: Option<i64>,
        /// True when the signal is good.
        passed: bool,
        /// Why it failed; `None` when the server sent `0` or no type.
        failure: Option<QaFailure>,
    },
    /// The SDK reported an error.
    Error {
        /// Unix milliseconds, when the server sent one.
        timestamp: Option<i64>,
        /// The SDK's error code (current builds negative, older ones positive).
        code: ErrorCode,
        /// The SDK's description.
        message: String,
    },
    /// The session ended; the server closes after this (also the draft `socketClosing`).
    SessionComplete {
        /// Unix milliseconds, when the server sent one.
        timestamp: Option<i64>,
    },
    /// Never documented; kept as received.
    Challenge {
        /// The `challenge_data` field, if any.
        data: Option<Value>,
    },
    /// A command this crate does not know (newer app versions add some): the whole object.
    Unknown {
        /// The `command` field.
        command: String,
        /// The whole object as received.
        object: Map<String, Value>,
    },
}

/// A message with the JSON object it was read from (every field kept, in order).
#[derive(Debug, Clone, PartialEq)]
pub struct Received {
    /// The typed message.
    pub message: Message,
    /// The object as received.
    pub object: Map<String, Value>,
}

/// Why a frame could not be read as a message. The frame boundary is intact, so a client
/// reports it and goes on with the next frame.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum MessageError {
    /// The payload is neither UTF-8 nor Java modified UTF-8.
    #[error(transparent)]
    Encoding(#[from] Mutf8Error),
    /// The text is not JSON.
    #[error("not JSON at line {line} column {column}: {reason}")]
    Json {
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
        /// What serde_json reported.
        reason: String,
    },
    /// The JSON is not an object.
    #[error("JSON is not an object")]
    NotAnObject,
    /// The object has no string `command` field.
    #[error("object has no \"command\" string")]
    NoCommand,
    /// A known command lacks a field it needs, or the field has the wrong type.
    #[error("{command}: field \"{field}\" is missing or not {expected}")]
    Field {
        /// The command.
        command: &'static str,
        /// The field.
        field: &'static str,
        /// What it should be.
        expected: &'static str,
    },
}

/// An API key. `Debug` and `Display` never show it, so it cannot end up in a log.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// Wraps a key.
    pub fn new(key: impl Into<String>) -> Self {
        ApiKey(key.into())
    }

    /// The key itself, for sending it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Compares in time independent of where the keys differ.
    pub fn matches(&self, other: &str) -> bool {
        let (a, b) = (self.0.as_bytes(), other.as_bytes());
        let mut diff = a.len() ^ b.len();
        for (i, x) in a.iter().enumerate() {
            diff |= usize::from(x ^ b.get(i).copied().unwrap_or(!x));
        }
        diff == 0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

impl fmt::Display for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// The key of a `valueChange`: an open set, the known ones named.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ValueKey {
    /// `focus`, 0-100, 50 neutral.
    Focus,
    /// `enjoyment`, 0-100, 50 neutral.
    Enjoyment,
    /// `zone_state` (flow), 0-100, 50 neutral.
    ZoneState,
    /// `avg_motion`, 1-4.
    AvgMotion,
    /// `heart_rate`, beats per minute.
    HeartRate,
    /// Any other key (newer SDKs use server-assigned prediction ids).
    Other(String),
}

impl ValueKey {
    /// The key as written on the wire.
    pub fn as_str(&self) -> &str {
        match self {
            ValueKey::Focus => "focus",
            ValueKey::Enjoyment => "enjoyment",
            ValueKey::ZoneState => "zone_state",
            ValueKey::AvgMotion => "avg_motion",
            ValueKey::HeartRate => "heart_rate",
            ValueKey::Other(key) => key,
        }
    }
}

impl From<&str> for ValueKey {
    fn from(key: &str) -> Self {
        match key {
            "focus" => ValueKey::Focus,
            "enjoyment" => ValueKey::Enjoyment,
            "zone_state" => ValueKey::ZoneState,
            "avg_motion" => ValueKey::AvgMotion,
            "heart_rate" => ValueKey::HeartRate,
            other => ValueKey::Other(other.to_string()),
        }
    }
}

impl fmt::Display for ValueKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// The value of a `valueChange`: one number, or several (raw motion x, y, z).
#[derive(Debug, Clone, PartialEq)]
pub enum Reading {
    /// One number; NaN when the server sent NaN in any form.
    Scalar(f64),
    /// An array of numbers.
    Vector(Vec<f64>),
}

/// True for the low-confidence markers of one number: -1 or NaN.
pub fn is_low_confidence(x: f64) -> bool {
    x.is_nan() || x == -1.0
}

impl Reading {
    /// True for the low-confidence markers: -1 or NaN (any element for a vector).
    pub fn is_low_confidence(&self) -> bool {
        match self {
            Reading::Scalar(x) => is_low_confidence(*x),
            Reading::Vector(xs) => xs.iter().any(|x| is_low_confidence(*x)),
        }
    }

    /// The numbers of the reading: one for a scalar, every element of a vector.
    pub fn values(&self) -> &[f64] {
        match self {
            Reading::Scalar(x) => std::slice::from_ref(x),
            Reading::Vector(xs) => xs,
        }
    }

    fn to_json(&self) -> Value {
        let one = |x: f64| {
            serde_json::Number::from_f64(x).map_or_else(|| Value::from(nan_text(x)), Value::Number)
        };
        match self {
            Reading::Scalar(x) => one(*x),
            Reading::Vector(xs) => Value::Array(xs.iter().copied().map(one).collect()),
        }
    }
}

impl fmt::Display for Reading {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reading::Scalar(x) => write!(f, "{x}"),
            Reading::Vector(xs) => {
                f.write_str("[")?;
                for (i, x) in xs.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{x}")?;
                }
                f.write_str("]")
            }
        }
    }
}

fn nan_text(x: f64) -> &'static str {
    if x.is_nan() {
        "NaN"
    } else if x > 0.0 {
        "Infinity"
    } else {
        "-Infinity"
    }
}

macro_rules! open_code {
    ($(#[$doc:meta])* $name:ident { $($(#[$cdoc:meta])* $konst:ident = $value:expr, $text:literal;)* }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub struct $name(pub i64);

        impl $name {
            $($(#[$cdoc])* pub const $konst: $name = $name($value);)*

            /// The SDK's name for this code, or `None` for a code this crate does not know.
            pub fn name(self) -> Option<&'static str> {
                match self.0 {
                    $(v if v == $value => Some($text),)*
                    _ => None,
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self.name() {
                    Some(name) => write!(f, "{name} ({})", self.0),
                    None => write!(f, "{}", self.0),
                }
            }
        }
    };
}

open_code! {
    /// A headband connection state (an open set of integers).
    ConnectionState {
        /// 0.
        UNKNOWN = 0, "UNKNOWN";
        /// 1.
        CONNECTING = 1, "CONNECTING";
        /// 2.
        CONNECTED = 2, "CONNECTED";
        /// 3.
        CONNECTION_FAILED = 3, "CONNECTION_FAILED";
        /// 4.
        DISCONNECTED = 4, "DISCONNECTED";
        /// 5.
        DISCONNECTED_UPON_REQUEST = 5, "DISCONNECTED_UPON_REQUEST";
    }
}

open_code! {
    /// Why a signal-quality check failed (an open set of integers).
    QaFailure {
        /// 1.
        HEADBAND_OFF_HEAD = 1, "HEADBAND_OFF_HEAD";
        /// 2.
        MOTION_TOO_HIGH = 2, "MOTION_TOO_HIGH";
        /// 3.
        EEG_FAILURE = 3, "EEG_FAILURE";
    }
}

open_code! {
    /// An SDK error code. Current builds use the negative codes; older builds used 1..12 for
    /// the same names, which [`ErrorCode::name`] also knows.
    ErrorCode {
        /// -200.
        UNKNOWN_ERROR = -200, "UNKNOWN_ERROR";
        /// -100.
        NOT_ALLOWED = -100, "NOT_ALLOWED";
        /// 0.
        SUCCESS = 0, "SUCCESS";
        /// -1 (legacy 1).
        NOT_INITIALIZED = -1, "NOT_INITIALIZED";
        /// -2 (legacy 2).
        ALREADY_INITIALIZED = -2, "ALREADY_INITIALIZED";
        /// -3 (legacy 3).
        API_KEY_ERROR = -3, "API_KEY_ERROR";
        /// -4 (legacy 4).
        MODEL_DOWNLOAD_ERROR = -4, "MODEL_DOWNLOAD_ERROR";
        /// -5 (legacy 5).
        SESSION_UPDATE_FAILURE = -5, "SESSION_UPDATE_FAILURE";
        /// -6 (legacy 6).
        SESSION_UPLOAD_FAILURE = -6, "SESSION_UPLOAD_FAILURE";
        /// -7 (legacy 7).
        USER_NOT_LOGGED_IN = -7, "USER_NOT_LOGGED_IN";
        /// -8 (legacy 8).
        CHECK_CALIBRATION_FAILED = -8, "CHECK_CALIBRATION_FAILED";
        /// -9 (legacy 9).
        SESSION_CREATE_FAILURE = -9, "SESSION_CREATE_FAILURE";
        /// -10 (legacy 10).
        SERVER_CONNECTION_ERROR = -10, "SERVER_CONNECTION_ERROR";
        /// -11 (legacy 11).
        MODELS_NOT_AVAILABLE = -11, "MODELS_NOT_AVAILABLE";
        /// -12 (legacy 12).
        PREDICTION_NOT_AVAILABLE = -12, "PREDICTION_NOT_AVAILABLE";
        /// Legacy 1.
        LEGACY_NOT_INITIALIZED = 1, "NOT_INITIALIZED";
        /// Legacy 2.
        LEGACY_ALREADY_INITIALIZED = 2, "ALREADY_INITIALIZED";
        /// Legacy 3.
        LEGACY_API_KEY_ERROR = 3, "API_KEY_ERROR";
        /// Legacy 4.
        LEGACY_MODEL_DOWNLOAD_ERROR = 4, "MODEL_DOWNLOAD_ERROR";
        /// Legacy 5.
        LEGACY_SESSION_UPDATE_FAILURE = 5, "SESSION_UPDATE_FAILURE";
        /// Legacy 6.
        LEGACY_SESSION_UPLOAD_FAILURE = 6, "SESSION_UPLOAD_FAILURE";
        /// Legacy 7.
        LEGACY_USER_NOT_LOGGED_IN = 7, "USER_NOT_LOGGED_IN";
        /// Legacy 8.
        LEGACY_CHECK_CALIBRATION_FAILED = 8, "CHECK_CALIBRATION_FAILED";
        /// Legacy 9.
        LEGACY_SESSION_CREATE_FAILURE = 9, "SESSION_CREATE_FAILURE";
        /// Legacy 10.
        LEGACY_SERVER_CONNECTION_ERROR = 10, "SERVER_CONNECTION_ERROR";
        /// Legacy 11.
        LEGACY_MODELS_NOT_AVAILABLE = 11, "MODELS_NOT_AVAILABLE";
        /// Legacy 12.
        LEGACY_PREDICTION_NOT_AVAILABLE = 12, "PREDICTION_NOT_AVAILABLE";
    }
}

/// Command names as written on the wire.
pub mod command {
    /// Client to server, with `apiKey`.
    pub const AUTH: &str = "auth";
    /// The key was accepted.
    pub const AUTH_SUCCESS: &str = "auth-success";
    /// The key was refused.
    pub const AUTH_FAILED: &str = "auth-failed";
    /// A new value.
    pub const VALUE_CHANGE: &str = "valueChange";
    /// Headband connection state.
    pub const CONNECTION: &str = "connection";
    /// Signal quality.
    pub const QA: &str = "qa";
    /// SDK error.
    pub const ERROR: &str = "error";
    /// End of the session.
    pub const SESSION_COMPLETE: &str = "sessionComplete";
    /// Early-draft spelling of the end of the session.
    pub const SOCKET_CLOSING: &str = "socketClosing";
    /// Undocumented.
    pub const CHALLENGE: &str = "challenge";
}

impl Message {
    /// Reads a frame payload: modified UTF-8 text, JSON object, typed message.
    pub fn parse(payload: &[u8]) -> Result<Received, MessageError> {
        let text = mutf8::decode(payload)?;
        let value: Value = match serde_json::from_str(&text) {
            Ok(value) => value,
            Err(e) => match repair(&text) {
                // Bare NaN / Infinity, raw control characters: what loose writers emit.
                Some(fixed) => serde_json::from_str(&fixed).map_err(|_| json_error(&e))?,
                None => return Err(json_error(&e)),
            },
        };
        let Value::Object(object) = value else {
            return Err(MessageError::NotAnObject);
        };
        let message = Self::from_object(&object)?;
        Ok(Received { message, object })
    }

    /// Types a JSON object.
    pub fn from_object(object: &Map<String, Value>) -> Result<Message, MessageError> {
        let Some(Value::String(name)) = object.get("command") else {
            return Err(MessageError::NoCommand);
        };
        let timestamp = object.get("timestamp").and_then(timestamp);
        let int = |field| object.get(field).and_then(integer);
        Ok(match name.as_str() {
            command::AUTH => Message::Auth {
                api_key: ApiKey::new(object.get("apiKey").and_then(Value::as_str).ok_or(
                    MessageError::Field {
                        command: command::AUTH,
                        field: "apiKey",
                        expected: "a string",
                    },
                )?),
            },
            command::AUTH_SUCCESS => Message::AuthSuccess,
            command::AUTH_FAILED => Message::AuthFailed,
            command::VALUE_CHANGE => {
                let field = |field, expected| MessageError::Field {
                    command: command::VALUE_CHANGE,
                    field,
                    expected,
                };
                let key = object
                    .get("key")
                    .and_then(Value::as_str)
                    .ok_or(field("key", "a string"))?;
                let value = object
                    .get("value")
                    .and_then(reading)
                    .ok_or(field("value", "a number or an array of numbers"))?;
                Message::ValueChange {
                    timestamp,
                    key: key.into(),
                    value,
                }
            }
            command::CONNECTION => Message::Connection {
                timestamp,
                previous: ConnectionState(int("previous").unwrap_or(0)),
                current: ConnectionState(int("current").unwrap_or(0)),
            },
            command::QA => {
                let failure = int("type").filter(|&t| t != 0).map(QaFailure);
                let passed = match object.get("passed") {
                    Some(Value::Bool(b)) => *b,
                    Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
                    // 0 and 1, as loose writers put booleans.
                    Some(Value::Number(n)) if n.as_f64() == Some(0.0) => false,
                    Some(Value::Number(n)) if n.as_f64() == Some(1.0) => true,
                    _ => failure.is_none(),
                };
                Message::Qa {
                    timestamp,
                    passed,
                    failure,
                }
            }
            command::ERROR => Message::Error {
                timestamp,
                code: ErrorCode(int("errorCode").unwrap_or(ErrorCode::UNKNOWN_ERROR.0)),
                message: match object.get("message") {
                    Some(Value::String(s)) => s.clone(),
                    Some(Value::Null) | None => String::new(),
                    Some(other) => other.to_string(),
                },
            },
            command::SESSION_COMPLETE | command::SOCKET_CLOSING => {
                Message::SessionComplete { timestamp }
            }
            command::CHALLENGE => Message::Challenge {
                data: object.get("challenge_data").cloned(),
            },
            other => Message::Unknown {
                command: other.to_string(),
                object: object.clone(),
            },
        })
    }

    /// The `command` string of this message.
    pub fn command(&self) -> &str {
        match self {
            Message::Auth { .. } => command::AUTH,
            Message::AuthSuccess => command::AUTH_SUCCESS,
            Message::AuthFailed => command::AUTH_FAILED,
            Message::ValueChange { .. } => command::VALUE_CHANGE,
            Message::Connection { .. } => command::CONNECTION,
            Message::Qa { .. } => command::QA,
            Message::Error { .. } => command::ERROR,
            Message::SessionComplete { .. } => command::SESSION_COMPLETE,
            Message::Challenge { .. } => command::CHALLENGE,
            Message::Unknown { command, .. } => command,
        }
    }

    /// The timestamp, for the commands that carry one.
    pub fn timestamp(&self) -> Option<i64> {
        match self {
            Message::ValueChange { timestamp, .. }
            | Message::Connection { timestamp, .. }
            | Message::Qa { timestamp, .. }
            | Message::Error { timestamp, .. }
            | Message::SessionComplete { timestamp } => *timestamp,
            Message::Unknown { object, .. } => object.get("timestamp").and_then(self::timestamp),
            _ => None,
        }
    }

    /// The JSON object of this message, as the app writes it (NaN as the string `"NaN"`).
    pub fn to_json(&self) -> Value {
        let mut object = match self {
            Message::Unknown { object, .. } => return Value::Object(object.clone()),
            Message::Auth { api_key } => {
                json!({"command": command::AUTH, "apiKey": api_key.expose()})
            }
            Message::ValueChange { key, value, .. } => {
                json!({"command": command::VALUE_CHANGE, "key": key.as_str(), "value": value.to_json()})
            }
            Message::Connection {
                previous, current, ..
            } => {
                json!({"command": command::CONNECTION, "previous": previous.0, "current": current.0})
            }
            Message::Qa {
                passed, failure, ..
            } => {
                json!({"command": command::QA, "passed": passed, "type": failure.map_or(0, |f| f.0)})
            }
            Message::Error { code, message, .. } => {
                json!({"command": command::ERROR, "errorCode": code.0, "message": message})
            }
            Message::Challenge { data: Some(data) } => {
                json!({"command": command::CHALLENGE, "challenge_data": data})
            }
            other => json!({ "command": other.command() }),
        };
        if let (Some(ts), Value::Object(map)) = (self.timestamp(), &mut object) {
            map.insert("timestamp".into(), ts.into());
        }
        object
    }
}

fn json_error(e: &serde_json::Error) -> MessageError {
    MessageError::Json {
        line: e.line(),
        column: e.column(),
        reason: e.to_string(),
    }
}

fn integer(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn timestamp(v: &Value) -> Option<i64> {
    integer(v)
}

fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::Null => Some(f64::NAN),
        Value::String(s) => match s.trim() {
            t if t.eq_ignore_ascii_case("nan") => Some(f64::NAN),
            t if t.eq_ignore_ascii_case("infinity") => Some(f64::INFINITY),
            t if t.eq_ignore_ascii_case("-infinity") => Some(f64::NEG_INFINITY),
            t => t.parse().ok(),
        },
        _ => None,
    }
}

fn reading(v: &Value) -> Option<Reading> {
    match v {
        Value::Array(items) => items
            .iter()
            .map(number)
            .collect::<Option<Vec<f64>>>()
            .map(Reading::Vector),
        other => number(other).map(Reading::Scalar),
    }
}

/// Repairs what lenient JSON writers produce and strict JSON forbids, or `None` when
/// there is nothing to repair: bare `NaN`, `Infinity` and `-Infinity` outside strings
/// become strings; raw control characters inside strings (a NUL that arrived as `C0 80`)
/// become `\u00XX` escapes.
fn repair(text: &str) -> Option<String> {
    const TOKENS: [&str; 3] = ["-Infinity", "Infinity", "NaN"];
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len() + 8);
    let (mut in_string, mut escaped, mut changed) = (false, false, false);
    let mut i = 0;
    let mut copied = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                (false, 0x00..=0x1F) => {
                    out.push_str(&text[copied..i]);
                    out.push_str(&format!("\\u{b:04x}"));
                    copied = i + 1;
                    changed = true;
                }
                _ => {}
            }
        } else if b == b'"' {
            in_string = true;
        } else if let Some(token) = TOKENS.iter().find(|t| bytes[i..].starts_with(t.as_bytes())) {
            out.push_str(&text[copied..i]);
            out.push('"');
            out.push_str(token);
            out.push('"');
            i += token.len();
            copied = i;
            changed = true;
            continue;
        }
        i += 1;
    }
    out.push_str(&text[copied..]);
    changed.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minus_one_and_nan_are_low_confidence() {
        for (x, low) in [(-1.0, true), (f64::NAN, true), (0.0, false), (-0.5, false)] {
            assert_eq!(is_low_confidence(x), low, "{x}");
        }
    }

    fn parse(text: &str) -> Message {
        Message::parse(text.as_bytes()).unwrap().message
    }

    #[test]
    fn value_change_variants() {
        let cases: [(&str, Option<i64>, ValueKey, Reading); 6] = [
            (
                r#"{"command":"valueChange","timestamp":123612321,"key":"enjoyment","value":33.4442}"#,
                Some(123_612_321),
                ValueKey::Enjoyment,
                Reading::Scalar(33.4442),
            ),
            (
                r#"{"command":"valueChange","key":"focus","value":-1}"#,
                None,
                ValueKey::Focus,
                Reading::Scalar(-1.0),
            ),
            (
                r#"{"command":"valueChange","key":"motion","value":[0.1,-2,3]}"#,
                None,
                ValueKey::Other("motion".into()),
                Reading::Vector(vec![0.1, -2.0, 3.0]),
            ),
            (
                r#"{"command":"valueChange","key":"heart_rate","value":"72.5","timestamp":"17"}"#,
                Some(17),
                ValueKey::HeartRate,
                Reading::Scalar(72.5),
            ),
            (
                r#"{"command":"valueChange","key":"zone_state","value":1e2,"timestamp":1.7e12}"#,
                Some(1_700_000_000_000),
                ValueKey::ZoneState,
                Reading::Scalar(100.0),
            ),
            (
                r#"{"command":"valueChange","key":"avg_motion","value":2,"timestamp":null}"#,
                None,
                ValueKey::AvgMotion,
                Reading::Scalar(2.0),
            ),
        ];
        for (text, ts, k, v) in cases {
            assert_eq!(
                parse(text),
                Message::ValueChange {
                    timestamp: ts,
                    key: k,
                    value: v
                },
                "{text}"
            );
        }
    }

    #[test]
    fn nan_in_any_spelling_never_fails() {
        for text in [
            r#"{"command":"valueChange","key":"focus","value":NaN}"#,
            r#"{"command":"valueChange","key":"focus","value":"NaN"}"#,
            r#"{"command":"valueChange","key":"focus","value":null}"#,
            r#"{"command":"valueChange","key":"focus","value":[1,NaN,2]}"#,
        ] {
            let message = parse(text);
            let Message::ValueChange { value, .. } = message else {
                panic!("{text}: {message:?}");
            };
            assert!(value.is_low_confidence(), "{text}");
        }
        // A raw NUL inside a string (from C0 80) is read as U+0000.
        let received =
            Message::parse(b"{\"command\":\"error\",\"message\":\"a\xC0\x80b\"}").unwrap();
        assert_eq!(received.object["message"], "a\u{0}b");
        // A bare NaN inside a string is left alone.
        let received =
            Message::parse(br#"{"command":"error","errorCode":3,"message":"NaN here","x":NaN}"#)
                .unwrap();
        assert_eq!(received.object["message"], "NaN here");
        assert_eq!(received.object["x"], "NaN");
    }

    #[test]
    fn every_command_is_typed() {
        let cases = [
            (r#"{"command":"auth-success"}"#, Message::AuthSuccess),
            (r#"{"command":"auth-failed"}"#, Message::AuthFailed),
            (
                r#"{"command":"connection","previous":1,"current":2,"timestamp":5}"#,
                Message::Connection {
                    timestamp: Some(5),
                    previous: ConnectionState::CONNECTING,
                    current: ConnectionState::CONNECTED,
                },
            ),
            (
                r#"{"command":"qa","passed":false,"type":2}"#,
                Message::Qa {
                    timestamp: None,
                    passed: false,
                    failure: Some(QaFailure::MOTION_TOO_HIGH),
                },
            ),
            (
                r#"{"command":"qa","passed":true}"#,
                Message::Qa {
                    timestamp: None,
                    passed: true,
                    failure: None,
                },
            ),
            (
                r#"{"command":"error","errorCode":-3,"message":"bad key","timestamp":9}"#,
                Message::Error {
                    timestamp: Some(9),
                    code: ErrorCode::API_KEY_ERROR,
                    message: "bad key".into(),
                },
            ),
            (
                r#"{"command":"sessionComplete","timestamp":10}"#,
                Message::SessionComplete {
                    timestamp: Some(10),
                },
            ),
            (
                r#"{"command":"socketClosing"}"#,
                Message::SessionComplete { timestamp: None },
            ),
            (
                r#"{"command":"challenge","challenge_data":"abc"}"#,
                Message::Challenge {
                    data: Some("abc".into()),
                },
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(parse(text), expected, "{text}");
        }
    }

    #[test]
    fn qa_passed_as_0_or_1_is_false_or_true() {
        let cases = [
            (r#"{"command":"qa","passed":0}"#, false),
            (r#"{"command":"qa","passed":0,"type":0}"#, false),
            (r#"{"command":"qa","passed":0.0}"#, false),
            (r#"{"command":"qa","passed":1}"#, true),
            (r#"{"command":"qa","passed":1,"type":0}"#, true),
            // Other numbers are not booleans: the failure type decides.
            (r#"{"command":"qa","passed":7}"#, true),
            (r#"{"command":"qa","passed":7,"type":2}"#, false),
        ];
        for (text, want) in cases {
            let Message::Qa { passed, .. } = parse(text) else {
                panic!("{text}")
            };
            assert_eq!(passed, want, "{text}");
        }
    }

    #[test]
    fn unknown_command_keeps_the_whole_object() {
        let text = r#"{"command":"newThing","z":1,"a":[true]}"#;
        let Message::Unknown { command, object } = parse(text) else {
            panic!()
        };
        assert_eq!(command, "newThing");
        assert_eq!(serde_json::to_string(&object).unwrap(), text);
    }

    #[test]
    fn open_codes_keep_unknown_numbers() {
        assert_eq!(ErrorCode(7).name(), Some("USER_NOT_LOGGED_IN"));
        assert_eq!(ErrorCode(-7).name(), Some("USER_NOT_LOGGED_IN"));
        assert_eq!(ErrorCode(-999).name(), None);
        assert_eq!(ConnectionState(42).to_string(), "42");
        assert_eq!(ConnectionState(2).to_string(), "CONNECTED (2)");
    }

    #[test]
    fn broken_frames_are_typed_errors() {
        type Check = fn(&MessageError) -> bool;
        let cases: [(&[u8], Check); 5] = [
            (b"{\"command\":", |e| matches!(e, MessageError::Json { .. })),
            (b"[1,2]", |e| matches!(e, MessageError::NotAnObject)),
            (b"{\"x\":1}", |e| matches!(e, MessageError::NoCommand)),
            (b"\xFF", |e| matches!(e, MessageError::Encoding(_))),
            (br#"{"command":"valueChange","value":1}"#, |e| {
                matches!(e, MessageError::Field { field: "key", .. })
            }),
        ];
        for (bytes, check) in cases {
            let err = Message::parse(bytes).unwrap_err();
            assert!(check(&err), "{bytes:x?}: {err:?}");
        }
    }

    #[test]
    fn api_key_is_never_shown() {
        let key = ApiKey::new("s3cret");
        assert!(!format!("{key:?} {key}").contains("s3cret"));
        let message = Message::Auth {
            api_key: key.clone(),
        };
        assert!(!format!("{message:?}").contains("s3cret"));
        assert!(key.matches("s3cret"));
        assert!(!key.matches("s3cre"));
        assert!(!key.matches("s3cret!"));
        assert!(!key.matches("S3cret"));
    }

    #[test]
    fn to_json_round_trips_known_messages() {
        let messages = [
            Message::ValueChange {
                timestamp: Some(1),
                key: ValueKey::Focus,
                value: Reading::Scalar(51.5),
            },
            Message::Connection {
                timestamp: None,
                previous: ConnectionState(1),
                current: ConnectionState(2),
            },
            Message::SessionComplete { timestamp: Some(3) },
            Message::Auth {
                api_key: ApiKey::new("k"),
            },
        ];
        for message in messages {
            let bytes = serde_json::to_vec(&message.to_json()).unwrap();
            assert_eq!(Message::parse(&bytes).unwrap().message, message);
        }
    }
}
