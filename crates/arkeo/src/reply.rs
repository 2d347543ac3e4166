//! A reply, and its classification: success, rejection or protocol violation.
//!
//! Pure code: bytes in, a typed outcome out. The rules, which absorb what the vendor's
//! documents disagree on:
//!
//! 1. The payload is parsed after [`to_strict_json`], so
//!    `NaN`, `Infinity` and `-Infinity` never fail a reply.
//! 2. It must be a JSON object; anything else is a protocol violation (for the Multichannel
//!    API the message names the likely cause, a server older than v0.5).
//! 3. An `error` field (other than `null`) means failure, whatever `status` says.
//! 4. Otherwise `status` is compared case-insensitively: `ok` is success, `error` a
//!    rejection without details, anything else (or no status) a protocol violation.
//! 5. When a request_id was sent and the reply carries one, they must be equal (a numeric
//!    string is read as its number); a reply without one is accepted.

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::error::{ErrorCode, ProtocolError, Rejection, preview};
use crate::nonfinite::to_strict_json;
use crate::{Dialect, Error};

/// A successful reply: the whole object, unknown fields kept.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    object: Map<String, Value>,
}

/// Fields of the envelope, as opposed to the payload.
const ENVELOPE: [&str; 3] = ["status", "error", "request_id"];

impl Reply {
    /// The `status` string as sent ("OK", "ok"...).
    pub fn status(&self) -> &str {
        self.object
            .get("status")
            .and_then(Value::as_str)
            .unwrap_or("")
    }

    /// The `data` field (All-in-One): an object for most commands, an array for some (TMPCTL
    /// GetStatus). `None` when absent.
    pub fn data(&self) -> Option<&Value> {
        self.object.get("data")
    }

    /// A field of the reply (a Multichannel domain key such as `channels`, say).
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.object.get(key)
    }

    /// The echoed request_id, when present and numeric.
    pub fn request_id(&self) -> Option<u64> {
        self.object.get("request_id").and_then(id_of)
    }

    /// Everything but the envelope (`status`, `error`, `request_id`): for the All-in-One API
    /// usually just `data`, for the Multichannel API the domain keys.
    pub fn payload(&self) -> Map<String, Value> {
        self.object
            .iter()
            .filter(|(k, _)| !ENVELOPE.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// The whole reply object.
    pub fn as_object(&self) -> &Map<String, Value> {
        &self.object
    }

    /// The whole reply, as a JSON value.
    pub fn into_value(self) -> Value {
        Value::Object(self.object)
    }

    /// Wraps an object known to be a successful reply (for tests and simulators).
    pub fn from_object(object: Map<String, Value>) -> Self {
        Reply { object }
    }

    /// Reads the All-in-One `data` as a typed reply of `command` (for the error message).
    pub fn data_as<T: DeserializeOwned>(&self, command: &str) -> Result<T, ProtocolError> {
        let data = self.data().ok_or_else(|| shape(command, "no \"data\""))?;
        decode(data, command, "data")
    }

    /// Reads the field `key` (a Multichannel domain key such as `channels`) as a typed reply
    /// of `command`.
    pub fn field_as<T: DeserializeOwned>(
        &self,
        key: &str,
        command: &str,
    ) -> Result<T, ProtocolError> {
        let value = self
            .get(key)
            .ok_or_else(|| shape(command, &format!("no \"{key}\"")))?;
        decode(value, command, key)
    }

    /// Reads everything but the envelope as a typed reply of `command` (for replies whose
    /// payload sits at the top level, such as the Multichannel `GetIV`).
    pub fn payload_as<T: DeserializeOwned>(&self, command: &str) -> Result<T, ProtocolError> {
        decode(&Value::Object(self.payload()), command, "the reply")
    }
}

fn shape(command: &str, detail: &str) -> ProtocolError {
    ProtocolError::UnexpectedShape {
        command: command.to_string(),
        detail: detail.to_string(),
    }
}

fn decode<T: DeserializeOwned>(
    value: &Value,
    command: &str,
    what: &str,
) -> Result<T, ProtocolError> {
    T::deserialize(value).map_err(|e| shape(command, &format!("{what}: {e}")))
}

/// Reads a request_id as sent: a number (`1.0` counts as 1), or a string holding one.
fn id_of(value: &Value) -> Option<u64> {
    match value {
        Value::Number(n) => n.as_u64().or_else(|| {
            // 2^64 as f64 is exact; below it every whole f64 fits in a u64.
            whole(n)
                .filter(|f| (0.0..18_446_744_073_709_551_616.0).contains(f))
                .map(|f| f as u64)
        }),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A float with no fractional part (`101.0`), as the f64 it is.
pub(crate) fn whole(n: &serde_json::Number) -> Option<f64> {
    n.as_f64().filter(|f| f.is_finite() && f.fract() == 0.0)
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Parses a reply payload into a JSON value, accepting NaN and Infinity.
pub fn parse_payload(
    payload: &[u8],
    dialect: Dialect,
) -> Result<Map<String, Value>, ProtocolError> {
    let value: Value = serde_json::from_slice(&to_strict_json(payload)).map_err(|source| {
        ProtocolError::NotJson {
            len: payload.len(),
            source,
        }
    })?;
    match value {
        Value::Object(object) => Ok(object),
        other => Err(ProtocolError::NotAnObject {
            dialect,
            found: json_type(&other),
            preview: preview(&other.to_string()),
        }),
    }
}

/// Classifies one reply payload to a request that carried `sent_id` (if any).
pub fn classify(payload: &[u8], dialect: Dialect, sent_id: Option<u64>) -> Result<Reply, Error> {
    let object = parse_payload(payload, dialect)?;
    if let (Some(sent), Some(received)) = (sent_id, object.get("request_id"))
        && id_of(received) != Some(sent)
    {
        return Err(ProtocolError::RequestIdMismatch {
            sent,
            received: received.to_string(),
        }
        .into());
    }
    if let Some(error) = object.get("error").filter(|e| !e.is_null()) {
        let (code, message) = error_details(error);
        return Err(Error::Rejected(Rejection {
            code,
            message,
            reply: object,
        }));
    }
    match object.get("status") {
        Some(Value::String(s)) if s.eq_ignore_ascii_case("ok") => Ok(Reply { object }),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("error") => {
            Err(Error::Rejected(Rejection {
                code: None,
                message: "status \"error\" without an error object".into(),
                reply: object,
            }))
        }
        Some(other) => Err(ProtocolError::UnknownStatus {
            status: preview(&other.to_string()),
        }
        .into()),
        None => Err(ProtocolError::MissingStatus {
            preview: preview(&Value::Object(object).to_string()),
        }
        .into()),
    }
}

/// The code and message of an `error` value, however it is shaped.
fn error_details(error: &Value) -> (Option<ErrorCode>, String) {
    match error {
        Value::Object(e) => {
            let code = e.get("code").and_then(|c| match c {
                Value::Number(n) => n.as_i64().or_else(|| {
                    // -2^63 and 2^63 as f64 are exact; every whole f64 between fits an i64.
                    whole(n)
                        .filter(|f| {
                            (-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(f)
                        })
                        .map(|f| f as i64)
                }),
                Value::String(s) => s.trim().parse().ok(),
                _ => None,
            });
            let message = match e.get("message") {
                Some(Value::String(m)) => m.clone(),
                Some(other) => other.to_string(),
                None => "(no message)".into(),
            };
            (code.map(ErrorCode), message)
        }
        Value::String(m) => (None, m.clone()),
        other => (None, other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::KnownError;

    fn ok(payload: &str, sent: Option<u64>) -> Reply {
        classify(payload.as_bytes(), Dialect::AllInOne, sent)
            .unwrap_or_else(|e| panic!("{payload}: {e}"))
    }

    fn rejected(payload: &str) -> Rejection {
        match classify(payload.as_bytes(), Dialect::AllInOne, Some(1)) {
            Err(Error::Rejected(r)) => r,
            other => panic!("{payload}: {other:?}"),
        }
    }

    #[test]
    fn status_ok_in_any_case_is_success() {
        for status in ["ok", "OK", "Ok", "oK"] {
            let reply = ok(&format!(r#"{{"status":"{status}","data":{{}}}}"#), None);
            assert_eq!(reply.status(), status);
        }
    }

    #[test]
    fn error_object_means_failure_whatever_the_status() {
        for status in ["error", "ERROR", "OK", "ok"] {
            let r = rejected(&format!(
                r#"{{"status":"{status}","error":{{"code":4006,"message":"No active routine"}},"request_id":1}}"#
            ));
            assert_eq!(r.code, Some(ErrorCode(4006)));
            assert_eq!(r.code.unwrap().known(), Some(KnownError::NoActiveRoutine));
            assert_eq!(r.message, "No active routine");
        }
    }

    #[test]
    fn error_null_is_no_error() {
        ok(
            r#"{"status":"OK","error":null,"data":{"state":"OK"}}"#,
            None,
        );
    }

    #[test]
    fn odd_error_shapes_still_reject_and_keep_the_message() {
        let cases = [
            (r#"{"status":"error","error":"boom"}"#, None, "boom"),
            (
                r#"{"status":"error","error":{"code":"5002","message":"bad env"}}"#,
                Some(5002),
                "bad env",
            ),
            (
                r#"{"status":"error","error":{"code":777}}"#,
                Some(777),
                "(no message)",
            ),
            (
                r#"{"status":"ERROR"}"#,
                None,
                "status \"error\" without an error object",
            ),
        ];
        for (payload, code, message) in cases {
            let r = rejected(payload);
            assert_eq!(r.code.map(|c| c.0), code, "{payload}");
            assert_eq!(r.message, message, "{payload}");
            assert!(r.code.is_none_or(|c| c.0 != 777 || c.known().is_none()));
        }
    }

    #[test]
    fn data_may_be_object_or_array_and_unknown_fields_are_kept() {
        let reply = ok(
            r#"{"status":"OK","data":[{"channel":1}],"firmware":"2.1"}"#,
            None,
        );
        assert!(reply.data().unwrap().is_array());
        assert_eq!(reply.get("firmware").unwrap(), "2.1");
        assert!(reply.payload().contains_key("firmware"));
        assert!(!reply.payload().contains_key("status"));
    }

    #[test]
    fn nan_and_infinity_in_data_do_not_fail_the_reply() {
        let reply = ok(
            r#"{"status":"OK","data":{"Voc":NaN,"Rsh":Infinity,"x":[-Infinity,1]},"request_id":3}"#,
            Some(3),
        );
        let data = reply.data().unwrap();
        assert!(crate::nonfinite::as_f64(&data["Voc"]).unwrap().is_nan());
        assert_eq!(crate::nonfinite::as_f64(&data["Rsh"]), Some(f64::INFINITY));
        assert_eq!(
            crate::nonfinite::as_f64(&data["x"][0]),
            Some(f64::NEG_INFINITY)
        );
    }

    #[test]
    fn a_whole_float_request_id_or_error_code_reads_as_that_integer() {
        ok(r#"{"status":"OK","request_id":5.0}"#, Some(5));
        ok(r#"{"status":"OK","request_id":5e0}"#, Some(5));
        let cases = [
            (
                r#"{"status":"ERROR","error":{"code":101.0,"message":"m"}}"#,
                Some(101),
            ),
            (
                r#"{"status":"ERROR","error":{"code":-1.0,"message":"m"}}"#,
                Some(-1),
            ),
            (
                r#"{"status":"ERROR","error":{"code":101.5,"message":"m"}}"#,
                None,
            ),
            (
                r#"{"status":"ERROR","error":{"code":1e300,"message":"m"}}"#,
                None,
            ),
        ];
        for (payload, code) in cases {
            assert_eq!(rejected(payload).code.map(|c| c.0), code, "{payload}");
        }
        for payload in [
            r#"{"status":"OK","request_id":5.5}"#,
            r#"{"status":"OK","request_id":-5.0}"#,
            r#"{"status":"OK","request_id":1e300}"#,
        ] {
            let err = classify(payload.as_bytes(), Dialect::AllInOne, Some(5)).unwrap_err();
            assert!(
                matches!(
                    err,
                    Error::Protocol(ProtocolError::RequestIdMismatch { .. })
                ),
                "{payload}: {err}"
            );
        }
    }

    #[test]
    fn request_id_rules() {
        ok(r#"{"status":"OK","request_id":5}"#, Some(5));
        ok(r#"{"status":"OK","request_id":"5"}"#, Some(5));
        ok(r#"{"status":"OK"}"#, Some(5));
        ok(r#"{"status":"OK","request_id":9}"#, None);
        for payload in [
            r#"{"status":"OK","request_id":6}"#,
            r#"{"status":"OK","request_id":"x"}"#,
            r#"{"status":"OK","request_id":null}"#,
            r#"{"status":"error","error":{"code":1,"message":"m"},"request_id":4}"#,
        ] {
            let err = classify(payload.as_bytes(), Dialect::AllInOne, Some(5)).unwrap_err();
            assert!(
                matches!(
                    err,
                    Error::Protocol(ProtocolError::RequestIdMismatch { sent: 5, .. })
                ),
                "{payload}: {err}"
            );
        }
    }

    #[test]
    fn non_object_replies_are_protocol_errors_naming_old_servers() {
        let cases = [
            ("\"OK\"", "string"),
            ("42", "number"),
            ("[1,2]", "array"),
            ("null", "null"),
        ];
        for (payload, found) in cases {
            let err = classify(payload.as_bytes(), Dialect::Multichannel, None).unwrap_err();
            let text = err.to_string();
            assert!(
                text.contains(found) && text.contains("older than API v0.5"),
                "{text}"
            );
        }
        let err = classify(b"\"OK\"", Dialect::AllInOne, None).unwrap_err();
        assert!(!err.to_string().contains("v0.5"), "{err}");
    }

    #[test]
    fn non_json_replies_are_protocol_errors() {
        for payload in [
            &b"Not a valid command"[..],
            b"1|2|3",
            b"{\"status\":",
            b"\xff\xfe",
        ] {
            let err = classify(payload, Dialect::Multichannel, None).unwrap_err();
            assert!(
                matches!(err, Error::Protocol(ProtocolError::NotJson { .. })),
                "{err}"
            );
        }
    }

    #[test]
    fn missing_or_strange_status_is_a_protocol_error() {
        for (payload, want) in [
            (r#"{"data":{}}"#, "no \"status\""),
            (r#"{"status":"BUSY"}"#, "\"BUSY\""),
            (r#"{"status":1}"#, "status 1"),
        ] {
            let err = classify(payload.as_bytes(), Dialect::AllInOne, None).unwrap_err();
            assert!(err.to_string().contains(want), "{payload}: {err}");
        }
    }
}
