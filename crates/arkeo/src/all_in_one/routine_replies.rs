//! Replies of MAIN and of the ROUTINE commands that list things.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// `GetActiveRoutine`: `{"routine": NAME}`, `""` when no routine is open.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActiveRoutine {
    /// The routine name as sent (`""` when none; `null` is read as `""`).
    #[serde(default, deserialize_with = "null_as_empty")]
    pub routine: String,
    /// Fields this library does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ActiveRoutine {
    /// The open routine, `None` when there is none.
    pub fn name(&self) -> Option<&str> {
        Some(self.routine.as_str()).filter(|r| !r.is_empty())
    }
}

fn null_as_empty<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Option::<String>::deserialize(d).map(Option::unwrap_or_default)
}

/// `GetAvailableRoutines`: `{"routines": [...]}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AvailableRoutines {
    /// The exact routine names StartRoutine accepts.
    pub routines: Vec<String>,
    /// Fields this library does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `GetCustomCommands`: `{"CustomCommands": [...]}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomCommands {
    /// The routine-specific command names.
    #[serde(rename = "CustomCommands")]
    pub commands: Vec<String>,
    /// Fields this library does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}
