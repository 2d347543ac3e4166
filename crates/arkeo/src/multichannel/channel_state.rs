//! `GetChannelState`: each channel's state object.
//!
//! ```text
//! {"index": 0, "enable": true, "user": "...", "device": "...",
//!  "measurement": "jv" | "tracking", "direction": "forward" | "reverse",
//!  "state": "idle" | "ready to start" | "running" | "stopped" | "error"}
//! ```

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::{ProtocolError, Reply};

/// A channel's state (`idle`, `ready to start`, `running`, `stopped`, `error`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ChannelStatus {
    /// Not measuring, not armed.
    Idle,
    /// Enabled and waiting for StartMeasurement.
    ReadyToStart,
    /// Measuring (a JV sweep, or tracking between sweeps).
    Running,
    /// Stopped (by StopChannel, the end of its test duration, or after its one JV when
    /// tracking is off).
    Stopped,
    /// In error.
    Error,
    /// A state this library does not know, as sent.
    Other(String),
}

impl ChannelStatus {
    /// Reads a state name (case-insensitively; `ready_to_start` is accepted too).
    pub fn parse(name: &str) -> Self {
        match name.to_ascii_lowercase().replace('_', " ").as_str() {
            "idle" => ChannelStatus::Idle,
            "ready to start" => ChannelStatus::ReadyToStart,
            "running" => ChannelStatus::Running,
            "stopped" => ChannelStatus::Stopped,
            "error" => ChannelStatus::Error,
            _ => ChannelStatus::Other(name.to_string()),
        }
    }

    /// The documented spelling.
    pub fn as_str(&self) -> &str {
        match self {
            ChannelStatus::Idle => "idle",
            ChannelStatus::ReadyToStart => "ready to start",
            ChannelStatus::Running => "running",
            ChannelStatus::Stopped => "stopped",
            ChannelStatus::Error => "error",
            ChannelStatus::Other(s) => s,
        }
    }
}

impl std::fmt::Display for ChannelStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ChannelStatus {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ChannelStatus {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(|s| ChannelStatus::parse(&s))
    }
}

/// What a running channel is doing: `"jv"` (a sweep) or `"tracking"`.
pub mod measurement {
    /// A JV sweep.
    pub const JV: &str = "jv";
    /// Tracking between sweeps.
    pub const TRACKING: &str = "tracking";
}

/// One channel of a `GetChannelState` reply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChannelState {
    /// The channel number.
    pub index: u32,
    /// `enable` (an `enabled` key is read too).
    #[serde(rename = "enable", alias = "enabled", default)]
    pub enabled: bool,
    /// `user`.
    #[serde(default)]
    pub user: String,
    /// `device`.
    #[serde(default)]
    pub device: String,
    /// `measurement`: `"jv"` or `"tracking"` (see [`measurement`]).
    #[serde(default)]
    pub measurement: Option<String>,
    /// `direction` of the current or last sweep: `"forward"` or `"reverse"`.
    #[serde(default)]
    pub direction: Option<String>,
    /// `state`.
    pub state: ChannelStatus,
    /// Fields this library does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ChannelState {
    /// Reads every channel of a `GetChannelState` reply.
    pub fn from_reply(reply: &Reply) -> Result<Vec<Self>, ProtocolError> {
        reply.field_as("channels", super::command::GET_CHANNEL_STATE)
    }

    /// True while the channel sweeps (running, measurement "jv").
    pub fn in_jv(&self) -> bool {
        self.state == ChannelStatus::Running && self.measurement.as_deref() == Some(measurement::JV)
    }

    /// True while the channel tracks (running, measurement "tracking").
    pub fn tracking(&self) -> bool {
        self.state == ChannelStatus::Running
            && self.measurement.as_deref() == Some(measurement::TRACKING)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Dialect;

    #[test]
    fn channel_states_are_read_from_the_reply() {
        let reply = crate::reply::classify(
            br#"{"status":"ok","channels":[{"index":0,"enable":true,"user":"u","device":"d","measurement":"jv","direction":"forward","state":"ready to start"},{"index":3,"enable":false,"state":"Idle","slot":"B"}]}"#,
            Dialect::Multichannel,
            None,
        )
        .unwrap();
        let states = ChannelState::from_reply(&reply).unwrap();
        assert_eq!(states[0].state, ChannelStatus::ReadyToStart);
        assert!(states[0].enabled);
        assert_eq!(states[1].index, 3);
        assert_eq!(states[1].state, ChannelStatus::Idle);
        assert_eq!(states[1].extra["slot"], "B");
    }

    #[test]
    fn a_channel_without_state_is_a_shape_error() {
        let reply = crate::reply::classify(
            br#"{"status":"ok","channels":[{"index":0}]}"#,
            Dialect::Multichannel,
            None,
        )
        .unwrap();
        let err = ChannelState::from_reply(&reply).unwrap_err();
        assert!(err.to_string().contains("GetChannelState"), "{err}");
    }
}
