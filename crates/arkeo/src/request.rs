//! A request, and its encoding for each dialect.

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};
use serde_json::{Map, Value};

use crate::Dialect;
use crate::error::UsageError;

/// One request, as the caller builds it. [`encode`](Self::encode) gives the JSON object of a
/// dialect: the All-in-One envelope needs a target and always carries a `parameter` (`{}`
/// when none was given); the Multichannel one has no target and no request_id.
///
/// Any command name is accepted, so new or routine-specific commands need no library update.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    target: Option<String>,
    command: String,
    parameter: Option<Value>,
    indices: Option<Vec<u32>>,
    request_id: Option<u64>,
}

impl Request {
    /// An All-in-One request: `target` and `command`, no parameter yet.
    pub fn new(target: impl Into<String>, command: impl Into<String>) -> Self {
        Request {
            target: Some(target.into()),
            command: command.into(),
            parameter: None,
            indices: None,
            request_id: None,
        }
    }

    /// A Multichannel request: just the command.
    pub fn command(command: impl Into<String>) -> Self {
        Request {
            target: None,
            command: command.into(),
            parameter: None,
            indices: None,
            request_id: None,
        }
    }

    /// Sets the parameter (an object for every documented command).
    #[must_use]
    pub fn parameter(mut self, parameter: Value) -> Self {
        self.parameter = Some(parameter);
        self
    }

    /// Sets the channel indices (Multichannel).
    #[must_use]
    pub fn indices(mut self, indices: impl IntoIterator<Item = u32>) -> Self {
        self.indices = Some(indices.into_iter().collect());
        self
    }

    /// Uses this request_id instead of the client's next one (All-in-One).
    #[must_use]
    pub fn request_id(mut self, id: u64) -> Self {
        self.request_id = Some(id);
        self
    }

    /// The target, if any.
    pub fn target_name(&self) -> Option<&str> {
        self.target.as_deref()
    }

    /// The command name.
    pub fn command_name(&self) -> &str {
        &self.command
    }

    /// The parameter, if one was set.
    pub fn parameter_value(&self) -> Option<&Value> {
        self.parameter.as_ref()
    }

    /// The request_id set by the caller, if any.
    pub fn fixed_request_id(&self) -> Option<u64> {
        self.request_id
    }

    /// Reads a request written as JSON (one line of `protoctl arkeo run`, say).
    ///
    /// Accepts the documented names and the legacy ones seen in vendor examples: `params`
    /// (All-in-One draft), `data` (a Multichannel example) and `parameters` (another
    /// example) for `parameter`; `parameter` wins when several are present.
    pub fn from_json(value: &Value) -> Result<Self, UsageError> {
        let object = value
            .as_object()
            .ok_or_else(|| UsageError::new("a request must be a JSON object"))?;
        let command = object
            .get("command")
            .and_then(Value::as_str)
            .ok_or_else(|| UsageError::new("a request needs a \"command\" string"))?;
        let mut request = Request::command(command);
        match object.get("target") {
            None | Some(Value::Null) => {}
            Some(Value::String(t)) => request.target = Some(t.clone()),
            Some(_) => return Err(UsageError::new("\"target\" must be a string")),
        }
        request.parameter = ["parameter", "params", "data", "parameters"]
            .iter()
            .find_map(|k| object.get(*k))
            .cloned();
        match object.get("indices") {
            None | Some(Value::Null) => {}
            Some(Value::Array(items)) => {
                let indices = items
                    .iter()
                    .map(|i| i.as_u64().and_then(|i| u32::try_from(i).ok()))
                    .collect::<Option<Vec<u32>>>()
                    .ok_or_else(|| {
                        UsageError::new("\"indices\" must be non-negative channel numbers")
                    })?;
                request.indices = Some(indices);
            }
            Some(_) => return Err(UsageError::new("\"indices\" must be an array")),
        }
        match object.get("request_id") {
            None | Some(Value::Null) => {}
            Some(id) => {
                request.request_id = Some(id.as_u64().ok_or_else(|| {
                    UsageError::new("\"request_id\" must be a non-negative integer")
                })?);
            }
        }
        Ok(request)
    }

    /// The JSON object sent for this request in `dialect`, with `request_id` when the
    /// dialect carries one.
    pub fn encode(&self, dialect: Dialect, request_id: Option<u64>) -> Result<Value, UsageError> {
        let mut object = Map::new();
        match dialect {
            Dialect::AllInOne => {
                let target = self
                    .target
                    .as_deref()
                    .ok_or_else(|| self.missing_target())?;
                object.insert("target".into(), target.into());
                object.insert("command".into(), self.command.clone().into());
                object.insert(
                    "parameter".into(),
                    self.parameter
                        .clone()
                        .unwrap_or_else(|| Value::Object(Map::new())),
                );
                if let Some(indices) = &self.indices {
                    object.insert("indices".into(), indices.clone().into());
                }
                if let Some(id) = request_id {
                    object.insert("request_id".into(), id.into());
                }
            }
            Dialect::Multichannel => {
                object.insert("command".into(), self.command.clone().into());
                if let Some(indices) = &self.indices {
                    object.insert("indices".into(), indices.clone().into());
                }
                if let Some(parameter) = &self.parameter {
                    object.insert("parameter".into(), parameter.clone());
                }
            }
        }
        Ok(Value::Object(object))
    }
}

impl Request {
    /// Writes the JSON text of [`encode`](Self::encode) into `out` without building an
    /// intermediate JSON value (the hot path of every request).
    pub fn write_json(
        &self,
        dialect: Dialect,
        request_id: Option<u64>,
        out: &mut Vec<u8>,
    ) -> Result<(), UsageError> {
        let written = match dialect {
            Dialect::AllInOne => {
                let target = self
                    .target
                    .as_deref()
                    .ok_or_else(|| self.missing_target())?;
                serde_json::to_writer(
                    out,
                    &AllInOneEnvelope {
                        target,
                        command: &self.command,
                        parameter: ParameterOrEmpty(self.parameter.as_ref()),
                        indices: self.indices.as_deref(),
                        request_id,
                    },
                )
            }
            Dialect::Multichannel => serde_json::to_writer(
                out,
                &MultichannelEnvelope {
                    command: &self.command,
                    indices: self.indices.as_deref(),
                    parameter: self.parameter.as_ref(),
                },
            ),
        };
        written.map_err(|e| UsageError::new(format!("cannot serialize the request: {e}")))
    }

    fn missing_target(&self) -> UsageError {
        UsageError::new(format!(
            "All-in-One request {} needs a target (MAIN, ROUTINE, TMPCTL, MUX, LED...)",
            self.command
        ))
    }
}

/// The All-in-One envelope, field order as documented.
#[derive(Serialize)]
struct AllInOneEnvelope<'a> {
    target: &'a str,
    command: &'a str,
    parameter: ParameterOrEmpty<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    indices: Option<&'a [u32]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_id: Option<u64>,
}

/// The Multichannel envelope: only what was given.
#[derive(Serialize)]
struct MultichannelEnvelope<'a> {
    command: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    indices: Option<&'a [u32]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    parameter: Option<&'a Value>,
}

/// The parameter, or `{}` when none was given.
struct ParameterOrEmpty<'a>(Option<&'a Value>);

impl Serialize for ParameterOrEmpty<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Some(value) => value.serialize(serializer),
            None => serializer.serialize_map(Some(0))?.end(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn all_in_one_always_sends_a_parameter_object() {
        let got = Request::new("MAIN", "GetActiveRoutine")
            .encode(Dialect::AllInOne, Some(7))
            .unwrap();
        assert_eq!(
            got,
            json!({"target":"MAIN","command":"GetActiveRoutine","parameter":{},"request_id":7})
        );
    }

    #[test]
    fn all_in_one_without_target_is_a_usage_error() {
        let err = Request::command("GetActiveRoutine")
            .encode(Dialect::AllInOne, None)
            .unwrap_err();
        assert!(err.to_string().contains("needs a target"), "{err}");
    }

    #[test]
    fn multichannel_sends_only_what_was_given() {
        let cases = [
            (
                Request::command("GetEnvironments"),
                json!({"command":"GetEnvironments"}),
            ),
            (
                Request::command("GetChannelState").indices([0, 2]),
                json!({"command":"GetChannelState","indices":[0,2]}),
            ),
            (
                Request::new("IGNORED", "SetGlobalDayNight").parameter(json!({"settings":{}})),
                json!({"command":"SetGlobalDayNight","parameter":{"settings":{}}}),
            ),
        ];
        for (request, want) in cases {
            assert_eq!(
                request.encode(Dialect::Multichannel, Some(3)).unwrap(),
                want
            );
        }
    }

    #[test]
    fn write_json_matches_encode() {
        let requests = [
            Request::new("MAIN", "GetActiveRoutine"),
            Request::new("ROUTINE", "ApplySettings").parameter(json!({"points": 5, "x": [1.5]})),
            Request::new("MAIN", "X").indices([1, 2]).request_id(9),
            Request::command("GetIV").indices([0]),
            Request::command("SetGlobalDayNight").parameter(json!({"settings": "{}"})),
            Request::command("GetEnvironments"),
        ];
        for dialect in [Dialect::AllInOne, Dialect::Multichannel] {
            for (n, request) in requests.iter().enumerate() {
                let id = Some(n as u64);
                let mut text = Vec::new();
                match request.encode(dialect, id) {
                    Ok(want) => {
                        request.write_json(dialect, id, &mut text).unwrap();
                        // Same value and same bytes (field order included).
                        assert_eq!(text, serde_json::to_vec(&want).unwrap(), "{request:?}");
                    }
                    Err(_) => assert!(request.write_json(dialect, id, &mut text).is_err()),
                }
            }
        }
    }

    #[test]
    fn from_json_accepts_legacy_parameter_names() {
        for key in ["parameter", "params", "data", "parameters"] {
            let line = json!({"target":"MAIN","command":"StartRoutine", key: {"routine":"JV"}});
            let request = Request::from_json(&line).unwrap();
            assert_eq!(
                request.parameter_value(),
                Some(&json!({"routine":"JV"})),
                "{key}"
            );
        }
    }

    #[test]
    fn from_json_rejects_malformed_requests() {
        let cases = [
            json!([1]),
            json!({"target":"MAIN"}),
            json!({"command":"X","indices":[-1]}),
            json!({"command":"X","indices":"0,1"}),
            json!({"command":"X","request_id":"seven"}),
            json!({"command":"X","target":5}),
        ];
        for case in cases {
            assert!(Request::from_json(&case).is_err(), "{case}");
        }
    }
}
