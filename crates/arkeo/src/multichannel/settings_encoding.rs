//! How a settings object travels: the vendor's pages disagree (an object on some, a
//! JSON-encoded string on others), and the instrument accepts what its version expects.

use serde_json::{Value, json};

/// How a settings object is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SettingsEncoding {
    /// `"settings": {...}` (the default).
    #[default]
    Object,
    /// `"settings": "{...}"`, the object serialized into a string (older pages).
    String,
}

/// `{"settings": settings}` in the chosen encoding.
pub(crate) fn settings_parameter(settings: &Value, encoding: SettingsEncoding) -> Value {
    match encoding {
        SettingsEncoding::Object => json!({ "settings": settings }),
        SettingsEncoding::String => json!({ "settings": settings.to_string() }),
    }
}

/// Reads a settings value sent either way: an object, or a string holding JSON.
pub fn settings_value(value: &Value) -> Option<Value> {
    match value {
        Value::String(s) => serde_json::from_str(s).ok(),
        Value::Object(_) => Some(value.clone()),
        _ => None,
    }
}
