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

fn missing(p: &Map<String, Value>, key: &str, what: &str) -> Failure {
    let keys: Vec<&str> = p.keys().map(String::as_str).collect();
    let hint = keys
        .iter()
        .find(|k| spelled_like(k, &[key]).is_some())
        .map(|k| format!(" (got \"{k}\": keys are case-sensitive)"))
        .unwrap_or_default();
    Failure::invalid(format!("Invalid parameters: {key} ({what}) required{hint}"))
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
