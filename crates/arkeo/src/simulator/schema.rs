//! Settings objects as the vendor documents them: every update is checked against the
//! documented keys and types, merged into the stored object (partial updates change only
//! their keys, nested objects included), and the result bounded.
//!
//! Keys the schema does not know are kept (newer software adds some), except one that
//! differs from a documented key only in case or punctuation (`enable` for `Enable`): that
//! is a mistake the real instrument would silently ignore, so the simulator refuses it with
//! error 101 naming the right spelling.

use std::io;

use serde_json::{Map, Value};

use super::limits::{MAX_KEY_BYTES, MAX_SETTINGS_BYTES, MAX_SETTINGS_DEPTH, MAX_TEXT_BYTES};
use super::outcome::{Failure, spelled_like};
use super::params::short;

/// The type a documented key must have.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Kind {
    /// `true` or `false`.
    Bool,
    /// Any number.
    Number,
    /// A number, zero or more.
    NonNegative,
    /// A whole number.
    Integer,
    /// A string of at most [`MAX_TEXT_BYTES`] bytes.
    Text,
    /// One of these strings, exactly.
    OneOf(&'static [&'static str]),
    /// An object with these documented keys.
    Object(&'static [Field]),
    /// An array.
    List,
}

/// A documented key.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Field {
    pub(crate) key: &'static str,
    pub(crate) kind: Kind,
}

/// A documented key of a given type.
pub(crate) const fn field(key: &'static str, kind: Kind) -> Field {
    Field { key, kind }
}

/// Checks the documented keys of `update` (and of its nested objects) against `fields`.
pub(crate) fn check(
    update: &Map<String, Value>,
    fields: &[Field],
    path: &str,
) -> Result<(), Failure> {
    for (key, value) in update {
        let here = format!("{path}{}", short(key));
        match fields.iter().find(|f| f.key == key) {
            Some(f) => check_value(value, f.kind, &here)?,
            None => {
                let names: Vec<&str> = fields.iter().map(|f| f.key).collect();
                if let Some(right) = spelled_like(key, &names) {
                    return Err(Failure::invalid(format!(
                        "Invalid parameters: unknown key \"{here}\": the vendor spells it \"{path}{right}\""
                    )));
                }
                tracing::debug!(key = %here, "settings key the simulator does not know: kept");
            }
        }
    }
    Ok(())
}

fn check_value(value: &Value, kind: Kind, path: &str) -> Result<(), Failure> {
    let bad = |what: &str| {
        Err(Failure::invalid(format!(
            "Invalid parameters: {path} must be {what}"
        )))
    };
    match kind {
        Kind::Bool if !value.is_boolean() => bad("true or false"),
        Kind::Number if !value.is_number() => bad("a number"),
        Kind::NonNegative if !value.as_f64().is_some_and(|x| x >= 0.0) => {
            bad("a number, zero or more")
        }
        Kind::Integer if !(value.is_i64() || value.is_u64()) => bad("a whole number"),
        Kind::Text => match value.as_str() {
            None => bad("a string"),
            Some(s) if s.len() > MAX_TEXT_BYTES => {
                bad(&format!("a string of at most {MAX_TEXT_BYTES} bytes"))
            }
            Some(_) => Ok(()),
        },
        Kind::OneOf(options) => match value.as_str() {
            Some(s) if options.contains(&s) => Ok(()),
            Some(s) => {
                let hint = spelled_like(s, options)
                    .map(|o| format!(" (did you mean \"{o}\"?)"))
                    .unwrap_or_default();
                bad(&format!("one of \"{}\"{hint}", options.join("\", \"")))
            }
            None => bad(&format!("one of \"{}\"", options.join("\", \""))),
        },
        Kind::Object(fields) => match value.as_object() {
            Some(object) => check(object, fields, &format!("{path}.")),
            None => bad("an object"),
        },
        Kind::List if !value.is_array() => bad("an array"),
        _ => Ok(()),
    }
}

/// Merges `update` into `stored`: an object into an object key by key (recursively), any
/// other value replaces the stored one.
pub(crate) fn merge(stored: &mut Map<String, Value>, update: &Map<String, Value>) {
    for (key, value) in update {
        match (stored.get_mut(key), value) {
            (Some(Value::Object(old)), Value::Object(new)) => merge(old, new),
            _ => {
                stored.insert(key.clone(), value.clone());
            }
        }
    }
}

/// Refuses a settings object too large, too deep or with too long keys to store.
pub(crate) fn check_bounds(settings: &Map<String, Value>) -> Result<(), Failure> {
    check_shape(settings, 1)?;
    let mut counter = ByteCounter(0);
    // Writing into a counter cannot fail, and allocates nothing.
    let _ = serde_json::to_writer(&mut counter, settings);
    if counter.0 > MAX_SETTINGS_BYTES {
        return Err(Failure::invalid(format!(
            "Invalid parameters: the settings would take {} bytes, over the limit of {MAX_SETTINGS_BYTES}",
            counter.0
        )));
    }
    Ok(())
}

fn check_shape(object: &Map<String, Value>, depth: usize) -> Result<(), Failure> {
    if depth > MAX_SETTINGS_DEPTH {
        return Err(Failure::invalid(format!(
            "Invalid parameters: settings nested deeper than {MAX_SETTINGS_DEPTH} levels"
        )));
    }
    for (key, value) in object {
        if key.len() > MAX_KEY_BYTES {
            return Err(Failure::invalid(format!(
                "Invalid parameters: settings key longer than {MAX_KEY_BYTES} bytes"
            )));
        }
        let mut stack = vec![value];
        while let Some(v) = stack.pop() {
            match v {
                Value::Object(inner) => check_shape(inner, depth + 1)?,
                Value::Array(items) => stack.extend(items),
                _ => {}
            }
        }
    }
    Ok(())
}

struct ByteCounter(usize);

impl io::Write for ByteCounter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const INNER: &[Field] = &[
        field("Vmin (V)", Kind::Number),
        field("ScanOrder", Kind::OneOf(&["FW then RV"])),
    ];
    const FIELDS: &[Field] = &[
        field("Enable", Kind::Bool),
        field("JV", Kind::Object(INNER)),
    ];

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn a_key_spelled_in_another_case_is_refused_with_the_right_spelling() {
        let err = check(&map(json!({"enable": true})), FIELDS, "").unwrap_err();
        assert!(
            err.message.contains("spells it \"Enable\""),
            "{}",
            err.message
        );
        let err = check(&map(json!({"JV": {"vmin (v)": 1}})), FIELDS, "").unwrap_err();
        assert!(err.message.contains("\"JV.Vmin (V)\""), "{}", err.message);
    }

    #[test]
    fn documented_keys_are_type_checked_and_unknown_ones_kept() {
        let cases = [
            (json!({"Enable": "yes"}), Some("true or false")),
            (
                json!({"JV": {"ScanOrder": "fw then rv"}}),
                Some("did you mean \"FW then RV\""),
            ),
            (json!({"JV": 3}), Some("an object")),
            (json!({"JV Timing": {"x": 1}, "Enable": true}), None),
        ];
        for (update, want) in cases {
            let got = check(&map(update.clone()), FIELDS, "")
                .err()
                .map(|e| e.message);
            match (got, want) {
                (None, None) => {}
                (Some(m), Some(w)) => assert!(m.contains(w), "{update}: {m}"),
                (got, want) => panic!("{update}: {got:?} vs {want:?}"),
            }
        }
    }

    #[test]
    fn partial_updates_merge_nested_objects() {
        let mut stored =
            map(json!({"Enable": false, "JV": {"Vmin (V)": 0, "ScanOrder": "FW then RV"}}));
        merge(
            &mut stored,
            &map(json!({"JV": {"Vmin (V)": -0.2}, "Note": "n"})),
        );
        assert_eq!(
            Value::Object(stored),
            json!({"Enable": false, "JV": {"Vmin (V)": -0.2, "ScanOrder": "FW then RV"}, "Note": "n"})
        );
    }

    #[test]
    fn stored_settings_are_bounded() {
        let big = map(json!({"blob": "x".repeat(MAX_SETTINGS_BYTES)}));
        assert!(check_bounds(&big).is_err());
        let mut deep = json!(1);
        for _ in 0..MAX_SETTINGS_DEPTH + 1 {
            deep = json!({ "a": [deep] });
        }
        assert!(check_bounds(deep.as_object().unwrap()).is_err());
        assert!(check_bounds(&map(json!({"ok": {"fine": [1, 2]}}))).is_ok());
    }
}
