//! Replies of the device targets the vendor documents.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// MUX `GetStatus`: `{connected, firmware, nrRelays, status: [bool]}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MuxStatus {
    /// Whether the multiplexer is connected.
    pub connected: bool,
    /// Its firmware version.
    #[serde(default)]
    pub firmware: String,
    /// `nrRelays`.
    #[serde(rename = "nrRelays")]
    pub relays: u32,
    /// Each relay's state.
    #[serde(default)]
    pub status: Vec<bool>,
    /// Fields this library does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}
