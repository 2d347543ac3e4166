//! `GetIV`: the live voltage and current of each channel.
//!
//! ```text
//! {"status": "ok", "schema": [{"name": "Voltage", "unit": "V"}, {"name": "Current", "unit": "A"}],
//!  "data": [[V, I], ...one row per requested channel...], "timestamp": "2025-...Z"}
//! ```

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::jv::DataColumn;
use crate::{ProtocolError, Reply};

/// A `GetIV` reply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IvReading {
    /// The columns of each row.
    pub schema: Vec<DataColumn>,
    /// One row per channel, in the order of the request's indices (NaN where the channel
    /// has no live point).
    #[serde(with = "crate::float::rows")]
    pub data: Vec<Vec<f64>>,
    /// When the values were read, ISO-8601 as sent.
    pub timestamp: String,
    /// Fields this library does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl IvReading {
    /// Reads a `GetIV` reply (its payload sits at the top level).
    pub fn from_reply(reply: &Reply) -> Result<Self, ProtocolError> {
        reply.payload_as(super::command::GET_IV)
    }

    /// The position of the column `name` (compared case-insensitively).
    pub fn column(&self, name: &str) -> Option<usize> {
        self.schema
            .iter()
            .position(|c| c.name.eq_ignore_ascii_case(name))
    }

    /// True when the schema has the Voltage and Current columns (the tracking workflow's
    /// sanity check).
    pub fn has_voltage_and_current(&self) -> bool {
        self.column("Voltage").is_some() && self.column("Current").is_some()
    }

    /// `(channel, voltage, current)` per row, pairing rows with the request's `indices`.
    pub fn points(&self, indices: &[u32]) -> Vec<(u32, f64, f64)> {
        let v = self.column("Voltage").unwrap_or(0);
        let i = self.column("Current").unwrap_or(1);
        indices
            .iter()
            .zip(&self.data)
            .map(|(&ch, row)| {
                let at = |k: usize| row.get(k).copied().unwrap_or(f64::NAN);
                (ch, at(v), at(i))
            })
            .collect()
    }
}
