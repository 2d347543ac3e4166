//! Readers for the fields of a request's `parameter` object, with the vendor's error (101)
//! and a hint when a key only differs from the documented one in case.

use serde_json::{Map, Value};

use super::limits::MAX_TEXT_BYTES;
use super::outcome::{Failure, spelled_like};

/// The request's `parameter` as an object.
pub(crate) fn object(parameter: &Value) -> Result<&Map<String, Value>, Failure> {
    parameter
        .as_object()
        .ok_or_else(|| Failure::invalid("Invalid parameters: parameter must be an object"))
}

/// The refusal of `p[key]`: the key holds the wrong type, or is absent (with a hint when a
/// key present only differs from it in case or punctuation).
fn missing(p: &Map<String, Value>, key: &str, what: &str) -> Failure {
    if let Some(value) = p.get(key) {
        return Failure::invalid(format!(
            "Invalid parameters: {key} must be {what}, got {}",
            kind(value)
        ));
    }
    let hint = p
        .keys()
        .find(|k| spelled_like(k, &[key]).is_some())
        .map(|k| {
            if k.to_lowercase() == key.to_lowercase() {
                format!(" (got \"{}\": keys are case-sensitive)", short(k))
            } else {
                format!(" (got \"{}\": the key is spelled \"{key}\")", short(k))
            }
        })
        .unwrap_or_default();
    Failure::invalid(format!("Invalid parameters: {key} ({what}) required{hint}"))
}

/// A JSON value's type, for error messages.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// `p[key]`, a string of at most [`MAX_TEXT_BYTES`] bytes.
pub(crate) fn text<'a>(p: &'a Map<String, Value>, key: &str) -> Result<&'a str, Failure> {
    let s = p
        .get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| missing(p, key, "a string"))?;
    if s.len() > MAX_TEXT_BYTES {
        return Err(Failure::invalid(format!(
            "Invalid parameters: {key} is longer than {MAX_TEXT_BYTES} bytes"
        )));
    }
    Ok(s)
}

/// `p[key]`, a number.
pub(crate) fn number(p: &Map<String, Value>, key: &str) -> Result<f64, Failure> {
    p.get(key)
        .and_then(Value::as_f64)
        .ok_or_else(|| missing(p, key, "a number"))
}

/// `p[key]`, a whole number (`1`, or `1.0`) within `range`.
pub(crate) fn integer(
    p: &Map<String, Value>,
    key: &str,
    range: std::ops::RangeInclusive<i64>,
) -> Result<i64, Failure> {
    let what = format!("an integer from {} to {}", range.start(), range.end());
    let value = p
        .get(key)
        .filter(|v| v.is_number())
        .ok_or_else(|| missing(p, key, &what))?;
    value
        .as_i64()
        .or_else(|| {
            value
                .as_number()
                .and_then(crate::reply::whole)
                .filter(|f| f.abs() < 1e15)
                .map(|f| f as i64)
        })
        .filter(|n| range.contains(n))
        .ok_or_else(|| Failure::invalid(format!("Invalid parameters: {key} must be {what}")))
}

/// `p[key]`, a number when present.
pub(crate) fn optional_number(p: &Map<String, Value>, key: &str) -> Result<Option<f64>, Failure> {
    match p.get(key) {
        None => Ok(None),
        Some(v) => v
            .as_f64()
            .map(Some)
            .ok_or_else(|| Failure::invalid(format!("Invalid parameters: {key} must be a number"))),
    }
}

/// `p[key]`, a boolean.
pub(crate) fn boolean(p: &Map<String, Value>, key: &str) -> Result<bool, Failure> {
    p.get(key)
        .and_then(Value::as_bool)
        .ok_or_else(|| missing(p, key, "true or false"))
}

/// Refuses keys other than `allowed` (for parameters the vendor documents completely).
pub(crate) fn only(p: &Map<String, Value>, allowed: &[&str]) -> Result<(), Failure> {
    match p.keys().find(|k| !allowed.contains(&k.as_str())) {
        None => Ok(()),
        Some(k) => {
            let hint = spelled_like(k, allowed)
                .map(|a| format!(" (the key is spelled \"{a}\")"))
                .unwrap_or_else(|| format!(" (expected {})", allowed.join(", ")));
            Err(Failure::invalid(format!(
                "Invalid parameters: unknown key \"{}\"{hint}",
                short(k)
            )))
        }
    }
}

/// At most 64 bytes of a name, for error messages.
pub(crate) fn short(name: &str) -> String {
    if name.len() <= 64 {
        return name.to_string();
    }
    let mut end = 64;
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &name[..end])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn a_missing_key_that_differs_in_case_is_named() {
        let p = map(json!({"Routine": "JV"}));
        let err = text(&p, "routine").unwrap_err();
        assert_eq!(err.code.0, 101);
        assert!(err.message.contains("got \"Routine\""), "{}", err.message);
    }

    #[test]
    fn a_present_key_of_the_wrong_type_is_not_blamed_on_case() {
        let cases = [
            (
                json!({"address": "COM3"}),
                "address must be an integer from 0 to 255, got a string",
            ),
            (json!({"address": true}), "got a boolean"),
            (
                json!({"address": 1.5}),
                "address must be an integer from 0 to 255",
            ),
            (
                json!({"address": 256}),
                "address must be an integer from 0 to 255",
            ),
            (
                json!({"Address": 1}),
                "(got \"Address\": keys are case-sensitive)",
            ),
            (
                json!({"add_ress": 1}),
                "(got \"add_ress\": the key is spelled \"address\")",
            ),
            (json!({}), "address (an integer from 0 to 255) required"),
        ];
        for (p, want) in cases {
            let err = integer(&map(p.clone()), "address", 0..=255).unwrap_err();
            assert_eq!(err.code.0, 101);
            assert!(err.message.contains(want), "{p}: {}", err.message);
            if p.get("address").is_some() {
                assert!(
                    !err.message.contains("case-sensitive"),
                    "{p}: {}",
                    err.message
                );
            }
        }
        let err = text(&map(json!({"routine": 5})), "routine").unwrap_err();
        assert!(!err.message.contains("case-sensitive"), "{}", err.message);
        assert!(
            err.message
                .contains("routine must be a string, got a number"),
            "{}",
            err.message
        );
    }

    #[test]
    fn an_integer_is_read_whole_or_as_a_whole_float() {
        for (p, want) in [(json!({"address": 1}), 1), (json!({"address": 1.0}), 1)] {
            assert_eq!(integer(&map(p), "address", 0..=255).unwrap(), want);
        }
    }

    #[test]
    fn long_text_and_unknown_keys_are_refused() {
        let p = map(json!({"user_name": "x".repeat(MAX_TEXT_BYTES + 1), "User_Name": 1}));
        assert!(text(&p, "user_name").is_err());
        let err = only(&p, &["user_name"]).unwrap_err();
        assert!(
            err.message.contains("spelled \"user_name\""),
            "{}",
            err.message
        );
    }
}
